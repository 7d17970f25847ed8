"""The client chat through Flask's test client. Rasa is replaced here by a small HTTP server
that records what it receives (the real Rasa is used in tests/browser/test_chat_e2e.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from bot.responses import domain_responses, render_response
from bot.settings import PROJECT_ROOT
from bot.storage import repository
from bot.storage.db import session_scope
from bot.storage.models import AccessCode, AuditEntry, Client, SafetyEvent
from bot.web.chat import (
    BUSY_CONTEXT,
    CLIENT_HEADER,
    MAX_MESSAGE_LENGTH,
    MSG_TOO_LONG,
    MSG_TOO_LONG_HELP,
    STORAGE_DOWN_CONTEXT,
    TOO_LONG_CONTEXT,
    TOO_LONG_REASON,
    UNREAD_CONTEXT,
    UNREAD_REASON,
)
from bot.web.dashboard import issue_code
from bot.web.security import format_code
from tests.web.conftest import csrf_from

SECRET = "test-secret-key-not-for-production"


class FakeRasa:
    """Records the JSON bodies posted to /webhooks/rest/webhook and answers per `mode`."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.mode = "ok"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        request = Request(environ)
        body = json.loads(request.get_data(as_text=True))
        self.received.append(body)
        if self.mode in ("slow", "slow_plain"):
            time.sleep(2)
        if self.mode == "empty":
            answer = []
        elif self.mode == "slow_plain":  # an answer without buttons
            answer = [{"recipient_id": body["sender"], "text": f"Je zei: {body['message']}"}]
        elif self.mode == "error":
            return Response("boom", status=500)(environ, start_response)
        else:
            answer = [
                {"recipient_id": body["sender"], "text": f"Je zei: {body['message']}"},
                {
                    "recipient_id": body["sender"],
                    "text": "Klopt dit?",
                    "buttons": [
                        {"title": "Ja", "payload": "/bevestigen"},
                        {"title": "Nee", "payload": "/ontkennen"},
                    ],
                },
            ]
        return Response(json.dumps(answer), content_type="application/json")(
            environ, start_response
        )

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def rasa(app):
    fake = FakeRasa()
    app.config["RASA_URL"] = fake.url
    app.config["RASA_TIMEOUT"] = 1.0
    yield fake
    fake.close()


@pytest.fixture
def code(engine, data) -> str:
    with session_scope(engine) as session:
        return format_code(issue_code(session, session.get(Client, data.client_a), "test", SECRET))


def client_login(http, code: str):
    token = csrf_from(http.get("/chat/").get_data(as_text=True))
    return http.post("/chat/login", data={"code": code, "csrf_token": token})


def send(http, body: dict, headers: dict | None = None):
    """What chat.js sends: the page's CSRF token and the client the page was loaded for."""
    page = http.get("/chat/").get_data(as_text=True)
    token = page.split('data-csrf="', 1)[1].split('"', 1)[0]
    own = {"X-CSRFToken": token}
    if 'data-page="' in page:
        own[CLIENT_HEADER] = page.split('data-page="', 1)[1].split('"', 1)[0]
    return http.post("/chat/api/send", json=body, headers={**own, **(headers or {})})


# --- login ------------------------------------------------------------------------------------


def test_login_with_valid_code_sets_a_secure_cookie(client, code, engine, data):
    assert "Vul de code in" in client.get("/chat/").get_data(as_text=True)
    response = client_login(client, code.lower().replace("-", " "))  # typing is forgiving
    assert response.status_code == 302
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("koers_client=")]
    assert cookie and "HttpOnly" in cookie[0] and "SameSite=Lax" in cookie[0]
    assert "Max-Age=" in cookie[0]  # remembered on this device
    page = client.get("/chat/").get_data(as_text=True)
    assert 'id="berichten"' in page and "Uitloggen" in page
    with session_scope(engine) as session:
        assert session.execute(select(AccessCode)).scalar_one().last_used_at is not None
        assert (
            session.execute(select(AuditEntry).where(AuditEntry.action == "client_ingelogd"))
            .scalar_one()
            .client_id
            == data.client_a
        )


def test_wrong_and_empty_code(client, code):
    wrong = client_login(client, "AAAA-BBBB-CCCC")
    assert wrong.status_code == 401 and "klopt niet" in wrong.get_data(as_text=True)
    empty = client_login(client, "   ")
    assert empty.status_code == 401 and "Vul je code in" in empty.get_data(as_text=True)
    assert 'id="berichten"' not in client.get("/chat/").get_data(as_text=True)


def test_revoked_code_logs_the_device_out(client, code, engine, data):
    assert client_login(client, code).status_code == 302
    with session_scope(engine) as session:
        issue_code(session, session.get(Client, data.client_a), "test", SECRET)  # revokes
    assert 'id="berichten"' not in client.get("/chat/").get_data(as_text=True)
    assert client_login(client.application.test_client(), code).status_code == 401


def test_code_rate_limit_per_ip(client, code):
    for _ in range(10):
        client_login(client, "FOUT-FOUT-FOUT")
    blocked = client_login(client, code)
    assert blocked.status_code == 429 and "15 minuten" in blocked.get_data(as_text=True)


def test_logout_clears_the_cookie(client, code):
    client_login(client, code)
    token = client.get("/chat/").get_data(as_text=True).split('data-csrf="', 1)[1].split('"')[0]
    client.post("/chat/uitloggen", data={"csrf_token": token})
    assert 'id="berichten"' not in client.get("/chat/").get_data(as_text=True)


def test_forged_cookie_is_refused(client, code):
    client.set_cookie("koers_client", '{"a": 1, "c": 1}')
    assert 'id="berichten"' not in client.get("/chat/").get_data(as_text=True)


# --- relay ------------------------------------------------------------------------------------


def test_sender_is_the_logged_in_client_whatever_the_browser_sends(client, code, rasa, data):
    client_login(client, code)
    response = send(
        client,
        {"text": "hallo", "sender": "test-chat-b", "chat_id": "test-chat-b"},
        headers={"X-Sender": "test-chat-b", "X-Forwarded-For": "1.2.3.4"},
    )
    assert response.status_code == 200 and response.json["ok"]
    assert rasa.received == [{"sender": data.chat_a, "message": "hallo"}]
    assert response.json["messages"][0]["text"] == "Je zei: hallo"


def test_not_logged_in_cannot_send(client, rasa):
    token = csrf_from(client.get("/chat/").get_data(as_text=True))
    response = client.post("/chat/api/send", json={"text": "hoi"}, headers={"X-CSRFToken": token})
    assert response.status_code == 401 and rasa.received == []


def test_send_needs_the_csrf_token(client, code, rasa):
    client_login(client, code)
    response = client.post("/chat/api/send", json={"text": "hoi"})
    assert response.status_code == 400 and rasa.received == []


def test_typed_slash_text_is_never_an_intent_payload(client, code, rasa):
    client_login(client, code)
    send(client, {"text": '/kies_thema{"thema": "hoop"}'})
    send(client, {"text": "  //bevestigen"})
    send(client, {"payload": '/kies_thema{"thema":"veiligheid"}', "title": "Veilig"})
    messages = [r["message"] for r in rasa.received]
    assert all(not m.lstrip().startswith("/") for m in messages), messages
    assert messages[0] == '\u2215kies_thema{"thema": "hoop"}'
    assert messages[2] == "Veilig"  # a payload Rasa never offered: only its words are sent


def test_offered_button_payload_is_sent_as_payload(client, code, rasa):
    client_login(client, code)
    send(client, {"text": "hoi"})  # the fake Rasa offers Ja (/bevestigen) and Nee
    send(client, {"payload": "/bevestigen", "title": "Ja"})
    assert rasa.received[-1]["message"] == "/bevestigen"
    send(client, {"payload": "/bevestigen", "title": "Ja"})  # not offered any more
    assert rasa.received[-1]["message"] == "/bevestigen"  # offered again by the last answer
    send(client, {"start": True})
    assert rasa.received[-1]["message"] == "/groet"


@pytest.mark.parametrize(
    "mode, status, words",
    [
        ("down", 503, "niet bereikbaar"),
        ("slow", 504, "te langzaam"),
        ("empty", 502, "geen antwoord"),
        ("error", 503, "niet bereikbaar"),
    ],
)
def test_rasa_failures_give_a_calm_message(client, code, rasa, app, mode, status, words):
    client_login(client, code)
    if mode == "down":
        app.config["RASA_URL"] = "http://127.0.0.1:9"
    rasa.mode = mode
    response = send(client, {"text": "mijn bericht"})
    assert response.status_code == status
    assert words in response.json["error"] and "niet kwijt" in response.json["error"]
    assert response.json["ok"] is False


@pytest.mark.parametrize("mode, status", [("down", 503), ("slow", 504), ("empty", 502)])
def test_a_crisis_koers_could_not_answer_gets_the_help_from_the_word_list(
    client, code, rasa, app, engine, mode, status
):
    """Rasa down, too slow or without a reply: nothing read the message. The word list reads
    it in the web app, so a crisis still gets the fixed crisis help, with the calm refusal
    (the text stays in the box), and the worker a safety event; a retry records no second."""
    client_login(client, code)
    if mode == "down":
        app.config["RASA_URL"] = "http://127.0.0.1:9"
    rasa.mode = mode

    def unread() -> list[SafetyEvent]:
        return _unread_events(engine)

    calm = send(client, {"text": "mijn bericht over de tuin"})
    assert calm.status_code == status and "messages" not in calm.json and unread() == []
    crisis = "ik wil dood, het touw ligt al klaar"
    response = send(client, {"text": crisis})
    assert response.status_code == status and response.json["ok"] is False
    assert "niet kwijt" in response.json["error"]
    shown = [m["text"] for m in response.json["messages"]]
    assert shown == [render_response(domain_responses(), "utter_crisis_suicide", "standaard")]
    (event,) = _soon(unread)  # written in the background: the request waited for Rasa already
    assert (event.message_text, event.category, event.detected_by) == (crisis, "suicide", "matcher")
    assert UNREAD_REASON in json.loads(event.evidence)["reasons"]
    assert send(client, {"text": crisis}).json["messages"] == response.json["messages"]
    time.sleep(0.5)
    assert len(unread()) == 1, "a retry records no second event"


def _unread_events(engine, context: str = UNREAD_CONTEXT) -> list[SafetyEvent]:
    """The safety events of messages only the word list read (Rasa did not answer)."""
    with session_scope(engine) as session:
        rows = session.execute(select(SafetyEvent).where(SafetyEvent.context == context)).scalars()
        found = list(rows)
        session.expunge_all()
        return found


def _soon(find, seconds: float = 10.0):
    """What `find()` returns once it is not empty (an outbox written in the background)."""
    deadline = time.monotonic() + seconds
    while not (found := find()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def test_the_help_after_a_rasa_failure_does_not_wait_for_a_busy_database(
    client, code, rasa, app, engine, db_url
):
    """Rasa did not answer in time, and meanwhile another process took SQLite's write lock:
    the crisis help comes at once (it used to wait up to the busy timeout, 20 s, on top of
    Rasa's 30 s, past the proxy's 40 s), and the event is written once the lock is gone."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    import sqlite3

    client_login(client, code)
    app.config["RASA_TIMEOUT"] = 1.0
    rasa.mode = "slow"  # answers after 2 s: a timeout
    page = client.get("/chat/").get_data(as_text=True)
    headers = {
        "X-CSRFToken": page.split('data-csrf="', 1)[1].split('"', 1)[0],
        CLIENT_HEADER: page.split('data-page="', 1)[1].split('"', 1)[0],
    }
    holder = sqlite3.connect(engine.url.database, isolation_level=None, check_same_thread=False)
    locked = threading.Event()

    def take_the_lock() -> None:
        time.sleep(0.3)  # while the message is with Rasa
        holder.execute("BEGIN IMMEDIATE")
        locked.set()

    taker = threading.Thread(target=take_the_lock)
    taker.start()
    try:
        text = "ik wil dood, het touw ligt al klaar"
        started = time.monotonic()
        response = client.post("/chat/api/send", json={"text": text}, headers=headers)
        took = time.monotonic() - started
        assert locked.is_set()
    finally:
        taker.join()
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 504 and "0800-0113" in response.json["messages"][0]["text"]
    # Rasa's timeout (1 s) and no wait for the lock (the old code waited 2 x 20 s for it).
    assert took < 6, f"the help waited {took:.1f} s"

    (event,) = _soon(lambda: _unread_events(engine))
    assert event.message_text == text


def test_a_failing_word_list_keeps_the_calm_message_when_rasa_is_down(
    client, code, rasa, app, monkeypatch
):
    from bot.web import chat as chat_module

    def broken():
        raise RuntimeError("no spaCy pipeline")

    client_login(client, code)
    app.config["RASA_URL"] = "http://127.0.0.1:9"
    monkeypatch.setattr(chat_module, "_word_list", broken)
    response = send(client, {"text": "ik wil dood"})
    assert response.status_code == 503 and "niet bereikbaar" in response.json["error"]


def test_a_failing_word_list_keeps_the_refusal_of_a_long_message(client, code, rasa, monkeypatch):
    from bot.web import chat as chat_module

    def broken():
        raise RuntimeError("no spaCy pipeline")

    client_login(client, code)
    monkeypatch.setattr(chat_module, "_word_list", broken)
    response = send(client, {"text": "ik wil dood " * (MAX_MESSAGE_LENGTH // 5)})
    assert response.status_code == 400 and response.json["error"] == MSG_TOO_LONG


def test_bad_input_gets_a_clear_message(client, code, rasa):
    client_login(client, code)
    assert "Typ eerst iets" in send(client, {"text": "   "}).json["error"]
    too_long = send(client, {"text": "x" * 2001})
    assert too_long.status_code == 400 and "te lang" in too_long.json["error"]
    assert send(client, {"text": "😀😀"}).json["ok"]
    assert rasa.received == [{"sender": "test-chat-a", "message": "😀😀"}]


# A crisis at the end of a long message: the word list finds "ik wil dood" (suicide).
LONG_CRISIS = "Vandaag was een gewone dag met koffie en werk. " * 45 + "Maar ik wil dood."
LONG_CALM = "Vandaag was een gewone dag met koffie en werk. " * 45


def _long_events(engine, chat_id: str) -> list[SafetyEvent]:
    with session_scope(engine) as session:
        events = session.execute(
            select(SafetyEvent)
            .join(Client)
            .where(Client.chat_id == chat_id, SafetyEvent.context == TOO_LONG_CONTEXT)
        ).scalars()
        result = list(events)
        session.expunge_all()
        return result


def test_a_message_too_long_is_refused_but_read_for_a_crisis(client, code, rasa, engine):
    """Rasa never reads a message over the limit, so the word list reads it in the web app:
    a crisis in it gets the fixed crisis help and a safety event; a calm one only the
    request to shorten it. Nothing goes to Rasa either way."""
    client_login(client, code)
    assert len(LONG_CALM) > MAX_MESSAGE_LENGTH and len(LONG_CRISIS) > MAX_MESSAGE_LENGTH
    calm = send(client, {"text": LONG_CALM})
    assert calm.status_code == 400 and calm.json["error"] == MSG_TOO_LONG
    assert "messages" not in calm.json
    assert _long_events(engine, "test-chat-a") == []

    crisis = send(client, {"text": LONG_CRISIS})
    assert crisis.status_code == 400 and crisis.json["ok"] is False
    assert crisis.json["error"] == MSG_TOO_LONG_HELP  # the text stays in the box to shorten
    shown = [m["text"] for m in crisis.json["messages"]]
    domain = domain_responses()
    assert shown == [render_response(domain, "utter_crisis_suicide", "standaard")]
    for number in ("113", "0800-0113", "113.nl", "112", "0800-2000"):
        assert number in shown[0]
    (event,) = _long_events(engine, "test-chat-a")
    assert event.message_text == LONG_CRISIS  # the whole message, for the worker
    assert (event.category, event.detected_by, event.outcome) == ("suicide", "matcher", "hulp")
    assert event.context == TOO_LONG_CONTEXT and event.response_text == shown[0]
    assert TOO_LONG_REASON in json.loads(event.evidence)["reasons"]

    # Sent again (a second tab, a double click): the help again, no second event.
    again = send(client, {"text": LONG_CRISIS})
    assert [m["text"] for m in again.json["messages"]] == shown
    assert len(_long_events(engine, "test-chat-a")) == 1

    # NUL bytes and a lone surrogate (JSON can carry both) are not stored as such.
    odd = send(client, {"text": "\x00\ud800" + LONG_CRISIS + " echt"})
    assert odd.status_code == 400 and odd.json["messages"]
    texts = [e.message_text for e in _long_events(engine, "test-chat-a")]
    assert "?" + LONG_CRISIS + " echt" in texts
    assert rasa.received == []


def test_the_help_for_a_long_message_follows_the_language_level_and_contact(
    client, code, rasa, engine, data
):
    with session_scope(engine) as session:
        session.get(Client, data.client_a).language_level = "eenvoudig"
        repository.set_org_setting(session, "crisis_contact", "Wijkteam: 020 123 4567", "test")
    client_login(client, code)
    shown = [m["text"] for m in send(client, {"text": LONG_CRISIS}).json["messages"]]
    domain = domain_responses()
    assert shown == [
        render_response(domain, "utter_crisis_suicide", "eenvoudig"),
        render_response(
            domain, "utter_organisatie_contact", "eenvoudig", contact="Wijkteam: 020 123 4567"
        ),
    ]
    assert shown[0] != render_response(domain, "utter_crisis_suicide", "standaard")
    (event,) = _long_events(engine, "test-chat-a")
    assert event.response_text == "\n".join(shown)


def test_the_help_for_a_long_message_survives_a_database_failure(
    client, code, rasa, engine, monkeypatch, tmp_path
):
    """Storage down while the event is written: the client still gets the crisis help, and
    the event waits in the outbox; the next long message writes it."""
    from sqlalchemy.exc import OperationalError

    from bot.storage import outbox as outbox_module
    from bot.web import chat as chat_module

    box = outbox_module.Outbox(tmp_path / "outbox")
    monkeypatch.setattr(chat_module, "get_outbox", lambda: box)
    real = repository.record_safety_event

    def down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    client_login(client, code)
    monkeypatch.setattr(repository, "record_safety_event", down)
    refused = send(client, {"text": LONG_CRISIS})
    assert refused.status_code == 400 and refused.json["error"] == MSG_TOO_LONG_HELP
    assert "0800-0113" in refused.json["messages"][0]["text"]
    assert _long_events(engine, "test-chat-a") == [] and len(box) == 1

    monkeypatch.setattr(repository, "record_safety_event", real)
    send(client, {"text": LONG_CRISIS + " nog steeds"})
    assert len(box) == 0
    texts = sorted(e.message_text for e in _long_events(engine, "test-chat-a"))
    assert texts == sorted([LONG_CRISIS, LONG_CRISIS + " nog steeds"])


def test_a_kept_long_message_event_is_written_when_the_database_is_back(
    client, code, rasa, engine, monkeypatch, tmp_path
):
    """The event kept in the outbox is written in the background once the database takes it
    again, without another message from anyone (the action server's flusher does not know of
    an entry the web app kept)."""

    from sqlalchemy.exc import OperationalError

    from bot.storage import outbox as outbox_module
    from bot.web import chat as chat_module

    box = outbox_module.Outbox(tmp_path / "outbox")
    monkeypatch.setattr(chat_module, "get_outbox", lambda: box)
    monkeypatch.setattr(chat_module, "FLUSH_INTERVAL", 0.05)
    real = repository.record_safety_event
    tries: list[int] = []

    def down(*args, **kwargs):
        tries.append(1)
        raise OperationalError("INSERT", {}, Exception("database is down"))

    client_login(client, code)
    monkeypatch.setattr(repository, "record_safety_event", down)
    refused = send(client, {"text": LONG_CRISIS})
    assert refused.status_code == 400 and len(box) == 1
    deadline = time.monotonic() + 10
    while len(tries) < 3 and time.monotonic() < deadline:  # it keeps trying while down
        time.sleep(0.02)
    assert len(tries) >= 3 and len(box) == 1 and _long_events(engine, "test-chat-a") == []
    monkeypatch.setattr(repository, "record_safety_event", real)
    while len(box) and time.monotonic() < deadline + 10:
        time.sleep(0.05)
    assert len(box) == 0
    (event,) = _long_events(engine, "test-chat-a")
    assert event.message_text == LONG_CRISIS and event.context == "te_lang_bericht"


def test_a_chat_request_over_the_body_limit_gets_a_clear_json_answer(client, code, rasa, app):
    client_login(client, code)
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = send(client, {"text": huge})
    assert response.status_code == 413 and response.json["ok"] is False
    assert "te lang" in response.json["error"] and rasa.received == []


def test_the_word_list_loads_in_the_web_process_without_tensorflow():
    """The web process loads spaCy for a long message only; thinc must not pull TensorFlow in
    with it (531 MB). A process of its own: the test process may have TensorFlow already."""
    script = (
        "import sys\n"
        "import bot.web.chat as chat\n"
        "hits = chat._word_list().find('ik wil elke dag weer dood')\n"
        "assert [h.category for h in hits] == ['suicide'], hits\n"
        "assert 'tensorflow' not in sys.modules\n"
        "import tensorflow\n"  # and it is still there for code that needs it
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def _parallel_sender(client, app):  # type: ignore[no-untyped-def]
    """post(text) from another tab of the same client (same cookies): (status, seconds).
    The crisis word list is loaded first, as after a process's first "wait": it reads every
    message that gets one, and its first load (about 2 s) is not what these tests time."""
    from bot.web.chat import _word_list

    _word_list()
    token = client.get("/chat/").get_data(as_text=True).split('data-csrf="', 1)[1].split('"')[0]
    cookies = {c.key: c.value for c in client._cookies.values()}

    def post(text: str) -> tuple[int, float, dict]:
        """(status, time.monotonic() when the answer came, body)."""
        other = app.test_client()
        for key, value in cookies.items():
            other.set_cookie(key, value)
        response = other.post("/chat/api/send", json={"text": text}, headers={"X-CSRFToken": token})
        return response.status_code, time.monotonic(), response.json

    return post


def test_one_clients_messages_go_one_at_a_time_in_order(client, code, rasa, app):
    """A second message while the first is on its way is not sent (and not lost: the page
    keeps it); it gets "even wachten" at once. Sent again afterwards, it arrives second."""
    client_login(client, code)
    app.config["RASA_TIMEOUT"] = 5.0
    rasa.mode = "slow"  # every answer takes 2 s
    post = _parallel_sender(client, app)
    results: dict[str, tuple[int, float, dict]] = {}
    first = threading.Thread(target=lambda: results.update(een=post("een")))
    first.start()
    time.sleep(0.3)
    results["twee"] = post("twee")
    first.join()
    status, answered, body = results["twee"]
    assert status == 429 and "Even wachten" in body["error"]
    assert results["een"][0] == 200
    assert answered < results["een"][1]  # "wait" came while the first was still with Rasa
    assert post("twee")[0] == 200
    assert [r["message"] for r in rasa.received] == ["een", "twee"]


def test_a_crisis_sent_while_the_previous_message_is_on_its_way_gets_the_help(
    client, code, rasa, app, engine
):
    """A message sent while the client's previous one is still with Rasa is not sent ("even
    wachten", the text stays in the box), so Rasa does not read it. The word list does: a
    crisis in it gets the fixed crisis help at once and the worker a safety event; a calm one
    only the "wait". (It used to get the "wait" alone: a client who did not send it again
    never got the help, and the worker never saw it.)"""
    client_login(client, code)
    app.config["RASA_TIMEOUT"] = 5.0
    rasa.mode = "slow"  # 2 s per answer
    post = _parallel_sender(client, app)
    crisis = "ik wil dood, het touw ligt al klaar"
    results: dict[str, tuple[int, float, dict]] = {}
    first = threading.Thread(target=lambda: results.update(een=post("een")))
    first.start()
    time.sleep(0.3)
    results["calm"] = post("de tuin is mooi")
    results["crisis"] = post(crisis)
    first.join()
    status, _answered, body = results["calm"]
    assert status == 429 and "messages" not in body
    status, _answered, body = results["crisis"]
    assert status == 429 and "Even wachten" in body["error"]
    shown = [m["text"] for m in body["messages"]]
    assert shown == [render_response(domain_responses(), "utter_crisis_suicide", "standaard")]
    (event,) = _soon(lambda: _unread_events(engine, BUSY_CONTEXT))
    assert (event.message_text, event.category, event.detected_by) == (crisis, "suicide", "matcher")
    assert [r["message"] for r in rasa.received] == ["een"]  # neither was sent


def test_parallel_sends_do_not_hold_the_web_threads(client, code, rasa, app):
    """Finding 9: eight parallel sends of one client used to hold all eight web threads
    until Rasa had answered each in turn (up to 35 s each). Now one is sent; the other
    seven answer "wait" within a second."""
    client_login(client, code)
    app.config["RASA_TIMEOUT"] = 5.0
    rasa.mode = "slow"  # 2 s per answer
    post = _parallel_sender(client, app)
    results: list[tuple[int, float, dict]] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(post(f"bericht {i}"))) for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _t, _b in results)
    assert statuses == [200] + [429] * 7, statuses
    sent = next(answered for status, answered, _b in results if status == 200)
    # Every "wait" came back while the one message was still with Rasa (2 s): no thread
    # waited for it. (The old code answered them one after the other, 2 s each.)
    assert all(answered < sent for status, answered, _b in results if status == 429)
    assert len(rasa.received) == 1


def test_help_is_on_the_login_and_chat_page_with_the_org_contact(client, code, engine):
    from bot.storage import repository

    with session_scope(engine) as session:
        repository.set_org_setting(session, "crisis_contact", "Bel <b>de nachtdienst</b> (test)")
    for page in (client.get("/chat/").get_data(as_text=True),):
        assert "113" in page and "0800-0113" in page and "113.nl" in page
        assert "112" in page and "0800-2000" in page
        assert "Bel &lt;b&gt;de nachtdienst&lt;/b&gt; (test)" in page
    client_login(client, code)
    page = client.get("/chat/").get_data(as_text=True)
    assert 'id="hulp-knop"' in page and "0800-0113" in page


def test_a_crisis_sent_while_the_database_is_down_still_gets_the_help(
    client, code, rasa, engine, data, monkeypatch, tmp_path
):
    """The database is down before the client is even known (a 503 for every chat call): the
    crisis word list still reads the typed text, a crisis gets the fixed crisis help with the
    refusal, and the safety event waits in the outbox under the login cookie's client until
    the database is back. A calm message gets the refusal alone; nothing reaches Rasa."""
    from sqlalchemy.exc import OperationalError

    from bot.storage import outbox as outbox_module
    from bot.web import chat as chat_module

    box = outbox_module.Outbox(tmp_path / "outbox")
    monkeypatch.setattr(chat_module, "get_outbox", lambda: box)
    monkeypatch.setattr(chat_module, "FLUSH_INTERVAL", 0.05)
    client_login(client, code)
    page = client.get("/chat/").get_data(as_text=True)  # loaded before the database went
    headers = {"X-CSRFToken": csrf_from(page)}

    def down():
        raise OperationalError("SELECT", {}, Exception("could not connect to server"))

    real_current_client = chat_module.current_client
    monkeypatch.setattr(chat_module, "current_client", down)
    real_flush = box.flush
    monkeypatch.setattr(box, "flush", lambda engine=None: 0)  # the database is down
    crisis = client.post("/chat/api/send", json={"text": "ik wil dood"}, headers=headers)
    assert crisis.status_code == 503 and "niet bereikbaar" in crisis.json["error"]
    shown = "\n".join(m["text"] for m in crisis.json["messages"])
    assert all(number in shown for number in ("113", "0800-0113", "112"))
    calm = client.post("/chat/api/send", json={"text": "ik heb lekker gegeten"}, headers=headers)
    assert calm.status_code == 503 and "messages" not in calm.json
    assert rasa.received == [] and len(box) == 1
    # The database is back: the background flusher writes the event for client A.
    monkeypatch.setattr(chat_module, "current_client", real_current_client)
    monkeypatch.setattr(box, "flush", real_flush)

    def kept() -> list[tuple[int, str]]:
        with session_scope(engine) as session:
            rows = session.scalars(
                select(SafetyEvent).where(SafetyEvent.context == STORAGE_DOWN_CONTEXT)
            )
            return [(e.client_id, e.message_text) for e in rows]

    assert _soon(kept) == [(data.client_a, "ik wil dood")]


def test_a_crisis_sent_while_redis_is_down_gets_the_help_and_its_event(
    client, code, rasa, engine, data, monkeypatch
):
    """Redis (the shared send lock) down, the database up: the client is known, so the help
    comes at the client's level and the worker gets the event at once."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from bot.web import chat as chat_module

    client_login(client, code)
    page = client.get("/chat/").get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page), CLIENT_HEADER: page_token_of(page)}

    class NoRedis:
        def send_lock(self, *args, **kwargs):
            raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(chat_module, "_state", lambda: NoRedis())
    crisis = client.post("/chat/api/send", json={"text": "ik wil dood"}, headers=headers)
    assert crisis.status_code == 503 and "0800-0113" in crisis.json["messages"][0]["text"]
    (event,) = _unread_events(engine)
    assert (event.client_id, event.message_text) == (data.client_a, "ik wil dood")


def page_token_of(page: str) -> str:
    return page.split('data-page="', 1)[1].split('"', 1)[0]


def test_the_help_after_a_rasa_failure_stands_when_no_thread_can_start(
    client, code, rasa, app, engine, monkeypatch
):
    """The event of a hurried word-list help is written by a thread of its own; when none can
    start, the help is still shown and the background flusher writes the event."""
    from bot.web import chat as chat_module

    client_login(client, code)
    app.config["RASA_TIMEOUT"] = 0.5
    rasa.mode = "slow"

    def no_thread(box):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(chat_module, "_flush_soon", no_thread)
    monkeypatch.setattr(chat_module, "FLUSH_INTERVAL", 0.05)
    response = send(client, {"text": "ik wil dood"})
    assert response.status_code == 504 and "0800-0113" in response.json["messages"][0]["text"]
    (event,) = _soon(lambda: _unread_events(engine))
    assert event.message_text == "ik wil dood"


def test_a_failed_contact_read_does_not_stop_a_message(client, code, rasa, monkeypatch):
    """The organisation's contact is read before relaying (for the help should Rasa fail); a
    database error there must not turn an ordinary message into an error."""
    from sqlalchemy.exc import OperationalError

    from bot.web import chat as chat_module

    client_login(client, code)
    page = client.get("/chat/").get_data(as_text=True)
    headers = {"X-CSRFToken": csrf_from(page), CLIENT_HEADER: page_token_of(page)}

    def busy():
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(chat_module, "_crisis_contact", busy)
    response = client.post("/chat/api/send", json={"text": "hoi"}, headers=headers)
    assert response.status_code == 200 and rasa.received[-1]["message"] == "hoi"
