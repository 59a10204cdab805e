"""``chainlight graph ...``: build the network and ask it questions (neighbours, paths,
ultimate owners, money, communities, DNA-linked seizures) and export subgraphs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

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

graph_app = typer.Typer(
    help="The network: ownership, money, shipments, permits, seizures and DNA as one graph.", no_args_is_help=True
)

RelationOption = Annotated[
    list[str] | None,
    typer.Option("--relation", "-r", help="Walk only these relations (e.g. Ownership, Payment, Shipment, "
                 "consignee, shares); repeatable."),
]
ExcludeOption = Annotated[list[str] | None, typer.Option("--exclude", "-x", help="Never walk these relations.")]
SinceOption = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only edges dated on or after this day (YYYY-MM-DD).")
]
UntilOption = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Only edges dated on or before this day (YYYY-MM-DD).")
]


def _e(value: object) -> str:
    """Data shown in Rich output: escaped, so a name like '[bold]' is printed, not obeyed."""
    return escape(str(value))


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def _filter(relation: list[str] | None, exclude: list[str] | None, since: datetime | None,
            until: datetime | None) -> Any:
    from chainlight.graph.view import EdgeFilter, GraphError

    try:
        return EdgeFilter.parse(relation, exclude, _day(since), _day(until))
    except GraphError as exc:
        raise typer.BadParameter(str(exc)) from None


def _run(home: Path | None, database_url: str | None, organisation: str, query: Callable[[Any, Any], Any]) -> Any:
    from chainlight import pipeline

    with err.status("loading the graph"), pipeline.graph_session(_settings(home, database_url), organisation) as (
        store, view,
    ):
        return query(store, view)


def _print_json(result: Any) -> None:
    out.print_json(json.dumps(result, default=str))


def _provenance(result: dict[str, Any]) -> None:
    out.print(f"[dim]evidence from {', '.join(result['datasets']) or 'no dataset'}; marking TLP:{result['marking']}[/]")


@graph_app.command("build")
def build_graph(
    full: Annotated[bool, typer.Option("--full", help="Rebuild every dataset, not only those that changed.")] = False,
    as_json: JsonOption = False,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Derive the graph from the statements (incremental: only datasets that changed)."""
    from chainlight import pipeline

    with step_progress(not as_json) as progress:
        steps: dict[str, Callable[[int], None]] = {}

        def step(label: str) -> None:
            for done in steps.values():
                done(1)
            steps.clear()
            steps[label] = progress(f"graph: {label}", 1)

        report = pipeline.graph_build(_settings(home, database_url), full=full, progress=step)
        for done in steps.values():
            done(1)
    if as_json:
        _print_json({"rebuilt": report.rebuilt, "unchanged": report.unchanged, "removed": report.removed,
                     "nodes": report.nodes, "edges": report.edges})
        return
    out.print(f"graph: {report.nodes:,} entities, {report.edges:,} edges; rebuilt {len(report.rebuilt)} dataset(s), "
              f"{len(report.unchanged)} unchanged")


@graph_app.command("relations")
def relations() -> None:
    """List the relations the graph can hold (names to give --relation and --exclude)."""
    from chainlight.graph.relations import known_relations, relation_label

    table = Table("relation", "label")
    for name in known_relations():
        table.add_row(name, relation_label(name))
    out.print(table)


@graph_app.command("neighbours")
def neighbours(
    entity: Annotated[str, typer.Argument(help="An entity id (or canonical id).")],
    hops: Annotated[int, typer.Option("--hops", "-k", min=1, max=6, help="How far to walk.")] = 1,
    limit: Annotated[int, typer.Option(min=1, help="Stop growing at this many nodes.")] = 500,
    relation: RelationOption = None,
    exclude: ExcludeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """The entities within K hops, and the edges between them."""
    from chainlight.graph import queries

    flt = _filter(relation, exclude, since, until)
    result = _run(home, database_url, organisation,
                  lambda s, v: queries.neighbours(s, v, entity, hops=hops, flt=flt, limit=limit))
    if as_json:
        _print_json(result)
        return
    table = Table("hops", "schema", "caption", "id", "datasets")
    for node in sorted(result["nodes"], key=lambda n: (n["distance"], n["schema"], str(n["caption"]))):
        table.add_row(str(node["distance"]), node["schema"], _e(node["caption"]), node["id"],
                      ", ".join(node["datasets"]))
    out.print(table)
    out.print(f"{len(result['nodes'])} nodes, {len(result['edges'])} edges"
              + (" (cut at the node limit)" if result["truncated"] else "")
              + (f"; not expanded (hubs): {len(result['hubs'])}" if result["hubs"] else ""))
    _provenance(result)


@graph_app.command("path")
def path(
    source: Annotated[str, typer.Argument(help="From this entity.")],
    target: Annotated[str, typer.Argument(help="To this entity.")],
    paths: Annotated[int, typer.Option(min=1, max=20, help="How many shortest paths.")] = 1,
    relation: RelationOption = None,
    exclude: ExcludeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """The shortest paths between two entities, each step with its evidence."""
    from chainlight.graph import queries

    flt = _filter(relation, exclude, since, until)
    result = _run(home, database_url, organisation,
                  lambda s, v: queries.path(s, v, source, target, flt=flt, paths=paths))
    if as_json:
        _print_json(result)
        return
    if not result["paths"]:
        out.print("no path between these entities in what you may see")
        return
    names = {n["id"]: _e(n["caption"]) for n in result["nodes"]}
    for i, p in enumerate(result["paths"], start=1):
        out.print(f"[bold]path {i}[/] ({p['length']} steps; TLP:{p['marking']})")
        for step in p["steps"]:
            a, b = (step["source"], step["target"])
            arrow = f"{names.get(a, a)} -{_e('[' + step['label'] + ']')}-> {names.get(b, b)}"
            when = f" {step['start']}" if step.get("start") else ""
            out.print(f"  {arrow}{when}  [dim]{step['evidence']['entity_id']} in {', '.join(step['datasets'])}[/]")
    _provenance(result)


@graph_app.command("ubo")
def ubo(
    entity: Annotated[str, typer.Argument(help="A company (or any owned entity).")],
    threshold: Annotated[float, typer.Option(min=0.0, max=100.0, help="Beneficial-ownership share, %.")] = 25.0,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Ultimate owners: shares multiplied along chains and summed across them, as ranges."""
    from chainlight.graph import ownership

    result = _run(home, database_url, organisation,
                  lambda s, v: ownership.ultimate_owners(s, v, entity, threshold=threshold))
    if as_json:
        _print_json(result)
        return
    table = Table("owner", "schema", "share %", "beneficial", "chains", "datasets")
    for o in result["owners"]:
        share = o["share"]
        shown = f"{share['min']:g}" if share["min"] == share["max"] else f"{share['min']:g}-{share['max']:g}"
        if not o["share_known"]:
            shown += " (share unknown on some link)"
        datasets = ", ".join(sorted({d for c in o["chains"] for d in c["datasets"]}))
        table.add_row(f"{_e(o['caption'])}\n{o['id']}", o["schema"], shown, o["beneficial_owner"],
                      str(len(o["chains"])), datasets)
    out.print(table)
    for cycle in result["cycles"]:
        out.print(f"[yellow]circular ownership:[/] {' -> '.join(_e(c) for c in cycle['captions'])}")
    _provenance(result)


@graph_app.command("cycles")
def cycles(
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Every group of entities that own each other round a cycle."""
    from chainlight.graph import ownership

    result = _run(home, database_url, organisation, ownership.circular_ownership)
    if as_json:
        _print_json(result)
        return
    if not result:
        out.print("no circular ownership in what you may see")
    for group in result:
        out.print(f"{' <-> '.join(_e(c) for c in group['captions'])}  [dim]TLP:{group['marking']}[/]")


@graph_app.command("money")
def money(
    entity: Annotated[str, typer.Argument(help="Trace from this entity (or account).")],
    direction: Annotated[str, typer.Option(help="forward (where it went), backward (where it came from), both.")] = (
        "forward"
    ),
    hops: Annotated[int, typer.Option(min=1, max=6, help="How many payments deep.")] = 3,
    max_lag: Annotated[int | None, typer.Option(min=0, help="Days money may rest at a hop before moving on.")] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Follow payments forward or backward in time order, summed per counterparty and hop."""
    from chainlight.graph import money as money_

    if direction not in ("forward", "backward", "both"):
        raise typer.BadParameter("use forward, backward or both", param_hint="--direction")
    result = _run(home, database_url, organisation, lambda s, v: money_.follow(
        s, v, entity, direction=direction, since=_day(since), until=_day(until), hops=hops, max_lag=max_lag))  # type: ignore[arg-type]
    if as_json:
        _print_json(result)
        return
    for d in ("forward", "backward"):
        for level in result.get(d, []):
            table = Table("counterparty", "payments", "amount", "first", "last", title=f"{d}, hop {level['hop']}")
            for row in level["counterparties"]:
                amounts = ", ".join(f"{a:,.2f} {c}" for c, a in row["amounts"].items())
                back = " (back to origin)" if row["returns_to_origin"] else ""
                table.add_row(f"{_e(row['caption'])}\n{row['id']}{back}", str(row["payments"]), amounts, row["first"],
                              row["last"])
            out.print(table)
    _provenance(result)


@graph_app.command("communities")
def communities(
    resolution: Annotated[float, typer.Option(min=0.01, help="Leiden resolution: higher gives smaller groups.")] = 1.0,
    min_size: Annotated[int, typer.Option(min=2, help="Smallest community to list (people, companies, accounts).")] = 3,
    limit: Annotated[int, typer.Option(min=1, help="How many communities to list.")] = 20,
    relation: RelationOption = None,
    exclude: ExcludeOption = None,
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Syndicate candidates (Leiden communities) and their brokers (betweenness)."""
    from chainlight.graph import communities as comm
    from chainlight.graph.view import EdgeFilter

    chosen = _filter(relation, exclude, None, None)  # checks the user's own terms
    if not relation:
        chosen = EdgeFilter(exclude=tuple(exclude or ()) + comm.DEFAULT_EXCLUDE)
    result = _run(home, database_url, organisation, lambda s, v: comm.communities(
        s, v, flt=chosen, resolution=resolution, min_size=min_size, limit=limit))
    if as_json:
        _print_json(result)
        return
    table = Table("community", "size", "brokers", "datasets")
    for c in result["communities"]:
        brokers = "\n".join(f"{_e(b['caption'])} ({b['betweenness']:g})" for b in c["brokers"])
        table.add_row(c["id"], str(c["size"]), brokers, ", ".join(c["datasets"]))
    out.print(table)
    out.print(f"{result['total']} communities of {min_size} or more")


@graph_app.command("seizures")
def seizures(
    as_json: JsonOption = False,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Seizures linked by DNA, with their shipments, parties, ports, permits and owners."""
    from chainlight.graph import seizures as seizures_

    result = _run(home, database_url, organisation, seizures_.dna_clusters)
    if as_json:
        _print_json(result)
        return
    table = Table("seizures", "shipments", "parties and suspects", "ports", "owners", "marking")
    for c in result["clusters"]:
        table.add_row(
            "\n".join(_e(s["caption"]) for s in c["seizures"]),
            "\n".join(_e(s["caption"]) for s in c["shipments"]),
            "\n".join(_e(p["caption"]) for p in c["parties"] + c["suspects"]),
            "\n".join(_e(p["caption"]) for p in c["ports"]),
            "\n".join(f"{_e(o['caption'])} ({o['share']['min']:g}-{o['share']['max']:g}% of {o['of'][:8]})"
                      for o in c["owners"]),
            c["marking"],
        )
    out.print(table)
    out.print(f"{len(result['clusters'])} DNA-linked clusters")


@graph_app.command("export")
def export(
    entity: Annotated[str, typer.Argument(help="Centre of the neighbourhood (or start of the path).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="ftm, graphml, gexf or cytoscape.")] = "ftm",
    hops: Annotated[int, typer.Option("--hops", "-k", min=1, max=6, help="Neighbourhood depth.")] = 1,
    to: Annotated[str | None, typer.Option("--to", help="Export the shortest path to this entity instead.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Stop growing at this many nodes.")] = 500,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write here (default: standard output).")] = None,
    relation: RelationOption = None,
    exclude: ExcludeOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    organisation: ViewerOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Export a neighbourhood (or a path) as FtM JSON lines, GraphML, GEXF or Cytoscape JSON."""
    from chainlight.graph import export as export_

    if fmt not in export_.FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(export_.FORMATS)}", param_hint="--format")
    flt = _filter(relation, exclude, since, until)

    def render(store: Any, view: Any) -> bytes:
        return export_.around(store, view, entity, fmt, to=to, hops=hops, flt=flt, limit=limit)

    data = _run(home, database_url, organisation, render)
    if output is None:
        import sys

        sys.stdout.buffer.write(data)
        return
    output.write_bytes(data)
    err.print(f"wrote {output} ({len(data):,} bytes, {fmt})")

