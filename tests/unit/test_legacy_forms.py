"""Conversations saved before issue 10 named a form per theme ("hoop_form"); they resume as
`thema_form` (bot/tracker_store.py, bot.vocabulary.current_form_name)."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionCrisisControleAntwoord, ActionPauzeren, paused_form_after
from bot.settings import PROJECT_ROOT
from bot.tracker_store import upgrade_event, upgrade_events
from bot.vocabulary import LEGACY_THEME_FORMS, THEME_FORM, current_form_name

# The events of a conversation paused in the hope theme before issue 10 (as stored).
OLD_EVENTS = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "2", "parse_data": {"intent": {"name": "schaal_antwoord"}}},
    {"event": "action", "name": "keuze_form"},
    {"event": "slot", "name": "thema", "value": "hoop"},
    {"event": "slot", "name": "vragen", "value": ["uitkijken", "gelukt"]},
    {"event": "action", "name": "hoop_form"},
    {"event": "active_loop", "name": "hoop_form"},
    {"event": "slot", "name": "requested_slot", "value": "antwoord_1"},
    {"event": "action", "name": "validate_hoop_form"},
    {"event": "slot", "name": "antwoord_1", "value": "de zomer"},
    {"event": "action", "name": "action_pauzeren"},
    {"event": "active_loop", "name": None},
    {"event": "slot", "name": "onderbroken_form", "value": "hoop_form"},
    {
        "event": "slot",
        "name": "crisis_controle",
        "value": {"sleutel": "k", "categorie": "unknown", "form": "veiligheid_form"},
    },
]


@pytest.mark.parametrize("old", sorted(LEGACY_THEME_FORMS))
def test_every_old_theme_form_is_thema_form_now(old):
    assert current_form_name(old) == THEME_FORM
    assert current_form_name(f"validate_{old}") == f"validate_{THEME_FORM}"
    for name in ("keuze_form", "stapje_form", "plan_form", None):
        assert current_form_name(name) == name


def test_old_events_are_read_in_todays_names():
    events, changed = upgrade_events(OLD_EVENTS)
    assert changed
    names = [e.get("name") for e in events if e["event"] in ("action", "active_loop")]
    assert "hoop_form" not in names and "validate_hoop_form" not in names
    assert names.count(THEME_FORM) == 2 and f"validate_{THEME_FORM}" in names
    paused = next(e for e in events if e.get("name") == "onderbroken_form")
    assert paused["value"] == THEME_FORM
    check = next(e for e in events if e.get("name") == "crisis_controle")
    assert check["value"]["form"] == THEME_FORM and check["value"]["sleutel"] == "k"
    # Answers and the theme are kept; the stored events themselves are not changed.
    assert {"event": "slot", "name": "antwoord_1", "value": "de zomer"} in events
    assert OLD_EVENTS[5]["name"] == "hoop_form"
    # Today's events go through unchanged.
    assert upgrade_events(events) == (events, False)
    assert upgrade_event({"event": "slot", "name": "thema", "value": "hoop"})["value"] == "hoop"


def test_koers_tracker_store_resumes_an_old_sql_conversation(tmp_path):
    """An SQL tracker store as Rasa wrote it before issue 10, read by Koers's store class."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.tracker_store import KoersSQLTrackerStore

    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    db = str(tmp_path / "tracker.db")
    loop = asyncio.new_event_loop()
    try:
        old_store = SQLTrackerStore(domain, dialect="sqlite", db=db)
        old = DialogueStateTracker.from_dict("client-1", OLD_EVENTS, domain.slots)
        loop.run_until_complete(old_store.save(old))

        store = KoersSQLTrackerStore(domain=domain, dialect="sqlite", db=db)
        tracker = loop.run_until_complete(store.retrieve("client-1"))
        assert tracker.get_slot("onderbroken_form") == THEME_FORM
        assert tracker.get_slot("antwoord_1") == "de zomer"
        assert tracker.get_slot("thema") == "hoop"
        full = loop.run_until_complete(store.retrieve_full_tracker("client-1"))
        assert "hoop_form" not in {getattr(e, "action_name", None) for e in full.events}
        # Saving it again adds nothing twice (Rasa appends only the events it has not stored).
        loop.run_until_complete(store.save(tracker))
        again = loop.run_until_complete(old_store.retrieve("client-1"))
        assert len(again.events) == len(old.events)
    finally:
        loop.close()


def _tracker(slots: dict, active_loop: str | None = None) -> Tracker:
    return Tracker(
        sender_id="legacy",
        slots={"taalniveau": "standaard", **slots},
        latest_message={"text": "nee", "intent": {"name": "ontkennen"}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def test_a_check_question_asked_in_an_old_theme_form_resumes_thema_form(monkeypatch):
    """ "Nee" to a check question that paused "hoop_form" goes back to `thema_form` (the
    safety policy starts the form named in `controle_hervat`)."""
    monkeypatch.setattr("actions.actions.record_check_answer", lambda *a, **k: None)
    state = {"sleutel": "k", "categorie": "unknown", "form": "hoop_form", "gevraagd": 1}
    events = ActionCrisisControleAntwoord().run(
        CollectingDispatcher(), _tracker({"crisis_controle": state}), {"responses": {}}
    )
    assert SlotSet("controle_hervat", THEME_FORM) in events


def test_an_old_paused_form_is_resumed_by_its_new_name():
    tracker = _tracker({"onderbroken_form": "eigen_regie_form"})
    assert paused_form_after(tracker, None, always=True) == THEME_FORM
    dispatcher = CollectingDispatcher()
    events = ActionPauzeren().run(dispatcher, tracker, {"responses": {}})
    # Nothing to save (no answers in the slots); the way on is kept as today's name or none.
    assert all(e.get("value") in (None, THEME_FORM) for e in events if e.get("name"))
