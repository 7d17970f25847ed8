"""Form validation and the custom questions of the forms: check-in, theme menu, the six
theme forms, venting, small steps, the safety plan colour, correction and consent."""

from __future__ import annotations

import re
import uuid
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import reflection
from actions.common import (
    INTERRUPTIONS,
    MAX_ANSWER_CHARS,
    has_words,
    language_level,
    parse_scale,
    parse_yes_no,
    render_response,
)
from actions.reflection import Field, least_recent_theme
from actions.safety import parse_colour, red_phase, show_phase
from bot import content


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


QUESTION_WORDS = (
    "wat",
    "wie",
    "hoe",
    "waar",
    "wanneer",
    "waarom",
    "welke",
    "hoeveel",
    "kun",
    "kan",
    "kunnen",
    "wil",
    "mag",
    "bestel",
    "geef",
    "vertel",
    "zoek",
)
# A subject right after the question word makes it a clause ("wat ik eet"), not a question.
SUBJECTS = ("ik", "je", "jij", "we", "wij", "ze", "zij", "hij", "u", "mijn", "mn", "m'n")


def _off_topic_question(tracker: Tracker) -> bool:
    """A confident out-of-scope question ("wat voor weer wordt het?") is not an answer.

    Anything else, also low-confidence text, counts as the client's answer: a reflection
    answer in their own words often looks unusual to the classifier.
    """
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") != "out_of_scope" or float(intent.get("confidence") or 0) < 0.9:
        return False
    text = (tracker.latest_message.get("text") or "").strip().lower()
    words = text.split()
    if text.endswith("?"):
        return True
    # "wat ik eet" answers "Wat kun je zelf kiezen?"; "wat eet ik" would be a question.
    return (
        bool(words) and words[0] in QUESTION_WORDS and (len(words) < 2 or words[1] not in SUBJECTS)
    )


def free_text_answer(value: Any, tracker: Tracker, dispatcher: CollectingDispatcher) -> str | None:
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


def _new_key(tracker: Tracker) -> dict[str, Any]:
    # One key per reflection: a retried or resumed save updates the same row.
    return {} if tracker.get_slot("reflectie_sleutel") else {"reflectie_sleutel": uuid.uuid4().hex}


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


class ValidateKeuzeForm(FormValidationAction):
    """The theme menu: a button, a typed number, label or synonym, or "kies jij maar"."""

    def name(self) -> str:
        return "validate_keuze_form"

    def validate_thema_keuze(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"thema_keuze": None}
        intent = _intent(tracker)
        choice = None
        if intent == "kies_thema":
            choice = _entity(tracker, "thema")
        elif intent == "kwijt":
            choice = content.VENT
        elif intent == "kies_jij_maar":
            choice = "kies"
        if choice not in (*content.menu_keys(), "kies"):
            choice = content.parse_theme_choice(str(value))
        if choice is None:
            dispatcher.utter_message(response="utter_thema_keuze_ongeldig")
            return {"thema_keuze": None}
        if choice == "kies":
            choice = least_recent_theme(tracker.sender_id)
            dispatcher.utter_message(
                response="utter_thema_voor_jou",
                thema_label=content.label(choice, language_level(tracker)),
            )
        return {"thema_keuze": choice}


class ValidateThemaForm(FormValidationAction):
    """Two prompts from the theme's bank and the theme's 1-5 scale (one class per theme)."""

    theme = ""

    def name(self) -> str:
        return f"validate_{self.theme}_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):  # noqa: ANN001
        return list(domain_slots)

    def _answer(self, slot, value, dispatcher, tracker):  # noqa: ANN001
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {slot: None}
        return {slot: text, **_new_key(tracker)}

    def validate_antwoord_1(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._answer("antwoord_1", value, dispatcher, tracker)

    def validate_antwoord_2(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return self._answer("antwoord_2", value, dispatcher, tracker)

    def validate_thema_schaal(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"thema_schaal": None}
        score = parse_scale(str(value), kind="hoop")
        if score is None:
            dispatcher.utter_message(response="utter_schaal_ongeldig")
            return {"thema_schaal": None}
        return {"thema_schaal": str(score), **_new_key(tracker)}


def validate_plan_colour(value, dispatcher, tracker, domain, context):  # noqa: ANN001
    """A colour of the safety plan: show that phase of the client's own plan."""
    # "Mijn plan" while the plan's colour is asked is an answer attempt, not an interruption.
    if value is None or _intent(tracker) in INTERRUPTIONS - {"mijn_plan"}:
        return {"plan_kleur": None}
    colour = parse_colour(str(value))
    if colour is None:
        dispatcher.utter_message(response="utter_plan_kleur_ongeldig")
        return {"plan_kleur": None}
    if colour == "rood":  # typed rather than the red button (which is handled by a rule)
        red_phase(dispatcher, tracker, domain, context)
    else:
        show_phase(dispatcher, tracker, domain, colour)
        dispatcher.utter_message(response=f"utter_plan_{colour}")
    return {"plan_kleur": colour}


class ValidateVeiligheidForm(ValidateThemaForm):
    """The safety theme starts with the colour of the client's own plan, when there is one."""

    theme = "veiligheid"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):  # noqa: ANN001
        # The colour of the plan is asked only when the client has a plan.
        if tracker.get_slot("plan_aanwezig") is True:
            return list(domain_slots)
        return [slot for slot in domain_slots if slot != "plan_kleur"]

    def validate_plan_kleur(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return validate_plan_colour(value, dispatcher, tracker, domain, "veiligheid_form")


for _theme in content.theme_keys():
    if _theme != "veiligheid":
        _name = "Validate" + "".join(p.title() for p in _theme.split("_")) + "Form"
        globals()[_name] = type(_name, (ValidateThemaForm,), {"theme": _theme})


class ValidatePlanForm(FormValidationAction):
    def name(self) -> str:
        return "validate_plan_form"

    def validate_plan_kleur(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        return validate_plan_colour(value, dispatcher, tracker, domain, "plan_form")


class ValidateKwijtForm(FormValidationAction):
    """Venting: anything the client wants to say, acknowledged, no strengths turn forced."""

    def name(self) -> str:
        return "validate_kwijt_form"

    def validate_kwijt_tekst(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {"kwijt_tekst": None}
        dispatcher.utter_message(response="utter_kwijt_dank")
        return {"kwijt_tekst": text, **_new_key(tracker)}


class ValidateStapjeForm(FormValidationAction):
    """An optional small step in the client's own words."""

    def name(self) -> str:
        return "validate_stapje_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):  # noqa: ANN001
        if tracker.get_slot("stapje_willen") is False:
            return ["stapje_willen"]
        return list(domain_slots)

    def validate_stapje_willen(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"stapje_willen": None}
        if _intent(tracker) == "klacht":
            dispatcher.utter_message(response="utter_klacht")
            return {"stapje_willen": None}
        answer = parse_yes_no(str(value), _intent(tracker))
        if answer is None:
            # "Morgen mijn zus bellen" answers the invitation with the step itself.
            text = free_text_answer(value, tracker, dispatcher)
            if text is not None and len(text.split()) >= 3:
                dispatcher.utter_message(response="utter_stapje_mooi")
                return {"stapje_willen": True, "stapje": text}
            if text is not None:
                dispatcher.utter_message(response="utter_stapje_ongeldig")
            return {"stapje_willen": None}
        return {"stapje_willen": answer}

    def validate_stapje(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {"stapje": None}
        dispatcher.utter_message(response="utter_stapje_mooi")
        return {"stapje": text}


_PARTLY = re.compile(r"\b(beetje|deels|half|soms|bijna|gedeeltelijk|een keer|1 keer)\b")


class ValidateStapcheckForm(FormValidationAction):
    """How last time's small step went: gelukt, een beetje, niet gelukt."""

    def name(self) -> str:
        return "validate_stapcheck_form"

    def validate_stap_resultaat(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"stap_resultaat": None}
        text = str(value).lower()
        if _PARTLY.search(text):
            return {"stap_resultaat": "beetje"}
        answer = parse_yes_no(text, _intent(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_stap_resultaat_ongeldig")
            return {"stap_resultaat": None}
        return {"stap_resultaat": "gelukt" if answer else "niet_gelukt"}


def parse_field(text: str, choices: list[Field]) -> str | None:
    """Which read-back line the client wants to change: its number or words from it."""
    plain = text.strip().lower()
    match = re.match(r"^(?:nummer |nr )?([1-9])\b", plain)
    if match:
        index = int(match.group(1)) - 1
        return choices[index].slot if index < len(choices) else None
    for field in choices:
        if field.slot == "thema_schaal" and re.search(r"\b(cijfer|getal|schaal)\b", plain):
            return field.slot
        if field.slot == "stapje" and "stap" in plain:
            return field.slot
    return None


class ValidateCorrectieForm(FormValidationAction):
    """Which answer to change, and the new answer (a scale is read as a 1-5 answer)."""

    def name(self) -> str:
        return "validate_correctie_form"

    def validate_aanpassen_veld(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"aanpassen_veld": None}
        slot = parse_field(str(value), reflection.fields(tracker, domain))
        if slot is None:
            dispatcher.utter_message(response="utter_aanpassen_ongeldig")
        return {"aanpassen_veld": slot}

    def validate_nieuw_antwoord(self, value, dispatcher, tracker, domain):  # noqa: ANN001
        if tracker.get_slot("aanpassen_veld") == "thema_schaal":
            if value is None or _intent(tracker) in INTERRUPTIONS:
                return {"nieuw_antwoord": None}
            score = parse_scale(str(value), kind="hoop")
            if score is None:
                dispatcher.utter_message(response="utter_schaal_ongeldig")
                return {"nieuw_antwoord": None}
            return {"nieuw_antwoord": str(score)}
        return {"nieuw_antwoord": free_text_answer(value, tracker, dispatcher)}


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
            self.ask(dispatcher, tracker, domain)
        return []

    def ask(self, dispatcher, tracker, domain):  # noqa: ANN001
        dispatcher.utter_message(response=f"utter_ask_{self.slot}")


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
    """'Ik snap het niet' / 'geef een voorbeeld': a simpler wording of the open question with
    an example answer, never a plain repeat."""

    def name(self) -> str:
        return "action_uitleg"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        slot = tracker.get_slot("requested_slot")
        prompt = reflection.question_for(tracker, slot) if slot else None
        if prompt is not None:
            dispatcher.utter_message(
                response="utter_uitleg_antwoord", vraag=prompt.eenvoudig, voorbeeld=prompt.voorbeeld
            )
        elif slot == "kwijt_tekst":
            dispatcher.utter_message(
                response="utter_uitleg_antwoord",
                vraag=content.vent_question("eenvoudig"),
                voorbeeld=content.vent_example(),
            )
        elif slot and f"utter_uitleg_{slot}" in (domain.get("responses") or {}):
            dispatcher.utter_message(response=f"utter_uitleg_{slot}")
        else:
            dispatcher.utter_message(response="utter_niet_begrepen")
        return []


class AskAntwoord(_AskAction):
    """A prompt from the theme's bank, in the client's language level."""

    def ask(self, dispatcher, tracker, domain):  # noqa: ANN001
        prompt = reflection.question_for(tracker, self.slot)
        if prompt is None:  # no prompts chosen (should not happen): ask something open
            dispatcher.utter_message(response="utter_ask_nieuw_antwoord")
        else:
            dispatcher.utter_message(text=prompt.text(language_level(tracker)))


class AskAntwoord1(AskAntwoord):
    slot = "antwoord_1"


class AskAntwoord2(AskAntwoord):
    slot = "antwoord_2"


class AskThemaSchaal(_AskAction):
    slot = "thema_schaal"

    def ask(self, dispatcher, tracker, domain):  # noqa: ANN001
        theme = reflection.current_theme(tracker) or "hoop"
        dispatcher.utter_message(
            response="utter_ask_thema_schaal",
            vraag=content.scale_question(theme, language_level(tracker)),
        )


class AskKwijtTekst(_AskAction):
    slot = "kwijt_tekst"

    def ask(self, dispatcher, tracker, domain):  # noqa: ANN001
        dispatcher.utter_message(text=content.vent_question(language_level(tracker)))


class AskAanpassenVeld(_AskAction):
    """Which line of the read-back to change: one numbered button per line."""

    slot = "aanpassen_veld"

    def ask(self, dispatcher, tracker, domain):  # noqa: ANN001
        level = language_level(tracker)
        buttons = []
        for number, field in enumerate(reflection.fields(tracker, domain), start=1):
            title = field.name if len(field.name) <= 40 else field.name[:37] + "..."
            buttons.append({"title": f"{number} {title}", "payload": str(number)})
        dispatcher.utter_message(
            text=render_response(domain, "utter_ask_aanpassen_veld", level), buttons=buttons
        )


class AskNieuwAntwoord(_AskAction):
    slot = "nieuw_antwoord"

    def ask(self, dispatcher, tracker, domain):  # noqa: ANN001
        field = tracker.get_slot("aanpassen_veld")
        theme = reflection.current_theme(tracker)
        if field == "thema_schaal" and theme:
            dispatcher.utter_message(
                response="utter_ask_thema_schaal",
                vraag=content.scale_question(theme, language_level(tracker)),
            )
        else:
            dispatcher.utter_message(response="utter_ask_nieuw_antwoord")


ASKED_SLOTS = (
    "stemming",
    "thema_keuze",
    "stapje_willen",
    "stapje",
    "stap_resultaat",
    "plan_kleur",
    "delen",
)
for _slot in ASKED_SLOTS:
    _name = "Ask" + "".join(part.title() for part in _slot.split("_"))
    globals()[_name] = type(_name, (_AskAction,), {"slot": _slot})
