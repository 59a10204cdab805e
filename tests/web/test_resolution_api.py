"""The entity-resolution JSON API answers each organisation from the datasets it may see.

One small pool is ingested and resolved once for the module: the same company in a GREEN
dataset of customs-ke, a GREEN dataset of an NGO and a RED dataset of a financial intelligence
unit (fiu-ke). The RED dataset also holds a record under the NGO entity's id, with a secret
word in its name, so that a name or link taken from it anywhere would show. customs-ke sees
both GREEN datasets; fiu-ke sees all three.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.resolve import service
from chainlight.settings import Settings
from chainlight.web.app import create_app
from chainlight.web.routes import ROUTES


def company(entity_id: str, name: str, country: str) -> str:
    return json.dumps({"id": entity_id, "schema": "Company", "properties": {"name": [name], "country": [country]}})


FILES = {
    "ke-customs": ("customs-ke", Marking.GREEN, [
        company("green-sunrise", "Sunrise Trading Co., Ltd", "ke"),
        company("green-baobab", "Baobab Logistics Ltd", "tz"),
    ]),
    "ngo-reports": ("ngo-x", Marking.GREEN, [company("ngo-sunrise", "Sunrise Trading Company Limited", "ke")]),
    "fiu-red": ("fiu-ke", Marking.RED, [
        company("red-sunrise", "SUNRISE TRADING LIMITED", "ke"),
        company("ngo-sunrise", "AAA REDWORD Holdings", "ae"),
    ]),
}
RED = ("fiu-red", "red-sunrise", "REDWORD", "fiu-ke")
PAIR = {"left": "green-sunrise", "right": "ngo-sunrise"}


def load(settings: Settings, root: Path, names: list[str]) -> None:
    for name in names:
        owner, marking, lines = FILES[name]
        path = root / f"{name}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        pipeline.ingest(settings, "ftm", [path], dataset=name, marking=marking, owner=owner, rebuild=False)


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("pool")
    settings = Settings.load(root / "home", f"sqlite:///{root / 'home' / 'chainlight.db'}").ensure()
    load(settings, root, list(FILES))
    pipeline.resolve(settings, groups=["organisation"])  # the only group the pool has: faster
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in ("customs-ke", "fiu-ke")}


def assert_no_red(body: str) -> None:
    for secret in RED:
        assert secret not in body


def test_matches_give_the_cluster_and_links_with_feature_weights(clients: dict[str, TestClient]) -> None:
    response = clients["customs-ke"].get("/api/resolution/entities/green-sunrise/matches")
    assert response.status_code == 200
    body = response.json()
    assert body["entity_id"] == "green-sunrise"
    assert body["canonical_id"].startswith("nk-")
    [link] = body["links"]
    assert {link["left"], link["right"]} == {"green-sunrise", "ngo-sunrise"}
    assert link["datasets"] == ["ke-customs", "ngo-reports"]
    assert link["group"] == "organisation"
    assert 0.0 < link["match_probability"] <= 1.0
    features = {f["feature"]: f for f in link["features"]}
    assert {"name", "countries"} <= set(features)
    assert all(isinstance(f["weight"], float) and f["level"] for f in link["features"])
    assert features["countries"]["weight"] > 0
    assert_no_red(response.text)


def test_explain_shows_every_link_between_two_entities(clients: dict[str, TestClient]) -> None:
    response = clients["customs-ke"].get("/api/resolution/explain", params=PAIR)
    assert response.status_code == 200
    body = response.json()
    assert body["same_cluster"] is True
    assert body["left_canonical_id"] == body["right_canonical_id"]
    [link] = body["links"]
    assert link["features"] and all("weight" in f for f in link["features"])
    unrelated = clients["customs-ke"].get(
        "/api/resolution/explain", params={"left": "green-sunrise", "right": "green-baobab"}
    ).json()
    assert unrelated["links"] == []
    assert unrelated["same_cluster"] is False


def test_an_outsider_gets_nothing_of_the_red_dataset(clients: dict[str, TestClient]) -> None:
    client = clients["customs-ke"]
    bodies = [
        client.get("/api/resolution/entities/green-sunrise/matches").text,
        client.get("/api/resolution/entities/ngo-sunrise/matches").text,
        client.get("/api/resolution/explain", params=PAIR).text,
        client.get("/api/resolution/review").text,
        client.get("/api/resolution/clusters").text,
    ]
    for body in bodies:
        assert_no_red(body)
    review = client.get("/api/resolution/review").json()["candidates"]
    assert [(c["left"], c["right"]) for c in review] == [("green-sunrise", "ngo-sunrise")]
    # the record under the same id in the RED dataset does not lend its name
    assert review[0]["right_name"] == "Sunrise Trading Company Limited"


@pytest.mark.parametrize(
    "path",
    ["/api/resolution/entities/{}/matches", "/api/resolution/explain?left=green-sunrise&right={}"],
)
def test_a_hidden_entity_answers_exactly_like_a_missing_one(clients: dict[str, TestClient], path: str) -> None:
    client = clients["customs-ke"]
    hidden = client.get(path.format("red-sunrise"))
    missing = client.get(path.format("no-such-entity"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"] == "application/json"
    assert hidden.text.replace("red-sunrise", "ID") == missing.text.replace("no-such-entity", "ID")
    assert missing.json() == {"status": 404, "error": "No such entity: no-such-entity.", "incident": None}


def test_the_red_owner_sees_the_red_link(clients: dict[str, TestClient]) -> None:
    client = clients["fiu-ke"]
    links = client.get("/api/resolution/entities/green-sunrise/matches").json()["links"]
    partners = {link["right"] if link["left"] == "green-sunrise" else link["left"]: link for link in links}
    assert {"ngo-sunrise", "red-sunrise"} <= set(partners)
    assert partners["red-sunrise"]["datasets"] == ["fiu-red", "ke-customs"]
    red = client.get("/api/resolution/entities/red-sunrise/matches")
    assert red.status_code == 200
    clusters = client.get("/api/resolution/clusters").json()["clusters"]
    assert clusters["red-sunrise"] == clusters["green-sunrise"]
    explained = client.get("/api/resolution/explain", params={"left": "red-sunrise", "right": "green-sunrise"})
    assert explained.json()["same_cluster"] is True


def test_a_different_judgement_splits_the_cluster_and_undo_restores_it(
    clients: dict[str, TestClient], pool: Settings
) -> None:
    client = clients["customs-ke"]
    before = client.get("/api/resolution/clusters").json()
    assert set(before["clusters"]) == {"green-sunrise", "ngo-sunrise"}
    assert before["total"] == 2
    assert before["next_offset"] is None

    judged = client.post("/api/resolution/judgements", json={**PAIR, "verdict": "different", "note": "two firms"})
    assert judged.status_code == 200, judged.text
    outcome = judged.json()
    assert outcome["same_cluster"] is False
    assert outcome["author"] == "web:customs-ke"
    assert client.get("/api/resolution/clusters").json() == {
        "clusters": {}, "total": 0, "offset": 0, "limit": 1000, "next_offset": None,
    }
    assert client.get("/api/resolution/review").json()["candidates"] == []
    assert client.get("/api/resolution/explain", params=PAIR).json()["same_cluster"] is False
    owner_view = clients["fiu-ke"].get("/api/resolution/explain", params=PAIR).json()
    assert owner_view["same_cluster"] is False  # a judgement applies wherever both entities are seen

    operational = pipeline.open_operational(pool)
    try:
        [stored] = operational.judgements()
    finally:
        operational.dispose()
    assert (stored.verdict, stored.author, stored.organisation, stored.note) == (
        "different", "web:customs-ke", "customs-ke", "two firms",
    )

    undone = client.post("/api/resolution/judgements/undo", json=PAIR)
    assert undone.status_code == 200, undone.text
    assert undone.json()["same_cluster"] is True
    assert client.get("/api/resolution/clusters").json() == before
    again = client.post("/api/resolution/judgements/undo", json=PAIR)
    assert again.status_code == 409
    assert again.json()["error"] == "There is no standing judgement on these two entities to undo."


def test_clusters_come_a_page_at_a_time(clients: dict[str, TestClient]) -> None:
    client = clients["fiu-ke"]
    everything = client.get("/api/resolution/clusters").json()
    assert everything["total"] == 3
    first = client.get("/api/resolution/clusters", params={"limit": 2}).json()
    assert (len(first["clusters"]), first["next_offset"]) == (2, 2)
    rest = client.get("/api/resolution/clusters", params={"limit": 2, "offset": 2}).json()
    assert rest["next_offset"] is None
    assert first["clusters"] | rest["clusters"] == everything["clusters"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PAIR, "verdict": "maybe"}, "body.verdict"),
        ({"left": "green-sunrise", "verdict": "same"}, "body.right"),
        ({"left": "green-sunrise", "right": "green-sunrise", "verdict": "same"}, None),
    ],
)
def test_a_bad_judgement_is_refused_with_422(
    clients: dict[str, TestClient], pool: Settings, body: dict[str, str], field: str | None
) -> None:
    response = clients["customs-ke"].post("/api/resolution/judgements", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    problem = response.json()
    assert problem["status"] == 422
    assert field is None or field in problem["error"]
    assert "Traceback" not in response.text


def test_judging_a_hidden_entity_is_404_and_stores_nothing(clients: dict[str, TestClient], pool: Settings) -> None:
    response = clients["customs-ke"].post(
        "/api/resolution/judgements", json={"left": "green-sunrise", "right": "red-sunrise", "verdict": "same"}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "No such entity: red-sunrise."
    undo = clients["customs-ke"].post("/api/resolution/judgements/undo", json={"left": "x", "right": "red-sunrise"})
    assert undo.status_code == 404
    operational = pipeline.open_operational(pool)
    try:
        assert [j.verdict for j in operational.judgements()] == []
    finally:
        operational.dispose()


def test_an_unexpected_error_is_a_json_500_without_internals(
    clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals of REDWORD")

    monkeypatch.setattr(service, "matches", explode)
    response = clients["fiu-ke"].get("/api/resolution/entities/green-sunrise/matches")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "Something went wrong on our side."
    assert len(body["incident"]) == 12
    assert "REDWORD" not in response.text
    assert response.headers["x-frame-options"] == "DENY"


RESOLUTION_PATHS = {
    "/api/resolution/entities/{entity_id}/matches": "get",
    "/api/resolution/explain": "get",
    "/api/resolution/review": "get",
    "/api/resolution/judgements": "post",
    "/api/resolution/judgements/undo": "post",
    "/api/resolution/clusters": "get",
}


def test_openapi_documents_the_resolution_api(clients: dict[str, TestClient]) -> None:
    api = clients["customs-ke"].get("/openapi.json").json()
    for path, method in RESOLUTION_PATHS.items():
        operation = api["paths"][path][method]
        assert operation["summary"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok["$ref"].startswith("#/components/schemas/")
        assert operation["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
    judge = api["paths"]["/api/resolution/judgements"]["post"]
    assert judge["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JudgementRequest"
    }
    assert api["components"]["schemas"]["JudgementRequest"]["properties"]["verdict"]["enum"] == [
        "same", "different", "unsure",
    ]
    assert {"EntityMatches", "MatchLink", "MatchFeature", "Explanation", "ReviewQueue", "ClusterMap"} <= set(
        api["components"]["schemas"]
    )
    assert {r.path for r in ROUTES} >= set(RESOLUTION_PATHS)


@pytest.mark.parametrize(
    "request_args",
    [
        ("get", "/api/resolution/entities/green-sunrise/matches", None),
        ("get", "/api/resolution/explain?left=a&right=b", None),
        ("get", "/api/resolution/review", None),
        ("get", "/api/resolution/clusters", None),
        ("post", "/api/resolution/judgements", {**PAIR, "verdict": "same"}),
    ],
)
def test_before_any_resolve_run_the_api_says_so(
    settings: Settings, tmp_path: Path, request_args: tuple[str, str, dict[str, str] | None]
) -> None:
    method, path, body = request_args
    expected = {"status": 409, "error": "Entity resolution has not run yet: run 'chainlight resolve' first.",
                "incident": None}
    with TestClient(create_app(settings, "customs-ke")) as client:
        nothing = client.request(method, path, json=body)  # no evidence store at all
        assert (nothing.status_code, nothing.json()) == (409, expected)
        if method == "get" and "matches" in path:  # once is enough: ingest takes a moment
            load(settings, tmp_path, ["ke-customs"])
            unresolved = client.request(method, path, json=body)
            assert (unresolved.status_code, unresolved.json()) == (409, expected)
