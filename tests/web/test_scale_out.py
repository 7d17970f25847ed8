"""The web app scaled out (issue 13): each client always goes to the same Rasa instance, and
two web processes share their state in a real Redis (Debian's redis-server, started for the
tests on a free port): the per-client send lock, offered buttons, login limits and worker
sessions. Two Flask apps on one Redis play the two web processes behind a proxy."""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from bot.localservices import LocalRedis
from bot.storage.db import session_scope
from bot.storage.models import Client
from bot.web import create_app, routing
from bot.web.dashboard import issue_code
from bot.web.security import format_code
from tests.web.conftest import csrf_from, login
from tests.web.test_chat import SECRET, FakeRasa, client_login, send


@pytest.fixture(scope="module")
def redis_server():
    directory = Path(tempfile.mkdtemp(prefix="koers-test-redis-"))
    server = LocalRedis(directory)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    import redis

    url = redis_server.url(3)
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def two_apps(settings, redis_url):
    """Two web processes on one database and one Redis."""
    shared = dataclasses.replace(settings, redis_url=redis_url)
    apps = [create_app(settings=shared), create_app(settings=shared)]
    yield apps
    for app in apps:
        app.extensions["koers_engine"].dispose()


@pytest.fixture
def code(two_apps, data) -> str:
    engine = two_apps[0].extensions["koers_engine"]
    with session_scope(engine) as session:
        return format_code(issue_code(session, session.get(Client, data.client_a), "test", SECRET))


def _share_cookies(source, target) -> None:
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value)


# --- routing ------------------------------------------------------------------------------------


def test_each_client_always_goes_to_the_same_instance_and_the_load_is_spread():
    urls = ["http://10.0.0.1:5005", "http://10.0.0.2:5005"]
    clients = [f"web-{i}" for i in range(2000)]
    first = {c: routing.instance_order(c, urls)[0] for c in clients}
    assert first == {c: routing.instance_order(c, list(reversed(urls)))[0] for c in clients}
    shares = Counter(first.values())
    assert all(800 < n < 1200 for n in shares.values()), shares
    # A third instance takes about a third of the clients and moves nobody else.
    third = urls + ["http://10.0.0.3:5005"]
    moved = [c for c in clients if routing.instance_order(c, third)[0] != first[c]]
    assert all(routing.instance_order(c, third)[0] == third[2] for c in moved)
    assert 500 < len(moved) < 850


def test_only_a_refused_connection_counts_as_never_delivered():
    with pytest.raises(requests.ConnectionError) as refused:
        requests.post("http://127.0.0.1:9/webhooks/rest/webhook", timeout=2)
    assert routing.refused(refused.value)
    assert not routing.refused(requests.ReadTimeout("read timed out"))
    assert not routing.refused(requests.ConnectionError("Connection aborted."))


def test_a_client_goes_to_its_own_instance_and_past_a_dead_one(app, client, data, engine):
    rasa = FakeRasa()
    dead = "http://127.0.0.1:9"
    try:
        with session_scope(engine) as session:
            code = format_code(
                issue_code(session, session.get(Client, data.client_a), "test", SECRET)
            )
        client_login(client, code)
        app.config["RASA_URLS"] = [rasa.url, dead]
        order = routing.instance_order(data.chat_a, app.config["RASA_URLS"])
        assert send(client, {"text": "een"}).status_code == 200
        assert len(rasa.received) == 1  # delivered, whichever instance came first
        app.config["RASA_URLS"] = [dead, "http://127.0.0.1:1"]  # every instance down
        reply = send(client, {"text": "twee"})
        assert reply.status_code == 503 and "niet bereikbaar" in reply.json["error"]
        assert order  # the order itself is covered above
    finally:
        rasa.close()


# --- shared state in Redis ----------------------------------------------------------------------


def test_one_clients_messages_go_one_at_a_time_across_web_processes(two_apps, code):
    """While a message of the client is on its way through one web process, a second one
    through the other process gets "Even wachten" (429) at once: the lock is in Redis."""
    from bot.web.chat import _word_list

    _word_list()  # it reads every "wait" message; its first load (about 2 s) is not timed here
    rasa = FakeRasa()
    rasa.mode = "slow"  # 2 s per answer
    try:
        for app in two_apps:
            app.config.update(RASA_URL=rasa.url, RASA_TIMEOUT=5.0)
        first, second = (app.test_client() for app in two_apps)
        client_login(first, code)
        _share_cookies(first, second)
        token = first.get("/chat/").get_data(as_text=True).split('data-csrf="', 1)[1].split('"')[0]
        _share_cookies(first, second)
        replies: dict[str, tuple[int, float]] = {}

        def post(browser, text: str) -> None:
            started = time.monotonic()
            reply = browser.post(
                "/chat/api/send", json={"text": text}, headers={"X-CSRFToken": token}
            )
            replies[text] = (reply.status_code, time.monotonic() - started)

        a = threading.Thread(target=post, args=(first, "een"))
        a.start()
        time.sleep(0.3)
        post(second, "twee")
        a.join()
        assert replies["een"][0] == 200
        status, waited = replies["twee"]
        assert status == 429 and waited < 1.5, replies  # "wait", not a held web thread
        assert [r["message"] for r in rasa.received] == ["een"]
        post(second, "twee")  # the first one answered: now it goes through
        assert replies["twee"][0] == 200
        assert [r["message"] for r in rasa.received] == ["een", "twee"]
    finally:
        rasa.close()


def test_an_offered_button_works_once_across_web_processes(two_apps, code):
    rasa = FakeRasa()
    try:
        for app in two_apps:
            app.config.update(RASA_URL=rasa.url, RASA_TIMEOUT=5.0)
        first, second = (app.test_client() for app in two_apps)
        client_login(first, code)
        _share_cookies(first, second)
        send(first, {"text": "hoi"})  # process 1 relays; the fake offers Ja and Nee
        rasa.mode = "slow_plain"  # the next answers offer no buttons
        token = first.get("/chat/").get_data(as_text=True).split('data-csrf="', 1)[1].split('"')[0]

        def press(browser) -> int:  # the same button, in one process and then the other
            return browser.post(
                "/chat/api/send",
                json={"payload": "/bevestigen", "title": "Ja"},
                headers={"X-CSRFToken": token},
            ).status_code

        assert press(first) == 200
        assert press(second) == 200
        sent = [r["message"] for r in rasa.received[1:]]
        assert sent == ["/bevestigen", "Ja"], sent  # the second press: only its words
    finally:
        rasa.close()


def test_login_limits_count_every_web_process(two_apps, code):
    browsers = [app.test_client() for app in two_apps]
    for i in range(10):
        client_login(browsers[i % 2], "FOUT-FOUT-FOUT")
    for browser in browsers:
        blocked = client_login(browser, code)
        assert blocked.status_code == 429 and "15 minuten" in blocked.get_data(as_text=True)


def test_a_worker_logged_out_in_one_process_is_logged_out_in_all(two_apps, data):
    first, second = (app.test_client() for app in two_apps)
    assert login(first, "anna").status_code == 302
    _share_cookies(first, second)
    home = first.get("/").headers["Location"]  # the worker's caseload
    assert second.get(home).status_code == 200  # the session is known in both processes
    token = csrf_from(first.get(home).get_data(as_text=True))
    first.post("/logout", data={"csrf_token": token})
    assert second.get(home).status_code == 302  # a copy of the cookie is useless everywhere


def test_redis_down_gives_a_calm_message(settings):
    app = create_app(settings=dataclasses.replace(settings, redis_url="redis://127.0.0.1:9/0"))
    try:
        browser = app.test_client()
        token = csrf_from(browser.get("/chat/").get_data(as_text=True))
        reply = browser.post("/chat/login", data={"code": "AAAA-BBBB-CCCC", "csrf_token": token})
        assert reply.status_code == 503 and "niet bereikbaar" in reply.get_data(as_text=True)
    finally:
        app.extensions["koers_engine"].dispose()
