"""The audit log (NEN 7513 in spirit): append-only rows in a keyed hash chain.

Writing: `record(session, action, actor=...)` adds a row. When the transaction commits, the
rows it added are chained (a `before_commit` hook): the head row of `audit_chain` is locked
first with an UPDATE (SQLite's write lock, a row lock on PostgreSQL; taken last in the
transaction, so it cannot deadlock), then each row gets the next `seq`, the previous row's
hash as `prev_hash`, and `row_hash` = HMAC-SHA256(key, its fields and `prev_hash`).

The key is not in the database: by default it is derived from the web app's secret key
(KOERS_AUDIT_KEY overrides it). Someone who can write to the database but does not have the
key can edit or delete rows, but `verify()` (`python -m bot audit verify`) finds it: a changed
row no longer matches its hash, a removed row leaves a gap in `seq` and a broken link, a
removed last row no longer matches the chain head. Triggers (migration 0007) refuse UPDATE and
DELETE outright, except the pruning by retention, which records where it cut the chain.

Counting: `count(session, action)` adds one to a per-day counter instead of writing a row
(blocked login attempts), so an attacker cannot flood the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import event, func, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from bot.storage.models import AuditChain, AuditCount, AuditEntry, utcnow

GENESIS = "0" * 64
_PENDING = "koers_audit_pending"
_KEYS: dict[str, bytes] = {}


# --- keys -------------------------------------------------------------------------------------


def derive_key(secret_key: str, audit_key: str | None = None) -> bytes:
    """KOERS_AUDIT_KEY, or a key derived from the secret key (its own domain)."""
    if audit_key:
        return audit_key.encode("utf-8")
    return hmac.new(secret_key.encode("utf-8"), b"koers-audit-chain-v1", hashlib.sha256).digest()


def key_check(key: bytes) -> str:
    return hashlib.sha256(b"koers-audit-key-check\x00" + key).hexdigest()[:16]


def _url(engine_or_url: Engine | str) -> str:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.render_as_string(hide_password=False)


def set_key(engine_or_url: Engine | str, key: bytes) -> None:
    """The chain key for rows written to this database (the web app and the CLI set it)."""
    _KEYS[_url(engine_or_url)] = key


def key_from_settings(settings: Any = None) -> bytes:
    from bot.settings import get_settings
    from bot.web.security import load_secret_key

    settings = settings or get_settings()
    return derive_key(load_secret_key(settings), settings.audit_key)


def _key_for(session: Session) -> bytes:
    bind = session.get_bind()
    engine = getattr(bind, "engine", bind)
    key = _KEYS.get(_url(engine))
    if key is None:  # a process that set no key: the configured one
        key = key_from_settings()
        set_key(engine, key)
    return key


# --- writing ----------------------------------------------------------------------------------

_CONTROL_FREE = {ord("\x00"): None}


def _clean(value: str | None, limit: int | None = None) -> str | None:
    if value is None:
        return None
    value = str(value).translate(_CONTROL_FREE)
    return value[:limit] if limit is not None else value


def record(
    session: Session,
    action: str,
    *,
    actor: str,
    client_id: int | None = None,
    detail: str | None = None,
    remote_addr: str | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add an audit row; it is chained when the transaction commits."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor=_clean(actor, 64) or "onbekend",
        action=_clean(action, 64) or "?",
        client_id=client_id,
        detail=_clean(detail),
        remote_addr=_clean(remote_addr, 64),
    )
    session.add(entry)
    return entry


def count(session: Session, action: str, day: date | None = None, amount: int = 1) -> None:
    """Add `amount` to today's counter of `action` (an upsert: one row per day and action)."""
    day = day or utcnow().date()
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - Koers runs on SQLite and PostgreSQL
        raise RuntimeError(f"no upsert for {dialect}")
    statement = insert(AuditCount).values(day=day, action=action[:64], count=amount)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "action"],
            set_={"count": AuditCount.count + statement.excluded.count},
        )
    )


def content(entry: AuditEntry) -> bytes:
    """The fields a row's hash covers, in a fixed, unambiguous form."""
    at = entry.at
    fields = [
        at.isoformat(timespec="microseconds") if isinstance(at, datetime) else str(at),
        entry.actor,
        entry.action,
        entry.client_id,
        entry.detail,
        entry.remote_addr,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def row_hash(key: bytes, seq: int, prev_hash: str, entry: AuditEntry) -> str:
    message = f"{seq}\n{prev_hash}\n".encode() + content(entry)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@event.listens_for(Session, "transient_to_pending")
def _remember_new_entry(session: Session, instance: Any) -> None:
    if isinstance(instance, AuditEntry):
        session.info.setdefault(_PENDING, []).append(instance)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "before_commit")
def _chain_new_entries(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    entries = [e for e in pending if e in session and e.row_hash is None]
    if entries:
        seal(session, entries)


def seal(session: Session, entries: list[AuditEntry]) -> None:
    """Give `entries` (in this order) their place in the chain."""
    key = _key_for(session)
    now = utcnow()
    for entry in entries:  # NUL bytes never reach the database (see bot.storage.hygiene)
        entry.actor = _clean(entry.actor, 64)
        entry.action = _clean(entry.action, 64)
        entry.detail = _clean(entry.detail)
        entry.remote_addr = _clean(entry.remote_addr, 64)
        entry.at = (entry.at or now).astimezone(timezone.utc)
    # Lock the head first: concurrent writers chain one after the other.
    locked = session.execute(
        update(AuditChain)
        .where(AuditChain.id == 1)
        .values(seq=AuditChain.seq)
        .execution_options(synchronize_session=False)
    )
    if locked.rowcount != 1:
        raise RuntimeError("the audit chain head is missing; run `python -m bot audit verify`")
    seq, last, check = session.execute(
        select(AuditChain.seq, AuditChain.last_hash, AuditChain.key_check).where(AuditChain.id == 1)
    ).one()
    if check is not None and check != key_check(key):
        # Rows chained with another key could never be verified: refuse (fail closed). The
        # production start refuses this configuration before it gets here.
        raise RuntimeError(
            "The audit log's chain was started with another key (KOERS_AUDIT_KEY or "
            "KOERS_SECRET_KEY changed); restore the old value."
        )
    for entry in entries:
        seq += 1
        entry.seq = seq
        entry.prev_hash = last
        entry.row_hash = row_hash(key, seq, last, entry)
        last = entry.row_hash
    values: dict[str, Any] = {"seq": seq, "last_hash": last, "updated_at": now}
    if check is None:
        values["key_check"] = key_check(key)
    session.execute(
        update(AuditChain)
        .where(AuditChain.id == 1)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


# --- verifying --------------------------------------------------------------------------------


@dataclass
class Verification:
    rows: int = 0
    unchained: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def key_matches(session: Session, key: bytes) -> bool:
    """False when the chain was started with another key."""
    check = session.execute(select(AuditChain.key_check).where(AuditChain.id == 1)).scalar()
    return check is None or check == key_check(key)


def verify(session: Session, key: bytes, batch: int = 2000) -> Verification:
    """Walk the chain from where retention cut it to the head; report every break in Dutch."""
    result = Verification()
    head = session.execute(
        select(
            AuditChain.seq,
            AuditChain.last_hash,
            AuditChain.pruned_seq,
            AuditChain.pruned_hash,
            AuditChain.key_check,
        ).where(AuditChain.id == 1)
    ).one_or_none()
    if head is None:
        result.problems.append("De kop van de keten (audit_chain) ontbreekt.")
        return result
    head_seq, head_hash, pruned_seq, pruned_hash, check = head
    if check is not None and check != key_check(key):
        result.problems.append(
            "De sleutel klopt niet bij deze keten (KOERS_AUDIT_KEY of KOERS_SECRET_KEY "
            "gewijzigd?). Controleer met de sleutel waarmee de regels zijn geschreven."
        )
        return result
    expected_seq, expected_prev = pruned_seq + 1, pruned_hash
    last_id = 0
    first_chained_id = None
    while True:
        rows = list(
            session.execute(
                select(AuditEntry)
                .where(AuditEntry.seq.is_not(None), AuditEntry.seq >= expected_seq)
                .order_by(AuditEntry.seq)
                .limit(batch)
            ).scalars()
        )
        if not rows:
            break
        for row in rows:
            if first_chained_id is None:
                first_chained_id = row.id
            if row.seq != expected_seq:
                result.problems.append(
                    f"Regel {expected_seq} tot {row.seq - 1} ontbreekt (verwijderd)."
                    if row.seq > expected_seq + 1
                    else f"Regel {expected_seq} ontbreekt (verwijderd)."
                )
            if row.prev_hash != expected_prev:
                result.problems.append(
                    f"Regel {row.seq} sluit niet aan op de regel ervoor (ingevoegd of verwijderd)."
                )
            if not row.row_hash or not hmac.compare_digest(
                row_hash(key, row.seq, row.prev_hash or "", row), row.row_hash
            ):
                result.problems.append(f"Regel {row.seq} is gewijzigd.")
            result.rows += 1
            result.first_seq = result.first_seq or row.seq
            result.last_seq = row.seq
            expected_seq, expected_prev = row.seq + 1, row.row_hash or ""
            last_id = max(last_id, row.id)
        session.expunge_all()
        expected_seq = rows[-1].seq + 1
    below = session.execute(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.seq.is_not(None), AuditEntry.seq <= pruned_seq)
    ).scalar_one()
    if below:
        result.problems.append(f"{below} regel(s) hebben een nummer van vóór de opschoning.")
    if (result.last_seq or pruned_seq) != head_seq or expected_prev != head_hash:
        result.problems.append(
            f"De laatste regel is {result.last_seq or pruned_seq}, de kop van de keten zegt "
            f"{head_seq}: regels aan het eind zijn verwijderd of de kop is gewijzigd."
        )
    result.unchained = session.execute(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))
    ).scalar_one()
    if first_chained_id is not None:
        late = session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.seq.is_(None), AuditEntry.id > first_chained_id)
        ).scalar_one()
        if late:
            result.problems.append(
                f"{late} regel(s) zonder ketenhash staan na het begin van de keten (ingevoegd)."
            )
    return result


# --- pruning (retention) ----------------------------------------------------------------------


def prune(session: Session, before: datetime) -> int:
    """Delete the oldest audit rows, written before `before`, as a prefix of the chain, and
    record where the chain now starts. Returns the number of rows deleted."""
    session.execute(
        update(AuditChain)
        .where(AuditChain.id == 1)
        .values(seq=AuditChain.seq)
        .execution_options(synchronize_session=False)
    )
    pruned_seq = session.execute(
        select(AuditChain.pruned_seq).where(AuditChain.id == 1)
    ).scalar_one()
    first_young = session.execute(
        select(func.min(AuditEntry.seq)).where(
            AuditEntry.seq.is_not(None), AuditEntry.seq > pruned_seq, AuditEntry.at >= before
        )
    ).scalar_one()
    if first_young is None:
        upto = session.execute(
            select(func.max(AuditEntry.seq)).where(AuditEntry.seq.is_not(None))
        ).scalar_one()
    else:
        upto = first_young - 1
    deleted = 0
    if upto is not None and upto > pruned_seq:
        anchor = session.execute(
            select(AuditEntry.row_hash).where(AuditEntry.seq == upto)
        ).scalar_one()
        session.execute(
            update(AuditChain)
            .where(AuditChain.id == 1)
            .values(pruned_seq=upto, pruned_hash=anchor)
            .execution_options(synchronize_session=False)
        )
        result = session.execute(
            AuditEntry.__table__.delete().where(AuditEntry.seq.is_not(None), AuditEntry.seq <= upto)
        )
        deleted += result.rowcount or 0
    legacy = session.execute(
        AuditEntry.__table__.delete().where(AuditEntry.seq.is_(None), AuditEntry.at < before)
    )
    return deleted + (legacy.rowcount or 0)


def prune_counts(session: Session, before: date) -> int:
    result = session.execute(AuditCount.__table__.delete().where(AuditCount.day < before))
    return result.rowcount or 0


# --- usernames of failed logins ---------------------------------------------------------------


def username_hash(secret_key: str, username: str) -> str:
    """A keyed hash of a typed username (never the text: it may be a password typed in the
    wrong field). An admin can still search for a given username (`/beheer/logboek`)."""
    digest = hmac.new(
        secret_key.encode("utf-8"),
        b"koers-login-username\x00" + username.strip().casefold().encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()
    return digest[:16]
