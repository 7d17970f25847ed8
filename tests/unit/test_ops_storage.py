"""Issue 11 at the storage level: the audit log's hash chain and append-only triggers, the
blocked-attempt counters, retention, backup and restore, NUL bytes and hidden SQL values.

Runs on a temporary SQLite file; also on PostgreSQL when KOERS_TEST_POSTGRES_URL is set
(`make pg-test` starts a throw-away cluster; its tables are dropped!).
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError, StatementError
from sqlalchemy.orm import Session

from bot import retention
from bot.backup import BackupError, make_backup, prune_backups, restore
from bot.settings import get_settings
from bot.storage import auditlog
from bot.storage import repository as repo
from bot.storage.db import make_engine, session_scope, upgrade_database
from bot.storage.models import (
    AccessCode,
    Agreement,
    AuditChain,
    AuditCount,
    AuditEntry,
    ChatDevice,
    CheckIn,
    Client,
    Reflection,
    SafetyEvent,
    SmallStep,
    metadata,
    utcnow,
)
from bot.storage.repository import AnswerIn

POSTGRES_URL = os.environ.get("KOERS_TEST_POSTGRES_URL")
POSTGRES_URL_2 = os.environ.get("KOERS_TEST_POSTGRES_URL_2")
KEY = auditlog.derive_key("storage-test-secret-key")
POSTGRES = pytest.param(
    "postgresql",
    marks=pytest.mark.skipif(not POSTGRES_URL, reason="KOERS_TEST_POSTGRES_URL is not set"),
)


def _drop_everything(url: str) -> None:
    engine = create_engine(url, future=True)
    try:
        with engine.begin() as connection:
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            connection.execute(text("DROP TABLE IF EXISTS events"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", POSTGRES])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'koers.db'}"
        return
    assert POSTGRES_URL is not None
    _drop_everything(POSTGRES_URL)
    yield POSTGRES_URL
    _drop_everything(POSTGRES_URL)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    upgrade_database(db_url)
    engine = make_engine(db_url)
    auditlog.set_key(engine, KEY)
    yield engine
    engine.dispose()


def write(engine: Engine, *actions: str, at=None) -> None:  # type: ignore[no-untyped-def]
    """One transaction that records one audit row per action."""
    with session_scope(engine) as session:
        for action in actions:
            auditlog.record(session, action, actor="test", client_id=7, detail=action, at=at)


def check(engine: Engine, key: bytes = KEY) -> auditlog.Verification:
    with session_scope(engine) as session:
        return auditlog.verify(session, key)


def raw(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement))


def drop_protection(engine: Engine) -> None:
    """What someone with full database access can do: switch the triggers off."""
    if engine.dialect.name == "postgresql":
        raw(engine, "ALTER TABLE audit_log DISABLE TRIGGER USER")
        raw(engine, "ALTER TABLE audit_chain DISABLE TRIGGER USER")
    else:
        for name in ("audit_log_no_update", "audit_log_no_delete", "audit_chain_forward"):
            raw(engine, f"DROP TRIGGER {name}")


# --- the hash chain ---------------------------------------------------------------------------


def test_rows_are_chained_when_the_transaction_commits(engine: Engine) -> None:
    write(engine, "een", "twee", "drie")
    write(engine, "vier")
    with session_scope(engine) as session:
        rows = list(session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())
        head = session.get(AuditChain, 1)
    assert [r.seq for r in rows] == [1, 2, 3, 4]
    assert rows[0].prev_hash == auditlog.GENESIS
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    assert head.seq == 4 and head.last_hash == rows[-1].row_hash
    result = check(engine)
    assert result.ok and result.rows == 4, result.problems


def test_a_rolled_back_transaction_leaves_no_row(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        auditlog.record(session, "weg", actor="test")
        raise RuntimeError("stop")
    write(engine, "blijft")
    result = check(engine)
    assert result.ok and result.rows == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET detail = 'anders' WHERE seq = 1",
        "UPDATE audit_log SET row_hash = NULL WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 1",
        "DELETE FROM audit_chain",
        "UPDATE audit_chain SET seq = 0",
    ],
)
def test_the_database_refuses_to_change_or_delete_rows(engine: Engine, statement: str) -> None:
    write(engine, "een", "twee")
    with pytest.raises(DBAPIError):
        raw(engine, statement)
    assert check(engine).ok


@pytest.mark.parametrize(
    "tamper, expected",
    [
        ("UPDATE audit_log SET detail = 'anders' WHERE seq = 2", "Regel 2 is gewijzigd"),
        ("UPDATE audit_log SET actor = 'iemand' WHERE seq = 1", "Regel 1 is gewijzigd"),
        ("DELETE FROM audit_log WHERE seq = 2", "Regel 2 ontbreekt"),
        ("DELETE FROM audit_log WHERE seq = 3", "de kop van de keten zegt 3"),
        (
            "INSERT INTO audit_log (at, actor, action, detail) "
            "VALUES ('2026-01-01 00:00:00', 'x', 'nep', 'ingevoegd')",
            "zonder ketenhash",
        ),
        ("UPDATE audit_chain SET seq = 2, last_hash = 'x'", "kop van de keten"),
    ],
)
def test_verify_finds_an_edit_a_deletion_and_an_insertion(
    engine: Engine, tamper: str, expected: str
) -> None:
    write(engine, "een", "twee", "drie")
    assert check(engine).ok
    drop_protection(engine)
    raw(engine, tamper)
    result = check(engine)
    assert not result.ok
    assert any(expected in problem for problem in result.problems), result.problems


def test_recomputing_a_hash_without_the_key_does_not_help(engine: Engine) -> None:
    write(engine, "een", "twee")
    drop_protection(engine)
    wrong = auditlog.derive_key("een-geraden-sleutel")
    with session_scope(engine) as session:
        row = session.execute(select(AuditEntry).where(AuditEntry.seq == 2)).scalar_one()
        row.detail = "anders"
        row.row_hash = auditlog.row_hash(wrong, row.seq, row.prev_hash, row)
    result = check(engine)
    assert "Regel 2 is gewijzigd." in result.problems


def test_verify_with_another_key_says_so(engine: Engine) -> None:
    write(engine, "een")
    result = check(engine, auditlog.derive_key("andere-sleutel"))
    assert not result.ok and "sleutel klopt niet" in result.problems[0]


def test_rows_from_before_the_chain_are_reported_not_flagged(engine: Engine) -> None:
    raw(
        engine,
        "INSERT INTO audit_log (at, actor, action) VALUES ('2025-01-01 00:00:00', 'oud', 'x')",
    )
    write(engine, "nieuw")
    result = check(engine)
    assert result.ok and result.unchained == 1 and result.rows == 1


def test_concurrent_writers_make_one_unbroken_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(8):
                write(engine, f"w{n}-{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    result = check(engine)
    assert result.ok and result.rows == 32 and result.last_seq == 32, result.problems


def test_retention_prunes_a_prefix_and_the_chain_still_verifies(engine: Engine) -> None:
    old = utcnow() - timedelta(days=2000)
    write(engine, "oud-1", "oud-2", at=old)
    write(engine, "nieuw-1", "nieuw-2")
    with session_scope(engine) as session:
        deleted = auditlog.prune(session, utcnow() - timedelta(days=1827))
    assert deleted == 2
    result = check(engine)
    assert result.ok and result.rows == 2 and result.first_seq == 3, result.problems
    write(engine, "nieuw-3")
    assert check(engine).ok
    # Pruning does not open the door to deleting young rows.
    with pytest.raises(DBAPIError):
        raw(engine, "DELETE FROM audit_log WHERE seq = 3")


def test_blocked_attempts_are_counted_per_day(engine: Engine) -> None:
    for _ in range(3):
        with session_scope(engine) as session:
            auditlog.count(session, "inloggen_geblokkeerd")
    with session_scope(engine) as session:
        rows = list(session.execute(select(AuditCount)).scalars())
        entries = session.execute(select(func.count()).select_from(AuditEntry)).scalar_one()
    assert [(r.action, r.count) for r in rows] == [("inloggen_geblokkeerd", 3)]
    assert entries == 0


# --- NUL bytes and values in error messages ---------------------------------------------------


def test_nul_bytes_never_reach_the_database(engine: Engine) -> None:
    """Finding 9: a NUL byte in an answer broke the insert on PostgreSQL."""
    with session_scope(engine) as session:
        repo.save_reflection(
            session,
            "chat-nul",
            "hoop",
            [AnswerIn("q1", "Vraag\x00?", "Een\x00 antwoord")],
            scale=None,
            shared_with_worker=True,
            status="compleet",
            idempotency_key="nul-1",
        )
        repo.save_step(session, "chat-nul", "hoop", "Stap\x00je", True, "nul-2")
    with session_scope(engine) as session:
        reflection = repo.list_reflections(session, "chat-nul")[0]
        step = repo.list_steps(session, "chat-nul")[0]
        assert reflection.answers[0].answer_text == "Een antwoord"
        assert reflection.answers[0].question_text == "Vraag?"
        assert step.text == "Stapje"


def test_sql_errors_do_not_show_the_values(engine: Engine) -> None:
    """Finding 5: an error message (and so a log line) must not hold what a client wrote."""
    secret = "GEHEIM-ANTWOORD-IN-DE-FOUT"
    with pytest.raises(SQLAlchemyError) as caught, session_scope(engine) as session:
        client = repo.get_or_create_client(session, "chat-fout")
        session.add(CheckIn(client_id=client.id, mood=9, idempotency_key=secret[:60]))
        session.flush()
    message = str(caught.value)
    assert secret[:20] not in message, message
    assert "hidden" in message
    assert isinstance(caught.value, StatementError)
    assert secret[:60] in str(caught.value.params)  # still there for code, not for logs


# --- retention --------------------------------------------------------------------------------


def _aged(engine: Engine) -> dict[str, int]:
    """One client with an old and a young row of every kind; returns the client id."""
    now = utcnow()
    old, young = now - timedelta(days=800), now - timedelta(days=5)
    with session_scope(engine) as session:
        client = repo.get_or_create_client(session, "chat-bewaar")
        cid = client.id
        for name, at in (("oud", old), ("jong", young)):
            session.add(CheckIn(client_id=cid, mood=3, idempotency_key=f"c-{name}", created_at=at))
            for status in ("compleet", "onderbroken"):
                session.add(
                    Reflection(
                        client_id=cid,
                        theme="hoop",
                        status=status,
                        idempotency_key=f"r-{status}-{name}",
                        created_at=at,
                        updated_at=at,
                    )
                )
            session.add(
                SmallStep(
                    client_id=cid,
                    theme="hoop",
                    text="stap",
                    idempotency_key=f"s-{name}",
                    created_at=at,
                )
            )
            for seen in (True, False):
                session.add(
                    SafetyEvent(
                        client_id=cid,
                        category="unknown",
                        message_text="GEHEIME-MELDING",
                        response_text="113",
                        detected_by="matcher",
                        created_at=at,
                        acknowledged_at=at if seen else None,
                    )
                )
            for done in (True, False):
                session.add(
                    Agreement(
                        client_id=cid,
                        kind="client",
                        text="afspraak",
                        created_at=at,
                        done_at=at if done else None,
                    )
                )
            code = AccessCode(client_id=cid, code_hash=f"hash-{name}", created_at=at, revoked_at=at)
            session.add(code)
            session.flush()
            session.add(
                ChatDevice(
                    access_code_id=code.id,
                    token_hash=f"dev-{name}",
                    created_at=at,
                    last_seen_at=at,
                    ended_at=at,
                )
            )
        live = AccessCode(client_id=cid, code_hash="hash-live", created_at=young)
        session.add(live)
        session.flush()
        session.add(
            ChatDevice(
                access_code_id=live.id,
                token_hash="dev-stale",
                created_at=old,
                last_seen_at=now - timedelta(days=45),
            )
        )
    return {"client": cid}


def _counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:

        def n(model, *where) -> int:  # type: ignore[no-untyped-def]
            return session.execute(
                select(func.count()).select_from(model).where(*where)
            ).scalar_one()

        return {
            "checkins": n(CheckIn),
            "reflections": n(Reflection, Reflection.status == "compleet"),
            "drafts": n(Reflection, Reflection.status == "onderbroken"),
            "steps": n(SmallStep),
            "seen_events": n(SafetyEvent, SafetyEvent.acknowledged_at.is_not(None)),
            "open_events": n(SafetyEvent, SafetyEvent.acknowledged_at.is_(None)),
            "done_agreements": n(Agreement, Agreement.done_at.is_not(None)),
            "open_agreements": n(Agreement, Agreement.done_at.is_(None)),
            "codes": n(AccessCode),
            "devices": n(ChatDevice),
            "live_devices": n(ChatDevice, ChatDevice.ended_at.is_(None)),
        }


def test_retention_deletes_what_is_past_its_period_and_is_safe_to_repeat(engine: Engine) -> None:
    """Finding 6: nothing was ever deleted by policy."""
    _aged(engine)
    before = _counts(engine)
    with session_scope(engine) as session:
        due = retention.apply_koers(session, retention.Policy(), dry_run=True)
    assert _counts(engine) == before  # a dry run deletes nothing
    with session_scope(engine) as session:
        done = retention.apply_koers(session, retention.Policy())
    assert {k: v for k, v in done.items() if k != "audit_counts"} == due
    after = _counts(engine)
    assert after["checkins"] == 1 and after["reflections"] == 1 and after["drafts"] == 1
    assert after["steps"] == 1
    assert after["seen_events"] == 1 and after["open_events"] == 2  # unseen events stay
    assert after["done_agreements"] == 1 and after["open_agreements"] == 2
    assert after["codes"] == 2 and after["devices"] == 2  # old revoked code and device gone
    assert after["live_devices"] == 0  # the device unused for 45 days was ended
    assert done["reflections"] == 1 and done["drafts"] == 1 and done["devices_ended"] == 1
    with session_scope(engine) as session:
        again = retention.apply_koers(session, retention.Policy())
    assert all(n == 0 for n in again.values()), again
    assert "GEHEIME" not in retention.summary(done) and "reflecties 1" in retention.summary(done)


def test_retention_keeps_every_safety_event_that_still_asks_for_the_worker(
    engine: Engine,
) -> None:
    """A word-list hit answered "nee" stays open on the client page (safety rule 1a), so
    retention keeps it; the meaning's own check answered "nee", and a reviewed event, go."""
    old = utcnow() - timedelta(days=800)
    with session_scope(engine) as session:
        cid = repo.get_or_create_client(session, "chat-nee").id
        for key, detected_by, answer, review in (
            ("woordenlijst-nee", "matcher", "nee", None),
            ("woordenlijst-ja", "matcher", "ja", None),
            ("betekenis-nee", "semantic", "nee", None),
            ("vals-alarm", "matcher", None, "vals_alarm"),
        ):
            session.add(
                SafetyEvent(
                    client_id=cid,
                    category="suicide",
                    message_text=key,
                    response_text="113",
                    detected_by=detected_by,
                    idempotency_key=key,
                    check_answer=answer,
                    review=review,
                    acknowledged_at=old if review else None,
                    created_at=old,
                )
            )
    with session_scope(engine) as session:
        done = retention.apply_koers(session, retention.Policy())
        left = session.execute(select(SafetyEvent.message_text)).scalars().all()
    assert sorted(left) == ["woordenlijst-ja", "woordenlijst-nee"] and done["safety_events"] == 2


def test_a_period_of_zero_keeps_that_kind(engine: Engine) -> None:
    _aged(engine)
    with session_scope(engine) as session:
        retention.apply_koers(session, retention.Policy(reflections=0, checkins=0))
    after = _counts(engine)
    assert after["reflections"] == 2 and after["checkins"] == 2 and after["steps"] == 1


def test_retention_periods_come_from_the_environment() -> None:
    policy = retention.Policy.from_env({"KOERS_RETAIN_REFLECTIONS_DAYS": "365"})
    assert policy.reflections == 365 and policy.audit == 1827
    with pytest.raises(SystemExit) as refused:
        retention.Policy.from_env({"KOERS_RETAIN_AUDIT_DAYS": "vijf jaar"})
    assert "KOERS_RETAIN_AUDIT_DAYS" in str(refused.value)


def _tracker_events(url: str) -> None:
    """Rasa's own events table (rasa.core.tracker_store.SQLTrackerStore)."""
    from rasa.core.tracker_store import SQLTrackerStore

    engine = create_engine(url, future=True)
    try:
        SQLTrackerStore.SQLEvent.__table__.create(engine, checkfirst=True)
    finally:
        engine.dispose()


def test_conversation_retention_keeps_the_current_session(db_url: str, engine: Engine) -> None:
    _tracker_events(db_url)
    now = utcnow().timestamp()
    day = 86400
    rows = [
        # inactive for 40 days: the whole conversation goes
        ("weg", "session_started", now - 50 * day),
        ("weg", "user", now - 40 * day),
        # active: an old session goes, the current one stays (also its old start)
        ("actief", "session_started", now - 60 * day),
        ("actief", "user", now - 60 * day),
        ("actief", "session_started", now - 35 * day),
        ("actief", "user", now - 35 * day),
        ("actief", "user", now - 1 * day),
    ]
    data = json.dumps({"event": "user", "text": "geheim"})
    with engine.begin() as connection:
        for sender, kind, ts in rows:
            connection.execute(
                text(
                    "INSERT INTO events (sender_id, type_name, timestamp, data) "
                    "VALUES (:s, :k, :t, :d)"
                ),
                {"s": sender, "k": kind, "t": ts, "d": data},
            )
    assert retention.apply_tracker(db_url, 30, dry_run=True) == 4
    assert retention.apply_tracker(db_url, 30) == 4
    with engine.connect() as connection:
        left = connection.execute(text("SELECT sender_id, type_name FROM events ORDER BY id")).all()
    assert [tuple(r) for r in left] == [
        ("actief", "session_started"),
        ("actief", "user"),
        ("actief", "user"),
    ]
    assert retention.apply_tracker(db_url, 30) == 0


# --- backup and restore -----------------------------------------------------------------------


def _settings(tmp_path, url: str, name: str):  # type: ignore[no-untyped-def]
    var = tmp_path / name
    return dataclasses.replace(
        get_settings(),
        database_url=url,
        var_dir=var,
        tracker_db=var / "tracker.db",
        endpoints_file=get_settings().endpoints_file.parent / "endpoints.yml",
        secret_key="storage-test-secret-key",
        backup_dir=tmp_path / "backups",
    )


def test_backup_and_restore_into_a_fresh_place(db_url: str, engine: Engine, tmp_path) -> None:
    if db_url.startswith("postgresql") and not POSTGRES_URL_2:
        pytest.skip("KOERS_TEST_POSTGRES_URL_2 is not set")
    _aged(engine)
    write(engine, "voor de back-up")
    source = _settings(tmp_path, db_url, "bron")
    source.tracker_db.parent.mkdir(parents=True)
    _tracker_events(f"sqlite:///{source.tracker_db}")
    folder = make_backup(source)
    assert (folder.stat().st_mode & 0o777) == 0o700
    assert all((f.stat().st_mode & 0o077) == 0 for f in folder.iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest["files"]) == {"koers", "tracker"}

    target_url = (
        f"sqlite:///{tmp_path / 'doel' / 'koers.db'}"
        if db_url.startswith("sqlite")
        else POSTGRES_URL_2
    )
    if target_url == POSTGRES_URL_2:
        _drop_everything(POSTGRES_URL_2)
    target = _settings(tmp_path, target_url, "doel")
    restore(target, folder)
    restored = make_engine(target_url)
    auditlog.set_key(restored, KEY)
    try:
        assert _counts(restored) == _counts(engine)
        assert check(restored).ok
        assert target.tracker_db.exists()
        write(restored, "na het terugzetten")  # the chain goes on
        assert check(restored).ok
        with pytest.raises(BackupError, match="bestaat al|is niet leeg"):
            restore(target, folder)  # never over existing data without --replace
        restored.dispose()
        restore(target, folder, replace=True)  # --replace: back to the backup's state
        assert _counts(restored) == _counts(engine)
        result = check(restored)
        assert result.ok and result.rows == 1, result.problems  # the row added since is gone
    finally:
        restored.dispose()
        if target_url == POSTGRES_URL_2:
            _drop_everything(POSTGRES_URL_2)


def test_a_changed_backup_is_refused(db_url: str, engine: Engine, tmp_path) -> None:
    write(engine, "iets")
    source = _settings(tmp_path, db_url, "bron")
    folder = make_backup(source)
    koers = next(p for p in folder.iterdir() if p.name.startswith("koers."))
    with koers.open("ab") as handle:
        handle.write(b"x")
    target = _settings(tmp_path, f"sqlite:///{tmp_path / 'doel' / 'koers.db'}", "doel")
    with pytest.raises(BackupError, match="beschadigd of gewijzigd"):
        restore(target, folder)


def test_old_backups_are_removed_after_the_keep_period(
    engine: Engine, db_url: str, tmp_path
) -> None:
    write(engine, "iets")
    source = _settings(tmp_path, db_url, "bron")
    old = make_backup(source, now=utcnow() - timedelta(days=20))
    new = make_backup(source)
    assert prune_backups(source, 14) == 1
    assert not old.exists() and new.exists()
    assert prune_backups(source, 14) == 0  # never the newest


def test_sessions_elsewhere_are_untouched_by_the_hooks(engine: Engine) -> None:
    """The audit hook only chains AuditEntry rows this session added."""
    write(engine, "een")
    with Session(engine, future=True) as session:
        rows = list(session.execute(select(AuditEntry)).scalars())
        session.commit()
    assert len(rows) == 1 and check(engine).ok
    with session_scope(engine) as session:
        assert session.execute(select(Client)).first() is None


def test_a_writer_with_another_key_is_refused(engine: Engine) -> None:
    """Rows chained with another key could never be verified: the write fails instead (and
    `python -m bot serve` refuses to start with such a key, bot/production.py)."""
    write(engine, "een")
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    auditlog.set_key(other, auditlog.derive_key("een-andere-geheime-sleutel"))
    try:
        with pytest.raises(RuntimeError, match="another key"), session_scope(other) as session:
            auditlog.record(session, "twee", actor="test")
        with session_scope(other) as session:
            assert not auditlog.key_matches(
                session, auditlog.derive_key("een-andere-geheime-sleutel")
            )
    finally:
        other.dispose()
    assert check(engine).ok and check(engine).rows == 1
