"""A tiny world for risk tests, ingested through the real readers.

- ``macn`` (GREEN, owner macn): MACN-style incidents. Mombasa (KEMBA) has 12 reports in 2024 and
  3 in 2023, Dar es Salaam (TZDAR) 4, Port Klang (MYPKG) 2, Nairobi airport (NBO) 1.
- ``fiu-incidents`` (RED, owner fiu): 30 reports at Dar es Salaam, and one at Kilimanjaro airport
  (JRO), which no other dataset names, that only the FIU may read.
- ``assessments`` (GREEN): Mombasa has scanners in place and staff rotation partly; Dar es
  Salaam has scanners absent.
- ``customs`` (GREEN) and ``police`` (GREEN): the shared CSV fixtures: one timber shipment
  KEMBA -> AEJEA; MYPKG -> VNHPH and its seizure at Hai Phong (missed at KEMBA, AEJEA, MYPKG).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.risk import evidence
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
INCIDENT_COLUMNS = ["incident_id", "port", "country", "date", "process_stage", "demanding_actor", "item_demanded",
                    "amount", "currency", "consequence_of_refusal", "outcome"]
ASSESSMENT_COLUMNS = ["assessment_id", "subject_port", "subject_name", "subject_country", "control", "framework",
                      "status", "evidence", "assessor", "date", "score"]


def _incidents(prefix: str, port: str, country: str, dates: list[str], stage: str = "berthing",
               actor: str = "port authority") -> list[dict[str, str]]:
    return [
        {"incident_id": f"{prefix}-{port}-{n:03d}", "port": port, "country": country, "date": day,
         "process_stage": stage, "demanding_actor": actor, "item_demanded": "cash" if n % 2 else "cigarettes",
         "amount": "100" if n % 2 else "", "currency": "USD" if n % 2 else "",
         "consequence_of_refusal": "delay", "outcome": "refused, delayed"}
        for n, day in enumerate(dates)
    ]


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def incident_rows() -> list[dict[str, str]]:
    kemba = [f"2024-{m:02d}-10" for m in range(1, 13)] + ["2023-03-05", "2023-06-05", "2023-09-05"]
    return (
        _incidents("MACN", "KEMBA", "KE", kemba[:8], "container release", "customs")
        + _incidents("MACN-B", "KEMBA", "KE", kemba[8:])
        + _incidents("MACN", "TZDAR", "TZ", ["2024-02-01", "2024-05-01", "2024-08-01", "2024-11-01"])
        + _incidents("MACN", "MYPKG", "MY", ["2024-04-04", "2022-01-04"], "permit verification", "agent")
        + _incidents("MACN", "NBO", "KE", ["2024-06-06"], "crew immigration", "immigration")
    )


def secret_rows() -> list[dict[str, str]]:
    return (_incidents("FIU", "TZDAR", "TZ", [f"2024-{1 + n % 12:02d}-15" for n in range(30)], "release", "police")
            + _incidents("FIU-JRO", "JRO", "TZ", ["2024-07-07"], "crew immigration", "immigration"))


def assessment_rows() -> list[dict[str, str]]:
    def row(n: int, port: str, control: str, status: str, day: str) -> dict[str, str]:
        return {"assessment_id": f"PIA-{n:03d}", "subject_port": port, "subject_name": "", "subject_country": "",
                "control": control, "framework": "wco-crm", "status": status, "evidence": "site visit",
                "assessor": "Port Integrity Assessors", "date": day, "score": ""}

    return [
        row(1, "KEMBA", "scanners", "in place", "2024-03-01"),
        row(2, "KEMBA", "staff rotation", "partial", "2024-03-01"),
        row(3, "KEMBA", "staff rotation", "absent", "2021-03-01"),  # older: the 2024 status wins
        row(4, "TZDAR", "container scanners", "absent", "2024-03-01"),
    ]


def build_risk_world(settings: Settings, tmp: Path) -> Settings:
    """Ingest the world into ``settings``' home and build the risk evidence."""
    files = tmp / "risk-world"
    incidents = _write(files / "macn" / "incidents.csv", INCIDENT_COLUMNS, incident_rows())
    secret = _write(files / "fiu" / "incidents.csv", INCIDENT_COLUMNS, secret_rows())
    assessments = _write(files / "pia" / "assessments.csv", ASSESSMENT_COLUMNS, assessment_rows())
    shipments = files / "customs" / "shipments.csv"
    shipments.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "shipments.csv", shipments)
    seizures = files / "police" / "seizures.csv"
    seizures.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / "seizures.csv", seizures)
    loads = [
        (incidents, "macn", Marking.GREEN, "macn", "incidents"),
        (secret, "fiu-incidents", Marking.RED, "fiu", "incidents"),
        (assessments, "assessments", Marking.GREEN, "port-integrity-assessors", "assessments"),
        (shipments, "customs", Marking.GREEN, "customs", "shipments"),
        (seizures, "police", Marking.GREEN, "police", "seizures"),
    ]
    for path, dataset, marking, owner, mapping in loads:
        pipeline.ingest(settings, "csv", [path], dataset=dataset, marking=marking, owner=owner,
                        options={"mapping": mapping}, rebuild=False)
    pipeline.rebuild_projections(settings)
    with EvidenceStore(settings.evidence_path) as store:
        evidence.build(store, home=settings.home)
    return settings
