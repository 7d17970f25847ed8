"""What the client page and the preparation sheet show of the time between sessions: the
reminder plan, the worker's question for next time with its answers, and the client's checks of
the agreements ledger. Only what the worker may see: an answer to the worker's question is
shown only when the client shared it (like every reflection).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import g
from sqlalchemy.orm import Session

from bot.reminders.schedule import days_text, time_text
from bot.settings import get_reminder_settings
from bot.storage import between, queries
from bot.storage.between_models import (
    AgreementCheck,
    ReminderPlan,
    ReminderSend,
    WorkerQuestion,
)
from bot.storage.models import Client, utcnow

CHANNEL_LABELS = {"email": "E-mail", "sms": "SMS", "push": "Melding op de telefoon (web push)"}
PLAN_STATUS_LABELS = {
    "actief": "Aan",
    "gepauzeerd": "Gepauzeerd",
    "gestopt": "Gestopt",
    "afgelopen": "Afgelopen (einddatum voorbij)",
}
SEND_STATUS_LABELS = {
    "bezig": "wordt verstuurd",
    "verstuurd": "verstuurd",
    "opnieuw": "mislukt, wordt opnieuw geprobeerd",
    "mislukt": "mislukt",
    "onbekend": "onbekend (afgebroken)",
}
QUESTION_STATUS_LABELS = {
    "open": "staat klaar voor de volgende keer",
    "beantwoord": "beantwoord",
    "overgeslagen": "overgeslagen door de cliënt",
    "vervangen": "vervangen door een nieuwe vraag",
    "ingetrokken": "ingetrokken",
}
CHECK_LABELS = {"gedaan": "gedaan", "deels": "deels gedaan", "nog_niet": "nog niet gedaan"}
SOURCE_LABELS = {"thema": "vragenlijst", "bron": "uit de praktijk", "eigen": "eigen woorden"}


@dataclass
class Panel:
    """Everything issue 14 adds to one client's page."""

    plan: ReminderPlan | None
    status: between.ReminderStatus | None
    sends: list[ReminderSend]
    push_devices: int
    questions: list[WorkerQuestion]
    open_question: WorkerQuestion | None
    checks: dict[int, AgreementCheck]
    question_form: dict[str, Any] = field(default_factory=dict)
    question_errors: list[str] = field(default_factory=list)

    @property
    def days(self) -> str:
        return days_text(self.plan.weekdays) if self.plan else ""


def client_panel(session: Session, client: Client) -> Panel:
    plan = between.reminder_plan(session, client.id)
    now = utcnow()
    status = between._status_of(plan, now) if plan is not None else None
    questions = between.worker_questions(session, client.id, limit=10)
    agreement_ids = [a.id for a in queries.agreements(session, client.id) if a.kind == "client"]
    return Panel(
        plan=plan,
        status=status,
        sends=between.recent_sends(session, client.id, limit=5),
        push_devices=len(between.live_push_subscriptions(session, client.id)),
        questions=questions,
        open_question=next((q for q in questions if q.status == "open"), None),
        checks=between.latest_checks(session, agreement_ids),
        question_form=g.get("question_form") or {"choice": "", "own": ""},
        question_errors=g.get("question_errors") or [],
    )


@dataclass
class SheetPart:
    open_question: WorkerQuestion | None
    answered: list[WorkerQuestion]
    checks: list[AgreementCheck]
    latest: dict[int, AgreementCheck]


def sheet_part(
    session: Session, client: Client, since: datetime | None, until: datetime | None
) -> SheetPart:
    """For the preparation sheet: the open question, the questions closed in the period, and
    the client's checks of their tasks in the period (plus the newest check of each task)."""

    def in_period(at: datetime | None) -> bool:
        return at is not None and (since is None or at >= since) and (until is None or at < until)

    questions = between.worker_questions(session, client.id, limit=50)
    agreement_ids = [a.id for a in queries.agreements(session, client.id) if a.kind == "client"]
    return SheetPart(
        open_question=next((q for q in questions if q.status == "open"), None),
        answered=[q for q in questions if q.status != "open" and in_period(q.closed_at)],
        checks=between.agreement_checks(session, client.id, since, until),
        latest=between.latest_checks(session, agreement_ids),
    )


def channel_ready(channel: str) -> bool:
    """Whether the server has the settings to send on this channel."""
    settings = get_reminder_settings()
    if not settings.public_url:
        return False
    if channel == "email":
        return bool(settings.smtp_host and settings.smtp_from)
    if channel == "sms":
        return settings.sms_provider == "cm" and bool(settings.cm_product_token)
    return bool(settings.vapid_private_key and settings.vapid_subject)


def template_globals() -> dict[str, Any]:
    return {
        "channel_labels": CHANNEL_LABELS,
        "plan_status_labels": PLAN_STATUS_LABELS,
        "send_status_labels": SEND_STATUS_LABELS,
        "question_status_labels": QUESTION_STATUS_LABELS,
        "check_labels": CHECK_LABELS,
        "source_labels": SOURCE_LABELS,
        "klok": time_text,
    }
