"""Custom actions: welcome and disclosure, saving check-ins and reflections, pausing,
explaining a question, and the crisis response.

The client is always identified by `tracker.sender_id` (set by the server that talks to
Rasa), never by anything the client typed.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import (
    HOOP_QUESTIONS,
    HOOP_SCALE_SLOT,
    HOOP_SLOTS,
    LANGUAGE_SLOT,
    db_session,
    language_level,
    latest_user_event,
    render_response,
    stable_key,
)
from bot.storage import repository as repo

logger = logging.getLogger(__name__)

REFLECTION_FORMS = ("hoop_form", "correctie_form", "toestemming_form")
# Slots that describe the current session only and are not carried into a new one.
SESSION_ONLY_SLOTS = frozenset({"requested_slot", "crisis_getoond", "disclosure_net_getoond"})
CRISIS_CATEGORIES = (
    "suicide", "overdose", "self_harm", "danger_to_others", "threatened", "abuse", "unknown",
)


class ActionSessionStart(Action):
    """Start a session; on the very first contact show the honest disclosure."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carry_over = (domain.get("session_config") or {}).get(
            "carry_over_slots_to_new_session", True
        )
        if carry_over:
            events += [
                SlotSet(key, value)
                for key, value in tracker.slots.items()
                if key not in SESSION_ONLY_SLOTS and value is not None
            ]
        level = tracker.get_slot(LANGUAGE_SLOT)
        first_contact = False
        try:
            with db_session() as session:
                client = repo.get_or_create_client(session, tracker.sender_id)
                if not carry_over or level is None:
                    level = client.language_level
                first_contact = repo.mark_disclosure_shown(session, tracker.sender_id)
        except SQLAlchemyError:
            logger.exception("could not read the client at session start")
        level = level or "standaard"
        events.append(SlotSet(LANGUAGE_SLOT, level))
        if first_contact:
            text = render_response(domain, "utter_disclosure", level)
            dispatcher.utter_message(text=text)
            events.append(SlotSet("disclosure_net_getoond", True))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionWelkom(Action):
    """Greet (short when the disclosure was just shown) and start a fresh check-in."""

    def name(self) -> str:
        return "action_welkom"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        try:
            with db_session() as session:
                repo.get_or_create_client(
                    session, tracker.sender_id, language_level=language_level(tracker)
                )
        except SQLAlchemyError:
            logger.exception("could not update the client on greeting")
        if not tracker.get_slot("disclosure_net_getoond"):
            dispatcher.utter_message(response="utter_groet")
        return [SlotSet("disclosure_net_getoond", False), SlotSet("stemming", None)]


class ActionCheckinOpslaan(Action):
    def name(self) -> str:
        return "action_checkin_opslaan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        try:
            mood = int(tracker.get_slot("stemming"))
        except (TypeError, ValueError):
            dispatcher.utter_message(response="utter_stemming_ongeldig")
            return []
        message_id = latest_user_event(tracker).get("message_id") or ""
        key = stable_key("checkin", tracker.sender_id, message_id)
        try:
            with db_session() as session:
                repo.save_checkin(session, tracker.sender_id, mood, key)
        except SQLAlchemyError:
            logger.exception("could not save a check-in")
            dispatcher.utter_message(response="utter_checkin_niet_bewaard")
        if mood <= 2:
            dispatcher.utter_message(response="utter_stemming_laag")
        elif mood == 3:
            dispatcher.utter_message(response="utter_stemming_midden")
        else:
            dispatcher.utter_message(response="utter_stemming_hoog")
        return []


def _hoop_answers(tracker: Tracker) -> list[repo.AnswerIn]:
    answers = []
    for slot, question in HOOP_QUESTIONS.items():
        value = tracker.get_slot(slot)
        if value:
            answers.append(repo.AnswerIn(slot, question, str(value)))
    return answers


def _hoop_scale(tracker: Tracker) -> int | None:
    try:
        return int(tracker.get_slot(HOOP_SCALE_SLOT))
    except (TypeError, ValueError):
        return None


def _reset_reflection() -> list[EventType]:
    return [SlotSet(slot, None) for slot in (*HOOP_SLOTS, "delen", "reflectie_sleutel",
                                            "aanpassen_veld", "onderbroken_form")]


def _store_reflection(tracker: Tracker, status: str, shared: bool) -> bool | None:
    """Save the hope answers in the slots under the reflection's own key (idempotent).

    Returns None when there is nothing to save, False when the database failed.
    """
    answers = _hoop_answers(tracker)
    key = tracker.get_slot("reflectie_sleutel")
    if not answers or not key:
        return None
    try:
        with db_session() as session:
            repo.save_reflection(
                session,
                tracker.sender_id,
                theme="hoop",
                answers=answers,
                scale=_hoop_scale(tracker),
                shared_with_worker=shared,
                status=status,
                idempotency_key=key,
            )
        return True
    except (SQLAlchemyError, ValueError):
        logger.exception("could not save a reflection (%s)", status)
        return False


class ActionReflectieOpslaan(Action):
    """Save the completed reflection with the client's consent choice. Idempotent."""

    def name(self) -> str:
        return "action_reflectie_opslaan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        shared = tracker.get_slot("delen") is True
        saved = _store_reflection(tracker, "compleet", shared)
        if saved is None:
            dispatcher.utter_message(response="utter_niets_op_te_slaan")
            return []
        if not saved:
            # Nothing is lost: the answers stay in the conversation's slots.
            dispatcher.utter_message(response="utter_opslaan_mislukt")
            return []
        dispatcher.utter_message(
            response="utter_opgeslagen_gedeeld" if shared else "utter_opgeslagen_prive"
        )
        dispatcher.utter_message(response="utter_afsluiting")
        return _reset_reflection()


class ActionCorrectie(Action):
    """Clear the answer the client wants to change, so the form asks it again."""

    def name(self) -> str:
        return "action_correctie"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        slot = tracker.get_slot("aanpassen_veld")
        dispatcher.utter_message(response="utter_aanpassen_ok")
        events: list[EventType] = [SlotSet("aanpassen_veld", None)]
        if slot in HOOP_SLOTS:
            events.append(SlotSet(slot, None))
        return events


def _active_form(tracker: Tracker) -> str | None:
    return (tracker.active_loop or {}).get("name")


def _save_draft(tracker: Tracker) -> bool:
    """Keep what was answered so far as an unfinished, private reflection."""
    return bool(_store_reflection(tracker, "onderbroken", shared=False))


class ActionPauzeren(Action):
    """Stop or pause: save answers given so far as 'onderbroken' (never as complete)."""

    def name(self) -> str:
        return "action_pauzeren"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        form = _active_form(tracker) or tracker.get_slot("onderbroken_form")
        saved = form in REFLECTION_FORMS and _save_draft(tracker)
        dispatcher.utter_message(response="utter_gepauzeerd" if saved else "utter_gestopt")
        if tracker.get_slot("crisis_getoond"):
            dispatcher.utter_message(response="utter_crisis_herinnering")
        events: list[EventType] = [ActiveLoop(None)] if _active_form(tracker) else []
        events += [SlotSet("requested_slot", None),
                   SlotSet("onderbroken_form", form if saved else None)]
        return events


class ActionHervatten(Action):
    def name(self) -> str:
        return "action_hervatten"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        dispatcher.utter_message(response="utter_verder")
        return [SlotSet("onderbroken_form", None)]


class ActionCrisis(Action):
    """The fixed crisis help. Always shown first; then recorded for the worker."""

    def name(self) -> str:
        return "action_crisis"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        info: dict[str, Any] = tracker.latest_message.get("crisis") or {}
        category = info.get("category") if info.get("category") in CRISIS_CATEGORIES else "unknown"
        detected_by = info.get("detected_by") or "classifier"
        level = language_level(tracker)
        response = f"utter_crisis_{category}"
        shown = render_response(domain, response, level)
        dispatcher.utter_message(response=response)
        dispatcher.utter_message(response="utter_crisis_keuze")

        form = _active_form(tracker)
        user = latest_user_event(tracker)
        message_id = user.get("message_id")
        try:
            with db_session() as session:
                repo.record_safety_event(
                    session,
                    tracker.sender_id,
                    category=category,
                    message_text=user.get("text") or tracker.latest_message.get("text") or "",
                    response_text=shown,
                    detected_by=detected_by if detected_by in ("matcher", "classifier", "both")
                    else "classifier",
                    context=form,
                    idempotency_key=stable_key("safety", tracker.sender_id, message_id)
                    if message_id else None,
                )
        except (SQLAlchemyError, ValueError):
            # The help was shown; a storage failure must never hide it.
            logger.exception("could not record a safety event")

        # A form that was active can be resumed ("verder") or dropped afterwards.
        events: list[EventType] = [ActiveLoop(None)] if form else []
        events += [
            SlotSet("requested_slot", None),
            SlotSet("onderbroken_form", form or tracker.get_slot("onderbroken_form")),
            SlotSet("crisis_getoond", True),
        ]
        return events
