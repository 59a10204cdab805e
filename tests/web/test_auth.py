"""Signing in, sessions, CSRF, API tokens, roles and the access log, through the real app.

A small world of two organisations (customs with a RED dataset, an NGO with a GREEN one) is
served in accounts mode; the tests sign in through the form as a browser would, and try the
doors a careless app leaves open: no session, a forged form, a stolen-then-revoked token, a
redirect to another site, a viewer doing an analyst's work, an admin reaching another
organisation's users, and brute force.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chainlight import pipeline
from chainlight.accounts import service
from chainlight.model.markings import Marking
from chainlight.settings import Settings
from chainlight.store import access_log
from chainlight.web.app import create_app

PASSWORD = "a long pass phrase 42"
USERS = {
    "admin@customs.example": ("customs", "admin"),
    "analyst@customs.example": ("customs", "analyst"),
    "viewer@customs.example": ("customs", "viewer"),
    "admin@ngo.example": ("ngo", "admin"),
}


@pytest.fixture
def world(settings: Settings, tmp_path: Path) -> Settings:
    red = tmp_path / "red.jsonl"
    red.write_text('{"id": "p-1", "schema": "Person", "properties": {"name": ["REDSECRET Broker"]}}\n')
    green = tmp_path / "green.jsonl"
    green.write_text('{"id": "c-1", "schema": "Company", "properties": {"name": ["Open Exports Ltd"]}}\n')
    pipeline.ingest(settings, "ftm", [red], dataset="customs-red", marking=Marking.RED, owner="customs")
    pipeline.ingest(settings, "ftm", [green], dataset="ngo-green", marking=Marking.GREEN, owner="ngo")
    store = pipeline.open_operational(settings)
    for email, (org, role) in USERS.items():
        service.add_user(store, email, organisation=org, role=role, password=PASSWORD)
    store.dispose()
    return settings


@pytest.fixture
def app_client(world: Settings) -> Iterator[TestClient]:
    # Loopback over plain HTTP, as `chainlight serve` runs by default: cookies without Secure.
    with TestClient(create_app(world), base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        yield client


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next_url: str = "/") -> object:
    token = login_token(client)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": next_url})


def csrf_of(client: TestClient) -> str:
    page = client.get("/account")
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found is not None and found.group(1)
    return found.group(1)


def test_without_a_session_pages_redirect_to_sign_in_and_json_answers_401(app_client: TestClient) -> None:
    page = app_client.get("/datasets/ngo-green?x=1")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fdatasets%2Fngo-green%3Fx%3D1"
    data = app_client.get("/index.json")
    assert data.status_code == 401
    assert data.headers["www-authenticate"].startswith("Bearer")
    assert "REDSECRET" not in data.text and "ngo-green" not in data.text
    assert app_client.get("/api/alerts").status_code == 401
    assert app_client.post("/api/alerts/x/triage", json={"state": "confirmed"}).status_code == 401
    assert app_client.get("/-/health").status_code == 200  # public, says nothing about data
    login = app_client.get("/login")
    assert login.headers["content-security-policy"].startswith("default-src 'self'")
    assert login.headers["x-frame-options"] == "DENY"


def test_sign_in_sets_a_strict_http_only_cookie_and_shows_only_the_organisations_data(
    app_client: TestClient,
) -> None:
    answer = sign_in(app_client, "analyst@customs.example", next_url="/index.json")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/index.json"  # type: ignore[attr-defined]
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "chainlight_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    home = app_client.get("/index.json").json()
    assert home["organisation"] == "customs"
    assert {d["name"] for d in home["datasets"]} == {"customs-red", "ngo-green"}

    other = TestClient(app_client.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    sign_in(other, "admin@ngo.example")
    ngo_home = other.get("/index.json").json()
    assert ngo_home["organisation"] == "ngo"
    assert [d["name"] for d in ngo_home["datasets"]] == ["ngo-green"]
    assert "customs-red" not in other.get("/").text
    assert other.get("/datasets/customs-red.json").status_code == 404


def test_cookies_are_secure_off_loopback(world: Settings) -> None:
    with TestClient(create_app(world), base_url="https://chainlight.example", follow_redirects=False) as client:
        answer = sign_in(client, "analyst@customs.example")
        assert "Secure" in answer.headers["set-cookie"]  # type: ignore[attr-defined]


def test_wrong_passwords_are_refused_alike_and_rate_limited(app_client: TestClient, world: Settings) -> None:
    wrong = sign_in(app_client, "analyst@customs.example", "not the password at all")
    unknown = sign_in(app_client, "nobody@customs.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong e-mail address or password." in wrong.text  # type: ignore[attr-defined]
    assert "Wrong e-mail address or password." in unknown.text  # type: ignore[attr-defined]
    for _ in range(service.MAX_FAILURES_PER_ACCOUNT - 1):
        sign_in(app_client, "analyst@customs.example", "still wrong, still wrong")
    limited = sign_in(app_client, "analyst@customs.example")  # the right password, too late
    assert limited.status_code == 429  # type: ignore[attr-defined]
    assert int(limited.headers["retry-after"]) > 60  # type: ignore[attr-defined]
    assert "chainlight_session" not in limited.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    actions = [e.action for e in access_log.recent(pipeline.open_operational(world), limit=20)]
    assert actions.count("sign-in.refused") == service.MAX_FAILURES_PER_ACCOUNT + 1
    assert "sign-in.limited" in actions


def test_the_sign_in_form_needs_its_own_token_and_never_redirects_off_site(app_client: TestClient) -> None:
    forged = app_client.post("/login", data={"email": "analyst@customs.example", "password": PASSWORD,
                                             "csrf_token": "guessed"})
    assert forged.status_code == 403
    assert "chainlight_session" not in forged.headers.get("set-cookie", "")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        fresh = TestClient(app_client.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
        answer = sign_in(fresh, "analyst@customs.example", next_url=target)
        assert answer.headers["location"] == "/"  # type: ignore[attr-defined]


def test_posts_with_a_session_need_the_csrf_token(app_client: TestClient) -> None:
    sign_in(app_client, "analyst@customs.example")
    assert app_client.post("/account/tokens", data={"name": "no token"}).status_code == 403
    assert app_client.post("/account/tokens", data={"name": "bad", "csrf_token": "x" * 43}).status_code == 403
    foreign = app_client.post("/account/tokens", data={"name": "x", "csrf_token": csrf_of(app_client)},
                              headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    made = app_client.post("/account/tokens", data={"name": "scripts", "csrf_token": csrf_of(app_client)})
    assert made.status_code == 200
    assert re.search(r'id="new-token">clt_[\w-]{43}<', made.text)
    by_header = app_client.post("/account/tokens", data={"name": "header"},
                                headers={"X-CSRF-Token": csrf_of(app_client)})
    assert by_header.status_code == 200
    names = [t["name"] for t in app_client.get("/account.json").json()["tokens"]]
    assert names == ["scripts", "header"]


def test_api_tokens_act_as_their_user_until_revoked(app_client: TestClient, world: Settings) -> None:
    store = pipeline.open_operational(world)
    secret, row = service.create_token(store, "admin@ngo.example", "ci")
    bearer = {"Authorization": f"Bearer {secret}"}
    home = app_client.get("/index.json", headers=bearer).json()
    assert home["organisation"] == "ngo"
    assert [d["name"] for d in home["datasets"]] == ["ngo-green"]
    # No CSRF token needed: a browser never sends a bearer token by itself.
    assert app_client.get("/admin.json", headers=bearer).status_code == 200
    assert app_client.get("/index.json", headers={"Authorization": "Bearer clt_forged"}).status_code == 401
    assert app_client.get("/index.json", headers={"Authorization": "Basic abc"}).status_code == 401
    service.revoke_token(store, row.id)
    assert app_client.get("/index.json", headers=bearer).status_code == 401
    stored = {t.token_hash for t in service.tokens(store)}
    assert secret not in stored and service.digest(secret) in stored


def test_roles_limit_what_a_user_may_do(app_client: TestClient) -> None:
    sign_in(app_client, "viewer@customs.example")
    assert app_client.get("/admin.json").status_code == 403
    assert app_client.get("/audit").status_code == 403
    refused = app_client.post("/admin/users", data={"email": "x@customs.example", "role": "admin",
                                                    "csrf_token": csrf_of(app_client)})
    assert refused.status_code == 403


def test_admins_manage_their_own_organisation_only(app_client: TestClient, world: Settings) -> None:
    sign_in(app_client, "admin@customs.example")
    csrf = csrf_of(app_client)
    added = app_client.post("/admin/users", data={"email": "new@customs.example", "role": "analyst",
                                                  "name": "New Analyst", "csrf_token": csrf})
    assert added.status_code == 200
    found = re.search(r'id="new-password">([^<]+)<', added.text)
    assert found is not None
    admin = app_client.get("/admin.json").json()
    assert {u["email"] for u in admin["users"]} == {*(e for e, (o, _) in USERS.items() if o == "customs"),
                                                    "new@customs.example"}
    # Another organisation's user cannot be touched: it answers like a missing one.
    other = app_client.post("/admin/users/admin@ngo.example/disabled", data={"disabled": "true", "csrf_token": csrf})
    assert other.status_code == 404
    assert app_client.post("/admin/users/admin@customs.example/disabled",
                           data={"disabled": "true", "csrf_token": csrf}).status_code == 422
    # The new user signs in with the password shown once.
    fresh = TestClient(app_client.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    assert sign_in(fresh, "new@customs.example", found.group(1)).status_code == 303  # type: ignore[attr-defined]
    assert fresh.get("/index.json").json()["organisation"] == "customs"
    # Disabling ends that session at once.
    assert app_client.post("/admin/users/new@customs.example/disabled",
                           data={"disabled": "true", "csrf_token": csrf}).status_code == 303
    assert fresh.get("/index.json").status_code == 401
    audit = app_client.get("/audit.json").json()
    assert {"user.add", "user.disable", "sign-in"} <= {e["action"] for e in audit["entries"]}
    assert all(e["organisation"] == "customs" for e in audit["entries"])
    assert access_log.verify(pipeline.open_operational(world)).ok


def test_sharing_groups_are_managed_by_their_owner(app_client: TestClient, world: Settings) -> None:
    sign_in(app_client, "admin@customs.example")
    csrf = csrf_of(app_client)
    assert app_client.post("/admin/groups", data={"name": "port-watch", "csrf_token": csrf}).status_code == 303
    assert app_client.post("/admin/groups/port-watch/members",
                           data={"organisation": "ngo", "present": "true", "csrf_token": csrf}).status_code == 303
    groups = {g["name"]: g for g in app_client.get("/admin.json").json()["groups"]}
    assert groups["port-watch"]["members"] == ["customs", "ngo"]
    assert groups["port-watch"]["owner"] == "customs"
    ngo = TestClient(app_client.app, base_url="http://127.0.0.1:8000", follow_redirects=False)
    sign_in(ngo, "admin@ngo.example")
    taken = ngo.post("/admin/groups/port-watch/members",
                     data={"organisation": "ngo", "present": "false", "csrf_token": csrf_of(ngo)})
    assert taken.status_code == 422  # not the owner


def test_signing_out_ends_the_session(app_client: TestClient) -> None:
    sign_in(app_client, "analyst@customs.example")
    cookie = app_client.cookies.get("chainlight_session")
    assert cookie
    out = app_client.post("/logout", data={"csrf_token": csrf_of(app_client)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    replay = TestClient(app_client.app, base_url="http://127.0.0.1:8000", follow_redirects=False,
                        cookies={"chainlight_session": cookie})
    assert replay.get("/index.json").status_code == 401


def test_a_changed_password_ends_every_session(app_client: TestClient) -> None:
    sign_in(app_client, "analyst@customs.example")
    csrf = csrf_of(app_client)
    wrong = app_client.post("/account/password", data={"current": "not it at all", "new": "another long phrase 7",
                                                       "csrf_token": csrf})
    assert wrong.status_code == 403
    short = app_client.post("/account/password", data={"current": PASSWORD, "new": "short", "csrf_token": csrf})
    assert short.status_code == 422
    changed = app_client.post("/account/password", data={"current": PASSWORD, "new": "another long phrase 7",
                                                         "csrf_token": csrf})
    assert changed.status_code == 303
    assert app_client.get("/index.json").status_code == 401
    assert sign_in(app_client, "analyst@customs.example", "another long phrase 7").status_code == 303  # type: ignore[attr-defined]
