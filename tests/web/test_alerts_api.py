"""The alerts JSON API answers each organisation from the alerts it may see.

The pool is the rule tests' one (:func:`tests.rules.conftest.load_rules_pool`), loaded once for
the module: the graph tests' CLEAR registry, the FIU's RED payments and the NGO's AMBER
investigation shared with customs and the FIU, resolved, with the FIU's same-entity judgements.
Three rules run over it: the library's ``money.bribe-flow`` (the front company's payments to
the customs official's sister: RED, they rest on the FIU's payments), the library's
``ownership.circular`` (a loop of two registry companies: CLEAR) and the rule tests'
``shipment.test-seized`` (the NGO's seized shipments: AMBER). ``fiu`` sees all three datasets,
``customs`` the registry and the NGO's, ``public`` the registry alone.

Tests that triage work on a copy of the pool, so the module's pool keeps every alert ``new``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from chainlight import pipeline
from chainlight.resolve import service
from chainlight.rules import engine, model
from chainlight.settings import Settings
from chainlight.store.evidence import EvidenceStore
from chainlight.store.operational import AlertTriage
from chainlight.web.app import create_app
from chainlight.web.routes import ROUTES
from tests.rules.conftest import SEIZED_SHIPMENTS, load_rules_pool, make_rule

READERS = ("fiu", "customs", "public")
BRIBE = "money.bribe-flow"
CIRCULAR = "ownership.circular"
SEIZED = "shipment.test-seized"
#: What only an alert resting on the FIU's RED payments could show.
FIU_ONLY = (BRIBE, "pay-front", "pay-relative", "USD", "Senior Customs Officer", '"marking":"RED"')
NOT_RUN = {"status": 409, "error": "No alerts yet: the rules have not run. Run 'chainlight rules run' first.",
           "incident": None}


def _settings(home: Path) -> Settings:
    return Settings.load(home, f"sqlite:///{home / 'chainlight.db'}")


def run_rules(settings: Settings) -> engine.RunReport:
    """Two library rules and one test rule, over the pool's resolution with its judgements."""
    rules = [*model.select([BRIBE, CIRCULAR]), make_rule(**SEIZED_SHIPMENTS)]
    operational = pipeline.open_operational(settings)
    try:
        verdicts = service.verdicts(operational)
    finally:
        operational.dispose()
    with EvidenceStore(settings.evidence_path) as store:
        clusters = service.canonical_ids(store, verdicts, store.dataset_names())
        return engine.run(store, rules, settings.home, strict=True, clusters=clusters)


@pytest.fixture(scope="module")
def unrun(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pool ingested and resolved, before any rule has run."""
    home = tmp_path_factory.mktemp("alerts-api-unrun") / "home"
    load_rules_pool(_settings(home).ensure())
    return home


@pytest.fixture(scope="module")
def pool(unrun: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("alerts-api") / "home"
    shutil.copytree(unrun, home)
    settings = _settings(home)
    report = run_rules(settings)
    assert {o.rule_id: o.status for o in report.outcomes} == {BRIBE: "ran", CIRCULAR: "ran", SEIZED: "ran"}
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in READERS}


@pytest.fixture
def fresh(pool: Settings, tmp_path: Path) -> Settings:
    """A copy of the pool after the run, for a test that triages."""
    home = tmp_path / "home"
    shutil.copytree(pool.home, home)
    return _settings(home)


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def alerts_of(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    body = get(client, "/api/alerts", limit=1000, **params)
    assert body["total"] == len(body["alerts"])
    alerts: list[dict[str, Any]] = body["alerts"]
    return alerts


def by_subject(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["subject"]: a for a in alerts}


def sister(pool: Settings) -> str:
    """The canonical id the run gave the official's sister (the FIU's and the NGO's records, merged)."""
    with EvidenceStore(pool.evidence_path, read_only=True) as store:
        return str(store.scalar("SELECT canonical_id FROM alert_clusters WHERE entity_id = 'fiu-relative'"))


def stored_triage(settings: Settings) -> list[tuple[str, str, str, str, str | None]]:
    """Every triage row in the operational store, oldest first."""
    operational = pipeline.open_operational(settings)
    try:
        with operational.session() as session:
            rows = session.scalars(select(AlertTriage).order_by(AlertTriage.id)).all()
            return [(t.alert_id, t.organisation, t.state, t.author, t.reason) for t in rows]
    finally:
        operational.dispose()


# -- listing -----------------------------------------------------------------------------


def test_the_fiu_sees_the_red_bribe_flow_alerts(clients: dict[str, TestClient]) -> None:
    alerts = alerts_of(clients["fiu"])
    bribes = [a for a in alerts if a["rule_id"] == BRIBE]
    assert {"pay-front-relative", "pay-front-relative-2"} <= {a["subject"] for a in bribes}
    for alert in bribes:
        assert alert["marking"] == "RED"
        assert alert["category"] == "money" and alert["severity"] == "critical" and alert["flags"] == "Payment"
        assert "fiu" in alert["datasets"]
        assert alert["state"] == "new" and alert["triaged_by"] is None
        assert alert["alert_id"].startswith("al-")
    front = by_subject(bribes)["pay-front-relative"]
    assert front["details"]["amount"] == 5000.0
    assert "Halima Otieno" in front["reason"]
    # The FIU also sees the NGO's AMBER and the registry's CLEAR alerts, highest score first.
    subjects = by_subject(alerts)
    assert (subjects["ship-1"]["marking"], subjects["ship-1"]["datasets"]) == ("AMBER", ["ngo"])
    assert (subjects["reg-loop-a"]["marking"], subjects["reg-loop-a"]["rule_id"]) == ("CLEAR", CIRCULAR)
    assert [a["score"] for a in alerts] == sorted((a["score"] for a in alerts), reverse=True)
    assert alerts[0]["rule_id"] == BRIBE  # critical: 0.8, above the others


@pytest.mark.parametrize(
    ("reader", "expected"),
    [("customs", {"ship-1": "AMBER", "ship-2": "AMBER", "reg-loop-a": "CLEAR"}), ("public", {"reg-loop-a": "CLEAR"})],
)
def test_customs_and_the_public_never_see_the_red_alerts(
    clients: dict[str, TestClient], reader: str, expected: dict[str, str]
) -> None:
    client = clients[reader]
    response = client.get("/api/alerts", params={"limit": 1000})
    assert response.status_code == 200
    for secret in FIU_ONLY:
        assert secret not in response.text, secret
    body = response.json()
    assert {a["subject"]: a["marking"] for a in body["alerts"]} == expected
    assert body["total"] == len(expected)
    # Filters cannot find them either, and counts do not give them away.
    assert get(client, "/api/alerts", rule=BRIBE) == {
        "alerts": [], "total": 0, "offset": 0, "limit": 100, "next_offset": None}
    assert get(client, "/api/alerts", category="money")["total"] == 0


def test_filters_and_pages(clients: dict[str, TestClient], pool: Settings) -> None:
    client = clients["fiu"]
    everything = alerts_of(client)
    assert len(everything) >= 5
    assert {a["rule_id"] for a in alerts_of(client, rule=SEIZED)} == {SEIZED}
    assert {a["subject"] for a in alerts_of(client, rule=SEIZED)} == {"ship-1", "ship-2"}
    assert {a["category"] for a in alerts_of(client, category="ownership")} == {"ownership"}
    assert all(a["score"] >= 0.6 for a in alerts_of(client, min_score=0.6))
    assert {a["rule_id"] for a in alerts_of(client, min_score=0.6)} >= {BRIBE}
    assert SEIZED not in {a["rule_id"] for a in alerts_of(client, min_score=0.6)}  # medium: 0.4
    about_sister = alerts_of(client, entity=sister(pool))
    assert about_sister and all(sister(pool) in a["entities"] for a in about_sister)
    assert {a["rule_id"] for a in about_sister} == {BRIBE}
    assert alerts_of(client, state="confirmed") == []
    assert len(alerts_of(client, state="new")) == len(everything)
    first = get(client, "/api/alerts", limit=2)
    assert (len(first["alerts"]), first["total"], first["next_offset"]) == (2, len(everything), 2)
    pages, offset = [], 0
    while offset is not None:
        page = get(client, "/api/alerts", limit=2, offset=offset)
        pages.extend(page["alerts"])
        offset = page["next_offset"]
    assert [a["alert_id"] for a in pages] == [a["alert_id"] for a in everything]


# -- one alert ---------------------------------------------------------------------------


def test_one_alert_comes_with_its_evidence(clients: dict[str, TestClient]) -> None:
    client = clients["fiu"]
    front = by_subject(alerts_of(client, rule=BRIBE))["pay-front-relative"]
    asked = client.get(f"/api/alerts/{front['alert_id']}")  # RED: read only with a purpose
    assert asked.status_code == 428 and asked.json()["status"] == 428
    assert "pay-relative" not in asked.text
    body = get(client, f"/api/alerts/{front['alert_id']}", purpose="bribery case 17")
    assert {k: body[k] for k in front} == front
    assert body["history"] == []
    items = body["evidence_items"]
    assert items and {i["kind"] for i in items} == {"statement"}
    assert {i["dataset"] for i in items} <= set(front["datasets"])
    amounts = [i for i in items if i["entity_id"] == "pay-front-relative" and i["prop"] == "amount"]
    assert [(i["dataset"], i["schema"], float(i["value"])) for i in amounts] == [("fiu", "Payment", 5000.0)]
    assert all(i["evidence"] in front["evidence"] for i in items)


def test_a_hidden_alert_answers_exactly_like_a_missing_one(clients: dict[str, TestClient], pool: Settings) -> None:
    red = by_subject(alerts_of(clients["fiu"], rule=BRIBE))["pay-front-relative"]["alert_id"]
    for reader in ("customs", "public"):
        client = clients[reader]
        for method, suffix, body in (("get", "", None), ("post", "/triage", {"state": "confirmed"})):
            hidden = client.request(method, f"/api/alerts/{red}{suffix}", json=body)
            missing = client.request(method, f"/api/alerts/al-000000000000000000000000{suffix}", json=body)
            assert hidden.status_code == missing.status_code == 404, hidden.text
            assert hidden.headers["content-type"] == "application/json"
            assert hidden.text.replace(red, "ID") == missing.text.replace("al-000000000000000000000000", "ID")
            assert hidden.json() == {"status": 404, "error": f"No such alert: {red}.", "incident": None}
    # Nothing was written for the probes, and the FIU's alert is still new.
    assert stored_triage(pool) == []
    assert get(clients["fiu"], f"/api/alerts/{red}", purpose="bribery case 17")["state"] == "new"


def test_entity_risk_counts_visible_alerts_only(clients: dict[str, TestClient], pool: Settings) -> None:
    fiu = get(clients["fiu"], "/api/risk/entities")["entities"]
    scores = [e["score"] for e in fiu]
    assert scores == sorted(scores, reverse=True)
    [halima] = get(clients["fiu"], "/api/risk/entities", entity=sister(pool))["entities"]
    assert (halima["name"], halima["marking"], halima["rules"]) == ("Halima Otieno", "RED", [BRIBE])
    assert halima["score"] == pytest.approx(0.8) and halima["alerts"] >= 2
    for reader in ("customs", "public"):
        response = clients[reader].get("/api/risk/entities")
        assert response.status_code == 200
        for secret in FIU_ONLY:
            assert secret not in response.text, secret
        ranked = response.json()["entities"]
        assert ranked and all(e["marking"] != "RED" and BRIBE not in e["rules"] for e in ranked)
        assert get(clients[reader], "/api/risk/entities", entity=sister(pool)) == {"entities": []}
    customs = {e["entity_id"]: e for e in get(clients["customs"], "/api/risk/entities")["entities"]}
    assert {"reg-loop-a", "reg-loop-b"} <= set(customs)
    assert any(SEIZED in e["rules"] for e in customs.values())
    public = get(clients["public"], "/api/risk/entities")["entities"]
    assert {e["entity_id"] for e in public} == {"reg-loop-a", "reg-loop-b"}
    assert get(clients["fiu"], "/api/risk/entities", limit=1)["entities"] == fiu[:1]


# -- triage ------------------------------------------------------------------------------


def test_triage_round_trip_survives_a_rerun(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "customs")) as customs, TestClient(create_app(fresh, "fiu")) as fiu:
        before = by_subject(alerts_of(customs))
        ship1, ship2 = before["ship-1"]["alert_id"], before["ship-2"]["alert_id"]
        confirmed = customs.post(f"/api/alerts/{ship1}/triage", json={"state": "confirmed"})
        assert confirmed.status_code == 200, confirmed.text
        body = confirmed.json()
        assert (body["state"], body["triaged_by"], body["triage_reason"]) == ("confirmed", "web:customs", None)
        assert [(h["state"], h["author"]) for h in body["history"]] == [("confirmed", "web:customs")]
        assert body["evidence_items"]
        dismissed = customs.post(f"/api/alerts/{ship2}/triage",
                                 json={"state": "dismissed", "reason": "  already prosecuted  "})
        assert dismissed.status_code == 200, dismissed.text
        assert (dismissed.json()["state"], dismissed.json()["triage_reason"]) == ("dismissed", "already prosecuted")
        assert [a["subject"] for a in alerts_of(customs, state="confirmed")] == ["ship-1"]
        assert [a["subject"] for a in alerts_of(customs, state="dismissed")] == ["ship-2"]
        # A dismissed alert no longer counts towards risk.
        risk = get(customs, "/api/risk/entities")["entities"]
        counted = sum(e["alerts"] for e in risk if SEIZED in e["rules"])
        # Triage is the deciding organisation's: the FIU still has both as new.
        assert {a["state"] for a in alerts_of(fiu, rule=SEIZED)} == {"new"}

        time.sleep(0.01)
        report = run_rules(fresh)  # the alerts are replaced; their ids and triage stay
        assert report.alerts > 0
        again = by_subject(alerts_of(customs))
        assert {s: a["alert_id"] for s, a in again.items()} == {s: a["alert_id"] for s, a in before.items()}
        assert again["ship-1"]["first_raised"] == before["ship-1"]["first_raised"]
        assert again["ship-1"]["last_raised"] > before["ship-1"]["last_raised"]
        assert (again["ship-1"]["state"], again["ship-1"]["triaged_by"]) == ("confirmed", "web:customs")
        assert (again["ship-2"]["state"], again["ship-2"]["triage_reason"]) == ("dismissed", "already prosecuted")
        assert sum(e["alerts"] for e in get(customs, "/api/risk/entities")["entities"] if SEIZED in e["rules"]) \
            == counted

        back = customs.post(f"/api/alerts/{ship2}/triage", json={"state": "new"})
        assert back.status_code == 200
        assert [h["state"] for h in back.json()["history"]] == ["dismissed", "new"]
        assert get(customs, f"/api/alerts/{ship2}")["state"] == "new"
    assert stored_triage(fresh) == [
        (ship1, "customs", "confirmed", "web:customs", None),
        (ship2, "customs", "dismissed", "web:customs", "already prosecuted"),
        (ship2, "customs", "new", "web:customs", None),
    ]


def test_dismissed_alerts_leave_the_risk_ranking(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "customs")) as customs:
        assert any(SEIZED in e["rules"] for e in get(customs, "/api/risk/entities")["entities"])
        for alert in alerts_of(customs, rule=SEIZED):
            response = customs.post(f"/api/alerts/{alert['alert_id']}/triage",
                                    json={"state": "dismissed", "reason": "prosecuted"})
            assert response.status_code == 200, response.text
        assert all(SEIZED not in e["rules"] for e in get(customs, "/api/risk/entities")["entities"])


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"state": "dismissed"}, "Dismissing an alert needs a reason."),
        ({"state": "dismissed", "reason": "   "}, "Dismissing an alert needs a reason."),
        ({"state": "closed", "reason": "x"}, "body.state"),
        ({"reason": "x"}, "body.state"),
        ({"state": "confirmed", "reason": "x" * 2001}, "body.reason"),
    ],
)
def test_a_bad_triage_is_refused_with_422_and_stores_nothing(
    fresh: Settings, body: dict[str, str], error: str
) -> None:
    with TestClient(create_app(fresh, "customs")) as customs:
        alert_id = alerts_of(customs, rule=SEIZED)[0]["alert_id"]
        response = customs.post(f"/api/alerts/{alert_id}/triage", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/json"
        assert error in response.json()["error"]
        assert "Traceback" not in response.text
        assert get(customs, f"/api/alerts/{alert_id}")["state"] == "new"
    assert stored_triage(fresh) == []


@pytest.mark.parametrize(
    "params",
    [{"min_score": 2}, {"limit": 0}, {"limit": 1001}, {"offset": -1}, {"state": "closed"}, {"category": "birds"}],
)
def test_bad_filters_answer_422(clients: dict[str, TestClient], params: dict[str, Any]) -> None:
    response = clients["fiu"].get("/api/alerts", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["status"] == 422


# -- before any run ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/alerts", None),
        ("get", "/api/alerts/al-000000000000000000000000", None),
        ("post", "/api/alerts/al-000000000000000000000000/triage", {"state": "confirmed"}),
        ("get", "/api/risk/entities", None),
    ],
)
def test_before_any_rules_run_the_api_says_so(
    unrun: Path, settings: Settings, tmp_path: Path, method: str, path: str, body: dict[str, str] | None
) -> None:
    with TestClient(create_app(settings, "fiu")) as client:  # no evidence store at all
        nothing = client.request(method, path, json=body)
        assert (nothing.status_code, nothing.json()) == (409, NOT_RUN)
    home = tmp_path / "unrun"
    shutil.copytree(unrun, home)
    with TestClient(create_app(_settings(home), "fiu")) as client:  # ingested and resolved, no alerts table
        response = client.request(method, path, json=body)
        assert (response.status_code, response.json()) == (409, NOT_RUN)
    assert stored_triage(_settings(home)) == []


# -- schema ------------------------------------------------------------------------------

ALERT_PATHS = {
    "/api/alerts": ("get", "AlertList"),
    "/api/alerts/{alert_id}": ("get", "AlertDetail"),
    "/api/alerts/{alert_id}/triage": ("post", "AlertDetail"),
    "/api/risk/entities": ("get", "RiskRanking"),
}


def test_openapi_documents_the_alerts_api(clients: dict[str, TestClient]) -> None:
    api = clients["public"].get("/openapi.json").json()
    for path, (method, model_name) in ALERT_PATHS.items():
        operation = api["paths"][path][method]
        assert operation["summary"]
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{model_name}"}
        for status in ("409", "422"):
            assert operation["responses"][status]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"
            }
    for path in ("/api/alerts/{alert_id}", "/api/alerts/{alert_id}/triage"):
        assert "404" in api["paths"][path][next(iter(api["paths"][path]))]["responses"]
    triage = api["paths"]["/api/alerts/{alert_id}/triage"]["post"]
    assert triage["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TriageRequest"
    }
    schemas = api["components"]["schemas"]
    assert schemas["TriageRequest"]["properties"]["state"]["enum"] == ["new", "confirmed", "dismissed"]
    assert {"Alert", "AlertDetail", "AlertList", "TriageEntry", "StatementItem", "RecordItem", "EntityRisk"} <= set(
        schemas
    )
    listing = {p["name"] for p in api["paths"]["/api/alerts"]["get"]["parameters"]}
    assert listing == {"rule", "category", "state", "entity", "min_score", "limit", "offset"}
    assert {p["name"] for p in api["paths"]["/api/risk/entities"]["get"]["parameters"]} == {"entity", "limit"}
    assert {r.path for r in ROUTES} >= set(ALERT_PATHS)
