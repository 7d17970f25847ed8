"""Conversation content kept as reviewable data: the theme question banks (themes.yml).

The actions read prompts, labels, scales, menu groups and examples through these helpers;
nothing client-facing about the themes is written in code. A theme added to themes.yml (with
NLU examples when clients will name it) is asked by the one theme form without code changes.

Schema version 2 (docs/conversation.md) adds `uitleg` (the question in other words), `kort`
(a short label for the correction buttons), scale words for 1 and 5 and the menu `group`.
Every new field is optional: without it Koers falls back to what version 1 did.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz.distance import OSA

from bot.vocabulary import (
    CHOOSE_FOR_ME,
    GROUP_OTHERS,
    GROUP_SELF,
    LANGUAGE_LEVELS,
    SIMPLE,
    STANDARD,
    THEME_GROUPS,
    VENT_THEME,
)

THEMES_FILE = Path(__file__).with_name("themes.yml")
VENT = VENT_THEME  # the theme key of a venting reflection
LEVELS = LANGUAGE_LEVELS
PROMPTS_PER_CHECKIN = 2
# The theme whose form first asks the colour of the client's safety plan (when there is one).
SAFETY_THEME = "veiligheid"
# At most this many choices on one screen of the menu (issue 10: LVB clients, small screens).
MENU_SCREEN = 4
# Labels the plain-language review found ambiguous as a menu choice ("Later" reads as "not
# now"): the standard label is shown instead until the content has a better simple label.
AMBIGUOUS_LABELS = frozenset({"later"})
SHORT_LABEL_CHARS = 40


def _level(level: str | None) -> str:
    return SIMPLE if level == SIMPLE else STANDARD


def _pick(value: Any, level: str | None) -> str | None:
    """`value` at `level`: a {standaard, eenvoudig} mapping (simple falls back to standard),
    or one text for both levels."""
    if isinstance(value, dict):
        return value.get(_level(level)) or value.get(STANDARD)
    return value if isinstance(value, str) else None


def shorten(text: str, limit: int = SHORT_LABEL_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters ("..." when cut)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 3].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "..."


_OPEN_START = re.compile(
    r"^(?:(?:met|bij|aan|op|over|voor|in|van|naar|uit|door|tegen)\s+)?"
    r"(?:wat|wie|waar\w*|hoe|wanneer|waarom|welke?|hoeveel)\b",
    re.IGNORECASE,
)


def is_open_question(text: str) -> bool:
    """An open question ("Wat is je gelukt?", "Met wie…?") rather than a yes/no question
    ("Voel je je veilig…?"): the question sentence starts with a question word."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    question = next((s for s in reversed(sentences) if s.endswith("?")), text.strip())
    return bool(_OPEN_START.match(question))


@dataclass(frozen=True)
class Prompt:
    key: str
    standaard: str
    eenvoudig: str
    voorbeeld: str
    uitleg: Any = None  # {standaard, eenvoudig}: the question in other words (schema v2)
    kort: str | None = None  # a short label for the correction buttons (schema v2)

    def text(self, level: str) -> str:
        return self.eenvoudig if level == SIMPLE else self.standaard

    def explained(self, level: str) -> str:
        """The question in other words; without `uitleg` the simple wording (version 1)."""
        return _pick(self.uitleg, level) or self.eenvoudig

    def short(self, level: str) -> str:
        """A short label for a button; without `kort` the question cut at a word."""
        return self.kort or shorten(self.text(level))

    @property
    def open(self) -> bool:
        """Both wordings are open questions (a bare "ja" does not answer them)."""
        return is_open_question(self.standaard) and is_open_question(self.eenvoudig)


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(THEMES_FILE.read_text(encoding="utf-8"))


def reload() -> None:
    """Read themes.yml again (tests that write another file)."""
    _data.cache_clear()


def theme_keys() -> list[str]:
    """The themes in menu order."""
    return list(_data()["themes"])


def menu_keys() -> list[str]:
    """Menu order: the themes, then venting."""
    return [*theme_keys(), VENT]


def _entry(theme: str) -> dict[str, Any]:
    if theme == VENT:
        return _data()["vent"]
    return _data()["themes"][theme]


def label(theme: str, level: str = STANDARD) -> str:
    labels = _entry(theme)["label"]
    chosen = _pick(labels, level) or theme
    if _level(level) == SIMPLE and chosen.strip().lower() in AMBIGUOUS_LABELS:
        return _pick(labels, STANDARD) or chosen
    return chosen


def icon(theme: str) -> str:
    return _entry(theme).get("icon") or ""


def group(theme: str) -> str:
    """The menu group of a theme (`mezelf` or `anderen`); `mezelf` when not given."""
    value = _entry(theme).get("group")
    return value if value in THEME_GROUPS else GROUP_SELF


def themes_in_group(name: str) -> list[str]:
    return [t for t in theme_keys() if group(t) == name]


def _scale(theme: str) -> dict[str, Any]:
    scale = _entry(theme).get("scale") or {}
    # Version 1: the scale was its question; version 2: {question, low, high}.
    return scale if "question" in scale else {"question": scale}


def scale_question(theme: str, level: str) -> str:
    return _pick(_scale(theme).get("question"), level) or ""


def scale_words(theme: str, level: str) -> tuple[str, str] | None:
    """The words for 1 and 5 that fit this theme's scale question, when themes.yml has them."""
    scale = _scale(theme)
    low, high = _pick(scale.get("low"), level), _pick(scale.get("high"), level)
    return (low, high) if low and high else None


def vent_question(level: str) -> str:
    return _pick(_data()["vent"]["question"], level) or ""


def vent_explained(level: str) -> str:
    """The venting question in other words; without `uitleg` the simple question."""
    vent = _data()["vent"]
    return _pick(vent.get("uitleg"), level) or _pick(vent["question"], SIMPLE) or ""


def vent_example() -> str:
    return _data()["vent"].get("voorbeeld") or ""


def prompts(theme: str) -> list[Prompt]:
    return [
        Prompt(
            p["key"],
            p["standaard"],
            p["eenvoudig"],
            p.get("voorbeeld") or "",
            p.get("uitleg"),
            p.get("kort"),
        )
        for p in _entry(theme).get("prompts") or []
    ]


def prompt(theme: str, key: str) -> Prompt | None:
    """The prompt with this key; a retired key (a conversation saved before a content review)
    gives the prompt that replaced it."""
    key = (_data().get("retired") or {}).get(theme, {}).get(key, key)
    return next((p for p in prompts(theme) if p.key == key), None)


def choose_prompts(
    theme: str,
    history: Sequence[Sequence[str]],
    count: int = PROMPTS_PER_CHECKIN,
    rng: random.Random | None = None,
) -> list[str]:
    """Pick `count` prompt keys for a new reflection on `theme`.

    `history` holds the prompt keys of the client's earlier reflections on this theme, newest
    first. Prompts of the latest reflection are never repeated (no prompt twice in a row);
    among the rest, prompts never asked come first, then those asked longest ago.
    """
    rng = rng or random.Random()
    keys = [p.key for p in prompts(theme)]
    last = set(history[0]) if history else set()
    last_seen: dict[str, int] = {}
    for age, keys_then in enumerate(history):
        for key in keys_then:
            last_seen.setdefault(key, age)
    candidates = [k for k in keys if k not in last] or keys
    # Never asked: age infinity. Shuffle first so that ties are broken at random.
    rng.shuffle(candidates)
    candidates.sort(key=lambda k: -last_seen.get(k, len(history) + 1))
    return candidates[:count]


# --- the theme menu ---------------------------------------------------------------------------


def plain(text: str) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_FILLER = re.compile(
    r"^(?:(?:ik|wil|graag|doe|maar|kies|nummer|nr|het|de|een|over|thema|onderwerp|"
    r"praten|hebben|dan|eh|uh|mag|ff|even)\s+)+|(?:\s+(?:graag|maar|dan|aub|pls|alsjeblieft|"
    r"praten|hebben))+$"
)
CHOOSE_FOR_ME_WORDS = re.compile(
    r"\b(?:kies jij|kies u|jij kiest|jij mag kiezen|kies maar wat|maakt (?:me )?niet uit|"
    r"zeg jij maar|verras me|doe maar wat|boeit (?:me )?niet|weet (?:ik )?nie?t?|geen idee|"
    r"om het even|maakt mij niet uit|jij maar|kweenie)\b"
)
# The menu's first step: what a client may type for each choice besides its number.
GROUP_WORDS = {
    GROUP_SELF: ("over mezelf", "mezelf", "mijzelf", "over mij", "over me", "ikzelf", "ik zelf"),
    GROUP_OTHERS: ("over anderen", "anderen", "andere mensen", "over andere mensen", "ander"),
}
VENT_WORDS = ("iets vertellen", "zelf iets vertellen", "vertellen", "ik wil iets vertellen")
FIRST_STEP = (GROUP_SELF, GROUP_OTHERS, VENT, CHOOSE_FOR_ME)
BACK_WORDS = frozenset({"terug", "ga terug", "vorige", "iets anders", "ander onderwerp", "begin"})
MORE_WORDS = frozenset(
    {"meer", "meer keuzes", "meer onderwerpen", "volgende", "verder kijken", "andere"}
)
MORE = "meer"
BACK = "terug"


def _names(theme: str) -> Iterable[str]:
    entry = _entry(theme)
    yield theme.replace("_", " ")
    labels = entry.get("label") or {}
    yield from labels.values() if isinstance(labels, dict) else [labels]
    yield from entry.get("synonyms") or []
    if theme == VENT:
        yield from VENT_WORDS


def _max_typos(word: str) -> int:
    """How many typing errors a name of this length may have and still be recognised."""
    return 0 if len(word) < 6 else 1 if len(word) < 9 else 2


def _fuzzy_theme(words: str, keys: Sequence[str]) -> str | None:
    """The one theme a misspelt name ("famillie", "vrienen") points to, or None.

    Optimal string alignment distance (rapidfuzz) between the typed words and every theme
    name; a short name must match exactly.
    """
    found: dict[str, int] = {}
    typed = words.split()
    for theme in keys:
        for name in {plain(n) for n in _names(theme)}:
            size = len(name.split())
            # A one-word name only for a one-word answer: in a sentence one word is not a
            # choice ("iets over mezelf"); phrases of two words or more may be inside one.
            if size == 1 and len(typed) > 1:
                continue
            for start in range(len(typed) - size + 1):
                part = " ".join(typed[start : start + size])
                limit = _max_typos(name)
                if limit and abs(len(part) - len(name)) <= limit:
                    distance = OSA.distance(part, name, score_cutoff=limit)
                    if distance <= limit:
                        found[theme] = min(found.get(theme, distance), distance)
    if not found:
        return None
    best = min(found.values())
    winners = [t for t, d in found.items() if d == best]
    return winners[0] if len(winners) == 1 else None


def parse_theme_choice(text: str | None) -> str | None:
    """The theme a client typed in the menu: a number (1-7), a label, a synonym, or a name
    with a typing error ("famillie").

    Returns a theme key, VENT, "kies" for "kies jij maar", or None when unclear.
    """
    return parse_menu_choice(text, numbers=menu_keys())


def parse_menu_choice(text: str | None, numbers: Sequence[str], groups: bool = False) -> str | None:
    """What a client typed in a menu screen.

    `numbers` are the choices the screen numbers 1, 2, ...; `groups` allows the first
    step's group names. Returns a theme key, VENT, a group key, "kies" (Koers chooses),
    "meer" (the next screen), "terug" (the first step) or None when unclear. A theme's
    name, synonym or a misspelling of it works on every screen.
    """
    words = plain(text or "")
    if not words:
        return None
    number = re.fullmatch(r"(?:nummer |nr )?([1-9])(?: .*)?", words)
    if number:
        index = int(number.group(1)) - 1
        return numbers[index] if index < len(numbers) else None
    stripped = _FILLER.sub("", words).strip() or words
    if words in MORE_WORDS or stripped in MORE_WORDS:
        return MORE
    if words in BACK_WORDS or stripped in BACK_WORDS:
        return BACK
    if groups:
        for name, group_words in GROUP_WORDS.items():
            if words in group_words or stripped in group_words:
                return name
    keys = menu_keys()
    for theme in keys:
        names = {plain(name) for name in _names(theme)}
        if words in names or stripped in names:
            return theme
    # A longer sentence naming exactly one theme by a phrase of two words or more.
    found = {
        theme
        for theme in keys
        for name in _names(theme)
        if " " in plain(name) and re.search(rf"\b{re.escape(plain(name))}\b", words)
    }
    if len(found) == 1:
        return found.pop()
    if CHOOSE_FOR_ME_WORDS.search(words):
        return CHOOSE_FOR_ME
    return _fuzzy_theme(stripped, keys)


def menu_screen(group_name: str, page: int = 0) -> tuple[list[str], bool]:
    """The themes of a group shown on screen `page`, and whether a "meer" choice follows.

    At most MENU_SCREEN choices on a screen: a group with more themes shows them in parts of
    MENU_SCREEN - 1 with "meer" as the last choice (after the last part, the first again).
    """
    themes = themes_in_group(group_name)
    if len(themes) <= MENU_SCREEN:
        return themes, False
    size = MENU_SCREEN - 1
    pages = (len(themes) + size - 1) // size
    page %= pages
    return themes[page * size : (page + 1) * size], True


def least_recent_theme(
    last_visits: dict[str, Any], exclude: str | None = None, among: Sequence[str] | None = None
) -> str:
    """The theme the client visited least recently (never visited first, in menu order)."""
    order = [t for t in (among or theme_keys()) if t != exclude]
    never = [t for t in order if t not in last_visits]
    if never:
        return never[0]
    return min(order, key=lambda t: last_visits[t])
