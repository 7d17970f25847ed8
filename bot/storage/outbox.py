"""The outbox: writes the database refused, kept on disk until it takes them (issue 13).

When the action server cannot write a check-in, a reflection (with its small step), a safety
event, a step result, "the disclosure was shown", the client's switch of language level, or
(issue 14b) the answer to the worker's question and the check of a task (the database is
down, or locked past the busy timeout), it
puts the write here instead of losing it. Each entry is one JSON file in
the outbox folder (KOERS_OUTBOX_DIR, default var/outbox), written to a temporary file, synced
and renamed, so an entry is either complete or absent, also after a crash. Whatever the
client says next, the entry stays until it is written.

`flush()` writes the entries in the order they were made, each in its own transaction, and
deletes an entry only after its transaction committed. Every write is idempotent (by the same
key the direct write uses), so an entry written twice (a crash between commit and delete,
two processes flushing) is stored once. The action server flushes before every database
session of an action (so a newer write never overtakes an older one) and every few seconds
in the background, until the outbox is empty.

An entry that can never be written (invalid data) is moved to `failed/` and logged, never
retried forever and never deleted silently. An answer to a check question whose event is not
stored yet (it waits in another machine's outbox) stays for up to an hour, tried again with
the rest, before it is set aside there.

An entry of a deleted client is dropped, never written: deleting a client records a hash of
its chat id (`accounts.delete_client`, table `deleted_clients`), which `flush()` checks
before and after writing each entry, in the entry's transaction (so a deletion that commits
while an entry is being written also wins). `python -m bot delete` also removes the
client's entries (and failed entries) from the outbox on its own machine at once
(`discard_client`); outboxes on other machines drop theirs at their next flush.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from bot.storage import accounts, between
from bot.storage import repository as repo
from bot.storage.db import session_scope
from bot.storage.models import CheckIn, Client, Reflection, SafetyEvent
from bot.vocabulary import OUTCOME_HELP, STANDARD, STATUS_COMPLETE

logger = logging.getLogger(__name__)

SUFFIX = ".json"
# Errors of a database that is up but refuses an entry for good; every other database error
# means "unavailable, try again later".
REFUSED = (IntegrityError, DataError, ProgrammingError, NotSupportedError)


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: str
    key: str
    queued_at: datetime
    data: dict[str, Any]


class _ClientDeleted(Exception):
    """The entry belongs to a deleted client: roll back and drop it."""


def _chat_id(entry: Entry) -> str | None:
    chat_id = entry.data.get("chat_id") if isinstance(entry.data, dict) else None
    return chat_id if isinstance(chat_id, str) and chat_id else None


def _find_chat_id(session: Session, entry: Entry) -> None:
    """An entry kept while the database was down may name its client by id only (the web
    chat's login cookie: bot.web.chat.help_without_storage); its chat id is looked up now. A
    client that is no longer there is deleted: the entry goes with it."""
    data = entry.data
    if not isinstance(data, dict) or data.get("chat_id") or "client_id" not in data:
        return
    client = session.get(Client, int(data["client_id"]))
    if client is None:
        raise _ClientDeleted
    data["chat_id"] = client.chat_id


def _refuse_deleted(session: Session, entry: Entry) -> None:
    _find_chat_id(session, entry)
    chat_id = _chat_id(entry)
    if chat_id is not None and accounts.is_deleted(session, chat_id):
        raise _ClientDeleted


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _parse_time(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


# --- replaying one entry ----------------------------------------------------------------------


def _replay_checkin(session: Session, entry: Entry) -> None:
    checkin, created = repo.save_checkin(
        session, entry.data["chat_id"], int(entry.data["mood"]), entry.key
    )
    if created:
        checkin.created_at = entry.queued_at


def _replay_reflection(session: Session, entry: Entry) -> None:
    data = entry.data
    existing = session.query(Reflection).filter(Reflection.idempotency_key == entry.key).first()
    if existing is not None and existing.updated_at and existing.updated_at > entry.queued_at:
        return  # written directly after this entry was made: the newer state wins
    reflection, created = repo.save_reflection(
        session,
        data["chat_id"],
        theme=data["theme"],
        # [key, question, answer] (before issue 12's levels) or [..., level].
        answers=[repo.AnswerIn(*answer) for answer in data["answers"]],
        scale=data.get("scale"),
        shared_with_worker=bool(data["shared"]),
        status=data["status"],
        idempotency_key=entry.key,
        scale_question=data.get("scale_question"),
        scale_level=data.get("scale_level"),
    )
    if created:
        reflection.created_at = entry.queued_at
    step = data.get("step")
    if step and data["status"] == STATUS_COMPLETE:
        repo.save_step(
            session,
            data["chat_id"],
            theme=data["theme"],
            text=str(step),
            shared_with_worker=bool(data["shared"]),
            idempotency_key=f"stap-{entry.key}"[:64],
            reflection_id=reflection.id,
        )


def _replay_safety_event(session: Session, entry: Entry) -> None:
    data = entry.data
    event, created = repo.record_safety_event(
        session,
        data["chat_id"],
        category=data["category"],
        message_text=data["message_text"],
        response_text=data["response_text"],
        detected_by=data["detected_by"],
        context=data.get("context"),
        idempotency_key=entry.key,
        # Issue 15's fields (absent in entries written before it).
        outcome=data.get("outcome") or OUTCOME_HELP,
        question_text=data.get("question_text"),
        preceding=data.get("preceding"),
        evidence=data.get("evidence"),
    )
    if created:
        event.created_at = entry.queued_at


class _NotYet(Exception):
    """The entry needs a row that is not stored yet (it may wait in another machine's
    outbox): kept in the outbox and tried again, without holding up the entries after it."""


# How long an entry waits for the row it needs before it is set aside in failed/.
WAIT_FOR_OTHERS = timedelta(hours=1)
# While it waits, it is tried again after a pause that doubles from the first to the last
# (not on every action: each try is a query).
RETRY_FIRST, RETRY_LONGEST = timedelta(seconds=3), timedelta(minutes=1)


def _replay_check_answer(session: Session, entry: Entry) -> None:
    data = entry.data
    stored = session.execute(
        select(SafetyEvent).where(SafetyEvent.idempotency_key == data["event_key"])
    ).scalar_one_or_none()
    if stored is not None and stored.check_answer is not None:
        return  # already written (a replay twice): the shown help is not added again
    if stored is None:
        # The check's event may wait in another machine's outbox: wait for it a while. Then
        # set aside in failed/ (ValueError in flush), where a person can read it, never
        # dropped as if it had been stored.
        if _now() - entry.queued_at < WAIT_FOR_OTHERS:
            raise _NotYet
        raise ValueError("the check question's event is not stored")
    repo.record_check_answer(
        session,
        data["chat_id"],
        data["event_key"],
        data["answer"],
        data.get("shown"),
        data.get("reply"),
    )


def _replay_disclosure(session: Session, entry: Entry) -> None:
    client = repo.get_or_create_client(session, entry.data["chat_id"])
    if client.disclosure_shown_at is None:
        client.disclosure_shown_at = entry.queued_at


def _replay_language_level(session: Session, entry: Entry) -> None:
    """The client's own switch of language level in the chat ("makkelijker graag"), as made
    when it was kept: not over a level set later (by the worker, or through another machine)."""
    client = repo.get_or_create_client(session, entry.data["chat_id"])
    repo.set_language_level(client, entry.data["level"], entry.queued_at)


def _replay_step_result(session: Session, entry: Entry) -> None:
    data = entry.data
    try:
        repo.resolve_step(session, data["chat_id"], int(data["step_id"]), data["status"])
    except ValueError as error:
        if "already resolved" in str(error):
            return  # resolved otherwise in the meantime: nothing to do
        raise


def _replay_question_answer(session: Session, entry: Entry) -> None:
    """The answer to the worker's question (issue 14b), or the client's skip."""
    data = entry.data
    if data.get("skipped"):
        between.skip_question(session, data["chat_id"], int(data["question_id"]))
        return
    between.record_question_answer(
        session,
        data["chat_id"],
        int(data["question_id"]),
        str(data["answer"]),
        bool(data["shared"]),
        entry.key,
        data.get("level") or STANDARD,
    )


def _replay_agreement_check(session: Session, entry: Entry) -> None:
    """The client's answer about one of their tasks (issue 14b), at the time it was given."""
    data = entry.data
    between.record_agreement_check(
        session,
        data["chat_id"],
        int(data["agreement_id"]),
        data["outcome"],
        entry.key,
        now=entry.queued_at,
    )


REPLAYERS: dict[str, Callable[[Session, Entry], None]] = {
    "checkin": _replay_checkin,
    "reflection": _replay_reflection,
    "safety_event": _replay_safety_event,
    "check_answer": _replay_check_answer,
    "disclosure": _replay_disclosure,
    "language_level": _replay_language_level,
    "step_result": _replay_step_result,
    "question_answer": _replay_question_answer,
    "agreement_check": _replay_agreement_check,
}
# The row types an entry becomes (for tests and the docs).
KINDS = {
    "checkin": CheckIn,
    "reflection": Reflection,
    "safety_event": SafetyEvent,
    "disclosure": Client,
}


class Outbox:
    """Writes waiting on disk for the database; see the module docstring."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._pending: bool | None = None  # unknown until the folder was looked at
        # Entries kept so far by this process: a flush that looked at the folder before a
        # `put` renamed its file into it must not mark the outbox empty after that put.
        self._puts = 0
        self._state_lock = threading.Lock()  # short: `_puts` and `_pending` only
        # Entries waiting for another machine's row: file name -> (next try, current pause).
        self._retry: dict[str, tuple[datetime, timedelta]] = {}
        self._stalled = False  # the last flush stopped at a database error

    # -- writing ------------------------------------------------------------------------------

    def put(self, kind: str, key: str, data: dict[str, Any]) -> Path:
        """Keep one write for later. A newer entry of the same kind and key replaces the
        older one (both would write the same row; the newer state wins)."""
        if kind not in REPLAYERS:
            raise ValueError(f"unknown outbox entry kind {kind!r}")
        self.directory.mkdir(parents=True, exist_ok=True)
        queued_at = _now()
        digest = hashlib.sha256(f"{kind}\x1f{key}".encode()).hexdigest()[:24]
        name = f"{time.time_ns():020d}-{kind}-{digest}{SUFFIX}"
        body = json.dumps(
            {"kind": kind, "key": key, "queued_at": queued_at.isoformat(), "data": data},
            ensure_ascii=False,
        )
        tmp = self.directory / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        target = self.directory / name
        os.replace(tmp, target)
        self._sync_directory()
        for older in self.directory.glob(f"*-{kind}-{digest}{SUFFIX}"):
            if older.name < name:
                older.unlink(missing_ok=True)
        with self._state_lock:
            self._puts += 1
            self._pending = True
        return target

    def _sync_directory(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    # -- reading ------------------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        """The waiting entries, oldest first (unreadable files are moved to failed/)."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
                found.append(
                    Entry(
                        path,
                        raw["kind"],
                        raw["key"],
                        _parse_time(raw["queued_at"]),
                        raw["data"],
                    )
                )
            except FileNotFoundError:
                continue  # replaced or written meanwhile
            except (ValueError, KeyError, TypeError):
                self._fail(path, "unreadable")
        return found

    def pending(self) -> bool:
        """True when entries may be waiting (cheap: remembers an empty folder)."""
        if self._pending is None:
            self._pending = bool(self.entries())
        return self._pending

    def stalled(self) -> bool:
        """True when the last flush stopped at a database error: entries wait for the
        database itself. Entries that only wait for another machine's row do not count: the
        database takes every other write meanwhile."""
        return self._stalled

    def __len__(self) -> int:
        return len(self.entries())

    def _not_yet(self, entry: Entry) -> None:
        """The entry waits for a row that is not stored yet: try it again after a pause."""
        pause = self._retry.get(entry.path.name, (None, RETRY_FIRST / 2))[1] * 2
        pause = min(pause, RETRY_LONGEST)
        self._retry[entry.path.name] = (_now() + pause, pause)

    def _resting(self, entry: Entry) -> bool:
        waiting = self._retry.get(entry.path.name)
        return waiting is not None and _now() < waiting[0]

    # -- flushing -----------------------------------------------------------------------------

    def flush(self, engine: Engine | None = None) -> int:
        """Write waiting entries to the database, oldest first. Returns how many were
        written. Stops at the first database error (storage still unavailable) and leaves
        that entry and the ones after it for the next flush."""
        if not self.pending():
            self._stalled = False
            return 0
        written = dropped = 0
        with self._lock:
            self._stalled = False
            for entry in self.entries():
                if self._resting(entry):
                    continue  # waits for another machine's row; tried again after a pause
                try:
                    with session_scope(engine) as session:
                        _refuse_deleted(session, entry)
                        REPLAYERS[entry.kind](session, entry)
                        session.flush()
                        # Deleted while this entry was written (PostgreSQL: the deletion
                        # committed after the first check): rolled back, never stored.
                        _refuse_deleted(session, entry)
                except _ClientDeleted:
                    entry.path.unlink(missing_ok=True)
                    dropped += 1
                    continue
                except _NotYet:
                    self._not_yet(entry)
                    continue  # stays; the background flush tries again
                except REFUSED:
                    # The database is there but refuses this entry for good (a constraint,
                    # bad data): kept aside, so that it cannot block every later write.
                    logger.exception("outbox: entry %s is refused", entry.path.name)
                    self._fail(entry.path, "refused")
                    continue
                except SQLAlchemyError:
                    logger.warning("outbox: the database is still unavailable")
                    self._stalled = True
                    return written
                except (ValueError, KeyError, TypeError):
                    logger.exception("outbox: entry %s cannot be written", entry.path.name)
                    self._fail(entry.path, "invalid")
                    continue
                entry.path.unlink(missing_ok=True)
                written += 1
            puts = self._puts
            waiting = self.entries()
            # `put` does not wait for a flush: it may have kept an entry after this listing.
            # Then the outbox is not empty, whatever the listing says.
            with self._state_lock:
                self._pending = bool(waiting) or self._puts != puts
            names = {entry.path.name for entry in waiting}
            self._retry = {name: t for name, t in self._retry.items() if name in names}
        if written:
            logger.info("outbox: %d waiting write(s) stored in the database", written)
        if dropped:
            logger.info("outbox: %d waiting write(s) of deleted clients dropped", dropped)
        return written

    def discard_client(self, chat_id: str) -> int:
        """Remove every entry of this client, also those in `failed/` (the client was
        deleted). Returns how many were removed."""
        removed = 0
        with self._lock:
            for folder in (self.directory, self.directory / "failed"):
                if not folder.is_dir():
                    continue
                for path in sorted(folder.glob(f"*{SUFFIX}")):
                    try:
                        data = json.loads(path.read_text(encoding="utf-8")).get("data")
                    except (OSError, ValueError, AttributeError):
                        continue  # gone meanwhile, or unreadable (kept for a person to read)
                    if isinstance(data, dict) and data.get("chat_id") == chat_id:
                        path.unlink(missing_ok=True)
                        removed += 1
            self._pending = None  # looked at again on the next use
        if removed:
            logger.info("outbox: %d waiting write(s) of a deleted client removed", removed)
        return removed

    def _fail(self, path: Path, reason: str) -> None:
        failed = self.directory / "failed"
        failed.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(path, failed / path.name)
        except FileNotFoundError:
            return
        logger.error("outbox: %s entry moved to %s", reason, failed / path.name)


FLUSH_INTERVAL = 3.0  # seconds between background attempts while the outbox is not empty


class Flusher:
    """Writes an outbox in the background: every `interval` seconds `flush()`, until
    `pending()` says it is empty; then the thread ends, and the next `start()` starts another.
    One daemon thread at most per flusher; `start()` while it runs does nothing. Used by the
    action server (actions.durable) and by the web app (a safety event of a message too long
    for Rasa, bot.web.chat)."""

    def __init__(
        self,
        flush: Callable[[], object],
        pending: Callable[[], bool],
        interval: float = FLUSH_INTERVAL,
        name: str = "koers-outbox",
    ) -> None:
        self._flush, self._pending, self.interval, self.name = flush, pending, interval, name
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self._flush()
            except Exception:  # never let the thread die on a surprise
                logger.exception("outbox: background flush failed")
            if not self._pending():
                with self._lock:
                    if not self._pending():
                        self._thread = None
                        return


_outboxes: dict[Path, Outbox] = {}
_outboxes_lock = threading.Lock()


def get_outbox(directory: Path | None = None) -> Outbox:
    """The process-wide outbox for `directory` (default: the configured one)."""
    if directory is None:
        from bot.settings import get_settings

        directory = get_settings().outbox_path
    directory = Path(directory)
    with _outboxes_lock:
        box = _outboxes.get(directory)
        if box is None:
            box = _outboxes[directory] = Outbox(directory)
        return box
