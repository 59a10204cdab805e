"""Every address the web app answers, in one table read top to bottom.

A route with a response model is a JSON route: it appears in ``/openapi.json`` with that
model. A route without one is an HTML page, left out of the API schema; each page has a JSON
twin at the same address plus ``.json``. Order matters where two patterns overlap: Starlette
tries routes in turn and ``{name}`` would also match ``x.json``, so JSON twins come first.
The ``/api/`` routes are JSON only, with no page; their ``route_class`` answers their errors.
A route with ``files`` (a graph export) answers a file of one of those media types instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from chainlight.graph.export import MEDIA_TYPES
from chainlight.web import (
    accounts,
    admin,
    alert_pages,
    alerts,
    auth,
    graph,
    network,
    resolution,
    review_pages,
    risk_incidents,
    risk_pages,
    risk_port_pages,
    risk_register_pages,
    routemap,
    search,
    upload,
    vendor,
    views,
)
from chainlight.web.account_payloads import Account, AdminOverview, AuditLog
from chainlight.web.alert_payloads import AlertDetail, AlertList, AlertPage, AlertQueue, RiskRanking
from chainlight.web.graph_payloads import (
    CircularOwnerships,
    Communities,
    DnaClusters,
    MoneyTrace,
    Neighbourhood,
    Paths,
    UltimateOwners,
)
from chainlight.web.map_payloads import NetworkExplorer, RouteMap
from chainlight.web.payloads import (
    ClusterMap,
    DatasetDetail,
    EntityMatches,
    Explanation,
    Health,
    Home,
    JudgementOutcome,
    Problem,
    ReviewPage,
    ReviewQueue,
    Versions,
)
from chainlight.web.risk_incidents import IncidentForm
from chainlight.web.risk_payloads import (
    RiskBenchmark,
    RiskCountries,
    RiskHeatmap,
    RiskPortProfile,
    RiskRegisterPage,
)
from chainlight.web.search_payloads import EntityProfile, SearchResults
from chainlight.web.upload_payloads import UploadForm, UploadJob


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    endpoint: Callable[..., Any]
    name: str
    summary: str
    model: type[BaseModel] | None = None
    errors: tuple[int, ...] = field(default=())
    methods: tuple[str, ...] = ("GET",)
    route_class: type[APIRoute] = APIRoute
    #: A route that answers a file rather than JSON: the media types it may answer with.
    files: tuple[str, ...] = field(default=())

    @property
    def is_page(self) -> bool:
        return self.model is None and not self.files


ROUTES: tuple[Route, ...] = (
    Route("/", views.home_page, "home", "Datasets the viewer may see"),
    Route("/index.json", views.home_json, "home_json", "Datasets the viewer may see, with counts", Home),
    Route(
        "/datasets/{name}.json", views.dataset_json, "dataset_json",
        "One dataset: counts, entities per schema, ingest runs", DatasetDetail, errors=(404,),
    ),
    Route("/datasets/{name}", views.dataset_page, "dataset", "One dataset"),
    # Search and entity profiles, read from the search index (search): pages and their JSON twins.
    Route(
        "/search.json", search.search_json, "search_json",
        "Entities whose names match a query loosely, with facets (schema, country, dataset, marking)",
        SearchResults, errors=(409, 422),
    ),
    Route("/search", search.search_page, "search", "Search entities by name, with facets"),
    Route(
        "/entities/{entity_id}.json", search.entity_json, "entity_json",
        "An entity merged over its cluster: every value with its provenance, relations, alerts, timeline",
        EntityProfile, errors=(404, 409, 422, 428),
    ),
    Route("/entities/{entity_id}", search.entity_page, "entity", "An entity's profile"),
    # The alerts queue and one alert with its triage form (alert_pages): pages and their JSON twins.
    Route(
        "/alerts.json", alert_pages.queue_json, "alerts_queue_json",
        "The alerts queue: a page of the viewer's alerts, filtered, with the rules a filter may name", AlertQueue,
        errors=(422, 503),
    ),
    Route("/alerts", alert_pages.queue_page, "alerts_queue", "The alerts queue"),
    Route(
        "/alerts/{alert_id}.json", alert_pages.alert_json, "alert_json",
        "One alert with its evidence, datasets and markings, and its triage history", AlertPage,
        errors=(404, 409, 422, 428, 503),
    ),
    Route("/alerts/{alert_id}", alert_pages.alert_page, "alert", "One alert, with its triage form"),
    Route(
        "/alerts/{alert_id}/triage", alert_pages.triage_form, "alert_triage_form",
        "The triage form: confirm, dismiss with a reason, or set back to new", methods=("POST",),
    ),
    # The resolution review queue and its verdict forms (review_pages): a page and its JSON twin.
    Route(
        "/review.json", review_pages.review_json, "review_json",
        "The review queue: uncertain pairs side by side with the features behind their scores", ReviewPage,
        errors=(422, 503),
    ),
    Route("/review", review_pages.review_page, "review", "The review queue"),
    Route(
        "/review/judgements", review_pages.judge_form, "review_judge_form",
        "The verdict form: same, different or unsure", methods=("POST",),
    ),
    Route(
        "/review/undo", review_pages.undo_form, "review_undo_form", "Undo the judgement on a pair",
        methods=("POST",),
    ),
    # Dataset upload (upload): the form and its twin, the upload itself, and the job that ingests it.
    Route(
        "/upload.json", upload.upload_form_json, "upload_form_json",
        "What the upload form offers (formats, markings, sharing groups, size limit) and the latest uploads",
        UploadForm,
    ),
    Route(
        "/upload.json", upload.upload_json, "upload_json",
        "Upload a file (multipart: file, dataset, title, format, marking, sharing_group) and start its ingest",
        UploadJob, errors=(403, 409, 413, 415, 422, 503), methods=("POST",),
    ),
    Route("/upload", upload.upload_page, "upload", "The upload form"),
    Route("/upload", upload.upload_submit, "upload_submit", "The upload form's POST", methods=("POST",)),
    Route(
        "/upload/jobs/{job_id}.json", upload.job_json, "upload_job_json",
        "An upload's ingest: state, progress, counts and quarantined rows", UploadJob, errors=(404, 422),
    ),
    Route("/upload/jobs/{job_id}", upload.job_page, "upload_job", "An upload's ingest, followed as it goes"),
    # Incident reports (risk_incidents): a structured, non-identifying form, ingested as an upload.
    Route(
        "/risk/incidents/new.json", risk_incidents.form_json, "risk_incident_form_json",
        "What the incident report form offers: stages, actors, items, consequences, outcomes, markings",
        IncidentForm,
    ),
    Route("/risk/incidents/new", risk_incidents.form_page, "risk_incident_form", "The incident report form"),
    Route("/risk/incidents/new", risk_incidents.submit, "risk_incident_submit", "The incident report form's POST",
          methods=("POST",)),
    # The network explorer and the trade and seizure route map (network, routemap): pages and their
    # JSON twins; the front-end libraries they load, from node_modules (vendor, not in the schema).
    Route(
        "/network.json", network.network_json, "network_json",
        "What the network explorer needs: whether the graph is built, its relations, the start entity",
        NetworkExplorer, errors=(404, 409, 422, 428, 503),
    ),
    Route("/network", network.network_page, "network", "The network explorer"),
    Route(
        "/map.json", routemap.map_json, "map_json",
        "Trade, shipment and seizure flows and seizure points over the viewer's datasets, filtered", RouteMap,
        errors=(422, 428, 503),
    ),
    Route("/map", routemap.map_page, "map", "The trade and seizure route map"),
    # --- risk pages (helper E; risk_pages, risk_port_pages, risk_register_pages): the port integrity
    # benchmark, the heat map, port profiles, registers with their exports and forms, country tiers.
    Route(
        "/risk.json", risk_pages.benchmark_json, "risk_json",
        "Ports ranked by residual corruption risk (filters, paging, w.KEY=NUMBER weight changes), with the map's "
        "ports", RiskBenchmark, errors=(409, 422, 428, 503),
    ),
    Route("/risk", risk_pages.benchmark_page, "risk", "The port integrity benchmark"),
    Route(
        "/risk/heatmap.json", risk_pages.heatmap_json, "risk_heatmap_json",
        "Ports per likelihood class x impact class (inherent or residual)", RiskHeatmap, errors=(409, 422, 428, 503),
    ),
    Route("/risk/heatmap", risk_pages.heatmap_page, "risk_heatmap", "The likelihood x impact heat map of ports"),
    Route(
        "/risk/countries.json", risk_pages.countries_json, "risk_countries_json",
        "Country accountability tiers, each with the rule and values behind it", RiskCountries,
        errors=(409, 422, 428, 503),
    ),
    Route("/risk/countries", risk_pages.countries_page, "risk_countries", "Country accountability tiers"),
    Route(
        "/risk/ports/{code}.json", risk_port_pages.port_json, "risk_port_json",
        "One port's score with its full explanation, facts, peers, gaps, evidence tied to it and registers",
        RiskPortProfile, errors=(404, 409, 422, 428, 503),
    ),
    Route("/risk/ports/{code}", risk_port_pages.port_page, "risk_port", "A port's risk profile"),
    Route(
        "/risk/ports/{code}/register.json", risk_register_pages.register_json, "risk_register_json",
        "A port's risk register (the viewer's own, a draft seeded from evidence, or ?owner='s), with heat maps",
        RiskRegisterPage, errors=(404, 409, 422, 428, 503),
    ),
    # Downloads for people, like the pages (not in the API schema; errors answer as pages).
    Route("/risk/ports/{code}/register.csv", risk_register_pages.register_csv, "risk_register_csv",
          "A port's risk register as CSV"),
    Route("/risk/ports/{code}/register.pdf", risk_register_pages.register_pdf, "risk_register_pdf",
          "A port's risk register as a PDF report"),
    Route("/risk/ports/{code}/register", risk_register_pages.register_page, "risk_register", "A port's risk register"),
    Route("/risk/ports/{code}/register/save", risk_register_pages.save_form, "risk_register_save",
          "Keep the draft register", methods=("POST",)),
    Route("/risk/ports/{code}/register/rows", risk_register_pages.row_form, "risk_register_row",
          "Add or change a register row", methods=("POST",)),
    Route("/risk/ports/{code}/register/controls", risk_register_pages.control_form, "risk_register_control",
          "Record a control's status on a row", methods=("POST",)),
    Route("/risk/ports/{code}/register/actions", risk_register_pages.action_form, "risk_register_action",
          "Plan an action on a row", methods=("POST",)),
    Route("/risk/ports/{code}/register/reviews", risk_register_pages.review_form, "risk_register_review",
          "Record a review of one row or all", methods=("POST",)),
    # --- end of risk pages
    Route("/vendor/{name}", vendor.vendor_file, "vendor", "A front-end library file from node_modules"),
    Route("/-/health", views.health, "health", "Whether the app answers", Health),
    Route("/-/versions", views.versions, "versions", "Versions of Chainlight and its engines", Versions),
    # Entity resolution, in the viewer's view: JSON only, errors always JSON (resolution.ApiRoute).
    Route(
        "/api/resolution/entities/{entity_id}/matches", resolution.entity_matches, "resolution_matches",
        "An entity's cluster and its links to others, with match weights", EntityMatches,
        errors=(404, 409, 422), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/resolution/explain", resolution.explain, "resolution_explain",
        "Every link between two entities, feature by feature", Explanation,
        errors=(404, 409, 422), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/resolution/review", resolution.review, "resolution_review",
        "Uncertain pairs worth a person's look, most valuable first", ReviewQueue,
        errors=(409, 422), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/resolution/judgements", resolution.judge, "resolution_judge",
        "Judge two entities the same, different or unsure; clusters follow at once", JudgementOutcome,
        errors=(403, 404, 409, 422, 503), methods=("POST",), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/resolution/judgements/undo", resolution.undo, "resolution_undo",
        "Undo the standing judgement on two entities", JudgementOutcome,
        errors=(403, 404, 409, 422, 503), methods=("POST",), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/resolution/clusters", resolution.cluster_map, "resolution_clusters",
        "Entities in clusters of two or more, with their canonical ids, a page at a time", ClusterMap,
        errors=(409, 422), route_class=resolution.ApiRoute,
    ),
    # The graph, in the viewer's view: JSON only (exports are files), errors always JSON.
    Route(
        "/api/graph/neighbours/{entity_id}", graph.neighbours, "graph_neighbours",
        "The entities within K hops of one entity, and the edges between them", Neighbourhood,
        errors=(404, 409, 422, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/path", graph.path, "graph_path",
        "The shortest paths between two entities, each step with its evidence", Paths,
        errors=(404, 409, 422, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/ubo/{entity_id}", graph.ubo, "graph_ubo",
        "Ultimate owners: shares multiplied along chains and summed across them, as ranges", UltimateOwners,
        errors=(404, 409, 422, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/cycles", graph.cycles, "graph_cycles",
        "Every group of entities that own each other round a cycle", CircularOwnerships,
        errors=(409, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/money/{entity_id}", graph.money, "graph_money",
        "Payments followed forward or backward in time order, summed per counterparty and hop", MoneyTrace,
        errors=(404, 409, 422, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/communities", graph.communities, "graph_communities",
        "Syndicate candidates (Leiden communities) and their brokers (betweenness)", Communities,
        errors=(409, 422, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/seizures", graph.seizures, "graph_seizures",
        "Seizures linked by DNA, with their shipments, parties, ports, permits and owners", DnaClusters,
        errors=(409, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/export/{entity_id}", graph.export, "graph_export",
        "A neighbourhood (or a path) as FtM JSON lines, GraphML, GEXF or Cytoscape JSON", None,
        errors=(404, 409, 422, 428, 503), route_class=resolution.ApiRoute,
        files=tuple(dict.fromkeys(MEDIA_TYPES.values())),
    ),
    # Alerts raised by the red-flag rules, in the viewer's view: JSON only, errors always JSON.
    Route(
        "/api/alerts", alerts.list_alerts, "alerts_list",
        "The viewer's alerts, highest score first, filtered and a page at a time", AlertList,
        errors=(409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/alerts/{alert_id}", alerts.get_alert, "alerts_get",
        "One alert with its evidence (statements, trade records) and its triage history", AlertDetail,
        errors=(404, 409, 422, 428, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/alerts/{alert_id}/triage", alerts.triage, "alerts_triage",
        "Confirm or dismiss an alert (or set it back to new) for the viewer's organisation", AlertDetail,
        errors=(403, 404, 409, 422, 428, 503), methods=("POST",), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/risk/entities", alerts.entity_risk, "risk_entities",
        "Entities ranked by combined risk over the viewer's visible, undismissed alerts", RiskRanking,
        errors=(409, 422, 503), route_class=resolution.ApiRoute,
    ),
    # Signing in and out, the user's own account and tokens, administration and the access log
    # (accounts, admin). POST routes without a model are HTML form actions, left out of the schema.
    Route("/login", accounts.login_page, "login", "The sign-in form"),
    Route("/login", accounts.login, "login_submit", "Sign in", methods=("POST",)),
    Route("/logout", accounts.logout, "logout", "Sign out", methods=("POST",)),
    Route("/account.json", accounts.account_json, "account_json", "The signed-in user and their API tokens", Account),
    Route("/account", accounts.account_page, "account", "Your account: API tokens and password"),
    Route("/account/tokens", accounts.create_token, "account_token_create", "Create an API token",
          methods=("POST",)),
    Route("/account/tokens/{token_id}/revoke", accounts.revoke_token, "account_token_revoke",
          "Revoke one of your API tokens", methods=("POST",)),
    Route("/account/password", accounts.change_password, "account_password", "Change your password",
          methods=("POST",)),
    Route(
        "/admin.json", admin.admin_json, "admin_json",
        "Organisations, sharing groups, and the users and tokens of the admin's organisation", AdminOverview,
        errors=(403,),
    ),
    Route("/admin", admin.admin_page, "admin", "Administration of the viewer's organisation"),
    Route("/admin/users", admin.add_user, "admin_user_add", "Add a user", methods=("POST",)),
    Route("/admin/users/{email}/role", admin.set_role, "admin_user_role", "Set a user's role", methods=("POST",)),
    Route("/admin/users/{email}/disabled", admin.set_disabled, "admin_user_disabled", "Disable or enable a user",
          methods=("POST",)),
    Route("/admin/users/{email}/password", admin.reset_password, "admin_user_password",
          "Reset a user's password", methods=("POST",)),
    Route("/admin/tokens/{token_id}/revoke", admin.revoke_token, "admin_token_revoke", "Revoke a user's token",
          methods=("POST",)),
    Route("/admin/groups", admin.add_group, "admin_group_add", "Create a sharing group", methods=("POST",)),
    Route("/admin/groups/{group}/members", admin.set_member, "admin_group_member",
          "Add or remove a member organisation", methods=("POST",)),
    Route(
        "/audit.json", admin.audit_json, "audit_json",
        "The access log of the admin's organisation, newest first, a page at a time", AuditLog,
        errors=(403, 422),
    ),
    Route("/audit", admin.audit_page, "audit", "The access log of the admin's organisation"),
)


ERROR_DESCRIPTIONS = {
    401: "Not signed in, or the API token is unknown, revoked or expired",
    403: "The viewer's role does not allow this",
    404: "Not found",
    409: "Not possible now (e.g. resolution has not run, the graph has not been built, or the rules have not run)",
    413: "The upload is larger than the limit",
    415: "The upload is not a multipart/form-data form",
    422: "Invalid request",
    428: "The item is marked RED or AMBER+STRICT: repeat the request with a purpose",
    503: "The evidence store is busy",
}


def register(app: FastAPI) -> None:
    """Add every route of :data:`ROUTES` to ``app``, in table order."""
    for route in ROUTES:
        if route.is_page:
            app.add_api_route(
                route.path, route.endpoint, name=route.name, summary=route.summary, methods=list(route.methods),
                response_class=HTMLResponse, include_in_schema=False,
            )
            continue
        # Every route but the public ones answers 401 to a request with no session and no valid token.
        statuses = route.errors if auth.is_public(route.path) else (401, *route.errors)
        responses: dict[int | str, dict[str, Any]] = {
            status: {"model": Problem, "description": ERROR_DESCRIPTIONS.get(status, "Error")}
            for status in statuses
        }
        if route.files:  # a file: no response model, its media types documented instead
            responses[200] = {
                "description": "The file, as an attachment",
                # A JSON file (Cytoscape.js) is one JSON object; the other formats are opaque text.
                "content": {media: {"schema": {"type": "object"} if media == "application/json"
                                    else {"type": "string", "format": "binary"}} for media in route.files},
            }
        app.router.add_api_route(
            route.path, route.endpoint, name=route.name, summary=route.summary, methods=list(route.methods),
            response_model=route.model, responses=responses, route_class_override=route.route_class,
            response_class=Response if route.files else JSONResponse,
        )
