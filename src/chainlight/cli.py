"""The ``chainlight`` command: thin verbs over the pipeline, the generator and the web app.

Every error reaches the user as one clear line (set ``CHAINLIGHT_DEBUG=1`` for a traceback).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from chainlight.cli_accounts import accounts_app, audit_app
from chainlight.cli_common import (
    DatabaseOption,
    HomeOption,
    JsonOption,
    ViewerOption,
    _settings,
    err,
    out,
    step_progress,
)
from chainlight.cli_graph import graph_app
from chainlight.cli_risk import risk_app
from chainlight.cli_rules import alerts_app, rules_app
from chainlight.cli_search import index as index_command
from chainlight.settings import Settings

app = typer.Typer(
    name="chainlight",
    help="Pool, resolve, connect, flag and map risk in global supply chains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
export_app = typer.Typer(help="Export what the evidence store holds.", no_args_is_help=True)
app.add_typer(export_app, name="export")
docs_app = typer.Typer(help="Regenerate documentation that is derived from the code.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")

app.add_typer(graph_app, name="graph")
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")
app.command("index")(index_command)
app.add_typer(accounts_app, name="accounts")
app.add_typer(audit_app, name="audit")
app.add_typer(risk_app, name="risk")


@contextmanager
def file_progress(enabled: bool = True) -> Iterator[Callable[[Path, int], Callable[[int], None]]]:
    """A Rich progress bar per file, advanced in bytes by the reader."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=False,
    )

    def on_file(path: Path, size: int) -> Callable[[int], None]:
        task = progress.add_task(path.name, total=max(size, 1))

        def advance(n: int) -> None:
            if n:
                progress.advance(task, n)
            else:
                progress.update(task, completed=max(size, 1))

        return advance

    with progress:
        yield on_file


@app.command()
def ingest(
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="cites-trade, ftm, bods, goaml or csv.")],
    paths: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Files to ingest.")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name (lower-case).")],
    marking: Annotated[str, typer.Option("--marking", "-m", help="TLP 2.0 marking.")] = "AMBER",
    owner: Annotated[str, typer.Option("--owner", help="Owner organisation.")] = "local",
    sharing_group: Annotated[str | None, typer.Option("--sharing-group", help="Sharing group.")] = None,
    mapping: Annotated[
        str | None,
        typer.Option("--mapping", help="For csv: a mapping YAML file or a built-in name (see docs/formats/csv.md)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option("--option", "-o", help="Reader option KEY=VALUE, e.g. goaml_codes=codes.yaml (repeatable)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Read files even if already ingested.")] = False,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Ingest files into a marked dataset: atomic, idempotent, bad rows quarantined."""
    from chainlight import pipeline
    from chainlight.model.markings import Marking

    settings = _settings(home, database_url)
    options: dict[str, Any] = _reader_options(option or [])
    if mapping is not None:
        options["mapping"] = mapping
    with file_progress(sys.stderr.isatty()) as on_file:
        report = pipeline.ingest(
            settings, fmt, paths, dataset=dataset, marking=Marking.parse(marking), owner=owner,
            sharing_group=sharing_group, options=options, on_file=on_file, force=force,
        )
    table = Table(title=f"Ingest into {dataset}", show_lines=False)
    for column in ("file", "rows", "loaded", "quarantined", "statements", "records", "note"):
        table.add_column(column, justify="right" if column not in ("file", "note") else "left")
    for f in report.files:
        note = "already ingested: skipped" if f.skipped else (f"REJECTED: {f.rejected}" if f.rejected else "")
        table.add_row(f.path, str(f.rows_read), str(f.rows_loaded), str(f.rows_quarantined),
                      str(f.statements_added), str(f.records_added), note)
    out.print(table)
    for f in report.files:
        for problem in f.problems:
            err.print(f"[yellow]quarantined[/] {problem}", highlight=False, markup=True)
        if f.problem_count > len(f.problems):
            more = f.problem_count - len(f.problems)
            err.print(f"... and {more} more problems in {f.path} (see the quarantine table)")
    if report.rejected_files:
        raise typer.Exit(1)


def _reader_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--option")
        lowered = value.strip().lower()
        options[key.strip()] = lowered == "true" if lowered in ("true", "false") else value
    return options


@app.command()
def reference(home: HomeOption = None, database_url: DatabaseOption = None) -> None:
    """Load the packaged World Port Index ports and airports (dataset reference-ports, TLP:CLEAR)."""
    from chainlight.reference.load import load_reference

    report = load_reference(_settings(home, database_url).ensure())
    added = report.statements_added
    out.print(f"reference-ports: {added:,} statements added" if added else "reference-ports: already loaded")


@app.command()
def status(
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
) -> None:
    """Datasets the organisation may see, their owners and markings, and what each holds."""
    from chainlight import pipeline

    rows = pipeline.status(_settings(home, database_url), organisation)
    if as_json:
        print(json.dumps({"datasets": [r.as_dict() for r in rows]}, indent=2))
        return
    table = Table(title="Datasets")
    for column in ("dataset", "owner", "marking", "sharing group", "entities", "statements", "records",
                   "quarantined"):
        table.add_column(column)
    for r in rows:
        table.add_row(r.name, r.owner, f"TLP:{r.marking}", r.sharing_group or "", f"{r.entities:,}",
                      f"{r.statements:,}", f"{r.records:,}", f"{r.quarantined:,}")
    out.print(table)


@export_app.command("ftm")
def export_ftm(
    dataset: Annotated[list[str] | None, typer.Option("--dataset", "-d", help="Only these datasets.")] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
) -> None:
    """FollowTheMoney entities as JSON lines on stdout, from the datasets the organisation may see.

    Incident reports are exported only from the organisation's own datasets: others see them
    only as the k-anonymous aggregates of 'chainlight risk'."""
    from chainlight import pipeline
    from chainlight.store.entities import iter_entities
    from chainlight.store.evidence import EvidenceStore

    settings = _settings(home, database_url)
    operational = pipeline.open_operational(settings)
    try:
        access = operational.dataset_access()
    finally:
        operational.dispose()
    visible = [a.name for a in access if a.visible_to(organisation)]
    # Owner-only records (chainlight.model.markings.OWNER_ONLY_SCHEMATA) of others' datasets stay out.
    not_owned = [a.name for a in access if a.visible_to(organisation) and a.owner != organisation]
    unknown = sorted(set(dataset or []) - set(visible))
    if unknown:  # the same answer for a hidden dataset as for one that does not exist
        raise typer.BadParameter(f"no such dataset: {', '.join(unknown)}", param_hint="--dataset")
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        write = sys.stdout.write
        for proxy in iter_entities(store, list(dataset or visible), not_owned=not_owned):
            write(json.dumps(proxy.to_dict(), ensure_ascii=False, sort_keys=True))
            write("\n")


@app.command()
def resolve(
    group: Annotated[
        list[str] | None, typer.Option("--group", "-g", help="Only these groups (person, organisation, vessel, "
                                       "bank_account, address, port).")
    ] = None,
    full: Annotated[
        bool, typer.Option("--full", help="Retrain and rescore everything, not only what changed.")
    ] = False,
    em: Annotated[bool, typer.Option("--em", help="Estimate m probabilities by EM instead of the priors.")] = False,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0,
            help="Match probability at or above which a link merges entities (remembered; 0.7 at first).",
        ),
    ] = None,
    as_json: JsonOption = False,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Resolve people, companies, vessels, accounts, addresses and ports across all datasets.

    Incremental: only records that are new or changed since the last run are scored (against
    everything); clusters and canonical ids are then rebuilt, keeping ids stable."""
    from chainlight import pipeline
    from chainlight.resolve.groups import GROUPS

    unknown = sorted(set(group or []) - set(GROUPS))
    if unknown:
        raise typer.BadParameter(f"unknown group: {', '.join(unknown)}", param_hint="--group")
    settings = _settings(home, database_url)
    with step_progress(not as_json) as progress:
        report = pipeline.resolve(settings, groups=group, full=full, em=em, threshold=threshold, progress=progress)
    if as_json:
        out.print_json(json.dumps(report.as_dict()))
        return
    table = Table("group", "records", "fresh", "removed", "pairs scored", "links", "trained", "seconds")
    for g in report.groups:
        table.add_row(g.group, f"{g.records:,}", f"{g.fresh:,}", f"{g.removed:,}", f"{g.pairs_scored:,}",
                      f"{g.links:,}", "yes" if g.trained else "", f"{g.seconds:.1f}")
    out.print(table)
    out.print(f"{report.entities:,} entities; {report.merged_entities:,} of them in {report.clusters:,} clusters "
              f"({report.seconds:.1f} s)")
    for a, b in report.conflicts:
        err.print(f"[yellow]warning:[/] judgements contradict each other around {a} and {b}: the 'different' stands")


@app.command()
def judge(
    left: Annotated[str, typer.Argument(help="An entity id.")],
    right: Annotated[str, typer.Argument(help="Another entity id.")],
    verdict: Annotated[str | None, typer.Argument(help="same, different or unsure.")] = None,
    undo: Annotated[bool, typer.Option("--undo", help="Undo the latest standing judgement on the pair.")] = False,
    note: Annotated[str | None, typer.Option(help="Why (kept with the judgement).")] = None,
    author: Annotated[str, typer.Option(envvar="CHAINLIGHT_USER", help="Who judges.")] = "cli",
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Say whether two entities are the same; overrides the model, applied transitively, undoable."""
    from chainlight import pipeline

    if not undo and verdict is None:
        raise typer.BadParameter("give a verdict (same, different, unsure) or --undo", param_hint="VERDICT")
    settings = _settings(home, database_url)
    summary = pipeline.judge(settings, left, right, verdict, author=author, organisation=organisation, undo=undo,
                             note=note)
    out.print(summary)


@app.command()
def review(
    limit: Annotated[int, typer.Option(min=1, help="How many pairs to list.")] = 20,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """The review queue: uncertain pairs, most valuable first (judge them with 'chainlight judge')."""
    from chainlight import pipeline

    queue = pipeline.review(_settings(home, database_url), organisation, limit=limit)
    if as_json:
        out.print_json(json.dumps([c.as_dict() for c in queue]))
        return
    table = Table("value", "p", "group", "left", "right", "datasets")
    for c in queue:
        table.add_row(f"{c.value:.2f}", f"{c.probability:.2f}", c.group, f"{c.left_name}\n{c.left}",
                      f"{c.right_name}\n{c.right}", ", ".join(c.datasets) + (" (unsure)" if c.unsure else ""))
    out.print(table)


@app.command()
def explain(
    left: Annotated[str, typer.Argument(help="An entity id.")],
    right: Annotated[str, typer.Argument(help="Another entity id.")],
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Why two entities are (or are not) linked: each comparison, the level it reached and its weight."""
    from chainlight import pipeline

    links = pipeline.explain(_settings(home, database_url), organisation, left, right)
    if as_json:
        out.print_json(json.dumps([link.as_dict() for link in links]))
        return
    if not links:
        out.print("no scored link between these entities (they were never a candidate pair, or scored below 0.2)")
    for link in links:
        out.print(f"[bold]{link.left_dataset} x {link.right_dataset}[/]: match probability "
                  f"{link.probability:.3f}, match weight {link.weight:+.2f}")
        table = Table("feature", "level", "weight")
        for f in link.features:
            table.add_row(f["feature"], f["level"] or "", f"{f['weight']:+.2f}")
        out.print(table)


@export_app.command("clusters")
def export_clusters(
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """CSV 'entity_id,canonical_id' on stdout for every resolved entity the organisation may see."""
    import csv

    from chainlight import pipeline

    ids = pipeline.cluster_ids(_settings(home, database_url), organisation)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["entity_id", "canonical_id"])
    for entity_id in sorted(ids):
        writer.writerow([entity_id, ids[entity_id]])


@docs_app.command("data-model")
def docs_data_model(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("docs/data-model.md"),
) -> None:
    """Write docs/data-model.md from the schemata."""
    from chainlight.model.docs import write_data_model

    write_data_model(path)
    out.print(f"wrote {path}")


@docs_app.command("rules")
def docs_rules(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("docs/rules.md"),
) -> None:
    """Write docs/rules.md from the rule library, its inputs and its configuration."""
    from chainlight.rules.docs import write_rules_doc

    write_rules_doc(path)
    out.print(f"wrote {path}")


@docs_app.command("cli")
def docs_cli(
    path: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("docs/cli.md"),
) -> None:
    """Write docs/cli.md from the commands' help."""
    from chainlight.clidocs import render_cli

    path.write_text(render_cli(), "utf-8")
    out.print(f"wrote {path}")


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the world into.")],
    scale: Annotated[int, typer.Option("--scale", help="Size of the world (1 = demo size).")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; same seed, same world.")] = 7,
) -> None:
    """Generate a synthetic world with planted ground truth in the field's real formats."""
    from chainlight.demo.world import generate_world

    manifest = generate_world(out_dir, scale=scale, seed=seed, console=err)
    out.print(f"wrote {len(manifest.files)} files to {out_dir} (truth: {manifest.truth_path})")


@app.command()
def demo(
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    seed: Annotated[int, typer.Option(help="Random seed of the demo world.")] = 7,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the web app afterwards.")] = True,
) -> None:
    """Generate a small world, ingest it with its markings, and serve it on http://127.0.0.1:8000."""
    from chainlight.demo.accounts import ensure_demo_accounts, print_accounts
    from chainlight.demo.load import load_world

    settings = _settings(home, database_url).ensure()
    load_world(settings, settings.home / "world", seed=seed, console=err)
    accounts = ensure_demo_accounts(settings)
    print_accounts(accounts, err, f"http://{host}:{port}/")
    err.print(f"(also in {settings.home / 'demo-accounts.txt'})")
    if serve:
        _serve(settings, host, port)


@app.command()
def serve(
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (each answers requests; sessions are shared).")
    ] = 1,
) -> None:
    """Serve the web app and JSON API (sign-in required; see `chainlight accounts`)."""
    _serve(_settings(home, database_url), host, port, workers)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from chainlight.web.app import create_app

    err.print(f"Chainlight on http://{host}:{port}/  (Ctrl+C to stop)")
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    # Several processes: each builds its own app from the environment (uvicorn's factory mode).
    os.environ["CHAINLIGHT_HOME"] = str(settings.home)
    os.environ["CHAINLIGHT_DATABASE_URL"] = settings.database_url
    # A worker answers the supervisor's health check only once it has imported everything, which
    # takes seconds on a busy machine: uvicorn's 5 s default would kill and restart it for ever.
    uvicorn.run("chainlight.web.app:from_environment", factory=True, host=host, port=port, workers=workers,
                log_level="warning", timeout_worker_healthcheck=120)


def main() -> None:
    """Entry point: run the CLI, turning any error into one line on stderr."""
    try:
        # Without standalone mode, click returns typer.Exit's code instead of exiting with it.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except SystemExit as exc:
        raise exc
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("CHAINLIGHT_DEBUG"):
            raise
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, click.exceptions.Abort):
            err.print("aborted")
            sys.exit(1)
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
