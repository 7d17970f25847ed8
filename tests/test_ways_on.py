"""Every message offers a way on (issue 10): buttons where a closed answer is expected, an open
question, or a goodbye. Never "Typ: verder", never "tik op een knop" without buttons.

The dead ends a new client ran into: no safety plan ("ok" then got "Dat snap ik niet"), after
the plan ("Typ: verder." instead of a button), after a second stop.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from bot import content
from bot.storage import repository as repo
from bot.storage.repository import PlanItemIn
from tests.test_e2e import check_in

pytestmark = pytest.mark.slow

GOODBYES = ("Tot de volgende keer", "Dag!", "Graag gedaan")


def way_on(messages: list[dict]) -> str | None:
    """What is wrong with a turn's messages, or None when the client has a way on."""
    text = "\n".join(m.get("text") or "" for m in messages)
    buttons = [b for m in messages for b in m.get("buttons") or []]
    if re.search(r"typ\w*:? (later: )?verder", text, re.IGNORECASE):
        return "says 'Typ: verder'"
    if re.search(r"\bknop(pen)?\b", text, re.IGNORECASE) and not buttons:
        return "mentions buttons but shows none"
    last = (messages[-1].get("text") or "").strip() if messages else ""
    # A question ("Wat wil je daar nu zeggen? Typ je nieuwe antwoord.") is a way on too.
    if buttons or "?" in last or any(g in last for g in GOODBYES):
        return None
    return f"no way on after: {last!r}"


def turn(bot, sender: str, text: str) -> list[dict]:
    messages = bot.say(sender, text)
    problem = way_on(messages)
    assert problem is None, f"{text!r} -> {problem}"
    return messages


def titles(messages: list[dict]) -> list[str]:
    return [b["title"] for m in messages for b in m.get("buttons") or []]


def test_no_safety_plan_offers_buttons_and_ok_is_understood(bot):
    sender = bot.new_sender("wayon")
    turn(bot, sender, "hoi")
    reply = turn(bot, sender, "laat mijn plan zien")
    assert "nog geen plan" in "\n".join(m.get("text") or "" for m in reply)
    after = turn(bot, sender, "ok")
    assert "snap ik niet" not in "\n".join(m.get("text") or "" for m in after)


def test_after_the_plan_a_button_leads_back_to_the_questions(bot, engine):
    sender = bot.new_sender("wayon")
    with Session(engine) as session:
        repo.save_safety_plan(
            session, sender, [PlanItemIn("oranje", "helpt", "een rondje lopen")], updated_by="t"
        )
        session.commit()
    check_in(bot, sender)
    turn(bot, sender, "hoop")
    colour = turn(bot, sender, "mijn plan")
    assert "Welke kleur" in colour[-1]["text"]
    shown = turn(bot, sender, "oranje")
    assert any("/hervatten" == b["payload"] for m in shown for b in m.get("buttons") or [])
    back = turn(bot, sender, "/hervatten")
    assert bot.tracker(sender).active_loop_name == "thema_form", back


def test_stopping_twice_and_coming_back(bot):
    sender = bot.new_sender("wayon")
    check_in(bot, sender)
    turn(bot, sender, "hoop")
    turn(bot, sender, "de zomer")
    first = turn(bot, sender, "stop")
    assert any("Verder" in t for t in titles(first))
    turn(bot, sender, "stop")
    turn(bot, sender, "ok")
    back = turn(bot, sender, "verder")
    assert bot.tracker(sender).active_loop_name == "thema_form", back


def test_a_whole_check_in_never_reaches_a_dead_end(bot):
    sender = bot.new_sender("wayon")
    for text in (
        "hoi",
        "4",
        "over anderen",
        "famillie",
        "weet nie",
        "mn moeder",
        "niks",
        "niks",
        "3",
        "ja",
        "geen idee",
        "zondag mn zus bellen",
        "nee",
        "1",
        "kamer opgeruimd",
        "ja",
        "nee",
        "nee",
        "bedankt",
        "hoi",
        "makkelijker",
    ):
        turn(bot, sender, text)


def test_weak_answers_get_one_gentle_follow_up_then_go_on(bot, engine):
    sender = bot.new_sender("wayon")
    check_in(bot, sender)
    turn(bot, sender, "hoop")
    follow_up = turn(bot, sender, "weet nie")
    assert any(title.endswith("Weet ik niet") for title in titles(follow_up))
    tracker = bot.tracker(sender)
    assert tracker.get_slot("requested_slot") == "antwoord_1"
    assert tracker.get_slot("antwoord_1") is None
    turn(bot, sender, "weet nie")
    tracker = bot.tracker(sender)
    assert tracker.get_slot("antwoord_1") == "weet nie", "stored as it was said"
    assert tracker.get_slot("requested_slot") == "antwoord_2"
    # The button moves on too, and is stored in words.
    turn(bot, sender, "niks")
    turn(bot, sender, "/weet_niet")
    assert bot.tracker(sender).get_slot("antwoord_2") == "weet ik niet"


def test_short_answers_read_as_goodbye_stay_answers(bot):
    sender = bot.new_sender("wayon")
    check_in(bot, sender)
    turn(bot, sender, "over anderen")
    turn(bot, sender, "1")
    turn(bot, sender, "mn moeder")
    assert bot.tracker(sender).get_slot("antwoord_1") == "mn moeder"
    assert bot.tracker(sender).active_loop_name == "thema_form"


def test_a_conversation_saved_in_an_old_theme_form_resumes(bot):
    """A conversation stored before issue 10, paused in "hoop_form" with one answer, goes on
    in `thema_form` with that answer after "verder" (Koers's tracker store reads it)."""
    from tests.unit.test_legacy_forms import OLD_EVENTS

    sender = bot.new_sender("oud")
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        *OLD_EVENTS[:-1],  # without an open check question
    ]
    bot.save_events(sender, events)
    back = turn(bot, sender, "verder")
    tracker = bot.tracker(sender)
    assert tracker.active_loop_name == "thema_form"
    assert tracker.get_slot("antwoord_1") == "de zomer"
    assert tracker.get_slot("requested_slot") == "antwoord_2"
    second = content.prompt("hoop", "gelukt")
    assert second is not None and second.standaard in "\n".join(m.get("text") or "" for m in back)
