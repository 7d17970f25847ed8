"""The three reminder channels: e-mail over SMTP, SMS through a provider, and web push.

Every channel raises `SendError` when a reminder did not go out. `retry=True` means it
certainly did not reach anyone (no connection, the server refused it with a temporary code),
so the sender may try the same slot again; `retry=False` means give up (a permanent refusal,
or an answer that never came: then it may have gone out, and sending again could send twice).
`kind` is a short code for the log and the database (never message text or an address).
"""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import requests

from bot.settings import ReminderSettings


class SendError(Exception):
    def __init__(self, kind: str, retry: bool) -> None:
        super().__init__(kind)
        self.kind = kind[:64]
        self.retry = retry


class ChannelOff(Exception):
    """The channel's settings are missing: nothing can be sent on it."""


# --- e-mail -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailChannel:
    host: str
    port: int
    security: str  # starttls | ssl | none
    sender: str
    user: str | None = None
    password: str | None = None
    timeout: float = 20.0
    # For tests against a local server with its own certificate; never in production.
    ssl_context: ssl.SSLContext | None = None

    @classmethod
    def from_settings(cls, settings: ReminderSettings) -> EmailChannel:
        if not settings.smtp_host or not settings.smtp_from:
            raise ChannelOff("KOERS_SMTP_HOST and KOERS_SMTP_FROM are needed for e-mail")
        if settings.smtp_security not in ("starttls", "ssl", "none"):
            raise ChannelOff("KOERS_SMTP_SECURITY must be starttls, ssl or none")
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
        )

    def message(self, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = self.sender.rsplit("@", 1)[-1].strip(" >") or None
        message["Message-ID"] = make_msgid(domain=domain)
        # An automatic message (RFC 3834): no out-of-office replies to it.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        return message

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        smtp.ehlo()
        if self.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if self.user:
            smtp.login(self.user, self.password or "")
        return smtp

    def send(self, to: str, subject: str, body: str) -> None:
        message = self.message(to, subject, body)
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"smtp_login_{exc.smtp_code}", retry=False) from exc
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            # Nothing was handed over yet: safe to try again later.
            raise SendError(f"smtp_verbinding_{type(exc).__name__}", retry=True) from exc
        try:
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            temporary = all(400 <= code < 500 for code in codes)
            raise SendError(f"smtp_ontvanger_{codes[0] if codes else 0}", temporary) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise SendError(f"smtp_{exc.smtp_code}", 400 <= exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Cut off while sending: it may have been delivered. Do not send again.
            raise SendError(f"smtp_onderbroken_{type(exc).__name__}", retry=False) from exc
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


# --- SMS --------------------------------------------------------------------------------------


class SmsProvider(Protocol):
    """Sends one SMS. `to` is in international form (+316...); `reference` is ours (no
    personal data) and comes back in the provider's delivery reports."""

    @property
    def name(self) -> str: ...

    def send(self, to: str, text: str, reference: str) -> None: ...


@dataclass(frozen=True)
class CmSmsProvider:
    """CM.com Business Messaging API (JSON over HTTPS), as documented by CM.com:

        POST https://gw.messaging.cm.com/v1.0/message
        {"messages": {"authentication": {"producttoken": "<token>"},
                      "msg": [{"allowedChannels": ["SMS"], "from": "Koers",
                               "to": [{"number": "00316..."}],
                               "body": {"type": "auto", "content": "..."},
                               "reference": "koers-123"}]}}

    The answer holds `errorCode` (0 = accepted) and per message a `status` ("Accepted" or
    "Rejected"); HTTP 400 with an errorCode for a bad token or request.
    """

    product_token: str
    sender: str = "Koers"
    url: str = "https://gw.messaging.cm.com/v1.0/message"
    timeout: float = 20.0
    name: str = "cm"

    @staticmethod
    def number(to: str) -> str:
        """CM.com wants 00 instead of +: +31612345678 -> 0031612345678."""
        return "00" + to[1:] if to.startswith("+") else to

    def request_body(self, to: str, text: str, reference: str) -> dict[str, Any]:
        return {
            "messages": {
                "authentication": {"producttoken": self.product_token},
                "msg": [
                    {
                        "allowedChannels": ["SMS"],
                        "from": self.sender,
                        "to": [{"number": self.number(to)}],
                        "body": {"type": "auto", "content": text},
                        "reference": reference,
                    }
                ],
            }
        }

    def send(self, to: str, text: str, reference: str) -> None:
        try:
            response = requests.post(
                self.url,
                json=self.request_body(to, text, reference),
                headers={"Accept": "application/json"},
                timeout=(5, self.timeout),
            )
        except requests.RequestException as exc:
            if _before_sending(exc):
                raise SendError("sms_verbinding", retry=True) from exc
            raise SendError(f"sms_{type(exc).__name__}", retry=False) from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        code = data.get("errorCode") if isinstance(data, dict) else None
        if response.status_code == 429 or response.status_code >= 500:
            raise SendError(f"sms_http_{response.status_code}", retry=True)
        if response.status_code != 200 or code not in (0, None):
            raise SendError(f"sms_cm_{code if code is not None else response.status_code}", False)
        messages = data.get("messages") or []
        if not messages or any(str(m.get("status", "")).lower() != "accepted" for m in messages):
            first = messages[0] if messages else {}
            raise SendError(f"sms_cm_afgewezen_{first.get('messageErrorCode', '?')}", False)


def sms_provider(settings: ReminderSettings) -> SmsProvider:
    if settings.sms_provider == "cm":
        if not settings.cm_product_token:
            raise ChannelOff("KOERS_CM_PRODUCT_TOKEN is needed for SMS through CM.com")
        return CmSmsProvider(
            product_token=settings.cm_product_token,
            sender=settings.sms_sender,
            url=settings.cm_url,
            timeout=settings.sms_timeout,
        )
    if settings.sms_provider:
        raise ChannelOff(f"unknown SMS provider {settings.sms_provider!r} (known: cm)")
    raise ChannelOff("KOERS_SMS_PROVIDER is not set: SMS is off")


# --- web push ---------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair: (private key, public key), both base64url (raw P-256)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(private), _b64url(public)


def vapid_public_key(private_key: str) -> str:
    """The applicationServerKey for the browser (uncompressed P-256 point, base64url)."""
    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid

    vapid = Vapid.from_string(private_key=private_key)
    return _b64url(
        vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


class SubscriptionGone(SendError):
    """The push service no longer knows this subscription (404/410): delete it."""


@dataclass(frozen=True)
class PushChannel:
    private_key: str
    subject: str
    timeout: float = 20.0
    # A reminder not delivered within a day is not worth showing any more.
    ttl: int = 12 * 3600

    @classmethod
    def from_settings(cls, settings: ReminderSettings) -> PushChannel:
        if not settings.vapid_private_key or not settings.vapid_subject:
            raise ChannelOff("KOERS_VAPID_PRIVATE_KEY and KOERS_VAPID_SUBJECT are needed")
        return cls(settings.vapid_private_key, settings.vapid_subject, settings.push_timeout)

    def send(self, endpoint: str, p256dh: str, auth: str, payload: dict[str, Any]) -> None:
        from pywebpush import WebPushException, webpush

        try:
            webpush(
                subscription_info={"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=self.private_key,
                vapid_claims={"sub": self.subject},
                content_encoding="aes128gcm",
                timeout=self.timeout,
                ttl=self.ttl,
                headers={"Urgency": "normal"},
            )
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                raise SubscriptionGone(f"push_weg_{status}", retry=False) from exc
            if status is None:
                cause = exc.__cause__ or exc.__context__
                raise SendError("push_verbinding", retry=_before_sending(cause)) from exc
            raise SendError(f"push_http_{status}", retry=status == 429 or status >= 500) from exc
        except requests.RequestException as exc:
            raise SendError("push_verbinding", retry=_before_sending(exc)) from exc
        except OSError as exc:
            raise SendError("push_verbinding", retry=False) from exc


def _before_sending(exc: BaseException | None) -> bool:
    """Whether a requests error certainly happened before the request reached the server:
    a connect timeout, a refused connection or an unknown host. A read timeout or a dropped
    connection after sending may mean it arrived."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(
        exc, requests.exceptions.ReadTimeout
    ):
        return False
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | NameResolutionError)
