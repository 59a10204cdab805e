"""MACN-style incident reports and port integrity assessments at any scale, written by DuckDB.

Every World Port Index port with a UN/LOCODE can be named. Reports are skewed as MACN's are
(its top 20 ports hold 28.6% of reports): 20 hotspot ports draw that share, the rest fall off
along a power law over a seeded ranking of ports, and the last 40% of the ranking has no report
at all (so the scoring's missing-data policy is exercised). Stages, actors, items and outcomes are
worded as reporters word them (the demo's wording, a few catalogue synonyms and a wording the
catalogue does not know). Assessments rate ports against the catalogue's controls, by label or
synonym, with several review cycles per port; hotspots have weak controls, a fifth of ports none
assessed. Rows are a pure function of (index, seed): the same arguments write the same files.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import duckdb

from chainlight.demo.sources import ASSESSMENT_COLUMNS, INCIDENT_COLUMNS
from chainlight.reference.ports import all_ports
from chainlight.risk.catalogue import Catalogue

HOTSPOTS = 20
HOTSPOT_SHARE = 0.286  # MACN: its top 20 ports hold 28.6% of its reports
REPORTING_SHARE = 0.6  # ports, by the seeded ranking, that have any report at all
ASSESSED_SHARE = 0.8  # ports with any assessment
START = "2019-01-01"
DAYS = 6 * 365

#: (wording, weight): reporters' words for stages; "bunkering" is one the catalogue does not know.
STAGES = (
    ("berthing", 20), ("cargo clearance", 18), ("crew immigration", 14), ("port state control", 8),
    ("departure clearance", 10), ("container release", 12), ("permit verification", 5),
    ("physical inspection", 5), ("free zone", 3), ("anchorage", 3), ("bunkering", 2),
)
ACTORS = (
    ("port authority", 21), ("pilot", 17), ("customs", 13), ("agent", 8), ("immigration", 12),
    ("police", 9), ("health authority", 21), ("security", 3), ("terminal operator", 2),
)
ITEMS = (("cigarettes", 40), ("alcohol", 15), ("cash", 30), ("food", 10), ("electronics", 5))
CONSEQUENCES = ("delay", "fine", "refused clearance", "extra inspection", "threat to crew")
OUTCOMES = ("refused, no consequence", "refused, delayed", "paid", "escalated to management")
STATUSES = ("in-place", "partial", "absent", "unknown")
ASSESSORS = ("Port Integrity Assessors", "MACN country team", "Customs integrity unit", "Independent auditor")
FRAMEWORKS = {"revised-arusha-declaration": "Revised Arusha Declaration", "wco-crm": "WCO corruption risk mapping",
              "ccp": "UNODC-WCO Container Control Programme", "macn": "MACN"}


@dataclass(frozen=True, slots=True)
class Ports:
    """The ports reports may name, in the seeded ranking (hotspots first)."""

    codes: list[str]
    names: list[str]

    @property
    def hotspots(self) -> list[str]:
        return self.codes[:HOTSPOTS]


def ports(seed: int) -> Ports:
    """Every World Port Index port with a UN/LOCODE (one per code: the port the code names),
    shuffled by ``seed``."""
    seen: dict[str, str] = {}
    for info in all_ports():
        if info.unlocode and info.unlocode not in seen and info.entity_id == f"port-{info.unlocode.lower()}":
            seen[info.unlocode] = info.name
    codes = sorted(seen)
    random.Random(seed).shuffle(codes)
    return Ports(codes, [seen[c] for c in codes])


def _lit(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _weighted(pairs: tuple[tuple[str, int], ...]) -> str:
    """A SQL list where each value appears ``weight`` times: picking uniformly from it picks by weight."""
    return _lit([value for value, weight in pairs for _ in range(weight)])


def _pick(values: str, bits: str) -> str:
    return f"list_element({values}, (1 + ({bits}) % len({values}))::BIGINT)"


def _connect(ports: Ports) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE TABLE ports AS SELECT unnest($codes) AS code, unnest($names) AS name, "
                "unnest(range(len($codes))) AS rank", {"codes": ports.codes, "names": ports.names})
    return con


def write_incidents(path: Path, rows: int, seed: int, where: Ports | None = None) -> Path:
    """Write ``rows`` incident reports (INCIDENT_COLUMNS, header included) to ``path``."""
    where = where or ports(seed)
    n = len(where.codes)
    reporting = max(1, int(n * REPORTING_SHARE))
    con = _connect(where)
    try:
        columns = ", ".join(f'"{c}"' for c in INCIDENT_COLUMNS)
        con.execute(
            f"""COPY (
                WITH g AS (SELECT range AS i, hash(range, {seed}) AS h, hash(range, {seed}, 'u') AS k
                           FROM range({rows})),
                r AS (SELECT i, h, k,
                        CASE WHEN (h % 1000000) / 1e6 < {HOTSPOT_SHARE} THEN (h >> 20) % {HOTSPOTS}
                             ELSE floor({reporting} * pow(((h >> 20) % 1000000) / 1e6, 2.5))::BIGINT END AS rank,
                        {_pick(_weighted(ITEMS), "k >> 8")} AS item
                      FROM g),
                x AS (SELECT r.*, p.code FROM r JOIN ports p USING (rank))
                SELECT {columns} FROM (
                    SELECT 'MACN-' || lpad((i + 1)::VARCHAR, 7, '0') AS incident_id,
                        code AS port,
                        substr(code, 1, 2) AS country,
                        -- sqrt: reports grow over the years, as a platform's do
                        (DATE '{START}' + floor({DAYS} * sqrt(((h >> 40) % 100000) / 1e5))::INTEGER)::VARCHAR AS date,
                        {_pick(_weighted(STAGES), "k >> 16")} AS process_stage,
                        {_pick(_weighted(ACTORS), "k >> 24")} AS demanding_actor,
                        item AS item_demanded,
                        CASE WHEN item = 'cash' THEN 20 + (k >> 32) % 1980 END AS amount,
                        CASE WHEN item = 'cash' THEN 'USD' END AS currency,
                        {_pick(_lit(CONSEQUENCES), "k >> 44")} AS consequence_of_refusal,
                        {_pick(_lit(OUTCOMES), "k >> 52")} AS outcome
                    FROM x ORDER BY i)
            ) TO '{path}' (FORMAT csv, HEADER true)"""
        )
    finally:
        con.close()
    return path


def write_assessments(path: Path, rows: int, seed: int, where: Ports | None = None) -> Path:
    """Write ``rows`` integrity assessments (ASSESSMENT_COLUMNS, header included) to ``path``."""
    where = where or ports(seed)
    n = len(where.codes)
    assessed = max(1, int(n * ASSESSED_SHARE))
    controls = list(Catalogue.load().controls.values())
    # Each control by its label, or now and then by its first synonym, as assessors write them.
    wordings = [c.label for c in controls] * 3 + [(c.synonyms or (c.label,))[0] for c in controls]
    frameworks = [FRAMEWORKS.get(c.framework, c.framework) for c in controls] * 3 + [
        FRAMEWORKS.get(c.framework, c.framework) for c in controls]
    weak = _lit([s for s, w in zip(STATUSES, (1, 3, 5, 1), strict=True) for _ in range(w)])
    sound = _lit([s for s, w in zip(STATUSES, (6, 3, 1, 1), strict=True) for _ in range(w)])
    con = _connect(where)
    try:
        columns = ", ".join(f'"{c}"' for c in ASSESSMENT_COLUMNS)
        con.execute(
            f"""COPY (
                WITH g AS (SELECT range AS i, hash(range, {seed}, 'a') AS h FROM range({rows})),
                r AS (SELECT i, h, floor({assessed} * pow((h % 1000000) / 1e6, 1.5))::BIGINT AS rank,
                             (1 + (h >> 20) % {len(wordings)})::BIGINT AS c FROM g),
                x AS (SELECT r.*, p.code, p.name,
                        CASE WHEN rank < {HOTSPOTS} THEN {_pick(weak, "h >> 28")}
                             ELSE {_pick(sound, "h >> 28")} END AS status
                      FROM r JOIN ports p USING (rank))
                SELECT {columns} FROM (
                    SELECT 'PIA-' || lpad((i + 1)::VARCHAR, 7, '0') AS assessment_id,
                        code AS subject_port, name AS subject_name, substr(code, 1, 2) AS subject_country,
                        list_element({_lit(wordings)}, c) AS control,
                        list_element({_lit(frameworks)}, c) AS framework,
                        status,
                        'desk review and site visit, ' || lower(list_element({_lit(wordings)}, c)) AS evidence,
                        {_pick(_lit(ASSESSORS), "h >> 36")} AS assessor,
                        (DATE '{START}' + ((h >> 40) % {DAYS})::INTEGER)::VARCHAR AS date,
                        CASE status WHEN 'in-place' THEN 3 WHEN 'partial' THEN 2 WHEN 'absent' THEN 0 END AS score
                    FROM x ORDER BY i)
            ) TO '{path}' (FORMAT csv, HEADER true)"""
        )
    finally:
        con.close()
    return path
