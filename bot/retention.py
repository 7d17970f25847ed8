"""Retention: delete what is past its period, per kind of data (`python -m bot retention`).

The periods are in days, set in .env (KOERS_RETAIN_<KIND>_DAYS, 0 = keep) with defaults that
docs/privacy.md argues for. Safe to run daily (systemd timer or cron): one transaction per
database, idempotent, and it reports and logs counts only, never content.

What goes, per kind:
- conversations: Rasa's tracker store. A conversation without activity for the period goes
  as a whole; of an active one, the events before its current session that are older than
  the period (Rasa reads only the current session; slots are carried into it).
- drafts: interrupted ('onderbroken') reflections not touched for the period.
- reflections: finished reflections (and their answers), by creation date.
- checkins, steps, plan_lookups (the colour chosen in "Mijn plan"): by creation date.
- safety_events: only those a worker has reviewed (seen or false alarm) and check questions
  the client answered "nee", by creation date.
- reminder_sends: the record of each reminder slot that was sent, by the slot's time.
- agreements: only finished ones, by the date they were finished.
- audit: the oldest rows of the audit log (a prefix of the hash chain) and the daily counts.
- devices: chat devices ended longer ago than the period; devices whose cookie has expired
  (KOERS_CLIENT_REMEMBER_DAYS without use) are ended first.
- codes: revoked access codes, by the revocation date.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from sqlalchemy import and_, create_engine, delete, func, inspect, not_, select, update
from sqlalchemy.orm import Session

from bot.storage import auditlog
from bot.storage.between_models import ReminderSend
from bot.storage.models import (
    AccessCode,
    Agreement,
    ChatDevice,
    CheckIn,
    PlanLookup,
    Reflection,
    SafetyEvent,
    SmallStep,
    utcnow,
)
from bot.storage.queries import needs_attention
from bot.tracker_store import EVENTS
from bot.vocabulary import STATUS_COMPLETE, STATUS_INTERRUPTED

logger = logging.getLogger("koers.retention")


@dataclass(frozen=True)
class Policy:
    """Retention periods in days; 0 keeps that kind of data."""

    conversations: int = 30
    drafts: int = 90
    reflections: int = 730
    checkins: int = 730
    plan_lookups: int = 730
    steps: int = 730
    safety_events: int = 730
    agreements: int = 730
    audit: int = 1827  # five years (NEN 7513, see docs/privacy.md)
    devices: int = 30
    codes: int = 90
    reminder_sends: int = 90

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Policy:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            name = env_name(f.name)
            raw = (environ.get(name) or "").strip()
            if not raw:
                continue
            if not raw.isdigit():
                raise SystemExit(f"{name}={raw!r}: gebruik een heel aantal dagen (0 = bewaren).")
            values[f.name] = int(raw)
        return cls(**values)


def env_name(kind: str) -> str:
    return f"KOERS_RETAIN_{kind.upper()}_DAYS"


LABELS = {
    "conversations": "gespreksregels (Rasa)",
    "drafts": "onderbroken reflecties",
    "reflections": "reflecties",
    "checkins": "check-ins",
    "plan_lookups": "keren 'mijn plan' bekeken",
    "reminder_sends": "verstuurde herinneringen",
    "steps": "kleine stappen",
    "safety_events": "beoordeelde veiligheidsmeldingen",
    "agreements": "afgeronde afspraken",
    "audit": "logboekregels",
    "audit_counts": "tellingen",
    "devices_ended": "verlopen apparaten beëindigd",
    "devices": "beëindigde apparaten",
    "codes": "ingetrokken codes",
}


def _count_or_delete(session: Session, model: type, condition, dry_run: bool) -> int:
    if dry_run:
        return session.execute(
            select(func.count()).select_from(model).where(condition)
        ).scalar_one()
    result = session.execute(
        delete(model).where(condition).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def apply_koers(
    session: Session,
    policy: Policy,
    now: datetime | None = None,
    dry_run: bool = False,
    remember_days: int = 30,
) -> dict[str, int]:
    """Apply the policy to the Koers database. Returns {kind: rows deleted (or due)}."""
    now = now or utcnow()

    def before(days: int) -> datetime:
        return now - timedelta(days=days)

    counts: dict[str, int] = {}
    if policy.drafts:
        counts["drafts"] = _count_or_delete(
            session,
            Reflection,
            and_(
                Reflection.status == STATUS_INTERRUPTED,
                Reflection.updated_at < before(policy.drafts),
            ),
            dry_run,
        )
    if policy.reflections:
        counts["reflections"] = _count_or_delete(
            session,
            Reflection,
            and_(
                Reflection.status == STATUS_COMPLETE,
                Reflection.created_at < before(policy.reflections),
            ),
            dry_run,
        )
    if policy.checkins:
        counts["checkins"] = _count_or_delete(
            session, CheckIn, CheckIn.created_at < before(policy.checkins), dry_run
        )
    if policy.plan_lookups:
        counts["plan_lookups"] = _count_or_delete(
            session, PlanLookup, PlanLookup.created_at < before(policy.plan_lookups), dry_run
        )
    if policy.reminder_sends:
        counts["reminder_sends"] = _count_or_delete(
            session, ReminderSend, ReminderSend.slot_at < before(policy.reminder_sends), dry_run
        )
    if policy.steps:
        counts["steps"] = _count_or_delete(
            session, SmallStep, SmallStep.created_at < before(policy.steps), dry_run
        )
    if policy.safety_events:
        counts["safety_events"] = _count_or_delete(
            session,
            SafetyEvent,
            # Only what no longer asks for the worker's attention: seen or reviewed, or a check
            # answered "nee". A word-list hit answered "nee" stays open on the client page
            # (queries.needs_attention, safety rule 1a), so it is kept like any unseen event.
            and_(
                not_(needs_attention()),
                SafetyEvent.created_at < before(policy.safety_events),
            ),
            dry_run,
        )
    if policy.agreements:
        counts["agreements"] = _count_or_delete(
            session,
            Agreement,
            and_(Agreement.done_at.is_not(None), Agreement.done_at < before(policy.agreements)),
            dry_run,
        )
    # Devices whose cookie expired can never be used again: end them, then delete old ones.
    expired = and_(ChatDevice.ended_at.is_(None), ChatDevice.last_seen_at < before(remember_days))
    if dry_run:
        counts["devices_ended"] = session.execute(
            select(func.count()).select_from(ChatDevice).where(expired)
        ).scalar_one()
    else:
        counts["devices_ended"] = (
            session.execute(
                update(ChatDevice)
                .where(expired)
                .values(ended_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )
    if policy.devices:
        counts["devices"] = _count_or_delete(
            session, ChatDevice, ChatDevice.ended_at < before(policy.devices), dry_run
        )
    if policy.codes:
        counts["codes"] = _count_or_delete(
            session, AccessCode, AccessCode.revoked_at < before(policy.codes), dry_run
        )
    if policy.audit:
        cutoff = before(policy.audit)
        if dry_run:
            from bot.storage.models import AuditEntry

            counts["audit"] = session.execute(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.at < cutoff)
            ).scalar_one()
        else:
            counts["audit"] = auditlog.prune(session, cutoff)
            counts["audit_counts"] = auditlog.prune_counts(session, cutoff.date())
    return counts


def apply_tracker(
    url: str | None, days: int, now: datetime | None = None, dry_run: bool = False
) -> int:
    """Apply the conversations period to Rasa's SQL tracker store. Returns events deleted."""
    if not url or not days:
        return 0
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        return 0
    cutoff = ((now or utcnow()) - timedelta(days=days)).timestamp()
    engine = create_engine(url, future=True)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        e, later = EVENTS.alias("e"), EVENTS.alias("later")
        inactive = (
            select(e.c.sender_id).group_by(e.c.sender_id).having(func.max(e.c.timestamp) < cutoff)
        )
        current_session = (
            select(func.max(later.c.id))
            .where(later.c.sender_id == EVENTS.c.sender_id, later.c.type_name == "session_started")
            .scalar_subquery()
        )
        whole = EVENTS.c.sender_id.in_(inactive)
        before_session = and_(EVENTS.c.timestamp < cutoff, EVENTS.c.id < current_session)
        with engine.begin() as connection:
            if dry_run:
                return connection.execute(
                    select(func.count()).select_from(EVENTS).where(whole | before_session)
                ).scalar_one()
            deleted = connection.execute(delete(EVENTS).where(whole)).rowcount or 0
            deleted += connection.execute(delete(EVENTS).where(before_session)).rowcount or 0
            return deleted
    finally:
        engine.dispose()


def summary(counts: Mapping[str, int]) -> str:
    """Counts in one line, never content: 'reflecties 3, check-ins 0, ...'."""
    return ", ".join(f"{LABELS.get(kind, kind)} {n}" for kind, n in counts.items())
