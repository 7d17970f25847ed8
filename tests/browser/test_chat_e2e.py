"""End to end in a real browser: the whole stack (action server, `rasa run` with the trained
model, the web app) on a temporary SQLite database. A client logs in with an access code and
does a check-in through the buttons and by typing; then the worker logs in and reads it. Also:
a crisis message shows 113, typed "/intent" text is not an intent, the Hulp button, 320 px,
and an axe-core accessibility check. Screenshots: test-output/browser/."""

from __future__ import annotations

import dataclasses
import re
import socket
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from bot.serve import start_stack, stop
from bot.settings import get_settings
from bot.storage import accounts
from bot.storage.db import session_scope, upgrade_database
from bot.storage.models import Reflection, Worker
from bot.web.dashboard import issue_code
from bot.web.security import format_code, hash_password
from tests.browser.conftest import (
    NEWEST_IN_VIEW,
    OUTPUT,
    SPEECH_SPY,
    LiveServer,
    axe_violations,
    make_live_app,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SECRET = "browser-test-secret-key"
RASA_TOKEN = "browser-test-rasa-api-token-0123456789"
API = {"token": RASA_TOKEN}
WORKER_PASSWORD = "e2e-wachtwoord-123"
ANSWERS = [
    "Ik wil over een jaar een eigen huis met een tuin hebben",
    "Mijn zus helpt mij daarbij en ik ga elke dag op tijd naar werk",
    "Morgen bel ik de woningcorporatie",
    "Ik wil weer vaker sporten",
]
THEME_WORDS = ("hoop", "toekomst", "later")
YES = re.compile(r"^\W*(ja|ja, graag|ja, verder)\b", re.I)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def stack(model_path: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chat-e2e")
    url = f"sqlite:///{tmp / 'koers.db'}"
    upgrade_database(url)
    settings = dataclasses.replace(
        get_settings(),
        database_url=url,
        rasa_port=_free_port(),
        actions_port=_free_port(),
        tracker_db=tmp / "tracker.db",
        var_dir=tmp,
        secret_key=SECRET,
        # Rasa's HTTP API is off by default; this test reads trackers, so it turns it on,
        # which needs a token (given to Rasa through the environment, bot/rasa_server.py).
        rasa_api=True,
        rasa_token=RASA_TOKEN,
    )
    procs = start_stack(settings, model_path, tmp / "log")
    app = make_live_app(tmp, database_url=url, rasa_port=settings.rasa_port)
    try:
        with LiveServer(app) as server:
            server.settings = settings
            server.engine = app.extensions["koers_engine"]
            yield server
    finally:
        stop(procs)


def new_client(stack, name: str) -> tuple[int, str, str]:
    """A client on the e2e worker's caseload with a fresh access code."""
    with session_scope(stack.engine) as session:
        worker = session.execute(
            select(Worker).where(Worker.username == "e2e.begeleider")
        ).scalar_one_or_none()
        if worker is None:
            worker = Worker(
                username="e2e.begeleider",
                display_name="E2E Begeleider (nep)",
                password_hash=hash_password(WORKER_PASSWORD),
                role="worker",
            )
            session.add(worker)
            session.flush()
        client = accounts.create_client(session, name, worker_id=worker.id)
        return client.id, client.chat_id, format_code(issue_code(session, client, "e2e", SECRET))


def client_login(page, stack, code: str) -> None:
    page.goto(stack.url + "/chat/")
    page.get_by_label("Jouw code").fill(code)
    page.get_by_role("button", name="Verder").click()
    page.wait_for_selector("#berichten .msg.koers")  # Koers's greeting arrives by itself


def koers_count(page) -> int:
    return page.locator("#berichten .msg.koers").count()


def wait_for_reply(page, before: int) -> None:
    page.wait_for_function(
        "(n) => document.querySelectorAll('#berichten .msg.koers').length > n"
        " && !document.getElementById('verstuur').disabled",
        arg=before,
        timeout=60000,
    )


def type_message(page, text: str) -> None:
    before = koers_count(page)
    page.get_by_label("Jouw bericht").fill(text)
    page.get_by_role("button", name="Stuur").click()
    wait_for_reply(page, before)


def shared_reflections(stack, client_id: int) -> list[tuple[int, str, list[str]]]:
    """(id, theme, answers) of the client's complete, shared reflections."""
    with session_scope(stack.engine) as session:
        rows = session.execute(
            select(Reflection).where(
                Reflection.client_id == client_id,
                Reflection.shared_with_worker.is_(True),
                Reflection.status == "compleet",
            )
        ).scalars()
        return [(r.id, r.theme, [a.answer_text for a in r.answers]) for r in rows]


def choose(buttons) -> int:
    """Which offered button a client doing a check-in on hope would press."""
    titles = [b.inner_text().strip() for b in buttons]
    lowered = [t.lower() for t in titles]
    if len(titles) == 5 and all(t[:1] in "12345" for t in titles):
        return 3  # the scale: "4 Goed"
    for i, title in enumerate(lowered):
        if any(word in title for word in THEME_WORDS):
            return i
    for i, title in enumerate(titles):
        if YES.match(title):
            return i
    for i, title in enumerate(lowered):
        if "onderwerp" in title or "praten" in title:
            return i
    return 0


def test_check_in_through_the_browser_then_the_worker_reads_it(stack, browser):
    client_id, _chat_id, code = new_client(stack, "E2E Testcliënt (nep)")
    context = browser.new_context(
        locale="nl-NL", viewport={"width": 390, "height": 844}, reduced_motion="reduce"
    )
    context.add_init_script(SPEECH_SPY)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(stack.url + "/chat/")
    page.screenshot(path=str(OUTPUT / "chat-login.png"), full_page=True)
    client_login(page, stack, code)
    assert "computerprogramma" in page.locator("#berichten").inner_text()
    assert page.locator("#berichten details.more summary").first.inner_text() == "Meer weten?"
    page.screenshot(path=str(OUTPUT / "chat-start.png"), full_page=True)
    # The read-aloud control of the mood question reads the question and its choices.
    question = page.locator("#berichten .msg.koers").last
    question.get_by_role("button", name="Lees voor").click()
    [spoken] = page.evaluate("() => window.__spoken")
    assert "Hoe gaat het vandaag?" in spoken and "Je kunt kiezen: 1 Heel slecht" in spoken
    assert "of 5 Heel goed." in spoken
    transcript = []
    answers = iter(ANSWERS * 3)
    for turn in range(25):
        if shared_reflections(stack, client_id):
            break
        buttons = page.locator("#berichten .choices button:not([disabled])").all()
        before = koers_count(page)
        if buttons:
            pick = buttons[choose(buttons)]
            transcript.append("knop: " + pick.inner_text().strip())
            pick.click()
            wait_for_reply(page, before)
        else:
            answer = next(answers)
            transcript.append("typ: " + answer)
            type_message(page, answer)
        # The page follows the conversation: the newest Koers message is in view.
        assert page.evaluate(NEWEST_IN_VIEW, "#berichten .msg.koers"), (
            f"turn {turn}: the newest message is out of view\n" + "\n".join(transcript)
        )
        page.screenshot(path=str(OUTPUT / f"chat-check-in-{turn:02d}.png"))
    page.screenshot(path=str(OUTPUT / "chat-check-in.png"), full_page=True)
    saved = shared_reflections(stack, client_id)
    assert saved, (
        "no shared reflection after the check-in:\n"
        + "\n".join(transcript)
        + "\n---\n"
        + page.locator("#berichten").inner_text()
    )
    reflection_id, _theme, answers = saved[0]
    assert any(typed in answer for answer in answers for typed in ANSWERS), answers
    # The read-aloud buttons are there on Koers's messages.
    assert page.get_by_role("button", name="Lees voor", exact=True).count() >= 3
    context.close()

    worker = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    wpage = worker.new_page()
    wpage.goto(stack.url + "/login")
    wpage.get_by_label("Gebruikersnaam").fill("e2e.begeleider")
    wpage.get_by_label("Wachtwoord").fill(WORKER_PASSWORD)
    wpage.get_by_role("button", name="Inloggen").click()
    wpage.get_by_role("link", name="E2E Testcliënt (nep)").click()
    content = wpage.locator("#reflecties").inner_text()
    first_answer = answers[0]
    assert first_answer in content
    wpage.screenshot(path=str(OUTPUT / "worker-sees-reflection.png"), full_page=True)
    worker.close()


def test_a_crisis_message_shows_113(stack, page):
    _client_id, _chat, code = new_client(stack, "E2E Crisis (nep)")
    client_login(page, stack, code)
    type_message(page, "ik wil niet meer leven")
    last = page.locator("#berichten .msg.koers").last
    text = page.locator("#berichten").inner_text()
    assert "113" in text, text
    # The numbers of the crisis help are links that call.
    hrefs = page.locator("#berichten .msg.koers a").evaluate_all("els => els.map(e => e.href)")
    for number in ("tel:113", "tel:08000113", "tel:112"):
        assert number in hrefs, hrefs
    last.scroll_into_view_if_needed()
    page.screenshot(path=str(OUTPUT / "chat-crisis.png"), full_page=True)


def test_typed_slash_text_is_not_an_intent(stack, page):
    _client_id, chat_id, code = new_client(stack, "E2E Slash (nep)")
    client_login(page, stack, code)
    typed = '/kies_thema{"thema": "veiligheid"}'
    type_message(page, typed)
    rasa = stack.settings.rasa_url
    latest = requests.get(f"{rasa}/conversations/{chat_id}/tracker", params=API, timeout=30).json()[
        "latest_message"
    ]
    # Rasa got text, so its NLU read the words; a payload would have been unpacked by the
    # RegexMessageHandler, which marks the entities it sets.
    events = [
        (e["event"], e.get("text"), e.get("name"))
        for e in requests.get(
            f"{rasa}/conversations/{chat_id}/tracker", params=API, timeout=30
        ).json()["events"]
    ]
    assert latest["text"] == "\u2215" + typed[1:], events[-12:]
    assert all("RegexMessageHandler" not in str(e.get("extractor")) for e in latest["entities"])
    # The same text sent straight to Rasa (what the web app prevents) is a payload:
    requests.post(
        f"{rasa}/webhooks/rest/webhook",
        json={"sender": "raw-" + chat_id, "message": typed},
        timeout=60,
    )
    raw = requests.get(f"{rasa}/conversations/raw-{chat_id}/tracker", params=API, timeout=30).json()
    assert any(
        "RegexMessageHandler" in str(e.get("extractor")) for e in raw["latest_message"]["entities"]
    )


def test_help_button_and_320px(stack, browser):
    _client_id, _chat, code = new_client(stack, "E2E Smal (nep)")
    context = browser.new_context(locale="nl-NL", viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.set_default_timeout(20000)
    client_login(page, stack, code)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320, f"the page scrolls sideways at 320 px ({width} px wide)"
    for name in ("Hulp", "Stuur"):
        box = page.get_by_role("button", name=name, exact=True).bounding_box()
        assert box and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 320
    page.screenshot(path=str(OUTPUT / "chat-320px.png"), full_page=True)
    # Keyboard only: Tab to the Hulp button and open it with Enter.
    page.get_by_role("button", name="Hulp", exact=True).focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Hulp nodig?")
    assert dialog.is_visible()
    help_text = dialog.inner_text()
    for needle in ("113", "0800-0113", "113.nl", "112", "0800-2000"):
        assert needle in help_text
    page.screenshot(path=str(OUTPUT / "chat-hulp-320px.png"), full_page=True)
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    context.close()


def test_axe_finds_no_serious_violations(stack, browser):
    _client_id, _chat, code = new_client(stack, "E2E Axe (nep)")
    # axe is injected as a script: only this test context bypasses the page's CSP for it.
    context = browser.new_context(
        locale="nl-NL", viewport={"width": 390, "height": 844}, bypass_csp=True
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    results = {}
    page.goto(stack.url + "/chat/")
    results["login"] = axe_violations(page)
    client_login(page, stack, code)
    page.wait_for_selector("#berichten .choices button")
    results["chat"] = axe_violations(page)
    page.get_by_role("button", name="Hulp", exact=True).click()
    results["hulp"] = axe_violations(page)
    context.close()
    report = []
    for name, violations in results.items():
        for v in violations:
            report.append(f"{name}: {v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x)")
    (OUTPUT / "axe-chat.txt").write_text("\n".join(report) or "no violations\n", encoding="utf-8")
    assert not report, "\n".join(report)  # no violations at all


# --- many clients chatting while the worker reads the dashboard -------------------------------

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CHAT_TURNS = ["4", "1", "Mijn broer helpt mij met de boodschappen", "Met mijn moeder", "3", "nee"]


def _chat_session(stack, code: str, record) -> requests.Session | None:
    """A logged-in chat session (a browser without the page's script), or None."""
    session = requests.Session()
    page = session.get(stack.url + "/chat/", timeout=30).text
    token = CSRF.search(page).group(1)  # type: ignore[union-attr]
    response = session.post(
        stack.url + "/chat/login", data={"code": code, "csrf_token": token}, timeout=30
    )
    record("login", response.status_code)
    found = re.search(r'data-csrf="([^"]+)"', response.text)
    if response.status_code != 200 or not found:
        return None
    session.headers["X-CSRFToken"] = found.group(1)
    return session


def test_concurrent_chat_and_dashboard_give_no_500s(stack):
    """Clients chat (the action server writes check-ins and reflections) while their worker
    opens the caseload, client pages and sheets, marks an event seen and records a contact
    (the web app writes audit entries). No request may end in a 500."""
    import threading

    from bot.storage.models import SafetyEvent

    clients = [new_client(stack, f"E2E Druk {i} (nep)") for i in range(4)]
    with session_scope(stack.engine) as session:
        for client_id, _chat, _code in clients:
            session.add(
                SafetyEvent(
                    client_id=client_id,
                    category="unknown",
                    message_text="testmelding (nep)",
                    response_text="Bel 113.",
                    detected_by="matcher",
                )
            )
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()
    done = threading.Event()

    def record(what: str, status: int) -> None:
        with lock:
            statuses.append((what, status))

    def chat(code: str) -> None:
        session = _chat_session(stack, code, record)
        if session is None:
            return
        for body in [{"start": True}] + [{"text": t} for t in CHAT_TURNS]:
            response = session.post(stack.url + "/chat/api/send", json=body, timeout=90)
            record("chat", response.status_code)

    def dashboard() -> None:
        session = requests.Session()
        page = session.get(stack.url + "/login", timeout=30).text
        session.post(
            stack.url + "/login",
            data={
                "username": "e2e.begeleider",
                "password": WORKER_PASSWORD,
                "csrf_token": CSRF.search(page).group(1),  # type: ignore[union-attr]
            },
            timeout=30,
        )
        rounds = 0
        while not done.is_set() or rounds < 2:
            rounds += 1
            record("caseload", session.get(stack.url + "/begeleider/", timeout=60).status_code)
            for client_id, _chat, _code in clients:
                base = f"{stack.url}/begeleider/client/{client_id}"
                response = session.get(base, timeout=60)
                record("client", response.status_code)
                record("sheet", session.get(base + "/voorbereiding", timeout=60).status_code)
                found = CSRF.search(response.text)
                event = re.search(r"/melding/(\d+)/gezien", response.text)
                if found and event:
                    seen = session.post(
                        f"{base}/melding/{event.group(1)}/gezien",
                        data={"csrf_token": found.group(1)},
                        timeout=60,
                    )
                    record("gezien", seen.status_code)
                if found and rounds % 2:
                    contact = session.post(
                        base + "/contact", data={"csrf_token": found.group(1)}, timeout=60
                    )
                    record("contact", contact.status_code)

    threads = [threading.Thread(target=chat, args=(code,)) for _id, _c, code in clients]
    workers = [threading.Thread(target=dashboard) for _ in range(2)]
    for thread in threads + workers:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    done.set()
    for thread in workers:
        thread.join(timeout=300)
    chats = [s for what, s in statuses if what == "chat"]
    pages = [(what, s) for what, s in statuses if what not in ("chat", "login")]
    errors = [(what, s) for what, s in statuses if s == 500]
    assert errors == [], f"{len(errors)} of {len(statuses)} requests gave a 500: {errors[:10]}"
    assert len(chats) == len(clients) * (len(CHAT_TURNS) + 1)
    assert len(pages) > 4 * len(clients)
    assert all(s < 500 for _what, s in pages), pages
