"""Suggested questions for the next conversation, drawn from the question banks.

Built from what the client shared (their answers, scales and small steps), never from private
reflections. Each suggestion names its reason, so that the worker can judge it. Nothing is
generated: the questions are the prompts of `bot/content/themes.yml`, in the client's own
language level, preferring prompts the client has not answered before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot import content
from bot.storage.models import Reflection, SmallStep

MAX_SUGGESTIONS = 3
QUOTE_LENGTH = 80


@dataclass(frozen=True)
class Suggestion:
    theme: str
    question: str  # a prompt of the theme's bank, in `level`
    level: str
    reason: str  # why: in plain Dutch for the worker
    prompt_key: str


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LENGTH else text[: QUOTE_LENGTH - 1].rstrip() + "…"


def pick_prompt(theme: str, asked: Sequence[str], taken: set[str]) -> content.Prompt | None:
    """A prompt of the theme's bank: the first one the client never answered, otherwise the
    one answered longest ago (`asked` is newest first); never one in `taken`."""
    prompts = [p for p in content.prompts(theme) if p.key not in taken]
    if not prompts:
        return None
    fresh = [p for p in prompts if p.key not in asked]
    if fresh:
        return fresh[0]
    return max(prompts, key=lambda p: asked.index(p.key))


def _date(at: datetime | None) -> str:
    if at is None:
        return ""
    from bot.localtime import local  # the dashboard's time zone

    return local(at).strftime("%d-%m-%Y")


def suggest(
    asked: Mapping[str, Sequence[str]],
    in_period: Sequence[Reflection],
    steps: Sequence[SmallStep],
    level: str,
    since: datetime | None = None,
    limit: int = MAX_SUGGESTIONS,
) -> list[Suggestion]:
    """Two or three questions for the conversation, one per theme, most pressing first.

    `asked`: per theme the prompt keys the client answered in shared reflections, newest
    first (queries.answered_prompts); `in_period`: the shared reflections of the sheet's period (newest first); `steps`: the
    shared small steps. Reasons, in this order: an open small step (oldest first), a step that
    went "een beetje" or did not work out in the period, a scale that went down in the period,
    and the newest shared answers.
    """
    themes = set(content.theme_keys())
    reasons: list[tuple[str, str]] = []  # (theme, reason)

    def in_time(at: datetime | None) -> bool:
        return at is not None and (since is None or at >= since)

    for step in sorted(steps, key=lambda s: (s.created_at, s.id or 0)):
        if step.status == "open":
            reasons.append((step.theme, f"Open kleine stap sinds {_date(step.created_at)}: "))
        elif step.status in ("beetje", "niet_gelukt") and in_time(step.resolved_at):
            went = "ging een beetje" if step.status == "beetje" else "lukte niet"
            reasons.append((step.theme, f"Kleine stap {went} ({_date(step.resolved_at)}): "))
        else:
            continue
        reasons[-1] = (step.theme, reasons[-1][1] + f"“{_quote(step.text)}”")

    scales: dict[str, list[int]] = {}
    for reflection in reversed(in_period):  # oldest first
        if reflection.scale is not None:
            scales.setdefault(reflection.theme, []).append(reflection.scale)
    for theme, values in scales.items():
        if len(values) > 1 and values[-1] < values[0]:
            reasons.append(
                (
                    theme,
                    f"Het cijfer voor dit thema ging omlaag: van {values[0]} naar {values[-1]}.",
                )
            )

    for reflection in in_period:
        if reflection.answers:
            answer = reflection.answers[-1].answer_text
            reasons.append(
                (
                    reflection.theme,
                    f"Deelde op {_date(reflection.created_at)} over dit thema: “{_quote(answer)}”",
                )
            )

    suggestions: list[Suggestion] = []
    used_themes: set[str] = set()
    taken: set[str] = set()
    for theme, reason in reasons:
        if theme not in themes or theme in used_themes:
            continue  # venting has no question bank; one question per theme
        prompt = pick_prompt(theme, asked.get(theme, []), taken)
        if prompt is None:
            continue
        used_themes.add(theme)
        taken.add(prompt.key)
        suggestions.append(Suggestion(theme, prompt.text(level), level, reason, prompt.key))
        if len(suggestions) >= limit:
            break
    return suggestions
