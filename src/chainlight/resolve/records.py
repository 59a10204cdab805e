"""Resolution records: one per entity *per dataset*, so that a link can name exactly the
datasets its evidence came from. Each record carries a fingerprint of its statements; a run
only featurises records that are new or whose statements changed, and drops what vanished.

Tables (in the evidence store, beside the statements, never instead of them):

- ``er_records(record_id, entity_id, dataset, grp, schema, caption, fingerprint, run_id)``
- ``er_features_<group>(record_id, <feature columns>)``
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
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
    existing = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    for group in GROUPS.values():
        if group.table in existing:
            have = [r[0] for r in store.fetchall(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [group.table]
            )]
            if have != ["record_id", *group.columns]:
                # Features changed shape with a new version: forget the group's resolution so that
                # the next run featurises, trains and scores it afresh (sources are untouched).
                store.con.execute(f"DROP TABLE {group.table}")
                if "er_records" in existing:
                    store.con.execute(
                        "DELETE FROM er_links WHERE grp = ?" if "er_links" in existing else "SELECT ?", [group.name]
                    )
                    store.con.execute("DELETE FROM er_records WHERE grp = ?", [group.name])
                if "er_models" in existing:
                    store.con.execute("DELETE FROM er_models WHERE grp = ?", [group.name])
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


# Featurising is Python work per record; big runs are split over worker processes. They are
# spawned, not forked: the parent has DuckDB's and Arrow's threads running, and a forked child
# that touches a lock one of them held dies (seen here). Slices travel as Arrow IPC buffers.
PARALLEL_MIN_ROWS = 200_000
WORKERS = max(1, min(4, os.cpu_count() or 1))


def _feature_table(group: Group, pivot: pa.Table) -> pa.Table:
    """Features of the records in ``pivot`` (rows: record_id, prop, values; sorted by record)."""
    columns: dict[str, list[Any]] = {"record_id": [], **{name: [] for name in group.columns}}
    list_columns = [name for name, kind in group.columns.items() if kind.endswith("[]")]
    scalars = [name for name, kind in group.columns.items() if not kind.endswith("[]")]
    featurise_values = group.featurise
    record_ids = columns["record_id"]

    def emit(record_id: int, values: dict[str, list[str]]) -> None:
        features = featurise_values(values)
        if features is None:
            return
        record_ids.append(record_id)
        get = features.get
        for name in list_columns:
            columns[name].append(get(name) or [])
        for name in scalars:
            columns[name].append(get(name) or None)

    current: int | None = None
    values: dict[str, list[str]] = {}
    for batch in pivot.to_batches(BATCH):
        ids, props, lists = (batch.column(i).to_pylist() for i in range(3))
        for record_id, prop, vals in zip(ids, props, lists, strict=True):
            if record_id != current:
                if current is not None:
                    emit(current, values)
                current, values = record_id, {}
            values[prop] = vals
    if current is not None:
        emit(current, values)
    fields = [pa.field("record_id", pa.int64())] + [
        pa.field(name, pa.list_(pa.string()) if kind.endswith("[]") else pa.string())
        for name, kind in group.columns.items()
    ]
    return pa.Table.from_pydict(columns, schema=pa.schema(fields))


def _worker(group_name: str, pivot: pa.Table) -> pa.Table:
    return _feature_table(GROUPS[group_name], pivot)


def _chunks(record_ids: pa.ChunkedArray, parts: int) -> list[tuple[int, int]]:
    """Row ranges of about equal size that never split one record's rows."""
    ids = record_ids.to_numpy()
    bounds = [0]
    for k in range(1, parts):
        i = int(len(ids) * k / parts)
        while 0 < i < len(ids) and ids[i] == ids[i - 1]:
            i += 1
        if bounds[-1] < i < len(ids):
            bounds.append(i)
    bounds.append(len(ids))
    return list(pairwise(bounds))


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
    kept = 0

    def store_features(table: pa.Table) -> None:
        nonlocal kept
        kept += table.num_rows
        con.register("er_incoming", table)
        con.execute(f"INSERT INTO {group.table} SELECT * FROM er_incoming")
        con.unregister("er_incoming")
        advance(table.num_rows)

    if pivot.num_rows < PARALLEL_MIN_ROWS or WORKERS < 2:
        for start, stop in _chunks(pivot.column(0), max(1, pivot.num_rows // (BATCH * 5))):
            store_features(_feature_table(group, pivot.slice(start, stop - start)))
        return kept
    pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"))
    with pool:
        futures = [
            pool.submit(_worker, group.name, pivot.slice(a, b - a)) for a, b in _chunks(pivot.column(0), WORKERS * 4)
        ]
        for future in futures:
            store_features(future.result())
    return kept
