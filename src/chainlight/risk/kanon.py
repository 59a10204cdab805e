"""k-anonymity for incident counts shared beyond the organisation that reported them.

A count of fewer than ``k`` reports could point at the ship or the crew who reported them, so
a shared table hides it (primary suppression). Hiding it is not enough when a total is shown:
a reader subtracts the visible cells from the total and finds the hidden one. So more cells
are hidden (secondary, or complementary, suppression) until no hidden cell can be worked out
from the cells and totals a table shows.

The rules, for a table whose totals are shown (docs/risk.md, "Incident counts and
k-anonymity"):

- **Primary**: a cell or a total counting 1 to ``k - 1`` is hidden. Zero is shown: it says no
  one reported anything, which points at no reporter, and the catalogue lists every stage and
  actor anyway, so leaving a zero out would tell the same.
- **Every line with a shown total** (the table itself for a one-way table; each row, each
  column and the margins for a two-way table) hides either none of its cells or at least two,
  and the hidden ones count at least ``k`` together: subtracting gives only a group of ``k`` or
  more reports, never one small cell.
- **Two-way tables**: no hidden cell may be determined by the row and column equations taken
  together (exactly when it is a bridge in the graph whose nodes are the rows and columns and
  whose edges are the hidden cells, margins included); another cell closing a cycle is hidden.
- Complements are the smallest visible non-zero cells (then zeros): the least information is
  lost, and a zero hidden as a complement stops a reader from assuming every hidden cell is at
  least 1. A total is hidden as a complement only when nothing else can protect the line.
- Every hidden cell looks the same (``[c]``, "confidential", as UK official statistics mark
  it): not ``<k``, which would be false for complements and would tell which cells are the
  small ones.

What a reader can still learn is bounds (a hidden cell is at most the line's hidden total),
never a hidden count itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

#: How a hidden count is shown.
HIDDEN = "[c]"

K = TypeVar("K", bound=Hashable)
#: A two-way table's keys: (row, column); ``None`` stands for the total of that dimension.
GridKey = tuple[str | None, str | None]


def check_k(k: int) -> int:
    """``k`` itself, after checking it is a whole number of at least 1 (1 hides nothing)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k-anonymity threshold must be a whole number of at least 1, not {k!r}")
    return k


def primary(values: Mapping[K, int], k: int) -> set[K]:
    """The keys counting 1 to ``k - 1``."""
    return {key for key, value in values.items() if 0 < value < k}


def _rank(key: K, values: Mapping[K, int], order: Mapping[K, int], frozen: frozenset[K]) -> tuple[int, int, int, int]:
    """Complements are chosen smallest non-zero first, then zeros; frozen keys last of all."""
    value = values[key]
    return (key in frozen, value == 0, value, order[key])


@dataclass(frozen=True, slots=True)
class OneWay:
    """A protected one-way table: ``cells`` maps each category to its count or ``None`` (hidden)."""

    k: int
    cells: dict[str, int | None]
    total: int | None

    def hidden(self) -> set[str]:
        return {key for key, value in self.cells.items() if value is None}


def one_way(counts: Mapping[str, int], k: int, *, hide_total: bool = False, forced: Iterable[str] = ()) -> OneWay:
    """Protect a breakdown of one dimension shown with its total.

    ``hide_total`` hides the total although it counts ``k`` or more (another table hid it): then
    at least one cell is hidden too, or the visible cells would add up to it. ``forced`` cells
    are hidden whatever they count.
    """
    check_k(k)
    order = {key: n for n, key in enumerate(counts)}
    total = sum(counts.values())
    hidden = primary(counts, k) | {key for key in forced if key in counts}
    total_hidden = hide_total or 0 < total < k
    nothing: frozenset[str] = frozenset()
    while True:
        visible = [key for key in counts if key not in hidden]
        if total_hidden:
            needs_more = not hidden and total > 0
        else:
            needs_more = bool(hidden) and (len(hidden) < 2 or sum(counts[c] for c in hidden) < k)
        if not needs_more:
            break
        if not visible:  # only possible with a single category: the total is that category
            total_hidden = True
            break
        hidden.add(min(visible, key=lambda c: _rank(c, counts, order, nothing)))
    return OneWay(k, {key: None if key in hidden else value for key, value in counts.items()},
                  None if total_hidden else total)


@dataclass(frozen=True, slots=True)
class TwoWay:
    """A protected two-way table with its margins; ``None`` marks a hidden count."""

    k: int
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    cells: dict[tuple[str, str], int | None]
    row_totals: dict[str, int | None]
    col_totals: dict[str, int | None]
    total: int | None

    def hidden(self) -> set[GridKey]:
        found: set[GridKey] = {key for key, value in self.cells.items() if value is None}
        found |= {(r, None) for r, value in self.row_totals.items() if value is None}
        found |= {(None, c) for c, value in self.col_totals.items() if value is None}
        if self.total is None:
            found.add((None, None))
        return found


def grid_values(counts: Mapping[tuple[str, str], int], rows: Sequence[str], cols: Sequence[str]) -> dict[GridKey, int]:
    """Every cell of ``rows`` x ``cols`` (absent pairs count zero) with the row, column and grand totals."""
    values: dict[GridKey, int] = {}
    for r in rows:
        for c in cols:
            values[(r, c)] = counts.get((r, c), 0)
    for r in rows:
        values[(r, None)] = sum(values[(r, c)] for c in cols)
    for c in cols:
        values[(None, c)] = sum(values[(r, c)] for r in rows)
    values[(None, None)] = sum(values[(r, None)] for r in rows)
    return values


def two_way(
    counts: Mapping[tuple[str, str], int],
    k: int,
    *,
    rows: Sequence[str] | None = None,
    cols: Sequence[str] | None = None,
    forced: Iterable[GridKey] = (),
    frozen: Iterable[GridKey] = (),
) -> TwoWay:
    """Protect a cross-tabulation shown with its row, column and grand totals.

    ``rows`` and ``cols`` list every category (in display order; by default those in
    ``counts``). ``forced`` keys are hidden whatever they count (a total another table hid);
    ``frozen`` keys are hidden as complements only when nothing else protects a cell, so that a
    total several tables share stays the same in each (check :meth:`TwoWay.hidden`).
    """
    check_k(k)
    row_keys = list(rows) if rows is not None else list(dict.fromkeys(r for r, _ in counts))
    col_keys = list(cols) if cols is not None else list(dict.fromkeys(c for _, c in counts))
    values = grid_values(counts, row_keys, col_keys)
    hidden = protect_grid(values, [*row_keys, None], [*col_keys, None], k, set(forced), frozenset(frozen))
    shown = {key: None if key in hidden else value for key, value in values.items()}
    return TwoWay(
        k, tuple(row_keys), tuple(col_keys),
        {(r, c): shown[(r, c)] for r in row_keys for c in col_keys},
        {r: shown[(r, None)] for r in row_keys}, {c: shown[(None, c)] for c in col_keys}, shown[(None, None)],
    )


# -- the two-way engine ----------------------------------------------------------------------

Node = tuple[str, str | None]  # ("r", row) or ("c", col); None is the total line


def protect_grid(
    values: Mapping[GridKey, int],
    rows: Sequence[str | None],
    cols: Sequence[str | None],
    k: int,
    forced: set[GridKey],
    frozen: frozenset[GridKey],
) -> set[GridKey]:
    """The keys of a full grid (totals included as the ``None`` row and column) to hide.

    Each row and each column is an equation: its cells add up to its total. Seen as a graph
    with a node per row and per column and an edge per hidden key, a hidden key is determined
    by the equations exactly when its edge is a bridge. Complements are added until every
    equation with hidden keys has at least two, the hidden cells of a line with a shown total
    count ``k`` or more, and no hidden edge is a bridge.
    """
    order = {key: n for n, key in enumerate(values)}
    hidden: set[GridKey] = set()
    every: list[Node] = [*(("r", r) for r in rows), *(("c", c) for c in cols)]
    count: dict[Node, int] = dict.fromkeys(every, 0)  # hidden keys on the line, its total included
    inner: dict[Node, int] = dict.fromkeys(every, 0)  # reports in the line's hidden cells, total excluded
    todo: dict[Node, None] = {}  # lines to check, in the order they changed

    def hide(key: GridKey) -> None:
        hidden.add(key)
        for node, is_total in ((("r", key[0]), key[1] is None), (("c", key[1]), key[0] is None)):
            count[node] += 1
            if not is_total:
                inner[node] += values[key]
            todo[node] = None

    for key in sorted(primary(values, k) | {key for key in forced if key in values}, key=order.__getitem__):
        hide(key)

    def line(node: Node) -> list[GridKey]:
        kind, name = node
        return [(name, c) for c in cols] if kind == "r" else [(r, name) for r in rows]

    def total_of(node: Node) -> GridKey:
        return (node[1], None) if node[0] == "r" else (None, node[1])

    def pick(candidates: Iterable[GridKey], across: str | None = None) -> GridKey | None:
        """The best visible complement; ``across`` prefers keys whose other line already hides one."""
        visible = [key for key in candidates if key not in hidden]
        if not visible:
            return None

        def lonely(key: GridKey) -> bool:
            return across is not None and count[("c", key[1]) if across == "c" else ("r", key[0])] == 0

        return min(visible, key=lambda key: (key in frozen, lonely(key), *_rank(key, values, order, frozen)[1:]))

    nodes: list[Node] = [("r", r) for r in rows] + [("c", c) for c in cols]
    while True:
        while todo:
            node = next(iter(todo))
            del todo[node]
            total = total_of(node)
            short = count[node] == 1
            small = total not in hidden and count[node] > 0 and inner[node] < k
            if not (short or small):
                continue
            members = [key for key in line(node) if key != total]
            choice = pick(members, "c" if node[0] == "r" else "r") or pick([total])
            if choice is not None:
                hide(choice)
                todo[node] = None
        bridge = _first_bridge(hidden, nodes)
        if bridge is None:
            return hidden
        near, far = _sides(hidden, bridge)
        side_rows = [r for kind, r in (*near, *far) if kind == "r"]
        side_cols = [c for kind, c in (*near, *far) if kind == "c"]
        linking = [(r, c) for r in side_rows for c in side_cols if (r, c) != bridge and (
            (("r", r) in near and ("c", c) in far) or (("r", r) in far and ("c", c) in near))]
        choice = pick(linking)
        if choice is None:  # every other key is hidden: nothing left to protect with
            return hidden
        hide(choice)


def _edges(hidden: set[GridKey]) -> dict[Node, list[tuple[Node, GridKey]]]:
    graph: dict[Node, list[tuple[Node, GridKey]]] = {}
    for key in hidden:
        r, c = key
        graph.setdefault(("r", r), []).append((("c", c), key))
        graph.setdefault(("c", c), []).append((("r", r), key))
    return graph


def _first_bridge(hidden: set[GridKey], nodes: Sequence[Node]) -> GridKey | None:
    """A hidden key whose edge is a bridge (iterative Tarjan), the first in table order."""
    graph = _edges(hidden)
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    bridges: list[GridKey] = []
    counter = 0
    for root in nodes:
        if root not in graph or root in index:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack: list[tuple[Node, GridKey | None, int]] = [(root, None, 0)]
        while stack:
            node, via, position = stack[-1]
            edges = graph[node]
            if position < len(edges):
                stack[-1] = (node, via, position + 1)
                other, key = edges[position]
                if key == via:
                    continue
                if other in index:
                    low[node] = min(low[node], index[other])
                else:
                    index[other] = low[other] = counter
                    counter += 1
                    stack.append((other, key, 0))
                continue
            stack.pop()
            if stack:
                parent = stack[-1][0]
                low[parent] = min(low[parent], low[node])
                if low[node] > index[parent]:
                    assert via is not None
                    bridges.append(via)
    if not bridges:
        return None
    place = {node: n for n, node in enumerate(nodes)}
    return min(bridges, key=lambda key: (place[("r", key[0])], place[("c", key[1])]))


def _sides(hidden: set[GridKey], bridge: GridKey) -> tuple[set[Node], set[Node]]:
    """The nodes reached from the bridge's row and from its column once the bridge is cut."""
    graph = _edges(hidden - {bridge})

    def reach(start: Node) -> set[Node]:
        seen = {start}
        todo = [start]
        while todo:
            for other, _ in graph.get(todo.pop(), []):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen

    return reach(("r", bridge[0])), reach(("c", bridge[1]))


def shown(value: int | None) -> str:
    """A count as a table shows it: the number, or :data:`HIDDEN`."""
    return HIDDEN if value is None else str(value)
