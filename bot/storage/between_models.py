"""Models for the time between sessions (issue 14): reminder plans and their sends, web push
subscriptions, the worker's question for the next check-in, and the client's checks of the
agreements ledger.

They share `bot.storage.models.metadata` (imported at the end of that module), so the
migrations and the model comparison see them like every other table. Migration: 0006.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import relationship

from bot.storage.models import Base, UTCDateTime, _in, utcnow
from bot.vocabulary import SIMPLE

REMINDER_CHANNELS = ("email", "sms", "push")
PLAN_STATUSES = ("actief", "gepauzeerd", "gestopt")
PLAN_ACTIVE, PLAN_PAUSED, PLAN_STOPPED = PLAN_STATUSES
# bezig: claimed, being sent (or the sender crashed: never sent again); verstuurd: sent;
# opnieuw: certainly not delivered, may be tried again within the delay; mislukt: given up;
# onbekend: a claim that never finished (crash): not retried, it may have gone out.
SEND_STATUSES = ("bezig", "verstuurd", "opnieuw", "mislukt", "onbekend")
QUESTION_SOURCES = ("thema", "bron", "eigen")
QUESTION_STATUSES = ("open", "beantwoord", "overgeslagen", "vervangen", "ingetrokken")
QUESTION_OPEN = "open"
CHECK_OUTCOMES = ("gedaan", "deels", "nog_niet")
# The theme key of the Reflection that holds the answer to a worker's question.
WORKER_QUESTION_THEME = "vraag_begeleider"


class ReminderPlan(Base):
    """The reminders a client agreed to: one plan per client.

    `weekdays` is a bit mask, bit 0 = Monday .. bit 6 = Sunday. Times are local time
    (Europe/Amsterdam). Slots before `schedule_from` are never sent, so a change of time does
    not send a slot that just passed.
    """

    __tablename__ = "reminder_plans"
    __table_args__ = (
        CheckConstraint(_in("channel", REMINDER_CHANNELS), name="channel"),
        CheckConstraint(_in("status", PLAN_STATUSES), name="status"),
        CheckConstraint("weekdays BETWEEN 1 AND 127", name="weekdays"),
        CheckConstraint("end_date >= start_date", name="dates"),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    channel = Column(String(8), nullable=False)
    email = Column(String(254), nullable=True)
    phone = Column(String(20), nullable=True)
    weekdays = Column(Integer, nullable=False)
    send_time = Column(Time, nullable=False)
    quiet_start = Column(Time, nullable=True)
    quiet_end = Column(Time, nullable=True)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    status = Column(String(12), nullable=False, default=PLAN_ACTIVE, server_default=PLAN_ACTIVE)
    paused_until = Column(Date, nullable=True)
    schedule_from = Column(UTCDateTime, nullable=False, default=utcnow)
    consent_at = Column(UTCDateTime, nullable=False)
    consent_recorded_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    updated_by = Column(String(64), nullable=True)
    stopped_at = Column(UTCDateTime, nullable=True)
    stopped_by = Column(String(64), nullable=True)

    sends = relationship(
        "ReminderSend",
        back_populates="plan",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ReminderSend.slot_at.desc()",
    )

    def __repr__(self) -> str:  # no address: it identifies a person
        return f"<ReminderPlan id={self.id} channel={self.channel!r} status={self.status!r}>"


class ReminderSend(Base):
    """One slot of a plan, claimed before it is sent: the unique (plan, slot) row is what makes
    `python -m bot reminders send` send each slot at most once, also with two copies running.
    Holds no text and no address."""

    __tablename__ = "reminder_sends"
    __table_args__ = (
        UniqueConstraint("plan_id", "slot_at"),
        CheckConstraint(_in("status", SEND_STATUSES), name="status"),
        CheckConstraint(_in("channel", REMINDER_CHANNELS), name="channel"),
    )

    id = Column(Integer, primary_key=True)
    plan_id = Column(
        Integer, ForeignKey("reminder_plans.id", ondelete="CASCADE"), nullable=False, index=True
    )
    slot_at = Column(UTCDateTime, nullable=False)
    channel = Column(String(8), nullable=False)
    status = Column(String(12), nullable=False)
    attempts = Column(Integer, nullable=False, default=1, server_default="1")
    claimed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    finished_at = Column(UTCDateTime, nullable=True)
    # The kind of error (an exception class or an HTTP status), never a message text.
    error = Column(String(64), nullable=True)

    plan = relationship("ReminderPlan", back_populates="sends")

    def __repr__(self) -> str:
        return f"<ReminderSend id={self.id} status={self.status!r}>"


class PushSubscription(Base):
    """A browser's web push subscription, made on a logged-in chat device. Reminders go only to
    subscriptions of live devices: logging out of the chat stops them on that phone."""

    __tablename__ = "push_subscriptions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    device_id = Column(
        Integer, ForeignKey("chat_devices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    endpoint = Column(Text, nullable=False, unique=True)
    p256dh = Column(String(128), nullable=False)
    auth = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_success_at = Column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:  # no endpoint: it is a capability
        return f"<PushSubscription id={self.id} client_id={self.client_id}>"


class WorkerQuestion(Base):
    """One open question the worker wants asked at the next check-in ("Je begeleider vraagt:").

    At most one per client is open (a partial unique index). The answer is saved as a
    Reflection (theme `vraag_begeleider`) with the client's consent, like any reflection.
    """

    __tablename__ = "worker_questions"
    __table_args__ = (
        CheckConstraint(_in("source", QUESTION_SOURCES), name="source"),
        CheckConstraint(_in("status", QUESTION_STATUSES), name="status"),
        Index(
            "uq_worker_questions_one_open",
            "client_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        {"sqlite_autoincrement": True},
    )

    id = Column(Integer, primary_key=True)
    client_id = Column(
        Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True
    )
    text_standaard = Column(Text, nullable=False)
    text_eenvoudig = Column(Text, nullable=False)
    source = Column(String(8), nullable=False)
    source_key = Column(String(64), nullable=True)
    status = Column(String(12), nullable=False, default=QUESTION_OPEN, server_default=QUESTION_OPEN)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    created_by = Column(String(64), nullable=True)
    asked_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    reflection_id = Column(
        Integer, ForeignKey("reflections.id", ondelete="SET NULL"), nullable=True, index=True
    )

    reflection = relationship("Reflection")

    def text(self, level: str) -> str:
        return self.text_eenvoudig if level == SIMPLE else self.text_standaard

    def __repr__(self) -> str:
        return f"<WorkerQuestion id={self.id} status={self.status!r}>"


class AgreementCheck(Base):
    """The client's answer in the chat about one of their tasks in the agreements ledger
    (done, partly, not yet). The newest check of an agreement is its state for the worker;
    the agreement itself is closed only by the worker ("Afgerond")."""

    __tablename__ = "agreement_checks"
    __table_args__ = (CheckConstraint(_in("outcome", CHECK_OUTCOMES), name="outcome"),)

    id = Column(Integer, primary_key=True)
    agreement_id = Column(
        Integer, ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outcome = Column(String(12), nullable=False)
    idempotency_key = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    agreement = relationship("Agreement")

    def __repr__(self) -> str:
        return f"<AgreementCheck id={self.id} outcome={self.outcome!r}>"
