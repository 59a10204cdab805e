"""Resolution as readers see it: clusters, explanations, the review queue and judgements,
each computed for the datasets the reader may see. Shared by the CLI and the JSON API.

A link is shown only when the datasets of both of its records are visible; it carries both
datasets. A judgement is shown (and applied) only when both of its entities are visible.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from chainlight.resolve import clusters, engine
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalStore


class NotVisible(LookupError):
    """No such entity in the datasets the reader may see (the same answer as 'does not exist')."""


def verdicts(operational: OperationalStore) -> list[clusters.Verdict]:
    """The standing verdict per pair: the latest judgement that was not undone."""
    latest: dict[tuple[str, str], str] = {}
    for j in operational.judgements():
        latest[(j.left_id, j.right_id)] = j.verdict
    return [clusters.Verdict(a, b, v) for (a, b), v in latest.items()]


def has_resolution(store: EvidenceStore) -> bool:
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    return {"er_records", "er_links", "er_clusters"} <= tables


def require_resolution(store: EvidenceStore) -> None:
    if not has_resolution(store):
        raise engine.ResolutionNotRun("no resolution yet: run 'chainlight resolve' first")


def visible_entity(store: EvidenceStore, entity_id: str, datasets: Sequence[str] | None) -> bool:
    where, params = ("", []) if datasets is None else (" AND dataset = ANY(?)", [list(datasets)])
    return bool(store.scalar(f"SELECT count(*) FROM er_records WHERE entity_id = ?{where}", [entity_id, *params]))


def canonical_ids(
    store: EvidenceStore,
    verdict_list: Sequence[clusters.Verdict],
    datasets: Sequence[str] | None,
    threshold: float | None = None,
) -> dict[str, str]:
    """entity id -> canonical id for every resolved entity the reader may see (at the stored
    threshold unless one is given)."""
    require_resolution(store)
    if threshold is None:
        threshold = clusters.stored_threshold(store)
    global_ids = clusters.previous_ids(store)
    if datasets is None:
        return global_ids
    graph = clusters.load_graph(store, verdict_list, datasets=datasets, threshold=threshold)
    return clusters.view_ids(clusters.components(graph), global_ids)


@dataclass(frozen=True, slots=True)
class Link:
    """One scored pair of records, as evidence that two entities are one."""

    left: str
    right: str
    left_dataset: str
    right_dataset: str
    group: str
    probability: float
    weight: float
    features: list[dict[str, Any]]

    @property
    def datasets(self) -> list[str]:
        return sorted({self.left_dataset, self.right_dataset})

    def as_dict(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "right": self.right,
            "group": self.group,
            "match_probability": round(self.probability, 6),
            "match_weight": round(self.weight, 3),
            "datasets": self.datasets,
            "features": self.features,
        }


def _links(store: EvidenceStore, where: str, params: list[Any], datasets: Sequence[str] | None) -> list[Link]:
    if datasets is not None:
        where += " AND a.dataset = ANY(?) AND b.dataset = ANY(?)"
        params = [*params, list(datasets), list(datasets)]
    rows = store.fetchall(
        f"""SELECT a.entity_id, b.entity_id, a.dataset, b.dataset, k.grp, k.match_probability, k.match_weight,
               k.features
        FROM er_links k JOIN er_records a ON a.record_id = k.left_id JOIN er_records b ON b.record_id = k.right_id
        WHERE {where} ORDER BY k.match_probability DESC, a.entity_id, b.entity_id""",
        params,
    )
    return [Link(a, b, da, db, g, p, w, json.loads(f)) for a, b, da, db, g, p, w, f in rows]


def explain(store: EvidenceStore, left: str, right: str, datasets: Sequence[str] | None) -> list[Link]:
    """Every visible scored link between the two entities' records, strongest first."""
    require_resolution(store)
    for entity in (left, right):
        if not visible_entity(store, entity, datasets):
            raise NotVisible(f"no such entity: {entity}")
    return _links(
        store,
        "((a.entity_id = ? AND b.entity_id = ?) OR (a.entity_id = ? AND b.entity_id = ?))",
        [left, right, right, left],
        datasets,
    )


def matches(store: EvidenceStore, entity_id: str, datasets: Sequence[str] | None, floor: float = 0.0) -> list[Link]:
    """Visible links from one entity to others, strongest first."""
    require_resolution(store)
    if not visible_entity(store, entity_id, datasets):
        raise NotVisible(f"no such entity: {entity_id}")
    return _links(
        store,
        "(a.entity_id = ? OR b.entity_id = ?) AND k.match_probability >= ?",
        [entity_id, entity_id, floor],
        datasets,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """An uncertain pair worth a person's look."""

    left: str
    right: str
    left_name: str | None
    right_name: str | None
    group: str
    probability: float
    value: float
    datasets: list[str]
    cluster_sizes: tuple[int, int]
    unsure: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "left": self.left,
            "right": self.right,
            "left_name": self.left_name,
            "right_name": self.right_name,
            "group": self.group,
            "match_probability": round(self.probability, 6),
            "value": round(self.value, 4),
            "datasets": self.datasets,
            "cluster_sizes": list(self.cluster_sizes),
            "unsure": self.unsure,
        }


def review_value(probability: float, sizes: tuple[int, int], n_datasets: int) -> float:
    """How much a verdict on this pair is worth: uncertainty (1 at p = 0.5, 0 at 0 or 1)
    times what it decides (the entities that would join or part, and whether it bridges
    sources)."""
    uncertainty = 1.0 - abs(2.0 * probability - 1.0)
    reach = math.log2(1 + sizes[0] + sizes[1])
    return uncertainty * reach * (1.0 + 0.5 * (n_datasets - 1))


def review_queue(
    store: EvidenceStore,
    verdict_list: Sequence[clusters.Verdict],
    datasets: Sequence[str] | None,
    *,
    limit: int = 50,
    low: float = clusters.REVIEW_FLOOR,
    high: float | None = None,
) -> list[Candidate]:
    """Pairs the model is unsure of (``low`` <= p < ``high``, and links just above the
    threshold that hold a cluster together), most valuable first. Pairs someone judged same
    or different leave the queue; pairs judged unsure go to its end."""
    require_resolution(store)
    if high is None:
        high = clusters.stored_threshold(store)
    low = min(low, high)
    judged = {clusters.pair_key(v.left, v.right): v.verdict for v in verdict_list}
    ids = canonical_ids(store, verdict_list, datasets, high)
    sizes: dict[str, int] = {}
    for cid in ids.values():
        sizes[cid] = sizes.get(cid, 0) + 1
    upper = min(1.0, high + (high - low) / 2)
    links = _links(store, "k.match_probability >= ? AND k.match_probability < ?", [low, upper], datasets)
    best: dict[tuple[str, str], Link] = {}
    for link in links:
        key = clusters.pair_key(link.left, link.right)
        if key not in best or link.probability > best[key].probability:
            best[key] = link
    # Names only from visible records: the same entity id may also stand in a hidden dataset.
    where, params = ("", []) if datasets is None else ("WHERE dataset = ANY(?)", [list(datasets)])
    names = dict(store.fetchall(f"SELECT entity_id, min(caption) FROM er_records {where} GROUP BY entity_id", params))
    out = []
    for key, link in best.items():
        verdict = judged.get(key)
        if verdict in ("same", "different"):
            continue
        size = (sizes.get(ids.get(key[0], key[0]), 1), sizes.get(ids.get(key[1], key[1]), 1))
        out.append(
            Candidate(
                key[0],
                key[1],
                names.get(key[0]),
                names.get(key[1]),
                link.group,
                link.probability,
                review_value(link.probability, size, len(link.datasets)),
                link.datasets,
                size,
                verdict == "unsure",
            )
        )
    out.sort(key=lambda c: (c.unsure, -c.value, c.left, c.right))
    return out[:limit]
