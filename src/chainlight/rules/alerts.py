"""Reading alerts as an organisation: markings, triage, evidence and entity risk.

An alert is visible only when its reader may see every dataset it derives from (its
``datasets``; an unregistered dataset hides it); its marking is the strictest of theirs. Triage
is per organisation and lives in the operational store, keyed by the alert's stable id, so a
re-run that raises the same alert finds its decision again. Entity risk combines the visible,
undismissed alerts naming an entity, one signal per rule (its highest score), as independent
evidence: ``1 - prod(1 - score)``, so several weak signals from different rules outweigh one
strong one, and a rule firing twice does not count double.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa

from chainlight.model.markings import DatasetAccess, Marking, most_restrictive
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import AlertTriage, OperationalStore


class AlertError(LookupError):
    """No such alert for this reader, or alerts have not been computed."""


@dataclass(frozen=True, slots=True)
class Reader:
    organisation: str
    access: dict[str, DatasetAccess]

    @classmethod
    def of(cls, access: list[DatasetAccess], organisation: str) -> Reader:
        return cls(organisation, {a.name: a for a in access if a.visible_to(organisation)})

    @property
    def datasets(self) -> list[str]:
        return sorted(self.access)

    def marking(self, datasets: list[str]) -> Marking:
        return most_restrictive(self.access[d].marking for d in datasets)


@dataclass(slots=True)
class Alert:
    alert_id: str
    rule_id: str
    title: str
    category: str
    severity: str
    score: float
    flags: str
    subject: str
    entities: list[str]
    evidence: list[str]
    datasets: list[str]
    marking: str
    reason: str
    details: dict[str, Any]
    first_raised: datetime
    last_raised: datetime
    state: str = "new"
    triage_reason: str | None = None
    triaged_by: str | None = None
    triaged_at: datetime | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id, "rule_id": self.rule_id, "title": self.title, "category": self.category,
            "severity": self.severity, "score": round(self.score, 4), "flags": self.flags, "subject": self.subject,
            "entities": self.entities, "evidence": self.evidence, "datasets": self.datasets,
            "marking": self.marking, "reason": self.reason, "details": self.details,
            "first_raised": self.first_raised.isoformat(), "last_raised": self.last_raised.isoformat(),
            "state": self.state, "triage_reason": self.triage_reason, "triaged_by": self.triaged_by,
            "triaged_at": self.triaged_at.isoformat() if self.triaged_at else None, "history": self.history,
        }


def computed(store: EvidenceStore) -> bool:
    return bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alerts'"))


_COLUMNS = ("alert_id, rule_id, title, category, severity, score, flags, subject, entities, evidence, datasets, "
            "reason, details, first_raised, last_raised")


def _triage_table(triage: dict[str, AlertTriage]) -> pa.Table:
    return pa.table({"alert_id": pa.array(list(triage), pa.string()),
                     "state": pa.array([t.state for t in triage.values()], pa.string())})


def _alert(row: tuple[Any, ...], reader: Reader, triage: dict[str, AlertTriage]) -> Alert:
    t = triage.get(row[0])
    return Alert(
        alert_id=row[0], rule_id=row[1], title=row[2], category=row[3], severity=row[4], score=float(row[5]),
        flags=row[6], subject=row[7], entities=list(row[8]), evidence=list(row[9]), datasets=list(row[10]),
        marking=reader.marking(list(row[10])).value, reason=row[11], details=orjson.loads(row[12]),
        first_raised=row[13], last_raised=row[14],
        state=t.state if t else "new", triage_reason=t.reason if t else None, triaged_by=t.author if t else None,
        triaged_at=t.created_at if t else None,
    )


def _require(store: EvidenceStore) -> None:
    if not computed(store):
        raise AlertError("no alerts yet: run 'chainlight rules run' first")


def list_alerts(
    store: EvidenceStore,
    operational: OperationalStore,
    reader: Reader,
    *,
    rule: str | None = None,
    category: str | None = None,
    state: str | None = None,
    entity: str | None = None,
    min_score: float | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Visible alerts, highest score first, and how many match in all."""
    _require(store)
    triage = operational.triage(reader.organisation)
    where = ["list_has_all($visible, a.datasets)"]
    params: dict[str, Any] = {"visible": reader.datasets}
    if rule:
        where.append("a.rule_id = $rule")
        params["rule"] = rule
    if category:
        where.append("a.category = $category")
        params["category"] = category
    if state:
        where.append("coalesce(t.state, 'new') = $state")
        params["state"] = state
    if entity:
        where.append("(a.subject = $entity OR list_contains(a.entities, $entity))")
        params["entity"] = entity
    if min_score is not None:
        where.append("a.score >= $min_score")
        params["min_score"] = min_score
    store.con.register("_triage", _triage_table(triage))
    try:
        base = f"FROM alerts a LEFT JOIN _triage t USING (alert_id) WHERE {' AND '.join(where)}"
        total = int(store.con.execute(f"SELECT count(*) {base}", params).fetchall()[0][0])
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = store.con.execute(
            f"SELECT {', '.join('a.' + c.strip() for c in _COLUMNS.split(','))} {base} "
            f"ORDER BY a.score DESC, a.rule_id, a.alert_id{page}",
            params,
        ).fetchall()
    finally:
        store.con.unregister("_triage")
    return [_alert(r, reader, triage) for r in rows], total


def get_alert(store: EvidenceStore, operational: OperationalStore, reader: Reader, alert_id: str) -> Alert:
    """One visible alert with its triage history; a hidden alert is reported as unknown."""
    _require(store)
    rows = store.fetchall(
        f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ? AND list_has_all(?, datasets)",
        [alert_id, reader.datasets],
    )
    if not rows:
        raise AlertError(f"no alert {alert_id!r} (or not visible to {reader.organisation})")
    triage = operational.triage(reader.organisation, [alert_id])
    alert = _alert(rows[0], reader, triage)
    alert.history = [
        {"state": t.state, "reason": t.reason, "author": t.author, "at": t.created_at.isoformat()}
        for t in operational.triage_history(alert_id, reader.organisation)
    ]
    return alert


def triage_alert(
    store: EvidenceStore, operational: OperationalStore, reader: Reader, alert_id: str, state: str, *,
    author: str, reason: str | None = None,
) -> Alert:
    """Record the reader's decision on a visible alert and return it as it now stands."""
    get_alert(store, operational, reader, alert_id)
    operational.add_triage(alert_id, state, organisation=reader.organisation, author=author, reason=reason)
    return get_alert(store, operational, reader, alert_id)


def evidence(store: EvidenceStore, reader: Reader, alert: Alert, *, limit: int = 500) -> list[dict[str, Any]]:
    """The statements and trade records behind an alert, from datasets the alert derives from."""
    datasets = [d for d in alert.datasets if d in reader.access]
    entity_ids = [e for e in alert.evidence if not e.startswith("trade:")]
    records = [e.split(":", 2)[1:] for e in alert.evidence if e.startswith("trade:")]
    out: list[dict[str, Any]] = []
    if entity_ids:
        has_clusters = bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alert_clusters'"))
        member = ("coalesce(c.canonical_id, s.entity_id)" if has_clusters else "s.entity_id")
        join = "LEFT JOIN alert_clusters c ON c.entity_id = s.entity_id" if has_clusters else ""
        for row in store.fetchall(
            f"SELECT {member}, s.id, s.entity_id, s.schema, s.prop, s.value, s.dataset, s.origin "
            f"FROM statements s {join} WHERE {member} = ANY(?) AND s.dataset = ANY(?) AND s.prop <> 'id' "
            f"ORDER BY 1, s.schema, s.prop, s.value LIMIT ?",
            [entity_ids, datasets, limit],
        ):
            out.append({"kind": "statement", "evidence": row[0], "statement_id": row[1], "entity_id": row[2],
                        "schema": row[3], "prop": row[4], "value": row[5], "dataset": row[6], "origin": row[7]})
    for dataset, record_id in records[:limit]:
        if dataset not in datasets:
            continue
        for row in store.fetchall(
            "SELECT record_id, dataset, taxon, term, quantity, unit, exporter, importer, year, source, purpose, "
            "reporter_type, export_permit_id, origin FROM cites_trade WHERE dataset = ? AND record_id = ?",
            [dataset, record_id],
        ):
            out.append({"kind": "record", "evidence": f"trade:{dataset}:{record_id}", "record_id": row[0],
                        "dataset": row[1], "taxon": row[2], "term": row[3], "quantity": row[4], "unit": row[5],
                        "exporter": row[6], "importer": row[7], "year": row[8], "source": row[9],
                        "purpose": row[10], "reporter_type": row[11], "export_permit_id": row[12],
                        "origin": row[13]})
    return out


@dataclass(frozen=True, slots=True)
class EntityRisk:
    entity_id: str
    name: str | None
    score: float
    alerts: int
    rules: list[str]
    datasets: list[str]
    marking: str

    def as_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "name": self.name, "score": round(self.score, 4),
                "alerts": self.alerts, "rules": self.rules, "datasets": self.datasets, "marking": self.marking}


def entity_risk(
    store: EvidenceStore, operational: OperationalStore, reader: Reader, *, limit: int = 50,
    entity: str | None = None,
) -> list[EntityRisk]:
    """Entities ranked by combined risk over the reader's visible, undismissed alerts."""
    _require(store)
    triage = operational.triage(reader.organisation)
    has_clusters = bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alert_clusters'"))
    member = "coalesce(c.canonical_id, s.entity_id)" if has_clusters else "s.entity_id"
    join = "LEFT JOIN alert_clusters c ON c.entity_id = s.entity_id" if has_clusters else ""
    store.con.register("_triage", _triage_table(triage))
    try:
        rows = store.con.execute(
            f"""
            WITH visible AS (
                SELECT a.* FROM alerts a LEFT JOIN _triage t USING (alert_id)
                WHERE list_has_all($visible, a.datasets) AND coalesce(t.state, 'new') <> 'dismissed'
            ),
            per_rule AS (
                SELECT e AS entity_id, rule_id, max(score) AS score, count(*) AS alerts,
                       flatten(list(datasets)) AS datasets
                FROM (SELECT unnest(entities) AS e, rule_id, score, datasets FROM visible)
                WHERE $entity IS NULL OR e = $entity
                GROUP BY 1, 2
            ),
            combined AS (
                SELECT entity_id, 1 - exp(sum(ln(1 - least(score, 0.999)))) AS score, sum(alerts) AS alerts,
                       list(rule_id ORDER BY score DESC, rule_id) AS rules,
                       list_sort(list_distinct(flatten(list(datasets)))) AS datasets
                FROM per_rule GROUP BY entity_id
                ORDER BY score DESC, alerts DESC, entity_id LIMIT $limit
            ),
            names AS (
                SELECT {member} AS entity_id, min(s.value) AS name FROM statements s {join}
                WHERE s.prop = 'name' AND s.dataset = ANY($visible)
                  AND {member} IN (SELECT entity_id FROM combined)
                GROUP BY 1
            )
            SELECT c.entity_id, n.name, c.score, c.alerts, c.rules, c.datasets
            FROM combined c LEFT JOIN names n USING (entity_id)
            ORDER BY c.score DESC, c.alerts DESC, c.entity_id
            """,
            {"visible": reader.datasets, "limit": limit, "entity": entity},
        ).fetchall()
    finally:
        store.con.unregister("_triage")
    return [
        EntityRisk(r[0], r[1], float(r[2]), int(r[3]), list(r[4]), list(r[5]), reader.marking(list(r[5])).value)
        for r in rows
    ]
