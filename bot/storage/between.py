"""Reading and writing the time between sessions (issue 14): reminder plans and the client's
own controls, the slot claims of the reminder sender, web push subscriptions, the worker's
question for the next check-in and the client's checks of the agreements ledger.

Like `bot.storage.repository`: every function takes a `Session` first, flushes but never
commits (the caller owns the transaction), and raises `ValueError` on invalid input. Functions
the chat calls take the Rasa sender id (`chat_id`); functions the dashboard calls take the
client's id. Client-facing wording is not made here (see bot/content/reminders.yml).

What the chat side calls (see docs/reminders.md and the module docs):
- the worker's question: `next_question_for`, `mark_question_asked`,
  `record_question_answer`, `skip_question`;
- agreements: `due_client_tasks`, `worker_promises`, `record_agreement_check`;
- reminders: `reminder_status`, `pause_reminders`, `resume_reminders`, `stop_reminders`,
  `change_reminder_time` (a refusal raises `ReminderRefused` with a `code`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from bot.reminders import schedule
from bot.storage import repository
from bot.storage.between_models import (
    CHECK_OUTCOMES,
    PLAN_ACTIVE,
    PLAN_PAUSED,
    PLAN_STOPPED,
    QUESTION_OPEN,
    QUESTION_SOURCES,
    REMINDER_CHANNELS,
    SEND_STATUSES,
    WORKER_QUESTION_THEME,
    AgreementCheck,
    PushSubscription,
    ReminderPlan,
    ReminderSend,
    WorkerQuestion,
)
from bot.storage.models import (
    AccessCode,
    Agreement,
    AuditEntry,
    ChatDevice,
    Client,
    Reflection,
    utcnow,
)
from bot.vocabulary import STANDARD, STATUS_COMPLETE

MAX_QUESTION_LENGTH = 300
MAX_EMAIL_LENGTH = 254
# An answered "deels" or "nog niet" is asked again after this many days, not at every check-in.
RECHECK_DAYS = 2
CLIENT_ACTOR = "client"

_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


# --- helpers ----------------------------------------------------------------------------------


def _client(session: Session, chat_id: str) -> Client:
    chat_id = repository._require_str("chat_id", chat_id, repository.MAX_CHAT_ID_LENGTH)
    client = session.execute(select(Client).where(Client.chat_id == chat_id)).scalar_one_or_none()
    if client is None:
        raise ValueError("no such client")
    return client


def _audit(session: Session, action: str, client_id: int, actor: str, detail: str | None = None):
    session.add(
        AuditEntry(
            at=utcnow(),
            actor=actor[:64],
            action=action,
            client_id=client_id,
            detail=detail,
            remote_addr="chat" if actor == CLIENT_ACTOR else None,
        )
    )


def normalize_phone(text: str | None) -> str | None:
    """A mobile number in international form (+316...), or None when it is not one.

    Dutch numbers may be typed as 06-12345678, 06 1234 5678, 0031 6..., +31 (0)6...; other
    countries need their +code.
    """
    raw = (text or "").strip()
    digits = re.sub(r"[\s\-().]", "", raw.replace("(0)", ""))
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"06\d{8}", digits):
        digits = "+31" + digits[1:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", digits):
        return None
    if digits.startswith("+31") and not re.fullmatch(r"\+316\d{8}", digits):
        return None  # a Dutch number that is not a mobile number cannot receive an SMS
    return digits


def valid_email(text: str | None) -> str | None:
    value = (text or "").strip()
    if not value or len(value) > MAX_EMAIL_LENGTH or not _EMAIL.match(value):
        return None
    return value


# --- reminder plans: the worker's side --------------------------------------------------------


@dataclass(frozen=True)
class ReminderPlanIn:
    """A reminder plan as the worker set it up with the client."""

    channel: str
    weekdays: int
    send_time: time
    start_date: date
    end_date: date
    email: str | None = None
    phone: str | None = None
    quiet_start: time | None = None
    quiet_end: time | None = None


def reminder_plan(session: Session, client_id: int) -> ReminderPlan | None:
    return session.execute(
        select(ReminderPlan).where(ReminderPlan.client_id == client_id)
    ).scalar_one_or_none()


def save_reminder_plan(
    session: Session,
    client_id: int,
    plan: ReminderPlanIn,
    recorded_by: str,
    now: datetime | None = None,
) -> ReminderPlan:
    """Create or replace the client's plan; the client's consent is recorded now.

    The plan becomes active (a pause or stop is undone: this is a new agreement), and no slot
    before now is sent. Raises ValueError for an invalid plan.
    """
    now = now or utcnow()
    repository._require_choice("channel", plan.channel, REMINDER_CHANNELS)
    recorded_by = repository._require_str("recorded_by", recorded_by, 64)
    if not isinstance(plan.weekdays, int) or not 1 <= plan.weekdays <= schedule.ALL_DAYS:
        raise ValueError("choose at least one weekday")
    if plan.end_date < plan.start_date:
        raise ValueError("the end date is before the start date")
    if (plan.quiet_start is None) != (plan.quiet_end is None):
        raise ValueError("quiet hours need both a start and an end")
    if schedule.in_quiet_hours(plan.send_time, plan.quiet_start, plan.quiet_end):
        raise ValueError("the send time is in the quiet hours")
    email = phone = None
    if plan.channel == "email":
        email = valid_email(plan.email)
        if email is None:
            raise ValueError("an e-mail plan needs a valid e-mail address")
    elif plan.channel == "sms":
        phone = normalize_phone(plan.phone)
        if phone is None:
            raise ValueError("an SMS plan needs a mobile number")
    row = reminder_plan(session, client_id)
    if row is None:
        row = ReminderPlan(client_id=client_id, created_at=now)
        session.add(row)
    row.channel = plan.channel
    row.email = email
    row.phone = phone
    row.weekdays = plan.weekdays
    row.send_time = plan.send_time.replace(second=0, microsecond=0, tzinfo=None)
    row.quiet_start = plan.quiet_start
    row.quiet_end = plan.quiet_end
    row.start_date = plan.start_date
    row.end_date = plan.end_date
    row.status = PLAN_ACTIVE
    row.paused_until = None
    row.stopped_at = None
    row.stopped_by = None
    row.schedule_from = _schedule_from(session, row, now)
    row.consent_at = now
    row.consent_recorded_by = recorded_by
    row.updated_at = now
    row.updated_by = recorded_by
    session.flush()
    return row


# --- reminder plans: the client's own controls (chat) -----------------------------------------


class ReminderRefused(ValueError):
    """The client's change could not be made. `code` names the reason for the chat:
    no_plan, already_stopped or quiet_hours (then `quiet` holds (start, end))."""

    def __init__(self, code: str, quiet: tuple[time, time] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.quiet = quiet


@dataclass(frozen=True)
class ReminderStatus:
    """What the client's reminders look like now, for the chat to tell them."""

    status: str  # actief | gepauzeerd | gestopt | afgelopen
    channel: str
    weekdays: int
    send_time: time
    paused_until: date | None
    end_date: date
    quiet_start: time | None
    quiet_end: time | None
    next_at: datetime | None
    # Today is a reminder day, but no reminder comes today any more: today's may already
    # have gone out before the plan was changed, or its (new) time has passed. The client is
    # told so when they change the time.
    from_tomorrow: bool = False

    @property
    def days_text(self) -> str:
        return schedule.days_text(self.weekdays)

    @property
    def time_text(self) -> str:
        return schedule.time_text(self.send_time)


def _status_of(plan: ReminderPlan, now: datetime) -> ReminderStatus:
    today = schedule.local_today(now)
    state = plan.status
    if state == PLAN_PAUSED and plan.paused_until is not None and plan.paused_until < today:
        state = PLAN_ACTIVE  # the pause has run out
    if state != PLAN_STOPPED and plan.end_date < today:
        state = "afgelopen"
    next_at = None
    if state == PLAN_ACTIVE:
        next_at = schedule.next_slot(plan, max(now, plan.schedule_from))
    elif state == PLAN_PAUSED and plan.paused_until is not None:
        resume = schedule.slot_at(plan.paused_until + timedelta(days=1), time(0, 0))
        next_at = schedule.next_slot(plan, max(now, resume))
    return ReminderStatus(
        status=state,
        channel=plan.channel,
        weekdays=plan.weekdays,
        send_time=plan.send_time,
        paused_until=plan.paused_until if state == PLAN_PAUSED else None,
        end_date=plan.end_date,
        quiet_start=plan.quiet_start,
        quiet_end=plan.quiet_end,
        next_at=next_at,
        from_tomorrow=state == PLAN_ACTIVE
        and schedule.planned_on(plan, today)
        and (next_at is None or schedule.local_today(next_at) != today),
    )


def reminder_status(
    session: Session, chat_id: str, now: datetime | None = None
) -> ReminderStatus | None:
    """The client's reminders, or None when they never agreed to any."""
    client = _client(session, chat_id)
    plan = reminder_plan(session, client.id)
    return _status_of(plan, now or utcnow()) if plan is not None else None


def _plan_for_change(session: Session, chat_id: str) -> tuple[Client, ReminderPlan]:
    client = _client(session, chat_id)
    plan = reminder_plan(session, client.id)
    if plan is None:
        raise ReminderRefused("no_plan")
    if plan.status == PLAN_STOPPED:
        raise ReminderRefused("already_stopped")
    return client, plan


def pause_reminders(
    session: Session, chat_id: str, until: date | None = None, now: datetime | None = None
) -> ReminderStatus:
    """Pause the client's reminders until and including `until`, or until they resume."""
    now = now or utcnow()
    client, plan = _plan_for_change(session, chat_id)
    if until is not None and until < schedule.local_today(now):
        raise ValueError("a pause cannot end in the past")
    plan.status = PLAN_PAUSED
    plan.paused_until = until
    plan.updated_at = now
    plan.updated_by = CLIENT_ACTOR
    _audit(session, "herinneringen_gepauzeerd", client.id, CLIENT_ACTOR)
    session.flush()
    return _status_of(plan, now)


def resume_reminders(session: Session, chat_id: str, now: datetime | None = None) -> ReminderStatus:
    """End a pause. Slots that passed during the pause are not sent afterwards, and a pause
    does not undo the one-a-day rule: when a reminder may already have reached the client
    today (or a time change already moved the start to tomorrow), the next one is later."""
    now = now or utcnow()
    client, plan = _plan_for_change(session, chat_id)
    if plan.status == PLAN_PAUSED:
        plan.status = PLAN_ACTIVE
        plan.paused_until = None
        start = _schedule_from(session, plan, now)
        if plan.schedule_from is not None and plan.schedule_from > start:
            start = plan.schedule_from
        plan.schedule_from = start
        plan.updated_at = now
        plan.updated_by = CLIENT_ACTOR
        _audit(session, "herinneringen_hervat", client.id, CLIENT_ACTOR)
        session.flush()
    return _status_of(plan, now)


def stop_reminders(
    session: Session, chat_id: str, by: str = CLIENT_ACTOR, now: datetime | None = None
) -> ReminderStatus:
    """Stop the client's reminders for good ("geen berichtjes meer"): the consent is
    withdrawn. Only a new plan with new consent, in the dashboard, starts them again.
    Stopping twice is fine; without a plan it raises ReminderRefused("no_plan")."""
    now = now or utcnow()
    client = _client(session, chat_id)
    plan = reminder_plan(session, client.id)
    if plan is None:
        raise ReminderRefused("no_plan")
    if plan.status != PLAN_STOPPED:
        by = repository._require_str("by", by, 64)
        plan.status = PLAN_STOPPED
        plan.paused_until = None
        plan.stopped_at = now
        plan.stopped_by = by
        plan.updated_at = now
        plan.updated_by = by
        _audit(session, "herinneringen_gestopt", client.id, by)
        session.flush()
    return _status_of(plan, now)


# A reminder in one of these states may have reached the client.
MAY_HAVE_REACHED = ("bezig", "verstuurd", "onbekend")


def _schedule_from(session: Session, plan: ReminderPlan, now: datetime) -> datetime:
    """Where a changed plan starts: now, or the next local midnight when a reminder of this
    plan may already have reached the client today. Moving the time later on the same day
    must not send a second reminder that day (and the next one the client is told about is
    then tomorrow's or later)."""
    if plan.id is None:
        return now
    today = schedule.local_today(now)
    day_start = schedule.slot_at(today, time(0, 0))
    tomorrow = schedule.slot_at(today + timedelta(days=1), time(0, 0))
    sent_today = session.execute(
        select(ReminderSend.id)
        .where(
            ReminderSend.plan_id == plan.id,
            ReminderSend.slot_at >= day_start,
            ReminderSend.slot_at < tomorrow,
            ReminderSend.status.in_(MAY_HAVE_REACHED),
        )
        .limit(1)
    ).first()
    return tomorrow if sent_today is not None else now


def change_reminder_time(
    session: Session, chat_id: str, new_time: time, now: datetime | None = None
) -> ReminderStatus:
    """Move the client's reminders to `new_time` (local time) on the same days.

    Refused with ReminderRefused("quiet_hours") when the time is in the quiet hours the worker
    and client agreed on. A slot that already passed today is not sent because of the change,
    and when today's reminder may already have gone out, the next one is on a later day.
    """
    if not isinstance(new_time, time):
        raise ValueError("new_time must be a datetime.time")
    now = now or utcnow()
    client, plan = _plan_for_change(session, chat_id)
    new_time = new_time.replace(second=0, microsecond=0, tzinfo=None)
    if schedule.in_quiet_hours(new_time, plan.quiet_start, plan.quiet_end):
        raise ReminderRefused("quiet_hours", quiet=(plan.quiet_start, plan.quiet_end))
    plan.send_time = new_time
    plan.schedule_from = _schedule_from(session, plan, now)
    plan.updated_at = now
    plan.updated_by = CLIENT_ACTOR
    _audit(session, "herinneringstijd_gewijzigd", client.id, CLIENT_ACTOR)
    session.flush()
    return _status_of(plan, now)


# --- the sender: candidate plans and slot claims ---------------------------------------------


def plans_to_consider(session: Session, now: datetime) -> list[tuple[ReminderPlan, Client]]:
    """Plans that may have a slot due around now (not stopped, within their dates)."""
    today = schedule.local_today(now)
    rows = session.execute(
        select(ReminderPlan, Client)
        .join(Client, Client.id == ReminderPlan.client_id)
        .where(
            ReminderPlan.status != PLAN_STOPPED,
            ReminderPlan.start_date <= today,
            ReminderPlan.end_date >= today - timedelta(days=1),
        )
        .order_by(ReminderPlan.id)
    ).all()
    return [(plan, client) for plan, client in rows]


def clients_with_chat_access(session: Session, client_ids: list[int]) -> set[int]:
    """The clients among these with an access code that works: a reminder invites to the
    chat, so a client who cannot log in (code revoked, none made) gets none."""
    if not client_ids:
        return set()
    return set(
        session.execute(
            select(AccessCode.client_id)
            .where(AccessCode.client_id.in_(client_ids), AccessCode.revoked_at.is_(None))
            .distinct()
        ).scalars()
    )


def slot_is_due(
    plan: ReminderPlan, now: datetime, max_delay: timedelta
) -> tuple[datetime | None, str]:
    """The slot to send now and "due", or (None, why not): geen, pauze, te_laat, rusttijd."""
    slot = schedule.latest_slot(plan, now)
    if slot is None or slot < plan.schedule_from:
        return None, "geen"
    if plan.status == PLAN_STOPPED:
        return None, "geen"
    slot_day = schedule.local_today(slot)
    if plan.status == PLAN_PAUSED and (plan.paused_until is None or slot_day <= plan.paused_until):
        return None, "pauze"
    if now - slot > max_delay:
        return None, "te_laat"
    if schedule.in_quiet_hours(schedule.local_now(now).time(), plan.quiet_start, plan.quiet_end):
        return None, "rusttijd"
    return slot, "due"


def claim_slot(
    session: Session, plan: ReminderPlan, slot: datetime, now: datetime
) -> ReminderSend | None:
    """Claim one slot before sending it: insert the unique (plan, slot) row. Returns the row,
    or None when the slot is already claimed (by another run, now or before)."""
    row = ReminderSend(
        plan_id=plan.id,
        slot_at=slot,
        channel=plan.channel,
        status="bezig",
        attempts=1,
        claimed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def claim_retry(
    session: Session, plan: ReminderPlan, slot: datetime, now: datetime, max_attempts: int
) -> ReminderSend | None:
    """Claim a slot again whose earlier attempt certainly did not reach anyone ('opnieuw').
    One conditional UPDATE, so only one of two concurrent runs gets it."""
    result = session.execute(
        update(ReminderSend)
        .where(
            ReminderSend.plan_id == plan.id,
            ReminderSend.slot_at == slot,
            ReminderSend.status == "opnieuw",
            ReminderSend.attempts < max_attempts,
        )
        .values(status="bezig", attempts=ReminderSend.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return None
    return session.execute(
        select(ReminderSend)
        .where(ReminderSend.plan_id == plan.id, ReminderSend.slot_at == slot)
        .execution_options(populate_existing=True)
    ).scalar_one()


def finish_send(
    session: Session, send_id: int, status: str, error: str | None, now: datetime
) -> None:
    repository._require_choice("status", status, SEND_STATUSES)
    session.execute(
        update(ReminderSend)
        .where(ReminderSend.id == send_id)
        .values(status=status, error=(error or None) and error[:64], finished_at=now)
        .execution_options(synchronize_session=False)
    )


def expire_stale_claims(session: Session, now: datetime, older_than: timedelta) -> int:
    """Claims still 'bezig' long after they were made belong to a run that crashed: mark them
    'onbekend'. They are never sent again (the reminder may have gone out)."""
    result = session.execute(
        update(ReminderSend)
        .where(ReminderSend.status == "bezig", ReminderSend.claimed_at < now - older_than)
        .values(status="onbekend", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def recent_sends(session: Session, client_id: int, limit: int = 10) -> list[ReminderSend]:
    """The newest sends of the client's plan (no content, only when and how it went)."""
    return list(
        session.execute(
            select(ReminderSend)
            .join(ReminderPlan, ReminderPlan.id == ReminderSend.plan_id)
            .where(ReminderPlan.client_id == client_id)
            .order_by(ReminderSend.slot_at.desc())
            .limit(limit)
        ).scalars()
    )


# --- web push subscriptions -------------------------------------------------------------------


def save_push_subscription(
    session: Session, client_id: int, device_id: int, endpoint: str, p256dh: str, auth: str
) -> tuple[PushSubscription, bool]:
    """Store a browser's push subscription for this client's device. Returns (row, created).
    The same endpoint again updates the keys (and moves it to this device and client)."""
    endpoint = repository._require_str("endpoint", endpoint, 2000).strip()
    if not endpoint.startswith(("https://", "http://")):
        raise ValueError("endpoint must be an http(s) URL")
    p256dh = repository._require_str("p256dh", p256dh, 128).strip()
    auth = repository._require_str("auth", auth, 64).strip()
    existing = session.execute(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).scalar_one_or_none()
    if existing is not None:
        existing.client_id = client_id
        existing.device_id = device_id
        existing.p256dh = p256dh
        existing.auth = auth
        session.flush()
        return existing, False
    row = PushSubscription(
        client_id=client_id,
        device_id=device_id,
        endpoint=endpoint,
        p256dh=p256dh,
        auth=auth,
        created_at=utcnow(),
    )
    stored, created = repository._insert_or_fetch(
        session,
        row,
        lambda: session.execute(
            select(PushSubscription).where(PushSubscription.endpoint == endpoint)
        ).scalar_one_or_none(),
    )
    return stored, created


def delete_push_subscription(session: Session, client_id: int, endpoint: str) -> bool:
    row = session.execute(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.client_id == client_id
        )
    ).scalar_one_or_none()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def forget_push_subscription(session: Session, subscription_id: int) -> None:
    """The push service said the subscription is gone (404/410): delete it."""
    row = session.get(PushSubscription, subscription_id)
    if row is not None:
        session.delete(row)
        session.flush()


def live_push_subscriptions(session: Session, client_id: int) -> list[PushSubscription]:
    """Subscriptions on devices that are still logged in with a code that still works."""
    return list(
        session.execute(
            select(PushSubscription)
            .join(ChatDevice, ChatDevice.id == PushSubscription.device_id)
            .join(AccessCode, AccessCode.id == ChatDevice.access_code_id)
            .where(
                PushSubscription.client_id == client_id,
                ChatDevice.ended_at.is_(None),
                AccessCode.revoked_at.is_(None),
                AccessCode.client_id == client_id,
            )
            .order_by(PushSubscription.id)
        ).scalars()
    )


# --- the worker's question for the next check-in ----------------------------------------------


def set_worker_question(
    session: Session,
    client_id: int,
    text_standaard: str,
    text_eenvoudig: str,
    source: str,
    source_key: str | None,
    created_by: str,
    now: datetime | None = None,
) -> WorkerQuestion:
    """Set the one open question for the next check-in; an open earlier one is 'vervangen'.

    The texts must already have passed the plain-language check (bot.worker_questions).
    """
    now = now or utcnow()
    source = repository._require_choice("source", source, QUESTION_SOURCES)
    standaard = repository._require_str("text_standaard", text_standaard, MAX_QUESTION_LENGTH)
    eenvoudig = repository._require_str("text_eenvoudig", text_eenvoudig, MAX_QUESTION_LENGTH)
    if source_key is not None:
        source_key = repository._require_str("source_key", source_key, 64)
    session.execute(
        update(WorkerQuestion)
        .where(WorkerQuestion.client_id == client_id, WorkerQuestion.status == QUESTION_OPEN)
        .values(status="vervangen", closed_at=now)
        .execution_options(synchronize_session="fetch")
    )
    row = WorkerQuestion(
        client_id=client_id,
        text_standaard=standaard.strip(),
        text_eenvoudig=eenvoudig.strip(),
        source=source,
        source_key=source_key,
        status=QUESTION_OPEN,
        created_at=now,
        created_by=created_by[:64] if created_by else None,
    )
    session.add(row)
    session.flush()
    return row


def withdraw_worker_question(session: Session, client_id: int, now: datetime | None = None) -> bool:
    """Take back the open question (it is not asked). Returns whether there was one."""
    result = session.execute(
        update(WorkerQuestion)
        .where(WorkerQuestion.client_id == client_id, WorkerQuestion.status == QUESTION_OPEN)
        .values(status="ingetrokken", closed_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1


def worker_questions(session: Session, client_id: int, limit: int = 20) -> list[WorkerQuestion]:
    """The client's questions from the worker, newest first, with the answer loaded."""
    return list(
        session.execute(
            select(WorkerQuestion)
            .where(WorkerQuestion.client_id == client_id)
            .options(selectinload(WorkerQuestion.reflection).selectinload(Reflection.answers))
            .order_by(WorkerQuestion.created_at.desc(), WorkerQuestion.id.desc())
            .limit(limit)
        ).scalars()
    )


def next_question_for(session: Session, chat_id: str) -> WorkerQuestion | None:
    """The open question the worker set for this client, or None. Ask it after the mood as
    "Je begeleider vraagt: " + question.text(level); the client may skip it."""
    client = _client(session, chat_id)
    return session.execute(
        select(WorkerQuestion).where(
            WorkerQuestion.client_id == client.id, WorkerQuestion.status == QUESTION_OPEN
        )
    ).scalar_one_or_none()


def _own_question(
    session: Session, chat_id: str, question_id: int
) -> tuple[Client, WorkerQuestion]:
    client = _client(session, chat_id)
    question = session.get(WorkerQuestion, question_id)
    if question is None or question.client_id != client.id:
        raise ValueError("no such question for this client")
    return client, question


def mark_question_asked(
    session: Session, chat_id: str, question_id: int, now: datetime | None = None
) -> WorkerQuestion:
    """Record that the chat showed the question (the worker sees "gesteld op ...")."""
    _, question = _own_question(session, chat_id, question_id)
    question.asked_at = now or utcnow()
    session.flush()
    return question


def record_question_answer(
    session: Session,
    chat_id: str,
    question_id: int,
    answer_text: str,
    shared_with_worker: bool,
    idempotency_key: str,
    level: str = STANDARD,
) -> tuple[Reflection, bool]:
    """Save the client's answer as a reflection (theme `vraag_begeleider`) with the client's
    consent, and close the question as 'beantwoord'. Returns (reflection, created).

    Idempotent by `idempotency_key` (the Rasa message id): a retry updates the same reflection
    (answer, consent). An answer to a question the worker replaced meanwhile is still saved.
    """
    client, question = _own_question(session, chat_id, question_id)
    shown = question.text(level)
    reflection, created = repository.save_reflection(
        session,
        chat_id,
        WORKER_QUESTION_THEME,
        [repository.AnswerIn(f"vraag_{question.id}", shown, answer_text)],
        scale=None,
        shared_with_worker=shared_with_worker,
        status=STATUS_COMPLETE,
        idempotency_key=idempotency_key,
    )
    if question.reflection_id not in (None, reflection.id):
        raise ValueError("this question already has another answer")
    now = utcnow()
    question.reflection_id = reflection.id
    question.asked_at = question.asked_at or now
    if question.status in (QUESTION_OPEN, "overgeslagen"):
        question.status = "beantwoord"
        question.closed_at = now
    session.flush()
    return reflection, created


def skip_question(
    session: Session, chat_id: str, question_id: int, now: datetime | None = None
) -> WorkerQuestion:
    """The client chose to skip the question: it is closed as 'overgeslagen' (not asked again).
    Skipping an answered question changes nothing."""
    now = now or utcnow()
    _, question = _own_question(session, chat_id, question_id)
    if question.status == QUESTION_OPEN:
        question.status = "overgeslagen"
        question.asked_at = question.asked_at or now
        question.closed_at = now
        session.flush()
    return question


# --- agreements checked in the chat -----------------------------------------------------------


def latest_checks(session: Session, agreement_ids: list[int]) -> dict[int, AgreementCheck]:
    """The newest check of each agreement (by id)."""
    if not agreement_ids:
        return {}
    newest = (
        select(AgreementCheck.agreement_id, func.max(AgreementCheck.id).label("last_id"))
        .where(AgreementCheck.agreement_id.in_(agreement_ids))
        .group_by(AgreementCheck.agreement_id)
        .subquery()
    )
    rows = session.execute(
        select(AgreementCheck).join(newest, and_(AgreementCheck.id == newest.c.last_id))
    ).scalars()
    return {row.agreement_id: row for row in rows}


def due_client_tasks(
    session: Session, chat_id: str, now: datetime | None = None, limit: int = 3
) -> list[Agreement]:
    """The client's own tasks from the ledger to ask about at this check-in, oldest due first.

    Due: a task ('client') the worker has not closed, that the client has not reported as
    done, whose due date has come (or that has none and was agreed before today), and that was
    not asked about in the last RECHECK_DAYS days.
    """
    now = now or utcnow()
    client = _client(session, chat_id)
    today = schedule.local_today(now)
    start_of_today = schedule.slot_at(today, time(0, 0))
    candidates = list(
        session.execute(
            select(Agreement)
            .where(
                Agreement.client_id == client.id,
                Agreement.kind == "client",
                Agreement.done_at.is_(None),
            )
            .order_by(Agreement.due_date.is_(None), Agreement.due_date, Agreement.created_at)
        ).scalars()
    )
    checks = latest_checks(session, [a.id for a in candidates])
    due: list[Agreement] = []
    for agreement in candidates:
        if agreement.due_date is not None and agreement.due_date > today:
            continue
        if agreement.due_date is None and agreement.created_at >= start_of_today:
            continue
        check = checks.get(agreement.id)
        if check is not None and (
            check.outcome == "gedaan" or now - check.created_at < timedelta(days=RECHECK_DAYS)
        ):
            continue
        due.append(agreement)
    return due[:limit]


def worker_promises(session: Session, chat_id: str) -> list[Agreement]:
    """The worker's own open promises, to show read-only as "Je begeleider zou: ..."."""
    client = _client(session, chat_id)
    return list(
        session.execute(
            select(Agreement)
            .where(
                Agreement.client_id == client.id,
                Agreement.kind == "worker",
                Agreement.done_at.is_(None),
            )
            .order_by(Agreement.created_at, Agreement.id)
        ).scalars()
    )


def record_agreement_check(
    session: Session,
    chat_id: str,
    agreement_id: int,
    outcome: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> tuple[AgreementCheck, bool]:
    """The client's answer about one of their tasks: 'gedaan', 'deels' or 'nog_niet'.
    Returns (check, created). The worker sees it in the ledger; the worker closes the task.

    Idempotent by `idempotency_key` (the Rasa message id); only the client's own open task
    ('client' kind) can be checked.
    """
    outcome = repository._require_choice("outcome", outcome, CHECK_OUTCOMES)
    key = repository._require_str("idempotency_key", idempotency_key, repository.MAX_KEY_LENGTH)
    client = _client(session, chat_id)
    agreement = session.get(Agreement, agreement_id)
    if agreement is None or agreement.client_id != client.id or agreement.kind != "client":
        raise ValueError("no such task for this client")

    def fetch() -> AgreementCheck | None:
        return session.execute(
            select(AgreementCheck).where(AgreementCheck.idempotency_key == key)
        ).scalar_one_or_none()

    existing = fetch()
    if existing is not None:
        if existing.agreement_id != agreement.id:
            raise ValueError("idempotency_key is already used for another agreement")
        return existing, False
    return repository._insert_or_fetch(
        session,
        AgreementCheck(
            agreement_id=agreement.id,
            outcome=outcome,
            idempotency_key=key,
            created_at=now or utcnow(),
        ),
        fetch,
    )


def agreement_checks(
    session: Session,
    client_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AgreementCheck]:
    """The client's checks of their tasks, newest first, with the agreement loaded."""
    query = (
        select(AgreementCheck)
        .join(Agreement, Agreement.id == AgreementCheck.agreement_id)
        .where(Agreement.client_id == client_id)
        .options(selectinload(AgreementCheck.agreement))
        .order_by(AgreementCheck.created_at.desc(), AgreementCheck.id.desc())
    )
    if since is not None:
        query = query.where(AgreementCheck.created_at >= since)
    if until is not None:
        query = query.where(AgreementCheck.created_at < until)
    return list(session.execute(query).scalars())


# --- export (python -m bot export) ------------------------------------------------------------


def export_data(session: Session, client_id: int) -> dict:
    """The client's data of issue 14 for an export: the reminder plan (with the address it
    goes to), the worker's questions (answers are among the reflections) and the client's
    checks of their tasks. No push endpoints: they are keys of a browser, not the client's
    words."""

    def iso(value: object) -> object:
        return value.isoformat() if isinstance(value, datetime | date | time) else value

    plan = reminder_plan(session, client_id)
    return {
        "reminder_plan": None
        if plan is None
        else {
            "channel": plan.channel,
            "email": plan.email,
            "phone": plan.phone,
            "days": schedule.days_text(plan.weekdays),
            "time": schedule.time_text(plan.send_time),
            "quiet_hours": [iso(plan.quiet_start), iso(plan.quiet_end)],
            "start_date": iso(plan.start_date),
            "end_date": iso(plan.end_date),
            "status": plan.status,
            "consent_at": iso(plan.consent_at),
            "consent_recorded_by": plan.consent_recorded_by,
            "stopped_at": iso(plan.stopped_at),
        },
        "worker_questions": [
            {
                "question": q.text_standaard,
                "status": q.status,
                "created_at": iso(q.created_at),
                "closed_at": iso(q.closed_at),
            }
            for q in reversed(worker_questions(session, client_id, limit=1000))
        ],
        "agreement_checks": [
            {"agreement": c.agreement.text, "outcome": c.outcome, "at": iso(c.created_at)}
            for c in reversed(agreement_checks(session, client_id))
        ],
    }
