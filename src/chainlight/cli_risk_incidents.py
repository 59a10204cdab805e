"""`chainlight risk incidents`: corruption incident counts by stage, actor, item, quarter,
year, stage x actor or port, as the reading organisation may see them (docs/risk.md).

Other organisations' counts are protected with the installation's k-anonymity threshold
(``k_anonymity`` in ``$CHAINLIGHT_HOME/risk/model.yaml``, else the shipped model): there is
deliberately no option to lower it for one run.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, ViewerOption, _settings, out

if TYPE_CHECKING:
    from chainlight.risk.incidents import Count

BY_HELP = "stage, actor, item, consequence, outcome, quarter, year, stage-actor or port."


def _d(count: Count) -> str:
    """A count for a Rich table: ``[c]`` is markup to Rich, so it is escaped."""
    return escape(count.display())


def _legend(k: int, organisation: str) -> str:
    return (f"[c] = hidden: other organisations' reports under k={k}, or hidden so that such a count cannot be "
            f"worked out from a total. {organisation}'s own reports are always shown exactly (own + [c]).")


def risk_incidents(
    port: Annotated[str | None, typer.Argument(help="A port (UN/LOCODE, IATA code or port id); default all.")] = None,
    by: Annotated[str, typer.Option("--by", help="Break the counts down by " + BY_HELP)] = "stage",
    limit: Annotated[int, typer.Option(help="With --by port: show this many ports (0 = all).")] = 20,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Corruption incident reports by stage, actor, item demanded, quarter or port (small shared counts hidden)."""
    from chainlight import pipeline
    from chainlight.cli_risk import ensure_evidence
    from chainlight.risk.incidents import IncidentError, check_breakdown, incident_views
    from chainlight.risk.model import RiskModel

    try:
        check_breakdown(by)
    except IncidentError as exc:
        raise typer.BadParameter(str(exc)) from None
    settings = _settings(home, database_url)
    k = RiskModel.load(home=settings.home).k_anonymity
    ensure_evidence(settings, quiet=as_json)
    with pipeline.alerts_session(settings, organisation) as (store, _operational, reader):
        try:
            views = incident_views(store, reader, k)
            result = views.top_ports(limit) if by == "port" and port is None else views.breakdown(by, port)
        except IncidentError as exc:
            raise typer.BadParameter(str(exc)) from None
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    where = escape(result.port_label or "all ports")
    title = f"incident reports at {where} by {by} (as of {result.as_of or 'no dated report'}) TLP:{result.marking}"
    if result.columns:
        table = Table(by.split("-")[0], *(escape(label) for _, label in result.columns), "total", title=title)
        for line in result.lines:
            table.add_row(escape(line.label), *(_d(c) for c in line.cells), _d(line.count))
        table.add_row("[bold]total[/]", *(_d(c) for c in result.column_totals), _d(result.total))
    else:
        table = Table(by, "reports", title=title)
        for line in result.lines:
            table.add_row(escape(line.label), _d(line.count))
        table.add_row("[bold]total[/]", _d(result.total))
    out.print(table)
    if result.hidden_ports:
        out.print(f"{result.hidden_ports} more ports have reports whose counts are hidden")
    if result.trend is not None:
        t = result.trend
        change = f" ({t.change:+.0%})" if t.change is not None else ""
        out.print(f"trend: {_d(t.recent)} reports {t.recent_from} to {t.recent_to} against "
                  f"{_d(t.previous)} {t.previous_from} to {t.previous_to}{change}")
    if result.suppressed:
        out.print(escape(_legend(k, organisation)))
    out.print(f"datasets: {', '.join(result.datasets) or 'none'}")


def register(app: typer.Typer) -> None:
    """Add this part's commands to `chainlight risk`."""
    app.command("incidents")(risk_incidents)
