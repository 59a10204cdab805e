"""Trying to leak: every query, for every entity a reader can name, must keep to the datasets
the reader may see, and every derived result must carry the datasets of its evidence."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chainlight import pipeline
from chainlight.graph import money, ownership, queries, seizures
from chainlight.graph.view import NotInGraph
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from tests.graph.conftest import SOURCES

VISIBLE = {"public": {"registry"}, "customs": {"registry", "ngo"}, "fiu": {"registry", "ngo", "fiu"}}


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


def _datasets_fields(value: Any) -> set[str]:
    """Every dataset named in a ``datasets`` field anywhere in a result."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("datasets", "datasets_of_chain"):
                found.update(item)
            else:
                found |= _datasets_fields(item)
    elif isinstance(value, list):
        for item in value:
            found |= _datasets_fields(item)
    return found


@pytest.mark.parametrize("reader", ["public", "customs", "fiu"])
def test_no_query_names_what_the_reader_cannot_see(graph_pool: Settings, reader: str) -> None:
    visible = VISIBLE[reader]
    with EvidenceStore(graph_pool.evidence_path, read_only=True) as store:
        rows = store.fetchall("SELECT DISTINCT entity_id, dataset FROM statements")
        captions = store.fetchall("SELECT DISTINCT value, dataset FROM statements WHERE prop_type = 'name'")
    by_entity: dict[str, set[str]] = {}
    for entity, dataset in rows:
        by_entity.setdefault(entity, set()).add(dataset)
    hidden_ids = {e for e, ds in by_entity.items() if not ds & visible}
    seen_names = {v for v, d in captions if d in visible}
    hidden_names = {v for v, d in captions if d not in visible} - seen_names
    assert reader == "fiu" or (hidden_ids and hidden_names)
    results: list[Any] = []
    with pipeline.graph_session(graph_pool, reader) as (store, view):
        for entity in sorted(by_entity):
            if entity in hidden_ids:
                for ask in (lambda e: queries.neighbours(store, view, e),
                            lambda e: ownership.ultimate_owners(store, view, e),
                            lambda e: money.follow(store, view, e)):
                    with pytest.raises(NotInGraph):
                        ask(entity)
                continue
            results.append(queries.neighbours(store, view, entity, hops=3))
            results.append(ownership.ultimate_owners(store, view, entity))
            results.append(money.follow(store, view, entity, direction="both"))
            results.append(queries.path(store, view, entity, "reg-front", paths=3))
        results.append(seizures.dna_clusters(store, view))
        results.append(ownership.circular_ownership(store, view))
    strings = _strings(results)
    assert not strings & hidden_ids, sorted(strings & hidden_ids)[:5]
    assert not strings & hidden_names, sorted(strings & hidden_names)[:5]
    assert _datasets_fields(results) <= visible
    if reader == "fiu":
        assert _datasets_fields(results) == set(SOURCES)


def test_derived_results_carry_the_strictest_marking_of_their_evidence(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        result = queries.path(store, view, "reg-boss", "fiu-car-dealer", paths=3)
        for found in result["paths"]:
            datasets = {d for step in found["steps"] for d in step["datasets"]}
            datasets |= {d for step in found["steps"] for other in step["parallel"] for d in other["datasets"]}
            assert set(found["datasets"]) == datasets
            expected = "RED" if "fiu" in datasets else "AMBER" if "ngo" in datasets else "CLEAR"
            assert found["marking"] == expected
        assert json.dumps(result).count('"marking": "RED"') >= 1
