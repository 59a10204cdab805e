"""Risk evidence for the web world (:mod:`tests.support.web_world`): MACN-style incidents and
port assessments at real ports (Mombasa KEMBA, Dar es Salaam TZDAR, Port Klang MYPKG), added to
the world's own datasets so that who sees what stays as it was:

- ``open-registry`` (TLP:GREEN, owner ``ngo``): incidents at all three ports, most at Mombasa,
  and assessments (Mombasa has scanners and CCTV in place, Port Klang no scanner).
- ``customs-red`` (TLP:RED, owner ``customs``): 40 incidents at Dar es Salaam that would lift it
  to the top of every ranking if they leaked, and one at Port Klang.

:func:`ingest` reads them through ``chainlight ingest csv --mapping incidents|assessments``'s path;
:func:`build` builds the risk evidence as ``chainlight risk build`` does (after the rules ran).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.risk import evidence
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore

PORTS: Final = ("KEMBA", "TZDAR", "MYPKG")
#: Incidents at Dar es Salaam in the RED dataset, and in the GREEN one.
RED_TZDAR: Final = 40
GREEN_TZDAR: Final = 5

INCIDENT_HEADER: Final = ("incident_id", "port", "country", "date", "process_stage", "demanding_actor",
                          "item_demanded", "amount", "currency", "consequence_of_refusal", "outcome")
ASSESSMENT_HEADER: Final = ("assessment_id", "subject_port", "subject_name", "subject_country", "control",
                            "framework", "status", "evidence", "assessor", "date", "score")


def _incidents(prefix: str, counts: dict[str, int]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    stages = ("cargo clearance", "berthing", "container release")
    actors = ("customs", "port authority", "pilot")
    for port, n in counts.items():
        country = {"KEMBA": "KE", "TZDAR": "TZ", "MYPKG": "MY"}[port]
        for i in range(n):
            month = 1 + i % 12
            year = 2026 if i % 3 else 2025
            rows.append((f"{prefix}-{port}-{i}", port, country, f"{year}-{month:02d}-15", stages[i % 3],
                         actors[i % 3], "cash" if i % 2 else "cigarettes", "50" if i % 2 else "", "USD",
                         "delay", "paid" if i % 4 else "refused, delayed"))
    return rows


GREEN_ROWS: Final = _incidents("g", {"KEMBA": 14, "TZDAR": GREEN_TZDAR, "MYPKG": 3})
RED_ROWS: Final = _incidents("r", {"TZDAR": RED_TZDAR, "MYPKG": 1})
ASSESSMENTS: Final[list[tuple[str, ...]]] = [
    ("a1", "KEMBA", "", "", "container scanners", "wco-crm", "in place", "scanner seen", "Audit Co", "2026-03-01", "1"),
    ("a2", "KEMBA", "", "", "cctv", "wco-crm", "in place", "", "Audit Co", "2026-03-01", "1"),
    ("a3", "KEMBA", "", "", "staff rotation", "revised-arusha-declaration", "partial", "", "Audit Co", "2026-03-01",
     "0.5"),
    ("a4", "MYPKG", "", "", "container scanners", "wco-crm", "absent", "none", "Audit Co", "2026-02-01", "0"),
]


def _write(path: Path, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def ingest(settings: Settings, *, green: str, green_owner: str, red: str, red_owner: str) -> None:
    """Add the incidents and assessments to the world's GREEN and RED datasets (projections are
    rebuilt by the last ingest)."""
    root = settings.home.parent
    loads = [
        (_write(root / "risk-incidents.csv", INCIDENT_HEADER, GREEN_ROWS), green, Marking.GREEN, green_owner,
         "incidents"),
        (_write(root / "risk-assessments.csv", ASSESSMENT_HEADER, ASSESSMENTS), green, Marking.GREEN, green_owner,
         "assessments"),
        (_write(root / "risk-secret-incidents.csv", INCIDENT_HEADER, RED_ROWS), red, Marking.RED, red_owner,
         "incidents"),
    ]
    for path, dataset, marking, owner, mapping in loads:
        pipeline.ingest(settings, "csv", [path], dataset=dataset, marking=marking, owner=owner,
                        options={"mapping": mapping})


def build(settings: Settings) -> None:
    """The risk evidence, as ``chainlight risk build`` makes it."""
    with EvidenceStore(settings.evidence_path) as store:
        evidence.build(store, home=settings.home)
