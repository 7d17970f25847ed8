"""Alembic environment of the Koers database.

The database URL comes, in this order, from: the `database_url` attribute that
`bot.storage.db.alembic_config()` sets, `sqlalchemy.url` in the Alembic config, or the Koers
settings (KOERS_DATABASE_URL, default var/koers.db). It is never hard-coded here.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection, make_url

from bot.production import secure_sqlite_file, sqlite_path
from bot.settings import get_settings
from bot.storage.db import make_engine
from bot.storage.models import metadata

config = context.config

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def _database_url() -> str:
    return (
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().database_url
    )


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _configure(database_url: str, **kwargs: Any) -> None:
    sqlite = _is_sqlite(database_url)
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=sqlite,
        # `make_engine` has SQLite transactions begin explicitly, so DDL is transactional there
        # too: all migrations of one upgrade run in a single transaction.
        transactional_ddl=True if sqlite else None,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Write the SQL to stdout instead of running it (`alembic upgrade head --sql`)."""
    url = _database_url()
    _configure(url, url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection, url: str) -> None:
    _configure(url, connection=connection)
    with context.begin_transaction():
        context.run_migrations()
        if _is_sqlite(url):
            # Foreign keys were off (see below); refuse to commit rows that break them.
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")


def run_migrations_online() -> None:
    """Run the migrations on the database, with the same engine set-up as the application.

    On SQLite foreign keys are switched off while migrating: batch mode rebuilds a table by
    dropping it, and with foreign keys on, dropping `clients` would cascade-delete every
    check-in, reflection and safety event.
    """
    url = _database_url()
    db_file = sqlite_path(url)
    if db_file is not None:
        secure_sqlite_file(db_file)  # created 0600, never with the umask's 0644
    engine = make_engine(url, foreign_keys=False)
    try:
        with engine.connect() as connection:
            _run_on(connection, url)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
