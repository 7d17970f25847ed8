"""Form validators and answer parsing, run through the real rasa-sdk classes."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import has_words, parse_scale, parse_yes_no, render_response
from actions.forms import (
    DONT_KNOW_PAYLOAD,
    DONT_KNOW_TEXT,
    ValidateCheckinForm,
    ValidateCorrectieForm,
    ValidateKeuzeForm,
    ValidateKwijtForm,
    ValidateStapcheckForm,
    ValidateStapjeForm,
    ValidateThemaForm,
    ValidateToestemmingForm,
    parse_field,
)
from actions.reflection import Field
from actions.safety import parse_colour
from bot.settings import PROJECT_ROOT

# A reflection on "hoop" with two of its open prompts.
THEME_SLOTS = {"thema": "hoop", "vragen": ["uitkijken", "gelukt"]}


def make_tracker(
    text: str,
    intent: str = "vrij_antwoord",
    slots: dict | None = None,
    form: str = "thema_form",
    entities: list | None = None,
    confidence: float = 0.9,
) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={"taalniveau": "standaard", **THEME_SLOTS, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": form},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4", 4),
        ("een 2", 2),
        ("4 van de 5", 4),
        ("drie denk ik", 3),
        ("vijf!", 5),
        ("heel slecht", 1),
        ("niet zo goed", 2),
        ("gaat wel", 3),
        ("best goed", 4),
        ("super", 5),
        ("🙂", 4),
        ("😢", 1),
        ("een", 1),
        ("10", None),
        ("0", None),
        ("", None),
        ("banaan", None),
    ],
)
def test_parse_mood(text, expected):
    assert parse_scale(text, kind="stemming") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("heel veel", 5),
        ("bijna geen", 1),
        ("een beetje", 2),
        ("best wel", 3),
        ("veel", 4),
        ("2", 2),
    ],
)
def test_parse_hope_scale(text, expected):
    assert parse_scale(text, kind="hoop") == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("ja", None, True),
        ("nee liever niet", None, False),
        ("huh", "bevestigen", True),
        ("prima", None, True),
        ("misschien", None, None),
    ],
)
def test_parse_yes_no(text, intent, expected):
    assert parse_yes_no(text, intent) is expected


def test_has_words():
    assert has_words("ok")
    assert not has_words("😀🎉 !!")
    assert not has_words("   ")


FIELDS = [
    Field("antwoord_1", "Wie helpt jou?", "x"),
    Field("antwoord_2", "Wat doe je?", "y"),
    Field("thema_schaal", "Hoeveel?", "3"),
    Field("stapje", "Je stapje", "bellen"),
]


@pytest.mark.parametrize(
    ("text", "slot"),
    [
        ("1", "antwoord_1"),
        ("2", "antwoord_2"),
        ("3 ", "thema_schaal"),
        ("4", "stapje"),
        ("de stap", "stapje"),
        ("mijn cijfer", "thema_schaal"),
        ("5", None),
        ("weet niet", None),
    ],
)
def test_parse_field(text, slot):
    assert parse_field(text, FIELDS) == slot


DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def _run(validator, slot: str, value, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    method = getattr(validator, f"validate_{slot}")
    return method(value, dispatcher, tracker, DOMAIN), dispatcher.messages


def test_free_text_answer_is_kept_verbatim_and_gets_a_key():
    text = "<b>Mijn dochter</b> zien & samen eten"
    result, messages = _run(ValidateThemaForm(), "antwoord_1", f"  {text} ", make_tracker(text))
    assert result["antwoord_1"] == text
    assert len(result["reflectie_sleutel"]) == 32
    assert messages == []


@pytest.mark.parametrize(
    ("latest", "value", "thanked"),
    [
        # Just typed: thanked.
        ("ik baal van het gedoe op de afdeling", "ik baal van het gedoe op de afdeling", True),
        # The "Weet ik niet" button: thanked too.
        (DONT_KNOW_PAYLOAD, DONT_KNOW_PAYLOAD, True),
        # Kept after a "nee" to the check question (or resumed): thanked then, not again.
        ("nee", "ik baal van het gedoe op de afdeling", False),
    ],
)
def test_the_venting_answer_is_thanked_once(latest, value, thanked):
    tracker = make_tracker(latest, form="kwijt_form")
    result, messages = _run(ValidateKwijtForm(), "kwijt_tekst", value, tracker)
    assert result["kwijt_tekst"] == (DONT_KNOW_TEXT if value == DONT_KNOW_PAYLOAD else value)
    assert [m.get("response") for m in messages] == (["utter_kwijt_dank"] if thanked else [])


def test_existing_key_is_kept():
    result, _ = _run(
        ValidateThemaForm(),
        "antwoord_2",
        "bellen",
        make_tracker("bellen", slots={"reflectie_sleutel": "abc"}),
    )
    assert result == {"antwoord_2": "bellen"}


@pytest.mark.parametrize(
    ("value", "response"),
    [
        ("", "utter_antwoord_leeg"),
        ("🙂🙂🙂", "utter_antwoord_leeg"),
        ("x" * 2001, "utter_antwoord_te_lang"),
    ],
)
def test_bad_free_text_gets_a_dutch_message_and_is_not_stored(value, response):
    result, messages = _run(ValidateThemaForm(), "antwoord_2", value, make_tracker(value))
    assert result == {"antwoord_2": None}
    assert [m["response"] for m in messages] == [response]


def test_interruption_is_never_stored_as_answer():
    result, messages = _run(
        ValidateThemaForm(),
        "antwoord_1",
        "ik wil dood",
        make_tracker("ik wil dood", intent="crisis"),
    )
    assert result == {"antwoord_1": None}
    assert messages == []


def test_scale_validation():
    ok, _ = _run(
        ValidateThemaForm(),
        "thema_schaal",
        "4",
        make_tracker("4", "schaal_antwoord", slots={"reflectie_sleutel": "k"}),
    )
    assert ok == {"thema_schaal": "4"}
    bad, messages = _run(
        ValidateThemaForm(), "thema_schaal", "12", make_tracker("12", "schaal_antwoord")
    )
    assert bad == {"thema_schaal": None}
    assert messages[0]["response"] == "utter_schaal_ongeldig"


def test_mood_validation():
    ok, _ = _run(
        ValidateCheckinForm(), "stemming", "gaat wel", make_tracker("gaat wel", form="checkin_form")
    )
    assert ok == {"stemming": "3"}
    bad, messages = _run(
        ValidateCheckinForm(), "stemming", "paars", make_tracker("paars", form="checkin_form")
    )
    assert bad == {"stemming": None} and messages[0]["response"] == "utter_stemming_ongeldig"


def test_consent_and_correction_validation():
    yes, _ = _run(
        ValidateToestemmingForm(), "delen", "ja hoor", make_tracker("ja hoor", "bevestigen")
    )
    no, _ = _run(ValidateToestemmingForm(), "delen", "nee", make_tracker("nee", "ontkennen"))
    unclear, msgs = _run(
        ValidateToestemmingForm(), "delen", "hmm", make_tracker("hmm", "nlu_fallback")
    )
    assert yes == {"delen": True} and no == {"delen": False} and unclear == {"delen": None}
    assert msgs[0]["response"] == "utter_delen_ongeldig"
    slots = {
        "thema": "hoop",
        "vragen": ["uitkijken", "beter_leven"],
        "antwoord_1": "a",
        "antwoord_2": "b",
        "thema_schaal": "4",
    }
    tracker = make_tracker("3", slots=slots)
    result, _ = _run(ValidateCorrectieForm(), "aanpassen_veld", "3", tracker)
    assert result == {"aanpassen_veld": "thema_schaal"}


def test_render_response_picks_the_language_variant():
    domain = {
        "responses": {
            "utter_x": [
                {
                    "condition": [{"type": "slot", "name": "taalniveau", "value": "eenvoudig"}],
                    "text": "kort",
                },
                {"text": "gewoon {naam}"},
            ]
        }
    }
    assert render_response(domain, "utter_x", "eenvoudig") == "kort"
    assert render_response(domain, "utter_x", "standaard", naam="Sam") == "gewoon Sam"
    with pytest.raises(KeyError):
        render_response(domain, "utter_y", "standaard")


def test_confident_off_topic_question_is_not_an_answer():
    text = "wat voor weer wordt het morgen?"
    result, messages = _run(
        ValidateThemaForm(), "antwoord_1", text, make_tracker(text, "out_of_scope", confidence=0.97)
    )
    assert result == {"antwoord_1": None}
    assert [m["response"] for m in messages] == ["utter_out_of_scope"]


@pytest.mark.parametrize(
    ("text", "confidence"), [("werk zoeken", 0.97), ("wat moet ik zeggen?", 0.6)]
)
def test_unusual_answers_are_kept(text, confidence):
    result, messages = _run(
        ValidateThemaForm(),
        "antwoord_2",
        text,
        make_tracker(text, "out_of_scope", confidence=confidence),
    )
    assert result["antwoord_2"] == text and messages == []


def test_slot_reset_is_validated_silently():
    for validator, slot in [
        (ValidateThemaForm(), "antwoord_2"),
        (ValidateThemaForm(), "thema_schaal"),
        (ValidateKeuzeForm(), "thema_keuze"),
        (ValidateStapjeForm(), "stapje"),
        (ValidateStapcheckForm(), "stap_resultaat"),
        (ValidateCheckinForm(), "stemming"),
        (ValidateToestemmingForm(), "delen"),
        (ValidateCorrectieForm(), "aanpassen_veld"),
    ]:
        result, messages = _run(validator, slot, None, make_tracker("ja", "bevestigen"))
        assert result == {slot: None} and messages == [], slot


@pytest.mark.parametrize(
    ("text", "intent", "entities", "expected"),
    [
        # the first step: a group, venting, "kies jij maar", or a theme named at once
        ("1", "schaal_antwoord", [], {"thema_groep": "mezelf", "thema_keuze": None}),
        ("over anderen", "vrij_antwoord", [], {"thema_groep": "anderen", "thema_keuze": None}),
        ("3", "schaal_antwoord", [], {"thema_groep": "kwijt", "thema_keuze": "kwijt"}),
        (
            "Zelf kiezen",
            "vrij_antwoord",
            [],
            {"thema_groep": "kwijt", "thema_keuze": "eigen_regie"},
        ),
        ("famillie", "vrij_antwoord", [], {"thema_groep": "kwijt", "thema_keuze": "verbinding"}),
        (
            "ik wil het over wie ik ben hebben",
            "vrij_antwoord",
            [],
            {"thema_groep": "kwijt", "thema_keuze": "identiteit"},
        ),
        (
            '/kies_thema{"groep": "anderen"}',
            "kies_thema",
            [{"entity": "groep", "value": "anderen"}],
            {"thema_groep": "anderen", "thema_keuze": None},
        ),
        ("/kwijt", "kwijt", [], {"thema_groep": "kwijt", "thema_keuze": "kwijt"}),
        ("9", "schaal_antwoord", [], {"thema_groep": None}),
        ("banaan", "vrij_antwoord", [], {"thema_groep": None}),
    ],
)
def test_theme_menu_first_step(text, intent, entities, expected):
    tracker = make_tracker(text, intent, form="keuze_form", entities=entities)
    result, messages = _run(ValidateKeuzeForm(), "thema_groep", text, tracker)
    result.pop("menu_pagina", None)
    # A theme named at once needs no second step (the group value only ends the first).
    assert result == expected
    failed = result.get("thema_groep") is None
    assert [m["response"] for m in messages] == (["utter_thema_keuze_ongeldig"] if failed else [])


@pytest.mark.parametrize(
    ("group", "text", "intent", "entities", "expected"),
    [
        ("anderen", "1", "schaal_antwoord", [], "verbinding"),
        ("anderen", "2", "schaal_antwoord", [], "veiligheid"),
        ("mezelf", "2", "schaal_antwoord", [], "identiteit"),
        ("mezelf", "mezelf", "vrij_antwoord", [], "identiteit"),  # a synonym at this step
        ("mezelf", "famillie", "vrij_antwoord", [], "verbinding"),  # another group's theme
        (
            "mezelf",
            '/kies_thema{"thema": "zingeving"}',
            "kies_thema",
            [{"entity": "thema", "value": "zingeving"}],
            "zingeving",
        ),
        ("anderen", "5", "schaal_antwoord", [], None),
        ("anderen", "banaan", "vrij_antwoord", [], None),
    ],
)
def test_theme_menu_second_step(group, text, intent, entities, expected):
    tracker = make_tracker(
        text, intent, form="keuze_form", entities=entities, slots={"thema_groep": group}
    )
    result, messages = _run(ValidateKeuzeForm(), "thema_keuze", text, tracker)
    assert result["thema_keuze"] == expected
    assert [m["response"] for m in messages] == ([] if expected else ["utter_thema_keuze_ongeldig"])


def test_theme_menu_back_and_choose_for_me():
    tracker = make_tracker("terug", form="keuze_form", slots={"thema_groep": "anderen"})
    result, _ = _run(ValidateKeuzeForm(), "thema_keuze", "terug", tracker)
    assert result == {"thema_groep": None, "thema_keuze": None, "menu_pagina": 0.0}


def test_small_step_invitation():
    no, _ = _run(ValidateStapjeForm(), "stapje_willen", "nee", make_tracker("nee", "ontkennen"))
    assert no == {"stapje_willen": False}
    text = "morgen mijn zus bellen"
    direct, messages = _run(ValidateStapjeForm(), "stapje_willen", text, make_tracker(text))
    assert direct == {"stapje_willen": True, "stapje": text}
    assert [m["response"] for m in messages] == ["utter_stapje_mooi"]


@pytest.mark.parametrize(
    ("theme", "score", "unsafe"),
    [("veiligheid", "1", True), ("veiligheid", "2", False), ("hoop", "1", False)],
)
def test_after_not_safe_the_small_step_is_for_today(theme, score, unsafe):
    """ "Niet veilig" on the safety scale (the help was just shown): the invitation, the
    question, and both explanations ask for something that helps today, not "for the coming
    days". Any other score, or 1 on another theme's scale, keeps the usual texts."""
    from actions.forms import ActionUitleg, AskStapje, AskStapjeWillen
    from bot.responses import domain_responses

    domain = domain_responses()
    suffix = "_onveilig" if unsafe else ""
    for requested, ask, response in (
        ("stapje_willen", AskStapjeWillen(), "stapje_willen"),
        ("stapje", AskStapje(), "stapje"),
    ):
        slots = {"thema": theme, "thema_schaal": score, "requested_slot": requested}
        tracker = make_tracker("?", slots=slots, form="stapje_form")
        for action, expected in (
            (ask, f"utter_ask_{response}{suffix}"),
            (ActionUitleg(), f"utter_uitleg_{response}{suffix}"),
        ):
            dispatcher = CollectingDispatcher()
            action.run(dispatcher, tracker, domain)
            assert expected in [m.get("response") for m in dispatcher.messages], (action, expected)
    # A weak step gets the follow-up with the same explanation as "ik snap het niet".
    tracker = make_tracker("hmm", slots={"thema": theme, "thema_schaal": score})
    _, messages = _run(ValidateStapjeForm(), "stapje", "hmm", tracker)
    today = render_response(domain, "utter_uitleg_stapje_onveilig", "standaard")
    [follow_up] = messages
    assert follow_up["response"] == "utter_doorvragen"
    assert (follow_up["uitleg"] == today) is unsafe, follow_up


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("ja", "bevestigen", "gelukt"),
        ("een beetje", "vrij_antwoord", "beetje"),
        ("half gelukt", "vrij_antwoord", "beetje"),
        ("nee", "ontkennen", "niet_gelukt"),
        ("paars", "vrij_antwoord", None),
    ],
)
def test_step_result(text, intent, expected):
    result, _ = _run(
        ValidateStapcheckForm(),
        "stap_resultaat",
        text,
        make_tracker(text, intent, form="stapcheck_form"),
    )
    assert result == {"stap_resultaat": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("groen", "groen"),
        ("Oranje", "oranje"),
        ("🔴", "rood"),
        ("ik zit in de rode fase", "rood"),
        ("groen of oranje", None),
        ("paars", None),
        ("", None),
    ],
)
def test_parse_colour(text, expected):
    assert parse_colour(text) == expected


@pytest.mark.parametrize("text", ["wat ik eet", "wie ik wil zien", "hoe ik mijn dag indeel"])
def test_an_answer_starting_with_a_question_word_is_kept(text):
    result, messages = _run(
        ValidateThemaForm(),
        "antwoord_1",
        text,
        make_tracker(text, "out_of_scope", confidence=0.99, slots={"reflectie_sleutel": "k"}),
    )
    assert result == {"antwoord_1": text} and messages == []


def test_a_resumed_form_keeps_what_was_chosen_before_the_pause():
    """A resumed form validates its filled slots again, with the message that resumed it as
    the latest message ("nee" to a check question, "verder"): a small step already wanted, or
    the read-back line already chosen, must not be read from that message."""
    for text, intent in (("nee", "ontkennen"), ("verder", "hervatten")):
        wanted, messages = _run(
            ValidateStapjeForm(), "stapje_willen", True, make_tracker(text, intent)
        )
        assert wanted == {"stapje_willen": True} and messages == []
    slots = {**THEME_SLOTS, "antwoord_1": "a", "antwoord_2": "b", "thema_schaal": "4"}
    chosen, messages = _run(
        ValidateCorrectieForm(),
        "aanpassen_veld",
        "antwoord_2",
        make_tracker("nee", "ontkennen", slots=slots),
    )
    assert chosen == {"aanpassen_veld": "antwoord_2"} and messages == []
    # A typed choice is still read from the message.
    typed, _ = _run(ValidateCorrectieForm(), "aanpassen_veld", "2", make_tracker("2", slots=slots))
    assert typed == {"aanpassen_veld": "antwoord_2"}
