"""Rasa's conversation store (the SQL tracker store): Koers's own store class, and the store
as Koers's own commands reach it (deleting a client's conversation, retention and backups).

`KoersSQLTrackerStore` is Rasa's SQL tracker store that reads conversations saved before
issue 10 in today's names: every theme then had its own form ("hoop_form", ...), now one
`thema_form` asks them all. A conversation paused in such a form (or in the middle of it)
resumes in `thema_form` with its answers. The stored events are left as they were; they are
renamed each time they are read (bot.vocabulary.LEGACY_THEME_FORMS).

The database is read from the tracker_store section of the Rasa endpoints file in use
(KOERS_ENDPOINTS: endpoints.yml, endpoints.postgres.yml or deploy/endpoints.production.yml),
with its ${...} values filled in from the same environment Rasa gets.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import column, table
from sqlalchemy.engine import URL

from bot.settings import PROJECT_ROOT, Settings
from bot.vocabulary import current_form_name

if TYPE_CHECKING:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

# Endpoint `type` values that are an SQL tracker store.
SQL_TYPES = ("SQL", "BOT.TRACKER_STORE.KOERSSQLTRACKERSTORE")
# Slots whose value may name a form.
FORM_SLOTS = ("onderbroken_form", "controle_hervat")
CHECK_SLOT = "crisis_controle"  # {"form": ..., ...}: the form to resume after "nee"


def _legacy(name: Any) -> bool:
    return current_form_name(name) != name if isinstance(name, str) else False


def upgrade_event(event: dict[str, Any]) -> dict[str, Any]:
    """One stored event in today's names (a copy when something changed)."""
    kind = event.get("event")
    if kind in ("action", "active_loop") and _legacy(event.get("name")):
        return {**event, "name": current_form_name(event["name"])}
    if kind == "slot" and event.get("name") in FORM_SLOTS and _legacy(event.get("value")):
        return {**event, "value": current_form_name(event["value"])}
    if kind == "slot" and event.get("name") == CHECK_SLOT and isinstance(event.get("value"), dict):
        state = event["value"]
        if _legacy(state.get("form")):
            return {**event, "value": {**state, "form": current_form_name(state["form"])}}
    return event


def upgrade_events(events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """The events in today's names, and whether any of them changed."""
    upgraded = [upgrade_event(e) for e in events]
    return upgraded, any(new is not old for new, old in zip(upgraded, events, strict=True))


def upgrade_tracker(
    tracker: DialogueStateTracker | None, domain: Domain | None
) -> DialogueStateTracker | None:
    """The tracker replayed from upgraded events when it names a form of before issue 10."""
    if tracker is None or domain is None:
        return tracker
    events, changed = upgrade_events([e.as_dict() for e in tracker.events])
    if not changed:
        return tracker
    from rasa.shared.core.trackers import DialogueStateTracker

    return DialogueStateTracker.from_dict(tracker.sender_id, events, domain.slots)


class LegacyFormNames:
    """Mixin for a Rasa tracker store: conversations are read in today's form names."""

    domain: Domain | None

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        tracker = await super().retrieve(sender_id)  # type: ignore[misc]
        return upgrade_tracker(tracker, self.domain)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        tracker = await super().retrieve_full_tracker(sender_id)  # type: ignore[misc]
        return upgrade_tracker(tracker, self.domain)


def _store_classes() -> tuple[type, type]:
    from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore

    class KoersSQLTrackerStore(LegacyFormNames, SQLTrackerStore):
        """Rasa's SQL tracker store; conversations of before issue 10 in today's names."""

    class KoersInMemoryTrackerStore(LegacyFormNames, InMemoryTrackerStore):
        """The same for the in-memory store (tests)."""

    for cls in (KoersSQLTrackerStore, KoersInMemoryTrackerStore):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
    return KoersSQLTrackerStore, KoersInMemoryTrackerStore


def __getattr__(name: str) -> Any:
    # The store classes import Rasa; Koers's commands use this module without it.
    if name in ("KoersSQLTrackerStore", "KoersInMemoryTrackerStore"):
        sql, memory = _store_classes()
        globals().update(KoersSQLTrackerStore=sql, KoersInMemoryTrackerStore=memory)
        return globals()[name]
    raise AttributeError(name)


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
    if str(config.get("type", "")).upper() not in SQL_TYPES:
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
