"""Neighbourhoods and paths: the two questions an analyst asks of any entity first."""

from __future__ import annotations

import warnings
from typing import Any

from chainlight.graph import describe
from chainlight.graph.view import EdgeFilter, GraphError, GraphView
from chainlight.store.evidence import EvidenceStore

ALL_EDGES = EdgeFilter()
#: A neighbourhood stops growing at this many nodes (and says it was cut).
NODE_LIMIT = 500
#: Nodes with more edges than this (a port, a bank) are shown but not expanded further.
HUB_DEGREE = 1000


def neighbourhood(
    view: GraphView,
    start: int,
    hops: int,
    flt: EdgeFilter = ALL_EDGES,
    *,
    limit: int = NODE_LIMIT,
    hub_degree: int = HUB_DEGREE,
) -> tuple[dict[int, int], list[int], list[int], bool]:
    """Breadth-first to ``hops``: (vertex -> distance, edges walked, hubs not expanded, cut short)."""
    if hops < 1:
        raise GraphError("hops must be at least 1")
    graph, kept = view.filtered(flt)
    distance = {start: 0}
    frontier = [start]
    walked: set[int] = set()
    hubs: list[int] = []
    truncated = False
    for depth in range(1, hops + 1):
        following: list[int] = []
        for u in frontier:
            if u != start and graph.degree(u) > hub_degree:
                hubs.append(u)
                continue
            for local in graph.incident(u, mode="all"):
                e = int(kept[local])
                w = int(view.target[e]) if int(view.source[e]) == u else int(view.source[e])
                if w not in distance:
                    if len(distance) >= limit:
                        truncated = True
                        continue
                    distance[w] = depth
                    following.append(w)
                walked.add(e)
        frontier = following
        if not frontier:
            break
    return distance, sorted(walked), hubs, truncated


def neighbours(
    store: EvidenceStore,
    view: GraphView,
    entity_id: str,
    *,
    hops: int = 1,
    flt: EdgeFilter = ALL_EDGES,
    limit: int = NODE_LIMIT,
) -> dict[str, Any]:
    """The entity's neighbourhood to ``hops`` as nodes (with their distance) and edges."""
    start = describe.vertex_of(store, view, entity_id)
    if start is None:  # visible, but no visible edge
        return {"entity": view.canonical(entity_id), "hops": hops, "nodes": [], "edges": [], "datasets": [],
                "marking": "CLEAR", "truncated": False, "hubs": []}
    distance, walked, hubs, truncated = neighbourhood(view, start, hops, flt, limit=limit)
    result = describe.subgraph(store, view, distance, walked)
    for node in result["nodes"]:
        node["distance"] = distance.get(view.index[node["id"]])
    return {
        "entity": view.ids[start],
        "hops": hops,
        **result,
        "truncated": truncated,
        "hubs": sorted(view.ids[h] for h in hubs),
    }


def shortest_paths(view: GraphView, a: int, b: int, flt: EdgeFilter = ALL_EDGES, k: int = 1) -> list[list[int]]:
    """Up to ``k`` shortest paths from vertex ``a`` to ``b`` (direction ignored), as view edge indices."""
    if a == b:
        return []
    graph, kept = view.filtered(flt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # igraph warns when b is unreachable: that is an answer
        if k <= 1:
            local = [graph.get_shortest_path(a, b, mode="all", output="epath")]
        else:
            local = graph.get_k_shortest_paths(a, b, k=k, mode="all", output="epath")
    return [[int(kept[e]) for e in p] for p in local if p]


def path(
    store: EvidenceStore,
    view: GraphView,
    source_id: str,
    target_id: str,
    *,
    flt: EdgeFilter = ALL_EDGES,
    paths: int = 1,
) -> dict[str, Any]:
    """The shortest paths (up to ``paths`` of them) between two entities, ignoring direction,
    each step explained with the edge's evidence and direction."""
    a = describe.vertex_of(store, view, source_id)
    b = describe.vertex_of(store, view, target_id)
    found = shortest_paths(view, a, b, flt, paths) if a is not None and b is not None else []
    all_edges = sorted({e for p in found for e in p})
    edge_details = describe.edges(store, view, all_edges)
    vertices = {v for v in (a, b) if v is not None}
    vertices |= {int(view.source[e]) for e in all_edges} | {int(view.target[e]) for e in all_edges}
    node_details = describe.nodes(store, view, vertices)
    rendered = []
    for p in found:
        at = a
        steps = []
        for e in p:
            forward = int(view.source[e]) == at
            at = int(view.target[e]) if forward else int(view.source[e])
            steps.append({**edge_details[e], "direction": "forward" if forward else "backward"})
        rendered.append({"length": len(p), "steps": steps, **view.provenance(p)})
    return {
        "source": view.canonical(source_id),
        "target": view.canonical(target_id),
        "paths": rendered,
        "nodes": [node_details[v] for v in sorted(vertices, key=lambda v: view.ids[v])],
        **view.provenance(all_edges),
    }
