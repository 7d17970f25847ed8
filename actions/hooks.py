"""Koers' hooks around the rasa-sdk action executor (installed when the `actions` package is
imported, so by every action server that runs Koers' actions).

`install()` wraps `ActionExecutor.run`, the one place every action call passes through:

1. The disclosure at the first successful contact. `action_session_start` shows "Ik ben een
   computerprogramma..." to a new client. When that call failed (the action server was
   down, or the database could not say), Rasa still counts the session as started and never
   asks again. So after any other action for a client whose disclosure is not recorded as
   shown, the disclosure is added in front of that action's messages (after them for the
   crisis help, which always comes first) and recorded (`actions.durable.claim_disclosure`,
   one database look-up per client per process).

2. The next question together with a form's validation (`koers_next`). Rasa asks a form's
   next question with a second action-server call right after the validation call. After
   running `validate_<form>`, the hook works out which question Rasa will ask next (as Rasa
   does: the requested slot the validation set, else the first empty required slot of the
   form; the first of `action_ask_<form>_<slot>`, `action_ask_<slot>` in the domain), runs
   that ask action on the tracker Rasa would send (the validation's slot changes applied,
   the form active), and adds its result with a signature of that input: the slot values,
   the active form and the actions since the user's message (all the ask actions read, see
   `PREFETCHABLE`). Koers' Rasa patch (`bot.rasa_patches`, `form_prefetch`) uses the result
   instead of the second call only when its own choice and its own tracker give the same
   action and signature; otherwise it calls the action server as usual. A stock Rasa ignores
   the extra field.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.interfaces import Tracker

logger = logging.getLogger(__name__)

NEXT_KEY = "koers_next"
REQUESTED_SLOT = "requested_slot"
# The crisis help always comes first; the disclosure follows it.
SAFETY_FIRST = frozenset(
    {
        "action_crisis",
        "action_plan_rood",
        "action_crisis_controle",
        "action_crisis_controle_antwoord",
    }
)
# Ask actions whose result depends only on the slots, the active form and the names of the
# actions since the last user message (see actions/forms.py: _AskAction and subclasses).
PREFETCHABLE_PREFIX = "action_ask_"

_installed = False


# --- 1. the disclosure ------------------------------------------------------------------------


def _disclosure_message(domain: dict[str, Any], slots: dict[str, Any]) -> dict[str, Any]:
    """The disclosure as action_session_start shows it (the rest behind "Meer weten?")."""
    from actions.common import LANGUAGE_SLOT, render_response, response_custom
    from bot.vocabulary import SIMPLE, STANDARD

    level = SIMPLE if slots.get(LANGUAGE_SLOT) == SIMPLE else STANDARD
    more = response_custom(domain, "utter_disclosure", level).get("meer_weten")
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(
        text=render_response(domain, "utter_disclosure", level),
        json_message={"meer_weten": more} if more else None,
    )
    return dispatcher.messages[0]


def add_disclosure(action_call: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """Show the disclosure with this action's answer when the client never saw it."""
    from actions import durable

    name = action_call.get("next_action") or ""
    tracker = action_call.get("tracker") or {}
    sender = tracker.get("sender_id")
    if not sender or name == "action_session_start" or durable.known_shown(sender):
        return result
    domain = action_call.get("domain") or {}
    if "utter_disclosure" not in (domain.get("responses") or {}):
        return result
    if not durable.claim_disclosure(sender):
        return result
    message = _disclosure_message(domain, tracker.get("slots") or {})
    responses = list(result.get("responses") or [])
    responses = responses + [message] if name in SAFETY_FIRST else [message, *responses]
    events = list(result.get("events") or [])
    events.append({"event": "slot", "name": "disclosure_net_getoond", "value": True})
    logger.info("disclosure shown with %s (first successful contact)", name)
    return {**result, "responses": responses, "events": events}


# --- 2. the next question with the validation -------------------------------------------------


def _since_user(events: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name"):
            names.append(event["name"])
    return list(reversed(names))


def signature(slots: dict[str, Any], active_loop: str | None, since_user: list[str]) -> dict:
    """What an ask action reads; Rasa's side computes the same from its own tracker."""
    return {"slots": slots, "active_loop": active_loop, "since_user": since_user}


def next_ask_action(
    form: str, domain: dict[str, Any], slots: dict[str, Any], events: list[dict[str, Any]]
) -> str | None:
    """The action Rasa will run to ask the form's next question after these validation
    events, or None (form done, rejected, or the question is a plain response)."""
    if any(e.get("event") == "action_execution_rejected" for e in events):
        return None
    last_requested = next(
        (
            e
            for e in reversed(events)
            if e.get("event") == "slot" and e.get("name") == REQUESTED_SLOT
        ),
        None,
    )
    if last_requested is not None and last_requested.get("value") is None:
        return None
    last_loop = next((e for e in reversed(events) if e.get("event") == "active_loop"), None)
    if last_loop is not None and last_loop.get("name") is None:
        return None
    slot = next(
        (
            e.get("value")
            for e in events
            if e.get("event") == "slot" and e.get("name") == REQUESTED_SLOT
        ),
        None,
    )
    if not slot:
        required = ((domain.get("forms") or {}).get(form) or {}).get("required_slots") or []
        slot = next((s for s in required if slots.get(s) is None), None)
    if not slot:
        return None
    actions = set(domain.get("actions") or [])
    responses = set((domain.get("responses") or {}).keys())
    for candidate in (
        f"action_ask_{form}_{slot}",
        f"utter_ask_{form}_{slot}",
        f"action_ask_{slot}",
        f"utter_ask_{slot}",
    ):
        if candidate in actions:
            return candidate
        if candidate in responses:
            return None  # Rasa utters a response itself: no action-server call to save
    return None


async def prefetch_next(
    executor: ActionExecutor, action_call: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any] | None:
    """Run the form's next ask action on the tracker Rasa will send it (see module doc)."""
    name = action_call.get("next_action") or ""
    form = name.removeprefix("validate_")
    domain = action_call.get("domain") or {}
    tracker_json = action_call.get("tracker") or {}
    events = list(result.get("events") or [])
    slots = dict(tracker_json.get("slots") or {})
    for event in events:
        if event.get("event") == "slot":
            slots[event.get("name")] = event.get("value")
    ask = next_ask_action(form, domain, slots, events)
    if ask is None or not ask.startswith(PREFETCHABLE_PREFIX) or ask not in executor.actions:
        return None
    all_events = list(tracker_json.get("events") or []) + events
    state = {
        **tracker_json,
        "slots": slots,
        "events": all_events,
        "active_loop": {**(tracker_json.get("active_loop") or {}), "name": form},
    }
    tracker = Tracker.from_dict(state)  # fresh slots and events; the rest is only read
    dispatcher = CollectingDispatcher()
    ask_events = await utils.call_potential_coroutine(
        executor.actions[ask](dispatcher, tracker, domain)
    )
    return {
        "action": ask,
        "sender": tracker_json.get("sender_id"),
        "signature": signature(slots, form, _since_user(all_events)),
        "events": executor.validate_events(ask_events or [], ask),
        "responses": dispatcher.messages,
    }


# --- installing -------------------------------------------------------------------------------


def install() -> None:
    """Install the hooks once per process."""
    global _installed
    if _installed:
        return
    original_run = ActionExecutor.run

    async def run(self: ActionExecutor, action_call: dict[str, Any]) -> dict[str, Any] | None:
        result = await original_run(self, action_call)
        if not isinstance(result, dict):
            return result
        name = action_call.get("next_action") or ""
        try:
            result = add_disclosure(action_call, result)
        except Exception:  # the action's own answer always goes out
            logger.exception("could not add the disclosure to %s", name)
        if name.startswith("validate_"):
            try:
                ahead = await prefetch_next(self, action_call, result)
            except Exception:  # Rasa then asks the action server itself
                logger.exception("could not prepare the next question after %s", name)
                ahead = None
            if ahead is not None:
                result = {**result, NEXT_KEY: ahead}
        return result

    ActionExecutor.run = run
    _installed = True
