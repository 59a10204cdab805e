"""The network explorer page and its twin, on the graph tests' pool (three readers).

``fiu`` sees the registry, its RED payments and the NGO's AMBER investigation; ``customs``
the registry and the NGO's; ``public`` the registry alone. The explorer itself draws from the
graph API (tested in ``test_graph_api.py``); here: the relations each reader is offered, the
start entity, hidden-as-missing, and the page's elements.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.web import vendor
from chainlight.web.access import PURPOSE_HEADER
from chainlight.web.app import create_app
from tests.graph.conftest import load_graph_pool

READERS = ("fiu", "customs", "public")
#: What only the FIU's and the NGO's datasets hold, as the explorer would name it.
HIDDEN_FROM_PUBLIC = ("fiu", "ngo", "Payment", "Family", "Associate", "Halima", "RED", "AMBER")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp: Path = tmp_path_factory.mktemp("network")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    load_graph_pool(settings)
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    """A client per reader; the FIU's gives a purpose with every request, ``fiu-bare`` gives none."""
    with ExitStack() as stack:
        found = {org: stack.enter_context(TestClient(create_app(pool, org))) for org in READERS}
        found["fiu"].headers[PURPOSE_HEADER] = "network tests"
        found["fiu-bare"] = stack.enter_context(TestClient(create_app(pool, "fiu")))
        yield found


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_reader_is_offered_the_relations_of_its_own_graph(clients: dict[str, TestClient]) -> None:
    offered = {}
    for org in READERS:
        body = get(clients[org], "/network.json")
        assert body["built"] is True and body["entity"] is None
        assert (body["neighbours_url"], body["path_url"]) == ("/api/graph/neighbours/{id}", "/api/graph/path")
        assert all(r["edges"] > 0 and r["label"] for r in body["relations"])
        assert [r["name"] for r in body["relations"]] == sorted(r["name"] for r in body["relations"])
        offered[org] = {r["name"]: r["edges"] for r in body["relations"]}
    assert "Payment" in offered["fiu"] and "Payment" not in offered["customs"]
    assert {"Family", "Associate"} <= set(offered["customs"])
    assert not {"Payment", "Family", "Associate"} & set(offered["public"])
    assert "Ownership" in offered["public"]
    assert offered["public"]["Ownership"] <= offered["customs"]["Ownership"] <= offered["fiu"]["Ownership"]
    graph = get(clients["public"], "/api/graph/neighbours/reg-front", hops=6, limit=10000)
    assert {e["relation"] for e in graph["edges"]} <= set(offered["public"])


def test_the_start_entity_is_named_from_the_readers_datasets(clients: dict[str, TestClient]) -> None:
    public = get(clients["public"], "/network.json", entity="reg-front")["entity"]
    assert public == {
        "id": "reg-front", "schema": "Company", "caption": public["caption"], "country": public["country"],
        "entity_ids": ["reg-front"], "datasets": ["registry"], "marking": "CLEAR",
    }
    assert public["caption"]
    fiu = get(clients["fiu"], "/network.json", entity="fiu-front")["entity"]
    assert set(fiu["entity_ids"]) == {"reg-front", "fiu-front", "ngo-front"}
    assert (fiu["datasets"], fiu["marking"]) == (["fiu", "ngo", "registry"], "RED")
    neighbours = get(clients["fiu"], "/api/graph/neighbours/fiu-front")
    assert fiu["id"] == neighbours["entity"]


@pytest.mark.parametrize("path", ["/network.json", "/network"])
def test_a_hidden_entity_answers_exactly_like_a_missing_one(clients: dict[str, TestClient], path: str) -> None:
    hidden = clients["public"].get(path, params={"entity": "fiu-official"})
    missing = clients["public"].get(path, params={"entity": "nobody-at-all"})
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace("fiu-official", "X") == missing.text.replace("nobody-at-all", "X")
    assert clients["fiu"].get(path, params={"entity": "fiu-official"}).status_code == 200


def test_the_page_has_the_canvas_the_controls_and_the_scripts(clients: dict[str, TestClient]) -> None:
    response = clients["customs"].get("/network", params={"entity": "reg-front"})
    assert response.status_code == 200
    html = response.text
    for element in ('id="network"', 'id="network-start"', 'id="network-search"', 'id="network-panel"',
                    'id="network-details"', 'id="network-path-form"', 'id="network-relations"',
                    'id="network-legend"', 'id="network-status"', 'id="network-purpose"',
                    'id="network-purpose-input"'):
        assert element in html
    assert 'data-json="/network.json?entity=reg-front"' in html
    assert '<script src="/vendor/cytoscape.min.js" defer></script>' in html
    assert '<script src="/static/js/network.js" defer></script>' in html
    start = get(clients["customs"], "/network.json", entity="reg-front")["entity"]
    assert set(start["entity_ids"]) == {"reg-front", "ngo-front"}  # merged, named by its canonical id
    assert f'<a href="/entities/{quote(start["id"])}">{start["caption"]}</a>' in html
    for relation in get(clients["customs"], "/network.json")["relations"]:
        assert f'name="relation" value="{relation["name"]}" checked' in html
    assert "<noscript>" in html and f'href="/api/graph/neighbours/{quote(start["id"])}?hops=1"' in html
    assert "<script>" not in html and "style=" not in html


def test_the_public_page_names_nothing_of_the_hidden_datasets(clients: dict[str, TestClient]) -> None:
    for body in (clients["public"].get("/network", params={"entity": "reg-front"}).text,
                 clients["public"].get("/network.json", params={"entity": "reg-front"}).text):
        for secret in HIDDEN_FROM_PUBLIC:
            assert secret not in body, secret


def test_bad_parameters_answer_422(clients: dict[str, TestClient]) -> None:
    for params in ({"entity": ""}, {"entity": "x" * 401}):
        response = clients["public"].get("/network.json", params=params)
        assert response.status_code == 422 and response.json()["status"] == 422


def test_before_the_graph_is_built_the_page_says_so(tmp_path: Path) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    with TestClient(create_app(settings, "local")) as client:
        assert get(client, "/network.json", entity="anything") == {
            "built": False, "relations": [], "entity": None, "neighbours_url": "/api/graph/neighbours/{id}",
            "path_url": "/api/graph/path",
        }
        page = client.get("/network")
        assert page.status_code == 200
        assert 'id="network-unbuilt"' in page.text and "chainlight graph build" in page.text
        assert "cytoscape" not in page.text


def test_without_cytoscape_the_page_says_how_to_install_it(
    clients: dict[str, TestClient], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(vendor.ENVIRONMENT, str(tmp_path))
    html = clients["public"].get("/network").text
    assert 'id="network-missing"' in html and "run <code>scripts/setup</code>" in html
    assert "/vendor/cytoscape.min.js" not in html
    assert 'data-missing="cytoscape"' in html


def test_only_the_twin_is_in_the_api_schema(clients: dict[str, TestClient]) -> None:
    paths = clients["public"].get("/openapi.json").json()["paths"]
    assert "/network.json" in paths and "/network" not in paths
    responses = paths["/network.json"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/NetworkExplorer")
    assert {"404", "422", "428", "503"} <= set(responses)


def test_a_red_start_entity_asks_for_a_purpose_first_and_the_read_is_logged(clients: dict[str, TestClient]) -> None:
    bare = clients["fiu-bare"]
    given = get(bare, "/network.json", entity="fiu-front", purpose="case 9")["entity"]
    assert given["marking"] == "RED" and given["caption"]
    refused = bare.get("/network.json", params={"entity": "fiu-front"})
    assert (refused.status_code, refused.headers["content-type"]) == (428, "application/json")
    assert given["caption"] not in refused.text and "ngo" not in refused.text
    page = bare.get("/network", params={"entity": "fiu-front"})
    assert page.status_code == 428 and given["caption"] not in page.text
    assert 'name="purpose"' in page.text and '<input type="hidden" name="entity" value="fiu-front">' in page.text
    shown = bare.get("/network", params={"entity": "fiu-front", "purpose": "case  10"})
    assert shown.status_code == 200 and given["caption"] in shown.text
    assert 'data-purpose="case 10"' in shown.text  # the script sends it with every call
    assert '<input type="hidden" name="purpose" value="case 10">' in shown.text  # and the start form keeps it
    store = bare.app.state.services.operational  # type: ignore[attr-defined]
    entries = access_log.recent(store, organisation="fiu", action="network.start", limit=5)
    assert [(e.target, e.marking, e.purpose) for e in entries[:2]] == [(given["id"], "RED", "case 10"),
                                                                        (given["id"], "RED", "case 9")]
    # existence first: a missing entity is a 404 with or without a purpose
    assert bare.get("/network.json", params={"entity": "nobody-at-all"}).status_code == 404
    # a start entity that is not RED needs none, and without one nothing is logged
    before = len(access_log.recent(store, organisation="customs", limit=1000))
    assert clients["customs"].get("/network", params={"entity": "reg-front"}).status_code == 200
    assert len(access_log.recent(store, organisation="customs", limit=1000)) == before
