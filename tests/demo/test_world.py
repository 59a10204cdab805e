"""The synthetic world: deterministic, valid in every real format, and its truth file
points at entities the readers actually create."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from rich.console import Console

from chainlight.demo.identifiers import iban, iban_valid, imo_number, imo_valid
from chainlight.demo.names import PersonName, ascii_fold, person_variant
from chainlight.demo.trade import HEADER
from chainlight.demo.world import WorldManifest, generate_world
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

GOAML_XSD = (
    Path(__file__).resolve().parents[2] / "src" / "chainlight" / "ingest" / "schemas" / "goaml" / "goAMLSchema.xsd"
)
TINY = 0.05
QUIET = Console(quiet=True)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _truth(world: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo world itself (scale 1), generated once for the module."""
    out = tmp_path_factory.mktemp("world")
    generate_world(out, scale=1, seed=7, console=QUIET)
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_world(a, scale=1, seed=11, console=QUIET, _units=TINY)
    generate_world(b, scale=1, seed=11, console=QUIET, _units=TINY)
    generate_world(c, scale=1, seed=12, console=QUIET, _units=TINY)
    first, second, other = _files(a), _files(b), _files(c)
    assert len(first) > 10
    assert first == second
    assert first["customs-ke/bills_of_lading.csv"] != other["customs-ke/bills_of_lading.csv"]


def test_scale_one_is_the_demo_size(world: Path) -> None:
    manifest = WorldManifest.read(world)
    assert 45_000 <= manifest.counts["trade_rows"] <= 55_000
    assert manifest.counts["shipments"] == 1500
    assert 1_000 <= manifest.counts["people"] + manifest.counts["companies"] <= 5_000
    formats = {f.format for f in manifest.files}
    assert formats == {"csv", "cites-trade", "goaml", "bods", "ftm"}
    for entry in manifest.files:
        assert (world / entry.path).is_file(), entry.path
    markings = {f.dataset: (f.marking, f.owner, f.sharing_group) for f in manifest.files}
    assert markings["fiu-goaml"] == ("RED", "fiu", None)
    assert markings["ngo-investigation"] == ("AMBER+STRICT", "wildlife-ngo", "iwt-taskforce")
    assert markings["unep-wcmc"] == ("CLEAR", "unep-wcmc", None)
    mappings = {f.mapping for f in manifest.files if f.format == "csv"}
    assert mappings == {
        "shipments",
        "permits",
        "endorsements",
        "seizures",
        "genetic-samples",
        "genetic-matches",
        "incidents",
        "assessments",
    }


def test_every_goaml_report_validates_against_the_xsd(world: Path) -> None:
    schema = xmlschema.XMLSchema11(str(GOAML_XSD))
    reports = sorted((world / "fiu-goaml").glob("*.xml"))
    assert len(reports) > 10
    for report in reports:
        errors = list(schema.iter_errors(str(report)))
        assert not errors, f"{report.name}: {errors[0].reason} at {errors[0].path}"


def test_every_bods_statement_validates_against_the_schema(world: Path, shared: Path) -> None:
    root = shared / "standards" / "bods" / "schema"
    documents = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(root.glob("*.json"))]
    registry: Registry[Any] = Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in documents if "$id" in doc
    )
    package_schema = json.loads((root / "statement.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(package_schema, registry=registry, format_checker=FormatChecker())
    packages = sorted((world / "bo-registry").glob("*.json"))
    assert packages
    total = 0
    for package in packages:
        statements = json.loads(package.read_text(encoding="utf-8"))
        total += len(statements)
        errors = list(validator.iter_errors(statements))
        assert not errors, f"{package.name}: {errors[0].message[:300]}"
    assert total > 500
    types = {s["recordType"] for s in json.loads(packages[0].read_text(encoding="utf-8"))}
    assert types == {"entity", "person", "relationship"}


def _cites_codes(shared: Path) -> dict[str, set[str]]:
    codes: dict[str, set[str]] = defaultdict(set)
    for row in _read_csv(shared / "reference" / "cites-codes.csv"):
        codes[row["field"]].add(row["code"])
    with (shared / "reference" / "cites-countries.tsv").open(encoding="utf-8") as fh:
        codes["Country"] = {row["code"] for row in csv.DictReader(fh, delimiter="\t")}
    return codes


def test_cites_trade_rows_have_the_bulk_layout_and_real_codes(world: Path, shared: Path) -> None:
    codes = _cites_codes(shared)
    files = sorted((world / "unep-wcmc").glob("*.csv"))
    ids: set[str] = set()
    disagreements = 0
    for path in files:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            assert tuple(next(reader)) == HEADER
            rows = [dict(zip(HEADER, row, strict=True)) for row in reader]
        for row in rows:
            ids.add(row["Id"])
            assert row["Term"] in codes["Term"], row
            assert row["Unit"] == "" or row["Unit"] in codes["Unit"], row
            assert row["Purpose"] in codes["Purpose"] and row["Source"] in codes["Source"], row
            for column in ("Importer", "Exporter"):
                assert row[column] in codes["Country"], row
            assert row["Origin"] == "" or row["Origin"] in codes["Country"], row
            assert row["Reporter.type"] in {"E", "I"}
            assert row["Appendix"] in {"I", "II", "III"}
            for column in ("Import.permit.RandomID", "Export.permit.RandomID", "Origin.permit.RandomID"):
                assert row[column] == "" or (len(row[column]) == 10 and row[column].isalnum()), row
            float(row["Quantity"])
        by_tx = defaultdict(list)
        for row in rows:
            if row["Export.permit.RandomID"]:
                by_tx[row["Export.permit.RandomID"]].append(row)
        disagreements += sum(
            1
            for group in by_tx.values()
            if {r["Reporter.type"] for r in group} == {"E", "I"} and len({r["Quantity"] for r in group}) > 1
        )
    assert len(ids) == sum(1 for p in files for _ in p.open(encoding="utf-8")) - len(files)
    assert disagreements > 100


def test_check_digits_are_valid() -> None:
    import random

    rng = random.Random(3)
    assert all(imo_valid(imo_number(rng)) for _ in range(200))
    assert imo_valid("9074729") and not imo_valid("9074728")
    assert iban_valid("GB82WEST12345698765432")
    for country in ("AE", "TR", "MZ", "VG", "SC"):
        value = iban(rng, country)
        assert iban_valid(value), value
        assert not iban_valid(value[:-1] + ("1" if value[-1] != "1" else "2"))


def test_vessels_and_accounts_in_the_sources_carry_valid_check_digits(world: Path) -> None:
    imos = {r["vessel_imo"] for r in _read_csv(world / "customs-ke" / "bills_of_lading.csv") if r["vessel_imo"]}
    assert imos and all(imo_valid(i) for i in imos)
    ibans = {el.text or "" for p in (world / "fiu-goaml").glob("*.xml") for el in ET.parse(p).iter("iban")}
    assert ibans and all(iban_valid(i) for i in ibans)


def test_names_are_written_the_way_sources_write_them() -> None:
    import random

    name = PersonName("Văn Hùng", "Nguyễn", True)
    rng = random.Random(1)
    assert person_variant(rng, name, "registry") == "Nguyễn Văn Hùng"
    assert person_variant(rng, name, "customs") == "NGUYEN VAN HUNG"
    assert person_variant(rng, name, "ngo") == "Hung Nguyen"
    assert person_variant(rng, name, "bank") == "NGUYEN, Van Hung"
    assert ascii_fold("Đặng") == "Dang"


def test_planted_permit_abuse_is_in_the_data(world: Path) -> None:
    truth = _truth(world)
    shipments = _read_csv(world / "customs-ke" / "bills_of_lading.csv")
    permits = {
        (p["issuing_country"], p["permit_number"]): p for p in _read_csv(world / "cites-permits" / "permits.csv")
    }
    endorsements = _read_csv(world / "cites-permits" / "endorsements.csv")
    on_shipments = defaultdict(set)
    for s in shipments:
        if s["permit_number"]:
            on_shipments[(s["permit_country"], s["permit_number"])].add(s["document_number"])
    reused = truth["patterns"]["reused_permit"]
    assert reused
    for case in reused:
        documents = on_shipments[(case["permit_country"], case["permit_number"])]
        assert len(documents) >= 2 and documents == set(case["shipments"])
        assert len(case["trade_record_ids"]) >= 2
    endorsed: dict[tuple[str, str], float] = defaultdict(float)
    for e in endorsements:
        endorsed[(e["permit_country"], e["permit_number"])] += float(e["actual_quantity"])
    for case in truth["patterns"]["over_endorsed_permit"]:
        key = (case["permit_country"], case["permit_number"])
        assert endorsed[key] > float(permits[key]["quantity"])
    for case in truth["patterns"]["reexport_exceeds_import"]:
        original = permits[(case["original_country"], case["original_permit"])]
        certificates = [permits[(case["certificate_country"], n)] for n in case["reexport_certificates"]]
        assert all(c["original_permit_number"] == original["permit_number"] for c in certificates)
        assert sum(float(c["quantity"]) for c in certificates) > float(original["quantity"])
    for case in truth["patterns"]["stolen_permit_used"]:
        assert permits[(case["permit_country"], case["permit_number"])]["status"] == "stolen"
        assert set(case["shipments"]) <= on_shipments[(case["permit_country"], case["permit_number"])]


def test_planted_laundering_and_dna_links_are_in_the_data(world: Path) -> None:
    truth = _truth(world)
    laundering = truth["patterns"]["captive_breeding_laundering"][0]
    wanted = set(laundering["record_ids"])
    found = 0
    for path in sorted((world / "unep-wcmc").glob("*.csv")):
        for row in _read_csv(path):
            if int(row["Id"]) in wanted:
                found += 1
                assert row["Exporter"] == laundering["exporter"] and row["Source"] in {"C", "D", "F", "R"}
            elif row["Exporter"] == laundering["exporter"] and row["Taxon"] in {
                "Morelia viridis",
                "Kinixys homeana",
                "Smaug giganteus",
            }:
                assert row["Source"] not in {"C", "D", "F", "R"}
    assert found == len(wanted) >= 20
    seizures = {s["seizure_id"]: s for s in _read_csv(world / "ngo-seizures" / "seizures.csv")}
    matches = {(m["seizure_a"], m["seizure_b"]) for m in _read_csv(world / "ngo-seizures" / "genetic_matches.csv")}
    links = [link for case in truth["patterns"]["dna_linked_seizures"] for link in case["links"]]
    assert links
    for link in links:
        a, b = link["seizures"]
        assert (a, b) in matches
        assert seizures[a]["port"] == seizures[b]["port"] == link["port"]
        assert abs((date.fromisoformat(seizures[b]["date"]) - date.fromisoformat(seizures[a]["date"])).days) <= 330
        assert {seizures[a]["document_number"], seizures[b]["document_number"]} == set(link["shipments"])


def test_planted_bribes_and_layered_ownership_are_in_the_data(world: Path) -> None:
    truth = _truth(world)
    actors = {a["actor"]: a for a in truth["actors"]}
    transactions = {
        el.text for p in (world / "fiu-goaml").glob("*.xml") for el in ET.parse(p).iter("transactionnumber")
    }
    bribes = truth["patterns"]["bribe_via_relative"]
    assert bribes
    for case in bribes:
        assert set(case["transactions"]) <= transactions
        assert actors[case["official"]]["role"].startswith("official-")
        assert actors[case["relative"]]["role"] == "relative"
    chains = truth["patterns"]["layered_ownership"]
    assert chains and all(c["depth"] >= 3 for c in chains)
    for chain in chains:
        shells = [actors[k] for k in chain["chain"][1:-1]]
        assert all(s["role"] == "shell" and s["country"] in {"SC", "VG", "PA", "AE"} for s in shells)


def test_truth_mentions_are_entities_once_the_world_is_ingested(tmp_path: Path, settings: Settings) -> None:
    from chainlight.demo.load import load_world

    world_dir = tmp_path / "world"
    generate_world(world_dir, scale=1, seed=5, console=QUIET, _units=TINY)
    summary = load_world(settings, world_dir, seed=5, console=QUIET)
    assert not summary.generated
    assert summary.quarantined == 0
    truth = _truth(world_dir)
    mentions = truth["mentions"]
    assert len(mentions) > 100
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        present = set(store.fetchall("SELECT DISTINCT dataset, entity_id FROM statements"))
    missing = [m for m in mentions if (m["dataset"], m["entity_id"]) not in present]
    assert not missing, f"{len(missing)} of {len(mentions)} mentions have no entity, e.g. {missing[:3]}"
    datasets_per_actor: dict[str, set[str]] = defaultdict(set)
    names_per_actor: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        datasets_per_actor[m["actor"]].add(m["dataset"])
        names_per_actor[m["actor"]].add(m["name_as_written"])
    spread = [a for a, ds in datasets_per_actor.items() if len(ds) >= 3 and len(names_per_actor[a]) >= 3]
    assert spread, "no actor appears in three sources under three spellings"
    # the demo resolves what it loaded: planted duplicates come together
    assert summary.resolution.startswith("resolved:")
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        canonical = dict(store.fetchall("SELECT entity_id, canonical_id FROM er_clusters"))
    entities_per_actor: dict[str, set[str]] = defaultdict(set)
    for m in mentions:
        entities_per_actor[m["actor"]].add(m["entity_id"])
    duplicated = [ids for ids in entities_per_actor.values() if len(ids) > 1]
    merged = [ids for ids in duplicated if len({canonical.get(e, e) for e in ids}) == 1]
    assert duplicated and len(merged) >= len(duplicated) / 2, f"{len(merged)} of {len(duplicated)} actors merged"
