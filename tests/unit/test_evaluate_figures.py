"""How bot.safety.evaluate counts a set's outcomes (the whole-bot runs are in
tests/test_crisis_set.py). The replies stand in for the bot: only their marks matter here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.safety.evaluate import CHECK_PAYLOADS, CRISIS_MARK, answered, measure

HELP_REPLY = [{"text": f"Bel 113 of gratis {CRISIS_MARK}."}]
CHECK_REPLY = [{"text": "Denk je daaraan?", "buttons": [{"payload": p} for p in CHECK_PAYLOADS]}]
CALM_REPLY = [{"text": "Dank je."}]


def test_calm_messages_flagged_are_counted_by_kind():
    replies = {"oud verhaal": HELP_REPLY, "ander oud verhaal": CHECK_REPLY, "film": HELP_REPLY}
    data = {
        "crisis": [{"text": "nu gevaar", "category": "suicide", "kind": "present"}],
        "non_crisis": [
            {"text": "oud verhaal", "kind": "past_over"},
            {"text": "ander oud verhaal", "kind": "past_over"},
            {"text": "film", "kind": "hard_negative"},
            {"text": "rustig", "kind": "hard_negative"},
            {"text": "zonder soort"},
        ],
    }

    def say(sender: str, text: str) -> list[dict]:
        if text == "ja":
            return HELP_REPLY
        return replies.get(text, CHECK_REPLY if text == "nu gevaar" else CALM_REPLY)

    figures = measure(say, data, "first", "t")
    assert figures.caught == 1 and figures.at_once == 0
    assert (figures.false_alarms, figures.checks, figures.calm) == (2, 1, 5)
    assert dict(figures.flagged_kinds) == {
        "past_over/hulp": 1,
        "past_over/controle": 1,
        "hard_negative/hulp": 1,
    }
    # `evaluate --json` writes the figures as JSON.
    assert json.loads(json.dumps(figures.__dict__, default=str))["flagged_kinds"] == dict(
        figures.flagged_kinds
    )


def test_a_set_without_kinds_has_no_kind_counts():
    data = {"crisis": [], "non_crisis": [{"text": "film"}]}
    figures = measure(lambda sender, text: HELP_REPLY, data, "first", "t")
    assert figures.false_alarms == 1
    assert not figures.flagged_kinds


def test_a_message_without_an_answer_stops_the_evaluation(tmp_path):
    """With Koers' patches a turn whose action call failed gets no answer at all; counted, it
    would read as calm, so the command line stops instead and says where the log is."""
    log = tmp_path / "actions.log"
    stopped = subprocess.Popen([sys.executable, "-c", "pass"])
    stopped.wait()
    assert answered(CALM_REPLY, stopped, log) == CALM_REPLY
    with pytest.raises(SystemExit, match="action server is stopped") as raised:
        answered([], stopped, log)
    assert str(log) in str(raised.value)
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(SystemExit, match="action server is running"):
            answered([], running, log)
    finally:
        running.kill()
        running.wait()
