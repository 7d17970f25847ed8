"""Reading and writing Koers data.

Every function takes a `Session` first; the caller owns the transaction (see
`bot.storage.db.session_scope`). The functions flush but never commit.

Writes that can be retried by Rasa (check-ins, reflections, safety events) are idempotent by
an `idempotency_key` (normally the Rasa message id): repeating a call with the same key does
not add a row; a key already used by another client raises `ValueError`. Invalid input raises
`ValueError`; nothing is truncated or altered silently, except that the theme and the
questions and answers of a reflection are trimmed of surrounding whitespace. Safety event
texts are stored exactly as given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.storage import accounts
from bot.storage.models import (
    CheckIn,
    Client,
    OrgSetting,
    PlanLookup,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    SafetyPlan,
    SafetyPlanItem,
    SmallStep,
    utcnow,
)
from bot.vocabulary import (
    CHECK_ANSWERS,
    DETECTED_BY,
    LANGUAGE_LEVELS,
    OUTCOME_HELP,
    PLAN_KINDS,
    PLAN_PHASES,
    REFLECTION_STATUSES,
    SAFETY_CATEGORIES,
    SAFETY_OUTCOMES,
    SAFETY_REVIEWS,
    STATUS_COMPLETE,
    STATUS_INTERRUPTED,
    STEP_OPEN,
    STEP_STATUSES,
)

MAX_ANSWER_LENGTH = 4000
MAX_CHAT_ID_LENGTH = 128
MAX_KEY_LENGTH = 64
MAX_THEME_LENGTH = 32
MAX_QUESTION_KEY_LENGTH = 64
MAX_CONTEXT_LENGTH = 64

_Row = TypeVar("_Row")


@dataclass(frozen=True)
class AnswerIn:
    """One answer of a reflection, as the form collected it.

    `language_level` is the level of `question_text` as the client saw it ('standaard' or
    'eenvoudig'). None means "not known from this conversation" (for example an answer that
    came back from a paused draft): a stored answer then keeps the question it was saved
    with, and a new one is stored without a level.
    """

    question_key: str
    question_text: str
    answer_text: str
    language_level: str | None = None


# --- validation -------------------------------------------------------------------------------


def _require_str(name: str, value: object, max_length: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    if max_length is not None and len(value) > max_length:
        raise ValueError(f"{name} is longer than {max_length} characters")
    return value


def _require_int_between(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return value


def _require_choice(name: str, value: object, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}")
    return str(value)


def _clean_answers(answers: Sequence[AnswerIn]) -> list[AnswerIn]:
    cleaned: list[AnswerIn] = []
    seen: set[str] = set()
    for answer in answers:
        if not isinstance(answer, AnswerIn):
            raise ValueError("answers must be AnswerIn instances")
        key = _require_str("question_key", answer.question_key, MAX_QUESTION_KEY_LENGTH).strip()
        if key in seen:
            raise ValueError(f"question_key {key!r} occurs more than once")
        seen.add(key)
        question = _require_str(f"question_text of {key!r}", answer.question_text).strip()
        if not isinstance(answer.answer_text, str):
            raise ValueError(f"answer_text of {key!r} must be a string")
        text = answer.answer_text.strip()
        if not text:
            raise ValueError(f"answer_text of {key!r} is empty")
        if len(text) > MAX_ANSWER_LENGTH:
            raise ValueError(
                f"answer_text of {key!r} is longer than {MAX_ANSWER_LENGTH} characters"
            )
        level = answer.language_level
        if level is not None:
            _require_choice(f"language_level of {key!r}", level, LANGUAGE_LEVELS)
        cleaned.append(AnswerIn(key, question, text, level))
    return cleaned


# --- helpers ----------------------------------------------------------------------------------


def _client_by_chat_id(session: Session, chat_id: str) -> Client | None:
    return session.execute(select(Client).where(Client.chat_id == chat_id)).scalar_one_or_none()


def _insert_or_fetch(session: Session, row: _Row, fetch: Callable[[], Any]) -> tuple[_Row, bool]:
    """Insert `row` in a SAVEPOINT; if a unique constraint fires (a concurrent insert of the
    same key), roll back to the savepoint and return the row that won instead."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing: _Row | None = fetch()
        if existing is None:  # the IntegrityError was about something else
            raise
        return existing, False
    return row, True


def _check_owner(
    row: CheckIn | Reflection | SafetyEvent | SmallStep | PlanLookup, client: Client
) -> None:
    if row.client_id != client.id:
        raise ValueError("idempotency_key is already used by another client")


# --- clients ----------------------------------------------------------------------------------


def get_or_create_client(
    session: Session, chat_id: str, language_level: str | None = None
) -> Client:
    """Return the client with this Rasa sender id, creating it on first contact.

    Updates `last_seen_at`, and `language_level` when one is given ('standaard'|'eenvoudig').
    Safe against a concurrent first contact of the same chat_id.
    """
    chat_id = _require_str("chat_id", chat_id, MAX_CHAT_ID_LENGTH)
    if language_level is not None:
        _require_choice("language_level", language_level, LANGUAGE_LEVELS)

    now = utcnow()
    found = _client_by_chat_id(session, chat_id)
    if found is None:
        new = accounts.client_row(chat_id, language_level)
        client, created = _insert_or_fetch(
            session, new, lambda: _client_by_chat_id(session, chat_id)
        )
        if created:
            return client
    else:
        client = found

    client.last_seen_at = now
    if language_level is not None:
        set_language_level(client, language_level, now)
    session.flush()
    return client


def set_language_level(client: Client, level: str, at: datetime | None = None) -> bool:
    """Set the client's language level as chosen at `at` (default: now), unless a later
    choice is already stored: a switch replayed late from an outbox never puts an older level
    back. Returns whether the level was set. The one place where the level changes."""
    _require_choice("language_level", level, LANGUAGE_LEVELS)
    at = at or utcnow()
    if client.language_level_at is not None and client.language_level_at > at:
        return False
    client.language_level = level
    client.language_level_at = at
    return True


def mark_disclosure_shown(session: Session, chat_id: str) -> bool:
    """Record that the disclosure (what the bot is and what it stores) was shown.

    Returns True only the first time for this client, also under concurrent calls.
    """
    client = get_or_create_client(session, chat_id)
    result = session.execute(
        update(Client)
        .where(Client.id == client.id, Client.disclosure_shown_at.is_(None))
        .values(disclosure_shown_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


# --- check-ins --------------------------------------------------------------------------------


def save_checkin(
    session: Session, chat_id: str, mood: int, idempotency_key: str
) -> tuple[CheckIn, bool]:
    """Store a mood check-in (1-5). Returns (check-in, created).

    A repeated call with the same key returns the stored check-in unchanged (created=False).
    """
    mood = _require_int_between("mood", mood, 1, 5)
    key = _require_str("idempotency_key", idempotency_key, MAX_KEY_LENGTH)
    client = get_or_create_client(session, chat_id)

    def fetch() -> CheckIn | None:
        return session.execute(
            select(CheckIn).where(CheckIn.idempotency_key == key)
        ).scalar_one_or_none()

    existing = fetch()
    if existing is None:
        checkin, created = _insert_or_fetch(
            session, CheckIn(client_id=client.id, mood=mood, idempotency_key=key), fetch
        )
    else:
        checkin, created = existing, False
    _check_owner(checkin, client)
    return checkin, created


# --- reflections ------------------------------------------------------------------------------


def _upsert_answers(reflection: Reflection, answers: Sequence[AnswerIn]) -> None:
    """Update answers with a known question_key in place and append new ones; answers not in
    `answers` are kept, so a retry or a resumed reflection never loses what was said."""
    by_key = {answer.question_key: answer for answer in reflection.answers}
    next_position = max((answer.position for answer in reflection.answers), default=0) + 1
    for answer in answers:
        row = by_key.get(answer.question_key)
        if row is None:
            reflection.answers.append(
                ReflectionAnswer(
                    position=next_position,
                    question_key=answer.question_key,
                    question_text=answer.question_text,
                    language_level=answer.language_level,
                    answer_text=answer.answer_text,
                )
            )
            next_position += 1
        else:
            if answer.language_level is not None or row.language_level is None:
                # Known from this conversation, or nothing better was stored: what was shown.
                row.question_text = answer.question_text
                row.language_level = answer.language_level or row.language_level
            row.answer_text = answer.answer_text


def _apply_reflection(
    reflection: Reflection,
    answers: Sequence[AnswerIn],
    scale: int | None,
    shared_with_worker: bool,
    status: str,
    scale_shown: tuple[str, str] | None = None,
) -> None:
    now = utcnow()
    if reflection.status == STATUS_COMPLETE and status == STATUS_INTERRUPTED:
        # A late or repeated save of the interrupted state: a completed reflection is final.
        return
    _upsert_answers(reflection, answers)
    reflection.scale = scale
    if scale_shown is not None:
        reflection.scale_question, reflection.scale_level = scale_shown
    reflection.shared_with_worker = shared_with_worker
    if status == STATUS_COMPLETE and reflection.completed_at is None:
        reflection.completed_at = now
    reflection.status = status
    reflection.updated_at = now


def save_reflection(
    session: Session,
    chat_id: str,
    theme: str,
    answers: Sequence[AnswerIn],
    scale: int | None,
    shared_with_worker: bool,
    status: str,
    idempotency_key: str,
    scale_question: str | None = None,
    scale_level: str | None = None,
) -> tuple[Reflection, bool]:
    """Store a reflection with its answers. Returns (reflection, created).

    Idempotent by `idempotency_key`: when a reflection with that key exists it is updated in
    place (answers upserted by question_key, scale, consent flag, status) and created=False.
    `completed_at` is set when the status first becomes 'compleet'. A 'compleet' reflection is
    never downgraded: a later 'onderbroken' save for it changes nothing.

    `scale_question` and `scale_level` are the 1-5 question exactly as the client saw it and
    its language level; when not given, what was stored before is kept.

    Answers are trimmed; an empty answer, or one over 4000 characters, raises ValueError, as
    does reusing the key for another client or another theme.
    """
    theme = _require_str("theme", theme, MAX_THEME_LENGTH).strip()
    status = _require_choice("status", status, REFLECTION_STATUSES)
    if scale is not None:
        scale = _require_int_between("scale", scale, 1, 5)
    scale_shown = None
    if scale_question is not None:
        scale_question = _require_str("scale_question", scale_question).strip()
        scale_level = _require_choice("scale_level", scale_level, LANGUAGE_LEVELS)
        scale_shown = (scale_question, scale_level)
    if not isinstance(shared_with_worker, bool):
        raise ValueError("shared_with_worker must be True or False")
    key = _require_str("idempotency_key", idempotency_key, MAX_KEY_LENGTH)
    cleaned = _clean_answers(answers)
    client = get_or_create_client(session, chat_id)

    def fetch() -> Reflection | None:
        return session.execute(
            select(Reflection).where(Reflection.idempotency_key == key)
        ).scalar_one_or_none()

    reflection = fetch()
    created = False
    if reflection is None:
        now = utcnow()
        new = Reflection(
            client_id=client.id,
            theme=theme,
            status=status,
            scale=scale,
            scale_question=scale_shown[0] if scale_shown else None,
            scale_level=scale_shown[1] if scale_shown else None,
            shared_with_worker=shared_with_worker,
            idempotency_key=key,
            created_at=now,
            updated_at=now,
            completed_at=now if status == STATUS_COMPLETE else None,
            answers=[
                ReflectionAnswer(
                    position=position,
                    question_key=answer.question_key,
                    question_text=answer.question_text,
                    language_level=answer.language_level,
                    answer_text=answer.answer_text,
                )
                for position, answer in enumerate(cleaned, start=1)
            ],
        )
        reflection, created = _insert_or_fetch(session, new, fetch)
    assert reflection is not None  # found, inserted, or the row a concurrent insert made

    if not created:
        _check_owner(reflection, client)
        if reflection.theme != theme:
            raise ValueError("idempotency_key is already used for another theme")
        _apply_reflection(reflection, cleaned, scale, shared_with_worker, status, scale_shown)
        session.flush()
    return reflection, created


# --- safety events ----------------------------------------------------------------------------


def stable_key(*parts: str) -> str:
    """A 64-character idempotency key from the given parts (sender id, message id, ...)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def record_safety_event(
    session: Session,
    chat_id: str,
    category: str,
    message_text: str,
    response_text: str,
    detected_by: str,
    context: str | None = None,
    idempotency_key: str | None = None,
    *,
    outcome: str = OUTCOME_HELP,
    question_text: str | None = None,
    preceding: list[dict[str, str]] | None = None,
    evidence: dict[str, Any] | None = None,
) -> tuple[SafetyEvent, bool]:
    """Record that a message triggered the safety response. Returns (event, created).

    `message_text` and `response_text` (exactly what was shown) are stored verbatim. With an
    `idempotency_key` (the Rasa message id) a repeated call returns the stored event.
    `outcome` is "hulp" (the crisis help at once) or "controle" (a check question first);
    `question_text` is the question the client was answering, `preceding` the messages just
    before, `evidence` the detection's signals (both stored as JSON).
    """
    category = _require_choice("category", category, SAFETY_CATEGORIES)
    detected_by = _require_choice("detected_by", detected_by, DETECTED_BY)
    outcome = _require_choice("outcome", outcome, SAFETY_OUTCOMES)
    if not isinstance(message_text, str):
        raise ValueError("message_text must be a string")
    response_text = _require_str("response_text", response_text)
    if context is not None:
        context = _require_str("context", context, MAX_CONTEXT_LENGTH)
    key = None
    if idempotency_key is not None:
        key = _require_str("idempotency_key", idempotency_key, MAX_KEY_LENGTH)
    client = get_or_create_client(session, chat_id)

    event = SafetyEvent(
        client_id=client.id,
        category=category,
        message_text=message_text,
        response_text=response_text,
        detected_by=detected_by,
        context=context,
        idempotency_key=key,
        outcome=outcome,
        question_text=question_text or None,
        preceding=json.dumps(preceding, ensure_ascii=False) if preceding else None,
        evidence=json.dumps(evidence, ensure_ascii=False) if evidence else None,
    )
    if key is None:
        session.add(event)
        session.flush()
        return event, True

    def fetch() -> SafetyEvent | None:
        return session.execute(
            select(SafetyEvent).where(SafetyEvent.idempotency_key == key)
        ).scalar_one_or_none()

    existing = fetch()
    if existing is None:
        stored, created = _insert_or_fetch(session, event, fetch)
    else:
        stored, created = existing, False
    _check_owner(stored, client)
    return stored, created


CHECK_REPLY_LENGTH = 8_000


def record_check_answer(
    session: Session,
    chat_id: str,
    idempotency_key: str,
    answer: str,
    shown_after: str | None = None,
    reply: str | None = None,
) -> SafetyEvent | None:
    """The client answered the check question of the event with this key: "ja", "nee",
    "weet_niet" or "onduidelijk" (no clear answer; the crisis help was shown). `shown_after`
    (the crisis help shown after the answer) is added to the event's response text; `reply`
    is what the client typed (one line per reply), None for a button. Returns the event, or
    None when it was never recorded."""
    answer = _require_choice("check_answer", answer, CHECK_ANSWERS)
    event = session.execute(
        select(SafetyEvent).where(SafetyEvent.idempotency_key == idempotency_key)
    ).scalar_one_or_none()
    if event is None:
        return None
    _check_owner(event, get_or_create_client(session, chat_id))
    event.check_answer = answer
    if isinstance(reply, str) and reply.strip():
        # Kept as typed (the web chat takes up to 2,000 characters a message); never a
        # reason to lose the answer itself.
        event.check_reply = reply.replace("\x00", "")[:CHECK_REPLY_LENGTH]
    if shown_after:
        event.response_text = f"{event.response_text}\n\n{shown_after}"
    session.flush()
    return event


def review_safety_event(session: Session, event: SafetyEvent, review: str, by: str) -> None:
    """The worker's review: "gezien" (seen) or "vals_alarm" (a false alarm). A different later
    review replaces an earlier one; the time and the worker are kept with it."""
    review = _require_choice("review", review, SAFETY_REVIEWS)
    if event.review == review:
        return  # a repeated submit changes nothing
    event.review = review
    event.acknowledged_at = utcnow()
    event.acknowledged_by = _require_str("by", by, 128)
    session.flush()


# --- reading ----------------------------------------------------------------------------------


def list_reflections(session: Session, chat_id: str, shared_only: bool = False) -> list[Reflection]:
    """The client's reflections, oldest first, answers loaded; only shared ones if asked."""
    query = (
        select(Reflection)
        .join(Client)
        .where(Client.chat_id == chat_id)
        .options(selectinload(Reflection.answers))
        .order_by(Reflection.created_at, Reflection.id)
    )
    if shared_only:
        query = query.where(Reflection.shared_with_worker.is_(True))
    return list(session.execute(query).scalars())


def list_checkins(session: Session, chat_id: str) -> list[CheckIn]:
    """The client's check-ins, oldest first."""
    query = (
        select(CheckIn)
        .join(Client)
        .where(Client.chat_id == chat_id)
        .order_by(CheckIn.created_at, CheckIn.id)
    )
    return list(session.execute(query).scalars())


def list_safety_events(session: Session, chat_id: str) -> list[SafetyEvent]:
    """The client's safety events, oldest first."""
    query = (
        select(SafetyEvent)
        .join(Client)
        .where(Client.chat_id == chat_id)
        .order_by(SafetyEvent.created_at, SafetyEvent.id)
    )
    return list(session.execute(query).scalars())


def latest_open_reflection(
    session: Session, chat_id: str, theme: str | None = None
) -> Reflection | None:
    """The client's most recently updated 'onderbroken' reflection (of `theme`, if given)."""
    query = (
        select(Reflection)
        .join(Client)
        .where(Client.chat_id == chat_id, Reflection.status == STATUS_INTERRUPTED)
        .options(selectinload(Reflection.answers))
        .order_by(Reflection.updated_at.desc(), Reflection.id.desc())
        .limit(1)
    )
    if theme is not None:
        query = query.where(Reflection.theme == theme)
    return session.execute(query).scalar_one_or_none()


# --- small steps ------------------------------------------------------------------------------

MAX_STEP_LENGTH = 1000


def save_step(
    session: Session,
    chat_id: str,
    theme: str,
    text: str,
    shared_with_worker: bool,
    idempotency_key: str,
    reflection_id: int | None = None,
) -> tuple[SmallStep, bool]:
    """Store a small step the client chose, status 'open'. Returns (step, created).

    Idempotent by key: a repeated call updates the text and the consent flag of an open step.
    """
    theme = _require_str("theme", theme, MAX_THEME_LENGTH).strip()
    text = _require_str("text", text, MAX_STEP_LENGTH).strip()
    if not isinstance(shared_with_worker, bool):
        raise ValueError("shared_with_worker must be True or False")
    key = _require_str("idempotency_key", idempotency_key, MAX_KEY_LENGTH)
    client = get_or_create_client(session, chat_id)

    def fetch() -> SmallStep | None:
        return session.execute(
            select(SmallStep).where(SmallStep.idempotency_key == key)
        ).scalar_one_or_none()

    step = fetch()
    if step is None:
        step, created = _insert_or_fetch(
            session,
            SmallStep(
                client_id=client.id,
                reflection_id=reflection_id,
                theme=theme,
                text=text,
                status=STEP_OPEN,
                shared_with_worker=shared_with_worker,
                idempotency_key=key,
                created_at=utcnow(),
            ),
            fetch,
        )
        if created:
            assert step is not None
            return step, True
    assert step is not None  # found, or the row a concurrent insert made
    _check_owner(step, client)
    if step.status == STEP_OPEN:
        step.text = text
        step.shared_with_worker = shared_with_worker
        if reflection_id is not None:
            step.reflection_id = reflection_id
        session.flush()
    return step, False


def list_steps(session: Session, chat_id: str) -> list[SmallStep]:
    """The client's small steps, oldest first."""
    query = (
        select(SmallStep)
        .join(Client)
        .where(Client.chat_id == chat_id)
        .order_by(SmallStep.created_at, SmallStep.id)
    )
    return list(session.execute(query).scalars())


def open_steps(session: Session, chat_id: str) -> list[SmallStep]:
    """The client's open steps, newest first."""
    query = (
        select(SmallStep)
        .join(Client)
        .where(Client.chat_id == chat_id, SmallStep.status == STEP_OPEN)
        .order_by(SmallStep.created_at.desc(), SmallStep.id.desc())
    )
    return list(session.execute(query).scalars())


def resolve_step(session: Session, chat_id: str, step_id: int, status: str) -> SmallStep:
    """Record how an open step went ('gelukt', 'beetje', 'niet_gelukt' or 'vervallen').

    Only the client's own step can be resolved; resolving it again with the same status is a
    no-op (a retried action), another status after resolution raises ValueError.
    """
    status = _require_choice("status", status, STEP_STATUSES)
    if status == STEP_OPEN:
        raise ValueError("a step cannot be reopened")
    client = _client_by_chat_id(session, chat_id)
    step = session.get(SmallStep, step_id) if client is not None else None
    if client is None or step is None or step.client_id != client.id:
        raise ValueError("no such step for this client")
    if step.status == status:
        return step
    if step.status != STEP_OPEN:
        raise ValueError("the step is already resolved")
    now = utcnow()
    step.status = status
    step.asked_at = step.asked_at or now
    step.resolved_at = now
    session.flush()
    return step


# --- safety plans -----------------------------------------------------------------------------

MAX_PLAN_ITEM_LENGTH = 500


@dataclass(frozen=True)
class PlanItemIn:
    """One line of a safety plan: phase groen/oranje/rood, kind signaal/helpt/contact."""

    phase: str
    kind: str
    text: str


def get_safety_plan(session: Session, chat_id: str) -> SafetyPlan | None:
    """The client's safety plan with its items, or None."""
    query = (
        select(SafetyPlan)
        .join(Client)
        .where(Client.chat_id == chat_id)
        .options(selectinload(SafetyPlan.items))
    )
    return session.execute(query).scalar_one_or_none()


def save_safety_plan(
    session: Session, chat_id: str, items: Sequence[PlanItemIn], updated_by: str | None = None
) -> SafetyPlan:
    """Create or replace the client's safety plan with `items` (in the order given).

    Texts are trimmed; empty lines are skipped; a text over 500 characters raises ValueError.
    """
    cleaned: list[PlanItemIn] = []
    for item in items:
        if not isinstance(item, PlanItemIn):
            raise ValueError("items must be PlanItemIn instances")
        phase = _require_choice("phase", item.phase, PLAN_PHASES)
        kind = _require_choice("kind", item.kind, PLAN_KINDS)
        if not isinstance(item.text, str):
            raise ValueError("text must be a string")
        text = item.text.strip()
        if not text:
            continue
        if len(text) > MAX_PLAN_ITEM_LENGTH:
            raise ValueError(f"a plan line is longer than {MAX_PLAN_ITEM_LENGTH} characters")
        cleaned.append(PlanItemIn(phase, kind, text))
    if updated_by is not None:
        updated_by = _require_str("updated_by", updated_by, 64)
    client = get_or_create_client(session, chat_id)
    plan = get_safety_plan(session, chat_id)
    now = utcnow()
    if plan is None:
        plan = SafetyPlan(client_id=client.id, created_at=now, updated_at=now)
        session.add(plan)
    plan.items.clear()
    session.flush()
    positions: dict[tuple[str, str], int] = {}
    for item in cleaned:
        position = positions.get((item.phase, item.kind), 0) + 1
        positions[(item.phase, item.kind)] = position
        plan.items.append(
            SafetyPlanItem(phase=item.phase, kind=item.kind, position=position, text=item.text)
        )
    plan.updated_at = now
    plan.updated_by = updated_by
    session.flush()
    return plan


def record_plan_lookup(
    session: Session,
    chat_id: str,
    colour: str,
    context: str | None = None,
    idempotency_key: str | None = None,
) -> tuple[PlanLookup, bool]:
    """Record that the client looked up their safety plan and chose `colour` (groen, oranje,
    rood). Returns (look-up, created); idempotent by key (the Rasa message id)."""
    colour = _require_choice("colour", colour, PLAN_PHASES)
    if context is not None:
        context = _require_str("context", context, MAX_CONTEXT_LENGTH)
    key = None
    if idempotency_key is not None:
        key = _require_str("idempotency_key", idempotency_key, MAX_KEY_LENGTH)
    client = get_or_create_client(session, chat_id)
    row = PlanLookup(
        client_id=client.id,
        colour=colour,
        context=context,
        idempotency_key=key,
        created_at=utcnow(),
    )
    if key is None:
        session.add(row)
        session.flush()
        return row, True

    def fetch() -> PlanLookup | None:
        return session.execute(
            select(PlanLookup).where(PlanLookup.idempotency_key == key)
        ).scalar_one_or_none()

    existing = fetch()
    stored, created = (
        (existing, False) if existing is not None else _insert_or_fetch(session, row, fetch)
    )
    _check_owner(stored, client)
    return stored, created


# --- organisation settings --------------------------------------------------------------------


def get_org_setting(session: Session, key: str, default: str | None = None) -> str | None:
    row = session.get(OrgSetting, key)
    return row.value if row is not None else default


def set_org_setting(
    session: Session, key: str, value: str, updated_by: str | None = None
) -> OrgSetting:
    key = _require_str("key", key, 64)
    if not isinstance(value, str):
        raise ValueError("value must be a string")
    row = session.get(OrgSetting, key)
    if row is None:
        row = OrgSetting(key=key, value=value, updated_by=updated_by, updated_at=utcnow())
        session.add(row)
    else:
        row.value = value
        row.updated_by = updated_by
        row.updated_at = utcnow()
    session.flush()
    return row


def theme_history(session: Session, chat_id: str, theme: str) -> list[Reflection]:
    """The client's reflections on one theme, newest first, answers loaded (for rotation)."""
    query = (
        select(Reflection)
        .join(Client)
        .where(Client.chat_id == chat_id, Reflection.theme == theme)
        .options(selectinload(Reflection.answers))
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())
    )
    return list(session.execute(query).scalars())


def last_visit_per_theme(session: Session, chat_id: str) -> dict[str, datetime]:
    """When the client last worked on each theme (any status)."""
    query = (
        select(Reflection.theme, func.max(Reflection.created_at))
        .join(Client)
        .where(Client.chat_id == chat_id)
        .group_by(Reflection.theme)
    )
    result: dict[str, datetime] = {}
    for theme, at in session.execute(query):
        if at is not None and at.tzinfo is None:  # SQLite aggregates lose the type decorator
            at = at.replace(tzinfo=timezone.utc)
        result[theme] = at
    return result
