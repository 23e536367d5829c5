"""Browser fixtures: Debian's chromium driven by Playwright against the real app served on a loopback port.

The `app` fixture (and so the database, SQLite and PostgreSQL) comes from tests/conftest.py. The session
cookie stays Secure (settings.secure_cookies=True, as in production): Chromium treats http://127.0.0.1 as a
potentially trustworthy origin and stores Secure cookies from it, so no override of `settings` is needed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One headless chromium for the whole run; a missing browser fails loudly (the test command installs it)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium (apt-get install chromium); "
            "Playwright's own browser download is not used",
            pytrace=False,
        )
    instance = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield instance
    instance.close()


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app served by werkzeug on a free loopback port in a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="e2e-live-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()  # stops serve_forever and waits for it
        server.server_close()  # closes the listening socket (else a ResourceWarning fails the run)
        thread.join(timeout=10)
        assert not thread.is_alive(), "the live server thread did not stop"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    yield tab
    context.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The loopback server is werkzeug's development server: when the browser drops a static download (the favicon)
    halfway, the server leaves its open file to the garbage collector, which warns at a random later moment."""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.filterwarnings("ignore:unclosed file.*static:ResourceWarning"))
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore:Exception ignored in.*static:pytest.PytestUnraisableExceptionWarning"
                )
            )
