"""Helpers shared by the Koers actions: language level, parsing answers, database access."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Tracker

from bot.responses import render_response as render_response  # re-exported for the actions
from bot.responses import variant
from bot.safety.check_answer import plain_text as _plain  # lower case, no accents
from bot.storage.repository import stable_key as stable_key  # re-exported for the actions
from bot.vocabulary import LANGUAGE_SLOT, SIMPLE, STANDARD, VENT_QUESTION_KEY

logger = logging.getLogger(__name__)

STANDAARD = STANDARD
EENVOUDIG = SIMPLE
# A switch of language level ("makkelijker", "normaal"): the domain's mappings of the slot.
LANGUAGE_INTENTS = frozenset({"taal_eenvoudig", "taal_standaard"})

# Intents that interrupt a reflection form instead of answering it (the `&interruptions`
# list of the free-text slots in domain.yml; tests/unit/test_domain.py checks they agree).
# Out-of-scope and complaints are not in this list for free text: see
# actions.forms._off_topic_question.
INTERRUPTIONS = frozenset(
    {
        "crisis",
        "crisis_check",
        "plan_rood",
        "mijn_plan",
        "groet",
        "stoppen",
        "afscheid",
        "hulp_vraag",
        "snap_het_niet",
        *LANGUAGE_INTENTS,
        "privacy_vraag",
        # the client's reminders (issue 14): changed by actions/reminders.py, then the same
        # question again
        "herinnering_stop",
        "herinnering_pauze",
        "herinnering_aan",
        "herinnering_tijd",
    }
)

MAX_ANSWER_CHARS = 2000

# The theme form's slots: two prompts from the theme's bank and its scale.
ANSWER_SLOTS = ("antwoord_1", "antwoord_2")
SCALE_SLOT = "thema_schaal"
VENT_SLOT = "kwijt_tekst"
VENT_KEY = VENT_QUESTION_KEY
STEP_SLOT = "stapje"
# The answer slot that got the one gentle follow-up for a weak answer.
FOLLOW_UP_SLOT = "doorgevraagd"
# Everything about the reflection in progress; cleared when it is saved or a new one starts.
REFLECTION_STATE_SLOTS = (
    *ANSWER_SLOTS,
    SCALE_SLOT,
    VENT_SLOT,
    "stapje_willen",
    STEP_SLOT,
    "vragen",
    "thema_groep",
    "thema_keuze",
    "menu_pagina",
    "delen",
    "reflectie_sleutel",
    "aanpassen_veld",
    "nieuw_antwoord",
    "onderbroken_form",
    "plan_kleur",
    FOLLOW_UP_SLOT,
)


def language_level(tracker: Tracker) -> str:
    value = tracker.get_slot(LANGUAGE_SLOT)
    return EENVOUDIG if value == EENVOUDIG else STANDAARD


def response_buttons(domain: dict[str, Any], name: str, level: str) -> list[dict[str, Any]]:
    """The buttons of response `name` at this language level, with Rasa's `{{`/`}}` escapes
    undone (buttons sent by an action are not formatted again)."""
    return [
        {**b, "payload": str(b.get("payload", "")).replace("{{", "{").replace("}}", "}")}
        for b in variant(domain, name, level).get("buttons") or []
    ]


def response_custom(domain: dict[str, Any], name: str, level: str) -> dict[str, Any]:
    """The `custom` part of response `name` at this language level ({} when it has none)."""
    custom = variant(domain, name, level).get("custom")
    return custom if isinstance(custom, dict) else {}


# --- parsing answers ------------------------------------------------------------------------

_EMOJI_SCALE = {
    "😭": 1,
    "😢": 1,
    "😞": 1,
    "😩": 1,
    "🙁": 2,
    "☹": 2,
    "😕": 2,
    "😔": 2,
    "😐": 3,
    "😶": 3,
    "🙂": 4,
    "😊": 4,
    "👍": 4,
    "😀": 5,
    "😃": 5,
    "😄": 5,
    "😁": 5,
    "🤩": 5,
    "🥳": 5,
}
_NUMBER_WORDS = {"een": 1, "eentje": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5}
_MOOD_PHRASES: list[tuple[str, int]] = [
    (
        r"heel slecht|erg slecht|super slecht|zo slecht|vreselijk|verschrikkelijk|kut|klote|waardeloos|rampzalig",
        1,
    ),
    (r"niet (zo |echt |heel )?goed|niet lekker|slecht|matig|rot|beroerd|somber|minder", 2),
    (r"gaat wel|gaat ?n beetje|oke|ok|okee|redelijk|neutraal|mwah|zozo|soso|gemiddeld|middel", 3),
    (r"heel goed|super|top|geweldig|uitstekend|fantastisch|perfect|heel fijn|echt goed", 5),
    (r"best goed|goed|prima|lekker|fijn|prettig", 4),
]
_HOPE_PHRASES: list[tuple[str, int]] = [
    (r"heel veel|super veel|ontzettend veel|enorm veel", 5),
    (r"bijna geen|geen|weinig|niks|niets|nul", 1),
    (r"een beetje|beetje|klein beetje", 2),
    (r"best wel|redelijk|gemiddeld|middel|gaat wel", 3),
    (r"veel|flink|behoorlijk", 4),
]


def parse_scale(text: str | None, kind: str = "stemming") -> int | None:
    """Read a 1-5 answer: a digit, a Dutch number word, a face emoji or a mood word."""
    if not text:
        return None
    raw = text.strip()
    for emoji, value in _EMOJI_SCALE.items():
        if emoji in raw:
            return value
    plain = _plain(raw)
    digit = re.search(r"(?<![\d,.])([1-5])(?![\d])", plain)
    if digit:
        return int(digit.group(1))
    if re.search(r"\d", plain):
        return None  # a number outside 1-5 (for example 0 or 10)
    words = re.findall(r"[a-z]+", plain)
    if plain in ("een", "eentje", "één"):
        return 1
    for word in words:
        if word in _NUMBER_WORDS and word not in ("een",):
            return _NUMBER_WORDS[word]
    phrases = _MOOD_PHRASES if kind == "stemming" else _HOPE_PHRASES
    for pattern, value in phrases:
        if re.search(rf"\b(?:{pattern})\b", plain):
            return value
    return None


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or symbols)."""
    return any(ch.isalnum() for ch in text)


def parse_yes_no(text: str | None, intent: str | None) -> bool | None:
    if intent == "bevestigen":
        return True
    if intent == "ontkennen":
        return False
    plain = _plain(text or "")
    if re.search(r"\b(nee|neen|nope|nah|niet|liever niet|geen)\b", plain):
        return False
    if re.search(
        r"\b(ja|jazeker|jawel|yes|ok|oke|goed|prima|mag|tuurlijk|natuurlijk|klopt)\b", plain
    ):
        return True
    return None


# --- identity and keys ----------------------------------------------------------------------


def latest_intent(tracker: Tracker) -> str | None:
    """The intent of the client's latest message (None when it has none)."""
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_user_event(tracker: Tracker) -> dict[str, Any]:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event
    return {}


def db_session():
    """The database session of an action: see `actions.durable.db_session` (writes kept in
    the outbox go first; no new attempts for a few seconds after a storage failure)."""
    from actions.durable import db_session as durable_session

    return durable_session()
