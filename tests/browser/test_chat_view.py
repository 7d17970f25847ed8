"""The chat follows the conversation (Chromium at 390 px), reads messages *and* their choices
aloud, makes phone numbers tappable, and hides the rest of the disclosure behind "Meer
weten?". Rasa is a small scripted HTTP server here, so that the replies can be long on
purpose; tests/browser/test_chat_e2e.py does the same checks against the real stack."""

from __future__ import annotations

import json
import socket
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.storage.db import session_scope
from bot.storage.models import Client
from bot.web.dashboard import issue_code
from bot.web.security import format_code
from tests.browser.conftest import (
    NEWEST_IN_VIEW,
    OUTPUT,
    SPEECH_SPY,
    LiveServer,
    axe_violations,
    make_live_app,
)
from tests.web import seed

pytestmark = pytest.mark.browser
SECRET = "browser-test-secret-key"
PHONE = {"width": 390, "height": 844}
MOOD = [
    {"title": "1 😞 Heel slecht", "payload": "1"},
    {"title": "2 🙁 Niet zo goed", "payload": "2"},
    {"title": "3 😐 Gaat wel", "payload": "3"},
    {"title": "4 🙂 Goed", "payload": "4"},
    {"title": "5 😄 Heel goed", "payload": "5"},
]
LONG = "\n".join(f"Regel {i} van een lang antwoord van Koers." for i in range(1, 9))
CRISIS = (
    "Wat fijn dat je het zegt. Je staat er niet alleen voor.\n"
    "Bel 113 of gratis 0800-0113. Chatten kan op 113.nl.\n"
    "Direct gevaar? Bel 112. Niet veilig thuis? Veilig Thuis: 0800-2000."
)
PLAN = "Rood. Wat helpt: bellen. Contacten: mijn zus 06-12345678; <b>Jan</b> 020 123 4567"


class ScriptedRasa:
    """Answers like Rasa's REST channel, with replies chosen by the message received."""

    def __init__(self) -> None:
        self.received: list[str] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reply(self, message: str) -> list[dict]:
        if message == "/groet":
            return [
                {"text": "Ik ben Koers: een computer, geen mens."},
                {
                    "custom": {
                        "meer_weten": "Bij gevaar hoort je begeleider het altijd. Of bel 113."
                    }
                },
                {"text": "Hoe gaat het vandaag? Kies een cijfer.", "buttons": MOOD},
            ]
        if message == "crisis":
            return [
                {"text": CRISIS},
                {
                    "text": "Ik ben er nog. Wat wil je nu?",
                    "buttons": [
                        {"title": "Verder praten", "payload": "/hervatten"},
                        {"title": "Stoppen voor nu", "payload": "/stoppen"},
                    ],
                },
            ]
        if message == "plan":
            return [{"text": PLAN}]
        # Anything else: two long messages, the second with buttons.
        return [
            {"text": LONG},
            {
                "text": LONG + "\nKlopt dit?",
                "buttons": [
                    {"title": "Ja", "payload": "/bevestigen"},
                    {"title": "Nee", "payload": "/ontkennen"},
                ],
            },
        ]

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        body = json.loads(Request(environ).get_data(as_text=True))
        self.received.append(body["message"])
        answer = [{"recipient_id": body["sender"], **m} for m in self.reply(body["message"])]
        return Response(json.dumps(answer), content_type="application/json")(
            environ, start_response
        )

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def live(tmp_path):
    fake = ScriptedRasa()
    app = make_live_app(tmp_path)
    app.config["RASA_URL"] = fake.url
    with session_scope(app.extensions["koers_engine"]) as session:
        data = seed.seed(session, SECRET)
        code = format_code(issue_code(session, session.get(Client, data.client_a), "t", SECRET))
    with LiveServer(app) as server:
        server.code, server.fake = code, fake
        yield server
    fake.close()


def open_chat(browser, live, reduced_motion: str = "reduce", **options):
    options = {"locale": "nl-NL", "viewport": PHONE, "reduced_motion": reduced_motion, **options}
    context = browser.new_context(**options)
    context.add_init_script(SPEECH_SPY)
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors  # type: ignore[attr-defined]
    page.goto(live.url + "/chat/")
    page.get_by_label("Jouw code").fill(live.code)
    page.get_by_role("button", name="Verder").click()
    page.wait_for_selector("#berichten .choices button:not([disabled])")
    return context, page


def koers_count(page) -> int:
    return page.locator("#berichten .msg.koers").count()


def reply_to(page, action) -> int:
    """Do `action`, wait for Koers's answer; returns the index of the first new message."""
    before = koers_count(page)
    action()
    page.wait_for_function(
        "(n) => document.querySelectorAll('#berichten .msg.koers').length > n"
        " && !document.getElementById('verstuur').disabled",
        arg=before,
    )
    return before


def first_new_top(page, index: int) -> float:
    return page.evaluate(
        "(i) => document.querySelectorAll('#berichten .msg.koers')[i].getBoundingClientRect().top",
        index,
    )


def test_the_newest_message_is_in_view_after_every_reply(live, browser):
    context, page = open_chat(browser, live)
    header = page.evaluate(
        "() => document.querySelector('.chat-top').getBoundingClientRect().bottom"
    )
    for turn in range(6):
        if turn % 2:
            index = reply_to(
                page, lambda: page.locator(".choices button:not([disabled])").first.click()
            )
        else:

            def typed(turn=turn):
                page.get_by_label("Jouw bericht").fill(f"antwoord {turn}")
                page.get_by_role("button", name="Stuur").click()

            index = reply_to(page, typed)
        assert page.evaluate(
            NEWEST_IN_VIEW, "#berichten .msg.koers"
        ), f"turn {turn}: newest not in view"
        # Never scrolled past the start of the first new message: it can be read from the top.
        assert first_new_top(page, index) >= header - 1, f"turn {turn}"
        page.screenshot(path=str(OUTPUT / f"chat-follow-{turn}.png"))
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height > 3 * PHONE["height"], "the conversation is long enough to need scrolling"
    assert page.evaluate("() => window.scrollY") > 0
    assert page.console_errors == []
    context.close()


def test_smooth_scrolling_unless_reduced_motion(live, browser):
    for motion, expected in (("reduce", "auto"), ("no-preference", "smooth")):
        context, page = open_chat(browser, live, reduced_motion=motion)
        page.evaluate(
            "() => { window.__scrolls = []; const o = window.scrollTo.bind(window);"
            " window.scrollTo = (a) => { window.__scrolls.push(a.behavior); o(a); }; }"
        )
        choice = page.locator(".choices button:not([disabled])").first
        reply_to(page, choice.click)
        assert page.evaluate("() => window.__scrolls") == [expected]
        page.wait_for_function(NEWEST_IN_VIEW, arg="#berichten .msg.koers")  # also after smoothing
        context.close()


def test_read_aloud_reads_the_message_and_its_choices(live, browser):
    context, page = open_chat(browser, live)
    question = page.locator("#berichten .msg.koers").last
    button = question.get_by_role("button", name="Lees voor")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # small, but a real touch target
    # Compact: the control sits on the line of the name, it does not add a row.
    who = question.locator(".who").bounding_box()
    assert abs((box["y"] + box["height"] / 2) - (who["y"] + who["height"] / 2)) < 12
    button.click()
    spoken = page.evaluate("() => window.__spoken")
    assert spoken == [
        "Hoe gaat het vandaag? Kies een cijfer. Je kunt kiezen: 1 Heel slecht, 2 Niet zo goed, "
        "3 Gaat wel, 4 Goed of 5 Heel goed."
    ]
    assert page.get_by_role("button", name="Lees voor").count() == 2  # one per Koers message

    # The switch reads every new message and its choices by itself.
    switch = page.get_by_role("button", name="Voorlezen")
    assert switch.get_attribute("aria-pressed") == "false"
    switch.click()
    assert switch.get_attribute("aria-pressed") == "true"
    page.evaluate("() => { window.__spoken = []; }")
    reply_to(page, lambda: page.get_by_role("button", name="3 😐 Gaat wel").click())
    spoken = page.evaluate("() => window.__spoken")
    assert len(spoken) == 2 and spoken[0].startswith("Regel 1 van een lang antwoord")
    assert spoken[1].endswith("Klopt dit? Je kunt kiezen: Ja of Nee.")
    assert "😐" not in " ".join(spoken)
    # Keyboard and screen readers: focus moved on to the new choices, and the live region
    # holds the new messages with their choices.
    assert page.evaluate("() => document.activeElement.textContent") == "Ja"
    # A tap does not show a focus ring on the new choice (it must not look chosen)...
    assert not page.evaluate("() => document.activeElement.matches(':focus-visible')")
    # ... the keyboard does: Enter on a choice, and the ring is on the next question's choice.
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    reply_to(page, lambda: page.keyboard.press("Enter"))
    assert page.evaluate("() => document.activeElement.textContent") == "Ja"
    assert page.evaluate("() => document.activeElement.matches(':focus-visible')")
    page.wait_for_function(
        "() => document.getElementById('nieuw-bericht').textContent.includes('Keuzes: Ja, Nee')"
    )
    # The switch is remembered on this device.
    page.reload()
    page.wait_for_selector("#berichten .msg.koers")
    assert page.get_by_role("button", name="Voorlezen").get_attribute("aria-pressed") == "true"
    # Back on the page, the conversation is shown from where it stands.
    assert page.evaluate(NEWEST_IN_VIEW, "#berichten .msg.koers")
    context.close()


def test_phone_numbers_are_tappable_links_and_text_stays_text(live, browser):
    context, page = open_chat(browser, live)
    reply_to(
        page,
        lambda: (page.get_by_label("Jouw bericht").fill("crisis"), page.keyboard.press("Enter")),
    )
    crisis = page.locator("#berichten .msg.koers").nth(-2)
    links = crisis.locator("a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs == [
        "tel:113",
        "tel:08000113",
        "https://www.113.nl",
        "tel:112",
        "tel:08002000",
    ]
    assert crisis.inner_text().count("Bel 113 of gratis 0800-0113") == 1  # text unchanged
    box = crisis.get_by_role("link", name="0800-0113").bounding_box()
    assert box["height"] >= 20

    reply_to(
        page, lambda: (page.get_by_label("Jouw bericht").fill("plan"), page.keyboard.press("Enter"))
    )
    plan = page.locator("#berichten .msg.koers").last
    assert plan.get_by_role("link", name="06-12345678").get_attribute("href") == "tel:0612345678"
    assert plan.get_by_role("link", name="020 123 4567").get_attribute("href") == "tel:0201234567"
    assert plan.locator("b").count() == 0 and "<b>Jan</b>" in plan.inner_text()  # still text
    page.screenshot(path=str(OUTPUT / "chat-tel-links.png"), full_page=True)

    # The Hulp dialog: the organisation's own contact is tappable too.
    assert page.locator("#hulp a[href='tel:112']").count() == 1
    context.close()


def test_disclosure_has_meer_weten_and_axe_finds_nothing(live, browser):
    context, page = open_chat(browser, live, bypass_csp=True)  # bypass only to inject axe
    first = page.locator("#berichten .msg.koers").first
    more = first.locator("details.more")
    assert more.locator("summary").inner_text() == "Meer weten?"
    assert not more.locator("p").is_visible()
    more.locator("summary").click()
    assert "Bij gevaar hoort je begeleider het altijd" in more.locator("p").inner_text()
    assert more.locator("a[href='tel:113']").count() == 1
    reply_to(
        page,
        lambda: (page.get_by_label("Jouw bericht").fill("crisis"), page.keyboard.press("Enter")),
    )
    page.get_by_role("button", name="Voorlezen").click()
    violations = axe_violations(page)
    report = [f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x)" for v in violations]
    (OUTPUT / "axe-chat-view.txt").write_text("\n".join(report) or "no violations\n")
    assert violations == [], "\n".join(report)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"]
    context.close()


def test_the_header_fits_at_320px(live, browser):
    context, page = open_chat(browser, live, viewport={"width": 320, "height": 640})
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    for name in ("Voorlezen", "Hulp"):
        box = page.get_by_role("button", name=name).bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 320
    page.screenshot(path=str(OUTPUT / "chat-header-320px.png"))
    context.close()


def test_a_wrong_code_keeps_what_was_typed(live, page):
    page.set_viewport_size(PHONE)
    page.goto(live.url + "/chat/")
    page.get_by_label("Jouw code").fill("ABCD-EFGH-JKLX")
    page.get_by_role("button", name="Verder").click()
    page.get_by_role("alert").wait_for()
    field = page.get_by_label("Jouw code")
    assert field.input_value() == "ABCD-EFGH-JKLX"
    assert field.get_attribute("aria-invalid") == "true"
    # `autofocus` is applied by the browser after the page has loaded: wait for it.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'code'")


def test_a_message_too_long_is_kept_whole_and_a_crisis_in_it_gets_the_help(live, browser):
    """Nothing is cut off: a paste over the limit stays whole in the box, which says how
    long it is; sending it keeps it there with a clear message and no retry button. A crisis
    in it gets the crisis help with tappable numbers, though Koers never reads the message."""
    context, page = open_chat(browser, live)
    box = page.get_by_label("Jouw bericht")
    calm = "Vandaag was een gewone dag met koffie en werk. " * 45
    box.fill(calm)
    assert box.input_value() == calm  # no maxlength cut
    hint = page.locator("#lengte")
    assert hint.is_visible() and f"{len(calm)} tekens" in hint.inner_text()
    before = koers_count(page)
    page.get_by_role("button", name="Stuur").click()
    error = page.get_by_role("alert")
    error.wait_for()
    assert "te lang" in error.inner_text()
    assert not page.get_by_role("button", name="Opnieuw sturen").is_visible()
    assert box.input_value() == calm and koers_count(page) == before

    crisis = calm + "Maar ik wil dood."
    box.fill(crisis)
    page.get_by_role("button", name="Stuur").click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('#berichten .msg.koers').length > n", arg=before
    )
    help_text = page.locator("#berichten .msg.koers").last
    for number in ("tel:113", "tel:08000113", "tel:112", "tel:08002000"):
        assert help_text.locator(f'a[href="{number}"]').count() == 1, number
    # Said after the help (one polite announcement), not as an alert that talks over it.
    refusal = page.locator("#fout")
    assert "te lang" in refusal.inner_text() and box.input_value() == crisis
    assert refusal.get_attribute("role") is None
    announced = page.locator("#nieuw-bericht")
    page.wait_for_function("() => document.getElementById('nieuw-bericht').textContent")
    assert announced.text_content().index("0800-0113") < announced.text_content().index("te lang")
    # The mood question is still open: its buttons still work.
    assert page.locator(".choices button:not([disabled])").count() == 5
    page.screenshot(path=str(OUTPUT / "chat-too-long-crisis.png"))

    box.fill("kort")  # shortened: the hint goes away
    assert not hint.is_visible()
    # Characters as the server counts them: 1,001 emoji are 2,002 UTF-16 units, not too long.
    box.fill("😀" * 1001)
    assert not hint.is_visible()
    assert live.fake.received == ["/groet"]  # neither long message reached Rasa
    assert page.console_errors == []
    context.close()
