"""The risk benchmark: its generator writes CSVs the ingest mappings read, and it runs end to end."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from chainlight.demo.sources import ASSESSMENT_COLUMNS, INCIDENT_COLUMNS
from chainlight.reference.ports import lookup
from chainlight.risk.catalogue import Catalogue

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import risk_data  # noqa: E402


def _rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture
def where() -> risk_data.Ports:
    return risk_data.ports(3)


def test_incidents_are_valid_macn_rows_skewed_to_hotspots(tmp_path: Path, where: risk_data.Ports) -> None:
    header, rows = _rows(risk_data.write_incidents(tmp_path / "incidents.csv", 5000, 3, where))
    assert header == list(INCIDENT_COLUMNS)
    assert len(rows) == 5000
    assert len({r["incident_id"] for r in rows}) == 5000
    catalogue = Catalogue.load()
    for row in rows:
        info = lookup(row["port"])
        assert info is not None and info.unlocode == row["port"]
        assert row["country"] == row["port"][:2]
        assert date(2019, 1, 1) <= date.fromisoformat(row["date"]) < date(2025, 1, 1)
        assert (row["item_demanded"] == "cash") == bool(row["amount"]) == (row["currency"] == "USD")
    stages = {r["process_stage"] for r in rows}
    # Every wording but the one planted as unknown lands on a catalogue stage.
    assert {s for s in stages if catalogue.stage_of(s) not in catalogue.stages} == {"bunkering"}
    assert all(catalogue.actor_of(r["demanding_actor"]) in catalogue.actors for r in rows)
    at_hotspots = sum(r["port"] in set(where.hotspots) for r in rows) / len(rows)
    assert at_hotspots > 0.25
    reporting = {r["port"] for r in rows}
    assert len(reporting) < 0.65 * len(where.codes)  # many ports have no report at all


def test_assessments_rate_ports_against_catalogue_controls(tmp_path: Path, where: risk_data.Ports) -> None:
    header, rows = _rows(risk_data.write_assessments(tmp_path / "assessments.csv", 2000, 3, where))
    assert header == list(ASSESSMENT_COLUMNS)
    assert len(rows) == 2000
    catalogue = Catalogue.load()
    for row in rows:
        assert lookup(row["subject_port"]) is not None
        assert catalogue.control_of(row["control"]) in catalogue.controls
        assert row["status"] in risk_data.STATUSES
        assert (row["score"] == "") == (row["status"] == "unknown")
        date.fromisoformat(row["date"])
    hot = [r for r in rows if r["subject_port"] in set(where.hotspots)]
    assert hot and sum(r["status"] == "absent" for r in hot) / len(hot) > 0.2


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    a = risk_data.write_incidents(tmp_path / "a.csv", 300, 5)
    b = risk_data.write_incidents(tmp_path / "b.csv", 300, 5)
    c = risk_data.write_incidents(tmp_path / "c.csv", 300, 6)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_bench_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCH / "risk.py"), "--incidents", "2000", "--assessments", "200", "--repeat", "1",
         "--work", str(tmp_path / "work"), "--json", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["load"]["incidents"]["quarantined"] == 0
    assert results["baselines"]["csv"]["cells"] > 0
    assert results["baselines"]["projection"]["cells"] == results["baselines"]["csv"]["cells"]
    risk = results["risk"]
    assert risk["ports_scored"] >= 3803
    tables = {t["table"]: t["rows"] for t in risk["tables"]}
    assert tables["risk_ports"] >= 3803
    assert 0 < tables["risk_incidents"] <= 2000
    assert tables["risk_assessments"] == 200
    assert risk["together"]["best_s"] > 0
