"""End to end: the trained model, the real action server and a real SQLite database."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy.orm import Session

from bot.storage import repository as repo
from bot.storage.models import Reflection

pytestmark = pytest.mark.slow

QUESTION_1 = "Waar kijk je de komende tijd naar uit?"
QUESTION_1_SIMPLE = "Waar heb je zin in?"


def reflections(engine, sender: str) -> list[Reflection]:
    with Session(engine) as session:
        return repo.list_reflections(session, sender)


def start_hope(bot, sender: str) -> str:
    first = bot.texts(sender, "hoi")
    assert "computerprogramma" in first, "first contact shows the disclosure"
    assert "Hoe gaat het vandaag?" in first
    offer = bot.texts(sender, "4")
    assert "Wat fijn" in offer and "wat je hoopt" in offer
    question = bot.texts(sender, "ja")
    assert QUESTION_1 in question
    return question


def test_complete_reflection_is_saved_with_consent(bot, engine):
    sender = bot.new_sender("e2e")
    start_hope(bot, sender)
    assert "beter leven" in bot.texts(sender, "dat mijn zoon <b>langskomt</b>")
    assert "klein stapje" in bot.texts(sender, "een eigen huis en werk")
    assert "Hoeveel hoop" in bot.texts(sender, "morgen de woningbouw bellen")
    readback = bot.texts(sender, "3")
    assert "Ik heb opgeschreven" in readback and "dat mijn zoon <b>langskomt</b>" in readback
    assert "3 van de 5" in readback and "Klopt dat?" in readback
    assert "Mag je begeleider dit lezen?" in bot.texts(sender, "ja klopt")
    assert reflections(engine, sender) == [], "nothing is saved before consent"
    closing = bot.texts(sender, "ja")
    assert "Je begeleider kan het lezen" in closing

    [saved] = reflections(engine, sender)
    assert saved.theme == "hoop" and saved.status == "compleet"
    assert saved.shared_with_worker is True and saved.scale == 3
    assert [a.answer_text for a in saved.answers] == [
        "dat mijn zoon <b>langskomt</b>", "een eigen huis en werk", "morgen de woningbouw bellen"]
    assert [a.question_key for a in saved.answers] == ["hoop_uitkijken", "hoop_beter_leven", "hoop_stapje"]

    # Asking to save again after success neither duplicates nor fails.
    assert "al bewaard" in bot.texts(sender, "/opnieuw_opslaan")
    assert len(reflections(engine, sender)) == 1
    with Session(engine) as session:
        assert [c.mood for c in repo.list_checkins(session, sender)] == [4]


def test_consent_no_keeps_it_private_and_correction_changes_an_answer(bot, engine):
    sender = bot.new_sender("e2e")
    start_hope(bot, sender)
    for text in ("voetbal op zaterdag", "rust in mijn hoofd", "om tien uur opstaan", "2"):
        bot.texts(sender, text)
    assert "Wat wil je aanpassen?" in bot.texts(sender, "nee")
    assert "klein stapje" in bot.texts(sender, "3")
    readback = bot.texts(sender, "elke dag een half uur wandelen")
    assert "elke dag een half uur wandelen" in readback and "om tien uur opstaan" not in readback
    bot.texts(sender, "ja")
    assert "alleen voor jou" in bot.texts(sender, "nee").lower()
    [saved] = reflections(engine, sender)
    assert saved.shared_with_worker is False
    assert saved.answers[2].answer_text == "elke dag een half uur wandelen"


def test_retried_save_does_not_duplicate(action_server, engine):
    """Rasa retries an action call when the action server is slow: same key, one row."""
    sender = "e2e-retry"
    tracker = {
        "sender_id": sender,
        "slots": {"hoop_uitkijken": "de zomer", "hoop_beter_leven": "werk",
                  "hoop_stapje": "cv maken", "hoop_schaal": "4", "delen": True,
                  "reflectie_sleutel": "retry-key-1", "taalniveau": "standaard"},
        "latest_message": {"text": "ja", "intent": {"name": "bevestigen"}},
        "events": [], "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "toestemming_form",
    }
    body = {"next_action": "action_reflectie_opslaan", "sender_id": sender,
            "tracker": tracker, "domain": {"responses": {}}}
    replies = [requests.post(action_server, json=body, timeout=30).json() for _ in range(2)]
    for reply in replies:
        assert [r["response"] for r in reply["responses"]] == [
            "utter_opgeslagen_gedeeld", "utter_afsluiting"]
    rows = reflections(engine, sender)
    assert len(rows) == 1 and rows[0].shared_with_worker is True


def test_crisis_typed_as_a_form_answer(bot, engine):
    sender = bot.new_sender("e2e")
    start_hope(bot, sender)
    message = "nergens naar, ik wil er niet meer zijn"
    reply = bot.texts(sender, message)
    assert "113" in reply and "0800-0113" in reply and "112" in reply
    assert "Wil je verder praten of liever stoppen?" in reply
    with Session(engine) as session:
        [event] = repo.list_safety_events(session, sender)
    assert event.category == "suicide" and event.message_text == message
    assert event.context == "hoop_form" and "0800-0113" in event.response_text
    assert event.response_text in reply, "the stored text is exactly what was shown"
    assert reflections(engine, sender) == [], "the crisis message is not saved as an answer"
    # The client can go on with the same question afterwards.
    assert QUESTION_1 in bot.texts(sender, "/hervatten")


def test_stop_mid_form_saves_an_unfinished_private_draft(bot, engine):
    sender = bot.new_sender("e2e")
    start_hope(bot, sender)
    bot.texts(sender, "mijn kinderen zien")
    reply = bot.texts(sender, "ik wil stoppen")
    assert "we stoppen" in reply
    [draft] = reflections(engine, sender)
    assert draft.status == "onderbroken" and draft.shared_with_worker is False
    assert [a.answer_text for a in draft.answers] == ["mijn kinderen zien"]
    # Later: go on where we were, and finishing completes the same reflection.
    assert "beter leven" in bot.texts(sender, "/hervatten")
    for text in ("een baan", "sollicitatie sturen", "4", "ja", "ja"):
        bot.texts(sender, text)
    [done] = reflections(engine, sender)
    assert done.id == draft.id and done.status == "compleet" and len(done.answers) == 3


def test_simpler_wording_language_switch_and_bad_input(bot):
    sender = bot.new_sender("e2e")
    start_hope(bot, sender)
    explained = bot.texts(sender, "ik snap het niet")
    assert "Bijvoorbeeld" in explained and QUESTION_1 not in explained
    assert "Ik zie geen woorden" in bot.texts(sender, "🙂🙂")
    simple = bot.texts(sender, "makkelijker graag")
    assert "Ik praat nu makkelijker" in simple and QUESTION_1_SIMPLE in simple
    assert "Wat wil je graag anders in je leven?" in bot.texts(sender, "naar buiten")


def test_out_of_scope_and_help_keep_the_form_going(bot):
    sender = bot.new_sender("e2e")
    start_hope(bot, sender)
    reply = bot.texts(sender, "wat voor weer wordt het morgen")
    assert "Daar kan ik je niet mee helpen" in reply and QUESTION_1 in reply
    reply = bot.texts(sender, "wat kan jij allemaal")
    assert "computerprogramma" in reply and QUESTION_1 in reply
