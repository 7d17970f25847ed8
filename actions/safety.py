"""The safety plan in chat and the fixed crisis help, shared by actions and form validation."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import durable
from actions.common import (
    _plain,
    db_session,
    language_level,
    latest_user_event,
    render_response,
    stable_key,
)
from bot.storage import repository as repo

logger = logging.getLogger(__name__)

COLOURS = ("groen", "oranje", "rood")
CRISIS_CONTACT_SETTING = "crisis_contact"
_COLOUR_WORDS = {
    "groen": ("groen", "🟢", "💚"),
    "oranje": ("oranje", "🟠", "🧡", "geel", "🟡"),
    "rood": ("rood", "🔴", "❤", "rode"),
}


def parse_colour(text: str | None) -> str | None:
    """groen / oranje / rood from a typed answer or emoji; None when unclear or several."""
    if not text:
        return None
    plain = _plain(text)
    found = {
        colour
        for colour, words in _COLOUR_WORDS.items()
        if any(w in text for w in words if not w.isalpha())
        or any(re.search(rf"\b{w}\b", plain) for w in words if w.isalpha())
    }
    return found.pop() if len(found) == 1 else None


def load_plan(chat_id: str) -> dict[str, dict[str, list[str]]] | None:
    """The client's plan as {phase: {kind: [texts]}}, or None without a plan (or on error)."""
    try:
        with db_session() as session:
            plan = repo.get_safety_plan(session, chat_id)
            if plan is None or not plan.items:
                return None
            result: dict[str, dict[str, list[str]]] = {
                phase: {"signaal": [], "helpt": [], "contact": []} for phase in COLOURS
            }
            for item in plan.items:
                result[item.phase][item.kind].append(item.text)
            return result
    except SQLAlchemyError:
        logger.exception("could not read a safety plan")
        return None


def show_phase(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], colour: str
) -> bool:
    """Show this phase of the client's own plan. False when there is no plan."""
    plan = load_plan(tracker.sender_id)
    if plan is None:
        return False
    level = language_level(tracker)
    empty = render_response(domain, "utter_plan_leeg_deel", level)
    phase = plan[colour]

    def joined(kind: str) -> str:
        return "; ".join(phase[kind]) or empty

    dispatcher.utter_message(
        response="utter_plan_fase",
        kleur=colour,
        signalen=joined("signaal"),
        helpt=joined("helpt"),
        contacten=joined("contact"),
    )
    return True


def org_contact() -> str | None:
    try:
        with db_session() as session:
            value = repo.get_org_setting(session, CRISIS_CONTACT_SETTING)
    except SQLAlchemyError:
        logger.exception("could not read the organisation's crisis contact")
        return None
    return value.strip() if value and value.strip() else None


def crisis_help(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    category: str,
    detected_by: str,
    context: str | None,
) -> None:
    """Show the fixed crisis help (and the organisation's contact), then record it.

    The help is always shown first; a storage failure never hides it.
    """
    level = language_level(tracker)
    response = f"utter_crisis_{category}"
    shown = render_response(domain, response, level)
    dispatcher.utter_message(response=response)
    contact = org_contact()
    if contact:
        dispatcher.utter_message(response="utter_organisatie_contact", contact=contact)
        shown += "\n" + render_response(domain, "utter_organisatie_contact", level, contact=contact)
    user = latest_user_event(tracker)
    message_id = user.get("message_id")
    event = {
        "chat_id": tracker.sender_id,
        "category": category,
        "message_text": user.get("text") or tracker.latest_message.get("text") or "",
        "response_text": shown,
        "detected_by": detected_by,
        "context": context,
    }
    key = stable_key("safety", tracker.sender_id, message_id or repr(user.get("timestamp")))
    try:
        with db_session() as session:
            repo.record_safety_event(
                session,
                tracker.sender_id,
                category=event["category"],
                message_text=event["message_text"],
                response_text=event["response_text"],
                detected_by=event["detected_by"],
                context=event["context"],
                idempotency_key=key if message_id else None,
            )
    except SQLAlchemyError:
        logger.exception("could not record a safety event")
        durable.keep("safety_event", key, event)  # recorded for the worker when storage is back
    except ValueError:
        logger.exception("could not record a safety event")


def red_phase(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    context: str | None,
) -> None:
    """The client says they are in the red phase: their own red plan, then the crisis help."""
    dispatcher.utter_message(response="utter_plan_rood")
    show_phase(dispatcher, tracker, domain, "rood")
    crisis_help(dispatcher, tracker, domain, "unknown", "client", context or "signaleringsplan")
