"""The graph JSON API: neighbourhoods, paths, ultimate owners, circular ownership, money,
communities, DNA-linked seizures and exports, the same questions ``chainlight graph ...`` asks.

Every answer comes from the viewer's graph view (:mod:`chainlight.graph.service`): only edges
whose evidence lies in datasets the viewer may see, between entities the viewer may see,
merged into the clusters of the viewer's resolution view. Views are kept in the app's
:class:`~chainlight.graph.service.ViewCache`, so a query does not pay for loading the graph
again until the graph, the clusters, the judgements or the viewer's datasets change.

The web app only reads: it never builds the graph. Before ``chainlight graph build`` has run
every route answers 409. An entity the viewer cannot see answers 404 exactly like one that does
not exist; a filter naming no known relation, or any other question the graph cannot answer,
answers 422. An answer marked RED or AMBER+STRICT (the strictest marking of anything in it) is
sent only with a purpose (``?purpose=`` or the ``X-Chainlight-Purpose`` header; 428 without one)
and goes into the access log with it. Errors are JSON :class:`~chainlight.web.payloads.Problem` answers (the routes use
:class:`chainlight.web.resolution.ApiRoute`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from chainlight.graph import communities as communities_
from chainlight.graph import export as export_
from chainlight.graph import money as money_
from chainlight.graph import ownership, queries
from chainlight.graph import seizures as seizures_
from chainlight.graph.service import GraphNotBuilt
from chainlight.graph.view import EdgeFilter, GraphError, GraphView, NotInGraph
from chainlight.model.markings import Marking, most_restrictive
from chainlight.resolve import service as resolution_service
from chainlight.store.evidence import EvidenceStore
from chainlight.web import access
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.graph_payloads import (
    CircularOwnership,
    CircularOwnerships,
    Communities,
    DnaClusters,
    MoneyTrace,
    Neighbourhood,
    Paths,
    Provenance,
    UltimateOwners,
)
from chainlight.web.services import Services, services

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]

NOT_BUILT = "The graph has not been built yet: run 'chainlight graph build' first."
#: The most nodes a neighbourhood (or an export) may grow to through the API.
MAX_NODES = 10_000
#: Extension of the file each export format is offered as.
EXTENSIONS = {"ftm": "ftm.json", "graphml": "graphml", "gexf": "gexf", "cytoscape": "cyjs"}

Model = TypeVar("Model", bound=BaseModel)
Provenanced = TypeVar("Provenanced", bound=Provenance)

# Query parameters shared by several routes.
Relation = Annotated[
    list[str] | None,
    Query(description="Walk only these relations (e.g. Ownership, Payment, Shipment, consignee, shares); repeatable."),
]
Exclude = Annotated[list[str] | None, Query(description="Never walk these relations; repeatable.")]
Since = Annotated[date | None, Query(description="Only edges dated on or after this day (YYYY-MM-DD).")]
Until = Annotated[date | None, Query(description="Only edges dated on or before this day (YYYY-MM-DD).")]
Hops = Annotated[int, Query(ge=1, le=6, description="How far to walk.")]
Limit = Annotated[int, Query(ge=1, le=MAX_NODES, description="Stop growing at this many nodes.")]


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status_code=422, detail=message)


def edge_filter(
    relation: list[str] | None, exclude: list[str] | None, since: date | None = None, until: date | None = None
) -> EdgeFilter:
    """The filter the terms ask for; 422 for a term that matches no relation or a backwards window."""
    try:
        return EdgeFilter.parse(relation, exclude, since, until)
    except GraphError as exc:
        raise _unprocessable(str(exc)) from None


@contextmanager
def reader_graph(svc: Services, viewer: Viewer) -> Iterator[tuple[EvidenceStore, GraphView]]:
    """The evidence store, opened read-only for this request, and the viewer's graph view.

    Graph errors become the API's answers: not built 409, not visible 404 (the same words as
    an unknown id), anything else the graph cannot answer 422.
    """
    access = svc.operational.dataset_access()
    verdicts = resolution_service.verdicts(svc.operational)
    try:
        with svc.evidence.open() as store:
            if store is None:
                raise GraphNotBuilt("no evidence store yet")
            yield store, svc.graphs.get(store, access, viewer.organisation, verdicts)
    except GraphNotBuilt as exc:
        raise HTTPException(status_code=409, detail=NOT_BUILT) from exc
    except NotInGraph as exc:  # hidden and missing read the same
        raise HTTPException(status_code=404, detail=_sentence(str(exc))) from exc
    except GraphError as exc:
        raise _unprocessable(_sentence(str(exc))) from exc


def _sentence(message: str) -> str:
    return f"{message[:1].upper()}{message[1:]}."


def _ask(svc: Services, viewer: Viewer, model: type[Model], query: Callable[[EvidenceStore, GraphView], Any]) -> Model:
    with reader_graph(svc, viewer) as (store, view):
        return model.model_validate(query(store, view))


def _markings(value: object) -> Iterator[str]:
    """Every marking an answer carries: its own and those of everything in it."""
    if isinstance(value, Provenance):
        yield value.marking
    if isinstance(value, BaseModel):
        for item in value.__dict__.values():
            if isinstance(item, (BaseModel, list)):
                yield from _markings(item)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (BaseModel, list)):
                yield from _markings(item)


def _released(request: Request, viewer: Viewer, operation: str, target: str, answer: Provenanced) -> Provenanced:
    """``answer``, once its marking allows it to leave: a RED or AMBER+STRICT answer asks for a
    purpose (428, and nothing of it is sent) and goes into the access log with it.

    Called after the answer is computed, so an entity the viewer cannot see has already
    answered 404 exactly as a missing one; the marking is the answer's own, the strictest of
    every node, edge and dataset it holds. Lighter answers are not logged unless a purpose
    was given anyway.
    """
    marking = most_restrictive(Marking.parse(m) for m in _markings(answer))
    purpose = access.require_purpose(request, marking)
    if marking in access.PURPOSE_MARKINGS or purpose:
        access.audit(request, viewer, f"graph.{operation}", target, marking=marking, purpose=purpose)
    return answer


def neighbours(
    request: Request,
    entity_id: str,
    svc: ServicesDep,
    viewer: ViewerDep,
    hops: Hops = 1,
    relation: Relation = None,
    exclude: Exclude = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = queries.NODE_LIMIT,
) -> Neighbourhood:
    flt = edge_filter(relation, exclude, since, until)
    answer = _ask(svc, viewer, Neighbourhood,
                  lambda store, view: queries.neighbours(store, view, entity_id, hops=hops, flt=flt, limit=limit))
    return _released(request, viewer, "neighbours", entity_id, answer)


def path(
    request: Request,
    source: Annotated[str, Query(min_length=1, description="From this entity (entity or canonical id).")],
    target: Annotated[str, Query(min_length=1, description="To this entity.")],
    svc: ServicesDep,
    viewer: ViewerDep,
    paths: Annotated[int, Query(ge=1, le=20, description="How many shortest paths.")] = 1,
    relation: Relation = None,
    exclude: Exclude = None,
    since: Since = None,
    until: Until = None,
) -> Paths:
    flt = edge_filter(relation, exclude, since, until)
    answer = _ask(svc, viewer, Paths,
                  lambda store, view: queries.path(store, view, source, target, flt=flt, paths=paths))
    return _released(request, viewer, "path", f"{source} -> {target}", answer)


def ubo(
    request: Request,
    entity_id: str,
    svc: ServicesDep,
    viewer: ViewerDep,
    threshold: Annotated[
        float, Query(ge=0.0, le=100.0, description="Beneficial-ownership share, percent.")
    ] = ownership.THRESHOLD,
) -> UltimateOwners:
    answer = _ask(svc, viewer, UltimateOwners,
                  lambda store, view: ownership.ultimate_owners(store, view, entity_id, threshold=threshold))
    return _released(request, viewer, "ubo", entity_id, answer)


def cycles(request: Request, svc: ServicesDep, viewer: ViewerDep) -> CircularOwnerships:
    with reader_graph(svc, viewer) as (store, view):
        groups = [CircularOwnership.model_validate(g) for g in ownership.circular_ownership(store, view)]
        datasets = sorted({d for g in groups for d in g.datasets})
        answer = CircularOwnerships(cycles=groups, datasets=datasets, marking=view.marking_of(datasets).value)
    return _released(request, viewer, "cycles", "all", answer)


def money(
    request: Request,
    entity_id: str,
    svc: ServicesDep,
    viewer: ViewerDep,
    direction: Annotated[
        Literal["forward", "backward", "both"],
        Query(description="forward: where the money went; backward: where it came from; both."),
    ] = "forward",
    hops: Annotated[int, Query(ge=1, le=money_.MAX_HOPS, description="How many payments deep.")] = 3,
    since: Annotated[date | None, Query(description="Only payments on or after this day (YYYY-MM-DD).")] = None,
    until: Annotated[date | None, Query(description="Only payments on or before this day (YYYY-MM-DD).")] = None,
    max_lag: Annotated[
        int | None, Query(ge=0, description="Days money may rest at a hop before moving on.")
    ] = None,
) -> MoneyTrace:
    answer = _ask(svc, viewer, MoneyTrace, lambda store, view: money_.follow(
        store, view, entity_id, direction=direction, since=since, until=until, hops=hops, max_lag=max_lag))
    return _released(request, viewer, "money", entity_id, answer)


def communities(
    request: Request,
    svc: ServicesDep,
    viewer: ViewerDep,
    resolution: Annotated[
        float, Query(ge=0.01, le=100.0, description="Leiden resolution: higher gives smaller groups.")
    ] = 1.0,
    min_size: Annotated[
        int, Query(ge=2, description="Smallest community to list (people, companies, accounts).")
    ] = 3,
    limit: Annotated[int, Query(ge=1, le=500, description="How many communities to list.")] = 20,
    relation: Relation = None,
    exclude: Annotated[
        list[str] | None,
        Query(description="Never walk these relations; repeatable. Without relation or exclude, places and "
                          "paperwork (ports, carriers, authorities, notes) are left out."),
    ] = None,
) -> Communities:
    # As the CLI: with neither filter, or with exclusions alone, places and paperwork stay out.
    # Only the caller's terms are checked: some default exclusions name relations not built yet.
    asked = edge_filter(relation, exclude)
    flt = EdgeFilter(asked.relations, asked.exclude + (() if relation else communities_.DEFAULT_EXCLUDE))
    answer = _ask(svc, viewer, Communities, lambda store, view: communities_.communities(
        store, view, flt=flt, resolution=resolution, min_size=min_size, limit=limit))
    return _released(request, viewer, "communities", "all", answer)


def seizures(request: Request, svc: ServicesDep, viewer: ViewerDep) -> DnaClusters:
    return _released(request, viewer, "seizures", "all", _ask(svc, viewer, DnaClusters, seizures_.dna_clusters))


def export(
    request: Request,
    entity_id: str,
    svc: ServicesDep,
    viewer: ViewerDep,
    fmt: Annotated[
        Literal["ftm", "graphml", "gexf", "cytoscape"],
        Query(alias="format", description="ftm (FtM JSON lines), graphml, gexf or cytoscape (Cytoscape.js JSON)."),
    ] = "ftm",
    hops: Hops = 1,
    to: Annotated[
        str | None, Query(min_length=1, description="Export the shortest path to this entity instead.")
    ] = None,
    limit: Limit = queries.NODE_LIMIT,
    relation: Relation = None,
    exclude: Exclude = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    flt = edge_filter(relation, exclude, since, until)
    # An export leaves the platform: it asks for a purpose whenever the reader's view holds RED
    # or AMBER+STRICT data (it may carry any of it), and it always goes into the access log.
    marking = most_restrictive(d.marking for d in access.visible_datasets(svc.operational, viewer))
    purpose = access.require_purpose(request, marking)
    with reader_graph(svc, viewer) as (store, view):
        data = export_.around(store, view, entity_id, fmt, to=to, hops=hops, flt=flt, limit=limit)
    access.audit(request, viewer, "graph.export", entity_id, marking=marking, purpose=purpose,
                 detail=f"{fmt}, hops {hops}" + (f", path to {to}" if to else ""))
    name = _filename(entity_id if to is None else f"{entity_id}-to-{to}")
    return Response(
        content=data,
        media_type=export_.MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{EXTENSIONS[fmt]}"'},
    )


def _filename(stem: str) -> str:
    """A file name safe in a header and on any file system."""
    return "graph-" + (re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "export")[:100]
