"""SQLAlchemy models of the Koers database.

Reflections, check-ins and safety events are health data. Every timestamp is timezone-aware
UTC, also on SQLite (which stores no time zone). The schema itself is created by the Alembic
migrations in `bot/storage/migrations`, which must stay in step with these models (a unit test
compares them).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# Named constraints, so that migrations can address them on every database (PostgreSQL too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base: Any = declarative_base(metadata=metadata)

LANGUAGE_LEVELS = ("standaard", "eenvoudig")
DEFAULT_LANGUAGE_LEVEL = "standaard"
REFLECTION_STATUSES = ("compleet", "onderbroken")
STATUS_COMPLETE = "compleet"
STATUS_INTERRUPTED = "onderbroken"
SAFETY_CATEGORIES = (
    "suicide",
    "self_harm",
    "overdose",
    "danger_to_others",
    "threatened",
    "abuse",
    "unknown",
)
DETECTED_BY = ("matcher", "classifier", "both")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):
    """`DateTime(timezone=True)` that always hands back timezone-aware UTC datetimes.

    Naive datetimes are refused when writing; SQLite, which drops the offset, gets UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime; use a timezone-aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Client(Base):
    """A person using the bot, known only by the Rasa sender id (`chat_id`) set by the server."""

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint(_in("language_level", LANGUAGE_LEVELS), name="language_level"),
    )

    id = Column(Integer, primary_key=True)
    chat_id = Column(String(128), nullable=False, unique=True)
    language_level = Column(
        String(16),
        nullable=False,
        default=DEFAULT_LANGUAGE_LEVEL,
        server_default=DEFAULT_LANGUAGE_LEVEL,
    )
    disclosure_shown_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)

    checkins = relationship(
        "CheckIn", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    reflections = relationship(
        "Reflection", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    safety_events = relationship(
        "SafetyEvent", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:  # no chat_id: it identifies a person
        return f"<Client id={self.id}>"


class CheckIn(Base):
    """A mood check-in (1 = very bad .. 5 = very good)."""

    __tablename__ = "checkins"
    __table_args__ = (CheckConstraint("mood BETWEEN 1 AND 5", name="mood_range"),)

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    mood = Column(Integer, nullable=False)
    idempotency_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    client = relationship("Client", back_populates="checkins")

    def __repr__(self) -> str:
        return f"<CheckIn id={self.id} client_id={self.client_id}>"


class Reflection(Base):
    """One reflection on a theme: the answers, an optional 1-5 scale and the consent to share."""

    __tablename__ = "reflections"
    __table_args__ = (
        CheckConstraint(_in("status", REFLECTION_STATUSES), name="status"),
        CheckConstraint("scale IS NULL OR scale BETWEEN 1 AND 5", name="scale_range"),
    )

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    theme = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False)
    shared_with_worker = Column(Boolean, nullable=False, default=False, server_default=false())
    scale = Column(Integer, nullable=True)
    idempotency_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    completed_at = Column(UTCDateTime, nullable=True)

    client = relationship("Client", back_populates="reflections")
    answers = relationship(
        "ReflectionAnswer",
        back_populates="reflection",
        order_by="ReflectionAnswer.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<Reflection id={self.id} theme={self.theme!r} status={self.status!r}>"


class ReflectionAnswer(Base):
    """One question of a reflection and the client's answer, as shown and as given."""

    __tablename__ = "reflection_answers"
    __table_args__ = (UniqueConstraint("reflection_id", "question_key"),)

    id = Column(Integer, primary_key=True)
    reflection_id = Column(
        Integer, ForeignKey("reflections.id", ondelete="CASCADE"), nullable=False
    )
    position = Column(Integer, nullable=False)
    question_key = Column(String(64), nullable=False)
    question_text = Column(Text, nullable=False)
    answer_text = Column(Text, nullable=False)

    reflection = relationship("Reflection", back_populates="answers")

    def __repr__(self) -> str:
        return f"<ReflectionAnswer id={self.id} question_key={self.question_key!r}>"


class SafetyEvent(Base):
    """A message that triggered the safety response, and exactly the response that was shown."""

    __tablename__ = "safety_events"
    __table_args__ = (
        CheckConstraint(_in("category", SAFETY_CATEGORIES), name="category"),
        CheckConstraint(_in("detected_by", DETECTED_BY), name="detected_by"),
    )

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    category = Column(String(32), nullable=False)
    message_text = Column(Text, nullable=False)
    response_text = Column(Text, nullable=False)
    detected_by = Column(String(32), nullable=False)
    context = Column(String(64), nullable=True)
    idempotency_key = Column(String(64), nullable=True, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    acknowledged_at = Column(UTCDateTime, nullable=True)
    acknowledged_by = Column(String(128), nullable=True)

    client = relationship("Client", back_populates="safety_events")

    def __repr__(self) -> str:
        return f"<SafetyEvent id={self.id} category={self.category!r}>"
