"""Between sessions (issue 14), the chat side of the check-in: the worker's question for this
check-in ("Je begeleider vraagt: ..."), the client's due tasks of the agreements ledger and the
worker's own promises, read-only.

After the mood, `actions.actions.next_step` goes through the stages in `STAGES` order: the
worker's question (`vraag_form`), the client's tasks (`afspraak_form`, one task at a time), last
time's small step, then a paused theme or the menu. Each stage sets `vervolg` for the rules
(bot/rulegen.py). Storage is bot/storage/between.py; nothing here writes by itself.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from actions import durable
from actions.common import (
    db_session,
    language_level,
    latest_intent,
    latest_user_event,
    parse_yes_no,
    stable_key,
)
from actions.forms import AskAction, ResponseAsk, answer_or_follow_up, free_text_answer
from bot.storage import between

logger = logging.getLogger(__name__)

# What comes after the mood, in order; `vervolg` names the stage the rules start.
QUESTION_STAGE = "vraag"
AGREEMENT_STAGE = "afspraak"
STEP_STAGE = "stapje"
STAGES = (QUESTION_STAGE, AGREEMENT_STAGE, STEP_STAGE)

# The worker's question.
QUESTION_SLOTS = ("vraag_id", "vraag_uitleg", "vraag_niveau", "vraag_antwoord", "vraag_delen")
# The value of `vraag_antwoord` when the client skipped the question (never shown, never saved).
SKIPPED = "__overgeslagen__"
SKIP_INTENT = "overslaan"
# A skip is a short message ("overslaan", "sla maar over"): a longer text is an answer.
MAX_SKIP_WORDS = 6

# The client's tasks: at most this many at one check-in (the rest come next time).
MAX_TASKS = 3
# How many of the worker's open promises are shown.
MAX_PROMISES = 3
AGREEMENT_SLOTS = ("afspraak_id", "afspraak_tekst", "afspraken_open", "afspraak_resultaat")
DONE, PARTLY, NOT_YET = "gedaan", "deels", "nog_niet"
TASK_SKIPPED = "overgeslagen"
TASK_RESPONSES = {
    DONE: "utter_afspraak_gedaan",
    PARTLY: "utter_afspraak_deels",
    NOT_YET: "utter_afspraak_nog_niet",
}


_intent = latest_intent


def _is_skip(tracker: Tracker) -> bool:
    text = (tracker.latest_message.get("text") or "").strip()
    return _intent(tracker) == SKIP_INTENT and (
        text.startswith("/") or len(text.split()) <= MAX_SKIP_WORDS
    )


# --- the stages after the mood ------------------------------------------------------------------


def question_stage(session: Session, tracker: Tracker) -> list[EventType] | None:
    """The worker's open question, if there is one: `vervolg` = vraag."""
    question = between.next_question_for(session, tracker.sender_id)
    if question is None:
        return None
    return [
        *[SlotSet(slot, None) for slot in QUESTION_SLOTS],
        SlotSet("vraag_id", float(question.id)),
        SlotSet("vraag_uitleg", question.text_eenvoudig),
        SlotSet("vervolg", QUESTION_STAGE),
    ]


def _task_events(tasks: list[list[Any]]) -> list[EventType]:
    first, rest = tasks[0], tasks[1:]
    return [
        SlotSet("afspraak_id", float(first[0])),
        SlotSet("afspraak_tekst", str(first[1])),
        SlotSet("afspraken_open", rest),
        SlotSet("afspraak_resultaat", None),
        SlotSet("vervolg", AGREEMENT_STAGE),
    ]


def agreement_stage(
    session: Session, tracker: Tracker, dispatcher: CollectingDispatcher
) -> list[EventType] | None:
    """Show the worker's own promises (read-only), then ask about the client's due tasks, one
    at a time: `vervolg` = afspraak. None when there is no task to ask about."""
    for promise in between.worker_promises(session, tracker.sender_id)[:MAX_PROMISES]:
        dispatcher.utter_message(response="utter_begeleider_zou", afspraak=promise.text)
    tasks = between.due_client_tasks(session, tracker.sender_id, limit=MAX_TASKS)
    if not tasks:
        return None
    return _task_events([[task.id, task.text] for task in tasks])


# --- the worker's question (vraag_form) ---------------------------------------------------------


class AskVraagAntwoord(AskAction):
    """ "Je begeleider vraagt: ..." in the client's language level, with a skip button. The
    chat records that it was shown (the worker sees when)."""

    slot = "vraag_antwoord"

    def name(self) -> str:
        return "action_ask_vraag_antwoord"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        super().run(dispatcher, tracker, domain)
        return [SlotSet("vraag_niveau", language_level(tracker))]

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        level = language_level(tracker)
        text = tracker.get_slot("vraag_uitleg") or ""
        question_id = tracker.get_slot("vraag_id")
        if question_id is not None:
            try:
                with db_session() as session:
                    question = between.mark_question_asked(
                        session, tracker.sender_id, int(question_id)
                    )
                    text = question.text(level)
            except (SQLAlchemyError, ValueError):
                logger.exception("could not read the worker's question")
        dispatcher.utter_message(response="utter_ask_vraag_antwoord", vraag=text)


class AskVraagDelen(ResponseAsk):
    """The answer read back, and whether the worker may read it (like any reflection)."""

    slot = "vraag_delen"

    def name(self) -> str:
        return "action_ask_vraag_delen"


class ValidateVraagForm(FormValidationAction):
    """The answer to the worker's question in the client's own words (a weak answer gets the
    one gentle follow-up, with the question's simple wording), or a skip; then consent."""

    def name(self) -> str:
        return "validate_vraag_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("vraag_antwoord") == SKIPPED:
            return ["vraag_antwoord"]
        return list(domain_slots)

    def validate_vraag_antwoord(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value == SKIPPED:
            return {"vraag_antwoord": SKIPPED}
        if value is not None and _is_skip(tracker):
            return {"vraag_antwoord": SKIPPED}
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {"vraag_antwoord": None}
        explanation = tracker.get_slot("vraag_uitleg") or ""
        return answer_or_follow_up("vraag_antwoord", text, tracker, dispatcher, explanation)

    def validate_vraag_delen(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"vraag_delen": None}
        answer = parse_yes_no(str(value), _intent(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_delen_ongeldig")
            return {"vraag_delen": None}
        return {"vraag_delen": answer}


SAVED, KEPT, LOST = "saved", "kept", "lost"


def _store_question_answer(
    tracker: Tracker, question_id: int, answer: str, shared: bool, level: str
) -> str:
    """Store the answer to the worker's question (or the skip): SAVED; when the database is
    down or busy, keep it in the outbox (issue 13) to be stored when it is back: KEPT; LOST
    when even that fails, or the question is not the client's."""
    key = stable_key("vraag", tracker.sender_id, str(question_id))
    try:
        with db_session() as session:
            if answer == SKIPPED:
                between.skip_question(session, tracker.sender_id, question_id)
            else:
                between.record_question_answer(
                    session, tracker.sender_id, question_id, answer, shared, key, level
                )
        return SAVED
    except SQLAlchemyError:
        logger.exception("could not save the answer to the worker's question")
        data = {
            "chat_id": tracker.sender_id,
            "question_id": question_id,
            "skipped": answer == SKIPPED,
            "answer": None if answer == SKIPPED else answer,
            "shared": shared,
            "level": level,
        }
        return KEPT if durable.keep("question_answer", key, data) else LOST
    except ValueError:
        logger.exception("could not save the answer to the worker's question")
        return LOST


class ActionVraagOpslaan(Action):
    """Save the answer with the client's consent choice (idempotent: one reflection per
    question, also when Rasa retries), or close the question as skipped. Then the next stage."""

    def name(self) -> str:
        return "action_vraag_opslaan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        from actions.actions import next_step  # the stages after the mood

        question_id = tracker.get_slot("vraag_id")
        answer = tracker.get_slot("vraag_antwoord")
        shared = tracker.get_slot("vraag_delen") is True
        level = tracker.get_slot("vraag_niveau") or language_level(tracker)
        if question_id is not None and answer:
            stored = _store_question_answer(tracker, int(question_id), answer, shared, level)
            if stored == LOST:
                # The question stays open: it is asked again at the next check-in.
                dispatcher.utter_message(response="utter_vraag_niet_bewaard")
            elif answer == SKIPPED:
                dispatcher.utter_message(response="utter_vraag_overgeslagen")
            elif stored == KEPT:  # never "bewaard" before it is
                dispatcher.utter_message(response="utter_vraag_later_bewaard")
            else:
                dispatcher.utter_message(
                    response="utter_opgeslagen_gedeeld" if shared else "utter_opgeslagen_prive"
                )
        events: list[EventType] = [SlotSet(slot, None) for slot in QUESTION_SLOTS]
        return events + next_step(tracker, dispatcher, after=QUESTION_STAGE)


# --- the client's tasks (afspraak_form) ---------------------------------------------------------


class AskAfspraakResultaat(ResponseAsk):
    """ "Je sprak met je begeleider af: ... Heb je dat gedaan?" Gedaan / Een beetje / Nog niet."""

    slot = "afspraak_resultaat"

    def name(self) -> str:
        return "action_ask_afspraak_resultaat"


_PARTLY = re.compile(r"\b(beetje|deels|half|soms|bijna|gedeeltelijk|een deel|stukje)\b")
_NOT_YET = re.compile(r"\b(nog niet|niet|nee|neen|nope|geen|vergeten|mislukt)\b")
_DONE = re.compile(r"\b(gedaan|gelukt|klaar|af|done|gefixt|geregeld)\b")


def parse_task_outcome(text: str, intent: str | None) -> str | None:
    """gedaan / deels / nog_niet from a button or typed words, or None when unclear."""
    plain = text.strip().lower()
    if _PARTLY.search(plain):
        return PARTLY
    if _NOT_YET.search(plain) or intent == "ontkennen":
        return NOT_YET
    if _DONE.search(plain):
        return DONE
    answer = parse_yes_no(plain, intent)
    if answer is None:
        return None
    return DONE if answer else NOT_YET


class ValidateAfspraakForm(FormValidationAction):
    def name(self) -> str:
        return "validate_afspraak_form"

    def validate_afspraak_resultaat(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"afspraak_resultaat": None}
        if value in (DONE, PARTLY, NOT_YET, TASK_SKIPPED):  # set before the form (re)started
            return {"afspraak_resultaat": value}
        if _is_skip(tracker):
            return {"afspraak_resultaat": TASK_SKIPPED}
        outcome = parse_task_outcome(str(value), _intent(tracker))
        if outcome is None:
            dispatcher.utter_message(response="utter_afspraak_ongeldig")
        return {"afspraak_resultaat": outcome}


class ActionAfspraakBijwerken(Action):
    """Record the client's answer in the ledger (idempotent by the answer's message id), answer
    kindly without blame, then the next task or the next stage."""

    def name(self) -> str:
        return "action_afspraak_bijwerken"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        from actions.actions import next_step  # the stages after the mood

        outcome = tracker.get_slot("afspraak_resultaat")
        agreement_id = tracker.get_slot("afspraak_id")
        if outcome in TASK_RESPONSES and agreement_id is not None:
            message_id = latest_user_event(tracker).get("message_id") or ""
            key = stable_key("afspraak", tracker.sender_id, str(int(agreement_id)), message_id)
            try:
                with db_session() as session:
                    between.record_agreement_check(
                        session, tracker.sender_id, int(agreement_id), outcome, key
                    )
            except SQLAlchemyError:
                # The database is down or busy: the check waits in the outbox (issue 13).
                logger.exception("could not record the check of a task")
                durable.keep(
                    "agreement_check",
                    key,
                    {
                        "chat_id": tracker.sender_id,
                        "agreement_id": int(agreement_id),
                        "outcome": outcome,
                    },
                )
            except ValueError:
                # Not saved: the task is asked again at a next check-in. Still a kind answer.
                logger.exception("could not record the check of a task")
            dispatcher.utter_message(response=TASK_RESPONSES[outcome])
        elif outcome == TASK_SKIPPED:
            dispatcher.utter_message(response="utter_vraag_overgeslagen")
        remaining = [t for t in (tracker.get_slot("afspraken_open") or []) if len(t) == 2]
        if remaining:
            return _task_events(remaining)
        events: list[EventType] = [SlotSet(slot, None) for slot in AGREEMENT_SLOTS]
        return events + next_step(tracker, dispatcher, after=AGREEMENT_STAGE)
