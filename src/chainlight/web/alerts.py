"""The alerts JSON API: what the red-flag rules raised, triage, and entity risk, the same
questions ``chainlight alerts ...`` asks.

Every answer goes through the rule engine's read functions (:mod:`chainlight.rules.alerts`)
for the viewer's organisation as a :class:`~chainlight.rules.alerts.Reader`: an alert is shown
only when the viewer may see every dataset it derives from, and carries the strictest marking
of them. An alert the viewer may not see answers 404 exactly like an unknown id, in every route
that names one, triage included; entity risk counts visible alerts alone.

The web app never runs the rules. Before ``chainlight rules run`` has made the alerts table
(or before anything is loaded) every route answers 409. The evidence store is opened read-only
for each request (:class:`~chainlight.web.catalogue.EvidenceReader`).

Triage is the second thing the web app writes, after resolution judgements: the decision goes
to the operational store only (``alert_triage``, per organisation, never updated: the latest
row stands). The decision is the viewer's organisation's; the author recorded is the signed-in
person, or ``web:<organisation>`` in an app trusted to answer for one organisation. Triage
needs the analyst role (403 otherwise) and is recorded in the access log. Reading one RED or
AMBER+STRICT alert (``GET`` or the answer to a triage) asks for a purpose (428 without one,
:func:`access.require_purpose`); each read goes to the access log.
Errors are JSON :class:`~chainlight.web.payloads.Problem` answers (the routes use
:class:`chainlight.web.resolution.ApiRoute`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request

from chainlight.rules import alerts as rule_alerts
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import OperationalError
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.alert_payloads import (
    Alert,
    AlertDetail,
    AlertList,
    Category,
    EntityRisk,
    RiskRanking,
    TriageRequest,
    TriageState,
)
from chainlight.web.services import Services, services

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

NOT_RUN = "No alerts yet: the rules have not run. Run 'chainlight rules run' first."
NEEDS_REASON = "Dismissing an alert needs a reason."
#: The most alerts (or entities) one page may hold.
MAX_PAGE = 1000

AlertId = Annotated[str, Path(min_length=1, max_length=200, description="Alert id (al-...).")]


@contextmanager
def alert_store(svc: Services, viewer: Viewer) -> Iterator[tuple[EvidenceStore, rule_alerts.Reader]]:
    """The evidence store, opened read-only for this request, and the viewer as a reader of alerts.

    409 when there is no evidence store yet or the rules have never run (no alerts table).
    """
    reader = rule_alerts.Reader.of(svc.operational.dataset_access(), viewer.organisation)
    with svc.evidence.open() as store:
        if store is None or not rule_alerts.computed(store):
            raise HTTPException(status_code=409, detail=NOT_RUN)
        yield store, reader


def author(viewer: Viewer) -> str:
    """Who a triage decision is recorded as: the signed-in person (their e-mail address), or
    ``web:ORGANISATION`` in an app trusted to answer for one organisation."""
    return f"web:{viewer.organisation}" if viewer.via == "trusted" else viewer.user


def _not_found(alert_id: str) -> HTTPException:
    # The same words for an alert that is hidden from the viewer and one that does not exist.
    return HTTPException(status_code=404, detail=f"No such alert: {alert_id}.")


def visible_alert(
    store: EvidenceStore, svc: Services, reader: rule_alerts.Reader, alert_id: str, request: Request
) -> tuple[rule_alerts.Alert, str | None]:
    """The alert if the viewer may see it (404 otherwise), and the purpose its marking asks for
    (428 when a RED or AMBER+STRICT alert comes without one)."""
    try:
        alert = rule_alerts.get_alert(store, svc.operational, reader, alert_id)
    except rule_alerts.AlertError:
        raise _not_found(alert_id) from None
    return alert, access.require_purpose(request, alert.marking)


def _detail(store: EvidenceStore, reader: rule_alerts.Reader, alert: rule_alerts.Alert) -> AlertDetail:
    items = rule_alerts.evidence(store, reader, alert)
    return AlertDetail.model_validate({**alert.as_dict(), "evidence_items": items})


def list_alerts(
    svc: ServicesDep,
    viewer: ViewerDep,
    rule: Annotated[str | None, Query(min_length=1, description="Only this rule's alerts (a rule id).")] = None,
    category: Annotated[
        Category | None, Query(description="Only this category: cites-trade, permits, shipments, money or ownership.")
    ] = None,
    state: Annotated[
        TriageState | None, Query(description="Only alerts in this triage state (the viewer's organisation's).")
    ] = None,
    entity: Annotated[
        str | None, Query(min_length=1, description="Only alerts about this entity id (subject or one of entities).")
    ] = None,
    min_score: Annotated[float | None, Query(ge=0.0, le=1.0, description="Only alerts scoring at least this.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many alerts per page.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Alerts to skip, from the previous page's next_offset.")] = 0,
) -> AlertList:
    with alert_store(svc, viewer) as (store, reader):
        found, total = rule_alerts.list_alerts(
            store, svc.operational, reader, rule=rule, category=category, state=state, entity=entity,
            min_score=min_score, limit=limit, offset=offset,
        )
    end = offset + len(found)
    return AlertList(
        alerts=[Alert.model_validate(a.as_dict()) for a in found], total=total, offset=offset, limit=limit,
        next_offset=end if end < total else None,
    )


def get_alert(alert_id: AlertId, request: Request, svc: ServicesDep, viewer: ViewerDep) -> AlertDetail:
    with alert_store(svc, viewer) as (store, reader):
        alert, purpose = visible_alert(store, svc, reader, alert_id, request)
        detail = _detail(store, reader, alert)
    access.audit(request, viewer, "alert.read", alert_id, marking=alert.marking, purpose=purpose)
    return detail


def triage(
    alert_id: AlertId, body: TriageRequest, request: Request, svc: ServicesDep, viewer: ViewerDep
) -> AlertDetail:
    access.require_role(viewer, "analyst")
    reason = (body.reason or "").strip() or None
    if body.state == "dismissed" and reason is None:
        raise HTTPException(status_code=422, detail=NEEDS_REASON)
    with alert_store(svc, viewer) as (store, reader):
        # The viewer must see the alert, with a purpose where its marking asks for one (the answer
        # shows it), before anything is written.
        _, purpose = visible_alert(store, svc, reader, alert_id, request)
        try:
            alert = rule_alerts.triage_alert(
                store, svc.operational, reader, alert_id, body.state, author=author(viewer), reason=reason
            )
        except rule_alerts.AlertError:
            raise _not_found(alert_id) from None
        except OperationalError as exc:
            raise HTTPException(status_code=422, detail=f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None
        detail = _detail(store, reader, alert)
    access.audit(
        request, viewer, "alert.triage", alert_id, marking=alert.marking, purpose=purpose,
        detail=body.state if reason is None else f"{body.state}: {reason}",
    )
    return detail


def entity_risk(
    svc: ServicesDep,
    viewer: ViewerDep,
    entity: Annotated[str | None, Query(min_length=1, description="Only this entity id.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many entities.")] = 50,
) -> RiskRanking:
    with alert_store(svc, viewer) as (store, reader):
        risks = rule_alerts.entity_risk(store, svc.operational, reader, limit=limit, entity=entity)
    return RiskRanking(entities=[EntityRisk.model_validate(r.as_dict()) for r in risks])
