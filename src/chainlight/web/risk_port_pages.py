"""A port's risk profile: ``/risk/ports/{code}`` and its JSON twin ``/risk/ports/{code}.json``.

The port's score comes from the same scorecard as the benchmark (:mod:`chainlight.web.risk_pages`:
the viewer's reader, RED and AMBER+STRICT data held back without a purpose, ``w.KEY`` weights),
with its full explanation: contributions summing to the residual score, impact and control terms.
Around it: the World Port Index facts, the trend, peers and gaps against good practice
(:mod:`chainlight.risk.benchmark`), incidents by stage, actor, item and consequence with
k-anonymity (:mod:`chainlight.risk.incidents`: never one incident), missed seizures and alerts
tied to the port that the viewer may see, and the registers of the port it may read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from chainlight.risk import benchmark, incidents, registers
from chainlight.risk.catalogue import Catalogue
from chainlight.risk.model import RiskModel
from chainlight.rules.alerts import Reader
from chainlight.store.evidence import EvidenceStore
from chainlight.web.access import Viewer
from chainlight.web.risk_pages import (
    PortCode,
    ServicesDep,
    ViewerDep,
    audit_read,
    band,
    base_model,
    keep_params,
    marking_name,
    port_score,
    requested_weights,
    risk_store,
    scored,
    view_of,
    weighted,
    with_purpose,
)
from chainlight.web.risk_payloads import (
    RiskAlertRef,
    RiskFacts,
    RiskIncidentLine,
    RiskIncidents,
    RiskPortProfile,
    RiskRegisterRef,
)
from chainlight.web.services import Services
from chainlight.web.templating import render

#: The most alerts a port profile lists.
ALERTS_LISTED = 100



def find_port(store: EvidenceStore, code: str) -> tuple[Any, ...] | None:
    """The ``risk_ports`` row of a port by id or code (any case), or None."""
    wanted = "".join(code.split())
    rows = store.fetchall(
        """SELECT port_id, code, name, region, harbour_size, port_security, first_port_of_entry, free_trade_zone,
                  transit_hub FROM risk_ports WHERE port_id = ? OR code = ? ORDER BY port_id = ? DESC LIMIT 1""",
        [wanted.casefold(), wanted.upper(), wanted.casefold()],
    )
    return rows[0] if rows else None


def not_found(code: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"No such port: {code}.")


def _alerts(store: EvidenceStore, reader: Reader, port_id: str) -> list[RiskAlertRef]:
    tables = {r[0] for r in store.fetchall("SELECT table_name FROM duckdb_tables()")}
    if "risk_alert_ports" not in tables or not reader.datasets:
        return []
    title = "coalesce(any_value(al.title), any_value(a.rule_id))" if "alerts" in tables else "any_value(a.rule_id)"
    join = "LEFT JOIN alerts al ON al.alert_id = a.alert_id" if "alerts" in tables else ""
    rows = store.fetchall(
        f"""SELECT a.alert_id, {title}, any_value(a.rule_id), max(a.score), any_value(a.datasets)
            FROM risk_alert_ports a {join}
            WHERE a.port_id = ? AND list_has_all(?, a.datasets)
            GROUP BY a.alert_id ORDER BY max(a.score) DESC, a.alert_id LIMIT {ALERTS_LISTED}""",
        [port_id, reader.datasets],
    )
    return [RiskAlertRef(alert_id=a, title=t, rule_id=r, score=float(s or 0.0), url=f"/alerts/{a}",
                         datasets=sorted(d), marking=marking_name(reader.marking(list(d)).value))
            for a, t, r, s, d in rows]


def _missed(store: EvidenceStore, reader: Reader, port_id: str) -> int:
    if not reader.datasets:
        return 0
    rows = store.fetchall(
        "SELECT count(DISTINCT seizure_id) FROM risk_missed_seizures WHERE port_id = ? AND list_has_all(?, datasets)",
        [port_id, reader.datasets],
    )
    return int(rows[0][0] or 0)


def register_refs(svc: Services, viewer: Viewer, port_id: str) -> list[RiskRegisterRef]:
    """The registers of this port the viewer may read, its own first."""
    try:
        found = registers.list_registers(svc.operational, viewer.organisation, port=port_id)
    except registers.RegisterError:
        return []
    out = []
    for r in found:
        worst = max((row.residual for row in r.rows), default=None)
        url = f"/risk/ports/{port_id}/register" + ("" if r.organisation == viewer.organisation
                                                     else "?" + urlencode({"owner": r.organisation}))
        out.append(RiskRegisterRef(organisation=r.organisation, title=r.title, marking=marking_name(r.marking.value),
                                   rows=len(r.rows), worst_band=band(worst) if worst else None, url=url))
    return out


#: The incident breakdowns a port's profile shows.
BREAKDOWNS = ("stage", "actor", "item", "consequence")


def incident_breakdown(store: EvidenceStore, reader: Reader, model: RiskModel, port_id: str) -> RiskIncidents | None:
    """The port's incidents by stage, actor, item and consequence: the reader's own reports exactly,
    other organisations' with k-anonymity (:mod:`chainlight.risk.incidents`); None without any."""
    try:
        views = incidents.incident_views(store, reader, model.k_anonymity)
        found = views.by_names(BREAKDOWNS, port_id)
    except incidents.IncidentError:
        return None
    by = {name: [RiskIncidentLine(key=line.key, label=line.label, count=line.count.count,
                                  display=line.count.display()) for line in b.lines] for name, b in found.items()}
    return RiskIncidents(k=views.k, by=by, total=found[BREAKDOWNS[0]].total.display())


def load_port(request: Request, svc: Services, viewer: Viewer, code: str) -> RiskPortProfile:
    view = view_of(request, svc, viewer)
    model = base_model(svc)
    changed = requested_weights(request, model)
    used = weighted(model, changed)
    with risk_store(svc) as store:
        card = scored(svc, store, view, used)
        port = card.port(code)
        row = find_port(store, port.port_id) if port is not None else None
        if port is None or row is None:
            raise not_found(code)
        default_ranks = {p.port_id: p.rank for p in scored(svc, store, view, model).ports} if changed else {}
        alerts = _alerts(store, view.reader, port.port_id)
        missed = _missed(store, view.reader, port.port_id)
        breakdown = incident_breakdown(store, view.reader, used, port.port_id)
    standing = benchmark.benchmark_port(card, port)
    facts = RiskFacts(region=row[3], harbour_size=row[4], port_security=row[5], first_port_of_entry=row[6],
                      free_trade_zone=row[7], transit_hub=row[8])
    audit_read(request, viewer, view, f"port:{port.port_id}", port.marking)
    return RiskPortProfile.model_validate({
        "score": port_score(port, default_ranks, explain=True),
        "impact_terms": [t.as_dict() for t in port.impact_terms],
        "control_terms": [t.as_dict() for t in port.control_terms],
        "facts": facts, "model": card.model,
        "as_of": card.as_of.isoformat() if card.as_of else None,
        "previous_as_of": card.previous_as_of.isoformat() if card.previous_as_of else None,
        "peers": [g.as_dict() for g in standing.peers], "gaps": [g.as_dict() for g in standing.gaps],
        "incidents": breakdown, "missed_seizures": missed, "alerts": alerts,
        "registers": register_refs(svc, viewer, port.port_id),
        "register_url": with_purpose(f"/risk/ports/{port.port_id}/register", view),
        "datasets": port.datasets, "marking": port.marking, **view.held_back(),
    })


def port_json(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep) -> RiskPortProfile:
    return load_port(request, svc, viewer, code)


def port_page(code: PortCode, request: Request, svc: ServicesDep, viewer: ViewerDep) -> HTMLResponse:
    data = load_port(request, svc, viewer, code)
    query = urlencode(keep_params(request))
    json_url = f"/risk/ports/{data.score.port_id}.json" + (f"?{query}" if query else "")
    catalogue = Catalogue.load()
    context = {"data": data, "port": data.score, "keep": keep_params(request, "purpose"), "catalogue": catalogue}
    return render(request, "risk_port.html", context, json_url=json_url)
