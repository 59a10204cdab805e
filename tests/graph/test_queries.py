"""Neighbourhoods and paths, per reader: merged identities, filters and evidence on each step."""

from __future__ import annotations

import json
from datetime import date

import pytest

from chainlight import pipeline
from chainlight.graph import queries
from chainlight.graph.view import EdgeFilter, GraphError, NotInGraph
from chainlight.settings import Settings


def _captions(result: dict[str, object]) -> set[str]:
    return {str(n["caption"]) for n in result["nodes"]}  # type: ignore[index, attr-defined]


def test_neighbours_cross_sources_through_merged_entities(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        result = queries.neighbours(store, view, "reg-front", hops=1)
        front = view.canonical("reg-front")
        assert result["entity"] == front == view.canonical("fiu-front") == view.canonical("ngo-front")
        assert {"Halima Otieno", "Lagoon Investments Ltd", "MEDU1000001", "MEDU1000077"} <= _captions(result)
        payments = [e for e in result["edges"] if e["relation"] == "Payment"]
        assert len(payments) == 2 and all(e["datasets"] == ["fiu"] and e["marking"] == "RED" for e in payments)
        assert sorted(e["amount"] for e in payments) == [2500.0, 5000.0]
        assert result["marking"] == "RED" and set(result["datasets"]) == {"fiu", "ngo", "registry"}
        node = next(n for n in result["nodes"] if n["id"] == front)
        assert node["entity_ids"] == ["fiu-front", "ngo-front", "reg-front"] and node["distance"] == 0


def test_the_same_question_from_a_reader_who_sees_only_the_registry(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "public") as (store, view):
        result = queries.neighbours(store, view, "reg-front", hops=3)
        body = json.dumps(result)
        for secret in ("fiu", "ngo", "Halima", "Otieno", "MEDU", "Payment"):
            assert secret not in body
        assert result["marking"] == "CLEAR"
        assert {"Coral Holdings Ltd", "Amani Juma Said", "Kilindini Freight Ltd"} <= _captions(result)
        with pytest.raises(NotInGraph):
            queries.neighbours(store, view, "fiu-front")


def test_hops_limits_and_filters(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        one = queries.neighbours(store, view, "reg-shell-one", hops=1)
        two = queries.neighbours(store, view, "reg-shell-one", hops=2)
        assert len(two["nodes"]) > len(one["nodes"])
        assert max(n["distance"] for n in two["nodes"]) == 2
        capped = queries.neighbours(store, view, "reg-front", hops=3, limit=4)
        assert capped["truncated"] and len(capped["nodes"]) == 4
        owners_only = queries.neighbours(store, view, "reg-front", hops=1, flt=EdgeFilter(relations=("Ownership",)))
        assert {e["relation"] for e in owners_only["edges"]} == {"Ownership"}
        later = queries.neighbours(store, view, "reg-front", hops=1,
                                   flt=EdgeFilter(relations=("Payment",), since=date(2023, 4, 1)))
        assert [e["amount"] for e in later["edges"]] == [2500.0]
        with pytest.raises(GraphError):
            queries.neighbours(store, view, "reg-front", hops=0)


def test_path_is_explained_edge_by_edge(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        result = queries.path(store, view, "reg-boss", "fiu-car-dealer", flt=EdgeFilter(exclude=("Associate",)))
        (found,) = result["paths"]
        labels = [s["relation"] for s in found["steps"]]
        assert labels[-1] == "Payment" and found["length"] == len(labels)
        at = view.canonical("reg-boss")
        for step in found["steps"]:  # consecutive steps join up, direction says which way the edge runs
            assert at == (step["source"] if step["direction"] == "forward" else step["target"])
            at = step["target"] if step["direction"] == "forward" else step["source"]
            assert step["evidence"]["entity_id"] and step["datasets"] and step["label"]
        assert at == view.canonical("fiu-car-dealer")
        assert found["marking"] == "RED" and "fiu" in found["datasets"]
        several = queries.path(store, view, "reg-boss", "fiu-official", paths=3)
        assert len(several["paths"]) >= 2
        assert [p["length"] for p in several["paths"]] == sorted(p["length"] for p in several["paths"])


def test_no_path_without_the_evidence_that_makes_it(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "customs") as (store, view):
        # the customs reader sees the NGO's association but not the FIU's payments
        result = queries.path(store, view, "reg-boss", "ngo-official")
        assert [s["relation"] for s in result["paths"][0]["steps"]] == ["Associate"]
        assert result["marking"] == "AMBER"
        unrelated = queries.path(store, view, "reg-loop-owner", "ngo-official")
        assert unrelated["paths"] == []
        with pytest.raises(NotInGraph):
            queries.path(store, view, "reg-boss", "fiu-official")


def test_bidirectional_search_finds_paths_as_short_as_igraph(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (_, view):
        n = view.vertex_count
        lengths = view.igraph(EdgeFilter())[0].distances(mode="all")
        checked = 0
        for a in range(n):
            for b in range(n):
                found = queries.shortest_paths(view, a, b)
                if a == b or lengths[a][b] == float("inf"):
                    assert found == []
                    continue
                (edges,) = found
                assert len(edges) == lengths[a][b]
                at = a  # the edges chain from a to b
                for e in edges:
                    ends = (int(view.source[e]), int(view.target[e]))
                    assert at in ends
                    at = ends[1] if ends[0] == at else ends[0]
                assert at == b
                checked += 1
        assert checked > 50


def test_community_labels_repeat_in_any_thread(graph_pool: Settings) -> None:
    """igraph keeps a random number generator per thread; the web app answers in worker threads."""
    import threading

    from chainlight.graph import communities

    with pipeline.graph_session(graph_pool, "fiu") as (_, view):
        flt = EdgeFilter(exclude=communities.DEFAULT_EXCLUDE)
        expected = communities.partition(view, flt)[1]
        found: list[list[int]] = []
        threads = [threading.Thread(target=lambda: found.append(communities.partition(view, flt)[1]))
                   for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(found) == 6 and all(labels == expected for labels in found)
