"""What the client was shown, read from the conversation's own events.

The tracker holds every message Koers sent ("bot" events) and every slot change. From them we
can tell which wording of a question the client read right before they gave an answer, in
which language level, even when the level changed in between (the client typed "makkelijker"
after the first question, or asked for an explanation). The dashboard shows exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The bot texts the client read before each message that gave a slot its value.
Turns = list[list[str]]


# After a "nee" to the check question, this action keeps the message that raised the check as
# the answer (actions.actions.checked_answer): that message answered what was shown before it,
# not the check question. The check's state slot names that message (`bericht_id`).
CHECK_ANSWER_ACTION = "action_crisis_controle_antwoord"
CHECK_SLOT = "crisis_controle"


def replied_to(events: Iterable[Mapping[str, Any]], slots: Iterable[str]) -> dict[str, Turns]:
    """Per slot that holds a value now: for every message that (re)filled it since it was last
    emptied, the texts Koers sent between the client's previous message and that one.

    Newest last. A correction adds a turn; the original question stays in the list.
    """
    wanted = set(slots)
    since_user: list[str] = []
    before_user: list[str] = []
    before_message: dict[str, list[str]] = {}  # message id -> what was shown before it
    checked_message: str | None = None  # the message that raised the last check question
    in_check_answer = False
    found: dict[str, Turns] = {}
    for event in events:
        kind = event.get("event")
        if kind == "user":
            before_user, since_user = since_user, []
            if event.get("message_id"):
                before_message[str(event["message_id"])] = before_user
            in_check_answer = False
        elif kind == "action":
            in_check_answer = event.get("name") == CHECK_ANSWER_ACTION
        elif kind == "bot":
            since_user.append(str(event.get("text") or ""))
        elif kind == "slot" and event.get("name") == CHECK_SLOT:
            if isinstance(event.get("value"), Mapping) and event["value"].get("bericht_id"):
                checked_message = str(event["value"]["bericht_id"])
        elif kind == "slot" and event.get("name") in wanted:
            name = str(event["name"])
            if event.get("value") in (None, ""):
                found.pop(name, None)
            else:
                turn = before_user
                if in_check_answer and checked_message in before_message:
                    turn = before_message[checked_message]
                found.setdefault(name, []).append(list(turn))
        elif kind == "restart":
            found.clear()
    return found


def match(turns: Turns | None, wordings: Mapping[str, str]) -> tuple[str, str] | None:
    """(level, wording) of the newest of `wordings` ({level: text}) the client read in
    `turns`, or None when none of them was shown there."""
    # Longest first: a short wording inside a longer one must not win.
    ordered = sorted(
        ((level, text) for level, text in wordings.items() if text), key=lambda i: -len(i[1])
    )
    for turn in reversed(turns or []):
        for text in reversed(turn):
            for level, wording in ordered:
                if wording in text:
                    return level, wording
    return None


def reminded_since_last_crisis(events: Iterable[Mapping[str, Any]], reminder: str) -> bool:
    """True when the response `reminder` was sent after the last crisis help (the last time
    `crisis_getoond` was set to true)."""
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind == "slot" and event.get("name") == "crisis_getoond" and event.get("value"):
            return False
        if kind == "bot" and (event.get("metadata") or {}).get("utter_action") == reminder:
            return True
        if kind in ("session_started", "restart"):
            return False
    return False
