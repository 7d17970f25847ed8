"""Which Rasa instance serves which client (issue 13).

Every client goes to one Rasa instance, chosen by rendezvous hashing of the client's chat id:
for each instance a hash of (instance URL, chat id) is computed and the highest wins. The
choice is stable (the same client, the same instance, from every web process, across
restarts), spreads clients evenly, and adding or removing an instance moves only the clients
of that instance. Sticky routing matters: Rasa's Redis lock store is not atomic across
instances, so one conversation must never be handled by two instances at once.

If the chosen instance refuses the connection (it is down or still loading its model, so it
is certainly not handling this client's message), the next instance in the client's own
order takes the message; the conversation itself is in the shared tracker store. A timeout
or a dropped connection is never retried elsewhere: the first instance may still be busy with
the message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence


def instance_order(chat_id: str, urls: Sequence[str]) -> list[str]:
    """The Rasa instances for this client, the one that serves it first."""

    def weight(url: str) -> bytes:
        return hashlib.sha256(f"{url}\x1f{chat_id}".encode()).digest()

    return sorted(urls, key=weight, reverse=True)


def refused(error: BaseException) -> bool:
    """True when a `requests` error means the connection was never made (refused, no route),
    so the request certainly did not reach Rasa."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError):
            return True
        if isinstance(current, MaxRetryError) and isinstance(current.reason, NewConnectionError):
            return True
        nested = (
            current.args[0] if current.args and isinstance(current.args[0], BaseException) else None
        )
        current = nested or current.__cause__ or current.__context__
    return False
