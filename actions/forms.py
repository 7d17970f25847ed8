"""Form validation: check-in mood, the hope reflection, correction and consent."""

from __future__ import annotations

import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    INTERRUPTIONS,
    MAX_ANSWER_CHARS,
    has_words,
    parse_scale,
    parse_yes_no,
)


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


QUESTION_WORDS = ("wat", "wie", "hoe", "waar", "wanneer", "waarom", "welke", "hoeveel",
                  "kun", "kan", "kunnen", "wil", "mag", "bestel", "geef", "vertel", "zoek")


def _off_topic_question(tracker: Tracker) -> bool:
    """A confident out-of-scope question ("wat voor weer wordt het?") is not an answer.

    Anything else, also low-confidence text, counts as the client's answer: a reflection
    answer in their own words often looks unusual to the classifier.
    """
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") != "out_of_scope" or float(intent.get("confidence") or 0) < 0.9:
        return False
    text = (tracker.latest_message.get("text") or "").strip().lower()
    return text.endswith("?") or text.split(" ", 1)[0] in QUESTION_WORDS


def free_text_answer(
    value: Any, tracker: Tracker, dispatcher: CollectingDispatcher
) -> str | None:
    """A reflection answer in the client's own words, or None with a calm Dutch message."""
    if value is None or _intent(tracker) in INTERRUPTIONS:
        return None  # a slot reset, or handled by a rule: never stored as an answer
    if _off_topic_question(tracker):
        dispatcher.utter_message(response="utter_out_of_scope")
        return None
    text = str(value).strip()
    if not text or not has_words(text):
        dispatcher.utter_message(response="utter_antwoord_leeg")
        return None
    if len(text) > MAX_ANSWER_CHARS:
        dispatcher.utter_message(response="utter_antwoord_te_lang")
        return None
    return text


class ValidateCheckinForm(FormValidationAction):
    def name(self) -> str:
        return "validate_checkin_form"

    def validate_stemming(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if value is None:
            return {"stemming": None}
        score = parse_scale(str(value), kind="stemming")
        if score is None:
            dispatcher.utter_message(response="utter_stemming_ongeldig")
            return {"stemming": None}
        return {"stemming": str(score)}


class ValidateHoopForm(FormValidationAction):
    def name(self) -> str:
        return "validate_hoop_form"

    def _answer(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {slot: None}
        result: dict[str, Any] = {slot: text}
        if not tracker.get_slot("reflectie_sleutel"):
            # One key per reflection: a retried or resumed save updates the same row.
            result["reflectie_sleutel"] = uuid.uuid4().hex
        return result

    def validate_hoop_uitkijken(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._answer("hoop_uitkijken", value, dispatcher, tracker)

    def validate_hoop_beter_leven(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._answer("hoop_beter_leven", value, dispatcher, tracker)

    def validate_hoop_stapje(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._answer("hoop_stapje", value, dispatcher, tracker)

    def validate_hoop_schaal(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None:
            return {"hoop_schaal": None}
        score = parse_scale(str(value), kind="hoop")
        if score is None:
            dispatcher.utter_message(response="utter_schaal_ongeldig")
            return {"hoop_schaal": None}
        return {"hoop_schaal": str(score)}


_FIELD_WORDS = [
    ("hoop_uitkijken", ("uitkijk", "zin in", "blij")),
    ("hoop_beter_leven", ("beter leven", "leven", "anders")),
    ("hoop_stapje", ("stap", "stapje")),
    ("hoop_schaal", ("hoop", "cijfer", "getal", "schaal")),
]
FIELDS_BY_NUMBER = {str(i + 1): slot for i, (slot, _) in enumerate(_FIELD_WORDS)}


def parse_field(text: str) -> str | None:
    """Which answer the client wants to change: a number 1-4 or a word from the read-back."""
    plain = text.strip().lower()
    for number, slot in FIELDS_BY_NUMBER.items():
        if plain == number or plain.startswith(number + " ") or plain.startswith(number + "."):
            return slot
    for slot, words in _FIELD_WORDS:
        if any(word in plain for word in words):
            return slot
    return None


class ValidateCorrectieForm(FormValidationAction):
    def name(self) -> str:
        return "validate_correctie_form"

    def validate_aanpassen_veld(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        slot = parse_field(str(value)) if value is not None else None
        if slot is None and value is not None:
            dispatcher.utter_message(response="utter_aanpassen_ongeldig")
        return {"aanpassen_veld": slot}


class ValidateToestemmingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_toestemming_form"

    def validate_delen(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None:
            return {"delen": None}
        answer = parse_yes_no(str(value), _intent(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_delen_ongeldig")
            return {"delen": None}
        return {"delen": answer}


__all__ = [
    "ValidateCheckinForm",
    "ValidateCorrectieForm",
    "ValidateHoopForm",
    "ValidateToestemmingForm",
    "free_text_answer",
    "parse_field",
]


class _AskAction(Action):
    """Ask the form's next question, unless "ik snap het niet" was just answered.

    Forms call `action_ask_<slot>` when the domain lists it. Right after `action_uitleg`
    (the simpler rewording of this question) the question is not repeated.
    """

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if not just_explained(tracker):
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        return []


def just_explained(tracker: Tracker) -> bool:
    """True when `action_uitleg` ran since the last user message (the form itself aside)."""
    form = (tracker.active_loop or {}).get("name")
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") not in (form, None):
            return event.get("name") == "action_uitleg"
    return False


class ActionUitleg(Action):
    """'Ik snap het niet': a simpler rewording of the open question, never a repeat."""

    def name(self) -> str:
        return "action_uitleg"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        slot = tracker.get_slot("requested_slot")
        response = f"utter_uitleg_{slot}"
        if slot and response in (domain.get("responses") or {}):
            dispatcher.utter_message(response=response)
        else:
            dispatcher.utter_message(response="utter_niet_begrepen")
        return []


ASKED_SLOTS = ("stemming", "hoop_uitkijken", "hoop_beter_leven", "hoop_stapje", "hoop_schaal",
               "aanpassen_veld", "delen")
for _slot in ASKED_SLOTS:
    _name = "Ask" + "".join(part.title() for part in _slot.split("_"))
    globals()[_name] = type(_name, (_AskAction,), {"slot": _slot})
