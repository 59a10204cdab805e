"""Clustering as pure functions: identifiers that disagree keep entities apart, judgements
win, canonical ids stay put."""

from __future__ import annotations

from chainlight.resolve.clusters import Graph, assign_ids, components, view_ids


def graph(edges: list[tuple[str, str, float]], **extra: object) -> Graph:
    entities = sorted({e for a, b, _ in edges for e in (a, b)})
    g = Graph(entities=entities, groups=dict.fromkeys(entities, "organisation"), edges=edges)
    for key, value in extra.items():
        setattr(g, key, value)
    return g


def test_a_record_without_an_identifier_cannot_bridge_two_that_disagree() -> None:
    # two registered companies of one name, and a customs mention of that name linked to both
    g = graph(
        [("registry-a", "customs-x", 0.95), ("customs-x", "registry-b", 0.8)],
        unique_ids={
            "registry-a": {"registrationNumber/ke": {"KE1"}},
            "registry-b": {"registrationNumber/ke": {"KE2"}},
        },
    )
    label = components(g)
    assert label["registry-a"] != label["registry-b"]
    assert label["customs-x"] == label["registry-a"]  # the stronger link wins
    assert g.id_conflicts == [("registry-a", "registry-b")]


def test_the_same_number_in_another_jurisdiction_is_no_conflict() -> None:
    g = graph(
        [("a", "b", 0.9)],
        unique_ids={"a": {"registrationNumber/ke": {"1"}}, "b": {"registrationNumber/hk": {"2"}}},
    )
    label = components(g)
    assert label["a"] == label["b"]


def test_a_person_judging_same_overrides_disagreeing_identifiers() -> None:
    g = graph(
        [("a", "b", 0.9)],
        unique_ids={"a": {"imoNumber": {"9321483"}}, "b": {"imoNumber": {"9074729"}}},
        same=[("a", "b")],
    )
    g.edges = []  # a judged pair is decided by the judgement, not the model
    label = components(g)
    assert label["a"] == label["b"]


def test_judged_different_splits_and_transitivity_holds() -> None:
    g = graph([("a", "b", 0.99), ("b", "c", 0.9), ("c", "d", 0.95)], different=[("a", "d")])
    label = components(g)
    assert label["a"] == label["b"]
    assert label["a"] != label["d"]
    assert label["c"] == label["d"]  # c-d (0.95) is stronger than b-c (0.9)


def test_canonical_ids_survive_growth_and_splits() -> None:
    first = assign_ids({"a": 1, "b": 1, "c": 2}, {})
    assert first["a"] == first["b"] != "a" and first["c"] == "c"
    grown = assign_ids({"a": 1, "b": 1, "c": 1, "d": 1}, first)
    assert grown["d"] == first["a"]
    split = assign_ids({"a": 1, "b": 2, "c": 2, "d": 2}, grown)
    assert split["b"] == first["a"]  # the part with most former members keeps the id
    assert split["a"] == "a"


def test_a_partial_view_gets_its_own_id() -> None:
    global_ids = {"a": "nk-1", "b": "nk-1", "c": "nk-1"}
    assert view_ids({"a": 0, "b": 0, "c": 0}, global_ids)["a"] == "nk-1"
    partial = view_ids({"a": 0, "b": 0}, global_ids)
    assert partial["a"] == partial["b"] != "nk-1"
