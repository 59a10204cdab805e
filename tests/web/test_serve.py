"""``chainlight serve`` starts a real server that asks for a sign-in, answers on loopback and stops cleanly."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from tests.support.web_world import free_port, wait_until_up


@pytest.mark.timeout(600)
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_pages_and_json_then_stops(settings: Settings, tmp_path: Path, workers: int) -> None:
    entities = tmp_path / "notes.jsonl"
    entities.write_text('{"id": "note-1", "schema": "Note", "properties": {"name": ["Seizure tip-off"]}}\n')
    pipeline.ingest(settings, "ftm", [entities], dataset="tips", marking=Marking.GREEN, owner="ngo-y")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "chainlight.cli", "serve", "--home", str(settings.home),
               "--database-url", settings.database_url, "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    cli = [sys.executable, "-m", "chainlight.cli", "accounts"]
    where = ["--home", str(settings.home), "--database-url", settings.database_url]
    subprocess.run([*cli, "org", "add", "local", *where], check=True, capture_output=True)
    made = subprocess.run([*cli, "user", "add", "ana@local.example", "-o", "local", *where], check=True,
                          capture_output=True, text=True)
    password = made.stdout.strip()  # printed once, on stdout alone
    try:
        wait_until_up(base, server)
        assert httpx.get(f"{base}/", timeout=10).status_code == 303  # sign in first
        assert httpx.get(f"{base}/index.json", timeout=10).status_code == 401
        with httpx.Client(base_url=base, timeout=10) as browser:
            form = browser.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            signed = browser.post("/login", data={"email": "ana@local.example", "password": password,
                                                  "csrf_token": token.group(1), "next": "/"})
            assert signed.status_code == 303
            page = browser.get("/")
            assert page.status_code == 200
            assert '<a href="/datasets/tips">tips</a>' in page.text
            assert "Viewing as <strong>local</strong>" in page.text
            assert page.headers["x-content-type-options"] == "nosniff"
            for _ in range(4 * workers):  # whichever process answers, the session holds
                assert browser.get("/account.json").json()["user"] == "ana@local.example"
            index = browser.get("/index.json").json()
            assert index["organisation"] == "local"
            assert [(d["name"], d["owner"], d["entities"]) for d in index["datasets"]] == [("tips", "ngo-y", 1)]
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert b"Traceback" not in stderr
