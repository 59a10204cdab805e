"""Dataset upload: the form, refusals, the ingest in a child process and the job that follows it.

Each test gets an empty installation with two organisations (customs-ke, wildlife-tz) in a
sharing group and a third group customs-ke is not in. Uploads are real: the file goes through
the multipart form, is stored under ``uploads/``, and a child process
(``python -m chainlight.web.upload_worker``) ingests it while the test polls the job's JSON.
"""

from __future__ import annotations

import html
import os
import re
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.accounts import service
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.store.evidence import EvidenceStore
from chainlight.store.upload_jobs import UploadJobs
from chainlight.web.app import create_app
from chainlight.web.upload import safe_file_name
from tests.conftest import FIXTURES

FTM = (
    b'{"id": "up-co-1", "schema": "Company", "properties": {"name": ["Upload Test Co"], "country": ["ke"]}}\n'
    b'{"id": "up-person-1", "schema": "Person", "properties": {"name": ["Juma Upload"]}}\n'
    b'{"id": "bad-1", "schema": "Spaceship", "properties": {}}\n'
)
FORM = {"dataset": "ke-uploads", "title": "Uploaded leads", "format": "ftm", "marking": "red", "sharing_group": ""}
MISSING = "0" * 32


@pytest.fixture
def home(tmp_path: Path) -> Settings:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group("lake-victoria", ["customs-ke", "wildlife-tz"])
        operational.ensure_sharing_group("sahel", ["wildlife-tz", "ngo-x"])
    finally:
        operational.dispose()
    return settings


@pytest.fixture
def customs(home: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(home, "customs-ke")) as client:
        yield client


def upload(
    client: TestClient, content: bytes = FTM, name: str = "leads.jsonl", path: str = "/upload", **fields: str
) -> Any:
    data = {**FORM, **fields}
    return client.post(path, data=data, files={"file": (name, content, "application/octet-stream")},
                       follow_redirects=False)


def finished(client: TestClient, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the job's twin until the ingest has finished."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/upload/jobs/{job_id}.json")
        assert response.status_code == 200, response.text
        job: dict[str, Any] = response.json()
        if job["finished"]:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.2)


def job_of(response: Any) -> str:
    assert response.status_code == 303, response.text
    location: str = response.headers["location"]
    assert location.startswith("/upload/jobs/")
    return location.removeprefix("/upload/jobs/")


def jobs_in(settings: Settings) -> int:
    operational = pipeline.open_operational(settings)
    try:
        return len(UploadJobs(operational).recent("customs-ke", 1000))
    finally:
        operational.dispose()


def uploads_in(settings: Settings) -> list[Path]:
    folder = settings.home / "uploads"
    return sorted(folder.rglob("*")) if folder.exists() else []


# -- the form ------------------------------------------------------------------------------


def test_the_form_offers_the_ingest_formats_markings_and_own_groups(customs: TestClient) -> None:
    form = customs.get("/upload.json").json()
    assert form["organisation"] == "customs-ke" and form["may_upload"] is True
    values = {f["value"] for f in form["formats"]}
    assert {"ftm", "cites-trade", "bods", "goaml", "csv:seizures", "csv:shipments", "csv:permits"} <= values
    assert all(v.startswith("csv:") for v in values - {"ftm", "cites-trade", "bods", "goaml"})
    assert form["markings"] == ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    assert form["sharing_groups"] == ["lake-victoria"]  # not sahel, which customs-ke is not in
    assert form["jobs"] == []
    html = customs.get("/upload").text
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert '<option value="lake-victoria"' in html and "sahel" not in html
    assert "selected>TLP:" not in html  # no marking is chosen for the uploader
    assert 'name="owner"' not in html and "Owner: <strong>customs-ke</strong>" in html
    assert '<script src="/static/js/upload.js" defer></script>' in html
    assert customs.get("/static/js/upload.js").status_code == 200


def test_the_viewer_role_may_not_upload(home: Settings) -> None:
    with TestClient(create_app(home, "customs-ke", role="viewer")) as client:
        assert client.get("/upload.json").json()["may_upload"] is False
        assert 'id="upload-form"' not in client.get("/upload").text
        assert upload(client).status_code == 403
        assert upload(client, path="/upload.json").status_code == 403
    assert jobs_in(home) == 0 and uploads_in(home) == []


# -- end to end ----------------------------------------------------------------------------


def test_an_ftm_upload_is_ingested_with_its_marking_owner_and_quarantine(home: Settings, customs: TestClient) -> None:
    job_id = job_of(upload(customs, name="../../secret dir/leads (v2).jsonl"))
    page = customs.get(f"/upload/jobs/{job_id}")
    assert page.status_code == 200 and 'data-json-url="/upload/jobs/' in page.text
    job = finished(customs, job_id)
    assert job["state"] == "done", job
    assert (job["owner"], job["uploaded_by"], job["marking"], job["dataset"], job["title"]) == (
        "customs-ke", "local", "RED", "ke-uploads", "Uploaded leads")
    assert job["file_name"] == "leads_v2_.jsonl"
    assert (job["rows_read"], job["rows_loaded"], job["rows_quarantined"]) == (3, 2, 1)
    assert job["statements_added"] > 0 and job["bytes_read"] == job["size"] == len(FTM)
    [problem] = job["problems"]
    assert (problem["file"], problem["line"]) == ("leads_v2_.jsonl", 3)
    assert "Spaceship" in problem["error"]
    assert job["dataset_url"] == "/datasets/ke-uploads"

    dataset = customs.get("/datasets/ke-uploads.json").json()
    assert (dataset["owner"], dataset["marking"], dataset["entities"], dataset["quarantined"]) == (
        "customs-ke", "RED", 2, 1)
    [run] = dataset["runs"]
    assert (run["file"], run["rows_read"], run["rows_loaded"], run["rows_quarantined"]) == ("leads_v2_.jsonl", 3, 2, 1)
    html = customs.get(f"/upload/jobs/{job_id}").text
    assert "leads_v2_.jsonl" in html and "Spaceship" in html and 'href="/datasets/ke-uploads"' in html

    stored = home.home / "uploads" / job_id / "leads_v2_.jsonl"
    assert stored.read_bytes() == FTM
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert all(p.is_relative_to(home.home / "uploads" / job_id) for p in uploads_in(home) if p.is_file())

    # RED: another organisation sees neither the dataset nor the job, exactly as if missing.
    with TestClient(create_app(home, "wildlife-tz")) as other:
        assert other.get("/datasets/ke-uploads.json").status_code == 404
        for suffix in ("", ".json"):
            hidden = other.get(f"/upload/jobs/{job_id}{suffix}")
            missing = other.get(f"/upload/jobs/{MISSING}{suffix}")
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text.replace(job_id, "ID") == missing.text.replace(MISSING, "ID")
        assert other.get("/upload.json").json()["jobs"] == []
        assert "Upload Test Co" not in other.get("/index.json").text

    operational = pipeline.open_operational(home)
    try:
        [entry] = [r for r in access_log.rows(operational) if r.action == "upload"]
    finally:
        operational.dispose()
    assert (entry.organisation, entry.target, entry.marking) == ("customs-ke", "ke-uploads", "RED")
    assert job_id in (entry.detail or "")


def test_uploading_the_same_file_again_adds_nothing(customs: TestClient) -> None:
    first = finished(customs, job_of(upload(customs)))
    again = finished(customs, job_of(upload(customs)))
    assert first["state"] == again["state"] == "done"
    assert first["skipped"] is False and again["skipped"] is True
    assert again["statements_added"] == 0 and "already ingested" in (again["message"] or "")
    assert [j["job_id"] for j in customs.get("/upload.json").json()["jobs"]] == [again["job_id"], first["job_id"]]
    assert len(customs.get("/datasets/ke-uploads.json").json()["runs"]) == 1


def test_a_csv_upload_through_the_json_route_uses_its_builtin_mapping(customs: TestClient) -> None:
    content = (FIXTURES / "csv" / "seizures.csv").read_bytes()
    response = upload(customs, content, name="seizures.csv", path="/upload.json", dataset="ke-seizures",
                      format="csv:seizures", marking="AMBER", sharing_group="lake-victoria")
    assert response.status_code == 200, response.text
    created = response.json()
    assert (created["format"], created["mapping"], created["sharing_group"]) == ("csv", "seizures", "lake-victoria")
    job = finished(customs, created["job_id"])
    assert job["state"] == "done", job
    [run] = customs.get("/datasets/ke-seizures.json").json()["runs"]
    assert (job["rows_read"], job["rows_loaded"], job["rows_quarantined"]) == (
        run["rows_read"], run["rows_loaded"], run["rows_quarantined"])
    assert job["rows_read"] == 3 and job["statements_added"] == run["statements_added"] > 0
    dataset = customs.get("/datasets/ke-seizures.json").json()
    assert (dataset["marking"], dataset["sharing_group"]) == ("AMBER", "lake-victoria")


def test_a_rejected_file_fails_the_job_with_the_reason(customs: TestClient) -> None:
    content = (FIXTURES / "cites" / "wrong-header.csv").read_bytes()
    job = finished(customs, job_of(upload(customs, content, name="trade.csv", dataset="ke-trade",
                                          format="cites-trade", marking="green")))
    assert job["state"] == "failed" and job["message"].startswith("The file was rejected")
    assert job["problems"] and job["dataset_url"] is None
    assert "The file was rejected" in customs.get(f"/upload/jobs/{job['job_id']}").text


# -- the evidence store is busy --------------------------------------------------------------


def test_the_job_page_answers_while_the_ingest_waits_for_the_evidence_store(
    home: Settings, customs: TestClient
) -> None:
    with EvidenceStore(home.evidence_path):  # another writer holds DuckDB's write lock
        assert customs.get("/index.json").status_code == 503
        job_id = job_of(upload(customs, FTM.replace(b"up-person-1", b"up-person-2"), name="more.jsonl"))
        deadline = time.monotonic() + 60
        while (state := customs.get(f"/upload/jobs/{job_id}.json").json()["state"]) != "waiting":
            assert state in ("queued", "waiting") and time.monotonic() < deadline
            time.sleep(0.1)
        assert customs.get(f"/upload/jobs/{job_id}").status_code == 200
        assert customs.get("/upload").status_code == 200
    job = finished(customs, job_id)  # the lock released, the worker goes on
    assert job["state"] == "done" and job["rows_loaded"] == 2
    assert customs.get("/datasets/ke-uploads.json").json()["entities"] == 2


def test_a_worker_that_dies_fails_its_job_and_the_server_goes_on(home: Settings, customs: TestClient) -> None:
    with EvidenceStore(home.evidence_path):
        job_id = job_of(upload(customs))
        deadline = time.monotonic() + 60
        # Registered, then waiting for the lock: the worker holds nothing yet that could be lost.
        while not (customs.get(f"/upload/jobs/{job_id}.json").json()["message"] or "").startswith("Waiting for"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        operational = pipeline.open_operational(home)
        try:
            pid = UploadJobs(operational).get(job_id).pid  # type: ignore[union-attr]
        finally:
            operational.dispose()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        job = finished(customs, job_id, timeout=30)
    assert job["state"] == "failed" and "stopped unexpectedly" in job["message"]
    assert customs.get("/upload.json").status_code == 200
    assert customs.get("/index.json").status_code == 200
    assert customs.get("/datasets/ke-uploads.json").status_code == 200  # registered; nothing was loaded
    assert customs.get("/datasets/ke-uploads.json").json()["entities"] == 0


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "words"),
    [
        ({"marking": "purple"}, 422, "not a TLP 2.0 marking"),
        ({"marking": ""}, 422, "not a TLP 2.0 marking"),
        ({"dataset": "Bad Name!"}, 422, "is not valid"),
        ({"dataset": ""}, 422, "is not valid"),
        ({"format": "csv:/etc/passwd"}, 422, "Choose one of the formats"),
        ({"format": "python"}, 422, "Choose one of the formats"),
        ({"sharing_group": "sahel"}, 422, "not a member of a sharing group named 'sahel'"),
        ({"sharing_group": "lake-victoria"}, 422, "TLP:RED dataset is seen by its owner alone"),
        ({"title": "x" * 257}, 422, "longer than 256"),
    ],
)
def test_a_bad_form_is_refused_with_a_clear_message_and_nothing_is_kept(
    home: Settings, customs: TestClient, fields: dict[str, str], status: int, words: str
) -> None:
    page = upload(customs, **fields)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    text = page.text.replace("&#39;", "'")
    assert words in text and 'role="alert"' in text and "Traceback" not in text
    if fields.get("dataset", "ke-uploads"):
        assert f'value="{fields.get("dataset", "ke-uploads")}"' in text
    if "marking" not in fields:  # what was chosen is kept
        assert '<option value="RED" selected>TLP:RED</option>' in text
    as_json = upload(customs, path="/upload.json", **fields)
    assert as_json.status_code == status and words in as_json.json()["error"]
    assert jobs_in(home) == 0 and uploads_in(home) == []


def test_an_oversized_file_is_refused(home: Settings, customs: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHAINLIGHT_UPLOAD_MAX_BYTES", "200")
    assert customs.get("/upload.json").json()["max_bytes"] == 200
    big = FTM * 2  # a little over 200 bytes: under the form overhead, caught when stored
    page = upload(customs, big)
    assert page.status_code == 413 and "larger than the upload limit of 200 bytes" in page.text
    huge = b"x" * (200 + 65 * 1024)  # over the limit and the overhead: caught while reading the stream
    assert upload(customs, huge, path="/upload.json").status_code == 413
    assert jobs_in(home) == 0 and uploads_in(home) == []


def test_other_refusals(home: Settings, customs: TestClient) -> None:
    operational = pipeline.open_operational(home)
    try:
        operational.ensure_dataset("tz-owned", owner="wildlife-tz", marking=Marking.RED)
        operational.ensure_dataset("ke-green", owner="customs-ke", marking=Marking.GREEN)
    finally:
        operational.dispose()
    taken = upload(customs, dataset="tz-owned")
    assert taken.status_code == 409 and "is taken: choose another name" in taken.text
    assert "wildlife-tz" not in taken.text.split("<main", 1)[1].split("</main>", 1)[0].split("Uploads of")[0]
    other_marking = upload(customs, dataset="ke-green", marking="AMBER")
    assert other_marking.status_code == 409 and "marked TLP:GREEN" in other_marking.text
    no_file = customs.post("/upload", data=FORM, files={"other": ("x", b"y")})
    assert no_file.status_code == 422 and "Choose a file" in no_file.text
    empty = upload(customs, b"")
    assert empty.status_code == 422 and ("The file is empty" in empty.text or "Choose a file" in empty.text)
    not_multipart = customs.post("/upload.json", json=FORM)
    assert not_multipart.status_code == 415 and not_multipart.json()["status"] == 415
    assert customs.get("/upload/jobs/not-a-job.json").status_code == 422
    assert jobs_in(home) == 0 and uploads_in(home) == []


def test_file_names_are_made_safe() -> None:
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("C:\\Users\\x\\report 2024.csv") == "report_2024.csv"
    assert safe_file_name(".hidden") == "hidden"
    assert safe_file_name("..") == "upload"
    assert safe_file_name("") == "upload"
    assert safe_file_name("naïve résumé.json") == "na_ve_r_sum_.json"
    assert len(safe_file_name("a" * 500 + ".csv")) == 100
    assert "/" not in safe_file_name("a/b\\c/../d")


def test_a_signed_in_analyst_uploads_with_the_forms_csrf_token(home: Settings) -> None:
    operational = pipeline.open_operational(home)
    try:
        service.add_user(operational, "analyst@customs.example", organisation="customs-ke", role="analyst",
                         password="a long pass phrase 42")
    finally:
        operational.dispose()
    with TestClient(create_app(home), base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token is not None
        signed = client.post("/login", data={"email": "analyst@customs.example", "password": "a long pass phrase 42",
                                             "csrf_token": token.group(1), "next": "/upload"})
        assert signed.status_code == 303
        page = client.get("/upload").text
        action = re.search(r'id="upload-form"[^>]*action="([^"]+)"', page, flags=re.S)
        assert action is not None and "csrf_token=" in action.group(1)
        forged = upload(client, path="/upload")  # no token: a cross-site form could send this
        assert forged.status_code == 403
        job_id = job_of(upload(client, path=html.unescape(action.group(1))))
        job = finished(client, job_id)
    assert (job["state"], job["uploaded_by"], job["owner"]) == ("done", "analyst@customs.example", "customs-ke")
    assert jobs_in(home) == 1
