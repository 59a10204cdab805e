"""A port's corruption risk register as a page (``/risk/ports/{code}/register``), its JSON twin,
its CSV and PDF exports, and the forms that keep and change it.

Registers live in the operational store (:mod:`chainlight.risk.registers`): the viewer reads its
own organisation's register of the port, or, while there is none, a draft seeded from the risk
evidence it may read (without a purpose, RED and AMBER+STRICT datasets are held back, as on every
risk page). ``?owner=ORG`` reads another organisation's register when the need-to-know rule lets
the viewer read it and every dataset it was drawn from; otherwise it answers 404 as a missing one.
A register marked RED or AMBER+STRICT is shown only with a purpose (428).

The forms (analyst or admin of the register's organisation, with the CSRF token) keep the draft,
set a row, record a control's status, plan an action and record a review; each goes to the
access log and redirects back to the page (303). A refusal from the register (a value out of
range, an unknown stage) answers 422 with its reason.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from chainlight.model.markings import Marking
from chainlight.risk import register_export, registers
from chainlight.risk.catalogue import Catalogue
from chainlight.risk.registers import Register, RegisterError
from chainlight.rules.alerts import Reader
from chainlight.store.evidence import EvidenceStore
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.risk_pages import PortCode, View, band, marking_name, named_by_evidence, risk_store, view_of
from chainlight.web.risk_payloads import Register as RegisterPayload
from chainlight.web.risk_payloads import RegisterHeatCell, RiskRegisterPage
from chainlight.web.risk_port_pages import find_port, not_found, register_refs
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]
OwnerQuery = Annotated[
    str | None,
    Query(max_length=200, description="Read this organisation's register of the port (default: your own)."),
]
MARKINGS = tuple(m.value for m in Marking)


def register_port(store: EvidenceStore, reader: Reader, code: str) -> str:
    """The port a register maps: any port or airport of the reference data, or one that risk
    evidence the reader may read names (404 otherwise, as for an unknown code, so a port that
    only hidden evidence names stays unknown)."""
    try:
        port = registers.resolve_port(code)
    except registers.RegisterError:
        port = None
    if port is not None and port.info is not None:
        return port.port_id
    row = find_port(store, code)
    if row is None or not named_by_evidence(store, reader, [str(row[0])]):
        raise not_found(code)
    return str(row[0])


def _port_id(request: Request, svc: Services, viewer: Viewer, code: str) -> str:
    view = view_of(request, svc, viewer)
    with risk_store(svc) as store:
        return register_port(store, view.reader, code)


def the_register(request: Request, svc: Services, viewer: Viewer, code: str,
                 owner: str | None) -> tuple[Register, View, str]:
    """The register the page shows, the view it was read in, and the port id."""
    view = view_of(request, svc, viewer)
    with risk_store(svc) as store:
        port_id = register_port(store, view.reader, code)
        try:
            if owner and owner != viewer.organisation:
                found = registers.get_register(svc.operational, viewer.organisation, port_id, owner=owner)
                if found is None:
                    raise HTTPException(status_code=404, detail=f"No register of {code} by {owner} that you may read.")
            else:
                found = registers.get_register(svc.operational, viewer.organisation, port_id)
                if found is None:
                    found = registers.with_reviewer(registers.seed_register(store, view.reader, port_id), viewer.user)
        except RegisterError as exc:
            raise HTTPException(status_code=404, detail=f"No register for {code}: {exc}.") from None
    access.require_purpose(request, found.marking)
    return found, view, port_id


def _payload(register: Register, catalogue: Catalogue) -> RegisterPayload:
    data = register.as_dict()
    ranked = registers.ranked_rows(register)
    rows = []
    for row in ranked:
        line = row.as_dict()
        line["stage_label"] = catalogue.label("stages", row.stage)
        line["actor_label"] = catalogue.label("actors", row.actor)
        rows.append(line)
    data["rows"] = rows
    data["port"] = {k: str(v) for k, v in data["port"].items()}
    return RegisterPayload.model_validate(data)


def _heat(register: Register, residual: bool) -> list[list[RegisterHeatCell]]:
    return [[RegisterHeatCell(likelihood=c.likelihood, impact=c.impact, band=band(c.score),
                              rows=[registers.row_key(r.stage, r.actor) for r in c.rows]) for c in line]
            for line in registers.heatmap(register, residual=residual)]


def _export_url(port_id: str, kind: str, register: Register, viewer: Viewer, view: View) -> str:
    params = []
    if register.organisation != viewer.organisation:
        params.append(("owner", register.organisation))
    if view.purpose:
        params.append(("purpose", view.purpose))
    return f"/risk/ports/{port_id}/register.{kind}" + ("?" + urlencode(params) if params else "")


def load_register(request: Request, svc: Services, viewer: Viewer, code: str,
                  owner: str | None) -> RiskRegisterPage:
    register, view, port_id = the_register(request, svc, viewer, code, owner)
    access.audit(request, viewer, "risk.register.read", f"{port_id}:{register.organisation}",
                 marking=register.marking, purpose=view.purpose)
    catalogue = Catalogue.load()
    others = [r for r in register_refs(svc, viewer, port_id) if r.organisation != register.organisation]
    return RiskRegisterPage(
        risk_register=_payload(register, catalogue),
        heatmaps={"residual": _heat(register, True), "inherent": _heat(register, False)},
        others=others,
        may_edit=register.organisation == viewer.organisation and viewer.may("analyst"),
        csv_url=_export_url(port_id, "csv", register, viewer, view),
        pdf_url=_export_url(port_id, "pdf", register, viewer, view),
        held_back=len(view.held), held_back_marking=marking_name(view.held_marking) if view.held_marking else None,
        purpose=view.purpose,
    )


def register_json(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                  owner: OwnerQuery = None) -> RiskRegisterPage:
    return load_register(request, svc, viewer, code, owner)


def register_page(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                  owner: OwnerQuery = None) -> HTMLResponse:
    return _render(request, svc, viewer, code, owner)


def _render(request: Request, svc: Services, viewer: Viewer, code: str, owner: str | None,
            problem: str | None = None) -> HTMLResponse:
    data = load_register(request, svc, viewer, code, owner)
    port_id = data.risk_register.port_id
    keep = [(k, v) for k, v in request.query_params.multi_items()]
    json_url = f"/risk/ports/{port_id}/register.json" + ("?" + urlencode(keep) if keep else "")
    catalogue = Catalogue.load()
    purpose = ("?" + urlencode({"purpose": data.purpose})) if data.purpose else ""
    context: dict[str, Any] = {
        "data": data, "reg": data.risk_register, "catalogue": catalogue, "markings": MARKINGS,
        "statuses": registers.CONTROL_STATUSES, "review_kinds": registers.REVIEW_KINDS,
        "action_to": lambda what: f"/risk/ports/{port_id}/register/{what}{purpose}",
        "keep": [(k, v) for k, v in keep if k != "purpose"], "problem": problem,
    }
    return render(request, "risk_register.html", context, json_url=json_url,
                  status_code=422 if problem else 200)


def _export(request: Request, svc: Services, viewer: Viewer, code: str, owner: str | None,
            kind: str) -> tuple[Register, str]:
    register, view, port_id = the_register(request, svc, viewer, code, owner)
    access.audit(request, viewer, "risk.register.export", f"{port_id}:{register.organisation}",
                 marking=register.marking, purpose=view.purpose, detail=kind)
    return register, port_id


def register_csv(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                 owner: OwnerQuery = None) -> Response:
    register, port_id = _export(request, svc, viewer, code, owner, "csv")
    return Response(register_export.to_csv(register), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="register-{port_id}.csv"'})


def register_pdf(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                 owner: OwnerQuery = None) -> Response:
    register, port_id = _export(request, svc, viewer, code, owner, "pdf")
    return Response(register_export.to_pdf(register), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="register-{port_id}.pdf"'})


# --- the forms ------------------------------------------------------------------------------------

def _level(value: str | None, what: str) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        number = int(value)
    except ValueError:
        raise RegisterError(f"{what} must be 1-5, not {value[:20]!r}") from None
    if not 1 <= number <= 5:
        raise RegisterError(f"{what} must be 1-5, not {number}")
    return number


def _day(value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise RegisterError(f"{value[:20]!r} is not a date (YYYY-MM-DD)") from None


def _changed(request: Request, svc: Services, viewer: Viewer, code: str, what: str, change: Any) -> Response:
    """Run one change of the viewer's own register; 303 back to its page, or the page with the reason (422)."""
    access.require_role(viewer, "analyst")
    port_id = _port_id(request, svc, viewer, code)
    try:
        change(port_id)
    except RegisterError as exc:
        return _render(request, svc, viewer, code, None, problem=f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    access.audit(request, viewer, f"risk.register.{what}", port_id)
    purpose = request.query_params.get("purpose")
    target = f"/risk/ports/{port_id}/register" + ("?" + urlencode({"purpose": purpose}) if purpose else "")
    return RedirectResponse(target, status_code=303)


def save_form(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
              marking: Annotated[str, Form()] = "", title: Annotated[str, Form(max_length=256)] = "") -> Response:
    def save(port_id: str) -> None:
        view = view_of(request, svc, viewer)
        with risk_store(svc) as store:
            draft = registers.seed_register(store, view.reader, port_id)
        chosen = Marking.parse(marking) if marking.strip() else None
        registers.save_register(svc.operational, draft, author=viewer.user, marking=chosen,
                                title=title.strip() or None)
    return _changed(request, svc, viewer, code, "save", _guard(save))


def _guard(change: Any) -> Any:
    """Bad markings read as a register's refusal."""
    def run(port_id: str) -> None:
        try:
            change(port_id)
        except ValueError as exc:
            if isinstance(exc, RegisterError):
                raise
            raise RegisterError(str(exc)) from None
    return run


def row_form(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
             stage: Annotated[str, Form(max_length=200)], actor: Annotated[str, Form(max_length=200)],
             likelihood: Annotated[str, Form()] = "", impact: Annotated[str, Form()] = "",
             residual_likelihood: Annotated[str, Form()] = "", residual_impact: Annotated[str, Form()] = "",
             notes: Annotated[str, Form(max_length=2000)] = "", owner: Annotated[str, Form(max_length=200)] = "",
             ) -> Response:
    def change(port_id: str) -> None:
        registers.set_row(svc.operational, viewer.organisation, port_id, stage, actor, author=viewer.user,
                          likelihood=_level(likelihood, "likelihood"), impact=_level(impact, "impact"),
                          residual_likelihood=_level(residual_likelihood, "residual likelihood"),
                          residual_impact=_level(residual_impact, "residual impact"),
                          notes=notes if notes.strip() else None, owner=owner if owner.strip() else None)
    return _changed(request, svc, viewer, code, "row", change)


def control_form(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                 stage: Annotated[str, Form(max_length=200)], actor: Annotated[str, Form(max_length=200)],
                 control: Annotated[str, Form(max_length=200)], status: Annotated[str, Form(max_length=40)],
                 note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    def change(port_id: str) -> None:
        registers.set_control(svc.operational, viewer.organisation, port_id, stage, actor, control, status,
                              note=note.strip() or None)
    return _changed(request, svc, viewer, code, "control", change)


def action_form(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                stage: Annotated[str, Form(max_length=200)], actor: Annotated[str, Form(max_length=200)],
                description: Annotated[str, Form(max_length=2000)], owner: Annotated[str, Form(max_length=200)],
                due: Annotated[str, Form()] = "") -> Response:
    def change(port_id: str) -> None:
        registers.add_action(svc.operational, viewer.organisation, port_id, stage, actor, description,
                             owner=owner, due=_day(due))
    return _changed(request, svc, viewer, code, "action", change)


def review_form(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep,
                kind: Annotated[str, Form(max_length=40)], note: Annotated[str, Form(max_length=2000)] = "",
                stage: Annotated[str, Form(max_length=200)] = "", actor: Annotated[str, Form(max_length=200)] = "",
                likelihood: Annotated[str, Form()] = "", impact: Annotated[str, Form()] = "") -> Response:
    def change(port_id: str) -> None:
        registers.add_review(svc.operational, viewer.organisation, port_id, kind, reviewer=viewer.user,
                             stage=stage.strip() or None, actor=actor.strip() or None,
                             likelihood=_level(likelihood, "likelihood"), impact=_level(impact, "impact"),
                             note=note.strip() or None)
    return _changed(request, svc, viewer, code, "review", change)

