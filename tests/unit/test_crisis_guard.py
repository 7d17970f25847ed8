"""CrisisGuard (bot/safety/component.py): what becomes of a crisis guess it drops."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety.component import FALLBACK_INTENT, SEMANTIC_PROPERTY, CrisisGuard


@pytest.fixture(scope="module")
def guard() -> CrisisGuard:
    return CrisisGuard(CrisisGuard.get_default_config())


def parsed(text: str, ranking: list[tuple[str, float]], semantic: float) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    message.set(SEMANTIC_PROPERTY, {"probability": semantic, "category": "unknown"})
    return message


def test_a_dropped_guess_never_falls_to_an_intent_the_classifier_did_not_consider(guard):
    # Measured on a trained model: the idiom got `crisis` 0.9998 and then `plan_rood` 0.00003,
    # and the red-plan path showed the crisis help for "ik lach me dood".
    message = parsed("ik lach me dood", [("crisis", 0.9998), ("plan_rood", 0.00003)], 0.71)
    guard.process([message])
    assert message.get("crisis")["outcome"] == "calm"
    assert message.get(INTENT)["name"] == FALLBACK_INTENT
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == FALLBACK_INTENT


def test_a_dropped_guess_falls_to_a_real_second_reading(guard):
    message = parsed("ik lach me dood", [("crisis", 0.55), ("bedankt", 0.40)], 0.2)
    guard.process([message])
    assert message.get(INTENT)["name"] == "bedankt"
