from chainlight.reference.hs import WILDLIFE_HS_CODES, ancestors, describe, is_valid, wildlife_codes_for


def test_codes_and_descriptions() -> None:
    assert is_valid("050710") and is_valid("0507.10") and is_valid("05") and is_valid("96011000")
    assert not is_valid("059999") and not is_valid("")
    assert describe("960110") == "Ivory and articles thereof; worked"
    assert describe("0507.10.00") is not None and "ivory" in (describe("0507.10.00") or "")
    assert describe("123456") is None
    assert [c.code for c in ancestors("010620")] == ["010620", "0106", "01"]


def test_wildlife_codes_are_real_hs_codes_with_cites_terms() -> None:
    for entry in WILDLIFE_HS_CODES:
        assert is_valid(entry.code), entry.code
        assert entry.terms
    ivory = {w.code for w in WILDLIFE_HS_CODES if "TUS" in w.terms or "IVC" in w.terms}
    assert ivory == {"050710", "960110"}
    assert [w.code for w in wildlife_codes_for("010620")] == ["010620", "0106"]
    assert wildlife_codes_for("010121") == []
