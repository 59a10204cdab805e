"""Verbs shared by the CLI and the web app: ingest into a marked dataset, rebuild
projections, report status. Each opens the stores it needs and closes them again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainlight.ingest import get_reader
from chainlight.ingest.base import IngestReport, ProgressCallback, run_ingest
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import projections
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalStore

DEFAULT_OWNER = "local"


def open_operational(settings: Settings) -> OperationalStore:
    store = OperationalStore(settings.ensure().database_url)
    store.migrate()
    return store


def ingest(
    settings: Settings,
    fmt: str,
    paths: Sequence[Path],
    *,
    dataset: str,
    marking: Marking,
    owner: str = DEFAULT_OWNER,
    sharing_group: str | None = None,
    options: dict[str, Any] | None = None,
    on_file: Callable[[Path, int], ProgressCallback] | None = None,
    force: bool = False,
    rebuild: bool = True,
    labels: Sequence[str] | None = None,
) -> IngestReport:
    """Register the dataset with its marking, ingest the files atomically, refresh projections
    (a batch of ingests passes ``rebuild=False`` and calls :func:`rebuild_projections` once).
    ``labels`` name the files in origins, reports and pages (default: the paths as given)."""
    reader = get_reader(fmt)
    operational = open_operational(settings)
    try:
        operational.ensure_dataset(dataset, owner=owner, marking=marking, sharing_group=sharing_group)
    finally:
        operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        report = run_ingest(
            store, reader, paths, dataset, labels=labels, options=options, on_file=on_file, force=force
        )
        if rebuild and report.statements_added:
            projections.rebuild(store)
    return report


def rebuild_projections(settings: Settings) -> dict[str, int]:
    """Rebuild every per-schema projection from the statements; returns rows per schema."""
    with EvidenceStore(settings.evidence_path) as store:
        return projections.rebuild(store)


def visible_datasets(settings: Settings, organisation: str) -> list[str]:
    """Names of the registered datasets that ``organisation`` may read."""
    operational = open_operational(settings)
    try:
        return [a.name for a in operational.dataset_access() if a.visible_to(organisation)]
    finally:
        operational.dispose()


@dataclass(frozen=True, slots=True)
class DatasetStatus:
    name: str
    owner: str
    marking: str
    sharing_group: str | None
    entities: int
    statements: int
    records: int
    quarantined: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "owner": self.owner,
            "marking": self.marking,
            "sharing_group": self.sharing_group,
            "entities": self.entities,
            "statements": self.statements,
            "records": self.records,
            "quarantined": self.quarantined,
        }


def status(settings: Settings, organisation: str | None = None) -> list[DatasetStatus]:
    """Datasets with their markings and counts; only those ``organisation`` may see when given."""
    operational = open_operational(settings)
    try:
        registered = operational.datasets()
    finally:
        operational.dispose()
    if not settings.evidence_path.exists():
        counts = {}
    else:
        with EvidenceStore(settings.evidence_path, read_only=True) as store:
            counts = store.counts()
    result = []
    for ds in registered:
        if organisation is not None and not ds.access().visible_to(organisation):
            continue
        c = counts.get(ds.name)
        result.append(
            DatasetStatus(
                ds.name, ds.owner.name, ds.marking, ds.sharing_group.name if ds.sharing_group else None,
                c.entities if c else 0, c.statements if c else 0, c.records if c else 0,
                c.quarantined if c else 0,
            )
        )
    return result
