"""Verbs shared by the CLI and the web app: ingest into a marked dataset, rebuild
projections, report status. Each opens the stores it needs and closes them again."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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


def standing_verdicts(settings: Settings) -> list[Any]:
    """Every standing same/different/unsure judgement (the latest per pair, not undone)."""
    from chainlight.resolve import service

    operational = open_operational(settings)
    try:
        return service.verdicts(operational)
    finally:
        operational.dispose()


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


def resolve(
    settings: Settings,
    *,
    groups: Sequence[str] | None = None,
    full: bool = False,
    em: bool = False,
    threshold: float | None = None,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> Any:
    """Run entity resolution over every dataset (see :mod:`chainlight.resolve.engine`)."""
    from chainlight.resolve import engine

    if not settings.evidence_path.exists():
        raise engine.ResolutionNotRun(f"no evidence store at {settings.evidence_path}: ingest something first")
    verdicts = standing_verdicts(settings)
    with EvidenceStore(settings.evidence_path) as store:
        return engine.resolve(
            store, verdicts, groups=groups, full=full, em=em, threshold=threshold,
            **({"progress": progress} if progress else {}),
        )


def _resolution_view(settings: Settings, organisation: str) -> tuple[list[str], list[Any]]:
    from chainlight.resolve import service

    operational = open_operational(settings)
    try:
        visible = [a.name for a in operational.dataset_access() if a.visible_to(organisation)]
        return visible, service.verdicts(operational)
    finally:
        operational.dispose()


def cluster_ids(settings: Settings, organisation: str) -> dict[str, str]:
    """entity id -> canonical id, as ``organisation`` may see them."""
    from chainlight.resolve import service

    visible, verdicts = _resolution_view(settings, organisation)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return service.canonical_ids(store, verdicts, visible)


def review(settings: Settings, organisation: str, *, limit: int = 20) -> list[Any]:
    from chainlight.resolve import service

    visible, verdicts = _resolution_view(settings, organisation)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return service.review_queue(store, verdicts, visible, limit=limit)


def explain(settings: Settings, organisation: str, left: str, right: str) -> list[Any]:
    from chainlight.resolve import service

    visible, _ = _resolution_view(settings, organisation)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return service.explain(store, left, right, visible)


def judge(
    settings: Settings,
    left: str,
    right: str,
    verdict: str | None,
    *,
    author: str,
    organisation: str,
    undo: bool = False,
    note: str | None = None,
) -> str:
    """Record (or undo) a judgement, then rebuild clusters so that it applies at once. The
    judging organisation must see both entities."""
    from chainlight.resolve import engine, service

    visible, _ = _resolution_view(settings, organisation)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        service.require_resolution(store)
        for entity in (left, right):
            if not service.visible_entity(store, entity, visible):
                raise service.NotVisible(f"no such entity: {entity}")
    operational = open_operational(settings)
    try:
        if undo:
            row = operational.undo_judgement(left, right, author=author)
            summary = f"undid '{row.verdict}' on {row.left_id} and {row.right_id}"
        else:
            assert verdict is not None
            row = operational.add_judgement(left, right, verdict, author=author, organisation=organisation, note=note)
            summary = f"judged {row.left_id} and {row.right_id} '{row.verdict}'"
        verdicts = service.verdicts(operational)
    finally:
        operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        engine.rebuild_clusters(store, verdicts)
    return summary


def graph_build(settings: Settings, *, full: bool = False, progress: Callable[[str], None] | None = None) -> Any:
    """Bring the graph tables up to date (only datasets that changed, unless ``full``)."""
    from chainlight.graph import build

    if not settings.evidence_path.exists():
        raise build.GraphBuildError(f"no evidence store at {settings.evidence_path}: ingest something first")
    with EvidenceStore(settings.evidence_path) as store:
        return build.build(store, full=full, progress=progress)


@contextmanager
def graph_session(settings: Settings, organisation: str) -> Iterator[tuple[EvidenceStore, Any]]:
    """The evidence store and ``organisation``'s graph view, building the graph first when a
    dataset changed since the last build."""
    from chainlight.graph import build
    from chainlight.graph import service as graph_service
    from chainlight.resolve import service

    if not settings.evidence_path.exists():
        raise build.GraphBuildError(f"no evidence store at {settings.evidence_path}: ingest something first")
    operational = open_operational(settings)
    try:
        access = operational.dataset_access()
        verdicts = service.verdicts(operational)
    finally:
        operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        graph_service.ensure_built(store)
        yield store, graph_service.reader_view(store, access, organisation, verdicts)


def rules_run(
    settings: Settings, ids: list[str] | None = None, *, progress: Callable[[str], None] | None = None
) -> Any:
    """Run the named rules (the whole library when none) and keep their alerts. Naming rules
    makes a rule that cannot run an error; a library run skips it and says why."""
    from chainlight.rules import engine, model

    if not settings.evidence_path.exists():
        raise model.RuleError(f"no evidence store at {settings.evidence_path}: ingest something first")
    from chainlight.resolve import service

    rules = model.select(ids)
    verdicts = standing_verdicts(settings)
    with EvidenceStore(settings.evidence_path) as store:
        clusters = None
        if service.has_resolution(store):
            clusters = service.canonical_ids(store, verdicts, store.dataset_names())
        return engine.run(store, rules, settings.home, strict=bool(ids), clusters=clusters, progress=progress)


def build_index(
    settings: Settings,
    *,
    force: bool = False,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> tuple[Any, bool]:
    """Build the search index (:mod:`chainlight.search.build`) unless it already reflects the
    evidence store as it is (or ``force``); returns the index's description and whether it was
    built. Run it after ingests, resolution and rule runs: search and profiles read only it."""
    from chainlight.search import build

    if not settings.evidence_path.exists():
        raise build.IndexBuildError(f"no evidence store at {settings.evidence_path}: ingest something first")
    path = build.index_path(settings.home)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        if not force and build.is_current(store, path):
            info = build.read_info(path)
            assert info is not None
            return info, False
        return build.build(store, path, progress=progress), True


@contextmanager
def alerts_session(settings: Settings, organisation: str) -> Iterator[tuple[EvidenceStore, OperationalStore, Any]]:
    """The evidence store (read-only), the operational store and ``organisation`` as a reader."""
    from chainlight.rules.alerts import AlertError, Reader

    if not settings.evidence_path.exists():
        raise AlertError(f"no evidence store at {settings.evidence_path}: ingest something first")
    operational = open_operational(settings)
    try:
        reader = Reader.of(operational.dataset_access(), organisation)
        with EvidenceStore(settings.evidence_path, read_only=True) as store:
            yield store, operational, reader
    finally:
        operational.dispose()
