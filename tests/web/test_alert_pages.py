"""The alerts pages (queue, one alert, triage form) and the home page's latest alerts.

The pool is the alerts API tests' one (:mod:`tests.web.test_alerts_api`): three rules over the
rule tests' pool. ``fiu`` sees the RED bribe-flow alerts, ``customs`` the registry's CLEAR and
the NGO's AMBER alerts, ``public`` the registry's alone. Pages and their JSON twins must say
what the API says, and a RED alert must be neither listed nor reachable for anyone else.
Tests that triage work on a copy of the pool.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.rules.model import CATEGORIES
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.web.alert_payloads import Category
from chainlight.web.app import create_app
from tests.rules.conftest import load_rules_pool
from tests.web.test_alerts_api import BRIBE, CIRCULAR, FIU_ONLY, SEIZED, _settings, run_rules, stored_triage

READERS = ("fiu", "customs", "public")
MISSING = "al-000000000000000000000000"
PURPOSE = {"purpose": "case 2026-117 payment review"}


@pytest.fixture(scope="module")
def unrun(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("alert-pages-unrun") / "home"
    load_rules_pool(_settings(home).ensure())
    return home


@pytest.fixture(scope="module")
def pool(unrun: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    home = tmp_path_factory.mktemp("alert-pages") / "home"
    shutil.copytree(unrun, home)
    settings = _settings(home)
    run_rules(settings)
    return settings


@pytest.fixture(scope="module")
def clients(pool: Settings) -> Iterator[dict[str, TestClient]]:
    with ExitStack() as stack:
        yield {org: stack.enter_context(TestClient(create_app(pool, org))) for org in READERS}


@pytest.fixture
def fresh(pool: Settings, tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    shutil.copytree(pool.home, home)
    return _settings(home)


def api(client: TestClient, **params: Any) -> dict[str, Any]:
    response = client.get("/api/alerts", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def twin(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def page(client: TestClient, path: str, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def alert_id(client: TestClient, rule: str, subject: str | None = None) -> str:
    alerts = api(client, rule=rule)["alerts"]
    found = [a for a in alerts if subject is None or a["subject"] == subject]
    assert found, (rule, subject)
    return str(found[0]["alert_id"])


def log_entries(settings: Settings, action: str) -> list[access_log.AccessLogRow]:
    operational = pipeline.open_operational(settings)
    try:
        return [row for row in access_log.rows(operational) if row.action == action]
    finally:
        operational.dispose()


# -- the queue ---------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_the_queue_twin_says_what_the_api_says(clients: dict[str, TestClient], reader: str) -> None:
    client = clients[reader]
    everything = api(client)
    queue = twin(client, "/alerts.json", limit=500)
    assert queue["rules_run"] is True
    assert queue["alerts"] == everything["alerts"]
    assert queue["total"] == everything["total"]
    assert queue["filters"] == {"rule": None, "category": None, "state": None, "entity": None, "min_score": None}
    # Facets count visible alerts only.
    per_rule: dict[str, int] = {}
    for a in everything["alerts"]:
        per_rule[a["rule_id"]] = per_rule.get(a["rule_id"], 0) + 1
    assert {r["rule_id"]: r["alerts"] for r in queue["rules"]} == per_rule
    assert "ownership" in queue["categories"]


def test_the_queue_page_lists_the_alerts_with_their_markings(clients: dict[str, TestClient]) -> None:
    html = page(clients["fiu"], "/alerts")
    queue = twin(clients["fiu"], "/alerts.json")
    for alert in queue["alerts"]:
        assert f'href="/alerts/{alert["alert_id"]}"' in html
    assert "TLP:RED" in html and "TLP:CLEAR" in html
    assert "Halima Otieno" in html  # the sister, named from a visible dataset and linked
    assert re.search(r'href="/entities/[^"]+">Halima Otieno</a>', html)
    assert 'href="/network?entity=' in html
    assert f"{queue['total']} alerts visible to fiu" in html
    assert 'name="csrf_token"' not in html  # the queue itself changes nothing


@pytest.mark.parametrize("reader", ["customs", "public"])
def test_red_alerts_are_never_listed_for_other_organisations(clients: dict[str, TestClient], reader: str) -> None:
    client = clients[reader]
    for path, params in (("/alerts", {}), ("/alerts.json", {}), ("/alerts", {"category": "money"}),
                         ("/alerts.json", {"min_score": 0.7}), ("/", {}), ("/index.json", {})):
        response = client.get(path, params=params)
        assert response.status_code == 200
        for secret in FIU_ONLY:
            assert secret not in response.text, (path, secret)
    # Asked for by name, the rule's alerts are not found either (the filter is only echoed back).
    assert twin(client, "/alerts.json", rule=BRIBE)["alerts"] == []
    assert twin(client, "/alerts.json", rule=BRIBE)["total"] == 0
    assert BRIBE not in {r["rule_id"] for r in twin(client, "/alerts.json")["rules"]}


def test_filters_from_the_form_and_the_twin(clients: dict[str, TestClient], pool: Settings) -> None:
    client = clients["fiu"]
    assert {a["rule_id"] for a in twin(client, "/alerts.json", rule=SEIZED)["alerts"]} == {SEIZED}
    assert {a["category"] for a in twin(client, "/alerts.json", category="ownership")["alerts"]} == {"ownership"}
    high = twin(client, "/alerts.json", min_score=0.6)
    assert high["alerts"] and all(a["score"] >= 0.6 for a in high["alerts"])
    assert high["alerts"] == api(client, min_score=0.6)["alerts"]
    assert twin(client, "/alerts.json", state="confirmed")["total"] == 0
    sister = next(a for a in api(client, rule=BRIBE)["alerts"] if a["subject"] == "pay-front-relative")["entities"]
    about = twin(client, "/alerts.json", entity=sister[-1])
    assert about["alerts"] == api(client, entity=sister[-1])["alerts"]
    # The page's form sends every field: an empty one is no filter.
    blank = {"rule": "", "category": "", "state": "", "entity": "", "min_score": ""}
    assert twin(client, "/alerts.json", **blank)["alerts"] == twin(client, "/alerts.json")["alerts"]
    html = page(client, "/alerts", **{**blank, "rule": SEIZED})
    assert f'<option value="{SEIZED}" selected>' in html
    assert BRIBE not in re.sub(r"<select name=\"rule\">.*?</select>", "", html, flags=re.S)


def test_paging_links_keep_the_filters(clients: dict[str, TestClient]) -> None:
    client = clients["fiu"]
    total = api(client)["total"]
    first = twin(client, "/alerts.json", limit=2)
    assert (len(first["alerts"]), first["next_offset"]) == (2, 2)
    html = page(client, "/alerts", limit=2, state="new")
    assert 'href="/alerts?state=new&amp;limit=2&amp;offset=2"' in html
    collected, offset = [], 0
    while offset is not None:
        chunk = twin(client, "/alerts.json", limit=2, offset=offset)
        collected += [a["alert_id"] for a in chunk["alerts"]]
        offset = chunk["next_offset"]
    assert len(collected) == total
    assert collected == [a["alert_id"] for a in api(client)["alerts"]]
    last = page(client, "/alerts", limit=2, offset=2 * ((total - 1) // 2))
    assert 'rel="next"' not in last and 'rel="prev"' in last


@pytest.mark.parametrize(
    "params", [{"min_score": "2"}, {"min_score": "lots"}, {"state": "closed"}, {"category": "birds"},
               {"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"rule": "x" * 201}],
)
def test_bad_filters_answer_422_as_a_page_and_as_json(clients: dict[str, TestClient], params: dict[str, str]) -> None:
    client = clients["fiu"]
    as_json = client.get("/alerts.json", params=params)
    assert as_json.status_code == 422 and as_json.json()["status"] == 422
    as_page = client.get("/alerts", params=params)
    assert as_page.status_code == 422
    assert as_page.headers["content-type"].startswith("text/html")
    assert "Traceback" not in as_page.text


# -- one alert ---------------------------------------------------------------------------


def test_a_clear_alert_shows_its_evidence_without_a_purpose(clients: dict[str, TestClient], pool: Settings) -> None:
    client = clients["public"]
    circular = alert_id(client, CIRCULAR)
    body = twin(client, f"/alerts/{circular}.json")
    detail = twin(client, f"/api/alerts/{circular}")
    assert {k: body[k] for k in detail} == detail  # the API's alert, item for item
    assert body["marking"] == "CLEAR" and body["purpose"] is None and body["may_triage"] is True
    assert set(body["dataset_markings"]) == set(body["datasets"])
    html = page(client, f"/alerts/{circular}")
    assert body["title"] in html and "Statements the alert rests on" in html
    for item in body["evidence_items"]:
        assert f'href="/entities/{item["entity_id"]}"' in html
    assert 'name="csrf_token"' in html and f'action="/alerts/{circular}/triage"' in html
    reads = [r for r in log_entries(pool, "alert.read") if r.target == circular]
    assert reads and {(r.organisation, r.marking, r.purpose) for r in reads} == {("public", "CLEAR", None)}


def test_a_red_alert_asks_for_a_purpose_and_logs_it(clients: dict[str, TestClient], pool: Settings) -> None:
    client = clients["fiu"]
    red = alert_id(client, BRIBE, "pay-front-relative")
    before = len([r for r in log_entries(pool, "alert.read") if r.target == red])
    asked = client.get(f"/alerts/{red}")
    assert asked.status_code == 428
    assert "purpose" in asked.text.lower()
    for secret in ("pay-relative", "Senior Customs Officer"):
        assert secret not in asked.text
    assert client.get(f"/alerts/{red}.json").status_code == 428
    html = page(client, f"/alerts/{red}", **PURPOSE)
    assert "Halima Otieno" in html and "TLP:RED" in html and PURPOSE["purpose"] in html
    assert f'action="/alerts/{red}/triage?purpose=case+2026-117+payment+review"' in html
    body = twin(client, f"/alerts/{red}.json", **PURPOSE)
    assert body["purpose"] == PURPOSE["purpose"] and body["marking"] == "RED"
    assert body["dataset_markings"]["fiu"] == "RED"
    reads = [r for r in log_entries(pool, "alert.read") if r.target == red]
    assert len(reads) == before + 2
    assert {(r.organisation, r.marking, r.purpose) for r in reads} == {("fiu", "RED", PURPOSE["purpose"])}


@pytest.mark.parametrize("reader", ["customs", "public"])
def test_a_hidden_alert_page_answers_exactly_like_a_missing_one(
    clients: dict[str, TestClient], pool: Settings, reader: str
) -> None:
    red = alert_id(clients["fiu"], BRIBE, "pay-front-relative")
    client = clients[reader]
    for suffix in ("", ".json"):
        for params in ({}, PURPOSE):
            hidden = client.get(f"/alerts/{red}{suffix}", params=params)
            missing = client.get(f"/alerts/{MISSING}{suffix}", params=params)
            assert hidden.status_code == missing.status_code == 404
            assert hidden.text.replace(red, "ID") == missing.text.replace(MISSING, "ID")
    form = {"state": "confirmed", "csrf_token": "x"}
    hidden = client.post(f"/alerts/{red}/triage", data=form, follow_redirects=False)
    missing = client.post(f"/alerts/{MISSING}/triage", data=form, follow_redirects=False)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(red, "ID") == missing.text.replace(MISSING, "ID")
    assert [t for t in stored_triage(pool) if t[0] == red] == []


# -- triage by form ----------------------------------------------------------------------


def test_triage_by_form_confirms_dismisses_and_sets_back(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "customs")) as customs:
        ship = alert_id(customs, SEIZED)
        confirmed = customs.post(f"/alerts/{ship}/triage", data={"state": "confirmed", "reason": ""},
                                 follow_redirects=False)
        assert confirmed.status_code == 303
        assert confirmed.headers["location"] == f"/alerts/{ship}"
        assert twin(customs, f"/alerts/{ship}.json")["state"] == "confirmed"

        refused = customs.post(f"/alerts/{ship}/triage", data={"state": "dismissed", "reason": "   "})
        assert refused.status_code == 422
        assert "Dismissing an alert needs a reason." in refused.text
        assert 'role="alert"' in refused.text and 'value="dismissed" checked' in refused.text
        assert twin(customs, f"/alerts/{ship}.json")["state"] == "confirmed"

        dismissed = customs.post(f"/alerts/{ship}/triage", data={"state": "dismissed", "reason": " prosecuted "})
        assert dismissed.status_code == 200  # followed the redirect back to the alert
        assert "prosecuted" in dismissed.text
        back = customs.post(f"/alerts/{ship}/triage", data={"state": "new"}, follow_redirects=False)
        assert back.status_code == 303
        body = twin(customs, f"/alerts/{ship}.json")
        assert body["state"] == "new"
        assert [(h["state"], h["reason"], h["author"]) for h in body["history"]] == [
            ("confirmed", None, "web:customs"),
            ("dismissed", "prosecuted", "web:customs"),
            ("new", None, "web:customs"),
        ]
        assert twin(customs, "/alerts.json", state="new")["total"] == api(customs)["total"]
        unknown = customs.post(f"/alerts/{ship}/triage", data={"state": "closed"})
        assert unknown.status_code == 422 and "Unknown triage state" in unknown.text
    assert [t[2] for t in stored_triage(fresh)] == ["confirmed", "dismissed", "new"]
    logged = log_entries(fresh, "alert.triage")
    assert [(r.organisation, r.target, r.detail) for r in logged] == [
        ("customs", ship, "confirmed"), ("customs", ship, "dismissed: prosecuted"), ("customs", ship, "new"),
    ]


def test_a_red_alert_is_triaged_with_its_purpose_kept(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "fiu")) as fiu:
        red = alert_id(fiu, BRIBE, "pay-front-relative")
        # Without a purpose nothing is written, by the form or by the API.
        assert fiu.post(f"/alerts/{red}/triage", data={"state": "confirmed"}).status_code == 428
        assert fiu.post(f"/api/alerts/{red}/triage", json={"state": "confirmed"}).status_code == 428
        assert stored_triage(fresh) == []
        response = fiu.post(f"/alerts/{red}/triage", params=PURPOSE, data={"state": "confirmed"},
                            follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/alerts/{red}?purpose=case+2026-117+payment+review"
        assert fiu.get(response.headers["location"]).status_code == 200
        by_api = fiu.post(f"/api/alerts/{red}/triage", json={"state": "new"},
                          headers={"X-Chainlight-Purpose": "closing the payment review"})
        assert by_api.status_code == 200 and by_api.json()["state"] == "new"
    assert [(e.target, e.marking, e.purpose) for e in log_entries(fresh, "alert.triage")] == [
        (red, "RED", PURPOSE["purpose"]), (red, "RED", "closing the payment review"),
    ]
    assert [t[2] for t in stored_triage(fresh)] == ["confirmed", "new"]


def test_the_viewer_role_reads_but_may_not_triage(fresh: Settings) -> None:
    with TestClient(create_app(fresh, "customs", role="viewer")) as reader:
        ship = alert_id(reader, SEIZED)
        html = page(reader, f"/alerts/{ship}")
        assert f'action="/alerts/{ship}/triage"' not in html
        assert "may read alerts but not triage them" in html
        assert twin(reader, f"/alerts/{ship}.json")["may_triage"] is False
        refused = reader.post(f"/alerts/{ship}/triage", data={"state": "confirmed"}, follow_redirects=False)
        assert refused.status_code == 403
        assert "analyst" in refused.text
        api_refused = reader.post(f"/api/alerts/{ship}/triage", json={"state": "confirmed"})
        assert api_refused.status_code == 403 and api_refused.json()["status"] == 403
    assert stored_triage(fresh) == []


# -- before the rules run, and the home page ---------------------------------------------


def test_before_the_rules_run_the_pages_say_so(unrun: Path, tmp_path: Path) -> None:
    home = tmp_path / "unrun"
    shutil.copytree(unrun, home)
    with TestClient(create_app(_settings(home), "fiu")) as client:
        html = page(client, "/alerts")
        assert "No alerts yet" in html and "chainlight rules run" in html
        queue = twin(client, "/alerts.json")
        assert (queue["rules_run"], queue["alerts"], queue["total"]) == (False, [], 0)
        assert client.get(f"/alerts/{MISSING}").status_code == 409
        assert client.get(f"/alerts/{MISSING}.json").json()["status"] == 409
        assert twin(client, "/index.json")["latest_alerts"] is None
        assert "Latest alerts" not in page(client, "/")


@pytest.mark.parametrize("reader", READERS)
def test_the_home_page_shows_the_latest_visible_alerts(clients: dict[str, TestClient], reader: str) -> None:
    client = clients[reader]
    latest = twin(client, "/index.json")["latest_alerts"]
    visible = {a["alert_id"]: a for a in api(client)["alerts"]}
    assert latest and len(latest) == min(10, len(visible))
    for alert in latest:
        assert visible[alert["alert_id"]] == alert
    order = [(a["last_raised"], a["score"]) for a in latest]
    assert order == sorted(order, key=lambda o: (o[0], o[1]), reverse=True)
    html = page(client, "/")
    assert "Latest alerts" in html
    for alert in latest:
        assert f'href="/alerts/{alert["alert_id"]}"' in html
    assert ("TLP:RED" in html) == (reader == "fiu")


def test_routes_are_documented_as_pages_and_twins(clients: dict[str, TestClient]) -> None:
    schema = clients["public"].get("/openapi.json").json()
    assert schema["paths"]["/alerts.json"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AlertQueue"}
    one = schema["paths"]["/alerts/{alert_id}.json"]["get"]["responses"]
    assert one["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AlertPage"}
    assert {"404", "409", "428"} <= set(one)
    for path in ("/alerts", "/alerts/{alert_id}", "/alerts/{alert_id}/triage"):
        assert path not in schema["paths"]


def test_the_category_filter_names_exactly_the_rule_categories(clients: dict[str, TestClient]) -> None:
    assert get_args(Category) == CATEGORIES
    assert twin(clients["public"], "/alerts.json")["categories"] == list(CATEGORIES)
    schema = clients["public"].get("/openapi.json").json()
    [param] = [p for p in schema["paths"]["/alerts.json"]["get"]["parameters"] if p["name"] == "category"]
    assert param["schema"]["anyOf"][0]["enum"] == list(CATEGORIES)
