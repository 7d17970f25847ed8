"""SafetyContextPolicy on real Rasa trackers and the project's domain: the check question's
answer, context that raises or lowers the outcome, and what happens after its actions."""

from __future__ import annotations

import pytest
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.safety.policy import (
    ACTION_CHECK,
    ACTION_CHECK_ANSWER,
    ACTION_CRISIS,
    SafetyContextPolicy,
)
from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture(scope="module")
def policy() -> SafetyContextPolicy:
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource

    context = ExecutionContext(GraphSchema({}), "test")
    return SafetyContextPolicy(
        SafetyContextPolicy.get_default_config(),
        LocalModelStorage.__new__(LocalModelStorage),
        Resource("safety"),
        context,
    )


def user(text: str, intent: str, outcome: str = "calm", semantic: float = 0.0) -> UserUttered:
    parse = {
        "intent": {"name": intent, "confidence": 1.0},
        "text": text,
        "crisis": {
            "outcome": outcome,
            "category": "suicide",
            "evidence": {"semantic": semantic, "semantic_category": "suicide"},
        },
    }
    return UserUttered(text, parse["intent"], parse_data=parse)


def tracker(domain: Domain, *events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "t", [ActionExecuted(ACTION_LISTEN_NAME), SessionStarted(), *events], domain.slots
    )


def listen(*events):
    return [*events, ActionExecuted(ACTION_LISTEN_NAME)]


def test_a_calm_message_is_left_to_the_rules(policy, domain):
    t = tracker(domain, *listen(), user("ik heb gekookt", "vrij_antwoord"))
    assert policy.next_action(t) is None
    prediction = policy.predict_action_probabilities(t, domain)
    assert max(prediction.probabilities) == 0.0 and not prediction.is_no_user_prediction


def test_an_open_check_question_takes_any_answer(policy, domain):
    state = {"sleutel": "k", "categorie": "suicide", "form": "thema_form", "gevraagd": 1}
    for intent in ("bevestigen", "ontkennen", "groet", "kies_thema"):
        t = tracker(
            domain,
            ActionExecuted(ACTION_CHECK),
            SlotSet("crisis_controle", state),
            *listen(),
            user("hmm", intent),
        )
        assert policy.next_action(t) == ACTION_CHECK_ANSWER
    prediction = policy.predict_action_probabilities(t, domain)
    assert prediction.probabilities[domain.index_for_action(ACTION_CHECK_ANSWER)] == 1.0
    assert prediction.is_no_user_prediction, "it comes before any form's own happy path"
    assert prediction.policy_priority == 7


def test_after_the_crisis_help_and_the_check_question_koers_waits(policy, domain):
    for action in (ACTION_CRISIS, ACTION_CHECK):
        t = tracker(domain, *listen(), user("x", "crisis"), ActionExecuted(action))
        assert policy.next_action(t) == ACTION_LISTEN_NAME


def test_after_nee_the_paused_form_comes_back(policy, domain):
    t = tracker(
        domain,
        *listen(),
        user("nee", "ontkennen"),
        ActionExecuted(ACTION_CHECK_ANSWER),
        SlotSet("controle_hervat", "thema_form"),
    )
    assert policy.next_action(t) == "thema_form"
    prediction = policy.predict_action_probabilities(t, domain)
    assert prediction.probabilities[domain.index_for_action("thema_form")] == 1.0
    t = tracker(domain, *listen(), user("ja", "bevestigen"), ActionExecuted(ACTION_CHECK_ANSWER))
    assert policy.next_action(t) == ACTION_LISTEN_NAME


def test_a_low_mood_turns_a_calm_middle_score_into_the_check_question(policy, domain):
    events = [SlotSet("stemming", "2"), ActiveLoop("thema_form"), *listen()]
    t = tracker(domain, *events, user("ik ben op de brug", "vrij_antwoord", "calm", 0.6))
    assert policy.next_action(t) == ACTION_CHECK
    # The same message after a good mood is left alone.
    events[0] = SlotSet("stemming", "4")
    t = tracker(domain, *events, user("ik ben op de brug", "vrij_antwoord", "calm", 0.6))
    assert policy.next_action(t) is None


def test_a_worrying_previous_message_raises_a_check_to_the_crisis_help(policy, domain):
    t = tracker(
        domain,
        *listen(),
        user("alles is zinloos, ik kan niet meer", "vrij_antwoord", "check", 0.8),
        ActionExecuted("utter_verder"),
        *listen(),
        user("ik heb alles klaar liggen", "crisis_check", "check", 0.9),
    )
    assert policy.next_action(t) == ACTION_CRISIS


def test_a_calm_previous_message_turns_a_meaning_only_crisis_into_a_check(policy, domain):
    t = tracker(
        domain,
        *listen(),
        user("ik ga vandaag vissen met mijn vader", "vrij_antwoord", "calm", 0.05),
        ActionExecuted("utter_verder"),
        *listen(),
        user("ik sta nu op de brug", "crisis", "crisis", 0.99),
    )
    assert policy.next_action(t) == ACTION_CHECK
    # After a mere greeting the crisis help stays at once (the rules give it).
    t = tracker(
        domain,
        *listen(),
        user("hoi", "groet"),
        ActionExecuted("utter_groet"),
        *listen(),
        user("ik sta nu op de brug", "crisis", "crisis", 0.99),
    )
    assert policy.next_action(t) is None


def test_a_low_mood_keeps_a_doubted_word_list_hit_the_crisis_help(policy, domain):
    """Rule 1a (ninth pass) lowers a word-list hit whose meaning clearly denies it to the
    check question, never after a low mood: the policy, which sees the mood, gives the crisis
    help."""
    text = "film gezien waar een man van de brug springt en het overleeft, goeie film"
    message = user(text, "vrij_antwoord", "check", 0.06)
    message.parse_data["crisis"]["evidence"].update(
        matcher_category="suicide",
        semantic_read=True,
        matcher_doubtable=True,
        words=len(text.split()),
    )
    events = [SlotSet("stemming", "2"), ActiveLoop("thema_form"), *listen()]
    assert policy.next_action(tracker(domain, *events, message)) == ACTION_CRISIS
    events[0] = SlotSet("stemming", "4")
    # After a good mood the rules ask the check question (the message's intent then).
    assert policy.next_action(tracker(domain, *events, message)) is None


def test_a_long_story_calm_sentence_by_sentence_gets_the_check_after_a_low_mood(policy, domain):
    """Rule 9 (twelfth pass): the guard drops the check question of a long story whose every
    sentence on its own is calm, but never in a worrying context, which only the policy sees:
    after a low mood or a worrying message it asks the check question after all."""
    text = (
        "Vandaag was het stil in huis. Ik heb lang op de bank gelegen en naar buiten "
        "gekeken. Ik mis mijn moeder. Vanavond kook ik iets simpels."
    )

    def story() -> UserUttered:
        message = user(text, "vrij_antwoord", "calm", 0.7)
        message.parse_data["crisis"]["evidence"].update(
            semantic_read=True, sentences_calm=True, words=len(text.split())
        )
        return message

    events = [SlotSet("stemming", "2"), ActiveLoop("thema_form"), *listen()]
    assert policy.next_action(tracker(domain, *events, story())) == ACTION_CHECK
    events[0] = SlotSet("stemming", "4")
    assert policy.next_action(tracker(domain, *events, story())) is None
    after_check = [
        *listen(),
        user("alles is zinloos, ik kan niet meer", "vrij_antwoord", "check", 0.8),
        ActionExecuted("utter_verder"),
        *listen(),
    ]
    assert policy.next_action(tracker(domain, *after_check, story())) == ACTION_CHECK
