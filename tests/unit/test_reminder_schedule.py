"""When reminders are due (bot/reminders/schedule.py): days, quiet hours across midnight,
summer time, and the times clients type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

import pytest

from bot.reminders import schedule


@dataclass
class Plan:
    weekdays: int
    send_time: time
    start_date: date
    end_date: date
    quiet_start: time | None = None
    quiet_end: time | None = None


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_days_mask_and_words():
    mask = schedule.days_to_mask([0, 2, 4])
    assert mask == 0b10101 and schedule.mask_to_days(mask) == [0, 2, 4]
    assert schedule.days_text(mask) == "maandag, woensdag en vrijdag"
    assert schedule.days_text(schedule.days_to_mask([6])) == "zondag"
    assert schedule.days_text(schedule.ALL_DAYS) == "elke dag"
    with pytest.raises(ValueError):
        schedule.days_to_mask([7])


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (time(21, 59), False),
        (time(22, 0), True),
        (time(3, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_across_midnight(moment, expected):
    assert schedule.in_quiet_hours(moment, time(22, 0), time(8, 0)) is expected


def test_quiet_hours_within_a_day_and_none():
    assert schedule.in_quiet_hours(time(13, 0), time(12, 0), time(14, 0))
    assert not schedule.in_quiet_hours(time(14, 0), time(12, 0), time(14, 0))
    assert not schedule.in_quiet_hours(time(3, 0), None, None)


def test_latest_and_next_slot_in_local_time_also_in_summer():
    plan = Plan(schedule.days_to_mask([0]), time(18, 0), date(2026, 3, 1), date(2026, 4, 30))
    # Winter: 18:00 in Amsterdam is 17:00 UTC.
    assert schedule.latest_slot(plan, utc(2026, 3, 2, 17, 5)) == utc(2026, 3, 2, 17, 0)
    assert schedule.latest_slot(plan, utc(2026, 3, 2, 16, 59)) is None  # the first Monday
    # Summer time from 29 March: 18:00 is 16:00 UTC.
    assert schedule.latest_slot(plan, utc(2026, 3, 30, 16, 1)) == utc(2026, 3, 30, 16, 0)
    assert schedule.next_slot(plan, utc(2026, 3, 2, 17, 5)) == utc(2026, 3, 9, 17, 0)
    assert schedule.next_slot(plan, utc(2026, 4, 28, 12, 0)) is None  # after the last day


def test_parse_time():
    assert schedule.parse_time("19:00") == time(19, 0)
    assert schedule.parse_time(" 7.05 ") == time(7, 5)
    assert schedule.parse_time("19 uur") == time(19, 0)
    assert schedule.parse_time("19u30") == time(19, 30)
    for bad in ("25:00", "19:75", "half acht", "", None):
        assert schedule.parse_time(bad) is None
    assert schedule.time_text(time(7, 5)) == "07:05"
