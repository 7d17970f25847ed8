"""The chat page in a real browser without the Rasa stack: Rasa down gives a calm Dutch
message, the typed text stays, and "Opnieuw sturen" sends it once Rasa answers again. Rasa
is a small recording HTTP server here (the real one is in test_chat_e2e.py)."""

from __future__ import annotations

import pytest

from bot.storage.db import session_scope
from bot.storage.models import Client
from bot.web.dashboard import issue_code
from bot.web.security import format_code
from tests.browser.conftest import OUTPUT, LiveServer, make_live_app
from tests.web import seed
from tests.web.test_chat import FakeRasa

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret-key"


@pytest.fixture
def live(tmp_path):
    app = make_live_app(tmp_path, rasa_port=9)  # nothing listens on port 9: Rasa is down
    with session_scope(app.extensions["koers_engine"]) as session:
        data = seed.seed(session, SECRET)
        code = format_code(issue_code(session, session.get(Client, data.client_a), "t", SECRET))
    fake = FakeRasa()
    with LiveServer(app) as server:
        server.code, server.fake = code, fake
        yield server
    fake.close()


def test_rasa_down_keeps_the_text_and_resend_works(live, page):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live.url + "/chat/")
    page.get_by_label("Jouw code").fill(live.code)
    page.keyboard.press("Enter")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "niet bereikbaar" in alert.inner_text() and "niet kwijt" in alert.inner_text()
    box = page.get_by_label("Jouw bericht")
    box.fill("Dit bericht mag niet kwijt <b>raken</b>")
    page.get_by_role("button", name="Stuur").click()
    page.wait_for_function("() => !document.getElementById('verstuur').disabled")
    assert box.input_value() == "Dit bericht mag niet kwijt <b>raken</b>"
    page.screenshot(path=str(OUTPUT / "chat-rasa-down.png"), full_page=True)

    live.app.config["RASA_URL"] = live.fake.url  # Rasa is back
    page.get_by_role("button", name="Opnieuw sturen").click()
    page.wait_for_selector("#berichten .msg.koers")
    messages = page.locator("#berichten").inner_text()
    assert "Je zei: Dit bericht mag niet kwijt <b>raken</b>" in messages  # shown as text
    assert box.input_value() == ""
    assert [r["message"] for r in live.fake.received] == ["Dit bericht mag niet kwijt <b>raken</b>"]
    assert page.locator("#berichten b").count() == 0  # no HTML from a message

    # Only the newest buttons work; the page's own button sends its payload.
    page.get_by_role("button", name="Ja", exact=True).click()
    page.wait_for_function("() => document.querySelectorAll('#berichten .msg.koers').length >= 4")
    assert live.fake.received[-1]["message"] == "/bevestigen"
    assert page.locator("#berichten .choices button:not([disabled])").count() == 2

    # Uitloggen clears the device; the code page is back.
    page.get_by_role("button", name="Uitloggen").click()
    page.get_by_label("Jouw code").wait_for()
    assert page.evaluate("() => sessionStorage.length") == 0
