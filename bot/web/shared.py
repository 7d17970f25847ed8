"""The web app's shared state: per-client send locks, offered buttons, login rate limits and
worker sessions (issue 13).

`MemoryState` keeps them in the memory of one web process (the default, `make run`).
`RedisState` keeps them in Redis (KOERS_REDIS_URL), so that several web processes behind one
proxy share them: a client's messages still go to Rasa one at a time, a button works once,
a login limit counts every attempt, and a worker's logout ends the session everywhere.

If Redis is unreachable, the calls raise `redis.exceptions.RedisError`; the app answers that
with a calm "briefly unreachable" (see `bot.web.app`), never with a wrong decision.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from bot.web.security import RateLimiter

PREFIX = "koers:web:"
OFFERED_TTL = 30 * 86400  # seconds: offered buttons are forgotten after a month of silence
SESSION_TTL = 10 * 3600  # seconds: a worker session ends after 10 hours anyway


class Limiter(Protocol):
    def blocked(self, key: str) -> bool: ...
    def fail(self, key: str) -> bool: ...  # True when this failure blocks the key
    def reset(self, key: str) -> None: ...
    def __len__(self) -> int: ...


class State(Protocol):
    def send_lock(self, client_id: int, wait: float, hold: float) -> Any: ...
    def offered(self, client_id: int) -> dict[str, str]: ...
    def set_offered(self, client_id: int, offered: dict[str, str]) -> None: ...
    def limiter(self, name: str, max_failures: int, window_seconds: float) -> Limiter: ...
    def add_session(self, sid: str, worker_id: int) -> None: ...
    def session_owner(self, sid: str) -> int | None: ...
    def end_session(self, sid: str) -> None: ...
    def end_sessions_of(self, worker_id: int) -> int: ...


# --- in one process ---------------------------------------------------------------------------


# The in-memory limiter is bot.web.security.RateLimiter (bounded, never stores a check).
MemoryLimiter = RateLimiter


class MemoryState:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[int, threading.Lock] = {}
        self._offered: dict[int, dict[str, str]] = {}
        self._sessions: dict[str, int] = {}

    @contextmanager
    def send_lock(self, client_id: int, wait: float, hold: float) -> Iterator[bool]:
        with self._guard:
            lock = self._locks.setdefault(client_id, threading.Lock())
        got = lock.acquire(timeout=wait)
        try:
            yield got
        finally:
            if got:
                lock.release()

    def offered(self, client_id: int) -> dict[str, str]:
        return dict(self._offered.get(client_id, {}))

    def set_offered(self, client_id: int, offered: dict[str, str]) -> None:
        self._offered[client_id] = dict(offered)

    def limiter(self, name: str, max_failures: int, window_seconds: float) -> RateLimiter:
        return RateLimiter(max_failures, window_seconds)

    def add_session(self, sid: str, worker_id: int) -> None:
        self._sessions[sid] = worker_id

    def session_owner(self, sid: str) -> int | None:
        return self._sessions.get(sid)

    def end_session(self, sid: str) -> None:
        self._sessions.pop(sid, None)

    def end_sessions_of(self, worker_id: int) -> int:
        ended = [sid for sid, owner in list(self._sessions.items()) if owner == worker_id]
        for sid in ended:
            self._sessions.pop(sid, None)
        return len(ended)


# --- in Redis ---------------------------------------------------------------------------------

# Delete a key only when it still holds our token (a lock that expired and was taken by
# another process must not be released by us).
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisLimiter:
    """Failed attempts per key in a sliding window, in a Redis sorted set per key."""

    def __init__(self, redis: Any, name: str, max_failures: int, window_seconds: float) -> None:
        self.redis = redis
        self.name = name
        self.max_failures = max_failures
        self.window = window_seconds

    def _key(self, key: str) -> str:
        return f"{PREFIX}limit:{self.name}:{key}"

    def blocked(self, key: str) -> bool:
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.zremrangebyscore(self._key(key), 0, now - self.window)
        pipe.zcard(self._key(key))
        return pipe.execute()[1] >= self.max_failures

    def fail(self, key: str) -> bool:
        """Count a failure. True when this failure blocks the key (it reached the limit)."""
        now = time.time()
        pipe = self.redis.pipeline()
        pipe.zadd(self._key(key), {f"{now}:{secrets.token_hex(4)}": now})
        pipe.zremrangebyscore(self._key(key), 0, now - self.window)
        pipe.zcard(self._key(key))
        pipe.expire(self._key(key), int(self.window) + 1)
        return pipe.execute()[2] == self.max_failures

    def __len__(self) -> int:
        """Keys with failures in the window (they expire by themselves in Redis)."""
        return sum(1 for _ in self.redis.scan_iter(match=self._key("*"), count=500))

    def reset(self, key: str) -> None:
        self.redis.delete(self._key(key))


class RedisState:
    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(
            url, socket_timeout=3, socket_connect_timeout=2, health_check_interval=30
        )
        self._release = self.redis.register_script(_RELEASE)

    @contextmanager
    def send_lock(self, client_id: int, wait: float, hold: float) -> Iterator[bool]:
        """A lock per client across web processes. It expires after `hold` seconds, so a
        web process that dies while holding it blocks the client for at most that long."""
        key = f"{PREFIX}lock:{client_id}"
        token = secrets.token_hex(16)
        deadline = time.monotonic() + wait
        pause = 0.01
        got = False
        while True:
            if self.redis.set(key, token, nx=True, px=int(hold * 1000)):
                got = True
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        try:
            yield got
        finally:
            if got:
                try:
                    self._release(keys=[key], args=[token])
                except Exception:  # it expires by itself after `hold`
                    pass

    def offered(self, client_id: int) -> dict[str, str]:
        raw = self.redis.get(f"{PREFIX}offered:{client_id}")
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def set_offered(self, client_id: int, offered: dict[str, str]) -> None:
        self.redis.set(
            f"{PREFIX}offered:{client_id}", json.dumps(offered, ensure_ascii=False), ex=OFFERED_TTL
        )

    def limiter(self, name: str, max_failures: int, window_seconds: float) -> RedisLimiter:
        return RedisLimiter(self.redis, name, max_failures, window_seconds)

    def add_session(self, sid: str, worker_id: int) -> None:
        pipe = self.redis.pipeline()
        pipe.set(f"{PREFIX}session:{sid}", worker_id, ex=SESSION_TTL)
        pipe.sadd(f"{PREFIX}worker-sessions:{worker_id}", sid)
        pipe.expire(f"{PREFIX}worker-sessions:{worker_id}", SESSION_TTL)
        pipe.execute()

    def session_owner(self, sid: str) -> int | None:
        raw = self.redis.get(f"{PREFIX}session:{sid}")
        return int(raw) if raw is not None else None

    def end_session(self, sid: str) -> None:
        owner = self.session_owner(sid)
        pipe = self.redis.pipeline()
        pipe.delete(f"{PREFIX}session:{sid}")
        if owner is not None:
            pipe.srem(f"{PREFIX}worker-sessions:{owner}", sid)
        pipe.execute()

    def end_sessions_of(self, worker_id: int) -> int:
        members = self.redis.smembers(f"{PREFIX}worker-sessions:{worker_id}")
        ended = 0
        for raw in members:
            sid = raw.decode() if isinstance(raw, bytes) else str(raw)
            ended += self.redis.delete(f"{PREFIX}session:{sid}")
        self.redis.delete(f"{PREFIX}worker-sessions:{worker_id}")
        return ended


def make_state(redis_url: str | None) -> State:
    return RedisState(redis_url) if redis_url else MemoryState()
