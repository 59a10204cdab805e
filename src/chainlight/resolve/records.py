"""Resolution records: one per entity *per dataset*, so that a link can name exactly the
datasets its evidence came from. Each record carries a fingerprint of its statements; a run
only featurises records that are new or whose statements changed, and drops what vanished.

Tables (in the evidence store, beside the statements, never instead of them):

- ``er_records(record_id, entity_id, dataset, grp, schema, caption, fingerprint, run_id)``
- ``er_features_<group>(record_id, <feature columns>)``
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from chainlight.resolve.groups import GROUPS, Group
from chainlight.store.evidence import EvidenceStore

TABLES = (
    """CREATE TABLE IF NOT EXISTS er_records (
        record_id BIGINT PRIMARY KEY,
        entity_id VARCHAR NOT NULL,
        dataset VARCHAR NOT NULL,
        grp VARCHAR NOT NULL,
        schema VARCHAR NOT NULL,
        caption VARCHAR,
        fingerprint VARCHAR NOT NULL,
        run_id VARCHAR NOT NULL
    )""",
    "CREATE SEQUENCE IF NOT EXISTS er_record_seq START 1",
)
BATCH = 20_000
Advance = Callable[[int], None]


def ensure_tables(store: EvidenceStore) -> None:
    for ddl in TABLES:
        store.con.execute(ddl)
    for group in GROUPS.values():
        cols = ", ".join(f"{name} {kind}" for name, kind in group.columns.items())
        store.con.execute(f"CREATE TABLE IF NOT EXISTS {group.table} (record_id BIGINT PRIMARY KEY, {cols})")


@dataclass(slots=True)
class SyncResult:
    """What changed since the last run, per group: record ids to featurise and compare."""

    fresh: dict[str, int] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)
    total: dict[str, int] = field(default_factory=dict)


def _group_case() -> str:
    parts = [f"WHEN schema IN ({', '.join(repr(s) for s in g.schemata)}) THEN '{g.name}'" for g in GROUPS.values()]
    return "CASE " + " ".join(parts) + " END"


def sync(store: EvidenceStore, run_id: str, groups: list[Group], *, full: bool = False) -> SyncResult:
    """Bring ``er_records`` in line with the statements. Records that are new or changed get
    ``run_id``; records whose statements are gone are deleted (their ids are returned so that
    their features and links go too). ``full`` marks every record as fresh."""
    schemata = [s for g in groups for s in g.schemata]
    names = [g.name for g in groups]
    con = store.con
    con.execute(
        """CREATE OR REPLACE TEMP TABLE er_current AS
        SELECT entity_id, dataset,
               any_value(schema) FILTER (WHERE prop = 'id') AS schema,
               md5(string_agg(id, ',' ORDER BY id)) AS fingerprint,
               min(value) FILTER (WHERE prop = 'name') AS caption
        FROM statements WHERE schema = ANY(?)
        GROUP BY entity_id, dataset
        HAVING any_value(schema) FILTER (WHERE prop = 'id') IS NOT NULL""",
        [schemata],
    )
    con.execute(f"ALTER TABLE er_current ADD COLUMN grp VARCHAR; UPDATE er_current SET grp = {_group_case()}")
    result = SyncResult()
    stale = con.execute(
        """SELECT r.record_id FROM er_records r
        WHERE r.grp = ANY(?) AND NOT EXISTS (
            SELECT 1 FROM er_current c WHERE c.entity_id = r.entity_id AND c.dataset = r.dataset
              AND c.fingerprint = r.fingerprint AND c.grp = r.grp)""",
        [names],
    ).fetchall()
    result.removed = [r[0] for r in stale]
    if result.removed:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE er_stale AS SELECT unnest(?::BIGINT[]) AS record_id", [result.removed]
        )
        con.execute("DELETE FROM er_records WHERE record_id IN (SELECT record_id FROM er_stale)")
        for group in GROUPS.values():
            con.execute(f"DELETE FROM {group.table} WHERE record_id IN (SELECT record_id FROM er_stale)")
    con.execute(
        """INSERT INTO er_records
        SELECT nextval('er_record_seq'), c.entity_id, c.dataset, c.grp, c.schema, c.caption, c.fingerprint, ?
        FROM er_current c ANTI JOIN er_records r ON c.entity_id = r.entity_id AND c.dataset = r.dataset
        ORDER BY c.grp, c.entity_id, c.dataset""",
        [run_id],
    )
    if full:
        con.execute("UPDATE er_records SET run_id = ? WHERE grp = ANY(?)", [run_id, names])
        for group in groups:
            con.execute(f"DELETE FROM {group.table}")
    for grp, fresh, total in con.execute(
        "SELECT grp, count(*) FILTER (WHERE run_id = ?), count(*) FROM er_records WHERE grp = ANY(?) GROUP BY grp",
        [run_id, names],
    ).fetchall():
        result.fresh[grp] = fresh
        result.total[grp] = total
    con.execute("DROP TABLE er_current")
    return result


def featurise(store: EvidenceStore, group: Group, run_id: str, advance: Advance) -> int:
    """Compute features of the group's fresh records and store them; returns how many had a
    usable name or identifier (the others are kept out of matching)."""
    con = store.con
    # Read inside the caller's transaction (a cursor would not see its uncommitted records),
    # fully materialised so that inserts can run on the same connection meanwhile.
    pivot = con.sql(
        """SELECT r.record_id, s.prop, list(s.value ORDER BY s.value)
        FROM er_records r JOIN statements s ON s.entity_id = r.entity_id AND s.dataset = r.dataset
        WHERE r.run_id = ? AND r.grp = ? AND s.prop = ANY(?)
        GROUP BY r.record_id, s.prop ORDER BY r.record_id""",
        params=[run_id, group.name, list(group.props)],
    ).to_arrow_table()
    columns: dict[str, list[Any]] = {"record_id": [], **{name: [] for name in group.columns}}
    kept = 0

    def flush() -> None:
        nonlocal columns
        if not columns["record_id"]:
            return
        fields = [pa.field("record_id", pa.int64())] + [
            pa.field(name, pa.list_(pa.string()) if kind.endswith("[]") else pa.string())
            for name, kind in group.columns.items()
        ]
        con.register("er_incoming", pa.Table.from_pydict(columns, schema=pa.schema(fields)))
        con.execute(f"INSERT INTO {group.table} SELECT * FROM er_incoming")
        con.unregister("er_incoming")
        columns = {"record_id": [], **{name: [] for name in group.columns}}

    def emit(record_id: int, values: dict[str, list[str]]) -> None:
        nonlocal kept
        features = group.featurise(values)
        if features is None:
            return
        kept += 1
        columns["record_id"].append(record_id)
        for name, kind in group.columns.items():
            value = features.get(name)
            if kind.endswith("[]"):
                value = list(value or [])
            elif value == "":
                value = None
            columns[name].append(value)

    current: int | None = None
    values: dict[str, list[str]] = {}
    for batch in pivot.to_batches(BATCH):
        ids, props, lists = (batch.column(i).to_pylist() for i in range(3))
        for record_id, prop, vals in zip(ids, props, lists, strict=True):
            if record_id != current:
                if current is not None:
                    emit(current, values)
                    advance(1)
                current, values = record_id, {}
            values[prop] = vals
        if len(columns["record_id"]) >= BATCH:
            flush()
    if current is not None:
        emit(current, values)
        advance(1)
    flush()
    return kept
