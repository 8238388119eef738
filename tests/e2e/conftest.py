"""Browser journeys: Playwright driving Debian's Chromium against pytest-django's live server.

The live server runs in a thread of the test process, so it shares the database (the
transactional test database), the cache and any clock that time-machine patches here.
Playwright never downloads a browser: it launches the system Chromium (``apt-get install -y
chromium``; ``.ci/run`` installs it when missing). Without it these tests skip, saying why.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from safeguard.accounts import services

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's default is 30 s; a journey step against a local server takes milliseconds, so a
# step that waits this long has failed.
STEP_TIMEOUT_MS = 10_000
# How long a test's page may take to finish its last requests before its browser closes.
SETTLE_TIMEOUT_MS = 3_000
CSP_MARKER = "Content Security Policy"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


def _chromium_missing_reason() -> str | None:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return None
    hint = "apt-get install -y chromium" if shutil.which("apt-get") else "install Chromium"
    return f"{CHROMIUM} is not installed; browser journeys need it ({hint}, as .ci/run does)"


# Package scope, not session: while Playwright's sync API lives it marks its asyncio loop as
# running on this thread (after every call), which changes how Django and asyncio behave for any
# test that runs meanwhile. So the browser lives exactly as long as tests/e2e runs.
@pytest.fixture(scope="package")
def browser(django_db_setup) -> Iterator[sync_api.Browser]:
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    # Django keeps connections per thread in sync code but per context once a loop runs: the test
    # thread would get fresh connections, without the test database's serialized contents (so
    # serialized_rollback would restore nothing). Keep using the ones pytest-django set up.
    originals = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as mp, sync_api.sync_playwright() as p:
        # With the loop marked running, Django refuses ORM calls on this thread (factories,
        # assertions) as "async unsafe". Nothing here is async: the live server answers from its
        # own thread while the test waits on the browser.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        assert asyncio._get_running_loop() is not None  # the per-context mode the pin is for
        for alias, connection in originals.items():
            connections[alias] = connection
        yield browser
        browser.close()
    assert asyncio._get_running_loop() is None  # the rest of the suite runs in sync mode again


@pytest.fixture(autouse=True)
def _builtin_roles(transactional_db) -> None:
    # The live server needs committed data, so every test here is transactional, and the flush
    # that ends one also empties the rows migrations made; put back the built-in roles.
    # (serialized_rollback would instead break when a non-serialized transactional test elsewhere
    # in the suite has recreated the content types with new ids.)
    services.roles_ensure_builtin()


@pytest.fixture
def page(browser: sync_api.Browser, live_server) -> Iterator[sync_api.Page]:
    """A fresh browser context (no cookies) per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    # Chromium fetches /favicon.ico in the background after each page; answered by Django, that
    # request would touch the database (session) while the test thread may be querying it.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    in_flight: set[object] = set()

    # Playwright calls Python functions only (not a set's bound methods).
    def started(request: object) -> None:
        in_flight.add(request)

    def ended(request: object) -> None:
        in_flight.discard(request)

    context.on("request", started)
    context.on("requestfinished", ended)
    context.on("requestfailed", ended)
    page = context.new_page()
    yield page
    # A request the page started last (an htmx panel, a poll) may still be on the server when
    # the test returns; closing the browser does not stop it there, and answered after the test
    # it would touch the database while it is flushed. Let the page's requests finish first (a
    # page holding a stream open is closed by its test, or waits here at most the settle time).
    deadline = time.monotonic() + SETTLE_TIMEOUT_MS / 1000
    while in_flight and not page.is_closed() and time.monotonic() < deadline:
        page.wait_for_timeout(25)  # lets Playwright deliver the requests' events
    context.close()


@pytest.fixture
def csp_violations(page: sync_api.Page) -> list[str]:
    """Console messages in which Chromium reports a Content Security Policy violation."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if CSP_MARKER in msg.text else None)
    return seen


def sign_in_with_totp(page: sync_api.Page, live_server, email: str) -> None:
    """Sign ``email`` in through the login form and the TOTP step (the user's factor from
    tests.factories), landing on the home page."""
    from tests.factories import PASSWORD, totp_code

    expect = sync_api.expect

    page.goto("/account/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(live_server.url + "/account/mfa/authenticate/")
    page.get_by_label("Code").fill(totp_code(email))
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect(page).to_have_url(live_server.url + "/")
