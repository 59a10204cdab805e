"""Trying to leak incident reports (an owner-only schema) through search, entity profiles and the
network explorer: ``customs`` sees the GREEN ``macn-incidents`` dataset of ``shipowners`` but
must never read one of its reports individually; ``shipowners`` reads its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight.settings import Settings
from chainlight.web.app import create_app
from tests.support import incident_world as world


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return world.load(tmp_path_factory.mktemp("incidents"))


@pytest.fixture(scope="module")
def incidents(pool: Settings) -> list[str]:
    found = world.incident_ids(pool)
    assert len(found) == 2
    return found


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in (world.OWNER, world.READER)}


def _search(client: TestClient, **params: str | int) -> dict[str, Any]:
    response = client.get("/search.json", params={"limit": 100, **params})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _facet(body: dict[str, Any], name: str) -> dict[str, int]:
    return {f["value"]: f["count"] for f in body["facets"][name]}


def test_another_organisations_incidents_are_not_in_search_hits_or_facets(
    clients: dict[str, TestClient], incidents: list[str]
) -> None:
    reader = clients[world.READER]
    for params in ({}, {"q": "vessel-clearance"}, {"q": world.TELLING_ITEM}, {"schema": "Incident"},
                   {"dataset": world.INCIDENTS}, {"q": "physical inspection"}):
        body = _search(reader, **params)
        text = str(body)
        assert all(i not in text for i in incidents), params
        assert _facet(body, "schema").get("Incident", 0) == 0  # a selected filter is echoed with 0, as an unknown one
    browse = _search(reader)
    assert browse["total"] == len(browse["hits"])
    # The GREEN dataset's shared records (the port it names) are found; its reports are not counted.
    assert _facet(browse, "dataset")[world.INCIDENTS] == 1
    assert _search(reader, schema="Incident")["total"] == 0
    page = reader.get("/search", params={"q": "vessel-clearance"}).text
    assert all(i not in page for i in incidents)


def test_the_owner_finds_its_own_incidents(clients: dict[str, TestClient], incidents: list[str]) -> None:
    owner = clients[world.OWNER]
    body = _search(owner, schema="Incident")
    assert sorted(h["entity_id"] for h in body["hits"]) == incidents
    assert _facet(body, "schema") == {"Incident": 2}
    assert _facet(body, "dataset") == {world.INCIDENTS: 2}
    assert _facet(_search(owner), "dataset")[world.INCIDENTS] == 3  # two reports and the port
    assert _search(owner, q="vessel-clearance")["total"] == 1


def test_another_organisations_incident_profile_is_a_missing_one(
    clients: dict[str, TestClient], incidents: list[str]
) -> None:
    reader = clients[world.READER]
    for suffix in (".json", ""):
        unknown = reader.get(f"/entities/no-such-entity{suffix}")
        assert unknown.status_code == 404
        for incident in incidents:
            hidden = reader.get(f"/entities/{incident}{suffix}")
            assert hidden.status_code == 404
            assert hidden.text.replace(incident, "no-such-entity") == unknown.text
            assert hidden.headers.get("content-type") == unknown.headers.get("content-type")


def test_a_port_profile_lists_only_the_readers_own_incidents(
    clients: dict[str, TestClient], incidents: list[str]
) -> None:
    seen = clients[world.READER].get(f"/entities/{world.PORT}.json")
    assert seen.status_code == 200
    assert all(i not in seen.text for i in incidents)
    assert world.TELLING_ITEM not in seen.text and "2024-03-19" not in seen.text
    assert all(r["other"]["schema"] != "Incident" for r in seen.json()["relations"])
    page = clients[world.READER].get(f"/entities/{world.PORT}").text
    assert all(i not in page for i in incidents) and world.TELLING_ITEM not in page

    own = clients[world.OWNER].get(f"/entities/{world.PORT}.json").json()
    assert sorted(r["other"]["entity_id"] for r in own["relations"] if r["other"]["schema"] == "Incident") == incidents
    assert "2024-03-19" in {e["date"] for e in own["timeline"]}
    profile = clients[world.OWNER].get(f"/entities/{incidents[0]}.json")
    assert profile.status_code == 200 and profile.json()["schema"] == "Incident"


def test_the_network_explorer_does_not_start_from_another_organisations_incident(
    clients: dict[str, TestClient], incidents: list[str]
) -> None:
    reader = clients[world.READER]
    unknown = reader.get("/network.json", params={"entity": "no-such-entity"})
    assert unknown.status_code == 404
    for incident in incidents:
        hidden = reader.get("/network.json", params={"entity": incident})
        assert hidden.status_code == 404
        assert hidden.text.replace(incident, "no-such-entity") == unknown.text
    assert clients[world.OWNER].get("/network.json", params={"entity": incidents[0]}).status_code == 200
