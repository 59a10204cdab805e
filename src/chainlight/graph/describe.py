"""Turn vertices and edges of a reader's view into what a result shows: captions, schemata,
datasets and the evidence behind each edge, read from the store for the visible datasets only
(and owner-only records, such as incident reports, from the reader's own datasets only:
:meth:`GraphView.readable_nodes`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from chainlight.graph import relations as rel
from chainlight.graph.view import GraphView, NotInGraph, day_date
from chainlight.store.evidence import EvidenceStore


def vertex_of(store: EvidenceStore, view: GraphView, entity_id: str) -> int | None:
    """The vertex of an entity (or its cluster), None when it is visible but has no visible
    edge; raises :class:`NotInGraph` when the reader cannot see it at all."""
    v = view.vertex(entity_id)
    if v is not None:
        return v
    members = view.entity_ids(view.canonical(entity_id))
    readable, params = view.readable_nodes()
    seen = store.scalar(f"SELECT count(*) FROM graph_nodes WHERE entity_id = ANY(?) AND {readable}", [members, *params])
    if not seen:
        raise NotInGraph(f"no such entity: {entity_id}")
    return None


def caption_of(store: EvidenceStore, view: GraphView, entity_id: str) -> str:
    """The caption of a visible entity that may have no vertex (no visible edge)."""
    members = view.entity_ids(view.canonical(entity_id))
    readable, params = view.readable_nodes()
    found = store.scalar(
        f"SELECT min(caption) FROM graph_nodes WHERE entity_id = ANY(?) AND {readable}", [members, *params]
    )
    return str(found or entity_id)


def nodes(store: EvidenceStore, view: GraphView, vertices: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Caption, schema, country, member entity ids and datasets of each vertex."""
    wanted = sorted(set(vertices))
    by_entity: dict[str, int] = {}
    for v in wanted:
        for entity in view.entity_ids(view.ids[v]):
            by_entity[entity] = v
    out: dict[int, dict[str, Any]] = {
        v: {
            "id": view.ids[v],
            "schema": view.schema_of(v),
            "caption": None,
            "country": None,
            "entity_ids": view.entity_ids(view.ids[v]),
            "datasets": [],
        }
        for v in wanted
    }
    if not by_entity:
        return out
    readable, params = view.readable_nodes()
    rows = store.fetchall(
        f"SELECT entity_id, dataset, caption, country FROM graph_nodes "
        f"WHERE entity_id = ANY(?) AND {readable} ORDER BY entity_id, dataset",
        [list(by_entity), *params],
    )
    for entity, dataset, caption, country in rows:
        node = out[by_entity[entity]]
        if dataset not in node["datasets"]:
            node["datasets"].append(dataset)
        if node["caption"] is None and caption:
            node["caption"] = caption
        if node["country"] is None and country:
            node["country"] = country
    for node in out.values():
        node["datasets"].sort()
        node["marking"] = view.marking_of(node["datasets"]).value
        if node["caption"] is None:
            node["caption"] = node["id"]
    return out


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def edges(store: EvidenceStore, view: GraphView, edge_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each edge with its relation, ends (canonical ids), dates, amount, share range and the
    entity whose statements are its evidence."""
    if not edge_ids:
        return {}
    rows = {int(e): e for e in edge_ids}
    by_row = {int(view.row_id[e]): e for e in rows}
    details = {
        r[0]: r[1:]
        for r in store.fetchall(
            "SELECT row_id, evidence_id, source, target, currency, qualifier FROM graph_edges WHERE row_id = ANY(?)",
            [list(by_row)],
        )
    }
    evidence_ids = sorted({d[0] for d in details.values()})
    readable, params = view.readable_nodes()
    captions = dict(
        store.fetchall(
            f"SELECT entity_id, min(caption) FROM graph_nodes WHERE entity_id = ANY(?) AND {readable} "
            "GROUP BY entity_id",
            [evidence_ids, *params],
        )
    )
    out: dict[int, dict[str, Any]] = {}
    for row, e in by_row.items():
        evidence_id, source_entity, target_entity, currency, qualifier = details.get(row, (None,) * 5)
        relation = view.relations[int(view.relation[e])]
        datasets = sorted(view.dataset_sets[int(view.dataset_set[e])])
        item: dict[str, Any] = {
            "source": view.ids[int(view.source[e])],
            "target": view.ids[int(view.target[e])],
            "relation": relation,
            "label": rel.relation_label(relation),
            "evidence": {
                "entity_id": evidence_id,
                "caption": captions.get(evidence_id),
                "source_entity": source_entity,
                "target_entity": target_entity,
            },
            "datasets": datasets,
            "marking": view.marking_of(datasets).value,
            "start": _iso(day_date(int(view.start[e]))),
            "end": _iso(day_date(int(view.end[e]))),
        }
        amount = float(view.amount[e])
        if not math.isnan(amount):
            item["amount"] = amount
            item["currency"] = currency
        lo, hi = float(view.share_min[e]), float(view.share_max[e])
        if not (math.isnan(lo) and math.isnan(hi)):
            item["share"] = {"min": None if math.isnan(lo) else lo, "max": None if math.isnan(hi) else hi}
        if qualifier:
            item["qualifier"] = qualifier
        out[e] = item
    return out


def subgraph(store: EvidenceStore, view: GraphView, vertices: Iterable[int], edge_ids: Iterable[int]) -> dict[str, Any]:
    """Nodes and edges as one JSON-ready object, with the datasets and marking of the whole."""
    edge_list = sorted({int(e) for e in edge_ids})
    vertex_set = set(vertices) | {int(view.source[e]) for e in edge_list} | {int(view.target[e]) for e in edge_list}
    node_details = nodes(store, view, vertex_set)
    edge_details = edges(store, view, edge_list)
    datasets = sorted({d for n in node_details.values() for d in n["datasets"]} | set(view.datasets_of(edge_list)))
    return {
        "nodes": [node_details[v] for v in sorted(vertex_set, key=lambda v: view.ids[v])],
        "edges": [edge_details[e] for e in edge_list],
        "datasets": datasets,
        "marking": view.marking_of(datasets).value,
    }
