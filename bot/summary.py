"""Summaries of what a client shared, built from the data only (no generated text).

Per theme: how many reflections, the latest answers quoted word for word, the 1-5 scale
trend, and recurring topics: Dutch lemmas (spaCy, offline pipeline) that occur in at least
two shared reflections, stop words removed. Private reflections count, nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.storage.models import Agreement, SafetyEvent, SmallStep
from bot.web import queries

MAX_TOPICS = 6


@dataclass
class ThemeSummary:
    key: str
    label: str
    icon: str
    count: int
    scales: list[int]
    latest_at: datetime | None
    latest_answers: list[tuple[str, str]]  # (question, answer) of the newest reflection
    topics: list[tuple[str, int]]  # (lemma, number of reflections it occurs in)
    question: str | None = None  # the 1-5 question of the theme; None for venting

    @property
    def trend(self) -> str:
        """Dutch words for the scale trend, from the first to the last scale in the period."""
        if not self.scales:
            return "geen schaal ingevuld"
        if len(self.scales) == 1:
            return f"één keer ingevuld: {self.scales[0]}"
        first, last = self.scales[0], self.scales[-1]
        word = "hoger" if last > first else "lager" if last < first else "gelijk"
        return f"van {first} naar {last} ({word})"


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
    by_theme: dict[str, list] = {}
    for reflection in reflections:
        by_theme.setdefault(reflection.theme, []).append(reflection)
    themes = []
    for key, items in by_theme.items():
        meta = queries.theme(key)
        newest = items[0]
        texts = [" ".join(a.answer_text for a in r.answers) for r in items]
        themes.append(
            ThemeSummary(
                key=key,
                label=meta.label,
                icon=meta.icon,
                count=len(items),
                scales=[r.scale for r in reversed(items) if r.scale is not None],
                latest_at=newest.created_at,
                latest_answers=[(a.question_text, a.answer_text) for a in newest.answers],
                topics=topics(texts),
                question=meta.question,
            )
        )
    order = list(queries.THEMES)
    themes.sort(key=lambda t: order.index(t.key) if t.key in order else len(order))

    def in_period(at: datetime | None) -> bool:
        return at is not None and (since is None or at >= since) and (until is None or at < until)

    steps = [
        s
        for s in queries.shared_steps(session, client_id)
        if s.status == "open" or in_period(s.created_at) or in_period(s.resolved_at)
    ]
    events = [
        e
        for e in queries.safety_events(session, client_id)
        if in_period(e.created_at) or e.acknowledged_at is None
    ]
    open_agreements = [a for a in queries.agreements(session, client_id) if a.done_at is None]
    return Summary(since, until, shared, private, themes, steps, events, open_agreements)


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
    for t in summary.themes:
        lines.append("")
        if t.question:
            lines.append(f"{t.label}: {t.count} keer. Schaal: {t.trend}.")
            lines.append(
                f'  Schaalvraag: "{t.question}" (1 = {queries.SCALE_LOW}, '
                f"5 = {queries.SCALE_HIGH})"
            )
        else:
            lines.append(f"{t.label}: {t.count} keer.")
        for question, answer in t.latest_answers:
            lines.append(f"  - {question}")
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
    return "\n".join(lines)
