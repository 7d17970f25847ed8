"""What the client saw is what is stored: the wording and level of each question (read from the
conversation's events), "een beetje" as a step outcome, safety-plan look-ups, the crisis
reminder once per crisis, and the rest of the disclosure behind "Meer weten?"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

import actions.common as common
from actions import durable, shown
from actions.actions import (
    ActionPauzeren,
    ActionReflectieOpslaan,
    ActionSessionStart,
    ActionStapBijwerken,
)
from actions.forms import ValidateCorrectieForm, ValidateThemaForm, validate_plan_colour
from bot import content
from bot.language import check_text, sentences
from bot.storage import repository as repo
from bot.storage.db import make_engine, session_scope, upgrade_database
from bot.storage.models import PlanLookup, SafetyEvent
from bot.storage.outbox import Outbox

DOMAIN = yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text(encoding="utf-8"))
WIE = content.prompt("verbinding", "iemand_geholpen")
FIJN = content.prompt("verbinding", "fijn_contact")
SCALE = {level: content.scale_question("verbinding", level) for level in content.LEVELS}


@pytest.fixture
def engine(monkeypatch, tmp_path):
    url = f"sqlite:///{tmp_path / 'actions.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    # The actions' database (issue 13: through actions.durable, with an outbox of its own).
    monkeypatch.setattr(durable, "engine", lambda: engine)
    monkeypatch.setattr(durable, "outbox", lambda: Outbox(tmp_path / "outbox"))
    durable.breaker.recovered()
    durable.forget_shown()  # a new database: no client saw the disclosure yet
    yield engine
    durable.breaker.recovered()
    engine.dispose()


def user(text: str, message_id: str = "m") -> dict:
    return {"event": "user", "text": text, "message_id": message_id}


def bot(text: str, response: str | None = None) -> dict:
    return {
        "event": "bot",
        "text": text,
        "metadata": {"utter_action": response} if response else {},
    }


def slot(name: str, value) -> dict:
    return {"event": "slot", "name": name, "value": value}


def tracker(slots: dict, events: list[dict], active_loop: str | None = None) -> Tracker:
    last = next((e for e in reversed(events) if e["event"] == "user"), {"text": ""})
    return Tracker(
        "unit-client",
        slots,
        {"text": last.get("text"), "intent": {"name": "bevestigen"}},
        events,
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


# The issue's conversation: the first question in the standard wording, then "makkelijker",
# so the second question and the scale came in simple language.
ISSUE_EVENTS = [
    slot("taalniveau", "standaard"),
    slot("antwoord_1", None),
    slot("vragen", [WIE.key, FIJN.key]),
    bot("Mensen om je heen. Fijn."),
    bot(WIE.standaard),
    user("boodschappen voor de buurman", "m1"),
    slot("antwoord_1", "boodschappen voor de buurman"),  # extraction
    {"event": "action", "name": "verbinding_form"},
    slot("antwoord_1", "boodschappen voor de buurman"),  # validation
    bot(FIJN.standaard),
    user("makkelijker", "m2"),
    slot("taalniveau", "eenvoudig"),
    bot("Goed. Ik praat nu makkelijker."),
    bot(FIJN.eenvoudig),
    user("met mijn moeder", "m3"),
    slot("antwoord_2", "met mijn moeder"),
    bot(f"{SCALE['eenvoudig']}\nKies een cijfer."),
    user("4", "m4"),
    slot("thema_schaal", "4"),
]
SLOTS = {
    "thema": "verbinding",
    "vragen": [WIE.key, FIJN.key],
    "antwoord_1": "boodschappen voor de buurman",
    "antwoord_2": "met mijn moeder",
    "thema_schaal": "4",
    "delen": True,
    "reflectie_sleutel": "key-shown",
    "taalniveau": "eenvoudig",
}


def saved(engine):
    with session_scope(engine) as session:
        [reflection] = repo.list_reflections(session, "unit-client")
        answers = [(a.question_text, a.language_level) for a in reflection.answers]
        return reflection, answers


def test_the_wording_and_level_the_client_saw_are_stored(engine):
    ActionReflectieOpslaan().run(CollectingDispatcher(), tracker(SLOTS, ISSUE_EVENTS), DOMAIN)
    reflection, answers = saved(engine)
    assert answers == [(WIE.standaard, "standaard"), (FIJN.eenvoudig, "eenvoudig")]
    assert (reflection.scale_question, reflection.scale_level) == (SCALE["eenvoudig"], "eenvoudig")


def test_an_explanation_or_a_correction_keeps_what_was_answered(engine):
    events = [
        *ISSUE_EVENTS[:5],
        user("ik snap het niet", "u1"),
        bot(f"Ik zeg het anders: {WIE.eenvoudig}\n{WIE.voorbeeld}", "utter_uitleg_antwoord"),
        user("boodschappen", "u2"),
        slot("antwoord_1", "boodschappen"),
        bot(FIJN.standaard),
        user("met mijn moeder", "u3"),
        slot("antwoord_2", "met mijn moeder"),
        bot("Wat wil je veranderen?"),
        user("2", "u4"),
        bot("Wat is je nieuwe antwoord?"),
        user("met mijn zus", "u5"),
        slot("antwoord_2", "met mijn zus"),  # the correction
    ]
    slots = {**SLOTS, "antwoord_1": "boodschappen", "antwoord_2": "met mijn zus"}
    slots.update(thema_schaal=None, taalniveau="standaard")
    ActionReflectieOpslaan().run(CollectingDispatcher(), tracker(slots, events), DOMAIN)
    reflection, answers = saved(engine)
    assert answers == [(WIE.eenvoudig, "eenvoudig"), (FIJN.standaard, "standaard")]
    assert reflection.scale_question is None


def test_a_resumed_draft_keeps_the_stored_wording(engine):
    with session_scope(engine) as session:
        repo.save_reflection(
            session,
            "unit-client",
            "verbinding",
            [repo.AnswerIn(WIE.key, WIE.eenvoudig, "boodschappen", "eenvoudig")],
            None,
            False,
            "onderbroken",
            "key-shown",
        )
    # Resumed in a later session in standard language: the slot comes from the draft, not
    # from an answer to a question in this conversation.
    events = [
        bot("Vorige keer waren we nog niet klaar. Verder?"),
        user("ja", "r1"),
        slot("antwoord_1", "boodschappen"),
        bot(FIJN.standaard),
        user("met mijn moeder", "r2"),
        slot("antwoord_2", "met mijn moeder"),
    ]
    slots = {**SLOTS, "thema_schaal": None, "taalniveau": "standaard"}
    ActionReflectieOpslaan().run(CollectingDispatcher(), tracker(slots, events), DOMAIN)
    _reflection, answers = saved(engine)
    assert answers == [(WIE.eenvoudig, "eenvoudig"), (FIJN.standaard, "standaard")]


def test_replied_to_and_match():
    turns = shown.replied_to(ISSUE_EVENTS, ["antwoord_1", "antwoord_2", "thema_schaal"])
    # Both slot events of the first answer (extraction, validation) saw the same turn.
    turn = ["Mensen om je heen. Fijn.", WIE.standaard]
    assert turns["antwoord_1"] == [turn, turn]
    assert shown.match(
        turns["antwoord_2"], {"standaard": FIJN.standaard, "eenvoudig": FIJN.eenvoudig}
    ) == (
        "eenvoudig",
        FIJN.eenvoudig,
    )
    assert shown.match([["iets anders"]], {"standaard": "x y z"}) is None
    emptied = shown.replied_to([*ISSUE_EVENTS, slot("antwoord_1", None)], ["antwoord_1"])
    assert "antwoord_1" not in emptied


def test_een_beetje_is_stored_as_its_own_outcome(engine):
    with session_scope(engine) as session:
        step, _ = repo.save_step(session, "unit-client", "hoop", "cv afmaken", True, "s-1")
        step_id = step.id
    dispatcher = CollectingDispatcher()
    slots = {"stap_resultaat": "beetje", "open_stap_id": float(step_id), "taalniveau": "standaard"}
    ActionStapBijwerken().run(dispatcher, tracker(slots, [user("een beetje")]), DOMAIN)
    assert dispatcher.messages[0]["response"] == "utter_stap_beetje"
    with session_scope(engine) as session:
        [step] = repo.list_steps(session, "unit-client")
        assert step.status == "beetje" and step.resolved_at is not None


def test_plan_look_ups_are_recorded_with_the_colour(engine):
    with session_scope(engine) as session:
        repo.save_safety_plan(
            session, "unit-client", [repo.PlanItemIn("oranje", "helpt", "wandelen")]
        )
    events = [bot("Welke kleur past nu bij jou?"), user("oranje", "p1")]
    for _ in range(2):  # a retried action records it once
        dispatcher = CollectingDispatcher()
        result = validate_plan_colour(
            "oranje",
            dispatcher,
            tracker({"taalniveau": "standaard"}, events, "plan_form"),
            DOMAIN,
            "plan_form",
        )
        assert result == {"plan_kleur": "oranje"}
        assert "wandelen" in str(dispatcher.messages)
    with session_scope(engine) as session:
        rows = session.execute(select(PlanLookup)).scalars().all()
        assert [(r.colour, r.context) for r in rows] == [("oranje", "plan_form")]


def test_the_crisis_reminder_comes_once_per_crisis(engine):
    crisis = [slot("crisis_getoond", True), bot("Bel 113.", "utter_crisis_suicide")]
    slots = {"crisis_getoond": True, "taalniveau": "eenvoudig"}

    def stop(events: list[dict]) -> list[str]:
        dispatcher = CollectingDispatcher()
        ActionPauzeren().run(dispatcher, tracker(slots, [*events, user("stop")]), DOMAIN)
        return [m["response"] for m in dispatcher.messages]

    assert stop(crisis) == ["utter_gestopt", "utter_crisis_herinnering"]
    reminded = [*crisis, user("stop"), bot("Hulp: bel 113.", "utter_crisis_herinnering")]
    assert stop(reminded) == ["utter_gestopt"]  # not at every stop
    again = [*reminded, user("ik wil dood"), *crisis]
    assert stop(again) == ["utter_gestopt", "utter_crisis_herinnering"]  # a new crisis


@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_stop_texts_do_not_repeat_themselves(level):
    def text(name: str) -> str:
        return common.render_response(DOMAIN, name, level)

    for stop in ("utter_gestopt", "utter_gepauzeerd"):
        together = sentences(text(stop) + "\n" + text("utter_crisis_herinnering"))
        assert len(together) == len(set(together)), together
    assert "terug" not in text("utter_crisis_herinnering")


@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_the_opening_disclosure_is_short_with_meer_weten(engine, level):
    main = common.render_response(DOMAIN, "utter_disclosure", level)
    more = common.response_custom(DOMAIN, "utter_disclosure", level)["meer_weten"]
    assert len(sentences(main)) <= 3
    lowered = main.lower()
    assert "computer" in lowered and "geen mens" in lowered  # a computer program
    assert "begeleider" in lowered and ("leest" in lowered or "ziet" in lowered)  # who reads what
    assert "nood" in lowered and "112" in main  # not for emergencies
    assert "gevaar" in more and "bewaar" in more and "cijfers" in more  # the rest
    assert not check_text(more, level)

    # The client's stored level decides (set by the worker who added them), not the
    # conversation's slot, which starts at the domain's initial value.
    with session_scope(engine) as session:
        repo.get_or_create_client(session, "unit-client", level)
    dispatcher = CollectingDispatcher()
    slots = {"taalniveau": "standaard"}
    events = asyncio.run(ActionSessionStart().run(dispatcher, tracker(slots, []), DOMAIN))
    [message] = dispatcher.messages
    assert message["text"] == main and message["custom"] == {"meer_weten": more}
    levels = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == "taalniveau"]
    assert levels[-1] == level  # the last one holds


def test_an_answer_kept_after_the_check_question_answered_the_question_before_it():
    """After a "nee" to the check question, the message that raised it is kept as the answer:
    it answered the question shown before it, not the check question."""
    check = "Ik wil zeker weten dat ik je goed begrijp.\nDenk je erover jezelf iets aan te doen?"
    events = [
        bot(WIE.standaard),
        user("mn ex geblokt op insta", "m1"),
        {"event": "action", "name": "action_crisis_controle"},
        bot(check),
        slot("crisis_controle", {"bericht_id": "m1", "vraag": "antwoord_1"}),
        user("nee", "m2"),
        {"event": "action", "name": "action_crisis_controle_antwoord"},
        bot("Dank je dat je het zegt.\nIk bewaar wat je schreef. We gaan verder."),
        slot("antwoord_1", "mn ex geblokt op insta"),
        slot("crisis_controle", None),
        {"event": "action", "name": "thema_form"},
        slot("antwoord_1", "mn ex geblokt op insta"),  # the resumed form's validation
    ]
    turns = shown.replied_to(events, ["antwoord_1"])
    assert turns["antwoord_1"][0] == [WIE.standaard]
    wordings = {"standaard": WIE.standaard, "eenvoudig": WIE.eenvoudig}
    assert shown.match(turns["antwoord_1"], wordings) == ("standaard", WIE.standaard)
    # A slot an ordinary answer fills after the check still belongs to its own turn.
    later = [*events, bot(FIJN.standaard), user("met mijn moeder", "m3"), slot("antwoord_2", "x")]
    [turn] = shown.replied_to(later, ["antwoord_2"])["antwoord_2"]
    assert turn[-1] == FIJN.standaard and check not in turn


@pytest.mark.parametrize(
    ("theme", "typed", "helped"),
    [
        ("veiligheid", "1", True),
        ("veiligheid", "niet veilig", True),  # the button's own label, typed
        ("veiligheid", "onveilig", True),
        ("veiligheid", "2", False),
        ("hoop", "1", False),
    ],
)
@pytest.mark.parametrize("corrected", [False, True])
def test_not_safe_on_the_safety_scale_gets_the_help_also_typed_or_corrected(
    engine, theme, typed, helped, corrected
):
    """ "Hoe veilig voel je je nu?" answered 1 or "niet veilig", also as a correction of the
    read-back: the fixed help and a safety event for the worker."""
    slots = {"thema": theme, "taalniveau": "standaard", "aanpassen_veld": "thema_schaal"}
    question = content.scale_question(theme, "standaard")
    dispatcher = CollectingDispatcher()
    the_tracker = tracker(slots, [bot(question), user(typed, "m-schaal")])
    if corrected:
        result = ValidateCorrectieForm().validate_nieuw_antwoord(
            typed, dispatcher, the_tracker, DOMAIN
        )
        score = result["nieuw_antwoord"]
    else:
        result = ValidateThemaForm().validate_thema_schaal(typed, dispatcher, the_tracker, DOMAIN)
        score = result["thema_schaal"]
    assert score == ("1" if helped else typed)
    responses = [m.get("response") for m in dispatcher.messages]
    assert ("utter_schaal_niet_veilig" in responses) is helped
    with session_scope(engine) as session:
        events = session.execute(select(SafetyEvent)).scalars().all()
        assert len(events) == int(helped)
        if helped:
            assert (events[0].detected_by, events[0].question_text) == ("client", question)
            assert "0800-0113" in events[0].response_text
