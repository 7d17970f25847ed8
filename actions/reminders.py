"""Between sessions (issue 14): the client's own reminders in the chat. "Geen berichtjes meer"
stops them (the consent is withdrawn; only a new plan in the dashboard starts them again),
"even geen berichtjes" pauses them, "weer berichtjes" ends the pause, "stuur het om 18:00"
moves them. Every change is read back in the reviewed words of bot/content/reminders.yml;
a refusal (no plan, already stopped, quiet hours) gets its own clear message.

The same intents work inside every form (bot/rulegen.py): the change is made, then the form
asks its question again. Storage is bot/storage/between.py.
"""

from __future__ import annotations

import logging
import re
from datetime import time
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions.common import db_session, language_level, latest_intent
from actions.forms import ResponseAsk
from bot.reminders import schedule
from bot.reminders.content import control_text, refusal_text, time_changed_text
from bot.storage import between

logger = logging.getLogger(__name__)

STOP, PAUSE, RESUME, MOVE = (
    "herinnering_stop",
    "herinnering_pauze",
    "herinnering_aan",
    "herinnering_tijd",
)
REMINDER_INTENTS = (STOP, PAUSE, RESUME, MOVE)
# Stopping cannot be undone by the client: the message must be about the reminders themselves,
# not an answer that the classifier happened to read as a stop ("geen zin in berichten van mn
# moeder" is still read as a stop, and the read-back tells the client what happened).
_ABOUT_REMINDERS = re.compile(
    r"bericht|herinner|melding|sms|mail|push|notific|tijdstip", re.IGNORECASE
)
# A clock time inside a sentence: "om 18:00", "19.30", "om 7 uur", "8u30".
_CLOCK = re.compile(
    r"(?<![\d:.])(\d{1,2}\s*[:.u]\s*\d{2}|\d{1,2}\s*uur|(?<=om )\d{1,2})(?![\d:.])",
    re.IGNORECASE,
)
# "Dat lukte niet. Probeer het later nog een keer." (a database error)
FAILED = "push_failed"
# The time form's slot when the change cannot be made at all (no plan, stopped).
REFUSED = "geweigerd"


def find_time(text: str | None) -> time | None:
    """The first clock time in a message ("stuur het om 18:00"), or None."""
    for match in _CLOCK.finditer(text or ""):
        found = schedule.parse_time(match.group(1))
        if found is not None:
            return found
    return None


_intent = latest_intent


def change_time(
    tracker: Tracker, dispatcher: CollectingDispatcher, new_time: time
) -> tuple[bool, bool]:
    """Move the reminders to `new_time` and say so. Returns (changed, may_try_another_time)."""
    level = language_level(tracker)
    try:
        with db_session() as session:
            status = between.change_reminder_time(session, tracker.sender_id, new_time)
    except between.ReminderRefused as exc:
        dispatcher.utter_message(text=refusal_text(exc.code, level, exc.quiet))
        return False, exc.code == "quiet_hours"
    except (SQLAlchemyError, ValueError):
        logger.exception("could not change the reminder time")
        dispatcher.utter_message(text=control_text(FAILED, level))
        return False, False
    dispatcher.utter_message(text=time_changed_text(level, new_time, status))
    return True, False


class ActionHerinnering(Action):
    """Stop, pause, resume or move the client's reminders, as the latest message asked, and
    read back what happened. Outside a form it ends with a way on; "ander tijdstip" without a
    time starts `herinnering_tijd_form` there (`tijd_nodig`), inside a form it says how."""

    def name(self) -> str:
        return "action_herinnering"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        from actions.actions import offer_way_on

        intent = _intent(tracker)
        text = tracker.latest_message.get("text") or ""
        in_form = bool((tracker.active_loop or {}).get("name"))
        level = language_level(tracker)
        events: list[EventType] = [SlotSet("tijd_nodig", False)]
        try:
            if intent == STOP and not _ABOUT_REMINDERS.search(text):
                dispatcher.utter_message(response="utter_herinnering_zeker")
            elif intent == MOVE:
                new_time = find_time(text)
                if new_time is not None:
                    change_time(tracker, dispatcher, new_time)
                elif in_form:
                    dispatcher.utter_message(response="utter_herinnering_tijd_erbij")
                else:
                    with db_session() as session:
                        status = between.reminder_status(session, tracker.sender_id)
                    if status is None:
                        dispatcher.utter_message(text=refusal_text("no_plan", level))
                    elif status.status == "gestopt":
                        dispatcher.utter_message(text=refusal_text("already_stopped", level))
                    else:
                        return [SlotSet("tijd_nodig", True), SlotSet("herinnering_tijd", None)]
            elif intent in (STOP, PAUSE, RESUME):
                self._change(intent, tracker, dispatcher)
            else:
                dispatcher.utter_message(response="utter_niet_begrepen")
                return events
        except between.ReminderRefused as exc:
            dispatcher.utter_message(text=refusal_text(exc.code, level, exc.quiet))
        except (SQLAlchemyError, ValueError):
            logger.exception("could not change the client's reminders")
            dispatcher.utter_message(text=control_text(FAILED, level))
        if not in_form:
            offer_way_on(dispatcher, tracker, domain)
        return events

    def _change(self, intent: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        level = language_level(tracker)
        with db_session() as session:
            if intent == STOP:
                between.stop_reminders(session, tracker.sender_id)
                dispatcher.utter_message(text=control_text("stopped", level))
            elif intent == PAUSE:
                between.pause_reminders(session, tracker.sender_id)
                dispatcher.utter_message(text=control_text("paused", level))
                dispatcher.utter_message(response="utter_herinnering_weer_aan")
            else:
                status = between.resume_reminders(session, tracker.sender_id)
                dispatcher.utter_message(text=control_text("resumed", level))
                dispatcher.utter_message(
                    response="utter_herinnering_wanneer",
                    dagen=status.days_text,
                    tijd=status.time_text,
                )


class AskHerinneringTijd(ResponseAsk):
    slot = "herinnering_tijd"

    def name(self) -> str:
        return "action_ask_herinnering_tijd"


class ValidateHerinneringTijdForm(FormValidationAction):
    """The new time: "19:00", "19.30", "om 7 uur". Made at once; in the quiet hours the
    client is told which times can, and asked again."""

    def name(self) -> str:
        return "validate_herinnering_tijd_form"

    def validate_herinnering_tijd(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"herinnering_tijd": None}
        new_time = schedule.parse_time(str(value)) or find_time(str(value))
        if new_time is None:
            dispatcher.utter_message(text=control_text("bad_time", language_level(tracker)))
            return {"herinnering_tijd": None}
        changed, again = change_time(tracker, dispatcher, new_time)
        if changed:
            return {"herinnering_tijd": schedule.time_text(new_time)}
        return {"herinnering_tijd": None if again else REFUSED}
