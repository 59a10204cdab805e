import duckdb

from chainlight.reference.cites import codes, register_tables


def test_codes_cover_the_guide_annexes() -> None:
    c = codes()
    assert c.purposes["T"] == "Commercial"
    assert c.sources["W"] == "Specimens taken from the wild."
    assert "Y" in c.sources  # assisted production, CoP18
    assert c.terms["TUS"] == "Tusks" and c.units["KIL"] == "Kilograms"
    assert c.countries["XF"].pseudo and c.countries["XF"].name == "Africa"
    assert c.countries["ZR"].former and not c.countries["ZR"].pseudo
    assert str(c.countries["KE"].joined) == "1979-03-13"


def test_terms_and_units_resolve_from_codes_descriptions_and_export_spellings() -> None:
    c = codes()
    assert c.term_code("tusks") == "TUS"
    assert c.term_code("SCA") == "SCA"
    assert c.term_code("ivory carvings") == "IVC"
    assert c.term_code("gizmos") is None
    assert c.unit_code("kg") == "KIL"
    assert c.unit_code("m3") == "CUM"
    assert c.unit_code("") == ""
    assert c.unit_code("bushels") is None


def test_register_tables_exposes_codes_to_sql() -> None:
    con = duckdb.connect()
    register_tables(con)
    assert con.execute("SELECT description FROM cites_purposes WHERE code = 'H'").fetchall() == [("Hunting trophy",)]
    assert con.execute("SELECT code FROM cites_term_keys WHERE key = 'LIVE'").fetchall() == [("LIV",)]
    assert con.execute("SELECT code FROM cites_unit_keys WHERE key = 'KG'").fetchall() == [("KIL",)]
    assert con.execute("SELECT count(*) FROM cites_countries WHERE pseudo").fetchall()[0][0] >= 10
    assert con.execute("SELECT count(*) FROM cites_sources").fetchall()[0][0] == 11
    register_tables(con)  # idempotent on the same connection
    assert con.execute("SELECT count(*) FROM cites_terms WHERE code = 'TUS'").fetchall() == [(1,)]
