"""Writes an action server kept in its outbox (issue 13) for a client who is then deleted are
never written back: not into a new client with the same chat id, not into `failed/`. They go
with the client, on a real (migrated) SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage import accounts
from bot.storage import outbox as outbox_module
from bot.storage.db import make_engine, session_scope, upgrade_database
from bot.storage.models import (
    CheckIn,
    Client,
    DeletedClient,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
)
from bot.storage.outbox import Outbox
from bot.vocabulary import STANDARD, STATUS_COMPLETE


@pytest.fixture
def engine(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'koers.db'}"
    upgrade_database(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


def new_client(engine, name: str) -> tuple[int, str]:
    with session_scope(engine) as session:
        client = accounts.create_client(session, f"{name} (nep)")
        return client.id, client.chat_id


def delete(engine, client_id: int) -> None:
    with session_scope(engine) as session:
        accounts.delete_client(session, session.get(Client, client_id))


def keep_everything(box: Outbox, chat_id: str) -> None:
    """What an action server keeps while the database is down: a mood, the disclosure, a
    finished reflection with a small step, and a safety event."""
    box.put("checkin", f"checkin-{chat_id}", {"chat_id": chat_id, "mood": 2})
    box.put("disclosure", chat_id, {"chat_id": chat_id})
    box.put(
        "reflection",
        f"reflectie-{chat_id}",
        {
            "chat_id": chat_id,
            "theme": "hoop",
            "answers": [["hoop_1", "Waar hoop je op?", "Een eigen huis.", STANDARD]],
            "scale": 3,
            "shared": True,
            "status": STATUS_COMPLETE,
            "step": "Morgen bel ik de woningbouw.",
        },
    )
    box.put(
        "safety_event",
        f"veiligheid-{chat_id}",
        {
            "chat_id": chat_id,
            "category": "suicide",
            "message_text": "(nep) bericht",
            "response_text": "(nep) hulp",
            "detected_by": "matcher",
            "context": None,
        },
    )


def rows(engine, chat_id: str) -> dict[str, int]:
    with Session(engine) as session:
        counts = {
            model.__tablename__: session.execute(
                select(func.count(model.id)).join(Client).where(Client.chat_id == chat_id)
            ).scalar_one()
            for model in (CheckIn, Reflection, SafetyEvent)
        }
        counts["clients"] = session.execute(
            select(func.count(Client.id)).where(Client.chat_id == chat_id)
        ).scalar_one()
        counts["reflection_answers"] = session.execute(
            select(func.count(ReflectionAnswer.id))
        ).scalar_one()
    return counts


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.json")) if folder.is_dir() else []


def test_kept_writes_of_a_deleted_client_are_dropped_not_written(engine, tmp_path) -> None:
    box = Outbox(tmp_path / "outbox")
    deleted_id, deleted_chat = new_client(engine, "Verwijderd")
    _, other_chat = new_client(engine, "Blijft")
    keep_everything(box, deleted_chat)
    keep_everything(box, other_chat)
    delete(engine, deleted_id)

    assert box.flush(engine) == 4  # only the other client's four entries are written
    assert rows(engine, deleted_chat) == {
        "checkins": 0,
        "reflections": 0,
        "safety_events": 0,
        "clients": 0,  # the client is not created again from the outbox
        "reflection_answers": 1,  # the other client's answer only
    }
    assert rows(engine, other_chat)["reflections"] == 1
    assert rows(engine, other_chat)["checkins"] == 1
    # Gone, not set aside: failed/ would keep the deleted client's words on disk.
    assert files(box.directory) == []
    assert files(box.directory / "failed") == []
    assert not box.pending()


def test_the_deletion_is_remembered_without_the_chat_id(engine) -> None:
    client_id, chat_id = new_client(engine, "Weg")
    delete(engine, client_id)
    with Session(engine) as session:
        stored = session.execute(select(DeletedClient)).scalars().all()
        assert [row.chat_hash for row in stored] == [accounts.chat_hash(chat_id)]
        assert chat_id not in stored[0].chat_hash
        assert accounts.is_deleted(session, chat_id)
        assert not accounts.is_deleted(session, "een-ander")


def test_a_deletion_while_an_entry_is_written_wins(engine, tmp_path, monkeypatch) -> None:
    """The deletion commits after the flush looked (PostgreSQL, another server): the check
    after writing rolls the entry back instead of storing it."""
    box = Outbox(tmp_path / "outbox")
    client_id, chat_id = new_client(engine, "Tegelijk")
    box.put("checkin", "tegelijk", {"chat_id": chat_id, "mood": 4})
    replay = outbox_module.REPLAYERS["checkin"]

    def replay_then_deleted(session, entry):  # type: ignore[no-untyped-def]
        replay(session, entry)
        # What the second check sees when a deletion committed meanwhile.
        session.add(DeletedClient(chat_hash=accounts.chat_hash(chat_id)))

    monkeypatch.setitem(outbox_module.REPLAYERS, "checkin", replay_then_deleted)
    assert box.flush(engine) == 0
    assert rows(engine, chat_id)["checkins"] == 0
    assert files(box.directory) == []


def test_deleting_removes_the_clients_entries_from_the_outbox(engine, tmp_path) -> None:
    box = Outbox(tmp_path / "outbox")
    client_id, chat_id = new_client(engine, "Verwijderd")
    _, other_chat = new_client(engine, "Blijft")
    keep_everything(box, chat_id)
    box.put("checkin", "ander", {"chat_id": other_chat, "mood": 3})
    failed = box.directory / "failed"
    failed.mkdir()
    (failed / "00000000000000000001-checkin-x.json").write_text(
        json.dumps(
            {
                "kind": "checkin",
                "key": "x",
                "queued_at": "2026-12-01T09:00:00+00:00",
                "data": {"chat_id": chat_id, "mood": 1},
            }
        )
    )
    delete(engine, client_id)

    assert box.discard_client(chat_id) == 5
    assert [e.data["chat_id"] for e in box.entries()] == [other_chat]
    assert files(failed) == []


def test_an_entry_kept_while_a_flush_ends_keeps_the_outbox_pending(engine, tmp_path, monkeypatch):
    """A flush lists the folder at its end to know whether anything is left. An entry kept
    by another thread right after that listing must not be forgotten: the background flusher
    stops when the outbox says it is empty (the web process's hurried crisis help)."""
    _client_id, chat_id = new_client(engine, "Race")
    box = Outbox(tmp_path / "race")
    event = {
        "chat_id": chat_id,
        "category": "suicide",
        "message_text": "ik wil dood",
        "response_text": "113",
        "detected_by": "matcher",
    }
    box.put("safety_event", "eerste", event)
    listings = 0
    real_entries = box.entries

    def entries_then_a_put():
        nonlocal listings
        listing = real_entries()
        listings += 1
        if listings == 2:  # the listing after the writes: another thread keeps an entry now
            box.put("safety_event", "tweede", {**event, "message_text": "nog een keer"})
        return listing

    monkeypatch.setattr(box, "entries", entries_then_a_put)
    assert box.flush(engine) == 1
    assert box.pending(), "the second entry is waiting"
    monkeypatch.setattr(box, "entries", real_entries)
    assert box.flush(engine) == 1 and not box.pending()


def test_an_entry_kept_by_client_id_finds_its_chat_id_or_goes(engine, tmp_path):
    """The web chat keeps a safety event while the database is down under the login cookie's
    client id (it cannot know the chat id then): written for that client once the database is
    back, and dropped when that client is gone."""
    client_id, chat_id = new_client(engine, "Later")
    box = Outbox(tmp_path / "by-id")
    event = {
        "client_id": client_id,
        "category": "suicide",
        "message_text": "ik wil dood",
        "response_text": "113",
        "detected_by": "matcher",
        "context": "opslag_niet_bereikbaar",
    }
    box.put("safety_event", "by-id", event)
    box.put("safety_event", "gone", {**event, "client_id": 999999, "message_text": "weg"})
    assert box.flush(engine) == 1 and not box.pending()
    with Session(engine) as session:
        rows = session.execute(select(SafetyEvent.client_id, SafetyEvent.message_text)).all()
    assert [tuple(r) for r in rows] == [(client_id, "ik wil dood")]
    assert not (tmp_path / "by-id" / "failed").exists() or not any(
        (tmp_path / "by-id" / "failed").iterdir()
    )
