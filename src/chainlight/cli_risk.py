"""``chainlight risk``: corruption risk mapping of ports and processes (docs/risk.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainlight import cli_risk_countries, cli_risk_incidents, cli_risk_register
from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, ViewerOption, _settings, err, out
from chainlight.settings import Settings

risk_app = typer.Typer(help="Corruption risk mapping: port scores, registers, incidents, country tiers.",
                       no_args_is_help=True)

ModelOption = Annotated[
    Path | None,
    typer.Option("--model", help="A risk model YAML (default: $CHAINLIGHT_HOME/risk/model.yaml, else the shipped)."),
]
WeightOption = Annotated[
    list[str] | None,
    typer.Option("--weight", "-w", help="Change one weight for this run, e.g. likelihood.incidents=0.6 (repeatable)."),
]


def parse_weights(values: list[str] | None) -> dict[str, float]:
    """``["likelihood.incidents=0.6"]`` -> ``{"likelihood.incidents": 0.6}``, with a clear error."""
    weights: dict[str, float] = {}
    for value in values or []:
        key, sep, number = value.partition("=")
        try:
            if not sep:
                raise ValueError
            weights[key.strip()] = float(number)
        except ValueError:
            raise typer.BadParameter(f"{value!r}: expected NAME=NUMBER, e.g. likelihood.incidents=0.6") from None
    return weights


def ensure_evidence(settings: Settings, *, quiet: bool = False) -> None:
    """Rebuild the risk tables when the evidence changed since they were built (and the store is free)."""
    import duckdb

    from chainlight.risk import evidence
    from chainlight.rules.alerts import AlertError
    from chainlight.store.evidence import EvidenceStore

    if not settings.evidence_path.exists():
        raise AlertError(f"no evidence store at {settings.evidence_path}: ingest something first")
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        if evidence.current(store):
            return
        was_built = evidence.built(store)
    try:
        _build(settings, quiet=quiet)
    except duckdb.IOException:
        if not was_built:
            raise
        err.print("the evidence store is busy (a server?): scoring with the risk evidence as last built")


def _build(settings: Settings, *, quiet: bool = False) -> dict[str, int]:
    from chainlight.cli_common import step_progress
    from chainlight.risk import evidence
    from chainlight.store.evidence import EvidenceStore

    with EvidenceStore(settings.evidence_path) as store, step_progress(not quiet) as start:
        report = evidence.build(store, home=settings.home, advance=start("building risk evidence", 6))
    return report.as_dict()


@risk_app.command("build")
def risk_build(home: HomeOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """Rebuild the risk evidence (incidents, assessments, missed seizures, alerts per port) from the store."""
    settings = _settings(home, database_url)
    if not settings.evidence_path.exists():
        raise typer.BadParameter(f"no evidence store at {settings.evidence_path}: ingest something first")
    counts = _build(settings, quiet=as_json)
    if as_json:
        out.print_json(json.dumps(counts))
        return
    out.print("risk evidence built: " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items()))


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _trend(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:+.1f}" if abs(value) >= 0.05 else "0.0"


def _raw(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return escape("" if value is None else str(value))


@risk_app.command("ports")
def risk_ports(
    limit: Annotated[int, typer.Option(help="Show this many ports (0 = all).")] = 25,
    region: Annotated[str | None, typer.Option(help="Only ports of this World Port Index region (substring).")] = None,
    country: Annotated[str | None, typer.Option(help="Only ports of this country (ISO code).")] = None,
    size: Annotated[str | None, typer.Option(help="Only this harbour size: L, M, S, V or airport.")] = None,
    explain: Annotated[str | None, typer.Option(help="Explain one port's score (code or id).")] = None,
    model_path: ModelOption = None,
    weight: WeightOption = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Ports ranked by residual corruption risk, each with the contributions that make up its score."""
    card = _scorecard(_settings(home, database_url), organisation, model_path, weight, as_json)
    ports = card.ports
    if region:
        ports = [p for p in ports if p.region and region.casefold() in p.region.casefold()]
    if country:
        ports = [p for p in ports if p.country == country.casefold()]
    if size:
        ports = [p for p in ports if (p.kind == "airport" and size == "airport") or p.harbour_size == size.upper()]
    if explain:
        found = card.port(explain)
        if found is None:
            raise typer.BadParameter(f"no port {explain!r} in the risk evidence (a UN/LOCODE, IATA code or port id)")
        ports = [found]
    shown = ports if limit <= 0 or explain else ports[:limit]
    if as_json:
        data = card.as_dict(explain=True)
        data["ports"] = [p.as_dict(explain=True) for p in shown]
        data["matching"] = len(ports)
        out.print_json(json.dumps(data, default=str))
        return
    if explain:
        _print_explanation(shown[0], card.model)
        return
    table = Table("rank", "port", "name", "country", "region", "size", "residual", "inherent", "L", "I", "C",
                  "trend", "incidents", "top contributions", "marking",
                  title=f"ports by residual corruption risk (as of {card.as_of or 'no dated evidence'})")
    for p in shown:
        top = sorted((t for t in p.contributions if t.points > 0), key=lambda t: -t.points)[:3]
        table.add_row(
            str(p.rank), escape(p.code or p.port_id), escape(p.name), (p.country or "").upper(),
            escape(p.region or ""), "airport" if p.kind == "airport" else (p.harbour_size or ""),
            _number(p.residual), _number(p.inherent), str(p.likelihood_class), str(p.impact_class),
            f"{p.control_effectiveness:.2f}", _trend(p.trend), str(p.incidents),
            ", ".join(f"{t.factor} {t.points:.1f}" for t in top), f"TLP:{p.marking}",
        )
    out.print(table)
    out.print(f"{len(ports):,} ports match; model: {escape(card.model)}; "
              f"explain one with --explain CODE; change a weight with --weight likelihood.incidents=0.6")


def _print_explanation(p: Any, model: str) -> None:
    out.print(f"[bold]{escape(p.name)}[/] ({escape(p.code or p.port_id)}, {(p.country or '').upper()}) "
              f"rank {p.rank}: residual risk [bold]{p.residual:.2f}[/] = inherent {p.inherent:.2f} "
              f"x (1 - mitigation x controls {p.control_effectiveness:.2f})   TLP:{p.marking}")
    table = Table("factor", "group", "raw", "normalised", "weight", "points", "note",
                  title="contributions (they sum to the residual score)")
    for t in p.contributions:
        table.add_row(escape(t.label), t.group, _raw(t.raw), _number(t.normalised, 3), _number(t.weight, 3),
                      f"{t.points:+.4f}", escape(t.note or ""))
    table.add_row("[bold]residual score[/]", "", "", "", "", f"[bold]{p.residual:.4f}[/]", "")
    out.print(table)
    impact = Table("impact factor", "raw", "normalised", "weight", "value", "note",
                   title=f"impact I = {p.impact:.4f} (multiplies likelihood)")
    for t in p.impact_terms:
        impact.add_row(escape(t.label), _raw(t.raw), _number(t.normalised, 3), _number(t.weight, 3),
                       f"{t.points:.4f}", escape(t.note or ""))
    out.print(impact)
    controls = Table("control", "status", "credit", "weight", "value", "note",
                     title=f"control effectiveness C = {p.control_effectiveness:.4f}")
    for t in p.control_terms:
        controls.add_row(escape(t.label), escape(str(t.raw)), _number(t.normalised, 2), _number(t.weight, 3),
                         f"{t.points:.4f}", escape(t.note or ""))
    out.print(controls)
    if p.missing:
        out.print(f"no data for: {', '.join(p.missing)} (their weight is shared among the other factors)")
    out.print(f"evidence: {', '.join(p.datasets) or 'reference data only'}; model: {escape(model)}")


def _scorecard(
    settings: Settings, organisation: str, model_path: Path | None, weight: list[str] | None, quiet: bool,
) -> Any:
    from chainlight import pipeline
    from chainlight.risk.model import RiskModel
    from chainlight.risk.scoring import score_ports

    model = RiskModel.load(model_path, settings.home).with_weights(parse_weights(weight))
    ensure_evidence(settings, quiet=quiet)
    with pipeline.alerts_session(settings, organisation) as (store, operational, reader):
        dismissed = {k for k, t in operational.triage(reader.organisation).items() if t.state == "dismissed"}
        return score_ports(store, reader, model, dismissed=dismissed)


@risk_app.command("benchmark")
def risk_benchmark(
    port: Annotated[str | None, typer.Argument(help="A port (code or id): its peers and gaps.")] = None,
    by: Annotated[str, typer.Option(help="Group the overview by region, size or country.")] = "region",
    limit: Annotated[int, typer.Option(help="Show this many groups (0 = all).")] = 30,
    model_path: ModelOption = None,
    weight: WeightOption = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """The port integrity benchmark: regions (or sizes, countries) compared, or one port against its peers."""
    from chainlight.risk.benchmark import benchmark_port, summary

    if by not in ("region", "size", "country"):
        raise typer.BadParameter(f"--by {by!r}: expected region, size or country")
    card = _scorecard(_settings(home, database_url), organisation, model_path, weight, as_json)
    if port is None:
        groups = summary(card, by)
        shown = groups if limit <= 0 else groups[:limit]
        if as_json:
            out.print_json(json.dumps({"by": by, "as_of": card.as_of, "marking": card.marking,
                                       "groups": [g.as_dict() for g in shown], "total": len(groups)}, default=str))
            return
        table = Table(by, "ports", "with evidence", "median residual", "max residual", "riskiest", "mean trend",
                      "controls in place", title=f"port integrity benchmark by {by} (as of {card.as_of})")
        for g in shown:
            table.add_row(escape(g.key.upper() if by == "country" else g.key), f"{g.ports:,}", f"{g.with_evidence:,}",
                          _number(g.median_residual), _number(g.max_residual), escape(g.worst or ""),
                          _trend(g.mean_trend),
                          "" if g.controls_in_place_share is None else f"{g.controls_in_place_share:.0%}")
        out.print(table)
        out.print(f"TLP:{card.marking}; {len(groups):,} groups; one port against its peers: "
                  "chainlight risk benchmark CODE")
        return
    found = card.port(port)
    if found is None:
        raise typer.BadParameter(f"no port {port!r} in the risk evidence (a UN/LOCODE, IATA code or port id)")
    result = benchmark_port(card, found)
    if as_json:
        out.print_json(json.dumps(result.as_dict(), default=str))
        return
    out.print(f"[bold]{escape(found.name)}[/] ({escape(found.code or found.port_id)}): residual {found.residual:.1f}, "
              f"rank {found.rank:,} of {len(card.ports):,}, trend {_trend(found.trend) or 'n/a'}, "
              f"{result.controls_in_place} of {result.controls_total} controls in place   TLP:{found.marking}")
    peers = Table("peer group", "ports", "with evidence", "rank", "median residual", "riskiest", "mean trend",
                  title="peers")
    for peer in result.peers:
        peers.add_row(f"{peer.kind}: {escape(peer.key)}", f"{peer.ports:,}", f"{peer.with_evidence:,}",
                      "" if peer.rank is None else str(peer.rank), _number(peer.median_residual),
                      escape(peer.worst or ""), _trend(peer.mean_trend))
    out.print(peers)
    gaps = Table("control", "framework", "status", "regional peers in place", title="gaps against good practice")
    for gap in result.gaps:
        share = "" if gap.peer_share is None else f"{gap.peers_in_place}/{gap.peers_assessed} ({gap.peer_share:.0%})"
        gaps.add_row(escape(gap.label), gap.framework, gap.status, share)
    out.print(gaps)


for part in (cli_risk_register, cli_risk_countries, cli_risk_incidents):
    part.register(risk_app)
