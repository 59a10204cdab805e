"""Configuration tables: defaults, the user's copies, and clear errors for bad or ambiguous files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from chainlight.rules import config


def test_every_shipped_table_loads_with_its_spec() -> None:
    tables = config.load_all(None)
    assert {"parameters", "secrecy_jurisdictions", "country_roles", "commodities"} <= set(tables)
    assert any(r["country"] == "vg" for r in tables["secrecy_jurisdictions"].rows)
    assert all(not t.user for t in tables.values())


def test_a_users_copy_replaces_the_default_and_is_registered_for_sql(tmp_path: Path) -> None:
    source = tmp_path / "mine.csv"
    source.write_text("country,name,note\nxk,Example Land,\n", encoding="utf-8")
    installed = config.install(tmp_path / "home", "secrecy_jurisdictions", source)
    assert installed.path == tmp_path / "home" / "rules" / "config" / "secrecy_jurisdictions.csv"
    tables = config.load_all(tmp_path / "home")
    assert tables["secrecy_jurisdictions"].user
    con = duckdb.connect()
    config.register(con, tables)
    assert con.execute("SELECT country, note FROM cfg_secrecy_jurisdictions").fetchall() == [("xk", None)]


def test_bad_values_name_the_file_line_and_field(tmp_path: Path) -> None:
    spec_name = next(n for n, s in config.specs().items() if any(c.type == "DATE" for c in s.columns.values()))
    spec = config.specs()[spec_name]
    header = ",".join(spec.columns)
    values = ["not-a-date" if c.type == "DATE" else ("1" if c.type in ("DOUBLE", "INTEGER") else "x")
              for c in spec.columns.values()]
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\n{','.join(values)}\n", encoding="utf-8")
    date_field = next(n for n, c in spec.columns.items() if c.type == "DATE")
    with pytest.raises(config.ConfigError, match=rf"bad.csv:2: field {date_field}: 'not-a-date' is not a date"):
        config.read_table(spec_name, path)


def test_missing_columns_required_fields_and_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "roles.csv"
    path.write_text("country,commodity\nke,ivory\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"roles.csv:1: missing column\(s\) role"):
        config.read_table("country_roles", path)
    path.write_text("country,commodity,role\nke,ivory,\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"roles\.csv:2: field role is required"):
        config.read_table("country_roles", path)
    path.write_text("country,commodity,role\nke,ivory,source\nke,ivory,source\n", encoding="utf-8")
    with pytest.raises(config.ConfigError, match=r"roles\.csv:3: ambiguous: same country, commodity, role as line 2"):
        config.read_table("country_roles", path)
    with pytest.raises(config.ConfigError, match="unknown configuration table 'nope'"):
        config.read_table("nope", path)
    # A refused file never replaces the user's copy.
    with pytest.raises(config.ConfigError):
        config.install(tmp_path / "home", "country_roles", path)
    assert not (tmp_path / "home" / "rules" / "config" / "country_roles.csv").exists()
