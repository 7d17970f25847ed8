"""Secrets, passwords, access codes and the login rate limit of the web app."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from bot.settings import Settings

# Access codes: no 0/O, 1/I/L, 5/S, 2/Z, 8/B - easy to read aloud and to type on a phone.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 12  # 25**12 ~ 6e16 possibilities
MIN_PASSWORD_LENGTH = 10

# A hash to check against when a username does not exist, so both cases take as long.
_DUMMY_HASH = generate_password_hash("koers-dummy-password")


def load_secret_key(settings: Settings) -> str:
    """KOERS_SECRET_KEY, or a key generated once and kept in var/secret_key (mode 0600).

    The file is written completely before it appears (a temporary file, then a hard link that
    fails when another process was first), so it is never seen empty. An empty file left by
    an older version (a crash, a full disk) is replaced: no access code can depend on an
    empty key.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / "secret_key"
    for _attempt in range(3):
        if path.exists():
            key = path.read_text(encoding="utf-8").strip()
            if key:
                return key
            path.unlink(missing_ok=True)  # empty: nothing was ever keyed with it
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(key + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.link(tmp, path)  # atomic; fails if another process created the key first
            return key
        except FileExistsError:
            continue
        finally:
            tmp.unlink(missing_ok=True)
    raise RuntimeError(f"could not read or create the secret key in {path}")


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


class RateLimiter:
    """Failed attempts per key in a sliding window (in memory, per process).

    Keys: "worker:<ip>:<username>" for worker logins, "code:<ip>" for access codes.
    Checking a key never stores anything, and keys whose window has passed are removed, so
    attempts that are refused (or never fail) do not grow the table. When it still holds more
    than `max_keys` keys, keys that are not blocked are forgotten first, oldest first: a flood
    of new keys cannot push out a key that is blocked now.
    """

    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        max_keys: int = 10000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.max_keys = max_keys
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def __len__(self) -> int:
        return len(self._failures)

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def blocked(self, key: str) -> bool:
        with self._lock:
            times = self._recent(key, self._clock())
            return times is not None and len(times) >= self.max_failures

    def fail(self, key: str) -> bool:
        """Count a failure. True when this failure blocks the key (it reached the limit)."""
        with self._lock:
            now = self._clock()
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = deque()
            times.append(now)
            self._calls += 1
            if self._calls % 256 == 0 or len(self._failures) > self.max_keys:
                self._purge(now)
            return len(times) == self.max_failures

    def _purge(self, now: float) -> None:
        for key in list(self._failures):
            self._recent(key, now)
        excess = len(self._failures) - self.max_keys
        if excess <= 0:
            return
        unblocked = [k for k, t in self._failures.items() if len(t) < self.max_failures]
        for key in unblocked[:excess]:
            del self._failures[key]
        excess = len(self._failures) - self.max_keys
        for key in list(self._failures)[: max(excess, 0)]:  # all blocked: oldest first
            del self._failures[key]

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
