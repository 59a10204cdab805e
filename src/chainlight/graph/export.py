"""Export a subgraph (a neighbourhood, a path, a community) for other tools:

* ``ftm``: FollowTheMoney entities as JSON lines, the nodes and the relationship entities
  between them, rebuilt from the visible statements only. Entities merged by resolution are
  written once under their canonical id with their common schema, and references to them are
  rewritten to it. Shared-identifier nodes are Chainlight's own and are left out.
* ``graphml`` and ``gexf``: for Gephi, yEd and networkx; every node and edge carries its
  datasets and marking.
* ``cytoscape``: Cytoscape.js ``elements`` JSON (also read by ``networkx.cytoscape_graph``).
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import Any, Literal

import networkx as nx
import orjson

from chainlight.graph.view import EdgeFilter, GraphView
from chainlight.model.ftm import model
from chainlight.store.evidence import EvidenceStore

Format = Literal["ftm", "graphml", "gexf", "cytoscape"]
FORMATS: tuple[str, ...] = ("ftm", "graphml", "gexf", "cytoscape")
MEDIA_TYPES = {
    "ftm": "application/x-ndjson",
    "graphml": "application/graphml+xml",
    "gexf": "application/gexf+xml",
    "cytoscape": "application/json",
}


def around(
    store: EvidenceStore,
    view: GraphView,
    entity_id: str,
    fmt: str,
    *,
    to: str | None = None,
    hops: int = 1,
    flt: EdgeFilter | None = None,
    limit: int = 500,
) -> bytes:
    """Export the neighbourhood of an entity to ``hops`` (or, with ``to``, the shortest path to
    another entity) in ``fmt``."""
    from chainlight.graph import describe, queries

    flt = flt if flt is not None else EdgeFilter()
    start = describe.vertex_of(store, view, entity_id)
    vertices: set[int] = set() if start is None else {start}
    edges: list[int] = []
    if to is not None:
        end = describe.vertex_of(store, view, to)
        if start is not None and end is not None:
            vertices.add(end)
            edges = sorted({e for p in queries.shortest_paths(view, start, end, flt) for e in p})
    elif start is not None:
        distance, edges, _, _ = queries.neighbourhood(view, start, hops, flt, limit=limit)
        vertices = set(distance)
    return render(store, describe.subgraph(store, view, vertices, edges), fmt, list(view.visible))


def render(store: EvidenceStore, subgraph: dict[str, Any], fmt: str, visible: list[str]) -> bytes:
    """The subgraph (as :func:`chainlight.graph.describe.subgraph` gives it) in ``fmt``."""
    if fmt == "ftm":
        return _ftm(store, subgraph, visible)
    if fmt == "cytoscape":
        return orjson.dumps(_cytoscape(subgraph), option=orjson.OPT_INDENT_2)
    graph = _networkx(subgraph)
    buffer = io.BytesIO()
    if fmt == "graphml":
        nx.write_graphml(graph, buffer)
    elif fmt == "gexf":
        nx.write_gexf(graph, buffer)
    else:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return buffer.getvalue()


def _flat(value: Any) -> str | float | int | bool | None:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return orjson.dumps(value).decode()
    return value  # type: ignore[no-any-return]


def _networkx(subgraph: dict[str, Any]) -> nx.MultiDiGraph[str]:
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for node in subgraph["nodes"]:
        attrs = {k: _flat(v) for k, v in node.items() if k != "id" and v is not None}
        attrs["label"] = str(node.get("caption") or node["id"])
        graph.add_node(node["id"], **attrs)
    for i, edge in enumerate(subgraph["edges"]):
        attrs = {k: _flat(v) for k, v in edge.items() if k not in ("source", "target") and v is not None}
        attrs["evidence"] = edge["evidence"]["entity_id"]
        graph.add_edge(edge["source"], edge["target"], key=f"e{i}", **attrs)
    return graph


def _cytoscape(subgraph: dict[str, Any]) -> dict[str, Any]:
    nodes = [{"data": {**node, "id": node["id"], "value": node["id"], "name": node.get("caption") or node["id"]}}
             for node in subgraph["nodes"]]
    edges = [
        {"data": {**edge, "id": f"e{i}", "key": f"e{i}", "source": edge["source"], "target": edge["target"]}}
        for i, edge in enumerate(subgraph["edges"])
    ]
    return {
        "data": {"datasets": subgraph["datasets"], "marking": subgraph["marking"]},
        "directed": True,
        "multigraph": True,
        "elements": {"nodes": nodes, "edges": edges},
    }


def _ftm(store: EvidenceStore, subgraph: dict[str, Any], visible: list[str]) -> bytes:
    canonical: dict[str, str] = {}
    for node in subgraph["nodes"]:
        if node["schema"].startswith("Shared"):
            continue
        for entity in node["entity_ids"]:
            canonical[entity] = node["id"]
    relationship_ids = {e["evidence"]["entity_id"] for e in subgraph["edges"] if not e["relation"].startswith("shares")}
    wanted = sorted(set(canonical) | relationship_ids)
    rows = store.fetchall(
        "SELECT entity_id, schema, prop, prop_type, value FROM statements "
        "WHERE entity_id = ANY(?) AND dataset = ANY(?) ORDER BY entity_id, prop, value",
        [wanted, visible],
    )
    schemata: dict[str, set[str]] = defaultdict(set)
    props: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for entity, schema, prop, prop_type, value in rows:
        key = canonical.get(entity, entity)
        schemata[key].add(schema)
        if prop == "id":
            continue
        if prop_type == "entity":
            value = canonical.get(value, value)
            if value not in canonical.values() and value not in relationship_ids:
                continue  # a reference outside the export would dangle
        if value not in props[key][prop]:
            props[key][prop].append(value)
    out = io.BytesIO()
    for key in sorted(schemata):
        names = sorted(schemata[key])
        schema = model[names[0]]
        for other in names[1:]:
            schema = model.common_schema(schema, other)
        proxy = model.make_entity(schema)
        proxy.id = key
        for prop, values in props[key].items():
            if prop in schema.properties:
                proxy.add(prop, values, cleaned=True, quiet=True)
        out.write(orjson.dumps(proxy.to_dict()) + b"\n")
    return out.getvalue()
