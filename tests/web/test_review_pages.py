"""The review queue page: uncertain pairs side by side with their features, verdict forms, undo.

The pool is the resolution API tests' one (:mod:`tests.web.test_resolution_api`): one company
in GREEN datasets of customs-ke and an NGO, and in a RED dataset of fiu-ke, which also holds a
record under the NGO entity's id with a secret word in its name. customs-ke sees both GREEN
datasets, fiu-ke all three. Tests that judge work on a copy of the pool.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.web.app import create_app
from tests.web.test_resolution_api import FILES, PAIR, RED, load

ORGS = ("customs-ke", "fiu-ke")


def _settings(home: Path) -> Settings:
    return Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("review-pool")
    settings = _settings(root / "home").ensure()
    load(settings, root, list(FILES))
    pipeline.resolve(settings, groups=["organisation"])
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in ORGS}


@pytest.fixture
def fresh(pool: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(pool.home, home)
    return _settings(home)


def twin(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/review.json", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def page(client: TestClient, **params: Any) -> str:
    response = client.get("/review", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def judgements(settings: Settings) -> list[tuple[str, str, str, str, bool]]:
    operational = pipeline.open_operational(settings)
    try:
        return [(j.left_id, j.right_id, j.verdict, j.author, j.undone_at is not None)
                for j in operational.judgements(include_undone=True)]
    finally:
        operational.dispose()


def logged(settings: Settings) -> list[tuple[str, str, str]]:
    operational = pipeline.open_operational(settings)
    try:
        return [(r.organisation, r.action, r.target) for r in access_log.rows(operational)
                if r.action.startswith("resolution.")]
    finally:
        operational.dispose()


def pairs_of(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["left"]["entity_id"], p["right"]["entity_id"]) for p in body["pairs"]]


# -- reading -----------------------------------------------------------------------------


@pytest.mark.parametrize("org", ORGS)
def test_the_twin_is_the_api_queue_with_sides_and_features(clients: dict[str, TestClient], org: str) -> None:
    client = clients[org]
    body = twin(client)
    queue = client.get("/api/resolution/review", params={"limit": 10}).json()["candidates"]
    assert body["resolution_run"] is True and body["may_judge"] is True and body["last"] is None
    assert pairs_of(body) == [(c["left"], c["right"]) for c in queue]
    assert pairs_of(body)
    for pair, candidate in zip(body["pairs"], queue, strict=True):
        assert (pair["left"]["name"], pair["right"]["name"]) == (candidate["left_name"], candidate["right_name"])
        for key in ("group", "match_probability", "value", "datasets", "cluster_sizes", "unsure"):
            assert pair[key] == candidate[key]
        explained = client.get("/api/resolution/explain",
                               params={"left": candidate["left"], "right": candidate["right"]}).json()
        assert pair["links"] == explained["links"]
        assert pair["links"] and pair["links"][0]["features"]


def test_the_page_puts_both_records_side_by_side(clients: dict[str, TestClient]) -> None:
    html = page(clients["customs-ke"])
    assert "Sunrise Trading Co., Ltd" in html and "Sunrise Trading Company Limited" in html
    assert 'href="/entities/green-sunrise"' in html and 'href="/entities/ngo-sunrise"' in html
    assert "<th scope=\"row\">country</th>" in html
    assert "Why the model scores" in html and "<th scope=\"row\">name</th>" in html
    assert html.count('name="verdict"') == 3
    for verdict in ("same", "different", "unsure"):
        assert f'name="verdict" value="{verdict}"' in html
    assert 'name="csrf_token"' in html and 'action="/review/judgements"' in html


def test_an_outsider_gets_nothing_of_the_red_dataset(clients: dict[str, TestClient]) -> None:
    client = clients["customs-ke"]
    body = twin(client)
    assert pairs_of(body) == [("green-sunrise", "ngo-sunrise")]
    ngo = body["pairs"][0]["right"]
    # The RED dataset's record under the same id lends neither name, value nor dataset.
    assert ngo["datasets"] == ["ngo-reports"]
    assert {v for p in ngo["properties"] for v in p["values"]} >= {"Sunrise Trading Company Limited"}
    for text in (client.get("/review.json").text, client.get("/review").text,
                 client.get("/review", params={"left": "green-sunrise", "right": "red-sunrise"}).text):
        for secret in RED:
            assert secret not in text


def test_the_red_owner_reviews_its_pairs(clients: dict[str, TestClient]) -> None:
    body = twin(clients["fiu-ke"])
    ids = {e for pair in pairs_of(body) for e in pair}
    sides = {p[s]["entity_id"]: p[s] for p in body["pairs"] for s in ("left", "right")}
    assert "ngo-sunrise" in ids
    assert "fiu-red" in sides["ngo-sunrise"]["datasets"]  # the owner sees its own record under the id


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "51"}, {"left": "x" * 501}])
def test_bad_parameters_answer_422(clients: dict[str, TestClient], params: dict[str, str]) -> None:
    client = clients["customs-ke"]
    assert client.get("/review.json", params=params).status_code == 422
    as_page = client.get("/review", params=params)
    assert as_page.status_code == 422 and as_page.headers["content-type"].startswith("text/html")


# -- judging -----------------------------------------------------------------------------


def test_a_verdict_moves_to_the_next_pair_and_can_be_undone(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "customs-ke")) as client:
        judged = client.post("/review/judgements", data={**PAIR, "verdict": "different", "note": " two firms "},
                             follow_redirects=False)
        assert judged.status_code == 303
        assert judged.headers["location"] == "/review?left=green-sunrise&right=ngo-sunrise"
        after = twin(client, left="green-sunrise", right="ngo-sunrise")
        assert pairs_of(after) == []  # the judged pair left the queue
        assert after["last"] == {"left": "green-sunrise", "right": "ngo-sunrise", "verdict": "different",
                                 "author": "web:customs-ke"}
        html = client.get(judged.headers["location"]).text
        assert "<strong>different</strong>" in html and 'action="/review/undo"' in html
        explained = client.get("/api/resolution/explain", params=PAIR).json()
        assert explained["same_cluster"] is False

        undone = client.post("/review/undo", data=PAIR, follow_redirects=False)
        assert undone.status_code == 303
        assert undone.headers["location"] == "/review?left=green-sunrise&right=ngo-sunrise&undone=1"
        back = client.get(undone.headers["location"]).text
        assert "was undone" in back and 'action="/review/undo"' not in back
        assert pairs_of(twin(client)) == [("green-sunrise", "ngo-sunrise")]
        assert client.get("/api/resolution/explain", params=PAIR).json()["same_cluster"] is True

        again = client.post("/review/undo", data=PAIR)
        assert again.status_code == 409
        assert "no standing judgement" in again.text
    assert judgements(fresh) == [("green-sunrise", "ngo-sunrise", "different", "web:customs-ke", True)]
    assert logged(fresh) == [
        ("customs-ke", "resolution.judge", "green-sunrise ngo-sunrise"),
        ("customs-ke", "resolution.undo", "green-sunrise ngo-sunrise"),
    ]


def test_judging_a_hidden_entity_is_404_like_a_missing_one(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "fiu-ke")) as fiu:
        owned = fiu.post("/review/judgements", data={"left": "green-sunrise", "right": "red-sunrise",
                                                     "verdict": "same"}, follow_redirects=False)
        assert owned.status_code == 303
    with TestClient(create_app(fresh, "customs-ke")) as client:
        for path, extra in (("/review/judgements", {"verdict": "same"}), ("/review/undo", {})):
            hidden = client.post(path, data={"left": "green-sunrise", "right": "red-sunrise", **extra})
            missing = client.post(path, data={"left": "green-sunrise", "right": "no-such-entity", **extra})
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text.replace("red-sunrise", "ID") == missing.text.replace("no-such-entity", "ID")
        # Asking the page about the FIU's judged pair says nothing, not even that it was judged.
        shown = twin(client, left="green-sunrise", right="red-sunrise")
        assert shown["last"] is None
    assert judgements(fresh) == [("green-sunrise", "red-sunrise", "same", "web:fiu-ke", False)]


@pytest.mark.parametrize(
    ("form", "status", "words"),
    [
        ({**PAIR, "verdict": "maybe"}, 422, "Unknown verdict"),
        ({"left": "green-sunrise", "right": "green-sunrise", "verdict": "same"}, 422, "two different entities"),
        ({"left": "green-sunrise", "verdict": "same"}, 422, "right"),
    ],
)
def test_a_bad_verdict_is_refused_and_stores_nothing(
    fresh: Settings, form: dict[str, str], status: int, words: str
) -> None:
    with TestClient(create_app(fresh, "customs-ke")) as client:
        response = client.post("/review/judgements", data=form)
        assert response.status_code == status
        assert words in response.text and "Traceback" not in response.text
    assert judgements(fresh) == []


def test_the_viewer_role_reads_the_queue_but_may_not_judge(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "customs-ke", role="viewer")) as client:
        body = twin(client)
        assert body["may_judge"] is False and pairs_of(body)
        html = page(client)
        assert 'action="/review/judgements"' not in html and "may read the queue but not judge" in html
        refused = client.post("/review/judgements", data={**PAIR, "verdict": "same"})
        assert refused.status_code == 403
        assert client.post("/api/resolution/judgements", json={**PAIR, "verdict": "same"}).status_code == 403
        assert client.post("/review/undo", data=PAIR).status_code == 403
    assert judgements(fresh) == []


def test_before_resolution_the_page_says_so(settings: Settings) -> None:
    with TestClient(create_app(settings, "customs-ke")) as client:
        assert "Nothing to review yet" in page(client)
        assert twin(client) == {"resolution_run": False, "pairs": [], "limit": 10, "may_judge": True, "last": None}
        response = client.post("/review/judgements", data={**PAIR, "verdict": "same"})
        assert response.status_code == 409 and "has not run yet" in response.text


def test_routes_are_documented(clients: dict[str, TestClient]) -> None:
    schema = clients["customs-ke"].get("/openapi.json").json()
    ok = schema["paths"]["/review.json"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/ReviewPage"}
    for path in ("/review", "/review/judgements", "/review/undo"):
        assert path not in schema["paths"]
