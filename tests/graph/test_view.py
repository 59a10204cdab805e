"""A reader's view leaves out owner-only records (incident reports) of datasets its organisation
does not own: not among a port's neighbours, on no path, not in an export, and asking for one is
the same as asking for an entity that does not exist. The owner's view keeps them."""

from __future__ import annotations

import pytest

from chainlight import pipeline
from chainlight.graph import communities, describe, export, queries
from chainlight.graph.view import EdgeFilter, NotInGraph
from chainlight.settings import Settings
from tests.support import incident_world as world


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return world.load(tmp_path_factory.mktemp("incident-graph"))


def _neighbour_ids(settings: Settings, organisation: str) -> set[str]:
    with pipeline.graph_session(settings, organisation) as (store, view):
        found = queries.neighbours(store, view, world.PORT, hops=2)
    return {n["id"] for n in found["nodes"]}


def test_a_ports_neighbours_hold_only_the_readers_own_incidents(pool: Settings) -> None:
    incidents = set(world.incident_ids(pool))
    assert len(incidents) == 2
    as_reader = _neighbour_ids(pool, world.READER)
    as_owner = _neighbour_ids(pool, world.OWNER)
    assert not as_reader & incidents
    assert incidents <= as_owner
    assert as_owner - incidents == as_reader  # the rest of the graph is the same for both


def test_another_organisations_incident_is_not_in_the_graph(pool: Settings) -> None:
    incident = world.incident_ids(pool)[0]
    with pipeline.graph_session(pool, world.READER) as (store, view):
        assert "Incident" not in view.schemata
        assert not any(r.startswith("Incident:") for r in view.relations)
        with pytest.raises(NotInGraph):
            describe.vertex_of(store, view, incident)
        with pytest.raises(NotInGraph):
            export.around(store, view, world.PORT, "ftm", to=incident)
        exported = export.around(store, view, world.PORT, "ftm", hops=2).decode()
        assert incident not in exported and world.TELLING_ITEM not in exported
        found = communities.communities(store, view, flt=EdgeFilter(), min_size=1)
        assert incident not in str(found)


def test_the_owner_walks_from_its_incident_to_the_port_and_beyond(pool: Settings) -> None:
    incident = world.incident_ids(pool)[0]
    with pipeline.graph_session(pool, world.OWNER) as (store, view):
        start = describe.vertex_of(store, view, incident)
        port = describe.vertex_of(store, view, world.PORT)
        assert start is not None and port is not None
        assert queries.shortest_paths(view, start, port)
        exported = export.around(store, view, world.PORT, "ftm", hops=1).decode()
        assert incident in exported
