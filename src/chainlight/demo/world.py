"""``chainlight generate``: a synthetic world in the field's real formats, with the ground
truth planted in it written beside it.

The same seed gives byte-identical files. Size grows linearly with ``scale``: scale 1 is the
demo (about ten thousand entities and fifty thousand CITES trade rows, a few seconds); scale
200 gives ten million trade rows and over a million entities. Every stage streams to disk,
so memory grows with the cast of actors, not with the number of rows.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chainlight.demo import risk as demo_risk
from chainlight.demo.actors import CastSize, build_cast
from chainlight.demo.finance import write_payments
from chainlight.demo.investigation import write_investigation
from chainlight.demo.ownership import write_ownership
from chainlight.demo.risk import choose_hotspots, write_risk, write_synthetic_index
from chainlight.demo.seizures import write_seizures
from chainlight.demo.shipments import write_flows
from chainlight.demo.sources import (
    ASSESSMENTS,
    CUSTOMS,
    FIU,
    INCIDENTS,
    INVESTIGATION,
    PERMITS,
    REGISTRY,
    SEIZURES,
    TASKFORCE,
    TASKFORCE_MEMBERS,
    UNEP_WCMC,
    DatasetSpec,
)
from chainlight.demo.trade import write_trade
from chainlight.demo.truth import Truth

#: 2: missed opportunities, concrete controls with re-assessments, and the synthetic country index.
GENERATOR_VERSION = 2
#: Folders the generator owns inside the output directory (cleared before writing).
DATASET_FOLDERS = (UNEP_WCMC, CUSTOMS, PERMITS, FIU, REGISTRY, SEIZURES, INVESTIGATION, INCIDENTS, ASSESSMENTS)
#: Other folders it owns: country indices (loaded with their declaration, not ingested).
OTHER_FOLDERS = ("indices",)


@dataclass(frozen=True, slots=True)
class WorldSize:
    """How many of each thing one world holds; everything scales with ``units``."""

    units: float

    def n(self, per_unit: int, minimum: int = 1) -> int:
        return max(minimum, round(per_unit * self.units))

    @property
    def cast(self) -> CastSize:
        return CastSize(
            exporters=self.n(300, 4),
            importers=self.n(250, 4),
            forwarders=self.n(60, 2),
            breeders=self.n(20, 1),
            shells=self.n(120, 2),
            officials=self.n(80, 6),
            vessels=self.n(40, 2),
            syndicates=self.n(6, 2),
        )


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    path: str
    format: str
    dataset: str
    owner: str
    marking: str
    sharing_group: str | None
    mapping: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "dataset": self.dataset,
            "owner": self.owner,
            "marking": self.marking,
            "sharing_group": self.sharing_group,
            "mapping": self.mapping,
        }


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """A country index file in the world and the declaration it is loaded with
    (``chainlight.risk.indices.load_index``): indices are not ingested like the sources in
    ``files``, so they are listed apart and readers that only know ``files`` are unaffected."""

    path: str
    index: str
    dataset: str
    label: str
    minimum: float
    maximum: float
    higher_is_riskier: bool
    source: str
    licence: str
    owner: str
    marking: str
    synthetic: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "index": self.index,
            "dataset": self.dataset,
            "label": self.label,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "higher_is_riskier": self.higher_is_riskier,
            "source": self.source,
            "licence": self.licence,
            "owner": self.owner,
            "marking": self.marking,
            "synthetic": self.synthetic,
        }


@dataclass(slots=True)
class WorldManifest:
    out_dir: Path
    seed: int
    scale: int
    files: list[ManifestEntry] = field(default_factory=list)
    truth_path: Path = Path("truth.json")
    counts: dict[str, int] = field(default_factory=dict)
    indices: list[IndexEntry] = field(default_factory=list)
    version: int = GENERATOR_VERSION

    @property
    def path(self) -> Path:
        return self.out_dir / "manifest.json"

    def add(self, path: Path, fmt: str, spec: DatasetSpec, mapping: str | None = None) -> None:
        self.files.append(
            ManifestEntry(
                path.relative_to(self.out_dir).as_posix(),
                fmt,
                spec.name,
                spec.owner,
                spec.marking.value,
                spec.sharing_group,
                mapping,
            )
        )

    def write(self) -> None:
        data = {
            "generator": "chainlight.demo",
            "version": GENERATOR_VERSION,
            "seed": self.seed,
            "scale": self.scale,
            "sharing_groups": {TASKFORCE: TASKFORCE_MEMBERS},
            "counts": self.counts,
            "truth": self.truth_path.relative_to(self.out_dir).as_posix(),
            "files": [f.as_dict() for f in self.files],
            "indices": [i.as_dict() for i in self.indices],
        }
        self.path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")

    @classmethod
    def read(cls, out_dir: Path) -> WorldManifest:
        data = orjson.loads((out_dir / "manifest.json").read_bytes())
        manifest = cls(
            out_dir,
            int(data["seed"]),
            int(data["scale"]),
            truth_path=out_dir / data["truth"],
            counts=dict(data.get("counts", {})),
            version=int(data.get("version", 1)),
        )
        manifest.files = [ManifestEntry(**f) for f in data["files"]]
        manifest.indices = [IndexEntry(**i) for i in data.get("indices", [])]
        return manifest


def _rng(seed: int, stage: str) -> random.Random:
    """One generator per stage, so a change in one stage does not reshuffle the others."""
    return random.Random(f"chainlight:{seed}:{stage}")


def generate_world(
    out_dir: Path, scale: int, seed: int, console: Console, *, _units: float | None = None
) -> WorldManifest:
    """Write every source, ``manifest.json`` and ``truth.json`` into ``out_dir``.

    ``_units`` overrides the size (``scale`` units) so tests can build a tiny world quickly.
    """
    if scale < 1:
        raise ValueError("scale must be at least 1")
    size = WorldSize(float(scale) if _units is None else _units)
    out_dir.mkdir(parents=True, exist_ok=True)
    for folder in (*(spec.name for spec in DATASET_FOLDERS), *OTHER_FOLDERS):
        shutil.rmtree(out_dir / folder, ignore_errors=True)
    for name in ("manifest.json", "truth.json"):
        (out_dir / name).unlink(missing_ok=True)
    manifest = WorldManifest(out_dir, seed, scale)
    truth = Truth(out_dir)
    shipments, trade_rows = size.n(1500, 40), size.n(50_000, 2_000)
    background_seizures, incidents, payments = size.n(120, 5), size.n(400, 20), size.n(800, 30)
    progress = Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    try:
        with progress:

            def stage(label: str, total: int) -> Callable[[int], None]:
                task = progress.add_task(label, total=total)
                return lambda n: progress.advance(task, n)

            cast_tick = stage("cast of actors", 1)
            cast = build_cast(_rng(seed, "cast"), size.cast)
            cast_tick(1)
            flows = write_flows(
                _rng(seed, "flows"), cast, truth, out_dir, shipments, stage("shipments and permits", shipments)
            )
            for path, mapping in zip(flows.files, ("shipments", "permits", "endorsements"), strict=True):
                manifest.add(path, "csv", CUSTOMS if mapping == "shipments" else PERMITS, mapping)
            launderer = _rng(seed, "launderer").choice(("TZ", "MZ", "CM", "VN"))
            trade = write_trade(
                out_dir / UNEP_WCMC.name,
                seed=seed,
                total_rows=trade_rows,
                permit_rows=flows.permit_rows,
                launderer=launderer,
                advance=stage("CITES trade rows", trade_rows),
            )
            for path in trade.files:
                manifest.add(path, "cites-trade", UNEP_WCMC)
            truth.pattern(
                "captive_breeding_laundering",
                exporter=launderer,
                sources=["C", "D", "F", "R"],
                record_ids=trade.laundering_ids,
            )
            reused = truth.patterns.get("reused_permit", [])
            for entry in reused:
                entry["trade_record_ids"] = trade.permit_row_ids.get(entry["random_id"], [])
            for path in write_payments(
                _rng(seed, "finance"), cast, truth, out_dir, payments, stage("payments (goAML)", payments)
            ):
                manifest.add(path, "goaml", FIU)
            for path in write_ownership(
                _rng(seed, "ownership"), cast, truth, out_dir, stage("beneficial ownership (BODS)", len(cast.companies))
            ):
                manifest.add(path, "bods", REGISTRY)
            # The hotspots are chosen before the seizures: planted missed opportunities pass them.
            risk_rng = _rng(seed, "risk")
            hotspots = choose_hotspots(
                risk_rng, sorted({cast.companies[e].country for s in cast.syndicates for e in s.exporters})
            )
            seizure_files = write_seizures(
                _rng(seed, "seizures"),
                cast,
                truth,
                out_dir,
                flows.syndicate_shipments,
                background_seizures,
                stage("seizures and DNA", background_seizures),
                hotspots=hotspots,
                missed=size.n(6, 2),
            )
            for path, mapping in zip(seizure_files, ("seizures", "genetic-samples", "genetic-matches"), strict=True):
                manifest.add(path, "csv", SEIZURES, mapping)
            incident_path, assessment_path = write_risk(
                risk_rng, truth, out_dir, incidents, hotspots, stage("port incidents", incidents)
            )
            manifest.add(incident_path, "csv", INCIDENTS, "incidents")
            manifest.add(assessment_path, "csv", ASSESSMENTS, "assessments")
            index_path = write_synthetic_index(_rng(seed, "indices"), truth, out_dir, hotspots)
            manifest.indices.append(
                IndexEntry(
                    index_path.relative_to(out_dir).as_posix(),
                    demo_risk.INDEX_NAME,
                    demo_risk.INDEX_DATASET,
                    demo_risk.INDEX_LABEL,
                    0.0,
                    100.0,
                    False,
                    demo_risk.INDEX_SOURCE,
                    demo_risk.INDEX_LICENCE,
                    demo_risk.INDEX_OWNER,
                    "CLEAR",
                    True,
                )
            )
            for path in write_investigation(_rng(seed, "investigation"), cast, truth, out_dir):
                manifest.add(path, "ftm", INVESTIGATION)
    except BaseException:
        truth.abandon()
        raise
    for s in cast.syndicates:
        truth.pattern(
            "syndicate",
            syndicate=s.key,
            boss=s.boss,
            members=s.members,
            exporters=s.exporters,
            importers=s.importers,
            shells=s.shells,
            officials=s.officials,
            relatives=s.relatives,
            home_port=s.home_port,
        )
    actors = [
        {
            "actor": p.key,
            "kind": "person",
            "role": p.role,
            "name": p.name.full,
            "country": p.country,
            "pep": p.pep,
            "syndicate": p.syndicate,
        }
        for p in cast.people.values()
    ] + [
        {
            "actor": c.key,
            "kind": "company",
            "role": c.kind,
            "name": c.legal_name,
            "country": c.country,
            "syndicate": c.syndicate,
        }
        for c in cast.companies.values()
    ]
    manifest.counts = {
        "people": len(cast.people),
        "companies": len(cast.companies),
        "vessels": len(cast.vessels),
        "syndicates": len(cast.syndicates),
        "shipments": flows.shipments,
        "permits": flows.permits,
        "trade_rows": trade.rows,
        "mentions": truth.mention_count,
    }
    manifest.truth_path = truth.write(
        {"generator": "chainlight.demo", "version": GENERATOR_VERSION, "seed": seed, "scale": scale}, actors
    )
    manifest.write()
    return manifest
