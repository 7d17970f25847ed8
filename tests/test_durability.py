"""Nothing confirmed is lost, nothing is saved twice (issue 13), with the trained model, the
real action server and its real SQLite database.

"The database is unavailable" is made real: this test process takes SQLite's write lock on
the action server's database file (`BEGIN EXCLUSIVE`), as another process could, so every
transaction of the action server waits for its busy timeout (3 s in tests) and fails. Rasa
being killed mid-turn is replayed by putting the conversation back as Rasa had stored it
before that turn.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.settings import PROJECT_ROOT
from bot.storage import repository as repo
from bot.storage.db import make_engine, upgrade_database
from bot.storage.models import CheckIn, Client, SafetyEvent
from bot.storage.outbox import Outbox
from tests.conftest import free_port, start_action_server, stop_process

pytestmark = pytest.mark.slow

DISCLOSURE = "computerprogramma"


@contextlib.contextmanager
def database_unavailable(database_url: str):
    """Hold SQLite's write lock on the action server's database for the duration."""
    blocker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            blocker.execute("ROLLBACK")
        blocker.close()


def wait_until(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within time")
        time.sleep(0.5)


def count(engine, model, sender: str) -> int:
    with Session(engine) as session:
        return session.execute(
            select(func.count(model.id)).join(Client).where(Client.chat_id == sender)
        ).scalar_one()


def to_consent(bot, sender: str) -> None:
    """Greeting, mood, theme, two answers, scale, no step, read-back: consent is asked."""
    assert "Hoe gaat het vandaag?" in bot.texts(sender, "hoi")
    assert "Waar wil je het over hebben?" in bot.texts(sender, "4")
    bot.say(sender, '/kies_thema{"thema": "hoop"}')
    bot.say(sender, "een eigen huis")
    bot.say(sender, "mijn zus")
    assert "stapje" in bot.texts(sender, "3")
    assert "Klopt" in bot.texts(sender, "nee")
    assert "Mag je begeleider dit lezen?" in bot.texts(sender, "ja")


def test_a_resent_mood_after_a_crash_is_one_check_in(bot, engine):
    """Rasa killed during the mood turn, after the action server saved the mood: the client
    resends it. The conversation is back where Rasa last stored it; the resend must not add
    a second check-in (the key used to come from Rasa's message id, new on every resend)."""
    sender = bot.new_sender("resend")
    assert "Hoe gaat het vandaag?" in bot.texts(sender, "hoi")
    stored_before_the_turn = bot.tracker(sender)
    assert "Waar wil je het over hebben?" in bot.texts(sender, "4")
    assert count(engine, CheckIn, sender) == 1
    bot.loop.run_until_complete(bot.agent.tracker_store.save(stored_before_the_turn))
    assert "Waar wil je het over hebben?" in bot.texts(sender, "4")  # the resend
    assert count(engine, CheckIn, sender) == 1
    # A new check-in later is a new row.
    bot.texts(sender, "/stoppen")
    bot.texts(sender, "hoi")
    bot.texts(sender, "2")
    assert count(engine, CheckIn, sender) == 2


def test_answers_whose_save_failed_survive_what_the_client_says_next(bot, engine, database_url):
    sender = bot.new_sender("draft")
    to_consent(bot, sender)
    with database_unavailable(database_url):
        reply = bot.texts(sender, "ja")
        assert "Je antwoorden zijn niet weg" in reply
        # The client moves on to a new check-in and another theme: the reflection's slots
        # are cleared; only the server-side draft still has the answers.
        assert "Hoe gaat het vandaag?" in bot.texts(sender, "hoi")
        bot.say(sender, "4")
        bot.say(sender, '/kies_thema{"thema": "verbinding"}')
        tracker = bot.tracker(sender)
        assert tracker.get_slot("thema") == "verbinding"
        assert tracker.get_slot("antwoord_1") is None
    # Storage is back: the server-side draft is stored, exactly once, as the client chose.
    wait_until(lambda: len(reflections(engine, sender)) == 1)
    [saved] = reflections(engine, sender)
    assert saved.status == "compleet" and saved.shared_with_worker is True
    assert [a.answer_text for a in saved.answers] == ["een eigen huis", "mijn zus"]
    assert saved.scale == 3
    bot.texts(sender, "iemand die luistert")  # later writes do not store it again
    assert len(reflections(engine, sender)) == 1
    assert count(engine, CheckIn, sender) == 2  # the mood given during the outage too


def test_a_mood_and_a_crisis_during_an_outage_are_stored_afterwards(bot, engine, database_url):
    sender = bot.new_sender("outage")
    assert "Hoe gaat het vandaag?" in bot.texts(sender, "hoi")
    with database_unavailable(database_url):
        reply = bot.texts(sender, "2")
        assert "niet bewaard" not in reply and "Waar wil je het over hebben?" in reply
        crisis = bot.texts(sender, "ik wil niet meer leven")
        assert "113" in crisis and "0800-0113" in crisis
    wait_until(lambda: count(engine, CheckIn, sender) == 1)
    wait_until(lambda: count(engine, SafetyEvent, sender) == 1)
    with Session(engine) as session:
        [checkin] = repo.list_checkins(session, sender)
        [event] = repo.list_safety_events(session, sender)
    assert checkin.mood == 2
    assert event.category == "suicide" and event.message_text == "ik wil niet meer leven"


def test_a_turn_without_the_action_server_is_not_half_saved(bot, engine):
    """The action server is down in the middle of a check-in: no answer and nothing saved
    (Rasa would otherwise save the turn without the actions' slot changes); the same message
    sent again later goes on exactly where the client was."""
    sender = bot.new_sender("atomic")
    assert "Hoe gaat het vandaag?" in bot.texts(sender, "hoi")
    bot.say(sender, "4")
    question = bot.texts(sender, '/kies_thema{"thema": "hoop"}')
    stored = bot.tracker(sender)
    processor = bot.agent.processor
    working = processor.action_endpoint
    processor.action_endpoint = EndpointConfig(url="http://127.0.0.1:9/webhook")
    try:
        assert not bot.say(sender, "een eigen huis")  # the web chat: "probeer het zo nog eens"
    finally:
        processor.action_endpoint = working
    assert len(bot.tracker(sender).events) == len(stored.events), "nothing was saved"
    assert "Hoeveel hoop" not in question
    second = bot.texts(sender, "een eigen huis")  # sent again
    tracker = bot.tracker(sender)
    assert tracker.get_slot("antwoord_1") == "een eigen huis" and second.strip()
    assert tracker.get_slot("antwoord_2") is None


def test_the_disclosure_comes_at_the_first_successful_contact(bot, engine):
    """The action server is unreachable at the client's very first message: the session
    starts without the disclosure. The next message that reaches it shows it."""
    sender = bot.new_sender("disclosure")
    processor = bot.agent.processor
    working = processor.action_endpoint
    processor.action_endpoint = EndpointConfig(url="http://127.0.0.1:9/webhook")
    try:
        first = bot.texts(sender, "hoi")
    finally:
        processor.action_endpoint = working
    assert DISCLOSURE not in first
    second = bot.texts(sender, "hoi")
    assert DISCLOSURE in second and second.index(DISCLOSURE) < second.index("Hoe gaat het")
    with Session(engine) as session:
        client = session.execute(select(Client).where(Client.chat_id == sender)).scalar_one()
        assert client.disclosure_shown_at is not None
    assert DISCLOSURE not in bot.texts(sender, "4")  # once


def test_the_disclosure_is_shown_when_the_database_cannot_say(bot, engine, database_url):
    sender = bot.new_sender("disclosure-db")
    with database_unavailable(database_url):
        first = bot.texts(sender, "hoi")
    assert DISCLOSURE in first and "Hoe gaat het vandaag?" in first
    # Recorded once storage is back (through the outbox), so it is not shown again.
    wait_until(lambda: _disclosure_shown(engine, sender))
    bot.texts(sender, "/stoppen")
    assert DISCLOSURE not in bot.texts(sender, "hoi")


def _disclosure_shown(engine, sender: str) -> bool:
    with Session(engine) as session:
        shown = session.execute(
            select(Client.disclosure_shown_at).where(Client.chat_id == sender)
        ).scalar_one_or_none()
    return shown is not None


def reflections(engine, sender: str):
    with Session(engine) as session:
        return repo.list_reflections(session, sender)


def _start_web_app(url: str, outbox_dir, log):
    env = {
        **os.environ,
        "KOERS_DATABASE_URL": url,
        "KOERS_OUTBOX_DIR": str(outbox_dir),
        "KOERS_WEB_HOST": "127.0.0.1",
        "KOERS_WEB_PORT": str(free_port()),
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.web"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _start_action_server(url: str, outbox_dir, log):
    return start_action_server(url, outbox_dir, log)[0]


@pytest.mark.parametrize(
    "start", [_start_action_server, _start_web_app], ids=["actieserver", "webapp"]
)
def test_a_restarted_process_writes_what_an_earlier_run_kept(tmp_path, start):
    """A safety event kept in the outbox while the database was down (by the action server,
    or by the web app for a message Rasa never read), then a restart: the new process writes
    it on its own, before any client sends a message (the worker sees the alert without
    waiting for the next conversation)."""
    url = f"sqlite:///{tmp_path / 'koers.db'}"
    upgrade_database(url)
    event = {
        "chat_id": "chat-herstart",
        "category": "suicide",
        "message_text": "bewaard tijdens de storing",
        "response_text": "113",
        "detected_by": "matcher",
        "context": None,
    }
    Outbox(tmp_path / "outbox").put("safety_event", "k-herstart", event)
    log = tmp_path / "process.log"
    proc = start(url, tmp_path / "outbox", log)
    engine = make_engine(url)
    try:
        wait_until(lambda: count(engine, SafetyEvent, "chat-herstart") == 1, timeout=30)
        assert not Outbox(tmp_path / "outbox").pending()
    except AssertionError:
        raise AssertionError(log.read_text()[-3000:]) from None
    finally:
        stop_process(proc)
        engine.dispose()
