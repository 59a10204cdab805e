"""Communities as syndicate candidates, on a small synthetic world with planted syndicates."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest
from rich.console import Console

from chainlight import pipeline
from chainlight.demo.load import load_world
from chainlight.demo.world import generate_world
from chainlight.graph import communities
from chainlight.graph.view import EdgeFilter
from chainlight.settings import Settings

QUIET = Console(quiet=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, object]]:
    tmp = tmp_path_factory.mktemp("world")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    generate_world(tmp / "world", scale=1, seed=7, console=QUIET, _units=0.1)
    load_world(settings, tmp / "world", seed=7, console=QUIET)
    pipeline.graph_build(settings)
    truth = json.loads((tmp / "world" / "truth.json").read_text())
    return settings, truth


def _members(truth: dict[str, object]) -> list[tuple[str, list[set[str]]]]:
    """Per planted syndicate: for each of its actors, the entity ids it appears under."""
    entities: dict[str, set[str]] = defaultdict(set)
    for m in truth["mentions"]:  # type: ignore[attr-defined]
        entities[m["actor"]].add(m["entity_id"])
    out = []
    for s in truth["patterns"]["syndicate"]:  # type: ignore[index]
        keys = dict.fromkeys([s["boss"], *s["members"], *s["exporters"], *s["importers"], *s["shells"],
                              *s["officials"], *s["relatives"]])
        out.append((s["syndicate"], [entities[k] for k in keys]))
    return out


def test_planted_syndicates_fall_into_one_community(world: tuple[Settings, dict[str, object]]) -> None:
    settings, truth = world
    planted = _members(truth)
    assert len(planted) >= 2
    # the FIU (which also sits in the task force) sees the payments, the registry and the NGO's work
    with pipeline.graph_session(settings, "fiu") as (_, view):
        _, labels = communities.partition(view, EdgeFilter(exclude=communities.DEFAULT_EXCLUDE))
        sizes = Counter(labels)
        for name, actors in planted:
            found: Counter[int] = Counter()
            for ids in actors:
                found.update({labels[v] for v in (view.vertex(e) for e in ids) if v is not None})
            label, held = found.most_common(1)[0]
            assert held / len(actors) >= 0.9, (name, held, len(actors))
            assert sizes[label] < 0.25 * len(labels), "a community that swallows the graph recovers nothing"


def test_community_report_has_brokers_and_markings(world: tuple[Settings, dict[str, object]]) -> None:
    settings, truth = world
    boss = truth["patterns"]["syndicate"][0]["boss"]  # type: ignore[index]
    with pipeline.graph_session(settings, "fiu") as (store, view):
        report = communities.communities(store, view, limit=50, members=1000)
        again = communities.communities(store, view, limit=50, members=1000)
        assert [c["id"] for c in report["communities"]] == [c["id"] for c in again["communities"]]
        boss_ids = {view.canonical(m["entity_id"]) for m in truth["mentions"] if m["actor"] == boss}  # type: ignore[attr-defined]
        home = next(c for c in report["communities"] if boss_ids & {m["id"] for m in c["members"]})
        assert home["brokers"] and home["brokers"][0]["betweenness"] > 0
        assert "fiu-goaml" in home["datasets"] and home["marking"] == "RED"
        assert report["total"] >= len(report["communities"])
    with pipeline.graph_session(settings, "local") as (store, view):
        report = communities.communities(store, view, limit=50, members=1000)
        assert all(c["marking"] != "RED" and "fiu-goaml" not in c["datasets"] for c in report["communities"])
        body = json.dumps(report)
        assert "fiu-goaml" not in body
        fiu_only = {m["entity_id"] for m in truth["mentions"] if m["dataset"] == "fiu-goaml"}  # type: ignore[attr-defined]
        assert not any(entity in body for entity in fiu_only)
