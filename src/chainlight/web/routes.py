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
from chainlight.web import alerts, graph, resolution, views
from chainlight.web.alert_payloads import AlertDetail, AlertList, RiskRanking
from chainlight.web.graph_payloads import (
    CircularOwnerships,
    Communities,
    DnaClusters,
    MoneyTrace,
    Neighbourhood,
    Paths,
    UltimateOwners,
)
from chainlight.web.payloads import (
    ClusterMap,
    DatasetDetail,
    EntityMatches,
    Explanation,
    Health,
    Home,
    JudgementOutcome,
    Problem,
    ReviewQueue,
    Versions,
)


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
        errors=(404, 409, 422, 503), methods=("POST",), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/resolution/judgements/undo", resolution.undo, "resolution_undo",
        "Undo the standing judgement on two entities", JudgementOutcome,
        errors=(404, 409, 422, 503), methods=("POST",), route_class=resolution.ApiRoute,
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
        errors=(404, 409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/path", graph.path, "graph_path",
        "The shortest paths between two entities, each step with its evidence", Paths,
        errors=(404, 409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/ubo/{entity_id}", graph.ubo, "graph_ubo",
        "Ultimate owners: shares multiplied along chains and summed across them, as ranges", UltimateOwners,
        errors=(404, 409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/cycles", graph.cycles, "graph_cycles",
        "Every group of entities that own each other round a cycle", CircularOwnerships,
        errors=(409, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/money/{entity_id}", graph.money, "graph_money",
        "Payments followed forward or backward in time order, summed per counterparty and hop", MoneyTrace,
        errors=(404, 409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/communities", graph.communities, "graph_communities",
        "Syndicate candidates (Leiden communities) and their brokers (betweenness)", Communities,
        errors=(409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/seizures", graph.seizures, "graph_seizures",
        "Seizures linked by DNA, with their shipments, parties, ports, permits and owners", DnaClusters,
        errors=(409, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/graph/export/{entity_id}", graph.export, "graph_export",
        "A neighbourhood (or a path) as FtM JSON lines, GraphML, GEXF or Cytoscape JSON", None,
        errors=(404, 409, 422, 503), route_class=resolution.ApiRoute,
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
        errors=(404, 409, 422, 503), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/alerts/{alert_id}/triage", alerts.triage, "alerts_triage",
        "Confirm or dismiss an alert (or set it back to new) for the viewer's organisation", AlertDetail,
        errors=(404, 409, 422, 503), methods=("POST",), route_class=resolution.ApiRoute,
    ),
    Route(
        "/api/risk/entities", alerts.entity_risk, "risk_entities",
        "Entities ranked by combined risk over the viewer's visible, undismissed alerts", RiskRanking,
        errors=(409, 422, 503), route_class=resolution.ApiRoute,
    ),
)


ERROR_DESCRIPTIONS = {
    404: "Not found",
    409: "Not possible now (e.g. resolution has not run, the graph has not been built, or the rules have not run)",
    422: "Invalid request",
    503: "The evidence store is busy",
}


def register(app: FastAPI) -> None:
    """Add every route of :data:`ROUTES` to ``app``, in table order."""
    for route in ROUTES:
        if route.is_page:
            app.add_api_route(
                route.path, route.endpoint, name=route.name, summary=route.summary, methods=["GET"],
                response_class=HTMLResponse, include_in_schema=False,
            )
            continue
        responses: dict[int | str, dict[str, Any]] = {
            status: {"model": Problem, "description": ERROR_DESCRIPTIONS.get(status, "Error")}
            for status in route.errors
        }
        if route.files:  # a file: no response model, its media types documented instead
            responses[200] = {
                "description": "The file, as an attachment",
                "content": {media: {"schema": {"type": "string", "format": "binary"}} for media in route.files},
            }
        app.router.add_api_route(
            route.path, route.endpoint, name=route.name, summary=route.summary, methods=list(route.methods),
            response_model=route.model, responses=responses, route_class_override=route.route_class,
            response_class=Response if route.files else JSONResponse,
        )
