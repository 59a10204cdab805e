"""Follow the money: payments traced forward (where did it go?) or backward (where did it come
from?) hop by hop, in time order.

Forward from X, the first hop is every payment X made inside the window. A counterparty
reached at a date can only pass the money on from that date: the next hop follows its
payments dated on or after the earliest payment that reached it (and, with ``max_lag``,
no later than that many days after it). Backward is the mirror: payments into X, then
payments into each payer dated on or before the latest payment it made onwards. Undated
payments cannot be put in order and are left out of tracing (counted in the result).

Amounts are summed per counterparty and hop, per currency: nothing is converted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np

from chainlight.graph import describe
from chainlight.graph.view import NO_DATE, GraphError, GraphView, day_date, day_number
from chainlight.store.evidence import EvidenceStore

Direction = Literal["forward", "backward"]
MAX_HOPS = 6


@dataclass
class _Flow:
    payments: int = 0
    amounts: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    first: int = np.iinfo(np.int32).max
    last: int = NO_DATE
    via: set[int] = field(default_factory=set)
    edges: list[int] = field(default_factory=list)


def _payments(view: GraphView) -> tuple[dict[int, list[int]], dict[int, list[int]], int]:
    cached = view.cache.get("payments")
    if cached is None:
        codes = view.relation_codes(["Payment"])
        out_of: dict[int, list[int]] = defaultdict(list)
        into: dict[int, list[int]] = defaultdict(list)
        undated = 0
        for e in np.flatnonzero(np.isin(view.relation, codes)):
            if view.start[e] == NO_DATE:
                undated += 1
                continue
            out_of[int(view.source[e])].append(int(e))
            into[int(view.target[e])].append(int(e))
        cached = (dict(out_of), dict(into), undated)
        view.cache["payments"] = cached
    return cached


def trace(
    view: GraphView,
    origin: int,
    direction: Direction,
    *,
    since: date | None = None,
    until: date | None = None,
    hops: int = 3,
    max_lag: int | None = None,
) -> list[dict[int, _Flow]]:
    """Per hop, the counterparties reached and what reached them."""
    _check(hops, since, until)
    out_of, into, _ = _payments(view)
    lo = NO_DATE if since is None else day_number(since)
    hi = np.iinfo(np.int32).max if until is None else day_number(until)
    forward = direction == "forward"
    adjacency = out_of if forward else into
    # forward: earliest date money reached a node; backward: latest date it left towards the origin
    reached: dict[int, int] = {origin: lo if forward else hi}
    frontier = [origin]
    levels: list[dict[int, _Flow]] = []
    for _ in range(hops):
        level: dict[int, _Flow] = {}
        for node in frontier:
            at = reached[node]
            for e in adjacency.get(node, []):
                when = int(view.start[e])
                if not lo <= when <= hi:
                    continue
                if forward and (when < at or (max_lag is not None and node != origin and when > at + max_lag)):
                    continue
                if not forward and (when > at or (max_lag is not None and node != origin and when < at - max_lag)):
                    continue
                other = int(view.target[e]) if forward else int(view.source[e])
                flow = level.setdefault(other, _Flow())
                flow.payments += 1
                amount = float(view.amount[e])
                if not np.isnan(amount):
                    flow.amounts[view.currencies[int(view.currency[e])] or "?"] += amount
                flow.first, flow.last = min(flow.first, when), max(flow.last, when)
                flow.via.add(node)
                flow.edges.append(e)
        if not level:
            break
        following = []
        for other, flow in level.items():
            if other in reached:
                continue  # already traced from an earlier hop (or the origin: money came back)
            reached[other] = flow.first if forward else flow.last
            following.append(other)
        levels.append(level)
        frontier = following
        if not frontier:
            break
    return levels


def follow(
    store: EvidenceStore,
    view: GraphView,
    entity_id: str,
    *,
    direction: Direction | Literal["both"] = "forward",
    since: date | None = None,
    until: date | None = None,
    hops: int = 3,
    max_lag: int | None = None,
) -> dict[str, Any]:
    """The trace as a JSON-ready result, with captions and the datasets of the payments used."""
    _check(hops, since, until)
    origin = describe.vertex_of(store, view, entity_id)
    directions: list[Direction] = ["forward", "backward"] if direction == "both" else [direction]
    traces = {d: ([] if origin is None else trace(view, origin, d, since=since, until=until, hops=hops,
                                                  max_lag=max_lag)) for d in directions}
    vertices = {v for levels in traces.values() for level in levels for flow in level.values() for v in flow.via}
    vertices |= {v for levels in traces.values() for level in levels for v in level}
    details = describe.nodes(store, view, vertices | ({origin} if origin is not None else set()))
    used: list[int] = []
    result: dict[str, Any] = {
        "entity": view.canonical(entity_id),
        "window": {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None},
        "undated_payments_left_out": _payments(view)[2],
    }
    for d, levels in traces.items():
        rendered = []
        for hop, level in enumerate(levels, start=1):
            rows = []
            for other, flow in sorted(level.items(), key=lambda kv: (-sum(kv[1].amounts.values()), view.ids[kv[0]])):
                used.extend(flow.edges)
                node = details[other]
                rows.append(
                    {
                        **{k: node[k] for k in ("id", "schema", "caption", "country")},
                        "returns_to_origin": other == origin,
                        "payments": flow.payments,
                        "amounts": {c: round(a, 2) for c, a in sorted(flow.amounts.items())},
                        "first": _iso(flow.first),
                        "last": _iso(flow.last),
                        ("from" if d == "forward" else "to"): sorted(view.ids[v] for v in flow.via),
                        **view.provenance(flow.edges),
                    }
                )
            totals: dict[str, float] = defaultdict(float)
            for flow in level.values():
                for c, a in flow.amounts.items():
                    totals[c] += a
            rendered.append({"hop": hop, "counterparties": rows,
                             "totals": {c: round(a, 2) for c, a in sorted(totals.items())}})
        result[d] = rendered
    result.update(view.provenance(used))
    return result


def _check(hops: int, since: date | None, until: date | None) -> None:
    if not 1 <= hops <= MAX_HOPS:
        raise GraphError(f"hops must be between 1 and {MAX_HOPS}")
    if since and until and since > until:
        raise GraphError("the time window ends before it starts (since is after until)")


def _iso(day: int) -> str | None:
    value = day_date(day)
    return value.isoformat() if value else None
