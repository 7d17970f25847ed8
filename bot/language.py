"""Plain-language checks for everything a client reads.

Rules from the domain brief: sentences of at most 12 words (8 in simple mode), at most one
question per message, at most one comma per sentence in simple mode, and no jargon.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_WORDS = {"standaard": 12, "eenvoudig": 8}
# Words clients must never read (jargon or stigmatising labels).
FORBIDDEN = (
    "empowerment",
    "zingeving",
    "herstel",
    "regie",
    "reflectie",
    "chime",
    "dader",
    "delinquent",
    "patiënt",
    "patient",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


@dataclass(frozen=True)
class Problem:
    sentence: str
    issue: str


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("-• ").strip()
        if line:
            out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def words(sentence: str) -> list[str]:
    sentence = _PLACEHOLDER.sub("X", sentence)
    return [w for w in sentence.split() if any(ch.isalnum() for ch in w)]


def check_text(text: str, level: str = "standaard") -> list[Problem]:
    """Every way `text` breaks the plain-language rules for this level (empty: fine)."""
    problems: list[Problem] = []
    limit = MAX_WORDS[level]
    for sentence in sentences(text):
        count = len(words(sentence))
        if count > limit:
            problems.append(Problem(sentence, f"{count} words (max {limit})"))
        if level == "eenvoudig" and sentence.count(",") > 1:
            problems.append(Problem(sentence, "more than one comma"))
    if text.count("?") > 1:
        problems.append(Problem(text, "more than one question"))
    lowered = text.lower()
    for word in FORBIDDEN:
        if re.search(rf"\b{re.escape(word)}", lowered):
            problems.append(Problem(text, f"forbidden word: {word}"))
    return problems
