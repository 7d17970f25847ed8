"""Logged-in chat devices are recorded on the server (table chat_devices): logging out, or
revoking or replacing the access code, ends the device, so a copied cookie stops working."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot import manage
from bot.storage import devices
from bot.storage.db import session_scope
from bot.storage.models import AccessCode, ChatDevice, Client, SafetyEvent, utcnow
from bot.web.chat import (
    CLIENT_HEADER,
    COOKIE,
    MSG_LOGGED_OUT,
    MSG_OTHER_CLIENT,
    OTHER_PAGE_CONTEXT,
)
from bot.web.dashboard import issue_code
from bot.web.security import format_code
from tests.web import test_chat
from tests.web.conftest import csrf_from, login, token
from tests.web.test_chat import SECRET, client_login, send

code = test_chat.code  # fixtures shared with test_chat.py
rasa = test_chat.rasa

LOGGED_IN = 'id="berichten"'


def _cookie(http) -> str:
    return http.get_cookie(COOKIE).value


def _copy_of(app, cookie: str):
    other = app.test_client()  # another browser with a copy of the cookie
    other.set_cookie(COOKIE, cookie)
    return other


def _logout(http):
    page = http.get("/chat/").get_data(as_text=True)
    csrf = page.split('data-csrf="', 1)[1].split('"', 1)[0]
    return http.post("/chat/uitloggen", data={"csrf_token": csrf})


def _devices(engine) -> list[ChatDevice]:
    with session_scope(engine) as session:
        return list(session.execute(select(ChatDevice).order_by(ChatDevice.id)).scalars())


def test_login_records_a_device_with_only_a_hash_of_the_token(client, code, engine, app):
    client_login(client, code)
    [device] = _devices(engine)
    assert device.ended_at is None and device.created_at is not None
    from bot.web.chat import _serializer

    with app.test_request_context():
        content = _serializer().loads(_cookie(client))
    device_token = content["d"]
    assert len(device_token) >= 43  # 32 random bytes, base64
    assert device.token_hash != device_token and device_token not in device.token_hash
    assert device.token_hash == devices.token_hash(SECRET, device_token)
    assert len(device.token_hash) == 64
    with session_scope(engine) as session:
        assert session.get(AccessCode, device.access_code_id).client_id == content["c"]


def test_a_copied_cookie_stops_working_after_logout_on_the_original_device(
    client, code, app, engine, rasa
):
    client_login(client, code)
    cookie = _cookie(client)
    copy = _copy_of(app, cookie)  # e.g. taken from a shared phone
    assert LOGGED_IN in copy.get("/chat/").get_data(as_text=True)  # the copy works ...
    _logout(client)  # ... until the original device logs out
    assert _devices(engine)[0].ended_at is not None
    page = copy.get("/chat/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and LOGGED_IN not in html
    assert "Vul de code in" in html and MSG_LOGGED_OUT in html
    assert copy.get_cookie(COOKIE) is None  # the useless cookie is removed
    # Putting the copy back does not help: it cannot send either.
    csrf = csrf_from(html)
    copy.set_cookie(COOKIE, cookie)
    response = copy.post("/chat/api/send", json={"text": "hoi"}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 401 and response.json["error"] == MSG_LOGGED_OUT
    assert rasa.received == []


def test_logout_on_one_device_keeps_the_other_device_of_the_same_client(
    client, code, app, engine, rasa, data
):
    phone = app.test_client()
    client_login(client, code)
    client_login(phone, code)  # the same code on a second device
    assert len(_devices(engine)) == 2
    _logout(client)
    assert LOGGED_IN not in client.get("/chat/").get_data(as_text=True)
    assert LOGGED_IN in phone.get("/chat/").get_data(as_text=True)
    assert send(phone, {"text": "nog hier"}).json["ok"]
    assert rasa.received == [{"sender": data.chat_a, "message": "nog hier"}]
    ended = [d.ended_at is not None for d in _devices(engine)]
    assert ended == [True, False]


def test_revoking_the_code_in_the_dashboard_ends_all_devices(client, code, app, engine, data):
    phone = app.test_client()
    client_login(phone, code)
    tablet = app.test_client()
    client_login(tablet, code)
    copy = _copy_of(app, _cookie(phone))
    worker = app.test_client()
    login(worker, "anna")
    path = f"/begeleider/client/{data.client_a}"
    response = worker.post(f"{path}/code/intrekken", data={"csrf_token": token(worker, path)})
    assert response.status_code == 302
    assert all(d.ended_at is not None for d in _devices(engine))
    for http in (phone, tablet, copy):
        html = http.get("/chat/").get_data(as_text=True)
        assert LOGGED_IN not in html and MSG_LOGGED_OUT in html


def test_a_new_code_ends_the_devices_of_the_old_code(client, code, app, engine, data):
    client_login(client, code)
    copy = _copy_of(app, _cookie(client))
    with session_scope(engine) as session:
        issue_code(session, session.get(Client, data.client_a), "test", SECRET)
    assert _devices(engine)[0].ended_at is not None
    assert LOGGED_IN not in copy.get("/chat/").get_data(as_text=True)
    # The device of another client is not touched.
    with session_scope(engine) as session:
        from bot.web.security import format_code

        other = format_code(issue_code(session, session.get(Client, data.client_b), "t", SECRET))
    other_http = app.test_client()
    client_login(other_http, other)
    with session_scope(engine) as session:
        issue_code(session, session.get(Client, data.client_a), "test", SECRET)
    assert LOGGED_IN in other_http.get("/chat/").get_data(as_text=True)


def test_cli_issue_code_ends_the_devices(client, code, engine, data, settings, monkeypatch, capsys):
    import argparse

    client_login(client, code)
    monkeypatch.setattr(manage, "load_secret_key", lambda _settings: SECRET)
    assert manage.issue_code_cmd(argparse.Namespace(client_id=data.client_a), settings) == 0
    assert "Toegangscode" in capsys.readouterr().out
    assert _devices(engine)[0].ended_at is not None
    assert LOGGED_IN not in client.get("/chat/").get_data(as_text=True)


def test_deleting_the_client_deletes_its_devices(client, code, engine, data, settings):
    client_login(client, code)
    assert len(_devices(engine)) == 1
    with session_scope(engine) as session:
        manage.delete_client(session, settings, data.client_a)
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(ChatDevice)).scalar() == 0
    assert LOGGED_IN not in client.get("/chat/").get_data(as_text=True)


def test_an_unknown_or_ended_token_gets_the_calm_login_page(client, code, app, engine):
    from bot.web.chat import _serializer

    client_login(client, code)
    with app.test_request_context():
        content = _serializer().loads(_cookie(client))
        unknown = _serializer().dumps({**content, "d": "niet-bestaand-token"})
        old_style = _serializer().dumps({k: v for k, v in content.items() if k != "d"})
    for cookie in (unknown, old_style):
        page = _copy_of(app, cookie).get("/chat/")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and LOGGED_IN not in html
        assert MSG_LOGGED_OUT in html and 'role="status"' in html and "Verder" in html
    with session_scope(engine) as session:
        device = session.execute(select(ChatDevice)).scalar_one()
        device.ended_at = utcnow()
    html = client.get("/chat/").get_data(as_text=True)
    assert LOGGED_IN not in html and MSG_LOGGED_OUT in html
    # A fresh browser without a cookie gets the plain login page, without the notice.
    assert MSG_LOGGED_OUT not in app.test_client().get("/chat/").get_data(as_text=True)


def test_last_seen_is_written_at_most_once_a_minute(client, code, engine):
    client_login(client, code)
    first = _devices(engine)[0].last_seen_at
    client.get("/chat/")
    assert _devices(engine)[0].last_seen_at == first  # within the minute: not written
    with session_scope(engine) as session:
        device = session.execute(select(ChatDevice)).scalar_one()
        device.last_seen_at = utcnow() - timedelta(minutes=2)
    before = utcnow()
    client.get("/chat/")
    assert _devices(engine)[0].last_seen_at >= before


def test_logging_in_again_ends_the_previous_device_of_that_browser(client, code, engine):
    client_login(client, code)
    client_login(client, code)  # e.g. the login form posted twice
    assert [d.ended_at is not None for d in _devices(engine)] == [True, False]
    assert LOGGED_IN in client.get("/chat/").get_data(as_text=True)


def test_a_page_loaded_for_another_client_cannot_send_into_this_login(
    client, code, engine, data, rasa
):
    """A shared tablet: client A's tab stays open while client B logs in in another tab of the
    same browser (the cookie now names B). A's old page is refused (409; it does not reload,
    which would make it B's chat) and nothing reaches Rasa or B's conversation; B's own page
    sends as before."""
    stale = _a_page_then_b_logs_in(client, code, engine, data)
    response = client.post("/chat/api/send", json={"text": "van A"}, headers=stale)
    assert response.status_code == 409
    assert response.get_json() == {"ok": False, "error": MSG_OTHER_CLIENT, "other_client": True}
    assert rasa.received == []
    for path in ("/chat/api/herinneringen", "/chat/api/push"):
        refused = client.post(path, json={"action": "stop"}, headers=stale)
        assert refused.status_code == 409 and refused.get_json()["other_client"] is True, path
        assert client.get(path, headers=stale).status_code == 409, path
    response = send(client, {"text": "van B"})
    assert response.status_code == 200, response.get_json()
    with session_scope(engine) as session:
        chat_b = session.get(Client, data.client_b).chat_id
    assert [(r["sender"], r["message"]) for r in rasa.received] == [(chat_b, "van B")]


def test_a_crisis_typed_in_the_old_tab_gets_the_help_and_an_event_for_its_client(
    client, code, engine, data, rasa
):
    """The old tab's message is not sent, but the crisis word list reads it first: a crisis
    gets the fixed crisis help with the refusal, and the page's own client (A, not the client
    logged in now) a safety event that says where the message came from."""
    stale = _a_page_then_b_logs_in(client, code, engine, data)
    response = client.post("/chat/api/send", json={"text": "ik wil dood"}, headers=stale)
    body = response.get_json()
    assert response.status_code == 409 and body["other_client"] is True
    assert body["error"] == MSG_OTHER_CLIENT
    shown = "\n".join(m["text"] for m in body["messages"])
    assert "113" in shown and "0800-0113" in shown and "112" in shown
    assert rasa.received == []
    with session_scope(engine) as session:
        events = session.scalars(
            select(SafetyEvent).where(SafetyEvent.message_text == "ik wil dood")
        ).all()
        assert [(e.client_id, e.context) for e in events] == [(data.client_a, OTHER_PAGE_CONTEXT)]
    where = SafetyEvent.message_text.in_(["ik wil dood", "hoi"])
    # A calm message in the old tab: only the refusal, no event.
    calm = client.post("/chat/api/send", json={"text": "hoi"}, headers=stale)
    assert calm.status_code == 409 and "messages" not in calm.get_json()
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(SafetyEvent.id)).where(where)) == 1


def test_a_forged_or_unknown_page_client_gets_the_help_but_no_event(
    app, client, code, engine, data, rasa
):
    """The header is signed: a client cannot name another client (a bare id, or a token of
    their own making), so no event lands on anyone's record. The crisis still gets the fixed
    crisis help; so does a page whose client is gone."""
    from bot.web.chat import page_token

    client_login(client, code)  # A
    page_a = client.get("/chat/").get_data(as_text=True)
    own = {"X-CSRFToken": csrf_from(page_a)}
    with app.app_context():
        gone = page_token(999999)  # a real token of a client that does not exist
    for header in (str(data.client_b), str(data.client_a), "999999", "\xb2", gone, "x.y"):
        response = client.post(
            "/chat/api/send", json={"text": "ik wil dood"}, headers={**own, CLIENT_HEADER: header}
        )
        body = response.get_json()
        assert response.status_code == 409 and body["other_client"] is True, header
        shown = "\n".join(m["text"] for m in body["messages"])
        assert "113" in shown and "0800-0113" in shown and "112" in shown, header
    with session_scope(engine) as session:
        events = session.scalars(
            select(SafetyEvent).where(SafetyEvent.message_text == "ik wil dood")
        ).all()
        assert events == []
    assert rasa.received == []
    # The page's own token sends as before.
    assert send(client, {"text": "hoi"}).status_code == 200


def _a_page_then_b_logs_in(client, code, engine, data) -> dict[str, str]:
    """A's chat page is loaded, then B logs in on the same browser: the headers A's old page
    still sends."""
    client_login(client, code)
    page_a = client.get("/chat/").get_data(as_text=True)
    with session_scope(engine) as session:
        code_b = format_code(issue_code(session, session.get(Client, data.client_b), "t", SECRET))
    client_login(client, code_b)
    return {"X-CSRFToken": csrf_from(page_a), CLIENT_HEADER: page_token_of(page_a)}


def page_token_of(page: str) -> str:
    return page.split('data-page="', 1)[1].split('"', 1)[0]


def test_the_client_can_log_out_after_a_worker_logged_in_on_the_same_browser(client, code, engine):
    """A worker's login starts a new session (and CSRF token) in this browser; the client's
    chat page, still open, keeps a working "Uitloggen": the device ends and the cookie goes."""
    client_login(client, code)
    page = client.get("/chat/").get_data(as_text=True)
    old_token = page.split('data-csrf="', 1)[1].split('"', 1)[0]
    assert login(client, "anna").status_code == 302
    response = client.post("/chat/uitloggen", data={"csrf_token": old_token})
    assert response.status_code == 302
    assert [d.ended_at is not None for d in _devices(engine)] == [True]
    assert client.get_cookie(COOKIE) is None
    assert LOGGED_IN not in client.get("/chat/").get_data(as_text=True)
