"""Rasa's conversation store (the SQL tracker store) as Koers's own commands reach it:
deleting a client's conversation, retention and backups.

The database is read from the tracker_store section of the Rasa endpoints file in use
(KOERS_ENDPOINTS: endpoints.yml, endpoints.postgres.yml or deploy/endpoints.production.yml),
with its ${...} values filled in from the same environment Rasa gets.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from sqlalchemy import column, table
from sqlalchemy.engine import URL

from bot.settings import PROJECT_ROOT, Settings

EVENTS = table(
    "events",
    column("id"),
    column("sender_id"),
    column("type_name"),
    column("timestamp"),
)
_VAR = re.compile(r"\$\{([^}]+)\}")


def _environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["KOERS_TRACKER_DB"] = str(settings.tracker_db)  # as bot.services gives it to Rasa
    return env


def _expand(value: object, env: dict[str, str]) -> str | None:
    if value is None:
        return None
    return _VAR.sub(lambda m: env.get(m.group(1), ""), str(value))


def tracker_config(settings: Settings) -> dict:
    path = Path(settings.endpoints_file)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return data.get("tracker_store") or {}


def tracker_url(settings: Settings) -> str | None:
    """The SQLAlchemy URL of the tracker store, or None when it is not an SQL store."""
    config = tracker_config(settings)
    if str(config.get("type", "")).upper() != "SQL":
        return None
    env = _environment(settings)
    dialect = (_expand(config.get("dialect"), env) or "sqlite").lower()
    if dialect == "sqlite":
        db = _expand(config.get("db"), env) or str(settings.tracker_db)
        path = Path(db)
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        return f"sqlite:///{path}"
    if dialect.startswith("postgres"):
        port = _expand(config.get("port"), env)
        return URL.create(
            "postgresql+psycopg2",
            username=_expand(config.get("username"), env) or None,
            password=_expand(config.get("password"), env) or None,
            host=_expand(config.get("url"), env) or "127.0.0.1",
            port=int(port) if port else 5432,
            database=_expand(config.get("db"), env) or "rasa",
        ).render_as_string(hide_password=False)
    raise ValueError(f"tracker store dialect {dialect!r} is not supported by Koers's commands")
