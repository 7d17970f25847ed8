"""The answer to the check question (actions/safety.py `read_check_answer`)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker

from actions.safety import read_check_answer
from bot.safety.decision import SHORT_ANSWER_WORDS, Bands


def reply(text: str, intent: str, evidence: dict | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if evidence is not None:
        message["crisis"] = {"outcome": "calm", "evidence": evidence}
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message=message,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("nee", "ontkennen", "nee"),
        ("nee hoor", "vrij_antwoord", "nee"),
        ("ja", "bevestigen", "ja"),
        ("weet ik niet", "weet_niet", "weet_niet"),
        ("ik wil dood", "crisis", "ja"),
        ("hmm", "vrij_antwoord", None),
    ],
)
def test_plain_answers(text, intent, expected):
    assert read_check_answer(reply(text, intent)) == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # "Weet ik niet" words count anywhere, also after a "nee".
        ("ik weet het niet meer", "weet_niet", "weet_niet"),
        ("nee, ik weet het niet meer, alles is zo zwaar geworden", "ontkennen", "weet_niet"),
        ("nee joh, ik twijfel heel erg of ik het nog volhoud", "ontkennen", "weet_niet"),
        ("nee, ik weet het eigenlijk echt niet zo goed meer hoor", "weet_niet", "weet_niet"),
        ("ga morgen vissen, ik weet nie of mn oom ook komt", "vrij_antwoord", "weet_niet"),
        # "Misschien" and "een beetje": a half yes, also further on ...
        ("misschien wel", "vrij_antwoord", "weet_niet"),
        ("een beetje", "vrij_antwoord", "weet_niet"),
        ("ja een beetje", "bevestigen", "weet_niet"),
        ("ik denk het soms misschien wel", "vrij_antwoord", "weet_niet"),
        ("nee niet echt, een beetje", "ontkennen", "weet_niet"),
        ("nee, misschien wel", "ontkennen", "weet_niet"),
        ("nee een beetje", "ontkennen", "weet_niet"),
        ("nee... soms wel", "ontkennen", "weet_niet"),
        ("nee kweet het niet", "ontkennen", "weet_niet"),
        ("nee, maar ik denk er wel vaak aan", "ontkennen", "weet_niet"),
        ("ik denk er soms aan", "vrij_antwoord", "weet_niet"),
        # ... but when more follows them after a clear "nee", it is about something else:
        # unclear (asked once more), never a "nee" and never the crisis help at once.
        ("nee joh, ik was gewoon een beetje moe", "ontkennen", None),
        ("nee hoor, ik ga morgen misschien vissen met mn vader", "ontkennen", None),
        ("nee, ik ga soms vissen met mn oom", "ontkennen", None),
        # A clear no stays a no.
        ("nee, daar denk ik niet aan", "ontkennen", "nee"),
        ("nee hoor, ik denk er niet aan", "ontkennen", "nee"),
    ],
)
def test_dont_know_words_and_a_half_yes_after_a_no(text, intent, expected):
    assert read_check_answer(reply(text, intent)) == expected


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        # A "nee" that takes itself back is "weet ik niet": the crisis help.
        ("nee... eigenlijk wel", "ontkennen", "weet_niet"),
        ("nee niet mezelf maar hem wel", "ontkennen", "weet_niet"),
        ("nee maar ik heb het al gedaan", "ontkennen", "weet_niet"),
        ("nee, vanavond wel", "ontkennen", "weet_niet"),
        ("nee niet zeker", "ontkennen", "weet_niet"),
        # Not yet, not now, or no answer: unclear, so the check once more.
        ("nee, nu nog niet", "ontkennen", None),
        ("nee nu even niet", "ontkennen", None),
        ("niet vandaag", "ontkennen", None),
        ("dat gaat je niks aan", "ontkennen", None),
        ("nee, daar wil ik niet over praten", "ontkennen", None),
        # A stretched word counts as the word; "help" asks for help.
        ("neeeee", "vrij_antwoord", "nee"),
        ("jaaaaa", "vrij_antwoord", "ja"),
        ("help", "vrij_antwoord", "ja"),
        # Everyday words after a clear no keep the no.
        ("nee ik denk er echt niet aan", "ontkennen", "nee"),
        ("nee, ik denk er nu niet aan", "ontkennen", "nee"),
        ("nee hoor, het gaat wel", "ontkennen", "nee"),
        ("nee ik red me wel", "ontkennen", "nee"),
    ],
)
def test_a_no_that_takes_itself_back_is_no_no(text, intent, expected):
    assert read_check_answer(reply(text, intent)) == expected


def test_the_reply_to_the_check_is_read_without_the_parts_lowering():
    """A reply in the check band counts as "ja" even when no clause of it looks like a
    crisis on its own (that lowering is for a first message, not for an answer)."""
    text = "nee hoor, ik heb de pillen al gekocht, vanavond is het zover"
    signal = {"semantic": Bands().check + 0.1, "semantic_parts": 0.1, "words": 11}
    assert read_check_answer(reply(text, "ontkennen", signal)) == "ja"
    # ... and without rule 9's "every sentence calm" (eleventh pass): a long reply whose
    # sentences each read calm alone is still read as a whole.
    long = {"semantic": Bands().check + 0.1, "words": 24, "sentences_calm": True}
    text = "nee hoor. het gaat wel. ik ben gewoon heel moe van alles en iedereen om me heen."
    assert read_check_answer(reply(text, "ontkennen", long)) == "ja"


def test_a_short_classifier_only_crisis_reply_is_never_a_no():
    """The NLU leaves a short classifier-only crisis to the policy (rule 6), so its intent is
    no longer `crisis_check`; right after a check question it must still count as "ja", also
    when it starts with a word that reads as "nee" ("niet meer leven")."""
    words = SHORT_ANSWER_WORDS
    signal = {"classifier": 0.97, "semantic": Bands().classifier_floor, "words": words}
    assert read_check_answer(reply("niet meer leven", "vrij_antwoord", signal)) == "ja"
    assert read_check_answer(reply("nee, ben klaar", "ontkennen", signal)) == "ja"
    # The same words with calm evidence stay what they say.
    calm = {"classifier": 0.0, "semantic": 0.05, "words": words}
    assert read_check_answer(reply("nee, ben klaar", "ontkennen", calm)) == "nee"


def _after_check(events: list[dict]) -> Tracker:
    return Tracker(
        sender_id="unit",
        slots={},
        latest_message={"text": "nee", "intent": {"name": "ontkennen", "confidence": 1.0}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def test_after_nee_the_message_that_raised_the_check_is_the_answer():
    from actions.actions import checked_answer

    events = [
        {"event": "user", "text": "mijn oom", "message_id": "m1"},
        {"event": "user", "text": "kleiduiven schieten", "message_id": "m2"},
        {"event": "user", "text": "nee", "message_id": "m3"},
    ]
    tracker = _after_check(events)
    state = {"bericht_id": "m2", "vraag": "antwoord_2"}
    assert checked_answer(tracker, state, "thema_form") == {"antwoord_2": "kleiduiven schieten"}
    assert checked_answer(tracker, {**state, "vraag": "stapje"}, "stapje_form") == {}, "no step"
    assert checked_answer(tracker, {**state, "vraag": "thema_schaal"}, "thema_form") == {}
    assert checked_answer(tracker, {"bericht_id": "m2"}, "thema_form") == {}, "no open question"
    assert checked_answer(tracker, state, None) == {}, "no form to go back to"
    assert checked_answer(tracker, {**state, "bericht_id": "gone"}, "thema_form") == {}
    payload = [{"event": "user", "text": "/bevestigen", "message_id": "m2"}]
    assert checked_answer(_after_check(payload), state, "thema_form") == {}, "a button is no answer"


def _message(text: str, *ranking: tuple[str, float]) -> dict:
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    parse = {"intent": intents[0] if intents else {}, "intent_ranking": intents}
    return {"event": "user", "text": text, "parse_data": parse}


def test_only_a_real_answer_is_kept_after_the_check():
    """The message that raised the check gets the checks a typed answer gets, read from that
    message and not from the "nee"."""
    from actions.forms import kept_after_check

    check = ("crisis_check", 1.0)
    assert kept_after_check(_message(" kleiduiven schieten ", check, ("vrij_antwoord", 0.6)))
    assert kept_after_check(_message("kleiduiven schieten", check, ("groet", 0.1))), "weak greet"
    # The classifier's goodbye on an answer is no stop without a stop word.
    assert kept_after_check(_message("dat ik loyaal ben tot de dood", check, ("afscheid", 0.97)))
    for message in (
        _message("stop maar, ik sta bij het spoor", check, ("stoppen", 0.8)),
        _message("laat maar ik zit op het dak", check, ("vrij_antwoord", 0.8)),
        _message("hoi ik sta bij het spoor", check, ("groet", 0.5)),
        _message("wat gebeurt er als je dood gaat?", check, ("vrij_antwoord", 0.9)),
        _message("weet nie", check),
        _message("/bevestigen", check),
        _message("🙂🙂", check),
        _message("a" * 2001, check),
        _message("", check),
    ):
        assert kept_after_check(message) is None, message["text"][:40]


@pytest.mark.parametrize(("text", "intent"), [("stop", "stoppen"), ("doei", "afscheid")])
def test_leaving_instead_of_answering_the_check_gets_the_crisis_help(monkeypatch, text, intent):
    """ "Stop" or "doei" in reply to the check question: the client may be gone after this
    turn, so the crisis help now, not the check once more (which has no numbers)."""
    import yaml
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import ActionCrisisControleAntwoord
    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))

    answers = []
    monkeypatch.setattr("actions.actions.record_check_answer", lambda *a: answers.append(a[2]))
    tracker = reply(text, intent)
    tracker.slots.update(
        {"taalniveau": "standaard", "crisis_controle": {"sleutel": "k", "gevraagd": 1}}
    )
    dispatcher = CollectingDispatcher()
    ActionCrisisControleAntwoord().run(dispatcher, tracker, domain)
    shown = [m.get("response") for m in dispatcher.messages]
    from bot.responses import render_response

    texts = " ".join(render_response(domain, r, "standaard") for r in shown if r)
    assert "utter_crisis_controle_nogmaals" not in shown
    assert any(r and r.startswith("utter_crisis_") and "controle" not in r for r in shown), shown
    assert answers == ["weet_niet"]
    assert all(number in texts for number in ("113", "0800-0113", "112", "0800-2000")), shown
