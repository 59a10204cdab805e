"""The DNA-linked seizure view and subgraph exports (loaded back by their target libraries)."""

from __future__ import annotations

import io
import json

import networkx as nx
import pytest

from chainlight import pipeline
from chainlight.graph import describe, export, queries, seizures
from chainlight.model.ftm import model
from chainlight.settings import Settings


def test_dna_linked_seizures_join_shipments_parties_and_owners(graph_pool: Settings) -> None:
    with pipeline.graph_session(graph_pool, "customs") as (store, view):
        result = seizures.dna_clusters(store, view)
        (cluster,) = result["clusters"]  # seizure-3 has no match
        assert [s["caption"] for s in cluster["seizures"]] == ["CR-101/2022", "CR-377/2022"]
        assert {s["caption"] for s in cluster["shipments"]} == {"MEDU1000001", "MEDU1000077"}
        assert {p["id"] for p in cluster["parties"]} == {view.canonical("reg-front"), view.canonical("ngo-consignee")}
        assert [p["id"] for p in cluster["suspects"]] == [view.canonical("reg-boss")]
        owners = {(o["of"], o["caption"]) for o in cluster["owners"]}
        assert (view.canonical("reg-front"), "Amani Said") in owners
        assert (view.canonical("reg-front"), "Wei Chen") in owners
        (match,) = cluster["matches"]
        assert match["relation"] == "GeneticMatch" and match["datasets"] == ["ngo"]
        assert cluster["datasets"] == ["ngo", "registry"] and cluster["marking"] == "AMBER"
    with pipeline.graph_session(graph_pool, "public") as (store, view):
        assert seizures.dna_clusters(store, view)["clusters"] == []


@pytest.fixture(scope="module")
def neighbourhood(graph_pool: Settings) -> dict[str, bytes]:
    with pipeline.graph_session(graph_pool, "fiu") as (store, view):
        start = view.vertex("reg-front")
        assert start is not None
        distance, edges, _, _ = queries.neighbourhood(view, start, 2)
        sub = describe.subgraph(store, view, distance, edges)
        return {fmt: export.render(store, sub, fmt, list(view.visible)) for fmt in export.FORMATS} | {
            "json": json.dumps(sub).encode()
        }


def test_exports_load_in_networkx(neighbourhood: dict[str, bytes]) -> None:
    sub = json.loads(neighbourhood["json"])
    ids = {n["id"] for n in sub["nodes"]}
    graphml = nx.read_graphml(io.BytesIO(neighbourhood["graphml"]))
    gexf = nx.read_gexf(io.BytesIO(neighbourhood["gexf"]))
    cyto = nx.cytoscape_graph(json.loads(neighbourhood["cytoscape"]))
    for graph in (graphml, gexf, cyto):
        assert set(graph.nodes) == ids
        assert graph.number_of_edges() == len(sub["edges"])
    payment = next(d for _, _, d in graphml.edges(data=True) if d["relation"] == "Payment")
    assert payment["datasets"] == "fiu" and payment["marking"] == "RED"
    assert payment["amount"] in (900.0, 2500.0, 4000.0, 5000.0)
    assert {d["label"] for _, d in gexf.nodes(data=True)} >= {"Halima Otieno", "Coral Holdings Ltd"}


def test_ftm_export_is_valid_followthemoney(neighbourhood: dict[str, bytes]) -> None:
    sub = json.loads(neighbourhood["json"])
    lines = neighbourhood["ftm"].decode().splitlines()
    proxies = {p.id: p for p in (model.get_proxy(json.loads(line)) for line in lines)}
    actors = {n["id"] for n in sub["nodes"] if not n["schema"].startswith("Shared")}
    assert actors <= set(proxies)
    front = next(n["id"] for n in sub["nodes"] if "fiu-front" in n["entity_ids"])
    assert proxies[front].schema.name == "Company"  # Company + LegalEntity merged under their common schema
    assert {"Tsavo Curios Exports Ltd", "TSAVO CURIOS EXPORTS LIMITED"} <= set(proxies[front].get("name"))
    payments = {p.id: p for p in proxies.values() if p.schema.name == "Payment"}
    assert len(payments) == 4
    assert payments["pay-front-relative"].get("payer") == [front]  # the reference follows the merge
    for proxy in proxies.values():  # every reference resolves inside the export
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity":
                assert value in proxies, (proxy.id, prop.name, value)
