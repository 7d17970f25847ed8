"""Text that reaches the database is free of NUL bytes.

PostgreSQL refuses text with a NUL character (psycopg2 raises before the INSERT), so one NUL
in an answer, a name or a form field would lose the whole write; SQLite stores it and a later
move to PostgreSQL fails. A NUL never means anything in text: this `before_flush` hook removes
it from every string attribute of Koers's own rows, whatever code path set it. (The chat relay
also removes it before a message reaches Rasa's tracker store.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.storage.models import Base

NUL = "\x00"


def without_nul(value: str) -> str:
    return value.replace(NUL, "")


@event.listens_for(Session, "before_flush")
def _strip_nul(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, Base):
            continue
        for attr in obj.__mapper__.column_attrs:
            value = getattr(obj, attr.key, None)
            if isinstance(value, str) and NUL in value:
                setattr(obj, attr.key, without_nul(value))
