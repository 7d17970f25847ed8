"""Database engine, sessions and schema migrations.

    python -m bot.storage.db upgrade     # bring the database at KOERS_DATABASE_URL to the newest schema

The schema is owned by the Alembic migrations in `bot/storage/migrations`; use
`upgrade_database()` (or the command above) to create or upgrade it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from bot.settings import PROJECT_ROOT, get_settings

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _database_url(url: str | None) -> str:
    return url if url is not None else get_settings().database_url


def _sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for in-memory databases."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


# How long a SQLite connection waits for another connection's write lock before it gives up
# (seconds). Every transaction takes the write lock at its start (see `make_engine`), so this
# is the longest a request or an action queues behind the transactions before it.
DEFAULT_SQLITE_BUSY_TIMEOUT = 20.0


def sqlite_busy_timeout() -> float:
    """KOERS_SQLITE_BUSY_TIMEOUT (seconds), default 20."""
    try:
        return max(0.0, float(os.environ.get("KOERS_SQLITE_BUSY_TIMEOUT", "")))
    except ValueError:
        return DEFAULT_SQLITE_BUSY_TIMEOUT


def is_locked_error(error: BaseException) -> bool:
    """True for SQLite's "database is locked" / "database is busy" errors."""
    text = str(getattr(error, "orig", None) or error).lower()
    return "database is locked" in text or "database is busy" in text


def make_engine(url: str | None = None, *, foreign_keys: bool = True) -> Engine:
    """Create a (2.0-style) engine for `url`, or for the configured database URL.

    SQLite: the parent directory of the file is created, foreign keys are enforced and the
    journal is in WAL mode. Every transaction begins with `BEGIN IMMEDIATE`, which takes the
    database's single write lock at the start, waiting for it up to the busy timeout
    (KOERS_SQLITE_BUSY_TIMEOUT, 20 s). The default deferred `BEGIN` takes it at the first
    write instead, and a transaction that read first then fails at once with "database is
    locked" when another connection wrote in between (SQLite cannot move its snapshot
    forward; the busy timeout does not apply). So writers queue instead of failing, and so do
    read-only transactions: keep every transaction short and never keep one open while
    waiting for something else (the web app commits before it relays a message to Rasa,
    whose actions write to the same file meanwhile). A `BEGIN IMMEDIATE` that reports the
    database locked without having waited (SQLite skips the busy handler in a few recovery
    and checkpoint races) is tried again until the busy timeout has passed.
    Transactions are begun explicitly, which also makes SAVEPOINTs work (the pysqlite driver's
    own transaction handling does not support them properly).
    `foreign_keys=False` is for the migrations only (see migrations/env.py).
    Other databases: connections are checked before use (`pool_pre_ping`).
    """
    url = _database_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, future=True, pool_pre_ping=True)

    db_file = _sqlite_file(url)
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    busy_timeout = sqlite_busy_timeout()
    # A file database keeps its connections open (a pool) instead of opening and closing
    # one per session: closing the last connection of a WAL file also checkpoints it.
    pool = {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 20} if db_file else {}
    engine = create_engine(
        url,
        future=True,
        connect_args={"check_same_thread": False, "timeout": busy_timeout},
        **pool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when a transaction begins (see `_on_begin`).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
            if db_file is not None:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        started = time.monotonic()
        pause = 0.01
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if not is_locked_error(error) or time.monotonic() - started >= busy_timeout:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    return engine


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine for the configured database URL (created on first use)."""
    return make_engine()


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: commits when the block ends, rolls back on any exception, always closes.

    `expire_on_commit` is off, so column values of objects returned from the block stay
    readable after it; relationships that were not loaded inside the block are not.
    """
    session = Session(
        engine if engine is not None else get_engine(), future=True, expire_on_commit=False
    )
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration (repo-root `alembic.ini`) pointed at `url` or the configured URL."""
    url = _database_url(url)
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolates '%', e.g. in URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["database_url"] = url
    # Called from inside the application: leave its logging configuration alone.
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(url: str | None = None, revision: str = "head") -> None:
    """Run the Alembic migrations up to `revision` (default: the newest) on `url`."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str | None = None) -> str | None:
    """The migration revision the database at `url` is at, or None when it has no schema yet."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.storage.db", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "command", choices=["upgrade"], help="upgrade: migrate the database to the newest schema"
    )
    parser.add_argument("--url", help="database URL (default: KOERS_DATABASE_URL or var/koers.db)")
    args = parser.parse_args(argv)

    url = _database_url(args.url)
    upgrade_database(url)
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"Database at revision {current_revision(url)}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
