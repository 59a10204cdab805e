from pathlib import Path

import pytest
import yaml

from chainlight.model.docs import render_data_model
from chainlight.model.ftm import EXTENSION_SCHEMATA, ModelLoadError, build_model_dir, model, upstream_schema_dir

REQUIRED = {
    "Port": ["unLocode", "iataCode", "country", "latitude", "longitude", "freeTradeZone", "portType"],
    "Shipment": [
        "transportDocumentNumber", "shipper", "consignee", "notifyParty", "carrier", "vessel", "flightNumber",
        "portOfLoading", "transitPort", "portOfDischarge", "departureDate", "arrivalDate", "goodsDescription",
        "hsCode", "taxon", "term", "quantity", "unit", "grossWeight", "declaredValue", "containerNumber",
    ],
    "Permit": [
        "permitNumber", "permitType", "issuingCountry", "issuingAuthority", "holder", "counterpart", "issueDate",
        "expiryDate", "taxon", "appendix", "term", "quantity", "unit", "purposeCode", "sourceCode",
        "originalPermit", "permitStatus",
    ],
    "PermitEndorsement": ["permit", "shipment", "date", "port", "actualQuantity"],
    "Seizure": [
        "date", "port", "place", "country", "agency", "taxon", "term", "quantity", "weight", "concealment",
        "transportMode", "originCountry", "transitCountry", "destinationCountry", "shipment", "suspects",
    ],
    "GeneticSample": ["sampleNumber", "seizure", "taxon"],
    "GeneticMatch": ["seizure", "matchedSeizure", "matchType"],
    "Incident": [
        "port", "date", "processStage", "demandingActorType", "itemDemanded", "amount", "consequenceOfRefusal",
    ],
    "IntegrityAssessment": ["subject", "control", "assessmentStatus", "evidence", "date"],
}


def test_extension_schemata_are_loaded_through_ftm() -> None:
    import followthemoney

    assert followthemoney.model is model
    assert set(REQUIRED) <= set(EXTENSION_SCHEMATA)
    for schema_name, props in REQUIRED.items():
        schema = model[schema_name]
        missing = [p for p in props if p not in schema.properties]
        assert not missing, f"{schema_name} lacks {missing}"


def test_reverse_properties_reach_parties_and_ports() -> None:
    company = model["Company"]
    assert company.get("shipmentsShipped") is not None
    assert company.get("permitsHeld") is not None
    assert model["Port"].get("shipmentsLoaded") is not None
    assert model["Seizure"].get("geneticMatches") is not None


def test_upstream_schemata_keep_their_properties_and_gain_ours() -> None:
    ownership = model["Ownership"]
    for name in ("owner", "asset", "percentage", "shareMinimum", "shareMaximum", "interestType"):
        assert name in ownership.properties
    assert ownership.properties["shareMinimum"].type.name == "number"


def test_entity_values_are_cleaned_by_ftm_types() -> None:
    shipment = model.make_entity("Shipment")
    shipment.id = "s1"
    shipment.add("departureDate", "2021-03-04")
    shipment.add("departureDate", "not a date")
    shipment.add("originCountry", "Kenya")
    assert shipment.get("departureDate") == ["2021-03-04"]
    assert shipment.get("originCountry") == ["ke"]


def test_merged_directory_holds_every_upstream_schema(tmp_path: Path) -> None:
    merged = build_model_dir(tmp_path)
    upstream = {p.name for p in upstream_schema_dir().glob("*.yaml")}
    ours = {f"{n}.yaml" for n in EXTENSION_SCHEMATA}
    assert {p.name for p in merged.glob("*.yaml")} == upstream | ours
    data = yaml.safe_load((merged / "Ownership.yaml").read_text())
    assert "shareMaximum" in data["Ownership"]["properties"]
    # building again reuses the same directory
    assert build_model_dir(tmp_path) == merged


def test_extension_of_unknown_schema_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import chainlight.model.ftm_path as ftm

    bad = tmp_path / "ext"
    bad.mkdir()
    (bad / "Nope.yaml").write_text("NoSuchSchema:\n  properties:\n    x: {label: X}\n")
    monkeypatch.setattr(ftm, "EXTENSION_DIR", bad)
    with pytest.raises(ModelLoadError, match="NoSuchSchema"):
        build_model_dir(tmp_path / "cache")


def test_data_model_doc_is_current() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "data-model.md"
    assert doc.read_text("utf-8") == render_data_model(), "run: chainlight docs data-model"
    for name in EXTENSION_SCHEMATA:
        assert f"### {name}" in render_data_model()
