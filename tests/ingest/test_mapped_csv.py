"""The csv reader with each built-in mapping, custom mappings, and how bad input is handled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from chainlight.cli import app
from chainlight.ingest.base import IngestError, IngestReport, run_ingest
from chainlight.ingest.mapped_csv import MappedCsvReader
from chainlight.ingest.mapping import MappingError, builtin_names, load_mapping_file
from chainlight.model.identity import dataset_key, natural_key, port_id
from chainlight.settings import Settings
from chainlight.store.entities import iter_entities
from chainlight.store.evidence import EvidenceStore

CSV = Path(__file__).resolve().parents[1] / "fixtures" / "csv"


def ingest(store: EvidenceStore, path: Path, mapping: str | None, dataset: str = "customs",
           force: bool = False) -> IngestReport:
    options = {"mapping": mapping} if mapping is not None else {}
    return run_ingest(store, MappedCsvReader(), [path], dataset, options=options, force=force)


def entities(store: EvidenceStore, dataset: str = "customs") -> dict[str, Any]:
    return {proxy.id: proxy for proxy in iter_entities(store, [dataset])}


def problems(report: IngestReport) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.field) for p in report.files[0].problems]


def test_builtin_mappings_are_the_default_layouts() -> None:
    assert builtin_names() == ["assessments", "endorsements", "genetic-matches", "genetic-samples",
                               "incidents", "permits", "seizures", "shipments"]


def test_shipments_entities_and_references(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "shipments.csv", "shipments")
    file = report.files[0]
    assert (file.rows_read, file.rows_loaded, file.rows_quarantined) == (4, 2, 2)
    found = entities(store)

    bl = found[natural_key("shipment", "MSCU2024000123")]
    assert bl.schema.name == "Shipment"
    shipper_id = dataset_key("customs", "party", "KE-0042")
    consignee_id = dataset_key("customs", "party", "Hai Phong Wood Trading", "VN")
    notify_id = dataset_key("customs", "party", "Lotus Logistics", "VN")
    carrier_id = dataset_key("customs", "party", "Mediterranean Shipping Company", "")
    forwarder_id = dataset_key("customs", "party", "FW-7")
    vessel_id = natural_key("vessel", "9702132")
    permit_id = natural_key("permit", "KE", "KE/2024/0117")
    assert bl.get("shipper") == [shipper_id]
    assert bl.get("consignee") == [consignee_id]
    assert bl.get("notifyParty") == [notify_id]
    assert bl.get("carrier") == [carrier_id]
    assert bl.get("forwarder") == [forwarder_id]
    assert bl.get("vessel") == [vessel_id]
    assert bl.get("permit") == [permit_id]
    assert bl.get("portOfLoading") == [port_id("KEMBA")]
    assert sorted(bl.get("transitPort")) == sorted([port_id("AEJEA"), port_id("MYPKG")])
    assert bl.get("portOfDischarge") == [port_id("VNHPH")]
    assert bl.get("departureDate") == ["2024-03-02"]
    assert bl.get("grossWeight") == ["18250.5"]
    assert bl.get("originCountry") == ["ke"]
    assert sorted(bl.get("containerNumber")) == ["MSCU1234565", "TGHU7654321"]
    assert bl.get("goodsDescription") == ["Sawn timber,\nhardwood logs"]

    assert found[shipper_id].schema.name == "Company"
    assert found[shipper_id].get("name") == ["Tsavo Timber Exports Ltd"]
    assert found[consignee_id].schema.name == "LegalEntity"
    assert found[vessel_id].schema.name == "Vessel"
    assert found[vessel_id].get("imoNumber") == ["IMO9702132"]
    assert found[permit_id].get("permitNumber") == ["KE/2024/0117"]

    mombasa = found[port_id("KEMBA")]
    assert mombasa.schema.name == "Port"
    assert mombasa.get("name") == ["Mombasa"]
    assert mombasa.get("unLocode") == ["KEMBA"]
    assert mombasa.get("country") == ["ke"]
    assert found[port_id("BKK")].get("iataCode") == ["BKK"]

    awb = found[natural_key("shipment", "176-55512345")]
    person = found[dataset_key("customs", "party", "Grace Achieng", "KE")]
    assert person.schema.name == "Person"
    assert awb.get("shipper") == [person.id]
    assert awb.get("notifyParty") == []
    assert awb.get("vessel") == []
    assert awb.get("portOfLoading") == [port_id("NBO")]
    assert awb.get("transitPort") == []
    assert awb.get("arrivalDate") == []
    assert awb.get("grossWeight") == []
    assert awb.get("declaredValue") == ["900"]
    # The row without a document number made nothing: its consignee is not there.
    assert dataset_key("customs", "party", "Nobody", "VN") not in found


def test_shipments_problems_name_line_and_field(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "shipments.csv", "shipments")
    # The first row spans physical lines 2-3 (a quoted newline), so the air waybill is line 4.
    assert problems(report) == [
        (4, "consignee_type"), (4, "transit_ports"), (4, "arrival_date"), (4, "gross_weight_kg"),
        (5, "document_number"), (6, None),
    ]
    messages = [p.error for p in report.files[0].problems]
    assert "unknown port code 'XXZZZ'" in messages[1]
    assert "invalid date '2024-02-31'" in messages[2]
    assert "row has 3 cells but the header has 41" in messages[5]
    assert store.scalar("SELECT count(*) FROM quarantine WHERE dataset = 'customs'") == 6


def test_permits(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "permits.csv", "permits", dataset="cites-ke")
    assert problems(report) == [(3, "expiry_date")]
    found = entities(store, "cites-ke")
    permit = found[natural_key("permit", "KE", "KE/2024/0117")]
    assert permit.schema.name == "Permit"
    assert permit.get("holder") == [dataset_key("cites-ke", "party", "KE-0042")]
    assert permit.get("counterpart") == [dataset_key("cites-ke", "party", "Hai Phong Wood Trading", "VN")]
    authority = dataset_key("cites-ke", "organisation", "Kenya Wildlife Service", "KE")
    assert permit.get("issuingAuthority") == [authority]
    assert found[authority].schema.name == "Organization"
    assert permit.get("quantity") == ["24"]
    assert permit.get("randomId") == ["A1B2C3D4E5"]
    reexport = found[natural_key("permit", "SG", "SG-RE-2024-88")]
    original = natural_key("permit", "ID", "ID-2023-4411")
    assert reexport.get("originalPermit") == [original]
    assert found[original].get("issuingCountry") == ["id"]
    assert reexport.get("expiryDate") == []
    assert found[reexport.get("counterpart")[0]].schema.name == "Person"


def test_endorsements_link_permit_and_shipment(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "endorsements.csv", "endorsements", dataset="kra")
    assert problems(report) == [(3, "port"), (3, "actual_quantity")]
    found = entities(store, "kra")
    endorsement = found[dataset_key("kra", "endorsement", "KE", "KE/2024/0117", "MSCU2024000123", "2024-03-01")]
    assert endorsement.schema.name == "PermitEndorsement"
    assert endorsement.get("permit") == [natural_key("permit", "KE", "KE/2024/0117")]
    assert endorsement.get("shipment") == [natural_key("shipment", "MSCU2024000123")]
    assert endorsement.get("port") == [port_id("KEMBA")]
    assert endorsement.get("actualQuantity") == ["22.5"]
    assert endorsement.get("endorsingAuthority") == [
        dataset_key("kra", "organisation", "Kenya Revenue Authority", "KE")
    ]
    second = found[dataset_key("kra", "endorsement", "KE", "KE/2024/0099", "", "2024-03-05")]
    assert second.get("shipment") == []
    assert second.get("port") == []
    assert natural_key("permit", "KE", "KE/2024/0099") in found


def test_seizures_with_parallel_suspect_lists(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "seizures.csv", "seizures", dataset="etis")
    assert problems(report) == [(3, "weight_kg"), (4, "date")]
    found = entities(store, "etis")
    seizure = found[natural_key("seizure", "SZ-2024-0007")]
    assert seizure.get("port") == [port_id("VNHPH")]
    assert seizure.get("shipment") == [natural_key("shipment", "MSCU2024000123")]
    assert seizure.get("agency") == [dataset_key("etis", "organisation", "Vietnam Customs", "VN")]
    assert sorted(seizure.get("originCountry")) == ["ke", "tz"]
    company = dataset_key("etis", "party", "Lotus Logistics", "VN")
    person = dataset_key("etis", "party", "VN-883")
    assert sorted(seizure.get("suspects")) == sorted([company, person])
    assert found[company].schema.name == "LegalEntity"
    assert found[person].schema.name == "Person"
    assert found[person].get("name") == ["Nguyen Van An"]
    bole = found[natural_key("seizure", "SZ-2024-0011")]
    assert bole.get("weight") == []
    assert bole.get("place") == ["Bole cargo terminal"]
    assert bole.get("suspects") == []
    assert natural_key("seizure", "SZ-2024-0012") not in found


def test_genetic_samples_and_matches(store: EvidenceStore) -> None:
    samples = ingest(store, CSV / "genetic-samples.csv", "genetic-samples", dataset="lab")
    assert problems(samples) == [(3, "latitude")]
    matches = ingest(store, CSV / "genetic-matches.csv", "genetic-matches", dataset="lab")
    assert problems(matches) == [(3, "seizure_b")]
    found = entities(store, "lab")
    sample = found[natural_key("genetic-sample", "GS-0007-014")]
    assert sample.get("seizure") == [natural_key("seizure", "SZ-2024-0007")]
    assert sample.get("assignedOriginCountry") == ["tz"]
    assert sample.get("latitude") == ["-10.3"]
    match = found[dataset_key("lab", "genetic-match", "SZ-2024-0007", "SZ-2023-0150", "GS-0007-014", "GS-0150-003")]
    assert match.schema.name == "GeneticMatch"
    assert match.get("seizure") == [natural_key("seizure", "SZ-2024-0007")]
    assert match.get("matchedSeizure") == [natural_key("seizure", "SZ-2023-0150")]
    assert match.get("matchedSample") == [natural_key("genetic-sample", "GS-0150-003")]
    assert match.get("matchType") == ["same-individual"]
    assert match.get("likelihoodRatio") == ["1.2e12"]
    other = found[natural_key("genetic-sample", "GS-0150-003")]
    assert other.get("seizure") == [natural_key("seizure", "SZ-2023-0150")]


def test_incidents(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "incidents.csv", "incidents", dataset="macn")
    assert problems(report) == [(3, "country"), (3, "date")]
    assert report.files[0].problems[0].error == "invalid country 'Narnia'"
    found = entities(store, "macn")
    incident = found[dataset_key("macn", "incident", "INC-0001")]
    assert incident.schema.name == "Incident"
    assert incident.get("port") == [port_id("KEMBA")]
    assert incident.get("amount") == ["200"]
    assert incident.get("demandingActorType") == ["port-authority"]
    assert found[port_id("NGLOS")].get("name") == ["Lagos"]
    lagos = found[dataset_key("macn", "incident", "INC-0002")]
    assert lagos.get("country") == []
    assert lagos.get("outcome") == ["paid"]


def test_assessments_of_a_port_or_an_agency(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "assessments.csv", "assessments", dataset="basel")
    assert problems(report) == [(3, "score")]
    found = entities(store, "basel")
    assessor = dataset_key("basel", "organisation", "Basel Institute on Governance", "")
    port = found[dataset_key("basel", "assessment", "AS-01")]
    assert port.get("subject") == [port_id("KEMBA")]
    assert port.get("assessor") == [assessor]
    assert port.get("score") == ["0.5"]
    agency = found[dataset_key("basel", "assessment", "AS-02")]
    kra = dataset_key("basel", "organisation", "Kenya Revenue Authority", "KE")
    assert agency.get("subject") == [kra]
    assert found[kra].schema.name == "Organization"
    assert found[port_id("KEMBA")].get("latitude") == ["-4.06667"]


def test_missing_required_column_rejects_the_file(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "shipments-missing-column.csv", "shipments")
    file = report.files[0]
    assert file.rejected == "missing required column 'document_number' for mapping shipments"
    assert file.statements_added == 0


def test_empty_file_has_no_header(store: EvidenceStore, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    report = ingest(store, empty, "seizures")
    assert report.files[0].rejected is not None
    assert report.files[0].rejected.startswith("no header row")


def test_non_utf8_file_is_rejected_naming_the_line(store: EvidenceStore, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("incident_id,date,country\nI-1,2024-01-01,KE\nI-2,2024-01-02,CÔ\n".encode("latin-1"))
    report = ingest(store, latin, "incidents")
    assert report.files[0].rejected == "not UTF-8 (byte 17 of line 3); save the file as UTF-8"
    assert entities(store) == {}


def test_missing_mapping_lists_the_builtin_names(store: EvidenceStore) -> None:
    with pytest.raises(IngestError, match="built-in mappings: assessments, endorsements, genetic-matches"):
        ingest(store, CSV / "incidents.csv", None)
    with pytest.raises(IngestError, match="neither a built-in mapping"):
        ingest(store, CSV / "incidents.csv", "incident")


def test_custom_mapping_file_with_formats(store: EvidenceStore) -> None:
    report = ingest(store, CSV / "custom-manifest.csv", str(CSV / "custom-manifest.yaml"), dataset="tpa")
    assert problems(report) == [(3, "sailed")]
    found = entities(store, "tpa")
    first = found[natural_key("shipment", "DAR-77-001")]
    assert first.get("departureDate") == ["2024-03-05"]
    assert first.get("grossWeight") == ["18250.5"]
    assert first.get("transportMode") == ["sea"]
    assert first.get("portOfLoading") == [port_id("TZDAR")]
    exporter = found[dataset_key("tpa", "party", "Kilwa Hardwoods")]
    assert exporter.schema.name == "Company"
    assert first.get("shipper") == [exporter.id]
    second = found[natural_key("shipment", "DAR-77-002")]
    assert second.get("grossWeight") == ["1000"]
    assert found[second.get("shipper")[0]].schema.name == "Person"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entities: {s: {schema: Shipmnt, id: {natural_key: x, columns: [a]}}}",
         "entities.s.schema: unknown schema 'Shipmnt'"),
        ("entities: {s: {schema: Shipment, id: {natural_key: x, columns: [a]}, properties: {wieght: w}}}",
         "entities.s.properties.wieght: Shipment has no property 'wieght'"),
        ("entities: {s: {schema: Shipment, id: {natural_key: x}}}", "entities.s.id: a key rule needs columns"),
        ("entities: {s: {schema: Shipment, id: {natural_key: x, columns: [a]}, "
         "properties: {shipper: {entity: nobody}}}}",
         "entities.s.properties.shipper: no entity named 'nobody' in this mapping"),
        ("entities: {s: {schema: Shipment, id: {natural_key: x, columns: [a]}, "
         "properties: {grossWeight: {column: w, format: '1_234'}}}}",
         "entities.s.properties.grossWeight: number format must be one of"),
        ("entities: [1, 2", "not valid YAML"),
    ],
)
def test_bad_mapping_names_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping_file(path)
    assert str(info.value).startswith(f"mapping {path}")
    assert message in str(info.value)


def test_reingest_is_idempotent(store: EvidenceStore) -> None:
    first = ingest(store, CSV / "seizures.csv", "seizures")
    assert first.statements_added > 0
    again = ingest(store, CSV / "seizures.csv", "seizures")
    assert again.files[0].skipped
    forced = ingest(store, CSV / "seizures.csv", "seizures", force=True)
    assert forced.files[0].rows_read == 3
    assert forced.statements_added == 0


def test_cli_ingest_csv(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = CliRunner().invoke(app, [
        "ingest", "csv", str(CSV / "shipments.csv"), "--mapping", "shipments", "-d", "customs", "-m", "amber",
        "--home", str(home), "--database-url", f"sqlite:///{tmp_path / 'x.db'}",
    ])
    assert result.exit_code == 0, result.output
    assert "Ingest into customs" in result.output
    settings = Settings.load(home, f"sqlite:///{tmp_path / 'x.db'}")
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        assert natural_key("shipment", "MSCU2024000123") in entities(store)
