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
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# The names the database shares with the bot and the web app.
from bot.vocabulary import (
    AGREEMENT_KINDS,
    CHECK_ANSWERS,
    CHECK_HELP_ANSWERS,
    DEFAULT_LANGUAGE_LEVEL,
    DETECTED_BY,
    LANGUAGE_LEVELS,
    OUTCOME_HELP,
    PLAN_KINDS,
    PLAN_PHASES,
    REFLECTION_STATUSES,
    SAFETY_CATEGORIES,
    SAFETY_OUTCOMES,
    SAFETY_REVIEWS,
    STEP_OPEN,
    STEP_STATUSES,
    WORKER_ROLES,
)

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
        # Never reuse the id of a deleted client on SQLite: the audit log and devices refer to
        # clients by id (PostgreSQL sequences never reuse ids anyway).
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    chat_id = Column(String(128), nullable=False, unique=True)
    language_level = Column(
        String(16),
        nullable=False,
        default=DEFAULT_LANGUAGE_LEVEL,
        server_default=DEFAULT_LANGUAGE_LEVEL,
    )
    # When the level was last set (migration 0009): a switch replayed late from an outbox
    # carries its own time and never puts an older level back (repository.set_language_level).
    language_level_at = Column(UTCDateTime, nullable=True)
    disclosure_shown_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # Name or pseudonym the worker knows the client by; chat-only clients have none.
    display_name = Column(String(100), nullable=True)
    worker_id = Column(
        Integer, ForeignKey("workers.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # The last conversation with the worker; the preparation sheet starts here by default.
    last_contact_at = Column(UTCDateTime, nullable=True)

    worker = relationship("Worker", back_populates="clients")

    checkins = relationship(
        "CheckIn", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    reflections = relationship(
        "Reflection", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    safety_events = relationship(
        "SafetyEvent", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    steps = relationship(
        "SmallStep", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    safety_plan = relationship(
        "SafetyPlan",
        back_populates="client",
        uselist=False,
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    access_codes = relationship(
        "AccessCode", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    agreements = relationship(
        "Agreement", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )
    plan_lookups = relationship(
        "PlanLookup", back_populates="client", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:  # no chat_id: it identifies a person
        return f"<Client id={self.id}>"


class DeletedClient(Base):
    """A deleted client, by the SHA-256 of its chat id (migration 0008): no personal data.

    Writes kept in an action server's outbox (bot/storage/outbox.py) carry the chat id; the
    outbox drops those of a deleted client instead of creating the client again. Kept for
    good: an outbox on another machine may hold an entry for a long time.
    """

    __tablename__ = "deleted_clients"

    chat_hash = Column(String(64), primary_key=True)
    deleted_at = Column(UTCDateTime, nullable=False, default=utcnow)


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
    # The 1-5 question exactly as the client saw it, and in which language level (NULL: rows
    # from before migration 0005, or not known).
    scale_question = Column(Text, nullable=True)
    scale_level = Column(String(16), nullable=True)
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
    # The language level of `question_text` as the client saw it (NULL: not known, e.g. rows
    # from before migration 0005).
    language_level = Column(String(16), nullable=True)
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
        CheckConstraint(_in("outcome", SAFETY_OUTCOMES), name="outcome"),
        CheckConstraint(
            f"check_answer IS NULL OR {_in('check_answer', CHECK_ANSWERS)}", name="check_answer"
        ),
        CheckConstraint(f"review IS NULL OR {_in('review', SAFETY_REVIEWS)}", name="review"),
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
    # Safety v2 (migration 0004): the check question, the context and the worker's review.
    outcome = Column(String(16), nullable=False, default=OUTCOME_HELP, server_default=OUTCOME_HELP)
    check_answer = Column(String(16), nullable=True)
    # The client's typed replies to the check question, one per line (migration 0011); None
    # for a button press
    check_reply = Column(Text, nullable=True)
    question_text = Column(Text, nullable=True)
    preceding = Column(Text, nullable=True)  # JSON: [{"van": "koers"|"client", "tekst": ...}]
    evidence = Column(Text, nullable=True)  # JSON: signals and reasons of the detection
    review = Column(String(16), nullable=True)

    client = relationship("Client", back_populates="safety_events")

    @property
    def help_shown(self) -> bool:
        """The fixed crisis help was shown (at once, or after "ja"/"weet ik niet")."""
        return self.outcome == OUTCOME_HELP or self.check_answer in CHECK_HELP_ANSWERS

    def __repr__(self) -> str:
        return f"<SafetyEvent id={self.id} category={self.category!r}>"


class SmallStep(Base):
    """A small, concrete step the client chose ("kleine stapje"), asked about next time."""

    __tablename__ = "small_steps"
    __table_args__ = (CheckConstraint(_in("status", STEP_STATUSES), name="status"),)

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reflection_id = Column(
        Integer, ForeignKey("reflections.id", ondelete="SET NULL"), nullable=True, index=True
    )
    theme = Column(String(32), nullable=False)
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=STEP_OPEN, server_default=STEP_OPEN)
    # Follows the consent of the reflection the step was chosen in.
    shared_with_worker = Column(Boolean, nullable=False, default=False, server_default=false())
    idempotency_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    asked_at = Column(UTCDateTime, nullable=True)
    resolved_at = Column(UTCDateTime, nullable=True)

    client = relationship("Client", back_populates="steps")

    def __repr__(self) -> str:
        return f"<SmallStep id={self.id} status={self.status!r}>"


class SafetyPlan(Base):
    """A client's signaleringsplan: per phase (green/orange/red) signals, what helps, contacts."""

    __tablename__ = "safety_plans"

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = Column(String(64), nullable=True)

    client = relationship("Client", back_populates="safety_plan")
    items = relationship(
        "SafetyPlanItem",
        back_populates="plan",
        order_by="(SafetyPlanItem.phase, SafetyPlanItem.kind, SafetyPlanItem.position)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def __repr__(self) -> str:
        return f"<SafetyPlan id={self.id}>"


class SafetyPlanItem(Base):
    """One line of a safety plan, in the client's own words."""

    __tablename__ = "safety_plan_items"
    __table_args__ = (
        CheckConstraint(_in("phase", PLAN_PHASES), name="phase"),
        CheckConstraint(_in("kind", PLAN_KINDS), name="kind"),
    )

    id = Column(Integer, primary_key=True)
    plan_id = Column(
        Integer, ForeignKey("safety_plans.id", ondelete="CASCADE"), nullable=False, index=True
    )
    phase = Column(String(8), nullable=False)
    kind = Column(String(8), nullable=False)
    position = Column(Integer, nullable=False)
    text = Column(Text, nullable=False)

    plan = relationship("SafetyPlan", back_populates="items")

    def __repr__(self) -> str:
        return f"<SafetyPlanItem id={self.id} phase={self.phase!r} kind={self.kind!r}>"


class PlanLookup(Base):
    """The client looked up their own safety plan in the chat and chose a colour."""

    __tablename__ = "plan_lookups"
    __table_args__ = (CheckConstraint(_in("colour", PLAN_PHASES), name="colour"),)

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    colour = Column(String(8), nullable=False)
    # Where in the conversation: "plan_form" (Mijn plan), "veiligheid_form", ...
    context = Column(String(64), nullable=True)
    idempotency_key = Column(String(64), nullable=True, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    client = relationship("Client", back_populates="plan_lookups")

    def __repr__(self) -> str:
        return f"<PlanLookup id={self.id} colour={self.colour!r}>"


class Worker(Base):
    """A user of the dashboard: a begeleider/reclasseringswerker, or an admin."""

    __tablename__ = "workers"
    __table_args__ = (
        CheckConstraint(_in("role", WORKER_ROLES), name="role"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(8), nullable=False, default="worker", server_default="worker")
    active = Column(Boolean, nullable=False, default=True, server_default=true())
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_login_at = Column(UTCDateTime, nullable=True)

    clients = relationship("Client", back_populates="worker")

    def __repr__(self) -> str:
        return f"<Worker id={self.id} role={self.role!r}>"


class AccessCode(Base):
    """A personal access code for the client chat. Only a keyed hash is stored."""

    __tablename__ = "access_codes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_hash = Column(String(128), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    created_by = Column(String(64), nullable=True)
    revoked_at = Column(UTCDateTime, nullable=True)
    last_used_at = Column(UTCDateTime, nullable=True)

    client = relationship("Client", back_populates="access_codes")

    def __repr__(self) -> str:
        return f"<AccessCode id={self.id} client_id={self.client_id}>"


class Agreement(Base):
    """An agreement to check at the next contact: the client's task, the worker's own promise,
    or something asked of someone else (`party`)."""

    __tablename__ = "agreements"
    __table_args__ = (CheckConstraint(_in("kind", AGREEMENT_KINDS), name="kind"),)

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind = Column(String(8), nullable=False)
    text = Column(Text, nullable=False)
    party = Column(String(100), nullable=True)
    due_date = Column(Date, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    created_by = Column(String(64), nullable=True)
    done_at = Column(UTCDateTime, nullable=True)

    client = relationship("Client", back_populates="agreements")

    def __repr__(self) -> str:
        return f"<Agreement id={self.id} kind={self.kind!r}>"


class AuditEntry(Base):
    """Who viewed or changed which client's data, when (in the spirit of NEN 7513).

    `client_id` has no foreign key on purpose: the log outlives a deleted client.
    """

    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(64), nullable=False)
    client_id = Column(Integer, nullable=True, index=True)
    detail = Column(Text, nullable=True)
    remote_addr = Column(String(64), nullable=True)
    # Hash chain (migration 0007, bot/storage/auditlog.py): `seq` numbers the rows without
    # gaps, `row_hash` is a keyed hash over this row and `prev_hash` (the row before), so an
    # edited, removed or inserted row is found by `python -m bot audit verify`. Rows from
    # before 0007 have none. Triggers refuse UPDATE and DELETE (except retention's pruning).
    seq = Column(Integer, nullable=True, unique=True, index=True)
    prev_hash = Column(String(64), nullable=True)
    row_hash = Column(String(64), nullable=True)

    def __repr__(self) -> str:
        return f"<AuditEntry id={self.id} action={self.action!r}>"


class AuditChain(Base):
    """The head of the audit log's hash chain (one row, id 1): the last sequence number and
    hash, and where retention cut the chain (`pruned_seq`, `pruned_hash`: the last deleted
    row). Locking this row serialises writers of the audit log."""

    __tablename__ = "audit_chain"

    id = Column(Integer, primary_key=True)
    seq = Column(Integer, nullable=False, default=0, server_default="0")
    last_hash = Column(String(64), nullable=False)
    pruned_seq = Column(Integer, nullable=False, default=0, server_default="0")
    pruned_hash = Column(String(64), nullable=False)
    # Short fingerprint of the chain key, so `verify` can tell "wrong key" from "edited".
    key_check = Column(String(16), nullable=True)
    updated_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<AuditChain seq={self.seq}>"


class AuditCount(Base):
    """Events counted per day instead of logged row by row (blocked login attempts): an
    attacker cannot flood the audit log, and the admin still sees how many there were."""

    __tablename__ = "audit_counts"

    day = Column(Date, primary_key=True)
    action = Column(String(64), primary_key=True)
    count = Column(Integer, nullable=False, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<AuditCount {self.day} {self.action!r}={self.count}>"


class OrgSetting(Base):
    """Organisation-wide settings an admin can change, such as the crisis contact text."""

    __tablename__ = "org_settings"

    key = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = Column(String(64), nullable=True)

    def __repr__(self) -> str:
        return f"<OrgSetting key={self.key!r}>"


class ChatDevice(Base):
    """A device logged in to the client chat with an access code.

    The device's cookie holds a random token; only a keyed hash of it is stored here. Logging
    out, or revoking or replacing the code, sets `ended_at`: a copy of the cookie stops working
    at once. Deleting the client (or the code) deletes its devices.
    """

    __tablename__ = "chat_devices"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id = Column(Integer, primary_key=True)
    access_code_id = Column(
        Integer, ForeignKey("access_codes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash = Column(String(128), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)
    ended_at = Column(UTCDateTime, nullable=True)

    access_code = relationship("AccessCode")

    def __repr__(self) -> str:  # no token hash
        return f"<ChatDevice id={self.id} access_code_id={self.access_code_id}>"


# The tables of issue 14 (reminders, web push, the worker's question, agreement checks) live in
# their own module on the same metadata; importing it here registers them everywhere.
from bot.storage import between_models  # noqa: E402,F401
