"""The web app in a real browser: two organisations sign in and each sees exactly what it may.

Chromium (Debian's, headless, driven by Playwright) talks to a real ``chainlight serve`` on
loopback over the world of :mod:`tests.support.web_world`: customs owns a RED dataset with a
secret informant, the NGO an AMBER dataset shared with customs and a GREEN registry. Each test
visits pages as a user of each organisation, checks what the page shows and what its JSON twin
answers (fetched with the same signed-in browser context), and fails on any JavaScript error,
console error, failed request or error response the page did not expect. Every page visited is
kept as a full-page screenshot in ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Request, Response, expect

from tests.e2e.conftest import new_context, sign_in
from tests.support.web_world import (
    AMBER_DATASET,
    PASSWORD,
    RED_DATASET,
    SECRET_ID,
    SECRET_NAME,
    USERS,
    VISIBLE,
)

ORGS = ("customs-admin", "ngo-analyst")
#: What only customs' RED dataset holds: nothing of it may reach the NGO, in a page or in JSON.
RED_ONLY = (RED_DATASET, SECRET_NAME, SECRET_ID, "money.bribe-flow", "Nyali Motors", "Mozambique", "country:MZ")
PURPOSE = "Case CX-7/2023: checking the informant's companies"


@dataclass
class Visit:
    """A page being visited, with everything that went wrong on it."""

    page: Page
    key: str
    screenshots: Path
    allowed_status: int
    problems: list[str] = field(default_factory=list)
    #: Statuses the page's own scripts are expected to meet and handle (428: a purpose is asked for).
    handled: tuple[int, ...] = ()

    def shoot(self, name: str) -> None:
        self.page.screenshot(path=str(self.screenshots / f"{self.key}-{name}.png"), full_page=True)


@contextmanager
def visit(
    context: BrowserContext, key: str, screenshots: Path, path: str, name: str, *, status: int = 200,
    handled: tuple[int, ...] = (),
) -> Iterator[Visit]:
    """Open ``path`` in a new tab of ``context``; it must answer ``status``. On leaving the block
    the page is photographed (as ``{key}-{name}.png``) and must have had no JavaScript error,
    console error, failed request or unexpected error response (``handled``: statuses the page's
    scripts answer themselves, such as a 428 that makes them ask for a purpose)."""
    page = context.new_page()
    seen = Visit(page, key, screenshots, status, handled=handled)

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        for expected_status in ((status,) if status >= 400 else ()) + handled:
            if f"the server responded with a status of {expected_status}" in message.text:
                return  # Chromium's own note on the error page this visit asked for, or a handled answer
        seen.problems.append(f"console error at {message.location.get('url')}: {message.text}")

    def on_response(response: Response) -> None:
        if response.status < 400:
            return
        if response.request.is_navigation_request() and response.status == status:
            return
        if not response.request.is_navigation_request() and response.status in handled:
            return
        seen.problems.append(f"{response.status} from {response.request.method} {response.url}")

    def on_failed(request: Request) -> None:
        seen.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.problems.append(f"JavaScript error: {error}"))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    try:
        response = page.goto(path)
        assert response is not None
        assert response.status == status, f"{path}: {response.status}"
        yield seen
        page.wait_for_load_state()  # pages with scripts have waited for what their scripts draw
        seen.shoot(name)
    finally:
        page.close()
    assert seen.problems == [], seen.problems


def get_json(context: BrowserContext, path: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    """A JSON twin fetched with the browser context's cookies, as the page's own scripts would."""
    response = context.request.get(path, headers=headers)
    assert response.status == status, f"{path}: {response.status} {response.text()[:300]}"
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def organisation(key: str) -> str:
    return USERS[key].organisation


def assert_nothing_red(text: str) -> None:
    leaked = [s for s in RED_ONLY if s in text]
    assert leaked == [], f"RED data leaked: {leaked}"


# -- home ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ORGS)
def test_home_lists_the_visible_datasets_and_their_counts(
    signed_in: dict[str, BrowserContext], screenshots: Path, key: str
) -> None:
    context, org = signed_in[key], organisation(key)
    home = get_json(context, "/index.json")
    assert home["organisation"] == org
    names = [d["name"] for d in home["datasets"]]
    assert set(names) == VISIBLE[org]
    assert home["totals"]["datasets"] == len(names)
    assert home["totals"]["entities"] == sum(d["entities"] for d in home["datasets"])
    assert {a["rule_id"] for a in home["latest_alerts"]} >= {"ownership.circular"}
    assert all(set(a["datasets"]) <= VISIBLE[org] for a in home["latest_alerts"])
    small_map = get_json(context, "/map.json?limit=40")
    drawn = [f for f in small_map["flows"] if len(f["stops"]) > 1]
    assert drawn
    assert_nothing_red(str(small_map))  # the home page's map gives no purpose: nothing RED, even for its owner
    assert (small_map["held_back"] > 0) == (org == "customs")

    with visit(context, key, screenshots, "/", "home") as seen:
        page = seen.page
        assert page.inner_text(".viewer strong") == org
        rows = page.locator("table.datasets tbody tr")
        assert rows.locator("th[scope=row]").all_inner_texts() == names
        entities = [int(c.replace(",", "")) for c in rows.locator("td:nth-child(5)").all_inner_texts()]
        assert entities == [d["entities"] for d in home["datasets"]]
        assert f"{home['totals']['entities']} entities" in page.inner_text("main .lede")
        # The home page's small route map: the world, and one group of arcs per flow.
        page.locator("#map svg path.country").nth(100).wait_for(state="attached")
        expect(page.locator("#map g.flow")).to_have_count(len(drawn))
        html = page.content()
    if org == "customs":
        assert "money.bribe-flow" in {a["rule_id"] for a in home["latest_alerts"]}
        assert SECRET_NAME not in html  # the home page lists datasets and alerts, never names from them
    else:
        assert_nothing_red(html)
        assert_nothing_red(str(home) + str(small_map))


# -- search -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ORGS)
def test_search_finds_the_secret_name_only_for_its_owner(
    signed_in: dict[str, BrowserContext], screenshots: Path, key: str
) -> None:
    context, org = signed_in[key], organisation(key)
    query = f"q={quote(SECRET_NAME)}"
    results = get_json(context, f"/search.json?{query}")
    browse = get_json(context, "/search.json")  # no query: facets over everything visible
    assert {f["value"] for f in browse["facets"]["dataset"]} == VISIBLE[org]
    markings = {f["value"] for f in browse["facets"]["marking"]}

    with visit(context, key, screenshots, f"/search?{query}", "search-secret") as seen:
        page = seen.page
        links = page.locator("section.results tbody th[scope=row] a")
        facets = page.locator("aside.facets").inner_text()
        html = page.content()
        if org == "customs":
            assert results["total"] == 1
            (hit,) = results["hits"]
            assert (hit["entity_id"], hit["caption"], hit["marking"]) == (SECRET_ID, SECRET_NAME, "RED")
            assert hit["datasets"] == [RED_DATASET]
            assert [f["value"] for f in results["facets"]["dataset"]] == [RED_DATASET]
            assert [f["value"] for f in results["facets"]["marking"]] == ["RED"]
            assert links.all_inner_texts() == [SECRET_NAME]
            assert links.first.get_attribute("href") == f"/entities/{SECRET_ID}"
            assert RED_DATASET in facets and "TLP:RED" in facets
            assert "TLP:RED" in page.inner_text("main .lede")
        else:
            assert results["total"] == 0 and results["hits"] == []
            assert all(values == [] for values in results["facets"].values())
            assert links.count() == 0
            assert "Nothing shared with ngo matches" in page.inner_text("section.results")
            # The query itself is echoed in the search box; nothing else of the RED dataset appears.
            assert_nothing_red(html.replace(SECRET_NAME, ""))
            assert_nothing_red(str(browse))
    assert ("RED" in markings) == (org == "customs")
    assert markings <= {"RED", "AMBER", "GREEN"}


# -- entity profiles ----------------------------------------------------------------------------


def test_the_owner_gives_a_purpose_then_sees_the_red_profile(
    signed_in: dict[str, BrowserContext], screenshots: Path
) -> None:
    key = "customs-admin"
    context = signed_in[key]
    asked = get_json(context, f"/entities/{SECRET_ID}.json", status=428)
    assert asked["status"] == 428 and "purpose" in asked["error"]
    profile = get_json(context, f"/entities/{SECRET_ID}.json?purpose={quote(PURPOSE)}")
    assert (profile["caption"], profile["marking"], profile["purpose"]) == (SECRET_NAME, "RED", PURPOSE)
    assert [d["name"] for d in profile["datasets"]] == [RED_DATASET]
    by_header = get_json(context, f"/entities/{SECRET_ID}.json", headers={"X-Chainlight-Purpose": PURPOSE})
    assert by_header["caption"] == SECRET_NAME
    owned = [c["caption"] for r in profile["relations"] if r["prop"] == "owner" for c in r["counterparts"]]
    assert owned == ["Nyali Motors Ltd"]
    # A profile merged across sources: customs reads its RED records with the NGO's AMBER ones
    # (with a purpose); the NGO reads the same person from its own records alone.
    sister = get_json(context, f"/entities/fiu-relative.json?purpose={quote(PURPOSE)}")
    assert {RED_DATASET, AMBER_DATASET} <= {d["name"] for d in sister["datasets"]}
    assert sorted(sister["members"]) == ["fiu-relative", "ngo-relative"]
    assert sister["marking"] == "RED"
    shared = get_json(signed_in["ngo-analyst"], "/entities/ngo-relative.json")
    assert [d["name"] for d in shared["datasets"]] == [AMBER_DATASET]
    assert shared["members"] == ["ngo-relative"] and shared["marking"] == "AMBER"
    assert get_json(signed_in["ngo-analyst"], "/entities/fiu-relative.json", status=404)["status"] == 404

    with visit(context, key, screenshots, f"/entities/{SECRET_ID}", "entity-purpose", status=428) as seen:
        page = seen.page
        assert page.inner_text("h1") == "Why do you need this?"
        assert SECRET_NAME not in page.content()  # nothing of the item before the purpose is given
        page.fill("#purpose", PURPOSE)
        with page.expect_navigation():
            page.click("section.purpose button[type=submit]")
        assert "purpose=" in page.url
        seen.shoot("entity-profile")
        assert SECRET_NAME in page.inner_text("h1")
        assert "TLP:RED" in page.inner_text("h1")
        assert PURPOSE in page.inner_text("p.purpose")
        assert RED_DATASET in page.inner_text("dl.facts")
        assert "Nyali Motors Ltd" in page.inner_text("main")
    # The read and its purpose are in the organisation's access log.
    audit = get_json(context, "/audit.json")
    reads = [e for e in audit["entries"] if e["action"] == "entity.read" and e["target"] == SECRET_ID]
    assert reads and reads[0]["purpose"] == PURPOSE and reads[0]["marking"] == "RED"
    assert reads[0]["user"] == USERS[key].email


def test_the_red_profile_is_missing_for_the_other_organisation(
    signed_in: dict[str, BrowserContext], screenshots: Path
) -> None:
    key = "ngo-analyst"
    context = signed_in[key]
    hidden = get_json(context, f"/entities/{SECRET_ID}.json", status=404)
    unknown = get_json(context, "/entities/no-such-entity.json", status=404)
    assert hidden == {**unknown, "error": f"No such entity: {SECRET_ID}."}
    # With a purpose it is still missing: asking for one would tell that something is there.
    assert get_json(context, f"/entities/{SECRET_ID}.json?purpose={quote(PURPOSE)}", status=404) == hidden

    with visit(context, key, screenshots, f"/entities/{SECRET_ID}", "entity-hidden", status=404) as seen:
        hidden_page = seen.page.inner_text("main")
        assert_nothing_red(seen.page.content().replace(SECRET_ID, ""))
    with visit(context, key, screenshots, "/entities/no-such-entity", "entity-unknown", status=404) as seen:
        unknown_page = seen.page.inner_text("main")
    assert hidden_page.replace(SECRET_ID, "ID") == unknown_page.replace("no-such-entity", "ID")


# -- alerts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ORGS)
def test_the_alerts_queue_holds_only_alerts_on_visible_evidence(
    signed_in: dict[str, BrowserContext], screenshots: Path, key: str
) -> None:
    context, org = signed_in[key], organisation(key)
    queue = get_json(context, "/alerts.json?limit=100")
    alerts = queue["alerts"]
    assert queue["total"] == len(alerts) > 0
    assert all(set(a["datasets"]) <= VISIBLE[org] for a in alerts)
    rules = {a["rule_id"] for a in alerts}
    assert ("money.bribe-flow" in rules) == (org == "customs")
    assert "ownership.circular" in rules

    with visit(context, key, screenshots, "/alerts?limit=100", "alerts") as seen:
        page = seen.page
        assert page.locator("table.alerts tbody tr").count() == len(alerts)
        assert f"{len(alerts)} alert" in page.inner_text("main .lede")
        if org != "customs":
            assert_nothing_red(page.content())
    circular = next(a for a in alerts if a["rule_id"] == "ownership.circular")
    with visit(context, key, screenshots, f"/alerts/{circular['alert_id']}", "alert-circular") as seen:
        assert "Mobius Trading Ltd" in seen.page.inner_text("main")
        assert "TLP:GREEN" in seen.page.inner_text("main")


def test_an_alert_on_red_evidence_is_missing_for_the_other_organisation(signed_in: dict[str, BrowserContext]) -> None:
    customs = get_json(signed_in["customs-admin"], "/alerts.json?rule=money.bribe-flow")
    red = customs["alerts"][0]["alert_id"]
    assert customs["alerts"][0]["marking"] == "RED"
    ngo = signed_in["ngo-analyst"]
    hidden = get_json(ngo, f"/alerts/{red}.json", status=404)
    unknown = get_json(ngo, "/alerts/al-000000000000000000000000.json", status=404)
    assert hidden["error"].replace(red, "ID") == unknown["error"].replace("al-000000000000000000000000", "ID")
    assert get_json(ngo, f"/api/alerts/{red}", status=404)["status"] == 404


def test_triage_through_the_form_is_kept_per_organisation(
    signed_in: dict[str, BrowserContext], screenshots: Path
) -> None:
    """A form post from a real browser (its CSRF token, its Origin header) records the NGO's
    decision; customs' queue keeps its own state for the same alert."""
    key = "ngo-analyst"
    context = signed_in[key]
    circular = get_json(context, "/alerts.json?rule=ownership.circular")["alerts"][0]["alert_id"]
    reason = "Checked against the registry: a real loop"
    with visit(context, key, screenshots, f"/alerts/{circular}", "alert-triage") as seen:
        page = seen.page
        page.check("form.triage input[name=state][value=confirmed]")
        page.fill("#triage-reason", reason)
        page.click("form.triage button[type=submit]")
        page.wait_for_url(f"**/alerts/{circular}")
        expect(page.locator("span.state")).to_have_text("confirmed")
        assert reason in page.inner_text("table.history")
        seen.shoot("alert-triaged")
    mine = get_json(context, f"/alerts/{circular}.json")
    assert mine["state"] == "confirmed"
    assert [(h["state"], h["reason"], h["author"]) for h in mine["history"]] == [
        ("confirmed", reason, USERS[key].email)
    ]
    theirs = get_json(signed_in["customs-admin"], f"/api/alerts/{circular}")
    assert theirs["state"] == "new" and theirs["history"] == []
    # Set back, so the world is as it was for any later test.
    assert context.request.post(
        f"/api/alerts/{circular}/triage", data={"state": "new"},
        headers={"X-CSRF-Token": csrf_token(context)},
    ).status == 200


def csrf_token(context: BrowserContext) -> str:
    page = context.new_page()
    try:
        page.goto("/account")
        token = page.get_attribute("meta[name=csrf-token]", "content")
    finally:
        page.close()
    assert token
    return token


# -- network explorer ---------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "start", "caption"), [
    ("customs-admin", SECRET_ID, SECRET_NAME),
    ("ngo-analyst", "reg-loop-a", "Mobius Trading Ltd"),
])
def test_the_network_explorer_draws_the_neighbourhood(
    signed_in: dict[str, BrowserContext], screenshots: Path, key: str, start: str, caption: str
) -> None:
    context, org = signed_in[key], organisation(key)
    with_purpose = {"X-Chainlight-Purpose": PURPOSE}
    if org == "customs":  # the informant is RED: nothing of it without a purpose
        assert get_json(context, f"/network.json?entity={start}", status=428)["status"] == 428
        assert get_json(context, f"/api/graph/neighbours/{start}?hops=1", status=428)["status"] == 428
    explorer = get_json(context, f"/network.json?entity={start}", headers=with_purpose)
    assert explorer["built"] is True and explorer["entity"]["caption"] == caption
    relations = [r["name"] for r in explorer["relations"]]
    assert ("Payment" in relations) == (org == "customs")  # payments are customs' RED evidence only
    neighbours = get_json(context, f"/api/graph/neighbours/{start}?hops=1", headers=with_purpose)
    count = len(neighbours["nodes"]) - 1
    assert count >= 1
    assert all(set(n["datasets"]) <= VISIBLE[org] for n in neighbours["nodes"])
    status = 428 if org == "customs" else 200

    with visit(context, key, screenshots, f"/network?entity={start}", "network", status=status) as seen:
        page = seen.page
        if org == "customs":  # the page asks for the purpose first, and names nothing before it is given
            assert caption not in page.content()
            page.fill("#purpose", PURPOSE)
            with page.expect_navigation():
                page.click("section.purpose button[type=submit]")
            assert "purpose=" in page.url
        words = f"{count} neighbour{'' if count == 1 else 's'} of {caption}."
        expect(page.locator("#network-status")).to_have_text(words)
        assert page.locator("#network canvas").count() >= 1  # Cytoscape drew on its canvases
        assert page.locator("#network canvas").first.bounding_box() is not None
        legend = page.locator("#network-legend-items li").all_inner_texts()
        assert legend, "the legend lists what is drawn"
        schemata = {n["schema"] for n in neighbours["nodes"]}
        assert schemata <= {item.strip() for item in legend}
        boxes = page.locator("#network-relations input[name=relation]")
        assert [boxes.nth(i).get_attribute("value") for i in range(boxes.count())] == relations
        if org != "customs":
            assert_nothing_red(page.content())
    if org == "customs":
        reads = get_json(context, "/audit.json?action=graph.neighbours")["entries"]
        assert reads and reads[0]["purpose"] == PURPOSE and reads[0]["marking"] == "RED"


def test_the_explorer_asks_for_a_purpose_in_the_page_when_a_path_is_red(
    signed_in: dict[str, BrowserContext], screenshots: Path
) -> None:
    """The path API answers 428 for a RED path: the explorer shows its own purpose form, then
    repeats the call with the purpose given there."""
    key = "customs-admin"
    context = signed_in[key]
    path = get_json(context, f"/api/graph/path?source={SECRET_ID}&target=fiu-car-dealer",
                    headers={"X-Chainlight-Purpose": PURPOSE})
    assert path["paths"] and path["paths"][0]["marking"] == "RED"
    with visit(context, key, screenshots, "/network", "network-purpose", handled=(428,)) as seen:
        page = seen.page
        expect(page.locator("#network-purpose")).to_be_hidden()
        page.fill("#path-source", SECRET_ID)
        page.fill("#path-target", "fiu-car-dealer")
        page.click("#network-path-form button[type=submit]")
        expect(page.locator("#network-purpose")).to_be_visible()
        expect(page.locator("#network-purpose-why")).to_contain_text("purpose")
        assert SECRET_NAME not in page.inner_text("main")
        page.fill("#network-purpose-input", PURPOSE)
        page.click("#network-purpose button[type=submit]")
        expect(page.locator("#network-purpose")).to_be_hidden()
        expect(page.locator("#network-path-result")).to_contain_text("handle as TLP:RED")
        expect(page.locator("#network-path-result")).to_contain_text(SECRET_NAME)
    reads = get_json(context, "/audit.json?action=graph.path")["entries"]
    assert reads and reads[0]["purpose"] == PURPOSE and reads[0]["marking"] == "RED"


def test_the_network_of_a_red_entity_is_missing_for_the_other_organisation(
    signed_in: dict[str, BrowserContext], screenshots: Path
) -> None:
    key = "ngo-analyst"
    context = signed_in[key]
    hidden = get_json(context, f"/network.json?entity={SECRET_ID}", status=404)
    assert hidden["error"] == f"No such entity: {SECRET_ID}."
    assert get_json(context, f"/api/graph/neighbours/{SECRET_ID}", status=404)["status"] == 404
    with visit(context, key, screenshots, f"/network?entity={SECRET_ID}", "network-hidden", status=404) as seen:
        assert_nothing_red(seen.page.content().replace(SECRET_ID, ""))


# -- route map ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ORGS)
def test_the_route_map_draws_countries_and_the_visible_flows(
    signed_in: dict[str, BrowserContext], screenshots: Path, key: str
) -> None:
    context, org = signed_in[key], organisation(key)
    held = get_json(context, "/map.json")  # without a purpose: RED data held back, even from its owner
    assert_nothing_red(str(held))
    data = get_json(context, "/map.json", headers={"X-Chainlight-Purpose": PURPOSE})
    assert all(set(f["datasets"]) <= VISIBLE[org] for f in data["flows"])
    routes = {tuple(f["stops"]) for f in data["flows"]}
    assert ("country:KE", "country:CN") in routes
    secret_route = ("country:MZ", "country:AE", "country:LK", "country:VN")
    assert (secret_route in routes) == (org == "customs")
    assert (held["held_back"] > 0) == (org == "customs") and data["held_back"] == 0

    with visit(context, key, screenshots, "/map", "map") as seen:
        page = seen.page
        page.locator("#map svg path.country").nth(100).wait_for(state="attached")
        expect(page.locator("#map g.flow")).to_have_count(len(held["flows"]))
        assert page.locator("#flows-table tbody tr[data-flow]").count() == len(held["flows"])
        assert page.locator("#map circle.seizure").count() == len(held["seizures"])
        # the map, its tables and its summary (the filter form lists the reader's own datasets by name)
        assert_nothing_red("".join(page.inner_html(part) for part in (
            "#map", "#map-summary", "#map-held", "#flows-table", "#seizures-table")))
        if org == "customs":  # the owner gives a purpose through the page's form; the map fetches again
            expect(page.locator("#map-held-text")).to_contain_text(
                f"{held['held_back']} flow{'' if held['held_back'] == 1 else 's'}")
            expect(page.locator("#map-held-text")).to_contain_text(
                "from RED data are held back: give a purpose to include them.")
            page.fill("#map-purpose-input", PURPOSE)
            page.click("#map-purpose button[type=submit]")
            expect(page.locator("#map-held")).to_be_hidden()
            expect(page.locator("#map g.flow")).to_have_count(len(data["flows"]))
            assert "purpose=" in page.url
        else:
            expect(page.locator("#map-held")).to_be_hidden()
        for flow in data["flows"]:
            assert page.locator(f"#map g.flow[data-flow='{flow['id']}'] path").count() == len(flow["stops"]) - 1
        assert page.locator("#flows-table tbody tr[data-flow]").count() == len(data["flows"])
        assert page.locator("#map circle.seizure").count() == len(data["seizures"])
        assert page.locator("#map-error").is_hidden()
        if org != "customs":
            assert_nothing_red(page.content())
    if org == "customs":
        reads = get_json(context, "/audit.json?action=map.read")["entries"]
        assert reads and reads[0]["purpose"] == PURPOSE and reads[0]["marking"] == "RED"


# -- administration -----------------------------------------------------------------------------


def test_the_admin_pages_are_for_admins(signed_in: dict[str, BrowserContext], screenshots: Path) -> None:
    admin = signed_in["customs-admin"]
    overview = get_json(admin, "/admin.json")
    assert {u["email"] for u in overview["users"]} == {"admin@customs.example"}
    with visit(admin, "customs-admin", screenshots, "/admin", "admin") as seen:
        page = seen.page
        assert page.locator("nav.sections a[href='/admin']").count() == 1
        users = page.inner_text("#users")
        assert "admin@customs.example" in users and "ngo.example" not in users
    with visit(admin, "customs-admin", screenshots, "/audit", "audit") as seen:
        assert "sign-in" in seen.page.inner_text("main")

    analyst = signed_in["ngo-analyst"]
    assert get_json(analyst, "/admin.json", status=403)["status"] == 403
    assert get_json(analyst, "/audit.json", status=403)["status"] == 403
    with visit(analyst, "ngo-analyst", screenshots, "/admin", "admin-refused", status=403) as seen:
        assert seen.page.locator("nav.sections a[href='/admin']").count() == 0
        assert "customs.example" not in seen.page.content()


# -- signing in and out -------------------------------------------------------------------------


def test_a_wrong_password_is_refused_on_the_form(browser: Browser, base_url: str, screenshots: Path) -> None:
    context = new_context(browser, base_url)
    try:
        with visit(context, "anonymous", screenshots, "/login", "login") as seen:
            page = seen.page
            page.fill("#email", USERS["ngo-analyst"].email)
            page.fill("#password", "not the password at all")
            seen.allowed_status = 401
            with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
                page.click("form[action='/login'] button[type=submit]")
            assert answer.value.status == 401
            page.wait_for_load_state()
            seen.problems[:] = [p for p in seen.problems if "status of 401" not in p and not p.startswith("401 ")]
            seen.shoot("login-refused")
            assert page.inner_text("p.error") == "Wrong e-mail address or password."
        assert context.request.get("/index.json").status == 401
    finally:
        context.close()


@pytest.mark.parametrize("key", ORGS)
def test_signing_out_ends_the_session(browser: Browser, base_url: str, screenshots: Path, key: str) -> None:
    context = new_context(browser, base_url)
    try:
        sign_in(context, base_url, USERS[key].email, PASSWORD)
        assert get_json(context, "/index.json")["organisation"] == organisation(key)
        with visit(context, key, screenshots, "/account", "account") as seen:
            page = seen.page
            assert USERS[key].email in page.inner_text(".viewer")
            page.click(".viewer form[action='/logout'] button")
            page.wait_for_url(f"{base_url}/login")
            seen.shoot("signed-out")
        assert get_json(context, "/index.json", status=401)["status"] == 401
        page = context.new_page()
        page.goto("/")
        assert page.url.startswith(f"{base_url}/login?next=")
        page.close()
    finally:
        context.close()


def test_the_server_logged_no_error(server_log: Path, base_url: str) -> None:
    log = server_log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in log and "unexpected error" not in log, log[-3000:]
    assert re.search(r"\b500\b", log) is None, log[-3000:]

