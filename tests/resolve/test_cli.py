"""The resolution verbs as a user runs them: tables, JSON, CSV, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

from chainlight.settings import Settings


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chainlight.cli", *args, "--home", str(settings.home),
         "--database-url", settings.database_url],
        capture_output=True, text=True, timeout=240, check=False,
    )


def test_export_clusters_is_csv_for_what_the_organisation_may_see(pool: Settings) -> None:
    result = run(pool, "export", "clusters", "--organisation", "ngo")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and set(rows[0]) == {"entity_id", "canonical_id"}
    ids = {r["entity_id"]: r["canonical_id"] for r in rows}
    assert ids["reg-ivanov"] == ids["ngo-ivanov"]
    assert not any(e.startswith(("fiu-", "cus-")) for e in ids)  # RED and AMBER stay hidden


def test_explain_and_review_in_json(pool: Settings) -> None:
    explained = run(pool, "explain", "reg-sunrise", "fiu-sunrise", "--json", "--organisation", "fiu")
    assert explained.returncode == 0, explained.stderr
    (link,) = json.loads(explained.stdout)
    assert link["datasets"] == ["fiu", "registry"]
    assert {f["feature"] for f in link["features"]} >= {"name", "countries", "ids"}
    queue = run(pool, "review", "--json", "--organisation", "registry")
    assert queue.returncode == 0, queue.stderr
    assert any({c["left"], c["right"]} == {"reg-hung", "ngo-hung"} for c in json.loads(queue.stdout))


def test_judge_and_undo_from_the_command_line(pool: Settings, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(pool.home, home)
    copy = Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")
    said = run(copy, "judge", "reg-ivanov", "ngo-ivanov", "different", "--note", "different fathers' names")
    assert said.returncode == 0, said.stderr
    assert "different" in said.stdout
    exported = run(copy, "export", "clusters").stdout
    ids = {r["entity_id"]: r["canonical_id"] for r in csv.DictReader(io.StringIO(exported))}
    assert ids["reg-ivanov"] != ids["ngo-ivanov"]
    undone = run(copy, "judge", "reg-ivanov", "ngo-ivanov", "--undo")
    assert undone.returncode == 0 and "undid" in undone.stdout


def test_resolution_errors_are_one_line(pool: Settings, tmp_path: Path) -> None:
    cases = [
        (("judge", "reg-ivanov", "fiu-hung", "same", "--organisation", "ngo"), "no such entity: fiu-hung"),
        (("judge", "reg-ivanov", "ngo-ivanov", "maybe"), "unknown verdict"),
        (("judge", "reg-ivanov", "ngo-ivanov"), "give a verdict"),
        (("resolve", "--group", "ships"), "unknown group"),
    ]
    for args, needle in cases:
        result = run(pool, *args)
        assert result.returncode != 0
        assert "Traceback" not in result.stdout + result.stderr
        assert needle in result.stderr, result.stderr
    empty = Settings.load(tmp_path / "empty", f"sqlite:///{tmp_path / 'empty.db'}")
    result = run(empty, "review")
    assert result.returncode == 1 and "Traceback" not in result.stderr
