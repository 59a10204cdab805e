"""``chainlight resolve``: bring resolution up to date with the statements.

Per group, in one transaction each (a killed run leaves the previous state and simply runs
again): sync the records with the statements, featurise what is new or changed, train the
model if there is none (or when asked), score the pairs that involve fresh records, and
replace their links. Then rebuild clusters over all links and judgements, keeping canonical
ids stable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from chainlight.resolve import clusters, matching, records
from chainlight.resolve.groups import GROUPS, Group
from chainlight.store.evidence import EvidenceStore


class ResolutionNotRun(RuntimeError):
    """Resolution was asked for before any ``chainlight resolve``."""


Progress = Callable[[str, int | None], Callable[[int], None]]


def _no_progress(_label: str, _total: int | None) -> Callable[[int], None]:
    return lambda _n: None


@dataclass(slots=True)
class GroupReport:
    group: str
    records: int = 0
    fresh: int = 0
    featurised: int = 0
    removed: int = 0
    pairs_scored: int = 0
    links: int = 0
    trained: bool = False
    seconds: float = 0.0
    seconds_features: float = 0.0
    seconds_training: float = 0.0
    seconds_scoring: float = 0.0


@dataclass(slots=True)
class ResolveReport:
    run_id: str
    groups: list[GroupReport] = field(default_factory=list)
    entities: int = 0
    clusters: int = 0
    merged_entities: int = 0
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "entities": self.entities,
            "clusters": self.clusters,
            "merged_entities": self.merged_entities,
            "conflicting_judgements": [list(c) for c in self.conflicts],
            "seconds": round(self.seconds, 2),
            "groups": [{k: getattr(g, k) for k in GroupReport.__slots__} for g in self.groups],
        }


def ensure_tables(store: EvidenceStore) -> None:
    records.ensure_tables(store)
    matching.ensure_tables(store)
    clusters.ensure_tables(store)


def _feature_columns(group: Group) -> str:
    return ", ".join(f"f.{c}" for c in group.columns)


def _copy(
    store: EvidenceStore, mem: duckdb.DuckDBPyConnection, group: Group, name: str, where: str, params: list[Any]
) -> int:
    arrow = store.con.sql(
        f"SELECT f.record_id, r.entity_id, {_feature_columns(group)} FROM {group.table} f "
        f"JOIN er_records r USING (record_id) WHERE {where}",
        params=params,
    ).to_arrow_table()
    mem.register("incoming", arrow)
    mem.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM incoming")
    mem.unregister("incoming")
    return int(arrow.num_rows)


# The any-order name-pair keys find dropped and re-ordered words, but a common pair (say the
# sounds of "import export", or a common given and family name) makes a block of millions of
# pairs that tells little. The commonest keys are dropped until the pairs these keys generate
# fit in a budget proportional to the number of records (and no kept key is shared by more
# than MAX_KEY_RECORDS records), so blocking cost grows linearly with the pool.
MAX_KEY_RECORDS = 500
KEY_PAIRS_PER_RECORD = 10


def prune_common_keys(mem: duckdb.DuckDBPyConnection, group: Group, tables: Sequence[str]) -> int:
    """Drop the commonest name keys (counted over all records) from the given tables; returns
    how many keys were dropped."""
    if "name_keys" not in group.columns:
        return 0
    counts = mem.execute(
        "SELECT k, count(*) AS n FROM (SELECT unnest(name_keys) AS k FROM er_all) GROUP BY k HAVING n > 1 "
        "ORDER BY n DESC, k"
    ).fetchall()
    records = int(mem.execute("SELECT count(*) FROM er_all").fetchall()[0][0])
    budget = KEY_PAIRS_PER_RECORD * records
    pairs = sum(n * (n - 1) // 2 for _, n in counts)
    common: list[str] = []
    for key, n in counts:
        if n <= MAX_KEY_RECORDS and pairs <= budget:
            break
        common.append(key)
        pairs -= n * (n - 1) // 2
    if common:
        for table in tables:
            mem.execute(
                f"UPDATE {table} SET name_keys = list_filter(name_keys, lambda x: NOT list_contains(?::VARCHAR[], x))",
                [common],
            )
    return len(common)


def resolve_group(
    store: EvidenceStore,
    group: Group,
    run_id: str,
    *,
    threshold: float = clusters.DEFAULT_THRESHOLD,
    full: bool = False,
    em: bool = False,
    progress: Progress = _no_progress,
) -> GroupReport:
    report = GroupReport(group.name)
    started = time.perf_counter()
    with store.transaction() as con:
        model = None if full else matching.load_model(store, group)
        full = full or model is None
        sync = records.sync(store, run_id, [group], full=full)
        report.removed = len(sync.removed)
        report.fresh = sync.fresh.get(group.name, 0)
        report.records = sync.total.get(group.name, 0)
        if sync.removed:
            con.execute(
                "DELETE FROM er_links WHERE left_id IN (SELECT record_id FROM er_stale) "
                "OR right_id IN (SELECT record_id FROM er_stale)"
            )
        if report.fresh:
            step = time.perf_counter()
            report.featurised = records.featurise(
                store, group, run_id, progress(f"features: {group.title}", report.fresh)
            )
            report.seconds_features = time.perf_counter() - step
        if full:
            con.execute("DELETE FROM er_links WHERE grp = ?", [group.name])
        if not report.fresh and not full:
            report.seconds = time.perf_counter() - started
            return report
        mem = duckdb.connect()
        try:
            mem.execute("SET preserve_insertion_order = false")
            n_all = _copy(store, mem, group, "er_all", "TRUE", [])
            tick = progress(f"scoring: {group.title}", None)
            if not full:
                _copy(store, mem, group, "er_fresh", "r.run_id = ?", [run_id])
                n_rest = _copy(store, mem, group, "er_rest", "r.run_id <> ?", [run_id])
            prune_common_keys(mem, group, ["er_all"] if full else ["er_fresh", "er_rest", "er_all"])
            step = time.perf_counter()
            if full:
                model = matching.train(group, mem, "er_all", em=em)
                matching.save_model(store, group, model, n_all, "em" if em else "priors+u")
                report.trained = True
                report.seconds_training = time.perf_counter() - step
                step = time.perf_counter()
                scored = matching.score(group, mem, model, all_table="er_all", fresh_table=None, rest_table=None)
            else:
                assert model is not None
                scored = matching.score(
                    group,
                    mem,
                    model,
                    all_table="er_all",
                    fresh_table="er_fresh",
                    rest_table="er_rest" if n_rest else None,
                )
            tick(1)
            report.seconds_scoring = time.perf_counter() - step
        finally:
            mem.close()
        report.pairs_scored = scored.num_rows
        if scored.num_rows:
            con.register("scored", scored)
            con.execute(
                "INSERT INTO er_links SELECT DISTINCT left_id, right_id, ?, match_weight, match_probability, "
                "features, ? "
                "FROM scored",
                [group.name, run_id],
            )
            con.unregister("scored")
        report.links = int(
            store.scalar(
                "SELECT count(*) FROM er_links WHERE grp = ? AND match_probability >= ?",
                [group.name, threshold],
            )
        )
    report.seconds = time.perf_counter() - started
    return report


def rebuild_clusters(
    store: EvidenceStore, verdicts: Sequence[clusters.Verdict], threshold: float | None = None
) -> tuple[int, int, int, list[tuple[str, str]]]:
    """Recompute the all-datasets clusters and store them with stable canonical ids (at the
    stored threshold unless one is given). Returns (entities, multi-member clusters, entities
    in them, conflicting judgements)."""
    if threshold is None:
        threshold = clusters.stored_threshold(store)
    graph = clusters.load_graph(store, verdicts, threshold=threshold)
    label = clusters.components(graph)
    ids = clusters.assign_ids(label, clusters.previous_ids(store))
    with store.transaction():
        clusters.save_ids(store, ids, graph.groups)
    sizes: dict[str, int] = {}
    for cid in ids.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    multi = {c: n for c, n in sizes.items() if n > 1}
    return len(ids), len(multi), sum(multi.values()), graph.conflicts


def resolve(
    store: EvidenceStore,
    verdicts: Sequence[clusters.Verdict],
    *,
    groups: Sequence[str] | None = None,
    full: bool = False,
    em: bool = False,
    threshold: float | None = None,
    progress: Progress = _no_progress,
) -> ResolveReport:
    """Resolve; ``threshold`` (match probability for a merge) is remembered for every later
    view, judgement and run until another is given."""
    started = time.perf_counter()
    ensure_tables(store)
    if threshold is None:
        threshold = clusters.stored_threshold(store)
    with store.transaction():
        clusters.save_threshold(store, threshold)
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    report = ResolveReport(run_id)
    for name in groups or list(GROUPS):
        report.groups.append(resolve_group(
                store, GROUPS[name], run_id, threshold=threshold, full=full, em=em, progress=progress
            ))
    report.entities, report.clusters, report.merged_entities, report.conflicts = rebuild_clusters(
        store, verdicts, threshold
    )
    report.seconds = time.perf_counter() - started
    return report
