"""``/entities/{id}`` and ``/entities/{id}.json``: an entity merged over the reader's own cluster,
every value with its provenance, relations, alerts and timeline; hidden reads exactly like
missing; a RED profile asks for a purpose; every read goes to the access log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.web.app import create_app
from tests.search import world

PURPOSE = {"X-Chainlight-Purpose": "case KE-2026-14"}


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = world.load(tmp_path_factory.mktemp("pool"))
    world.build_index(settings)
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in world.VISIBLE}


def profile(client: TestClient, entity_id: str, **headers: str) -> dict[str, Any]:
    response = client.get(f"/entities/{entity_id}.json", headers=headers or None)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def values(body: dict[str, Any], prop: str) -> dict[str, list[str]]:
    """value -> datasets stating it, for one property."""
    found = next((p for p in body["properties"] if p["name"] == prop), {"values": []})
    return {v["value"]: sorted(s["dataset"] for s in v["sources"]) for v in found["values"]}


def test_a_profile_merges_the_readers_cluster_with_provenance_per_value(clients: dict[str, TestClient]) -> None:
    body = profile(clients["ngo-x"], "c-sunrise")
    assert body["canonical_id"].startswith("nk-")
    assert body["members"] == ["c-sunrise", "ngo-sunrise"]
    assert body["schema"] == "Company"
    assert body["caption"] == "Sunrise Trading Co., Ltd"
    assert values(body, "name") == {"Sunrise Trading Co., Ltd": ["ke-customs"],
                                    "Sunrise Trading Company Limited": ["ngo-reports"]}
    assert values(body, "country") == {"ke": ["ke-customs", "ngo-reports"]}
    source = next(p for p in body["properties"] if p["name"] == "registrationNumber")["values"][0]["sources"][0]
    assert source["entity_id"] == "c-sunrise"
    assert source["dataset"] == "ke-customs"
    assert source["organisation"] == "customs-ke"
    assert source["marking"] == "GREEN"
    assert len(source["statement_id"]) == 40
    assert source["origin"].startswith("ke-customs.jsonl:") or "ke-customs.jsonl" in source["origin"]
    assert source["first_seen"] <= source["last_seen"]
    assert body["marking"] == "AMBER"  # the strictest of the datasets shown
    assert {d["name"]: d["organisation"] for d in body["datasets"]} == {"ke-customs": "customs-ke",
                                                                        "ngo-reports": "ngo-x"}


def test_any_member_or_the_canonical_id_opens_the_same_cluster(clients: dict[str, TestClient]) -> None:
    client = clients["ngo-x"]
    by_member = profile(client, "ngo-sunrise")
    by_cluster = profile(client, by_member["canonical_id"])
    assert by_member["members"] == by_cluster["members"] == ["c-sunrise", "ngo-sunrise"]
    assert by_member["caption"] == "Sunrise Trading Company Limited"  # the asked record names it first
    assert by_cluster["entity_id"] == by_member["canonical_id"]


def test_relations_in_and_out_with_the_other_ends_of_relationships(clients: dict[str, TestClient]) -> None:
    body = profile(clients["ngo-x"], "c-sunrise")
    incoming = {(r["other"]["entity_id"], r["prop"]): r for r in body["relations"] if r["direction"] == "incoming"}
    assert set(incoming) == {("own-1", "asset"), ("s-1", "shipper")}
    ownership = incoming[("own-1", "asset")]
    assert ownership["other"]["schema"] == "Ownership"
    assert [(c["entity_id"], c["prop"], c["caption"]) for c in ownership["counterparts"]] == [
        ("p-muhammed", "owner", "Muhammed Hassan Abdallah")]
    assert ownership["details"] == {"percentage": ["60"], "startDate": ["2019-03-01"]}
    assert ownership["source"]["dataset"] == "ke-customs"
    # The shipment's consignee exists only in a RED dataset of another organisation: its id is what
    # the visible statement says, and nothing else about it is shown.
    consignee = incoming[("s-1", "shipper")]["counterparts"]
    assert consignee == [{"entity_id": "c-hidden", "caption": None, "schema": None, "prop": "consignee",
                          "visible": False}]
    person = profile(clients["ngo-x"], "own-1")
    outgoing = {r["prop"]: r["other"] for r in person["relations"] if r["direction"] == "outgoing"}
    assert outgoing["asset"]["caption"] == "Sunrise Trading Co., Ltd"
    assert outgoing["owner"]["entity_id"] == "p-muhammed"


def test_the_timeline_orders_dated_values_of_the_entity_and_its_relations(clients: dict[str, TestClient]) -> None:
    body = profile(clients["ngo-x"], "c-sunrise")
    events = [(e["date"], e["prop"], e["entity"]["entity_id"]) for e in body["timeline"]]
    assert events == [("2011-05-17", "incorporationDate", "c-sunrise"), ("2019-03-01", "startDate", "own-1"),
                      ("2021-06-01", "departureDate", "s-1")]
    assert body["timeline"][1]["relation"] == "Ownership"


def test_alerts_are_shown_when_every_dataset_behind_them_is_visible(clients: dict[str, TestClient]) -> None:
    assert [a["alert_id"] for a in profile(clients["ngo-x"], "c-sunrise")["alerts"]] == ["al-green"]
    fiu = profile(clients["fiu-tz"], "c-sunrise", **PURPOSE)
    assert sorted(a["alert_id"] for a in fiu["alerts"]) == ["al-green", "al-red"]
    red = next(a for a in fiu["alerts"] if a["alert_id"] == "al-red")
    assert red["marking"] == "RED" and red["state"] == "new"
    assert profile(clients["ngo-x"], "p-wanjiru")["alerts"] == []


def test_a_red_profile_asks_for_a_purpose_and_logs_it(clients: dict[str, TestClient], pool: Settings) -> None:
    client = clients["customs-ke"]  # sees the RED informant's ownership of Sunrise
    asked = client.get("/entities/c-sunrise.json")
    assert asked.status_code == 428
    assert "purpose" in asked.json()["error"]
    form = client.get("/entities/c-sunrise")
    assert form.status_code == 428 and 'name="purpose"' in form.text
    assert "KEREDWORD" not in asked.text + form.text
    body = profile(client, "c-sunrise", **PURPOSE)
    assert body["marking"] == "RED" and body["purpose"] == "case KE-2026-14"
    assert ("p-informant", "owner") in {(c["entity_id"], c["prop"]) for r in body["relations"]
                                        for c in r["counterparts"]}
    page = client.get("/entities/c-sunrise", params={"purpose": "case KE-2026-14"})
    assert page.status_code == 200 and "Juma KEREDWORD Otieno" in page.text
    operational = pipeline.open_operational(pool)
    try:
        reads = [e for e in access_log.rows(operational) if e.action == "entity.read" and e.target == "c-sunrise"
                 and e.organisation == "customs-ke"]
    finally:
        operational.dispose()
    assert [(e.marking, e.purpose) for e in reads][-2:] == [("RED", "case KE-2026-14")] * 2


@pytest.mark.parametrize("organisation", ["ngo-x", "outsider"])
def test_a_hidden_entity_answers_exactly_like_a_missing_one(clients: dict[str, TestClient], organisation: str) -> None:
    client = clients[organisation]
    for suffix in (".json", ""):
        missing = client.get(f"/entities/no-such-entity{suffix}")
        for hidden in ("p-informant", "c-hidden", "pay-1", "fiu-pacific"):
            response = client.get(f"/entities/{hidden}{suffix}")
            assert response.status_code == missing.status_code == 404
            assert response.text.replace(hidden, "no-such-entity") == missing.text
            assert {k: v for k, v in response.headers.items() if k != "content-length"} == {
                k: v for k, v in missing.headers.items() if k != "content-length"}


@pytest.mark.parametrize("organisation", ["ngo-x", "outsider"])
def test_nothing_hidden_leaks_into_a_visible_profile(clients: dict[str, TestClient], organisation: str) -> None:
    client = clients[organisation]
    hidden = set(world.FILES) - world.VISIBLE[organisation]
    bodies = [client.get(f"/entities/{e}{s}").text for e in ("c-sunrise", "s-1", "c-pacific-h", "p-muhammed")
              for s in (".json", "")]
    for body in bodies:
        for dataset in hidden:
            assert dataset not in body
            for secret in world.SECRETS.get(dataset, []):
                assert secret not in body
        assert "Kilimanjaro" not in body and "9000" not in body and "2022-02-02" not in body


def test_clusters_joined_only_by_hidden_evidence_stay_apart_in_profiles(clients: dict[str, TestClient]) -> None:
    body = profile(clients["customs-ke"], "c-pacific-h")
    assert body["members"] == ["c-pacific-h"] and body["canonical_id"] == "c-pacific-h"
    assert "Pacific Bridge Investments" not in str(body)
    fiu = profile(clients["fiu-tz"], "c-pacific-h", **PURPOSE)
    assert fiu["members"] == ["c-pacific-h", "c-pacific-i", "fiu-pacific"]
    # The FIU's cluster id is not a door into it for anyone else.
    assert clients["customs-ke"].get(f"/entities/{fiu['canonical_id']}.json").status_code == 404


def test_a_global_cluster_id_shaped_by_hidden_links_answers_404(clients: dict[str, TestClient]) -> None:
    client = clients["customs-ke"]
    canonical = profile(clients["fiu-tz"], "c-pacific-i", **PURPOSE)["canonical_id"]
    response = client.get(f"/entities/{canonical}.json")
    assert response.status_code == 404
    assert response.json()["error"] == f"No such entity: {canonical}."


def test_the_page_shows_properties_relations_alerts_timeline_and_links(clients: dict[str, TestClient]) -> None:
    response = clients["ngo-x"].get("/entities/c-sunrise")
    assert response.status_code == 200
    html = response.text
    for heading in ("Properties", "Relations", "Alerts", "Timeline"):
        assert f">{heading}</h2>" in html
    assert '<a href="/network?entity=c-sunrise">network</a>' in html
    assert '<a href="/entities/p-muhammed">Muhammed Hassan Abdallah</a>' in html
    assert '<a href="/alerts/al-green">Alert al-green</a>' in html
    assert "<code>c-hidden</code>" in html and "no record shared with you" in html
    assert '<span class="tlp tlp-amber">TLP:AMBER</span>' in html
    assert '<link rel="alternate" type="application/json" href="/entities/c-sunrise.json">' in html


def test_before_the_rules_ran_alerts_are_null(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = world.load(tmp_path_factory.mktemp("norules"), alerts=False)
    world.build_index(settings)
    with TestClient(create_app(settings, "ngo-x")) as client:
        body = profile(client, "c-sunrise")
        assert body["alerts"] is None
        assert "rules have not run" in client.get("/entities/c-sunrise").text


@pytest.mark.parametrize("path", ["/entities/" + "x" * 201 + ".json", "/entities/%20.json"])
def test_bad_ids_are_problems_not_errors(clients: dict[str, TestClient], path: str) -> None:
    response = clients["ngo-x"].get(path)
    assert response.status_code in (404, 422)
    assert response.json()["status"] == response.status_code


def test_openapi_documents_the_profile(clients: dict[str, TestClient]) -> None:
    spec = clients["ngo-x"].get("/openapi.json").json()
    operation = spec["paths"]["/entities/{entity_id}.json"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("EntityProfile")
    assert {"404", "409", "422", "428"} <= set(operation["responses"])
