"""Weak answers to an open question: "weet nie", "niks", "geen idee", a bare "ja".

Koers asks once more, gently and in other words with the prompt's example; whatever the client
says then is stored as it was said and the check-in goes on (actions/forms.py). A weak answer
is never refused and never ends a check-in. Pure functions: the action server imports them
without Rasa.
"""

from __future__ import annotations

import re
import unicodedata

# Said instead of an answer, whatever the question (after normalising: lower case, no accents,
# no punctuation, repeated letters cut to two: "niksss" -> "nikss").
_DONT_KNOW = re.compile(
    r"^(?:ik\s+)?(?:weet\s+(?:ik\s+|k\s+)?(?:het\s+|t\s+)?(?:echt\s+|ook\s+)?(?:nie|niet|nit|ni|nt)"
    r"|kweenie|kwenie|weetnie|weetniet|geen\s+(?:flauw\s+)?idee|idk|idc|geen\s+antwoord"
    r"|geen\s+zin\s+in\s+deze\s+vraag|snap\s+(?:de\s+vraag\s+)?niet)(?:\s+(?:hoor|joh|man|eigenlijk|zo|nu))*$"
)
_NOTHING_PHRASES = frozenset(
    {
        "niks",
        "niets",
        "nix",
        "nikss",
        "niks eigenlijk",
        "niets eigenlijk",
        "eigenlijk niks",
        "eigenlijk niets",
        "nvt",
        "n v t",
        "boeit niet",
        "boeit me niet",
        "maakt niet uit",
        "mwah",
        "mwa",
        "pff",
        "hmm",
        "hm",
        "eh",
        "uh",
        "tja",
        "zomaar",
        "weet ik veel",
        "niks bijzonders",
        "niets bijzonders",
        "niks speciaals",
        "niets speciaals",
        "geen",
        "x",
        "xx",
    }
)
# A bare yes or no: a full answer to "Voel je je veilig waar je woont?", not to "Wat is je
# deze week gelukt?".
_YES_NO = frozenset(
    "ja jaa jah jawel jazeker yes yep jep jup ok oke okee okay nee neen nope nah no misschien".split()
)
_REPEATS = re.compile(r"(.)\1{2,}")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKD", (text or "").lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    return _REPEATS.sub(r"\1\1", re.sub(r"\s+", " ", text)).strip()


def is_weak(text: str | None, open_question: bool = True) -> bool:
    """True when `text` says "I don't know" or nothing (or only "ja"/"nee" to an open
    question) instead of answering."""
    words = normalise(text or "")
    if not words or not any(ch.isalnum() for ch in words):
        return True
    if _DONT_KNOW.match(words) or words in _NOTHING_PHRASES:
        return True
    if open_question and all(word in _YES_NO for word in words.split()) and len(words.split()) <= 3:
        return True
    return False
