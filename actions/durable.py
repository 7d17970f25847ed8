"""Nothing confirmed is lost, nothing is saved twice (issue 13): the action server's side.

- `db_session()`: the database session of an action. Writes that were kept in the outbox
  (see `bot.storage.outbox`) are written first, so a newer write never overtakes an older
  one. After a storage failure the database is not tried again for `COOLDOWN` seconds: the
  actions fall back at once (answers go to the outbox, reads to their calm defaults) instead
  of each waiting for a busy timeout, and a background thread brings the outbox in as soon as
  the database answers again.
- `keep()`: put a refused write in the outbox.
- `checkin_key()`: a check-in's idempotency key that stays the same when the client resends
  the same answer (after a crash Rasa gives the resent message a new message id).
- `claim_disclosure()`: whether to show the first-contact disclosure now; "yes" when the
  database says it was never shown, and also when the database cannot say (better twice
  than never), once per client per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.storage import repository as repo
from bot.storage.db import get_engine, session_scope
from bot.storage.models import Client, utcnow
from bot.storage.outbox import Flusher, Outbox, get_outbox
from bot.vocabulary import CHECKIN_FORM

logger = logging.getLogger(__name__)

COOLDOWN = 10.0  # seconds without database attempts after a storage failure


class StorageUnavailable(SQLAlchemyError):
    """The database failed a moment ago; not tried again until the cool-down has passed."""


class _Breaker:
    def __init__(self) -> None:
        self.down_until = 0.0
        self.lock = threading.Lock()

    def failed(self) -> None:
        with self.lock:
            self.down_until = time.monotonic() + COOLDOWN

    def recovered(self) -> None:
        with self.lock:
            self.down_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.down_until


breaker = _Breaker()


def engine() -> Engine:
    """The Koers database (tests point this elsewhere)."""
    return get_engine()


def outbox() -> Outbox:
    """This action server's outbox (KOERS_OUTBOX_DIR; tests point this elsewhere)."""
    return get_outbox()


@contextmanager
def db_session() -> Iterator[Session]:
    """A database session for an action (commit at the end, rollback on error).

    Raises `StorageUnavailable` (an `SQLAlchemyError`) during the cool-down after a failure.
    """
    if breaker.is_open():
        raise StorageUnavailable("storage unavailable (cool-down after a failure)")
    box = outbox()
    if box.pending():
        _flusher.start()  # also brings in what an earlier run left in the outbox
    try:
        if box.pending():
            box.flush(engine())
            if box.stalled():  # still down: the flush stopped at the first error
                raise StorageUnavailable("storage unavailable (outbox not written)")
        with session_scope(engine()) as session:
            yield session
    except SQLAlchemyError:
        breaker.failed()
        _flusher.start()
        raise


def keep(kind: str, key: str, data: dict[str, Any]) -> bool:
    """Keep a refused write in the outbox. False when even that failed (disk full...)."""
    try:
        outbox().put(kind, key, data)
    except OSError:
        logger.exception("outbox: could not keep a %s", kind)
        return False
    _flusher.start()
    return True


# --- the background flusher -------------------------------------------------------------------


def flush_now() -> int:
    """Try to write the outbox now (also during the cool-down). Returns the count written."""
    box = outbox()
    written = box.flush(engine())
    if not box.stalled():
        breaker.recovered()
    return written


_flusher = Flusher(flush_now, lambda: outbox().pending())


def bring_in_leftovers() -> bool:
    """At the action server's start: write what an earlier run left in the outbox (a safety
    event kept while the database was down, then a restart) in the background, without
    waiting for the next client's message. True when there was something to write."""
    if not outbox().pending():
        return False
    _flusher.start()
    return True


# --- check-in keys ----------------------------------------------------------------------------


def checkin_key(tracker: Tracker) -> str:
    """The check-in's idempotency key: one per activation of the check-in form.

    The activation is a stored event with its own timestamp; a resend of the same mood
    after a crash (Rasa killed before it saved the turn) replays the same activation, so the
    key is the same and the check-in is stored once. A later check-in activates the form
    again and gets a new key.
    """
    from actions.common import latest_user_event, stable_key

    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name") == CHECKIN_FORM:
            return stable_key("checkin", tracker.sender_id, repr(event.get("timestamp")))
    message_id = latest_user_event(tracker).get("message_id") or ""
    return stable_key("checkin", tracker.sender_id, message_id)


# --- the disclosure ---------------------------------------------------------------------------

_SHOWN_MAX = 100_000
_shown: OrderedDict[str, None] = OrderedDict()
_shown_lock = threading.Lock()


def _remember(chat_id: str) -> None:
    with _shown_lock:
        _shown[chat_id] = None
        _shown.move_to_end(chat_id)
        while len(_shown) > _SHOWN_MAX:
            _shown.popitem(last=False)


def forget_shown() -> None:
    """Forget which clients saw the disclosure (tests that start a new database)."""
    with _shown_lock:
        _shown.clear()


def known_shown(chat_id: str) -> bool:
    return chat_id in _shown


def claim_disclosure(
    chat_id: str, session: Session | None = None, client: Client | None = None
) -> bool:
    """True when the disclosure must be shown now; recorded as shown (now or, when the
    database is unavailable, through the outbox). Each client once per process at most.

    With `session` and the client's row (action_session_start) it is decided in that
    transaction; a database error then propagates to the caller, who asks again without."""
    if known_shown(chat_id):
        return False
    if session is not None and client is not None:
        first = client.disclosure_shown_at is None and _mark(session, client.id)
        _remember(chat_id)
        return first
    try:
        with db_session() as own:
            found = own.execute(
                select(Client).where(Client.chat_id == chat_id)
            ).scalar_one_or_none()
            if found is None:
                found = repo.get_or_create_client(own, chat_id)
            first = found.disclosure_shown_at is None and _mark(own, found.id)
    except SQLAlchemyError:
        logger.warning("disclosure: the database cannot say; showing it to be sure")
        keep("disclosure", chat_id, {"chat_id": chat_id})
        first = True
    _remember(chat_id)
    return first


def _mark(session: Session, client_id: int) -> bool:
    """Record the disclosure as shown; True only for the one caller that recorded it."""
    result = session.execute(
        update(Client)
        .where(Client.id == client_id, Client.disclosure_shown_at.is_(None))
        .values(disclosure_shown_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def session_started_this_turn(tracker: Tracker) -> bool:
    """True when the session started right before the user's latest message (so
    action_session_start ran in this very turn)."""
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if not seen_user:
            seen_user = kind == "user"
            continue
        if kind == "session_started":
            return True
        if kind == "slot" or (kind == "action" and event.get("name") == "action_listen"):
            continue
        return False
    return False
