"""When reminders are due: days, time, quiet hours and dates, in Dutch local time.

Pure functions without a database, so the rules are easy to test:
- a plan has weekdays (a bit mask, bit 0 = Monday), a local send time, optional quiet hours
  and a first and last day;
- a slot is a planned day at the send time, as a UTC instant;
- the sender only looks at the newest slot that has passed (`latest_slot`): a missed slot is
  never sent late in a burst.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone
from typing import Protocol

try:
    from zoneinfo import ZoneInfo

    LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
except Exception:  # pragma: no cover - no time zone data on this machine
    LOCAL_TZ = timezone.utc  # type: ignore[assignment]

DAY_NAMES = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
DAY_SHORT = ("ma", "di", "wo", "do", "vr", "za", "zo")
ALL_DAYS = 0b1111111


class PlanTimes(Protocol):
    weekdays: int
    send_time: time
    quiet_start: time | None
    quiet_end: time | None
    start_date: date
    end_date: date


def days_to_mask(days: Iterable[int]) -> int:
    """Weekday numbers (0 = Monday .. 6 = Sunday) as a bit mask."""
    mask = 0
    for day in days:
        if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
            raise ValueError("a weekday is a number from 0 (Monday) to 6 (Sunday)")
        mask |= 1 << day
    return mask


def mask_to_days(mask: int) -> list[int]:
    return [day for day in range(7) if mask & (1 << day)]


def days_text(mask: int) -> str:
    """Dutch words for the days: "maandag, woensdag en vrijdag", or "elke dag"."""
    if mask == ALL_DAYS:
        return "elke dag"
    names = [DAY_NAMES[day] for day in mask_to_days(mask)]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " en " + names[-1]


def in_quiet_hours(moment: time, start: time | None, end: time | None) -> bool:
    """Whether a local time falls in the quiet hours [start, end), which may cross midnight."""
    if start is None or end is None or start == end:
        return False
    moment = moment.replace(second=0, microsecond=0, tzinfo=None)
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def local_now(now: datetime) -> datetime:
    return now.astimezone(LOCAL_TZ)


def local_today(now: datetime) -> date:
    return local_now(now).date()


def slot_at(day: date, send_time: time) -> datetime:
    """The UTC instant of `send_time` on local `day`."""
    return datetime.combine(day, send_time.replace(tzinfo=None), tzinfo=LOCAL_TZ).astimezone(
        timezone.utc
    )


def planned_on(plan: PlanTimes, day: date) -> bool:
    """Whether local `day` is a reminder day of the plan (its weekdays, within its dates)."""
    return plan.start_date <= day <= plan.end_date and bool(plan.weekdays & (1 << day.weekday()))


_planned = planned_on


def latest_slot(plan: PlanTimes, now: datetime) -> datetime | None:
    """The newest slot at or before `now` (UTC), or None when none in the last week."""
    today = local_today(now)
    for back in range(8):
        day = today - timedelta(days=back)
        if not _planned(plan, day):
            continue
        slot = slot_at(day, plan.send_time)
        if slot <= now:
            return slot
    return None


def next_slot(plan: PlanTimes, now: datetime) -> datetime | None:
    """The first slot after `now` (UTC), or None when the plan has ended."""
    today = local_today(now)
    for ahead in range(8):
        day = today + timedelta(days=ahead)
        if day > plan.end_date:
            return None
        if not _planned(plan, day):
            continue
        slot = slot_at(day, plan.send_time)
        if slot > now:
            return slot
    return None


_TIME = re.compile(r"^\s*(\d{1,2})(?:\s*[:.hu]\s*(\d{2}))?\s*(?:uur)?\s*$", re.IGNORECASE)


def parse_time(text: str | None) -> time | None:
    """A time as people type it: "19:00", "19.30", "7:05", "19 uur", "19u30". None if unclear.

    Only whole clock times of 24 hours: "half acht" or "7 uur 's avonds" are left to the chat.
    """
    match = _TIME.match(text or "")
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def time_text(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"
