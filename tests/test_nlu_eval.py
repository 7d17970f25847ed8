"""NLU evaluation on the held-out split in tests/nlu (never used for training)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.loading import load_data

HELD_OUT = Path(__file__).parent / "nlu" / "test_nlu.yml"
TRAINING = Path(__file__).parent.parent / "data" / "nlu"
MIN_MACRO_F1 = 0.92
MIN_EXAMPLES_PER_INTENT = 25
MIN_HELD_OUT_PER_INTENT = 6


def macro_f1(pairs: list[tuple[str, str]]) -> tuple[float, dict[str, float]]:
    labels = sorted({gold for gold, _ in pairs})
    tp, fp, fn = Counter(), Counter(), Counter()
    for gold, pred in pairs:
        if gold == pred:
            tp[gold] += 1
        else:
            fn[gold] += 1
            fp[pred] += 1
    scores = {}
    for label in labels:
        p = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        r = tp[label] / (tp[label] + fn[label]) if tp[label] + fn[label] else 0.0
        scores[label] = 2 * p * r / (p + r) if p + r else 0.0
    return sum(scores.values()) / len(scores), scores


def test_held_out_split_is_not_in_training_data():
    held = {m.get("text").lower().strip() for m in load_data(str(HELD_OUT)).intent_examples}
    train = {m.get("text").lower().strip() for m in load_data(str(TRAINING)).intent_examples}
    assert held and not (held & train), sorted(held & train)


# Set by a pipeline component, never by the classifier: `crisis_check` (bot/safety).
SET_BY_COMPONENTS = {"crisis_check"}


def test_every_domain_intent_has_enough_examples():
    import yaml

    domain = yaml.safe_load((TRAINING.parent.parent / "domain.yml").read_text(encoding="utf-8"))
    domain["intents"] = [i for i in domain["intents"] if i not in SET_BY_COMPONENTS]
    train = Counter(m.get("intent") for m in load_data(str(TRAINING)).intent_examples)
    held = Counter(m.get("intent") for m in load_data(str(HELD_OUT)).intent_examples)
    few = {i: train[i] for i in domain["intents"] if train[i] < MIN_EXAMPLES_PER_INTENT}
    assert not few, f"fewer than {MIN_EXAMPLES_PER_INTENT} training examples: {few}"
    untested = {i: held[i] for i in domain["intents"] if held[i] < MIN_HELD_OUT_PER_INTENT}
    assert not untested, f"fewer than {MIN_HELD_OUT_PER_INTENT} held-out examples: {untested}"


@pytest.mark.slow
def test_macro_f1_on_held_out_split(bot, figure):
    examples = load_data(str(HELD_OUT)).intent_examples
    pairs, errors = [], []
    for message in examples:
        gold = message.get("intent")
        pred = bot.parse(message.get("text"))["intent"]["name"]
        pairs.append((gold, pred))
        if gold != pred:
            errors.append(f"  {message.get('text')!r}: {gold} -> {pred}")
    score, per_intent = macro_f1(pairs)
    figure(f"NLU held-out split: {len(pairs)} examples, macro-F1 {score:.3f}")
    print(
        "  lowest: "
        + ", ".join(f"{k} {v:.2f}" for k, v in sorted(per_intent.items(), key=lambda kv: kv[1])[:5])
    )
    print("\n".join(errors[:40]))
    assert score >= MIN_MACRO_F1, f"macro-F1 {score:.3f} < {MIN_MACRO_F1}"


def test_macro_f1_arithmetic():
    score, per = macro_f1([("a", "a"), ("a", "b"), ("b", "b"), ("b", "b")])
    assert per["a"] == pytest.approx(2 / 3)
    assert per["b"] == pytest.approx(0.8)
    assert score == pytest.approx((2 / 3 + 0.8) / 2)
