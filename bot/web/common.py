"""Shared pieces of the web app: the database session of a request, the logged-in worker,
the audit log and date formatting."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import date, datetime
from functools import wraps
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from bot.localtime import LOCAL_TZ, day_start, local  # noqa: F401 - used by the views
from bot.storage import accounts, auditlog
from bot.storage.models import Client, Worker

ABSOLUTE_SESSION_SECONDS = 10 * 3600


def db() -> Session:
    """The database session of this request; committed when the request ends without error."""
    if "db" not in g:
        g.db = Session(current_app.extensions["koers_engine"], future=True, expire_on_commit=False)
    return g.db


def commit_db() -> None:
    """Commit this request's database session now, if it has one (see app._commit)."""
    session_ = g.get("db")
    if session_ is not None:
        session_.commit()


def rollback_db() -> None:
    """Undo this request's unfinished writes (after an error). Never raises: the error
    handlers call it when the connection itself may be gone."""
    session_ = g.get("db")
    if session_ is None:
        return
    try:
        session_.rollback()
    except Exception as error:  # a lost connection: nothing left to undo
        current_app.logger.warning("rollback failed: %s", error.__class__.__name__)


def close_db(error: BaseException | None) -> None:
    session_ = g.pop("db", None)
    if session_ is None:
        return
    try:
        if error is None:
            session_.commit()
        else:
            session_.rollback()
    finally:
        session_.close()


def remote_addr() -> str:
    return (request.remote_addr or "?")[:64]


def audit(
    action: str,
    client: Client | int | None = None,
    detail: str | None = None,
    actor: str | None = None,
) -> None:
    """Write who did what to which client's data (committed, and chained, with the request)."""
    client_id = client.id if isinstance(client, Client) else client
    if actor is None:
        worker = g.get("worker")
        actor = f"medewerker:{worker.username}" if worker is not None else "onbekend"
    auditlog.record(
        db(), action, actor=actor, client_id=client_id, detail=detail, remote_addr=remote_addr()
    )


def count_event(action: str) -> None:
    """Count an event per day instead of writing a row (blocked attempts: no flooding)."""
    auditlog.count(db(), action)


def username_hash(username: str) -> str:
    """The keyed hash logged for the username of a failed login (never the text itself)."""
    return auditlog.username_hash(current_app.config["SECRET_KEY"], username)


# --- worker sessions ------------------------------------------------------------------------


def _live_sessions():
    """Session ids of logged-in workers (bot.web.shared: in memory or in Redis): logging
    out ends them, so a copied session cookie is useless after logout."""
    return current_app.extensions["koers_state"]


def login_worker(worker: Worker) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login
    session.permanent = True
    now = int(time.time())
    sid = secrets.token_urlsafe(24)
    _live_sessions().add_session(sid, worker.id)
    session["sid"] = sid
    session["worker_id"] = worker.id
    session["login_at"] = now
    session["seen_at"] = now
    accounts.record_login(db(), worker)


def current_worker() -> Worker | None:
    """The logged-in, active worker, or None (expired or logged-out sessions are cleared)."""
    if "worker" in g:
        return g.worker
    g.worker = None
    worker_id = session.get("worker_id")
    if worker_id is None:
        return None
    if _live_sessions().session_owner(session.get("sid", "")) != worker_id:
        session.clear()  # logged out elsewhere, or the server restarted
        return None
    now = int(time.time())
    idle = current_app.config["WORKER_IDLE_SECONDS"]
    if (
        now - session.get("seen_at", 0) > idle
        or now - session.get("login_at", 0) > ABSOLUTE_SESSION_SECONDS
    ):
        end_worker_session()
        g.expired = True
        return None
    worker = db().get(Worker, worker_id)
    if worker is None or not worker.active:
        end_worker_session()
        return None
    session["seen_at"] = now
    g.worker = worker
    return worker


def end_sessions_of(worker_id: int) -> int:
    """Log a worker out everywhere (e.g. after a password reset). Returns how many sessions."""
    return _live_sessions().end_sessions_of(worker_id)


def end_worker_session() -> None:
    _live_sessions().end_session(session.get("sid", ""))
    for key in ("sid", "worker_id", "login_at", "seen_at", "csrf_token"):
        session.pop(key, None)


def role_required(*roles: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            worker = current_worker()
            if worker is None:
                if g.get("expired"):
                    flash(
                        "Je bent uitgelogd omdat je een tijd niets hebt gedaan. " "Log opnieuw in.",
                        "info",
                    )
                return redirect(url_for("auth.login", next=request.path))
            if worker.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


worker_required = role_required("worker")
admin_required = role_required("admin")


# --- formatting -----------------------------------------------------------------------------


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return "nooit"
    return local(value).strftime("%d-%m-%Y %H:%M")


def format_date(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return value.strftime("%d-%m-%Y")


# Dates outside this range are typing mistakes, and the extremes overflow (0001-01-01 in
# local time is before the year 1 in UTC).
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


def parse_day(text: str | None) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD); None when empty, invalid or outside
    1900-2999."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if FIRST_DAY <= day <= LAST_DAY else None


def clean_text(value: str | None, max_length: int) -> tuple[str, str | None]:
    """Trimmed form text and a Dutch problem message (empty or too long), or None."""
    text = (value or "").strip()
    if not text:
        return text, "Dit veld is leeg. Vul iets in."
    if len(text) > max_length:
        return text, f"Dit is te lang. Gebruik hoogstens {max_length} tekens (nu {len(text)})."
    return text, None


# Bidirectional controls (they reorder what follows: "gebruiker\u202e" can make a log line
# read backwards) and other invisible format characters, shown as a visible code instead.
_INVISIBLE = {
    *range(0x00, 0x09),
    *range(0x0B, 0x20),
    0x7F,
    0x061C,
    0x200B,
    0x200C,
    0x200D,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0xFEFF,
}


def visible(value: object) -> str:
    """Text for display with bidi and other invisible control characters neutralised, e.g.
    U+202E becomes "[U+202E]". Escape HTML as usual afterwards (Jinja autoescapes)."""
    if value is None:
        return ""
    text = str(value)
    if not any(ord(ch) in _INVISIBLE for ch in text):
        return text
    return "".join(f"[U+{ord(ch):04X}]" if ord(ch) in _INVISIBLE else ch for ch in text)
