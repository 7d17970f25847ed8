"""bot/storage/between.py on a real migrated database: reminder plans and the client's own
controls, slot claims, push subscriptions, the worker's question and agreement checks."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.reminders import schedule
from bot.storage import between
from bot.storage.between_models import (
    AgreementCheck,
    PushSubscription,
    ReminderPlan,
    ReminderSend,
    WorkerQuestion,
)
from bot.storage.models import (
    AccessCode,
    Agreement,
    AuditEntry,
    ChatDevice,
    Client,
    Reflection,
    utcnow,
)

CHAT = "chat-between-1"
# Monday 2 March 2026, 18:01 in Amsterdam (17:01 UTC, winter time).
MONDAY_1801 = datetime(2026, 3, 2, 17, 1, tzinfo=timezone.utc)


@pytest.fixture
def session(engine):
    with Session(engine, future=True) as session:
        yield session


@pytest.fixture
def client(session) -> Client:
    now = utcnow()
    row = Client(chat_id=CHAT, display_name="Test", created_at=now, last_seen_at=now)
    session.add(row)
    session.commit()
    return row


def plan_in(**changes) -> between.ReminderPlanIn:
    values = dict(
        channel="email",
        email="client@example.org",
        weekdays=schedule.days_to_mask([0, 2, 4]),  # ma, wo, vr
        send_time=time(18, 0),
        start_date=date(2026, 3, 1),
        end_date=date(2026, 5, 31),
        quiet_start=time(22, 0),
        quiet_end=time(8, 0),
    )
    values.update(changes)
    return between.ReminderPlanIn(**values)


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


# --- reminder plans ---------------------------------------------------------------------------


def test_plan_is_saved_with_consent_and_replaced_in_place(session, client):
    first = between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    assert first.consent_at == MONDAY_1801 and first.consent_recorded_by == "anna"
    assert first.status == "actief" and first.schedule_from == MONDAY_1801
    later = MONDAY_1801 + timedelta(days=1)
    second = between.save_reminder_plan(
        session, client.id, plan_in(channel="sms", phone="06-12345678"), "anna", now=later
    )
    assert second.id == first.id and count(session, ReminderPlan) == 1
    assert second.phone == "+31612345678" and second.email is None
    assert second.consent_at == later


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weekdays": 0}, "weekday"),
        ({"end_date": date(2026, 2, 1)}, "end date"),
        ({"send_time": time(23, 0)}, "quiet hours"),
        ({"quiet_end": None}, "both"),
        ({"email": "geen-adres"}, "e-mail"),
        ({"channel": "sms", "phone": "020-1234567"}, "mobile"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_invalid_plans_are_refused(session, client, changes, message):
    with pytest.raises(ValueError, match=message):
        between.save_reminder_plan(session, client.id, plan_in(**changes), "anna")
    assert count(session, ReminderPlan) == 0


def test_phone_and_email_normalisation():
    assert between.normalize_phone("06 1234 5678") == "+31612345678"
    assert between.normalize_phone("+31 (0)6-12345678") == "+31612345678"
    assert between.normalize_phone("0031612345678") == "+31612345678"
    assert between.normalize_phone("+32470123456") == "+32470123456"
    assert between.normalize_phone("020-1234567") is None  # a Dutch landline
    assert between.normalize_phone("12345") is None
    assert between.valid_email("a.b@example.nl") == "a.b@example.nl"
    assert between.valid_email("a b@example.nl") is None
    assert between.valid_email("a@example") is None


def test_client_controls_pause_resume_time_stop(session, client):
    between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    status = between.reminder_status(session, CHAT, now=MONDAY_1801)
    assert status.status == "actief" and status.days_text == "maandag, woensdag en vrijdag"
    assert status.time_text == "18:00"
    assert status.next_at == schedule.slot_at(date(2026, 3, 4), time(18, 0))

    status = between.pause_reminders(session, CHAT, until=date(2026, 3, 10), now=MONDAY_1801)
    assert status.status == "gepauzeerd" and status.paused_until == date(2026, 3, 10)
    assert status.next_at == schedule.slot_at(date(2026, 3, 11), time(18, 0))
    # After the pause date the plan counts as active again by itself.
    after = datetime(2026, 3, 11, 12, 0, tzinfo=timezone.utc)
    assert between.reminder_status(session, CHAT, now=after).status == "actief"

    status = between.resume_reminders(session, CHAT, now=MONDAY_1801)
    assert status.status == "actief"
    with pytest.raises(between.ReminderRefused) as refused:
        between.change_reminder_time(session, CHAT, time(7, 30), now=MONDAY_1801)
    assert refused.value.code == "quiet_hours" and refused.value.quiet == (time(22), time(8))
    status = between.change_reminder_time(session, CHAT, time(19, 15), now=MONDAY_1801)
    assert status.time_text == "19:15"
    plan = between.reminder_plan(session, client.id)
    assert plan.updated_by == "client" and plan.schedule_from == MONDAY_1801

    status = between.stop_reminders(session, CHAT, now=MONDAY_1801)
    assert status.status == "gestopt" and status.next_at is None
    assert between.stop_reminders(session, CHAT).status == "gestopt"  # twice is fine
    for change in (
        lambda: between.pause_reminders(session, CHAT),
        lambda: between.resume_reminders(session, CHAT),
        lambda: between.change_reminder_time(session, CHAT, time(12, 0)),
    ):
        with pytest.raises(between.ReminderRefused) as info:
            change()
        assert info.value.code == "already_stopped"
    actions = [
        a
        for (a,) in session.execute(
            select(AuditEntry.action)
            .where(AuditEntry.client_id == client.id)
            .order_by(AuditEntry.id)
        )
    ]
    assert actions == [
        "herinneringen_gepauzeerd",
        "herinneringen_hervat",
        "herinneringstijd_gewijzigd",
        "herinneringen_gestopt",
    ]


@pytest.mark.parametrize(
    ("local_hour", "new_time", "none_today"),
    [
        (15, time(10, 0), True),  # moved to a time already past: nothing more today, said so
        (15, time(20, 0), False),  # still to come today
        (None, time(10, 0), False),  # Tuesday is no reminder day: nothing to say about today
    ],
)
def test_the_client_is_told_when_a_new_time_leaves_nothing_today(
    session, client, local_hour, new_time, none_today
):
    between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    day = date(2026, 3, 2) if local_hour is not None else date(2026, 3, 3)
    now = schedule.slot_at(day, time(local_hour or 15, 0))
    status = between.change_reminder_time(session, CHAT, new_time, now=now)
    assert status.from_tomorrow is none_today
    assert (schedule.local_today(status.next_at) == day) is (
        local_hour is not None and not none_today
    )


def test_controls_without_a_plan(session, client):
    assert between.reminder_status(session, CHAT) is None
    for change in (
        lambda: between.pause_reminders(session, CHAT),
        lambda: between.stop_reminders(session, CHAT),
        lambda: between.change_reminder_time(session, CHAT, time(12, 0)),
    ):
        with pytest.raises(between.ReminderRefused) as info:
            change()
        assert info.value.code == "no_plan"
    with pytest.raises(ValueError):
        between.reminder_status(session, "onbekende-chat")


def test_pause_cannot_end_in_the_past(session, client):
    between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    with pytest.raises(ValueError):
        between.pause_reminders(session, CHAT, until=date(2026, 3, 1), now=MONDAY_1801)


# --- which slot is due ------------------------------------------------------------------------


def test_slot_is_due_only_once_per_slot_and_within_the_rules(session, client):
    plan = between.save_reminder_plan(
        session, client.id, plan_in(), "anna", now=MONDAY_1801 - timedelta(days=7)
    )
    delay = timedelta(minutes=60)
    slot, why = between.slot_is_due(plan, MONDAY_1801, delay)
    assert why == "due" and slot == datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)
    # Tuesday is not a planned day: the newest slot is Monday's, now too late.
    tuesday = MONDAY_1801 + timedelta(days=1)
    assert between.slot_is_due(plan, tuesday, delay) == (None, "te_laat")
    # A slot before the plan (or a change of time) is never sent.
    plan.schedule_from = MONDAY_1801
    assert between.slot_is_due(plan, MONDAY_1801, delay) == (None, "geen")
    plan.schedule_from = MONDAY_1801 - timedelta(days=1)
    plan.status = "gepauzeerd"
    assert between.slot_is_due(plan, MONDAY_1801, delay) == (None, "pauze")
    plan.paused_until = date(2026, 3, 1)  # the pause ended yesterday
    assert between.slot_is_due(plan, MONDAY_1801, delay)[1] == "due"
    # Late, at 22:30 local time, with the grace still open: in the quiet hours.
    plan.status, plan.send_time = "actief", time(21, 45)
    late = datetime(2026, 3, 2, 21, 30, tzinfo=timezone.utc)
    assert between.slot_is_due(plan, late, delay) == (None, "rusttijd")


def test_claim_is_once_per_slot(session, client):
    plan = between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    slot = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)
    first = between.claim_slot(session, plan, slot, MONDAY_1801)
    assert first is not None
    assert between.claim_slot(session, plan, slot, MONDAY_1801) is None
    # Not retryable while 'bezig' or after 'verstuurd'.
    assert between.claim_retry(session, plan, slot, MONDAY_1801, 3) is None
    between.finish_send(session, first.id, "opnieuw", "smtp_verbinding", MONDAY_1801)
    retried = between.claim_retry(session, plan, slot, MONDAY_1801, 3)
    assert retried is not None and retried.attempts == 2 and retried.status == "bezig"
    assert between.claim_retry(session, plan, slot, MONDAY_1801, 3) is None
    between.finish_send(session, first.id, "opnieuw", "x", MONDAY_1801)
    assert between.claim_retry(session, plan, slot, MONDAY_1801, 2) is None  # attempts used
    session.commit()
    # The database itself refuses a second row for the same slot.
    session.add(ReminderSend(plan_id=plan.id, slot_at=slot, channel="email", status="bezig"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_stale_claims_become_unknown_and_are_not_sent_again(session, client):
    plan = between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    slot = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)
    claim = between.claim_slot(session, plan, slot, MONDAY_1801)
    assert (
        between.expire_stale_claims(
            session, MONDAY_1801 + timedelta(minutes=5), timedelta(minutes=15)
        )
        == 0
    )
    later = MONDAY_1801 + timedelta(minutes=20)
    assert between.expire_stale_claims(session, later, timedelta(minutes=15)) == 1
    session.refresh(claim)
    assert claim.status == "onbekend"
    assert between.claim_slot(session, plan, slot, later) is None
    assert between.claim_retry(session, plan, slot, later, 3) is None


# --- push subscriptions -----------------------------------------------------------------------


def _device(session, client, revoked=False, ended=False) -> ChatDevice:
    now = utcnow()
    code = AccessCode(
        client_id=client.id,
        code_hash=f"hash-{now.timestamp()}-{revoked}-{ended}",
        created_at=now,
        revoked_at=now if revoked else None,
    )
    session.add(code)
    session.flush()
    device = ChatDevice(
        access_code_id=code.id,
        token_hash=f"token-{code.id}",
        created_at=now,
        last_seen_at=now,
        ended_at=now if ended else None,
    )
    session.add(device)
    session.flush()
    return device


def test_push_only_to_live_devices(session, client):
    live = _device(session, client)
    ended = _device(session, client, ended=True)
    revoked = _device(session, client, revoked=True)
    for n, device in enumerate((live, ended, revoked)):
        between.save_push_subscription(
            session, client.id, device.id, f"https://push.example/{n}", "p" * 87, "a" * 22
        )
    assert [s.endpoint for s in between.live_push_subscriptions(session, client.id)] == [
        "https://push.example/0"
    ]
    # The same endpoint again is an update, not a second row.
    _, created = between.save_push_subscription(
        session, client.id, live.id, "https://push.example/0", "q" * 87, "b" * 22
    )
    assert not created and count(session, PushSubscription) == 3
    with pytest.raises(ValueError):
        between.save_push_subscription(session, client.id, live.id, "javascript:x", "p", "a")
    assert between.delete_push_subscription(session, client.id, "https://push.example/0")
    assert between.live_push_subscriptions(session, client.id) == []


# --- the worker's question --------------------------------------------------------------------


def test_one_open_question_answered_with_consent(session, client):
    first = between.set_worker_question(
        session,
        client.id,
        "Waar ben je trots op?",
        "Waar ben je trots op?",
        "bron",
        "trots",
        "anna",
    )
    second = between.set_worker_question(
        session,
        client.id,
        "Hoe ging het bij je zus?",
        "Hoe ging het bij je zus?",
        "eigen",
        None,
        "anna",
    )
    session.refresh(first)
    assert first.status == "vervangen"
    assert between.next_question_for(session, CHAT).id == second.id
    between.mark_question_asked(session, CHAT, second.id)
    reflection, created = between.record_question_answer(
        session, CHAT, second.id, "  Goed, we hebben gekookt.  ", False, "msg-1"
    )
    assert created and reflection.theme == "vraag_begeleider"
    assert reflection.shared_with_worker is False and reflection.status == "compleet"
    assert [(a.question_text, a.answer_text) for a in reflection.answers] == [
        ("Hoe ging het bij je zus?", "Goed, we hebben gekookt.")
    ]
    session.refresh(second)
    assert second.status == "beantwoord" and second.reflection_id == reflection.id
    assert between.next_question_for(session, CHAT) is None
    # A retry with the same message id updates the same reflection (e.g. consent given later).
    again, created = between.record_question_answer(
        session, CHAT, second.id, "Goed, we hebben gekookt.", True, "msg-1"
    )
    assert not created and again.id == reflection.id and again.shared_with_worker is True
    assert count(session, Reflection) == 1


def test_the_database_allows_one_open_question(session, client):
    now = utcnow()
    for _ in range(2):
        session.add(
            WorkerQuestion(
                client_id=client.id,
                text_standaard="Vraag?",
                text_eenvoudig="Vraag?",
                source="eigen",
                status="open",
                created_at=now,
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_skip_and_withdraw_and_other_clients(session, client):
    other = Client(chat_id="chat-other", created_at=utcnow(), last_seen_at=utcnow())
    session.add(other)
    session.flush()
    question = between.set_worker_question(
        session, client.id, "Wat wil je zelf?", "Wat wil je zelf?", "bron", "zelf_willen", "anna"
    )
    with pytest.raises(ValueError):
        between.skip_question(session, "chat-other", question.id)
    with pytest.raises(ValueError):
        between.record_question_answer(session, "chat-other", question.id, "x", True, "k-1")
    assert between.skip_question(session, CHAT, question.id).status == "overgeslagen"
    assert between.next_question_for(session, CHAT) is None
    assert between.withdraw_worker_question(session, client.id) is False
    between.set_worker_question(session, client.id, "Vraag?", "Vraag?", "eigen", None, "anna")
    assert between.withdraw_worker_question(session, client.id) is True
    assert between.next_question_for(session, CHAT) is None


# --- agreements -------------------------------------------------------------------------------


def _agreement(session, client, kind="client", due=None, created=None, text="Taak") -> Agreement:
    row = Agreement(
        client_id=client.id,
        kind=kind,
        text=text,
        due_date=due,
        created_at=created or MONDAY_1801 - timedelta(days=7),
        created_by="anna",
    )
    session.add(row)
    session.flush()
    return row


def test_due_tasks_checks_and_promises(session, client):
    due_past = _agreement(session, client, due=date(2026, 3, 1), text="Bel de woningbouw")
    no_date = _agreement(session, client, text="Vacature zoeken")
    future = _agreement(session, client, due=date(2026, 3, 20), text="Later")
    today = _agreement(session, client, created=MONDAY_1801 - timedelta(hours=1), text="Vandaag")
    closed = _agreement(session, client, text="Klaar")
    closed.done_at = MONDAY_1801
    promise = _agreement(session, client, kind="worker", text="Ik bel de schuldhulp")
    _agreement(session, client, kind="ander", text="Iets voor de huisarts")
    due = between.due_client_tasks(session, CHAT, now=MONDAY_1801)
    assert [a.id for a in due] == [due_past.id, no_date.id]
    assert future.id not in [a.id for a in due] and today.id not in [a.id for a in due]
    assert [a.id for a in between.worker_promises(session, CHAT)] == [promise.id]

    at = MONDAY_1801 + timedelta(minutes=5)
    check, created = between.record_agreement_check(
        session, CHAT, due_past.id, "deels", "m-1", now=at
    )
    assert created and check.outcome == "deels"
    again, created = between.record_agreement_check(session, CHAT, due_past.id, "deels", "m-1")
    assert not created and again.id == check.id
    between.record_agreement_check(session, CHAT, no_date.id, "gedaan", "m-2", now=at)
    # Just checked: not asked again right away; "gedaan" is never asked again.
    assert between.due_client_tasks(session, CHAT, now=at + timedelta(hours=1)) == []
    later = at + timedelta(days=between.RECHECK_DAYS, minutes=1)
    # Two days on, the task agreed on Monday is due as well.
    assert [a.id for a in between.due_client_tasks(session, CHAT, now=later)] == [
        due_past.id,
        today.id,
    ]
    latest = between.latest_checks(session, [due_past.id, no_date.id])
    assert latest[due_past.id].outcome == "deels" and latest[no_date.id].outcome == "gedaan"
    for bad in (
        lambda: between.record_agreement_check(session, CHAT, promise.id, "gedaan", "m-3"),
        lambda: between.record_agreement_check(session, CHAT, due_past.id, "misschien", "m-4"),
        lambda: between.record_agreement_check(session, CHAT, no_date.id, "gedaan", "m-1"),
    ):
        with pytest.raises(ValueError):
            bad()


def test_deleting_the_client_deletes_everything_of_issue_14(session, client):
    plan = between.save_reminder_plan(session, client.id, plan_in(), "anna", now=MONDAY_1801)
    between.claim_slot(session, plan, MONDAY_1801, MONDAY_1801)
    device = _device(session, client)
    between.save_push_subscription(session, client.id, device.id, "https://p.example/1", "p", "a")
    q = between.set_worker_question(session, client.id, "Vraag?", "Vraag?", "eigen", None, "anna")
    between.record_question_answer(session, CHAT, q.id, "antwoord", True, "k-9")
    task = _agreement(session, client)
    between.record_agreement_check(session, CHAT, task.id, "gedaan", "k-10")
    session.commit()
    session.execute(delete(Client).where(Client.id == client.id))
    session.commit()
    for model in (ReminderPlan, ReminderSend, PushSubscription, WorkerQuestion, AgreementCheck):
        assert count(session, model) == 0, model
