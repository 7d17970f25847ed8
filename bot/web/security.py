"""Secrets, passwords, access codes and the login rate limit of the web app."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from bot.settings import Settings
from bot.web.shared import MemoryLimiter

# Access codes: no 0/O, 1/I/L, 5/S, 2/Z, 8/B - easy to read aloud and to type on a phone.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 12  # 25**12 ~ 6e16 possibilities
MIN_PASSWORD_LENGTH = 10

# A hash to check against when a username does not exist, so both cases take as long.
_DUMMY_HASH = generate_password_hash("koers-dummy-password")


def load_secret_key(settings: Settings) -> str:
    """KOERS_SECRET_KEY, or a key generated once and kept in var/secret_key (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / "secret_key"
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check; also spends the same time when there is no such user."""
    if not password_hash:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


def password_problem(password: str) -> str | None:
    """A Dutch explanation of what is wrong with a new password, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Kies een wachtwoord van minstens {MIN_PASSWORD_LENGTH} tekens."
    if len(password) > 200:
        return "Dit wachtwoord is te lang. Gebruik hoogstens 200 tekens."
    return None


def new_access_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(code: str) -> str:
    """What the client typed, without spaces or dashes, in capitals."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def format_code(code: str) -> str:
    """Show a code in groups of four: ACDE-FGHJ-KMNP."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def code_hash(secret_key: str, code: str) -> str:
    """Keyed HMAC-SHA256 of a normalised code: lookup by hash, useless without the key."""
    return hmac.new(
        secret_key.encode("utf-8"), normalize_code(code).encode("utf-8"), hashlib.sha256
    ).hexdigest()


def new_chat_id() -> str:
    """A random Rasa sender id for a client created in the web app or the CLI."""
    return "web-" + secrets.token_urlsafe(18)


# Kept for callers of the old name: the in-memory limiter now lives in bot.web.shared.
RateLimiter = MemoryLimiter
