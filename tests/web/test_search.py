"""``/search`` and ``/search.json``: loose name matching with facets, for each organisation only
over what it may see, every query in the access log; 409 before the index exists, 422 for bad
parameters, and nothing of a hidden dataset in any answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.web.app import create_app
from tests.search import world


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = world.load(tmp_path_factory.mktemp("pool"))
    world.build_index(settings)
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in world.VISIBLE}


def log_entries(settings: Settings, action: str) -> list[access_log.AccessLogRow]:
    operational = pipeline.open_operational(settings)
    try:
        return [row for row in access_log.rows(operational) if row.action == action]
    finally:
        operational.dispose()


def test_search_json_finds_a_misspelt_name_with_facets(clients: dict[str, TestClient]) -> None:
    response = clients["customs-ke"].get("/search.json", params={"q": "Muhamed Hasan"})
    assert response.status_code == 200
    body = response.json()
    assert body["hits"][0]["entity_id"] == "p-muhammed"
    assert body["hits"][0]["matched"] == "Muhammed Hassan Abdallah"
    assert body["hits"][0]["schema"] == "Person"
    assert body["normalised"] == "muhamed hasan"
    assert body["facets"]["schema"][0] == {"value": "Person", "count": body["total"], "selected": False}
    assert body["index"]["possibly_stale"] is False
    assert body["marking"] in {"GREEN", "AMBER", "RED"}


def test_filters_come_back_selected_and_narrow_the_results(clients: dict[str, TestClient]) -> None:
    body = clients["customs-ke"].get("/search.json", params={"q": "sunrise", "marking": "amber"}).json()
    assert [h["entity_id"] for h in body["hits"]] == ["ngo-sunrise"]
    assert body["filters"] == {"schema": None, "country": None, "dataset": None, "marking": "AMBER"}
    assert {"value": "AMBER", "count": 1, "selected": True} in body["facets"]["marking"]
    # An empty form field is no filter.
    both = clients["customs-ke"].get("/search.json", params={"q": "sunrise", "schema": "", "dataset": ""}).json()
    assert both["total"] == 2


def test_paging_gives_next_offset_until_the_end(clients: dict[str, TestClient]) -> None:
    first = clients["ngo-x"].get("/search.json", params={"limit": 5}).json()
    assert len(first["hits"]) == 5 and first["next_offset"] == 5
    rest = clients["ngo-x"].get("/search.json", params={"limit": 5, "offset": 5}).json()
    assert rest["next_offset"] is None
    assert len(first["hits"]) + len(rest["hits"]) == first["total"] == 8


@pytest.mark.parametrize("organisation", ["ngo-x", "outsider", "fiu-tz"])
def test_nothing_of_a_hidden_dataset_reaches_the_answer(clients: dict[str, TestClient], organisation: str) -> None:
    client = clients[organisation]
    hidden = set(world.FILES) - world.VISIBLE[organisation]
    bodies = []
    for q in ("", "KEREDWORD", "Juma Otieno", "TZSECRETWORD", "Kilimanjaro", "Wanjiru", "sunrise", "pacific"):
        for path in ("/search.json", "/search"):  # the query itself is echoed: look at everything else
            bodies.append(client.get(path, params={"q": q, "limit": 100}).text.replace(q, "") if q else
                          client.get(path, params={"limit": 100}).text)
    unknown = client.get("/search.json", params={"dataset": "no-such-dataset"}).text
    for name in hidden:  # a hidden dataset named in a filter reads exactly like an unknown one
        answer = client.get("/search.json", params={"dataset": name}).text
        assert answer.replace(name, "no-such-dataset") == unknown
    for body in bodies:
        for dataset in hidden:
            assert dataset not in body
            for secret in world.SECRETS.get(dataset, []):
                assert secret not in body
    counts = client.get("/search.json", params={"limit": 100}).json()
    assert counts["total"] == len(counts["hits"])
    assert {f["value"] for f in counts["facets"]["dataset"]} == world.VISIBLE[organisation]


def test_the_page_has_the_form_results_facets_and_links(clients: dict[str, TestClient]) -> None:
    response = clients["customs-ke"].get("/search", params={"q": "sunrise"})
    assert response.status_code == 200
    html = response.text
    assert '<form class="filters" method="get" action="/search"' in html
    assert '<a href="/entities/c-sunrise">Sunrise Trading Co., Ltd</a>' in html
    assert 'href="/network?entity=c-sunrise"' in html
    assert 'href="/search?q=sunrise&amp;dataset=ngo-reports"' in html  # a facet value adds its filter
    assert '<link rel="alternate" type="application/json" href="/search.json?q=sunrise">' in html
    filtered = clients["customs-ke"].get("/search", params={"q": "sunrise", "dataset": "ngo-reports"}).text
    assert 'href="/search?q=sunrise"' in filtered  # ... and removing it takes the filter away
    assert '<input type="hidden" name="dataset" value="ngo-reports">' in filtered


def test_every_search_goes_to_the_access_log(clients: dict[str, TestClient], pool: Settings) -> None:
    before = len(log_entries(pool, "search"))
    clients["ngo-x"].get("/search.json", params={"q": "audited query", "schema": "Person"})
    clients["ngo-x"].get("/search", params={"q": "audited page"})
    entries = log_entries(pool, "search")[before:]
    assert [(e.organisation, e.target) for e in entries] == [("ngo-x", "audited query"), ("ngo-x", "audited page")]
    assert entries[0].detail == '{"schema":"Person"}'


@pytest.mark.parametrize(
    "params",
    [{"q": "x" * 201}, {"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 10_001}, {"marking": "purple"},
     {"schema": "s" * 101}],
)
def test_bad_parameters_are_422_problems(clients: dict[str, TestClient], params: dict[str, object]) -> None:
    response = clients["customs-ke"].get("/search.json", params=params)
    assert response.status_code == 422
    assert response.json()["status"] == 422
    assert "Traceback" not in clients["customs-ke"].get("/search", params=params).text


def test_before_the_index_is_built_json_says_409_and_the_page_says_how(tmp_path: Path) -> None:
    settings = world.load(tmp_path, resolution=False, alerts=False)
    with TestClient(create_app(settings, "customs-ke")) as client:
        response = client.get("/search.json", params={"q": "sunrise"})
        assert response.status_code == 409
        assert "chainlight index" in response.json()["error"]
        page = client.get("/search", params={"q": "sunrise"})
        assert page.status_code == 200
        assert "<code>chainlight index</code>" in page.text
        assert client.get("/entities/c-sunrise.json").status_code == 409
        world.build_index(settings)
        assert client.get("/search.json", params={"q": "sunrise"}).json()["total"] == 2


def test_a_changed_evidence_store_marks_the_index_possibly_stale(tmp_path: Path) -> None:
    settings = world.load(tmp_path, resolution=False, alerts=False)
    world.build_index(settings)
    with TestClient(create_app(settings, "customs-ke")) as client:
        assert client.get("/search.json").json()["index"]["possibly_stale"] is False
        extra = tmp_path / "more.jsonl"
        extra.write_text(world.entity("p-new", "Person", name="Neema Barasa") + "\n", encoding="utf-8")
        pipeline.ingest(settings, "ftm", [extra], dataset="ke-customs", marking=world.FILES["ke-customs"][1],
                        owner="customs-ke", rebuild=False)
        assert client.get("/search.json").json()["index"]["possibly_stale"] is True
        assert "may be missing" in client.get("/search").text
        pipeline.build_index(settings)
        body = client.get("/search.json", params={"q": "neema barasa"}).json()
        assert body["index"]["possibly_stale"] is False
        assert body["hits"][0]["entity_id"] == "p-new"


def test_openapi_documents_search_with_its_model_and_errors(clients: dict[str, TestClient]) -> None:
    spec = clients["customs-ke"].get("/openapi.json").json()
    operation = spec["paths"]["/search.json"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("SearchResults")
    assert {"409", "422"} <= set(operation["responses"])
    assert {p["name"] for p in operation["parameters"]} >= {"q", "schema", "country", "dataset", "marking",
                                                           "offset", "limit"}
    assert "/search" not in spec["paths"]
