"""The network explorer: ``/network`` (a page) and ``/network.json`` (its twin).

The page is a Cytoscape.js canvas (``static/js/network.js``) that walks the viewer's graph
through the graph API (``/api/graph/neighbours/{id}``, ``/api/graph/path``); everything it
draws comes from there, in the viewer's graph view. The twin says what the explorer needs
before it draws anything: whether the graph has been built, the relations present in the
viewer's graph (for the relation filter) and the entity to start from (``?entity=ID``).

An entity the viewer cannot see answers 404 with the same words as one that does not exist,
as the graph API does. A start entity marked RED or AMBER+STRICT (its caption is shown) asks for
a purpose (428: a form on the page, a Problem from the twin), after that check; the read goes into
the access log. The explorer's script keeps a purpose it was given (``?purpose=`` in the page's
address, or its own form when the graph API answers 428) and sends it with every call.

Before ``chainlight graph build`` has run the page says so instead of failing, and the twin
answers ``built: false``.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import numpy as np
from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from chainlight.graph import describe
from chainlight.graph import relations as graph_relations
from chainlight.graph import service as graph_service
from chainlight.graph.view import GraphView
from chainlight.model.markings import Marking
from chainlight.store.evidence import EvidenceStore
from chainlight.web import access, graph, vendor
from chainlight.web.access import Viewer, current_viewer
from chainlight.web.map_payloads import NetworkExplorer, NetworkRelation, NetworkStart
from chainlight.web.services import Services, services
from chainlight.web.templating import render

ViewerDep = Annotated[Viewer, Depends(current_viewer)]
ServicesDep = Annotated[Services, Depends(services)]
Entity = Annotated[
    str | None, Query(min_length=1, max_length=400, description="Start from this entity (entity or canonical id).")
]

NEIGHBOURS_URL = "/api/graph/neighbours/{id}"
PATH_URL = "/api/graph/path"


def _built(svc: Services) -> bool:
    with svc.evidence.open() as store:
        return store is not None and graph_service.built(store)


def load_network(request: Request, svc: Services, viewer: Viewer, entity: str | None) -> NetworkExplorer:
    if not _built(svc):
        return NetworkExplorer(built=False, relations=[], entity=None, neighbours_url=NEIGHBOURS_URL,
                               path_url=PATH_URL)
    with graph.reader_graph(svc, viewer) as (store, view):
        counts = np.bincount(view.relation.astype(np.int64), minlength=len(view.relations)).tolist()
        relations = sorted(
            (NetworkRelation(name=name, label=graph_relations.relation_label(name), edges=int(counts[i]))
             for i, name in enumerate(view.relations) if counts[i]),
            key=lambda r: r.name,
        )
        start = _start(store, view, entity) if entity else None
    if start is not None:  # existence first (404 above), then the purpose its marking asks for
        marking = Marking.parse(start.marking)
        purpose = access.require_purpose(request, marking)
        if marking in access.PURPOSE_MARKINGS or purpose:
            access.audit(request, viewer, "network.start", start.id, marking=marking, purpose=purpose)
    return NetworkExplorer(built=True, relations=relations, entity=start, neighbours_url=NEIGHBOURS_URL,
                           path_url=PATH_URL)


def _start(store: EvidenceStore, view: GraphView, entity_id: str) -> NetworkStart:
    """The start node, read from visible datasets only; NotInGraph (404) when it is not visible."""
    vertex = describe.vertex_of(store, view, entity_id)  # raises NotInGraph for hidden and missing alike
    canonical = view.canonical(entity_id)
    members = view.entity_ids(canonical)
    rows = store.fetchall(
        "SELECT dataset, schema, caption, country FROM graph_nodes WHERE entity_id = ANY(?) AND dataset = ANY(?) "
        "ORDER BY dataset, entity_id",
        [members, list(view.visible)],
    )
    datasets = sorted({r[0] for r in rows})
    schemata = sorted({r[1] for r in rows if r[1]}, key=lambda s: (s == "LegalEntity", s))
    schema = view.schema_of(vertex) if vertex is not None else (schemata[0] if schemata else "Thing")
    caption = next((r[2] for r in rows if r[2]), None) or canonical
    country = next((r[3] for r in rows if r[3]), None)
    return NetworkStart.model_validate({
        "id": canonical, "schema": schema, "caption": caption, "country": country, "entity_ids": members,
        "datasets": datasets, "marking": view.marking_of(datasets).value,
    })


def network_json(request: Request, svc: ServicesDep, viewer: ViewerDep, entity: Entity = None) -> NetworkExplorer:
    return load_network(request, svc, viewer, entity)


def network_page(request: Request, svc: ServicesDep, viewer: ViewerDep, entity: Entity = None) -> HTMLResponse:
    data = load_network(request, svc, viewer, entity)
    json_url = "/network.json" + (f"?{urlencode({'entity': entity})}" if entity else "")
    purpose = " ".join(request.query_params.get("purpose", "").split())[: access.PURPOSE_MAX]
    context = {"network": data, "missing": vendor.missing(vendor.NETWORK), "network_json": json_url,
               "purpose": purpose}
    return render(request, "network.html", context, json_url=json_url)
