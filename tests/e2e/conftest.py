"""Fixtures for browser tests: the web world served by a real ``chainlight serve`` on loopback,
Debian's Chromium driven headless by Playwright, and one signed-in browser context per user.

Nothing is downloaded: Playwright drives ``/usr/bin/chromium`` (``scripts/setup`` installs it)
and every request goes to the server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from tests.conftest import REPO
from tests.support import web_world
from tests.support.web_world import PASSWORD, USERS

CHROMIUM = "/usr/bin/chromium"
#: Screenshots of every page the tests visit, kept as test artefacts (git ignores the folder).
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
#: How long a page or an element may take, in ms: the machine is small and shared.
PATIENCE_MS = 30_000


@pytest.fixture(scope="session")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e-server") / "serve.log"


@pytest.fixture(scope="session")
def base_url(tmp_path_factory: pytest.TempPathFactory, server_log: Path) -> Iterator[str]:
    """The world, served by ``chainlight serve`` (started first: it imports while the world is built)."""
    settings = web_world.new_home(tmp_path_factory.mktemp("e2e-world"))
    with web_world.serve(settings, server_log, prepare=lambda: web_world.build_world(settings)) as base:
        yield base


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup")
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"], timeout=PATIENCE_MS
    )
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def new_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    return context


def sign_in(context: BrowserContext, base_url: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would: the sign-in page, the fields, the button."""
    page = context.new_page()
    try:
        page.goto("/")  # not signed in: sent to the form, which brings the user back here
        assert "/login?next=" in page.url, page.url
        page.fill("#email", email)
        page.fill("#password", password)
        with page.expect_navigation():
            page.click("form[action='/login'] button[type=submit]")
        assert page.url == f"{base_url}/", page.url
    finally:
        page.close()


@pytest.fixture(scope="module")
def signed_in(browser: Browser, base_url: str) -> Iterator[dict[str, BrowserContext]]:
    """A browser context per user of :data:`web_world.USERS`, signed in through the form."""
    contexts: dict[str, BrowserContext] = {}
    try:
        for key, user in USERS.items():
            context = new_context(browser, base_url)
            contexts[key] = context
            sign_in(context, base_url, user.email)
        yield contexts
    finally:
        for context in contexts.values():
            context.close()
