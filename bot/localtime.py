"""The organisation's time zone (Europe/Amsterdam), for dates a worker reads: the dashboard,
the summaries and the management commands."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

try:
    from zoneinfo import ZoneInfo

    LOCAL_TZ: Any = ZoneInfo("Europe/Amsterdam")
except Exception:  # no time zone data on this machine: show UTC
    LOCAL_TZ = timezone.utc


def local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(LOCAL_TZ)


def day_start(day: date) -> datetime:
    """Midnight (local time) of `day`, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(timezone.utc)
