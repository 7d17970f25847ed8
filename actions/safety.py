"""The safety plan in chat and the fixed crisis help, shared by actions and form validation."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import durable
from actions.common import (
    _plain,
    db_session,
    language_level,
    latest_intent,
    latest_user_event,
    render_response,
    stable_key,
)
from bot.responses import crisis_help_texts
from bot.safety.check_answer import denies_harm, read_typed_answer
from bot.safety.decision import (
    CALM,
    CHECK,
    CRISIS,
    Context,
    Decision,
    Evidence,
    context_from_events,
    decide,
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


def record_lookup(tracker: Tracker, colour: str, context: str | None = None) -> None:
    """Record for the worker that the client looked up their plan and chose `colour`
    (idempotent per message). A storage failure never hides the plan."""
    message_id = latest_user_event(tracker).get("message_id")
    context = context or (tracker.active_loop or {}).get("name") or "plan"
    try:
        with db_session() as session:
            repo.record_plan_lookup(
                session,
                tracker.sender_id,
                colour,
                context=context[:64],
                idempotency_key=stable_key("plan", tracker.sender_id, message_id)
                if message_id
                else None,
            )
    except (SQLAlchemyError, ValueError):
        logger.exception("could not record a safety-plan look-up")


def show_phase(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], colour: str
) -> bool:
    """Show this phase of the client's own plan (and record the look-up). False when there
    is no plan."""
    record_lookup(tracker, colour)
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


def show_crisis_help(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any], category: str
) -> str:
    """Show the fixed crisis help for `category` and the organisation's contact; returns
    exactly the text that was shown."""
    contact = org_contact()
    dispatcher.utter_message(response=f"utter_crisis_{category}")
    if contact:
        dispatcher.utter_message(response="utter_organisatie_contact", contact=contact)
    return "\n".join(crisis_help_texts(domain, category, language_level(tracker), contact))


def conversation_before(
    tracker: Tracker, limit: int = 4
) -> tuple[str | None, list[dict[str, str]]]:
    """The question the client was answering (Koers's last message before the latest user
    message) and up to `limit` messages before it, oldest first, for the worker's view."""
    events = list(tracker.events)
    latest_user = max(
        (i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events)
    )
    before: list[dict[str, str]] = []
    for event in reversed(events[:latest_user]):
        kind = event.get("event")
        if kind == "session_started":
            break
        text = (event.get("text") or "").strip()
        if kind in ("bot", "user") and text:
            before.append({"van": "koers" if kind == "bot" else "client", "tekst": text[:500]})
            if len(before) == limit:
                break
    before.reverse()
    question = before[-1]["tekst"] if before and before[-1]["van"] == "koers" else None
    return question, before


def record_event(
    tracker: Tracker,
    *,
    category: str,
    detected_by: str,
    shown: str,
    context: str | None,
    outcome: str = "hulp",
    message: dict[str, Any] | None = None,
    reasons: tuple[str, ...] = (),
) -> str | None:
    """Store a safety event for the latest user message (or `message`, a user event), with the
    question it answered, the messages before it and the detection's evidence. Returns the
    event's idempotency key. A storage failure is logged and never hides the help."""
    user = message or latest_user_event(tracker)
    message_id = user.get("message_id")
    key = stable_key("safety", tracker.sender_id, message_id) if message_id else None
    info = (user.get("parse_data") or {}).get("crisis") or {}
    question, preceding = conversation_before(tracker)
    evidence = {
        k: info.get(k) for k in ("reasons", "evidence", "lijkt_op", "lijkt_ook_op", "zinsdeel")
    }
    if reasons:
        evidence["reasons"] = list(reasons)  # the decision with the conversation's context
    event: dict[str, Any] = {
        "chat_id": tracker.sender_id,
        "category": category,
        "message_text": user.get("text") or tracker.latest_message.get("text") or "",
        "response_text": shown,
        "detected_by": detected_by,
        "context": context,
        "outcome": outcome,
        "question_text": question,
        "preceding": preceding,
        "evidence": evidence if info or reasons else None,
    }
    try:
        with db_session() as session:
            repo.record_safety_event(
                session,
                tracker.sender_id,
                category=category,
                message_text=event["message_text"],
                response_text=shown,
                detected_by=detected_by,
                context=context,
                idempotency_key=key,
                outcome=outcome,
                question_text=question,
                preceding=preceding,
                evidence=event["evidence"],
            )
    except SQLAlchemyError:
        logger.exception("could not record a safety event")
        # Recorded for the worker when storage is back (issue 13's outbox).
        kept = key or stable_key("safety", tracker.sender_id, repr(user.get("timestamp")))
        durable.keep("safety_event", kept, event)
    except ValueError:
        logger.exception("could not record a safety event")
    return key


def crisis_help(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
    category: str,
    detected_by: str,
    context: str | None,
    reasons: tuple[str, ...] = (),
) -> None:
    """Show the fixed crisis help (and the organisation's contact), then record it.

    The help is always shown first; a storage failure never hides it.
    """
    shown = show_crisis_help(dispatcher, tracker, domain, category)
    record_event(
        tracker,
        category=category,
        detected_by=detected_by,
        shown=shown,
        context=context,
        reasons=reasons,
    )


def record_check_answer(
    tracker: Tracker, key: str | None, answer: str, shown: str | None, reply: str | None = None
) -> None:
    """Store the client's answer to the check question with its event; `reply`: what the
    client typed in reply (both replies when it was asked once more), None for a button."""
    if not key:
        return
    entry = {
        "chat_id": tracker.sender_id,
        "event_key": key,
        "answer": answer,
        "shown": shown,
        "reply": reply,
    }
    try:
        with db_session() as session:
            stored = repo.record_check_answer(session, tracker.sender_id, key, answer, shown, reply)
        if stored is None:
            logger.warning("the check question's event is not stored yet; its answer is kept")
    except SQLAlchemyError:
        logger.exception("could not record the answer to a check question")
        stored = None
    except ValueError:
        logger.exception("could not record the answer to a check question")
        return
    if stored is None:
        # The database refused it, or the check's own event is not there (still in another
        # machine's outbox, or set aside there): the answer is kept, not dropped. Its replay
        # writes it, or sets it aside in failed/ with an error in the log when the event
        # never came.
        durable.keep("check_answer", stable_key("check", key), entry)


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


def safety_decision(tracker: Tracker) -> Decision:
    """The safety decision for the latest user message, with the conversation's context:
    the same function and bands as the NLU pipeline and the policy (bot.safety.decision)."""
    info = tracker.latest_message.get("crisis") or {}
    evidence = Evidence.from_dict(info.get("evidence"))
    decision = decide(evidence, context_from_events(reversed(tracker.events)))
    if decision.outcome == CALM and info.get("outcome") in (CHECK, CRISIS):
        # Test stories and old conversations carry the NLU's verdict without evidence.
        return Decision(
            info["outcome"], info.get("category") or "unknown", info.get("detected_by") or ""
        )
    return decision


def read_check_answer(tracker: Tracker) -> str | None:
    """ "ja", "nee" or "weet_niet" from a button or typed answer; None when unclear. A new
    crisis message counts as "ja"."""
    intent = latest_intent(tracker)
    if intent == "plan_rood":
        return "ja"
    text = tracker.latest_message.get("text") or ""
    evidence = (tracker.latest_message.get("crisis") or {}).get("evidence")
    read = Evidence.from_dict(evidence) if evidence else None
    # The reply is read on its own, without the "no part looks like a crisis" lowering or
    # rule 9's "every sentence calm": right after a check question a worrying reply counts,
    # also a short one only the classifier reads as a crisis ("niet meer leven"), which is
    # no crisis intent in the NLU's output (rule 6 waits for the conversation).
    found = CALM
    if read is not None:
        found = decide(replace(read, semantic_parts=None, sentences_calm=False), Context()).outcome
    # A clear crisis intent from the models alone on a reply that denies harm in so many words
    # ("nee ik doe niemand pijn", "ik wil niemand pijn doen, mezelf ook niet"): the models read
    # the harm words, not the "niemand". Read like the middle band below; a word-list hit
    # stays "ja" (twenty-fifth pass).
    denial = (
        intent == "crisis"
        and read is not None
        and read.matcher_category is None
        and denies_harm(text)
    )
    if (intent == "crisis" or found == CRISIS) and not denial:
        return "ja"
    words = read_typed_answer(text, intent)
    if intent in ("crisis", "crisis_check") or found != CALM:
        # The middle band: the reply may be a crisis, but its words may say "nee" ("nee ik
        # was alleen boos, is al over"). Such a "nee" is asked once more (the second time
        # unclear is the crisis help), never taken at once and never overruled by the full
        # help against the client's word. Any other reading is "ja" (twenty-fifth pass).
        return None if words == "nee" else "ja"
    return words
