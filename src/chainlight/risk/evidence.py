"""Risk evidence: the facts port scores, registers and benchmarks are computed from, per dataset.

``build`` reads the projections once and writes small tables keyed by the datasets each fact
rests on, so that every reader's score is a cheap filter and sum over them: a reader counts a
fact only when it may read all of its datasets, and nobody's score moves because of evidence
they cannot see. Tables (all rebuilt wholesale in one transaction; docs/risk.md):

- ``risk_ports``: every World Port Index seaport (3,803) from the packaged reference
  (``listed``), plus any airport or other port the evidence names, with the structural facts
  scores use. CLEAR, except that an unlisted port exists for a reader only through evidence it
  may see.
- ``risk_incidents``: incident reports counted per dataset, port, stage, actor, item,
  consequence, outcome and month (stage and actor as catalogue keys); ``risk_incident_months``
  the same per dataset, port and month only (what scores read).
- ``risk_assessments``: each integrity assessment of a port, control as a catalogue key.
- ``risk_missed_seizures``: a port a seized shipment passed before the place it was seized.
- ``risk_route_exposure``: wildlife shipments and seizures through a port.
- ``risk_alert_ports``: red-flag alerts naming a port, or a shipment through it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from chainlight.reference import ports as reference_ports
from chainlight.risk.catalogue import Catalogue
from chainlight.store.evidence import EvidenceStore
from chainlight.store.projections import table_name

Advance = Callable[[int], None]

#: Statuses an assessment can report, and the spellings sources use for them.
STATUSES = {
    "in-place": "in-place", "in place": "in-place", "yes": "in-place", "implemented": "in-place",
    "effective": "in-place", "partial": "partial", "partly": "partial", "partially": "partial",
    "partially in place": "partial", "in progress": "partial", "absent": "absent", "no": "absent",
    "none": "absent", "not in place": "absent", "missing": "absent", "unknown": "unknown",
}

TABLES = ("risk_ports", "risk_incidents", "risk_incident_months", "risk_assessments", "risk_missed_seizures",
          "risk_route_exposure", "risk_alert_ports", "risk_state")


@dataclass(frozen=True, slots=True)
class BuildReport:
    ports: int
    incidents: int
    incident_cells: int
    assessments: int
    missed_seizures: int
    route_exposure: int
    alert_ports: int

    def as_dict(self) -> dict[str, int]:
        return {"ports": self.ports, "incidents": self.incidents, "incident_cells": self.incident_cells,
                "assessments": self.assessments, "missed_seizures": self.missed_seizures,
                "route_exposure": self.route_exposure, "alert_ports": self.alert_ports}


def _tables(store: EvidenceStore) -> set[str]:
    return {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}


def _columns(store: EvidenceStore, table: str) -> set[str]:
    return {r[0] for r in store.fetchall(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [table])}


#: Bumped when the tables' layout changes, so tables built by an older version count as stale.
LAYOUT = 2

#: Ports a reader knows: every World Port Index port, and any other port evidence it may see
#: names (a SQL condition on ``port_id`` with the visible datasets as ``$v``).
VISIBLE_PORT = """(port_id IN (SELECT port_id FROM risk_ports WHERE listed) OR port_id IN (
    SELECT port_id FROM risk_incidents WHERE dataset = ANY($v)
    UNION SELECT port_id FROM risk_assessments WHERE dataset = ANY($v)
    UNION SELECT port_id FROM risk_missed_seizures WHERE list_has_all($v, datasets)
    UNION SELECT port_id FROM risk_route_exposure WHERE list_has_all($v, datasets)
    UNION SELECT port_id FROM risk_alert_ports WHERE list_has_all($v, datasets)))"""


def _state_signature(store: EvidenceStore) -> str:
    """What the risk tables were built from: the layout, the statements (count, latest) and the alerts run."""
    count, latest = store.fetchall("SELECT count(*), CAST(max(last_seen) AS VARCHAR) FROM statements")[0]
    alerts = "none"
    if "alerts" in _tables(store):
        n, last = store.fetchall("SELECT count(*), CAST(max(last_raised) AS VARCHAR) FROM alerts")[0]
        alerts = f"{n}/{last}"
    return f"v{LAYOUT}/{count}/{latest}/{alerts}"


def current(store: EvidenceStore) -> bool:
    """Whether the risk tables exist and were built from the evidence as it is now."""
    if "risk_state" not in _tables(store):
        return False
    rows = store.fetchall("SELECT signature FROM risk_state")
    return bool(rows) and rows[0][0] == _state_signature(store)


def built(store: EvidenceStore) -> bool:
    return "risk_state" in _tables(store)


def build(store: EvidenceStore, *, home: Path | None = None, advance: Advance | None = None) -> BuildReport:
    """Rebuild every risk table from the projections, in one transaction (6 steps for ``advance``)."""
    step = advance or (lambda n: None)
    catalogue = Catalogue.load()
    tables = _tables(store)
    with store.transaction() as con:
        _ports(store, home=home)
        step(1)
        _incidents(store, catalogue, tables)
        step(1)
        _assessments(store, catalogue, tables)
        step(1)
        _missed_seizures(store, tables)
        step(1)
        _route_exposure(store, tables)
        step(1)
        _alert_ports(store, tables)
        _evidence_ports(store)
        con.execute("CREATE OR REPLACE TABLE risk_state (signature VARCHAR, built_at TIMESTAMPTZ)")
        con.execute("INSERT INTO risk_state VALUES (?, now())", [_state_signature(store)])
        step(1)
    counts = {t: int(store.scalar(f"SELECT count(*) FROM {t}")) for t in TABLES[:-1]}
    return BuildReport(
        ports=counts["risk_ports"],
        incidents=int(store.scalar("SELECT coalesce(sum(incidents), 0) FROM risk_incidents")),
        incident_cells=counts["risk_incidents"], assessments=counts["risk_assessments"],
        missed_seizures=counts["risk_missed_seizures"], route_exposure=counts["risk_route_exposure"],
        alert_ports=counts["risk_alert_ports"],
    )


def _config_codes(home: Path | None, name: str) -> set[str]:
    """UN/LOCODEs (and IATA codes) listed in a rules configuration table (the user's copy wins)."""
    from chainlight.rules import config

    table = config.load_all(home)[name]
    codes = set()
    for row in table.rows:
        for column in ("unlocode", "iata"):
            value = row.get(column)
            if value:
                codes.add(reference_ports.normalise_code(str(value)))
    return codes


def _ports(store: EvidenceStore, *, home: Path | None) -> None:
    free_zones = _config_codes(home, "free_trade_zones")
    hubs = _config_codes(home, "transit_hubs")
    rows = list(reference_ports.all_ports())
    arrow = pa.table({
        "port_id": [p.entity_id for p in rows],
        "code": [p.code for p in rows],
        "kind": [p.kind for p in rows],
        "name": [p.name for p in rows],
        "country": [(p.country or "").lower() or None for p in rows],
        "region": [p.region for p in rows],
        "harbour_size": [p.harbour_size for p in rows],
        "port_security": [p.port_security for p in rows],
        "first_port_of_entry": [p.first_port_of_entry for p in rows],
        "free_trade_zone": [bool(p.code and p.code in free_zones) for p in rows],
        "transit_hub": [bool(p.code and p.code in hubs) for p in rows],
        "latitude": pa.array([p.latitude for p in rows], pa.float64()),
        "longitude": pa.array([p.longitude for p in rows], pa.float64()),
        "listed": [True] * len(rows),
    })
    store.con.register("_risk_ports_ref", arrow)
    try:
        store.con.execute("CREATE OR REPLACE TABLE risk_ports AS SELECT * FROM _risk_ports_ref")
    finally:
        store.con.unregister("_risk_ports_ref")
    store.con.execute("CREATE OR REPLACE TEMP TABLE _risk_hubs AS SELECT unnest(?::VARCHAR[]) AS code", [sorted(hubs)])
    store.con.execute("CREATE OR REPLACE TEMP TABLE _risk_zones AS SELECT unnest(?::VARCHAR[]) AS code",
                      [sorted(free_zones)])


def _evidence_ports(store: EvidenceStore) -> None:
    """Airports and unlisted ports the evidence names join the table, with what the reference knows."""
    named = [r[0] for r in store.fetchall(
        """SELECT DISTINCT port_id FROM (
               SELECT port_id FROM risk_incidents UNION ALL SELECT port_id FROM risk_assessments
               UNION ALL SELECT port_id FROM risk_missed_seizures UNION ALL SELECT port_id FROM risk_route_exposure
               UNION ALL SELECT port_id FROM risk_alert_ports)
           WHERE port_id IS NOT NULL AND port_id NOT IN (SELECT port_id FROM risk_ports)"""
    )]
    if not named:
        return
    by_id = {p.entity_id: p for p in reference_ports.all_airports()}
    zones = {r[0] for r in store.fetchall("SELECT code FROM _risk_zones")}
    hubs = {r[0] for r in store.fetchall("SELECT code FROM _risk_hubs")}
    rows = []
    for port_id in sorted(named):
        info = by_id.get(port_id)
        code = info.code if info else _code_from_id(port_id)
        rows.append((
            port_id, code, info.kind if info else ("airport" if port_id.startswith("airport-") else "seaport"),
            info.name if info else (code or port_id), (info.country or "").lower() or None if info else None,
            None, None, None, None, bool(code and code in zones), bool(code and code in hubs),
            info.latitude if info else None, info.longitude if info else None, False,
        ))
    store.con.executemany("INSERT INTO risk_ports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    # A port known only from the evidence takes its name and country from the visible-to-all
    # reference dataset when one is loaded; otherwise the code stands in for the name.
    if "proj_port" in _tables(store):
        store.con.execute(
            """UPDATE risk_ports r
               SET name = coalesce(p.name[1], r.name), country = coalesce(p.country[1], r.country)
               FROM proj_port p
               WHERE p.id = r.port_id AND r.region IS NULL AND list_contains(p.datasets, 'reference-ports')"""
        )


def _code_from_id(port_id: str) -> str | None:
    match = re.fullmatch(r"(?:port|airport)-([a-z0-9]+)", port_id)
    return match.group(1).upper() if match else None


def _mapping(store: EvidenceStore, name: str, values: list[str | None], mapper: Callable[[str | None], str]) -> None:
    """A temp table from each raw spelling to its catalogue key (few distinct values: Python does it exactly)."""
    arrow = pa.table({"raw": pa.array(values, pa.string()), "key": [mapper(v) for v in values]})
    store.con.register("_risk_map_src", arrow)
    try:
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _risk_map_src")
    finally:
        store.con.unregister("_risk_map_src")


def _distinct(store: EvidenceStore, table: str, column: str) -> list[str | None]:
    return [r[0] for r in store.fetchall(f'SELECT DISTINCT "{column}"[1] FROM {table}')]


def _empty(store: EvidenceStore, name: str, columns: str) -> None:
    store.con.execute(f"CREATE OR REPLACE TABLE {name} ({columns})")


# A date given as YYYY, YYYY-MM or YYYY-MM-DD: the month it falls in (a bare year has none).
_MONTH = """CASE WHEN length({d}) >= 7 THEN try_cast(left({d}, 7) || '-01' AS DATE) END"""


def _incidents(store: EvidenceStore, catalogue: Catalogue, tables: set[str]) -> None:
    columns = ("dataset VARCHAR, port_id VARCHAR, stage VARCHAR, actor VARCHAR, item VARCHAR, consequence VARCHAR, "
               "outcome VARCHAR, month DATE, incidents BIGINT, cash_amount DOUBLE")
    source = table_name("Incident")
    if source not in tables:
        _empty(store, "risk_incidents", columns)
        _incident_months(store)
        return
    _mapping(store, "_risk_stage", _distinct(store, source, "processStage"), catalogue.stage_of)
    _mapping(store, "_risk_actor", _distinct(store, source, "demandingActorType"), catalogue.actor_of)
    month = _MONTH.format(d="i.date[1]")
    # One incident counts once, in its first dataset (incident ids carry their dataset, so an
    # incident reported by two organisations is two reports, as MACN counts them).
    store.con.execute(
        f"""CREATE OR REPLACE TABLE risk_incidents AS
            SELECT i.datasets[1] AS dataset, i.port[1] AS port_id,
                   coalesce(s.key, 'unknown') AS stage, coalesce(a.key, 'unknown') AS actor,
                   coalesce(lower(trim(i.itemDemanded[1])), 'unknown') AS item,
                   coalesce(lower(trim(i.consequenceOfRefusal[1])), 'unknown') AS consequence,
                   coalesce(lower(trim(i.outcome[1])), 'unknown') AS outcome,
                   {month} AS month, count(*) AS incidents,
                   sum(CASE WHEN lower(i.itemDemanded[1]) = 'cash' THEN try_cast(i.amount[1] AS DOUBLE) END)
                       AS cash_amount
            FROM {source} i
            LEFT JOIN _risk_stage s ON s.raw IS NOT DISTINCT FROM i.processStage[1]
            LEFT JOIN _risk_actor a ON a.raw IS NOT DISTINCT FROM i.demandingActorType[1]
            GROUP BY ALL"""
    )
    _incident_months(store)


def _incident_months(store: EvidenceStore) -> None:
    """Reports per dataset, port and month: what scores read (an eighth of the cells at 1 M reports)."""
    store.con.execute(
        """CREATE OR REPLACE TABLE risk_incident_months AS
           SELECT dataset, port_id, month, sum(incidents) AS incidents FROM risk_incidents GROUP BY ALL"""
    )


def _assessments(store: EvidenceStore, catalogue: Catalogue, tables: set[str]) -> None:
    columns = ("dataset VARCHAR, assessment_id VARCHAR, port_id VARCHAR, control VARCHAR, framework VARCHAR, "
               "status VARCHAR, score DOUBLE, date DATE, evidence VARCHAR")
    source = table_name("IntegrityAssessment")
    if source not in tables:
        _empty(store, "risk_assessments", columns)
        return
    _mapping(store, "_risk_control", _distinct(store, source, "control"), catalogue.control_of)
    statuses = pa.table({"raw": list(STATUSES), "key": list(STATUSES.values())})
    store.con.register("_risk_status", statuses)
    try:
        # Only assessments of a port (the subject is a Port entity) count for port scores.
        store.con.execute(
            f"""CREATE OR REPLACE TABLE risk_assessments AS
                SELECT a.datasets[1] AS dataset, a.id AS assessment_id, a.subject[1] AS port_id,
                       coalesce(c.key, 'unknown') AS control, a.controlFramework[1] AS framework,
                       coalesce(st.key, 'unknown') AS status, try_cast(a.score[1] AS DOUBLE) AS score,
                       coalesce(try_cast(a.date[1] AS DATE), try_cast(left(a.date[1], 7) || '-01' AS DATE),
                                try_cast(left(a.date[1], 4) || '-01-01' AS DATE)) AS date,
                       a.evidence[1] AS evidence
                FROM {source} a
                LEFT JOIN _risk_control c ON c.raw IS NOT DISTINCT FROM a.control[1]
                LEFT JOIN _risk_status st ON st.raw = lower(trim(a.assessmentStatus[1]))
                WHERE a.subject[1] LIKE 'port-%' OR a.subject[1] LIKE 'airport-%'"""
        )
    finally:
        store.con.unregister("_risk_status")


def _has(store: EvidenceStore, tables: set[str], schema: str, *props: str) -> bool:
    name = table_name(schema)
    return name in tables and set(props) <= _columns(store, name)


def _missed_seizures(store: EvidenceStore, tables: set[str]) -> None:
    columns = "port_id VARCHAR, seizure_id VARCHAR, shipment_id VARCHAR, date DATE, datasets VARCHAR[]"
    if not (_has(store, tables, "Seizure", "shipment", "port") and _has(store, tables, "Shipment", "portOfLoading")):
        _empty(store, "risk_missed_seizures", columns)
        return
    # Projections keep a property's values sorted, so the order of transit ports is lost: a
    # seizure at a transit port counts only the port of loading as missed; a seizure anywhere
    # else on the route (the port of discharge, or a port off the declared route) counts the
    # loading port and every transit port. A seizure at its port of loading missed nothing.
    store.con.execute(
        f"""CREATE OR REPLACE TABLE risk_missed_seizures AS
            WITH seized AS (
                SELECT z.id AS seizure_id, z.port[1] AS seized_at, unnest(z.shipment) AS shipment_id,
                       {_MONTH.format(d="z.date[1]")} AS month, try_cast(z.date[1] AS DATE) AS day,
                       z.datasets AS seizure_datasets
                FROM {table_name("Seizure")} z WHERE z.port[1] IS NOT NULL
            ),
            route AS (
                SELECT z.seizure_id, z.shipment_id, coalesce(z.day, z.month) AS date,
                       list_sort(list_distinct(list_concat(z.seizure_datasets, s.datasets))) AS datasets,
                       z.seized_at, s.portOfLoading AS loading, coalesce(s.transitPort, []) AS transits
                FROM seized z JOIN {table_name("Shipment")} s ON s.id = z.shipment_id
            ),
            missed AS (
                SELECT unnest(CASE
                    WHEN list_contains(loading, seized_at) THEN []
                    WHEN list_contains(transits, seized_at) THEN loading
                    ELSE list_concat(loading, transits) END) AS port_id,
                    seizure_id, shipment_id, date, datasets, seized_at
                FROM route
            )
            SELECT DISTINCT port_id, seizure_id, shipment_id, date, datasets FROM missed
            WHERE port_id IS NOT NULL AND port_id <> seized_at"""
    )


def _route_exposure(store: EvidenceStore, tables: set[str]) -> None:
    columns = "port_id VARCHAR, entity_id VARCHAR, kind VARCHAR, datasets VARCHAR[]"
    parts = []
    if _has(store, tables, "Shipment", "portOfLoading", "taxon"):
        parts.append(
            f"""SELECT unnest(list_concat(coalesce(portOfLoading, []), coalesce(transitPort, []),
                                          coalesce(portOfDischarge, []))) AS port_id,
                       id AS entity_id, 'wildlife-shipment' AS kind, datasets
                FROM {table_name("Shipment")} WHERE len(coalesce(taxon, [])) > 0"""
        )
    if _has(store, tables, "Seizure", "port"):
        parts.append(f"SELECT unnest(port) AS port_id, id, 'seizure', datasets FROM {table_name('Seizure')}")
    if not parts:
        _empty(store, "risk_route_exposure", columns)
        return
    store.con.execute(
        f"CREATE OR REPLACE TABLE risk_route_exposure AS SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)}) "
        "WHERE port_id IS NOT NULL"
    )


def _alert_ports(store: EvidenceStore, tables: set[str]) -> None:
    columns = "alert_id VARCHAR, port_id VARCHAR, rule_id VARCHAR, score DOUBLE, datasets VARCHAR[]"
    if "alerts" not in tables:
        _empty(store, "risk_alert_ports", columns)
        return
    shipments = ""
    if _has(store, tables, "Shipment", "portOfLoading"):
        # An alert whose subject is a shipment is tied to every port on the shipment's route.
        shipments = f"""
            UNION ALL
            SELECT a.alert_id, unnest(list_concat(coalesce(s.portOfLoading, []), coalesce(s.transitPort, []),
                                                  coalesce(s.portOfDischarge, []))),
                   a.rule_id, a.score, a.datasets
            FROM alerts a JOIN {table_name("Shipment")} s ON s.id = a.subject"""
    store.con.execute(
        f"""CREATE OR REPLACE TABLE risk_alert_ports AS
            SELECT DISTINCT alert_id, port_id, rule_id, score, datasets FROM (
                SELECT alert_id, e AS port_id, rule_id, score, datasets
                FROM (SELECT alert_id, rule_id, score, datasets,
                             unnest(list_concat([subject], entities, evidence)) AS e FROM alerts)
                WHERE e LIKE 'port-%' OR e LIKE 'airport-%'
                {shipments}
            ) WHERE port_id IS NOT NULL"""
    )
