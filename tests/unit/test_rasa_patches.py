"""Koers' Rasa start-up patches (bot/rasa_patches.py) keep Rasa's behaviour: each patched
function gives what the original gives, on the same input. Without the trained model; the
model-level checks are in tests/test_rasa_patches_model.py."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.nlu.constants import ACTION_NAME, INTENT

from actions import hooks
from bot import rasa_patches

SPEC = RemoteAction.action_response_format_spec()


@pytest.fixture
def patched():
    """Apply all patches for one test, and take them off again afterwards."""
    before = rasa_patches.applied()
    rasa_patches.apply()
    yield
    rasa_patches.revert([n for n in rasa_patches.applied() if n not in before])


def test_apply_is_idempotent_and_revert_restores_the_originals():
    # In a full run the session's `bot` fixture has applied every patch already: take these
    # two off first, so that the originals are Rasa's own, and put them back afterwards.
    names = ["validator", "rule_lookup"]
    before = rasa_patches.applied()
    rasa_patches.revert(names)
    original = RemoteAction.__dict__["_validate_action_result"]
    original_key_to_state = RulePolicy.__dict__["_rule_key_to_state"]
    try:
        assert rasa_patches.apply(names) == names
        assert rasa_patches.apply(names) == []
        assert RemoteAction.__dict__["_validate_action_result"] is not original
        assert RulePolicy.__dict__["_rule_key_to_state"] is not original_key_to_state
        assert rasa_patches.revert(names) == list(reversed(names))
        assert RemoteAction.__dict__["_validate_action_result"] is original
        assert RulePolicy.__dict__["_rule_key_to_state"] is original_key_to_state
        assert rasa_patches.apply(names) == names  # and again
        assert RemoteAction.__dict__["_validate_action_result"] is not original
    finally:
        rasa_patches.revert(names)
        restore = [n for n in names if n in before]
        if restore:  # apply([]) would apply every patch (run alone, nothing was applied)
            rasa_patches.apply(restore)
    assert rasa_patches.applied() == before


def test_nothing_is_patched_on_another_rasa_version(monkeypatch):
    monkeypatch.setattr(rasa_patches, "_rasa_version", lambda: "3.7.0")
    assert rasa_patches.apply(["validator"]) == []


# --- validator --------------------------------------------------------------------------------

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": None}]},
    {"responses": [{"text": "hoi", "buttons": []}]},
]
BAD = [
    {"events": [{"event": "slot"}]},  # a slot event without a name
    {"events": [{"event": "no_such_event"}]},
    {"events": "niet een lijst"},
    {"responses": ["tekst in plaats van een object"]},
]


@pytest.mark.parametrize("response", GOOD + BAD)
def test_prebuilt_validator_accepts_and_refuses_exactly_what_jsonschema_does(response):
    validator = rasa_patches.ResponseValidator(SPEC)
    try:
        validate(response, SPEC)
        expected = None
    except ValidationError as error:
        expected = (error.message, list(error.absolute_path), error.validator)
    try:
        validator.validate(response)
        got = None
    except ValidationError as error:
        got = (error.message, list(error.absolute_path), error.validator)
    assert got == expected
    assert (expected is None) == (response in GOOD)


def test_the_schema_is_checked_once_not_at_every_response(patched, monkeypatch):
    import jsonschema.validators

    calls = []
    cls = jsonschema.validators.validator_for(SPEC)
    original = cls.check_schema.__func__
    monkeypatch.setattr(
        cls, "check_schema", classmethod(lambda c, s: calls.append(1) or original(c, s))
    )
    rasa_patches._validators.clear()
    action = RemoteAction("action_test", None)
    for _ in range(5):
        assert action._validate_action_result({"events": [], "responses": []})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "slot"}]})
    assert len(calls) == 1


# --- rules_decide -----------------------------------------------------------------------------

DOMAIN = Domain.from_dict(
    {
        "intents": ["groet", "bevestigen"],
        "actions": ["action_a", "action_b"],
        "slots": {"x": {"type": "any", "mappings": [{"type": "custom"}]}},
    }
)


def _prediction(best: str | None, confidence: float, **kwargs) -> PolicyPrediction:
    probabilities = [0.0] * DOMAIN.num_actions
    if best is not None:
        probabilities[DOMAIN.index_for_action(best)] = confidence
    return PolicyPrediction(probabilities, "RulePolicy", 6, **kwargs)


def _tracker(*events: Event) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("s", list(events), DOMAIN.slots)


def _ensemble_winner(predictions, tracker):
    from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble

    winner = DefaultPolicyPredictionEnsemble().combine_predictions(
        [
            PolicyPrediction(
                list(p.probabilities),
                p.policy_name,
                p.policy_priority,
                is_no_user_prediction=p.is_no_user_prediction,
            )
            for p in predictions
        ],
        tracker,
        DOMAIN,
    )
    return winner.policy_name, winner.probabilities


@pytest.mark.parametrize(
    "rule, events, decides",
    [
        (_prediction("action_a", 1.0), [ActionExecuted("action_listen")], True),
        (_prediction("action_a", 0.3), [ActionExecuted("action_listen")], False),
        (_prediction(None, 0.0), [ActionExecuted("action_listen")], False),
        # The ensemble zeroes a just-rejected action: then TED must be asked.
        (
            _prediction("action_a", 1.0),
            [ActionExecuted("action_listen"), ActionExecutionRejected("action_a")],
            False,
        ),
        (_prediction("action_a", 0.1, is_no_user_prediction=True), [], True),
    ],
)
def test_rules_decide_exactly_when_ted_cannot_win(rule, events, decides):
    tracker = _tracker(*events)
    assert rasa_patches.rule_prediction_decides(rule, tracker, DOMAIN) is decides
    if decides:  # whatever TED says (at most 1.0), the ensemble takes the rule's prediction
        for ted_best in ("action_a", "action_b"):
            ted = PolicyPrediction(_prediction(ted_best, 1.0).probabilities, "TEDPolicy", 1)
            zero = PolicyPrediction([0.0] * DOMAIN.num_actions, "TEDPolicy", 1)
            assert _ensemble_winner([rule, ted], tracker) == _ensemble_winner([rule, zero], tracker)


# --- rule_lookup ------------------------------------------------------------------------------

ACTIONS = ["action_listen", "action_a", "action_b", "utter_x", "form_a"]


def _state(rng: random.Random, start: bool = False) -> dict:
    if start:
        return {}
    state: dict = {PREVIOUS_ACTION: {ACTION_NAME: rng.choice(ACTIONS)}}
    if rng.random() < 0.6:
        state["user"] = {INTENT: rng.choice(["groet", "bevestigen", "ontkennen"])}
    if rng.random() < 0.3:
        state["active_loop"] = {"name": rng.choice(["form_a", SHOULD_NOT_BE_SET])}
    if rng.random() < 0.3:
        state["slots"] = {"x": (rng.choice([1.0, 0.0]),)}
    return state


def _rule_key(rng: random.Random) -> str:
    length = rng.randint(1, 3)
    states = [_state(rng, start=(i == 0 and rng.random() < 0.15)) for i in range(length)]
    return json.dumps(states, sort_keys=True)


def test_indexed_rule_lookup_finds_the_same_rules_as_rasa():
    rng = random.Random(13)
    lookup = {_rule_key(rng): "action_a" for _ in range(400)}
    policy = RulePolicy.__new__(RulePolicy)
    original = RulePolicy._get_possible_keys
    before = rasa_patches.applied()
    rasa_patches.apply(["rule_lookup"])
    try:
        patched = RulePolicy._get_possible_keys
        found = 0
        for _ in range(400):
            length = rng.randint(0, 12)
            states = [_state(rng, start=(i == 0 and rng.random() < 0.3)) for i in range(length)]
            # Make matches likely: end the conversation like some rule ends.
            if rng.random() < 0.7 and length:
                tail = json.loads(rng.choice(list(lookup)))
                states[-len(tail) :] = tail[-len(states) :]
            expected = original(policy, lookup, states)
            assert patched(policy, lookup, states) == expected
            found += bool(expected)
        assert found > 100, "the comparison must cover conversations that match rules"
    finally:
        if "rule_lookup" not in before:
            rasa_patches.revert(["rule_lookup"])


# --- past_states ------------------------------------------------------------------------------


def test_shared_past_states_are_equal_and_independent_copies(patched):
    domain = Domain.from_dict(
        {"intents": ["groet"], "actions": ["action_a"], "forms": {}, "slots": {}}
    )
    tracker = DialogueStateTracker.from_events(
        "s",
        [
            ActionExecuted("action_listen"),
            UserUttered("hoi", {"name": "groet", "confidence": 1.0}),
            ActionExecuted("action_a"),
            ActionExecuted("action_listen"),
        ],
        domain.slots,
    )
    first = tracker.past_states(domain)
    second = tracker.past_states(domain)
    assert first == second
    first[-1].setdefault("user", {})["intent"] = "iets anders"
    assert tracker.past_states(domain) == second  # the cached states were not changed
    tracker.update(ActionExecuted("action_a"))
    assert len(tracker.past_states(domain)) == len(second) + 1  # a new state: computed anew


# --- event_types ------------------------------------------------------------------------------


def test_event_classes_are_the_same_as_rasas_lookup(patched):
    names = ["user", "bot", "action", "slot", "active_loop", "session_started", "rewind"]
    original = rasa_patches._applied["event_types"][0][2].__func__
    for name in itertools.chain(names, names):
        assert Event.resolve_by_type(name) is original(name)
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        Event.resolve_by_type("geen_event")


# --- form_prefetch: both sides compute the same signature -----------------------------------


def test_the_action_server_and_rasa_describe_an_ask_actions_input_alike():
    events = [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered("4", {"name": "bevestigen", "confidence": 1.0}),
        ActionExecuted("hoop_form"),
        ActiveLoop("hoop_form"),
        SlotSet("x", [1, "twee"]),
        ActionExecuted("action_uitleg"),
    ]
    tracker = DialogueStateTracker.from_events("s", events, DOMAIN.slots)
    state = tracker.current_state(EventVerbosity.ALL)
    state = json.loads(json.dumps(state))  # as the action server receives it
    from_server = hooks.signature(
        state["slots"], state["active_loop"]["name"], hooks._since_user(state["events"])
    )
    assert json.loads(json.dumps(rasa_patches.tracker_signature(tracker))) == from_server
    assert from_server["since_user"] == ["hoop_form", "action_uitleg"]


@pytest.mark.parametrize(
    "events, expected",
    [
        ([], "action_ask_antwoord_1"),
        ([{"event": "slot", "name": "antwoord_1", "value": "x"}], "action_ask_antwoord_2"),
        (
            [{"event": "slot", "name": "requested_slot", "value": "thema_schaal"}],
            "action_ask_thema_schaal",
        ),
        ([{"event": "slot", "name": "requested_slot", "value": None}], None),
        ([{"event": "active_loop", "name": None}], None),
        ([{"event": "action_execution_rejected", "name": "hoop_form"}], None),
    ],
)
def test_the_next_question_is_chosen_as_rasa_chooses_it(events, expected):
    domain = {
        "forms": {"hoop_form": {"required_slots": ["antwoord_1", "antwoord_2", "thema_schaal"]}},
        "actions": ["action_ask_antwoord_1", "action_ask_antwoord_2", "action_ask_thema_schaal"],
        "responses": {},
    }
    slots = {"antwoord_1": None, "antwoord_2": None, "thema_schaal": None}
    for event in events:
        if event.get("event") == "slot":
            slots[event["name"]] = event["value"]
    assert hooks.next_ask_action("hoop_form", domain, slots, events) == expected


def test_a_plain_response_question_is_left_to_rasa():
    domain = {
        "forms": {"f": {"required_slots": ["a"]}},
        "actions": ["action_ask_a"],
        "responses": {"utter_ask_f_a": [{"text": "?"}]},
    }
    assert hooks.next_ask_action("f", domain, {"a": None}, []) is None


# --- session_length ---------------------------------------------------------------------------


# The session slots the guard reads (Koers' domain.yml has them).
SESSION_DOMAIN = Domain.from_dict(
    {
        "intents": ["groet"],
        "slots": {
            name: {"type": "any", "mappings": [{"type": "custom"}]}
            for name in ("crisis_getoond", "crisis_controle")
        },
    }
)


def _long_tracker(turns: int, active_loop: str | None = None) -> DialogueStateTracker:
    events: list[Event] = [ActionExecuted("action_session_start"), SessionStarted()]
    for _ in range(turns):
        events += [ActionExecuted("action_listen"), UserUttered("x", {"name": "groet"})]
    if active_loop:
        events.append(ActiveLoop(active_loop))
    return DialogueStateTracker.from_events("s", events, SESSION_DOMAIN.slots)


def test_a_long_session_starts_anew_only_at_a_new_check_in():
    long = _long_tracker(30)
    assert rasa_patches.events_in_session(long) == 60  # after SessionStarted
    assert rasa_patches.long_session_at_new_checkin(long, "/groet", 50)
    assert not rasa_patches.long_session_at_new_checkin(long, "/groet", 100)  # short enough
    assert not rasa_patches.long_session_at_new_checkin(long, "hoi", 50)  # typed text
    assert not rasa_patches.long_session_at_new_checkin(long, "/groet", 0)  # switched off
    in_form = _long_tracker(30, active_loop="hoop_form")
    assert not rasa_patches.long_session_at_new_checkin(in_form, "/groet", 50)
    # A check question still open: the greeting asks it again, no new session drops it.
    checking = _long_tracker(30)
    checking.update(SlotSet("crisis_controle", {"sleutel": "k", "categorie": "suicide"}))
    assert not rasa_patches.long_session_at_new_checkin(checking, "/groet", 50)
    checking.update(SlotSet("crisis_controle", None))
    assert rasa_patches.long_session_at_new_checkin(checking, "/groet", 50)
    checking.update(SlotSet("crisis_getoond", True))  # after a crisis: neither
    assert not rasa_patches.long_session_at_new_checkin(checking, "/groet", 50)


# --- http_session -----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _webhook(handler):  # type: ignore[no-untyped-def]
    """A local aiohttp server answering POST /webhook with `handler`; yields Rasa's endpoint
    for it, and closes the patched keep-alive sessions and the server afterwards."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield EndpointConfig(url=f"http://127.0.0.1:{port}/webhook")
    finally:
        await rasa_patches.close_http_sessions()
        await runner.cleanup()


def test_action_calls_share_one_keep_alive_session(patched):
    from aiohttp import web
    from rasa.utils.endpoints import ClientResponseError

    peers: list = []

    async def handler(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername"))
        if request.query.get("fout"):
            return web.json_response({"error": "x"}, status=400)
        return web.json_response({"echo": await request.json()})

    async def scenario() -> None:
        async with _webhook(handler) as endpoint:
            for i in range(3):
                assert await endpoint.request(json={"i": i}) == {"echo": {"i": i}}
            with pytest.raises(ClientResponseError) as error:
                await endpoint.request(json={}, params={"fout": "1"})
            assert error.value.status == 400

    asyncio.run(scenario())
    assert len(set(peers)) == 1, "every call reused the same connection"


def test_a_call_on_a_connection_the_server_closed_is_made_once_more(patched, monkeypatch):
    """Under load Rasa's event loop can lag seconds behind: a kept-alive connection that the
    action server already closed as idle is then used, and writing the request fails
    ("Can not write request body"). That call is made again on a new connection; a server
    that cannot be reached at all is not called twice."""
    import aiohttp
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    calls: list[int] = []
    original = aiohttp.ClientSession.request
    broken = {"next": 0}

    class _Closed:
        async def __aenter__(self):  # type: ignore[no-untyped-def]
            raise aiohttp.ClientOSError(None, "Can not write request body for /webhook")

        async def __aexit__(self, *args):  # type: ignore[no-untyped-def]
            return False

    def request(self, method, url, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if broken["next"] > 0:
            broken["next"] -= 1
            return _Closed()
        return original(self, method, url, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "request", request)

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"echo": await request.json()})

    async def scenario() -> None:
        async with _webhook(handler) as endpoint:
            retried = rasa_patches.STATS["http_session.retried"]
            broken["next"] = 1
            assert await endpoint.request(json={"i": 1}) == {"echo": {"i": 1}}
            assert len(calls) == 2 and rasa_patches.STATS["http_session.retried"] == retried + 1
            broken["next"] = 2  # closed twice in a row: the error reaches Rasa
            with pytest.raises(aiohttp.ClientOSError):
                await endpoint.request(json={"i": 2})
            calls.clear()
            down = EndpointConfig(url="http://127.0.0.1:9/webhook")
            with pytest.raises(aiohttp.ClientConnectorError):
                await down.request(json={})
            assert len(calls) == 1, "no second call to a server that is not there"

    asyncio.run(scenario())


# --- tracker_cache ----------------------------------------------------------------------------


def test_cached_conversations_equal_the_database_and_notice_other_writers(patched, tmp_path):
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import BotUttered

    domain = Domain.from_dict(
        {"intents": ["groet"], "actions": ["action_a"], "slots": {}, "responses": {}}
    )
    path = str(tmp_path / "tracker.db")
    store = SQLTrackerStore(domain, db=path)  # this Rasa instance (cache on)
    other = SQLTrackerStore(domain, db=path)  # another instance, or `bot delete-client`

    def load(s):
        return asyncio.run(s.retrieve("klant"))

    def as_dicts(tracker):
        return [e.as_dict() for e in tracker.events] if tracker else None

    tracker = _tracker(ActionExecuted("action_session_start"), SessionStarted())
    tracker.sender_id = "klant"
    asyncio.run(store.save(tracker))
    for turn in range(3):
        tracker = load(store)
        tracker.update(UserUttered(f"bericht {turn}", {"name": "groet"}))
        tracker.update(BotUttered(f"antwoord {turn}"))
        asyncio.run(store.save(tracker))
    hits = rasa_patches.STATS["tracker_cache.hit"]
    cached = load(store)
    assert rasa_patches.STATS["tracker_cache.hit"] == hits + 1
    rasa_patches.revert(["tracker_cache"])
    try:
        from_database = load(SQLTrackerStore(domain, db=path))
    finally:
        rasa_patches.apply(["tracker_cache"])
    assert as_dicts(cached) == as_dicts(from_database)

    # Another writer adds an event: the cache is not used, the new event is there.
    theirs = load(other)
    theirs.update(BotUttered("van een andere instance"))
    asyncio.run(other.save(theirs))
    assert load(store).latest_bot_utterance.text == "van een andere instance"
    # The conversation is deleted elsewhere: gone here too, not served from memory.
    with other.session_scope() as session:
        session.query(other.SQLEvent).filter(other.SQLEvent.sender_id == "klant").delete()
        session.commit()
    assert load(store) is None


# --- domain_digest ----------------------------------------------------------------------------

DIGEST_DOMAIN = {
    "version": "3.1",
    "intents": ["groet"],
    "actions": ["action_toon_domein"],
    "slots": {"niveau": {"type": "text", "mappings": [{"type": "custom"}]}},
    "responses": {"utter_hoi": [{"text": "Hoi! Fijn dat je er bent. ✓"}]},
    "session_config": {"session_expiration_time": 120, "carry_over_slots_to_new_session": True},
}


def _show_domain(dispatcher, tracker, domain):  # type: ignore[no-untyped-def]
    """An action that answers with the domain it was given (what Koers' actions read). A
    function, not an `Action` subclass: rasa-sdk registers every subclass alive in the
    process (tests/unit/test_structure.py checks that only Koers' own exist)."""
    dispatcher.utter_message(json_message={"domein": domain})
    return []


@contextlib.asynccontextmanager
async def _action_server(calls: list):  # type: ignore[no-untyped-def]
    """Koers' real action server app (bot/action_server.py: secret check, domain store,
    rasa-sdk) in this event loop, with `_show_domain` as "action_toon_domein"; yields Rasa's
    endpoint for it and a function that starts a new server process' state (a restart).
    Every call's body is recorded in `calls` as it arrived."""
    import types

    from rasa.utils.endpoints import EndpointConfig
    from rasa_sdk import endpoint as sdk_endpoint
    from rasa_sdk.executor import ActionExecutor
    from sanic import Sanic

    from bot import action_server
    from bot.services import ACTIONS_SECRET_HEADER

    port = _free_port()
    state: dict = {}

    class Executor(ActionExecutor):
        def register_package(self, package) -> None:  # type: ignore[no-untyped-def]
            self.register_function("action_toon_domein", _show_domain)

    test_mode, Sanic.test_mode = Sanic.test_mode, True  # a new "rasa_sdk" app per start

    async def start() -> None:
        if state.get("server") is not None:  # a restart also ends its connections
            state["server"].close()
            await state["server"].wait_closed()
            await rasa_patches.close_http_sessions()
        sdk_executor, sdk_endpoint.ActionExecutor = sdk_endpoint.ActionExecutor, Executor
        try:
            app = action_server.create_app("geheim", types.ModuleType("geen_pakket"))
        finally:
            sdk_endpoint.ActionExecutor = sdk_executor
        app.config.TOUCHUP = False

        @app.middleware("request")
        async def record(request):  # type: ignore[no-untyped-def]
            calls.append(json.loads(request.body))

        # The recorder runs first: it sees the body before the domain is put back.
        app.request_middleware.rotate(1)
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
        )
        await server.startup()
        state["server"] = server

    await start()
    endpoint = EndpointConfig(
        url=f"http://127.0.0.1:{port}/webhook", headers={ACTIONS_SECRET_HEADER: "geheim"}
    )
    try:
        yield endpoint, start
    finally:
        await rasa_patches.close_http_sessions()
        state["server"].close()
        await state["server"].wait_closed()
        Sanic.test_mode = test_mode


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _run_remote(endpoint, domain: Domain) -> dict:  # type: ignore[no-untyped-def]
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator

    tracker = DialogueStateTracker.from_events("klant", [ActionExecuted("action_listen")])
    events = await RemoteAction("action_toon_domein", endpoint).run(
        CollectingOutputChannel(),
        TemplatedNaturalLanguageGenerator(domain.responses),
        tracker,
        domain,
    )
    return events[0].data["custom"]["domein"]


def test_action_calls_name_the_domain_by_digest_and_the_actions_get_the_same_domain(patched):
    from bot.action_domain import DIGEST_KEY

    domain = Domain.from_dict(DIGEST_DOMAIN)
    as_sent = json.loads(json.dumps(domain.as_dict()))  # what the action got before
    changed = Domain.from_dict(
        {**DIGEST_DOMAIN, "responses": {"utter_hoi": [{"text": "Hallo, nieuw model."}]}}
    )
    calls: list = []

    async def scenario() -> None:
        async with _action_server(calls) as (endpoint, restart):
            resent = rasa_patches.STATS["domain_digest.resent"]
            # First call: the server does not know the digest, so the domain is resent once.
            assert await _run_remote(endpoint, domain) == as_sent
            assert [("domain" in c, DIGEST_KEY in c) for c in calls] == [
                (False, True),
                (True, True),
            ]
            assert rasa_patches.STATS["domain_digest.resent"] == resent + 1
            digest = calls[0][DIGEST_KEY]
            # From then on only the digest travels, and the action gets the same domain.
            calls.clear()
            for _ in range(3):
                assert await _run_remote(endpoint, domain) == as_sent
            assert [("domain" in c, c.get(DIGEST_KEY)) for c in calls] == [(False, digest)] * 3
            # Another model's domain: another digest, sent once, then known too.
            calls.clear()
            assert await _run_remote(endpoint, changed) == json.loads(json.dumps(changed.as_dict()))
            assert calls[0][DIGEST_KEY] != digest and "domain" in calls[1]
            assert await _run_remote(endpoint, domain) == as_sent
            assert len(calls) == 3
            # The action server restarted: it knows nothing, the domain is sent once more.
            await restart()
            calls.clear()
            assert await _run_remote(endpoint, domain) == as_sent
            assert [("domain" in c) for c in calls] == [False, True]

    asyncio.run(scenario())


def test_the_digest_is_computed_once_per_domain_and_follows_a_replaced_entry(patched, monkeypatch):
    from bot import action_domain

    domain = Domain.from_dict(DIGEST_DOMAIN)
    computed: list = []
    original = action_domain.digest_of
    monkeypatch.setattr(
        action_domain, "digest_of", lambda data: computed.append(1) or original(data)
    )
    first = rasa_patches.domain_digest(domain)
    assert rasa_patches.domain_digest(domain) == first and len(computed) == 1
    assert first == original(json.loads(json.dumps(domain.as_dict())))
    domain.fingerprint()  # Rasa's fingerprint replaces the intents in the domain's dict
    second = rasa_patches.domain_digest(domain)
    assert len(computed) == 2 and second == original(domain.as_dict())


def test_the_action_server_refuses_only_an_unknown_digest():
    """Calls as Rasa sends them without the patch are run as before; a call that names an
    unknown domain is answered 409 (Rasa then resends it whole); a wrong digest is never
    kept, so it cannot put another domain into a later call."""
    from aiohttp import ClientSession

    from bot.action_domain import DIGEST_KEY, UNKNOWN_ERROR, digest_of

    domain = json.loads(json.dumps(Domain.from_dict(DIGEST_DOMAIN).as_dict()))
    tracker = DialogueStateTracker.from_events("klant", [ActionExecuted("action_listen")])
    call = {
        "next_action": "action_toon_domein",
        "sender_id": "klant",
        "tracker": tracker.current_state(EventVerbosity.ALL),
        "version": "3.6.21",
    }

    async def scenario() -> None:
        async with _action_server([]) as (endpoint, _restart):
            headers = endpoint.headers

            async def post(body):  # type: ignore[no-untyped-def]
                async with ClientSession() as http:
                    async with http.post(endpoint.url, json=body, headers=headers) as r:
                        return r.status, await r.json()

            status, body = await post({**call, "domain": domain})  # stock Rasa's call
            assert status == 200 and body["responses"][0]["custom"]["domein"] == domain
            status, body = await post(call)  # stock Rasa with a selective domain: none
            assert status == 200 and body["responses"][0]["custom"]["domein"] == {}
            digest = digest_of(domain)
            status, body = await post({**call, DIGEST_KEY: digest})
            assert status == 409 and body["error"] == UNKNOWN_ERROR
            # A wrong digest with a domain: the call runs with its domain, nothing is kept.
            status, body = await post({**call, DIGEST_KEY: digest, "domain": {"anders": 1}})
            assert status == 200 and body["responses"][0]["custom"]["domein"] == {"anders": 1}
            assert (await post({**call, DIGEST_KEY: digest}))[0] == 409
            # The right one is kept, and each call gets its own copy.
            assert (await post({**call, DIGEST_KEY: digest, "domain": domain}))[0] == 200
            status, body = await post({**call, DIGEST_KEY: digest})
            assert status == 200 and body["responses"][0]["custom"]["domein"] == domain
            status, body = await post({**call, DIGEST_KEY: "0" * 64})
            assert status == 409

    asyncio.run(scenario())


# --- turn_queue -------------------------------------------------------------------------------


def test_the_turn_queue_serves_first_come_first_served_with_at_most_size_at_once():
    async def scenario() -> tuple[list[int], int]:
        queue = rasa_patches.TurnQueue(2)
        started: list[int] = []
        running = {"now": 0, "most": 0}

        async def turn(i: int) -> None:
            await queue.acquire()
            try:
                started.append(i)
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
                await asyncio.sleep(0.01 * (1 + i % 3))
                running["now"] -= 1
            finally:
                queue.release()

        tasks = []
        for i in range(8):
            tasks.append(asyncio.ensure_future(turn(i)))
            await asyncio.sleep(0)  # they arrive in this order
        await asyncio.gather(*tasks)
        assert queue.busy == 0 and not queue.waiting
        return started, running["most"]

    started, most = asyncio.run(scenario())
    assert most == 2
    assert started == list(range(8))


def test_a_cancelled_waiter_gives_up_its_place_in_the_turn_queue():
    async def scenario() -> None:
        queue = rasa_patches.TurnQueue(1)
        await queue.acquire()
        waiter = asyncio.ensure_future(queue.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        queue.release()
        assert queue.busy == 0 and not queue.waiting
        await asyncio.wait_for(queue.acquire(), 1)  # the place is free again

    asyncio.run(scenario())


def test_a_turn_goes_ahead_after_the_longest_wait_when_the_line_does_not_move():
    async def scenario() -> None:
        queue = rasa_patches.TurnQueue(1)
        assert await queue.acquire(0.05) is False  # a slow turn holds the only place
        loop = asyncio.get_running_loop()
        started = loop.time()
        # waited, then went ahead over the limit (without the bound it would wait for ever)
        assert await asyncio.wait_for(queue.acquire(0.05), 2) is True
        assert 0.04 <= loop.time() - started < 1.0
        assert queue.busy == 2 and not queue.waiting
        queue.release()
        queue.release()
        assert queue.busy == 0 and not queue.waiting

    asyncio.run(scenario())


def test_a_waiter_handed_a_place_in_time_does_not_go_over_the_limit():
    async def scenario() -> None:
        queue = rasa_patches.TurnQueue(1)
        await queue.acquire(1.0)
        waiter = asyncio.ensure_future(queue.acquire(1.0))
        await asyncio.sleep(0.01)
        queue.release()  # handed over to the waiter
        assert await waiter is True
        assert queue.busy == 1 and not queue.waiting
        queue.release()
        assert queue.busy == 0

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("variable", "read", "value", "expected"),
    [
        ("KOERS_RASA_TURNS_AT_ONCE", "turns_at_once", None, 2),
        ("KOERS_RASA_TURNS_AT_ONCE", "turns_at_once", "0", 0),
        ("KOERS_RASA_TURNS_AT_ONCE", "turns_at_once", "3", 3),
        ("KOERS_RASA_TURNS_AT_ONCE", "turns_at_once", "x", 2),
        ("KOERS_RASA_LONGEST_WAIT_S", "longest_wait", None, 3.0),
        ("KOERS_RASA_LONGEST_WAIT_S", "longest_wait", "0.5", 0.5),
        ("KOERS_RASA_LONGEST_WAIT_S", "longest_wait", "x", 3.0),
    ],
)
def test_turn_queue_settings(monkeypatch, variable, read, value, expected):
    if value is None:
        monkeypatch.delenv(variable, raising=False)
    else:
        monkeypatch.setenv(variable, value)
    assert getattr(rasa_patches, read)() == expected


def test_a_rasa_process_works_on_at_most_two_turns_at_once_in_arrival_order(monkeypatch):
    from rasa.core.processor import MessageProcessor

    was_applied = "turn_queue" in rasa_patches.applied()
    rasa_patches.revert(["turn_queue"])
    running = {"now": 0, "most": 0}
    started: list[str] = []

    async def handle_message(self, message):  # Rasa's turn, as the patch finds it
        started.append(message.sender_id)
        if message.sender_id == "inner":
            return []
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(0.01)
        if message.sender_id == "nested":  # a turn started within a turn needs no new place
            await MessageProcessor.handle_message(self, _Message("inner"))
        running["now"] -= 1
        return [{"text": message.sender_id}]

    monkeypatch.setattr(MessageProcessor, "handle_message", handle_message)
    monkeypatch.delenv("KOERS_RASA_TURNS_AT_ONCE", raising=False)
    try:
        assert rasa_patches.apply(["turn_queue"]) == ["turn_queue"]

        async def scenario() -> list:
            calls = []
            for name in ["a", "b", "c", "d", "e", "nested"]:
                calls.append(
                    asyncio.ensure_future(MessageProcessor.handle_message(None, _Message(name)))
                )
                await asyncio.sleep(0)
            return await asyncio.wait_for(asyncio.gather(*calls), 5)

        replies = asyncio.run(scenario())
    finally:
        rasa_patches.revert(["turn_queue"])
        monkeypatch.undo()
        if was_applied:
            rasa_patches.apply(["turn_queue"])
    assert [r[0]["text"] for r in replies] == ["a", "b", "c", "d", "e", "nested"]
    assert started[:6] == ["a", "b", "c", "d", "e", "nested"] and started[6] == "inner"
    assert running["most"] == 2
    assert rasa_patches.STATS["turn_queue.waited"] > 0


class _Message:
    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
