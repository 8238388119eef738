"""Browser journeys: Playwright driving Debian's Chromium against pytest-django's live server.

The live server runs in a thread of the test process, so it shares the database (the
transactional test database), the cache and any clock that time-machine patches here.
Playwright never downloads a browser: it launches the system Chromium (``apt-get install -y
chromium``; ``.ci/run`` installs it when missing). Without it these tests skip, saying why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

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
CSP_MARKER = "Content Security Policy"

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


def _chromium_missing_reason() -> str | None:
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return None
    hint = "apt-get install -y chromium" if shutil.which("apt-get") else "install Chromium"
    return f"{CHROMIUM} is not installed; browser journeys need it ({hint}, as .ci/run does)"


# Package scope, not session: Playwright's sync API leaves an asyncio loop marked as running on
# this thread for as long as it lives, which would break any later test (outside tests/e2e) that
# touches the ORM or calls asyncio.run(). Everything browser-related ends with this package.
@pytest.fixture(scope="package")
def playwright() -> Iterator[sync_api.Playwright]:
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as mp, sync_api.sync_playwright() as p:
        # That running loop makes Django refuse ORM calls made on this thread (factories,
        # assertions) as "async unsafe". Nothing here is async: the live server answers from
        # its own thread, and the test waits on the browser while it does.
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield p


@pytest.fixture(scope="package")
def browser(playwright: sync_api.Playwright) -> Iterator[sync_api.Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Throttling counters and allauth's used-TOTP-code markers live in the cache and are keyed
    # by user id, which the database may hand out again after a transactional flush.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def page(browser: sync_api.Browser, live_server) -> Iterator[sync_api.Page]:
    """A fresh browser context (no cookies) per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def csp_violations(page: sync_api.Page) -> list[str]:
    """Console messages in which Chromium reports a Content Security Policy violation."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if CSP_MARKER in msg.text else None)
    return seen
