"""The incident report form: a structured, non-identifying report of one corrupt demand at a
port, ingested like an upload into the reporting organisation's incidents dataset.

``GET /risk/incidents/new`` (and its twin ``.json``) offers the choices; ``POST
/risk/incidents/new`` takes an urlencoded form and answers with the upload job page (303). Every
field is a choice from a list or a code checked against the reference data: the port (a
UN/LOCODE or IATA code), the month, the process stage and the demanding actor (the risk
catalogue), the item demanded, the amount (a number) and its currency, the consequence of
refusal and the outcome. There is no free-text field, and a form carrying any field not listed
here is refused: a note could name a ship, a crew member or an official, which is exactly what
MACN-style reporting must never hold.

**Month, not day.** A date and a port can be matched to one ship's call in public AIS and port
call data, which would identify the reporter. The form takes a month (``YYYY-MM``); the incident
is stored with that precision, and the risk views count by quarter anyway.

The report is written as a one-row MACN-style CSV (``chainlight ingest csv --mapping
incidents``'s layout) and handed to the upload pipeline (:mod:`chainlight.web.upload`): stored
under ``uploads/JOB/``, ingested by a child process into ``<organisation>-incidents``, owned by
the reporter's organisation, with the marking chosen on the form (TLP:GREEN unless changed: the
counts are meant to be shared, and the risk views protect them with k-anonymity). The dataset
keeps the marking it was created with: later reports must use it. Reporting needs the analyst
role; the submission is written to the access log.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from chainlight.model.markings import Marking
from chainlight.reference.ports import lookup
from chainlight.risk.catalogue import Catalogue
from chainlight.store.upload_jobs import NewJob, UploadJobs, member_groups
from chainlight.store.upload_jobs import UploadJob as JobRow
from chainlight.web import access, upload
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.services import Services, services
from chainlight.web.templating import render
from chainlight.web.upload import MARKINGS, Refused
from chainlight.web.upload_worker import uploads_folder

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

#: The MACN-style columns, in the order ``chainlight demo`` writes them.
COLUMNS = ("incident_id", "port", "country", "date", "process_stage", "demanding_actor", "item_demanded", "amount",
           "currency", "consequence_of_refusal", "outcome")
ITEMS = ("cash", "cigarettes", "alcohol", "food", "electronics", "fuel", "other goods", "services or favours")
CONSEQUENCES = ("delay", "fine", "refused clearance", "extra inspection", "detention of cargo", "threat to crew",
                "none")
OUTCOMES = ("refused, no consequence", "refused, delayed", "paid", "escalated to management", "unknown")
CURRENCIES = ("USD", "EUR", "GBP", "CNY", "JPY", "INR", "IDR", "MYR", "PHP", "THB", "VND", "SGD", "AED", "SAR", "EGP",
              "MAD", "NGN", "GHS", "XOF", "XAF", "KES", "TZS", "UGX", "MZN", "ZAR", "BRL", "ARS", "CLP", "COP",
              "PEN", "MXN", "TRY", "UAH", "RUB", "AUD", "CAD")
DEFAULT_MARKING = Marking.GREEN
#: Every field the form may carry; anything else is refused.
FIELDS = ("port", "month", "stage", "actor", "item", "amount", "currency", "consequence", "outcome", "marking",
          "sharing_group")
ALLOWED = frozenset({*FIELDS, "csrf_token"})
EARLIEST = 1990
MAX_AMOUNT = Decimal(10) ** 9
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CODE = re.compile(r"^[A-Za-z0-9]{3}$|^[A-Za-z]{2}\s?[A-Za-z0-9]{3}$")


class Choice(BaseModel):
    value: str
    label: str


class IncidentForm(BaseModel):
    """What the incident report form offers the viewer."""

    organisation: str
    may_report: bool = Field(description="Whether the viewer's role may report (analyst or admin)")
    dataset: str = Field(description="The dataset reports go into: <organisation>-incidents")
    dataset_marking: str | None = Field(description="Its marking when it exists (reports must use it), else null")
    default_marking: str
    stages: list[Choice]
    actors: list[Choice]
    items: list[Choice]
    consequences: list[Choice]
    outcomes: list[Choice]
    currencies: list[str]
    markings: list[str]
    sharing_groups: list[str]
    earliest_month: str
    latest_month: str


def dataset_of(organisation: str) -> str:
    return f"{organisation}-incidents"


def _this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def _plain(values: tuple[str, ...]) -> list[Choice]:
    return [Choice(value=v, label=v[0].upper() + v[1:]) for v in values]


def load_form(svc: Services, viewer: Viewer) -> IncidentForm:
    catalogue = Catalogue.load()
    name = dataset_of(viewer.organisation)
    existing = next((d for d in svc.operational.datasets() if d.name == name), None)
    marking = existing.access().marking.value if existing is not None else None
    return IncidentForm(
        organisation=viewer.organisation, may_report=viewer.may("analyst"), dataset=name, dataset_marking=marking,
        default_marking=marking or DEFAULT_MARKING.value,
        stages=[Choice(value=s.key, label=s.label) for s in catalogue.stages.values()],
        actors=[Choice(value=a.key, label=a.label) for a in catalogue.actors.values()],
        items=_plain(ITEMS), consequences=_plain(CONSEQUENCES), outcomes=_plain(OUTCOMES),
        currencies=list(CURRENCIES), markings=[m.value for m in MARKINGS],
        sharing_groups=member_groups(svc.operational, viewer.organisation),
        earliest_month=f"{EARLIEST}-01", latest_month=_this_month(),
    )


def form_json(svc: ServicesDep, viewer: ViewerDep) -> IncidentForm:
    return load_form(svc, viewer)


def form_page(request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    return _render(request, load_form(svc, viewer))


def _render(request: Request, form: IncidentForm, *, error: str | None = None,
            values: dict[str, str] | None = None, status_code: int = 200) -> HTMLResponse:
    chosen = {"marking": form.default_marking, **(values or {})}
    return render(request, "risk_incident_form.html", {"form": form, "error": error, "values": chosen},
                  status_code=status_code, json_url="/risk/incidents/new.json")


# -- checking a report ---------------------------------------------------------------------------


def check_report(fields: dict[str, str], today: date | None = None) -> dict[str, str]:
    """The report as a MACN-style CSV row, or :class:`Refused` (422) saying what is wrong."""
    stray = sorted(set(fields) - ALLOWED)
    if stray:
        raise Refused(422, f"This form takes no free text and no other fields: remove {', '.join(map(repr, stray))}. "
                           "Reports must never name a ship, a crew member or an official.")
    catalogue = Catalogue.load()
    code = fields.get("port", "").strip().upper()
    info = lookup(code) if _CODE.match(code) else None
    if info is None:
        raise Refused(422, f"The port {code!r} is not a UN/LOCODE (5 characters, e.g. KEMBA) or IATA code "
                           "(3 characters) in the reference data.")
    month = _month(fields.get("month", "").strip(), today or datetime.now(UTC).date())
    stage = _choice(fields, "stage", list(catalogue.stages), "a process stage")
    actor = _choice(fields, "actor", list(catalogue.actors), "a demanding actor")
    item = _choice(fields, "item", list(ITEMS), "an item demanded")
    consequence = _choice(fields, "consequence", list(CONSEQUENCES), "a consequence of refusal")
    outcome = _choice(fields, "outcome", list(OUTCOMES), "an outcome")
    amount, currency = _amount(fields.get("amount", "").strip(), fields.get("currency", "").strip())
    return {
        "incident_id": f"WEB-{uuid.uuid4().hex[:20]}", "port": code.replace(" ", ""),
        "country": (info.country or "").upper(), "date": month, "process_stage": stage, "demanding_actor": actor,
        "item_demanded": item, "amount": amount, "currency": currency, "consequence_of_refusal": consequence,
        "outcome": outcome,
    }


def _choice(fields: dict[str, str], name: str, allowed: list[str], what: str) -> str:
    value = fields.get(name, "").strip()
    if value not in allowed:
        shown = f" ({value[:40]!r} is not one of them)" if value else ""
        raise Refused(422, f"Choose {what} from the list{shown}.")
    return value


def _month(value: str, today: date) -> str:
    match = _MONTH.match(value)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise Refused(422, f"The month {value[:20]!r} is not a month: use YYYY-MM (no day: a day and a port can "
                           "identify a ship's call).")
    year, month = int(match.group(1)), int(match.group(2))
    if year < EARLIEST or (year, month) > (today.year, today.month):
        raise Refused(422, f"The month {value} is not between {EARLIEST}-01 and this month.")
    return value


def _amount(amount: str, currency: str) -> tuple[str, str]:
    if not amount and not currency:
        return "", ""
    if not amount or not currency:
        raise Refused(422, "Give both an amount and its currency, or neither.")
    if currency not in CURRENCIES:
        raise Refused(422, f"Choose a currency from the list ({currency[:8]!r} is not one of them).")
    try:
        number = Decimal(amount)
    except InvalidOperation:
        number = Decimal(-1)
    if not number.is_finite() or number < 0 or number > MAX_AMOUNT:
        raise Refused(422, f"The amount {amount[:20]!r} is not a number between 0 and 1,000,000,000.")
    return format(number.normalize(), "f"), currency


# -- handing it to the upload pipeline --------------------------------------------------------------


def _accept(svc: Services, viewer: Viewer, fields: dict[str, str]) -> JobRow:
    """Check the report, write its one-row CSV and record the upload job (blocking: run in a thread)."""
    row = check_report(fields)
    checked = upload._check_fields(svc, viewer, {  # the upload form's own checks: name, marking, group
        "dataset": dataset_of(viewer.organisation), "title": f"Incident reports of {viewer.organisation}",
        "format": "csv:incidents", "marking": fields.get("marking", "") or DEFAULT_MARKING.value,
        "sharing_group": fields.get("sharing_group", ""),
    })
    jobs = UploadJobs(svc.operational)
    if jobs.unfinished() >= upload.MAX_UNFINISHED:
        raise Refused(503, "Too many uploads are being ingested now: try again when one of them has finished.")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    content = buffer.getvalue().encode("utf-8")
    job_id = uuid.uuid4().hex
    name = "incident.csv"
    folder = uploads_folder(svc.settings) / job_id
    folder.mkdir(parents=True, mode=0o700)
    (folder / name).write_bytes(content)
    (folder / name).chmod(0o600)
    return jobs.create(NewJob(
        id=job_id, organisation=viewer.organisation, uploaded_by=viewer.user, dataset=checked.dataset,
        title=checked.title, format="csv", mapping="incidents", marking=checked.marking.value,
        sharing_group=checked.sharing_group, file_name=name, stored_path=f"{job_id}/{name}", size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    ))


async def submit(request: Request, svc: ServicesDep, viewer: ViewerDep) -> Response:
    """The form's POST: to the upload job page (303), or the form again saying what is wrong."""
    access.require_role(viewer, "analyst")
    form = await request.form(max_files=0, max_fields=len(ALLOWED) + 8, max_part_size=4096)
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    try:
        job = await run_in_threadpool(_accept, svc, viewer, fields)
    except Refused as refused:
        page = await run_in_threadpool(load_form, svc, viewer)
        values = {k: fields.get(k, "") for k in FIELDS if k in fields}
        return _render(request, page, error=refused.message, values=values, status_code=refused.status)
    access.audit(request, viewer, "incident.report", job.dataset, marking=job.marking,
                 detail=f"job {job.id}: one incident report (csv:incidents)")
    upload.start_worker(svc.settings, UploadJobs(svc.operational), job.id)
    return RedirectResponse(f"/upload/jobs/{job.id}", status_code=303)
