"""People and access: clients, workers and access codes. Every row of these tables is written
here, whoever asks (the dashboard, the admin pages, the management commands, the demo).

The chat's conversation creates its client on first contact (repository.get_or_create_client,
with the Rasa sender id); a worker or admin adds a client with a display name and a new random
chat id (`create_client`). Access codes and chat devices: bot/storage/devices.py ends devices.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from bot.storage.devices import end_client_devices
from bot.storage.models import AccessCode, Agreement, Client, DeletedClient, Worker, utcnow
from bot.vocabulary import DEFAULT_LANGUAGE_LEVEL, LANGUAGE_LEVELS, WORKER_ROLES

MAX_DISPLAY_NAME = 100


def new_chat_id() -> str:
    """A random Rasa sender id for a client created in the web app or the CLI."""
    return "web-" + secrets.token_urlsafe(18)


def client_row(
    chat_id: str,
    language_level: str | None = None,
    display_name: str | None = None,
    worker_id: int | None = None,
) -> Client:
    """A new Client row (not yet added): the one place where Client rows are made."""
    if language_level is not None and language_level not in LANGUAGE_LEVELS:
        raise ValueError(f"language_level must be one of {LANGUAGE_LEVELS}")
    now = utcnow()
    client = Client(
        chat_id=chat_id,
        display_name=display_name,
        worker_id=worker_id,
        created_at=now,
        last_seen_at=now,
    )
    if language_level is not None:
        client.language_level, client.language_level_at = language_level, now
    return client


def create_client(
    session: Session,
    display_name: str,
    language_level: str = DEFAULT_LANGUAGE_LEVEL,
    worker_id: int | None = None,
) -> Client:
    """A client added by a worker or admin: a display name, a language level, a worker."""
    name = (display_name or "").strip()[:MAX_DISPLAY_NAME]
    if not name:
        raise ValueError("a client needs a display name")
    client = client_row(new_chat_id(), language_level, name, worker_id)
    session.add(client)
    session.flush()
    return client


def assign_worker(session: Session, client: Client, worker: Worker | None) -> None:
    """Put the client in `worker`'s caseload (None: no worker)."""
    client.worker_id = worker.id if worker is not None else None
    session.flush()


def record_contact(session: Session, client: Client, at: datetime | None = None) -> None:
    """The worker talked with the client today: the next preparation starts here."""
    client.last_contact_at = at or utcnow()
    session.flush()


def chat_hash(chat_id: str) -> str:
    """How a deleted client's chat id is remembered (`DeletedClient`)."""
    return hashlib.sha256(chat_id.encode("utf-8")).hexdigest()


def is_deleted(session: Session, chat_id: str) -> bool:
    """True when a client with this chat id was deleted."""
    return session.get(DeletedClient, chat_hash(chat_id)) is not None


def delete_client(session: Session, client: Client) -> str:
    """Delete the client and everything about them (the tables cascade). Returns the chat id,
    for the Rasa conversation, which lives in the tracker store.

    The deletion is remembered by a hash of the chat id, in the same transaction: a write an
    action server still keeps in its outbox for this client is then dropped, never written
    (bot/storage/outbox.py)."""
    chat_id = client.chat_id
    session.execute(delete(Client).where(Client.id == client.id))
    if not is_deleted(session, chat_id):
        session.add(DeletedClient(chat_hash=chat_hash(chat_id), deleted_at=utcnow()))
    session.flush()
    return chat_id


def create_worker(
    session: Session, username: str, display_name: str, role: str, password_hash: str
) -> Worker:
    if role not in WORKER_ROLES:
        raise ValueError(f"role must be one of {WORKER_ROLES}")
    worker = Worker(
        username=username,
        display_name=display_name[:MAX_DISPLAY_NAME],
        role=role,
        password_hash=password_hash,
    )
    session.add(worker)
    session.flush()
    return worker


def set_password(session: Session, worker: Worker, password_hash: str) -> None:
    worker.password_hash = password_hash
    worker.active = True
    session.flush()


def record_login(session: Session, worker: Worker) -> None:
    worker.last_login_at = utcnow()
    session.flush()


def replace_access_code(
    session: Session, client: Client, code_hash: str, created_by: str, now: datetime | None = None
) -> AccessCode:
    """Revoke the client's active codes (ending their devices) and store a new code's hash."""
    now = now or utcnow()
    revoke_access_codes(session, client, now)
    code = AccessCode(
        client_id=client.id, code_hash=code_hash, created_by=created_by[:64], created_at=now
    )
    session.add(code)
    session.flush()
    return code


def revoke_access_codes(session: Session, client: Client, now: datetime | None = None) -> None:
    """No code of this client works any more; every logged-in device stops at once."""
    now = now or utcnow()
    session.execute(
        update(AccessCode)
        .where(AccessCode.client_id == client.id, AccessCode.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    end_client_devices(session, client.id, now)


def record_code_use(session: Session, code: AccessCode) -> None:
    code.last_used_at = utcnow()
    session.flush()


def add_agreement(
    session: Session,
    client: Client,
    kind: str,
    text: str,
    party: str | None,
    due_date: object,
    created_by: str,
) -> Agreement:
    agreement = Agreement(
        client_id=client.id,
        kind=kind,
        text=text,
        party=party,
        due_date=due_date,
        created_by=created_by,
        created_at=utcnow(),
    )
    session.add(agreement)
    session.flush()
    return agreement


def finish_agreement(session: Session, agreement: Agreement) -> bool:
    """Mark the agreement as done; False when it already was."""
    if agreement.done_at is not None:
        return False
    agreement.done_at = utcnow()
    session.flush()
    return True
