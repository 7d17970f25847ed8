"""The worker's question for the next check-in: where it can come from, and the plain-language
check that the worker's own words must pass.

Sources:
- `thema:<theme>.<key>`: a prompt from the question banks (bot/content/themes.yml);
- `bron:<key>`: a question from the seed reports, reviewed (bot/content/worker_questions.yml);
- the worker's own words, checked by `question_problems` with a clear Dutch message.

The check is the same rule set as every client text (bot.language): at most 12 words per
sentence (8 for a client in simple language, with at most one comma per sentence), exactly
one question, and no jargon. It is reusable for any text a worker writes for a client.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import content
from bot.language import FORBIDDEN, MAX_WORDS, sentences, words
from bot.vocabulary import SIMPLE, STANDARD

QUESTIONS_FILE = Path(__file__).resolve().parent / "content" / "worker_questions.yml"
MAX_LENGTH = 300
# Words from care and justice that clients should not have to read, on top of
# bot.language.FORBIDDEN (matched at the start of a word, like there).
JARGON = (
    "delict",
    "recidive",
    "interventie",
    "coping",
    "psycho-educatie",
    "psychoeducatie",
    "casusregie",
    "behandeldoel",
    "krachtgericht",
    "herstelgericht",
    "toezichtsplan",
    "cognitie",
    "cognitief",
    "motivationele",
    "ambulant",
)


# A question in the worker's own words about danger (suicide, self-harm, violence, abuse,
# threats): the client's answer may be a bare "ja", which no crisis check can read as a
# danger, and it is stored as a reflection the client may keep private. Such a question is
# for the worker to ask in person. Matched on the lower-cased question.
RISK = re.compile(
    r"zelfmoord|su[iï]ci[dj]|zelfdoding|zelfbeschadig|overdos"
    r"|\bdood (?:wil|wilt|willen|zijn|gaan)\b|\bdood te (?:gaan|zijn)\b|\bdoodgaan\b"
    r"|\bwil(?:t|len)?\b[^?.!]{0,20}(?<!de )(?<!het )\bdood\b"
    r"|\bniet meer (?:wil |wilt |willen )?(?:leven|bestaan|(?:te )?zijn)\b"
    r"|\bleven (?:te )?(?:be)?eindigen\b|\been eind(?:e)? (?:aan|maken)"
    r"|\baan(?:doen|doet|gedaan)\b|\baan te doen\b|\bpijn (?:te )?(?:doen|gedaan)\b|\bpijn doet\b"
    r"|\bdoe[tn]?\b[^?.!,]{0,30}\b(?:je|jou|jezelf|mezelf|iemand|hem|haar|me|mij)\s+pijn\s*(?:\?|$)"
    r"|\bsnij(?:d|den|dt)?\b|\bkrassen\b|\bgekrast\b|\bgeweld(?!ig)"
    r"|mishandel|misbruik|bedreig|\bwapens?\b|\bmes(?:sen)?\b|\bslaa?t\b|\bslaan\b|\bsloeg"
    r"|geslagen|in gevaar|\bvermoord|\bdoodmaken\b|\bdood ?maken\b"
    r"|agressi|\bvecht|gevochten|aangevallen|\bsteken\b|verwond"
    r"|\bwraak|geschopt|van (?:een|de) (?:brug|flat|dak|gebouw)|\baan de dood\s*\?"
    r"|\b(?:pillen|medicijnen|tabletten|slaappillen)\b[^?.!]{0,20}\b(?:op)?(?:gespaard|verzameld)"
    r"|\b(?:spaar|spaart|verzamel|verzamelt)\b[^?.!]{0,20}\b(?:pillen|medicijnen|tabletten)\b"
)
# Only in a closed question (one answered "ja" or "nee"): there a bare "ja" is the whole
# signal, while an open question ("Aan wie kun je vertellen dat je je onveilig voelt?", from
# a theme's own bank) is answered in words that Koers's safety layer reads.
CLOSED_RISK = re.compile(
    r"\bonveilig|\bniet veilig\b"
    r"|\bbang (?:voor|van) (?:je |jouw )?(?:partner|vriend\w*|ex\b|man\b|vrouw\b|vader|moeder"
    r"|stiefvader|broer|zus|familie|hem\b|haar\b|iemand|die persoon)"
)
QUESTION_WORD = re.compile(r"\b(?:wie|wat|waar\w*|wanneer|hoe\w*|waarom|welk\w*)\b")
RISK_PROBLEM = (
    "Een vraag over gevaar, zelfmoord, jezelf pijn doen of geweld stel je zelf, in een gesprek. "
    "Op een kort antwoord als “ja” kan Koers dan niet goed reageren."
)


@dataclass(frozen=True)
class QuestionChoice:
    """A ready question the worker can pick: both language levels."""

    value: str  # "thema:hoop.later" or "bron:trots"
    source: str  # thema | bron
    group: str  # shown as the group in the list
    standaard: str
    eenvoudig: str

    @property
    def source_key(self) -> str:
        return self.value.split(":", 1)[1]


@lru_cache(maxsize=1)
def _seed_data() -> dict[str, Any]:
    return yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def choices() -> tuple[QuestionChoice, ...]:
    """Every ready question: the seed list first, then the theme banks in menu order."""
    out = [
        QuestionChoice(
            f"bron:{item['key']}", "bron", "Uit de praktijk", item["standaard"], item["eenvoudig"]
        )
        for item in _seed_data()["questions"]
    ]
    for theme in content.theme_keys():
        for prompt in content.prompts(theme):
            out.append(
                QuestionChoice(
                    f"thema:{theme}.{prompt.key}",
                    "thema",
                    f"Thema: {content.label(theme)}",
                    prompt.standaard,
                    prompt.eenvoudig,
                )
            )
    return tuple(out)


def grouped_choices() -> list[tuple[str, list[QuestionChoice]]]:
    groups: dict[str, list[QuestionChoice]] = {}
    for choice in choices():
        groups.setdefault(choice.group, []).append(choice)
    return list(groups.items())


def find_choice(value: str | None) -> QuestionChoice | None:
    return next((c for c in choices() if c.value == value), None)


def _jargon_in(text: str) -> list[str]:
    lowered = text.lower()
    return [
        word
        for word in (*FORBIDDEN, *JARGON)
        if re.search(rf"(?<![\w-]){re.escape(word)}", lowered)
    ]


def question_problems(text: str | None, level: str = STANDARD) -> list[str]:
    """What is wrong with a question in the worker's own words, as Dutch sentences for the
    worker (empty: fine). `level` is the client's language level."""
    text = (text or "").strip()
    if not text:
        return ["Schrijf een vraag, of kies er een uit de lijst."]
    if len(text) > MAX_LENGTH:
        return [f"De vraag is te lang. Gebruik hoogstens {MAX_LENGTH} tekens (nu {len(text)})."]
    level = SIMPLE if level == SIMPLE else STANDARD
    limit = MAX_WORDS[level]
    problems: list[str] = []
    for sentence in sentences(text):
        count = len(words(sentence))
        if count > limit:
            extra = " De cliënt leest in eenvoudige taal." if level == SIMPLE else ""
            problems.append(
                f"Deze zin heeft {count} woorden: “{sentence}”. Gebruik hoogstens {limit} "
                f"woorden per zin.{extra}"
            )
        if level == SIMPLE and sentence.count(",") > 1:
            problems.append(
                f"Deze zin heeft meer dan één komma: “{sentence}”. Maak er twee zinnen van."
            )
    marks = text.count("?")
    if marks == 0:
        problems.append("Dit is geen vraag. Zet een vraagteken achter de vraag.")
    elif marks > 1:
        problems.append(f"Stel één vraag tegelijk. Er staan nu {marks} vraagtekens in.")
    for word in _jargon_in(text):
        problems.append(f"Gebruik geen moeilijk woord als “{word}”. Zeg het in gewone woorden.")
    lowered = text.lower()
    if RISK.search(lowered) or (CLOSED_RISK.search(lowered) and not QUESTION_WORD.search(lowered)):
        problems.append(RISK_PROBLEM)
    return problems
