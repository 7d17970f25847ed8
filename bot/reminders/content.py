"""The reviewed reminder texts in bot/content/reminders.yml, per channel and language level."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.reminders.schedule import time_text
from bot.storage.between_models import PLAN_ACTIVE
from bot.vocabulary import LANGUAGE_LEVELS, SIMPLE, STANDARD

if TYPE_CHECKING:
    from bot.storage.between import ReminderStatus

REMINDERS_FILE = Path(__file__).resolve().parent.parent / "content" / "reminders.yml"
LEVELS = LANGUAGE_LEVELS


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(REMINDERS_FILE.read_text(encoding="utf-8"))


def _level(level: str | None) -> str:
    return SIMPLE if level == SIMPLE else STANDARD


@dataclass(frozen=True)
class ReminderText:
    """Exactly what one reminder says, on every channel."""

    sms: str
    email_subject: str
    email_body: str
    push_title: str
    push_body: str


def reminder_text(level: str | None, link: str) -> ReminderText:
    """The reminder at the client's language level, with the chat link filled in."""
    data, lvl = _data(), _level(level)
    return ReminderText(
        sms=data["sms"][lvl].format(link=link),
        email_subject=data["email"]["subject"][lvl],
        email_body=data["email"]["body"][lvl].format(link=link),
        push_title=data["push"]["title"][lvl],
        push_body=data["push"]["body"][lvl],
    )


def control_text(key: str, level: str | None, **values: str) -> str:
    """A client-facing answer about their reminders (controls section), filled in."""
    return _data()["controls"][key][_level(level)].format(**values)


def time_changed_text(level: str | None, new_time: time, status: ReminderStatus) -> str:
    """The read-back of a new reminder time (`status`: the reminders after the change). Says
    when nothing more comes today, and when nothing comes at all any more: no reminder day is
    left before the plan ends (it ends today, or its last day has passed)."""
    if status.status == PLAN_ACTIVE and status.next_at is None:
        key = "time_changed_none_left"
    elif status.from_tomorrow:
        key = "time_changed_from_tomorrow"
    else:
        key = "time_changed"
    return control_text(key, level, tijd=time_text(new_time))


def refusal_text(code: str, level: str | None, quiet: tuple[time, time] | None = None) -> str:
    """Why a client's change to their reminders was refused (bot.storage.between.
    ReminderRefused: no_plan, already_stopped, quiet_hours with the quiet hours (start, end));
    the chat and the web chat's reminder page say the same."""
    if code == "quiet_hours" and quiet:
        start, end = quiet
        return control_text("quiet_hours", level, van=time_text(end), tot=time_text(start))
    return control_text(code, level)


def control_keys() -> list[str]:
    return list(_data()["controls"])
