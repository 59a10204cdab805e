"""Ultimate beneficial owners: effective ownership multiplied along chains and summed across
paths, with share ranges carried as ranges, and circular ownership found and reported.

What counts as a link in a chain:

* ``Ownership`` that is direct (or says nothing about it), with its share: an exact
  percentage is the range [p, p]; a BODS range is [min, max]; no share at all is [0, 100]
  and is flagged as unknown.
* ``UnknownLink`` recorded by the BODS reader for an interest of unspecified type: a
  link of unknown share.

An ``Ownership`` declared *indirect* (BODS ``directOrIndirect: indirect``) summarises a chain
that its declarer already walked, so it is never multiplied into chains (that would count the
same interest twice). It is compared with what the chains give instead: when both exist and
their ranges overlap, the owner's share is their intersection; when only the declaration
exists, it stands; when they disagree, the computed range stands and the disagreement is
reported.

Chains are simple paths: a walk up never revisits a company already on the path, so circular
ownership terminates. Each cycle met is reported once with the companies on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from chainlight.graph import describe
from chainlight.graph.view import GraphView
from chainlight.store.evidence import EvidenceStore

#: Walks stop this many links above the company asked about.
MAX_DEPTH = 12
#: A walk stops after this many chains (dense cross-holdings grow them exponentially) and says so.
MAX_CHAINS = 10_000
#: Share (percent) from which an owner is a beneficial owner (EU AMLD's 25 %).
THRESHOLD = 25.0
UNSPECIFIED = "Unspecified interest"
PERSON_SCHEMATA = frozenset({"Person"})


@dataclass
class _Links:
    """The ownership links of a view, indexed by the owned vertex."""

    owners_of: dict[int, list[tuple[int, int, float, float, bool]]]  # asset -> (owner, edge, lo, hi, known)
    declared: dict[int, list[tuple[int, int, float, float]]]  # asset -> (owner, edge, lo, hi)


def _links(view: GraphView) -> _Links:
    cached = view.cache.get("ownership")
    if isinstance(cached, _Links):
        return cached
    ownership = view.relation_codes(["Ownership"])
    unknown = view.relation_codes(["UnknownLink"])
    indirect_codes = [i for i, q in enumerate(view.qualifiers) if q == "indirect"]
    unspecified_codes = [i for i, q in enumerate(view.qualifiers) if q == UNSPECIFIED]
    is_ownership = np.isin(view.relation, ownership)
    is_indirect = np.isin(view.qualifier, indirect_codes)
    unspecified = np.isin(view.relation, unknown) & np.isin(view.qualifier, unspecified_codes)
    chain = (is_ownership & ~is_indirect) | unspecified
    links = _Links({}, {})
    for e in np.flatnonzero(chain):
        lo, hi, known = _share(view, int(e))
        links.owners_of.setdefault(int(view.target[e]), []).append((int(view.source[e]), int(e), lo, hi, known))
    for e in np.flatnonzero(is_ownership & is_indirect):
        lo, hi, _ = _share(view, int(e))
        links.declared.setdefault(int(view.target[e]), []).append((int(view.source[e]), int(e), lo, hi))
    view.cache["ownership"] = links
    return links


def _share(view: GraphView, e: int) -> tuple[float, float, bool]:
    lo, hi = float(view.share_min[e]), float(view.share_max[e])
    known = not (np.isnan(lo) and np.isnan(hi))
    lo = 0.0 if np.isnan(lo) else max(0.0, min(lo, 100.0)) / 100.0
    hi = 1.0 if np.isnan(hi) else max(0.0, min(hi, 100.0)) / 100.0
    return lo, max(lo, hi), known


@dataclass
class Chain:
    owner: int
    edges: list[int]  # from the owner down to the company
    low: float
    high: float
    known: bool
    cut: bool = False  # the walk reached MAX_DEPTH here


@dataclass
class _Walk:
    chains: list[Chain] = field(default_factory=list)
    cycles: list[list[int]] = field(default_factory=list)
    truncated: bool = False


def _walk(links: _Links, target: int, max_depth: int) -> _Walk:
    """Every simple chain from an ultimate owner down to ``target``."""
    out = _Walk()
    seen_cycles: set[frozenset[int]] = set()

    def up(node: int, path_nodes: list[int], path_edges: list[int], low: float, high: float, known: bool) -> None:
        if len(out.chains) >= MAX_CHAINS:
            out.truncated = True
            return
        owners = links.owners_of.get(node, [])
        if not owners or len(path_edges) >= max_depth:
            if path_edges:
                out.chains.append(Chain(node, path_edges[::-1], low, high, known, cut=bool(owners)))
            return
        for owner, e, lo, hi, k in owners:
            if owner in path_nodes:
                cycle = [*path_nodes[path_nodes.index(owner):], node] if owner != node else [node]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    out.cycles.append(cycle)
                continue
            up(owner, [*path_nodes, node], [*path_edges, e], low * lo, high * hi, known and k)

    up(target, [], [], 1.0, 1.0, True)
    return out


@dataclass
class Owner:
    vertex: int
    low: float
    high: float
    known: bool
    chains: list[Chain]
    declared: tuple[float, float] | None = None
    conflict: bool = False


def _from_chains(walk: _Walk) -> dict[int, Owner]:
    owners: dict[int, Owner] = {}
    for chain in walk.chains:
        o = owners.setdefault(chain.owner, Owner(chain.owner, 0.0, 0.0, True, []))
        o.low += chain.low
        o.high += chain.high
        o.known = o.known and chain.known
        o.chains.append(chain)
    return owners


def _with_declared(links: _Links, target: int, owners: dict[int, Owner]) -> dict[int, Owner]:
    """Fold the target's declared indirect interests into the computed owners, then cap at 100 %."""
    for owner, _, lo, hi in links.declared.get(target, []):
        o = owners.get(owner)
        if o is None:
            owners[owner] = Owner(owner, lo, hi, True, [], declared=(lo, hi))
            continue
        o.declared = (lo, hi)
        low, high = max(o.low, lo), min(o.high, hi)
        if low <= high + 1e-9:
            o.low, o.high = low, max(low, high)
        else:
            o.conflict = True
    for o in owners.values():
        o.low, o.high = min(o.low, 1.0), min(o.high, 1.0)
    return owners


def ultimate_owners(
    store: EvidenceStore,
    view: GraphView,
    entity_id: str,
    *,
    threshold: float = THRESHOLD,
    max_depth: int = MAX_DEPTH,
) -> dict[str, Any]:
    """The ultimate owners of one entity with their effective share ranges, the chains behind
    them, and the circular ownership met on the way."""
    target = describe.vertex_of(store, view, entity_id)
    canonical = view.canonical(entity_id)
    if target is None:
        caption = describe.caption_of(store, view, entity_id)
        return {"entity": canonical, "caption": caption, "threshold": threshold, "owners": [], "cycles": [],
                "datasets": [], "marking": "CLEAR"}
    links = _links(view)
    walk = _walk(links, target, max_depth)
    owners = _with_declared(links, target, _from_chains(walk))
    used = {e for o in owners.values() for c in o.chains for e in c.edges}
    used |= {e for owner, e, _, _ in links.declared.get(target, []) if owner in owners}
    cycle_edges = _cycle_edges(links, walk.cycles)
    details = describe.nodes(store, view, set(owners) | {target} | {v for c in walk.cycles for v in c})
    edge_details = describe.edges(store, view, sorted(used | cycle_edges))
    rendered = []
    for o in sorted(owners.values(), key=lambda o: (-o.high, -o.low, view.ids[o.vertex])):
        node = details[o.vertex]
        rendered.append(
            {
                **{k: node[k] for k in ("id", "schema", "caption", "country")},
                "natural_person": node["schema"] in PERSON_SCHEMATA,
                "share": {"min": round(o.low * 100, 6), "max": round(o.high * 100, 6)},
                "share_known": o.known,
                "beneficial_owner": "yes" if o.low * 100 >= threshold else "possible" if o.high * 100 >= threshold
                else "no",
                "declared": None if o.declared is None
                else {"min": round(o.declared[0] * 100, 6), "max": round(o.declared[1] * 100, 6)},
                "declared_conflicts": o.conflict,
                "chains": [
                    {
                        "share": {"min": round(c.low * 100, 6), "max": round(c.high * 100, 6)},
                        "cut_at_depth": c.cut,
                        "steps": [edge_details[e] for e in c.edges],
                        **view.provenance(c.edges),
                    }
                    for c in o.chains
                ],
            }
        )
    return {
        "entity": view.ids[target],
        "caption": details[target]["caption"],
        "threshold": threshold,
        "owners": rendered,
        "chains_truncated": walk.truncated,
        "cycles": [
            {"members": [details[v]["id"] for v in cycle], "captions": [details[v]["caption"] for v in cycle]}
            for cycle in walk.cycles
        ],
        **view.provenance(used | cycle_edges),
    }


def _cycle_edges(links: _Links, cycles: list[list[int]]) -> set[int]:
    found: set[int] = set()
    for cycle in cycles:
        members = set(cycle)
        for asset in cycle:
            found.update(e for owner, e, *_ in links.owners_of.get(asset, []) if owner in members)
    return found


def all_ultimate_owners(view: GraphView, *, max_depth: int = MAX_DEPTH) -> Iterator[tuple[int, dict[int, Owner]]]:
    """Ultimate owners of every owned vertex (bulk: for rules, exports and benchmarks).

    A company whose owners, owners' owners and so on are free of cycles is computed once,
    from its owners' results (a chain's share is the product of its links, and sums
    distribute over products); the rest are walked like a single query.
    """
    links = _links(view)
    acyclic = _acyclic_ancestry(view, links)
    memo: dict[int, dict[int, tuple[float, float, bool]]] = {}

    def shares(node: int) -> dict[int, tuple[float, float, bool]]:
        found = memo.get(node)
        if found is not None:
            return found
        owners = links.owners_of.get(node)
        total: dict[int, tuple[float, float, bool]] = {}
        if not owners:
            total[node] = (1.0, 1.0, True)
        else:
            for owner, _, lo, hi, k in owners:
                for top, (a, b, kk) in shares(owner).items():
                    x = total.get(top, (0.0, 0.0, True))
                    total[top] = (x[0] + lo * a, x[1] + hi * b, x[2] and k and kk)
        memo[node] = total
        return total

    for target in sorted(links.owners_of, key=lambda v: view.ids[v]):
        if acyclic[target]:
            owners = {o: Owner(o, a, b, k, []) for o, (a, b, k) in shares(target).items()}
        else:
            owners = _from_chains(_walk(links, target, max_depth))
        yield target, _with_declared(links, target, owners)


def _acyclic_ancestry(view: GraphView, links: _Links) -> npt.NDArray[np.bool_]:
    """Per vertex: no ownership cycle among it and its owners, transitively."""
    import igraph as ig

    n = view.vertex_count
    pairs = [(owner, asset) for asset, owners in links.owners_of.items() for owner, *_ in owners]
    g = ig.Graph(n=n, edges=pairs, directed=True)
    components = g.connected_components(mode="strong")
    on_cycle = np.zeros(n, dtype=bool)
    for comp in components:
        if len(comp) > 1:
            on_cycle[comp] = True
    for owner, asset in pairs:
        if owner == asset:
            on_cycle[owner] = True
    bad = np.flatnonzero(on_cycle)
    tainted = np.zeros(n, dtype=bool)
    if len(bad):
        reach = g.neighborhood(bad.tolist(), order=n, mode="out")
        for reached in reach:
            tainted[reached] = True
    return ~tainted


def circular_ownership(store: EvidenceStore, view: GraphView) -> list[dict[str, Any]]:
    """Every group of entities that own each other round a cycle (strongly connected)."""
    import igraph as ig

    links = _links(view)
    pairs = [(owner, asset, e) for asset, owners in links.owners_of.items() for owner, e, *_ in owners]
    g = ig.Graph(n=view.vertex_count, edges=[(a, b) for a, b, _ in pairs], directed=True)
    groups = [c for c in g.connected_components(mode="strong") if len(c) > 1]
    groups += [[a] for a, b, _ in pairs if a == b]
    result = []
    for members in groups:
        inside = set(members)
        cycle_edges = [e for a, b, e in pairs if a in inside and b in inside]
        details = describe.nodes(store, view, members)
        result.append(
            {
                "members": [details[v]["id"] for v in sorted(members, key=lambda v: view.ids[v])],
                "captions": [details[v]["caption"] for v in sorted(members, key=lambda v: view.ids[v])],
                "edges": list(describe.edges(store, view, cycle_edges).values()),
                **view.provenance(cycle_edges),
            }
        )
    return result
