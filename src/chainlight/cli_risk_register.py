"""``chainlight risk register PORT`` and the ``register-*`` commands that edit a register.

``risk register PORT`` shows the register the reading organisation keeps for a port (or, with
``--owner``, one another organisation shares with it); without one it shows a draft seeded from
the evidence the organisation may see, which ``--save`` keeps. ``--json``, ``--csv FILE`` and
``--pdf FILE`` export what is shown. Rows, controls, actions, reviews and sharing are changed by
``risk register-row``, ``register-control``, ``register-action``, ``register-action-status``,
``register-review`` and ``register-share``; only the owner organisation may change its register.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from chainlight.cli_common import DatabaseOption, HomeOption, JsonOption, ViewerOption, _settings, err, out
from chainlight.settings import Settings
from chainlight.store.operational import OperationalStore

if TYPE_CHECKING:
    from chainlight.risk.registers import ControlEntry, Register

PortArgument = Annotated[str, typer.Argument(help="Port: UN/LOCODE (KEMBA), IATA code (NBO) or id (port-kemba).")]
StageArgument = Annotated[str, typer.Argument(help="Process stage (catalogue key or a synonym).")]
ActorArgument = Annotated[str, typer.Argument(help="Actor type (catalogue key or a synonym).")]
AuthorOption = Annotated[str, typer.Option("--by", envvar="CHAINLIGHT_USER", help="Who makes the change.")]
DateOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Date (YYYY-MM-DD).")]
Level = Annotated[int | None, typer.Option(min=1, max=5)]

BAND_STYLES = {"low": "green", "medium": "yellow", "high": "dark_orange", "critical": "bold red"}


def _e(value: object) -> str:
    return escape(str(value))


@contextmanager
def _clear_errors() -> Iterator[None]:
    """A refused request is one line on stderr and exit status 1."""
    from chainlight.model.markings import MarkingError
    from chainlight.store.evidence import StoreError
    from chainlight.store.operational import OperationalError

    try:
        yield
    except (OperationalError, MarkingError, StoreError) as exc:
        err.print(f"[bold red]error:[/] {_e(exc)}", highlight=False)
        raise typer.Exit(1) from None


@contextmanager
def _operational(settings: Settings) -> Iterator[OperationalStore]:
    from chainlight.pipeline import open_operational

    operational = open_operational(settings)
    try:
        yield operational
    finally:
        operational.dispose()


def _day(value: datetime | None) -> date | None:
    return value.date() if value is not None else None


def register(app: typer.Typer) -> None:
    """Add this part's commands to `chainlight risk`."""
    app.command("register")(register_show)
    app.command("register-list")(register_list)
    app.command("register-row")(register_row)
    app.command("register-control")(register_control)
    app.command("register-action")(register_action)
    app.command("register-action-status")(register_action_status)
    app.command("register-review")(register_review)
    app.command("register-share")(register_share)
    app.command("register-delete")(register_delete)


def register_show(
    port: PortArgument,
    owner: Annotated[str | None, typer.Option(help="Show the register this organisation shares with you.")] = None,
    save: Annotated[bool, typer.Option("--save", help="Keep the draft seeded from evidence as your register.")] = False,
    empty: Annotated[bool, typer.Option("--empty", help="With --save: start an empty register instead.")] = False,
    marking: Annotated[str | None, typer.Option(help="With --save: TLP marking (default AMBER, never below "
                                                     "the evidence's).")] = None,
    sharing_group: Annotated[str | None, typer.Option(help="With --save: share with this group.")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Write the register as CSV to this file.",
                                                  dir_okay=False)] = None,
    pdf_path: Annotated[Path | None, typer.Option("--pdf", help="Write a PDF report to this file.",
                                                  dir_okay=False)] = None,
    author: AuthorOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """A port's corruption risk register (WCO): rows of stage x actor with inherent and residual
    risk, controls, actions and reviews. Without a register of your own: a draft seeded from the
    incidents and assessments you may see (keep it with --save)."""
    from chainlight.model.markings import Marking
    from chainlight.risk import registers as rr

    settings = _settings(home, database_url)
    with _clear_errors(), _operational(settings) as operational:
        where = rr.resolve_port(port)
        if save:
            if owner not in (None, organisation):
                raise rr.RegisterError("--save keeps a register of your own organisation: leave out --owner")
            draft = (rr.Register(where, organisation, Marking.AMBER, f"Corruption risk register: {where.label}",
                                 draft=True) if empty else _seed(settings, operational, organisation, where.port_id))
            shown = rr.save_register(operational, draft, author=author,
                                     marking=Marking.parse(marking) if marking else None, sharing_group=sharing_group)
            err.print(f"saved the register of {organisation} for {where.label} ({shown.marking.label}, "
                      f"{len(shown.rows)} rows)")
        else:
            if marking or sharing_group or empty:
                raise rr.RegisterError("--marking, --sharing-group and --empty go with --save "
                                       "(use 'chainlight risk register-share' to change a saved register)")
            found = rr.get_register(operational, organisation, where.port_id, owner=owner)
            if found is None and owner not in (None, organisation):
                raise rr.RegisterError(f"no register of {owner} for {where.label} that {organisation} may read")
            shown = found or rr.with_reviewer(_seed(settings, operational, organisation, where.port_id), author)
        _export(shown, csv_path, pdf_path)
        if as_json:
            out.print_json(json.dumps(shown.as_dict(), default=str))
            return
        _print_register(shown)
        if shown.draft:
            others = [r.organisation for r in rr.list_registers(operational, organisation, port=where.port_id)
                      if r.organisation != organisation]
            err.print(f"draft, not saved: keep it with 'chainlight risk register {port} --save'")
            if others:
                err.print(f"registers shared with you for this port: {', '.join(others)} (show with --owner)")


def _seed(settings: Settings, operational: OperationalStore, organisation: str, port_id: str) -> Register:
    """The evidence-seeded draft, or an empty one (with a note) when there is no evidence yet."""
    from chainlight.model.markings import Marking
    from chainlight.risk import registers as rr
    from chainlight.rules.alerts import Reader
    from chainlight.store.evidence import EvidenceStore

    where = rr.resolve_port(port_id)
    if not settings.evidence_path.exists():
        return rr.Register(where, organisation, Marking.AMBER, f"Corruption risk register: {where.label}", draft=True,
                           notes=("no evidence store yet: nothing to seed from",))
    reader = Reader.of(operational.dataset_access(), organisation)
    with EvidenceStore(settings.evidence_path, read_only=True) as store:
        return rr.seed_register(store, reader, port_id)


def _export(shown: Register, csv_path: Path | None, pdf_path: Path | None) -> None:
    from chainlight.risk import register_export

    if csv_path is not None:
        register_export.write_csv(shown, csv_path)
        err.print(f"wrote {csv_path} ({len(shown.rows)} rows, {shown.marking.label})")
    if pdf_path is not None:
        register_export.write_pdf(shown, pdf_path)
        err.print(f"wrote {pdf_path} ({shown.marking.label})")


def _print_register(shown: Register) -> None:
    from chainlight.risk.catalogue import Catalogue
    from chainlight.risk.registers import band, heatmap, ranked_rows

    catalogue = Catalogue.load()
    out.print(f"[bold]{_e(shown.title)}[/]" + ("  [red](draft)[/]" if shown.draft else ""))
    sharing = f", shared with {shown.sharing_group}" if shown.sharing_group else ""
    out.print(f"{shown.marking.label} · kept by {shown.organisation}{sharing}"
              + (f" · evidence: {', '.join(shown.evidence_datasets)}" if shown.evidence_datasets else ""))
    for note in shown.notes:
        out.print(f"[dim]{_e(note)}[/]")
    rows = ranked_rows(shown)
    numbers = {(r.stage, r.actor): n for n, r in enumerate(rows, 1)}

    def rating(lv: int, im: int) -> str:
        name = band(lv * im)
        return f"[{BAND_STYLES[name]}]{lv}x{im}={lv * im} {name}[/]"

    table = Table("#", "stage", "actor", "owner", "inherent", "factors", "controls", "residual", "actions",
                  "last review", title=f"{len(rows)} rows")
    for r in rows:
        open_actions = sum(a.status == "open" for a in r.actions)
        last = r.reviews[-1] if r.reviews else None
        table.add_row(
            str(numbers[(r.stage, r.actor)]), _e(catalogue.label("stages", r.stage)),
            _e(catalogue.label("actors", r.actor)), _e(r.owner or ""), rating(r.likelihood, r.impact),
            _e(_first(r.factors)), _e(_controls_summary(r.controls)),
            rating(r.residual_l, r.residual_i),
            f"{open_actions} open / {len(r.actions)}" if r.actions else "",
            f"{last.kind} {last.on}" if last else "",
        )
    out.print(table)
    heat = Table("L \\ I", *(str(i) for i in range(1, 6)), title="residual heat map (rows per cell)")
    for line in heatmap(shown):
        heat.add_row(str(line[0].likelihood), *(
            f"[{BAND_STYLES[c.band]}]{len(c.rows) if c.rows else '·'}[/]" for c in line))
    out.print(heat)
    actions = [(numbers[(r.stage, r.actor)], a) for r in rows for a in r.actions]
    if actions:
        table = Table("id", "#", "action", "owner", "due", "status", title="actions")
        for n, a in actions:
            table.add_row(str(a.id or ""), str(n), _e(a.description), _e(a.owner), str(a.due or ""),
                          a.status + (f" {a.closed}" if a.closed else ""))
        out.print(table)
    reviews = [(numbers[(r.stage, r.actor)], v) for r in rows for v in r.reviews]
    if reviews:
        table = Table("#", "date", "kind", "reviewer", "L x I", "note", title="review history")
        for n, v in sorted(reviews, key=lambda x: (x[1].on, x[0])):
            table.add_row(str(n), str(v.on), v.kind, _e(v.reviewer or "(on saving)"), rating(v.likelihood, v.impact),
                          _e(v.note or ""))
        out.print(table)


def _first(factors: tuple[str, ...]) -> str:
    """The first factor (the evidence count, for seeded rows), with how many more --json shows."""
    if not factors:
        return ""
    return factors[0] + (f" (+{len(factors) - 1} more)" if len(factors) > 1 else "")


def _controls_summary(controls: tuple[ControlEntry, ...]) -> str:
    """Controls in place or planned by name, the others counted per status."""
    named = [f"{c.control}: {c.status}" for c in controls if c.status in ("in-place", "planned")]
    counts: dict[str, int] = {}
    for c in controls:
        if c.status not in ("in-place", "planned"):
            counts[c.status] = counts.get(c.status, 0) + 1
    rest = ", ".join(f"{n} {status}" for status, n in counts.items())
    return "\n".join([*named, rest] if rest else named)


def _done(shown: Register, message: str, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(shown.as_dict(), default=str))
    else:
        err.print(message)


def register_list(
    port: Annotated[str | None, typer.Option(help="Only registers of this port.")] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Registers your organisation may read: its own and those shared with it."""
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        found = rr.list_registers(operational, organisation, port=port)
    if as_json:
        out.print_json(json.dumps([{k: v for k, v in r.as_dict().items() if k != "rows"} | {"rows": len(r.rows)}
                                   for r in found], default=str))
        return
    table = Table("port", "name", "organisation", "marking", "rows", "highest residual", "updated",
                  title=f"{len(found)} registers")
    for r in found:
        top = max((row.residual for row in r.rows), default=0)
        table.add_row(r.port_id, _e(r.port.name or ""), r.organisation, r.marking.label, str(len(r.rows)),
                      f"{top} {rr.band(top)}" if r.rows else "", f"{r.updated_at:%Y-%m-%d}" if r.updated_at else "")
    out.print(table)


def register_row(
    port: PortArgument,
    stage: StageArgument,
    actor: ActorArgument,
    likelihood: Level = None,
    impact: Level = None,
    residual_likelihood: Level = None,
    residual_impact: Level = None,
    factor: Annotated[list[str] | None, typer.Option(help="A factor behind the rating (repeat; replaces "
                                                          "the row's factors).")] = None,
    notes: Annotated[str | None, typer.Option(help="Free notes.")] = None,
    risk_owner: Annotated[str | None, typer.Option("--risk-owner", help="Who owns the risk (organisation, "
                                                                       "unit).")] = None,
    author: AuthorOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Add a row (stage x actor) to your register or change its ratings, factors, notes or owner."""
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        shown = rr.set_row(operational, organisation, port, stage, actor, author=author, likelihood=likelihood,
                           impact=impact, residual_likelihood=residual_likelihood, residual_impact=residual_impact,
                           factors=factor, notes=notes, owner=risk_owner)
    _done(shown, f"row {stage} x {actor} saved", as_json)


def register_control(
    port: PortArgument,
    stage: StageArgument,
    actor: ActorArgument,
    control: Annotated[str, typer.Argument(help="Catalogue control (key or synonym).")],
    status: Annotated[str, typer.Argument(help="in-place, partial, absent, planned or unknown.")],
    note: Annotated[str | None, typer.Option(help="What the status rests on.")] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Record a control's status on a row of your register."""
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        shown = rr.set_control(operational, organisation, port, stage, actor, control, status, note=note)
    _done(shown, f"control {control} on {stage} x {actor}: {status}", as_json)


def register_action(
    port: PortArgument,
    stage: StageArgument,
    actor: ActorArgument,
    description: Annotated[str, typer.Argument(help="What is to be done.")],
    action_owner: Annotated[str, typer.Option("--action-owner", help="Who does it (person or unit).")],
    due: DateOption = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Plan an action on a row of your register (it starts open)."""
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        action = rr.add_action(operational, organisation, port, stage, actor, description, owner=action_owner,
                               due=_day(due))
    if as_json:
        out.print_json(json.dumps(action.as_dict()))
    else:
        err.print(f"action {action.id} planned")


def register_action_status(
    port: PortArgument,
    action_id: Annotated[int, typer.Argument(help="The action's id (shown by 'chainlight risk register').")],
    status: Annotated[str, typer.Argument(help="open, done or dropped.")],
    on: DateOption = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Close an action of your register (done or dropped, dated --on, default today) or reopen it."""
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        action = rr.set_action_status(operational, organisation, port, action_id, status, on=_day(on))
    if as_json:
        out.print_json(json.dumps(action.as_dict()))
    else:
        err.print(f"action {action.id}: {action.status}" + (f" on {action.closed}" if action.closed else ""))


def register_review(
    port: PortArgument,
    kind: Annotated[str, typer.Argument(help="initial, estimated (after planned controls) or monitored "
                                             "(after implementation).")],
    stage: Annotated[str | None, typer.Option(help="Review only this row's stage (with --actor).")] = None,
    actor: Annotated[str | None, typer.Option(help="Review only this row's actor (with --stage).")] = None,
    likelihood: Level = None,
    impact: Level = None,
    note: Annotated[str | None, typer.Option(help="What the review found.")] = None,
    on: DateOption = None,
    author: AuthorOption = "local",
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Record a review of one row or of every row; values given become the row's current ones.
    Past reviews are never changed."""
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        recorded = rr.add_review(operational, organisation, port, kind, reviewer=author, stage=stage, actor=actor,
                                 likelihood=likelihood, impact=impact, note=note, on=_day(on))
    if as_json:
        out.print_json(json.dumps([r.as_dict() for r in recorded]))
    else:
        err.print(f"{kind} review recorded on {len(recorded)} row{'s' if len(recorded) != 1 else ''}")


def register_share(
    port: PortArgument,
    marking: Annotated[str, typer.Option(help="TLP marking (never below the evidence's).")],
    sharing_group: Annotated[str | None, typer.Option(help="Share with this group (none: leave out).")] = None,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Change who may read your register: its marking and sharing group."""
    from chainlight.model.markings import Marking
    from chainlight.risk import registers as rr

    with _clear_errors(), _operational(_settings(home, database_url)) as operational:
        shown = rr.set_sharing(operational, organisation, port, marking=Marking.parse(marking),
                               sharing_group=sharing_group)
    _done(shown, f"register marked {shown.marking.label}"
          + (f", shared with {shown.sharing_group}" if shown.sharing_group else ""), as_json)


def register_delete(
    port: PortArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the rows and their review history go too.")] = False,
    home: HomeOption = None,
    database_url: DatabaseOption = None,
    organisation: ViewerOption = "local",
) -> None:
    """Delete your register of a port with its rows and history."""
    from chainlight.risk import registers as rr

    with _clear_errors():
        if not yes:
            raise rr.RegisterError("deleting a register removes its review history too: confirm with --yes")
        with _operational(_settings(home, database_url)) as operational:
            rr.delete_register(operational, organisation, port)
    err.print(f"register of {organisation} for {port} deleted")
