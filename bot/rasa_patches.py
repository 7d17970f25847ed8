"""Speed-ups for Rasa 3.6.21, applied in the Rasa process before it starts (issue 13).

Koers starts Rasa as `python -m bot.rasa_server ...` (bot/rasa_server.py: the patches, then
Rasa's own command line), and the tests' `Agent` gets the same patches. Each patch keeps Rasa's
behaviour: the same predictions, the same events, the same answers. Each is listed in
`PATCHES`, can be reverted (`revert()`), is guarded by the Rasa version it was written for,
and is covered by `tests/unit/test_rasa_patches.py` (and, with the real model, by
`tests/test_rasa_patches_model.py`). What each one saves: docs/benchmarks.md.

`validator`
    Rasa validates every action-server response with `jsonschema.validate()`, which checks
    the whole response schema (hundreds of event sub-schemas) against its meta-schema and
    builds a new validator on every call: the largest single cost of a Koers turn. The patch
    checks the schema once and keeps one validator; responses are validated exactly as
    before (same schema, same draft, the same best-matching `ValidationError` and message).
`rules_decide`
    Rasa runs every policy for every prediction and then takes the most confident one, ties
    going to the higher priority. When the RulePolicy is certain (confidence 1.0, after the
    ensemble's zeroing of a just-rejected action) or makes a "no user" loop prediction, no
    TEDPolicy prediction can win (TED's confidences are at most 1.0, its priority is lower,
    and this model's TED is not end-to-end), so TED's neural network is not run: it returns
    all-zero confidences instead. Nor can a MemoizationPolicy prediction win (at most 1.0,
    a lower priority, never "no user" or end-to-end, no events): its lookup, which turns the
    whole conversation into states, is skipped in the same way. The RulePolicy's
    prediction is computed once per tracker state and shared by the three policies.
`rule_lookup`
    The RulePolicy compares each of its ~800 rule keys with every state of the conversation,
    although no rule is longer than 3 states; from the longest remaining rule on, every
    comparison is `True`. The patch stops there, and caches every rule key's parsed states
    (Rasa's cache holds 1,000 and is shared with training).
`past_states`
    Every policy turns the whole conversation into a list of states (the RulePolicy twice
    per prediction); the result is the same for the same tracker. The patch computes it once
    per tracker state and argument set, and hands every caller its own copy.
`debug_formatting`
    With debug logging off, the RulePolicy and MemoizationPolicy still format every state of
    the conversation into a debug string, for every prediction, and Rasa deep-copies events,
    slots and states only to hand them to debug log calls that then do nothing. The patch
    skips both unless debug logging is on.
`http_session`
    Rasa opens a new HTTP client session (and TCP connection) for every action-server call.
    The patch keeps one session per endpoint and event loop, with keep-alive connections
    that are dropped after 2 s idle (shorter than the action server's 5 s, so a connection
    is never reused just as the server closes it); a call on a connection that the server
    had closed (it restarted, or this process was too busy under load to drop the idle
    connection in time) is made once more on a new one. The request body (the conversation and
    the domain) is encoded with ujson instead of the standard library's encoder.
`domain_digest`
    Rasa sends its whole domain with every action call (about 55 KB of JSON, 43 KB of it the
    responses), encodes it every time, and the action server parses it every time. The patch
    sends the domain's digest instead (SHA-256 of its canonical JSON, computed once per
    Domain object); the action server keeps the domains it has received by digest and puts
    the named one back into the call, so the actions get the same dict. When it does not
    know the digest (it restarted; another Rasa instance, model or worker process) it
    answers 409 "unknown domain", and the call is made once more with the whole domain
    (bot/action_domain.py describes the protocol). Works with `http_session` only, which
    makes the resend; compressed calls carry the whole domain as before.
`sqlite_tracker`
    Rasa's SQL tracker store on SQLite (`make run`) opens and closes a connection for every
    load and save (closing the last connection of a file also checkpoints it) and uses the
    rollback journal with several disk syncs per saved turn. The patch keeps one connection
    per thread and switches the file to write-ahead logging with `synchronous=NORMAL`: a turn
    is never lost when a process crashes or is killed; a power cut or kernel crash can undo
    the last turns of conversations (never a reflection: those are in Koers' own database,
    which keeps full syncs), and the client then sends the last message again, as after any
    failed turn. PostgreSQL is not affected.
`tracker_cache`
    Rasa's SQL tracker store loads the whole current session from the database at every
    message (an ORM query, every event decoded) and counts the stored events again to save.
    The patch keeps, per conversation, the stored events of the current session as they are
    in the database, and uses them only when one small query shows that the conversation's
    newest event id and event count in the database are still the ones cached: any write or
    delete by any process (another Rasa instance, `python -m bot delete-client`) makes it load
    from the database as before. The database stays the only truth.
`form_prefetch`
    A form turn costs two action-server calls: the validation, then the next question.
    Koers' action server prepares the next question with the validation and says which
    input it used (`actions.hooks`); the patch uses that answer instead of the second call
    when Rasa's own choice of question and Rasa's own tracker give the same action and the
    same input (slot values, active form, actions since the user's message), and otherwise
    calls the action server as before. Validated with the same response schema.
`event_types`
    Loading a tracker turns every stored event into its class by scanning all subclasses of
    `Event` for the type name, for every event. The patch remembers the classes found.
`nlu_shortcuts`
    Rasa runs the whole NLU pipeline (tokenizer, featurizers, DIET, Koers' semantic safety
    net with its e5 sentence embedding, the guards) for every message, also for a button's
    intent payload ("/bevestigen", `/kies_thema{"thema": "hoop"}`), and then its
    `RegexMessageHandler` replaces the whole result with the payload's intent and entities.
    The patch reads a payload that names a known intent directly with Rasa's own
    `unpack_regex_message` (the same function, the same domain, so the same parse data), and
    runs the pipeline only for text that is not such a payload. And within a conversation
    turn, the parse data of a short text (at most `SHORT_TEXT_CHARS` characters: the mood
    and scale buttons "1"-"5", "hoi", "ja", "nee") is kept in a small per-process cache
    keyed by the model and a hash of the exact text: the pipeline reads nothing but the
    text, so its result is the same. The cache never holds a client's words: the key is a
    hash and the text is taken out of the kept parse data (put back on a hit). Longer texts
    (the answers, the small step) always run the whole pipeline. Outside a turn
    (`/model/parse`) only the payload shortcut applies, so the benchmarks' parse figure (typed
    texts) still measures the pipeline.
`atomic_turns`
    When the action server cannot be reached during a turn (refused, dropped, timed out),
    Rasa logs "the bot will continue, but the action's events are lost", goes on predicting
    and saves the half-done turn: slots that were never set, a form in a wrong state, loops
    ("circuit breaker tripped"), and a reply that does not fit. Likewise a reply is sent even
    when saving the conversation failed. The patch makes a turn all or nothing: such a turn is
    not saved and gets no answer (Koers' web chat then says "Je bericht is niet kwijt. Probeer
    het zo nog een keer"); sent again, it runs from the last saved state, and the actions'
    writes are idempotent. Errors that actions themselves return are handled as before.
`session_length`
    Rasa loads, copies, serialises and featurises the whole current session at every turn,
    and a session only ends after 120 minutes of silence: a client who keeps chatting gets
    slower with every turn. When the chat opens a new check-in (its greeting payload,
    `/groet`, outside any form, no crisis in the session) and the session holds more than
    KOERS_SESSION_MAX_EVENTS events (default 200, a bit more than one check-in; 0: off), the patch
    lets Rasa start a new session first, exactly as after the idle time-out: Koers'
    `action_session_start` carries the slots over, the greeting starts the check-in as
    always, and the earlier sessions stay in the tracker store.
`turn_queue`
    Rasa starts every incoming message at once and interleaves them on its one event loop:
    a turn gives way at every action-server call, and goes on only after every other ready
    turn's next step. Under load a turn with three or four action calls (the greeting, the
    mood, the scale) waits behind the others three or four times and becomes the slowest 5 %
    (docs/benchmarks.md, run 8). The patch lets one Rasa process work on at most
    KOERS_RASA_TURNS_AT_ONCE turns at the same time (default 2, so that one turn computes
    while another waits for the action server; 0: no limit); further turns wait in line,
    first come first served, and then run as before; after KOERS_RASA_LONGEST_WAIT_S seconds
    in line (default 3) a turn goes ahead anyway, so that a slow dependency in a fault does
    not add up along the line. It only changes when a turn starts:
    the turn itself, its events and its answer are Rasa's. The queue is inside Rasa's
    per-conversation lock, so only turns that may run now wait in it; a turn started from
    within a turn does not queue again.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import copy
import hashlib
import logging
import os
import threading
import weakref
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from bot.action_domain import DIGEST_KEY, is_unknown_domain_answer

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"

_applied: dict[str, list[tuple[Any, str, Any]]] = {}
_lock = threading.Lock()
# How often the patches took their shortcut (tests and benchmarks read these).
STATS: Counter[str] = Counter()


def _rasa_version() -> str:
    import rasa

    return rasa.__version__


_ABSENT = object()  # the attribute was inherited, not defined on the patched class


def _replace(undo: list[tuple[Any, str, Any]], owner: Any, name: str, new: Any) -> None:
    """Set `owner.name = new`, remembering the original (the raw attribute, so that static
    and class methods are restored as they were; an inherited one is deleted again)."""
    undo.append((owner, name, owner.__dict__.get(name, _ABSENT)))
    setattr(owner, name, new)


# --- validator: action-server responses, one validator built once ----------------------------


class ResponseValidator:
    """Validates action-server responses against Rasa's schema with one prebuilt validator."""

    def __init__(self, schema: dict[str, Any]) -> None:
        from jsonschema.validators import validator_for

        cls = validator_for(schema)
        cls.check_schema(schema)  # what jsonschema.validate() does on every call
        self._validator = cls(schema)

    def validate(self, instance: Any) -> None:
        """Raise the same best-matching `ValidationError` as `jsonschema.validate`."""
        from jsonschema.exceptions import best_match

        error = best_match(self._validator.iter_errors(instance))
        if error is not None:
            raise error


_validators: dict[Any, ResponseValidator] = {}


def _validator_for(spec: Callable[[], dict[str, Any]]) -> ResponseValidator:
    validator = _validators.get(spec)
    if validator is None:
        validator = _validators[spec] = ResponseValidator(spec())
    return validator


def _patch_validator(undo: list) -> None:
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            # Keyed by the spec function, so a subclass with its own schema gets its own.
            validator = _validator_for(type(self).action_response_format_spec)
            validator.validate(result)
            if isinstance(result, dict) and NEXT_KEY in result:
                _take_prefetched(self, result, validator)
            return True
        except ValidationError as e:
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    _replace(undo, RemoteAction, "_validate_action_result", _validate_action_result)


# --- rules_decide: no TED inference when the RulePolicy's prediction wins anyway --------------

_rule_policies: weakref.WeakSet = weakref.WeakSet()
_RULE_PREDICTION = "_koers_rule_prediction"


def _rejected_action_index(tracker: Any, domain: Any) -> int | None:
    """The index the ensemble zeroes in every prediction (a just-rejected action)."""
    from rasa.shared.core.events import ActionExecuted, ActionExecutionRejected

    for event in reversed(tracker.events):
        if isinstance(event, ActionExecutionRejected):
            return domain.index_for_action(event.action_name)
        if isinstance(event, ActionExecuted):
            return None
    return None


def rule_prediction_decides(prediction: Any, tracker: Any, domain: Any) -> bool:
    """True when the ensemble picks this RulePolicy prediction whatever TED predicts."""
    if prediction.is_no_user_prediction:
        return True  # "no user" predictions overrule all others; TED never makes one
    probabilities = list(prediction.probabilities)
    rejected = _rejected_action_index(tracker, domain)
    if rejected is not None and rejected < len(probabilities):
        probabilities[rejected] = 0.0
    return bool(probabilities) and max(probabilities) >= 1.0


def _patch_rules_decide(undo: list) -> None:
    from rasa.core.policies.memoization import MemoizationPolicy
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.shared.nlu.constants import TEXT

    original_rule = RulePolicy.predict_action_probabilities
    original_ted = TEDPolicy.predict_action_probabilities
    original_memo = MemoizationPolicy.predict_action_probabilities
    original_init = RulePolicy.__init__

    def rule_init(self: RulePolicy, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        _rule_policies.add(self)

    def rule_of(policy: Any) -> Any:
        """The RulePolicy of the same model (loaded from the same model storage), or None."""
        rules = [p for p in _rule_policies if p._model_storage is policy._model_storage]
        return rules[0] if len(rules) == 1 else None

    def rule_prediction(rule: RulePolicy, tracker: Any, domain: Any) -> Any:
        """The RulePolicy's prediction for this tracker state, computed once for all the
        policies (the graph runs them one after the other, the ensemble after all)."""
        cached = tracker.__dict__.get(_RULE_PREDICTION)
        if cached is None or cached[0] is not rule or cached[1] != len(tracker.events):
            cached = (rule, len(tracker.events), original_rule(rule, tracker, domain))
            tracker.__dict__[_RULE_PREDICTION] = cached
        return cached[2]

    def rule_predict(self: RulePolicy, tracker: Any, domain: Any, *args: Any, **kwargs: Any):
        # (The RulePolicy reads neither `rule_only_data` nor other arguments.) A copy with
        # its own probabilities: the ensemble zeroes a rejected action's in place.
        prediction = copy.copy(rule_prediction(self, tracker, domain))
        prediction.probabilities = list(prediction.probabilities)
        return prediction

    def ted_predict(self: TEDPolicy, tracker: Any, domain: Any, *args: Any, **kwargs: Any):
        rule = rule_of(self)
        if self.model is not None and rule is not None and TEXT not in self.fake_features:
            if rule_prediction_decides(rule_prediction(rule, tracker, domain), tracker, domain):
                STATS["rules_decide.ted_skipped"] += 1
                return self._prediction(self._default_predictions(domain))
        STATS["rules_decide.ted_run"] += 1
        return original_ted(self, tracker, domain, *args, **kwargs)

    def memo_predict(self: MemoizationPolicy, tracker: Any, domain: Any, *args: Any, **kwargs: Any):
        # A memoized action has a confidence of at most 1.0 and a lower priority than the
        # rules, and makes no "no user" or end-to-end prediction: it cannot win either.
        rule = None if isinstance(self, RulePolicy) else rule_of(self)
        if rule is not None and rule.priority > self.priority:
            if rule_prediction_decides(rule_prediction(rule, tracker, domain), tracker, domain):
                STATS["rules_decide.memo_skipped"] += 1
                return self._prediction(self._default_predictions(domain))
        return original_memo(self, tracker, domain, *args, **kwargs)

    _replace(undo, RulePolicy, "__init__", rule_init)
    _replace(undo, RulePolicy, "predict_action_probabilities", rule_predict)
    _replace(undo, TEDPolicy, "predict_action_probabilities", ted_predict)
    _replace(undo, MemoizationPolicy, "predict_action_probabilities", memo_predict)


# --- rule_lookup: stop comparing after the longest rule -------------------------------------


class _RuleIndex:
    """A RulePolicy lookup's keys with their states parsed once, grouped by the previous
    action of their last state (no rule whose last state names another previous action can
    match the conversation's last state)."""

    def __init__(self, lookup: dict, parse: Callable[[str], list]) -> None:
        from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET
        from rasa.shared.nlu.constants import ACTION_NAME

        self.keys = frozenset(lookup)
        self.reversed = {key: list(reversed(parse(key))) for key in lookup}
        self.by_last_action: dict[str, set] = {}
        self.general: set = set()
        for key, states in self.reversed.items():
            previous = states[0].get(PREVIOUS_ACTION) if states else None
            name = previous.get(ACTION_NAME) if previous else None
            if isinstance(name, str) and name and name != SHOULD_NOT_BE_SET:
                self.by_last_action.setdefault(name, set()).add(key)
            else:
                self.general.add(key)

    def candidates(self, last_state: dict) -> set:
        from rasa.shared.core.constants import PREVIOUS_ACTION
        from rasa.shared.nlu.constants import ACTION_NAME

        previous = last_state.get(PREVIOUS_ACTION)
        if not previous:
            return set(self.keys)  # a conversation start: check every rule
        return self.general | self.by_last_action.get(previous.get(ACTION_NAME), set())


def _patch_rule_lookup(undo: list) -> None:
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.shared.core.constants import PREVIOUS_ACTION

    parse = RulePolicy.__dict__["_rule_key_to_state"].__func__.__wrapped__
    parsed: dict[str, list] = {}
    indexes: dict[int, _RuleIndex] = {}

    def rule_key_to_state(rule_key: str) -> list:
        states = parsed.get(rule_key)
        if states is None:
            states = parsed[rule_key] = parse(rule_key)
        return states

    def index_for(lookup: dict) -> _RuleIndex:
        index = indexes.get(id(lookup))
        if index is None or index.keys != frozenset(lookup):
            index = indexes[id(lookup)] = _RuleIndex(lookup, rule_key_to_state)
        return index

    def get_possible_keys(self: RulePolicy, lookup: dict, states: list) -> set:
        """`RulePolicy._get_possible_keys` with `_is_rule_applicable` inlined."""
        if not lookup:
            return set()
        index = index_for(lookup)
        rev = index.reversed
        match = self._does_rule_match_state
        possible = index.candidates(states[-1]) if states else set(lookup)
        for i, state in enumerate(reversed(states)):
            if not possible or i >= max(len(rev[key]) for key in possible):
                break  # every remaining rule is shorter: all are applicable from here on
            current_previous = state.get(PREVIOUS_ACTION)
            kept = set()
            for key in possible:
                rule_states = rev[key]
                if i >= len(rule_states):
                    kept.add(key)
                    continue
                rule_previous = rule_states[i].get(PREVIOUS_ACTION)
                if not rule_previous and not current_previous:
                    kept.add(key)
                elif not rule_previous or not current_previous:
                    continue
                elif match(rule_states[i], state):
                    kept.add(key)
            possible = kept
        return possible

    _replace(undo, RulePolicy, "_rule_key_to_state", staticmethod(rule_key_to_state))
    _replace(undo, RulePolicy, "_get_possible_keys", get_possible_keys)


# --- past_states: one computation per tracker state ------------------------------------------

_PAST_STATES = "_koers_past_states"


def _copy_states(states: list) -> list:
    # States are {type: {feature: str | float | tuple}}: two levels are mutable.
    return [{key: dict(sub) for key, sub in state.items()} for state in states]


def _patch_past_states(undo: list) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    original = DialogueStateTracker.past_states

    def past_states(
        self: DialogueStateTracker,
        domain: Any,
        omit_unset_slots: bool = False,
        ignore_rule_only_turns: bool = False,
        rule_only_data: dict | None = None,
    ) -> list:
        key = (
            len(self.events),
            id(domain),
            omit_unset_slots,
            ignore_rule_only_turns,
            repr(rule_only_data),
        )
        cache = self.__dict__.get(_PAST_STATES)
        if cache is None or cache[0] != len(self.events):
            cache = self.__dict__[_PAST_STATES] = (len(self.events), {})
        states = cache[1].get(key)
        if states is None:
            states = cache[1][key] = original(
                self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data
            )
        return _copy_states(states)

    _replace(undo, DialogueStateTracker, "past_states", past_states)


# --- debug_formatting: no debug strings when debug logging is off ------------------------------


def _patch_debug_formatting(undo: list) -> None:
    import structlog
    from rasa.core.policies import memoization, rule_policy
    from rasa.core.policies.policy import Policy

    original = Policy.__dict__["format_tracker_states"].__func__
    loggers = (logging.getLogger(rule_policy.__name__), logging.getLogger(memoization.__name__))

    def debug_enabled() -> bool:
        if any(lg.isEnabledFor(logging.DEBUG) for lg in loggers):
            return True
        # Rasa configures structlog with a level-filtering logger whose filtered methods
        # are no-ops called `_nop`; anything else may print debug events.
        return getattr(structlog.get_logger().bind().debug, "__name__", "") != "_nop"

    def format_tracker_states(states: list) -> str:
        if debug_enabled():
            return original(states)
        return f"<{len(states)} states; debug logging is off>"

    class _DebugOnlyCopy:
        """Stands in for the `copy` module in modules whose deep copies only feed debug
        log calls (checked: processor, forms, rule and memoization policies, REST channel)."""

        copy = staticmethod(copy.copy)

        @staticmethod
        def deepcopy(value: Any, *args: Any) -> Any:
            return copy.deepcopy(value, *args) if debug_enabled() else value

    from rasa.core import processor
    from rasa.core.actions import forms
    from rasa.core.channels import rest

    _replace(undo, Policy, "format_tracker_states", staticmethod(format_tracker_states))
    for module in (processor, forms, rule_policy, memoization, rest):
        _replace(undo, module, "copy", _DebugOnlyCopy)


# --- http_session: keep-alive connections to the action server ------------------------------

KEEPALIVE_SECONDS = 2.0
_http_sessions: dict[tuple, Any] = {}


async def close_http_sessions() -> None:
    """Close the shared sessions of the running event loop (tests; Rasa's own shutdown)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [k for k in _http_sessions if k[0] == loop_id]:
        await _http_sessions.pop(key).close()


def _patch_http_session(undo: list) -> None:
    import aiohttp
    import ujson
    from aiohttp.client_exceptions import ContentTypeError
    from rasa.utils.endpoints import ClientResponseError, EndpointConfig, concat_url

    original_request = EndpointConfig.request
    sessions = _http_sessions

    def shared_session(self: EndpointConfig) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        auth = tuple(sorted((self.basic_auth or {}).items()))
        key = (id(loop), tuple(sorted((self.headers or {}).items())), auth)
        session = sessions.get(key)
        if session is None or session.closed or session.loop is not loop:
            # Rasa's own settings (headers, auth, timeout); short-lived idle connections.
            session = EndpointConfig.session(self)
            session.connector._keepalive_timeout = KEEPALIVE_SECONDS
            sessions[key] = session
        return session

    async def request(
        self: EndpointConfig,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Rasa's `EndpointConfig.request` on a shared session (not closed after use)."""
        if self.cafile:  # TLS with a custom CA file: Rasa's own code path
            if isinstance(kwargs.get("json"), dict) and DIGEST_KEY in kwargs["json"]:
                call = kwargs["json"]
                kwargs["json"] = _with_domain(call, call[DIGEST_KEY], keep_digest=False)
            return await original_request(
                self, method, subpath, content_type, compress=compress, **kwargs
            )
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if "headers" in kwargs:
            headers.update(kwargs["headers"])
            del kwargs["headers"]
        if self.headers:
            headers.update(self.headers)
        url = concat_url(self.url, subpath)
        body: dict[str, Any] = {}
        digest = None
        if isinstance(kwargs.get("json"), dict) and DIGEST_KEY in kwargs["json"]:
            body, digest = kwargs["json"], kwargs["json"][DIGEST_KEY]
            if compress or "domain" in body or content_type != "application/json":
                # `domain_digest`: a compressed call (or one not encoded here, or one that
                # carries the domain anyway) is sent as Rasa sends it: whole domain, no digest.
                kwargs["json"] = _with_domain(body, digest, keep_digest=False)
                digest = None
        if "json" in kwargs and content_type == "application/json":
            # The same JSON, encoded by ujson (a C encoder, also a Rasa dependency): the body
            # of an action call holds the whole conversation and the domain.
            kwargs["data"] = ujson.dumps(kwargs.pop("json"), ensure_ascii=False).encode("utf-8")
        reconnected = False
        while True:
            session = shared_session(self)
            try:
                async with session.request(
                    method,
                    url,
                    headers=headers,
                    params=self.combine_parameters(kwargs),
                    compress=compress,
                    ssl=None,
                    **kwargs,
                ) as response:
                    if response.status >= 400:
                        text = await response.content.read()
                        if digest is not None and is_unknown_domain_answer(response.status, text):
                            # `domain_digest`: the action server does not know this domain
                            # (yet): the same call once more, with the whole domain.
                            STATS["domain_digest.resent"] += 1
                            full = _with_domain(body, digest, keep_digest=True)
                            kwargs["data"] = ujson.dumps(full, ensure_ascii=False).encode()
                            digest = None
                            continue
                        raise ClientResponseError(response.status, response.reason, text)
                    try:
                        return await response.json()
                    except ContentTypeError:
                        return None
            except aiohttp.ClientConnectorError:
                raise  # no connection at all (the server is down): nothing to repeat
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
                # A kept-alive connection the server had closed ("Server disconnected",
                # "Can not write request body", "Cannot write to closing transport"): the
                # server restarted, or closed it as idle while this process was too busy to
                # take it out of the pool in time (seconds of event-loop lag under load).
                # Once more on a new connection. Actions are idempotent, so a repeat is
                # harmless.
                STATS["http_session.retried"] += 1
                if reconnected:
                    raise
                reconnected = True

    _replace(undo, EndpointConfig, "request", request)


# --- domain_digest: the domain's digest in action calls instead of the domain ---------------------

_DIGEST_ATTR = "_koers_domain_digest"
SENT_DOMAINS = 32  # digests whose domain a resend may need, per Rasa process
_sent_domains: OrderedDict[str, dict[str, Any]] = OrderedDict()
_sent_lock = threading.Lock()


def domain_digest(domain: Any) -> str:
    """The digest of `domain.as_dict()`, computed once per Domain object (again when a
    top-level entry of its dict was replaced, as Rasa's `Domain.fingerprint()` does)."""
    from bot.action_domain import digest_of

    data = domain.as_dict()
    items = tuple(data.items())
    kept = domain.__dict__.get(_DIGEST_ATTR)
    if (
        kept is not None
        and kept[0] is data
        and len(kept[1]) == len(items)
        and all(k1 == k2 and v1 is v2 for (k1, v1), (k2, v2) in zip(kept[1], items, strict=True))
    ):
        digest = kept[2]
    else:
        digest = digest_of(data)
        domain.__dict__[_DIGEST_ATTR] = (data, items, digest)
    with _sent_lock:
        if digest not in _sent_domains:
            _sent_domains[digest] = dict(items)  # the top level as digested
        _sent_domains.move_to_end(digest)
        while len(_sent_domains) > SENT_DOMAINS:
            _sent_domains.popitem(last=False)
    return digest


def _with_domain(body: dict[str, Any], digest: str, keep_digest: bool) -> dict[str, Any]:
    """An action call's body with the whole domain again (and its digest if `keep_digest`)."""
    full = {k: v for k, v in body.items() if k != DIGEST_KEY}
    if "domain" not in full:
        with _sent_lock:
            domain = _sent_domains.get(digest)
        if domain is None:  # more than SENT_DOMAINS domains since this call was made
            raise RuntimeError(f"the domain of digest {digest} is no longer known")
        full["domain"] = domain
    if keep_digest:
        full[DIGEST_KEY] = digest
    return full


def _patch_domain_digest(undo: list) -> None:
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._action_call_format

    def action_call_format(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        result = original(self, tracker, domain)
        # Only the `http_session` request knows how to answer "unknown domain".
        if "domain" in result and "http_session" in applied():
            del result["domain"]
            result[DIGEST_KEY] = domain_digest(domain)
        return result

    _replace(undo, RemoteAction, "_action_call_format", action_call_format)


# --- sqlite_tracker: WAL and one open connection for the SQLite tracker store --------------------


def _patch_sqlite_tracker(undo: list) -> None:
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from sqlalchemy.pool import SingletonThreadPool

    original_init = SQLTrackerStore.__init__

    def init(self: SQLTrackerStore, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.engine.dialect.name != "sqlite" or not self.engine.url.database:
            return
        engine = sa.create_engine(
            self.engine.url,
            poolclass=SingletonThreadPool,
            connect_args={"check_same_thread": False},
        )

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            finally:
                cursor.close()

        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)

    _replace(undo, SQLTrackerStore, "__init__", init)


# --- tracker_cache: no reload of an unchanged conversation from the SQL tracker store -----------

TRACKER_CACHE_SIZE = 5000  # conversations per Rasa process


def _patch_tracker_cache(undo: list) -> None:
    import itertools
    import json
    from collections import OrderedDict

    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import SessionStarted
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.shared.nlu.constants import INTENT_NAME_KEY

    original_retrieve = SQLTrackerStore.retrieve

    def cache_of(store: SQLTrackerStore) -> OrderedDict:
        return store.__dict__.setdefault("_koers_cache", OrderedDict())

    def fingerprint(store: SQLTrackerStore, session: Any, sender_id: str) -> tuple:
        """The newest event id and the number of events of this conversation: changed by
        any write or delete, by any process."""
        table = store.SQLEvent.__table__
        query = store.__dict__.get("_koers_fingerprint")
        if query is None:  # built once: a plain statement costs less than an ORM query
            query = store.__dict__["_koers_fingerprint"] = sa.text(
                f"SELECT max(id), count(id) FROM {table.name} WHERE sender_id = :sender"
            )
        return tuple(session.execute(query, {"sender": sender_id}).one())

    def remember(store: SQLTrackerStore, sender_id: str, mark: tuple, data: list[str]) -> None:
        cache = cache_of(store)
        cache[sender_id] = (mark, data)
        cache.move_to_end(sender_id)
        while len(cache) > TRACKER_CACHE_SIZE:
            cache.popitem(last=False)

    def build(store: SQLTrackerStore, sender_id: str, data: list[str]) -> Any:
        if store.domain and data:
            return DialogueStateTracker.from_dict(
                sender_id, [json.loads(d) for d in data], store.domain.slots
            )
        return None

    async def retrieve(self: SQLTrackerStore, sender_id: str) -> Any:
        cached = cache_of(self).get(sender_id)
        with self.session_scope() as session:
            mark = fingerprint(self, session, sender_id)
            if cached is not None and cached[0] == mark:
                STATS["tracker_cache.hit"] += 1
                return build(self, sender_id, cached[1])
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
            data = [row.data for row in rows]
        STATS["tracker_cache.miss"] += 1
        remember(self, sender_id, mark, data)
        return build(self, sender_id, data)

    async def save(self: SQLTrackerStore, tracker: Any) -> None:
        """Rasa's `SQLTrackerStore.save`, counting the stored events from the cache when
        the conversation is unchanged since it was cached."""
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        cached = cache_of(self).pop(sender_id, None)
        with self.session_scope() as session:
            mark = fingerprint(self, session, sender_id)
            if cached is not None and cached[0] == mark:
                stored = len(cached[1])
            else:
                cached = None
                stored = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).count()
            new = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            added, rows = [], []
            for event in new:
                data = event.as_dict()
                serialised = json.dumps(data)
                row = self.SQLEvent(
                    sender_id=sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=serialised,
                )
                session.add(row)
                added.append(serialised)
                rows.append(row)
            session.flush()
            after = (max([mark[0] or 0, *(r.id for r in rows)]), mark[1] + len(rows))
            session.commit()
            if cached is not None and not any(isinstance(e, SessionStarted) for e in new):
                # A new session is left to the next load: Rasa loads from its start. If
                # another writer slipped in, `after` is wrong and the next load reloads.
                remember(self, sender_id, after if rows else mark, cached[1] + added)
        logger.debug(f"Tracker with sender_id '{sender_id}' stored to database")

    assert original_retrieve
    _replace(undo, SQLTrackerStore, "retrieve", retrieve)
    _replace(undo, SQLTrackerStore, "save", save)


# --- form_prefetch: a form's next question comes with its validation ---------------------------

NEXT_KEY = "koers_next"
_prefetched: contextvars.ContextVar[dict | None] = contextvars.ContextVar(
    "koers_prefetched", default=None
)


def _take_prefetched(action: Any, result: dict[str, Any], validator: ResponseValidator) -> None:
    """Keep the next question the action server prepared with a form's validation (see
    `actions.hooks`), once validated like any action response; Rasa itself ignores it."""
    ahead = result.pop(NEXT_KEY)
    if not (applied() >= {"form_prefetch"} and action.name().startswith("validate_")):
        return
    if not isinstance(ahead, dict) or not isinstance(ahead.get("signature"), dict):
        return
    validator.validate({"events": ahead.get("events"), "responses": ahead.get("responses")})
    _prefetched.set(ahead)


def tracker_signature(tracker: Any) -> dict[str, Any]:
    """What Koers' ask actions read from a tracker (mirrors `actions.hooks.signature`)."""
    from rasa.shared.core.events import ActionExecuted, UserUttered

    since_user: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name:
            since_user.append(event.action_name)
    return {
        "slots": tracker.current_slot_values(),
        "active_loop": tracker.active_loop_name,
        "since_user": list(reversed(since_user)),
    }


def _patch_form_prefetch(undo: list) -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.actions.forms import FormAction
    from rasa.shared.core.events import deserialise_events

    original_run = FormAction.run
    original_ask = FormAction._ask_for_slot

    async def run(self: FormAction, *args: Any, **kwargs: Any) -> list:
        token = _prefetched.set(None)
        try:
            return await original_run(self, *args, **kwargs)
        finally:
            _prefetched.reset(token)

    async def ask_for_slot(
        self: FormAction,
        domain: Any,
        nlg: Any,
        output_channel: Any,
        slot_name: str,
        tracker: Any,
    ) -> list:
        ahead = _prefetched.get()
        _prefetched.set(None)
        if ahead is not None:
            name = self._name_of_utterance(domain, slot_name)
            if (
                name == ahead.get("action")
                and tracker.sender_id == ahead.get("sender")
                and tracker_signature(tracker) == ahead.get("signature")
            ):
                # What RemoteAction.run does with an action server's response.
                messages = await RemoteAction._utter_responses(
                    ahead.get("responses") or [], output_channel, nlg, tracker
                )
                STATS["form_prefetch.used"] += 1
                return [*messages, *deserialise_events(ahead.get("events") or [])]
            STATS["form_prefetch.not_matching"] += 1
        return await original_ask(self, domain, nlg, output_channel, slot_name, tracker)

    _replace(undo, FormAction, "run", run)
    _replace(undo, FormAction, "_ask_for_slot", ask_for_slot)


# --- event_types: look an event class up by name once -------------------------------------


def _patch_event_types(undo: list) -> None:
    from rasa.shared.core.events import Event

    original = Event.__dict__["resolve_by_type"].__func__
    found: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        cls = found.get(type_name)
        if cls is None:
            cls = original(type_name, default)
            # Only real matches are remembered (not the default, not "topic"'s None).
            if cls is not None and cls is not default and cls.type_name == type_name:
                found[type_name] = cls
        return cls

    _replace(undo, Event, "resolve_by_type", staticmethod(resolve_by_type))


# --- atomic_turns: a turn whose action server or tracker store failed is not half-saved -------------


class TurnAborted(BaseException):
    """The action server could not be reached (or the conversation could not be saved)
    during a turn. A `BaseException`, so that Rasa's "the bot will continue, but the
    action's events are lost" handler (`except Exception`) lets it through."""


def _unreachable(error: BaseException) -> bool:
    """True when an action call failed because the action server was not there (refused,
    dropped or timed out), not because an action returned an error."""
    import aiohttp

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, aiohttp.ClientConnectionError | asyncio.TimeoutError):
            return True
        current = current.__cause__ or current.__context__
    return False


def _patch_atomic_turns(undo: list) -> None:
    from rasa.core.actions.action import RemoteAction
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.processor import MessageProcessor

    original_remote_run = RemoteAction.run
    original_handle = MessageProcessor.handle_message
    original_save = MessageProcessor.save_tracker

    async def remote_run(self: RemoteAction, *args: Any, **kwargs: Any) -> list:
        try:
            return await original_remote_run(self, *args, **kwargs)
        except Exception as error:
            if _unreachable(error):
                raise TurnAborted(f"action server unreachable during {self.name()}") from error
            raise

    async def save_tracker(self: MessageProcessor, tracker: Any) -> None:
        try:
            await original_save(self, tracker)
        except Exception as error:
            raise TurnAborted("the conversation could not be saved") from error

    async def handle_message(self: MessageProcessor, message: Any) -> Any:
        try:
            return await original_handle(self, message)
        except TurnAborted as aborted:
            STATS["atomic_turns.aborted"] += 1
            logger.warning(
                "Turn of %s not saved and not answered (%s): the client is asked to send "
                "the message again.",
                message.sender_id,
                aborted,
            )
            if isinstance(message.output_channel, CollectingOutputChannel):
                message.output_channel.messages.clear()
                return message.output_channel.messages  # what Rasa returns: here, nothing
            return None

    _replace(undo, RemoteAction, "run", remote_run)
    _replace(undo, MessageProcessor, "save_tracker", save_tracker)
    _replace(undo, MessageProcessor, "handle_message", handle_message)


# --- session_length: a long session starts anew at the next check-in -----------------------------

# The web chat's greeting when a client opens the chat (bot/web/chat.py GREETING_PAYLOAD).
NEW_CHECKIN_PAYLOAD = "/groet"
DEFAULT_SESSION_MAX_EVENTS = 200
_incoming_text: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "koers_incoming_text", default=None
)


def session_max_events() -> int:
    """KOERS_SESSION_MAX_EVENTS (default 200; 0 switches the rotation off)."""
    try:
        return max(0, int(os.environ.get("KOERS_SESSION_MAX_EVENTS", "")))
    except ValueError:
        return DEFAULT_SESSION_MAX_EVENTS


def events_in_session(tracker: Any) -> int:
    from rasa.shared.core.events import SessionStarted

    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        count += 1
    return count


def long_session_at_new_checkin(tracker: Any, text: str | None, limit: int) -> bool:
    """True when this message opens a new check-in (the chat's greeting, outside any form,
    no crisis in this session and no check question waiting for its answer: a new session
    would drop it) and the session already holds more than `limit` events."""
    return (
        limit > 0
        and text == NEW_CHECKIN_PAYLOAD
        and tracker.active_loop_name is None
        and not tracker.get_slot("crisis_getoond")
        and not tracker.get_slot("crisis_controle")
        and events_in_session(tracker) > limit
    )


def _patch_session_length(undo: list) -> None:
    from rasa.core.processor import MessageProcessor

    original_log = MessageProcessor.log_message
    original_expired = MessageProcessor._has_session_expired
    limit = session_max_events()

    async def log_message(self: MessageProcessor, message: Any, *args: Any, **kwargs: Any):
        token = _incoming_text.set(getattr(message, "text", None))
        try:
            return await original_log(self, message, *args, **kwargs)
        finally:
            _incoming_text.reset(token)

    def has_session_expired(self: MessageProcessor, tracker: Any) -> bool:
        if original_expired(self, tracker):
            return True
        if long_session_at_new_checkin(tracker, _incoming_text.get(), limit):
            STATS["session_length.new_session"] += 1
            return True
        return False

    _replace(undo, MessageProcessor, "log_message", log_message)
    _replace(undo, MessageProcessor, "_has_session_expired", has_session_expired)


# --- nlu_shortcuts: no NLU pipeline for a button payload, cached parse data for short texts ------

SHORT_TEXT_CHARS = 24  # "hoi", "ja", "nee", the mood and scale buttons (any text this short)
NLU_CACHE_SIZE = 2048  # short texts per Rasa process
_in_turn: contextvars.ContextVar[bool] = contextvars.ContextVar("koers_in_turn", default=False)


def _patch_nlu_shortcuts(undo: list) -> None:
    from collections import OrderedDict

    from rasa.core.processor import MessageProcessor
    from rasa.shared.constants import INTENT_MESSAGE_PREFIX
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import (
        ENTITIES,
        INTENT,
        INTENT_NAME_KEY,
        PREDICTED_CONFIDENCE_KEY,
        TEXT,
    )
    from rasa.shared.nlu.training_data.message import Message

    original_parse = MessageProcessor._parse_message_with_graph
    original_turn = MessageProcessor._handle_message_with_tracker
    cache: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
    cache_lock = threading.Lock()

    def payload(self: MessageProcessor, text: str, only_output: bool) -> dict[str, Any] | None:
        """The parse data Rasa's pipeline ends with for an intent payload, or None."""
        plain = Message(data={TEXT: text})
        # As the RegexMessageHandler in the pipeline does (its name marks the entities).
        unpacked = YAMLStoryReader.unpack_regex_message(
            plain, self.domain, entity_extractor_name="RegexMessageHandler"
        )
        if unpacked is plain:  # not a payload of a known intent: the pipeline reads it
            return None
        data: dict[str, Any] = {
            TEXT: "",
            INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
            ENTITIES: [],
        }
        data.update(unpacked.as_dict(only_output_properties=only_output))
        return data

    def parse(
        self: MessageProcessor, message: Any, tracker: Any, only_output_properties: bool = True
    ) -> dict[str, Any]:
        text = message.text or ""
        if text.strip().startswith(INTENT_MESSAGE_PREFIX):
            data = payload(self, text, only_output_properties)
            if data is not None:
                STATS["nlu_shortcuts.payload"] += 1
                return data
        if not (_in_turn.get() and only_output_properties and len(text) <= SHORT_TEXT_CHARS):
            return original_parse(self, message, tracker, only_output_properties)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        key = (self.model_metadata.model_id, digest)
        with cache_lock:
            kept = cache.get(key)
            if kept is not None:
                cache.move_to_end(key)
        if kept is not None:
            STATS["nlu_shortcuts.cached"] += 1
            return {TEXT: text, **copy.deepcopy(kept)}
        data = original_parse(self, message, tracker, only_output_properties)
        stored = copy.deepcopy({k: v for k, v in data.items() if k != TEXT})
        with cache_lock:
            cache[key] = stored
            while len(cache) > NLU_CACHE_SIZE:
                cache.popitem(last=False)
        return data

    async def handle_turn(self: MessageProcessor, message: Any, tracker: Any) -> None:
        token = _in_turn.set(True)
        try:
            return await original_turn(self, message, tracker)
        finally:
            _in_turn.reset(token)

    _replace(undo, MessageProcessor, "_parse_message_with_graph", parse)
    _replace(undo, MessageProcessor, "_handle_message_with_tracker", handle_turn)


# --- turn_queue: an instance works on a few turns at a time, the others wait in line -------------

DEFAULT_TURNS_AT_ONCE = 2
DEFAULT_LONGEST_WAIT_S = 3.0


def turns_at_once() -> int:
    """KOERS_RASA_TURNS_AT_ONCE: turns one Rasa process works on at the same time (0: no limit)."""
    try:
        return max(0, int(os.environ.get("KOERS_RASA_TURNS_AT_ONCE", DEFAULT_TURNS_AT_ONCE)))
    except ValueError:
        return DEFAULT_TURNS_AT_ONCE


def longest_wait() -> float:
    """KOERS_RASA_LONGEST_WAIT_S: after this long in line a turn goes ahead anyway."""
    try:
        return max(0.0, float(os.environ.get("KOERS_RASA_LONGEST_WAIT_S", DEFAULT_LONGEST_WAIT_S)))
    except ValueError:
        return DEFAULT_LONGEST_WAIT_S


class TurnQueue:
    """First come, first served: at most `size` holders at once; a released place goes
    straight to the longest waiter (asyncio.Semaphore in Python 3.10 lets a newcomer take
    it first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0
        self.waiting: collections.deque[asyncio.Future] = collections.deque()

    async def acquire(self, longest_wait: float | None = None) -> bool:
        """Take a place; True if the turn had to wait. After `longest_wait` seconds in line a
        turn goes ahead anyway, over the limit: when a dependency is slow (the action server
        or the database in a fault) every turn is slow, and the line must not add the sum of
        the turns before it to each one (the web chat gives up after 30 s)."""
        if self.busy < self.size and not self.waiting:
            self.busy += 1
            return False
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        try:
            if longest_wait is None:
                await future  # the place is handed over by release()
            else:
                await asyncio.wait_for(asyncio.shield(future), longest_wait)
        except asyncio.TimeoutError:
            if not (future.done() and not future.cancelled()):
                # Not handed over in time: leave the line and go ahead over the limit.
                future.cancel()
                self.waiting.remove(future)
                self.busy += 1
                STATS["turn_queue.went_ahead"] += 1
            return True
        except BaseException:
            if future.done() and not future.cancelled():
                self.release()  # handed over just as the waiter was cancelled: pass it on
            else:
                self.waiting.remove(future)
            raise
        return True

    def release(self) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.busy -= 1


_in_queue: contextvars.ContextVar[bool] = contextvars.ContextVar("koers_in_queue", default=False)


def _patch_turn_queue(undo: list) -> None:
    from rasa.core.processor import MessageProcessor

    size = turns_at_once()
    if size == 0:
        return
    wait = longest_wait()
    original_handle = MessageProcessor.handle_message
    queues: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def handle_message(self: MessageProcessor, message: Any) -> Any:
        if _in_queue.get():  # a turn started from within a turn keeps its place
            return await original_handle(self, message)
        loop = asyncio.get_running_loop()
        queue = queues.get(loop)
        if queue is None:
            queue = queues[loop] = TurnQueue(size)
        if await queue.acquire(wait):
            STATS["turn_queue.waited"] += 1
        token = _in_queue.set(True)
        try:
            return await original_handle(self, message)
        finally:
            _in_queue.reset(token)
            queue.release()

    _replace(undo, MessageProcessor, "handle_message", handle_message)


PATCHES: dict[str, Callable[[list], None]] = {
    "validator": _patch_validator,
    "form_prefetch": _patch_form_prefetch,
    "event_types": _patch_event_types,
    "rules_decide": _patch_rules_decide,
    "rule_lookup": _patch_rule_lookup,
    "past_states": _patch_past_states,
    "debug_formatting": _patch_debug_formatting,
    "http_session": _patch_http_session,
    "domain_digest": _patch_domain_digest,
    "sqlite_tracker": _patch_sqlite_tracker,
    "tracker_cache": _patch_tracker_cache,
    "session_length": _patch_session_length,
    "atomic_turns": _patch_atomic_turns,
    "nlu_shortcuts": _patch_nlu_shortcuts,
    "turn_queue": _patch_turn_queue,
}


def apply(names: list[str] | None = None) -> list[str]:
    """Apply the patches (all by default) once per process. Returns the names applied now.

    On another Rasa version nothing is patched and a warning is logged: the patches rely on
    Rasa's internals as they are in 3.6.21.
    """
    version = _rasa_version()
    if version != RASA_VERSION:
        logger.warning("Rasa %s is not %s: Koers' speed-ups are not applied", version, RASA_VERSION)
        return []
    done = []
    with _lock:
        for name in names or list(PATCHES):
            if name in _applied:
                continue
            undo: list[tuple[Any, str, Any]] = []
            PATCHES[name](undo)
            _applied[name] = undo
            done.append(name)
    return done


def revert(names: list[str] | None = None) -> list[str]:
    """Undo patches (all applied ones by default), newest first. For tests and benchmarks."""
    done = []
    with _lock:
        for name in reversed(list(_applied)):
            if names is not None and name not in names:
                continue
            for owner, attribute, original in reversed(_applied.pop(name)):
                if original is _ABSENT:
                    delattr(owner, attribute)
                else:
                    setattr(owner, attribute, original)
            done.append(name)
    return done


def applied() -> frozenset[str]:
    return frozenset(_applied)
