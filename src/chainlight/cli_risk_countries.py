"""``chainlight risk indices`` (country indices the user loads) and ``chainlight risk countries``
(country accountability tiers from editable criteria): see docs/risk.md, "Country layer"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, ViewerOption, _settings, err, out

indices_app = typer.Typer(
    help="Country indices you load (CPI, organised crime, AML...): their data is not shipped.", no_args_is_help=True
)

DIRECTIONS = {"higher-is-riskier": True, "higher-is-better": False}


@indices_app.command("load")
def indices_load(
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A CSV with a country, a value and a year per row.")],
    index: Annotated[str, typer.Option("--index", help="Short name, used in criteria as index.NAME (e.g. cpi).")],
    minimum: Annotated[float, typer.Option("--min", help="Lowest value the index can take.")],
    maximum: Annotated[float, typer.Option("--max", help="Highest value the index can take.")],
    direction: Annotated[str, typer.Option("--direction", help="higher-is-better or higher-is-riskier.")],
    licence: Annotated[str, typer.Option("--licence", help="The licence you hold the data under (kept with it).")],
    label: Annotated[str | None, typer.Option("--label", help="Readable name (default: the index name).")] = None,
    source: Annotated[str | None, typer.Option("--source", help="Publisher and edition, e.g. 'TI CPI 2024'.")] = None,
    country_column: Annotated[
        str, typer.Option("--country-column", help="Column with ISO 3166 alpha-2, alpha-3 or country names.")
    ] = "country",
    value_column: Annotated[str, typer.Option("--value-column", help="Column with the values.")] = "score",
    year_column: Annotated[str, typer.Option("--year-column", help="Column with the year.")] = "year",
    year: Annotated[int | None, typer.Option("--year", help="One year for every row (no year column).")] = None,
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Dataset (default: the index name).")] = None,
    marking: Annotated[str, typer.Option("--marking", "-m", help="TLP 2.0 marking.")] = "AMBER",
    owner: Annotated[str, typer.Option("--owner", help="Owner organisation.")] = "local",
    sharing_group: Annotated[str | None, typer.Option("--sharing-group", help="Sharing group.")] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load a country index into a marked dataset: values checked against --min/--max, bad rows
    quarantined (file, line, field), a re-load replacing the index's values at once."""
    from chainlight.model.markings import Marking
    from chainlight.risk.indices import Columns, IndexSpec, load_index

    if direction not in DIRECTIONS:
        raise typer.BadParameter(f"{direction!r}: use higher-is-better or higher-is-riskier", param_hint="--direction")
    settings = _settings(home, database_url)
    spec = IndexSpec(index, dataset or index, label or index, minimum, maximum, DIRECTIONS[direction],
                     source or path.name, licence)
    report = load_index(settings, path, spec, marking=Marking.parse(marking), owner=owner,
                        columns=Columns(country_column, value_column, year_column, year), sharing_group=sharing_group)
    file = report.files[0]
    if as_json:
        out.print_json(json.dumps({
            "index": spec.index, "dataset": spec.dataset, "file": file.path, "rows": file.rows_read,
            "loaded": file.records_added, "quarantined": file.rows_quarantined, "rejected": file.rejected,
            "problems": [str(p) for p in file.problems], "problem_count": file.problem_count,
        }))
    elif file.rejected:
        err.print(f"[bold red]rejected:[/] {escape(str(file.problems[0]) if file.problems else file.rejected)}")
    else:
        out.print(f"index {spec.index} ({escape(spec.label)}) in dataset {spec.dataset}: {file.records_added:,} values "
                  f"loaded from {file.rows_read:,} rows, {file.rows_quarantined:,} quarantined")
    if not as_json:
        for problem in file.problems if not file.rejected else []:
            err.print(f"[yellow]quarantined[/] {escape(str(problem))}", highlight=False)
        if file.problem_count > len(file.problems):
            err.print(f"... and {file.problem_count - len(file.problems)} more problems (see the quarantine table)")
    if file.rejected:
        raise typer.Exit(1)


@indices_app.command("list")
def indices_list(
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """The indices loaded into datasets the organisation may see, with source, licence and coverage."""
    from chainlight import pipeline
    from chainlight.risk.indices import list_indices

    settings = _settings(home, database_url)
    if not settings.evidence_path.exists():
        listed = []
    else:
        with pipeline.alerts_session(settings, organisation) as (store, _, reader):
            listed = list_indices(store, reader)
    if as_json:
        out.print_json(json.dumps([x.as_dict() for x in listed]))
        return
    table = Table("index", "label", "dataset", "marking", "range", "direction", "countries", "years", "source",
                  "licence", title="country indices")
    for x in listed:
        s = x.spec
        years = f"{x.years[0]}-{x.years[-1]}" if len(x.years) > 1 else "".join(str(y) for y in x.years)
        table.add_row(s.index, escape(s.label), s.dataset, f"TLP:{x.marking.value}", f"{s.minimum:g}..{s.maximum:g}",
                      s.direction, str(x.countries), years, escape(s.source or ""), escape(s.licence or ""))
    out.print(table)
    if not listed:
        out.print("no index loaded: load one with 'chainlight risk indices load FILE --index NAME ...'")


@indices_app.command("remove")
def indices_remove(
    index: Annotated[str, typer.Argument(metavar="NAME", help="The index name given at load.")],
    dataset: Annotated[str | None, typer.Option("--dataset", "-d", help="Its dataset, when several hold it.")] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Delete a loaded index's values and declaration (e.g. when its licence ends)."""
    from chainlight.risk.indices import remove_index

    removed = remove_index(_settings(home, database_url), index, dataset)
    out.print(f"index {index} removed ({removed:,} values)")


def countries(
    criteria_path: Annotated[
        Path | None,
        typer.Option("--criteria", help="A tiers criteria YAML (default: $CHAINLIGHT_HOME/risk/tiers.yaml, "
                                        "else the shipped)."),
    ] = None,
    country: Annotated[str | None, typer.Option("--country", help="Only this country (ISO code or name).")] = None,
    model_path: Annotated[
        Path | None, typer.Option("--model", help="Risk model for the port scores the criteria may use."),
    ] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Country accountability tiers (TIP-style) from editable criteria: each with the rule that
    placed it, the values that met it, and its data gaps."""
    from chainlight import pipeline
    from chainlight.cli_risk import ensure_evidence
    from chainlight.risk import evidence, tiers
    from chainlight.risk.indices import clean_country
    from chainlight.risk.model import RiskModel
    from chainlight.risk.scoring import score_ports

    settings = _settings(home, database_url)
    criteria = tiers.Criteria.load(criteria_path, settings.home)
    model = RiskModel.load(model_path, settings.home)
    wanted = None
    if country is not None:
        wanted = clean_country(country)
        if wanted is None:
            raise typer.BadParameter(f"unknown country {country!r}", param_hint="--country")
    ensure_evidence(settings, quiet=as_json)
    with pipeline.alerts_session(settings, organisation) as (store, operational, reader):
        dismissed = {k for k, t in operational.triage(reader.organisation).items() if t.state == "dismissed"}
        ports = score_ports(store, reader, model, dismissed=dismissed, with_previous=False).ports \
            if evidence.built(store) else None
        report = tiers.country_tiers(store, reader, criteria, ports=ports, dismissed=dismissed)
    shown = [t for t in report.countries if wanted is None or t.country == wanted]
    if wanted is not None and not shown:
        raise typer.BadParameter(f"no index value or evidence you may see for {wanted.upper()}", param_hint="--country")
    if as_json:
        data = report.as_dict()
        data["countries"] = [t.as_dict() for t in shown]
        out.print_json(json.dumps(data, default=str))
        return
    table = Table("country", "tier", "rule", "because", "values that met it", "undecided", "data gaps", "marking",
                  title=f"{escape(report.scheme)} (criteria: {escape(report.criteria)})")
    for t in shown:
        table.add_row(_country(t.country), t.label, t.rule or "", escape(t.because), "; ".join(str(m) for m in t.met),
                      ", ".join(t.undecided), ", ".join(t.gaps), f"TLP:{t.marking.value}")
    out.print(table)
    assessed = sum(1 for t in shown if t.assessed)
    out.print(f"{assessed} of {len(shown)} countries assessed; inputs: {', '.join(report.datasets) or 'none'}; "
              "edit the criteria with --criteria FILE (see docs/risk.md)")


def _country(code: str) -> str:
    from followthemoney.types import registry

    name: Any = registry.country.caption(code)
    return f"{code.upper()} {escape(str(name))}" if name and name != code else code.upper()


def register(app: typer.Typer) -> None:
    """Add ``risk indices ...`` and ``risk countries`` to ``chainlight risk``."""
    app.add_typer(indices_app, name="indices")
    app.command("countries")(countries)
