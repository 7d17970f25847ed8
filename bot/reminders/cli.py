"""The `python -m bot reminders ...` commands (wired into bot/manage.py).

    python -m bot reminders send                 send what is due now (timer/cron, every 5 min)
    python -m bot reminders vapid-keys           make a key pair for web push (once)
    python -m bot reminders test email ADRES     send the standard text once, to check SMTP
    python -m bot reminders test sms +316...     the same for SMS

Messages are Dutch, like the other management commands. Output and log: counts only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone

from bot.reminders.channels import (
    ChannelOff,
    EmailChannel,
    SendError,
    new_vapid_keys,
    sms_provider,
)
from bot.reminders.content import reminder_text
from bot.settings import Settings, get_reminder_settings
from bot.storage.between import normalize_phone, valid_email
from bot.storage.db import make_engine
from bot.vocabulary import LANGUAGE_LEVELS, STANDARD


def _now(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit("Gebruik een tijd als 2026-03-02T18:05+01:00.") from exc
    if value.tzinfo is None:
        raise SystemExit("Geef de tijdzone mee, bijvoorbeeld 2026-03-02T18:05+01:00.")
    return value.astimezone(timezone.utc)


def send_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.reminders.sender import counts_text, send_due

    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    engine = make_engine(settings.database_url)
    try:
        counts = send_due(engine, get_reminder_settings(), now=_now(args.now))
    except ChannelOff as exc:
        print(f"Er is niets verstuurd: {exc}.", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(counts_text(counts))
    return 1 if counts.get("mislukt") else 0


def vapid_keys_cmd(args: argparse.Namespace, settings: Settings) -> int:
    private, public = new_vapid_keys()
    print("# Zet deze regels in .env (de geheime sleutel hoort niet in git):")
    print(f"KOERS_VAPID_PRIVATE_KEY={private}")
    print("KOERS_VAPID_SUBJECT=mailto:beheer@example.nl")
    print(f"# Publieke sleutel (de chat haalt hem zelf op): {public}")
    return 0


def test_cmd(args: argparse.Namespace, settings: Settings) -> int:
    reminders = get_reminder_settings()
    link = reminders.chat_url or "https://example.nl/chat/"
    text = reminder_text(args.level, link)
    try:
        if args.channel == "email":
            address = valid_email(args.address)
            if address is None:
                raise SystemExit("Dit e-mailadres klopt niet.")
            EmailChannel.from_settings(reminders).send(address, text.email_subject, text.email_body)
        else:
            number = normalize_phone(args.address)
            if number is None:
                raise SystemExit("Dit is geen mobiel nummer (bijvoorbeeld 06-12345678).")
            sms_provider(reminders).send(number, text.sms, "koers-test")
    except ChannelOff as exc:
        print(f"Dit kanaal is niet ingesteld: {exc}.", file=sys.stderr)
        return 2
    except SendError as exc:
        print(f"Versturen lukte niet ({exc.kind}).", file=sys.stderr)
        return 1
    print("Verstuurd. Kijk of het bericht aankomt.")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reminders", help="herinneringen versturen en instellen")
    rsub = p.add_subparsers(dest="reminders_command", required=True)
    s = rsub.add_parser("send", help="verstuur wat nu aan de beurt is (elke 5 minuten)")
    s.add_argument("--now", help=argparse.SUPPRESS)  # tests: pretend it is this time
    s.set_defaults(func=send_cmd)
    s = rsub.add_parser("vapid-keys", help="maak een sleutelpaar voor web push")
    s.set_defaults(func=vapid_keys_cmd)
    s = rsub.add_parser("test", help="stuur de standaardtekst één keer, om te testen")
    s.add_argument("channel", choices=["email", "sms"])
    s.add_argument("address", help="e-mailadres of mobiel nummer")
    s.add_argument("--level", choices=LANGUAGE_LEVELS, default=STANDARD)
    s.set_defaults(func=test_cmd)
