"""Summaries of what a client shared, built from the data only (no generated text).

Per theme: how many reflections, the latest answers quoted word for word with each question
exactly as the client saw it (and in which language level), the 1-5 scale trend, and
recurring topics: Dutch lemmas (spaCy, offline pipeline) that occur in at least two shared
reflections, stop words removed. Private reflections count, nothing else. Also the mood
check-ins, activity in the period (counts only), and suggested questions from the banks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlalchemy.orm import Session

from bot import content
from bot.storage import queries
from bot.storage.models import (
    Agreement,
    Client,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    SmallStep,
)
from bot.suggestions import Suggestion, suggest
from bot.vocabulary import SIMPLE, STANDARD

MAX_TOPICS = 6


@dataclass
class ThemeSummary:
    key: str
    label: str
    icon: str
    count: int
    scales: list[int]
    latest_at: datetime | None
    # (question as shown, answer, language level as shown) of the newest reflection
    latest_answers: list[tuple[str, str, str]]
    topics: list[tuple[str, int]]  # (lemma, number of reflections it occurs in)
    question: str | None = None  # the 1-5 question as the client last saw it; None: venting
    question_level: str = ""  # its language level in words ("eenvoudige taal", ...)

    @property
    def trend(self) -> str:
        return trend_words(self.scales)


def trend_words(values: list[int]) -> str:
    """Dutch words for a 1-5 trend, from the first to the last value in the period."""
    if not values:
        return "geen cijfer ingevuld"
    if len(values) == 1:
        return f"één keer ingevuld: {values[0]}"
    first, last = values[0], values[-1]
    word = "hoger" if last > first else "lager" if last < first else "gelijk"
    return f"van {first} naar {last} ({word})"


NOT_STORED = "taalniveau niet bewaard"


@lru_cache(maxsize=1)
def _bank_wordings() -> dict[tuple[str, str], tuple[str, str]]:
    """(theme, prompt key) -> (standard, simple wording) of every prompt in the banks."""
    return {
        (theme, p.key): (p.standaard, p.eenvoudig)
        for theme in content.theme_keys()
        for p in content.prompts(theme)
    }


def answer_level(answer: ReflectionAnswer) -> str:
    """The language level in which the client saw this question, in words."""
    return queries.LEVEL_WORDS.get(answer.language_level or "", NOT_STORED)


def shown_scale(reflection: Reflection) -> tuple[str | None, str]:
    """(question, level in words) of the reflection's 1-5 question as the client saw it.

    Rows from before the wording was stored (migration 0005) fall back to the theme's
    question in the level of the reflection's answers, marked as "waarschijnlijk"; without
    any clue, the standard wording, marked as not stored.
    """
    if reflection.scale is None or reflection.theme not in content.theme_keys():
        return None, ""
    if reflection.scale_question:
        words = queries.LEVEL_WORDS.get(reflection.scale_level or "", NOT_STORED)
        return reflection.scale_question, words
    level = next((a.language_level for a in reflection.answers if a.language_level), None)
    if level is None:
        for answer in reflection.answers:
            wordings = _bank_wordings().get((reflection.theme, answer.question_key))
            if wordings is not None and answer.question_text in wordings:
                level = SIMPLE if answer.question_text == wordings[1] else STANDARD
                break
    if level is None:
        return content.scale_question(reflection.theme, STANDARD), NOT_STORED
    wording = content.scale_question(reflection.theme, level)
    return wording, f"waarschijnlijk {queries.LEVEL_WORDS[level]}"


@dataclass
class Mood:
    """The mood check-ins of the period (1 = slecht, 5 = goed), oldest first."""

    points: list[tuple[datetime, int]]

    @property
    def values(self) -> list[int]:
        return [mood for _at, mood in self.points]

    @property
    def trend(self) -> str:
        return trend_words(self.values)

    @property
    def average(self) -> str:
        if not self.points:
            return ""
        return f"{sum(self.values) / len(self.values):.1f}".replace(".", ",")


@dataclass
class Summary:
    since: datetime | None
    until: datetime | None
    shared: int
    private: int
    themes: list[ThemeSummary]
    steps: list[SmallStep] = field(default_factory=list)
    events: list[SafetyEvent] = field(default_factory=list)
    agreements: list[Agreement] = field(default_factory=list)
    mood: Mood = field(default_factory=lambda: Mood([]))
    activity: queries.Activity = field(default_factory=queries.Activity)
    last_checkin: datetime | None = None
    suggestions: list[Suggestion] = field(default_factory=list)


def topics(texts_per_reflection: list[str], limit: int = MAX_TOPICS) -> list[tuple[str, int]]:
    """Lemmas found in at least two of the texts, most frequent first (spaCy, stop words
    and punctuation removed)."""
    if len(texts_per_reflection) < 2:
        return []
    from bot.nlp import load_pipeline

    nlp = load_pipeline()
    seen: Counter[str] = Counter()
    for doc in nlp.pipe(texts_per_reflection):
        lemmas = {
            (token.lemma_ or token.text).lower()
            for token in doc
            if token.is_alpha and not token.is_stop and len(token.text) > 2
        }
        lemmas = {lemma for lemma in lemmas if not doc.vocab[lemma].is_stop}
        seen.update(lemmas)
    common = [(lemma, n) for lemma, n in seen.items() if n >= 2]
    common.sort(key=lambda item: (-item[1], item[0]))
    return common[:limit]


def build_summary(
    session: Session,
    client_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Summary:
    reflections = queries.shared_reflections(session, client_id, since, until)  # newest first
    shared, private = queries.reflection_counts(session, client_id, since, until)
    client = session.get(Client, client_id)
    by_theme: dict[str, list] = {}
    for reflection in reflections:
        by_theme.setdefault(reflection.theme, []).append(reflection)
    themes = []
    for key, items in by_theme.items():
        meta = queries.theme(key)
        newest = items[0]
        texts = [" ".join(a.answer_text for a in r.answers) for r in items]
        with_scale = next((r for r in items if r.scale is not None), None)
        question, question_level = shown_scale(with_scale) if with_scale else (None, "")
        themes.append(
            ThemeSummary(
                key=key,
                label=meta.label,
                icon=meta.icon,
                count=len(items),
                scales=[r.scale for r in reversed(items) if r.scale is not None],
                latest_at=newest.created_at,
                latest_answers=[
                    (a.question_text, a.answer_text, answer_level(a)) for a in newest.answers
                ],
                topics=topics(texts),
                question=question if meta.question else None,
                question_level=question_level,
            )
        )
    order = list(queries.THEMES)
    themes.sort(key=lambda t: order.index(t.key) if t.key in order else len(order))

    def in_period(at: datetime | None) -> bool:
        return at is not None and (since is None or at >= since) and (until is None or at < until)

    all_steps = queries.shared_steps(session, client_id)
    steps = [
        s
        for s in all_steps
        if s.status == "open" or in_period(s.created_at) or in_period(s.resolved_at)
    ]
    events = [
        e
        for e in queries.safety_events(session, client_id)
        if in_period(e.created_at) or e.acknowledged_at is None
    ]
    open_agreements = [a for a in queries.agreements(session, client_id) if a.done_at is None]
    level = client.language_level if client is not None else STANDARD
    suggestions = suggest(
        queries.answered_prompts(session, client_id),
        reflections,
        all_steps,
        level,
        since=since,
    )
    return Summary(
        since,
        until,
        shared,
        private,
        themes,
        steps,
        events,
        open_agreements,
        mood=Mood(queries.mood_series(session, client_id, since, until)),
        activity=queries.activity(session, client_id, since, until),
        last_checkin=queries.last_checkin(session, client_id),
        suggestions=suggestions,
    )


def summary_text(summary: Summary, name: str) -> str:
    """The summary as plain Dutch text (for the CLI)."""
    lines = [f"Samenvatting voor {name}"]
    period = "alles"
    if summary.since:
        period = f"vanaf {summary.since:%d-%m-%Y}"
    lines.append(f"Periode: {period}")
    lines.append(
        f"Gedeelde reflecties: {summary.shared}; niet gedeeld: {summary.private} (alleen aantal)"
    )
    mood = summary.mood
    if mood.points:
        lines.append(
            f"Stemming (1 = {queries.MOOD_LOW}, 5 = {queries.MOOD_HIGH}): {len(mood.points)} "
            f"check-in(s), {mood.trend}, gemiddeld {mood.average}"
        )
    activity = summary.activity
    colours = ", ".join(f"{c} {n}x" for c, n in activity.lookups_per_colour().items() if n)
    lines.append(
        f"Activiteit: {activity.checkins} check-in(s), {activity.drafts} niet afgemaakt, "
        f"signaleringsplan {len(activity.lookups)}x bekeken" + (f" ({colours})" if colours else "")
    )
    for t in summary.themes:
        lines.append("")
        if t.question:
            lines.append(f"{t.label}: {t.count} keer. Schaal: {t.trend}.")
            lines.append(
                f'  Schaalvraag: "{t.question}" (1 = {queries.SCALE_LOW}, '
                f"5 = {queries.SCALE_HIGH}) – {t.question_level}"
            )
        else:
            lines.append(f"{t.label}: {t.count} keer.")
        for question, answer, level in t.latest_answers:
            lines.append(f"  - {question} ({level})")
            lines.append(f'    "{answer}"')
        if t.topics:
            lines.append("  Komt vaker terug: " + ", ".join(f"{w} ({n}x)" for w, n in t.topics))
    if summary.steps:
        lines.append("")
        lines.append("Kleine stappen:")
        for step in summary.steps:
            lines.append(f"  - {step.text} ({step.status.replace('_', ' ')})")
    if summary.events:
        lines.append("")
        lines.append("Veiligheidsmeldingen:")
        for event in summary.events:
            state = "gezien" if event.acknowledged_at else "NOG NIET GEZIEN"
            category = queries.CATEGORY_LABELS.get(event.category, event.category)
            detected = queries.DETECTED_LABELS.get(event.detected_by, event.detected_by)
            lines.append(
                f"  - {event.created_at:%d-%m-%Y %H:%M} ({state}) {category}; "
                f"opgemerkt door {detected}."
            )
            lines.append(f'    Cliënt schreef: "{event.message_text}"')
            lines.append(f'    Koers liet zien: "{event.response_text}"')
    if summary.agreements:
        lines.append("")
        lines.append("Open afspraken:")
        for a in summary.agreements:
            lines.append(f"  - {a.text}")
    if summary.suggestions:
        lines.append("")
        lines.append("Vragen voor het gesprek:")
        for suggestion in summary.suggestions:
            lines.append(f"  - {suggestion.question}")
            lines.append(f"    Waarom: {suggestion.reason}")
    return "\n".join(lines)
