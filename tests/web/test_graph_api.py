"""The graph JSON API answers each organisation from its own graph view.

The pool is the graph tests' one (:func:`tests.graph.conftest.load_graph_pool`), loaded once
for the module: a CLEAR company registry (an ownership chain up to Amani Said and Wei Chen, a
loop of two companies, a shared address), the FIU's RED payments (a bribe that goes from the
front company through Halima Otieno to the customs official Joseph Otieno) and an NGO's AMBER
investigation shared with customs and the FIU (family, associates, shipments, seizures linked
by DNA). ``fiu`` sees all three, ``customs`` the registry and the NGO's, ``public`` the registry.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.graph import communities, money, ownership, queries, seizures
from chainlight.graph import service as graph_service
from chainlight.graph.view import EdgeFilter
from chainlight.model.ftm import model
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.store.evidence import EvidenceStore
from chainlight.web import graph_payloads
from chainlight.web.access import PURPOSE_HEADER
from chainlight.web.app import create_app
from chainlight.web.routes import ROUTES
from tests.conftest import FIXTURES
from tests.graph.conftest import load_graph_pool

READERS = ("fiu", "customs", "public")
#: Strings only the FIU's file holds, and only the NGO's.
FIU_ONLY = ("fiu-", "pay-", "Samuel Kiptoo", "Nyali Motors", "TSAVO CURIOS EXPORTS LIMITED", "USD", "KES", "Payment")
NGO_ONLY = ("ngo-", "ship-", "seizure-", "dna-", "Golden Dragon", "MEDU", "Associate", "Family", "sister")
#: Both: the relative and the official are in the FIU's and in the NGO's files.
HIDDEN_FROM_PUBLIC = (*FIU_ONLY, *NGO_ONLY, "Halima", "Otieno", "nk-")


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp: Path = tmp_path_factory.mktemp("graph-api")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    load_graph_pool(settings)
    return settings


#: The purpose the FIU's client gives with every request (its answers are mostly RED).
PURPOSE = "graph API tests"


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    """A client per reader; the FIU's gives a purpose with every request, ``fiu-bare`` gives none."""
    with ExitStack() as stack:
        found = {org: stack.enter_context(TestClient(create_app(pool, org))) for org in READERS}
        found["fiu"].headers[PURPOSE_HEADER] = PURPOSE
        found["fiu-bare"] = stack.enter_context(TestClient(create_app(pool, "fiu")))
        yield found


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def node_ids(nodes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each node by every entity id merged into it."""
    return {entity: node for node in nodes for entity in node["entity_ids"]}


def assert_hidden(body: str, strings: tuple[str, ...]) -> None:
    for secret in strings:
        assert secret not in body, secret


# -- neighbours --------------------------------------------------------------------------


def test_neighbours_show_the_fius_payments_to_the_merged_relative(clients: dict[str, TestClient]) -> None:
    body = get(clients["fiu"], "/api/graph/neighbours/reg-front")
    nodes = node_ids(body["nodes"])
    front, relative = nodes["reg-front"], nodes["fiu-relative"]
    assert set(front["entity_ids"]) == {"reg-front", "fiu-front", "ngo-front"}
    assert body["entity"] == front["id"] and front["distance"] == 0
    assert relative is nodes["ngo-relative"]  # one node for the two records
    assert (relative["caption"], relative["distance"], relative["datasets"]) == ("Halima Otieno", 1, ["fiu", "ngo"])
    payments = [e for e in body["edges"] if e["relation"] == "Payment"]
    assert {e["evidence"]["entity_id"] for e in payments} == {"pay-front-relative", "pay-front-relative-2"}
    for edge in payments:
        assert (edge["source"], edge["target"]) == (front["id"], relative["id"])
        assert (edge["datasets"], edge["marking"], edge["currency"], edge["label"]) == (["fiu"], "RED", "USD", "paid")
    assert sorted(e["amount"] for e in payments) == [2500.0, 5000.0]
    assert body["datasets"] == ["fiu", "ngo", "registry"]
    assert body["marking"] == "RED"
    assert (body["truncated"], body["hubs"]) == (False, [])


def test_neighbours_for_the_public_hold_nothing_of_the_fiu_or_the_ngo(clients: dict[str, TestClient]) -> None:
    response = clients["public"].get("/api/graph/neighbours/reg-front", params={"hops": 3})
    assert response.status_code == 200
    assert_hidden(response.text, HIDDEN_FROM_PUBLIC)
    body = response.json()
    assert body["entity"] == "reg-front"
    assert (body["datasets"], body["marking"]) == (["registry"], "CLEAR")
    registry = {"reg-boss", "reg-shell-one", "reg-shell-two", "reg-partner", "reg-neighbour"}
    assert registry <= set(node_ids(body["nodes"]))
    assert {e["marking"] for e in body["edges"]} == {"CLEAR"}


def test_customs_sees_the_ngos_shipments_but_not_the_fius_payments(clients: dict[str, TestClient]) -> None:
    response = clients["customs"].get("/api/graph/neighbours/reg-front")
    assert response.status_code == 200
    assert_hidden(response.text, FIU_ONLY)
    body = response.json()
    nodes = node_ids(body["nodes"])
    assert set(nodes["reg-front"]["entity_ids"]) == {"reg-front", "ngo-front"}
    assert {"ship-1", "ship-2"} <= set(nodes)
    assert (body["datasets"], body["marking"]) == (["ngo", "registry"], "AMBER")
    shipper = [e for e in body["edges"] if e["relation"] == "Shipment:shipper"]
    assert {e["evidence"]["entity_id"] for e in shipper} == {"ship-1", "ship-2"}
    assert {e["marking"] for e in shipper} == {"AMBER"}


def test_neighbours_filters_walk_only_what_is_asked(clients: dict[str, TestClient]) -> None:
    client = clients["fiu"]
    owners = get(client, "/api/graph/neighbours/reg-front", relation="Ownership", hops=3)
    assert {e["relation"] for e in owners["edges"]} == {"Ownership"}
    assert {"reg-shell-one", "reg-partner"} <= set(node_ids(owners["nodes"]))
    no_money = get(client, "/api/graph/neighbours/reg-front", exclude=["Payment", "shares"])
    assert {e["relation"] for e in no_money["edges"]} == {"Ownership", "Shipment:shipper"}
    both = client.get("/api/graph/neighbours/reg-front", params=[("relation", "Payment"), ("relation", "Ownership")])
    assert {e["relation"] for e in both.json()["edges"]} == {"Payment", "Ownership"}
    spring = get(client, "/api/graph/neighbours/reg-front", relation="Payment", since="2023-04-01")
    assert [e["evidence"]["entity_id"] for e in spring["edges"]] == ["pay-front-relative-2"]
    winter = get(client, "/api/graph/neighbours/reg-front", relation="Payment", until="2023-03-31")
    assert [e["evidence"]["entity_id"] for e in winter["edges"]] == ["pay-front-relative"]
    two = get(client, "/api/graph/neighbours/reg-front", hops=6, limit=2)
    assert (len(two["nodes"]), two["truncated"]) == (2, True)


# -- need-to-know: hidden is missing ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/graph/neighbours/{}",
        "/api/graph/ubo/{}",
        "/api/graph/money/{}",
        "/api/graph/export/{}",
        "/api/graph/path?source=reg-front&target={}",
        "/api/graph/path?source={}&target=reg-front",
        "/api/graph/export/reg-front?to={}",
    ],
)
def test_a_hidden_entity_answers_exactly_like_a_missing_one(clients: dict[str, TestClient], path: str) -> None:
    client = clients["public"]
    hidden = client.get(path.format("fiu-official"))
    missing = client.get(path.format("no-such-entity"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers["content-type"] == missing.headers["content-type"] == "application/json"
    assert hidden.text.replace("fiu-official", "ID") == missing.text.replace("no-such-entity", "ID")
    assert missing.json() == {"status": 404, "error": "No such entity: no-such-entity.", "incident": None}
    with_purpose = path.format("fiu-official") + ("&" if "?" in path else "?") + "purpose=case+7"
    assert clients["fiu"].get(with_purpose).status_code == 200


def test_the_ngos_records_are_hidden_from_the_public_but_not_from_customs(clients: dict[str, TestClient]) -> None:
    assert clients["public"].get("/api/graph/neighbours/ngo-relative").status_code == 404
    body = get(clients["customs"], "/api/graph/neighbours/ngo-relative")
    [official] = [n for n in body["nodes"] if n["distance"] == 1]
    assert (official["caption"], official["entity_ids"], official["marking"]) == ("Joseph Otieno", ["ngo-official"],
                                                                               "AMBER")
    assert [e["relation"] for e in body["edges"]] == ["Family"]


# -- paths ---------------------------------------------------------------------------------


def test_paths_explain_each_step_with_its_evidence(clients: dict[str, TestClient]) -> None:
    body = get(clients["fiu"], "/api/graph/path", source="reg-boss", target="fiu-official", paths=2)
    nodes = node_ids(body["nodes"])
    assert (body["source"], body["target"]) == (nodes["reg-boss"]["id"], nodes["fiu-official"]["id"])
    short, long = body["paths"]
    assert (short["length"], short["marking"], short["datasets"]) == (1, "AMBER", ["ngo"])
    [step] = short["steps"]
    assert (step["relation"], step["evidence"]["entity_id"], step["direction"]) == ("Associate", "ngo-associate",
                                                                                    "forward")
    assert [s["evidence"]["entity_id"] for s in long["steps"]] == [
        "own-boss-front", "pay-front-relative", "pay-relative-official",
    ]
    # the front paid Halima twice: the earlier payment is the step, the later one comes with it
    assert [p["entity_id"] for p in long["steps"][1]["parallel"]] == ["pay-front-relative-2"]
    assert long["steps"][1]["parallel"][0]["amount"] == 2500.0
    # Joseph and Halima are also family in the NGO's file: a second edge for the last step
    assert [p["relation"] for p in long["steps"][2]["parallel"]] == ["Family"]
    assert (long["length"], long["marking"], long["datasets"]) == (3, "RED", ["fiu", "ngo", "registry"])
    assert body["marking"] == "RED"
    # Without the NGO's associate link and the FIU's money there is no path at all.
    none = get(clients["fiu"], "/api/graph/path", source="reg-boss", target="fiu-official", exclude=["Associate"],
               relation=["Ownership", "Family"])
    assert none["paths"] == []


def test_customs_finds_the_path_through_the_ngos_family_link(clients: dict[str, TestClient]) -> None:
    body = get(clients["customs"], "/api/graph/path", source="reg-boss", target="ngo-relative", paths=3)
    [path] = body["paths"]  # the FIU's payments, the other way round, are not there
    assert [s["relation"] for s in path["steps"]] == ["Associate", "Family"]
    assert [s["direction"] for s in path["steps"]] == ["forward", "forward"]


# -- ownership -----------------------------------------------------------------------------


def test_ultimate_owners_with_share_ranges_and_chains(clients: dict[str, TestClient]) -> None:
    for reader in READERS:
        body = get(clients[reader], "/api/graph/ubo/reg-front")
        owners = {o["caption"]: o for o in body["owners"]}
        boss = owners["Amani Said" if reader != "public" else "Amani Juma Said"]
        assert boss["share"] == {"min": 68.0, "max": 68.0}
        assert (boss["beneficial_owner"], boss["natural_person"], boss["share_known"]) == ("yes", True, True)
        assert sorted(c["share"]["min"] for c in boss["chains"]) == [20.0, 48.0]
        [three] = [c for c in boss["chains"] if len(c["steps"]) == 3]
        assert [s["evidence"]["entity_id"] for s in three["steps"]] == [
            "own-boss-shell-one", "own-shell-one-two", "own-shell-two-front",
        ]
        assert [s["share"]["min"] for s in three["steps"]] == [100.0, 60.0, 80.0]
        wei = owners["Wei Chen"]
        assert wei["share"] == {"min": 20.0, "max": 32.0}
        assert wei["beneficial_owner"] == "possible"
        assert (body["datasets"], body["marking"], body["threshold"]) == (["registry"], "CLEAR", 25.0)
    high = get(clients["public"], "/api/graph/ubo/reg-front", threshold=70)
    assert {o["caption"]: o["beneficial_owner"] for o in high["owners"]} == {"Amani Juma Said": "no", "Wei Chen": "no"}


def test_circular_ownership(clients: dict[str, TestClient]) -> None:
    body = get(clients["public"], "/api/graph/cycles")
    [cycle] = body["cycles"]
    assert cycle["members"] == ["reg-loop-a", "reg-loop-b"]
    assert cycle["captions"] == ["Mobius Trading Ltd", "Ouroboros Shipping SA"]
    assert {e["evidence"]["entity_id"] for e in cycle["edges"]} == {"own-loop-ab", "own-loop-ba"}
    assert (body["datasets"], body["marking"]) == (["registry"], "CLEAR")
    loop = get(clients["public"], "/api/graph/ubo/reg-loop-a")
    assert [o["caption"] for o in loop["owners"]] == ["Elena Marquez"]


# -- money ---------------------------------------------------------------------------------


def test_money_forward_follows_the_bribe_in_time_order(clients: dict[str, TestClient]) -> None:
    body = get(clients["fiu"], "/api/graph/money/fiu-front")
    hops = {h["hop"]: h for h in body["forward"]}
    [relative] = hops[1]["counterparties"]
    assert (relative["caption"], relative["payments"], relative["amounts"]) == ("Halima Otieno", 2, {"USD": 7500.0})
    assert (relative["first"], relative["last"], relative["marking"]) == ("2023-03-01", "2023-04-10", "RED")
    [official] = hops[2]["counterparties"]
    assert (official["caption"], official["amounts"], official["from"]) == ("Joseph Otieno", {"USD": 4000.0},
                                                                             [relative["id"]])
    reached = [c["caption"] for h in body["forward"] for c in h["counterparties"]]
    assert "Samuel Kiptoo" not in reached  # paid on 2023-02-20, before the money arrived
    assert hops[3]["totals"] == {"KES": 3500000.0}
    assert body["backward"] is None
    assert (body["datasets"], body["marking"]) == (["fiu"], "RED")


def test_money_backward_lag_and_window(clients: dict[str, TestClient]) -> None:
    client = clients["fiu"]
    back = get(client, "/api/graph/money/fiu-official", direction="backward")
    assert [[c["caption"] for c in h["counterparties"]] for h in back["backward"]] == [
        ["Halima Otieno"], ["TSAVO CURIOS EXPORTS LIMITED"],
    ]
    assert back["backward"][1]["counterparties"][0]["payments"] == 1  # the April payment came after
    assert back["forward"] is None
    both = get(client, "/api/graph/money/fiu-relative", direction="both", hops=1)
    assert both["forward"] and both["backward"]
    quick = get(client, "/api/graph/money/fiu-front", max_lag=2)
    assert [h["hop"] for h in quick["forward"]] == [1]  # the official was paid four days later
    window = get(client, "/api/graph/money/fiu-front", since="2023-04-01")
    assert window["window"] == {"since": "2023-04-01", "until": None}
    assert [[c["amounts"] for c in h["counterparties"]] for h in window["forward"]] == [[{"USD": 2500.0}]]
    customs = get(clients["customs"], "/api/graph/money/reg-front")
    assert (customs["forward"], customs["datasets"]) == ([], [])


# -- communities and seizures -----------------------------------------------------------------


def test_communities_with_brokers(clients: dict[str, TestClient]) -> None:
    body = get(clients["fiu"], "/api/graph/communities", min_size=2)
    assert body["excluded_relations"] == list(communities.DEFAULT_EXCLUDE)
    groups = [{m["caption"] for m in c["members"]} for c in body["communities"]]
    assert {"Halima Otieno", "Joseph Otieno", "Samuel Kiptoo", "Nyali Motors Ltd"} in groups
    assert {"Mobius Trading Ltd", "Ouroboros Shipping SA", "Elena Marquez"} in groups
    ring = next(c for c in body["communities"] if c["members"][0]["caption"] in ("Halima Otieno", "Joseph Otieno"))
    assert ring["brokers"][0]["caption"] in ("Halima Otieno", "Joseph Otieno")
    assert ring["brokers"][0]["betweenness"] > 0
    assert ring["marking"] == "RED" and "fiu" in ring["datasets"]
    assert body["total"] == len(body["communities"])
    public = clients["public"].get("/api/graph/communities", params={"min_size": 2})
    assert_hidden(public.text, HIDDEN_FROM_PUBLIC)
    limited = get(clients["fiu"], "/api/graph/communities", min_size=2, limit=1)
    assert (len(limited["communities"]), limited["total"]) == (1, body["total"])
    exclusions = get(clients["fiu"], "/api/graph/communities", exclude="Payment")
    assert exclusions["excluded_relations"] == ["Payment", *communities.DEFAULT_EXCLUDE]
    only = get(clients["fiu"], "/api/graph/communities", relation="Ownership", min_size=2)
    assert only["excluded_relations"] == []
    assert only["datasets"] == ["registry"]


def test_seizures_linked_by_dna(clients: dict[str, TestClient]) -> None:
    body = get(clients["customs"], "/api/graph/seizures")
    [cluster] = body["clusters"]
    assert [s["caption"] for s in cluster["seizures"]] == ["CR-101/2022", "CR-377/2022"]
    assert [m["evidence"]["entity_id"] for m in cluster["matches"]] == ["dna-1-2"]
    assert [s["id"] for s in cluster["shipments"]] == ["ship-1", "ship-2"]
    assert {p["caption"] for p in cluster["parties"]} >= {"Golden Dragon Arts Co"}
    assert [s["caption"] for s in cluster["suspects"]] == ["Amani Said"]
    owners = {o["caption"]: o["share"] for o in cluster["owners"]}
    assert owners == {"Amani Said": {"min": 68.0, "max": 68.0}, "Wei Chen": {"min": 20.0, "max": 32.0}}
    assert (cluster["datasets"], cluster["marking"]) == (["ngo", "registry"], "AMBER")
    assert_hidden(json.dumps(body), FIU_ONLY)
    public = get(clients["public"], "/api/graph/seizures")
    assert public == {"clusters": [], "datasets": [], "marking": "CLEAR"}


# -- what the API gives is what the graph package computes --------------------------------------


def strip_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("path", "params", "query"),
    [
        ("/api/graph/neighbours/reg-front", {"hops": 2},
         lambda s, v: queries.neighbours(s, v, "reg-front", hops=2)),
        ("/api/graph/path", {"source": "reg-boss", "target": "fiu-dealer", "paths": 3},
         lambda s, v: queries.path(s, v, "reg-boss", "fiu-dealer", paths=3)),
        ("/api/graph/ubo/reg-front", {}, lambda s, v: ownership.ultimate_owners(s, v, "reg-front")),
        ("/api/graph/money/fiu-relative", {"direction": "both"},
         lambda s, v: money.follow(s, v, "fiu-relative", direction="both")),
        ("/api/graph/communities", {"min_size": 2},
         lambda s, v: communities.communities(s, v, flt=EdgeFilter(exclude=communities.DEFAULT_EXCLUDE), min_size=2)),
        ("/api/graph/seizures", {}, seizures.dna_clusters),
        ("/api/graph/cycles", {}, lambda s, v: {"cycles": ownership.circular_ownership(s, v)}),
    ],
)
def test_the_api_drops_nothing_the_graph_package_computes(
    clients: dict[str, TestClient], pool: Settings, path: str, params: dict[str, Any], query: Any
) -> None:
    body = get(clients["fiu"], path, **params)
    with pipeline.graph_session(pool, "fiu") as (store, view):
        expected = json.loads(json.dumps(query(store, view), default=str))
    if path.endswith("cycles"):
        body = {"cycles": body["cycles"]}
    assert strip_nulls(body) == strip_nulls(expected)


def test_every_response_validates_against_its_model(clients: dict[str, TestClient]) -> None:
    checks: list[tuple[type[Any], str, dict[str, Any]]] = [
        (graph_payloads.Neighbourhood, "/api/graph/neighbours/reg-front", {"hops": 6}),
        (graph_payloads.Paths, "/api/graph/path", {"source": "reg-neighbour", "target": "seizure-2"}),
        (graph_payloads.UltimateOwners, "/api/graph/ubo/reg-front", {}),
        (graph_payloads.CircularOwnerships, "/api/graph/cycles", {}),
        (graph_payloads.MoneyTrace, "/api/graph/money/fiu-front", {"direction": "both"}),
        (graph_payloads.Communities, "/api/graph/communities", {"min_size": 2}),
        (graph_payloads.DnaClusters, "/api/graph/seizures", {}),
    ]
    for model_class, path, params in checks:
        body = get(clients["fiu"], path, **params)
        model_class.model_validate(body)
        for marked in _marked(body):
            assert Marking(marked["marking"]) and isinstance(marked["datasets"], list)


def _marked(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in a response that carries a marking."""
    if isinstance(value, dict):
        if "marking" in value:
            yield value
        for v in value.values():
            yield from _marked(v)
    elif isinstance(value, list):
        for v in value:
            yield from _marked(v)


# -- exports -------------------------------------------------------------------------------


def export(client: TestClient, fmt: str, entity: str = "reg-front", **params: Any) -> bytes:
    response = client.get(f"/api/graph/export/{entity}", params={"format": fmt, "purpose": "case 7", **params})
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    ("fmt", "media", "extension"),
    [
        ("ftm", "application/x-ndjson", "ftm.json"),
        ("graphml", "application/graphml+xml", "graphml"),
        ("gexf", "application/gexf+xml", "gexf"),
        ("cytoscape", "application/json", "cyjs"),
    ],
)
def test_exports_come_as_attachments_of_their_media_type(
    clients: dict[str, TestClient], fmt: str, media: str, extension: str
) -> None:
    response = clients["fiu"].get("/api/graph/export/reg-front", params={"format": fmt, "purpose": "case 7"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    assert response.headers["content-disposition"] == f'attachment; filename="graph-reg-front.{extension}"'
    assert response.headers["x-content-type-options"] == "nosniff"
    odd = clients["fiu"].get("/api/graph/export/reg-front",
                             params={"format": fmt, "to": "fiu-official", "purpose": "case 7"})
    assert odd.headers["content-disposition"] == f'attachment; filename="graph-reg-front-to-fiu-official.{extension}"'


def test_an_export_from_a_view_with_red_data_asks_for_a_purpose_and_is_logged(
    clients: dict[str, TestClient],
) -> None:
    refused = clients["fiu-bare"].get("/api/graph/export/reg-front", params={"format": "ftm"})
    assert refused.status_code == 428
    assert "purpose" in refused.json()["error"]
    assert clients["fiu"].get("/api/graph/export/reg-front", params={"format": "gexf", "purpose": "case 8"}).is_success
    store = clients["fiu"].app.state.services.operational  # type: ignore[attr-defined]
    [entry] = [e for e in access_log.recent(store, organisation="fiu") if e.purpose == "case 8"]
    assert (entry.action, entry.target, entry.marking, entry.detail) == ("graph.export", "reg-front", "RED",
                                                                          "gexf, hops 1")
    assert clients["public"].get("/api/graph/export/reg-front", params={"format": "ftm"}).status_code == 200


GRAPH_READS = [
    ("neighbours", "/api/graph/neighbours/reg-front", "reg-front"),
    ("path", "/api/graph/path?source=reg-front&target=fiu-official", "reg-front -> fiu-official"),
    ("ubo", "/api/graph/ubo/reg-shell-two", "reg-shell-two"),
    ("money", "/api/graph/money/reg-front", "reg-front"),
    ("communities", "/api/graph/communities", "all"),
    ("seizures", "/api/graph/seizures", "all"),
    ("cycles", "/api/graph/cycles", "all"),
]


def _strictest(body: object) -> set[str]:
    """Every marking anywhere in an answer."""
    if isinstance(body, dict):
        found = {body["marking"]} if isinstance(body.get("marking"), str) else set()
        return found.union(*(_strictest(v) for v in body.values()))
    if isinstance(body, list):
        return set().union(*(_strictest(v) for v in body))
    return set()


@pytest.mark.parametrize(("operation", "path", "target"), GRAPH_READS)
def test_a_graph_answer_with_red_data_is_sent_only_with_a_purpose_which_is_logged(
    clients: dict[str, TestClient], operation: str, path: str, target: str
) -> None:
    answered = clients["fiu"].get(path, headers={PURPOSE_HEADER: f"case {operation}"})
    assert answered.status_code == 200, answered.text
    red = "RED" in _strictest(answered.json())
    bare = clients["fiu-bare"].get(path)
    store = clients["fiu"].app.state.services.operational  # type: ignore[attr-defined]
    logged = [e for e in access_log.recent(store, organisation="fiu", action=f"graph.{operation}")
              if e.purpose == f"case {operation}"]
    assert [(e.target, e.marking) for e in logged][:1] == [(target, "RED" if red else logged[0].marking)]
    if red:  # no purpose: nothing of the answer is sent
        assert (bare.status_code, bare.headers["content-type"]) == (428, "application/json")
        assert bare.json()["error"].startswith("This item is marked RED: repeat the request with a purpose")
        assert_hidden(bare.text, (*FIU_ONLY, "Halima", "Otieno"))
    else:
        assert bare.status_code == 200 and bare.json() == answered.json()


def test_red_graph_answers_ask_for_a_purpose_for_every_operation_that_holds_fiu_data(
    clients: dict[str, TestClient],
) -> None:
    refused = {op for op, path, _ in GRAPH_READS if clients["fiu-bare"].get(path).status_code == 428}
    assert {"neighbours", "path", "money", "communities"} <= refused
    # a purpose too short to say anything is refused as well
    short = clients["fiu-bare"].get("/api/graph/neighbours/reg-front", params={"purpose": "x"})
    assert (short.status_code, short.json()["error"]) == (428, "A purpose is 4 to 500 characters long.")


def test_lighter_graph_answers_need_no_purpose_and_are_logged_only_with_one(clients: dict[str, TestClient]) -> None:
    store = clients["fiu"].app.state.services.operational  # type: ignore[attr-defined]
    before = len(access_log.recent(store, organisation="customs", limit=1000))
    amber = clients["customs"].get("/api/graph/neighbours/reg-front")
    assert amber.status_code == 200 and amber.json()["marking"] == "AMBER"
    assert len(access_log.recent(store, organisation="customs", limit=1000)) == before
    given = clients["customs"].get("/api/graph/neighbours/reg-front", params={"purpose": "case 12"})
    assert given.status_code == 200
    [entry] = access_log.recent(store, organisation="customs", limit=1)
    assert (entry.action, entry.target, entry.marking, entry.purpose) == ("graph.neighbours", "reg-front", "AMBER",
                                                                          "case 12")


def test_a_hidden_entity_is_a_404_before_any_purpose_is_asked_for(clients: dict[str, TestClient]) -> None:
    """Existence first: a reader without a purpose learns no more about a hidden entity than a missing one."""
    for client in (clients["customs"], clients["public"]):
        hidden = client.get("/api/graph/neighbours/fiu-official")
        missing = client.get("/api/graph/neighbours/no-such-entity")
        assert hidden.status_code == missing.status_code == 404
    assert clients["fiu-bare"].get("/api/graph/neighbours/no-such-entity").status_code == 404
    assert clients["fiu-bare"].get("/api/graph/neighbours/fiu-official").status_code == 428


def _front(client: TestClient) -> str:
    nodes = get(client, "/api/graph/neighbours/reg-front")["nodes"]
    front: str = node_ids(nodes)["reg-front"]["id"]
    return front


def test_graphml_and_gexf_load_in_networkx(clients: dict[str, TestClient]) -> None:
    front = _front(clients["fiu"])
    for fmt, reader in (("graphml", nx.read_graphml), ("gexf", nx.read_gexf)):
        graph = reader(io.BytesIO(export(clients["fiu"], fmt)))
        assert front in graph
        relative = next(n for n, d in graph.nodes(data=True) if d.get("label") == "Halima Otieno")
        payments = [d for _, _, d in graph.edges(front, data=True) if d.get("relation") == "Payment"]
        assert {d["evidence"] for d in payments} == {"pay-front-relative", "pay-front-relative-2"}
        assert graph.has_edge(front, relative)
        assert {d["marking"] for d in payments} == {"RED"}


def test_cytoscape_loads_in_networkx(clients: dict[str, TestClient]) -> None:
    data = json.loads(export(clients["fiu"], "cytoscape", hops=2))
    graph = nx.cytoscape_graph(data)
    assert graph.is_directed() and graph.is_multigraph()
    assert {"Halima Otieno", "Joseph Otieno", "Coral Holdings Ltd"} <= {d["name"] for _, d in graph.nodes(data=True)}
    assert (data["data"]["marking"], data["data"]["datasets"]) == ("RED", ["fiu", "ngo", "registry"])


def test_ftm_lines_are_followthemoney_entities(clients: dict[str, TestClient]) -> None:
    front = _front(clients["fiu"])
    lines = export(clients["fiu"], "ftm").decode("utf-8").splitlines()
    proxies = {p.id: p for p in (model.get_proxy(json.loads(line)) for line in lines)}
    assert proxies[front].schema.name == "Company"
    payment = proxies["pay-front-relative"]
    assert payment.schema.name == "Payment"
    assert payment.get("payer") == [front]  # references rewritten to the canonical id
    assert payment.get("amount") == ["5000"]


def test_a_path_export_holds_the_path_only(clients: dict[str, TestClient]) -> None:
    lines = export(clients["fiu"], "ftm", "reg-boss", to="fiu-official").decode("utf-8").splitlines()
    schemata = sorted(model.get_proxy(json.loads(line)).schema.name for line in lines)
    assert schemata == ["Associate", "Person", "Person"]


def test_exports_for_the_public_hold_nothing_of_the_fiu_or_the_ngo(clients: dict[str, TestClient]) -> None:
    for fmt in ("ftm", "graphml", "gexf", "cytoscape"):
        body = export(clients["public"], fmt, hops=6).decode("utf-8")
        assert "Lagoon Investments Ltd" in body
        assert_hidden(body, HIDDEN_FROM_PUBLIC)


# -- bad requests, missing graph, busy store -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/graph/neighbours/reg-front", {"relation": "Bribery"}, "no relation matches 'Bribery'"),
        ("/api/graph/neighbours/reg-front", {"exclude": "nothing-like-it"}, "no relation matches 'nothing-like-it'"),
        ("/api/graph/path", {"source": "reg-front", "target": "reg-boss", "relation": "x"}, "no relation matches"),
        ("/api/graph/communities", {"exclude": "x"}, "no relation matches 'x'"),
        ("/api/graph/export/reg-front", {"relation": "x"}, "no relation matches 'x'"),
        ("/api/graph/neighbours/reg-front", {"since": "2024-01-01", "until": "2023-01-01"}, "since is after until"),
        ("/api/graph/money/reg-front", {"since": "2024-01-01", "until": "2023-01-01"}, "since is after until"),
        ("/api/graph/neighbours/reg-front", {"hops": 7}, "query.hops"),
        ("/api/graph/neighbours/reg-front", {"since": "last week"}, "query.since"),
        ("/api/graph/path", {"source": "reg-front"}, "query.target"),
        ("/api/graph/path", {"source": "reg-front", "target": "reg-boss", "paths": 21}, "query.paths"),
        ("/api/graph/ubo/reg-front", {"threshold": 101}, "query.threshold"),
        ("/api/graph/money/reg-front", {"direction": "sideways"}, "query.direction"),
        ("/api/graph/money/reg-front", {"max_lag": -1}, "query.max_lag"),
        ("/api/graph/communities", {"min_size": 1}, "query.min_size"),
        ("/api/graph/export/reg-front", {"format": "pdf"}, "query.format"),
    ],
)
def test_a_bad_request_is_a_json_422(
    clients: dict[str, TestClient], path: str, params: dict[str, Any], message: str
) -> None:
    response = clients["fiu"].get(path, params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    problem = response.json()
    assert (problem["status"], problem["incident"]) == (422, None)
    assert message in problem["error"]
    assert "Traceback" not in response.text


GRAPH_GETS = [
    "/api/graph/neighbours/reg-front",
    "/api/graph/path?source=reg-front&target=reg-boss",
    "/api/graph/ubo/reg-front",
    "/api/graph/cycles",
    "/api/graph/money/reg-front",
    "/api/graph/communities",
    "/api/graph/seizures",
    "/api/graph/export/reg-front",
]
NOT_BUILT = {"status": 409, "error": "The graph has not been built yet: run 'chainlight graph build' first.",
             "incident": None}


def test_before_the_graph_is_built_every_route_says_so_then_answers(settings: Settings) -> None:
    with TestClient(create_app(settings, "public")) as client:
        for path in GRAPH_GETS:  # no evidence store at all
            response = client.get(path)
            assert (response.status_code, response.json()) == (409, NOT_BUILT), path
        pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / "registry.ftm.json"], dataset="registry",
                        marking=Marking.CLEAR, owner="registry")
        for path in GRAPH_GETS:  # data, but no graph
            response = client.get(path)
            assert (response.status_code, response.json()) == (409, NOT_BUILT), path
        pipeline.graph_build(settings)
        for path in GRAPH_GETS:  # and without resolution, entities stand for themselves
            assert client.get(path).status_code == 200, path
        assert get(client, "/api/graph/ubo/reg-front")["entity"] == "reg-front"


def test_a_busy_store_is_a_503_to_retry(settings: Settings) -> None:
    pipeline.ingest(settings, "ftm", [FIXTURES / "graph" / "registry.ftm.json"], dataset="registry",
                    marking=Marking.CLEAR, owner="registry")
    pipeline.graph_build(settings)
    with TestClient(create_app(settings, "public")) as client, EvidenceStore(settings.evidence_path):
        response = client.get("/api/graph/neighbours/reg-front")  # a writer holds the file
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["error"].startswith("The evidence store is busy")


def test_an_unexpected_error_is_a_json_500_without_internals(
    clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals of fiu-official")

    monkeypatch.setattr(queries, "neighbours", explode)
    response = clients["fiu"].get("/api/graph/neighbours/reg-front")
    assert response.status_code == 500
    body = response.json()
    assert body["error"] == "Something went wrong on our side."
    assert len(body["incident"]) == 12
    assert "fiu-official" not in response.text


# -- views are cached per app ----------------------------------------------------------------


def test_views_are_loaded_once_per_reader_and_state(
    pool: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    original = graph_service.reader_view

    def counting(store: Any, access: Any, organisation: str, verdicts: Any) -> Any:
        loads.append(organisation)
        return original(store, access, organisation, verdicts)

    monkeypatch.setattr(graph_service, "reader_view", counting)
    with TestClient(create_app(pool, "customs")) as client:
        for path in GRAPH_GETS:
            assert client.get(path).status_code == 200, path
    assert loads == ["customs"]


# -- the OpenAPI document ---------------------------------------------------------------------


GRAPH_PATHS = {
    "/api/graph/neighbours/{entity_id}": "Neighbourhood",
    "/api/graph/path": "Paths",
    "/api/graph/ubo/{entity_id}": "UltimateOwners",
    "/api/graph/cycles": "CircularOwnerships",
    "/api/graph/money/{entity_id}": "MoneyTrace",
    "/api/graph/communities": "Communities",
    "/api/graph/seizures": "DnaClusters",
    "/api/graph/export/{entity_id}": None,
}


def test_openapi_documents_the_graph_api(clients: dict[str, TestClient]) -> None:
    api = clients["public"].get("/openapi.json").json()
    for path, model_name in GRAPH_PATHS.items():
        operation = api["paths"][path]["get"]
        assert operation["summary"]
        assert operation["responses"]["409"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
        ok = operation["responses"]["200"]["content"]
        if model_name is None:
            assert set(ok) == {"application/x-ndjson", "application/graphml+xml", "application/gexf+xml",
                               "application/json"}
        else:
            assert ok["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model_name}"}
    params = {p["name"]: p for p in api["paths"]["/api/graph/neighbours/{entity_id}"]["get"]["parameters"]}
    assert (params["hops"]["schema"]["minimum"], params["hops"]["schema"]["maximum"]) == (1, 6)
    assert params["hops"]["schema"]["default"] == 1 and params["limit"]["schema"]["default"] == 500
    assert params["relation"]["schema"]["anyOf"][0] == {"type": "array", "items": {"type": "string"}}
    assert params["since"]["schema"]["anyOf"][0] == {"type": "string", "format": "date"}
    money_params = {p["name"]: p for p in api["paths"]["/api/graph/money/{entity_id}"]["get"]["parameters"]}
    assert money_params["direction"]["schema"]["enum"] == ["forward", "backward", "both"]
    export_params = {p["name"] for p in api["paths"]["/api/graph/export/{entity_id}"]["get"]["parameters"]}
    assert {"format", "hops", "to", "limit", "relation", "exclude", "since", "until"} <= export_params
    schemas = api["components"]["schemas"]
    assert schemas["GraphEdge"]["properties"]["marking"]["enum"] == ["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]
    assert {"evidence", "datasets", "amount", "share"} <= set(schemas["GraphEdge"]["properties"])
    assert {"share", "chains", "beneficial_owner"} <= set(schemas["UltimateOwner"]["properties"])
    assert "from" in schemas["MoneyCounterparty"]["properties"]
    assert {r.path for r in ROUTES} >= set(GRAPH_PATHS)
