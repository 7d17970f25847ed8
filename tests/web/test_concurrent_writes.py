"""Concurrent writing requests on SQLite never fail with "database is locked" (issue 13).

Real threads, a real SQLite file (WAL), the real Flask app; every request reads first and then
writes, which is what used to fail at once: SQLite cannot upgrade a deferred transaction whose
snapshot went stale because another request committed in between.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from bot.storage import accounts
from bot.storage.db import session_scope
from bot.storage.models import AuditEntry, ChatDevice, utcnow
from bot.web.dashboard import issue_code
from tests.web.conftest import csrf_from
from tests.web.test_chat import SECRET, FakeRasa

CLIENTS = 10


def _codes(engine, count: int) -> list[str]:
    codes = []
    with session_scope(engine) as session:
        for i in range(count):
            client = accounts.client_row(
                f"test-concurrent-{i}", display_name=f"Gelijktijdig {i} (nep)"
            )
            session.add(client)
            session.flush()
            codes.append(issue_code(session, client, "test", SECRET))
    return codes


def _all_at_once(count: int, work) -> list:  # type: ignore[no-untyped-def]
    """Run work(i) in `count` threads released together; return the results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_ten_clients_log_in_at_the_same_moment(app, engine):
    codes = _codes(engine, CLIENTS)
    browsers = [app.test_client() for _ in codes]
    tokens = [csrf_from(b.get("/chat/").get_data(as_text=True)) for b in browsers]

    def login(i: int) -> int:
        reply = browsers[i].post("/chat/login", data={"code": codes[i], "csrf_token": tokens[i]})
        return reply.status_code

    statuses = _all_at_once(CLIENTS, login)
    assert statuses == [302] * CLIENTS
    with session_scope(engine) as session:
        logins = session.execute(
            select(func.count()).where(AuditEntry.action == "client_ingelogd")
        ).scalar_one()
        devices = session.execute(select(func.count(ChatDevice.id))).scalar_one()
    assert logins == CLIENTS and devices == CLIENTS


def test_ten_clients_send_at_once_after_the_last_seen_update_is_due(app, engine):
    rasa = FakeRasa()
    app.config["RASA_URL"] = rasa.url
    app.config["RASA_TIMEOUT"] = 10.0
    try:
        codes = _codes(engine, CLIENTS)
        browsers, tokens = [], []
        for code in codes:
            browser = app.test_client()
            token = csrf_from(browser.get("/chat/").get_data(as_text=True))
            assert (
                browser.post("/chat/login", data={"code": code, "csrf_token": token}).status_code
                == 302
            )
            page = browser.get("/chat/").get_data(as_text=True)
            tokens.append(page.split('data-csrf="', 1)[1].split('"', 1)[0])
            browsers.append(browser)
        # Every device was last seen two minutes ago: each request now also writes.
        with session_scope(engine) as session:
            session.execute(update(ChatDevice).values(last_seen_at=utcnow() - timedelta(minutes=2)))

        def send(i: int) -> int:
            reply = browsers[i].post(
                "/chat/api/send", json={"text": f"bericht {i}"}, headers={"X-CSRFToken": tokens[i]}
            )
            return reply.status_code

        statuses = _all_at_once(CLIENTS, send)
        assert statuses == [200] * CLIENTS
        assert sorted(r["message"] for r in rasa.received) == sorted(
            f"bericht {i}" for i in range(CLIENTS)
        )
        with session_scope(engine) as session:
            stale = session.execute(
                select(func.count(ChatDevice.id)).where(
                    ChatDevice.last_seen_at < utcnow() - timedelta(minutes=1)
                )
            ).scalar_one()
        assert stale == 0
    finally:
        rasa.close()


class WritingRasa(FakeRasa):
    """A fake Rasa whose 'action server' writes to the same SQLite file during every turn,
    as the real one does (with a short busy timeout, so a held lock shows up as an error)."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine = engine
        self.failures: list[str] = []
        super().__init__()

    def app(self, environ, start_response):  # type: ignore[no-untyped-def]
        import io
        import json

        from werkzeug.wrappers import Request, Response

        from bot.storage import repository

        raw = Request(environ).get_data()
        environ["wsgi.input"] = io.BytesIO(raw)  # the parent class reads the body again
        body = json.loads(raw)
        try:
            with session_scope(self.engine) as session:
                repository.get_or_create_client(session, body["sender"])
        except Exception as error:  # reported by the test
            self.failures.append(str(error))
            return Response("locked", status=500)(environ, start_response)
        return super().app(environ, start_response)


def test_the_web_app_holds_no_write_lock_while_it_relays_to_rasa(app, engine, db_url, monkeypatch):
    from bot.storage.db import make_engine

    monkeypatch.setenv("KOERS_SQLITE_BUSY_TIMEOUT", "1")
    action_engine = make_engine(db_url)
    rasa = WritingRasa(action_engine)
    app.config["RASA_URL"] = rasa.url
    app.config["RASA_TIMEOUT"] = 10.0
    try:
        (code,) = _codes(engine, 1)
        browser = app.test_client()
        token = csrf_from(browser.get("/chat/").get_data(as_text=True))
        assert (
            browser.post("/chat/login", data={"code": code, "csrf_token": token}).status_code == 302
        )
        page = browser.get("/chat/").get_data(as_text=True)
        token = page.split('data-csrf="', 1)[1].split('"', 1)[0]
        for text in ("hoi", "nog een bericht"):
            reply = browser.post(
                "/chat/api/send", json={"text": text}, headers={"X-CSRFToken": token}
            )
            assert reply.status_code == 200, (reply.get_data(as_text=True), rasa.failures)
        assert rasa.failures == []
    finally:
        rasa.close()
        action_engine.dispose()


def test_a_database_that_stays_locked_gives_a_calm_message_not_a_500(settings, db_url, monkeypatch):
    import sqlite3

    from bot.web import create_app

    monkeypatch.setenv("KOERS_SQLITE_BUSY_TIMEOUT", "0.3")
    app = create_app(settings=settings)
    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        browser = app.test_client()
        token = csrf_from(browser.get("/chat/").get_data(as_text=True))
        blocker.execute("BEGIN EXCLUSIVE")  # another process keeps the database to itself
        reply = browser.post("/chat/login", data={"code": "AAAA-BBBB-CCCC", "csrf_token": token})
        assert reply.status_code == 503
        assert "niet bereikbaar" in reply.get_data(as_text=True)
        blocker.execute("ROLLBACK")
        reply = browser.post("/chat/login", data={"code": "AAAA-BBBB-CCCC", "csrf_token": token})
        assert reply.status_code == 401  # storage is back: the normal answer
    finally:
        blocker.close()
        app.extensions["koers_engine"].dispose()
