"""Syndicate candidates: communities found by Leiden (modularity), and the brokers inside each
community ranked by betweenness centrality.

Communities are computed on the undirected graph with parallel edges merged (their count is
the weight). Places and paperwork that tie unrelated actors together (ports, vessels and
carriers, assessments, report notes, authorities) are left out unless asked for; shared
identifiers stay in, because a shared address is exactly the tie a syndicate leaves.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from typing import Any

import igraph as ig
import numpy as np

from chainlight.graph import describe
from chainlight.graph.relations import PLACE_RELATIONS
from chainlight.graph.view import EdgeFilter, GraphView
from chainlight.store.evidence import EvidenceStore

DEFAULT_EXCLUDE: tuple[str, ...] = tuple(sorted(PLACE_RELATIONS))
#: Betweenness is exact within communities up to this size, and cut at paths of 4 above it.
EXACT_BETWEENNESS = 5000
SEED = 20240601
_RANDOM = threading.Lock()


def partition(
    view: GraphView, flt: EdgeFilter, *, resolution: float = 1.0, iterations: int = 2
) -> tuple[ig.Graph, list[int]]:
    """(the undirected weighted graph, a community label per vertex)."""
    kept = view.kept(flt)
    n = view.vertex_count
    a = np.minimum(view.source[kept], view.target[kept])
    b = np.maximum(view.source[kept], view.target[kept])
    pairs, counts = np.unique((a * n + b)[a != b], return_counts=True)
    undirected = ig.Graph(n=n)
    undirected.add_edges(np.column_stack([pairs // n, pairs % n]))
    undirected.es["weight"] = counts.astype(float).tolist()
    # Leiden visits nodes in a random order. igraph keeps its random number generator per thread
    # (a web request runs in a worker thread): give this thread one seeded for this call, so the
    # same graph always gives the same labels, and put the usual one back afterwards.
    with _RANDOM:
        ig.set_random_number_generator(random.Random(SEED))
        try:
            clusters = undirected.community_leiden(
                objective_function="modularity", weights="weight", resolution=resolution, n_iterations=iterations
            )
        finally:
            ig.set_random_number_generator(random)
    return undirected, list(clusters.membership)


def community_id(member_ids: list[str]) -> str:
    """A label that depends only on who is in the community."""
    return "cm-" + hashlib.blake2b("\x1f".join(sorted(member_ids)).encode(), digest_size=8).hexdigest()


def communities(
    store: EvidenceStore,
    view: GraphView,
    *,
    flt: EdgeFilter | None = None,
    resolution: float = 1.0,
    min_size: int = 3,
    limit: int = 20,
    brokers: int = 5,
    members: int = 50,
) -> dict[str, Any]:
    """The largest communities (at least ``min_size`` people, companies or accounts), each
    with its members, its brokers and the datasets of the edges inside it."""
    flt = flt if flt is not None else EdgeFilter(exclude=DEFAULT_EXCLUDE)
    undirected, membership = partition(view, flt, resolution=resolution)
    actor_codes = view.schema_codes(ACTOR_SCHEMATA)
    is_actor = np.isin(view.node_schema, actor_codes)
    groups: dict[int, list[int]] = {}
    for v, label in enumerate(membership):
        if undirected.degree(v) and is_actor[v]:
            groups.setdefault(label, []).append(v)
    ranked = sorted((g for g in groups.values() if len(g) >= min_size), key=lambda g: (-len(g), view.ids[g[0]]))
    labels = np.asarray(membership)
    kept = view.kept(flt)
    inside_edges = labels[view.source[kept]] == labels[view.target[kept]]
    out = []
    for group in ranked[:limit]:
        label = membership[group[0]]
        whole = np.flatnonzero(labels == label).tolist()
        sub = undirected.induced_subgraph(whole)
        scores = sub.betweenness(cutoff=None if len(whole) <= EXACT_BETWEENNESS else 4)
        order = sorted(range(len(whole)), key=lambda i: -scores[i])
        top = [whole[i] for i in order if is_actor[whole[i]]][:brokers]
        shown = sorted(group, key=lambda v: -undirected.degree(v))[:members]
        details = describe.nodes(store, view, set(top) | set(shown))
        edges = kept[inside_edges & (labels[view.source[kept]] == label)]
        out.append(
            {
                "id": community_id([view.ids[v] for v in group]),
                "size": len(group),
                "schemata": dict(Counter(view.schema_of(v) for v in group).most_common()),
                "brokers": [
                    {**{k: details[v][k] for k in ("id", "schema", "caption")},
                     "betweenness": round(float(scores[whole.index(v)]), 3)}
                    for v in top
                ],
                "members": [{k: details[v][k] for k in ("id", "schema", "caption", "country")} for v in shown],
                **view.provenance(edges.tolist()),
            }
        )
    return {
        "communities": out,
        "total": len(ranked),
        "resolution": resolution,
        "excluded_relations": list(flt.exclude),
        **view.provenance(np.flatnonzero(view.mask(flt)).tolist()),
    }


ACTOR_SCHEMATA: tuple[str, ...] = (
    "Person", "Company", "Organization", "LegalEntity", "PublicBody", "BankAccount", "Vessel",
)
