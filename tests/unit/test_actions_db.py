"""Saving actions against a real SQLite database, including a database that fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import durable
from actions.actions import (
    ActionCheckinOpslaan,
    ActionPauzeren,
    ActionReflectieOpslaan,
    ActionTaalBewaren,
    unstored_switch,
)
from bot.storage import repository as repo
from bot.storage.db import make_engine, session_scope, upgrade_database

SLOTS = {
    "thema": "hoop",
    "vragen": ["uitkijken", "beter_leven"],
    "antwoord_1": "de zomer",
    "antwoord_2": "een baan",
    "thema_schaal": "4",
    "stapje": "cv maken",
    "delen": False,
    "reflectie_sleutel": "key-123",
    "taalniveau": "standaard",
}


def tracker(slots: dict, active_loop: str | None = None) -> Tracker:
    return Tracker(
        "unit-client",
        slots,
        {"text": "nee", "intent": {"name": "ontkennen"}},
        [{"event": "user", "text": "nee", "message_id": "m-1"}],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


@pytest.fixture
def use_database(monkeypatch, tmp_path, outbox):
    def _use(migrated: bool = True):
        url = f"sqlite:///{tmp_path / 'actions.db'}"
        if migrated:
            upgrade_database(url)
        engine = make_engine(url)
        monkeypatch.setattr(durable, "engine", lambda: engine)
        return engine

    return _use


def run(action, slots, active_loop=None):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker(slots, active_loop), {})
    return [m.get("response") for m in dispatcher.messages], events


def test_save_is_idempotent_and_private(use_database):
    engine = use_database()
    for _ in range(2):
        responses, events = run(ActionReflectieOpslaan(), SLOTS)
        assert responses == ["utter_opgeslagen_prive", "utter_nog_een"]
    with session_scope(engine) as session:
        [saved] = repo.list_reflections(session, "unit-client")
        assert saved.shared_with_worker is False and saved.status == "compleet"
        assert [a.question_key for a in saved.answers] == ["uitkijken", "beter_leven"]
        [step] = repo.list_steps(session, "unit-client")
        assert step.text == "cv maken" and step.shared_with_worker is False
    cleared = {e["name"] for e in events if e["event"] == "slot" and e["value"] is None}
    assert {"antwoord_1", "stapje", "vragen", "reflectie_sleutel", "delen"} <= cleared


def test_database_error_gives_a_calm_message_and_keeps_the_answers(use_database):
    use_database(migrated=False)  # a real database without tables: every write fails
    responses, events = run(ActionReflectieOpslaan(), SLOTS)
    assert responses == ["utter_opslaan_mislukt"]
    assert events == [], "no slot is cleared: the answers stay in the conversation"


def test_checkin_is_answered_even_when_the_database_fails(use_database, outbox, monkeypatch):
    use_database(migrated=False)
    responses, events = run(ActionCheckinOpslaan(), {"stemming": "2", "taalniveau": "standaard"})
    # The mood is kept in the outbox (stored when the database is back): nothing to regret.
    assert responses == ["utter_stemming_laag"]
    assert [(e.kind, e.data["mood"]) for e in outbox.entries()] == [("checkin", 2)]
    # Only when even the outbox cannot keep it does the client hear it was not saved.
    monkeypatch.setattr(durable, "keep", lambda *args: False)
    durable.breaker.recovered()
    responses, events = run(ActionCheckinOpslaan(), {"stemming": "2", "taalniveau": "standaard"})
    assert responses == ["utter_checkin_niet_bewaard", "utter_stemming_laag"]
    assert {"event": "slot", "name": "vervolg", "value": "menu"} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


def test_pause_saves_a_draft_never_as_complete(use_database):
    engine = use_database()
    slots = {**SLOTS, "thema_schaal": None, "stapje": None, "delen": None}
    responses, events = run(ActionPauzeren(), slots, active_loop="thema_form")
    assert responses == ["utter_gepauzeerd"]
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events if e["event"] == "active_loop"
    ]
    with session_scope(engine) as session:
        [draft] = repo.list_reflections(session, "unit-client")
        assert draft.status == "onderbroken" and len(draft.answers) == 2


def test_an_outbox_entry_the_database_refuses_for_good_does_not_block_the_rest(
    use_database, outbox, monkeypatch
):
    """A constraint error is not an outage: that entry is set aside in failed/ (kept, and
    logged), and the entries after it are written."""
    from sqlalchemy.exc import IntegrityError

    from bot.storage import outbox as outbox_module

    engine = use_database()

    def refused(session, entry):  # type: ignore[no-untyped-def]
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setitem(outbox_module.REPLAYERS, "step_result", refused)
    outbox.put("step_result", "unit-client:1", {"chat_id": "unit-client", "step_id": 1})
    outbox.put("checkin", "key-after", {"chat_id": "unit-client", "mood": 4})
    assert outbox.flush(engine) == 1
    assert not outbox.pending()
    assert len(list((outbox.directory / "failed").iterdir())) == 1
    with session_scope(engine) as session:
        assert [c.mood for c in repo.list_checkins(session, "unit-client")] == [4]


def test_a_language_switch_is_stored_and_waits_in_the_outbox_when_refused(use_database, outbox):
    """The client's own switch ("makkelijker graag") is what reminders and the pages between
    sessions read: stored at once, and kept when the database refuses it, newest first."""
    engine = use_database()
    with session_scope(engine) as session:
        repo.get_or_create_client(session, "unit-client")
    assert run(ActionTaalBewaren(), {"taalniveau": "eenvoudig"}) == ([], [])
    with session_scope(engine) as session:
        assert repo.get_or_create_client(session, "unit-client").language_level == "eenvoudig"

    durable.breaker.failed()  # the database is down: every session is refused
    assert run(ActionTaalBewaren(), {"taalniveau": "standaard"}) == ([], [])
    assert run(ActionTaalBewaren(), {"taalniveau": "eenvoudig"}) == ([], [])
    assert run(ActionTaalBewaren(), {"taalniveau": "standaard"}) == ([], [])
    [kept] = outbox.entries()  # one per client: the newest switch replaces the older
    assert (kept.kind, kept.data) == (
        "language_level",
        {"chat_id": "unit-client", "level": "standaard"},
    )
    assert outbox.flush(engine) == 1
    with session_scope(engine) as session:
        assert repo.get_or_create_client(session, "unit-client").language_level == "standaard"


def _user(intent: str) -> dict:
    return {"event": "user", "text": intent, "parse_data": {"intent": {"name": intent}}}


def _action(name: str) -> dict:
    return {"event": "action", "name": name}


@pytest.mark.parametrize(
    "events, unstored",
    [
        ([], False),
        ([_user("groet"), _action("action_welkom")], False),
        ([_user("taal_eenvoudig"), _action("utter_taal_eenvoudig")], True),
        (
            [_user("taal_eenvoudig"), _action("utter_taal_eenvoudig"), _user("groet")],
            True,
        ),
        (
            [
                _user("taal_eenvoudig"),
                _action("utter_taal_eenvoudig"),
                _action("action_taal_bewaren"),
                _user("groet"),
            ],
            False,
        ),
        ([_user("taal_standaard"), _action("action_crisis_controle_antwoord")], False),
        (  # an older unstored switch, then a stored one: the newer counts
            [
                _user("taal_eenvoudig"),
                _user("taal_standaard"),
                _action("action_taal_bewaren"),
            ],
            False,
        ),
        (  # a stored switch, then a store by a later turn does not cover an unstored one
            [
                _user("taal_eenvoudig"),
                _action("action_taal_bewaren"),
                _user("taal_standaard"),
                _action("utter_taal_standaard"),
                _user("nee"),
                _action("action_crisis_controle_antwoord"),
            ],
            True,
        ),
    ],
)
def test_a_switch_not_stored_is_found(events, unstored):
    assert (unstored_switch(events) is not None) is unstored


def test_a_check_answer_whose_event_is_not_stored_waits_and_is_never_dropped(
    use_database, outbox, monkeypatch
):
    """The check's event waits in another machine's outbox when the client's answer comes
    in here: the answer is kept, and waits (without holding up later entries). Replayed once
    the event is stored, it is written; when the event has not come after an hour, it is set
    aside in failed/, not counted as written."""
    from actions.safety import record_check_answer
    from bot.storage import outbox as outbox_module
    from bot.storage.models import SafetyEvent

    engine = use_database()
    record_check_answer(tracker({}), "k-elders", "ja", "113 ...")
    [kept] = outbox.entries()
    assert kept.kind == "check_answer" and kept.data["answer"] == "ja"
    outbox.put("checkin", "key-after", {"chat_id": "unit-client", "mood": 4})
    assert outbox.flush(engine) == 1, "the check-in after it is written"
    assert outbox.pending() and [e.kind for e in outbox.entries()] == ["check_answer"]
    assert not (outbox.directory / "failed").exists()
    an_hour_later = kept.queued_at + outbox_module.WAIT_FOR_OTHERS + timedelta(seconds=1)
    with monkeypatch.context() as patch:
        patch.setattr(outbox_module, "_now", lambda: an_hour_later)
        assert outbox.flush(engine) == 0 and not outbox.pending()
    assert [p.name for p in (outbox.directory / "failed").iterdir()] == [kept.path.name]

    # The same, but the other machine's outbox writes the event before the answer's replay.
    # ... with the reply the client typed, which the replay keeps too (twenty-fifth pass).
    record_check_answer(tracker({}), "k-later", "ja", "113 ...", "ja soms wel")
    with session_scope(engine) as session:
        repo.record_safety_event(
            session,
            "unit-client",
            "suicide",
            "bericht",
            "controle",
            "semantic",
            idempotency_key="k-later",
            outcome="controle",
        )
    assert outbox.flush(engine) == 1
    with session_scope(engine) as session:
        event = session.query(SafetyEvent).filter_by(idempotency_key="k-later").one()
        assert event.check_answer == "ja" and event.response_text.endswith("113 ...")
        assert event.check_reply == "ja soms wel"


def test_a_language_switch_replayed_late_never_puts_an_older_level_back(use_database, outbox):
    """The client's switch is kept while the database is down; the worker then sets another
    level on the dashboard (or the client switches through another action server). The
    replay of the older switch changes nothing; without a later choice it is written."""
    from actions.actions import store_language_level

    engine = use_database()
    with session_scope(engine) as session:
        repo.get_or_create_client(session, "unit-client", "standaard")
    durable.keep("language_level", "unit-client", {"chat_id": "unit-client", "level": "eenvoudig"})
    with session_scope(engine) as session:
        client = repo.get_or_create_client(session, "unit-client")
        assert repo.set_language_level(client, "standaard")  # the worker, after the switch
    assert outbox.flush(engine) == 1
    with session_scope(engine) as session:
        assert repo.get_or_create_client(session, "unit-client").language_level == "standaard"

    # No later choice: the kept switch is written, with its own time.
    durable.keep("language_level", "unit-client", {"chat_id": "unit-client", "level": "eenvoudig"})
    [kept] = outbox.entries()
    assert outbox.flush(engine) == 1
    with session_scope(engine) as session:
        client = repo.get_or_create_client(session, "unit-client")
        assert client.language_level == "eenvoudig" and client.language_level_at == kept.queued_at

    # A switch stored now (the client's own, in the chat) is later than everything before.
    store_language_level(tracker({"taalniveau": "standaard"}))
    with session_scope(engine) as session:
        assert repo.get_or_create_client(session, "unit-client").language_level == "standaard"


@pytest.mark.parametrize(("worker_later", "expected"), [(True, "standaard"), (False, "eenvoudig")])
def test_a_switch_stored_at_session_start_carries_its_own_time(
    use_database, worker_later, expected
):
    """An older conversation's switch that was never stored is stored at the next session
    start, as made at its own time: a level the worker set after it stays."""
    import asyncio
    from datetime import datetime, timedelta, timezone

    from actions.actions import ActionSessionStart

    engine = use_database()
    switched = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
    with session_scope(engine) as session:
        client = repo.get_or_create_client(session, "unit-client")
        client.disclosure_shown_at = switched  # not the first contact
        if worker_later:
            repo.set_language_level(client, "standaard", switched + timedelta(hours=1))
    switch = {**_user("taal_eenvoudig"), "timestamp": switched.timestamp()}
    events = [switch, _action("utter_taal_eenvoudig"), _user("groet")]
    start = Tracker(
        "unit-client", {"taalniveau": "eenvoudig"}, {}, events, False, None, {}, "action_listen"
    )
    domain = {"session_config": {"carry_over_slots_to_new_session": True}, "responses": {}}
    result = asyncio.run(ActionSessionStart().run(CollectingDispatcher(), start, domain))
    assert {"event": "slot", "name": "taalniveau", "value": expected} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in result
    ]
    with session_scope(engine) as session:
        assert repo.get_or_create_client(session, "unit-client").language_level == expected


def test_a_waiting_check_answer_does_not_stop_other_saves(use_database, outbox, monkeypatch):
    """While a check answer waits for its event (another machine's outbox), the database is
    up: every other action still saves at once, the breaker stays closed, and the waiting
    entry is not looked up on every action (it is tried again after a pause that grows)."""
    from actions.safety import record_check_answer
    from bot.storage import outbox as outbox_module

    engine = use_database()
    record_check_answer(tracker({}), "k-elders", "ja", "113 ...")
    tries = []
    real = outbox_module.REPLAYERS["check_answer"]

    def counting(session, entry):
        tries.append(entry.key)
        return real(session, entry)

    monkeypatch.setitem(outbox_module.REPLAYERS, "check_answer", counting)
    for _ in range(3):
        responses, _events = run(ActionReflectieOpslaan(), SLOTS)
        assert responses == ["utter_opgeslagen_prive", "utter_nog_een"]
        assert not durable.breaker.is_open()
    with session_scope(engine) as session:
        assert len(repo.list_reflections(session, "unit-client")) == 1
    assert len(tries) == 1, "tried once, then after a pause"
    assert outbox.pending() and [e.kind for e in outbox.entries()] == ["check_answer"]
    later = outbox_module._now() + timedelta(minutes=2)
    monkeypatch.setattr(outbox_module, "_now", lambda: later)
    run(ActionReflectieOpslaan(), SLOTS)
    assert len(tries) == 2, "tried again after the pause"
