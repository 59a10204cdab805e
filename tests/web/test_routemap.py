"""The route map page and its JSON twin answer each organisation from the rows it may see.

The world is the map tests' (:mod:`tests.maps.conftest`): GREEN trade and shipments, AMBER
trade shared with a sharing group, and a RED owner's trade rows, seizure and transit, which
must never reach a count, a total, a place or a table of anyone else.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.maps.flows import MapFilter, route_map
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.store.evidence import EvidenceStore
from chainlight.web import routemap
from chainlight.web.access import PURPOSE_HEADER
from chainlight.web.app import create_app
from chainlight.web.map_payloads import RouteMap
from tests.maps.conftest import ELEPHANT, HEADER, RED_ONLY, REGISTRATION, VISIBLE, map_world

__all__ = ["map_world"]  # the fixture, shared with tests/maps

READERS = tuple(VISIBLE)


@pytest.fixture(scope="module")
def clients(map_world: Settings) -> Iterator[dict[str, TestClient]]:
    """A client per reader; the RED owner's gives a purpose with every request, ``wildlife-tz-bare`` none."""
    with ExitStack() as stack:
        found = {org: stack.enter_context(TestClient(create_app(map_world, org))) for org in READERS}
        found["wildlife-tz"].headers[PURPOSE_HEADER] = "route map tests"
        found["wildlife-tz-bare"] = stack.enter_context(TestClient(create_app(map_world, "wildlife-tz")))
        yield found


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def flow(body: dict[str, Any], kind: str, *stops: str) -> dict[str, Any]:
    found = [f for f in body["flows"] if f["kind"] == kind and f["stops"] == list(stops)]
    assert len(found) == 1, [f["stops"] for f in body["flows"]]
    return found[0]


@pytest.mark.parametrize(
    ("org", "quantity", "datasets", "marking", "total"),
    [
        ("ngo-x", 15, ["trade-green"], "GREEN", 96),
        ("customs-ke", 22, ["trade-amber", "trade-green"], "AMBER", 103),
        ("wildlife-tz", 1022, ["trade-amber", "trade-green", "trade-red"], "RED", 1979),
    ],
)
def test_each_reader_gets_the_flows_of_its_datasets(
    clients: dict[str, TestClient], org: str, quantity: float, datasets: list[str], marking: str, total: float
) -> None:
    body = get(clients[org], "/map.json")
    kenya_china = flow(body, "trade", "country:KE", "country:CN")
    assert (kenya_china["quantity"], kenya_china["datasets"], kenya_china["marking"]) == (quantity, datasets, marking)
    assert body["quantity"] == total
    assert body["marking"] == ("AMBER" if org == "customs-ke" else marking)
    assert set(body["datasets"]) <= VISIBLE[org]
    assert body["filters"] == {"kinds": ["trade", "shipments", "seizures"], "taxon": None, "term": None,
                               "year_from": None, "year_to": None, "datasets": [], "source": None,
                               "reporter": "all", "unit": None, "limit": 100}


def test_the_api_gives_exactly_what_the_maps_package_computes(
    clients: dict[str, TestClient], map_world: Settings
) -> None:
    markings = {name: marking for name, (_, marking, _) in REGISTRATION.items()}
    for org in READERS:
        visible = sorted(VISIBLE[org])
        body = get(clients[org], "/map.json", taxon="Loxodonta", year_from=2019)
        with EvidenceStore(map_world.evidence_path, read_only=True) as store:
            found = route_map(store, visible, markings, MapFilter.parse(visible=visible, taxon="Loxodonta",
                                                                        year_from=2019))
        assert body["flows"], org
        assert RouteMap.model_validate(body) == RouteMap.model_validate(
            {**dataclasses.asdict(found), "filters": body["filters"]})


@pytest.mark.parametrize("org", ["ngo-x", "customs-ke"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"taxon": "Loxodonta africana"},
        {"kind": "seizures"},
        {"kind": "shipments", "term": "TUS"},
        {"year_from": 2020, "year_to": 2021},
        {"unit": "number", "limit": 2000},
    ],
)
def test_red_rows_never_reach_another_organisation(
    clients: dict[str, TestClient], org: str, params: dict[str, Any]
) -> None:
    client = clients[org]
    json_body = client.get("/map.json", params=params)
    page = client.get("/map", params=params)
    home = client.get("/")
    for response in (json_body, page, home):
        assert response.status_code == 200
        for secret in RED_ONLY:
            assert secret not in response.text, (secret, response.request.url)
    body = json_body.json()
    assert all(f["marking"] != "RED" and "trade-red" not in f["datasets"] for f in body["flows"])
    assert all(p["seizures"] <= 1 for p in body["places"])
    assert sum(p["seizures"] for p in body["seizures"]) <= 1


def test_naming_a_hidden_dataset_answers_like_naming_a_missing_one(clients: dict[str, TestClient]) -> None:
    hidden = clients["ngo-x"].get("/map.json", params={"dataset": "trade-red"})
    missing = clients["ngo-x"].get("/map.json", params={"dataset": "trade-xyz"})
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json()["error"].replace("trade-red", "X") == missing.json()["error"].replace("trade-xyz", "X")
    assert dict(hidden.headers).keys() == dict(missing.headers).keys()
    # The owner may ask for it, and gets its rows alone.
    body = get(clients["wildlife-tz"], "/map.json", dataset="trade-red")
    assert {tuple(f["stops"]) for f in body["flows"]} == {("country:KE", "country:CN"), ("country:MZ", "country:HK")}
    assert body["datasets"] == ["trade-red"] and body["marking"] == "RED"


@pytest.mark.parametrize(
    "params",
    [
        {"term": "wings"},
        {"unit": "furlongs"},
        {"source": "Q"},
        {"kind": "rumours"},
        {"reporter": "X"},
        {"year_from": 1800},
        {"year_to": 2200},
        {"year_from": "soon"},
        {"year_from": 2021, "year_to": 2020},
        {"limit": 0},
        {"limit": 100000},
        {"taxon": "x" * 201},
        {"dataset": "no-such"},
    ],
)
def test_bad_filters_answer_422(clients: dict[str, TestClient], params: dict[str, Any]) -> None:
    response = clients["ngo-x"].get("/map.json", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["status"] == 422 and response.json()["incident"] is None
    page = clients["ngo-x"].get("/map", params=params)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "Traceback" not in page.text


def test_empty_form_fields_are_no_filter(clients: dict[str, TestClient]) -> None:
    params = {"taxon": "", "term": "", "year_from": "", "year_to": "", "source": "", "unit": ""}
    assert get(clients["ngo-x"], "/map.json", **params) == get(clients["ngo-x"], "/map.json")


def test_the_page_lists_the_flows_and_loads_the_map_scripts(clients: dict[str, TestClient]) -> None:
    response = clients["ngo-x"].get("/map", params={"taxon": "Loxodonta"})
    assert response.status_code == 200
    html = response.text
    for element in ('id="map"', 'id="map-filters"', 'id="flows-table"', 'id="seizures-table"', 'id="map-legend"',
                    'id="map-tooltip"', 'id="map-summary"'):
        assert element in html
    assert 'data-json="/map.json?taxon=Loxodonta"' in html
    assert '<link rel="alternate" type="application/json" href="/map.json?taxon=Loxodonta">' in html
    for script in ("/vendor/d3.min.js", "/vendor/topojson-client.min.js", "/static/js/routemap.js"):
        assert f'<script src="{script}" defer></script>' in html
    rows = re.findall(r'<tr data-flow="[0-9a-f]{16}">(.*?)</tr>', html, re.S)
    assert len(rows) == 4
    assert "Mombasa → Mina Jabal Ali → Hong Kong" in html
    assert "Uganda → Mombasa → Mina Raysut → Keppel - (East Singapore) → Nha Trang" in html
    assert '<span class="tlp tlp-green">TLP:GREEN</span>' in html
    assert 'value="Loxodonta"' in html and "<script>" not in html and "style=" not in html


def test_the_page_says_when_nothing_matches(clients: dict[str, TestClient]) -> None:
    html = clients["ngo-x"].get("/map", params={"taxon": "Homo sapiens"}).text
    assert "No flow matches these filters in the datasets you may see." in html
    assert "No seizure matches these filters in the datasets you may see." in html


def test_the_home_page_has_the_small_map(clients: dict[str, TestClient]) -> None:
    html = clients["ngo-x"].get("/").text
    assert 'id="home-map"' in html and 'data-json="/map.json?limit=40"' in html and 'data-mode="small"' in html
    assert '<script src="/static/js/routemap.js" defer></script>' in html


def test_the_map_scripts_are_served(clients: dict[str, TestClient]) -> None:
    script = clients["ngo-x"].get("/static/js/routemap.js")
    assert script.status_code == 200 and "d3.geoNaturalEarth1" in script.text


def test_only_the_twin_is_in_the_api_schema(clients: dict[str, TestClient]) -> None:
    schema = clients["ngo-x"].get("/openapi.json").json()
    assert "/map.json" in schema["paths"] and "/map" not in schema["paths"]
    operation = schema["paths"]["/map.json"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/RouteMap")
    assert {"422", "428", "503"} <= set(operation["responses"])
    names = {p["name"] for p in operation["parameters"]}
    assert names == {"kind", "taxon", "term", "year_from", "year_to", "dataset", "source", "reporter", "unit", "limit"}


def test_an_answer_is_kept_until_the_evidence_changes(map_world: Settings, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(map_world.home, home)
    settings = Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")
    with TestClient(create_app(settings, "ngo-x")) as client:
        first = get(client, "/map.json", kind="trade")
        key_count = len(routemap.CACHE)
        assert get(client, "/map.json", kind="trade") == first
        assert len(routemap.CACHE) == key_count  # answered from the cache
        path = tmp_path / "more.csv"
        path.write_text(f"{HEADER}\n9,2022,I,{ELEPHANT},TUS,4,,CN,KE,,T,W,E,,z9,\n", encoding="utf-8")
        pipeline.ingest(settings, "cites-trade", [path], dataset="trade-more", marking=Marking.GREEN,
                        owner="customs-ke")
        after = get(client, "/map.json", kind="trade")
    assert flow(first, "trade", "country:KE", "country:CN")["quantity"] == 15
    kenya_china = flow(after, "trade", "country:KE", "country:CN")
    assert (kenya_china["quantity"], kenya_china["datasets"]) == (19, ["trade-green", "trade-more"])


#: What the RED datasets hold, less the words a notice about them uses (their marking).
RED_DATA = tuple(secret for secret in RED_ONLY if "RED" not in secret)
RED_PLACES = tuple(secret for secret in RED_DATA if "-red" not in secret)
NOT_HELD = sorted(VISIBLE["wildlife-tz"] - {"trade-red", "seizures-red"})


@pytest.mark.parametrize(
    ("params", "terms"),
    [({}, {}), ({"kind": "seizures"}, {"kinds": ["seizures"]}), ({"taxon": "Loxodonta"}, {"taxon": "Loxodonta"}),
     ({"dataset": "trade-red"}, {"datasets": ["trade-red"]})],
)
def test_without_a_purpose_red_data_is_held_back_from_its_own_owner_and_counted(
    clients: dict[str, TestClient], map_world: Settings, params: dict[str, Any], terms: dict[str, Any]
) -> None:
    bare = clients["wildlife-tz-bare"]
    response = bare.get("/map.json", params=params)
    assert response.status_code == 200
    body = response.json()
    answer = json.dumps({k: v for k, v in body.items() if k != "filters"})  # the filters echo the request
    for secret in RED_DATA:
        assert secret not in answer, secret
    assert all(f["marking"] != "RED" for f in body["flows"]) and all(p["marking"] != "RED" for p in body["seizures"])
    assert not {"trade-red", "seizures-red"} & set(body["datasets"])
    # totals are those of the datasets that need no purpose: nothing held back adds to them
    markings = {name: marking for name, (_, marking, _) in REGISTRATION.items()}
    flt = MapFilter.parse(visible=sorted(VISIBLE["wildlife-tz"]), **terms)
    with EvidenceStore(map_world.evidence_path, read_only=True) as store:
        shown = route_map(store, NOT_HELD, markings, flt)
        held = route_map(store, ["seizures-red", "trade-red"], markings, flt)
    assert (body["total_flows"], body["records"], body["quantity"]) == (shown.total_flows, shown.records,
                                                                        shown.quantity)
    assert body["held_back"] == held.total_flows > 0
    assert body["held_back_seizures"] == sum(p.seizures for p in held.seizures)
    assert body["held_back_marking"] == "RED"
    given = get(bare, "/map.json", purpose="case 31", **params)
    assert (given["held_back"], given["held_back_seizures"], given["held_back_marking"]) == (0, 0, None)
    assert given["marking"] == "RED" and given["total_flows"] >= body["total_flows"]


def test_the_page_says_what_is_held_back_and_a_purpose_includes_it_and_is_logged(
    clients: dict[str, TestClient],
) -> None:
    bare = clients["wildlife-tz-bare"]
    held = get(bare, "/map.json")
    page = bare.get("/map", params={"taxon": "Loxodonta"})
    assert page.status_code == 200
    for secret in (*RED_PLACES, "TLP:RED"):  # the filter form lists the reader's datasets by name, as ever
        assert secret not in page.text, secret
    notice = re.search(r'<p id="map-held-text">(.*?)</p>', page.text, re.S)
    assert notice is not None
    words = " ".join(notice.group(1).split())
    assert re.fullmatch(r"\d+ flows? (and \d+ seizures? )?from RED data (is|are) held back: give a purpose to "
                        r"include them\.", words), words
    assert 'id="map-purpose"' in page.text and '<input type="hidden" name="taxon" value="Loxodonta">' in page.text
    assert held["held_back"] > 0
    home = bare.get("/")  # the home page's map gives no purpose
    assert home.status_code == 200 and 'data-json="/map.json?limit=40"' in home.text
    shown = bare.get("/map", params={"taxon": "Loxodonta", "purpose": "case 32"})
    assert shown.status_code == 200 and "TLP:RED" in shown.text and 'id="map-held" class="purpose" hidden' in shown.text
    assert 'data-json="/map.json?taxon=Loxodonta&amp;purpose=case+32"' in shown.text
    assert '<input type="hidden" name="purpose" value="case 32">' in shown.text  # the filters keep it
    store = bare.app.state.services.operational  # type: ignore[attr-defined]
    [entry] = access_log.recent(store, organisation="wildlife-tz", action="map.read", limit=1)
    assert (entry.target, entry.marking, entry.purpose) == ("taxon=Loxodonta", "RED", "case 32")
    header = bare.get("/map.json", headers={PURPOSE_HEADER: "case 33"})
    assert header.json()["held_back"] == 0
    assert access_log.recent(store, organisation="wildlife-tz", action="map.read", limit=1)[0].purpose == "case 33"


def test_a_purpose_too_short_is_refused_and_no_purpose_is_not_logged(clients: dict[str, TestClient]) -> None:
    bare = clients["wildlife-tz-bare"]
    refused = bare.get("/map.json", params={"purpose": "x"})
    assert (refused.status_code, refused.json()["error"]) == (428, "A purpose is 4 to 500 characters long.")
    store = bare.app.state.services.operational  # type: ignore[attr-defined]
    before = [e.seq for e in access_log.recent(store, action="map.read", limit=1000)]
    assert bare.get("/map.json").status_code == 200
    assert clients["customs-ke"].get("/map.json").json()["held_back"] == 0
    assert [e.seq for e in access_log.recent(store, action="map.read", limit=1000)] == before
