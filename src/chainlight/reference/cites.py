"""CITES Trade Database codes: purposes, sources, terms, units and countries.

Readers validate against these and rules interpret them, so both must see the same lists:
Python code through :func:`codes`, SQL through the temp tables :func:`register_tables` creates
on a DuckDB connection. The lists ship with the package (``data/cites-codes.csv`` and
``data/cites-countries.tsv``, see ``data/CITES-HS-SOURCES.md``).

Trade Database exports spell terms and units out in words ("tusks", "kg") where the guide's
annexes give three-letter codes (TUS, KIL). Both spellings are accepted and resolve to the
code, so the records hold one vocabulary whatever the export.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Final

import duckdb
import pyarrow as pa

#: Appendix values in the Trade Database: I, II, III, and N for trade in non-listed or
#: de-listed taxa reported anyway.
APPENDICES: Final = ("I", "II", "III", "N")

#: Reporter.type: who reported the shipment, the exporting or the importing party.
REPORTER_TYPES: Final = {"E": "Exporter", "I": "Importer"}

#: The Convention entered into force on 1 July 1975; the Trade Database starts that year.
FIRST_TRADE_YEAR: Final = 1975

#: Source code Y (assisted production of plants) was adopted at CoP18 (2019), after the
#: guide the shipped code list comes from; later exports use it.
EXTRA_SOURCES: Final = {
    "Y": "Specimens of plants that are produced through assisted production (Resolution Conf. 11.11 "
    "(Rev. CoP18)).",
}

#: Unit spellings used in Trade Database exports besides the codes and their descriptions.
UNIT_ALIASES: Final = {
    "KG": "KIL", "G": "GRM", "MG": "MGM", "UG": "MYG", "L": "LTR", "ML": "MLT", "M": "MTR", "CM": "CTM",
    "M2": "SQM", "M3": "CUM", "CM2": "SQC", "CM3": "CCM", "DM2": "SQD", "FT2": "SQF", "FT3": "CUF",
    "FT": "FEE", "IN": "INC", "LB": "PND", "OZ": "OUN", "T": "TON", "KILOGRAMMES": "KIL", "GRAMMES": "GRM",
    "NUMBER OF SPECIMENS": "",
}


@dataclass(frozen=True, slots=True)
class Country:
    """A party, territory or CITES pseudo-code (XX unknown, XF Africa, ZZ introduction from the sea)."""

    code: str
    name: str
    former: bool
    pseudo: bool
    joined: date | None


@dataclass(frozen=True, slots=True)
class CitesCodes:
    purposes: dict[str, str]
    sources: dict[str, str]
    terms: dict[str, str]
    units: dict[str, str]
    countries: dict[str, Country]

    def term_code(self, value: str) -> str | None:
        """The term code for a code or a description in any case; None when unknown."""
        return _lookup(value, self.terms, {})

    def unit_code(self, value: str) -> str | None:
        """The unit code for a code, description or export spelling; "" for number of specimens
        (a blank unit); None when unknown."""
        if not value.strip():
            return ""
        return _lookup(value, self.units, UNIT_ALIASES)


def _lookup(value: str, table: dict[str, str], aliases: dict[str, str]) -> str | None:
    key = value.strip().upper()
    if key in table:
        return key
    if key in aliases:
        return aliases[key]
    for code, description in table.items():
        if description.upper() == key:
            return code
    return None


def _data_text(name: str) -> str:
    return (files("chainlight.reference") / "data" / name).read_text(encoding="utf-8")


@cache
def codes() -> CitesCodes:
    """The code lists, read once per process."""
    tables: dict[str, dict[str, str]] = {"Purpose": {}, "Source": {}, "Term": {}, "Unit": {}}
    for row in csv.DictReader(_data_text("cites-codes.csv").splitlines()):
        tables[row["field"]][row["code"]] = row["description"]
    sources = {**tables["Source"], **EXTRA_SOURCES}
    countries: dict[str, Country] = {}
    for row in csv.DictReader(_data_text("cites-countries.tsv").splitlines(), delimiter="\t"):
        joined = None if row["date"] in ("", "NA") else date.fromisoformat(row["date"])
        countries[row["code"]] = Country(
            row["code"], row["country"], row["former_code"] == "TRUE", row["non_ISO_code"] == "TRUE", joined
        )
    return CitesCodes(tables["Purpose"], sources, tables["Term"], tables["Unit"], countries)


def _keys(table: dict[str, str], aliases: dict[str, str]) -> pa.Table:
    """Every accepted spelling (upper case) -> its code, for joins in SQL."""
    pairs: dict[str, str] = {}
    for code, description in table.items():
        pairs.setdefault(description.upper(), code)
    pairs.update(aliases)
    pairs.update({code: code for code in table})
    return pa.table({"key": list(pairs), "code": list(pairs.values())})


def register_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the temp tables ``cites_terms``, ``cites_units``, ``cites_purposes``,
    ``cites_sources`` (code, description), ``cites_countries`` (code, name, former, pseudo,
    joined) and the spelling lookups ``cites_term_keys`` and ``cites_unit_keys`` (key, code)
    on ``con``. Temp tables belong to the connection, so this never touches the store file."""
    c = codes()
    simple = {"cites_terms": c.terms, "cites_units": c.units, "cites_purposes": c.purposes, "cites_sources": c.sources}
    arrow: dict[str, pa.Table] = {
        name: pa.table({"code": list(t), "description": list(t.values())}) for name, t in simple.items()
    }
    countries = list(c.countries.values())
    arrow["cites_countries"] = pa.table({
        "code": [x.code for x in countries],
        "name": [x.name for x in countries],
        "former": [x.former for x in countries],
        "pseudo": [x.pseudo for x in countries],
        "joined": pa.array([x.joined for x in countries], pa.date32()),
    })
    arrow["cites_term_keys"] = _keys(c.terms, {})
    arrow["cites_unit_keys"] = _keys(c.units, UNIT_ALIASES)
    for name, table in arrow.items():
        view = f"_arrow_{name}"
        con.register(view, table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
        finally:
            con.unregister(view)
