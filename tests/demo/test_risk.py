"""The synthetic world exercises the corruption-risk features: missed opportunities at the
planted hotspot ports (as the risk evidence build finds them), concrete controls with
re-assessments, and a country index that says everywhere that it is synthetic."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from chainlight import pipeline
from chainlight.demo import risk as demo_risk
from chainlight.demo.load import _existing, load_indices
from chainlight.demo.world import GENERATOR_VERSION, WorldManifest, generate_world
from chainlight.model.markings import Marking
from chainlight.reference import ports as reference_ports
from chainlight.risk import evidence, indices
from chainlight.risk.catalogue import Catalogue
from chainlight.rules.alerts import Reader
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

QUIET = Console(quiet=True)
UNITS = 0.3


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _patterns(world: Path) -> dict[str, list[dict[str, Any]]]:
    patterns: dict[str, list[dict[str, Any]]] = json.loads((world / "truth.json").read_text("utf-8"))["patterns"]
    return patterns


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("risk-world")
    generate_world(out, scale=1, seed=7, console=QUIET, _units=UNITS)
    return out


def _port_id(code: str) -> str:
    found = reference_ports.lookup(code)
    assert found is not None, code
    return found.entity_id


def test_missed_opportunities_pass_the_hotspots_and_are_seized_downstream(world: Path) -> None:
    patterns = _patterns(world)
    hotspots = set(patterns["port_hotspots"][0]["ports"])
    missed = patterns["missed_opportunities"]
    assert len(missed) == 2  # round(6 * 0.3)
    seizures = {s["seizure_id"]: s for s in _rows(world / "ngo-seizures" / "seizures.csv")}
    bills = {b["document_number"]: b for b in _rows(world / "customs-ke" / "bills_of_lading.csv")}
    dna = {doc for case in patterns["dna_linked_seizures"] for link in case["links"] for doc in link["shipments"]}
    for case in missed:
        seizure, bill = seizures[case["seizure"]], bills[case["shipment"]]
        assert seizure["document_number"] == case["shipment"] and seizure["port"] == case["seized_at"]
        assert case["shipment"] not in dna
        assert seizure["suspect_ids"]
        transits = [t for t in bill["transit_ports"].split(";") if t]
        assert case["seized_at"] != bill["port_of_loading"]
        if case["seized_at"] == bill["port_of_discharge"]:
            assert case["ports_missed"] == [bill["port_of_loading"], *transits]
            assert seizure["date"] >= bill["arrival_date"]
        else:
            assert case["seized_at"] in transits and case["ports_missed"] == [bill["port_of_loading"]]
            assert bill["departure_date"] < seizure["date"] < bill["arrival_date"]
        assert case["hotspots_missed"] and set(case["hotspots_missed"]) <= hotspots & set(case["ports_missed"])
        assert "2021-03-01" <= case["date"] <= "2023-12-31"


def test_the_risk_evidence_counts_the_missed_opportunities_at_the_planted_ports(
    world: Path, settings: Settings
) -> None:
    manifest = WorldManifest.read(world)
    for entry in manifest.files:
        if entry.mapping in ("shipments", "seizures", "assessments"):
            pipeline.ingest(settings, entry.format, [world / entry.path], dataset=entry.dataset,
                            marking=Marking.parse(entry.marking), owner=entry.owner,
                            options={"mapping": entry.mapping}, rebuild=False, labels=[entry.path])
    pipeline.rebuild_projections(settings)
    with EvidenceStore(settings.evidence_path) as store:
        report = evidence.build(store, home=settings.home)
        found: dict[str, set[str]] = {}
        for port_id, seizure in store.fetchall("SELECT port_id, seizure_id FROM risk_missed_seizures"):
            found.setdefault(seizure, set()).add(port_id)
        controls = store.fetchall(
            "SELECT port_id, control, framework, status, date FROM risk_assessments ORDER BY port_id, control, date"
        )
    patterns = _patterns(world)
    planted = {case["seizure"]: case for case in patterns["missed_opportunities"]}
    # every planted missed opportunity, at exactly the ports it passed; nothing else is missed
    assert report.missed_seizures == sum(len(c["ports_missed"]) for c in planted.values())
    assert sorted(map(sorted, found.values())) == sorted(
        sorted({_port_id(p) for p in c["ports_missed"]}) for c in planted.values()
    )
    hotspot_ids = {_port_id(p) for p in patterns["port_hotspots"][0]["ports"]}
    assert all(ports & hotspot_ids for ports in found.values())

    # concrete controls reach the risk evidence as catalogue keys, weak at the hotspots
    catalogue = Catalogue.load()
    concrete = {catalogue.control_of(c) for c, _ in demo_risk.CONCRETE}
    assert concrete <= set(catalogue.controls)
    assert all(catalogue.controls[k].framework != "revised-arusha-declaration" for k in concrete)
    rows = [r for r in controls if r[1] in concrete]
    assert {r[1] for r in rows} == concrete
    credit = {"in-place": 1.0, "partial": 0.5, "absent": 0.0}

    def mean_credit(ports: set[str] | None, inside: bool) -> float:
        values = [credit[r[3]] for r in rows if (r[0] in (ports or set())) == inside]
        return sum(values) / len(values)

    assert mean_credit(hotspot_ids, True) < 0.4 < 0.6 < mean_credit(hotspot_ids, False)
    dates: dict[tuple[str, str], list[Any]] = {}
    for port_id, control, _, status, day in rows:
        dates.setdefault((port_id, control), []).append((day, status))
    reassessed = {port for (port, _), seen in dates.items() if len(seen) == 2}
    assessed = patterns["control_assessments"][0]
    assert reassessed == {_port_id(p) for p in assessed["reassessed"]}
    assert max(len(seen) for seen in dates.values()) == 2
    for change in assessed["changes"]:
        seen = dates[(_port_id(change["port"]), catalogue.control_of(change["control"]))]
        assert [s for _, s in sorted(seen)] == [change["from"], change["to"]]
        assert seen[0][0].year == 2021 and seen[1][0].year == 2023


def test_the_country_index_is_generated_marked_synthetic_and_loads(world: Path, settings: Settings) -> None:
    manifest = WorldManifest.read(world)
    assert manifest.version == GENERATOR_VERSION == 2
    assert {e.format for e in manifest.files} == {"csv", "cites-trade", "goaml", "bods", "ftm"}  # files unchanged
    (entry,) = manifest.indices
    assert entry.synthetic and entry.marking == "CLEAR" and entry.owner == "chainlight-demo"
    for text in (entry.label, entry.source, entry.licence):
        assert "not real data" in text
    assert entry.label == "Synthetic governance index (demo only, not real data)"
    rows = _rows(world / entry.path)
    assert rows and all(r["note"] == "synthetic, not real data" for r in rows)
    assert "NOT REAL DATA" in (world / "indices" / "README.txt").read_text("utf-8")
    latest = {r["country"]: float(r["score"]) for r in rows if r["year"] == "2023"}
    worst = set(_patterns(world)["synthetic_index"][0]["worst_countries"])
    assert worst and max(latest[c] for c in worst) < min(v for c, v in latest.items() if c not in worst)

    line = load_indices(settings, world, manifest.indices, QUIET)
    assert line == f"country indices: {entry.label}: {len(rows)} values"
    operational = pipeline.open_operational(settings)
    try:
        reader = Reader.of(operational.dataset_access(), "some-organisation")
    finally:
        operational.dispose()
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        (listed,) = indices.list_indices(store, reader)
        risk = indices.risk_values(store, reader)
    assert listed.spec.label == entry.label and listed.spec.licence == entry.licence
    assert listed.marking is Marking.CLEAR and listed.countries == len(latest)
    assert all(risk[c.lower()].value >= 0.7 for c in worst)


def test_a_world_from_an_older_generator_is_generated_again(world: Path, tmp_path: Path) -> None:
    copy = tmp_path / "world"
    copy.mkdir()
    data = json.loads((world / "manifest.json").read_text("utf-8"))
    for name in ["truth.json", *(f["path"] for f in data["files"]), *(i["path"] for i in data["indices"])]:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).symlink_to(world / name)
    (copy / "manifest.json").write_text(json.dumps(data), "utf-8")
    assert _existing(copy, 7) is not None
    data["version"] = 1
    (copy / "manifest.json").write_text(json.dumps(data), "utf-8")
    assert _existing(copy, 7) is None
