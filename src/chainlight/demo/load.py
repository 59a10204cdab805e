"""``chainlight demo``: generate the demo world (once per seed) and ingest every file into
its dataset with the dataset's owner, marking and sharing group, as the parties in the
story would each load their own data."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chainlight.demo.sources import TASKFORCE, TASKFORCE_MEMBERS
from chainlight.demo.world import GENERATOR_VERSION, IndexEntry, ManifestEntry, WorldManifest, generate_world
from chainlight.model.markings import Marking
from chainlight.settings import Settings


@dataclass(slots=True)
class LoadSummary:
    """What the demo load did, per dataset."""

    world_dir: Path
    generated: bool
    files: int = 0
    statements: int = 0
    records: int = 0
    quarantined: int = 0
    datasets: dict[str, int] = field(default_factory=dict)
    reference_loaded: bool = False
    resolution: str = ""
    graph: str = ""
    alerts: str = ""
    risk: str = ""
    indices: str = ""
    search: str = ""


def _existing(world_dir: Path, seed: int) -> WorldManifest | None:
    if not (world_dir / "manifest.json").is_file():
        return None
    try:
        manifest = WorldManifest.read(world_dir)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if manifest.seed != seed or manifest.scale != 1 or not manifest.truth_path.is_file():
        return None
    if manifest.version != GENERATOR_VERSION:  # an older generator planted less: write it again
        return None
    paths = [f.path for f in manifest.files] + [i.path for i in manifest.indices]
    if not all((world_dir / path).is_file() for path in paths):
        return None
    return manifest


def load_world(settings: Settings, world_dir: Path, seed: int, console: Console) -> LoadSummary:
    """Generate (unless this seed's world is already there) and ingest the demo world."""
    manifest = _existing(world_dir, seed)
    summary = LoadSummary(world_dir, generated=manifest is None)
    if manifest is None:
        console.print(f"generating the demo world (seed {seed}) in {world_dir}")
        manifest = generate_world(world_dir, scale=1, seed=seed, console=console)
    else:
        console.print(f"using the demo world already in {world_dir} (seed {seed})")
    summary.reference_loaded = _load_reference(settings, console)

    from chainlight import pipeline

    operational = pipeline.open_operational(settings)
    try:
        operational.ensure_sharing_group(TASKFORCE, list(TASKFORCE_MEMBERS))
    finally:
        operational.dispose()
    groups: dict[tuple[str, str, str | None, str, str, str | None], list[ManifestEntry]] = defaultdict(list)
    for entry in manifest.files:
        groups[(entry.format, entry.dataset, entry.mapping, entry.owner, entry.marking, entry.sharing_group)].append(
            entry
        )
    progress = Progress(
        TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
    with progress:
        task = progress.add_task("ingesting the demo world", total=len(manifest.files))
        for (fmt, dataset, mapping, owner, marking, group), entries in groups.items():
            progress.update(task, description=f"{dataset} ({mapping or fmt})")
            report = pipeline.ingest(
                settings,
                fmt,
                [world_dir / e.path for e in entries],
                dataset=dataset,
                marking=Marking.parse(marking),
                owner=owner,
                sharing_group=group,
                options={"mapping": mapping} if mapping else None,
                rebuild=False,
                labels=[e.path for e in entries],  # relative to the world: no server paths in origins
            )
            summary.files += len(entries)
            summary.statements += report.statements_added
            summary.records += report.records_added
            summary.quarantined += report.rows_quarantined
            summary.datasets[dataset] = (
                summary.datasets.get(dataset, 0) + report.statements_added + report.records_added
            )
            progress.advance(task, len(entries))
    summary.indices = load_indices(settings, world_dir, manifest.indices, console)
    with console.status("rebuilding projections"):
        pipeline.rebuild_projections(settings)
    console.print(
        f"demo world loaded: {summary.files} files, {summary.statements} statements, {summary.records} records, "
        f"{summary.quarantined} rows quarantined"
    )
    summary.resolution = _resolve(settings, console)
    summary.graph = _graph(settings, console)
    summary.alerts = _rules(settings, console)
    summary.risk = _risk(settings, console)
    summary.search = _index(settings, console)
    return summary


def _index(settings: Settings, console: Console) -> str:
    """Build the search index that search and entity profiles read (last: it copies the
    resolution links and the alerts too)."""
    from chainlight import pipeline

    progress = Progress(
        TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )

    def start(label: str, total: int | None) -> Callable[[int], None]:
        task = progress.add_task(label, total=total)
        return lambda n: progress.advance(task, n)

    with progress:
        info, _ = pipeline.build_index(settings, progress=start)
    line = f"search index: {info.entities:,} entities, {info.keys:,} names ({info.seconds:.0f} s)"
    console.print(line)
    return line


def _rules(settings: Settings, console: Console) -> str:
    """Run the red-flag library (re-running keeps alert ids and triage)."""
    from chainlight import pipeline

    with console.status("running the red-flag rules") as status:
        report = pipeline.rules_run(settings, progress=lambda step: status.update(f"running rules: {step}"))
    ran = sum(o.status == "ran" for o in report.outcomes)
    line = f"rules: {report.alerts:,} alerts from {ran} rules ({report.seconds:.0f} s)"
    console.print(line)
    return line


def _risk(settings: Settings, console: Console) -> str:
    """Build the risk evidence port scores and registers read (after the rules: alerts count)."""
    from chainlight.risk import evidence
    from chainlight.store.evidence import EvidenceStore

    with console.status("building the risk evidence"), EvidenceStore(settings.evidence_path) as store:
        report = evidence.build(store, home=settings.home)
    line = (f"risk: {report.ports:,} ports, {report.incidents:,} incidents, {report.assessments:,} assessments, "
            f"{report.alert_ports:,} alert-port links")
    console.print(line)
    return line


def load_indices(settings: Settings, world_dir: Path, entries: list[IndexEntry], console: Console) -> str:
    """Load the world's country indices with their declarations (the demo's one is synthetic,
    made up by the generator: real indices are licensed and never shipped)."""
    from chainlight.risk.indices import IndexSpec, load_index

    lines = []
    for entry in entries:
        spec = IndexSpec(
            entry.index,
            entry.dataset,
            entry.label,
            entry.minimum,
            entry.maximum,
            entry.higher_is_riskier,
            source=entry.source,
            licence=entry.licence,
        )
        with console.status(f"loading the country index {entry.index}"):
            report = load_index(
                settings,
                world_dir / entry.path,
                spec,
                marking=Marking.parse(entry.marking),
                owner=entry.owner,
                label=entry.path,
            )
        lines.append(f"{entry.label}: {report.records_added} values")
    line = "country indices: " + ("; ".join(lines) if lines else "none")
    console.print(line)
    return line


def _graph(settings: Settings, console: Console) -> str:
    """Build the graph (incremental: a re-run with nothing new rebuilds nothing)."""
    from chainlight import pipeline

    with console.status("building the graph") as status:
        report = pipeline.graph_build(settings, progress=lambda step: status.update(f"building the graph: {step}"))
    line = f"graph: {report.nodes:,} entities, {report.edges:,} edges"
    console.print(line)
    return line


def _resolve(settings: Settings, console: Console) -> str:
    """Resolve the pool (incremental: a re-run with nothing new scores nothing)."""
    from chainlight import pipeline

    progress = Progress(
        TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )

    def start(label: str, total: int | None) -> Callable[[int], None]:
        task = progress.add_task(label, total=total)
        return lambda n: progress.advance(task, n)

    with progress:
        report = pipeline.resolve(settings, progress=start)
    line = (
        f"resolved: {report.merged_entities} of {report.entities} entities in {report.clusters} clusters "
        f"({report.seconds:.0f} s)"
    )
    console.print(line)
    return line


def _load_reference(settings: Settings, console: Console) -> bool:
    """Load the reference ports first, so shipments, seizures and incidents name known ports."""
    from chainlight.reference.load import load_reference

    with console.status("loading reference ports and airports"):
        report = load_reference(settings)
    return report.statements_added > 0
