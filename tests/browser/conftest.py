"""Browser fixtures: the real app on a live server, one Chromium for the session, axe-core.

The app is ``webapp.create_app`` on a fresh SQLite file filled the way ``gapmeter demo`` fills
one (``populate_demo`` with a small count, ``create_demo_accounts``), served by werkzeug in a
thread on 127.0.0.1 at a free port. Playwright drives Debian's Chromium (``/usr/bin/chromium``;
Playwright's own browser downloads are not used). Without Chromium, the ``playwright`` package
or ``node_modules/axe-core`` the tests skip and say which is missing.

Screenshots of every page visited go to ``GAPMETER_SCREENSHOTS`` (default ``/tmp/screens``) for a
person to look at.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from surveys.db import make_engine
from surveys.demo import DemoSummary, populate_demo
from webapp import create_app
from webapp.auth.commands import create_demo_accounts

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GAPMETER_CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENS = Path(os.environ.get("GAPMETER_SCREENSHOTS", "/tmp/screens"))  # noqa: S108
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
#: Demo responses: enough for the dashboard to show unsuppressed cells, small enough to be quick.
DEMO_RESPONSES = 1200
PLAYWRIGHT_MISSING = "the playwright package is not installed (pip install -e '.[test]')"
SECRET = "browser-test-secret-key-that-is-long-enough-0123"


# The live server -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveServer:
    """The running app: its base URL, database, demo summary and ``role -> (email, password)``."""

    url: str
    app: Flask
    engine: Engine
    demo: DemoSummary
    accounts: dict[str, tuple[str, str]]

    def campaign(self, instrument: str, index: int = 0) -> str:
        """The key of the ``index``-th open demo campaign of ``instrument``."""
        keys = [c.key for c in self.demo.campaigns if c.instrument == instrument]
        return keys[index]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app on a demo-filled SQLite database, served on 127.0.0.1 at a free port."""
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'gapmeter.db'}"
    engine = make_engine(url)
    demo = populate_demo(engine, responses=DEMO_RESPONSES)
    accounts = {role: (email, password) for email, role, password in create_demo_accounts(engine)}
    app = create_app(
        {
            "INSTANCE_PATH": str(folder / "instance"),
            "GAPMETER_DATABASE_URL": url,
            "GAPMETER_AUTO_MIGRATE": False,
            "SECRET_KEY": SECRET,
        }
    )
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.port}"
    app.config["GAPMETER_BASE_URL"] = base_url  # links in downloaded files point here
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(base_url, app, engine, demo, accounts)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["gapmeter.engine"].dispose()
        engine.dispose()


# The browser ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Debian Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's: apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer) -> Iterator[Any]:
    """``new_context(viewport=..., java_script_enabled=...)``: fresh contexts (cookies, storage)
    at the live server's URL, closed after the test."""
    made: list[BrowserContext] = []

    def factory(viewport: dict[str, int] | None = None, **options: Any) -> BrowserContext:
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport or DESKTOP, **options
        )
        context.set_default_timeout(15_000)
        made.append(context)
        return context

    yield factory
    for context in made:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as ``SCREENS/<name>.png`` (for a person to look at)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than the viewport (no horizontal scrolling on a phone)."""
    widths: Any = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]}px wide in a {widths[1]}px viewport"


def sign_in(page: Page, live_server: LiveServer, role: str, next_path: str = "") -> None:
    """Sign in through the login form as the demo account of ``role``."""
    email, password = live_server.accounts[role]
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url, f"sign-in as {role} failed: {page.url}"


def visit(page: Page, path: str) -> None:
    """Go to ``path`` and insist on a page (a server error fails here, not at a later wait)."""
    response = page.goto(path)
    assert response is not None
    assert response.ok, f"GET {path} answered {response.status}"


def submit(page: Page, button: str, *, expect_ok: bool = True) -> int:
    """Press the form button named ``button``, wait for the next page and return its status
    (a server error fails here, with the status, rather than at a later wait)."""
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).click()
    response = navigation.value
    assert response is not None
    if expect_ok:
        assert response.ok, f"{button!r} led to {response.status} at {response.url}"
    return response.status


def blueprint_or_skip(live_server: LiveServer, name: str) -> None:
    """Skip (with the reason) while the ``name`` blueprint is not part of the app yet; once it
    is, the test runs and fails on whatever its pages lack."""
    if name not in live_server.app.blueprints:
        pytest.skip(f"webapp.{name} is not in the source tree yet: its pages cannot be tested")


# axe-core ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(f"axe-core missing at {AXE.relative_to(ROOT)} (run npm ci at the repo root)")
    return AXE.read_text(encoding="utf-8")


#: Impacts that fail a page; the others are printed.
BLOCKING = frozenset({"serious", "critical"})


def run_axe(page: Page, source: str) -> list[dict[str, Any]]:
    """Every axe-core violation on ``page`` (WCAG 2.x A/AA and best practices).

    axe is evaluated through the DevTools protocol, not a ``<script>`` element, so the pages'
    Content-Security-Policy stays as served."""
    page.evaluate(source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """Violations as readable lines: impact, rule, help and the first few offending nodes."""
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node.get('failureSummary', '')}")
    return "\n".join(lines)


def assert_accessible(page: Page, source: str, name: str) -> list[dict[str, Any]]:
    """Fail on serious or critical violations; print the minor and moderate ones."""
    violations = run_axe(page, source)
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    others = [v for v in violations if v["impact"] not in BLOCKING]
    if others:
        print(f"axe on {name}: minor/moderate\n{describe(others)}")  # noqa: T201
    assert not blocking, f"axe on {name} ({page.url}):\n{describe(blocking)}"
    return violations
