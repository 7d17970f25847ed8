"""Plain-language checks for everything a client reads.

Rules from the domain brief: sentences of at most 12 words (8 in simple mode), at most one
question per message, at most one comma per sentence in simple mode, and no jargon.

Readability: `flesch_douma` is the Dutch Flesch formula (Douma 1960), with the constants of
textstat's `nl` configuration and syllables from pyphen's `nl_NL` hyphenation dictionary (the
same counts textstat uses; tests/test_readability.py cross-checks against textstat). Bars, per
text: at least 85 in simple mode, 70 in standard mode (`MIN_FLESCH_DOUMA`). pyphen and textstat
are development dependencies; pyphen is imported only when a readability function is called.

Known limit of counting syllables by hyphenation: the dictionary never splits off a single
vowel at the edge of a word ("eten", "over", "idee" count as one syllable). This makes scores
a little higher than a hand count; it is the same for both levels, so comparisons hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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
# Flesch-Douma bars per level (issue 10): simple texts must read clearly easier.
MIN_FLESCH_DOUMA = {"standaard": 70.0, "eenvoudig": 85.0}
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


# Flesch-Douma (Douma 1960): the Dutch form of Flesch reading ease, the same constants as
# textstat's "nl" configuration (tests/test_readability.py checks our scores against it).
DOUMA_BASE = 206.835
DOUMA_PER_WORD_IN_SENTENCE = 0.93
DOUMA_PER_SYLLABLE_IN_WORD = 77.0


@lru_cache(maxsize=1)
def _hyphenator() -> Any:
    """pyphen's Dutch hyphenation dictionary (a development dependency, imported lazily)."""
    import pyphen

    return pyphen.Pyphen(lang="nl_NL")


def syllable_count(word: str) -> int:
    """Syllables of one word: pyphen nl_NL hyphenation points plus one (0 for no letters)."""
    letters = re.sub(r"[^\w]", "", word.lower())
    if not letters:
        return 0
    return len(_hyphenator().positions(letters)) + 1


def flesch_douma(text: str) -> float:
    """Flesch-Douma reading ease of a client text (higher is easier).

    206.835 - 0.93 x words per sentence - 77 x syllables per word. Sentences and words are
    counted as `check_text` counts them: every line and every sentence end splits (textstat
    skips sentences of one or two words, which would make "Dank je." texts look harder), and a
    placeholder such as {thema_label} counts as one short word.
    """
    found = sentences(text)
    counted = [w for sentence in found for w in words(sentence)]
    if not counted:
        raise ValueError(f"no words to score: {text!r}")
    syllables = sum(syllable_count(w) for w in counted)
    return (
        DOUMA_BASE
        - DOUMA_PER_WORD_IN_SENTENCE * len(counted) / len(found)
        - DOUMA_PER_SYLLABLE_IN_WORD * syllables / len(counted)
    )


def example_words(example: str) -> list[str]:
    """The words of an example answer after "Bijvoorbeeld:" (at most 8 are allowed)."""
    body = example.split(":", 1)[1] if example.startswith("Bijvoorbeeld:") else example
    return words(body)
