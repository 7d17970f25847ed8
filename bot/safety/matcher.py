"""Deterministic crisis matcher on Dutch lemmas (spaCy blank `nl` + lookup lemmatizer).

The word list lives in `patterns.yml` beside this file (reviewed content, see its header).
The matcher is the safety net beside the trained `crisis` intent: a hit always gets at least
the check question, and the crisis help at once unless the meaning clearly denies it (rule 1a
in `bot.safety.decision`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from spacy.language import Language
from spacy.matcher import Matcher

from bot.nlp import load_pipeline

PATTERNS_FILE = Path(__file__).with_name("patterns.yml")

# Order matters: when several categories hit, the first one decides which help comes first.
# Someone else's threat comes before the client's own anger when both fit equally well.
CATEGORIES: tuple[str, ...] = (
    "suicide",
    "overdose",
    "self_harm",
    "threatened",
    "abuse",
    "danger_to_others",
)
EXCLUSIONS = "exclusions"
# Negations ("ik wil niet dood"): they cancel a hit as the exclusions do, but count as an
# everyday idiom only in a text of negations only (`CrisisMatcher.analyse`).
DENIALS = "denials"
# Phrases that only ask the check question ("category: pattern"; rule 7a of the decision).
ASK = "ask"
# Everyday purposes that cancel the ask phrase they overlap ("hij heeft een mes voor de uien").
ASK_NOT = "ask_not"
# ... with small words only beside them in a clause ("nee ik wil echt niet dood hoor"): run-on
# typing has no clauses to split ("ik wil niet dood ik sta nu op het dak"), so every other
# word beside a negation lets the meaning of the message count (twenty-eighth pass).
SMALL_WORDS = frozenset(
    "ik nee neen nope ja jawel joh hoor echt niet nie toch gewoon gwn nou zeker "
    "absoluut helemaal eigenlijk egt ook heus he hè haha hahaha lol ok oke oké prima dus zeg "
    "man bro".split()
)

# Spoken contractions: "kwil" -> "ik wil", "kga" -> "ik ga", "k wil" -> "ik wil".
_HEM = re.compile(r"(?:(?<=\s)|^)'?(?:m|em)(?=\s|$)")
# "me zelf" / "mij zelf" written apart (twenty-eighth pass: "ik heb me zelf gesneden" got
# nothing from the word list).
_SELF = re.compile(r"\b(me|mij)\s+zelf\b")
_CONTRACTION = re.compile(
    r"\b(?:k|'k)\s?(wil|wou|ga|ben|zou|heb|hoop|kan|moet|denk|zweer|snij|sla|maak|voel)\b"
)
# "k" on its own is "ik" before any word ("k durf nie naar huis", "k sta bij zn deur";
# twenty-ninth pass); joined to the verb only for the verbs above.
# Not after "die", "de", "dat", "mn", "m'n", "mijn", "me" or "vieze", where "k" is a curse ("die
# k jongen").
_K_ALONE = re.compile(
    r"(?:(?<=\s)|^)(?<!die )(?<!de )(?<!dat )(?<!mn )(?<!m'n )(?<!mijn )(?<!me )(?<!vieze )"
    r"'?k(?=\s+[a-z])"
)
_REPEATS = re.compile(r"(.)\1{2,}")
_PUNCT = re.compile(r"[^\w\s'-]+")


def normalise(text: str) -> str:
    """Lower-case, strip accents and emoji, squeeze repeated letters, expand contractions."""
    # Turkish keyboards: the dotted capital İ loses its dot below; the dotless ı is an i.
    text = unicodedata.normalize("NFKD", text.lower().replace("ı", "i"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _PUNCT.sub(" ", text)
    text = _REPEATS.sub(r"\1\1", text)
    text = _K_ALONE.sub("ik", text)
    text = _CONTRACTION.sub(r"ik \1", text)
    text = _HEM.sub("hem", text)  # "ik sla 'm" / "ik sla m" -> "ik sla hem"
    text = _SELF.sub(r"\1zelf", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class CrisisHit:
    category: str
    start: int
    end: int
    text: str
    pattern: str


def _token_spec(spec: str) -> dict:
    optional = False
    if spec == "_":
        return {"OP": "?"}
    if spec.endswith("?") and not (spec.startswith("/") and spec.endswith("/")):
        optional, spec = True, spec[:-1]
        if spec == "_":
            raise ValueError("'_?' is no token: '_' is already an optional gap")
    if spec.startswith("/") != (spec.endswith("/") and len(spec) > 1):
        raise ValueError(f"broken regular expression token (no spaces allowed): {spec!r}")
    if "" in spec.split("|"):
        raise ValueError(f"empty alternative in token: {spec!r}")
    if spec.startswith("/") and spec.endswith("/") and len(spec) > 2:
        attr: dict = {"LOWER": {"REGEX": spec[1:-1]}}
    elif spec.startswith("~"):
        attr = {"LEMMA": {"IN": [s.lstrip("~") for s in spec.split("|")]}}
    else:
        words = spec.split("|")
        attr = {"LOWER": words[0]} if len(words) == 1 else {"LOWER": {"IN": words}}
    if optional:
        attr["OP"] = "?"
    return attr


def spoken(pattern: str) -> str:
    """The line with "nie" beside every "niet": spoken spelling ("ik wil nie meer leven", "zie
    het nie meer zitten") had no hit (twenty-ninth pass). Not for the negations: "nie" is no
    negation there ("ik wil nie dood maar wel ..." keeps its hit; twenty-eighth pass)."""
    specs = []
    for spec in pattern.split():
        optional = spec.endswith("?") and not spec.startswith("/")
        words = spec[:-1] if optional else spec
        if not words.startswith(("/", "~")) and "niet" in words.split("|"):
            if "nie" not in words.split("|"):
                words += "|nie"
        specs.append(words + ("?" if optional else ""))
    return " ".join(specs)


def compile_pattern(pattern: str) -> list[dict]:
    """Turn one line of the word list into a spaCy Matcher pattern."""
    specs = pattern.split()
    if not specs or all(s == "_" for s in specs):
        raise ValueError(f"empty crisis pattern: {pattern!r}")
    tokens = [_token_spec(s) for s in specs]
    # A pattern may not start or end with an optional wildcard: it would only widen spans.
    while tokens and tokens[0] == {"OP": "?"}:
        tokens.pop(0)
    while tokens and tokens[-1] == {"OP": "?"}:
        tokens.pop()
    return tokens


def _free(hit: CrisisHit, spans: list[tuple[int, int]]) -> bool:
    """No span (an exclusion, a negation, an everyday purpose) overlaps the hit."""
    return not any(start < hit.end and hit.start < end for start, end in spans)


class CrisisMatcher:
    """Find crisis language in one message. Thread-safe for reading after construction."""

    def __init__(self, nlp: Language, patterns: dict[str, list[str]]) -> None:
        self.nlp = nlp
        self.matcher = Matcher(nlp.vocab, validate=True)
        self._labels: dict[int, tuple[str, str]] = {}
        for category, lines in patterns.items():
            if category not in CATEGORIES and category not in (EXCLUSIONS, DENIALS, ASK, ASK_NOT):
                raise ValueError(f"unknown crisis category in word list: {category}")
            for i, line in enumerate(lines):
                key = f"{category}:{i}"
                label = category
                if category == ASK:
                    # "threatened: laat me niet gaan": the category it asks about.
                    asked, _, line = line.partition(":")
                    if asked.strip() not in CATEGORIES or not line.strip():
                        raise ValueError(f"an ask phrase needs a category: {asked!r}")
                    label, line = f"{ASK}:{asked.strip()}", line.strip()
                if category != DENIALS:
                    line = spoken(line)
                self.matcher.add(key, [compile_pattern(line)])
                self._labels[nlp.vocab.strings[key]] = (label, line)
        # The semantic scorer and the guard both read a message's hits (and those of its
        # clauses): the second reading of the same text comes from here.
        self._read = lru_cache(maxsize=1024)(self._analyse)

    def find(self, text: str, remember: bool = True) -> list[CrisisHit]:
        """All crisis hits in `text`, idioms removed, in category priority order."""
        return self.analyse(text, remember)[0]

    def analyse(self, text: str, remember: bool = True) -> tuple[list[CrisisHit], int]:
        """Crisis hits and the number of everyday idioms (exclusions) found in `text`.
        `remember=False` reads it without keeping it in (or taking it from) the memory of
        the last readings."""
        if not text or not text.strip():
            return [], 0
        read = self._read if remember else self._analyse
        hits, idioms, denials, beside, _ = read(text)
        # A negation is no idiom for the rest of a message: beside it the message may still tell
        # a crisis in other words (patterns.yml, `denials`), unless it holds only negations
        # and small words ("nee ik wil niet dood hoor", "ik wil niet dood. echt niet"). Words,
        # not clauses: run-on typing is one clause ("ik wil niet dood ik sta op het dak"), and
        # a piece under three words is no clause ("ik wil niet dood. 40 pillen").
        if denials and not beside:
            idioms += denials
        return list(hits), idioms

    def ask(self, text: str) -> CrisisHit | None:
        """The first phrase of `ask` in `text` that no exclusion, negation or everyday purpose
        (`ask_not`) overlaps (patterns.yml), with the category it asks about, or None."""
        if not text or not text.strip():
            return None
        asked = self._read(text)[4]
        return asked[0] if asked else None

    def _analyse(
        self, text: str
    ) -> tuple[tuple[CrisisHit, ...], int, int, int, tuple[CrisisHit, ...]]:
        """Hits, idioms, negations, the number of words beside the negations (small words
        and emoji not counted), and the ask phrases (category without the "ask:")."""
        doc = self.nlp(normalise(text))
        hits: list[CrisisHit] = []
        asked: list[CrisisHit] = []
        excluded: list[tuple[int, int]] = []
        denied: set[int] = set()  # the tokens inside a negation
        denials = 0
        everyday: list[tuple[int, int]] = []  # everyday purposes: no ask phrase over them
        for match_id, start, end in self.matcher(doc):
            category, line = self._labels[match_id]
            if category == ASK_NOT:
                everyday.append((start, end))
            elif category in (EXCLUSIONS, DENIALS):
                excluded.append((start, end))
                if category == DENIALS:
                    denials += 1
                    denied.update(range(start, end))
            elif category.startswith(f"{ASK}:"):
                asked.append(
                    CrisisHit(category[len(ASK) + 1 :], start, end, doc[start:end].text, line)
                )
            else:
                hits.append(CrisisHit(category, start, end, doc[start:end].text, line))
        hits = [h for h in hits if _free(h, excluded)]
        asked = [h for h in asked if _free(h, excluded + everyday)]
        asked.sort(key=lambda h: h.start)
        # Longest (most specific) hit first; ties go to the category order.
        hits.sort(key=lambda h: (-(h.end - h.start), CATEGORIES.index(h.category), h.start))
        beside = sum(
            1
            for t in doc
            if t.i not in denied and (t.is_alpha or t.like_num) and t.lower_ not in SMALL_WORDS
        )
        return tuple(hits), len(excluded) - denials, denials, beside, tuple(asked)

    def category(self, text: str) -> str | None:
        hits = self.find(text)
        return hits[0].category if hits else None


def load_patterns(path: Path = PATTERNS_FILE) -> dict[str, list[str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: [str(p) for p in value] for key, value in data.items()}


@lru_cache(maxsize=2)
def get_matcher(pipeline_path: str | None = None) -> CrisisMatcher:
    return CrisisMatcher(load_pipeline(pipeline_path), load_patterns())
