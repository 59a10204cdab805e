"""The cartel view: seizures linked by DNA (the same animal, or close kin, in two seizures)
grouped into clusters, and each cluster joined to the shipments seized, their parties, the
ports they passed, the permits they used, the suspects named and the owners of the parties.

This is the analysis behind the finding that tusks from 11 of 38 large ivory seizures came
from the same few elephants and so from three cartels: a DNA match is strong evidence that
two seizures share a source, and the shipments' paperwork names who shipped them.
"""

from __future__ import annotations

from typing import Any

import igraph as ig
import numpy as np

from chainlight.graph import describe, ownership, queries
from chainlight.graph.view import GraphView
from chainlight.store.evidence import EvidenceStore

PARTY_RELATIONS = ("Shipment:shipper", "Shipment:consignee", "Shipment:notifyParty", "Shipment:forwarder")
PORT_RELATIONS = ("Shipment:portOfLoading", "Shipment:transitPort", "Shipment:portOfDischarge", "Seizure:port")


def _out(view: GraphView, vertices: set[int], relations: tuple[str, ...]) -> tuple[dict[int, set[int]], list[int]]:
    """For each vertex, the targets of its outgoing edges of these relations (and the edges)."""
    adj = queries.adjacency(view)
    codes = set(view.relation_codes(relations).tolist())
    found: dict[int, set[int]] = {}
    edges: list[int] = []
    for v in vertices:
        for e in adj.edge[adj.start[v]:adj.start[v + 1]].tolist():
            if int(view.source[e]) == v and int(view.relation[e]) in codes:
                found.setdefault(v, set()).add(int(view.target[e]))
                edges.append(e)
    return found, edges


def dna_clusters(store: EvidenceStore, view: GraphView, *, owners: bool = True) -> dict[str, Any]:
    """Every cluster of two or more seizures linked by genetic matches, largest first."""
    codes = view.relation_codes(["GeneticMatch"])
    matches = np.flatnonzero(np.isin(view.relation, codes))
    g = ig.Graph(n=view.vertex_count, edges=np.column_stack([view.source[matches], view.target[matches]]).tolist())
    clusters = [c for c in g.connected_components(mode="weak") if len(c) > 1]
    clusters.sort(key=lambda c: (-len(c), view.ids[min(c, key=lambda v: view.ids[v])]))
    result = []
    for members in clusters:
        seizures = set(members)
        match_edges = [int(e) for e in matches if int(view.source[e]) in seizures]
        shipments_of, e1 = _out(view, seizures, ("Seizure:shipment",))
        suspects_of, e2 = _out(view, seizures, ("Seizure:suspects",))
        shipments = {s for v in shipments_of.values() for s in v}
        parties_of, e3 = _out(view, shipments, PARTY_RELATIONS)
        ports_of, e4 = _out(view, seizures | shipments, PORT_RELATIONS)
        permits_of, e5 = _out(view, shipments, ("Shipment:permit",))
        parties = {p for v in parties_of.values() for p in v}
        suspects = {p for v in suspects_of.values() for p in v}
        ports = {p for v in ports_of.values() for p in v}
        permits = {p for v in permits_of.values() for p in v}
        used = match_edges + e1 + e2 + e3 + e4 + e5
        owner_rows: list[dict[str, Any]] = []
        chain_datasets: set[str] = set()
        if owners:
            for party in sorted(parties | suspects, key=lambda v: view.ids[v]):
                ubo = ownership.ultimate_owners(store, view, view.ids[party])
                chain_datasets.update(ubo["datasets"])
                owner_rows.extend(
                    {"of": view.ids[party], **{k: o[k] for k in ("id", "caption", "schema", "share")}}
                    for o in ubo["owners"]
                )
        details = describe.nodes(store, view, seizures | shipments | parties | suspects | ports | permits)
        show = _shower(view, details)

        datasets = set(view.datasets_of(used)) | chain_datasets
        result.append(
            {
                "seizures": show(seizures),
                "matches": list(describe.edges(store, view, match_edges).values()),
                "shipments": show(shipments),
                "permits": show(permits),
                "parties": show(parties),
                "suspects": show(suspects),
                "ports": show(ports),
                "owners": owner_rows,
                "datasets": sorted(datasets),
                "marking": view.marking_of(datasets).value,
            }
        )
    all_datasets = sorted({d for c in result for d in c["datasets"]})
    return {"clusters": result, "datasets": all_datasets, "marking": view.marking_of(all_datasets).value}


def _shower(view: GraphView, details: dict[int, dict[str, Any]]) -> Any:
    def show(vertices: set[int]) -> list[dict[str, Any]]:
        return [
            {k: details[v][k] for k in ("id", "schema", "caption", "country")}
            for v in sorted(vertices, key=lambda v: view.ids[v])
        ]

    return show
