"""Front-end libraries are served from node_modules by name, from an allowlist, and nothing else.

The tests point ``CHAINLIGHT_NODE_MODULES`` at a folder of their own, so they check the route
and not whether ``npm ci`` has run; one test checks the repository's own ``package.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chainlight.settings import Settings
from chainlight.web import vendor
from chainlight.web.app import create_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def node_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "node_modules"
    for name, found in vendor.FILES.items():
        path = folder / found.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* {name} */", encoding="utf-8")
    (folder / "package.json").parent.mkdir(parents=True, exist_ok=True)
    (folder / "package.json").write_text('{"secret": "not for you"}', encoding="utf-8")
    (folder / "d3" / "dist" / "d3.js").write_text("/* unminified: not allowlisted */", encoding="utf-8")
    monkeypatch.setenv(vendor.ENVIRONMENT, str(folder))
    return folder


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app over an empty home (the folder is read per request, so one app serves every test)."""
    home = tmp_path_factory.mktemp("vendor") / "home"
    settings = Settings.load(home, f"sqlite:///{home / 'chainlight.db'}").ensure()
    with TestClient(create_app(settings, "local")) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("cytoscape.min.js", "text/javascript"),
        ("d3.min.js", "text/javascript"),
        ("topojson-client.min.js", "text/javascript"),
        ("countries-110m.json", "application/json"),
    ],
)
def test_allowlisted_files_are_served_with_a_long_cache(
    node_modules: Path, client: TestClient, name: str, media_type: str
) -> None:
    response = client.get(f"/vendor/{name}")
    assert response.status_code == 200
    assert response.text == f"/* {name} */"
    assert response.headers["content-type"].split(";")[0] == media_type
    assert response.headers["cache-control"] == vendor.CACHE_CONTROL
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/vendor/package.json",
        "/vendor/d3.js",
        "/vendor/d3/dist/d3.min.js",
        "/vendor/..%2Fpackage.json",
        "/vendor/%2e%2e/package.json",
        "/vendor/",
        "/vendor/D3.MIN.JS",
    ],
)
def test_nothing_else_under_node_modules_is_served(node_modules: Path, client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "not for you" not in response.text and "unminified" not in response.text


def test_a_missing_library_is_a_clear_404_and_the_pages_say_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, client: TestClient
) -> None:
    monkeypatch.setenv(vendor.ENVIRONMENT, str(tmp_path / "empty"))
    response = client.get("/vendor/d3.min.js")
    assert response.status_code == 404
    assert "The front-end library d3 is not installed: run scripts/setup" in response.text
    assert vendor.missing(vendor.MAP) == ["d3", "topojson-client", "world-atlas"]
    page = client.get("/map")
    assert page.status_code == 200
    assert 'id="map-missing"' in page.text and "d3, topojson-client, world-atlas" in page.text
    assert "/vendor/d3.min.js" not in page.text  # no script that would only fail to load
    assert 'id="flows-table"' in page.text


def test_the_checkout_is_found_without_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(vendor.ENVIRONMENT, raising=False)
    assert vendor.node_modules() == REPO / "node_modules"


def test_every_served_file_comes_from_a_locked_dependency() -> None:
    package = json.loads((REPO / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((REPO / "package-lock.json").read_text(encoding="utf-8"))
    for found in vendor.FILES.values():
        assert found.path.startswith(found.package + "/")
        assert found.package in package["dependencies"]
        assert lock["packages"][f"node_modules/{found.package}"]["version"] == package["dependencies"][found.package]


def test_the_vendor_route_is_not_in_the_api_schema(client: TestClient) -> None:
    assert not [p for p in client.get("/openapi.json").json()["paths"] if p.startswith("/vendor")]
