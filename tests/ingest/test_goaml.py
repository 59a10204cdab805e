from pathlib import Path

import pytest
import xmlschema
from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.ingest.base import IngestError, run_ingest
from chainlight.ingest.goaml import (
    GoamlReader,
    account_id,
    entity_id,
    payment_id,
    person_id,
    report_id,
    reporting_entity_id,
)
from chainlight.ingest.goaml_codes import load_codes
from chainlight.ingest.goaml_schema import SCHEMA_PATH, first_schema_error, goaml_schema, iter_enumerated_types
from chainlight.settings import Settings
from chainlight.store.entities import get_entity
from chainlight.store.evidence import EvidenceStore
from tests.conftest import FIXTURES

STR = FIXTURES / "goaml" / "str_transactions.xml"
SAR = FIXTURES / "goaml" / "sar_multiparty.xml"
FIU_CODES = FIXTURES / "goaml" / "fiu_codes.yaml"


def _entity(store: EvidenceStore, entity_id: str) -> dict[str, list[str]]:
    proxy = get_entity(store, entity_id, ["fiu"])
    assert proxy is not None, entity_id
    return {prop: proxy.get(prop) for prop in proxy.properties}


def _invalid_copy(tmp_path: Path) -> tuple[Path, int]:
    """The STR fixture with a required element removed from the second transaction's account."""
    text = STR.read_text(encoding="utf-8")
    broken = text.replace("<status_code>A</status_code>\n      </to_account>", "</to_account>")
    assert broken != text
    path = tmp_path / "invalid.xml"
    path.write_text(broken, encoding="utf-8")
    # the validator points at <opened>, the element where status_code was expected to follow
    line = broken.splitlines().index("        <opened>2019-05-10T00:00:00</opened>", 120) + 1
    return path, line


def test_fixtures_validate_against_the_published_schema(shared: Path) -> None:
    published = shared / "standards" / "goaml" / "goAMLSchema.xsd"
    assert SCHEMA_PATH.read_bytes() == published.read_bytes()
    schema = xmlschema.XMLSchema11(str(published))
    assert list(schema.iter_errors(str(STR))) == []
    assert first_schema_error(STR, goaml_schema()) is None


def test_fiu_codes_need_the_lookup_lists_lifted() -> None:
    strict = first_schema_error(SAR, goaml_schema(strict_codes=True))
    assert strict is not None and strict.path == "/report/transaction[1]/transmode_code"
    assert first_schema_error(SAR, goaml_schema()) is None
    assert sorted(iter_enumerated_types(goaml_schema())) == ["country_type", "currency_type"]


def test_transactions_become_payments_between_parties(store: EvidenceStore) -> None:
    report = run_ingest(store, GoamlReader(), [STR], "fiu")
    (file_report,) = report.files
    assert file_report.rejected is None
    assert (file_report.rows_read, file_report.rows_quarantined) == (3, 0)

    tembo = entity_id("fiu", "Tembo Logistics Ltd", "PVT-2019-88412")
    operating = account_id("fiu", "0110 2233 4455", swift="PWCBKENA")
    li_wei = person_id("fiu", "Li", "Wei", "1981-11-02T00:00:00", passport_number="EH4455667")
    first = _entity(store, payment_id("fiu", "1042", "STR-2024-0117", "TX-0001"))
    assert first["payer"] == [tembo]
    assert first["payerAccount"] == [operating]
    assert first["beneficiary"] == [li_wei]
    assert (first["amount"], first["currency"], first["date"]) == (["1250000.50"], ["KES"], ["2024-02-03T10:15:00"])
    assert first["transactionNumber"] == ["TX-0001"] and first["programme"] == ["B"]
    assert first["summary"] == ["goAML report STR (Suspicious transaction report), reference STR-2024-0117, "
                                "reporting entity 1042"]

    # a client account without a holding entity: its primary signatory receives the money
    juma = person_id("fiu", "Juma", "Mwangi", "1975-06-30", passport_number="AK1234567")
    second = _entity(store, payment_id("fiu", "1042", "STR-2024-0117", "TX-0002"))
    assert second["payer"] == [entity_id("fiu", "Golden Horn Trading FZE", "FZE-7781")]
    assert (second["beneficiary"], second["beneficiaryAccount"]) == ([juma], [operating])
    assert second["date"] == ["2024-02-20"]

    third = _entity(store, payment_id("fiu", "1042", "STR-2024-0117", "TX-0003"))
    assert third["payer"] == [person_id("fiu", "Amina", "Hassan", None, "30112233")]
    assert third["beneficiary"] == [tembo] and "payerAccount" not in third

    account = _entity(store, operating)
    assert account["bic"] == ["PWCBKENA"] and account["name"] == ["Tembo Logistics Ltd operating account"]
    assert account["bankName"] == ["Pwani Commercial Bank"] and account["country"] == ["ke"]
    company = _entity(store, tembo)
    assert company["registrationNumber"] == ["PVT-2019-88412"] and company["jurisdiction"] == ["ke"]
    assert company["sector"] == ["Freight forwarding"]
    director = _entity(store, juma)
    assert director["birthDate"] == ["1975-06-30"] and director["passportNumber"] == ["AK1234567"]

    links = {
        (schema, tuple(sorted(values)))
        for schema, values in store.fetchall(
            "SELECT schema, list(value ORDER BY value) FROM statements WHERE schema IN "
            "('Ownership', 'Directorship') AND prop IN ('owner', 'asset', 'director', 'organization') "
            "GROUP BY entity_id, schema"
        )
    }
    assert ("Directorship", tuple(sorted([juma, tembo]))) in links
    assert ("Ownership", tuple(sorted([tembo, operating]))) in links
    assert ("Ownership", tuple(sorted([juma, operating]))) in links

    note = _entity(store, report_id("fiu", "1042", "STR-2024-0117"))
    assert note["summary"][0].startswith("Structured cash deposits")
    assert note["keywords"] == ["STR"]
    assert {tembo, operating, li_wei, juma} <= set(note["entity"])
    officer = person_id("fiu", "Grace", "Wanjiru", passport_number="AK0098123")
    assert officer in note["entity"]
    assert _entity(store, reporting_entity_id("fiu", "1042"))["idNumber"] == ["1042"]
    origins = store.fetchall(
        "SELECT DISTINCT origin FROM statements WHERE entity_id = ?",
        [payment_id("fiu", "1042", "STR-2024-0117", "TX-0001")],
    )
    first_line = STR.read_text(encoding="utf-8").splitlines().index("  <transaction>") + 1
    assert origins == [(f"{STR}:{first_line}",)]


def test_fiu_codes_roles_and_indicators(store: EvidenceStore) -> None:
    report = run_ingest(store, GoamlReader(), [SAR], "fiu", options={"goaml_codes": str(FIU_CODES)})
    (file_report,) = report.files
    # three transactions and two activity parties; the transaction with a nameless payer is held back
    assert (file_report.rows_read, file_report.rows_quarantined) == (5, 1)
    (problem,) = file_report.problems
    assert problem.line == SAR.read_text().splitlines().index("  <transaction>", 60) + 1
    assert problem.field == "report/transaction[2]/t_from/from_person"
    assert "neither first_name nor last_name" in problem.error
    reference = "2024-05-02"
    assert get_entity(store, payment_id("fiu", "2210", reference, "W-502"), ["fiu"]) is None

    chen = person_id("fiu", "Chen", "Hao", "1979-01-15", passport_number="E77120044")
    ogun = entity_id("fiu", "Ogun Curios Export Ltd", "RC-1184421")
    lagoon = account_id("fiu", "NG-0099-1188", institution_code="LMB-044")
    multi = _entity(store, payment_id("fiu", "2210", reference, "W-501"))
    assert (multi["payer"], multi["beneficiary"], multi["beneficiaryAccount"]) == ([chen], [ogun], [lagoon])
    assert multi["namesMentioned"] == ["Swift Cargo Agents"]
    assert "conducted as WIRE (Wire transfer)" in multi["description"][0]
    assert multi["summary"] == [
        "goAML report SAR (Suspicious activity report), reference 2024-05-02, reporting entity 2210; "
        "indicators: IWT01 (Party linked to a wildlife seizure); IWT05 (Payments described as curios or "
        "samples); ZZ-LOCAL-9"
    ]
    foreign = _entity(store, payment_id("fiu", "2210", reference, "W-503"))
    assert foreign["amount"] == ["21000.75"] and foreign["currency"] == ["USD"]
    assert "from foreign amount: 19400 EUR at 1.0825" in foreign["description"][0]

    note = _entity(store, report_id("fiu", "2210", reference))
    assert sorted(note["keywords"]) == ["IWT01", "IWT05", "SAR", "ZZ-LOCAL-9"]
    assert note["publisher"] == ["Lagoon Merchant Bank"]
    bola = person_id("fiu", "Bola", "Adeyemi", None, "NIN-55120")
    assert {bola, entity_id("fiu", "Swift Cargo Agents"), chen, lagoon} <= set(note["entity"])
    assert _entity(store, bola)["idNumber"] == ["NIN-55120"]


def test_invalid_file_is_rejected_whole(store: EvidenceStore, tmp_path: Path) -> None:
    path, line = _invalid_copy(tmp_path)
    report = run_ingest(store, GoamlReader(), [path], "fiu")
    (file_report,) = report.files
    assert file_report.rejected is not None
    assert "/report/transaction[2]/t_to_my_client/to_account" in file_report.rejected
    assert "Tag 'status_code' expected" in file_report.rejected
    assert f"line {line}" in file_report.rejected and "\n" not in file_report.rejected
    assert file_report.problems[0].line == line
    assert store.scalar("SELECT count(*) FROM statements") == 0
    assert store.scalar("SELECT count(*) FROM ingest_runs") == 0


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        ("<report>\n  <rentity_id>1</rentity_id>\n  <oops>\n</report>\n", "mismatched tag (line 4, column 3)", 4),
        ("<report>\n  <rentity_id>1</rentity_id>\n", "no element found", 3),
        ('<?xml version="1.0"?>\n<statement/>\n', "root element is <statement>", 2),
    ],
)
def test_xml_that_is_not_a_report_is_rejected(
    store: EvidenceStore, tmp_path: Path, content: str, expected: str, line: int
) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(content, encoding="utf-8")
    (file_report,) = run_ingest(store, GoamlReader(), [path], "fiu").files
    assert file_report.rejected is not None and expected in file_report.rejected
    assert file_report.problems[0].line == line
    assert store.scalar("SELECT count(*) FROM statements") == 0


def test_reingest_adds_nothing(store: EvidenceStore) -> None:
    first = run_ingest(store, GoamlReader(), [STR], "fiu")
    skipped = run_ingest(store, GoamlReader(), [STR], "fiu")
    forced = run_ingest(store, GoamlReader(), [STR], "fiu", force=True)
    assert first.statements_added > 100
    assert skipped.files[0].skipped and skipped.statements_added == 0
    assert not forced.files[0].skipped and forced.files[0].rows_read == 3 and forced.statements_added == 0
    assert store.scalar("SELECT count(*) FROM statements") == first.statements_added


def test_codes_file_replaces_sections_and_rejects_unknown_ones(tmp_path: Path) -> None:
    codes = load_codes(FIU_CODES)
    assert codes.describe("indicators", "IWT01") == "IWT01 (Party linked to a wildlife seizure)"
    assert codes.describe("indicators", "IWT03") == "IWT03"  # the FIU list replaced the default one
    assert codes.describe("report_types", "STR") == "STR (Suspicious transaction report)"  # kept
    assert codes.payer_roles == {"SND"} and codes.beneficiary_roles == {"RCV"}
    assert load_codes().describe("indicators", "IWT03").startswith("IWT03 (Structured cash deposits")
    bad = tmp_path / "codes.yaml"
    bad.write_text("indicator:\n  X: typo in the section name\n", encoding="utf-8")
    with pytest.raises(IngestError, match="unknown goAML codes section"):
        load_codes(bad)


def test_cli_ingests_a_report(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(
        app, ["ingest", "goaml", str(STR), "-d", "fiu", "-m", "red", "--home", str(home),
              "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
    )
    assert result.exit_code == 0, result.output
    settings = Settings.load(home, f"sqlite:///{tmp_path / 'x.db'}")
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        payment = _entity(store, payment_id("fiu", "1042", "STR-2024-0117", "TX-0003"))
        assert payment["amount"] == ["990000"] and payment["currency"] == ["KES"]
        assert store.scalar("SELECT rows_read FROM ingest_runs WHERE dataset = 'fiu'") == 3


def test_cli_reports_a_rejected_report(tmp_path: Path) -> None:
    path, line = _invalid_copy(tmp_path)
    result = CliRunner().invoke(
        app, ["ingest", "goaml", str(path), "-d", "fiu", "-m", "red", "--home", str(tmp_path / "home"),
              "--database-url", f"sqlite:///{tmp_path / 'x.db'}"],
    )
    assert result.exit_code == 1
    assert f"invalid.xml:{line}" in result.output.replace("\n", "")
    assert "Traceback" not in result.output


def test_a_value_ftm_rejects_is_quarantined_not_lost(store: EvidenceStore, tmp_path: Path) -> None:
    """The XSD only limits an IBAN's length; FtM's iban type checks its checksum. A value FtM
    refuses is quarantined with its field, and the transaction still loads."""
    text = STR.read_text("utf-8")
    anchor = "<account_name>Tembo Logistics Ltd operating account</account_name>"
    assert anchor in text
    bad = tmp_path / "bad_iban.xml"
    bad.write_text(text.replace(anchor, anchor + "\n        <iban>KE00BADCHECKSUM1234</iban>", 1), "utf-8")
    assert first_schema_error(bad, goaml_schema(SCHEMA_PATH, False)) is None
    clean = run_ingest(store, GoamlReader(), [STR], "clean")
    report = run_ingest(store, GoamlReader(), [bad], "fiu", labels=["bad_iban.xml"])
    (f,) = report.files
    assert f.rows_quarantined == 0
    assert f.rows_read == clean.files[0].rows_read
    rows = store.fetchall("SELECT line, field, error FROM quarantine WHERE dataset = 'fiu'")
    assert len(rows) == 1
    line, field, error = rows[0]
    assert field == "BankAccount.iban"
    assert error == "invalid iban value 'KE00BADCHECKSUM1234'"
    assert line is not None
    assert store.scalar("SELECT count(*) FROM statements WHERE dataset = 'fiu' AND schema = 'Payment' "
                        "AND prop = 'id'") == 3
