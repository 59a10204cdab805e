"""Packaged port and airport reference data: lookups, entities, and the reference dataset."""

from __future__ import annotations

import csv
from pathlib import Path

from chainlight.model.identity import port_id, wpi_port_id
from chainlight.reference import ports
from chainlight.reference.load import DATASET, load_reference
from chainlight.settings import Settings
from chainlight.store.entities import iter_entities
from chainlight.store.evidence import EvidenceStore


def test_lookup_seaport_by_unlocode() -> None:
    mombasa = ports.lookup("KEMBA")
    assert mombasa is not None
    assert (mombasa.name, mombasa.country, mombasa.kind) == ("Mombasa", "KE", "seaport")
    assert (mombasa.latitude, mombasa.longitude) == (-4.06667, 39.66667)
    assert mombasa.entity_id == port_id("KEMBA") == "port-kemba"
    assert ports.lookup(" kemba ") == mombasa


def test_lookup_airport_by_iata() -> None:
    nairobi = ports.lookup("NBO")
    assert nairobi is not None
    assert nairobi.name == "Jomo Kenyatta International Airport"
    assert (nairobi.kind, nairobi.country, nairobi.icao, nairobi.city) == ("airport", "KE", "HKJK", "Nairobi")
    assert nairobi.entity_id == "airport-nbo"
    assert nairobi.code == "NBO"


def test_unknown_and_malformed_codes() -> None:
    assert ports.lookup("XXZZZ") is None
    assert ports.lookup("ZZZ") is None
    # The WPI lists a few truncated codes ("LB" for Selaata): they never become lookups.
    assert ports.lookup("LB") is None


def test_all_world_port_index_ports_have_distinct_ids(shared: Path) -> None:
    with (shared / "reference" / "ports.csv").open(encoding="utf-8", newline="") as fh:
        source_rows = sum(1 for _ in csv.DictReader(fh))
    seaports = ports.all_ports()
    assert len(seaports) == source_rows == 3803
    assert len({p.entity_id for p in seaports}) == 3803
    with (shared / "reference" / "airports.csv").open(encoding="utf-8", newline="") as fh:
        with_iata = sum(1 for row in csv.DictReader(fh) if row["iata"])
    assert len(ports.all_airports()) == with_iata


def test_shared_unlocode_goes_to_the_largest_harbour() -> None:
    # JPFKJ names both Fukui (very small) and Fukui Ko (medium) in the World Port Index.
    fukui = [p for p in ports.all_ports() if p.unlocode == "JPFKJ"]
    assert sorted(p.name for p in fukui) == ["Fukui", "Fukui Ko"]
    primary = ports.lookup("JPFKJ")
    assert primary is not None
    assert (primary.name, primary.harbour_size) == ("Fukui Ko", "M")
    other = next(p for p in fukui if p.name == "Fukui")
    assert other.entity_id == wpi_port_id(other.wpi_number)


def test_port_entities() -> None:
    by_id = {proxy.id: proxy for proxy in ports.port_entities()}
    assert len(by_id) == 3803 + len(ports.all_airports())
    mombasa = by_id["port-kemba"]
    assert mombasa.schema.name == "Port"
    assert mombasa.get("portType") == ["seaport"]
    assert mombasa.get("wpiNumber") == ["47100"]
    assert mombasa.get("harbourSize") == ["M"]
    assert mombasa.get("harbourType") == ["CT"]
    assert mombasa.get("firstPortOfEntry") == ["Y"]
    assert mombasa.get("region") == ["Kenya"]
    assert mombasa.get("country") == ["ke"]
    assert mombasa.get("latitude") == ["-4.06667"]
    nairobi = by_id["airport-nbo"]
    assert nairobi.get("portType") == ["airport"]
    assert nairobi.get("iataCode") == ["NBO"]
    assert nairobi.get("icaoCode") == ["HKJK"]
    no_locode = [p for p in ports.all_ports() if p.unlocode is None]
    assert no_locode
    assert by_id[no_locode[0].entity_id].get("unLocode") == []


def test_load_reference_is_idempotent(settings: Settings) -> None:
    report = load_reference(settings)
    assert report.files[0].rows_read == 3803 + len(ports.all_airports())
    assert report.rows_quarantined == 0
    again = load_reference(settings)
    assert again.files[0].skipped
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        kemba = list(iter_entities(store, [DATASET], ["port-kemba"]))
        origin = store.scalar("SELECT origin FROM statements WHERE entity_id = 'port-kemba' LIMIT 1")
    assert [p.get("name") for p in kemba] == [["Mombasa"]]
    assert str(origin).startswith("chainlight:reference/ports:")
