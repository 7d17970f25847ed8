"""The chat side of issue 14 against a real SQLite database: the worker's question after the
mood, the client's tasks of the agreements ledger with the worker's promises, and the client's
own reminders (stop, pause, resume, a new time), through the real actions and validators."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import durable
from actions.actions import ActionCheckinOpslaan, next_step
from actions.between import (
    SKIPPED,
    ActionAfspraakBijwerken,
    ActionVraagOpslaan,
    AskVraagAntwoord,
    ValidateAfspraakForm,
    ValidateVraagForm,
    parse_task_outcome,
)
from actions.reminders import ActionHerinnering, ValidateHerinneringTijdForm, find_time
from bot.reminders import schedule
from bot.reminders.content import control_text
from bot.reminders.schedule import ALL_DAYS
from bot.storage import accounts, between
from bot.storage import repository as repo
from bot.storage.between_models import AgreementCheck, ReminderPlan, ReminderSend, WorkerQuestion
from bot.storage.db import make_engine, session_scope, upgrade_database
from bot.storage.models import Agreement, utcnow

DOMAIN = yaml.safe_load((Path(__file__).parents[2] / "domain.yml").read_text(encoding="utf-8"))
QUESTION = ("Wat wil je volgende keer met mij bespreken?", "Waar wil je over praten?")


@pytest.fixture
def engine(monkeypatch, tmp_path, outbox):
    url = f"sqlite:///{tmp_path / 'between-chat.db'}"
    upgrade_database(url)
    eng = make_engine(url)
    monkeypatch.setattr(durable, "engine", lambda: eng)
    yield eng
    eng.dispose()


@pytest.fixture
def client(engine):
    """(client id, chat id) of a client with a worker."""
    with session_scope(engine) as session:
        worker = accounts.create_worker(session, "w.test", "Test Begeleider", "worker", "x")
        row = accounts.create_client(session, "Testcliënt (nep)", worker_id=worker.id)
        return row.id, row.chat_id


def tracker(
    chat_id: str,
    slots: dict | None = None,
    text: str = "",
    intent: str | None = None,
    message_id: str = "m-1",
    active_loop: str | None = None,
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.99} if intent else {}}
    return Tracker(
        chat_id,
        {"taalniveau": "standaard", **(slots or {})},
        message,
        [{"event": "user", "text": text, "message_id": message_id, "parse_data": message}],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def run(action, t: Tracker) -> tuple[list[dict], dict]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, t, DOMAIN)
    if asyncio.iscoroutine(events):
        events = asyncio.run(events)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    return dispatcher.messages, slots


def responses(messages: list[dict]) -> list[str | None]:
    return [m.get("response") for m in messages]


def set_question(engine, client_id: int) -> int:
    with session_scope(engine) as session:
        return between.set_worker_question(
            session, client_id, QUESTION[0], QUESTION[1], "eigen", None, "w.test"
        ).id


def add_agreement(engine, client_id: int, kind: str, text: str, due: date | None) -> int:
    with session_scope(engine) as session:
        row = accounts.add_agreement(
            session, session.get(accounts.Client, client_id), kind, text, None, due, "w.test"
        )
        return row.id


# --- the order after the mood -------------------------------------------------------------------


def test_after_the_mood_the_question_comes_first_then_the_tasks_then_the_menu(engine, client):
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    task_id = add_agreement(engine, client_id, "client", "Bellen met de bank", date.today())
    add_agreement(engine, client_id, "worker", "Uitzoeken hoe de cursus werkt", None)

    messages, slots = run(ActionCheckinOpslaan(), tracker(chat_id, {"stemming": "4"}))
    assert responses(messages) == ["utter_stemming_hoog"]
    assert slots["vervolg"] == "vraag" and slots["vraag_id"] == float(question_id)
    assert slots["vraag_uitleg"] == QUESTION[1]

    # After the question: the worker's promise (read-only), then the client's task.
    dispatcher = CollectingDispatcher()
    events = next_step(tracker(chat_id), dispatcher, after="vraag")
    slots = {e["name"]: e["value"] for e in events}
    assert [(m["response"], m.get("afspraak")) for m in dispatcher.messages] == [
        ("utter_begeleider_zou", "Uitzoeken hoe de cursus werkt")
    ]
    assert slots["vervolg"] == "afspraak" and slots["afspraak_id"] == float(task_id)
    assert slots["afspraak_tekst"] == "Bellen met de bank" and slots["afspraken_open"] == []

    # After the tasks: no step, no draft: the menu.
    events = next_step(tracker(chat_id), CollectingDispatcher(), after="afspraak")
    assert {e["name"]: e["value"] for e in events} == {"vervolg": "menu"}


def test_without_question_or_tasks_the_check_in_is_as_before(engine, client):
    _client_id, chat_id = client
    _messages, slots = run(ActionCheckinOpslaan(), tracker(chat_id, {"stemming": "2"}))
    assert slots["vervolg"] == "menu"


def test_a_task_without_a_due_date_is_asked_from_the_next_day_on(engine, client):
    client_id, chat_id = client
    add_agreement(engine, client_id, "client", "Vandaag afgesproken", None)
    _messages, slots = run(ActionCheckinOpslaan(), tracker(chat_id, {"stemming": "3"}))
    assert slots["vervolg"] == "menu"


def test_a_broken_database_never_blocks_the_check_in(monkeypatch, tmp_path, outbox):
    eng = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: every read fails
    monkeypatch.setattr(durable, "engine", lambda: eng)
    events = next_step(tracker("nobody"), CollectingDispatcher(), after="stemming")
    assert {e["name"]: e["value"] for e in events} == {"vervolg": "menu"}


# --- the worker's question ----------------------------------------------------------------------


def test_the_question_is_asked_at_the_clients_level_and_marked_as_asked(engine, client):
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    slots = {"vraag_id": float(question_id), "vraag_uitleg": QUESTION[1], "taalniveau": "eenvoudig"}
    messages, events = run(AskVraagAntwoord(), tracker(chat_id, slots))
    assert [(m["response"], m["vraag"]) for m in messages] == [
        ("utter_ask_vraag_antwoord", QUESTION[1])
    ]
    assert events == {"vraag_niveau": "eenvoudig"}
    variants = DOMAIN["responses"]["utter_ask_vraag_antwoord"]
    assert all("Je begeleider vraagt: {vraag}" in v["text"] for v in variants)
    assert all(b["payload"] == "/overslaan" for v in variants for b in v["buttons"])
    with session_scope(engine) as session:
        assert session.get(WorkerQuestion, question_id).asked_at is not None


def _validate(form, slot: str, value, t: Tracker) -> tuple[list[dict], dict]:
    dispatcher = CollectingDispatcher()
    result = getattr(form, f"validate_{slot}")(value, dispatcher, t, DOMAIN)
    return dispatcher.messages, result


def test_skipping_the_question(engine, client):
    _client_id, chat_id = client
    form = ValidateVraagForm()
    for text in ("/overslaan", "sla maar over"):
        t = tracker(chat_id, text=text, intent="overslaan")
        assert _validate(form, "vraag_antwoord", text, t)[1] == {"vraag_antwoord": SKIPPED}
    skipped = tracker(chat_id, {"vraag_antwoord": SKIPPED})
    required = asyncio.run(
        form.required_slots(["vraag_antwoord", "vraag_delen"], None, skipped, DOMAIN)
    )
    assert required == ["vraag_antwoord"], "a skipped question asks no consent"
    # A long answer the classifier reads as a skip is still an answer.
    long = "ik wil het overslaan maar eigenlijk gaat het over mijn werk en geld"
    result = _validate(
        form, "vraag_antwoord", long, tracker(chat_id, text=long, intent="overslaan")
    )
    assert result[1]["vraag_antwoord"] == long


def test_a_crisis_inside_the_answer_is_never_stored_as_the_answer(engine, client):
    _client_id, chat_id = client
    text = "ik wil niet meer leven"
    _messages, result = _validate(
        ValidateVraagForm(), "vraag_antwoord", text, tracker(chat_id, text=text, intent="crisis")
    )
    assert result == {"vraag_antwoord": None}


def test_a_weak_answer_gets_one_follow_up_with_the_simple_wording(engine, client):
    _client_id, chat_id = client
    slots = {"vraag_uitleg": QUESTION[1]}
    t = tracker(chat_id, slots, text="weet nie", intent="weet_niet")
    messages, result = _validate(ValidateVraagForm(), "vraag_antwoord", "weet nie", t)
    assert result == {"vraag_antwoord": None, "doorgevraagd": "vraag_antwoord"}
    assert [(m["response"], m["uitleg"]) for m in messages] == [("utter_doorvragen", QUESTION[1])]
    again = tracker(chat_id, {**slots, "doorgevraagd": "vraag_antwoord"}, text="weet nie")
    assert _validate(ValidateVraagForm(), "vraag_antwoord", "weet nie", again)[1] == {
        "vraag_antwoord": "weet nie",
        "doorgevraagd": None,
    }


def test_consent_is_read_as_yes_or_no(engine, client):
    _client_id, chat_id = client
    form = ValidateVraagForm()
    assert _validate(form, "vraag_delen", "/bevestigen", tracker(chat_id, intent="bevestigen"))[
        1
    ] == {"vraag_delen": True}
    assert _validate(form, "vraag_delen", "nee hoor", tracker(chat_id, text="nee hoor"))[1] == {
        "vraag_delen": False
    }
    messages, result = _validate(form, "vraag_delen", "paars", tracker(chat_id, text="paars"))
    assert result == {"vraag_delen": None} and responses(messages) == ["utter_delen_ongeldig"]


def test_the_answer_is_saved_once_with_consent_and_the_wording_shown(engine, client):
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    slots = {
        "vraag_id": float(question_id),
        "vraag_antwoord": "Over mijn schulden",
        "vraag_delen": True,
        "vraag_niveau": "eenvoudig",
    }
    for message_id in ("m-1", "m-2"):  # Rasa retries, or the client sends again
        messages, events = run(ActionVraagOpslaan(), tracker(chat_id, slots, message_id=message_id))
        assert responses(messages) == ["utter_opgeslagen_gedeeld"]
        assert events["vraag_antwoord"] is None and events["vervolg"] == "menu"
    with session_scope(engine) as session:
        reflections = repo.list_reflections(session, chat_id)
        assert len(reflections) == 1
        [saved] = reflections
        assert saved.theme == "vraag_begeleider" and saved.shared_with_worker is True
        [answer] = saved.answers
        assert (answer.question_text, answer.answer_text) == (QUESTION[1], "Over mijn schulden")
        question = session.get(WorkerQuestion, question_id)
        assert question.status == "beantwoord" and question.reflection_id == saved.id


@pytest.fixture
def outage(monkeypatch, tmp_path, engine):
    """The database goes down (a real database without tables: every read and write fails);
    calling the result brings the real one back."""
    broken = make_engine(f"sqlite:///{tmp_path / 'down.db'}")
    monkeypatch.setattr(durable, "engine", lambda: broken)
    durable.breaker.recovered()

    def back() -> None:
        monkeypatch.setattr(durable, "engine", lambda: engine)
        durable.breaker.recovered()

    yield back
    broken.dispose()


@pytest.mark.parametrize("answer", ["Over mijn schulden", SKIPPED])
def test_an_answer_during_an_outage_waits_in_the_outbox(engine, client, outbox, outage, answer):
    """Issue 13's promise for issue 14b's writes: nothing the client was told is saved gets
    lost. The answer (or the skip) waits in the outbox and is written once when the database
    is back; the question is then closed."""
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    slots = {"vraag_id": float(question_id), "vraag_antwoord": answer, "vraag_delen": True}
    messages, _ = run(ActionVraagOpslaan(), tracker(chat_id, slots))
    said = "utter_vraag_overgeslagen" if answer == SKIPPED else "utter_vraag_later_bewaard"
    assert responses(messages)[0] == said, "never 'bewaard' before it is"
    assert [e.kind for e in outbox.entries()] == ["question_answer"]
    outage()
    assert durable.flush_now() == 1 and not outbox.pending()
    durable.flush_now()  # nothing left: nothing written twice
    with session_scope(engine) as session:
        question = session.get(WorkerQuestion, question_id)
        reflections = repo.list_reflections(session, chat_id)
        if answer == SKIPPED:
            assert question.status == "overgeslagen" and reflections == []
        else:
            [saved] = reflections
            assert saved.answers[0].answer_text == answer and saved.shared_with_worker
            assert question.status == "beantwoord" and question.reflection_id == saved.id


def test_an_answer_that_even_the_outbox_cannot_keep_is_asked_again(
    engine, client, outbox, outage, monkeypatch
):
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    monkeypatch.setattr(durable, "keep", lambda *args: False)  # the disk is full too
    slots = {"vraag_id": float(question_id), "vraag_antwoord": "Over werk", "vraag_delen": False}
    messages, _ = run(ActionVraagOpslaan(), tracker(chat_id, slots))
    assert responses(messages)[0] == "utter_vraag_niet_bewaard"
    outage()
    with session_scope(engine) as session:
        assert session.get(WorkerQuestion, question_id).status == "open", "asked again"


def test_a_task_check_during_an_outage_waits_in_the_outbox(engine, client, outbox, outage):
    client_id, chat_id = client
    task = add_agreement(engine, client_id, "client", "Bellen met de bank", date.today())
    slots = {"afspraak_id": float(task), "afspraken_open": [], "afspraak_resultaat": "gedaan"}
    for _ in range(2):  # sent twice during the outage: one entry, one check
        messages, _ = run(ActionAfspraakBijwerken(), tracker(chat_id, slots, message_id="a-9"))
        assert responses(messages)[0] == "utter_afspraak_gedaan"
    assert [e.kind for e in outbox.entries()] == ["agreement_check"]
    outage()
    assert durable.flush_now() == 1 and not outbox.pending()
    with session_scope(engine) as session:
        [check] = session.execute(select(AgreementCheck)).scalars()
        assert (check.agreement_id, check.outcome) == (task, "gedaan")


def test_a_private_answer_is_saved_private(engine, client):
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    slots = {
        "vraag_id": float(question_id),
        "vraag_antwoord": "Liever niet delen",
        "vraag_delen": False,
    }
    messages, _events = run(ActionVraagOpslaan(), tracker(chat_id, slots))
    assert responses(messages) == ["utter_opgeslagen_prive"]
    with session_scope(engine) as session:
        [saved] = repo.list_reflections(session, chat_id)
        assert saved.shared_with_worker is False


def test_a_skipped_question_is_closed_and_not_asked_again(engine, client):
    client_id, chat_id = client
    question_id = set_question(engine, client_id)
    slots = {"vraag_id": float(question_id), "vraag_antwoord": SKIPPED}
    messages, _events = run(ActionVraagOpslaan(), tracker(chat_id, slots))
    assert responses(messages) == ["utter_vraag_overgeslagen"]
    with session_scope(engine) as session:
        assert session.get(WorkerQuestion, question_id).status == "overgeslagen"
        assert repo.list_reflections(session, chat_id) == []
    _messages, slots = run(ActionCheckinOpslaan(), tracker(chat_id, {"stemming": "4"}))
    assert slots["vervolg"] == "menu"


# --- the client's tasks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "outcome"),
    [
        ("/bevestigen", "bevestigen", "gedaan"),
        ("een beetje", None, "deels"),
        ("nog niet", None, "nog_niet"),
        ("/ontkennen", "ontkennen", "nog_niet"),
        ("ja is gelukt", None, "gedaan"),
        ("niet gedaan", None, "nog_niet"),
        ("half", None, "deels"),
        ("paars", None, None),
    ],
)
def test_task_answers(text, intent, outcome):
    assert parse_task_outcome(text, intent) == outcome


def test_each_task_is_recorded_once_and_the_next_one_follows(engine, client):
    client_id, chat_id = client
    first = add_agreement(engine, client_id, "client", "Bellen met de bank", date.today())
    second = add_agreement(engine, client_id, "client", "Formulier invullen", date.today())
    slots = {
        "afspraak_id": float(first),
        "afspraak_tekst": "Bellen met de bank",
        "afspraken_open": [[second, "Formulier invullen"]],
        "afspraak_resultaat": "deels",
    }
    for _ in range(2):  # the same message again: still one check
        messages, events = run(ActionAfspraakBijwerken(), tracker(chat_id, slots, message_id="a-1"))
        assert responses(messages) == ["utter_afspraak_deels"]
        assert events["afspraak_id"] == float(second) and events["vervolg"] == "afspraak"
    slots = {"afspraak_id": float(second), "afspraken_open": [], "afspraak_resultaat": "nog_niet"}
    messages, events = run(ActionAfspraakBijwerken(), tracker(chat_id, slots, message_id="a-2"))
    assert responses(messages) == ["utter_afspraak_nog_niet"]
    assert events["vervolg"] == "menu" and events["afspraak_id"] is None
    with session_scope(engine) as session:
        checks = session.execute(select(AgreementCheck).order_by(AgreementCheck.id)).scalars()
        assert [(c.agreement_id, c.outcome) for c in checks] == [
            (first, "deels"),
            (second, "nog_niet"),
        ]
        # Asked again only after a few days; the worker closes the task, never the chat.
        assert between.due_client_tasks(session, chat_id) == []
        assert session.get(Agreement, first).done_at is None


def test_a_worker_promise_cannot_be_checked_by_the_client(engine, client):
    client_id, chat_id = client
    promise = add_agreement(engine, client_id, "worker", "Uitzoeken hoe de cursus werkt", None)
    slots = {"afspraak_id": float(promise), "afspraken_open": [], "afspraak_resultaat": "gedaan"}
    messages, _events = run(ActionAfspraakBijwerken(), tracker(chat_id, slots))
    assert responses(messages) == ["utter_afspraak_gedaan"]  # still a kind answer
    with session_scope(engine) as session:
        assert session.execute(select(AgreementCheck)).first() is None


def test_an_unclear_task_answer_asks_again(engine, client):
    _client_id, chat_id = client
    form = ValidateAfspraakForm()
    messages, result = _validate(
        form, "afspraak_resultaat", "paars", tracker(chat_id, text="paars")
    )
    assert result == {"afspraak_resultaat": None}
    assert responses(messages) == ["utter_afspraak_ongeldig"]
    t = tracker(chat_id, text="een beetje")
    assert _validate(form, "afspraak_resultaat", "een beetje", t)[1] == {
        "afspraak_resultaat": "deels"
    }


# --- the client's reminders ---------------------------------------------------------------------


def make_plan(engine, client_id: int, days: int = 30) -> None:
    now = between.utcnow()  # the clock a test may have set
    today = schedule.local_today(now)
    with session_scope(engine) as session:
        between.save_reminder_plan(
            session,
            client_id,
            between.ReminderPlanIn(
                channel="email",
                weekdays=ALL_DAYS,
                send_time=time(19, 0),
                start_date=today,
                end_date=today + timedelta(days=days),
                email="client@example.org",
                quiet_start=time(22, 0),
                quiet_end=time(7, 0),
            ),
            "w.test",
            now=now,
        )


def plan_of(engine, client_id: int) -> tuple[str, time]:
    with session_scope(engine) as session:
        plan = session.execute(
            select(ReminderPlan).where(ReminderPlan.client_id == client_id)
        ).scalar_one()
        return plan.status, plan.send_time


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("stuur het om 18:00", time(18, 0)),
        ("liever om 17.30", time(17, 30)),
        ("om 9 uur graag", time(9, 0)),
        ("kan het om 8", time(8, 0)),
        ("ander tijdstip", None),
        ("om 25:00", None),
    ],
)
def test_a_time_inside_a_sentence(text, found):
    assert find_time(text) == found


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("response") for m in messages]


def test_stop_pause_resume_and_a_new_time_in_the_chat(engine, client, monkeypatch):
    client_id, chat_id = client
    # Ten in the morning, local time: moving to 18:00 leaves a reminder today. (Run after
    # 18:00 on the real clock, the read-back rightly said "Vandaag krijg je er geen meer".)
    morning = schedule.slot_at(schedule.local_today(utcnow()), time(10, 0))
    monkeypatch.setattr(between, "utcnow", lambda: morning)
    make_plan(engine, client_id)
    level = "standaard"

    messages, _ = run(
        ActionHerinnering(),
        tracker(chat_id, text="even geen berichtjes", intent="herinnering_pauze"),
    )
    assert texts(messages)[:2] == [control_text("paused", level), "utter_herinnering_weer_aan"]
    assert texts(messages)[-1] == "utter_wat_nu", "outside a form: a way on"
    assert plan_of(engine, client_id)[0] == "gepauzeerd"

    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="weer berichtjes", intent="herinnering_aan")
    )
    assert texts(messages)[0] == control_text("resumed", level)
    assert [(m.get("dagen"), m.get("tijd")) for m in messages[1:2]] == [("elke dag", "19:00")]
    assert plan_of(engine, client_id)[0] == "actief"

    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="stuur het om 18:00", intent="herinnering_tijd")
    )
    assert texts(messages)[0] == control_text("time_changed", level, tijd="18:00")
    assert plan_of(engine, client_id) == ("actief", time(18, 0))

    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="stuur het om 23:00", intent="herinnering_tijd")
    )
    assert texts(messages)[0] == control_text("quiet_hours", level, van="07:00", tot="22:00")
    assert plan_of(engine, client_id) == ("actief", time(18, 0))

    # Inside a form: the change is made, no way-on buttons (the form asks its question again).
    messages, _ = run(
        ActionHerinnering(),
        tracker(
            chat_id,
            text="geen berichtjes meer",
            intent="herinnering_stop",
            active_loop="thema_form",
        ),
    )
    assert texts(messages) == [control_text("stopped", level)]
    assert plan_of(engine, client_id)[0] == "gestopt"

    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="weer berichtjes", intent="herinnering_aan")
    )
    assert texts(messages)[0] == control_text("already_stopped", level)
    assert plan_of(engine, client_id)[0] == "gestopt", "only the worker starts them again"


def test_a_new_time_after_todays_reminder_says_it_holds_from_tomorrow(engine, client):
    client_id, chat_id = client
    make_plan(engine, client_id)
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        plan = session.execute(
            select(ReminderPlan).where(ReminderPlan.client_id == client_id)
        ).scalar_one()
        session.add(
            ReminderSend(
                plan_id=plan.id,
                slot_at=now,
                channel="email",
                status="verstuurd",
                attempts=1,
                claimed_at=now,
                finished_at=now,
            )
        )
    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="stuur het om 21:00", intent="herinnering_tijd")
    )
    assert texts(messages)[0] == control_text(
        "time_changed_from_tomorrow", "standaard", tijd="21:00"
    )
    assert plan_of(engine, client_id) == ("actief", time(21, 0))


def test_a_new_time_on_the_last_day_says_none_come_any_more(engine, client, monkeypatch):
    """A plan that ends today, moved to a time that has passed: no reminder comes today or
    ever; the read-back says so, not "Vandaag krijg je er geen meer"."""
    client_id, chat_id = client
    evening = schedule.slot_at(schedule.local_today(utcnow()), time(20, 0))
    monkeypatch.setattr(between, "utcnow", lambda: evening)
    make_plan(engine, client_id, days=0)
    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="stuur het om 9:00", intent="herinnering_tijd")
    )
    assert texts(messages)[0] == control_text("time_changed_none_left", "standaard", tijd="09:00")
    # Moved to a time still to come today, it comes.
    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="stuur het om 21:00", intent="herinnering_tijd")
    )
    assert texts(messages)[0] == control_text("time_changed", "standaard", tijd="21:00")


def test_a_stop_that_is_not_about_reminders_changes_nothing(engine, client):
    client_id, chat_id = client
    make_plan(engine, client_id)
    messages, _ = run(
        ActionHerinnering(), tracker(chat_id, text="hou maar op", intent="herinnering_stop")
    )
    assert texts(messages)[0] == "utter_herinnering_zeker"
    assert plan_of(engine, client_id)[0] == "actief"


def test_without_a_plan_the_client_is_told_clearly(engine, client):
    _client_id, chat_id = client
    for text, intent in (
        ("geen berichtjes meer", "herinnering_stop"),
        ("even geen berichtjes", "herinnering_pauze"),
        ("ander tijdstip", "herinnering_tijd"),
    ):
        messages, slots = run(ActionHerinnering(), tracker(chat_id, text=text, intent=intent))
        assert texts(messages)[0] == control_text("no_plan", "standaard"), text
        assert slots["tijd_nodig"] is False


def test_another_time_without_a_time_asks_for_it(engine, client):
    client_id, chat_id = client
    make_plan(engine, client_id)
    messages, slots = run(
        ActionHerinnering(), tracker(chat_id, text="ander tijdstip", intent="herinnering_tijd")
    )
    assert messages == [] and slots == {"tijd_nodig": True, "herinnering_tijd": None}
    form = ValidateHerinneringTijdForm()
    messages, result = _validate(
        form, "herinnering_tijd", "straks", tracker(chat_id, text="straks")
    )
    assert result == {"herinnering_tijd": None}
    assert texts(messages) == [control_text("bad_time", "standaard")]
    messages, result = _validate(form, "herinnering_tijd", "6:00", tracker(chat_id, text="6:00"))
    assert result == {"herinnering_tijd": None}, "quiet hours: asked again"
    messages, result = _validate(
        form, "herinnering_tijd", "om 20 uur", tracker(chat_id, text="om 20 uur")
    )
    assert result == {"herinnering_tijd": "20:00"}
    assert plan_of(engine, client_id) == ("actief", time(20, 0))
    # Inside another form "ander tijdstip" says how, and the form goes on.
    messages, slots = run(
        ActionHerinnering(),
        tracker(
            chat_id, text="ander tijdstip", intent="herinnering_tijd", active_loop="afspraak_form"
        ),
    )
    assert texts(messages) == ["utter_herinnering_tijd_erbij"] and slots == {"tijd_nodig": False}


def test_the_simple_level_gets_the_simple_texts(engine, client):
    client_id, chat_id = client
    make_plan(engine, client_id)
    messages, _ = run(
        ActionHerinnering(),
        tracker(
            chat_id,
            {"taalniveau": "eenvoudig"},
            text="geen berichtjes meer",
            intent="herinnering_stop",
        ),
    )
    assert texts(messages)[0] == control_text("stopped", "eenvoudig")
