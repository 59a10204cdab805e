"""The incident report form: choices only, refusals, CSRF, and a report ingested as an upload.

Each test gets an empty installation with customs-ke in a sharing group; a report goes through
the real form, the upload job and its child process, like an upload does.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.accounts import service
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.store.entities import iter_entities
from chainlight.store.evidence import EvidenceStore
from chainlight.store.upload_jobs import UploadJobs
from chainlight.web.app import create_app
from chainlight.web.risk_incidents import check_report

REPORT = {"port": "KEMBA", "month": "2025-03", "stage": "physical-inspection", "actor": "customs", "item": "cash",
          "amount": "150", "currency": "USD", "consequence": "delay", "outcome": "paid", "marking": "GREEN"}


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group("lake-victoria", ["customs-ke", "wildlife-tz"])
    finally:
        operational.dispose()
    return settings


@pytest.fixture
def customs(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home, "customs-ke"), follow_redirects=False) as client:
        yield client


def jobs_in(settings: Settings) -> int:
    operational = pipeline.open_operational(settings)
    try:
        return len(UploadJobs(operational).recent("customs-ke", 1000))
    finally:
        operational.dispose()


def finished(client: TestClient, location: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job: dict[str, Any] = client.get(location + ".json").json()
        if job["finished"]:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def test_the_form_offers_choices_only(customs: TestClient) -> None:
    page = customs.get("/risk/incidents/new")
    assert page.status_code == 200
    text = page.text
    assert 'name="csrf_token"' in text and 'action="/risk/incidents/new"' in text
    assert '<option value="physical-inspection"' in text and '<option value="port-authority"' in text
    assert 'type="month"' in text and "<textarea" not in text
    # the port code is the only typed field besides the month and the amount
    assert re.findall(r'type="text" name="(\w+)"', text) == ["port"]
    assert "<script>" not in text and "style=" not in text  # strict CSP: no inline script or style
    assert '<option value="GREEN" selected>' in text
    form = customs.get("/risk/incidents/new.json").json()
    assert form["dataset"] == "customs-ke-incidents" and form["dataset_marking"] is None
    assert form["default_marking"] == "GREEN" and form["may_report"] is True
    assert {s["value"] for s in form["stages"]} >= {"vessel-clearance", "release", "document-check"}
    assert {a["value"] for a in form["actors"]} >= {"customs", "pilot", "port-authority"}
    assert form["sharing_groups"] == ["lake-victoria"]


def test_a_report_is_ingested_as_one_incident(home: Settings, customs: TestClient) -> None:
    response = customs.post("/risk/incidents/new", data=REPORT)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/upload/jobs/")
    job = finished(customs, location)
    assert job["state"] == "done", job
    assert (job["dataset"], job["owner"], job["marking"], job["format"], job["mapping"]) == (
        "customs-ke-incidents", "customs-ke", "GREEN", "csv", "incidents")
    assert (job["rows_read"], job["rows_loaded"], job["rows_quarantined"]) == (1, 1, 0)
    with EvidenceStore(home.evidence_path, read_only=True) as store:
        [incident] = [p for p in iter_entities(store, ["customs-ke-incidents"]) if p.schema.name == "Incident"]
    assert incident.get("date") == ["2025-03"]  # month precision, never a day
    assert incident.get("processStage") == ["physical-inspection"]
    assert incident.get("demandingActorType") == ["customs"]
    assert incident.get("amount") == ["150"] and incident.get("currency") == ["USD"]
    assert incident.get("country") == ["ke"]
    assert incident.get("recordId")[0].startswith("WEB-")
    # a second report keeps the dataset's marking, and the form now offers only that one
    form = customs.get("/risk/incidents/new.json").json()
    assert form["dataset_marking"] == "GREEN"
    refused = customs.post("/risk/incidents/new", data={**REPORT, "marking": "RED"})
    assert refused.status_code == 409 and "TLP:GREEN" in refused.text
    operational = pipeline.open_operational(home)
    try:
        [entry] = [r for r in access_log.rows(operational) if r.action == "incident.report"]
    finally:
        operational.dispose()
    assert (entry.organisation, entry.target, entry.marking) == ("customs-ke", "customs-ke-incidents", "GREEN")
    assert "KEMBA" not in (entry.detail or "")  # the log says a report was made, not what it says


@pytest.mark.parametrize(("change", "message"), [
    ({"ship_name": "MV Example"}, "no free text"),
    ({"note": "the pilot asked twice"}, "remove 'note'"),
    ({"stage": "bribery-desk"}, "Choose a process stage from the list"),
    ({"actor": "Captain Smith"}, "Choose a demanding actor from the list"),
    ({"month": "2025-03-14"}, "use YYYY-MM"),
    ({"month": "2999-01"}, "not between 1990-01 and this month"),
    ({"port": "ZZZZZ"}, "not a UN/LOCODE"),
    ({"port": "Mombasa harbour"}, "not a UN/LOCODE"),
    ({"currency": ""}, "both an amount and its currency"),
    ({"amount": "lots"}, "is not a number"),
    ({"marking": "PURPLE"}, "not a TLP 2.0 marking"),
])
def test_a_bad_report_is_refused_with_a_clear_message(
    home: Settings, customs: TestClient, change: dict[str, str], message: str
) -> None:
    response = customs.post("/risk/incidents/new", data={**REPORT, **change})
    assert response.status_code == 422, response.text
    assert message in html.unescape(response.text)
    assert 'id="incident-form"' in response.text  # the form again, to correct
    assert jobs_in(home) == 0


def test_check_report_writes_the_macn_row() -> None:
    row = check_report({**REPORT, "port": "tzdar", "amount": "", "currency": ""})
    assert row["port"] == "TZDAR" and row["country"] == "TZ" and row["date"] == "2025-03"
    assert row["amount"] == row["currency"] == ""
    assert set(row) == {"incident_id", "port", "country", "date", "process_stage", "demanding_actor",
                        "item_demanded", "amount", "currency", "consequence_of_refusal", "outcome"}


def test_the_viewer_role_may_not_report(home: Settings) -> None:
    with TestClient(create_app(home, "customs-ke", role="viewer")) as client:
        assert client.get("/risk/incidents/new.json").json()["may_report"] is False
        assert 'id="incident-form"' not in client.get("/risk/incidents/new").text
        assert client.post("/risk/incidents/new", data=REPORT).status_code == 403
    assert jobs_in(home) == 0


def test_a_signed_in_analyst_needs_the_forms_csrf_token(home: Settings) -> None:
    operational = pipeline.open_operational(home)
    try:
        service.add_user(operational, "analyst@customs.example", organisation="customs-ke", role="analyst",
                         password="a long pass phrase 42")
    finally:
        operational.dispose()
    with TestClient(create_app(home), base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        login = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert login is not None
        signed = client.post("/login", data={"email": "analyst@customs.example", "password": "a long pass phrase 42",
                                             "csrf_token": login.group(1), "next": "/risk/incidents/new"})
        assert signed.status_code == 303
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/risk/incidents/new").text)
        assert token is not None
        forged = client.post("/risk/incidents/new", data=REPORT)
        assert forged.status_code == 403
        assert jobs_in(home) == 0
        sent = client.post("/risk/incidents/new", data={**REPORT, "csrf_token": token.group(1)})
        assert sent.status_code == 303, sent.text
        job = finished(client, sent.headers["location"])
    assert (job["state"], job["uploaded_by"]) == ("done", "analyst@customs.example")
