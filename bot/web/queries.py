"""Dashboard queries: caseload, ownership checks and what a worker may see of a client.

Rules (health data): a worker sees only clients with `worker_id` equal to their own id;
reflections and small steps only when the client shared them; private reflections only as a
count. Admins manage accounts and see no client data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, selectinload

from bot import content
from bot.storage.models import (
    VENT_THEME,
    Agreement,
    AuditCount,
    AuditEntry,
    CheckIn,
    Client,
    Reflection,
    SafetyEvent,
    SafetyPlan,
    SmallStep,
    Worker,
)


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
        question = None if key == VENT_THEME else content.scale_question(key, "standaard")
        themes[key] = Theme(key, content.label(key), content.icon(key), question)
    return themes


THEMES = _load_themes()

# The per-theme 1-5 scales run from "heel weinig" to "heel veel" (not from bad to good; only
# the mood check-in is "slecht ... goed").
SCALE_LOW = "heel weinig"
SCALE_HIGH = "heel veel"

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
    "both": "de woordenlijst en het taalmodel van Koers",
    "client": "de cliënt koos rood in het signaleringsplan",
}


def theme(key: str) -> Theme:
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
        .where(SafetyEvent.client_id.in_(ids), SafetyEvent.acknowledged_at.is_(None))
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


def shared_steps(session: Session, client_id: int) -> list[SmallStep]:
    return list(
        session.execute(
            select(SmallStep)
            .where(SmallStep.client_id == client_id, SmallStep.shared_with_worker.is_(True))
            .order_by(SmallStep.created_at.desc(), SmallStep.id.desc())
        ).scalars()
    )


def safety_events(session: Session, client_id: int) -> list[SafetyEvent]:
    return list(
        session.execute(
            select(SafetyEvent)
            .where(SafetyEvent.client_id == client_id)
            .order_by(SafetyEvent.created_at.desc(), SafetyEvent.id.desc())
        ).scalars()
    )


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
