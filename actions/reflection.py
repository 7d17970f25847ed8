"""The reflection in progress, read from the slots: its theme, questions, answers and fields.

One place that knows how the slots of a theme form, the venting form and the small-step form
together make up one reflection, for asking, reading back, correcting and saving.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.exc import SQLAlchemyError

from actions import durable, shown
from actions.common import (
    ANSWER_SLOTS,
    SCALE_SLOT,
    STEP_SLOT,
    VENT_KEY,
    VENT_SLOT,
    db_session,
    language_level,
    parse_scale,
    render_response,
)
from bot import content
from bot.storage import repository as repo
from bot.vocabulary import STATUS_COMPLETE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    """One line of the read-back: the slot that holds it, its name (the question), its value
    and a short label for the correction buttons."""

    slot: str
    name: str
    value: str
    label: str = ""


def current_theme(tracker: Tracker) -> str | None:
    theme = tracker.get_slot("thema")
    return theme if theme in content.menu_keys() else None


def prompt_keys(tracker: Tracker) -> list[str]:
    keys = tracker.get_slot("vragen") or []
    return [str(k) for k in keys][: len(ANSWER_SLOTS)]


def question_for(tracker: Tracker, slot: str, level: str | None = None) -> content.Prompt | None:
    """The bank prompt asked in `slot` (antwoord_1/antwoord_2) of the current theme."""
    theme = current_theme(tracker)
    keys = prompt_keys(tracker)
    if theme is None or theme == content.VENT or slot not in ANSWER_SLOTS:
        return None
    index = ANSWER_SLOTS.index(slot)
    return content.prompt(theme, keys[index]) if index < len(keys) else None


def scale_value(tracker: Tracker) -> int | None:
    value = tracker.get_slot(SCALE_SLOT)
    return parse_scale(str(value), kind="hoop") if value else None


def _both_levels(wording: Any) -> dict[str, str]:
    return {level: wording(level) for level in content.LEVELS}


def _answer(
    key: str, value: Any, wordings: dict[str, str], turns: shown.Turns | None, level: str
) -> repo.AnswerIn:
    """The answer with the question as the client read it right before answering; when the
    conversation does not show it (an answer from a paused draft), the level is left open."""
    seen = shown.match(turns, wordings)
    if seen is None:
        return repo.AnswerIn(key, wordings[level], str(value))
    return repo.AnswerIn(key, seen[1], str(value), language_level=seen[0])


def answers(tracker: Tracker) -> list[repo.AnswerIn]:
    """The answers given so far, each with the question exactly as the client saw it."""
    level = language_level(tracker)
    theme = current_theme(tracker)
    turns = shown.replied_to(tracker.events, (*ANSWER_SLOTS, VENT_SLOT))
    if theme == content.VENT:
        text = tracker.get_slot(VENT_SLOT)
        if not text:
            return []
        return [
            _answer(
                VENT_KEY, text, _both_levels(content.vent_question), turns.get(VENT_SLOT), level
            )
        ]
    found = []
    for slot in ANSWER_SLOTS:
        value = tracker.get_slot(slot)
        prompt = question_for(tracker, slot)
        if value and prompt is not None:
            found.append(
                _answer(prompt.key, value, _both_levels(prompt.text), turns.get(slot), level)
            )
    return found


def scale_shown(tracker: Tracker) -> tuple[str, str] | None:
    """(question, level) of the 1-5 question as the client read it before answering."""
    theme = current_theme(tracker)
    if theme is None or theme == content.VENT or scale_value(tracker) is None:
        return None
    turns = shown.replied_to(tracker.events, (SCALE_SLOT,)).get(SCALE_SLOT)
    seen = shown.match(turns, {lvl: content.scale_question(theme, lvl) for lvl in content.LEVELS})
    return None if seen is None else (seen[1], seen[0])


def fields(tracker: Tracker, domain: dict[str, Any]) -> list[Field]:
    """What the read-back shows, in order; the client can correct each of these."""
    level = language_level(tracker)
    theme = current_theme(tracker)
    if theme == content.VENT:
        text = tracker.get_slot(VENT_SLOT)
        name = render_response(domain, "utter_veld_kwijt", level)
        return [Field(VENT_SLOT, name, str(text), name)] if text else []
    result = []
    for slot in ANSWER_SLOTS:
        value = tracker.get_slot(slot)
        prompt = question_for(tracker, slot)
        if value and prompt is not None:
            result.append(Field(slot, prompt.text(level), str(value), prompt.short(level)))
    scale = scale_value(tracker)
    if scale is not None and theme is not None:
        line = render_response(domain, "utter_readback_schaal", level, cijfer=scale)
        question = content.scale_question(theme, level)
        result.append(Field(SCALE_SLOT, question, line, content.shorten(question)))
    step = tracker.get_slot(STEP_SLOT)
    if step:
        line = render_response(domain, "utter_readback_stapje", level, stapje=step)
        name = render_response(domain, "utter_veld_stapje", level)
        result.append(Field(STEP_SLOT, name, line, name))
    return result


def readback_lines(tracker: Tracker, domain: dict[str, Any]) -> str:
    lines = []
    for field in fields(tracker, domain):
        if field.slot in (SCALE_SLOT, STEP_SLOT):
            lines.append(f"- {field.value}")
        else:
            lines.append(f"- {field.name}\n  {field.value}")
    return "\n".join(lines)


def store(tracker: Tracker, status: str, shared: bool) -> bool | None:
    """Save the reflection in the slots under its own key (idempotent), with its small step
    when the reflection is complete. None: nothing to save; False: the database failed."""
    theme = current_theme(tracker)
    found = answers(tracker)
    key = tracker.get_slot("reflectie_sleutel")
    if theme is None or not found or not key:
        return None
    scale_question, scale_level = scale_shown(tracker) or (None, None)
    try:
        with db_session() as session:
            reflection, _ = repo.save_reflection(
                session,
                tracker.sender_id,
                theme=theme,
                answers=found,
                scale=scale_value(tracker) if theme != content.VENT else None,
                shared_with_worker=shared,
                status=status,
                idempotency_key=key,
                scale_question=scale_question,
                scale_level=scale_level,
            )
            step = tracker.get_slot(STEP_SLOT)
            if step and status == STATUS_COMPLETE:
                repo.save_step(
                    session,
                    tracker.sender_id,
                    theme=theme,
                    text=str(step),
                    shared_with_worker=shared,
                    idempotency_key=f"stap-{key}"[:64],
                    reflection_id=reflection.id,
                )
        return True
    except SQLAlchemyError:
        logger.exception("could not save a reflection (%s)", status)
        # A server-side draft: kept whatever the client says next (the slots may be
        # cleared), stored as soon as the database is back. The client still hears that
        # saving did not work, and may try again (the retry flushes the outbox first).
        step = tracker.get_slot(STEP_SLOT)
        durable.keep(
            "reflection",
            key,
            {
                "chat_id": tracker.sender_id,
                "theme": theme,
                "answers": [
                    [a.question_key, a.question_text, a.answer_text, a.language_level]
                    for a in found
                ],
                "scale": scale_value(tracker) if theme != content.VENT else None,
                "scale_question": scale_question,
                "scale_level": scale_level,
                "shared": shared,
                "status": status,
                "step": str(step) if step and status == STATUS_COMPLETE else None,
            },
        )
        return False
    except ValueError:
        logger.exception("could not save a reflection (%s)", status)
        return False


def least_recent_theme(sender_id: str, among: list[str] | None = None) -> str:
    """ "Kies jij maar": the theme this client visited least recently (of `among`)."""
    try:
        with db_session() as session:
            visits = repo.last_visit_per_theme(session, sender_id)
    except SQLAlchemyError:
        logger.exception("could not read the theme visits")
        visits = {}
    return content.least_recent_theme(visits, among=among)
