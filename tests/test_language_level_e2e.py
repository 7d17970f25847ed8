"""End to end: the client's language level is the stored one, whoever set it.

A worker or admin adds a client with simple language, or changes it on the dashboard; the
client switches in the chat ("makkelijker graag"). Everything outside the conversation reads
the stored level: reminders, the pages between sessions, the crisis help for a message too
long for Rasa. So the chat follows the stored level at every session start, and a switch in
the chat is stored at once (action_taal_bewaren). The trained model, the real action server
and a real SQLite database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.responses import crisis_help_texts, domain_responses, render_response
from bot.safety.evaluate import CHECK, classify
from bot.storage import accounts
from bot.storage.models import Client
from tests.test_safety_e2e import UNCLEAR

pytestmark = pytest.mark.slow

SIMPLE, STANDARD = "eenvoudig", "standaard"


def added_by_a_worker(engine, level: str) -> str:
    """A client as the admin page or the dashboard adds one: before any chat."""
    with Session(engine) as session:
        chat_id = accounts.create_client(session, "Testclient", language_level=level).chat_id
        session.commit()
    return chat_id


def stored_level(engine, chat_id: str) -> str:
    with Session(engine) as session:
        return session.scalars(select(Client.language_level).where(Client.chat_id == chat_id)).one()


def set_stored_level(engine, chat_id: str, level: str) -> None:
    """What *Taal in de chat* on the client page does (tests/web/test_dashboard.py)."""
    with Session(engine) as session:
        session.scalars(
            select(Client).where(Client.chat_id == chat_id)
        ).one().language_level = level
        session.commit()


def disclosure(level: str) -> str:
    return render_response(domain_responses(), "utter_disclosure", level)


def crisis_help(level: str) -> str:
    return crisis_help_texts(domain_responses(), "suicide", level, None)[0]


def test_the_variants_told_apart_here_differ():
    assert disclosure(SIMPLE) != disclosure(STANDARD)
    assert crisis_help(SIMPLE) != crisis_help(STANDARD)


def test_a_client_added_with_simple_language_gets_it_from_the_first_message(bot, engine):
    chat_id = added_by_a_worker(engine, SIMPLE)
    first = bot.texts(chat_id, "hoi")
    assert disclosure(SIMPLE) in first and disclosure(STANDARD) not in first
    assert bot.tracker(chat_id).get_slot("taalniveau") == SIMPLE
    assert stored_level(engine, chat_id) == SIMPLE, "the chat must not overwrite the worker's"
    assert crisis_help(SIMPLE) in bot.texts(chat_id, "ik wil dood")
    assert stored_level(engine, chat_id) == SIMPLE


def test_a_switch_in_the_chat_is_stored_at_once(bot, engine):
    chat_id = added_by_a_worker(engine, STANDARD)
    bot.texts(chat_id, "hoi")
    assert bot.tracker(chat_id).active_loop_name == "checkin_form"
    assert "Ik zeg het nu makkelijk" in bot.texts(chat_id, "makkelijker graag")
    assert stored_level(engine, chat_id) == SIMPLE  # inside a form, before any new session
    bot.texts(chat_id, "ik wil stoppen")
    assert bot.tracker(chat_id).active_loop_name is None
    bot.texts(chat_id, "normaal graag")
    assert stored_level(engine, chat_id) == STANDARD, "a switch outside a form is stored too"
    bot.texts(chat_id, "makkelijker graag")
    assert stored_level(engine, chat_id) == SIMPLE
    # ... and the next session keeps the client's own choice.
    bot.texts(chat_id, "/session_start")
    assert bot.tracker(chat_id).get_slot("taalniveau") == SIMPLE
    assert crisis_help(SIMPLE) in bot.texts(chat_id, "ik wil dood")


def test_a_change_on_the_dashboard_holds_from_the_next_session(bot, engine):
    chat_id = added_by_a_worker(engine, STANDARD)
    assert disclosure(STANDARD) in bot.texts(chat_id, "hoi")
    set_stored_level(engine, chat_id, SIMPLE)
    bot.texts(chat_id, "/session_start")
    assert bot.tracker(chat_id).get_slot("taalniveau") == SIMPLE
    assert crisis_help(SIMPLE) in bot.texts(chat_id, "ik wil dood")
    assert stored_level(engine, chat_id) == SIMPLE
    # A greeting in the session does not write the conversation's level back either.
    set_stored_level(engine, chat_id, STANDARD)
    bot.texts(chat_id, "hoi")
    assert stored_level(engine, chat_id) == STANDARD


def test_a_switch_while_the_check_question_is_open_is_stored_too(bot, engine):
    """Every message during an open check goes to the check's answer action, also a switch."""
    unclear = next(
        t for t in UNCLEAR if (bot.parse(t).get("crisis") or {}).get("outcome") == "check"
    )
    chat_id = added_by_a_worker(engine, STANDARD)
    bot.say(chat_id, "hoi")
    bot.say(chat_id, "3")
    bot.say(chat_id, "ik wil over hoop praten")
    assert classify(bot.say(chat_id, unclear)) == CHECK
    bot.texts(chat_id, "makkelijker graag")
    assert bot.tracker(chat_id).get_slot("taalniveau") == SIMPLE
    assert stored_level(engine, chat_id) == SIMPLE


def test_a_switch_in_a_conversation_saved_before_it_was_stored_is_kept(bot, engine):
    """A conversation from before action_taal_bewaren: the switch set the slot only. The next
    session start stores it instead of taking the older stored level."""
    chat_id = added_by_a_worker(engine, STANDARD)
    bot.texts(chat_id, "hoi")
    events = [e.as_dict() for e in bot.tracker(chat_id).events]
    switch = {"intent": {"name": "taal_eenvoudig", "confidence": 1.0}, "entities": []}
    events += [
        {"event": "user", "text": "makkelijker graag", "parse_data": switch},
        {"event": "slot", "name": "taalniveau", "value": SIMPLE},
        {"event": "action", "name": "utter_taal_eenvoudig"},
        {"event": "bot", "text": "Ik zeg het nu makkelijk."},
        {"event": "action", "name": "action_listen"},
    ]
    bot.save_events(chat_id, events)
    assert stored_level(engine, chat_id) == STANDARD
    bot.texts(chat_id, "/session_start")
    assert bot.tracker(chat_id).get_slot("taalniveau") == SIMPLE
    assert stored_level(engine, chat_id) == SIMPLE
