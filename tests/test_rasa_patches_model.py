"""Koers' Rasa patches on the trained model: the shortcuts give what Rasa itself gives.

The `bot` fixture's Agent runs with every patch applied (as `rasa run` does in Koers). Here
each shortcut is checked against Rasa's own code path on the same real conversations:
the next question prepared with a form's validation against the action server's answer to
the same call, TED skipped against the ensemble with TED's real prediction, the indexed rule
lookup against Rasa's, and a long session starting anew at a new check-in."""

from __future__ import annotations

import pytest
from rasa.core.actions.forms import FormAction
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_patches

pytestmark = pytest.mark.slow

CHECK_IN = ["hoi", "4", '/kies_thema{"thema": "hoop"}', "mijn zus", "rustig blijven", "3"]
CHECK_IN += ["ja", "elke dag wandelen", "ja", "ja", "nee"]


def _original(patch: str, owner: type, name: str):
    for cls, attribute, original in rasa_patches._applied[patch]:
        if cls is owner and attribute == name:
            return original
    raise KeyError(name)


def _comparable(events) -> list:
    rows = []
    for event in events:
        data = event.as_dict()
        data.pop("timestamp", None)
        rows.append(data)
    return rows


def _components(bot) -> dict[type, object]:
    nodes = bot.agent.processor.graph_runner._instantiated_nodes.values()
    return {type(node._component): node._component for node in nodes}


def test_all_patches_are_applied_to_the_test_agent(bot):
    assert rasa_patches.applied() == frozenset(rasa_patches.PATCHES)


def test_prepared_questions_equal_the_action_servers_own_answers(bot, monkeypatch):
    patched_ask = FormAction._ask_for_slot
    original_ask = _original("form_prefetch", FormAction, "_ask_for_slot")
    compared: list[tuple[list, list]] = []

    async def checking_ask(self, domain, nlg, output_channel, slot_name, tracker):
        ahead = rasa_patches._prefetched.get()
        got = await patched_ask(self, domain, nlg, output_channel, slot_name, tracker)
        if ahead is not None:
            # The same question asked the ordinary way: a call to the action server.
            fresh = await original_ask(self, domain, nlg, output_channel, slot_name, tracker)
            compared.append((_comparable(got), _comparable(fresh)))
        return got

    monkeypatch.setattr(FormAction, "_ask_for_slot", checking_ask)
    before = dict(rasa_patches.STATS)
    sender = bot.new_sender("prefetch")
    for text in CHECK_IN:
        assert bot.say(sender, text), f"no answer to {text!r}"
    used = rasa_patches.STATS["form_prefetch.used"] - before.get("form_prefetch.used", 0)
    missed = rasa_patches.STATS["form_prefetch.not_matching"] - before.get(
        "form_prefetch.not_matching", 0
    )
    assert used >= 6 and missed == 0, (used, missed)
    assert len(compared) == used
    for got, fresh in compared:
        assert got == fresh


def _prediction_points(bot, tracker: DialogueStateTracker) -> list[DialogueStateTracker]:
    """The tracker as it was before each action of the conversation was predicted."""
    events = list(tracker.events)
    slots = bot.agent.domain.slots
    return [
        DialogueStateTracker.from_events(tracker.sender_id, events[:i], slots)
        for i, event in enumerate(events)
        if isinstance(event, ActionExecuted)
        and event.action_name not in ("action_session_start", None)
    ]


def _winner(ensemble, predictions, tracker, domain):
    """The ensemble's choice, on copies (the ensemble changes probabilities in place)."""
    copies = [
        PolicyPrediction(
            list(p.probabilities),
            p.policy_name,
            p.policy_priority,
            p.events,
            p.optional_events,
            p.is_end_to_end_prediction,
            p.is_no_user_prediction,
        )
        for p in predictions
    ]
    best = ensemble.combine_predictions(copies, tracker, domain)
    return best.policy_name, best.probabilities, _comparable(best.events)


def test_skipping_ted_and_memoization_never_changes_the_predicted_action(bot):
    sender = bot.new_sender("rules")
    for text in CHECK_IN:
        bot.say(sender, text)
    domain = bot.agent.domain
    parts = _components(bot)
    rule, memo, ted = parts[RulePolicy], parts[MemoizationPolicy], parts[TEDPolicy]
    rule_predict = _original("rules_decide", RulePolicy, "predict_action_probabilities")
    ted_predict = _original("rules_decide", TEDPolicy, "predict_action_probabilities")
    memo_predict = _original("rules_decide", MemoizationPolicy, "predict_action_probabilities")
    ensemble = DefaultPolicyPredictionEnsemble()
    decided = 0
    points = _prediction_points(bot, bot.tracker(sender))
    assert len(points) > 30
    for tracker in points:
        r = rule_predict(rule, tracker, domain)
        if not rasa_patches.rule_prediction_decides(r, tracker, domain):
            continue
        decided += 1
        only_rules = rule._get_rule_only_data()
        m = memo_predict(memo, tracker, domain, rule_only_data=only_rules)
        t = ted_predict(ted, tracker, domain, rule_only_data=only_rules)
        # What the patched policies answer instead: all zeros.
        zero_m = memo.predict_action_probabilities(tracker, domain, rule_only_data=only_rules)
        zero_t = ted.predict_action_probabilities(tracker, domain, rule_only_data=only_rules)
        assert max(zero_m.probabilities) == max(zero_t.probabilities) == 0.0
        assert _winner(ensemble, (r, m, t), tracker, domain) == _winner(
            ensemble, (r, zero_m, zero_t), tracker, domain
        )
    assert decided > len(points) // 2, "the rules decide most steps of a check-in"


def test_the_rules_are_asked_once_per_prediction(bot, monkeypatch):
    """The RulePolicy's prediction is shared by the rules, TED and memoization, whatever
    order the graph runs them in."""
    computed: list[int] = []
    made: list[int] = []
    original_predict = RulePolicy._predict
    original_combine = DefaultPolicyPredictionEnsemble.combine_predictions

    def counting_predict(self, tracker, domain):  # type: ignore[no-untyped-def]
        computed.append(len(tracker.events))
        return original_predict(self, tracker, domain)

    def counting_combine(self, predictions, tracker, domain):  # type: ignore[no-untyped-def]
        made.append(len(tracker.events))
        return original_combine(self, predictions, tracker, domain)

    monkeypatch.setattr(RulePolicy, "_predict", counting_predict)
    monkeypatch.setattr(DefaultPolicyPredictionEnsemble, "combine_predictions", counting_combine)
    skipped = rasa_patches.STATS["rules_decide.memo_skipped"]
    sender = bot.new_sender("once")
    for text in CHECK_IN:
        assert bot.say(sender, text), f"no answer to {text!r}"
    assert len(made) >= 20
    assert computed == made
    assert rasa_patches.STATS["rules_decide.memo_skipped"] - skipped > len(made) // 2


def test_indexed_rule_lookup_equals_rasas_on_real_conversations(bot):
    sender = bot.new_sender("lookup")
    for text in CHECK_IN:
        bot.say(sender, text)
    domain = bot.agent.domain
    rule = _components(bot)[RulePolicy]
    original = _original("rule_lookup", RulePolicy, "_get_possible_keys")
    matched = 0
    for tracker in _prediction_points(bot, bot.tracker(sender)):
        for use_text in (False, True):
            states = rule._prediction_states(
                tracker, domain, use_text, rule_only_data=rule._get_rule_only_data()
            )
            for lookup in rule.lookup.values():
                if not isinstance(lookup, dict):
                    continue
                expected = original(rule, lookup, states)
                assert rule._get_possible_keys(lookup, states) == expected
                matched += bool(expected)
    assert matched > 20


def test_a_long_session_starts_anew_at_the_next_check_in(bot, monkeypatch):
    # The default (200 events) is a bit more than one check-in; 60 keeps the test short.
    monkeypatch.setattr(rasa_patches, "session_max_events", lambda: 60)
    rasa_patches.revert(["session_length"])
    rasa_patches.apply(["session_length"])
    try:
        sender = bot.new_sender("lang")
        assert "computerprogramma" in bot.texts(sender, "/groet")
        for text in CHECK_IN[1:]:
            bot.say(sender, text)
        tracker = bot.tracker(sender)
        assert tracker.active_loop_name is None and rasa_patches.events_in_session(tracker) > 60

        def sessions() -> int:  # new sessions started by the patch so far
            return rasa_patches.STATS["session_length.new_session"]

        before = sessions()
        # Opening the chat again: a new session, the same check-in, no disclosure again.
        reply = bot.texts(sender, "/groet")
        assert "Hoe gaat het vandaag?" in reply and "computerprogramma" not in reply
        tracker = bot.tracker(sender)
        assert sessions() == before + 1
        assert rasa_patches.events_in_session(tracker) < 40
        assert tracker.get_slot("taalniveau") == "standaard"  # slots carried over
        assert tracker.active_loop_name == "checkin_form"
        # A greeting inside the check-in form does not start another session.
        bot.say(sender, "/groet")
        assert sessions() == before + 1
        # The check-in goes on as always: last time's small step is asked about.
        assert "Vorige keer koos je dit stapje: elke dag wandelen" in bot.texts(sender, "2")
    finally:
        # The limit is read when the patch is applied: apply it again with the real one, or
        # every later test in this session would run with 60.
        monkeypatch.undo()
        rasa_patches.revert(["session_length"])
        rasa_patches.apply(["session_length"])


def test_the_bot_answers_after_the_patches_are_reverted_and_applied_again(bot):
    """Tests and benchmarks take patches off and put them back (`revert`, `apply`); a turn
    through the bot must still be answered afterwards, on the session's event loop and on a
    second one (each loop has its own keep-alive session to the action server)."""
    import asyncio

    before = rasa_patches.applied()
    assert set(rasa_patches.revert()) == set(before)
    try:
        assert "computerprogramma" in bot.texts(bot.new_sender("zonder"), "hoi")
    finally:
        rasa_patches.apply()
    assert rasa_patches.applied() == before
    assert "Hoe gaat het vandaag?" in bot.texts(bot.new_sender("opnieuw"), "hoi")
    other = asyncio.new_event_loop()
    try:
        sender = bot.new_sender("tweede-loop")
        replies = other.run_until_complete(bot.agent.handle_text("hoi", sender_id=sender))
        assert "Hoe gaat het vandaag?" in "\n".join(m.get("text") or "" for m in replies)
        other.run_until_complete(rasa_patches.close_http_sessions())
    finally:
        other.close()
    assert "Hoe gaat het vandaag?" in bot.texts(bot.new_sender("daarna"), "hoi")


def _offered_payloads(bot) -> set[str]:
    """Every intent payload a button of the domain or of an action can send."""
    from actions.common import response_buttons
    from bot import content
    from bot.short_answers import THEME_PAYLOAD
    from bot.vocabulary import LANGUAGE_LEVELS

    domain = bot.agent.domain.as_dict()
    payloads = {
        button["payload"]
        for name in domain["responses"]
        for level in LANGUAGE_LEVELS
        for button in response_buttons(domain, name, level)
        if button["payload"].startswith("/")
    }
    payloads |= {THEME_PAYLOAD.format(theme) for theme in content.theme_keys()}
    return payloads | {"/hervatten", "/weet_niet", "/taal_standaard", "/taal_eenvoudig"}


def test_a_payload_gets_the_parse_data_of_the_whole_pipeline(bot):
    """The payload shortcut gives exactly what the pipeline (ending in Rasa's
    RegexMessageHandler) gives; anything that is not a payload of a known intent still goes
    through the pipeline."""
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    processor = bot.agent.processor
    pipeline = _original("nlu_shortcuts", MessageProcessor, "_parse_message_with_graph")
    tracker = DialogueStateTracker.from_events("payloads", [], bot.agent.domain.slots)
    payloads = _offered_payloads(bot)
    assert len(payloads) >= 15, sorted(payloads)
    # Rasa reads the intent of "/bevestigen{kapot" and drops the rest; a confidence after "@"
    # and an entity the domain does not know are Rasa's own cases too.
    read = ["/bevestigen{kapot", "/bevestigen@0.8", "/ontkennen@2", '/kies_thema{"onbekend": "x"}']
    odd = ["/onbekend", "/", "/ik wil dood", "//groet", "/onbekend@0.5"]
    before = rasa_patches.STATS["nlu_shortcuts.payload"]
    for text in sorted(payloads) + read + odd:
        for only_output in (True, False):
            message = UserMessage(text, sender_id="payloads")
            assert processor._parse_message_with_graph(message, tracker, only_output) == pipeline(
                processor, message, tracker, only_output
            ), (text, only_output)
    used = rasa_patches.STATS["nlu_shortcuts.payload"] - before
    # Every offered payload and every payload Rasa reads took the shortcut (twice: both
    # output modes); the unknown intents and the free text after a slash went through the
    # pipeline.
    assert used == 2 * (len(payloads) + len(read)), (used, len(payloads))
    crisis = processor._parse_message_with_graph(UserMessage("/ik wil dood"), tracker)
    assert crisis.get("crisis", {}).get("outcome") == "crisis"


def test_short_texts_are_cached_within_a_turn_only_and_equal_the_pipeline(bot):
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    processor = bot.agent.processor
    pipeline = _original("nlu_shortcuts", MessageProcessor, "_parse_message_with_graph")
    tracker = DialogueStateTracker.from_events("short", [], bot.agent.domain.slots)
    stats = rasa_patches.STATS

    # Outside a turn (/model/parse): never cached.
    before = stats["nlu_shortcuts.cached"]
    for _ in range(2):
        bot.parse("ik ben zo moe")
    assert stats["nlu_shortcuts.cached"] == before

    token = rasa_patches._in_turn.set(True)
    try:
        for text in ["4", "hoi", "ik wil dood", "mn moeder"]:
            first = processor._parse_message_with_graph(UserMessage(text), tracker)
            before = stats["nlu_shortcuts.cached"]
            second = processor._parse_message_with_graph(UserMessage(text), tracker)
            assert stats["nlu_shortcuts.cached"] == before + 1, text
            assert first == second == pipeline(processor, UserMessage(text), tracker), text
            second["intent"]["name"] = "veranderd"  # a caller's change never reaches the cache
            third = processor._parse_message_with_graph(UserMessage(text), tracker)
            assert third == first, text
        long = "ik heb vandaag mijn zus gebeld"  # longer than SHORT_TEXT_CHARS: always the pipeline
        assert len(long) > rasa_patches.SHORT_TEXT_CHARS
        before = stats["nlu_shortcuts.cached"]
        processor._parse_message_with_graph(UserMessage(long), tracker)
        processor._parse_message_with_graph(UserMessage(long), tracker)
        assert stats["nlu_shortcuts.cached"] == before
    finally:
        rasa_patches._in_turn.reset(token)

    # A real turn uses the cache: the second client's mood button "5" is not parsed again
    # (the first one's may be, or may be cached by an earlier test of this session).
    hits = []
    for name in ("kort-1", "kort-2"):
        sender = bot.new_sender(name)
        bot.say(sender, "hoi")
        before = stats["nlu_shortcuts.cached"]
        assert bot.say(sender, "5")
        hits.append(stats["nlu_shortcuts.cached"] - before)
        assert bot.tracker(sender).get_slot("stemming") == "5", name
    assert hits[1] == 1, hits
