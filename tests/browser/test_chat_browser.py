"""The chat page in a real browser without the Rasa stack: Rasa down gives a calm Dutch
message, the typed text stays, and "Opnieuw sturen" sends it once Rasa answers again. Rasa
is a small recording HTTP server here (the real one is in test_chat_e2e.py)."""

from __future__ import annotations

import pytest

from bot.storage.db import session_scope
from bot.storage.models import Client
from bot.web.chat import COOKIE
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
        code_b = format_code(issue_code(session, session.get(Client, data.client_b), "t", SECRET))
    fake = FakeRasa()
    with LiveServer(app) as server:
        server.code, server.code_b, server.fake = code, code_b, fake
        server.client, server.client_b = data.client_a, data.client_b
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


def test_a_login_that_ran_out_keeps_the_typed_text_for_the_same_client(live, page):
    """A 401 while a text waits in the box (the login ran out, or ended elsewhere): the page
    asks for the code, and after the login the text is back in the box, unsent. Another
    client who logs in on the same tab finds nothing of the first one's."""
    live.app.config["RASA_URL"] = live.fake.url
    page.goto(live.url + "/chat/")
    page.get_by_label("Jouw code").fill(live.code)
    page.keyboard.press("Enter")
    page.wait_for_selector("#berichten .msg.koers")
    box = page.get_by_label("Jouw bericht")
    box.fill("Een lang verhaal over mijn week")
    page.context.clear_cookies(name=COOKIE)  # the login ran out while the client typed
    page.get_by_role("button", name="Stuur").click()
    page.get_by_label("Jouw code").wait_for()
    page.get_by_label("Jouw code").fill(live.code)
    page.keyboard.press("Enter")
    page.get_by_label("Jouw bericht").wait_for()
    assert page.get_by_label("Jouw bericht").input_value() == "Een lang verhaal over mijn week"
    assert "Je bericht is niet kwijt" in page.locator("#fout").inner_text()
    assert all(r["message"] != "Een lang verhaal over mijn week" for r in live.fake.received)

    # The page itself ran out (its CSRF token, e.g. a new secret key): it reloads itself, and
    # the text comes back in the box of the new page, unsent.
    received = len(live.fake.received)
    page.context.clear_cookies(name="koers_sessie")
    with page.expect_navigation():
        page.get_by_role("button", name="Stuur").click()
    page.locator("#fout").wait_for()
    assert "Je bericht is niet kwijt" in page.locator("#fout").inner_text()
    assert page.get_by_label("Jouw bericht").input_value() == "Een lang verhaal over mijn week"
    assert len(live.fake.received) == received

    # The same tab, now with a code for another client: nothing of the first client's.
    page.context.clear_cookies(name=COOKIE)
    page.get_by_label("Jouw bericht").fill("nog iets")
    page.get_by_role("button", name="Stuur").click()
    page.get_by_label("Jouw code").wait_for()
    page.get_by_label("Jouw code").fill(live.code_b)
    page.keyboard.press("Enter")
    page.wait_for_selector("#berichten .msg.koers")
    assert page.get_by_label("Jouw bericht").input_value() == ""
    assert "Een lang verhaal" not in page.locator("#berichten").inner_text()
    keys = page.evaluate("() => Object.keys(sessionStorage)")
    assert keys and all(k.endswith("-" + str(live.client_b)) for k in keys)


def _log_in_and_say(live, page, text: str) -> None:
    """Client A logs in on `page` (Rasa answers) and says `text`; back when Koers answered."""
    live.app.config["RASA_URL"] = live.fake.url
    page.goto(live.url + "/chat/")
    page.get_by_label("Jouw code").fill(live.code)
    page.keyboard.press("Enter")
    page.wait_for_selector("#berichten .msg.koers")
    page.get_by_label("Jouw bericht").fill(text)
    page.get_by_role("button", name="Stuur").click()
    page.wait_for_function(
        f"() => document.getElementById('berichten').innerText.includes('Je zei: {text}')"
    )


def test_a_tab_of_another_client_keeps_its_text_and_sends_nothing(live, page):
    """A shared tablet: client A's tab stays open while client B logs in in a second tab of
    the same browser. A's next message never reaches B's conversation, and the old tab does
    not turn into B's chat: it says someone else is logged in and keeps the text in its box.
    A crisis typed there still gets the fixed crisis help."""
    _log_in_and_say(live, page, "iets van de eerste")
    # A's login runs out (a logout in another tab takes A's tabs to the code page: the test
    # below), then B logs in in a second tab of the same browser.
    page.context.clear_cookies(name=COOKIE)  # the login cookie only, as when it runs out
    other = page.context.new_page()
    other.goto(live.url + "/chat/")
    other.get_by_label("Jouw code").fill(live.code_b)
    other.keyboard.press("Enter")
    other.wait_for_selector("#berichten .msg.koers")
    # A's conversation leaves A's tab as soon as B's chat opens (nothing of it is stored).
    page.wait_for_function(
        "() => !document.getElementById('berichten').innerText.includes('iets van de eerste')"
    )
    assert "Iemand anders gebruikt Koers" in page.locator("#fout").inner_text()
    assert page.evaluate(f"() => sessionStorage.getItem('koers-chat-{live.client}')") is None
    received = len(live.fake.received)

    page.get_by_label("Jouw bericht").fill("Dit is van de eerste")
    page.get_by_role("button", name="Stuur").click()
    page.wait_for_selector("#fout:not([hidden])")
    assert "iemand anders ingelogd" in page.locator("#fout").inner_text()
    assert page.get_by_label("Jouw bericht").input_value() == "Dit is van de eerste"
    assert all(r["message"] != "Dit is van de eerste" for r in live.fake.received[received:])
    assert page.locator("#chat-config").get_attribute("data-client") == str(live.client)
    # A crisis typed in the old tab: the help is shown with the refusal.
    page.get_by_label("Jouw bericht").fill("ik wil dood")
    page.get_by_role("button", name="Stuur").click()
    page.wait_for_function(
        "() => document.getElementById('berichten').innerText.includes('0800-0113')"
    )
    assert page.get_by_label("Jouw bericht").input_value() == "ik wil dood"
    assert len(live.fake.received) == received
    # B's own tab sends into B's conversation as before.
    other.get_by_label("Jouw bericht").fill("Nu van de tweede")
    other.get_by_role("button", name="Stuur").click()
    other.wait_for_function(
        "() => document.getElementById('berichten').innerText.includes('Je zei: Nu van de tweede')"
    )
    assert live.fake.received[-1]["message"] == "Nu van de tweede"
    other.close()


def test_a_logout_in_one_tab_clears_the_conversation_in_the_others(live, page):
    """A shared tablet: the client has two tabs open and logs out in one. The other tab used
    to keep showing the whole conversation until it was used; now it goes to the code page at
    once, and nothing of the conversation stays on its screen or in its storage. Its typed
    text comes back only when the same client logs in again."""
    _log_in_and_say(live, page, "mijn geheime zin")
    page.get_by_label("Jouw bericht").fill("half getypt")
    other = page.context.new_page()  # the second tab of the same client
    other.goto(live.url + "/chat/")
    other.wait_for_selector("#berichten")
    other.get_by_role("button", name="Uitloggen").click()
    other.get_by_label("Jouw code").wait_for()
    page.get_by_label("Jouw code").wait_for()  # the first tab is on the code page too
    assert "mijn geheime zin" not in page.content()
    assert page.evaluate(f"() => sessionStorage.getItem('koers-chat-{live.client}')") is None
    # The same client logs in again in that tab: the half-typed text is back in the box.
    page.get_by_label("Jouw code").fill(live.code)
    page.keyboard.press("Enter")
    page.wait_for_selector("#berichten .msg.koers")
    assert page.get_by_label("Jouw bericht").input_value() == "half getypt"
    other.close()


def test_two_tabs_of_one_client_keep_their_conversations(live, page):
    """The logout broadcast is for a logout or another client only: a message in one tab of
    the client leaves the other tab of the same client as it is (a first version wiped it on
    every message of Koers, and the screen reader heard nothing)."""
    _log_in_and_say(live, page, "eerste tab")
    other = page.context.new_page()
    other.goto(live.url + "/chat/")
    other.wait_for_selector("#berichten .msg.koers")
    other.get_by_label("Jouw bericht").fill("tweede tab")
    other.get_by_role("button", name="Stuur").click()
    other.wait_for_function(
        "() => document.getElementById('berichten').innerText.includes('Je zei: tweede tab')"
    )
    page.get_by_label("Jouw bericht").fill("weer de eerste")
    page.get_by_role("button", name="Stuur").click()
    page.wait_for_function(
        "() => document.getElementById('berichten').innerText.includes('Je zei: weer de eerste')"
    )
    other.wait_for_timeout(300)
    assert "Je zei: tweede tab" in other.locator("#berichten").inner_text()
    assert other.locator("#fout").is_hidden()
    assert "Je zei: eerste tab" in page.locator("#berichten").inner_text()
    assert page.locator("#fout").is_hidden()
    # The screen reader's live region holds Koers's last message.
    assert "weer de eerste" in page.locator("#nieuw-bericht").inner_text()
    other.close()
