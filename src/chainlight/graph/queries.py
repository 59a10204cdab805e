"""Neighbourhoods and paths: the two questions an analyst asks of any entity first."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

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
    adj = adjacency(view, flt)
    distance = {start: 0}
    frontier = [start]
    walked: set[int] = set()
    hubs: list[int] = []
    truncated = False
    for depth in range(1, hops + 1):
        following: list[int] = []
        for u in frontier:
            first, last = int(adj.start[u]), int(adj.start[u + 1])
            if u != start and last - first > hub_degree:
                hubs.append(u)
                continue
            for w, e in zip(adj.neighbour[first:last].tolist(), adj.edge[first:last].tolist(), strict=True):
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


@dataclass(frozen=True, slots=True)
class Adjacency:
    """Undirected adjacency in compressed rows: the neighbours of v are ``neighbour[start[v]:start[v + 1]]``,
    reached through the view edges ``edge[...]``."""

    start: npt.NDArray[np.int64]
    neighbour: npt.NDArray[np.int64]
    edge: npt.NDArray[np.int64]

    def expand(self, frontier: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], ...]:
        """(neighbour, edge, from-vertex) for every edge at the frontier, in one vectorised step."""
        first, last = self.start[frontier], self.start[frontier + 1]
        counts = last - first
        total = int(counts.sum())
        offsets = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(total)
        return self.neighbour[offsets], self.edge[offsets], np.repeat(frontier, counts)


def adjacency(view: GraphView, flt: EdgeFilter = ALL_EDGES) -> Adjacency:
    key = ("adjacency", flt)
    found = view.cache.get(key)
    if isinstance(found, Adjacency):
        return found
    kept = view.kept(flt)
    ends = np.concatenate([view.source[kept], view.target[kept]])
    others = np.concatenate([view.target[kept], view.source[kept]])
    edges = np.concatenate([kept, kept])
    order = np.argsort(ends, kind="stable")
    start = np.zeros(view.vertex_count + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends, minlength=view.vertex_count), out=start[1:])
    built = Adjacency(start, others[order].astype(np.int64), edges[order].astype(np.int64))
    view.cache[key] = built
    return built


def _bidirectional(adj: Adjacency, n: int, a: int, b: int) -> list[int]:
    """One shortest path from a to b (direction ignored) as edges, by breadth-first search from
    both ends, a whole level at a time, always growing the side with fewer edges to walk."""
    seen = [np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)]
    depth = [np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)]
    via_edge = [np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)]
    via_vertex = [np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)]
    frontier = [np.array([a], dtype=np.int64), np.array([b], dtype=np.int64)]
    for side, root in ((0, a), (1, b)):
        seen[side][root], depth[side][root], via_edge[side][root] = True, 0, -1
    while len(frontier[0]) and len(frontier[1]):
        cost = [int((adj.start[f + 1] - adj.start[f]).sum()) for f in frontier]
        side = 0 if cost[0] <= cost[1] else 1
        other = 1 - side
        reached, edges, parents = adj.expand(frontier[side])
        new = ~seen[side][reached]
        reached, edges, parents = reached[new], edges[new], parents[new]
        fresh, first = np.unique(reached, return_index=True)
        seen[side][fresh] = True
        depth[side][fresh] = depth[side][parents[first]] + 1
        via_edge[side][fresh], via_vertex[side][fresh] = edges[first], parents[first]
        meet = fresh[seen[other][fresh]]
        if len(meet):
            m = int(meet[np.argmin(depth[other][meet])])
            halves = []
            for s in (0, 1):
                steps, v = [], m
                while via_edge[s][v] >= 0:
                    steps.append(int(via_edge[s][v]))
                    v = int(via_vertex[s][v])
                halves.append(steps)
            return halves[0][::-1] + halves[1]
        frontier[side] = fresh
    return []


def shortest_paths(view: GraphView, a: int, b: int, flt: EdgeFilter = ALL_EDGES, k: int = 1) -> list[list[int]]:
    """Up to ``k`` shortest paths from vertex ``a`` to ``b`` (direction ignored), as view edge indices."""
    if a == b:
        return []
    if k <= 1:
        found = _bidirectional(adjacency(view, flt), view.vertex_count, a, b)
        return [found] if found else []
    # Parallel edges make paths that differ only in which payment they take: ask for more and
    # keep those that pass through different vertices.
    graph, kept = view.igraph(flt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # igraph warns when b is unreachable: that is an answer
        local = graph.get_k_shortest_paths(a, b, k=k * 4, mode="all", output="epath")
    distinct: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for p in local:
        edges = [int(kept[e]) for e in p]
        if edges:
            distinct.setdefault(tuple(_hops(view, a, edges)), edges)
    return list(distinct.values())[:k]


def _hops(view: GraphView, start: int, edges: list[int]) -> list[tuple[int, int]]:
    """The vertex pairs a path steps through."""
    pairs, at = [], start
    for e in edges:
        nxt = int(view.target[e]) if int(view.source[e]) == at else int(view.source[e])
        pairs.append((at, nxt))
        at = nxt
    return pairs


def _between(adj: Adjacency, u: int, v: int) -> list[int]:
    row = slice(int(adj.start[u]), int(adj.start[u + 1]))
    return sorted(set(adj.edge[row][adj.neighbour[row] == v].tolist()))


def _parallel(edge: dict[str, Any]) -> dict[str, Any]:
    keys = ("relation", "label", "datasets", "marking", "start", "amount", "currency")
    return {**edge["evidence"], **{k: edge[k] for k in keys if k in edge}}


def _order(edge: dict[str, Any]) -> tuple[str, str, str]:
    return (edge.get("start") or "9999", edge["relation"], str(edge["evidence"]["entity_id"]))


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
    adj = adjacency(view, flt)
    # Every edge between the two vertices of a step is evidence for it (two payments, an
    # ownership and a directorship): the step shows the earliest, the others come with it.
    hops = [_hops(view, a, p) for p in found] if a is not None else []
    between = {pair: _between(adj, *pair) for route in hops for pair in route}
    all_edges = sorted({e for edges in between.values() for e in edges})
    edge_details = describe.edges(store, view, all_edges)
    vertices = {v for v in (a, b) if v is not None}
    vertices |= {int(view.source[e]) for e in all_edges} | {int(view.target[e]) for e in all_edges}
    node_details = describe.nodes(store, view, vertices)
    rendered = []
    for route in hops:
        steps, used = [], []
        for u, v in route:
            first, *others = sorted(between[(u, v)], key=lambda e: _order(edge_details[e]))
            used.extend([first, *others])
            steps.append({**edge_details[first], "direction": "forward" if int(view.source[first]) == u else "backward",
                          "parallel": [_parallel(edge_details[e]) for e in others]})
        rendered.append({"length": len(route), "steps": steps, **view.provenance(used)})
    return {
        "source": view.canonical(source_id),
        "target": view.canonical(target_id),
        "paths": rendered,
        "nodes": [node_details[v] for v in sorted(vertices, key=lambda v: view.ids[v])],
        **view.provenance(all_edges),
    }
