"""Devices logged in to the client chat (table `chat_devices`).

At login the device gets a random token in its signed cookie; the database keeps only a keyed
HMAC-SHA256 of the token. Every chat request looks the device up by that hash, so logging out,
or revoking or replacing the access code, ends the device on the server: a copied cookie stops
working at once, not only when the cookie expires.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.models import AccessCode, ChatDevice, utcnow

TOKEN_BYTES = 32
# last_seen_at is written at most once per this interval per device (not at every message).
TOUCH_INTERVAL = timedelta(minutes=1)


def token_hash(secret_key: str, token: str) -> str:
    """Keyed HMAC-SHA256 of a device token (its own domain, apart from the code hashes)."""
    return hmac.new(
        secret_key.encode("utf-8"), b"koers-chat-device\x00" + token.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def new_device(
    session: Session, code: AccessCode, secret_key: str, now: datetime | None = None
) -> str:
    """Record a new logged-in device for `code`. Returns the token for the cookie."""
    now = now or utcnow()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        ChatDevice(
            access_code_id=code.id,
            token_hash=token_hash(secret_key, token),
            created_at=now,
            last_seen_at=now,
        )
    )
    session.flush()
    return token


def find_device(session: Session, secret_key: str, token: str) -> ChatDevice | None:
    if not token:
        return None
    return session.execute(
        select(ChatDevice).where(ChatDevice.token_hash == token_hash(secret_key, token))
    ).scalar_one_or_none()


def end_device(session: Session, secret_key: str, token: str) -> bool:
    """End the device with this token (logout). True when a live device was ended."""
    if not token:
        return False
    result = session.execute(
        update(ChatDevice)
        .where(
            ChatDevice.token_hash == token_hash(secret_key, token), ChatDevice.ended_at.is_(None)
        )
        .values(ended_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount)


def end_client_devices(session: Session, client_id: int, now: datetime | None = None) -> int:
    """End every live device of every access code of this client (code revoked or replaced)."""
    result = session.execute(
        update(ChatDevice)
        .where(
            ChatDevice.access_code_id.in_(
                select(AccessCode.id).where(AccessCode.client_id == client_id)
            ),
            ChatDevice.ended_at.is_(None),
        )
        .values(ended_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def needs_touch(device: ChatDevice, now: datetime) -> bool:
    return device.last_seen_at is None or now - device.last_seen_at >= TOUCH_INTERVAL


def touch(device: ChatDevice, now: datetime) -> bool:
    """Record that the device was used (at most once per TOUCH_INTERVAL). True when written."""
    if not needs_touch(device, now):
        return False
    device.last_seen_at = now
    return True
