"""Replies typed at the read-back's "Klopt dat?" (tests/conversation/readback_unseen.yml):
nothing a client types there may drop the reflection, and a "no" is never taken as "yes".

Before the thirty-first pass 26 of these 62 items showed the menu and the reflection was gone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.test_e2e import menu_path, start_theme

pytestmark = pytest.mark.slow

SET = Path(__file__).parent / "conversation" / "readback_unseen.yml"
ITEMS: dict[str, list[str]] = yaml.safe_load(SET.read_text(encoding="utf-8"))


def outcome(messages: list[dict]) -> str:
    text = "\n".join(m.get("text") or "" for m in messages)
    if "113" in text:
        return "safety"
    if "Mag je begeleider dit lezen?" in text:
        return "consent"
    if "Wat wil je aanpassen?" in text or "Welk antwoord" in text:
        return "correct"
    if "Tik op Ja of Nee" in text:
        return "again"
    return "lost"


def at_read_back(bot) -> str:
    sender = bot.new_sender("voorlezen")
    start_theme(bot, sender, menu_path("verbinding"), "verbinding")
    for text in ("mijn broer", "met mijn moeder", "3", "ja"):
        bot.texts(sender, text)
    assert "Klopt dat?" in bot.texts(sender, "zondag mijn zus bellen")
    return sender


def test_the_set_has_all_three_kinds():
    assert {kind: len(items) >= 15 for kind, items in ITEMS.items()} == {
        "yes": True,
        "no": True,
        "neither": True,
    }


def test_replies_at_the_read_back_never_drop_the_reflection(bot, figure):
    found = {kind: Counter() for kind in ITEMS}
    for kind, items in ITEMS.items():
        for text in items:
            sender = at_read_back(bot)
            found[kind][outcome(bot.say(sender, text))] += 1
            assert bot.tracker(sender).get_slot("antwoord_1") == "mijn broer"
    for kind, counts in found.items():
        figure(f"Read-back replies ({kind}, {sum(counts.values())}): {dict(counts)}")
    # This model: 0 lost, 0 "no" as yes, 0 "yes" as no. One or two to spare, because a model
    # trained from the same data on another CPU reads a few borderline messages otherwise
    # (docs/safety.md, thirtieth pass).
    lost = sum(counts["lost"] for counts in found.values())
    assert lost <= 1, found
    assert found["no"]["consent"] <= 1, "a no taken as yes saves what the client said is wrong"
    assert found["neither"]["consent"] <= 1, found
    assert found["yes"]["correct"] <= 2, found
    assert found["yes"]["consent"] >= len(ITEMS["yes"]) // 2, found
