"""Conversation content kept as reviewable data: the theme question banks (themes.yml).

The actions read prompts, labels and examples through these helpers; nothing client-facing
about the themes is written in code.
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

THEMES_FILE = Path(__file__).with_name("themes.yml")
VENT = "kwijt"  # the theme key of a venting reflection (bot.storage.models.VENT_THEME)
LEVELS = ("standaard", "eenvoudig")
PROMPTS_PER_CHECKIN = 2


@dataclass(frozen=True)
class Prompt:
    key: str
    standaard: str
    eenvoudig: str
    voorbeeld: str

    def text(self, level: str) -> str:
        return self.eenvoudig if level == "eenvoudig" else self.standaard


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    return yaml.safe_load(THEMES_FILE.read_text(encoding="utf-8"))


def theme_keys() -> list[str]:
    """The six themes in menu order."""
    return list(_data()["themes"])


def menu_keys() -> list[str]:
    """Menu order: the six themes, then venting."""
    return [*theme_keys(), VENT]


def _entry(theme: str) -> dict[str, Any]:
    if theme == VENT:
        return _data()["vent"]
    return _data()["themes"][theme]


def label(theme: str, level: str = "standaard") -> str:
    return _entry(theme)["label"]["eenvoudig" if level == "eenvoudig" else "standaard"]


def icon(theme: str) -> str:
    return _entry(theme)["icon"]


def scale_question(theme: str, level: str) -> str:
    scale = _entry(theme)["scale"]
    # Schema v2 nests the question beside its low/high words; v1 was the question itself.
    question = scale.get("question", scale)
    return question["eenvoudig" if level == "eenvoudig" else "standaard"]


def vent_question(level: str) -> str:
    return _data()["vent"]["question"]["eenvoudig" if level == "eenvoudig" else "standaard"]


def vent_example() -> str:
    return _data()["vent"]["voorbeeld"]


def prompts(theme: str) -> list[Prompt]:
    return [
        Prompt(p["key"], p["standaard"], p["eenvoudig"], p["voorbeeld"])
        for p in _entry(theme).get("prompts") or []
    ]


def prompt(theme: str, key: str) -> Prompt | None:
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


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_FILLER = re.compile(
    r"^(?:(?:ik|wil|graag|doe|maar|kies|nummer|nr|het|de|een|over|thema|onderwerp|"
    r"praten|hebben|dan|eh|uh|mag|ff|even)\s+)+|(?:\s+(?:graag|maar|dan|aub|pls|alsjeblieft))+$"
)
CHOOSE_FOR_ME = re.compile(
    r"\b(?:kies jij|kies u|jij kiest|jij mag kiezen|kies maar wat|maakt (?:me )?niet uit|"
    r"zeg jij maar|verras me|doe maar wat|boeit (?:me )?niet|weet (?:ik )?niet|geen idee|"
    r"om het even|maakt mij niet uit|jij maar)\b"
)


def _names(theme: str) -> Iterable[str]:
    entry = _entry(theme)
    yield theme.replace("_", " ")
    yield from entry["label"].values()
    yield from entry.get("synonyms") or []


def parse_theme_choice(text: str | None) -> str | None:
    """The theme a client typed in the menu: a number (1-7), a label or a synonym.

    Returns a theme key, VENT, "kies" for "kies jij maar", or None when unclear.
    """
    plain = _plain(text or "")
    if not plain:
        return None
    keys = menu_keys()
    number = re.fullmatch(r"(?:nummer |nr )?([1-9])(?: .*)?", plain)
    if number:
        index = int(number.group(1)) - 1
        return keys[index] if index < len(keys) else None
    stripped = _FILLER.sub("", plain).strip() or plain
    for theme in keys:
        names = {_plain(name) for name in _names(theme)}
        if plain in names or stripped in names:
            return theme
    # A longer sentence naming exactly one theme by a phrase of two words or more.
    found = {
        theme
        for theme in keys
        for name in _names(theme)
        if " " in _plain(name) and re.search(rf"\b{re.escape(_plain(name))}\b", plain)
    }
    if len(found) == 1:
        return found.pop()
    if CHOOSE_FOR_ME.search(plain):
        return "kies"
    return None


def least_recent_theme(last_visits: dict[str, Any], exclude: str | None = None) -> str:
    """The theme the client visited least recently (never visited first, in menu order)."""
    order = [t for t in theme_keys() if t != exclude]
    never = [t for t in order if t not in last_visits]
    if never:
        return never[0]
    return min(order, key=lambda t: last_visits[t])
