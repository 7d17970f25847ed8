"""Real-browser fixtures: Debian's chromium driven by Playwright (no browser downloads) and
the real web app served over HTTP by a werkzeug server in a thread."""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from bot.settings import PROJECT_ROOT, get_settings
from bot.storage.db import upgrade_database
from bot.web import create_app

CHROMIUM = os.environ.get("KOERS_CHROMIUM", "/usr/bin/chromium")
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
OUTPUT = PROJECT_ROOT / "test-output" / "browser"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The Flask app on 127.0.0.1:<free port>, in a background thread."""

    def __init__(self, app) -> None:
        self.app = app
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.app.extensions["koers_engine"].dispose()


def make_live_app(tmp: Path, database_url: str | None = None, **overrides):
    if database_url is None:
        database_url = f"sqlite:///{tmp / 'koers.db'}"
        upgrade_database(database_url)
    settings = dataclasses.replace(
        get_settings(),
        database_url=database_url,
        var_dir=tmp,
        secret_key="browser-test-secret-key",
        **overrides,
    )
    return create_app(settings=settings)


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps its own event loop in this thread while it
    # runs; stopping it after each module keeps it away from the asyncio tests.
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium) "
            "or `apt-get install chromium`."
        )
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def axe_violations(page) -> list[dict]:
    """Run axe-core (vendored from npm) on the page: WCAG 2.0/2.1 A+AA and best practices.
    The page's context must bypass the CSP, because axe is injected as a script."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa', 'best-practice']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes}))"
    )


# True when the newest element matching the selector starts inside the part of the window that
# the chat's sticky bar (top) and composer (bottom) leave free, with at least 40 px of it shown.
NEWEST_IN_VIEW = """(selector) => {
  const items = document.querySelectorAll(selector);
  const el = items[items.length - 1];
  const r = el.getBoundingClientRect();
  const top = document.querySelector('.chat-top').getBoundingClientRect().bottom;
  const bottom = Math.min(window.innerHeight,
    document.getElementById('invoer').getBoundingClientRect().top);
  return r.top >= top - 1 && r.top < bottom - 40;
}"""

# Speech is captured, not spoken: the page's own speechSynthesis.speak is replaced by a spy.
SPEECH_SPY = """
window.__spoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = function (u) { window.__spoken.push(u.text); };
  window.speechSynthesis.cancel = function () {};
}
"""
