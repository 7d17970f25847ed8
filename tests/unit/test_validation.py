"""Form validators and answer parsing, run through the real rasa-sdk classes."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import has_words, parse_scale, parse_yes_no, render_response
from actions.forms import (
    ValidateCheckinForm,
    ValidateCorrectieForm,
    ValidateHoopForm,
    ValidateToestemmingForm,
    parse_field,
)


def make_tracker(text: str, intent: str = "vrij_antwoord", slots: dict | None = None,
                 form: str = "hoop_form", confidence: float = 0.9) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={"taalniveau": "standaard", **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": form},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", 4), ("een 2", 2), ("4 van de 5", 4), ("drie denk ik", 3), ("vijf!", 5),
        ("heel slecht", 1), ("niet zo goed", 2), ("gaat wel", 3), ("best goed", 4),
        ("super", 5), ("🙂", 4), ("😢", 1), ("een", 1),
        ("10", None), ("0", None), ("", None), ("banaan", None),
    ],
)
def test_parse_mood(text, expected):
    assert parse_scale(text, kind="stemming") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("heel veel", 5), ("bijna geen", 1), ("een beetje", 2), ("best wel", 3), ("veel", 4), ("2", 2)],
)
def test_parse_hope_scale(text, expected):
    assert parse_scale(text, kind="hoop") == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [("ja", None, True), ("nee liever niet", None, False), ("huh", "bevestigen", True),
     ("prima", None, True), ("misschien", None, None)],
)
def test_parse_yes_no(text, intent, expected):
    assert parse_yes_no(text, intent) is expected


def test_has_words():
    assert has_words("ok")
    assert not has_words("😀🎉 !!")
    assert not has_words("   ")


@pytest.mark.parametrize(
    ("text", "slot"),
    [("1", "hoop_uitkijken"), ("2", "hoop_beter_leven"), ("3 ", "hoop_stapje"), ("4", "hoop_schaal"),
     ("de stap", "hoop_stapje"), ("mijn cijfer", "hoop_schaal"), ("weet niet", None)],
)
def test_parse_field(text, slot):
    assert parse_field(text) == slot


def _run(validator, slot: str, value, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    method = getattr(validator, f"validate_{slot}")
    return method(value, dispatcher, tracker, {}), dispatcher.messages


def test_free_text_answer_is_kept_verbatim_and_gets_a_key():
    text = "<b>Mijn dochter</b> zien & samen eten"
    result, messages = _run(ValidateHoopForm(), "hoop_uitkijken", f"  {text} ", make_tracker(text))
    assert result["hoop_uitkijken"] == text
    assert len(result["reflectie_sleutel"]) == 32
    assert messages == []


def test_existing_key_is_kept():
    result, _ = _run(ValidateHoopForm(), "hoop_stapje", "bellen",
                     make_tracker("bellen", slots={"reflectie_sleutel": "abc"}))
    assert result == {"hoop_stapje": "bellen"}


@pytest.mark.parametrize(
    ("value", "response"),
    [("", "utter_antwoord_leeg"), ("🙂🙂🙂", "utter_antwoord_leeg"), ("x" * 2001, "utter_antwoord_te_lang")],
)
def test_bad_free_text_gets_a_dutch_message_and_is_not_stored(value, response):
    result, messages = _run(ValidateHoopForm(), "hoop_beter_leven", value, make_tracker(value))
    assert result == {"hoop_beter_leven": None}
    assert [m["response"] for m in messages] == [response]


def test_interruption_is_never_stored_as_answer():
    result, messages = _run(ValidateHoopForm(), "hoop_uitkijken", "ik wil dood",
                            make_tracker("ik wil dood", intent="crisis"))
    assert result == {"hoop_uitkijken": None}
    assert messages == []


def test_scale_validation():
    ok, _ = _run(ValidateHoopForm(), "hoop_schaal", "4", make_tracker("4", "schaal_antwoord"))
    assert ok == {"hoop_schaal": "4"}
    bad, messages = _run(ValidateHoopForm(), "hoop_schaal", "12", make_tracker("12", "schaal_antwoord"))
    assert bad == {"hoop_schaal": None}
    assert messages[0]["response"] == "utter_schaal_ongeldig"


def test_mood_validation():
    ok, _ = _run(ValidateCheckinForm(), "stemming", "gaat wel", make_tracker("gaat wel", form="checkin_form"))
    assert ok == {"stemming": "3"}
    bad, messages = _run(ValidateCheckinForm(), "stemming", "paars", make_tracker("paars", form="checkin_form"))
    assert bad == {"stemming": None} and messages[0]["response"] == "utter_stemming_ongeldig"


def test_consent_and_correction_validation():
    yes, _ = _run(ValidateToestemmingForm(), "delen", "ja hoor", make_tracker("ja hoor", "bevestigen"))
    no, _ = _run(ValidateToestemmingForm(), "delen", "nee", make_tracker("nee", "ontkennen"))
    unclear, msgs = _run(ValidateToestemmingForm(), "delen", "hmm", make_tracker("hmm", "nlu_fallback"))
    assert yes == {"delen": True} and no == {"delen": False} and unclear == {"delen": None}
    assert msgs[0]["response"] == "utter_delen_ongeldig"
    field, _ = _run(ValidateCorrectieForm(), "aanpassen_veld", "3", make_tracker("3"))
    assert field == {"aanpassen_veld": "hoop_stapje"}


def test_render_response_picks_the_language_variant():
    domain = {"responses": {"utter_x": [
        {"condition": [{"type": "slot", "name": "taalniveau", "value": "eenvoudig"}], "text": "kort"},
        {"text": "gewoon {naam}"},
    ]}}
    assert render_response(domain, "utter_x", "eenvoudig") == "kort"
    assert render_response(domain, "utter_x", "standaard", naam="Sam") == "gewoon Sam"
    with pytest.raises(KeyError):
        render_response(domain, "utter_y", "standaard")


def test_confident_off_topic_question_is_not_an_answer():
    text = "wat voor weer wordt het morgen?"
    result, messages = _run(ValidateHoopForm(), "hoop_uitkijken", text,
                            make_tracker(text, "out_of_scope", confidence=0.97))
    assert result == {"hoop_uitkijken": None}
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


@pytest.mark.parametrize(("text", "confidence"), [("werk zoeken", 0.97), ("wat moet ik zeggen?", 0.6)])
def test_unusual_answers_are_kept(text, confidence):
    result, messages = _run(ValidateHoopForm(), "hoop_stapje", text,
                            make_tracker(text, "out_of_scope", confidence=confidence))
    assert result["hoop_stapje"] == text and messages == []


def test_slot_reset_is_validated_silently():
    for validator, slot in [(ValidateHoopForm(), "hoop_stapje"), (ValidateHoopForm(), "hoop_schaal"),
                            (ValidateCheckinForm(), "stemming"), (ValidateToestemmingForm(), "delen"),
                            (ValidateCorrectieForm(), "aanpassen_veld")]:
        result, messages = _run(validator, slot, None, make_tracker("ja", "bevestigen"))
        assert result == {slot: None} and messages == [], slot
