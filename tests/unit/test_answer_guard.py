"""AnswerGuard (bot/answers.py): short answers are not read as a goodbye or a stop."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bot.answers import MAX_WORDS, StopPhrases, normalise
from bot.settings import PROJECT_ROOT

DATA = load_data(str(PROJECT_ROOT / "data" / "nlu"))
STOPS = [m.get("text") for m in DATA.intent_examples if m.get("intent") in ("afscheid", "stoppen")]
PHRASES = StopPhrases.from_examples(STOPS)


def test_every_stop_or_goodbye_example_stays_one():
    assert len(PHRASES.phrases) > 40
    assert all(PHRASES.keeps(text) for text in STOPS)


@pytest.mark.parametrize(
    "text",
    [
        "mn moeder",
        "me moeder",
        "kamer opgeruimd",
        "huis",
        "groen",
        "naar huis",
        "slapen",
        "stoppen met blowen",
        "tot morgen werken",
        "dag besteding",
        "de deur uit",
        "werk",
        "mijn broer",
        "een goede dag",
        "doei zeggen",
    ],
)
def test_short_answers_are_answers(text):
    assert len(normalise(text)) <= MAX_WORDS
    assert not PHRASES.keeps(text)


@pytest.mark.parametrize(
    "text", ["doei", "Doeiii!", "ok doei", "stop", "STOP NU", "laat maar", "pauze"]
)
def test_explicit_stops_and_goodbyes_stay(text):
    assert PHRASES.keeps(text)


def test_longer_messages_keep_the_classifier():
    assert PHRASES.keeps("ik ga nu echt even naar de winkel hoor")
