"""Tests of the storage layer, on a schema built by the real Alembic migrations.

Runs on a temporary SQLite file; also on PostgreSQL when KOERS_TEST_POSTGRES_URL is set
(e.g. postgresql+psycopg2://koers:secret@localhost/koers_test — its tables are dropped!).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.settings import PROJECT_ROOT
from bot.storage import repository as repo
from bot.storage.db import (
    alembic_config,
    current_revision,
    make_engine,
    session_scope,
    upgrade_database,
)
from bot.storage.models import (
    CheckIn,
    Client,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    metadata,
)
from bot.storage.repository import AnswerIn, PlanItemIn

POSTGRES_URL = os.environ.get("KOERS_TEST_POSTGRES_URL")
TABLES = {
    "clients",
    "deleted_clients",
    "checkins",
    "reflections",
    "reflection_answers",
    "safety_events",
    "workers",
    "small_steps",
    "safety_plans",
    "safety_plan_items",
    "access_codes",
    "agreements",
    "audit_log",
    "org_settings",
    "chat_devices",
    "plan_lookups",
    # issue 14 (migration 0006)
    "reminder_plans",
    "reminder_sends",
    "push_subscriptions",
    "worker_questions",
    "agreement_checks",
    "audit_chain",
    "audit_counts",
}
HEAD = "0011"
CHAT = "chat-7f3a"

ANSWERS = [
    AnswerIn("situatie", "Wat gebeurde er?", "Ik kreeg ruzie op de afdeling."),
    AnswerIn("gevoel", "Wat voelde je?", "  Boos en daarna moe.  "),
]


def _drop_everything(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not POSTGRES_URL, reason="KOERS_TEST_POSTGRES_URL is not set"),
        ),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or the test PostgreSQL database emptied."""
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
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, future=True) as session:
        yield session


def tables(engine: Engine) -> set[str]:
    """The schema's tables (SQLite's own bookkeeping table for AUTOINCREMENT left out)."""
    return set(inspect(engine).get_table_names()) - {"sqlite_sequence"}


def count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- schema -----------------------------------------------------------------------------------


def test_migration_creates_exactly_the_tables(engine: Engine, db_url: str) -> None:
    assert tables(engine) == TABLES | {"alembic_version"}
    assert current_revision(db_url) == HEAD


def test_migration_and_models_agree(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                # SQLite's own table behind AUTOINCREMENT is not part of the schema.
                "include_name": lambda name, kind, parent: name != "sqlite_sequence",
            },
        )
        diffs = compare_metadata(context, metadata)
    assert diffs == []


def test_downgrade_removes_the_schema(engine: Engine, db_url: str) -> None:
    command.downgrade(alembic_config(db_url), "base")
    assert tables(engine) <= {"alembic_version"}
    upgrade_database(db_url)
    assert TABLES <= tables(engine)


def test_cli_upgrade(db_url: str, tmp_path) -> None:
    env = dict(
        os.environ,
        KOERS_DATABASE_URL=db_url,
        KOERS_ENV_FILE=str(tmp_path / "no.env"),
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot.storage.db", "upgrade"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and f"revision {HEAD}" in lines[0]
    assert current_revision(db_url) == HEAD


def test_percent_in_url_survives_alembic_config(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / '100%zeker' / 'koers.db'}"
    upgrade_database(url)
    assert current_revision(url) == HEAD
    assert (tmp_path / "100%zeker" / "koers.db").exists()


def test_sqlite_table_rebuild_keeps_child_rows(tmp_path) -> None:
    """Migration 0002 rebuilds `clients` in batch mode; that must not cascade-delete data."""
    url = f"sqlite:///{tmp_path / 'koers.db'}"
    config = alembic_config(url)

    command.upgrade(config, "0001")
    engine = make_engine(url)
    with engine.begin() as connection:  # rows as revision 0001 knows them (no ORM: it is newer)
        now = "2026-01-01 00:00:00+00:00"
        connection.execute(
            text(
                "INSERT INTO clients (id, chat_id, language_level, created_at, last_seen_at) "
                f"VALUES (1, '{CHAT}', 'standaard', '{now}', '{now}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO checkins (client_id, mood, idempotency_key, created_at) "
                f"VALUES (1, 3, 'c', '{now}')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO reflections (id, client_id, theme, status, shared_with_worker, scale, "
                f"idempotency_key, created_at, updated_at) VALUES (1, 1, 'hoop', 'compleet', 1, 3, "
                f"'r', '{now}', '{now}')"
            )
        )
        for position in (1, 2):
            connection.execute(
                text(
                    "INSERT INTO reflection_answers (reflection_id, position, question_key, "
                    f"question_text, answer_text) VALUES (1, {position}, 'q{position}', 'V', 'A')"
                )
            )
        connection.execute(
            text(
                "INSERT INTO safety_events (client_id, category, message_text, response_text, "
                f"detected_by, created_at) VALUES (1, 'abuse', 't', 'a', 'classifier', '{now}')"
            )
        )
    command.upgrade(config, "0002")
    with Session(engine, future=True) as session:
        assert _counts(session) == (1, 1, 1, 2, 1)
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'a' / 'b' / 'koers.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_session_scope_commits_and_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        client = repo.get_or_create_client(session, CHAT)
    assert client.chat_id == CHAT  # readable after the scope

    with pytest.raises(RuntimeError), session_scope(engine) as session:
        repo.get_or_create_client(session, "other-chat")
        raise RuntimeError("boom")

    with session_scope(engine) as session:
        assert [c.chat_id for c in session.execute(select(Client)).scalars()] == [CHAT]


# --- clients ----------------------------------------------------------------------------------


def test_client_is_created_once(session: Session) -> None:
    first = repo.get_or_create_client(session, CHAT)
    assert first.language_level == "standaard"
    seen = first.last_seen_at
    again = repo.get_or_create_client(session, CHAT, language_level="eenvoudig")
    session.commit()

    assert again.id == first.id
    assert again.language_level == "eenvoudig"
    assert again.last_seen_at >= seen
    assert count(session, Client) == 1
    with pytest.raises(ValueError):
        repo.get_or_create_client(session, CHAT, language_level="makkelijk")
    with pytest.raises(ValueError):
        repo.get_or_create_client(session, "")


def test_chat_id_is_unique_in_the_database(session: Session) -> None:
    repo.get_or_create_client(session, CHAT)
    session.commit()
    session.add(Client(chat_id=CHAT))
    with pytest.raises(IntegrityError):
        session.flush()


def test_concurrent_first_contact(
    engine: Engine, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another worker creates the client between our lookup and our insert.
    with session_scope(engine) as other:
        winner = repo.get_or_create_client(other, CHAT)

    real_lookup = repo._client_by_chat_id
    calls = iter([None])
    monkeypatch.setattr(
        repo, "_client_by_chat_id", lambda s, chat_id: next(calls, real_lookup(s, chat_id))
    )
    client = repo.get_or_create_client(session, CHAT, language_level="eenvoudig")
    assert client.id == winner.id
    # The outer transaction survived the failed insert.
    repo.save_checkin(session, CHAT, 3, "msg-1")
    session.commit()
    assert count(session, Client) == 1
    assert count(session, CheckIn) == 1
    assert session.get(Client, winner.id).language_level == "eenvoudig"


def test_disclosure_is_first_time_only(session: Session) -> None:
    assert repo.mark_disclosure_shown(session, CHAT) is True
    shown_at = repo.get_or_create_client(session, CHAT).disclosure_shown_at
    assert shown_at is not None
    assert repo.mark_disclosure_shown(session, CHAT) is False
    session.commit()
    assert repo.mark_disclosure_shown(session, CHAT) is False
    assert repo.get_or_create_client(session, CHAT).disclosure_shown_at == shown_at


def test_timestamps_are_aware_utc(engine: Engine) -> None:
    with session_scope(engine) as session:
        repo.save_checkin(session, CHAT, 4, "msg-1")
    with Session(engine, future=True) as session:
        client = session.execute(select(Client)).scalar_one()
        checkin = session.execute(select(CheckIn)).scalar_one()
        for value in (client.created_at, client.last_seen_at, checkin.created_at):
            assert value.tzinfo is not None
            assert value.utcoffset() == timedelta(0)
            assert value.tzinfo == timezone.utc


# --- check-ins --------------------------------------------------------------------------------


def test_checkin_is_idempotent(session: Session) -> None:
    first, created = repo.save_checkin(session, CHAT, 2, "msg-1")
    assert created is True
    again, created = repo.save_checkin(session, CHAT, 2, "msg-1")
    assert created is False and again.id == first.id
    repo.save_checkin(session, CHAT, 5, "msg-2")
    session.commit()
    assert [c.mood for c in repo.list_checkins(session, CHAT)] == [2, 5]


@pytest.mark.parametrize("mood", [0, 6, -1, True, 2.5, "3", None])
def test_checkin_mood_must_be_1_to_5(session: Session, mood: object) -> None:
    with pytest.raises(ValueError):
        repo.save_checkin(session, CHAT, mood, "msg-1")  # type: ignore[arg-type]
    assert count(session, CheckIn) == 0


def test_checkin_mood_range_is_also_a_database_constraint(session: Session) -> None:
    client = repo.get_or_create_client(session, CHAT)
    session.add(CheckIn(client_id=client.id, mood=9, idempotency_key="raw"))
    with pytest.raises(IntegrityError):
        session.flush()


def test_idempotency_key_of_another_client_is_refused(session: Session) -> None:
    repo.save_checkin(session, CHAT, 3, "msg-1")
    with pytest.raises(ValueError):
        repo.save_checkin(session, "someone-else", 3, "msg-1")


# --- reflections ------------------------------------------------------------------------------


def test_reflection_is_saved_with_answers_and_consent(session: Session) -> None:
    reflection, created = repo.save_reflection(
        session, CHAT, "ruzie", ANSWERS, scale=3, shared_with_worker=True,
        status="compleet", idempotency_key="msg-10",
    )  # fmt: skip
    session.commit()
    assert created is True

    [stored] = repo.list_reflections(session, CHAT)
    assert stored.id == reflection.id
    assert (stored.theme, stored.status, stored.scale) == ("ruzie", "compleet", 3)
    assert stored.shared_with_worker is True
    assert stored.completed_at is not None
    assert [(a.position, a.question_key) for a in stored.answers] == [
        (1, "situatie"),
        (2, "gevoel"),
    ]
    assert stored.answers[1].answer_text == "Boos en daarna moe."  # trimmed
    assert stored.answers[0].question_text == "Wat gebeurde er?"


def test_shared_only_lists_consented_reflections(session: Session) -> None:
    for key, shared in (("msg-1", False), ("msg-2", True)):
        repo.save_reflection(session, CHAT, "ruzie", ANSWERS, None, shared, "compleet", key)
    session.commit()
    assert len(repo.list_reflections(session, CHAT)) == 2
    assert [r.idempotency_key for r in repo.list_reflections(session, CHAT, shared_only=True)] == [
        "msg-2"
    ]
    assert repo.list_reflections(session, "unknown-chat") == []


def test_retry_with_same_key_updates_in_place(session: Session) -> None:
    first, created = repo.save_reflection(
        session, CHAT, "ruzie", ANSWERS, None, False, "onderbroken", "msg-10"
    )
    assert created is True
    session.commit()

    changed = [
        AnswerIn("situatie", "Wat gebeurde er?", "Ruzie met een medebewoner."),
        ANSWERS[1],
        AnswerIn("anders", "Wat zou je anders doen?", "Eerst weglopen."),
    ]
    again, created = repo.save_reflection(
        session, CHAT, "ruzie", changed, 4, True, "onderbroken", "msg-10"
    )
    again2, created2 = repo.save_reflection(
        session, CHAT, "ruzie", changed, 4, True, "onderbroken", "msg-10"
    )
    session.commit()

    assert created is False and created2 is False
    assert again.id == first.id == again2.id
    assert count(session, Reflection) == 1
    assert count(session, ReflectionAnswer) == 3
    [stored] = repo.list_reflections(session, CHAT)
    assert [(a.position, a.question_key, a.answer_text) for a in stored.answers] == [
        (1, "situatie", "Ruzie met een medebewoner."),
        (2, "gevoel", "Boos en daarna moe."),
        (3, "anders", "Eerst weglopen."),
    ]
    assert (stored.scale, stored.shared_with_worker) == (4, True)


def test_interrupted_then_completed(session: Session) -> None:
    repo.save_reflection(session, CHAT, "ruzie", ANSWERS[:1], None, False, "onderbroken", "r-1")
    repo.save_reflection(session, CHAT, "werk", ANSWERS[:1], None, False, "onderbroken", "r-2")
    session.commit()
    open_ruzie = repo.latest_open_reflection(session, CHAT, theme="ruzie")
    assert open_ruzie is not None and open_ruzie.completed_at is None
    assert repo.latest_open_reflection(session, CHAT).idempotency_key == "r-2"

    done, created = repo.save_reflection(
        session, CHAT, "ruzie", ANSWERS, 2, True, "compleet", "r-1"
    )
    session.commit()
    assert created is False and done.id == open_ruzie.id
    assert done.status == "compleet" and done.completed_at is not None
    assert [a.question_key for a in done.answers] == ["situatie", "gevoel"]
    assert repo.latest_open_reflection(session, CHAT, theme="ruzie") is None
    assert repo.latest_open_reflection(session, CHAT).idempotency_key == "r-2"


def test_completed_is_never_downgraded(session: Session) -> None:
    done, _ = repo.save_reflection(session, CHAT, "ruzie", ANSWERS, 5, True, "compleet", "r-1")
    session.commit()
    completed_at = done.completed_at

    stale = [AnswerIn("situatie", "Wat gebeurde er?", "oude tekst")]
    again, created = repo.save_reflection(
        session, CHAT, "ruzie", stale, None, False, "onderbroken", "r-1"
    )
    session.commit()
    assert created is False
    assert again.status == "compleet"
    assert again.completed_at == completed_at
    assert (again.scale, again.shared_with_worker) == (5, True)
    assert again.answers[0].answer_text == "Ik kreeg ruzie op de afdeling."
    assert repo.latest_open_reflection(session, CHAT) is None

    # A new 'compleet' save may still change the consent; completed_at stays the first one.
    again, _ = repo.save_reflection(session, CHAT, "ruzie", ANSWERS, 5, False, "compleet", "r-1")
    session.commit()
    assert again.shared_with_worker is False and again.completed_at == completed_at


@pytest.mark.parametrize(
    "answer_text",
    ["", "   \n\t ", "x" * 4001, " " + "x" * 4001],
    ids=["empty", "whitespace", "too-long", "too-long-after-trim"],
)
def test_empty_or_oversized_answer_is_rejected(session: Session, answer_text: str) -> None:
    bad = [ANSWERS[0], AnswerIn("gevoel", "Wat voelde je?", answer_text)]
    with pytest.raises(ValueError):
        repo.save_reflection(session, CHAT, "ruzie", bad, None, False, "compleet", "r-1")
    assert count(session, Reflection) == 0
    assert count(session, ReflectionAnswer) == 0


def test_answer_of_exactly_4000_characters_is_kept_whole(session: Session) -> None:
    long = "ä" * 4000
    reflection, _ = repo.save_reflection(
        session, CHAT, "ruzie", [AnswerIn("q", "Vraag?", long)], None, False, "compleet", "r-1"
    )
    session.commit()
    session.expire_all()
    assert reflection.answers[0].answer_text == long


def test_invalid_reflection_fields_are_rejected(session: Session) -> None:
    def save(**overrides: object) -> None:
        args: dict[str, object] = dict(
            theme="ruzie", answers=ANSWERS, scale=3, shared_with_worker=True,
            status="compleet", idempotency_key="r-1",
        )  # fmt: skip
        args.update(overrides)
        repo.save_reflection(session, CHAT, **args)  # type: ignore[arg-type]

    for overrides in (
        {"status": "klaar"},
        {"scale": 0},
        {"scale": 6},
        {"shared_with_worker": "ja"},
        {"theme": ""},
        {"idempotency_key": ""},
        {"idempotency_key": "k" * 65},
        {"answers": [ANSWERS[0], ANSWERS[0]]},
    ):
        with pytest.raises(ValueError):
            save(**overrides)
    assert count(session, Reflection) == 0


def test_html_and_script_text_is_stored_verbatim(engine: Engine) -> None:
    html = "<script>alert(\"x\")</script> <b>vet</b> &amp; 'quote' -- ; DROP TABLE clients;"
    with session_scope(engine) as session:
        repo.save_reflection(
            session, CHAT, "ruzie", [AnswerIn("q", "<i>Vraag</i>?", html)], None, False,
            "compleet", "r-1",
        )  # fmt: skip
        repo.record_safety_event(
            session, CHAT, "unknown", html, "<p>Bel 113</p>", "matcher", idempotency_key="m-1"
        )
    with Session(engine, future=True) as session:
        [reflection] = repo.list_reflections(session, CHAT)
        assert reflection.answers[0].answer_text == html
        assert reflection.answers[0].question_text == "<i>Vraag</i>?"
        [event] = repo.list_safety_events(session, CHAT)
        assert event.message_text == html
        assert event.response_text == "<p>Bel 113</p>"
        assert count(session, Client) == 1


# --- safety events ----------------------------------------------------------------------------


def test_safety_event_is_idempotent_by_message_id(session: Session) -> None:
    response = "Ik maak me zorgen om je. Bel 113 (of 0800-0113), of 112 bij direct gevaar."
    first, created = repo.record_safety_event(
        session, CHAT, "suicide", "ik wil niet meer", response, "both",
        context="reflectie_form", idempotency_key="msg-99",
    )  # fmt: skip
    assert created is True
    again, created = repo.record_safety_event(
        session, CHAT, "suicide", "ik wil niet meer", response, "both",
        context="reflectie_form", idempotency_key="msg-99",
    )  # fmt: skip
    assert created is False and again.id == first.id

    # Without a key every call is a new event.
    repo.record_safety_event(session, CHAT, "threatened", "hij bedreigt me", response, "matcher")
    repo.record_safety_event(session, CHAT, "threatened", "hij bedreigt me", response, "matcher")
    session.commit()

    events = repo.list_safety_events(session, CHAT)
    assert [e.category for e in events] == ["suicide", "threatened", "threatened"]
    assert events[0].response_text == response
    assert events[0].context == "reflectie_form"
    assert events[0].detected_by == "both"
    assert events[0].acknowledged_at is None and events[0].acknowledged_by is None


def test_invalid_safety_event_is_rejected(session: Session) -> None:
    with pytest.raises(ValueError):
        repo.record_safety_event(session, CHAT, "sad", "tekst", "antwoord", "matcher")
    with pytest.raises(ValueError):
        repo.record_safety_event(session, CHAT, "abuse", "tekst", "antwoord", "human")
    with pytest.raises(ValueError):
        repo.record_safety_event(session, CHAT, "abuse", "tekst", "", "matcher")
    assert count(session, SafetyEvent) == 0


# --- deleting a client ------------------------------------------------------------------------


def _fill(session: Session, chat_id: str) -> None:
    repo.save_checkin(session, chat_id, 3, f"{chat_id}-c")
    repo.save_reflection(session, chat_id, "ruzie", ANSWERS, 3, True, "compleet", f"{chat_id}-r")
    repo.record_safety_event(session, chat_id, "abuse", "tekst", "antwoord", "classifier")


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        count(session, model)
        for model in (Client, CheckIn, Reflection, ReflectionAnswer, SafetyEvent)
    )


def test_deleting_a_client_deletes_its_rows(session: Session) -> None:
    _fill(session, CHAT)
    _fill(session, "keep-me")
    session.commit()
    assert _counts(session) == (2, 2, 2, 4, 2)

    # Through the ORM ...
    session.delete(repo.get_or_create_client(session, CHAT))
    session.commit()
    assert _counts(session) == (1, 1, 1, 2, 1)
    assert repo.list_reflections(session, CHAT) == []

    # ... and in the database itself (ON DELETE CASCADE, foreign keys on in SQLite too).
    session.execute(text("DELETE FROM clients WHERE chat_id = :c"), {"c": "keep-me"})
    session.commit()
    assert _counts(session) == (0, 0, 0, 0, 0)


# --- small steps, safety plans, organisation settings -----------------------------------------


def test_small_step_is_idempotent_and_resolved_once(session: Session) -> None:
    step, created = repo.save_step(session, CHAT, "hoop", "  de woningbouw bellen ", True, "s-1")
    again, created_again = repo.save_step(session, CHAT, "hoop", "woningbouw bellen", True, "s-1")
    assert created and not created_again and again.id == step.id
    assert step.text == "woningbouw bellen" and step.status == "open"
    assert [s.id for s in repo.open_steps(session, CHAT)] == [step.id]
    with pytest.raises(ValueError):
        repo.resolve_step(session, "someone-else", step.id, "gelukt")
    repo.get_or_create_client(session, "someone-else")
    with pytest.raises(ValueError):
        repo.resolve_step(session, "someone-else", step.id, "gelukt")
    done = repo.resolve_step(session, CHAT, step.id, "gelukt")
    assert done.status == "gelukt" and done.resolved_at is not None
    assert repo.resolve_step(session, CHAT, step.id, "gelukt").status == "gelukt"  # a retry
    with pytest.raises(ValueError):
        repo.resolve_step(session, CHAT, step.id, "niet_gelukt")
    assert repo.open_steps(session, CHAT) == []
    # A resolved step is final: a late retry of the save does not change it.
    repo.save_step(session, CHAT, "hoop", "iets anders", False, "s-1")
    assert repo.list_steps(session, CHAT)[0].text == "woningbouw bellen"
    with pytest.raises(ValueError):
        repo.save_step(session, CHAT, "hoop", "   ", True, "s-2")


def test_safety_plan_is_replaced_as_a_whole(session: Session) -> None:
    assert repo.get_safety_plan(session, CHAT) is None
    repo.save_safety_plan(
        session,
        CHAT,
        [
            PlanItemIn("oranje", "signaal", "ik slaap slecht"),
            PlanItemIn("oranje", "signaal", "  ik pieker "),
            PlanItemIn("rood", "contact", "113"),
            PlanItemIn("groen", "helpt", "   "),
        ],
        updated_by="w1",
    )
    session.commit()
    plan = repo.get_safety_plan(session, CHAT)
    assert [(i.phase, i.kind, i.position, i.text) for i in plan.items] == [
        ("oranje", "signaal", 1, "ik slaap slecht"),
        ("oranje", "signaal", 2, "ik pieker"),
        ("rood", "contact", 1, "113"),
    ]
    repo.save_safety_plan(session, CHAT, [PlanItemIn("groen", "helpt", "wandelen")], "w2")
    session.commit()
    plan = repo.get_safety_plan(session, CHAT)
    assert [i.text for i in plan.items] == ["wandelen"] and plan.updated_by == "w2"
    with pytest.raises(ValueError):
        repo.save_safety_plan(session, CHAT, [PlanItemIn("paars", "helpt", "x")])
    with pytest.raises(ValueError):
        repo.save_safety_plan(session, CHAT, [PlanItemIn("rood", "helpt", "x" * 501)])


def test_org_setting_round_trip(session: Session) -> None:
    assert repo.get_org_setting(session, "crisis_contact", "geen") == "geen"
    repo.set_org_setting(session, "crisis_contact", "Bel de dienst: 010-0000000", "admin")
    repo.set_org_setting(session, "crisis_contact", "Bel de dienst: 010-1111111", "admin")
    assert repo.get_org_setting(session, "crisis_contact") == "Bel de dienst: 010-1111111"


def test_rotation_history_and_last_visits(session: Session) -> None:
    repo.save_reflection(session, CHAT, "hoop", ANSWERS, 3, False, "compleet", "r-1")
    repo.save_reflection(session, CHAT, "hoop", ANSWERS[:1], 3, False, "compleet", "r-2")
    history = repo.theme_history(session, CHAT, "hoop")
    assert [r.idempotency_key for r in history] == ["r-2", "r-1"]
    visits = repo.last_visit_per_theme(session, CHAT)
    assert set(visits) == {"hoop"} and visits["hoop"].tzinfo is not None


def test_a_deleted_clients_id_is_never_reused(session: Session) -> None:
    first = repo.get_or_create_client(session, "eerste")
    session.commit()
    old_id = first.id
    session.delete(first)
    session.commit()
    second = repo.get_or_create_client(session, "tweede")
    session.commit()
    assert second.id > old_id
