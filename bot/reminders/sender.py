"""`python -m bot reminders send`: send every reminder that is due now, each slot at most once.

Safe to run every few minutes from a systemd timer or cron, also twice at the same time:
1. claims that a crashed run left behind ('bezig' for more than 15 minutes) become
   'onbekend' and are never sent again (the reminder may have gone out);
2. for each plan, only the newest slot that passed counts, and only within
   KOERS_REMINDER_MAX_DELAY_MINUTES, outside the quiet hours and not during a pause, and
   only for a client who can log in to the chat (an access code that is not revoked);
3. the slot is claimed in its own committed transaction by inserting the unique
   (plan, slot) row: a second run, now or later, cannot claim it again;
4. only then the reminder is sent; the outcome is written afterwards.
A slot that certainly did not reach anyone (no connection) is 'opnieuw' and may be claimed
again by a later run (an atomic conditional update), at most MAX_ATTEMPTS times in all.

The log holds counts only: never a text, an address or a client.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from bot.reminders.channels import (
    ChannelOff,
    EmailChannel,
    PushChannel,
    SendError,
    SmsProvider,
    SubscriptionGone,
    sms_provider,
)
from bot.reminders.content import reminder_text
from bot.settings import ReminderSettings
from bot.storage import between
from bot.storage.between_models import PushSubscription, ReminderPlan
from bot.storage.db import session_scope
from bot.storage.models import utcnow

logger = logging.getLogger("koers.reminders")

MAX_ATTEMPTS = 3
STALE_CLAIM = timedelta(minutes=15)

# Dutch words for the counts the command prints (and the log keys, in English).
COUNT_LABELS = {
    "verstuurd": "verstuurd",
    "opnieuw": "mislukt, volgende keer opnieuw",
    "mislukt": "mislukt",
    "al_geclaimd": "al door een andere run opgepakt",
    "onbekend": "afgebroken eerder (niet opnieuw verstuurd)",
    "pauze": "gepauzeerd",
    "te_laat": "te laat, overgeslagen",
    "rusttijd": "rusttijd, overgeslagen",
    "kanaal_uit": "kanaal niet ingesteld",
    "geen_abonnement": "geen telefoon met meldingen aan",
    "geen_toegang": "geen werkende toegangscode",
    "gewijzigd": "gestopt of veranderd tijdens de run",
}


@dataclass
class Channels:
    """The channels of one run, built on first use from the settings."""

    settings: ReminderSettings
    email: EmailChannel | None = None
    sms: SmsProvider | None = None
    push: PushChannel | None = None
    off: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        if name in self.off:
            return None
        current = getattr(self, name)
        if current is not None:
            return current
        builders: dict[str, Callable[[ReminderSettings], Any]] = {
            "email": EmailChannel.from_settings,
            "sms": sms_provider,
            "push": PushChannel.from_settings,
        }
        try:
            current = builders[name](self.settings)
        except ChannelOff as exc:
            self.off[name] = str(exc)
            logger.warning("reminder channel %s is off: %s", name, exc)
            return None
        setattr(self, name, current)
        return current


def _deliver(
    engine: Engine, channels: Channels, plan: ReminderPlan, level: str, link: str, ref: str
):
    text = reminder_text(level, link)
    if plan.channel == "email":
        channels.get("email").send(plan.email, text.email_subject, text.email_body)
    elif plan.channel == "sms":
        channels.get("sms").send(plan.phone, text.sms, ref)
    else:
        _push(engine, channels.get("push"), plan.client_id, text.push_title, text.push_body)


def _push(engine: Engine, channel: PushChannel, client_id: int, title: str, body: str) -> None:
    """Send to every live subscription of the client; sent if one phone got it."""
    with session_scope(engine) as session:
        subscriptions = [
            (s.id, s.endpoint, s.p256dh, s.auth)
            for s in between.live_push_subscriptions(session, client_id)
        ]
    payload = {"title": title, "body": body, "url": "/chat/", "tag": "koers-herinnering"}
    errors: list[SendError] = []
    delivered = 0
    for sub_id, endpoint, p256dh, auth in subscriptions:
        try:
            channel.send(endpoint, p256dh, auth, payload)
            delivered += 1
            with session_scope(engine) as session:
                row = session.get(PushSubscription, sub_id)
                if row is not None:
                    row.last_success_at = utcnow()
        except SubscriptionGone as exc:
            with session_scope(engine) as session:
                between.forget_push_subscription(session, sub_id)
            errors.append(exc)
        except SendError as exc:
            errors.append(exc)
    if delivered:
        return
    if not errors:
        raise SendError("push_geen_abonnement", retry=False)
    raise next((e for e in errors if not isinstance(e, SubscriptionGone)), errors[0])


def send_due(engine: Engine, settings: ReminderSettings, now: datetime | None = None) -> Counter:
    """Send the reminders that are due at `now` (default: the current time). Returns counts."""
    now = now or utcnow()
    link = settings.chat_url
    if not link:
        raise ChannelOff("KOERS_PUBLIC_URL is not set: reminders need the chat address")
    max_delay = timedelta(minutes=settings.max_delay_minutes)
    counts: Counter = Counter()
    with session_scope(engine) as session:
        expired = between.expire_stale_claims(session, now, STALE_CLAIM)
    if expired:
        counts["onbekend"] += expired
    with session_scope(engine) as session:
        candidates = [
            (plan, client.language_level)
            for plan, client in between.plans_to_consider(session, now)
        ]
        with_access = between.clients_with_chat_access(
            session, [plan.client_id for plan, _ in candidates]
        )
    channels = Channels(settings)
    for plan, level in candidates:
        slot, why = between.slot_is_due(plan, now, max_delay)
        if slot is None:
            if why != "geen":
                counts[why] += 1
            continue
        if plan.client_id not in with_access:
            counts["geen_toegang"] += 1
            continue
        if channels.get(plan.channel) is None:
            counts["kanaal_uit"] += 1
            continue
        if plan.channel == "push":
            with session_scope(engine) as session:
                if not between.live_push_subscriptions(session, plan.client_id):
                    counts["geen_abonnement"] += 1
                    continue
        # Claim first, in its own transaction, committed before anything is sent. The plan is
        # read again there: a run with many plans takes a while, and the client may have said
        # "geen berichtjes meer" (or the worker changed the time) since the run began.
        with session_scope(engine) as session:
            fresh = session.get(ReminderPlan, plan.id)
            if fresh is None or between.slot_is_due(fresh, now, max_delay)[0] != slot:
                counts["gewijzigd"] += 1
                continue
            claim = between.claim_slot(session, plan, slot, now) or between.claim_retry(
                session, plan, slot, now, MAX_ATTEMPTS
            )
            claimed = (claim.id, claim.attempts) if claim is not None else None
        if claimed is None:
            counts["al_geclaimd"] += 1
            continue
        send_id, attempts = claimed
        status, error = "verstuurd", None
        try:
            _deliver(engine, channels, plan, level, link, f"koers-{send_id}")
        except SendError as exc:
            status = "opnieuw" if exc.retry and attempts < MAX_ATTEMPTS else "mislukt"
            error = exc.kind
        except Exception as exc:  # never leave the claim open; the error type only, no text
            status, error = "mislukt", type(exc).__name__
            logger.error("reminder %s failed with %s", send_id, type(exc).__name__)
        with session_scope(engine) as session:
            between.finish_send(session, send_id, status, error, utcnow())
        counts[status] += 1
    logger.info(
        "reminders: %s",
        ", ".join(f"{key}={value}" for key, value in sorted(counts.items()) if value) or "none",
    )
    return counts


def counts_text(counts: Counter) -> str:
    """The counts in Dutch for the administrator, e.g. "3 verstuurd, 1 mislukt"."""
    parts = [f"{counts[key]} {label}" for key, label in COUNT_LABELS.items() if counts.get(key)]
    return "Herinneringen: " + (", ".join(parts) if parts else "niets te versturen") + "."
