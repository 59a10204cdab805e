"""The alerts pages: the queue (``/alerts``), one alert (``/alerts/{id}``) with its triage form,
and the latest alerts on the home page, each page with its JSON twin.

The pages ask the rule engine's read functions (:mod:`chainlight.rules.alerts`) exactly what
the alerts API (:mod:`chainlight.web.alerts`) asks, for the viewer's organisation as a
:class:`~chainlight.rules.alerts.Reader`, so a page, its twin and the API cannot disagree: an
alert is listed only when the viewer may see every dataset it derives from, carries the
strictest marking of them, and a hidden alert answers 404 exactly like an unknown id.

Reading a RED or AMBER+STRICT alert asks for a purpose (:func:`access.require_purpose`); each
read of an alert and each triage goes to the access log (:func:`access.audit`). Triage needs
the analyst role; the decision is the viewer's organisation's, as in the API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BeforeValidator, Field

from chainlight.model.markings import Marking
from chainlight.rules import alerts as rule_alerts
from chainlight.rules.model import CATEGORIES
from chainlight.store.evidence import EvidenceStore
from chainlight.web import access, alerts
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.alert_payloads import (
    Alert,
    AlertFilters,
    AlertPage,
    AlertQueue,
    Category,
    RuleFacet,
    TriageState,
)
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

#: Alerts per queue page unless asked otherwise, and the most one page may hold.
PAGE_SIZE = 50
MAX_PAGE = 500
#: Alerts the home page shows.
LATEST = 10
STATES: tuple[TriageState, ...] = ("new", "confirmed", "dismissed")
MAX_REASON = 2000


def _blank(value: Any) -> Any:
    """An empty form field means no filter (the queue's filter form sends every field)."""
    return None if isinstance(value, str) and not value.strip() else value


_Text = Annotated[str, Field(min_length=1, max_length=200)]
_Score = Annotated[float, Field(ge=0.0, le=1.0)]


def queue_filters(
    rule: Annotated[
        _Text | None, BeforeValidator(_blank), Query(description="Only this rule's alerts (a rule id).")
    ] = None,
    category: Annotated[
        Category | None, BeforeValidator(_blank),
        Query(description="Only this category: cites-trade, permits, shipments, money or ownership."),
    ] = None,
    state: Annotated[
        TriageState | None, BeforeValidator(_blank),
        Query(description="Only alerts in this triage state (the viewer's organisation's)."),
    ] = None,
    entity: Annotated[
        _Text | None, BeforeValidator(_blank),
        Query(description="Only alerts about this entity id (subject or one of entities)."),
    ] = None,
    min_score: Annotated[
        _Score | None, BeforeValidator(_blank), Query(description="Only alerts scoring at least this (0 to 1).")
    ] = None,
) -> AlertFilters:
    """The queue's filters, from the page's form or the twin's query; an empty field is no filter."""
    return AlertFilters(rule=rule, category=category, state=state, entity=entity, min_score=min_score)


FiltersDep = Annotated[AlertFilters, Depends(queue_filters)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many alerts per page.")]
OffsetQuery = Annotated[
    int, Query(ge=0, le=10_000_000, description="Alerts to skip (the previous page's next_offset).")
]


def _reader(svc: Services, viewer: Viewer) -> rule_alerts.Reader:
    return rule_alerts.Reader.of(svc.operational.dataset_access(), viewer.organisation)


def _has_clusters(store: EvidenceStore) -> bool:
    return bool(store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'alert_clusters'"))


def entity_names(store: EvidenceStore, reader: rule_alerts.Reader, ids: set[str]) -> dict[str, str]:
    """A name for each of ``ids`` (ids as the rules saw them), read from visible datasets only.

    An id may be a canonical id of records merged by resolution: its name is then the first
    name of its members in a visible dataset. An entity with no visible name is left out.
    """
    if not ids or not reader.datasets:
        return {}
    wanted = sorted(ids)
    members: dict[str, str] = {i: i for i in wanted}
    if _has_clusters(store):
        for entity_id, canonical_id in store.fetchall(
            "SELECT entity_id, canonical_id FROM alert_clusters WHERE canonical_id = ANY(?)", [wanted]
        ):
            members[entity_id] = canonical_id
    rows = store.fetchall(
        "SELECT entity_id, min(value) FROM statements WHERE prop = 'name' AND entity_id = ANY(?) "
        "AND dataset = ANY(?) GROUP BY entity_id",
        [sorted(members), reader.datasets],
    )
    own: dict[str, str] = {}
    merged: dict[str, str] = {}
    for entity_id, name in rows:
        key = members[entity_id]
        if entity_id == key:  # the id's own record names it first
            own[key] = name
        elif key not in merged or name < merged[key]:
            merged[key] = name
    names = {**merged, **own}
    return names


def rule_facets(store: EvidenceStore, reader: rule_alerts.Reader) -> list[RuleFacet]:
    """The rules with alerts the viewer may see, most alerts first (over visible alerts alone)."""
    rows = store.fetchall(
        "SELECT rule_id, any_value(title), any_value(category), count(*) AS n FROM alerts "
        "WHERE list_has_all(?, datasets) GROUP BY rule_id ORDER BY n DESC, rule_id",
        [reader.datasets],
    )
    return [RuleFacet(rule_id=r[0], title=r[1], category=r[2], alerts=int(r[3])) for r in rows]


def _alert_entities(found: list[rule_alerts.Alert]) -> set[str]:
    return {e for a in found for e in a.entities} | {a.subject for a in found if a.flags != "TradeRecord"}


def load_queue(svc: Services, viewer: Viewer, filters: AlertFilters, limit: int, offset: int) -> AlertQueue:
    """A page of the viewer's alerts, highest score first, with the rules a filter may name."""
    reader = _reader(svc, viewer)
    with svc.evidence.open() as store:
        if store is None or not rule_alerts.computed(store):
            return AlertQueue(
                alerts=[], total=0, offset=offset, limit=limit, next_offset=None, rules_run=False,
                filters=filters, rules=[], categories=list(CATEGORIES), names={},
            )
        found, total = rule_alerts.list_alerts(
            store, svc.operational, reader, rule=filters.rule, category=filters.category, state=filters.state,
            entity=filters.entity, min_score=filters.min_score, limit=limit, offset=offset,
        )
        facets = rule_facets(store, reader)
        names = entity_names(store, reader, _alert_entities(found))
    end = offset + len(found)
    return AlertQueue(
        alerts=[Alert.model_validate(a.as_dict()) for a in found], total=total, offset=offset, limit=limit,
        next_offset=end if end < total else None, rules_run=True, filters=filters, rules=facets,
        categories=list(CATEGORIES), names=names,
    )


def latest_alerts(store: EvidenceStore | None, svc: Services, viewer: Viewer) -> list[Alert] | None:
    """The viewer's latest alerts for the home page: the last run's first, highest score first
    within a run; None before the rules have run (the home page then leaves the section out)."""
    if store is None or not rule_alerts.computed(store):
        return None
    reader = _reader(svc, viewer)
    rows = store.fetchall(
        "SELECT alert_id FROM alerts WHERE list_has_all(?, datasets) "
        "ORDER BY last_raised DESC, score DESC, rule_id, alert_id LIMIT ?",
        [reader.datasets, LATEST],
    )
    latest = []
    for (alert_id,) in rows:  # the same reader as the queue and the API: marking and triage state
        latest.append(Alert.model_validate(rule_alerts.get_alert(store, svc.operational, reader, alert_id).as_dict()))
    return latest


def load_alert(request: Request, svc: Services, viewer: Viewer, alert_id: str) -> AlertPage:
    """One alert the viewer may see, with its evidence; asks for a purpose when it is RED or
    AMBER+STRICT, and records the read in the access log."""
    with alerts.alert_store(svc, viewer) as (store, reader):
        alert, purpose = alerts.visible_alert(store, svc, reader, alert_id, request)
        items = rule_alerts.evidence(store, reader, alert)
        ids = set(alert.entities) | {i["evidence"] for i in items if i["kind"] == "statement"}
        if alert.flags != "TradeRecord":
            ids.add(alert.subject)
        names = entity_names(store, reader, ids)
        markings = {d: reader.access[d].marking.value for d in alert.datasets}
    access.audit(request, viewer, "alert.read", alert_id, marking=alert.marking, purpose=purpose)
    return AlertPage.model_validate({
        **alert.as_dict(), "evidence_items": items, "names": names, "dataset_markings": markings,
        "purpose": purpose, "may_triage": viewer.may("analyst"),
    })


def _queue_url(filters: AlertFilters, limit: int, offset: int) -> str:
    params = {k: v for k, v in filters.model_dump().items() if v is not None}
    if limit != PAGE_SIZE:
        params["limit"] = limit
    if offset:
        params["offset"] = offset
    return "/alerts" + (f"?{urlencode(params)}" if params else "")


def queue_page(
    request: Request, svc: ServicesDep, viewer: ViewerDep, filters: FiltersDep,
    limit: LimitQuery = PAGE_SIZE, offset: OffsetQuery = 0,
) -> HTMLResponse:
    queue = load_queue(svc, viewer, filters, limit, offset)
    previous = _queue_url(filters, limit, max(0, offset - limit)) if offset else None
    following = _queue_url(filters, limit, queue.next_offset) if queue.next_offset is not None else None
    json_url = "/alerts.json" + _queue_url(filters, limit, offset).removeprefix("/alerts")
    return render(
        request, "alerts.html",
        {"queue": queue, "previous_url": previous, "next_url": following, "states": STATES},
        json_url=json_url,
    )


def queue_json(
    svc: ServicesDep, viewer: ViewerDep, filters: FiltersDep,
    limit: LimitQuery = PAGE_SIZE, offset: OffsetQuery = 0,
) -> AlertQueue:
    return load_queue(svc, viewer, filters, limit, offset)


def _purpose_query(purpose: str | None) -> str:
    return f"?{urlencode({'purpose': purpose})}" if purpose else ""


def alert_page(alert_id: alerts.AlertId, request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    page = load_alert(request, svc, viewer, alert_id)
    return _render_alert(request, page)


def _render_alert(
    request: Request, page: AlertPage, *, error: str | None = None, form: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    query = _purpose_query(page.purpose)
    return render(
        request, "alert.html",
        {"alert": page, "error": error, "form": form or {}, "states": STATES, "purpose_query": query,
         "marking_needs_purpose": Marking(page.marking) in access.PURPOSE_MARKINGS},
        status_code=status_code, json_url=f"/alerts/{page.alert_id}.json{query}",
    )


def alert_json(alert_id: alerts.AlertId, request: Request, svc: ServicesDep, viewer: ViewerDep) -> AlertPage:
    return load_alert(request, svc, viewer, alert_id)


def triage_form(
    alert_id: alerts.AlertId,
    request: Request,
    svc: ServicesDep,
    viewer: ViewerDep,
    state: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
) -> Response:
    """The triage form's POST: record the decision and go back to the alert (303), or show the
    alert again with the problem (422) when the state is unknown or a dismissal has no reason."""
    access.require_role(viewer, "analyst")
    reason_text = reason.strip() or None
    problem = None
    if state not in STATES:
        problem = f"Unknown triage state {state!r}: use new, confirmed or dismissed."
    elif state == "dismissed" and reason_text is None:
        problem = alerts.NEEDS_REASON + " Say why it is not worth pursuing."
    if problem is not None:
        page = load_alert(request, svc, viewer, alert_id)  # 404 for a hidden alert before anything is said
        return _render_alert(request, page, error=problem, form={"state": state, "reason": reason}, status_code=422)
    with alerts.alert_store(svc, viewer) as (store, reader):
        # The viewer must see the alert, with the purpose its marking asks for, before anything is written.
        _, purpose = alerts.visible_alert(store, svc, reader, alert_id, request)
        alert = rule_alerts.triage_alert(
            store, svc.operational, reader, alert_id, state, author=alerts.author(viewer), reason=reason_text
        )
    access.audit(
        request, viewer, "alert.triage", alert_id, marking=alert.marking, purpose=purpose,
        detail=state if reason_text is None else f"{state}: {reason_text}",
    )
    return RedirectResponse(f"/alerts/{alert_id}{_purpose_query(purpose)}", status_code=303)
