"""Following payments forward and backward in time order."""

from __future__ import annotations

from datetime import date

import pytest

from chainlight import pipeline
from chainlight.graph import money
from chainlight.graph.view import GraphError
from chainlight.settings import Settings


def _hop(result: dict[str, object], direction: str, hop: int) -> dict[str, dict[str, object]]:
    levels = result[direction]
    return {str(c["caption"]): c for c in levels[hop - 1]["counterparties"]}  # type: ignore[index]


def test_forward_trace_respects_time_order(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        result = money.follow(store, view, "fiu-front", direction="forward", hops=3)
        first = _hop(result, "forward", 1)
        assert set(first) == {"Halima Otieno"}
        assert first["Halima Otieno"]["payments"] == 2
        assert first["Halima Otieno"]["amounts"] == {"USD": 7500.0}
        assert (first["Halima Otieno"]["first"], first["Halima Otieno"]["last"]) == ("2023-03-01", "2023-04-10")
        second = _hop(result, "forward", 2)
        # Halima paid Joseph after the money arrived; Samuel was paid before it did
        assert set(second) == {"Joseph Otieno"}
        assert second["Joseph Otieno"]["amounts"] == {"USD": 4000.0}
        assert second["Joseph Otieno"]["from"] == [view.canonical("fiu-relative")]
        third = _hop(result, "forward", 3)
        assert third["Nyali Motors Ltd"]["amounts"] == {"KES": 3500000.0}
        assert result["datasets"] == ["fiu"] and result["marking"] == "RED"


def test_backward_trace_and_windows(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        result = money.follow(store, view, "fiu-official", direction="backward", hops=2)
        assert set(_hop(result, "backward", 1)) == {"Halima Otieno"}
        # only the front's payment made before Halima paid Joseph on 5 March can have funded it
        front = _hop(result, "backward", 2)["TSAVO CURIOS EXPORTS LIMITED"]
        assert front["amounts"] == {"USD": 5000.0} and front["payments"] == 1
        windowed = money.follow(store, view, "fiu-front", direction="forward", since=date(2023, 4, 1), hops=2)
        first = _hop(windowed, "forward", 1)["Halima Otieno"]
        assert first["amounts"] == {"USD": 2500.0}
        assert len(windowed["forward"]) == 1  # nothing left Halima after 10 April
        lagged = money.follow(store, view, "fiu-front", direction="forward", hops=3, max_lag=10)
        assert set(_hop(lagged, "forward", 2)) == {"Joseph Otieno"}
        assert len(lagged["forward"]) == 2  # Joseph paid on 20 March, 15 days after receiving: beyond the lag
        both = money.follow(store, view, "fiu-relative", direction="both", hops=1)
        assert set(_hop(both, "forward", 1)) == {"Joseph Otieno", "Samuel Kiptoo"}
        assert set(_hop(both, "backward", 1)) == {"TSAVO CURIOS EXPORTS LIMITED"}
        with pytest.raises(GraphError):
            money.follow(store, view, "fiu-front", hops=0)


def test_payments_are_invisible_without_the_fiu_data(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "customs") as (store, view):
        result = money.follow(store, view, "ngo-front", direction="both")
        assert result["forward"] == [] and result["backward"] == []
        assert result["datasets"] == []
