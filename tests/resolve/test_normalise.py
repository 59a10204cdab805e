from __future__ import annotations

import pytest

from chainlight.resolve import normalise as nz
from chainlight.resolve.groups import organisation_features, person_features


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("SUNRISE IMPORT & EXPORT CO. LTD.", "sunrise import export"),
        ("Sunrise Import & Export Company Limited", "sunrise import export"),
        ("HORIZON HANDICRAFTS LIMITED LIABILITY COMPANY", "horizon handicrafts"),
        ("Horizon Handicrafts LLC", "horizon handicrafts"),
        ("Golden Horn Cargo Services Sdn. Bhd.", "golden horn cargo services"),
        ("LOTUS JEWELLERY FZ-LLC", "lotus jewellery"),
        ("Tusker Exports (Pty) Ltd", "tusker exports"),
        ("Limited", "ltd"),  # never cut to nothing
    ],
)
def test_company_names_lose_their_legal_form(written: str, expected: str) -> None:
    assert nz.org_name(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Nguyễn Văn Hùng", "nguyen van hung"),
        ("NGUYEN, Van Hung", "van hung nguyen"),
        ("Сергей Иванов", "sergei ivanov"),
        ("Dr. Mandla  Phiri", "mandla phiri"),
    ],
)
def test_person_names_are_transliterated_turned_and_stripped_of_titles(written: str, expected: str) -> None:
    assert nz.person_name(written) == expected


def test_word_order_stops_mattering_once_sorted() -> None:
    assert nz.sorted_tokens(nz.person_name("NGUYEN, Van Hung")) == nz.sorted_tokens(nz.person_name("Nguyễn Văn Hùng"))


def test_identifiers_keep_letters_and_digits() -> None:
    assert nz.identifier("KE-120 455") == nz.identifier("ke120455") == "KE120455"
    assert nz.imo("IMO 9321483") == nz.imo("9321483") == "9321483"
    assert nz.imo("IMO 93214") == ""


def test_phonetic_codes_survive_common_misspellings() -> None:
    assert nz.phonetic("trading") == nz.phonetic("tradng")
    assert nz.phonetic("2024") == "2024"


def test_person_features_pick_the_fullest_name_and_split_identifiers() -> None:
    features = person_features(
        {"name": ["Hung Nguyen", "Nguyễn Văn Hùng"], "birthDate": ["1971-03-04"], "nationality": ["VN"],
         "passportNumber": ["B 7723001"], "idNumber": ["x1"]}
    )
    assert features is not None
    assert features["name_norm"] == "nguyen van hung"
    assert features["birth_year"] == "1971"
    assert features["countries"] == ["vn"]
    assert features["ids"] == ["B7723001"]  # too short to be an identifier: x1
    # a dropped middle name still shares a blocking key with the full name
    short = person_features({"name": ["Hung Nguyen"]})
    assert short is not None
    assert set(short["name_keys"]) & set(features["name_keys"])


def test_records_without_a_name_or_identifier_are_not_matched() -> None:
    assert person_features({"birthDate": ["1971-03-04"]}) is None
    assert organisation_features({"country": ["ke"]}) is None


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("UNITY TRADING CCO. LTD.", "unity trading"),
        ("JADE TRADING LLTD", "jade trading"),
        ("DELTA SEAFOOD LIITED", "delta seafood"),
        ("Pacific Compnay Limited", "pacific"),
        # short real words one edit from a legal word stay: inn/inc, corn/corp, earl/sarl
        ("Holiday Inn", "holiday inn"),
        ("Golden Corn", "golden corn"),
        ("Golden Earl", "golden earl"),
    ],
)
def test_misspelt_legal_forms_are_removed_but_lookalike_words_are_not(written: str, expected: str) -> None:
    assert nz.org_name(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Đặng Văn Nam", "Dang Van Nam"),
        ("Øresund Łódź", "Oresund Lodz"),
        ("Сергей", "Sergei"),
        ("王小明", "wang xiao ming"),
    ],
)
def test_any_script_becomes_ascii(written: str, expected: str) -> None:
    assert nz.to_ascii(written) == expected
