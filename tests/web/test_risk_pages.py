"""The risk pages and their JSON twins answer each organisation from the evidence it may read.

The world is the risk tests' (:mod:`tests.support.risk_world`): GREEN incidents at Mombasa, Dar es
Salaam, Port Klang and Nairobi, GREEN assessments, shipments and a seizure, and ``fiu``'s RED
incidents at Dar es Salaam (30), which must never move anyone else's score, rank or count, and
move the FIU's own only when it gives a purpose.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.model.markings import Marking
from chainlight.risk import evidence
from chainlight.risk.model import RiskModel
from chainlight.risk.scoring import score_ports
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.store.evidence import EvidenceStore
from chainlight.web.access import PURPOSE_HEADER
from chainlight.web.app import create_app
from tests.support.risk_world import build_risk_world

PURPOSE = "case 7: port integrity review"
SECRET_AIRPORT = "fiu-airport"
#: Fields that say what was held back, and so differ between a reader holding data back and one without it.
HELD = ("held_back", "held_back_marking", "purpose")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("risk-pages")
    settings = Settings.load(tmp / "home", f"sqlite:///{tmp / 'home' / 'chainlight.db'}").ensure()
    build_risk_world(settings, tmp)
    # An airport that only a RED report names: the FIU's alone to know of.
    secret = tmp / "fiu-airport.csv"
    secret.write_text("incident_id,port,country,date,process_stage,demanding_actor,item_demanded\n"
                      "FIU-ZNZ-1,ZNZ,TZ,2024-05-01,cargo clearance,customs,cash\n", encoding="utf-8")
    pipeline.ingest(settings, "csv", [secret], dataset=SECRET_AIRPORT, marking=Marking.RED, owner="fiu",
                    options={"mapping": "incidents"})
    with EvidenceStore(settings.evidence_path) as store:
        evidence.build(store, home=settings.home)
    return settings


@pytest.fixture(scope="module")
def clients(world: Settings) -> Iterator[dict[str, TestClient]]:
    """``local`` sees the GREEN datasets; ``fiu`` also its RED incidents; ``fiu-purpose`` gives a purpose."""
    with ExitStack() as stack:
        found = {org: stack.enter_context(TestClient(create_app(world, org))) for org in ("local", "fiu")}
        found["fiu-purpose"] = stack.enter_context(TestClient(create_app(world, "fiu")))
        found["fiu-purpose"].headers[PURPOSE_HEADER] = PURPOSE
        found["viewer"] = stack.enter_context(TestClient(create_app(world, "local", role="viewer")))
        found["macn"] = stack.enter_context(TestClient(create_app(world, "macn")))
        yield found


def get(client: TestClient, path: str, status: int = 200, /, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params) if params else client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def without_held(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in HELD}


def rows_of(html: str, attribute: str) -> list[str]:
    return re.findall(rf'<tr {attribute}="([^"]+)"', html)


def test_the_benchmark_ranks_every_port_and_the_page_shows_its_twin(clients: dict[str, TestClient]) -> None:
    client = clients["local"]
    body = get(client, "/risk.json", evidence="true")
    assert body["total"] >= 3803 and body["with_evidence"] == body["matching"] > 3
    ranks = [p["rank"] for p in body["ports"]]
    assert ranks == sorted(ranks) and "KEMBA" in {p["code"] for p in body["ports"][:3]}
    assert all(p["datasets"] for p in body["ports"])
    page = client.get("/risk", params={"evidence": "true"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert rows_of(page.text, "data-port") == [p["port_id"] for p in body["ports"]]
    for port in body["ports"]:
        assert f'href="/risk/ports/{port["port_id"]}"' in page.text
        assert f"{port['residual']:.1f}" in page.text
    assert 'data-json="/risk.json?evidence=true"' in page.text
    assert 'href="/risk"' in page.text  # the site navigation links to the benchmark
    # A page of ports, the next offset, and the map's points: evidence first, none without a place.
    first = get(client, "/risk.json", limit=10)
    assert len(first["ports"]) == 10 and first["next_offset"] == 10 and first["matching"] == first["total"]
    second = get(client, "/risk.json", limit=10, offset=10)
    assert [p["rank"] for p in second["ports"]] == list(range(11, 21))
    assert {p["port_id"] for p in body["ports"]} <= {m["port_id"] for m in first["map"]}
    assert all(-90 <= m["latitude"] <= 90 for m in first["map"])


def test_filters_narrow_the_ranking(clients: dict[str, TestClient]) -> None:
    client = clients["local"]
    kenya = get(client, "/risk.json", country="KE", limit=500)
    assert kenya["matching"] == len(kenya["ports"]) > 1 and {p["country"] for p in kenya["ports"]} == {"ke"}
    region = get(client, "/risk/ports/KEMBA.json")["facts"]["region"]
    same = get(client, "/risk.json", region=region, limit=500)
    assert same["ports"] and {p["region"] for p in same["ports"]} == {region}
    large = get(client, "/risk.json", size="L", limit=500)
    assert {p["harbour_size"] for p in large["ports"]} == {"L"}
    assert get(client, "/risk.json", region="", country="", size="")["matching"] == kenya["total"]  # empty = none
    refused = get(client, "/risk.json", 422, region="Atlantis")
    assert refused["error"] == "No region named 'Atlantis': see regions in /risk.json."
    assert get(client, "/risk.json", 422, size="XL")["status"] == 422


def test_contributions_sum_to_the_residual_score(clients: dict[str, TestClient]) -> None:
    for org in ("local", "fiu-purpose"):
        for code in ("KEMBA", "TZDAR", "MYPKG", "NBO"):
            body = get(clients[org], f"/risk/ports/{code}.json")
            score = body["score"]
            assert math.isclose(sum(t["points"] for t in score["contributions"]), score["residual"], abs_tol=1e-6)
            assert math.isclose(sum(t["points"] for t in body["impact_terms"]), score["impact"], abs_tol=1e-3)
            assert math.isclose(sum(t["points"] for t in body["control_terms"]), score["control_effectiveness"],
                                abs_tol=1e-3)
    page = clients["local"].get("/risk/ports/KEMBA")
    body = get(clients["local"], "/risk/ports/KEMBA.json")
    assert page.status_code == 200
    assert f'id="risk-total">{body["score"]["residual"]:.4f}<' in page.text
    assert re.findall(r'<tr data-factor="([^"]+)"', page.text) == [t["factor"] for t in body["score"]["contributions"]]


def test_the_port_profile_explains_and_ties_evidence(clients: dict[str, TestClient], world: Settings) -> None:
    body = get(clients["local"], "/risk/ports/kemba.json")  # any case
    assert body["score"]["code"] == "KEMBA" and body["facts"]["harbour_size"] == "M"
    gaps = {g["control"] for g in body["gaps"]}
    assert "container-scanners" not in gaps and "staff-rotation" in gaps  # in place / only partly
    assert body["missed_seizures"] >= 1  # the seizure at Hai Phong passed Mombasa
    assert body["register_url"] == "/risk/ports/port-kemba/register"
    # Incidents by stage, actor, item and consequence; another organisation's counts under k are hidden.
    incidents = body["incidents"]
    assert incidents["k"] == 5 and set(incidents["by"]) == {"stage", "actor", "item", "consequence"}
    shown = {line["key"]: line for line in incidents["by"]["stage"]}
    assert (shown["release"]["count"], shown["vessel-clearance"]["count"]) == (8, 7)
    hidden = get(clients["local"], "/risk/ports/TZDAR.json")["incidents"]
    assert hidden["total"] == "[c]" and {line["display"] for line in hidden["by"]["stage"]} == {"[c]"}
    assert "FIU" not in str(incidents)  # never an incident, never its id
    peers = {g["kind"]: g for g in body["peers"]}
    assert set(peers) == {"region", "size", "country"} and peers["country"]["key"] == "ke"
    assert [g["status"] for g in body["gaps"] if g["control"] == "staff-rotation"] == ["partial"]
    page = clients["local"].get("/risk/ports/KEMBA")
    assert 'id="risk-peers"' in page.text and 'data-by="stage"' in page.text
    # The same port by id, and the score the scorer computes for the same reader.
    assert get(clients["local"], "/risk/ports/port-kemba.json")["score"] == body["score"] | {}
    with pipeline.alerts_session(world, "local") as (store, _operational, reader):
        card = score_ports(store, reader, RiskModel.load(home=world.home))
    kemba = card.port("KEMBA")
    assert kemba is not None and (kemba.rank, kemba.residual) == (body["score"]["rank"], body["score"]["residual"])


def test_an_unknown_port_answers_404(clients: dict[str, TestClient]) -> None:
    client = clients["local"]
    assert get(client, "/risk/ports/ZZQQX.json", 404)["error"] == "No such port: ZZQQX."
    page = client.get("/risk/ports/ZZQQX")
    assert page.status_code == 404 and "No such port" in page.text
    assert client.get("/risk/ports/ZZQQX/register.json").status_code == 404
    assert client.get("/risk/ports/ZZQQX/register.csv").status_code == 404


def test_a_red_dataset_moves_nothing_for_another_organisation(clients: dict[str, TestClient]) -> None:
    """``local`` may not see ``fiu-incidents``: its answers are those of the FIU holding it back, and
    differ from the FIU's own with a purpose."""
    local, fiu, fiu_purpose = clients["local"], clients["fiu"], clients["fiu-purpose"]
    for path, params in (("/risk.json", {"evidence": "true"}), ("/risk.json", {"limit": 200}),
                         ("/risk/heatmap.json", {}), ("/risk/heatmap.json", {"variant": "inherent"}),
                         ("/risk/ports/TZDAR.json", {}), ("/risk/countries.json", {})):
        mine = get(local, path, **params)
        assert mine["held_back"] == 0 and "fiu-incidents" not in str(mine)
        assert without_held(mine) == without_held(get(fiu, path, **params)), path
    seen = get(local, "/risk/ports/TZDAR.json")["score"]
    told = get(fiu_purpose, "/risk/ports/TZDAR.json")["score"]
    # Dar es Salaam's 4 GREEN reports are another organisation's and under k: hidden from both.
    assert (seen["incidents_text"], seen["incidents_hidden"], seen["marking"]) == ("[c]", True, "GREEN")
    assert told["incidents_text"] == "30 + [c]" and told["marking"] == "RED" and told["residual"] > seen["residual"]
    mine = get(fiu_purpose, "/risk/ports/TZDAR.json")["incidents"]["by"]["stage"]
    assert {line["key"]: line["display"] for line in mine}["release"] == "30"  # its own reports, exactly
    assert told["rank"] <= seen["rank"]


def test_own_reports_are_exact_and_others_under_k_hidden_even_from_the_same_datasets(
    clients: dict[str, TestClient]
) -> None:
    """``local`` and ``macn`` see the same datasets, but ``macn`` reported Dar es Salaam's 4 incidents:
    it sees them, ``local`` does not (under k), whichever asks first."""
    assert get(clients["local"], "/risk/ports/TZDAR.json")["score"]["incidents_text"] == "[c]"
    assert get(clients["macn"], "/risk/ports/TZDAR.json")["score"]["incidents_text"] == "4"
    assert tzdar_incidents(get(clients["local"], "/risk.json", evidence="true")) == "[c]"
    assert tzdar_incidents(get(clients["macn"], "/risk.json", evidence="true")) == "4"
    page = clients["macn"].get("/risk", params={"evidence": "true"}).text
    assert re.search(r'<tr data-port="port-tzdar">.*?<td class="num">4</td>', page, re.S)


def tzdar_incidents(body: dict[str, Any]) -> str:
    [found] = [p["incidents_text"] for p in body["ports"] if p["code"] == "TZDAR"]
    assert isinstance(found, str)
    return found


def test_a_port_only_red_evidence_names_is_unknown_to_others(clients: dict[str, TestClient]) -> None:
    """Zanzibar airport joins the risk tables because the FIU's RED report names it: nobody else may
    learn that, from a list, a count or a rank."""
    local, told = clients["local"], clients["fiu-purpose"]
    everything = get(local, "/risk.json", limit=500, offset=3500)
    assert "airport-znz" not in {p["port_id"] for p in everything["ports"]}
    assert get(local, "/risk/ports/ZNZ.json", 404) == get(local, "/risk/ports/ZZQQX.json", 404) | {
        "error": "No such port: ZNZ."}
    assert get(clients["fiu"], "/risk/ports/ZNZ.json", 404)["error"] == "No such port: ZNZ."  # held back
    known = get(told, "/risk/ports/ZNZ.json")["score"]
    assert known["datasets"] == [SECRET_AIRPORT] and known["marking"] == "RED"
    # Zanzibar, and Kilimanjaro airport, which the risk world's RED FIU reports alone name too.
    assert get(told, "/risk.json")["total"] == everything["total"] + 2
    ranks = [p["rank"] for p in everything["ports"]]
    assert ranks == list(range(3501, 3501 + len(ranks)))  # no gap where the airport would rank
    assert sum(c["ports"] for row in get(local, "/risk/heatmap.json")["rows"] for c in row) == everything["total"]
    # Country evidence counts the ports the reader knows of.
    tanzania = [c for c in get(local, "/risk/countries.json")["countries"] if c["country"] == "tz"]
    told_tanzania = [c for c in get(told, "/risk/countries.json")["countries"] if c["country"] == "tz"]
    assert tanzania[0]["evidence"]["ports"] + 2 == told_tanzania[0]["evidence"]["ports"]
    # Any airport of the reference data may be mapped in a register: Zanzibar reads as another would.
    znz, other = (get(local, f"/risk/ports/{code}/register.json")["risk_register"] for code in ("ZNZ", "JRO"))
    assert znz["rows"] == other["rows"] == [] and znz["notes"] == other["notes"]
    assert get(local, "/risk/ports/border-secret/register.json", 404)["error"] == "No such port: border-secret."


def test_without_a_purpose_the_owners_red_data_is_held_back(clients: dict[str, TestClient]) -> None:
    fiu = clients["fiu"]
    held = get(fiu, "/risk.json", evidence="true")
    assert (held["held_back"], held["held_back_marking"], held["purpose"]) == (2, "RED", None)  # both RED datasets
    assert "fiu-incidents" not in held["datasets"] and held["marking"] == "GREEN"
    page = fiu.get("/risk", params={"evidence": "true"})
    assert 'id="risk-purpose"' in page.text and "2 datasets marked RED are held back" in " ".join(page.text.split())
    assert '<input type="hidden" name="evidence" value="true">' in page.text
    shown = fiu.get("/risk", params={"evidence": "true", "purpose": "case 8"})
    assert 'id="risk-purpose-given"' in shown.text and 'id="risk-purpose"' not in shown.text
    assert "TLP:RED" in shown.text
    told = get(fiu, "/risk.json", evidence="true", purpose="case 8")
    assert told["held_back"] == 0 and "fiu-incidents" in told["datasets"] and told["marking"] == "RED"
    store = fiu.app.state.services.operational  # type: ignore[attr-defined]
    [entry] = access_log.recent(store, organisation="fiu", action="risk.read", limit=1)
    assert (entry.target, entry.marking, entry.purpose) == ("benchmark?evidence=true", "RED", "case 8")
    refused = fiu.get("/risk.json", params={"purpose": "x"})
    assert (refused.status_code, refused.json()["error"]) == (428, "A purpose is 4 to 500 characters long.")


def test_changing_a_weight_moves_the_ranking(clients: dict[str, TestClient]) -> None:
    client = clients["local"]
    base = get(client, "/risk.json", evidence="true")
    params = {"evidence": "true", "w.likelihood.incidents": "0", "w.likelihood.missed-seizures": "1",
              "w.impact.harbour-size": ""}
    moved = get(client, "/risk.json", **params)
    assert moved["changed"] == {"likelihood.incidents": 0.0, "likelihood.missed-seizures": 1.0}
    assert "likelihood.incidents=0" in moved["model"]
    used = {w["key"]: w for w in moved["weights"]}
    assert used["likelihood.incidents"]["value"] == 0.0 and used["likelihood.incidents"]["default"] > 0
    assert set(used) == set(RiskModel.load().weights())
    before = {p["code"]: p["rank"] for p in base["ports"]}
    after = {p["code"]: p for p in moved["ports"]}
    assert after["AEJEA"]["rank"] < before["AEJEA"]  # a missed seizure weighs more now
    assert after["AEJEA"]["default_rank"] == before["AEJEA"]
    assert after["AEJEA"]["rank_change"] == before["AEJEA"] - after["AEJEA"]["rank"] > 0
    assert all(t["factor"] != "incidents" for t in after["KEMBA"]["top"])
    page = client.get("/risk", params=params)
    assert "Weights changed" in page.text and 'name="w.likelihood.incidents" value="0"' in page.text
    assert 'class="risk-up">▲' in page.text and 'id="risk-weights-reset"' in page.text
    # The same weights on a port's profile.
    profile = get(client, "/risk/ports/AEJEA.json", **params)
    assert profile["score"]["rank"] == after["AEJEA"]["rank"] and profile["score"]["rank_change"] > 0


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"w.likelihood.incidents": "lots"}, "Weight likelihood.incidents: 'lots' is not a number."),
        ({"w.likelihood.incidents": "-1"}, "Weight likelihood.incidents: give a number from 0 to 1000."),
        ({"w.likelihood.incidents": "nan"}, "Weight likelihood.incidents: give a number from 0 to 1000."),
        ({"w.mitigation": "2"}, "Weight mitigation: give a number from 0 to 1."),
        ({"w.likelihood.bribes": "1"}, "Unknown weight 'likelihood.bribes': the model's weights are"),
    ],
)
def test_a_bad_weight_answers_422_with_the_reason(
    clients: dict[str, TestClient], params: dict[str, str], words: str
) -> None:
    body = get(clients["local"], "/risk.json", 422, **params)
    assert body["error"].startswith(words)
    page = clients["local"].get("/risk", params=params)
    assert page.status_code == 422 and words.split(":")[0].split(" '")[0] in page.text


def test_a_model_without_any_likelihood_weight_is_refused(clients: dict[str, TestClient]) -> None:
    params = {f"w.likelihood.{k}": "0" for k in RiskModel.load().settings.likelihood}
    body = get(clients["local"], "/risk.json", 422, **params)
    assert "at least one factor needs a weight above 0" in body["error"]


def test_the_heat_map_counts_ports_per_cell_and_links_to_them(clients: dict[str, TestClient]) -> None:
    client = clients["local"]
    for variant in ("residual", "inherent"):
        heat = get(client, "/risk/heatmap.json", variant=variant, evidence="true")
        cells = [c for row in heat["rows"] for c in row]
        assert len(heat["rows"]) == 5 and all(len(r) == 5 for r in heat["rows"])
        assert [r[0]["likelihood"] for r in heat["rows"]] == [5, 4, 3, 2, 1]
        assert sum(c["ports"] for c in cells) == heat["total"] == get(client, "/risk.json", evidence="true")["matching"]
        for cell in cells:
            if cell["ports"]:
                listed = get(client, cell["url"].replace("/risk?", "/risk.json?"))
                assert listed["matching"] == cell["ports"]
                key = "residual_likelihood_class" if variant == "residual" else "likelihood_class"
                assert {(p[key], p["impact_class"]) for p in listed["ports"]} == {(cell["likelihood"],
                                                                                   cell["impact"])}
    page = client.get("/risk/heatmap", params={"evidence": "true"})
    heat = get(client, "/risk/heatmap.json", evidence="true")
    assert page.status_code == 200
    shown = re.findall(r'data-likelihood="(\d)" data-impact="(\d)">\s*(?:<a href="[^"]+">)?([\d,]+)', page.text)
    assert [(int(a), int(b), int(n.replace(",", ""))) for a, b, n in shown] == [
        (c["likelihood"], c["impact"], c["ports"]) for row in heat["rows"] for c in row]


def register_row(client: TestClient, stage: str, actor: str) -> dict[str, Any]:
    rows = get(client, "/risk/ports/KEMBA/register.json")["risk_register"]["rows"]
    found: list[dict[str, Any]] = [r for r in rows if (r["stage"], r["actor"]) == (stage, actor)]
    assert len(found) == 1, rows
    return found[0]


def test_the_register_is_a_draft_until_kept_then_changed_and_exported(clients: dict[str, TestClient]) -> None:
    client = clients["local"]
    draft = get(client, "/risk/ports/KEMBA/register.json")
    assert draft["risk_register"]["draft"] and draft["risk_register"]["rows"] and draft["may_edit"]
    assert draft["risk_register"]["port_id"] == "port-kemba" and draft["risk_register"]["marking"] == "AMBER"
    grid = draft["heatmaps"]["residual"]
    assert sum(len(c["rows"]) for row in grid for c in row) == len(draft["risk_register"]["rows"])
    page = client.get("/risk/ports/KEMBA/register")
    assert page.status_code == 200 and 'id="register-save"' in page.text and "Draft" in page.text
    exported = client.get(draft["csv_url"])
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert 'filename="register-port-kemba.csv"' in exported.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(lines) == len(draft["risk_register"]["rows"]) and lines[0]["port_code"] == "KEMBA"
    pdf = client.get(draft["pdf_url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    # The viewer role reads but may not keep it.
    assert not get(clients["viewer"], "/risk/ports/KEMBA/register.json")["may_edit"]
    assert clients["viewer"].post("/risk/ports/KEMBA/register/save", data={}).status_code == 403
    kept = client.post("/risk/ports/KEMBA/register/save", data={"marking": "AMBER"}, follow_redirects=False)
    assert (kept.status_code, kept.headers["location"]) == (303, "/risk/ports/port-kemba/register")
    saved = get(client, "/risk/ports/KEMBA/register.json")["risk_register"]
    assert not saved["draft"] and saved["created_by"] == "local"
    assert len(saved["rows"]) == len(draft["risk_register"]["rows"])
    row = client.post("/risk/ports/KEMBA/register/rows", data={"stage": "berthing", "actor": "pilot",
                                                               "likelihood": "4", "impact": "2"},
                      follow_redirects=False)
    assert row.status_code == 303
    pilot = register_row(client, "vessel-clearance", "pilot")
    assert (pilot["likelihood"], pilot["impact"]) == (4, 2)
    bad = client.post("/risk/ports/KEMBA/register/rows", data={"stage": "berthing", "actor": "pilot",
                                                               "likelihood": "9"})
    assert bad.status_code == 422 and "Likelihood must be 1-5, not 9." in bad.text
    action = client.post("/risk/ports/KEMBA/register/actions", data={
        "stage": "berthing", "actor": "pilot", "description": "rotate pilots", "owner": "harbour master",
        "due": "2027-01-31"}, follow_redirects=False)
    control = client.post("/risk/ports/KEMBA/register/controls", data={
        "stage": "berthing", "actor": "pilot", "control": "cctv", "status": "planned"}, follow_redirects=False)
    review = client.post("/risk/ports/KEMBA/register/reviews", data={"kind": "estimated", "note": "after rotation"},
                         follow_redirects=False)
    assert (action.status_code, control.status_code, review.status_code) == (303, 303, 303)
    pilot = register_row(client, "vessel-clearance", "pilot")
    assert pilot["actions"][0]["description"] == "rotate pilots" and pilot["actions"][0]["due"] == "2027-01-31"
    assert pilot["controls"] == [{"control": "cctv", "status": "planned", "note": None}]
    assert [v["kind"] for v in pilot["reviews"]] == ["initial", "estimated"]
    # The port's profile lists the kept register; another organisation cannot read an AMBER register
    # without a sharing group, and asking for it answers as for a missing one.
    refs = get(client, "/risk/ports/KEMBA.json")["registers"]
    assert [(r["organisation"], r["url"]) for r in refs] == [("local", "/risk/ports/port-kemba/register")]
    hidden = get(clients["fiu"], "/risk/ports/KEMBA/register.json", 404, owner="local")
    missing = get(clients["fiu"], "/risk/ports/KEMBA/register.json", 404, owner="nobody")
    assert hidden["error"] == missing["error"].replace("nobody", "local")
    store = client.app.state.services.operational  # type: ignore[attr-defined]
    actions = [e.action for e in access_log.recent(store, organisation="local", limit=50)]
    assert {"risk.register.save", "risk.register.row", "risk.register.export"} <= set(actions)


def test_country_tiers_say_why(clients: dict[str, TestClient]) -> None:
    body = get(clients["local"], "/risk/countries.json")
    assert body["scheme"] and body["criteria"]
    for country in body["countries"]:
        assert country["because"] and country["marking"] in ("CLEAR", "GREEN")
    page = clients["local"].get("/risk/countries")
    assert page.status_code == 200
    assert rows_of(page.text, "data-country") == [c["country"] for c in body["countries"]]


def test_before_the_risk_evidence_is_built_the_pages_say_so(tmp_path: Any) -> None:
    settings = Settings.load(tmp_path / "home", f"sqlite:///{tmp_path / 'home' / 'chainlight.db'}").ensure()
    with TestClient(create_app(settings, "local")) as client:
        body = get(client, "/risk.json", 409)
        assert body["error"].startswith("No risk evidence yet: run 'chainlight risk build'")
        assert client.get("/risk/heatmap").status_code == 409


def test_a_register_drawn_from_red_evidence_asks_for_a_purpose(clients: dict[str, TestClient]) -> None:
    told, bare = clients["fiu-purpose"], clients["fiu"]
    draft = get(told, "/risk/ports/TZDAR/register.json")["risk_register"]
    assert draft["draft"] and draft["marking"] == "RED" and "fiu-incidents" in draft["evidence_datasets"]
    held = get(bare, "/risk/ports/TZDAR/register.json")  # without a purpose the draft leaves the RED reports out
    assert held["held_back"] == 2 and "fiu-incidents" not in held["risk_register"]["evidence_datasets"]
    kept = told.post("/risk/ports/TZDAR/register/save", data={}, follow_redirects=False)
    assert kept.status_code == 303
    assert get(told, "/risk/ports/TZDAR/register.json")["risk_register"]["marking"] == "RED"
    refused = get(bare, "/risk/ports/TZDAR/register.json", 428)
    assert "purpose" in refused["error"]
    page = bare.get("/risk/ports/TZDAR/register")
    assert page.status_code == 428 and 'name="purpose"' in page.text
    assert bare.get("/risk/ports/TZDAR/register.csv").status_code == 428
    # Nobody else reads it, and asking answers as for a register that does not exist.
    assert get(clients["local"], "/risk/ports/TZDAR/register.json", 404, owner="fiu")["error"] == (
        "No register of TZDAR by fiu that you may read.")
    assert [r["organisation"] for r in get(clients["local"], "/risk/ports/TZDAR.json")["registers"]] == []
