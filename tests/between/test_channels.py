"""The three reminder channels against real local servers: SMTP (aiosmtpd, also STARTTLS with
a login), SMS (a fake CM.com that checks the request) and web push (a fake push service that
checks the VAPID signature and decrypts the payload per RFC 8291)."""

from __future__ import annotations

import json

import pytest

from bot.reminders.channels import (
    CmSmsProvider,
    EmailChannel,
    PushChannel,
    SendError,
    SubscriptionGone,
    new_vapid_keys,
    vapid_public_key,
)
from bot.reminders.content import reminder_text
from tests.between.fakes import FakeCm, free_port

LINK = "https://koers.example.nl/chat/"


# --- e-mail -----------------------------------------------------------------------------------


def test_email_over_plain_smtp(smtp_server):
    channel = EmailChannel("127.0.0.1", smtp_server.port, "none", "Koers <koers@example.nl>")
    text = reminder_text("standaard", LINK)
    channel.send("client@example.org", text.email_subject, text.email_body)
    assert len(smtp_server.messages) == 1
    got = smtp_server.messages[0]
    assert got["to"] == ["client@example.org"]
    message = got["message"]
    assert message["Subject"] == "Koers: heb je even tijd?"
    assert message["From"] == "Koers <koers@example.nl>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@example.nl>")
    body = message.get_content()
    assert LINK in body and body.replace("\r\n", "\n").strip() == text.email_body.strip()


def test_email_with_starttls_and_login(smtp_tls_server):
    channel = EmailChannel(
        "127.0.0.1",
        smtp_tls_server.port,
        "starttls",
        "koers@example.nl",
        user=smtp_tls_server.USER,
        password=smtp_tls_server.PASSWORD,
        ssl_context=smtp_tls_server.client_context,
    )
    text = reminder_text("eenvoudig", LINK)
    channel.send("client@example.org", text.email_subject, text.email_body)
    got = smtp_tls_server.messages[0]
    assert got["tls"] is True
    assert got["message"]["Subject"] == "Koers: even chatten?"


def test_email_wrong_password_is_not_retried(smtp_tls_server):
    channel = EmailChannel(
        "127.0.0.1",
        smtp_tls_server.port,
        "starttls",
        "koers@example.nl",
        user=smtp_tls_server.USER,
        password="fout",
        ssl_context=smtp_tls_server.client_context,
    )
    with pytest.raises(SendError) as info:
        channel.send("client@example.org", "x", "y")
    assert info.value.kind.startswith("smtp_login_") and not info.value.retry
    assert smtp_tls_server.messages == []


def test_email_server_down_may_be_retried():
    channel = EmailChannel("127.0.0.1", free_port(), "none", "koers@example.nl", timeout=3)
    with pytest.raises(SendError) as info:
        channel.send("client@example.org", "x", "y")
    assert info.value.retry and info.value.kind.startswith("smtp_verbinding")


def test_email_refused_recipient(smtp_server):
    smtp_server.refuse["weg@example.org"] = "550 No such user"
    smtp_server.refuse["later@example.org"] = "451 Try again later"
    channel = EmailChannel("127.0.0.1", smtp_server.port, "none", "koers@example.nl")
    with pytest.raises(SendError) as permanent:
        channel.send("weg@example.org", "x", "y")
    assert permanent.value.kind == "smtp_ontvanger_550" and not permanent.value.retry
    with pytest.raises(SendError) as temporary:
        channel.send("later@example.org", "x", "y")
    assert temporary.value.retry
    assert smtp_server.messages == []


# --- SMS through CM.com -----------------------------------------------------------------------


def provider(cm: FakeCm, **kwargs) -> CmSmsProvider:
    return CmSmsProvider(product_token=FakeCm.TOKEN, sender="Koers", url=cm.endpoint, **kwargs)


def test_sms_request_is_what_cm_documents(cm):
    text = reminder_text("standaard", LINK).sms
    provider(cm).send("+31612345678", text, "koers-17")
    assert len(cm.requests) == 1
    request = cm.requests[0]
    assert request["method"] == "POST" and request["path"] == "/v1.0/message"
    assert request["content_type"].startswith("application/json")
    body = json.loads(request["body"])
    assert body == {
        "messages": {
            "authentication": {"producttoken": FakeCm.TOKEN},
            "msg": [
                {
                    "allowedChannels": ["SMS"],
                    "from": "Koers",
                    "to": [{"number": "0031612345678"}],
                    "body": {"type": "auto", "content": text},
                    "reference": "koers-17",
                }
            ],
        }
    }


@pytest.mark.parametrize(
    ("mode", "kind", "retry"),
    [
        ("rejected", "sms_cm_afgewezen_402", False),
        ("bad_token", "sms_cm_101", False),
        ("down", "sms_http_503", True),
    ],
)
def test_sms_failures(cm, mode, kind, retry):
    cm.mode = mode
    with pytest.raises(SendError) as info:
        provider(cm).send("+31612345678", "tekst", "koers-1")
    assert (info.value.kind, info.value.retry) == (kind, retry)


def test_sms_no_connection_may_be_retried_but_no_answer_may_not(cm):
    with pytest.raises(SendError) as refused:
        CmSmsProvider(FakeCm.TOKEN, url=f"http://127.0.0.1:{free_port()}/v1.0/message").send(
            "+31612345678", "tekst", "koers-1"
        )
    assert refused.value.retry
    cm.delay = 2.0
    with pytest.raises(SendError) as slow:
        provider(cm, timeout=0.5).send("+31612345678", "tekst", "koers-2")
    assert not slow.value.retry  # it may have arrived: never sent twice


# --- web push ---------------------------------------------------------------------------------


def test_web_push_is_encrypted_per_rfc8291_and_signed(push_service):
    private, public = new_vapid_keys()
    assert vapid_public_key(private) == public
    number, subscription = push_service.subscribe()
    channel = PushChannel(private, "mailto:beheer@example.nl")
    payload = {"title": "Koers", "body": "Heb je even tijd voor de chat?", "url": "/chat/"}
    channel.send(subscription["endpoint"], **subscription["keys"], payload=payload)
    assert len(push_service.received) == 1
    got = push_service.received[0]
    assert "error" not in got, got.get("error")
    # Decrypted by the fake service from the raw bytes: the payload arrived intact...
    assert json.loads(got["plaintext"]) == payload
    # ...and was not readable on the wire.
    assert b"chat" not in got["raw"] and b"Koers" not in got["raw"]
    assert got["vapid"]["sub"] == "mailto:beheer@example.nl"
    assert got["vapid"]["public_key"] == public


def test_web_push_to_a_wrong_key_cannot_be_read(push_service):
    """The check can fail: a message for another subscriber's keys does not decrypt."""
    private, _ = new_vapid_keys()
    _, first = push_service.subscribe()
    _, second = push_service.subscribe()
    with pytest.raises(SendError) as info:
        PushChannel(private, "mailto:a@example.nl").send(
            first["endpoint"], **second["keys"], payload={"x": 1}
        )
    assert info.value.kind == "push_http_400" and not info.value.retry
    assert "InvalidTag" in push_service.received[0]["error"]


def test_web_push_gone_and_down(push_service):
    private, _ = new_vapid_keys()
    number, subscription = push_service.subscribe()
    channel = PushChannel(private, "mailto:a@example.nl")
    push_service.gone.add(number)
    with pytest.raises(SubscriptionGone):
        channel.send(subscription["endpoint"], **subscription["keys"], payload={"x": 1})
    push_service.gone.clear()
    push_service.mode = "down"
    with pytest.raises(SendError) as info:
        channel.send(subscription["endpoint"], **subscription["keys"], payload={"x": 1})
    assert info.value.kind == "push_http_503" and info.value.retry
