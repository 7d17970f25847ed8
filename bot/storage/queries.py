"""What a worker may see of a client, read for the dashboard and the summaries: caseload,
ownership checks, shared reflections, alerts (read-only; writes go through repository.py).

Rules (health data): a worker sees only clients with `worker_id` equal to their own id;
reflections and small steps only when the client shared them; private reflections only as a
count. Admins manage accounts and see no client data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import overload

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot import content
from bot.safety.decision import CLAUSE_REASON, LAST_CLAUSE_REASON
from bot.storage.models import (
    Agreement,
    AuditCount,
    AuditEntry,
    CheckIn,
    Client,
    PlanLookup,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    SafetyPlan,
    SmallStep,
    Worker,
)
from bot.vocabulary import SIMPLE, STANDARD, STATUS_INTERRUPTED, VENT_THEME


@dataclass(frozen=True)
class Theme:
    key: str
    label: str
    icon: str
    # The 1-5 question the client answered (None for venting, which has no scale).
    question: str | None = None


def _load_themes() -> dict[str, Theme]:
    """The six themes and venting ("Even iets kwijt"), labels and icons from themes.yml."""
    themes = {}
    for key in content.menu_keys():
        question = None if key == VENT_THEME else content.scale_question(key, STANDARD)
        themes[key] = Theme(key, content.label(key), content.icon(key), question)
    return themes


THEMES = _load_themes()

# The per-theme 1-5 scales run from "heel weinig" to "heel veel" (not from bad to good; only
# the mood check-in is "slecht ... goed").
SCALE_LOW = "heel weinig"
SCALE_HIGH = "heel veel"
MOOD_LOW = "heel slecht"
MOOD_HIGH = "heel goed"
LEVEL_WORDS = {STANDARD: "standaard taal", SIMPLE: "eenvoudige taal"}

# Safety events: the category and who noticed it, in plain Dutch for the worker.
CATEGORY_LABELS = {
    "suicide": "gedachten aan zelfmoord",
    "self_harm": "zichzelf pijn doen",
    "overdose": "te veel middelen of medicijnen",
    "danger_to_others": "gevaar voor anderen",
    "threatened": "wordt zelf bedreigd",
    "abuse": "geweld of misbruik",
    "unknown": "onduidelijk, wel zorgelijk",
}
DETECTED_LABELS = {
    "matcher": "de woordenlijst van Koers",
    "classifier": "het taalmodel van Koers",
    "semantic": "het betekenismodel van Koers",
    "both": "meer dan één model van Koers",
    "context": "het bericht samen met het gesprek ervoor",
    "client": "de cliënt koos rood in het signaleringsplan",
}
CHECK_ANSWER_LABELS = {
    "ja": "ja",
    "nee": "nee",
    "weet_niet": "weet ik niet",
    "onduidelijk": "geen duidelijk antwoord",
    None: "nog geen antwoord",
}
REVIEW_LABELS = {"gezien": "Gezien", "vals_alarm": "Vals alarm"}
# Alerts of one conversation closer together than this are shown as one group.
ALERT_GROUP_GAP = timedelta(minutes=30)


# An answer to the worker's question for next time is stored as a reflection (issue 14).
WORKER_QUESTION = Theme("vraag_begeleider", "Vraag van de begeleider", "❓")


def theme(key: str) -> Theme:
    if key == WORKER_QUESTION.key:
        return WORKER_QUESTION
    return THEMES.get(key) or Theme(key, key.replace("_", " ").capitalize(), "•")


# --- ownership ------------------------------------------------------------------------------


def owned_client(session: Session, worker: Worker, client_id: int) -> Client | None:
    """The client if it is on this worker's caseload; None otherwise (also for admins)."""
    if worker.role != "worker":
        return None
    return session.execute(
        select(Client).where(Client.id == client_id, Client.worker_id == worker.id)
    ).scalar_one_or_none()


# --- caseload -------------------------------------------------------------------------------


@dataclass
class CaseloadRow:
    client: Client
    last_checkin: datetime | None = None
    open_events: int = 0
    open_steps: int = 0
    # theme key -> (latest scale, previous scale or None)
    trends: dict[str, tuple[int, int | None]] = field(default_factory=dict)


def caseload(session: Session, worker: Worker) -> list[CaseloadRow]:
    """The worker's clients with last check-in, open safety events, open shared steps and the
    latest two shared scales per theme, in a fixed number of queries."""
    clients = list(
        session.execute(
            select(Client)
            .where(Client.worker_id == worker.id)
            .order_by(func.lower(func.coalesce(Client.display_name, "")), Client.id)
        ).scalars()
    )
    rows = {c.id: CaseloadRow(c) for c in clients}
    if not rows:
        return []
    ids = list(rows)
    for cid, last in session.execute(
        select(CheckIn.client_id, func.max(CheckIn.created_at))
        .where(CheckIn.client_id.in_(ids))
        .group_by(CheckIn.client_id)
    ):
        rows[cid].last_checkin = _aware(last)
    for cid, count in session.execute(
        select(SafetyEvent.client_id, func.count())
        .where(SafetyEvent.client_id.in_(ids), needs_attention())
        .group_by(SafetyEvent.client_id)
    ):
        rows[cid].open_events = count
    for cid, count in session.execute(
        select(SmallStep.client_id, func.count())
        .where(
            SmallStep.client_id.in_(ids),
            SmallStep.status == "open",
            SmallStep.shared_with_worker.is_(True),
        )
        .group_by(SmallStep.client_id)
    ):
        rows[cid].open_steps = count
    ranked = (
        select(
            Reflection.client_id,
            Reflection.theme,
            Reflection.scale,
            func.row_number()
            .over(
                partition_by=(Reflection.client_id, Reflection.theme),
                order_by=(Reflection.created_at.desc(), Reflection.id.desc()),
            )
            .label("rank"),
        )
        .where(
            Reflection.client_id.in_(ids),
            Reflection.shared_with_worker.is_(True),
            Reflection.scale.is_not(None),
        )
        .subquery()
    )
    latest: dict[tuple[int, str], list[int]] = {}
    for cid, key, scale, _rank in session.execute(
        select(ranked).where(ranked.c.rank <= 2).order_by(ranked.c.client_id, ranked.c.rank)
    ):
        latest.setdefault((cid, key), []).append(scale)
    order = {key: index for index, key in enumerate(THEMES)}
    for (cid, key), scales in sorted(
        latest.items(), key=lambda item: order.get(item[0][1], len(order))
    ):
        rows[cid].trends[key] = (scales[0], scales[1] if len(scales) > 1 else None)
    return list(rows.values())


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: None) -> None: ...
def _aware(value: datetime | None) -> datetime | None:
    from datetime import timezone

    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


# --- one client -----------------------------------------------------------------------------


def shared_reflections(
    session: Session,
    client_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[Reflection]:
    """Shared reflections, newest first, with their answers."""
    query = (
        select(Reflection)
        .where(Reflection.client_id == client_id, Reflection.shared_with_worker.is_(True))
        .options(selectinload(Reflection.answers))
        .order_by(Reflection.created_at.desc(), Reflection.id.desc())
    )
    if since is not None:
        query = query.where(Reflection.created_at >= since)
    if until is not None:
        query = query.where(Reflection.created_at < until)
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def reflection_counts(
    session: Session,
    client_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[int, int]:
    """(shared, private) number of reflections."""
    conditions = [Reflection.client_id == client_id]
    if since is not None:
        conditions.append(Reflection.created_at >= since)
    if until is not None:
        conditions.append(Reflection.created_at < until)
    shared = private = 0
    for flag, count in session.execute(
        select(Reflection.shared_with_worker, func.count())
        .where(and_(*conditions))
        .group_by(Reflection.shared_with_worker)
    ):
        if flag:
            shared = count
        else:
            private = count
    return shared, private


def scale_series(
    session: Session, client_id: int, since: datetime | None = None, until: datetime | None = None
) -> dict[str, list[tuple[datetime, int]]]:
    """Shared scales per theme, oldest first."""
    query = (
        select(Reflection.theme, Reflection.created_at, Reflection.scale)
        .where(
            Reflection.client_id == client_id,
            Reflection.shared_with_worker.is_(True),
            Reflection.scale.is_not(None),
        )
        .order_by(Reflection.created_at, Reflection.id)
    )
    if since is not None:
        query = query.where(Reflection.created_at >= since)
    if until is not None:
        query = query.where(Reflection.created_at < until)
    series: dict[str, list[tuple[datetime, int]]] = {}
    for key, at, scale in session.execute(query):
        series.setdefault(key, []).append((_aware(at), scale))
    return series


def answered_prompts(session: Session, client_id: int) -> dict[str, list[str]]:
    """Per theme the prompt keys the client answered in shared reflections, newest first
    (keys only: for choosing questions the client has not had yet)."""
    last = func.max(Reflection.created_at)
    query = (
        select(Reflection.theme, ReflectionAnswer.question_key, last)
        .join(ReflectionAnswer, ReflectionAnswer.reflection_id == Reflection.id)
        .where(Reflection.client_id == client_id, Reflection.shared_with_worker.is_(True))
        .group_by(Reflection.theme, ReflectionAnswer.question_key)
        .order_by(last.desc(), ReflectionAnswer.question_key)
    )
    asked: dict[str, list[str]] = {}
    for theme, key, _at in session.execute(query):
        asked.setdefault(theme, []).append(key)
    return asked


def mood_series(
    session: Session, client_id: int, since: datetime | None = None, until: datetime | None = None
) -> list[tuple[datetime, int]]:
    """The client's 1-5 mood check-ins (1 = slecht, 5 = goed), oldest first."""
    query = (
        select(CheckIn.created_at, CheckIn.mood)
        .where(CheckIn.client_id == client_id)
        .order_by(CheckIn.created_at, CheckIn.id)
    )
    if since is not None:
        query = query.where(CheckIn.created_at >= since)
    if until is not None:
        query = query.where(CheckIn.created_at < until)
    return [(_aware(at), mood) for at, mood in session.execute(query)]


def last_checkin(session: Session, client_id: int) -> datetime | None:
    """When the client last did a mood check-in in the chat."""
    return _aware(
        session.execute(
            select(func.max(CheckIn.created_at)).where(CheckIn.client_id == client_id)
        ).scalar_one()
    )


@dataclass
class Activity:
    """What the client did in the chat in a period: counts only, no content."""

    checkins: int = 0
    drafts: int = 0  # reflections left unfinished (always private: only the number)
    # Safety-plan look-ups, oldest first: (when, colour chosen).
    lookups: list[tuple[datetime, str]] = field(default_factory=list)

    def lookups_per_colour(self) -> dict[str, int]:
        counts = {"groen": 0, "oranje": 0, "rood": 0}
        for _at, colour in self.lookups:
            counts[colour] = counts.get(colour, 0) + 1
        return counts


def activity(
    session: Session, client_id: int, since: datetime | None = None, until: datetime | None = None
) -> Activity:
    def period(column):
        conditions = []
        if since is not None:
            conditions.append(column >= since)
        if until is not None:
            conditions.append(column < until)
        return conditions

    checkins = session.execute(
        select(func.count())
        .select_from(CheckIn)
        .where(CheckIn.client_id == client_id, *period(CheckIn.created_at))
    ).scalar_one()
    drafts = session.execute(
        select(func.count())
        .select_from(Reflection)
        .where(
            Reflection.client_id == client_id,
            Reflection.status == STATUS_INTERRUPTED,
            *period(Reflection.updated_at),
        )
    ).scalar_one()
    lookups = [
        (_aware(at), colour)
        for at, colour in session.execute(
            select(PlanLookup.created_at, PlanLookup.colour)
            .where(PlanLookup.client_id == client_id, *period(PlanLookup.created_at))
            .order_by(PlanLookup.created_at, PlanLookup.id)
        )
    ]
    return Activity(checkins=checkins, drafts=drafts, lookups=lookups)


def shared_steps(session: Session, client_id: int) -> list[SmallStep]:
    return list(
        session.execute(
            select(SmallStep)
            .where(SmallStep.client_id == client_id, SmallStep.shared_with_worker.is_(True))
            .order_by(SmallStep.created_at.desc(), SmallStep.id.desc())
        ).scalars()
    )


def needs_attention():
    """Not reviewed yet, and not a check question the client answered with "nee", unless
    the check came from the word list (safety rule 1a: the meaning doubted a word-list hit;
    a "nee" to that stays for the worker to see)."""
    return and_(
        SafetyEvent.review.is_(None),
        SafetyEvent.acknowledged_at.is_(None),
        or_(
            SafetyEvent.check_answer.is_(None),
            SafetyEvent.check_answer != "nee",
            SafetyEvent.detected_by == "matcher",
        ),
    )


def safety_events(session: Session, client_id: int) -> list[SafetyEvent]:
    return list(
        session.execute(
            select(SafetyEvent)
            .where(SafetyEvent.client_id == client_id)
            .order_by(SafetyEvent.created_at.desc(), SafetyEvent.id.desc())
        ).scalars()
    )


# The reasons of a check that one clause read on its own decided.
CLAUSE_REASONS = (LAST_CLAUSE_REASON, CLAUSE_REASON)


@dataclass
class Alert:
    """One safety event as the worker sees it, with the conversation around it."""

    event: SafetyEvent
    preceding: list[dict[str, str]]
    reasons: list[str]
    lijkt_op: str | None
    # The clause read on its own that decided (rules 5b and 5c of bot.safety.decision).
    zinsdeel: str | None = None

    @property
    def marked(self) -> tuple[str, str, str] | None:
        """The message as (before, the deciding clause, after), so that the alert can mark
        the part of a long message that raised it; None when a clause did not decide (the
        conversation's context may have) or the clause is not found in the message."""
        part = self.zinsdeel
        text = self.event.message_text or ""
        if not part or not any(r.startswith(CLAUSE_REASONS) for r in self.reasons):
            return None
        at = text.find(part)
        if at < 0:
            return None
        return text[:at], part, text[at + len(part) :]

    @property
    def open(self) -> bool:
        e = self.event
        denied = e.check_answer == "nee" and e.detected_by != "matcher"  # see needs_attention
        return e.review is None and e.acknowledged_at is None and not denied


@dataclass
class AlertGroup:
    """Alerts of one conversation close together (newest first); shown as one card."""

    alerts: list[Alert]

    @property
    def newest(self) -> Alert:
        return self.alerts[0]

    @property
    def shown(self) -> Alert:
        """The alert shown in full on the card: the newest one still open, else the newest.
        (An alert replayed late from an outbox keeps its own time, so it can be older than
        one the worker already marked.)"""
        return next((a for a in self.alerts if a.open), self.alerts[0])

    @property
    def others(self) -> list[Alert]:
        """The group's other alerts, newest first (listed under the card)."""
        shown = self.shown
        return [a for a in self.alerts if a is not shown]

    @property
    def open(self) -> bool:
        return any(a.open for a in self.alerts)

    @property
    def to_review(self) -> list[Alert]:
        """The alerts the card's buttons mark: the open ones while any is open (a review of
        a late alert must not relabel one the worker already judged), else all of them (the
        worker changes the card's judgement)."""
        return [a for a in self.alerts if a.open] or self.alerts


def _alert(event: SafetyEvent) -> Alert:
    def loads(value: str | None) -> object:
        try:
            return json.loads(value) if value else None
        except ValueError:
            return None

    preceding = loads(event.preceding)
    evidence = loads(event.evidence)
    info = evidence if isinstance(evidence, dict) else {}
    return Alert(
        event=event,
        preceding=[p for p in preceding if isinstance(p, dict)]
        if isinstance(preceding, list)
        else [],
        reasons=[str(r) for r in info.get("reasons") or [] if r],
        lijkt_op=info.get("lijkt_op") if isinstance(info.get("lijkt_op"), str) else None,
        zinsdeel=info.get("zinsdeel") if isinstance(info.get("zinsdeel"), str) else None,
    )


def alert_groups(events: list[SafetyEvent]) -> list[AlertGroup]:
    """Group a client's events (newest first): one group per conversation stretch in which
    alerts follow each other within ALERT_GROUP_GAP, so that a burst of near-identical alerts
    does not push everything else off the page."""
    groups: list[AlertGroup] = []
    for event in events:
        current = groups[-1] if groups else None
        if current is not None:
            oldest = current.alerts[-1].event.created_at
            if _aware(oldest) - _aware(event.created_at) <= ALERT_GROUP_GAP:
                current.alerts.append(_alert(event))
                continue
        groups.append(AlertGroup([_alert(event)]))
    return groups


def alert_group_of(session: Session, client_id: int, event_id: int) -> list[SafetyEvent]:
    """The events in the same group as `event_id` (empty when it is not this client's)."""
    for group in alert_groups(safety_events(session, client_id)):
        if any(a.event.id == event_id for a in group.alerts):
            return [a.event for a in group.alerts]
    return []


@dataclass(frozen=True)
class FalseAlarmShare:
    reviewed: int
    false_alarms: int
    by_detector: dict[str, tuple[int, int]]  # detected_by -> (reviewed, false alarms)

    @property
    def share(self) -> float:
        return self.false_alarms / self.reviewed if self.reviewed else 0.0


def false_alarm_share(session: Session) -> FalseAlarmShare:
    """The share of reviewed alerts that workers marked "vals alarm", in the whole
    organisation: real-world figures for tuning the detection (counts only, no content)."""
    rows = session.execute(
        select(SafetyEvent.detected_by, SafetyEvent.review, func.count())
        .where(SafetyEvent.review.is_not(None))
        .group_by(SafetyEvent.detected_by, SafetyEvent.review)
    ).all()
    by: dict[str, list[int]] = {}
    for detected_by, review, count in rows:
        entry = by.setdefault(detected_by, [0, 0])
        entry[0] += count
        entry[1] += count if review == "vals_alarm" else 0
    reviewed = sum(v[0] for v in by.values())
    false_alarms = sum(v[1] for v in by.values())
    return FalseAlarmShare(reviewed, false_alarms, {k: (v[0], v[1]) for k, v in by.items()})


def safety_event(session: Session, client_id: int, event_id: int) -> SafetyEvent | None:
    return session.execute(
        select(SafetyEvent).where(SafetyEvent.id == event_id, SafetyEvent.client_id == client_id)
    ).scalar_one_or_none()


def safety_plan(session: Session, client_id: int) -> SafetyPlan | None:
    return session.execute(
        select(SafetyPlan)
        .where(SafetyPlan.client_id == client_id)
        .options(selectinload(SafetyPlan.items))
    ).scalar_one_or_none()


def agreements(session: Session, client_id: int) -> list[Agreement]:
    return list(
        session.execute(
            select(Agreement)
            .where(Agreement.client_id == client_id)
            .order_by(Agreement.done_at.is_not(None), Agreement.created_at.desc(), Agreement.id)
        ).scalars()
    )


def agreement(session: Session, client_id: int, agreement_id: int) -> Agreement | None:
    return session.execute(
        select(Agreement).where(Agreement.id == agreement_id, Agreement.client_id == client_id)
    ).scalar_one_or_none()


AUDIT_PAGE_SIZE = 100


@dataclass
class AuditFilter:
    """What the admin filters the audit log on; empty fields do not filter."""

    actor: str = ""
    action: str = ""
    client_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    detail: str = ""

    def conditions(self) -> list:
        found = []
        if self.actor:
            found.append(func.lower(AuditEntry.actor).contains(self.actor.lower(), autoescape=True))
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.client_id is not None:
            found.append(AuditEntry.client_id == self.client_id)
        if self.since is not None:
            found.append(AuditEntry.at >= self.since)
        if self.until is not None:
            found.append(AuditEntry.at < self.until)
        if self.detail:
            found.append(AuditEntry.detail.contains(self.detail, autoescape=True))
        return found


def audit_page(
    session: Session, filters: AuditFilter, page: int = 1, per_page: int = AUDIT_PAGE_SIZE
) -> tuple[list[AuditEntry], int]:
    """One page of the audit log, newest first, and the number of matching rows."""
    conditions = filters.conditions()
    total = session.execute(
        select(func.count()).select_from(AuditEntry).where(*conditions)
    ).scalar_one()
    rows = session.execute(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset(max(page - 1, 0) * per_page)
        .limit(per_page)
    ).scalars()
    return list(rows), total


def audit_actions(session: Session) -> list[str]:
    return list(
        session.execute(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).scalars()
    )


def audit_counts(session: Session, since: date) -> list[AuditCount]:
    """Counted events (blocked attempts) per day since `since`, newest first."""
    return list(
        session.execute(
            select(AuditCount)
            .where(AuditCount.day >= since)
            .order_by(AuditCount.day.desc(), AuditCount.action)
        ).scalars()
    )


def audit_entries(
    session: Session, client_id: int | None = None, limit: int = 300
) -> list[AuditEntry]:
    rows, _total = audit_page(session, AuditFilter(client_id=client_id), 1, limit)
    return rows
