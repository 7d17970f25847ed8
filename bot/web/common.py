"""Shared pieces of the web app: the database session of a request, the logged-in worker,
the audit log and date formatting."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import date, datetime, timezone
from functools import wraps
from typing import Any

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from sqlalchemy.orm import Session

from bot.storage.models import AuditEntry, Client, Worker, utcnow

try:
    from zoneinfo import ZoneInfo

    LOCAL_TZ: Any = ZoneInfo("Europe/Amsterdam")
except Exception:  # no time zone data on this machine: show UTC
    LOCAL_TZ = timezone.utc

ABSOLUTE_SESSION_SECONDS = 10 * 3600


def db() -> Session:
    """The database session of this request; committed when the request ends without error."""
    if "db" not in g:
        g.db = Session(current_app.extensions["koers_engine"], future=True, expire_on_commit=False)
    return g.db


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
    """Write who did what to which client's data (committed with the request)."""
    client_id = client.id if isinstance(client, Client) else client
    if actor is None:
        worker = g.get("worker")
        actor = f"medewerker:{worker.username}" if worker is not None else "onbekend"
    db().add(
        AuditEntry(
            at=utcnow(),
            actor=actor[:64],
            action=action[:64],
            client_id=client_id,
            detail=detail,
            remote_addr=remote_addr(),
        )
    )


# --- worker sessions ------------------------------------------------------------------------


def _live_sessions():  # type: ignore[no-untyped-def]
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
    worker.last_login_at = utcnow()


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


def local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL_TZ)


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


def parse_day(text: str | None) -> date | None:
    """A date from an <input type=date> (YYYY-MM-DD); None when empty or invalid."""
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def day_start(day: date) -> datetime:
    """Midnight (local time) of `day`, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(timezone.utc)


def clean_text(value: str | None, max_length: int) -> tuple[str, str | None]:
    """Trimmed form text and a Dutch problem message (empty or too long), or None."""
    text = (value or "").strip()
    if not text:
        return text, "Dit veld is leeg. Vul iets in."
    if len(text) > max_length:
        return text, f"Dit is te lang. Gebruik hoogstens {max_length} tekens (nu {len(text)})."
    return text, None
