"""Weak answers get one gentle follow-up, then Koers moves on with what was said (issue 10)."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import (
    AskAntwoord1,
    ValidateCorrectieForm,
    ValidateKwijtForm,
    ValidateStapjeForm,
    ValidateThemaForm,
)
from bot import content
from bot.settings import PROJECT_ROOT
from bot.weak_answers import is_weak

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
# "Wat is je deze week gelukt?" (open). The banks have no closed question since the review
# of issue 10, so the closed case uses one made for the test (see `closed_prompt`).
OPEN = ("hoop", ["gelukt", "uitkijken"])
CLOSED = ("veiligheid", ["gesloten", "waar_veilig"])


@pytest.fixture
def closed_prompt(monkeypatch):
    real = content.prompt
    made = content.Prompt(
        "gesloten", "Voel je je nu veilig?", "Voel je je veilig?", "Bijvoorbeeld: ja", None, None
    )
    monkeypatch.setattr(
        content, "prompt", lambda theme, key: made if key == "gesloten" else real(theme, key)
    )
    return made


@pytest.mark.parametrize(
    "text",
    ["weet nie", "Weet ik niet", "weet ik echt niet hoor", "kweenie", "geen idee", "niks",
     "Niets.", "nikssss", "?", "...", "ja", "Nee", "ok", "idk", "mwah"],
)  # fmt: skip
def test_weak_answers_to_an_open_question(text):
    assert is_weak(text, open_question=True)


@pytest.mark.parametrize(
    "text",
    ["mn moeder", "kamer opgeruimd", "huis", "niemand", "goed", "ja mijn broer", "voetbal",
     "nee want ik was ziek", "dat ik op tijd was"],
)  # fmt: skip
def test_real_short_answers_are_not_weak(text):
    assert not is_weak(text, open_question=True)


def test_yes_and_no_answer_a_closed_question():
    assert not is_weak("ja", open_question=False)
    assert not is_weak("nee", open_question=False)
    assert is_weak("weet nie", open_question=False)


def test_open_and_closed_prompts(closed_prompt):
    assert content.prompt(*OPEN[0:1], OPEN[1][0]).open
    assert not content.prompt(CLOSED[0], CLOSED[1][0]).open
    assert content.is_open_question("Met wie had je deze week fijn contact?")
    assert not content.is_open_question("Heb je goed geslapen?")


def _tracker(text: str, slot: str, theme=OPEN, extra: dict | None = None, events=None):
    return Tracker(
        sender_id="weak",
        slots={
            "taalniveau": "standaard",
            "thema": theme[0],
            "vragen": theme[1],
            "requested_slot": slot,
            **(extra or {}),
        },
        latest_message={"text": text, "intent": {"name": "vrij_antwoord", "confidence": 0.9}},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": "thema_form"},
        latest_action_name="action_listen",
    )


def _validate(validator, slot, text, tracker, typed: bool = True):
    if typed:  # the client just sent it (not an answer given before a pause)
        tracker.latest_message["text"] = text
    dispatcher = CollectingDispatcher()
    result = getattr(validator, f"validate_{slot}")(text, dispatcher, tracker, DOMAIN)
    return result, dispatcher.messages


def test_one_gentle_follow_up_with_the_prompts_example_then_the_answer_is_kept():
    prompt = content.prompt("hoop", "gelukt")
    first, messages = _validate(ValidateThemaForm(), "antwoord_1", "weet nie", _tracker("", ""))
    assert first == {"antwoord_1": None, "doorgevraagd": "antwoord_1"}
    [message] = messages
    assert message["response"] == "utter_doorvragen"
    assert (
        prompt.voorbeeld in message["uitleg"] and prompt.explained("standaard") in message["uitleg"]
    )
    # The follow-up offers a button: "Weet ik niet" moves on.
    buttons = [b for v in DOMAIN["responses"]["utter_doorvragen"] for b in v["buttons"]]
    assert {b["payload"] for b in buttons} == {"/weet_niet"}

    second_tracker = _tracker("", "", extra={"doorgevraagd": "antwoord_1"})
    second, messages = _validate(ValidateThemaForm(), "antwoord_1", "weet nie", second_tracker)
    assert second["antwoord_1"] == "weet nie", "stored as it was said"
    assert second["doorgevraagd"] is None and messages == []


def test_the_dont_know_button_is_stored_as_words():
    tracker = _tracker("/weet_niet", "antwoord_1", extra={"doorgevraagd": "antwoord_1"})
    result, _ = _validate(ValidateThemaForm(), "antwoord_1", "/weet_niet", tracker)
    assert result["antwoord_1"] == "weet ik niet"


def test_a_good_answer_and_a_yes_to_a_closed_question_go_straight_through(closed_prompt):
    result, messages = _validate(ValidateThemaForm(), "antwoord_1", "mn moeder", _tracker("", ""))
    assert result["antwoord_1"] == "mn moeder" and messages == []
    result, messages = _validate(
        ValidateThemaForm(), "antwoord_1", "ja", _tracker("", "", theme=CLOSED)
    )
    assert result["antwoord_1"] == "ja" and messages == []


def test_a_bare_yes_to_an_open_question_gets_the_follow_up():
    result, messages = _validate(ValidateThemaForm(), "antwoord_1", "ja", _tracker("", ""))
    assert result["antwoord_1"] is None and messages[0]["response"] == "utter_doorvragen"


def test_each_question_gets_its_own_follow_up():
    tracker = _tracker("", "", extra={"doorgevraagd": "antwoord_1"})
    result, messages = _validate(ValidateThemaForm(), "antwoord_2", "niks", tracker)
    assert result == {"antwoord_2": None, "doorgevraagd": "antwoord_2"}


@pytest.mark.parametrize(
    ("validator", "slot"),
    [
        (ValidateKwijtForm(), "kwijt_tekst"),
        (ValidateCorrectieForm(), "nieuw_antwoord"),
    ],
)
def test_venting_and_a_correction_follow_up_too(validator, slot):
    extra = {"aanpassen_veld": "antwoord_1"} if slot == "nieuw_antwoord" else {}
    result, messages = _validate(validator, slot, "geen idee", _tracker("", "", extra=extra))
    assert result[slot] is None and messages[0]["response"] == "utter_doorvragen"
    assert messages[0]["uitleg"].strip()
    extra["doorgevraagd"] = slot
    result, _ = _validate(validator, slot, "geen idee", _tracker("", "", extra=extra))
    assert result[slot] == "geen idee"


@pytest.mark.parametrize("second", ["geen idee", "/weet_niet"])
def test_a_small_step_of_weet_ik_niet_is_no_step(second):
    """One follow-up, then "weet ik niet" ends the step question without a step: the next
    check-in must not ask "Vorige keer koos je: weet ik niet. Is dat gelukt?"."""
    result, messages = _validate(ValidateStapjeForm(), "stapje", "geen idee", _tracker("", ""))
    assert result["stapje"] is None and messages[0]["response"] == "utter_doorvragen"
    tracker = _tracker(second, "stapje", extra={"doorgevraagd": "stapje"})
    result, messages = _validate(ValidateStapjeForm(), "stapje", second, tracker)
    assert result == {"stapje": None, "stapje_willen": False, "doorgevraagd": None}
    assert [m["response"] for m in messages] == ["utter_stapje_later"]
    assert "utter_stapje_later" in DOMAIN["responses"]


def test_a_real_small_step_after_the_follow_up_is_kept():
    tracker = _tracker("", "", extra={"doorgevraagd": "stapje"})
    result, messages = _validate(ValidateStapjeForm(), "stapje", "morgen vroeg opstaan", tracker)
    assert result["stapje"] == "morgen vroeg opstaan"
    assert [m["response"] for m in messages] == ["utter_stapje_mooi"]


def test_the_question_is_not_repeated_right_after_the_follow_up():
    events = [
        {"event": "user", "text": "weet nie"},
        {"event": "action", "name": "validate_thema_form"},
        {"event": "slot", "name": "doorgevraagd", "value": "antwoord_1"},
    ]
    dispatcher = CollectingDispatcher()
    AskAntwoord1().run(dispatcher, _tracker("weet nie", "antwoord_1", events=events), DOMAIN)
    assert dispatcher.messages == []
    dispatcher = CollectingDispatcher()
    AskAntwoord1().run(dispatcher, _tracker("x", "antwoord_1", events=events[:1]), DOMAIN)
    assert dispatcher.messages[0]["text"] == content.prompt("hoop", "gelukt").standaard


def test_an_explanation_counts_as_the_follow_up():
    from actions.forms import ActionUitleg

    dispatcher = CollectingDispatcher()
    events = ActionUitleg().run(dispatcher, _tracker("snap het niet", "antwoord_1"), DOMAIN)
    assert events == [
        {"event": "slot", "timestamp": None, "name": "doorgevraagd", "value": "antwoord_1"}
    ]
    assert dispatcher.messages[0]["response"] == "utter_uitleg_antwoord"
    # Then a weak answer is stored as it was said.
    tracker = _tracker("", "", extra={"doorgevraagd": "antwoord_1"})
    result, _ = _validate(ValidateThemaForm(), "antwoord_1", "weet nie", tracker)
    assert result["antwoord_1"] == "weet nie"


def test_a_weak_answer_given_before_a_pause_is_not_questioned_again():
    """A resumed form validates its earlier answers again: no second follow-up for them."""
    tracker = _tracker("verder", "antwoord_2")
    result, messages = _validate(
        ValidateThemaForm(), "antwoord_1", "weet nie", tracker, typed=False
    )
    assert result["antwoord_1"] == "weet nie" and messages == []
