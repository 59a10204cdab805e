"""The web app shows each organisation exactly the datasets it may see, and nothing else.

One small world is ingested once for the module through ``chainlight.pipeline.ingest``: four
datasets of two organisations (GREEN, AMBER with a sharing group, and two RED), each with a
schema of its own and a secret word in its entities, so a leak of any of them is visible in
names, counts and schemata alike.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalError
from chainlight.web import catalogue
from chainlight.web.app import create_app
from chainlight.web.errors import SECURITY_HEADERS
from chainlight.web.routes import ROUTES

REPO = Path(__file__).resolve().parents[2]

FILES = {
    "ke-green": [
        '{"id": "addr-mombasa", "schema": "Address", "properties": {"full": ["Kilindini Harbour, Mombasa"]}}',
        '{"id": "addr-dar", "schema": "Address", "properties": {"full": ["Port of Dar es Salaam"]}}',
        '{"id": "bad-1", "schema": "Spaceship", "properties": {}}',
    ],
    "ke-amber": [
        '{"id": "vessel-1", "schema": "Vessel", "properties": {"name": ["AMBERWORD Star"], "imoNumber": ["9074729"]}}',
    ],
    "ke-red": [
        '{"id": "plane-1", "schema": "Airplane", "properties": {"name": ["KEREDWORD"], "country": ["ke"]}}',
    ],
    "tz-red": [
        '{"id": "note-1", "schema": "Note", "properties": {"name": ["TZREDWORD informant report"]}}',
    ],
}
SHARING_GROUP = "lake-victoria"
REGISTRATION = {
    "ke-green": ("customs-ke", Marking.GREEN, None),
    "ke-amber": ("customs-ke", Marking.AMBER, SHARING_GROUP),
    "ke-red": ("customs-ke", Marking.RED, None),
    "tz-red": ("wildlife-tz", Marking.RED, None),
}
SECRETS = {"ke-amber": "AMBERWORD", "ke-red": "KEREDWORD", "tz-red": "TZREDWORD"}
SCHEMA_OF = {"ke-amber": "Vessel", "ke-red": "Airplane", "tz-red": "Note"}

# Who may see what: the owner sees its own, everyone sees GREEN, the sharing group sees AMBER.
VISIBLE = {
    "customs-ke": {"ke-green", "ke-amber", "ke-red"},
    "wildlife-tz": {"ke-green", "ke-amber", "tz-red"},
    "ngo-x": {"ke-green"},
    "local": {"ke-green"},
}
ALL = set(FILES)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("world")
    settings = Settings.load(root / "home", f"sqlite:///{root / 'home' / 'chainlight.db'}").ensure()
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group(SHARING_GROUP, ["customs-ke", "wildlife-tz"])
        operational.ensure_organisation("ngo-x")
    finally:
        operational.dispose()
    for name, lines in FILES.items():
        path = root / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        owner, marking, group = REGISTRATION[name]
        pipeline.ingest(settings, "ftm", [path], dataset=name, marking=marking, owner=owner, sharing_group=group)
    return settings


@pytest.fixture(scope="module")
def clients(world: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(world, org))) for org in VISIBLE}


@pytest.mark.parametrize("org", sorted(VISIBLE))
def test_home_json_lists_exactly_the_visible_datasets(clients: dict[str, TestClient], org: str) -> None:
    response = clients[org].get("/index.json")
    assert response.status_code == 200
    home = response.json()
    assert home["organisation"] == org
    assert {d["name"] for d in home["datasets"]} == VISIBLE[org]
    expected_schemata = {"Address": 2} | {SCHEMA_OF[n]: 1 for n in VISIBLE[org] if n in SCHEMA_OF}
    assert {s["schema"]: s["entities"] for s in home["schemata"]} == expected_schemata
    assert home["totals"] == {
        "datasets": len(VISIBLE[org]),
        "entities": sum(expected_schemata.values()),
        "statements": sum(d["statements"] for d in home["datasets"]),
        "records": 0,
        "quarantined": 1,
    }
    green = next(d for d in home["datasets"] if d["name"] == "ke-green")
    assert green == {
        "name": "ke-green", "owner": "customs-ke", "marking": "GREEN", "sharing_group": None,
        "entities": 2, "statements": green["statements"], "records": 0, "quarantined": 1,
        "schemata": [{"schema": "Address", "entities": 2}],
    }
    assert green["statements"] >= 4


@pytest.mark.parametrize("org", sorted(VISIBLE))
def test_home_page_lists_exactly_the_visible_datasets(clients: dict[str, TestClient], org: str) -> None:
    response = clients[org].get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f"Viewing as <strong>{org}</strong>" in html
    for name in ALL:
        if name in VISIBLE[org]:
            assert f'<a href="/datasets/{name}">{name}</a>' in html
        else:
            assert name not in html
    assert ("tlp tlp-red" in html) == bool(VISIBLE[org] & {"ke-red", "tz-red"})
    assert ("tlp tlp-amber" in html) == ("ke-amber" in VISIBLE[org])
    assert '<span class="tlp tlp-green">TLP:GREEN</span>' in html
    assert ("Vessel" in html) == ("ke-amber" in VISIBLE[org])


@pytest.mark.parametrize("org", ["ngo-x", "local"])
def test_nothing_of_a_hidden_dataset_reaches_an_outsider(clients: dict[str, TestClient], org: str) -> None:
    client = clients[org]
    bodies = [client.get("/").text, client.get("/index.json").text, client.get("/datasets/ke-green").text,
              client.get("/datasets/ke-green.json").text]
    for body in bodies:
        for hidden in ALL - VISIBLE[org]:
            assert hidden not in body
            assert SECRETS[hidden] not in body
            assert SCHEMA_OF[hidden] not in body
        assert SHARING_GROUP not in body
        assert "wildlife-tz" not in body


@pytest.mark.parametrize("suffix", ["", ".json"])
@pytest.mark.parametrize("hidden", ["ke-amber", "ke-red", "tz-red"])
def test_a_hidden_dataset_answers_exactly_like_a_missing_one(
    clients: dict[str, TestClient], hidden: str, suffix: str
) -> None:
    client = clients["ngo-x"]
    missing = "no-such"  # same treatment whatever the name: compare with the name blanked out
    hidden_response = client.get(f"/datasets/{hidden}{suffix}")
    missing_response = client.get(f"/datasets/{missing}{suffix}")
    assert hidden_response.status_code == missing_response.status_code == 404
    assert hidden_response.text.replace(hidden, "NAME") == missing_response.text.replace(missing, "NAME")
    ignore = {"content-length"}
    assert {k: v for k, v in hidden_response.headers.items() if k not in ignore} == {
        k: v for k, v in missing_response.headers.items() if k not in ignore
    }
    assert SECRETS[hidden] not in hidden_response.text


def test_the_sharing_group_sees_amber_and_the_owner_sees_its_red(clients: dict[str, TestClient]) -> None:
    amber = clients["wildlife-tz"].get("/datasets/ke-amber.json")
    assert amber.status_code == 200
    assert amber.json()["sharing_group"] == SHARING_GROUP
    assert amber.json()["schemata"] == [{"schema": "Vessel", "entities": 1}]
    assert clients["wildlife-tz"].get("/datasets/ke-red.json").status_code == 404
    assert clients["customs-ke"].get("/datasets/tz-red").status_code == 404
    red = clients["customs-ke"].get("/datasets/ke-red")
    assert red.status_code == 200
    assert '<span class="tlp tlp-red">TLP:RED</span>' in red.text


def test_dataset_json_has_counts_per_schema_and_ingest_runs(clients: dict[str, TestClient]) -> None:
    detail = clients["local"].get("/datasets/ke-green.json").json()
    assert detail["entities"] == 2
    assert detail["quarantined"] == 1
    assert detail["schemata"] == [{"schema": "Address", "entities": 2}]
    [run] = detail["runs"]
    assert run["file"].endswith("ke-green.jsonl")
    assert run["format"] == "ftm"
    assert (run["rows_read"], run["rows_loaded"], run["rows_quarantined"]) == (3, 2, 1)
    assert run["finished_at"].endswith("Z")
    assert len(run["sha256"]) == 64


def test_dataset_page_shows_its_runs_in_a_table(clients: dict[str, TestClient]) -> None:
    html = clients["local"].get("/datasets/ke-green").text
    assert "<caption>Files loaded into ke-green, newest first</caption>" in html
    assert "ke-green.jsonl</code></th>" in html
    assert '<nav class="crumbs" aria-label="Breadcrumb">' in html
    assert 'href="/datasets/ke-green.json"' in html
    assert "<dt>Quarantined rows</dt><dd>1</dd>" in html


@pytest.mark.parametrize(
    "path", ["/", "/index.json", "/datasets/ke-green", "/datasets/ke-red.json", "/static/app.css",
             "/-/health", "/-/versions", "/openapi.json", "/no/such/page"],
)
def test_every_response_carries_the_security_headers(clients: dict[str, TestClient], path: str) -> None:
    response = clients["local"].get(path)
    for key, value in SECURITY_HEADERS.items():
        assert response.headers[key] == value
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_not_found_speaks_html_for_pages_and_json_for_json_routes(clients: dict[str, TestClient]) -> None:
    page = clients["local"].get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>404 Not Found</h1>" in page.text
    api = clients["local"].get("/no/such/thing.json")
    assert api.status_code == 404
    assert api.json() == {"status": 404, "error": "There is nothing at this address.", "incident": None}
    under_api = clients["local"].get("/api/no/such/operation")
    assert under_api.status_code == 404
    assert under_api.json()["error"] == "There is nothing at this address."


@pytest.mark.parametrize("path", ["/", "/index.json"])
def test_an_unexpected_error_shows_no_traceback(
    clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals of KEREDWORD")

    monkeypatch.setattr(catalogue, "home", explode)
    response = clients["customs-ke"].get(path)
    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert "KEREDWORD" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    if path.endswith(".json"):
        body = response.json()
        assert body["status"] == 500
        assert len(body["incident"]) == 12
    else:
        assert "<h1>500 Internal Server Error</h1>" in response.text
        assert "incident reference" in response.text


def test_openapi_documents_every_json_route_and_no_page(clients: dict[str, TestClient]) -> None:
    api = clients["local"].get("/openapi.json").json()
    documented = {(path, method.upper()) for path, ops in api["paths"].items() for method in ops}
    json_routes = {(r.path, m) for r in ROUTES if not r.is_page for m in r.methods}
    pages = {(r.path, m) for r in ROUTES if r.is_page for m in r.methods}
    assert documented == json_routes
    assert not documented & pages
    assert all(path.endswith(".json") or path.startswith(("/api/", "/-/")) for path, _ in documented)
    ok = api["paths"]["/index.json"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/Home"}
    dataset = api["paths"]["/datasets/{name}.json"]["get"]["responses"]
    assert dataset["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/DatasetDetail"}
    assert dataset["404"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert {"Home", "DatasetSummary", "DatasetDetail", "IngestRun", "SchemaCount", "Health", "Versions"} <= set(
        api["components"]["schemas"]
    )


def test_health_and_versions(clients: dict[str, TestClient]) -> None:
    assert clients["local"].get("/-/health").json() == {"status": "ok", "evidence_store": True}
    versions = clients["local"].get("/-/versions").json()
    assert versions["duckdb"] == duckdb.__version__
    assert versions["followthemoney"].startswith("4.")
    assert set(versions) == {"chainlight", "followthemoney", "duckdb", "python"}


def test_static_stylesheet_is_served(clients: dict[str, TestClient]) -> None:
    css = clients["local"].get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".tlp-red { color: #ff2b2b; }" in css.text


def test_an_empty_home_says_how_to_load_data(settings: Settings) -> None:
    assert not settings.evidence_path.exists()
    with TestClient(create_app(settings, "local")) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert "No datasets to show yet" in page.text
        assert "chainlight demo" in page.text
        assert "chainlight ingest ftm" in page.text
        assert client.get("/index.json").json()["datasets"] == []
        assert client.get("/datasets/anything.json").status_code == 404
        assert client.get("/-/health").json() == {"status": "ok", "evidence_store": False}


HOLD_THE_STORE = """
import sys, time
from pathlib import Path
from chainlight.store.evidence import EvidenceStore
with EvidenceStore(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(120)
"""


def assert_busy(client: TestClient) -> None:
    page = client.get("/")
    api = client.get("/index.json")
    assert page.status_code == api.status_code == 503
    assert "The evidence store is busy" in page.text
    assert "Traceback" not in page.text
    assert api.json()["status"] == 503
    assert api.headers["retry-after"] == "5"


def test_a_store_held_by_a_writing_process_answers_503(settings: Settings) -> None:
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_STORE, str(settings.evidence_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "holding"
        with TestClient(create_app(settings, "local")) as client:
            assert_busy(client)
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    with TestClient(create_app(settings, "local")) as client:
        assert client.get("/index.json").status_code == 200


def test_a_store_held_by_this_process_answers_503(settings: Settings) -> None:
    with EvidenceStore(settings.evidence_path), TestClient(create_app(settings, "local")) as client:
        assert_busy(client)


def test_an_organisation_name_is_checked(settings: Settings) -> None:
    with pytest.raises(OperationalError, match="invalid organisation name"):
        create_app(settings, "Not An Org!")


def test_every_route_is_documented() -> None:
    docs = (REPO / "docs" / "web.md").read_text(encoding="utf-8")
    for route in ROUTES:
        assert f"`{route.path}`" in docs, f"docs/web.md does not describe {route.path}"
