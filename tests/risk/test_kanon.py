"""k-anonymity suppression: hand-computed tables, and an attacker who subtracts.

The attacker is independent of the code under test: it writes each shown total as an equation
over the hidden cells and solves the system exactly (fractions); a hidden cell is recovered when
the equations pin it to one value.
"""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from chainlight.risk.kanon import HIDDEN, GridKey, OneWay, TwoWay, check_k, one_way, shown, two_way


def recovered(equations: list[tuple[dict[GridKey, int], int]], unknowns: list[GridKey]) -> set[GridKey]:
    """The unknowns a system of ``sum(coef * x) = rhs`` equations determines (Gauss-Jordan)."""
    rows = [[Fraction(coefs.get(u, 0)) for u in unknowns] + [Fraction(rhs)] for coefs, rhs in equations]
    pivots: list[int] = []
    r = 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        rows[r] = [v / rows[r][col] for v in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append(col)
        r += 1
    found = set()
    for i, col in enumerate(pivots):
        if all(rows[i][j] == 0 for j in range(len(unknowns)) if j != col):
            found.add(unknowns[col])
    return found


def attack_one_way(table: OneWay) -> set[str]:
    """Cells a reader recovers from a one-way table and its total."""
    hidden: list[GridKey] = [(c, None) for c in table.hidden()]
    if table.total is None:
        return set()
    visible = sum(v for v in table.cells.values() if v is not None)
    equation: dict[GridKey, int] = dict.fromkeys(hidden, 1)
    return {str(c) for c, _ in recovered([(equation, table.total - visible)], hidden)}


def attack_two_way(table: TwoWay) -> set[GridKey]:
    """Cells and totals a reader recovers from a two-way table's row and column equations."""
    value: dict[GridKey, int | None] = {(r, c): v for (r, c), v in table.cells.items()}
    value |= {(r, None): v for r, v in table.row_totals.items()}
    value |= {(None, c): v for c, v in table.col_totals.items()}
    value[(None, None)] = table.total
    rows: list[str | None] = [*table.rows, None]
    cols: list[str | None] = [*table.cols, None]
    lines = [[(r, c) for c in cols] for r in rows] + [[(r, c) for r in rows] for c in cols]
    unknowns = sorted((key for key, v in value.items() if v is None), key=str)
    equations = []
    for keys in lines:
        total_key = keys[-1]
        coefs: dict[GridKey, int] = {}
        rhs = 0
        for key in keys:
            sign = -1 if key == total_key else 1
            v = value[key]
            if v is None:
                coefs[key] = sign
            else:
                rhs -= sign * v
        equations.append((coefs, rhs))
    return recovered(equations, unknowns)


def test_shown_and_k_checks() -> None:
    assert shown(None) == HIDDEN == "[c]"
    assert shown(0) == "0"
    assert check_k(5) == 5
    for bad in (0, -1, True):
        with pytest.raises(ValueError, match="at least 1"):
            check_k(bad)


def test_nothing_small_nothing_hidden() -> None:
    table = one_way({"customs": 12, "pilot": 5, "agent": 0}, 5)
    assert table.cells == {"customs": 12, "pilot": 5, "agent": 0}
    assert table.total == 17


def test_k_of_one_hides_nothing() -> None:
    assert one_way({"a": 1, "b": 2}, 1).cells == {"a": 1, "b": 2}


def test_one_small_cell_takes_the_next_smallest_with_it() -> None:
    # customs 3 < 5. Shown alone with the total 45, 45 - 12 - 30 = 3 would give it away.
    table = one_way({"customs": 3, "pilot": 12, "port-authority": 30, "police": 0}, 5)
    assert table.cells == {"customs": None, "pilot": None, "port-authority": 30, "police": 0}
    assert table.total == 45
    assert attack_one_way(table) == set()


def test_two_small_cells_together_under_k_take_a_third() -> None:
    # 1 + 2 = 3 < 5: hiding just these two still tells the reader three reports hide there.
    table = one_way({"a": 1, "b": 2, "c": 9, "d": 40}, 5)
    assert table.hidden() == {"a", "b", "c"}
    assert table.total == 52


def test_two_small_cells_reaching_k_are_enough() -> None:
    table = one_way({"a": 4, "b": 3, "c": 9}, 5)
    assert table.hidden() == {"a", "b"}
    assert table.cells["c"] == 9


def test_a_small_total_hides_everything_in_it() -> None:
    table = one_way({"a": 2, "b": 1, "c": 0}, 5)
    assert table.cells == {"a": None, "b": None, "c": 0}
    assert table.total is None


def test_a_total_hidden_elsewhere_hides_a_cell_here() -> None:
    # The port's total is hidden in the ports table, so its stages must not add up to it.
    table = one_way({"a": 7, "b": 20}, 5, hide_total=True)
    assert table.total is None
    assert table.hidden() == {"a"}


def test_a_single_category_is_its_own_total() -> None:
    table = one_way({"only": 3}, 5)
    assert table.cells == {"only": None} and table.total is None


def test_two_way_rows_and_columns_hand_computed() -> None:
    #            a1  a2 | total
    #   s1        3  10 |  13
    #   s2        8   9 |  17
    #   s3       20   7 |  27
    #   total    31  26 |  57
    counts = {("s1", "a1"): 3, ("s1", "a2"): 10, ("s2", "a1"): 8, ("s2", "a2"): 9, ("s3", "a1"): 20,
              ("s3", "a2"): 7}
    table = two_way(counts, 5)
    # s1/a1 is small; s1/a2 protects it in row s1, s2/a1 in column a1, s2/a2 closes the rectangle.
    assert table.hidden() == {("s1", "a1"), ("s1", "a2"), ("s2", "a1"), ("s2", "a2")}
    assert table.cells[("s3", "a1")] == 20 and table.cells[("s3", "a2")] == 7
    assert table.row_totals == {"s1": 13, "s2": 17, "s3": 27}
    assert table.col_totals == {"a1": 31, "a2": 26} and table.total == 57
    assert attack_two_way(table) == set()


def test_two_way_without_the_rectangle_a_cell_would_be_recovered() -> None:
    # The attacker is real: with only the row complement, column a1 gives s1/a1 = 31 - 8 - 20.
    table = TwoWay(5, ("s1", "s2", "s3"), ("a1", "a2"),
                   {("s1", "a1"): None, ("s1", "a2"): None, ("s2", "a1"): 8, ("s2", "a2"): 9, ("s3", "a1"): 20,
                    ("s3", "a2"): 7}, {"s1": 13, "s2": 17, "s3": 27}, {"a1": 31, "a2": 26}, 57)
    assert attack_two_way(table) == {("s1", "a1"), ("s1", "a2")}


def test_a_bridge_between_two_rectangles_is_closed() -> None:
    # Hidden cells that each line sees twice can still be worked out when one links two
    # otherwise separate groups (a bridge): the code must add a cell to close a cycle.
    counts = {("s1", "a1"): 2, ("s1", "a2"): 6, ("s2", "a1"): 6, ("s2", "a2"): 6, ("s2", "a3"): 6,
              ("s3", "a2"): 6, ("s3", "a3"): 2, ("s3", "a1"): 6}
    table = two_way(counts, 5)
    assert attack_two_way(table) == set()
    assert {("s1", "a1"), ("s3", "a3")} <= table.hidden()


def test_zero_cells_are_shown_and_used_only_when_nothing_else_protects() -> None:
    # Row s1's only reports are a small cell; its zeros are shown.
    counts = {("s1", "a1"): 2, ("s2", "a1"): 30, ("s2", "a2"): 40, ("s3", "a1"): 25, ("s3", "a2"): 35}
    table = two_way(counts, 5, rows=["s1", "s2", "s3"], cols=["a1", "a2"])
    assert table.cells[("s1", "a1")] is None
    assert table.row_totals["s1"] is None  # 2 reports: small itself
    assert attack_two_way(table) == set()
    # a zero becomes a complement when a line has nothing else: a reader then cannot assume
    # every hidden cell holds at least one report.
    lone = two_way({("s1", "a1"): 7, ("s2", "a1"): 3, ("s2", "a2"): 9}, 5,
                   rows=["s1", "s2"], cols=["a1", "a2"])
    assert attack_two_way(lone) == set()
    assert lone.hidden() >= {("s2", "a1"), ("s1", "a1")}
    assert lone.cells[("s1", "a2")] is None  # the zero closing the rectangle s1/s2 x a1/a2


def test_forced_totals_are_hidden_and_frozen_totals_stay_shown() -> None:
    # The ports table hid p1 and p3 (as one_way would: two of them, together k or more).
    counts = {("p1", "s1"): 10, ("p1", "s2"): 12, ("p2", "s1"): 9, ("p2", "s2"): 30, ("p3", "s1"): 3,
              ("p3", "s2"): 0}
    ports = one_way({"p1": 22, "p2": 39, "p3": 3}, 5)
    assert ports.hidden() == {"p1", "p3"}
    table = two_way(counts, 5, forced=[("p1", None), ("p3", None)], frozen=[("p2", None), (None, None)])
    assert table.row_totals == {"p1": None, "p2": 39, "p3": None}
    assert table.total == 64
    assert attack_two_way(table) == set()
    # With only two ports, hiding one total and showing the grand total is impossible: the
    # other total goes too, frozen or not (callers check hidden() and hide it everywhere).
    pair = two_way({("p1", "s1"): 10, ("p2", "s1"): 30}, 5, forced=[("p1", None)], frozen=[("p2", None)])
    assert pair.row_totals == {"p1": None, "p2": None}
    assert attack_two_way(pair) == set()


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_never_give_a_hidden_cell_away(seed: int) -> None:
    rng = random.Random(seed)
    k = rng.choice([3, 5, 10])
    rows = [f"r{i}" for i in range(rng.randint(1, 6))]
    cols = [f"c{j}" for j in range(rng.randint(1, 6))]
    counts = {(r, c): rng.choice([0, 0, 1, 2, 3, 4, 5, 8, 13, 40]) for r in rows for c in cols}
    table = two_way(counts, k, rows=rows, cols=cols)
    assert attack_two_way(table) == set()
    every = {**{(r, c): v for (r, c), v in counts.items()}}
    for key, value in every.items():
        if 0 < value < k:
            assert table.cells[key] is None
    for r in rows:  # hidden cells of a line with a shown total count k or more together
        if table.row_totals[r] is not None:
            secret = [counts[(r, c)] for c in cols if table.cells[(r, c)] is None]
            assert not secret or (len(secret) >= 2 and sum(secret) >= k)
    flat = {f"x{i}": rng.choice([0, 1, 2, 3, 6, 9, 30]) for i in range(rng.randint(1, 8))}
    line = one_way(flat, k)
    assert attack_one_way(line) == set()
    if line.total is not None and line.hidden():
        assert len(line.hidden()) >= 2 and sum(flat[c] for c in line.hidden()) >= k
