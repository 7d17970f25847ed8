"""Custom actions: welcome and disclosure, the check-in and what comes next (last time's small
step, a paused theme, the menu), starting and resuming a theme with rotating prompts, read-back
and correction, saving reflections and steps, pausing, the safety plan and the crisis help.

The client is always identified by `tracker.sender_id` (set by the server that talks to
Rasa), never by anything the client typed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from actions import durable, reflection, shown
from actions.between import (
    AGREEMENT_STAGE,
    QUESTION_STAGE,
    STAGES,
    STEP_STAGE,
    agreement_stage,
    question_stage,
)
from actions.common import (
    LANGUAGE_INTENTS,
    LANGUAGE_SLOT,
    REFLECTION_STATE_SLOTS,
    db_session,
    language_level,
    latest_intent,
    latest_user_event,
    render_response,
    response_buttons,
    response_custom,
)
from actions.forms import kept_after_check
from actions.safety import (
    crisis_help,
    load_plan,
    read_check_answer,
    record_check_answer,
    record_event,
    red_phase,
    safety_decision,
    show_crisis_help,
    show_phase,
)
from bot import content
from bot.rulegen import READBACK_ANSWERED, TAAL_BEWAREN, answered_with
from bot.safety.decision import CRISIS, Context, Decision, Evidence, decide
from bot.storage import repository as repo
from bot.vocabulary import (
    CHECK_UNCLEAR,
    DEFAULT_LANGUAGE_LEVEL,
    KEPT_AFTER_CHECK,
    LANGUAGE_LEVELS,
    NOT_KEPT_CORRECTIONS,
    OUTCOME_CHECK,
    PLAN_FORM,
    REFLECTION_FORMS,
    SAFETY_CATEGORIES,
    STATUS_COMPLETE,
    STATUS_INTERRUPTED,
    STEP_FORM,
    STEP_OUTCOMES,
    THEME_GROUPS,
    UNKNOWN_CATEGORY,
    VENT_FORM,
    current_form_name,
)

logger = logging.getLogger(__name__)

# Slots that describe the current session only and are not carried into a new one.
# The check question's state (`crisis_controle`) and the form to resume after "nee"
# (`controle_hervat`) belong to the session too: a new session never continues a check.
CHECK_SLOT = "crisis_controle"
RESUME_SLOT = "controle_hervat"
SESSION_ONLY_SLOTS = frozenset(
    {"requested_slot", "crisis_getoond", "disclosure_net_getoond", CHECK_SLOT, RESUME_SLOT}
)
# Being threatened or abused: ask whether the client is in danger, not whether they will
# hurt someone.
CHECK_RESPONSES = {
    "threatened": "utter_crisis_controle_gevaar",
    "abuse": "utter_crisis_controle_gevaar",
}
CRISIS_CATEGORIES = SAFETY_CATEGORIES


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
        level = tracker.get_slot(LANGUAGE_SLOT) if carry_over else None
        first_contact = None
        try:
            with db_session() as session:
                # The stored level is the client's: set by the worker or admin who added the
                # client, changed on the dashboard, or chosen by the client in the chat
                # (action_taal_bewaren stores a switch at once). The conversation's slot only
                # follows it; it starts at the domain's initial value for a new client.
                # Only a switch that was never stored (an older conversation) is written
                # first: the client chose it after the level was last stored.
                # It carries the switch's own time: a level the worker set after it stays.
                switch = unstored_switch(tracker.events)
                client = repo.get_or_create_client(session, tracker.sender_id)
                if isinstance(level, str) and level in LANGUAGE_LEVELS and switch is not None:
                    repo.set_language_level(client, level, _event_time(switch))
                level = client.language_level
                first_contact = durable.claim_disclosure(tracker.sender_id, session, client)
        except SQLAlchemyError:
            logger.exception("could not read the client at session start")
        if first_contact is None:
            # Shown when the database says it never was, and also when it cannot say.
            first_contact = durable.claim_disclosure(tracker.sender_id)
        # Without the database: the conversation's own level, or the default.
        level = level if level in LANGUAGE_LEVELS else DEFAULT_LANGUAGE_LEVEL
        events.append(SlotSet(LANGUAGE_SLOT, level))
        if first_contact:
            text = render_response(domain, "utter_disclosure", level)
            # The rest of the disclosure: behind "Meer weten?" in the web chat.
            more = response_custom(domain, "utter_disclosure", level).get("meer_weten")
            dispatcher.utter_message(text=text, json_message={"meer_weten": more} if more else None)
            events.append(SlotSet("disclosure_net_getoond", True))
        events.append(ActionExecuted("action_listen"))
        return events


# The actions that store a switch of language level made in their turn.
STORING_ACTIONS = frozenset(
    {"action_taal_bewaren", "action_crisis_controle_antwoord", "action_readback"}
)


def store_language_level(tracker: Tracker) -> None:
    """Store the conversation's language level for the client, or keep it in the outbox
    when the database refuses it (one entry per client: the newest switch wins)."""
    level = language_level(tracker)
    try:
        with db_session() as session:
            repo.get_or_create_client(session, tracker.sender_id, language_level=level)
    except SQLAlchemyError:
        logger.exception("could not store the language level; kept in the outbox")
        data = {"chat_id": tracker.sender_id, "level": level}
        durable.keep("language_level", tracker.sender_id, data)


def unstored_switch(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The user event of the conversation's last switch of language level when its turn
    ended without an action that stores it (a conversation saved before
    `action_taal_bewaren` existed), else None."""
    switch: dict[str, Any] | None = None
    unstored = awaiting = False
    for event in events:
        kind = event.get("event")
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent in LANGUAGE_INTENTS:
                switch, unstored, awaiting = event, False, True  # a newer switch: only it counts
            elif awaiting:
                unstored, awaiting = True, False  # its turn ended without storing it
        elif kind == "action" and awaiting and event.get("name") in STORING_ACTIONS:
            awaiting = False
    return switch if unstored or awaiting else None


def _event_time(event: dict[str, Any]) -> datetime | None:
    """A tracker event's time (Rasa's epoch seconds), or None when it has none."""
    stamp = event.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return None
    return datetime.fromtimestamp(stamp, tz=timezone.utc)


class ActionTaalBewaren(Action):
    """Store the client's own switch of language level ("makkelijker graag") at once, after
    the switch's reply. The stored level is what the rest of Koers reads outside this
    conversation: the next session, reminders, the pages between sessions and the crisis help
    for a message too long for Rasa. A refused write waits in the outbox. Says nothing."""

    def name(self) -> str:
        return "action_taal_bewaren"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        store_language_level(tracker)
        return []


class ActionWelkom(Action):
    """Greet (short when the disclosure was just shown) and start a fresh check-in."""

    def name(self) -> str:
        return "action_welkom"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        # Right after action_session_start (same turn) the client was just read and seen
        # now: no second database round trip. The level is not written here: the stored one
        # may be newer than this conversation's (a worker changed it on the dashboard).
        if not durable.session_started_this_turn(tracker):
            try:
                with db_session() as session:
                    repo.get_or_create_client(session, tracker.sender_id)
            except SQLAlchemyError:
                logger.exception("could not update the client on greeting")
        if not tracker.get_slot("disclosure_net_getoond"):
            dispatcher.utter_message(response="utter_groet")
        # A fresh check-in: the menu starts at its first step.
        return [
            SlotSet("disclosure_net_getoond", False),
            SlotSet("stemming", None),
            *[SlotSet(slot, None) for slot in MENU_SLOTS],
        ]


def next_step(tracker: Tracker, dispatcher: CollectingDispatcher, after: str) -> list[EventType]:
    """What comes after the mood, from the stage after `after` on (actions.between.STAGES):
    the worker's question, the client's due tasks (with the worker's promises shown first),
    last time's small step, a paused theme or the menu. Sets `vervolg` for the rules."""
    level = language_level(tracker)
    todo = STAGES[STAGES.index(after) + 1 :] if after in STAGES else STAGES
    try:
        with db_session() as session:
            if QUESTION_STAGE in todo:
                found = question_stage(session, tracker)
                if found:
                    return found
            if AGREEMENT_STAGE in todo:
                found = agreement_stage(session, tracker, dispatcher)
                if found:
                    return found
    except (SQLAlchemyError, ValueError):
        # Never a dead end: without the question or the tasks the check-in goes on.
        logger.exception("could not read the worker's question or the client's tasks")
    try:
        with db_session() as session:
            steps = [] if STEP_STAGE not in todo else repo.open_steps(session, tracker.sender_id)
            if steps:
                step = steps[0]
                return [
                    SlotSet("vervolg", "stapje"),
                    SlotSet("open_stap", step.text),
                    SlotSet("open_stap_id", float(step.id)),
                ]
            draft = repo.latest_open_reflection(session, tracker.sender_id)
            if draft is not None and draft.theme in content.menu_keys():
                label = content.label(draft.theme, level)
                dispatcher.utter_message(response="utter_hervat_aanbod", thema_label=label)
                return [SlotSet("vervolg", "hervatten"), SlotSet("thema_label", label)]
    except SQLAlchemyError:
        logger.exception("could not read open steps or drafts")
    return [SlotSet("vervolg", "menu")]


class ActionCheckinOpslaan(Action):
    """Save the mood, answer it warmly, then decide what comes next."""

    def name(self) -> str:
        return "action_checkin_opslaan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        try:
            mood = int(tracker.get_slot("stemming"))
        except (TypeError, ValueError):
            dispatcher.utter_message(response="utter_stemming_ongeldig")
            return [SlotSet("vervolg", "menu")]
        key = durable.checkin_key(tracker)  # the same when the client resends the mood
        try:
            with db_session() as session:
                repo.save_checkin(session, tracker.sender_id, mood, key)
        except SQLAlchemyError:
            logger.exception("could not save a check-in")
            # Kept on the server and stored when the database is back; only when even
            # that fails is the client told.
            if not durable.keep("checkin", key, {"chat_id": tracker.sender_id, "mood": mood}):
                dispatcher.utter_message(response="utter_checkin_niet_bewaard")
        if mood <= 2:
            dispatcher.utter_message(response="utter_stemming_laag")
        elif mood == 3:
            dispatcher.utter_message(response="utter_stemming_midden")
        else:
            dispatcher.utter_message(response="utter_stemming_hoog")
        return next_step(tracker, dispatcher, after="stemming")


class ActionStapBijwerken(Action):
    """Record how last time's step went; celebrate, or answer a miss kindly."""

    def name(self) -> str:
        return "action_stap_bijwerken"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        result = tracker.get_slot("stap_resultaat")
        step_id = tracker.get_slot("open_stap_id")
        status = result if result in STEP_OUTCOMES else None
        if status and step_id is not None:
            try:
                with db_session() as session:
                    repo.resolve_step(session, tracker.sender_id, int(step_id), status)
            except SQLAlchemyError:
                logger.exception("could not update a small step")
                durable.keep(
                    "step_result",
                    f"{tracker.sender_id}:{int(step_id)}",
                    {"chat_id": tracker.sender_id, "step_id": int(step_id), "status": status},
                )
            except ValueError:
                logger.exception("could not update a small step")
        response = {"gelukt": "utter_stap_gelukt", "beetje": "utter_stap_beetje"}.get(
            result, "utter_stap_niet_gelukt"
        )
        dispatcher.utter_message(response=response)
        events: list[EventType] = [
            SlotSet("stap_resultaat", None),
            SlotSet("open_stap", None),
            SlotSet("open_stap_id", None),
        ]
        return events + next_step(tracker, dispatcher, after=STEP_STAGE)


MENU_SLOTS = ("thema_groep", "thema_keuze", "menu_pagina")


def _reset_reflection() -> list[EventType]:
    return [SlotSet(slot, None) for slot in REFLECTION_STATE_SLOTS] + [SlotSet("plan_vraag", False)]


def _start(theme: str | None) -> str:
    """`vervolg` after choosing or resuming: the theme form, venting, or the menu."""
    return "menu" if theme is None else "kwijt" if theme == content.VENT else "thema"


def _has_plan(chat_id: str) -> bool:
    return load_plan(chat_id) is not None


def _prompt_history(chat_id: str, theme: str) -> list[list[str]]:
    try:
        with db_session() as session:
            return [
                [a.question_key for a in r.answers]
                for r in repo.theme_history(session, chat_id, theme)
            ]
    except SQLAlchemyError:
        logger.exception("could not read the prompt history")
        return []


class ActionThemaStart(Action):
    """Start a theme chosen in the menu, by name, by "kies jij maar", or to vent.

    Picks this check-in's prompts (never the same prompt twice in a row for a theme) and
    sets `thema`; without a clear theme `thema` is emptied and the rules show the menu.
    """

    def name(self) -> str:
        return "action_thema_start"

    def _chosen(self, tracker: Tracker, dispatcher: CollectingDispatcher) -> str | None:
        choice = tracker.get_slot("thema_keuze")
        if choice in content.menu_keys():
            return choice
        intent = latest_intent(tracker)
        if intent == "kwijt":
            return content.VENT
        if intent == "kies_thema":
            for entity in tracker.latest_message.get("entities") or []:
                if entity.get("entity") == "thema" and entity.get("value") in content.menu_keys():
                    return entity["value"]
            return content.parse_theme_choice(tracker.latest_message.get("text"))
        if intent == "kies_jij_maar":
            theme = reflection.least_recent_theme(tracker.sender_id)
            dispatcher.utter_message(
                response="utter_thema_voor_jou",
                thema_label=content.label(theme, language_level(tracker)),
            )
            return theme
        return None

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        theme = self._chosen(tracker, dispatcher)
        if theme not in content.menu_keys():
            # No clear theme: the menu, at the group a button named ("Over anderen").
            chosen_group = next(
                (
                    e.get("value")
                    for e in tracker.latest_message.get("entities") or []
                    if e.get("entity") == "groep" and e.get("value") in THEME_GROUPS
                ),
                None,
            )
            return [
                *_reset_reflection(),
                SlotSet("thema", None),
                SlotSet("thema_groep", chosen_group),
                SlotSet("vervolg", _start(None)),
            ]
        level = language_level(tracker)
        label = content.label(theme, level)
        events = [
            *_reset_reflection(),
            SlotSet("thema", theme),
            SlotSet("thema_label", label),
            SlotSet("reflectie_sleutel", uuid.uuid4().hex),
            SlotSet("vervolg", _start(theme)),
        ]
        if theme == content.VENT:
            return events
        dispatcher.utter_message(response="utter_thema_start", thema_label=label)
        prompts = content.choose_prompts(theme, _prompt_history(tracker.sender_id, theme))
        events.append(SlotSet("vragen", prompts))
        return events + _safety_theme_start(theme, tracker, dispatcher, say_no_plan=True)


def _safety_theme_start(
    theme: str, tracker: Tracker, dispatcher: CollectingDispatcher, say_no_plan: bool
) -> list[EventType]:
    """The safety theme asks the colour of the client's plan first, when there is one."""
    if theme != content.SAFETY_THEME:
        return []
    has_plan = _has_plan(tracker.sender_id)
    if not has_plan and say_no_plan:
        dispatcher.utter_message(response="utter_geen_plan")
    return [SlotSet("plan_aanwezig", has_plan), SlotSet("plan_vraag", has_plan)]


class ActionHervatThema(Action):
    """Continue the paused reflection from the database (offered at the next check-in)."""

    def name(self) -> str:
        return "action_hervat_thema"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        try:
            with db_session() as session:
                draft = repo.latest_open_reflection(session, tracker.sender_id)
                found = (
                    None
                    if draft is None
                    else (
                        draft.theme,
                        draft.idempotency_key,
                        draft.scale,
                        [(a.question_key, a.answer_text) for a in draft.answers],
                    )
                )
        except SQLAlchemyError:
            logger.exception("could not read a paused reflection")
            found = None
        if found is None or found[0] not in content.menu_keys():
            return [*_reset_reflection(), SlotSet("thema", None), SlotSet("vervolg", _start(None))]
        theme, key, scale, given = found
        events: list[EventType] = [
            *_reset_reflection(),
            SlotSet("thema", theme),
            SlotSet("reflectie_sleutel", key),
            SlotSet("thema_label", content.label(theme, language_level(tracker))),
            SlotSet("vervolg", _start(theme)),
        ]
        dispatcher.utter_message(response="utter_verder")
        if theme == content.VENT:
            text = next((t for k, t in given if k == "kwijt"), None)
            return events + [SlotSet("kwijt_tekst", text)]
        known = [k for k, _ in given if content.prompt(theme, k)]
        keys = known[:2]
        same = tracker.get_slot("reflectie_sleutel") == key and tracker.get_slot("thema") == theme
        if same and tracker.get_slot("vragen"):
            # The conversation still knows which prompts were chosen: ask the same ones.
            keys = [str(k) for k in tracker.get_slot("vragen")][:2]
        if len(keys) < 2:
            history = _prompt_history(tracker.sender_id, theme)[1:]
            extra = [k for k in content.choose_prompts(theme, history, count=4) if k not in keys]
            keys += extra[: 2 - len(keys)]
        answers = dict(given)
        events.append(SlotSet("vragen", keys))
        for slot, k in zip(("antwoord_1", "antwoord_2"), keys, strict=False):
            events.append(SlotSet(slot, answers.get(k)))
        events.append(SlotSet("thema_schaal", str(scale) if scale else None))
        return events + _safety_theme_start(theme, tracker, dispatcher, say_no_plan=False)


class ActionReadback(Action):
    """Read back what will be saved, and ask whether it is right."""

    def name(self) -> str:
        return "action_readback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        # Asked again when the client's message answered the read-back itself with neither
        # yes nor no (data/rules/reflectie.yml): say so, and keep the reflection.
        again = _previous_action(tracker) == self.name()
        if again:
            # Help, privacy, a complaint, a greeting or "makkelijker": answered as inside a
            # form (bot.rulegen.ANSWERED), then the read-back in the level now chosen.
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            for name in answered_with(intent) if intent in READBACK_ANSWERED else ():
                if name == TAAL_BEWAREN:
                    store_language_level(tracker)
                else:
                    dispatcher.utter_message(response=name)
        dispatcher.utter_message(
            response="utter_readback_opnieuw" if again else "utter_readback",
            regels=reflection.readback_lines(tracker, domain),
        )
        return []


def _previous_action(tracker: Tracker) -> str | None:
    """The last action Koers ran before the client's latest message (not action_listen)."""
    seen_user = False
    for event in reversed(tracker.applied_events()):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action":
            name = event.get("name")
            if name != "action_listen":
                return name
    return None


class ActionReflectieOpslaan(Action):
    """Save the completed reflection (and its small step) with the client's consent choice.
    Idempotent; then offer one more theme."""

    def name(self) -> str:
        return "action_reflectie_opslaan"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        shared = tracker.get_slot("delen") is True
        saved = reflection.store(tracker, STATUS_COMPLETE, shared)
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
        dispatcher.utter_message(response="utter_nog_een")
        return _reset_reflection()


class ActionCorrectie(Action):
    """Put the client's new answer in place of the one they wanted to change."""

    def name(self) -> str:
        return "action_correctie"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        slot = tracker.get_slot("aanpassen_veld")
        new = tracker.get_slot("nieuw_antwoord")
        events: list[EventType] = [SlotSet("aanpassen_veld", None), SlotSet("nieuw_antwoord", None)]
        if slot in {f.slot for f in reflection.fields(tracker, domain)} and new:
            dispatcher.utter_message(response="utter_aanpassen_ok")
            events.append(SlotSet(slot, new))
        return events


def _active_form(tracker: Tracker) -> str | None:
    return (tracker.active_loop or {}).get("name")


def paused_form_after(tracker: Tracker, form: str | None, always: bool) -> str | None:
    """Which form "verder" resumes after an interruption of `form`.

    Reflection forms are always resumable; after a crisis or the safety plan (`always`) any
    form is. The safety-plan form itself keeps what was paused before it. With no form active
    at the read-back's "Klopt dat?", the reflection's finished form is.
    """
    if form is None and (read_back := _read_back_form(tracker)):
        return read_back
    if form is None or form == PLAN_FORM:
        return current_form_name(tracker.get_slot("onderbroken_form"))
    return form if always or form in REFLECTION_FORMS else None


def _read_back_form(tracker: Tracker) -> str | None:
    """At the read-back's "Klopt dat?" no form is active, but the reflection is open: the
    finished form whose "verder" (it completes at once) reads the answers back again."""
    if _previous_action(tracker) != "action_readback":
        return None
    return VENT_FORM if reflection.current_theme(tracker) == content.VENT else STEP_FORM


def _interrupt(tracker: Tracker) -> tuple[str | None, list[EventType]]:
    """Stop the active form (resumable with "verder"); keep a reflection's answers as a
    private draft, also at the read-back. Returns the form that was stopped and the events."""
    form = _active_form(tracker)
    paused = paused_form_after(tracker, form, always=True)
    if paused in REFLECTION_FORMS and reflection.answers(tracker):
        reflection.store(tracker, STATUS_INTERRUPTED, shared=False)
    events: list[EventType] = [ActiveLoop(None)] if form else []
    events += [SlotSet("requested_slot", None), SlotSet("onderbroken_form", paused)]
    return form, events


class ActionPauzeren(Action):
    """Stop or pause: save answers given so far as 'onderbroken' (never as complete)."""

    def name(self) -> str:
        return "action_pauzeren"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        active = _active_form(tracker)
        # Stopped at the read-back's "Klopt dat?": kept as a private draft too.
        form = active or paused_form_after(tracker, None, always=False)
        saved = (
            form in REFLECTION_FORMS
            and bool(reflection.answers(tracker))
            and bool(reflection.store(tracker, STATUS_INTERRUPTED, shared=False))
        )
        dispatcher.utter_message(response="utter_gepauzeerd" if saved else "utter_gestopt")
        # The crisis help once more at the first stop after a crisis, not at every stop.
        if tracker.get_slot("crisis_getoond") and not shown.reminded_since_last_crisis(
            tracker.events, "utter_crisis_herinnering"
        ):
            dispatcher.utter_message(response="utter_crisis_herinnering")
        keep = (
            paused_form_after(tracker, active, always=False)
            if active
            else (form if saved else None)
        )
        events: list[EventType] = [ActiveLoop(None)] if active else []
        events += [SlotSet("requested_slot", None), SlotSet("onderbroken_form", keep)]
        return events


def offer_way_on(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> None:
    """What the client can do now, as buttons; first "verder" when questions were paused."""
    if not tracker.get_slot("onderbroken_form"):
        dispatcher.utter_message(response="utter_wat_nu")
        return
    level = language_level(tracker)
    buttons = [
        {"title": render_response(domain, "utter_knop_verder", level), "payload": "/hervatten"}
    ]
    dispatcher.utter_message(
        text=render_response(domain, "utter_wat_nu", level),
        buttons=buttons + response_buttons(domain, "utter_wat_nu", level),
    )


class ActionWatNu(Action):
    """A way on after anything that is not a question: never a dead end."""

    def name(self) -> str:
        return "action_wat_nu"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        offer_way_on(dispatcher, tracker, domain)
        return []


class ActionHervatten(Action):
    def name(self) -> str:
        return "action_hervatten"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        dispatcher.utter_message(response="utter_verder")
        return [SlotSet("onderbroken_form", None)]


class ActionPlanStart(Action):
    """ "Mijn plan": ask which colour fits now, or say kindly that there is no plan yet.
    Inside a reflection the reflection is paused first (resume with "verder")."""

    def name(self) -> str:
        return "action_plan_start"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        _, events = _interrupt(tracker)
        has_plan = _has_plan(tracker.sender_id)
        if not has_plan:
            # Never a dead end: back to the paused questions, or what the client can do now.
            dispatcher.utter_message(response="utter_geen_plan")
            paused = next((e["value"] for e in events if e.get("name") == "onderbroken_form"), None)
            dispatcher.utter_message(response="utter_plan_verder" if paused else "utter_wat_nu")
        return events + [SlotSet("plan_kleur", None), SlotSet("plan_aanwezig", has_plan)]


class ActionPlanTonen(Action):
    """After the colour was chosen (and shown by the validation): the way back."""

    def name(self) -> str:
        return "action_plan_tonen"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        colour = tracker.get_slot("plan_kleur")
        if colour == "rood":
            dispatcher.utter_message(response="utter_crisis_keuze")
        elif tracker.get_slot("onderbroken_form"):
            dispatcher.utter_message(response="utter_plan_verder")
        else:
            offer_way_on(dispatcher, tracker, domain)
        return [SlotSet("plan_kleur", None)] + (
            [SlotSet("crisis_getoond", True)] if colour == "rood" else []
        )


class ActionPlanRood(Action):
    """The client is in the red phase: their own red plan and the fixed crisis help,
    recorded for the worker. Like a crisis, it never drops the client."""

    def name(self) -> str:
        return "action_plan_rood"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        form, events = _interrupt(tracker)
        red_phase(dispatcher, tracker, domain, form)
        dispatcher.utter_message(response="utter_crisis_keuze")
        return events + [SlotSet("plan_kleur", None), SlotSet("crisis_getoond", True)]


class ActionCrisis(Action):
    """The fixed crisis help. Always shown first; then recorded for the worker."""

    def name(self) -> str:
        return "action_crisis"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        decision = safety_decision(tracker)
        category = decision.category if decision.category in CRISIS_CATEGORIES else UNKNOWN_CATEGORY
        detected_by = decision.detected_by or "classifier"
        form = _active_form(tracker)
        crisis_help(dispatcher, tracker, domain, category, detected_by, form, decision.reasons)
        dispatcher.utter_message(response="utter_crisis_keuze")
        # A form that was active can be resumed ("verder") or dropped afterwards; answers so
        # far are kept as a private draft. So is a reflection at its read-back.
        paused = paused_form_after(tracker, form, always=True)
        if (form or _read_back_form(tracker)) in REFLECTION_FORMS and reflection.answers(tracker):
            reflection.store(tracker, STATUS_INTERRUPTED, shared=False)
        events: list[EventType] = [ActiveLoop(None)] if form else []
        events += [
            SlotSet("requested_slot", None),
            SlotSet("onderbroken_form", paused),
            SlotSet("crisis_getoond", True),
            SlotSet(CHECK_SLOT, None),
        ]
        return events


class ActionCrisisControle(Action):
    """Unclear: a calm check question first ("Denk je erover jezelf of iemand anders iets
    aan te doen?"), with Ja / Nee / Weet ik niet. The active form is paused (its answers are
    kept as a private draft) and the check is recorded, so the worker sees it too."""

    def name(self) -> str:
        return "action_crisis_controle"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        decision = safety_decision(tracker)
        category = decision.category if decision.category in CRISIS_CATEGORIES else UNKNOWN_CATEGORY
        asked = tracker.get_slot("requested_slot")
        form, events = _interrupt(tracker)
        response = CHECK_RESPONSES.get(category, "utter_crisis_controle")
        dispatcher.utter_message(response=response)
        shown = render_response(domain, response, language_level(tracker))
        user = latest_user_event(tracker)
        key = record_event(
            tracker,
            category=category,
            detected_by=decision.detected_by or "classifier",
            shown=shown,
            context=form,
            outcome=OUTCOME_CHECK,
            reasons=decision.reasons,
        )
        state = {
            "sleutel": key,
            "categorie": category,
            "form": paused_form_after(tracker, form, always=True),
            "bericht_id": user.get("message_id"),
            "gevraagd": 1,
        }
        closed_correction = asked == "nieuw_antwoord" and (
            tracker.get_slot("aanpassen_veld") in NOT_KEPT_CORRECTIONS
        )
        if asked in KEPT_AFTER_CHECK.get(current_form_name(form) or "", ()) and not (
            closed_correction
        ):
            # The open question the message answered: kept as the answer after a "nee".
            state["vraag"] = asked
        return events + [SlotSet(CHECK_SLOT, state), SlotSet(RESUME_SLOT, None)]


def checked_answer(tracker: Tracker, state: dict[str, Any], paused: str | None) -> dict[str, str]:
    """After a "nee" to the check question: the message that raised it, as the answer to the
    open question it interrupted (`KEPT_AFTER_CHECK`), so the client need not type it again.
    Empty when the check came from elsewhere or the message is no longer in this session."""
    slot = state.get("vraag")
    if not paused or slot not in KEPT_AFTER_CHECK.get(paused, ()) or not state.get("bericht_id"):
        return {}
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("message_id") == state["bericht_id"]:
            text = kept_after_check(event)
            return {str(slot): text} if text else {}
    return {}


def _own_crisis(tracker: Tracker, intent: str | None) -> Decision | None:
    """The decision on the reply to a check question when that reply is a crisis message of
    its own, not an answer to the check ("ja", "ja soms", "weet ik niet, ik denk er wel
    aan"): a crisis intent, the red-plan button, or the crisis help for the reply read on its
    own, as a first message. Read in the conversation, right after a check, every worrying
    answer would count (the check makes the context worrying)."""
    if intent == "plan_rood":
        return Decision(CRISIS, UNKNOWN_CATEGORY, "client")
    info = tracker.latest_message.get("crisis") or {}
    own = decide(Evidence.from_dict(info.get("evidence")), Context())
    if intent in ("crisis", "crisis_check") or own.outcome == CRISIS:
        return safety_decision(tracker) if own.outcome != CRISIS else own
    return None


# Intents of a client who leaves: a reply like this to the check question gets the crisis help.
LEAVING_INTENTS = frozenset({"stoppen", "afscheid"})
# One typed reply to the check question as kept for the worker (the web chat's own limit).
MAX_CHECK_REPLY = 2_000


class ActionCrisisControleAntwoord(Action):
    """The answer to the check question. "Ja" or "weet ik niet": the fixed crisis help, like a
    crisis. "Nee": back to where the client was. When the check interrupted an open question,
    the message that raised it is kept as the answer and the form goes on; otherwise the
    question is asked again. Unclear: the check once more in other words; still unclear: the
    crisis help (safety first)."""

    def name(self) -> str:
        return "action_crisis_controle_antwoord"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict):
        state: dict[str, Any] = dict(tracker.get_slot(CHECK_SLOT) or {})
        intent = latest_intent(tracker)
        answer = read_check_answer(tracker)
        if intent in LANGUAGE_INTENTS:
            # "makkelijker graag" while the check is open: stored like any other switch, and
            # when nothing else was said the check once more in those words (the slot is
            # set), never taken as an unclear answer (the second time: the crisis help).
            store_language_level(tracker)
            if answer is None:
                dispatcher.utter_message(response="utter_crisis_controle_nogmaals")
                return [SlotSet(CHECK_SLOT, state), SlotSet(RESUME_SLOT, None)]
        if answer is None and intent in LEAVING_INTENTS:
            # "Stop" or "doei" instead of an answer: the client may be gone after this turn,
            # so the crisis help now (as "weet ik niet"), not the check once more without
            # the numbers (twenty-third pass of issue 15). Stored as no clear answer.
            answer = CHECK_UNCLEAR
        # What the client typed in reply (not a button), kept for the worker with the answer:
        # the words behind a "nee" or an unclear reply, both when asked once more.
        replies = [r for r in state.get("antwoorden") or [] if isinstance(r, str)]
        typed = (tracker.latest_message.get("text") or "").strip()
        if typed and not typed.startswith("/"):
            replies.append(typed[:MAX_CHECK_REPLY])
        reply = "\n".join(replies) or None
        if answer is None and int(state.get("gevraagd") or 1) < 2:
            dispatcher.utter_message(response="utter_crisis_controle_nogmaals")
            state["gevraagd"] = int(state.get("gevraagd") or 1) + 1
            state["antwoorden"] = replies
            return [SlotSet(CHECK_SLOT, state), SlotSet(RESUME_SLOT, None)]
        # Unclear twice: the crisis help (safety first); the worker reads "geen duidelijk
        # antwoord", not a "weet ik niet" the client never gave (twenty-fifth pass).
        answer = answer or CHECK_UNCLEAR
        key = state.get("sleutel")
        # A check asked before issue 10 may name a theme's own form: now `thema_form`.
        paused = current_form_name(state.get("form"))
        if answer == "nee":
            record_check_answer(tracker, key, "nee", None, reply)
            kept = checked_answer(tracker, state, paused)
            dispatcher.utter_message(
                response="utter_crisis_controle_nee_bewaard"
                if kept
                else "utter_crisis_controle_nee"
            )
            if paused:
                # The policy starts the paused form again. Its validation takes a kept answer
                # like any answer given before a pause, and the form asks its next question;
                # without one it asks the same question once more.
                return [
                    *(SlotSet(slot, text) for slot, text in kept.items()),
                    SlotSet(CHECK_SLOT, None),
                    SlotSet("onderbroken_form", None),
                    SlotSet(RESUME_SLOT, paused),
                ]
            offer_way_on(dispatcher, tracker, domain)
            return [SlotSet(CHECK_SLOT, None), SlotSet(RESUME_SLOT, None)]
        category = state.get("categorie") or UNKNOWN_CATEGORY
        if category not in CRISIS_CATEGORIES:
            category = UNKNOWN_CATEGORY
        if intent == "plan_rood":  # the red-plan button: the client's own red plan first
            dispatcher.utter_message(response="utter_plan_rood")
            show_phase(dispatcher, tracker, domain, "rood")
        own = _own_crisis(tracker, intent)
        if own is None:
            shown = show_crisis_help(dispatcher, tracker, domain, category)
        else:
            # The reply is a crisis message of its own ("ik heb net al mijn pillen geslikt"):
            # the help for what it says, and an event that holds it for the worker.
            if own.category in CRISIS_CATEGORIES and own.category != UNKNOWN_CATEGORY:
                category = own.category
            shown = show_crisis_help(dispatcher, tracker, domain, category)
            context = "signaleringsplan" if intent == "plan_rood" else paused
            record_event(
                tracker,
                category=category,
                detected_by=own.detected_by or "classifier",
                shown=shown,
                context=context,
                reasons=own.reasons,
            )
        record_check_answer(tracker, key, answer, shown, reply)
        dispatcher.utter_message(response="utter_crisis_keuze")
        return [
            SlotSet(CHECK_SLOT, None),
            SlotSet(RESUME_SLOT, None),
            SlotSet("onderbroken_form", paused),
            SlotSet("crisis_getoond", True),
        ]
