"""`python -m bot ...` management commands on a real migrated database, including deleting a
client's conversation from a real Rasa SQL tracker store."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, select, text

from bot import manage
from bot.settings import PROJECT_ROOT
from bot.storage.db import session_scope
from bot.storage.models import AccessCode, AuditEntry, Client, Reflection, SafetyEvent, Worker
from bot.web.security import code_hash
from tests.web import seed


@pytest.fixture
def cli_settings(settings, tmp_path):
    return dataclasses.replace(settings, tracker_db=tmp_path / "tracker.db")


def run(cli_settings, *argv, stdin: str = "") -> int:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return manage.main(list(argv), settings=cli_settings)
    finally:
        sys.stdin = old


def test_create_worker_client_and_code(cli_settings, engine, capsys):
    assert (
        run(
            cli_settings,
            "create-worker",
            "dirk",
            "--name",
            "Dirk Test",
            "--password-stdin",
            stdin="een-goed-wachtwoord\n",
        )
        == 0
    )
    with pytest.raises(SystemExit):
        run(cli_settings, "create-worker", "kees", "--password-stdin", stdin="kort\n")
    assert (
        run(
            cli_settings,
            "create-client",
            "--name",
            "Cli Testcliënt",
            "--worker",
            "dirk",
            "--level",
            "eenvoudig",
        )
        == 0
    )
    with session_scope(engine) as session:
        worker = session.execute(select(Worker).where(Worker.username == "dirk")).scalar_one()
        assert worker.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert session.execute(select(Worker).where(Worker.username == "kees")).first() is None
        client = session.execute(select(Client)).scalar_one()
        assert client.worker_id == worker.id and client.language_level == "eenvoudig"
        client_id = client.id
    capsys.readouterr()
    assert run(cli_settings, "issue-code", str(client_id)) == 0
    out = capsys.readouterr().out
    code = out.split(": ", 1)[1].split()[0]
    with session_scope(engine) as session:
        row = session.execute(select(AccessCode)).scalar_one()
        assert row.code_hash == code_hash(cli_settings.secret_key, code)


def test_export_leaves_out_private_reflections_unless_asked(cli_settings, data, tmp_path):
    out = tmp_path / "export.json"
    assert run(cli_settings, "export", str(data.client_a), "-o", str(out)) == 0
    exported = out.read_text(encoding="utf-8")
    assert seed.PRIVATE_TEXT not in exported and "PRIVE-STAP" not in exported
    payload = json.loads(exported)
    assert payload["private_reflections_not_exported"] == 1
    assert len(payload["reflections"]) == 3
    assert payload["safety_events"][0]["message"] == "testmelding ik wil niet meer"
    assert oct(out.stat().st_mode)[-3:] == "600"
    full = tmp_path / "full.json"
    run(cli_settings, "export", str(data.client_a), "-o", str(full), "--include-private")
    assert seed.PRIVATE_TEXT in full.read_text(encoding="utf-8")


def _save_tracker(path, sender: str) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker(sender, slots=[])
    tracker.update(UserUttered("hallo, dit is een test"))
    asyncio.run(store.save(tracker))


def test_delete_asks_confirmation_and_removes_everything(
    cli_settings, data, engine, monkeypatch, capsys
):
    _save_tracker(cli_settings.tracker_db, data.chat_a)
    _save_tracker(cli_settings.tracker_db, "test-chat-b")
    monkeypatch.setattr("builtins.input", lambda prompt="": "nee")
    assert run(cli_settings, "delete", str(data.client_a)) == 1
    assert "niets verwijderd" in capsys.readouterr().out
    with session_scope(engine) as session:
        assert session.get(Client, data.client_a) is not None
    monkeypatch.setattr("builtins.input", lambda prompt="": str(data.client_a))
    assert run(cli_settings, "delete", str(data.client_a)) == 0
    with session_scope(engine) as session:
        assert session.get(Client, data.client_a) is None
        assert (
            session.execute(select(Reflection).where(Reflection.client_id == data.client_a)).first()
            is None
        )
        assert (
            session.execute(
                select(SafetyEvent).where(SafetyEvent.client_id == data.client_a)
            ).first()
            is None
        )
        assert session.get(Client, data.client_b) is not None  # the other client stays
        actions = [
            e.action
            for e in session.execute(
                select(AuditEntry).where(AuditEntry.client_id == data.client_a)
            ).scalars()
        ]
        assert "client_verwijderd" in actions
    tracker = create_engine(f"sqlite:///{cli_settings.tracker_db}")
    with tracker.connect() as connection:
        senders = {row[0] for row in connection.execute(text("SELECT sender_id FROM events"))}
    tracker.dispose()
    assert senders == {"test-chat-b"}


def test_summary_prints_counts_quotes_and_topics(cli_settings, data, capsys):
    assert run(cli_settings, "summary", str(data.client_a)) == 0
    out = capsys.readouterr().out
    assert "Gedeelde reflecties: 3; niet gedeeld: 1" in out
    assert '"Een baan en een huis."' in out
    assert "van 2 naar 4 (hoger)" in out
    assert "huis (2x)" in out and "tuin (2x)" in out
    assert seed.PRIVATE_TEXT not in out


def test_python_dash_m_bot_runs():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("create-worker", "create-client", "issue-code", "export", "delete", "summary"):
        assert command in result.stdout
