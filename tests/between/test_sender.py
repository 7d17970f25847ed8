"""`python -m bot reminders send` on a real database against real local servers: each slot is
sent at most once (also with two copies running at once, and after a crash), what is sent is
the reviewed text at the client's level, skipped slots are counted, and the log holds counts
only."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time as clock
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.reminders import schedule
from bot.reminders.channels import new_vapid_keys
from bot.reminders.content import reminder_text
from bot.reminders.sender import counts_text, send_due
from bot.settings import PROJECT_ROOT, ReminderSettings
from bot.storage import between
from bot.storage.between_models import PushSubscription, ReminderSend
from bot.storage.db import session_scope
from bot.storage.models import AccessCode, ChatDevice, Client, utcnow
from tests.between.fakes import FakeCm

LINK_BASE = "https://koers.example.nl"
# Monday 2 March 2026 18:01 in Amsterdam; the plans send at 18:00 on ma/wo/vr.
NOW = datetime(2026, 3, 2, 17, 1, tzinfo=timezone.utc)
SLOT = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)


def settings_for(smtp=None, cm=None, vapid=None, **changes) -> ReminderSettings:
    values = dict(public_url=LINK_BASE)
    if smtp is not None:
        values.update(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none")
        values.update(smtp_from="Koers <koers@example.nl>")
    if cm is not None:
        values.update(sms_provider="cm", cm_product_token=FakeCm.TOKEN, cm_url=cm.endpoint)
        values.update(sms_timeout=2.0)
    if vapid is not None:
        values.update(vapid_private_key=vapid, vapid_subject="mailto:beheer@example.nl")
    values.update(changes)
    return ReminderSettings(**values)


def add_client(
    engine, n: int, channel: str, level: str = "standaard", code: bool = True, **plan
) -> int:
    """A client with a reminder plan (made three days ago) and, unless code=False, a working
    access code for the chat."""
    with session_scope(engine) as session:
        client = Client(
            chat_id=f"chat-{n}",
            display_name=f"Cliënt {n}",
            language_level=level,
            created_at=utcnow(),
            last_seen_at=utcnow(),
        )
        session.add(client)
        session.flush()
        if code:
            session.add(AccessCode(client_id=client.id, code_hash=f"code-{n}", created_at=utcnow()))
        values = dict(
            channel=channel,
            weekdays=schedule.days_to_mask([0, 2, 4]),
            send_time=time(18, 0),
            start_date=date(2026, 3, 1),
            end_date=date(2026, 4, 30),
            email=f"client{n}@example.org" if channel == "email" else None,
            phone=f"+3161234{n:04d}" if channel == "sms" else None,
            quiet_start=time(22, 0),
            quiet_end=time(8, 0),
        )
        values.update(plan)
        between.save_reminder_plan(
            session,
            client.id,
            between.ReminderPlanIn(**values),
            "anna",
            now=NOW - timedelta(days=3),
        )
        return client.id


def add_push_device(engine, client_id: int, subscription: dict) -> None:
    with session_scope(engine) as session:
        now = utcnow()
        code = AccessCode(client_id=client_id, code_hash=f"h-{client_id}-{now}", created_at=now)
        session.add(code)
        session.flush()
        device = ChatDevice(
            access_code_id=code.id, token_hash=f"t-{code.id}", created_at=now, last_seen_at=now
        )
        session.add(device)
        session.flush()
        between.save_push_subscription(
            session, client_id, device.id, subscription["endpoint"], **subscription["keys"]
        )


def sends(engine) -> list[ReminderSend]:
    with session_scope(engine) as session:
        return list(session.execute(select(ReminderSend).order_by(ReminderSend.id)).scalars())


def test_each_channel_gets_the_reviewed_text_once(engine, smtp_server, cm, push_service):
    private, _ = new_vapid_keys()
    settings = settings_for(smtp_server, cm, private)
    add_client(engine, 1, "email")
    add_client(engine, 2, "sms", level="eenvoudig")
    pushed = add_client(engine, 3, "push")
    _, subscription = push_service.subscribe()
    add_push_device(engine, pushed, subscription)

    counts = send_due(engine, settings, now=NOW)
    assert counts["verstuurd"] == 3, counts
    link = LINK_BASE + "/chat/"
    standard, simple = reminder_text("standaard", link), reminder_text("eenvoudig", link)
    [mail] = smtp_server.messages
    assert mail["to"] == ["client1@example.org"]
    assert mail["message"]["Subject"] == standard.email_subject
    [sms] = cm.requests
    msg = json.loads(sms["body"])["messages"]["msg"][0]
    assert msg["to"] == [{"number": "0031612340002"}]
    assert msg["body"]["content"] == simple.sms and link in simple.sms
    [push] = push_service.received
    assert json.loads(push["plaintext"]) == {
        "title": standard.push_title,
        "body": standard.push_body,
        "url": "/chat/",
        "tag": "koers-herinnering",
    }
    assert {s.status for s in sends(engine)} == {"verstuurd"}
    assert {s.slot_at for s in sends(engine)} == {SLOT}

    # The same slot again (the timer runs every 5 minutes): nothing is sent twice.
    again = send_due(engine, settings, now=NOW + timedelta(minutes=4))
    assert again["verstuurd"] == 0 and again["al_geclaimd"] == 3
    assert len(smtp_server.messages) == 1 and len(cm.requests) == 1
    assert len(push_service.received) == 1


def test_skips_are_counted_and_claim_nothing(engine, smtp_server):
    settings = settings_for(smtp_server, vapid=new_vapid_keys()[0])
    paused = add_client(engine, 1, "email")
    add_client(engine, 2, "email", send_time=time(16, 30))  # 91 minutes ago: too late
    add_client(engine, 3, "sms")  # SMS is not set up on this server
    add_client(engine, 4, "push")  # no phone with notifications
    add_client(engine, 6, "email", code=False)  # cannot log in to the chat
    with session_scope(engine) as session:
        between.pause_reminders(session, "chat-1", now=NOW - timedelta(days=1))
    counts = send_due(engine, settings, now=NOW)
    assert counts == {
        "pauze": 1,
        "te_laat": 1,
        "kanaal_uit": 1,
        "geen_abonnement": 1,
        "geen_toegang": 1,
    }
    assert sends(engine) == [] and smtp_server.messages == []
    assert paused
    quiet = add_client(engine, 5, "email", send_time=time(21, 50))
    late_evening = datetime(2026, 3, 2, 21, 5, tzinfo=timezone.utc)  # 22:05 local
    assert send_due(engine, settings, now=late_evening)["rusttijd"] == 1
    assert quiet and smtp_server.messages == []


def test_a_client_who_says_stop_during_a_run_gets_nothing(engine, smtp_server, monkeypatch):
    """The plans are read once at the start of a run; a run with many plans takes a while.
    A client who stops the reminders meanwhile ("geen berichtjes meer") is not sent one."""
    from bot.reminders import sender

    settings = settings_for(smtp_server)
    add_client(engine, 1, "email")
    add_client(engine, 2, "email")
    deliver = sender._deliver

    def deliver_then_stop(engine_, channels, plan, *args):
        deliver(engine_, channels, plan, *args)
        with session_scope(engine) as session:  # client 2 stops while client 1 is sent
            between.stop_reminders(session, "chat-2", now=NOW)

    monkeypatch.setattr(sender, "_deliver", deliver_then_stop)
    counts = send_due(engine, settings, now=NOW)
    assert counts == {"verstuurd": 1, "gewijzigd": 1}, counts
    assert [m["to"] for m in smtp_server.messages] == [["client1@example.org"]]
    assert "1 gestopt of veranderd tijdens de run" in counts_text(counts)


@pytest.mark.parametrize("by", ["client", "worker", "client, then pause and resume"])
def test_moving_the_time_later_after_todays_reminder_sends_none_more_that_day(
    engine, smtp_server, by
):
    """Sent at 18:00, then moved to 20:00 the same evening (by the client in the chat, or by
    the worker saving the plan again, or by the client who then pauses and resumes): no
    second reminder that day, and the next one the client is told about is the next planned
    day's, at the new time."""
    settings = settings_for(smtp_server)
    client_id = add_client(engine, 1, "email")
    assert send_due(engine, settings, now=NOW) == {"verstuurd": 1}
    moved_at = NOW + timedelta(minutes=30)
    with session_scope(engine) as session:
        if by.startswith("client"):
            status = between.change_reminder_time(session, "chat-1", time(20, 0), now=moved_at)
            if by.endswith("resume"):
                between.pause_reminders(session, "chat-1", now=moved_at)
                status = between.resume_reminders(
                    session, "chat-1", now=moved_at + timedelta(minutes=5)
                )
        else:
            plan = between.ReminderPlanIn(
                channel="email",
                weekdays=schedule.days_to_mask([0, 2, 4]),
                send_time=time(20, 0),
                start_date=date(2026, 3, 1),
                end_date=date(2026, 4, 30),
                email="client1@example.org",
                phone=None,
                quiet_start=time(22, 0),
                quiet_end=time(8, 0),
            )
            between.save_reminder_plan(session, client_id, plan, "anna", now=moved_at)
            status = between.reminder_status(session, "chat-1", now=moved_at)
    wednesday = datetime(2026, 3, 4, 19, 0, tzinfo=timezone.utc)  # 20:00 in Amsterdam
    assert status.next_at == wednesday
    assert send_due(engine, settings, now=NOW + timedelta(hours=2)) == {}
    assert len(smtp_server.messages) == 1
    assert send_due(engine, settings, now=wednesday + timedelta(minutes=1)) == {"verstuurd": 1}


def test_moving_the_time_before_todays_reminder_sends_it_at_the_new_time(engine, smtp_server):
    settings = settings_for(smtp_server)
    add_client(engine, 1, "email")
    with session_scope(engine) as session:
        between.change_reminder_time(session, "chat-1", time(20, 0), now=NOW - timedelta(hours=1))
    assert send_due(engine, settings, now=NOW) == {}
    assert send_due(engine, settings, now=NOW + timedelta(hours=2)) == {"verstuurd": 1}


def test_a_certain_failure_is_retried_an_uncertain_one_never(engine, cm):
    settings = settings_for(cm=cm)
    add_client(engine, 1, "sms")
    cm.mode = "down"  # 503: the provider took nothing
    assert send_due(engine, settings, now=NOW)["opnieuw"] == 1
    cm.mode = "ok"
    assert send_due(engine, settings, now=NOW + timedelta(minutes=5))["verstuurd"] == 1
    [row] = sends(engine)
    assert (row.status, row.attempts) == ("verstuurd", 2)
    assert len(cm.requests) == 2
    assert send_due(engine, settings, now=NOW + timedelta(minutes=10))["al_geclaimd"] == 1
    assert len(cm.requests) == 2

    add_client(engine, 2, "sms")
    cm.delay = 3.0  # no answer in time: it may have arrived
    later = NOW + timedelta(days=2)  # Wednesday's slot
    assert send_due(engine, settings, now=later)["mislukt"] == 2
    cm.delay = 0
    before = len(cm.requests)
    assert send_due(engine, settings, now=later + timedelta(minutes=5))["al_geclaimd"] == 2
    assert len(cm.requests) == before


def test_gone_push_subscription_is_deleted(engine, push_service):
    private, _ = new_vapid_keys()
    client_id = add_client(engine, 1, "push")
    number, subscription = push_service.subscribe()
    add_push_device(engine, client_id, subscription)
    push_service.gone.add(number)
    counts = send_due(engine, settings_for(vapid=private), now=NOW)
    assert counts["mislukt"] == 1
    with session_scope(engine) as session:
        assert session.execute(select(PushSubscription)).first() is None


def test_the_log_and_output_hold_counts_not_content(engine, smtp_server, cm, caplog):
    settings = settings_for(smtp_server, cm)
    add_client(engine, 1, "email")
    add_client(engine, 2, "sms")
    with caplog.at_level(logging.DEBUG, logger="koers.reminders"):
        counts = send_due(engine, settings, now=NOW)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("koers"))
    assert "verstuurd=2" in logged
    text = reminder_text("standaard", LINK_BASE + "/chat/")
    for secret in ("client1@example.org", "612340002", "example.nl/chat", text.push_body, "Koers:"):
        assert secret not in logged
    assert counts_text(counts) == "Herinneringen: 2 verstuurd."


def test_no_public_url_sends_nothing(engine, smtp_server):
    from bot.reminders.channels import ChannelOff

    add_client(engine, 1, "email")
    with pytest.raises(ChannelOff):
        send_due(engine, settings_for(smtp_server, public_url=None), now=NOW)
    assert sends(engine) == []


# --- real processes: two at once, and a crash -------------------------------------------------


def command_env(db_url: str, cm: FakeCm, tmp_path) -> dict[str, str]:
    return {
        **os.environ,
        "KOERS_ENV_FILE": str(tmp_path / "geen.env"),
        "KOERS_DATABASE_URL": db_url,
        "KOERS_PUBLIC_URL": LINK_BASE,
        "KOERS_SMS_PROVIDER": "cm",
        "KOERS_CM_PRODUCT_TOKEN": FakeCm.TOKEN,
        "KOERS_CM_URL": cm.endpoint,
        "KOERS_SMS_TIMEOUT": "20",
        "PYTHONWARNINGS": "ignore",
    }


def start(env: dict[str, str], now: datetime) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "reminders", "send", "--now", now.isoformat()],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_copies_at_once_send_each_slot_once(engine, db_url, cm, tmp_path):
    for n in range(1, 21):
        add_client(engine, n, "sms")
    cm.delay = 0.15
    env = command_env(db_url, cm, tmp_path)
    first, second = start(env, NOW), start(env, NOW)
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    numbers = [json.loads(r["body"])["messages"]["msg"][0]["to"][0]["number"] for r in cm.requests]
    assert len(numbers) == 20 and len(set(numbers)) == 20
    references = {json.loads(r["body"])["messages"]["msg"][0]["reference"] for r in cm.requests}
    assert len(references) == 20
    rows = sends(engine)
    assert len(rows) == 20 and {r.status for r in rows} == {"verstuurd"}
    # Both really worked: each sent some, and each saw slots the other had claimed.
    stdout = [out for out, _ in outputs]
    assert all("verstuurd" in out for out in stdout), stdout
    assert all("opgepakt" in out for out in stdout), stdout
    for out, err in outputs:
        assert "0031" not in out + err and "example.nl/chat" not in out + err


def test_a_crash_after_the_claim_never_sends_again(engine, db_url, cm, tmp_path):
    add_client(engine, 1, "sms")
    cm.delay = 20.0  # the provider hangs; the sender is killed while it waits
    process = start(command_env(db_url, cm, tmp_path), NOW)
    deadline = clock.monotonic() + 60
    while not cm.requests and clock.monotonic() < deadline:
        clock.sleep(0.05)
    assert cm.requests, "the sender never reached the provider"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    [row] = sends(engine)
    assert row.status == "bezig"
    cm.delay = 0
    settings = settings_for(cm=cm)
    assert send_due(engine, settings, now=NOW + timedelta(minutes=5))["al_geclaimd"] == 1
    counts = send_due(engine, settings, now=NOW + timedelta(minutes=20))
    assert counts["onbekend"] == 1 and counts["verstuurd"] == 0
    assert len(cm.requests) == 1
    [row] = sends(engine)
    assert row.status == "onbekend"


def test_replace_keeps_frozen_settings():
    """ReminderSettings is frozen: a run cannot change the settings it was given."""
    settings = settings_for()
    assert replace(settings, max_delay_minutes=5).max_delay_minutes == 5
    with pytest.raises(AttributeError):
        settings.public_url = "x"  # type: ignore[misc]


def test_cli_vapid_keys_and_test_message(smtp_server, monkeypatch, capsys):
    from bot import manage
    from bot.reminders.channels import vapid_public_key
    from bot.settings import get_reminder_settings, get_settings

    assert manage.main(["reminders", "vapid-keys"], settings=get_settings()) == 0
    out = capsys.readouterr().out
    private = out.split("KOERS_VAPID_PRIVATE_KEY=", 1)[1].split("\n", 1)[0]
    assert vapid_public_key(private) in out
    for name, value in {
        "KOERS_PUBLIC_URL": LINK_BASE,
        "KOERS_SMTP_HOST": "127.0.0.1",
        "KOERS_SMTP_PORT": str(smtp_server.port),
        "KOERS_SMTP_SECURITY": "none",
        "KOERS_SMTP_FROM": "koers@example.nl",
    }.items():
        monkeypatch.setenv(name, value)
    get_reminder_settings.cache_clear()
    try:
        code = manage.main(
            ["reminders", "test", "email", "beheer@example.org", "--level", "eenvoudig"],
            settings=get_settings(),
        )
        assert code == 0 and "Verstuurd" in capsys.readouterr().out
        [mail] = smtp_server.messages
        assert mail["to"] == ["beheer@example.org"]
        assert (
            reminder_text("eenvoudig", LINK_BASE + "/chat/").email_subject
            == mail["message"]["Subject"]
        )
        assert (
            manage.main(["reminders", "test", "sms", "06-12345678"], settings=get_settings()) == 2
        )
        assert "niet ingesteld" in capsys.readouterr().err
    finally:
        get_reminder_settings.cache_clear()
