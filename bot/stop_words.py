"""The words that on their own say "stop" or "bye" in a client's message, without the NLU.

Used by the NLU pipeline's AnswerGuard (bot/answers.py) and by the action server, which keeps
the message that raised a check question as the client's answer only when it does not say
stop (actions.forms.kept_after_check). Pure Python: the action server does not load Rasa.
"""

from __future__ import annotations

import re
import unicodedata

# The intents of a stop or a goodbye (the classifier's reading; on a short answer it is often
# wrong: bot/answers.py AnswerGuard, actions.forms.kept_after_check).
STOP_INTENTS = ("afscheid", "stoppen")
# Words that on their own say "stop" or "bye" (after normalising).
MARKERS = frozenset(
    """doei doeii doeidoei doeg dag daag bye ciao adios houdoe mazzel bslama toedeloe
    welterusten goedenacht ziens stop stoppen stoppe kap kappen pauze pauzeren pauzeer afbreken
    ophouden genoeg""".split()
)
# Word pairs that on their own say "stop" or "bye".
PAIR_MARKERS = frozenset(
    """fijne avond|fijne dag|fijn weekend|tot straks|tot later|tot morgen|tot ziens|tot snel|
    tot kijk|later verder|morgen verder|geen zin|laat maar|ff niet|even niet|ben weg""".replace(
        "\n", ""
    ).split("|")
)
# A message that ends with one of these is a goodbye ("ik ga eten nu doei"); not "dag", which
# also ends "een goede dag".
GOODBYE_ENDINGS = frozenset(
    "doei doeii doeidoei doeg bye ciao adios houdoe mazzel welterusten".split()
)
# Words that may come with a stop or goodbye without changing it.
FILLERS = frozenset(
    "ok oke okee nou hoor joh even ff maar koers dan nu jongens graag weer aub alsjeblieft".split()
)
_REPEATS = re.compile(r"(.)\1{2,}")


def normalise(text: str) -> list[str]:
    """Lower-case words without accents, punctuation or emoji; "doeiii" -> "doeii"."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    return _REPEATS.sub(r"\1\1", text).split()


def says_stop(text: str) -> bool:
    """The message opens with a stop or goodbye ("stop maar, ...", "laat maar ...", "ok doei",
    "kap ermee") or ends with a goodbye ("ik ga eten doei"). Inside an answer the same words
    usually mean something else ("stoppen met blowen", "elke dag", "geen zin in school"),
    so they do not count there."""
    words = normalise(text)
    core = [w for w in words if w not in FILLERS]
    if not core:
        return False
    opening = {" ".join(words[:2]), " ".join(core[:2])}  # "laat maar": "maar" is a filler
    if core[-1] in GOODBYE_ENDINGS or opening & PAIR_MARKERS:
        return True
    return core[0] in MARKERS and (len(core) == 1 or core[1] != "met")
