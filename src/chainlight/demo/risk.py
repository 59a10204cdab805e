"""MACN-style anonymous corruption incidents at ports and integrity assessments of those
ports against the Revised Arusha Declaration's integrity factors.

Planted: a few hotspot ports draw most incidents (MACN's top 20 ports hold 28.6% of its
reports) and have weak or absent controls, so risk maps have something true to find.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from chainlight.demo import routes
from chainlight.demo.seizures import _country_of
from chainlight.demo.shipments import DAYS, START
from chainlight.demo.sources import ASSESSMENT_COLUMNS, INCIDENT_COLUMNS, CsvSource
from chainlight.demo.truth import Truth

STAGES = (
    "berthing",
    "cargo clearance",
    "crew immigration",
    "port state control",
    "departure clearance",
    "container release",
    "permit verification",
)
ACTORS = (
    ("port authority", 0.209),
    ("pilot", 0.165),
    ("customs", 0.127),
    ("agent", 0.082),
    ("immigration", 0.12),
    ("police", 0.09),
    ("health authority", 0.207),
)
ITEMS = ("cigarettes", "alcohol", "cash", "food", "electronics")
CONSEQUENCES = ("delay", "fine", "refused clearance", "extra inspection", "threat to crew")
OUTCOMES = ("refused, no consequence", "refused, delayed", "paid", "escalated to management")
ARUSHA = (
    "leadership and commitment",
    "regulatory framework",
    "transparency",
    "automation",
    "reform and modernisation",
    "audit and investigation",
    "code of conduct",
    "human resource management",
    "morale and organisational culture",
    "relationship with the private sector",
)


def write_risk(
    rng: random.Random, truth: Truth, out_dir: Path, incidents: int, advance: Callable[[int], None]
) -> list[Path]:
    (out_dir / "macn-incidents").mkdir(parents=True, exist_ok=True)
    (out_dir / "port-assessments").mkdir(parents=True, exist_ok=True)
    ports = routes.all_codes()
    hotspots = sorted(rng.sample([p for p in ports if len(p) == 5], k=3))
    truth.pattern("port_hotspots", ports=hotspots)
    with CsvSource(out_dir / "macn-incidents" / "incidents.csv", INCIDENT_COLUMNS) as out:
        for n in range(1, incidents + 1):
            port = rng.choice(hotspots) if rng.random() < 0.45 else rng.choice(ports)
            actor = rng.choices([a for a, _ in ACTORS], weights=[w for _, w in ACTORS])[0]
            item = rng.choice(ITEMS)
            out.write(
                incident_id=f"MACN-{n:07d}",
                port=port,
                country=_country_of(port),
                date=(START + timedelta(days=rng.randrange(DAYS))).isoformat(),
                process_stage=rng.choice(STAGES),
                demanding_actor=actor,
                item_demanded=item,
                amount=rng.randrange(20, 2000) if item == "cash" else "",
                currency="USD" if item == "cash" else "",
                consequence_of_refusal=rng.choice(CONSEQUENCES),
                outcome=rng.choice(OUTCOMES),
            )
        incidents_path = out.path
    advance(incidents)
    with CsvSource(out_dir / "port-assessments" / "assessments.csv", ASSESSMENT_COLUMNS) as out:
        n = 0
        for port in ports:
            weak = port in hotspots
            for control in ARUSHA:
                n += 1
                status = rng.choices(
                    ("in-place", "partial", "absent", "unknown"), weights=(1, 3, 5, 1) if weak else (6, 3, 1, 1)
                )[0]
                score = {"in-place": 3, "partial": 2, "absent": 0, "unknown": ""}[status]
                out.write(
                    assessment_id=f"PIA-{n:06d}",
                    subject_port=port,
                    subject_name=routes.port_name(port),
                    subject_country=_country_of(port),
                    control=control,
                    framework="Revised Arusha Declaration",
                    status=status,
                    evidence=f"desk review and site visit, {control}",
                    assessor="Port Integrity Assessors",
                    date=f"{2020 + n % 4}-0{1 + n % 9}-15",
                    score=score,
                )
        assessments_path = out.path
    return [incidents_path, assessments_path]
