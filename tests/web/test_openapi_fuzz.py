"""Schemathesis against the app's own OpenAPI schema: no 5xx, and every answer as documented.

The app is the one ``chainlight serve`` runs (sign-in required), over the web tests' world
(:mod:`tests.support.web_world`: customs' RED data, the NGO's AMBER and GREEN data, resolved,
graph built, rules run, search index built), called in-process through ASGI with an API token
of customs' admin, who may see every dataset and every operation.

- :func:`test_every_operation_survives_fuzzing` lets Schemathesis generate requests for every
  operation in ``/openapi.json``, valid and invalid (its examples, coverage and fuzzing
  phases), a few per operation and deterministically, and checks that none answers a server
  error, that each status is one the operation documents, and that each body matches the
  documented schema of that status. Random ids name nothing in the world, so the writes
  (judgements, triage, uploads) only ever answer 404, 415 or 422 there and change nothing.
- Random data seldom reaches the interesting answers (a real profile, a RED item asking for a
  purpose, a graph export), so :func:`test_real_requests_match_the_schema` sends requests
  naming real entities, alerts and filters through the same checks, and the write tests send
  a few valid and invalid bodies to each write and check the answers and their effects.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.schemas import OpenApiSchema

import chainlight
from chainlight import pipeline
from chainlight.accounts import service
from chainlight.settings import Settings
from chainlight.web import routes
from chainlight.web.app import create_app
from tests.support import web_world
from tests.support.web_world import PASSWORD, SECRET_ID

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
#: Generated requests per operation and generation mode (valid, invalid), in the fuzzing phase.
MAX_EXAMPLES = 12
#: How long the upload's ingest (a subprocess: imports, then a write) may take on a busy machine.
UPLOAD_LIMIT_S = 120.0
PURPOSE = "Fuzzing the API: checking answers match the schema"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = web_world.build_world(web_world.new_home(tmp_path_factory.mktemp("fuzz-world")))
    operational = pipeline.open_operational(settings)
    try:
        service.add_user(operational, "viewer@customs.example", organisation="customs", role="viewer",
                         password=PASSWORD)
    finally:
        operational.dispose()
    return settings


def token_of(settings: Settings, email: str) -> dict[str, str]:
    operational = pipeline.open_operational(settings)
    try:
        secret, _ = service.create_token(operational, email, "schemathesis")
    finally:
        operational.dispose()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture(scope="module")
def admin(world: Settings) -> dict[str, str]:
    """The API token header of customs' admin: every dataset, every operation."""
    return token_of(world, "admin@customs.example")


@pytest.fixture(scope="module")
def viewer(world: Settings) -> dict[str, str]:
    """The API token header of a customs user with the viewer role (reads only)."""
    return token_of(world, "viewer@customs.example")


@pytest.fixture(scope="module")
def app(world: Settings) -> FastAPI:
    return create_app(world)  # as `chainlight serve` builds it: a token or a session is required


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def documented_schema() -> dict[str, Any]:
    """The OpenAPI schema of the app's routes, without an installation: the routing table alone
    makes it (pytest needs the operations when it collects this module, before any world exists).
    :func:`test_the_fuzzed_schema_is_the_served_one` checks it is the one the app serves."""
    bare = FastAPI(title="Chainlight", version=chainlight.__version__)
    routes.register(bare)
    return bare.openapi()


def configured(loaded: OpenApiSchema) -> OpenApiSchema:
    loaded.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    loaded.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    return loaded


schema = configured(schemathesis.openapi.from_dict(documented_schema()))


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> OpenApiSchema:
    """The schema the app serves, bound to the app (requests go to it in-process)."""
    return configured(schemathesis.openapi.from_asgi("/openapi.json", app))


def test_the_fuzzed_schema_is_the_served_one(app: FastAPI, client: TestClient, admin: dict[str, str]) -> None:
    served = client.get("/openapi.json").json()
    assert served["paths"] == documented_schema()["paths"]
    assert served["components"] == documented_schema()["components"]
    assert len(served["paths"]) >= 30


@schema.parametrize()
@hypothesis.settings(
    deadline=None,  # a graph query on a busy machine may take a while; the run is bounded by max_examples
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_operation_survives_fuzzing(case: Case, app: FastAPI, admin: dict[str, str]) -> None:
    case.call_and_validate(headers=admin, checks=CHECKS, app=app)


# -- real requests, through the same checks -----------------------------------------------------


def call(
    api_schema: OpenApiSchema, method: str, path: str, headers: dict[str, str], *,
    path_parameters: dict[str, Any] | None = None, query: dict[str, Any] | None = None, body: Any = None,
) -> Any:
    """Send one request built from the schema's operation and validate its answer with :data:`CHECKS`."""
    operation = api_schema[path][method]
    kwargs: dict[str, Any] = {"path_parameters": path_parameters or {}, "query": query or {}}
    if body is not None:
        kwargs["body"] = body
        kwargs["media_type"] = "application/json"
    case = operation.Case(**kwargs)
    return case.call_and_validate(headers=headers, checks=CHECKS)


def red_alert(client: TestClient, admin: dict[str, str]) -> str:
    alerts = client.get("/api/alerts", params={"rule": "money.bribe-flow"}, headers=admin).json()["alerts"]
    alert_id: str = alerts[0]["alert_id"]
    return alert_id


def green_alert(client: TestClient, admin: dict[str, str]) -> str:
    alerts = client.get("/api/alerts", params={"rule": "ownership.circular"}, headers=admin).json()["alerts"]
    alert_id: str = alerts[0]["alert_id"]
    return alert_id


def test_real_requests_match_the_schema(
    api_schema: OpenApiSchema, client: TestClient, admin: dict[str, str]
) -> None:
    red, green = red_alert(client, admin), green_alert(client, admin)
    purpose = {"purpose": PURPOSE}
    requests: list[tuple[str, dict[str, Any], dict[str, Any], int]] = [
        ("/index.json", {}, {}, 200),
        ("/datasets/{name}.json", {"name": web_world.RED_DATASET}, {}, 200),
        ("/search.json", {}, {"q": "Otieno"}, 200),
        ("/search.json", {}, {"q": "", "marking": "RED", "country": "mz"}, 200),
        ("/entities/{entity_id}.json", {"entity_id": SECRET_ID}, {}, 428),
        ("/entities/{entity_id}.json", {"entity_id": SECRET_ID}, purpose, 200),
        ("/entities/{entity_id}.json", {"entity_id": "fiu-relative"}, purpose, 200),
        ("/entities/{entity_id}.json", {"entity_id": "reg-loop-a"}, {}, 200),
        ("/alerts.json", {}, {"limit": 100}, 200),
        ("/alerts/{alert_id}.json", {"alert_id": red}, {}, 428),
        ("/alerts/{alert_id}.json", {"alert_id": red}, purpose, 200),
        ("/alerts/{alert_id}.json", {"alert_id": green}, {}, 200),
        ("/review.json", {}, {}, 200),
        ("/network.json", {}, {"entity": SECRET_ID}, 428),
        ("/network.json", {}, {"entity": SECRET_ID, **purpose}, 200),
        ("/map.json", {}, {}, 200),  # RED data held back, never refused
        ("/map.json", {}, purpose, 200),
        ("/map.json", {}, {"purpose": "x"}, 428),  # a purpose too short to say anything
        ("/map.json", {}, {"kind": ["seizures"], "taxon": "Loxodonta africana"}, 200),
        ("/upload.json", {}, {}, 200),
        ("/account.json", {}, {}, 200),
        ("/admin.json", {}, {}, 200),
        ("/audit.json", {}, {"limit": 10}, 200),
        ("/-/health", {}, {}, 200),
        ("/-/versions", {}, {}, 200),
        ("/api/resolution/entities/{entity_id}/matches", {"entity_id": "fiu-relative"}, {}, 200),
        ("/api/resolution/explain", {}, {"left": "fiu-relative", "right": "ngo-relative"}, 200),
        ("/api/resolution/review", {}, {}, 200),
        ("/api/resolution/clusters", {}, {}, 200),
        # graph answers holding RED data ask for a purpose
        ("/api/graph/neighbours/{entity_id}", {"entity_id": "fiu-front"}, {"hops": 2}, 428),
        ("/api/graph/neighbours/{entity_id}", {"entity_id": "fiu-front"}, {"hops": 2, **purpose}, 200),
        ("/api/graph/path", {}, {"source": SECRET_ID, "target": "fiu-official"}, 428),
        ("/api/graph/path", {}, {"source": SECRET_ID, "target": "fiu-official", **purpose}, 200),
        ("/api/graph/ubo/{entity_id}", {"entity_id": "reg-front"}, purpose, 200),
        ("/api/graph/cycles", {}, purpose, 200),
        ("/api/graph/money/{entity_id}", {"entity_id": "fiu-front"}, {"direction": "both"}, 428),
        ("/api/graph/money/{entity_id}", {"entity_id": "fiu-front"}, {"direction": "both", **purpose}, 200),
        ("/api/graph/communities", {}, purpose, 200),
        ("/api/graph/seizures", {}, purpose, 200),
        ("/api/alerts", {}, {"min_score": 0.5}, 200),
        ("/api/alerts/{alert_id}", {"alert_id": red}, purpose, 200),
        ("/api/alerts/{alert_id}", {"alert_id": green}, {}, 200),
        ("/api/risk/entities", {}, {}, 200),
    ]
    # An export leaves the platform: with RED data in the reader's view it asks for a purpose.
    requests += [("/api/graph/export/{entity_id}", {"entity_id": "reg-front"}, {}, 428)]
    requests += [
        ("/api/graph/export/{entity_id}", {"entity_id": "reg-front"}, {"format": fmt, **purpose}, 200)
        for fmt in ("ftm", "graphml", "gexf", "cytoscape")
    ]
    for path, path_parameters, query, status in requests:
        response = call(api_schema, "GET", path, admin, path_parameters=path_parameters, query=query)
        assert response.status_code == status, (path, path_parameters, query, response.status_code)


def test_a_red_alert_asks_for_a_purpose_in_the_api_too(
    api_schema: OpenApiSchema, client: TestClient, admin: dict[str, str]
) -> None:
    red = red_alert(client, admin)
    response = call(api_schema, "GET", "/api/alerts/{alert_id}", admin, path_parameters={"alert_id": red})
    assert response.status_code == 428


# -- writes: a few valid and invalid bodies -----------------------------------------------------


def test_triage_bodies(api_schema: OpenApiSchema, client: TestClient, admin: dict[str, str],
                       viewer: dict[str, str]) -> None:
    green = green_alert(client, admin)
    where = {"alert_id": green}
    path = "/api/alerts/{alert_id}/triage"
    for body in ({"state": "bogus"}, {"state": "dismissed"}, {"state": "dismissed", "reason": ""}, {}):
        assert call(api_schema, "POST", path, admin, path_parameters=where, body=body).status_code == 422, body
    unknown = call(api_schema, "POST", path, admin, path_parameters={"alert_id": "al-000000000000000000000000"},
                   body={"state": "confirmed"})
    assert unknown.status_code == 404
    confirmed = call(api_schema, "POST", path, admin, path_parameters=where,
                     body={"state": "confirmed", "reason": "Seen in the registry"})
    assert confirmed.status_code == 200
    assert confirmed.json()["state"] == "confirmed"
    assert confirmed.json()["history"][-1]["state"] == "confirmed"
    refused = call(api_schema, "POST", path, viewer, path_parameters=where, body={"state": "new"})
    assert refused.status_code == 403  # a viewer reads only
    back = call(api_schema, "POST", path, admin, path_parameters=where, body={"state": "new"})
    assert back.status_code == 200 and back.json()["state"] == "new"


def test_judgement_bodies(api_schema: OpenApiSchema, admin: dict[str, str], viewer: dict[str, str]) -> None:
    judge, undo = "/api/resolution/judgements", "/api/resolution/judgements/undo"
    pair = {"left": "reg-loop-a", "right": "reg-loop-b"}
    for body in ({**pair, "verdict": "maybe"}, {"left": "reg-loop-a", "right": "reg-loop-a", "verdict": "same"},
                 {"left": "reg-loop-a", "verdict": "same"}):
        assert call(api_schema, "POST", judge, admin, body=body).status_code == 422, body
    missing = call(api_schema, "POST", judge, admin, body={"left": "reg-loop-a", "right": "nobody", "verdict": "same"})
    assert missing.status_code == 404
    assert call(api_schema, "POST", undo, admin, body=pair).status_code == 409  # nothing to undo yet
    refused = call(api_schema, "POST", judge, viewer, body={**pair, "verdict": "different"})
    assert refused.status_code == 403
    made = call(api_schema, "POST", judge, admin, body={**pair, "verdict": "different", "note": "fuzz"})
    assert made.status_code == 200
    undone = call(api_schema, "POST", undo, admin, body=pair)
    assert undone.status_code == 200


def test_upload_bodies(api_schema: OpenApiSchema, client: TestClient, admin: dict[str, str],
                       viewer: dict[str, str]) -> None:
    operation = api_schema["/upload.json"]["POST"]

    def validate(response: Any, headers: dict[str, str]) -> None:
        response.request.read()  # a multipart body is streamed; Schemathesis reads the request back
        operation.Case().validate_response(response, checks=CHECKS, headers=headers)

    not_a_form = client.post("/upload.json", json={"dataset": "x"}, headers=admin)
    assert not_a_form.status_code == 415
    validate(not_a_form, admin)
    fields = {"dataset": "fuzz-notes", "format": "ftm", "marking": "PURPLE"}
    note = '{"id": "note-1", "schema": "Note", "properties": {"name": ["Seizure tip-off"]}}\n'
    files = {"file": ("notes.jsonl", note.encode(), "application/x-ndjson")}
    bad_marking = client.post("/upload.json", data=fields, files=files, headers=admin)
    assert bad_marking.status_code == 422
    validate(bad_marking, admin)
    taken = client.post("/upload.json", data={**fields, "dataset": web_world.GREEN_DATASET, "marking": "GREEN"},
                        files=files, headers=admin)
    assert taken.status_code == 409  # the NGO's dataset: the name is taken
    validate(taken, admin)
    by_viewer = client.post("/upload.json", data={**fields, "marking": "GREEN"}, files=files, headers=viewer)
    assert by_viewer.status_code == 403
    validate(by_viewer, viewer)


def test_without_a_token_every_operation_answers_401(api_schema: OpenApiSchema, client: TestClient) -> None:
    public = {"/-/health"}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if operation.path in public:
            continue
        path = operation.path.replace("{", "").replace("}", "")
        response = client.request(operation.method.upper(), path)
        assert response.status_code == 401, (operation.method, operation.path, response.status_code)
        assert response.json()["status"] == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_valid_upload_and_its_job_match_the_schema(
    api_schema: OpenApiSchema, client: TestClient, admin: dict[str, str]
) -> None:
    """Last in the module: the upload's ingest writes to the evidence store."""
    note = '{"id": "note-1", "schema": "Note", "properties": {"name": ["Seizure tip-off"]}}\n'
    accepted = client.post("/upload.json", data={"dataset": "fuzz-notes", "format": "ftm", "marking": "GREEN"},
                           files={"file": ("notes.jsonl", note.encode(), "application/x-ndjson")}, headers=admin)
    assert accepted.status_code == 200, accepted.text
    accepted.request.read()
    api_schema["/upload.json"]["POST"].Case().validate_response(accepted, checks=CHECKS, headers=admin)
    job_id = accepted.json()["job_id"]
    deadline = time.monotonic() + UPLOAD_LIMIT_S
    while True:  # every state the job passes through answers as documented
        job = call(api_schema, "GET", "/upload/jobs/{job_id}.json", admin, path_parameters={"job_id": job_id})
        assert job.status_code == 200
        if job.json()["finished"]:
            break
        assert time.monotonic() < deadline, job.json()
        time.sleep(0.25)
    assert (job.json()["state"], job.json()["dataset"], job.json()["marking"]) == ("done", "fuzz-notes", "GREEN")
    assert call(api_schema, "GET", "/upload.json", admin).status_code == 200  # now with a job in its list
