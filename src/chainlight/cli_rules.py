"""``chainlight rules ...`` (the red-flag library: list, show, test, run, configuration,
evaluation) and ``chainlight alerts ...`` (what the rules raised, as an organisation may see
it: list, show with evidence, triage, entity risk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, ViewerOption, _settings, err, out

rules_app = typer.Typer(help="The red-flag rule library: list, show, test and run rules.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration rules read (suspensions, quotas, registers, lists).",
                         no_args_is_help=True)
rules_app.add_typer(config_app, name="config")
alerts_app = typer.Typer(
    help="Alerts raised by the rules, as your organisation may see them. Without a command: list them.",
    invoke_without_command=True,
)

RuleIds = Annotated[list[str] | None, typer.Argument(help="Rule ids (default: the whole library).")]


def _e(value: object) -> str:
    return escape(str(value))


def _json(data: Any) -> None:
    out.print_json(json.dumps(data, default=str))


@rules_app.command("list")
def rules_list(
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every rule in the library: id, category, severity and title."""
    from chainlight.rules.model import CATEGORIES, library

    if category is not None and category not in CATEGORIES:
        raise typer.BadParameter(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    rules = [r.rule for r in library().values() if category in (None, r.rule.category)]
    if as_json:
        _json([{"id": r.id, "category": r.category, "severity": r.severity, "score": r.effective_score,
                "flags": r.flags, "title": r.title} for r in rules])
        return
    table = Table("rule", "category", "severity", "flags", "title", title=f"{len(rules)} rules")
    for r in rules:
        table.add_row(r.id, r.category, r.severity, r.flags, _e(r.title))
    out.print(table)


@rules_app.command("show")
def rules_show(rule_id: Annotated[str, typer.Argument(help="Rule id.")], as_json: JsonOption = False) -> None:
    """One rule: rationale, references, inputs, parameters and its query."""
    from chainlight.rules.model import select

    loaded = select([rule_id])[0]
    rule = loaded.rule
    if as_json:
        _json({**rule.model_dump(), "score": rule.effective_score, "path": str(loaded.path),
               "fixtures": [c.name for c in loaded.fixtures.cases]})
        return
    out.print(f"[bold]{rule.id}[/]  {_e(rule.title)}")
    out.print(f"category {rule.category} · severity {rule.severity} (score {rule.effective_score}) · flags "
              f"{rule.flags}")
    out.print(_e(rule.rationale.strip()))
    out.print("[bold]references[/]")
    for ref in rule.references:
        out.print(f"  - {_e(ref.title)}" + (f" <{_e(ref.url)}>" if ref.url else ""))
    out.print(f"[bold]inputs[/] {', '.join(rule.inputs)}"
              + (f" (optional: {', '.join(rule.optional_inputs)})" if rule.optional_inputs else ""))
    if rule.config:
        out.print(f"[bold]configuration[/] {', '.join(rule.config)}")
    for name, p in rule.parameters.items():
        out.print(f"[bold]parameter[/] {name} = {p.value}: {_e(p.description)}")
    out.print("[bold]query[/]")
    out.print(_e(rule.query.rstrip()), highlight=False)


@rules_app.command("test")
def rules_test(rule_ids: RuleIds = None, as_json: JsonOption = False) -> None:
    """Run every rule (or the named ones) against its fixtures; exit 1 when any case fails."""
    from chainlight.rules.fixtures import run_fixtures
    from chainlight.rules.model import select

    results = run_fixtures(select(rule_ids))
    failed = [r for r in results if not r.passed]
    if as_json:
        _json([{"rule": r.rule_id, "case": r.case, "expect": r.expect, "passed": r.passed,
                "flagged": list(r.flagged), "message": r.message} for r in results])
    else:
        table = Table("rule", "case", "expect", "result", title=f"{len(results)} fixture cases")
        for r in results:
            verdict = "[green]pass[/]" if r.passed else f"[red]FAIL[/] {_e(r.message)}"
            table.add_row(r.rule_id, _e(r.case), r.expect, verdict)
        out.print(table)
        out.print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if failed:
        raise typer.Exit(1)


@rules_app.command("run")
def rules_run(
    rule_ids: RuleIds = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the library (or the named rules) over the evidence store and keep the alerts.
    Re-running is safe: an alert keeps its id, first-raised time and triage."""
    from chainlight import pipeline
    from chainlight.rules.model import select

    settings = _settings(home, database_url)
    wanted = {r.rule.id for r in select(rule_ids)}
    total = len(wanted)
    from chainlight.cli_common import step_progress

    with step_progress(not as_json) as start:
        advance = start("rules", total)
        seen: set[str] = set()

        def progress(label: str) -> None:
            if label in wanted and label not in seen:
                seen.add(label)
                advance(1)

        report = pipeline.rules_run(settings, rule_ids, progress=progress)
    if as_json:
        _json({"run_id": report.run_id, "alerts": report.alerts, "seconds": round(report.seconds, 3),
               "prepare_seconds": round(report.prepare_seconds, 3), "inputs": report.input_rows,
               "rules": [{"rule": o.rule_id, "status": o.status, "alerts": o.alerts,
                          "seconds": round(o.seconds, 3), "message": o.message} for o in report.outcomes]})
        return
    table = Table("rule", "status", "alerts", "seconds", title=f"run {report.run_id}")
    for o in report.outcomes:
        status = o.status if o.status == "ran" else f"[yellow]skipped[/] {_e(o.message or '')}"
        table.add_row(o.rule_id, status, str(o.alerts), f"{o.seconds:.2f}")
    out.print(table)
    out.print(f"{report.alerts} alerts from {sum(o.status == 'ran' for o in report.outcomes)} rules in "
              f"{report.seconds:.1f} s (inputs prepared in {report.prepare_seconds:.1f} s)")


@rules_app.command("evaluate")
def rules_evaluate(
    truth: Annotated[Path, typer.Argument(help="truth.json written by 'chainlight generate'.", exists=True,
                                          dir_okay=False)],
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Precision and recall of each rule against the patterns planted in a synthetic world
    (run the rules first)."""
    from chainlight.rules.evaluate import evaluate, overall
    from chainlight.store.evidence import EvidenceStore

    settings = _settings(home, database_url)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        scores = evaluate(store, truth)
    scores.append(overall(scores))
    if as_json:
        _json([s.as_dict() for s in scores])
        return
    table = Table("rule", "truth", "planted", "alerts", "true pos.", "precision", "recall",
                  title="rules against the planted truth")
    for s in scores:
        table.add_row(s.rule_id, s.truth, str(s.planted), str(s.alerts), str(s.true_positives),
                      f"{s.precision:.3f}" if s.precision is not None else "-",
                      f"{s.recall:.3f}" if s.recall is not None else "-")
    out.print(table)


@config_app.command("list")
def config_list(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Configuration tables, where each comes from (yours or the default) and its row count."""
    from chainlight.rules import config

    tables = config.load_all(_settings(home, None).home)
    if as_json:
        _json([{"name": t.name, "rows": len(t.rows), "user": t.user, "path": str(t.path),
                "description": t.spec.description.strip()} for t in tables.values()])
        return
    table = Table("table", "rows", "from", "description")
    for t in tables.values():
        table.add_row(t.name, str(len(t.rows)), "yours" if t.user else "default", _e(t.spec.description.strip()))
    out.print(table)


@config_app.command("show")
def config_show(name: Annotated[str, typer.Argument(help="Table name.")], home: HomeOption = None,
                as_json: JsonOption = False) -> None:
    """A configuration table's columns and rows."""
    from chainlight.rules import config

    tables = config.load_all(_settings(home, None).home)
    if name not in tables:
        raise typer.BadParameter(f"unknown configuration table {name!r}; known: {', '.join(tables)}")
    t = tables[name]
    if as_json:
        _json({"name": name, "path": str(t.path), "user": t.user, "rows": t.rows})
        return
    out.print(f"[bold]{name}[/] ({'yours' if t.user else 'default'}: {_e(t.path)})")
    out.print(_e(t.spec.description.strip()))
    table = Table(*t.spec.columns)
    for row in t.rows:
        table.add_row(*("" if row[c] is None else _e(row[c]) for c in t.spec.columns))
    out.print(table)


@config_app.command("load")
def config_load(
    name: Annotated[str, typer.Argument(help="Table name.")],
    path: Annotated[Path, typer.Argument(help="CSV file with the table's columns.")],
    home: HomeOption = None,
) -> None:
    """Check a CSV and make it your copy of the table (it replaces the default)."""
    from chainlight.rules import config

    settings = _settings(home, None).ensure()
    table = config.install(settings.home, name, path)
    err.print(f"{name}: {len(table.rows)} rows loaded into {table.path}; run 'chainlight rules run' to apply")


StateOption = Annotated[str | None, typer.Option(help="Only alerts in this triage state (new, confirmed, "
                                                     "dismissed).")]


@alerts_app.callback()
def alerts_list(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only this rule's alerts.")] = None,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    state: StateOption = None,
    entity: Annotated[str | None, typer.Option(help="Only alerts about this entity id.")] = None,
    min_score: Annotated[float | None, typer.Option(help="Only alerts scoring at least this.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """List alerts, highest score first."""
    if ctx.invoked_subcommand is not None:
        return
    from chainlight import pipeline
    from chainlight.rules.alerts import list_alerts

    with pipeline.alerts_session(_settings(home, database_url), organisation) as (store, operational, reader):
        alerts, total = list_alerts(store, operational, reader, rule=rule, category=category, state=state,
                                    entity=entity, min_score=min_score, limit=limit)
    if as_json:
        _json({"total": total, "alerts": [a.as_dict() for a in alerts]})
        return
    table = Table("alert", "score", "rule", "state", "marking", "reason",
                  title=f"{len(alerts)} of {total} alerts visible to {organisation}")
    for a in alerts:
        table.add_row(a.alert_id, f"{a.score:.2f}", a.rule_id, a.state, f"TLP:{a.marking}", _e(a.reason))
    out.print(table)


@alerts_app.command("show")
def alerts_show(
    alert_id: Annotated[str, typer.Argument(help="Alert id (al-...).")],
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """One alert: why, its evidence (statements and trade records), datasets, marking, triage."""
    from chainlight import pipeline
    from chainlight.rules.alerts import evidence, get_alert

    with pipeline.alerts_session(_settings(home, database_url), organisation) as (store, operational, reader):
        alert = get_alert(store, operational, reader, alert_id)
        items = evidence(store, reader, alert)
    if as_json:
        _json({**alert.as_dict(), "evidence_items": items})
        return
    out.print(f"[bold]{alert.alert_id}[/]  {_e(alert.title)}  (TLP:{alert.marking})")
    out.print(f"rule {alert.rule_id} · score {alert.score:.2f} · {alert.state}"
              + (f" ({_e(alert.triage_reason)})" if alert.triage_reason else ""))
    out.print(_e(alert.reason))
    out.print(f"subject {alert.flags} {_e(alert.subject)}; datasets {', '.join(alert.datasets)}")
    for key, value in alert.details.items():
        out.print(f"  {_e(key)}: {_e(value)}")
    table = Table("evidence", "kind", "dataset", "what", "origin", title="evidence")
    for item in items:
        if item["kind"] == "statement":
            what = f"{item['schema']}.{item['prop']} = {item['value']}"
        else:
            what = (f"{item['taxon']} {item['term']} {item['quantity']} {item['unit'] or ''} "
                    f"{item['exporter']}->{item['importer']} {item['year']} source {item['source']}")
        table.add_row(_e(item["evidence"]), item["kind"], item["dataset"], _e(what), _e(item["origin"] or ""))
    out.print(table)
    for h in alert.history:
        out.print(f"  {h['at']} {h['author']}: {h['state']}" + (f" ({_e(h['reason'])})" if h["reason"] else ""))


@alerts_app.command("triage")
def alerts_triage(
    alert_id: Annotated[str, typer.Argument(help="Alert id.")],
    state: Annotated[str, typer.Argument(help="new, confirmed or dismissed.")],
    reason: Annotated[str | None, typer.Option(help="Why (required to dismiss).")] = None,
    author: Annotated[str, typer.Option(envvar="CHAINLIGHT_USER", help="Who decides.")] = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
) -> None:
    """Confirm or dismiss an alert (or set it back to new) for your organisation."""
    from chainlight import pipeline
    from chainlight.rules.alerts import triage_alert

    with pipeline.alerts_session(_settings(home, database_url), organisation) as (store, operational, reader):
        alert = triage_alert(store, operational, reader, alert_id, state, author=author, reason=reason)
    err.print(f"{alert.alert_id}: {alert.state}" + (f" ({alert.triage_reason})" if alert.triage_reason else ""))


@alerts_app.command("risk")
def alerts_risk(
    entity: Annotated[str | None, typer.Option(help="Only this entity id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entities.")] = 25,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Entities ranked by combined risk: independent alerts from different rules add up."""
    from chainlight import pipeline
    from chainlight.rules.alerts import entity_risk

    with pipeline.alerts_session(_settings(home, database_url), organisation) as (store, operational, reader):
        risks = entity_risk(store, operational, reader, limit=limit, entity=entity)
    if as_json:
        _json([r.as_dict() for r in risks])
        return
    table = Table("entity", "name", "risk", "alerts", "rules", "marking", title="entity risk")
    for r in risks:
        table.add_row(r.entity_id, _e(r.name or ""), f"{r.score:.2f}", str(r.alerts), ", ".join(r.rules),
                      f"TLP:{r.marking}")
    out.print(table)
