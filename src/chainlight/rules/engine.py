"""Running rules: prepare a connection, run each query, check its output, keep the alerts.

A run materialises the inputs the selected rules read, registers the configuration and code
tables, runs every rule into a temp table, checks each output against the alert contract
(:mod:`chainlight.rules.model`), then replaces those rules' alerts in one transaction. An
alert's id is a hash of the rule id and its subject, so the same finding keeps its id (and
its triage, which lives in the operational store) across runs; ``first_raised`` is carried
over from the previous run. A rule whose inputs or configuration are empty does not run: a
library run reports it as skipped, a run naming it stops with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from chainlight.reference.cites import register_tables
from chainlight.reference.hs import WILDLIFE_HS_CODES
from chainlight.rules import config as rule_config
from chainlight.rules.inputs import INPUTS, materialise
from chainlight.rules.model import REQUIRED_COLUMNS, LoadedRule, Rule, RuleError
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore

ALERT_TABLES = (
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id VARCHAR NOT NULL,
        rule_id VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        score DOUBLE NOT NULL,
        flags VARCHAR NOT NULL,
        subject VARCHAR NOT NULL,
        entities VARCHAR[] NOT NULL,
        evidence VARCHAR[] NOT NULL,
        datasets VARCHAR[] NOT NULL,
        reason VARCHAR NOT NULL,
        details VARCHAR NOT NULL,
        first_raised TIMESTAMP NOT NULL,
        last_raised TIMESTAMP NOT NULL,
        run_id VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS alert_clusters (entity_id VARCHAR NOT NULL, canonical_id VARCHAR NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS alert_runs (
        run_id VARCHAR NOT NULL,
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP NOT NULL,
        rule_id VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        alerts BIGINT NOT NULL,
        seconds DOUBLE NOT NULL,
        message VARCHAR
    )""",
)

MACROS = (
    "CREATE OR REPLACE TEMP MACRO trade_ref(d, r) AS 'trade:' || d || ':' || r",
    "CREATE OR REPLACE TEMP MACRO merge_lists(a, b) AS list_sort(list_distinct(list_concat(coalesce(a, []), "
    "coalesce(b, []))))",
    "CREATE OR REPLACE TEMP MACRO without_nulls(a) AS list_filter(a, lambda x: x IS NOT NULL)",
)


def _wildlife_hs() -> pa.Table:
    rows: list[tuple[str, str, str, str | None, str | None]] = []
    for hs in WILDLIFE_HS_CODES:
        for term in hs.terms:
            for rank, name in hs.taxa or ((None, None),):
                rows.append((hs.code, hs.label, term, rank, name))
    cols = list(zip(*rows, strict=True))
    return pa.table({"hs_code": cols[0], "label": cols[1], "term": cols[2], "rank": cols[3], "name": cols[4]},
                    schema=pa.schema([(n, pa.string()) for n in ("hs_code", "label", "term", "rank", "name")]))


def prepare(con: duckdb.DuckDBPyConnection, tables: dict[str, rule_config.ConfigTable]) -> None:
    """Code tables, ``ref_wildlife_hs``, configuration tables and helper macros on ``con``."""
    register_tables(con)
    con.register("_arrow_ref_wildlife_hs", _wildlife_hs())
    con.execute("CREATE OR REPLACE TEMP TABLE ref_wildlife_hs AS SELECT * FROM _arrow_ref_wildlife_hs")
    con.unregister("_arrow_ref_wildlife_hs")
    rule_config.register(con, tables)
    for macro in MACROS:
        con.execute(macro)


def _ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the alert tables; alerts (derived, rebuilt by every run) kept in an older layout
    are dropped and rebuilt rather than migrated: triage lives elsewhere and survives."""
    expected = [line.strip().split()[0] for line in ALERT_TABLES[0].splitlines()[1:] if line.strip()[:1].isalpha()]
    present = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = 'alerts' ORDER BY column_index").fetchall()]
    if present and present != expected:
        con.execute("DROP TABLE alerts")
    for ddl in ALERT_TABLES:
        con.execute(ddl)


def parameters(rule: Rule, overrides: dict[str, float | int | str] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {name: p.value for name, p in rule.parameters.items()}
    for name, value in (overrides or {}).items():
        if name not in rule.parameters:
            raise RuleError(f"rule {rule.id} has no parameter {name!r}")
        values[name] = value
    return values


def user_parameters(tables: dict[str, rule_config.ConfigTable], rule: Rule) -> dict[str, float | int | str]:
    """Overrides from the ``parameters`` configuration table (rule, name, value)."""
    out: dict[str, float | int | str] = {}
    for row in tables["parameters"].rows:
        if row["rule"] != rule.id:
            continue
        if row["name"] not in rule.parameters:
            raise RuleError(f"{tables['parameters'].path}: rule {rule.id} has no parameter {row['name']!r}")
        default = rule.parameters[row["name"]].value
        text = row["value"]
        try:
            out[row["name"]] = type(default)(text) if not isinstance(default, str) else text
        except ValueError:
            raise RuleError(f"{tables['parameters'].path}: {rule.id}.{row['name']}: {text!r} is not a number") from None
    return out


def evaluate(con: duckdb.DuckDBPyConnection, rule: Rule, params: dict[str, Any], table: str = "_rule_out") -> None:
    """Run ``rule`` into temp table ``table`` and check its columns against the contract."""
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {rule.query}", params)
    except duckdb.Error as exc:
        raise RuleError(f"rule {rule.id}: the query failed: {str(exc).splitlines()[0]}") from None
    types = {name: str(type_) for name, type_, *_ in con.execute(f"DESCRIBE {table}").fetchall()}
    for column, expected in REQUIRED_COLUMNS.items():
        if column not in types:
            raise RuleError(f"rule {rule.id}: the query returns no {column!r} column")
        if types[column] not in (expected, '"NULL"', '"NULL"[]'):  # NULL types: an empty list or NULL literal
            raise RuleError(f"rule {rule.id}: column {column!r} is {types[column]}, not {expected}")
    if "score" in types and types["score"] not in ("DOUBLE", "FLOAT", "DECIMAL", '"NULL"') \
            and not types["score"].startswith("DECIMAL"):
        raise RuleError(f"rule {rule.id}: column 'score' is {types['score']}, not DOUBLE")
    missing = [d for d in rule.details if d not in types]
    if missing:
        raise RuleError(f"rule {rule.id}: detail column(s) {', '.join(missing)} not in the query's output")


@dataclass(slots=True)
class RuleOutcome:
    rule_id: str
    status: str  # ran, skipped
    alerts: int = 0
    seconds: float = 0.0
    message: str | None = None


@dataclass(slots=True)
class RunReport:
    run_id: str
    outcomes: list[RuleOutcome] = field(default_factory=list)
    input_rows: dict[str, int] = field(default_factory=dict)
    prepare_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def alerts(self) -> int:
        return sum(o.alerts for o in self.outcomes)


def missing_inputs(rule: Rule, counts: dict[str, int], tables: dict[str, rule_config.ConfigTable]) -> list[str]:
    out = [f"input '{name}' is empty" for name in rule.inputs if counts.get(name, 0) == 0]
    for name in rule.config:
        if name not in tables:
            out.append(f"configuration table '{name}' does not exist")
        elif not tables[name].rows:
            out.append(f"configuration table '{name}' is empty ({tables[name].path})")
    return out


def conflicts(con: duckdb.DuckDBPyConnection, rule: Rule, canon: str | None) -> list[str]:
    """For each of the rule's ``unambiguous`` columns, a description of the entities whose
    sources disagree on its value (empty when they all agree)."""
    out: list[str] = []
    for item in rule.unambiguous:
        name, _, column = item.partition(".")
        spec = INPUTS[name]
        col = next(c for c in spec.columns if c.name == column)
        schemata = ", ".join(f"'{s}'" for s in spec.schemata)
        value = f"CAST(TRY_CAST(s.value AS {col.type}) AS VARCHAR)" if col.type in ("DOUBLE", "DATE") else "s.value"
        entity = "coalesce(c.canonical_id, s.entity_id)" if canon else "s.entity_id"
        join = f"LEFT JOIN {canon} c ON c.entity_id = s.entity_id" if canon else ""
        rows = con.execute(
            f"""SELECT count(*) OVER () AS n, id, values, datasets FROM (
                    SELECT {entity} AS id, list(DISTINCT s.value ORDER BY s.value) AS values,
                           list(DISTINCT s.dataset ORDER BY s.dataset) AS datasets
                    FROM statements s {join}
                    WHERE s.schema IN ({schemata}) AND s.prop = $prop
                    GROUP BY 1 HAVING count(DISTINCT {value}) > 1
                ) ORDER BY id LIMIT 3""",
            {"prop": col.prop},
        ).fetchall()
        if rows:
            examples = "; ".join(f"{r[1]}: {' vs '.join(r[2])} ({', '.join(r[3])})" for r in rows)
            out.append(f"{item} is ambiguous for {rows[0][0]} entities, the sources disagree (e.g. {examples})")
    return out


def _insert_sql(rule: Rule, has_score: bool) -> str:
    score = "coalesce(CAST(score AS DOUBLE), $score)" if has_score else "$score"
    details = ", ".join(f'"{d}" := "{d}"' for d in rule.details)
    details_json = f"CAST(to_json(struct_pack({details})) AS VARCHAR)" if details else "'{}'"
    return f"""
        INSERT INTO _new_alerts
        SELECT 'al-' || substr(sha256($rule_id || chr(31) || subject), 1, 24),
               $rule_id, $title, $category, $severity, {score}, $flags, subject,
               coalesce(without_nulls(entities), []), coalesce(without_nulls(evidence), []),
               list_sort(list_distinct(coalesce(without_nulls(datasets), []))), reason, {details_json}
        FROM _rule_out
    """


def run(
    store: EvidenceStore,
    rules: list[LoadedRule],
    home: Path | None,
    *,
    strict: bool = False,
    clusters: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunReport:
    """Run ``rules`` over the store and keep their alerts. ``strict``: a rule that cannot run
    is an error (a run naming rules), not a skip (a library run). ``clusters`` maps entity ids
    to resolved cluster ids (resolution with every standing judgement); the mapping a run used
    is kept as ``alert_clusters`` so evidence can be traced back to the entities merged."""
    started = datetime.now(UTC).replace(tzinfo=None)
    clock = time.perf_counter()
    run_id = "run-" + started.strftime("%Y%m%dT%H%M%S%f")
    report = RunReport(run_id)
    tables = rule_config.load_all(home)
    con = store.con
    _ensure_tables(con)
    prepare(con, tables)
    needed = sorted({name for r in rules for name in r.rule.all_inputs}, key=list(INPUTS).index)
    if progress:
        progress(f"preparing inputs: {', '.join(needed)}")
    if projections.ensure_current(store) and progress:
        progress("projections rebuilt")
    canon = None
    if clusters:
        merged = {k: v for k, v in clusters.items() if k != v}
        merged.update({v: v for v in set(merged.values())})  # the canonical member, where it is one
        con.register("_arrow_canon", pa.table({"entity_id": pa.array(list(merged), pa.string()),
                                               "canonical_id": pa.array(list(merged.values()), pa.string())}))
        con.execute("CREATE OR REPLACE TEMP TABLE _canon AS SELECT * FROM _arrow_canon")
        con.unregister("_arrow_canon")
        canon = "_canon"
    report.input_rows = materialise(con, needed, canon)
    report.prepare_seconds = time.perf_counter() - clock
    con.execute("""CREATE OR REPLACE TEMP TABLE _new_alerts (
        alert_id VARCHAR, rule_id VARCHAR, title VARCHAR, category VARCHAR, severity VARCHAR, score DOUBLE,
        flags VARCHAR, subject VARCHAR, entities VARCHAR[], evidence VARCHAR[], datasets VARCHAR[], reason VARCHAR,
        details VARCHAR)""")
    ran: list[str] = []
    for loaded in rules:
        rule = loaded.rule
        if progress:
            progress(rule.id)
        missing = missing_inputs(rule, report.input_rows, tables)
        if not missing:
            missing = conflicts(con, rule, canon)
        if missing:
            message = f"rule {rule.id} cannot run: " + "; ".join(missing)
            if strict:
                raise RuleError(message)
            report.outcomes.append(RuleOutcome(rule.id, "skipped", message=message))
            continue
        tick = time.perf_counter()
        evaluate(con, rule, parameters(rule, user_parameters(tables, rule)))
        has_score = any(r[0] == "score" for r in con.execute("DESCRIBE _rule_out").fetchall())
        sql = _insert_sql(rule, has_score)
        before = int(con.execute("SELECT count(*) FROM _new_alerts").fetchall()[0][0])
        con.execute(sql, {"rule_id": rule.id, "title": rule.title, "category": rule.category, "severity": rule.severity,
                          "score": rule.effective_score, "flags": rule.flags})
        after = int(con.execute("SELECT count(*) FROM _new_alerts").fetchall()[0][0])
        dupes = con.execute(
            "SELECT subject FROM _new_alerts WHERE rule_id = ? GROUP BY subject HAVING count(*) > 1 LIMIT 1",
            [rule.id],
        ).fetchall()
        if dupes:
            raise RuleError(f"rule {rule.id}: subject {dupes[0][0]!r} is flagged twice; one alert per subject")
        report.outcomes.append(RuleOutcome(rule.id, "ran", after - before, time.perf_counter() - tick))
        ran.append(rule.id)
    finished = datetime.now(UTC).replace(tzinfo=None)
    with store.transaction():
        con.execute(
            """CREATE OR REPLACE TEMP TABLE _merged AS
               SELECT n.*, coalesce(o.first_raised, $now) AS first_raised, CAST($now AS TIMESTAMP) AS last_raised,
                      $run_id AS run_id
               FROM _new_alerts n LEFT JOIN alerts o USING (alert_id)""",
            {"now": finished, "run_id": run_id},
        )
        con.execute("DELETE FROM alerts WHERE rule_id = ANY($ran)", {"ran": ran})
        con.execute(
            "INSERT INTO alerts SELECT alert_id, rule_id, title, category, severity, score, flags, subject, entities, "
            "evidence, datasets, reason, details, first_raised, last_raised, run_id FROM _merged"
        )
        con.execute("DELETE FROM alert_clusters")
        if canon:
            con.execute("INSERT INTO alert_clusters SELECT entity_id, canonical_id FROM _canon")
        for o in report.outcomes:
            con.execute(
                "INSERT INTO alert_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, started, finished, o.rule_id, o.status, o.alerts, o.seconds, o.message],
            )
    con.execute("DROP TABLE IF EXISTS _merged")
    con.execute("DROP TABLE IF EXISTS _new_alerts")
    report.seconds = time.perf_counter() - clock
    return report
