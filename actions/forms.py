"""Form validation and the custom questions of the forms: check-in, the theme menu, the one
theme form (every theme of bot/content/themes.yml), venting, small steps, the safety plan
colour, correction and consent.

Short answers never derail a check-in: a weak answer ("weet nie", "niks", a bare "ja" to an
open question) gets one gentle follow-up in other words with the prompt's example, then what
the client says is stored as it was said (bot/weak_answers.py).
"""

from __future__ import annotations

import re
import uuid
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import reflection
from actions.common import (
    ANSWER_SLOTS,
    FOLLOW_UP_SLOT,
    INTERRUPTIONS,
    MAX_ANSWER_CHARS,
    has_words,
    language_level,
    latest_intent,
    parse_scale,
    parse_yes_no,
    render_response,
)
from actions.reflection import Field, least_recent_theme
from actions.safety import parse_colour, record_event, red_phase, show_phase
from bot import content
from bot.stop_words import STOP_INTENTS, says_stop
from bot.vocabulary import (
    CHOOSE_FOR_ME,
    MENU_FORM,
    PLAN_FORM,
    STEP_DONE,
    STEP_NOT_DONE,
    STEP_PARTLY,
    THEME_FORM,
    THEME_GROUPS,
    UNKNOWN_CATEGORY,
)
from bot.weak_answers import is_weak

Slots = dict[str, Any]
NOT_SAFE_RESPONSE = "utter_schaal_niet_veilig"


_intent = latest_intent


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
# Open questions that get one gentle follow-up for a weak answer.
FOLLOW_UP_SLOTS = frozenset(
    {*ANSWER_SLOTS, "kwijt_tekst", "stapje", "nieuw_antwoord", "vraag_antwoord"}
)
# The "Weet ik niet" button of the follow-up sends this payload; it is stored as words.
DONT_KNOW_PAYLOAD = "/weet_niet"
DONT_KNOW_TEXT = "weet ik niet"


def _off_topic_question(tracker: Tracker) -> bool:
    """A confident out-of-scope question ("wat voor weer wordt het?") is not an answer.

    Anything else, also low-confidence text, counts as the client's answer: a reflection
    answer in their own words often looks unusual to the classifier.
    """
    intent = tracker.latest_message.get("intent") or {}
    if intent.get("name") != "out_of_scope" or float(intent.get("confidence") or 0) < 0.9:
        return False
    return looks_like_question(tracker.latest_message.get("text"))


def looks_like_question(text: str | None) -> bool:
    """A question mark, or a question word first: "wat eet ik" is a question, but "wat ik
    eet" answers "Wat kun je zelf kiezen?"."""
    text = (text or "").strip().lower()
    words = text.split()
    if text.endswith("?"):
        return True
    return (
        bool(words) and words[0] in QUESTION_WORDS and (len(words) < 2 or words[1] not in SUBJECTS)
    )


SAFETY_INTENTS = frozenset({"crisis", "crisis_check"})


def kept_after_check(message: dict[str, Any]) -> str | None:
    """The text of the message that raised a check question, when it can be kept as the
    answer to the open question after a "nee" (`actions.actions.checked_answer`); None when
    the question must be asked again. The checks an answer gets when it is typed: buttons,
    empty, too long, weak, a question, or (after the safety intents) a stop, a greeting or
    another request, read from that message and not from the "nee"."""
    text = (message.get("text") or "").strip()
    if not text or text.startswith("/") or not has_words(text) or len(text) > MAX_ANSWER_CHARS:
        return None
    if is_weak(text) or looks_like_question(text):
        return None
    if says_stop(text):
        return None  # "stop maar, ...": the client is asked again, the stop never stored
    parse = message.get("parse_data") or {}
    ranking = parse.get("intent_ranking") or [parse.get("intent") or {}]
    first: dict[str, Any] = next((i for i in ranking if i.get("name") not in SAFETY_INTENTS), {})
    # The classifier's goodbye or stop on an answer is no stop without a stop word ("loyaal
    # tot de dood": afscheid 0.97; bot/answers.py); another request must be its first reading.
    if first.get("name") in STOP_INTENTS:
        return text
    if first.get("name") in INTERRUPTIONS and float(first.get("confidence") or 0) >= 0.5:
        return None
    return text


def free_text_answer(value: Any, tracker: Tracker, dispatcher: CollectingDispatcher) -> str | None:
    """A reflection answer in the client's own words, or None with a calm Dutch message."""
    if value is None or _intent(tracker) in INTERRUPTIONS:
        return None  # a slot reset, or handled by a rule: never stored as an answer
    text = str(value).strip()
    if text.startswith(DONT_KNOW_PAYLOAD):
        return DONT_KNOW_TEXT
    if _off_topic_question(tracker):
        dispatcher.utter_message(response="utter_out_of_scope")
        return None
    if not text or not has_words(text):
        dispatcher.utter_message(response="utter_antwoord_leeg")
        return None
    if len(text) > MAX_ANSWER_CHARS:
        dispatcher.utter_message(response="utter_antwoord_te_lang")
        return None
    return text


def given_earlier(text: str, tracker: Tracker) -> bool:
    """Whether an answer comes from an earlier message, not the one just typed or tapped: an
    answer kept after a "nee" to the check question, or one a resumed form validates again."""
    latest = (tracker.latest_message.get("text") or "").strip()
    return text != latest and not (text == DONT_KNOW_TEXT and latest.startswith(DONT_KNOW_PAYLOAD))


def answer_or_follow_up(
    slot: str,
    text: str,
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    explanation: str,
    open_question: bool = True,
) -> Slots:
    """Store `text` in `slot`, unless it is weak and this question had no follow-up yet: then
    ask once more, gently, in other words (`explanation`) and with a "Weet ik niet" button."""
    if (
        not given_earlier(text, tracker)  # (a resumed form validates those again)
        and text != DONT_KNOW_TEXT
        and is_weak(text, open_question)
        and tracker.get_slot(FOLLOW_UP_SLOT) != slot
    ):
        dispatcher.utter_message(response="utter_doorvragen", uitleg=explanation)
        return {slot: None, FOLLOW_UP_SLOT: slot}
    return {slot: text, **({FOLLOW_UP_SLOT: None} if tracker.get_slot(FOLLOW_UP_SLOT) else {})}


def _prompt_explanation(prompt: content.Prompt, level: str) -> str:
    return "\n".join(part for part in (prompt.explained(level), prompt.voorbeeld) if part)


def _new_key(tracker: Tracker) -> Slots:
    # One key per reflection: a retried or resumed save updates the same row.
    return {} if tracker.get_slot("reflectie_sleutel") else {"reflectie_sleutel": uuid.uuid4().hex}


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


# --- check-in ---------------------------------------------------------------------------------


class ValidateCheckinForm(FormValidationAction):
    def name(self) -> str:
        return "validate_checkin_form"

    def validate_stemming(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None:
            return {"stemming": None}
        score = parse_scale(str(value), kind="stemming")
        if score is None:
            dispatcher.utter_message(response="utter_stemming_ongeldig")
            return {"stemming": None}
        return {"stemming": str(score)}


# --- the theme menu ---------------------------------------------------------------------------


def _page(tracker: Tracker) -> int:
    try:
        return int(tracker.get_slot("menu_pagina") or 0)
    except (TypeError, ValueError):
        return 0


class ValidateKeuzeForm(FormValidationAction):
    """The theme menu in two steps of at most four choices: "Over mezelf / Over anderen /
    Iets vertellen / Kies jij maar", then the themes of that group. A button, a typed number,
    a label, a synonym or a misspelt theme name works at both steps; so does "kies jij maar"
    (at the second step Koers chooses within the group)."""

    def name(self) -> str:
        return "validate_keuze_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return list(domain_slots)

    def _from_message(self, tracker: Tracker) -> str | None:
        """The choice a button made (its intent and entity), if any."""
        intent = _intent(tracker)
        if intent == "kies_thema":
            theme = _entity(tracker, "thema")
            if theme in content.menu_keys():
                return theme
            chosen_group = _entity(tracker, "groep")
            if chosen_group in (*THEME_GROUPS, content.MORE):
                return chosen_group
        elif intent == "kwijt":
            return content.VENT
        elif intent == "kies_jij_maar":
            return CHOOSE_FOR_ME
        return None

    def _choose(
        self,
        choice: str | None,
        group: str | None,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        slot: str,
    ) -> Slots:
        if choice in content.menu_keys():
            group = group if group in THEME_GROUPS else None
            return {"thema_groep": group or content.VENT, "thema_keuze": choice}
        if choice == CHOOSE_FOR_ME:
            among = content.themes_in_group(group) if group in THEME_GROUPS else None
            theme = least_recent_theme(tracker.sender_id, among)
            dispatcher.utter_message(
                response="utter_thema_voor_jou",
                thema_label=content.label(theme, language_level(tracker)),
            )
            return {"thema_groep": group or content.group(theme), "thema_keuze": theme}
        if choice in THEME_GROUPS:
            return {"thema_groep": choice, "thema_keuze": None, "menu_pagina": 0.0}
        if choice == content.MORE and group in THEME_GROUPS:
            return {"thema_keuze": None, "menu_pagina": float(_page(tracker) + 1)}
        if choice == content.BACK:
            return {"thema_groep": None, "thema_keuze": None, "menu_pagina": 0.0}
        dispatcher.utter_message(response="utter_thema_keuze_ongeldig")
        return {slot: None}

    def validate_thema_groep(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"thema_groep": None}
        if value in (*THEME_GROUPS, content.VENT):  # set before the form started
            return {"thema_groep": value}
        choice = self._from_message(tracker) or content.parse_menu_choice(
            str(value), numbers=content.FIRST_STEP, groups=True
        )
        if choice in (content.MORE, content.BACK):
            choice = None
        return self._choose(choice, None, dispatcher, tracker, "thema_groep")

    def validate_thema_keuze(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"thema_keuze": None}
        if value in content.menu_keys():
            return {"thema_keuze": value}
        group = tracker.get_slot("thema_groep")
        numbers = content.themes_in_group(group) if group in THEME_GROUPS else []
        # A theme's name or synonym first ("mezelf" is also "Wie ben ik"), then another group.
        choice = (
            self._from_message(tracker)
            or content.parse_menu_choice(str(value), numbers=numbers)
            or content.parse_menu_choice(str(value), numbers=numbers, groups=True)
        )
        return self._choose(choice, group, dispatcher, tracker, "thema_keuze")


# --- the theme form ---------------------------------------------------------------------------


def validate_plan_colour(
    value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict, form: str
) -> Slots:
    """A colour of the safety plan: show that phase of the client's own plan."""
    # "Mijn plan" while the plan's colour is asked is an answer attempt, not an interruption.
    if value is None or _intent(tracker) in INTERRUPTIONS - {"mijn_plan"}:
        return {"plan_kleur": None}
    colour = parse_colour(str(value))
    if colour is None:
        dispatcher.utter_message(response="utter_plan_kleur_ongeldig")
        return {"plan_kleur": None}
    if colour == "rood":  # typed rather than the red button (which is handled by a rule)
        red_phase(dispatcher, tracker, domain, form)
    else:
        show_phase(dispatcher, tracker, domain, colour)
        dispatcher.utter_message(response=f"utter_plan_{colour}")
    done = {"plan_vraag": False} if form == THEME_FORM else {}  # "mijn plan" interrupts again
    return {"plan_kleur": colour, **done}


# The safety scale's low end in words ("niet veilig", the button's own label; "onveilig"):
# read as 1 on that scale, so typing it is never "Dat snap ik niet".
NOT_SAFE_WORDS = re.compile(r"\bon ?veilig\b|\b(?:niet|nie|nit) (?:zo |heel |echt |erg )?veilig\b")


def theme_scale(value: Any, tracker: Tracker) -> int | None:
    """A theme's 1-5 scale answer; on the safety scale "niet veilig" in words is 1."""
    score = parse_scale(str(value), kind="hoop")
    if score is None and reflection.current_theme(tracker) == content.SAFETY_THEME:
        if NOT_SAFE_WORDS.search(str(value).lower()):
            return 1
    return score


def not_safe(
    score: int, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> None:
    """ "Hoe veilig voel je je nu?" - "Niet veilig" (1), also as a correction: a safety signal
    in the client's own choice, whatever they share. The fixed help now, and an event for
    the worker (the question and the messages before it show what it answered)."""
    if score != 1 or reflection.current_theme(tracker) != content.SAFETY_THEME:
        return
    shown = render_response(domain, NOT_SAFE_RESPONSE, language_level(tracker))
    dispatcher.utter_message(response=NOT_SAFE_RESPONSE)
    record_event(
        tracker,
        category=UNKNOWN_CATEGORY,
        detected_by="client",
        shown=shown,
        context=THEME_FORM,
        reasons=("schaal veilig: 1 (niet veilig)",),
    )


def felt_unsafe(tracker: Tracker) -> bool:
    """This reflection's safety scale is "Niet veilig" (1)."""
    return (
        reflection.current_theme(tracker) == content.SAFETY_THEME
        and tracker.get_slot("thema_schaal") == "1"
    )


# Small-step texts with a variant for a client who just chose "Niet veilig".
UNSAFE_STEP_RESPONSES = frozenset(
    {
        "utter_ask_stapje_willen",
        "utter_uitleg_stapje_willen",
        "utter_ask_stapje",
        "utter_uitleg_stapje",
    }
)


def step_response(tracker: Tracker, name: str) -> str:
    """The small-step text to use: after "Niet veilig" (the help was just shown) the step is
    for today and about what helps (`<name>_onveilig`), not "for the coming days"."""
    if name in UNSAFE_STEP_RESPONSES and felt_unsafe(tracker):
        return f"{name}_onveilig"
    return name


class ValidateThemaForm(FormValidationAction):
    """Every theme of themes.yml: two prompts from its bank and its 1-5 scale. The safety
    theme first asks the colour of the client's own plan, when there is one."""

    def name(self) -> str:
        return f"validate_{THEME_FORM}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        asks_colour = (
            reflection.current_theme(tracker) == content.SAFETY_THEME
            and tracker.get_slot("plan_aanwezig") is True
        )
        return [slot for slot in domain_slots if slot != "plan_kleur" or asks_colour]

    def _answer(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker):
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {slot: None}
        prompt = reflection.question_for(tracker, slot)
        if prompt is None:
            return {slot: text, **_new_key(tracker)}
        explanation = _prompt_explanation(prompt, language_level(tracker))
        found = answer_or_follow_up(slot, text, tracker, dispatcher, explanation, prompt.open)
        return {**found, **_new_key(tracker)} if found.get(slot) else found

    def validate_plan_kleur(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return validate_plan_colour(value, dispatcher, tracker, domain, THEME_FORM)

    def validate_antwoord_1(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._answer("antwoord_1", value, dispatcher, tracker)

    def validate_antwoord_2(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return self._answer("antwoord_2", value, dispatcher, tracker)

    def validate_thema_schaal(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"thema_schaal": None}
        score = theme_scale(value, tracker)
        if score is None:
            dispatcher.utter_message(response="utter_schaal_ongeldig")
            return {"thema_schaal": None}
        not_safe(score, dispatcher, tracker, domain)
        return {"thema_schaal": str(score), **_new_key(tracker)}


class ValidatePlanForm(FormValidationAction):
    def name(self) -> str:
        return "validate_plan_form"

    def validate_plan_kleur(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        return validate_plan_colour(value, dispatcher, tracker, domain, PLAN_FORM)


class ValidateKwijtForm(FormValidationAction):
    """Venting: anything the client wants to say, acknowledged, no strengths turn forced."""

    def name(self) -> str:
        return "validate_kwijt_form"

    def validate_kwijt_tekst(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {"kwijt_tekst": None}
        level = language_level(tracker)
        explanation = "\n".join(
            part for part in (content.vent_explained(level), content.vent_example()) if part
        )
        found = answer_or_follow_up("kwijt_tekst", text, tracker, dispatcher, explanation)
        if not found.get("kwijt_tekst"):
            return found
        if not given_earlier(text, tracker):
            # (An answer given earlier was thanked for then: kept after a "nee" to the check
            # question, "Dank je ... Ik bewaar wat je schreef.", or a paused reflection.)
            dispatcher.utter_message(response="utter_kwijt_dank")
        return {**found, **_new_key(tracker)}


# --- small steps ------------------------------------------------------------------------------


class ValidateStapjeForm(FormValidationAction):
    """An optional small step in the client's own words."""

    def name(self) -> str:
        return "validate_stapje_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("stapje_willen") is False:
            return ["stapje_willen"]
        return list(domain_slots)

    def validate_stapje_willen(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"stapje_willen": None}
        if isinstance(value, bool):
            # Given before a pause and validated then (a resumed form validates it again):
            # not to be read from the message that resumed it ("nee" to a check question).
            return {"stapje_willen": value}
        if _intent(tracker) == "klacht":
            dispatcher.utter_message(response="utter_klacht")
            return {"stapje_willen": None}
        answer = parse_yes_no(str(value), _intent(tracker))
        if answer is None:
            # "Morgen mijn zus bellen" answers the invitation with the step itself.
            text = free_text_answer(value, tracker, dispatcher)
            if text is not None and len(text.split()) >= 3 and not is_weak(text):
                dispatcher.utter_message(response="utter_stapje_mooi")
                return {"stapje_willen": True, "stapje": text}
            if text is not None:
                dispatcher.utter_message(response="utter_stapje_ongeldig")
            return {"stapje_willen": None}
        return {"stapje_willen": answer}

    def validate_stapje(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {"stapje": None}
        explanation = render_response(
            domain, step_response(tracker, "utter_uitleg_stapje"), language_level(tracker)
        )
        found = answer_or_follow_up("stapje", text, tracker, dispatcher, explanation)
        step = found.get("stapje")
        if step and (step == DONT_KNOW_TEXT or is_weak(step)):
            # "Weet ik niet" after the follow-up is no step: nothing to ask about next time
            # ("Vorige keer koos je: weet ik niet"); the form ends as after "Nee, nu niet".
            dispatcher.utter_message(response="utter_stapje_later")
            return {"stapje": None, "stapje_willen": False, FOLLOW_UP_SLOT: None}
        if step and not given_earlier(step, tracker):  # not again when "verder" resumes
            dispatcher.utter_message(response="utter_stapje_mooi")
        return found


_PARTLY = re.compile(r"\b(beetje|deels|half|soms|bijna|gedeeltelijk|een keer|1 keer)\b")


class ValidateStapcheckForm(FormValidationAction):
    """How last time's small step went: gelukt, een beetje, niet gelukt."""

    def name(self) -> str:
        return "validate_stapcheck_form"

    def validate_stap_resultaat(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"stap_resultaat": None}
        text = str(value).lower()
        if _PARTLY.search(text):
            return {"stap_resultaat": STEP_PARTLY}
        answer = parse_yes_no(text, _intent(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_stap_resultaat_ongeldig")
            return {"stap_resultaat": None}
        return {"stap_resultaat": STEP_DONE if answer else STEP_NOT_DONE}


# --- correction and consent -------------------------------------------------------------------


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

    def validate_aanpassen_veld(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None or _intent(tracker) in INTERRUPTIONS:
            return {"aanpassen_veld": None}
        choices = reflection.fields(tracker, domain)
        if value in {field.slot for field in choices}:
            # Chosen before a pause and validated then (a resumed form validates it again).
            return {"aanpassen_veld": value}
        slot = parse_field(str(value), choices)
        if slot is None:
            dispatcher.utter_message(response="utter_aanpassen_ongeldig")
        return {"aanpassen_veld": slot}

    def validate_nieuw_antwoord(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        field = tracker.get_slot("aanpassen_veld")
        if field == "thema_schaal":
            if value is None or _intent(tracker) in INTERRUPTIONS:
                return {"nieuw_antwoord": None}
            score = theme_scale(value, tracker)
            if score is None:
                dispatcher.utter_message(response="utter_schaal_ongeldig")
                return {"nieuw_antwoord": None}
            not_safe(score, dispatcher, tracker, domain)  # a correction to "Niet veilig" too
            return {"nieuw_antwoord": str(score)}
        text = free_text_answer(value, tracker, dispatcher)
        if text is None:
            return {"nieuw_antwoord": None}
        level = language_level(tracker)
        prompt = reflection.question_for(tracker, field) if field in ANSWER_SLOTS else None
        if prompt is not None:
            explanation, open_question = _prompt_explanation(prompt, level), prompt.open
        else:
            explanation = render_response(domain, "utter_ask_nieuw_antwoord", level)
            open_question = True
        return answer_or_follow_up(
            "nieuw_antwoord", text, tracker, dispatcher, explanation, open_question
        )


class ValidateToestemmingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_toestemming_form"

    def validate_delen(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        if value is None:
            return {"delen": None}
        answer = parse_yes_no(str(value), _intent(tracker))
        if answer is None:
            dispatcher.utter_message(response="utter_delen_ongeldig")
            return {"delen": None}
        return {"delen": answer}


# --- asking -----------------------------------------------------------------------------------


def _since_last_user(tracker: Tracker) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        found.append(event)
    return found


def just_explained(tracker: Tracker) -> bool:
    """True when `action_uitleg` ran since the last user message (the form itself aside)."""
    form = (tracker.active_loop or {}).get("name")
    for event in _since_last_user(tracker):
        if event.get("event") == "action" and event.get("name") not in (form, None):
            return event.get("name") == "action_uitleg"
    return False


def just_followed_up(tracker: Tracker, slot: str) -> bool:
    """True when the weak-answer follow-up for `slot` was given since the last user message:
    it asks the question in other words, so the question is not repeated."""
    return any(
        event.get("event") == "slot"
        and event.get("name") == FOLLOW_UP_SLOT
        and event.get("value") == slot
        for event in _since_last_user(tracker)
    )


class AskAction(Action, ABC):
    """Ask a form's next question, unless it was just asked in other words ("ik snap het
    niet", or the follow-up of a weak answer). Forms call `action_ask_<slot>`."""

    slot = ""

    @abstractmethod
    def name(self) -> str:
        """action_ask_<slot>"""

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        if not just_explained(tracker) and not just_followed_up(tracker, self.slot):
            self.ask(dispatcher, tracker, domain)
        return []

    @abstractmethod
    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        """Send the question."""


class ResponseAsk(AskAction, ABC):
    """The question is the domain's `utter_ask_<slot>` response."""

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        dispatcher.utter_message(response=step_response(tracker, f"utter_ask_{self.slot}"))


class AskStemming(ResponseAsk):
    slot = "stemming"

    def name(self) -> str:
        return "action_ask_stemming"


class AskStapResultaat(ResponseAsk):
    slot = "stap_resultaat"

    def name(self) -> str:
        return "action_ask_stap_resultaat"


class AskThemaGroep(ResponseAsk):
    """The menu's first step: Over mezelf / Over anderen / Iets vertellen / Kies jij maar."""

    slot = "thema_groep"

    def name(self) -> str:
        return "action_ask_thema_groep"


class AskThemaKeuze(AskAction):
    """The menu's second step: the themes of the chosen group (themes.yml), numbered, at
    most four choices on a screen."""

    slot = "thema_keuze"

    def name(self) -> str:
        return "action_ask_thema_keuze"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        level = language_level(tracker)
        group = tracker.get_slot("thema_groep")
        every = content.themes_in_group(group)
        shown, more = content.menu_screen(group, _page(tracker))
        buttons = [
            {
                "title": f"{every.index(theme) + 1} {content.icon(theme)} "
                f"{content.label(theme, level)}".replace("  ", " "),
                "payload": f'/kies_thema{{"thema": "{theme}"}}',
            }
            for theme in shown
        ]
        if more:
            buttons.append(
                {
                    "title": render_response(domain, "utter_menu_meer", level),
                    "payload": f'/kies_thema{{"groep": "{content.MORE}"}}',
                }
            )
        dispatcher.utter_message(
            text=render_response(domain, "utter_ask_thema_keuze", level), buttons=buttons
        )


class AskPlanKleur(ResponseAsk):
    slot = "plan_kleur"

    def name(self) -> str:
        return "action_ask_plan_kleur"


class AskAntwoord(AskAction, ABC):
    """A prompt from the theme's bank, in the client's language level."""

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        prompt = reflection.question_for(tracker, self.slot)
        if prompt is None:  # no prompts chosen (should not happen): ask something open
            dispatcher.utter_message(response="utter_ask_nieuw_antwoord")
        else:
            dispatcher.utter_message(text=prompt.text(language_level(tracker)))


class AskAntwoord1(AskAntwoord):
    slot = "antwoord_1"

    def name(self) -> str:
        return "action_ask_antwoord_1"


class AskAntwoord2(AskAntwoord):
    slot = "antwoord_2"

    def name(self) -> str:
        return "action_ask_antwoord_2"


def scale_buttons(theme: str, level: str) -> list[dict[str, str]] | None:
    """1-5 buttons with this theme's words for 1 and 5 (themes.yml), or None without them."""
    words = content.scale_words(theme, level)
    if words is None:
        return None
    low, high = words
    names = {1: low, 5: high}
    return [
        {
            "title": f"{n} {'●' * n}{'○' * (5 - n)}" + (f" {names[n]}" if n in names else ""),
            "payload": str(n),
        }
        for n in range(1, 6)
    ]


def ask_scale(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
    theme = reflection.current_theme(tracker) or content.theme_keys()[0]
    level = language_level(tracker)
    question = content.scale_question(theme, level)
    buttons = scale_buttons(theme, level)
    if buttons is None:
        dispatcher.utter_message(response="utter_ask_thema_schaal", vraag=question)
    else:
        text = render_response(domain, "utter_ask_thema_schaal", level, vraag=question)
        dispatcher.utter_message(text=text, buttons=buttons)


class AskThemaSchaal(AskAction):
    slot = "thema_schaal"

    def name(self) -> str:
        return "action_ask_thema_schaal"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        ask_scale(dispatcher, tracker, domain)


class AskKwijtTekst(AskAction):
    slot = "kwijt_tekst"

    def name(self) -> str:
        return "action_ask_kwijt_tekst"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        dispatcher.utter_message(text=content.vent_question(language_level(tracker)))


class AskStapjeWillen(ResponseAsk):
    slot = "stapje_willen"

    def name(self) -> str:
        return "action_ask_stapje_willen"


class AskStapje(ResponseAsk):
    slot = "stapje"

    def name(self) -> str:
        return "action_ask_stapje"


class AskAanpassenVeld(AskAction):
    """Which line of the read-back to change: one numbered button per line, with the
    prompt's short label (themes.yml `kort`, else the question cut at a word)."""

    slot = "aanpassen_veld"

    def name(self) -> str:
        return "action_ask_aanpassen_veld"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        level = language_level(tracker)
        buttons = [
            {"title": f"{number} {field.label}", "payload": str(number)}
            for number, field in enumerate(reflection.fields(tracker, domain), start=1)
        ]
        dispatcher.utter_message(
            text=render_response(domain, "utter_ask_aanpassen_veld", level), buttons=buttons
        )


class AskNieuwAntwoord(AskAction):
    slot = "nieuw_antwoord"

    def name(self) -> str:
        return "action_ask_nieuw_antwoord"

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
        if tracker.get_slot("aanpassen_veld") == "thema_schaal":
            ask_scale(dispatcher, tracker, domain)
        else:
            dispatcher.utter_message(response="utter_ask_nieuw_antwoord")


class AskDelen(ResponseAsk):
    slot = "delen"

    def name(self) -> str:
        return "action_ask_delen"


class ActionUitleg(Action):
    """'Ik snap het niet' / 'geef een voorbeeld': the open question in other words with an
    example answer, never a plain repeat."""

    def name(self) -> str:
        return "action_uitleg"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        slot = tracker.get_slot("requested_slot")
        level = language_level(tracker)
        prompt = reflection.question_for(tracker, slot) if slot else None
        form = (tracker.active_loop or {}).get("name")
        if prompt is not None:
            dispatcher.utter_message(
                response="utter_uitleg_antwoord",
                vraag=prompt.explained(level),
                voorbeeld=prompt.voorbeeld,
            )
        elif slot == "kwijt_tekst":
            dispatcher.utter_message(
                response="utter_uitleg_antwoord",
                vraag=content.vent_explained(level),
                voorbeeld=content.vent_example(),
            )
        elif slot == "vraag_antwoord":
            # The worker's question (issue 14): its simple wording, and the way to skip it.
            dispatcher.utter_message(
                response="utter_uitleg_vraag_antwoord", vraag=tracker.get_slot("vraag_uitleg")
            )
        elif slot == "thema_keuze" and form == MENU_FORM:
            dispatcher.utter_message(response="utter_uitleg_thema_keuze")
            AskThemaKeuze().ask(dispatcher, tracker, domain)
        elif slot == "thema_schaal" or (
            slot == "nieuw_antwoord" and tracker.get_slot("aanpassen_veld") == "thema_schaal"
        ):
            theme = reflection.current_theme(tracker)
            buttons = scale_buttons(theme, level) if theme else None
            if buttons is None:
                dispatcher.utter_message(response="utter_uitleg_thema_schaal")
            else:
                text = render_response(domain, "utter_uitleg_thema_schaal", level)
                dispatcher.utter_message(text=text, buttons=buttons)
        elif slot and f"utter_uitleg_{slot}" in (domain.get("responses") or {}):
            dispatcher.utter_message(response=step_response(tracker, f"utter_uitleg_{slot}"))
        else:
            dispatcher.utter_message(response="utter_niet_begrepen")
        # The explanation counts as this question's one follow-up: a weak answer after it is
        # stored as it was said, so "ik snap het niet" never keeps a check-in going round.
        return [SlotSet(FOLLOW_UP_SLOT, slot)] if slot in FOLLOW_UP_SLOTS else []
