"""Database engine, sessions and schema migrations.

    python -m bot.storage.db upgrade     # bring the database at KOERS_DATABASE_URL to the newest schema

The schema is owned by the Alembic migrations in `bot/storage/migrations`; use
`upgrade_database()` (or the command above) to create or upgrade it.
"""

from __future__ import annotations

import argparse
import sys
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
from sqlalchemy.orm import Session

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


def make_engine(url: str | None = None, *, foreign_keys: bool = True) -> Engine:
    """Create a (2.0-style) engine for `url`, or for the configured database URL.

    SQLite: the parent directory of the file is created, foreign keys are enforced, the journal
    is in WAL mode and transactions are begun explicitly so that SAVEPOINTs work (the pysqlite
    driver's own transaction handling does not support them properly).
    `foreign_keys=False` is for the migrations only (see migrations/env.py).
    Other databases: connections are checked before use (`pool_pre_ping`).
    """
    url = _database_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, future=True, pool_pre_ping=True)

    db_file = _sqlite_file(url)
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, connect_args={"check_same_thread": False})

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
        connection.exec_driver_sql("BEGIN")

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
