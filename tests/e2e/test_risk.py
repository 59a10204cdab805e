"""The risk pages in a real browser: the benchmark with its map and weight form, the heat map, a
port's profile, its register (kept through the form, exported) and the country tiers.

The world (:mod:`tests.support.web_world` with :mod:`tests.support.web_risk`) has GREEN incidents
at Mombasa, Dar es Salaam and Port Klang that both organisations see, and customs' RED incidents at
Dar es Salaam: the NGO never sees them, and customs sees them only after giving a purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.test_browser import ORGS, get_json, organisation, visit
from tests.support.web_risk import GREEN_TZDAR, RED_TZDAR
from tests.support.web_world import RED_DATASET

PURPOSE = "Case PI-9: port integrity review of Dar es Salaam"


def tzdar(body: dict[str, Any]) -> dict[str, Any]:
    found: list[dict[str, Any]] = [p for p in body["ports"] if p["code"] == "TZDAR"]
    assert len(found) == 1, [p["code"] for p in body["ports"]]
    return found[0]


@pytest.mark.parametrize("key", ORGS)
def test_the_benchmark_ranks_draws_and_holds_red_data_back(
    signed_in: dict[str, BrowserContext], screenshots: Path, key: str
) -> None:
    context, org = signed_in[key], organisation(key)
    held = get_json(context, "/risk.json?evidence=true")
    assert tzdar(held)["incidents"] == GREEN_TZDAR and RED_DATASET not in str(held)
    assert (held["held_back"], held["held_back_marking"]) == ((1, "RED") if org == "customs" else (0, None))
    with visit(context, key, screenshots, "/risk?evidence=true", "risk") as seen:
        page = seen.page
        page.locator("#risk-map svg path.country").nth(100).wait_for(state="attached")
        expect(page.locator("#risk-map circle.risk-point")).to_have_count(len(held["map"]))
        rows = page.locator("#risk-table tbody tr[data-port]")
        assert rows.count() == len(held["ports"])
        assert [rows.nth(i).get_attribute("data-port") for i in range(rows.count())] == [
            p["port_id"] for p in held["ports"]]
        assert page.locator("#risk-map-error").is_hidden()
        assert RED_DATASET not in page.content()
        if org == "customs":  # the owner gives a purpose through the form: its RED incidents count
            expect(page.locator("#risk-held-text")).to_contain_text("1 dataset marked RED is held back")
            page.fill("#risk-purpose-input", PURPOSE)
            with page.expect_navigation():
                page.click("#risk-purpose button[type=submit]")
            expect(page.locator("#risk-purpose-given")).to_contain_text(PURPOSE)
            told = get_json(context, "/risk.json?evidence=true", headers={"X-Chainlight-Purpose": PURPOSE})
            assert tzdar(told)["incidents"] == GREEN_TZDAR + RED_TZDAR and tzdar(told)["marking"] == "RED"
            row = page.locator(f"#risk-table tr[data-port='{tzdar(told)['port_id']}']")
            expect(row.locator("td.rank")).to_have_text(str(tzdar(told)["rank"]))
            page.locator("#risk-map circle.risk-point").first.wait_for(state="attached")
            seen.shoot("risk-purpose")
        else:
            assert page.locator("#risk-held").count() == 0
    if org == "customs":
        reads = get_json(context, "/audit.json?action=risk.read")["entries"]
        assert any(e["purpose"] == PURPOSE and e["marking"] == "RED" for e in reads)


def test_the_weight_form_moves_the_ranking(signed_in: dict[str, BrowserContext], screenshots: Path) -> None:
    key = "ngo-analyst"
    context = signed_in[key]
    before = get_json(context, "/risk.json?evidence=true")
    with visit(context, key, screenshots, "/risk?evidence=true", "risk-weights") as seen:
        page = seen.page
        page.fill("input[name='w.likelihood.incidents']", "0")
        page.fill("input[name='w.likelihood.missed-seizures']", "1")
        with page.expect_navigation():
            page.click("#risk-weight-form button[type=submit]")
        assert "w.likelihood.incidents=0" in page.url
        expect(page.locator("#risk-summary")).to_contain_text("Weights changed")
        after = get_json(context, page.url.replace("/risk?", "/risk.json?"))
        assert after["changed"] == {"likelihood.incidents": 0.0, "likelihood.missed-seizures": 1.0}
        assert [p["rank"] for p in after["ports"]] != [p["rank"] for p in before["ports"]]
        moved = [p for p in after["ports"] if p["rank_change"]]
        assert moved
        for p in moved:
            cell = page.locator(f"#risk-table tr[data-port='{p['port_id']}'] td.move")
            expect(cell).to_contain_text(f"(was {p['default_rank']})")
        page.locator("#risk-map circle.risk-point").first.wait_for(state="attached")
        seen.shoot("risk-weights-moved")


def test_the_heat_map_links_each_cell_to_its_ports(signed_in: dict[str, BrowserContext], screenshots: Path) -> None:
    key = "ngo-analyst"
    context = signed_in[key]
    heat = get_json(context, "/risk/heatmap.json?evidence=true")
    cells = [c for row in heat["rows"] for c in row if c["ports"]]
    assert sum(c["ports"] for c in cells) == heat["total"] > 0
    cell = min(cells, key=lambda c: c["ports"])
    with visit(context, key, screenshots, "/risk/heatmap?evidence=true", "risk-heatmap") as seen:
        page = seen.page
        link = page.locator(f"td[data-likelihood='{cell['likelihood']}'][data-impact='{cell['impact']}'] a")
        expect(link).to_have_text(str(cell["ports"]))
        with page.expect_navigation():
            link.click()
        expect(page.locator("#risk-cell")).to_be_visible()
        assert page.locator("#risk-table tbody tr[data-port]").count() == min(cell["ports"], 50)


@pytest.mark.parametrize("key", ORGS)
def test_a_port_profile_explains_its_score(signed_in: dict[str, BrowserContext], screenshots: Path, key: str) -> None:
    context = signed_in[key]
    body = get_json(context, "/risk/ports/KEMBA.json")
    score = body["score"]
    assert abs(sum(t["points"] for t in score["contributions"]) - score["residual"]) < 1e-6
    with visit(context, key, screenshots, "/risk/ports/KEMBA", "risk-port") as seen:
        page = seen.page
        expect(page.locator("#risk-total")).to_have_text(f"{score['residual']:.4f}")
        assert page.locator("#risk-contributions tbody tr").count() == len(score["contributions"])
        assert page.locator("#risk-controls tbody tr").count() == len(body["control_terms"])
        assert RED_DATASET not in page.content()


def test_a_register_is_kept_through_the_form_and_exported(
    signed_in: dict[str, BrowserContext], screenshots: Path
) -> None:
    key = "ngo-analyst"
    context = signed_in[key]
    draft = get_json(context, "/risk/ports/MYPKG/register.json")
    assert draft["risk_register"]["draft"] and draft["may_edit"]
    with visit(context, key, screenshots, "/risk/ports/MYPKG/register", "risk-register") as seen:
        page = seen.page
        expect(page.locator("#register-status")).to_contain_text("Draft")
        with page.expect_navigation():
            page.click("#register-save button[type=submit]")
        expect(page.locator("#register-status")).to_contain_text("Kept by ngo")
        csv_url = page.get_attribute("#register-csv", "href")
        pdf_url = page.get_attribute("#register-pdf", "href")
        seen.shoot("risk-register-kept")
    # The export links answer attachments (a browser's download aborts the page's request, so they
    # are fetched with the same signed-in context instead of clicked).
    assert csv_url == "/risk/ports/port-mypkg/register.csv" and pdf_url == "/risk/ports/port-mypkg/register.pdf"
    exported = context.request.get(csv_url)
    assert exported.status == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.text().startswith("port_id,port_code,") and "MYPKG" in exported.text()
    report = context.request.get(pdf_url)
    assert report.status == 200 and report.body().startswith(b"%PDF")
    kept = get_json(context, "/risk/ports/MYPKG/register.json")["risk_register"]
    assert not kept["draft"] and kept["created_by"] == "analyst@ngo.example"
    # customs is not in a group with the NGO's AMBER register: it gets its own draft, and none of the NGO's.
    other = get_json(signed_in["customs-admin"], "/risk/ports/MYPKG/register.json")
    assert other["risk_register"]["draft"] and other["others"] == []


def test_country_tiers_are_listed(signed_in: dict[str, BrowserContext], screenshots: Path) -> None:
    key = "customs-admin"
    context = signed_in[key]
    body = get_json(context, "/risk/countries.json")
    with visit(context, key, screenshots, "/risk/countries", "risk-countries") as seen:
        assert seen.page.locator("#risk-countries tbody tr[data-country]").count() == len(body["countries"])
