"""Crisis words told as the past, and over (rule 1b of bot.safety.decision, fourteenth pass).

Clients in forensic care talk about their past in their reflections: "ik heb ooit een
overdosis gehad, nu ben ik al twee jaar clean", "mijn vader sloeg me vroeger, nu heb ik goed
contact met mijn moeder", "ik heb twee jaar geleden een poging gedaan, nu gaat het goed met
me". The word list reads the crisis words and showed the full crisis help at once, which issue
15 names as the false alarms that cost the most trust ("years of being clean", "a past offence
the client regrets").

`told_as_past` says whether every crisis word of a message is told as the past and a later
part says it is over now, by words only:
- every word-list hit lies in a piece of the clause split (`bot.safety.semantic.fragments`)
  that holds a marker of a distant past (`PAST`: "vroeger", "ooit", "jaren geleden", "toen ik
  16 was", ...). Not "gisteren" or "vorige week": recent is now;
- the pieces after the last such piece (they hold no hit) say "now" (`NOW`: "nu",
  "inmiddels", "sindsdien", "al twee jaar ...") and that it is better (`BETTER`: "clean",
  "goed", "spijt", "trots", ...): "nu heb ik een plan" is no recovery;
- nothing in the message says it goes on or came back (`ONGOING`: "weer", "opnieuw", "nog",
  "soms", "gisteren", "vannacht", ...: "vroeger sneed ik mezelf, nu doe ik het weer");
- the later pieces are short (`LATER_MAX_WORDS`) and hold no negation, turn, reason,
  decision or farewell (`NOT_BETTER`: "niet", "geen", "maar", "want", "om", "besloten",
  "klaar", "geregeld", "laatste", ...: "nu gaat het niet goed", "nu gaat het goed, maar ik
  heb pillen gekocht", "nu voel ik me rustig want ik weet wat ik ga doen": calm after a
  decision is a warning sign);
- every later piece says "now" or "better" itself: nothing else is told after it ("nu gaat
  het goed, dit is mijn laatste bericht").

Rule 1b then asks the check question instead of showing the help at once, only when the
meaning of the message's last clause, read on its own, is calm too; never to nothing, and
never after a worrying message or a low mood. Every list here errs towards the crisis help:
a word it lacks keeps the help. Pure Python: no Rasa, no model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from bot.safety.semantic import fragments

_NUMBER_WORDS = (
    r"\d+|een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|[a-z]+tien|twintig"
    r"|dertig|veertig|vijftig|paar|aantal|heel wat|vele|tig"
)
# A distant past: the piece that holds a crisis word must hold one of these.
PAST = re.compile(
    r"\b(?:vroeger|vroegah|ooit|destijds|toentertijd|in het verleden|als kind|als tiener"
    rf"|(?:{_NUMBER_WORDS}) ja(?:a)?r(?:en)? (?:geleden|terug)"
    r"|jaren (?:geleden|terug)|lang geleden|heel lang terug"
    rf"|toen ik (?:nog )?(?:klein|jong|kind|tiener|puber|{_NUMBER_WORDS})(?: jaar)?"
    r"(?: oud)? (?:was|wass|waz))\b"
)
# "It is over now": a later piece without crisis words must hold one of these.
NOW = re.compile(
    r"\b(?:nu|tegenwoordig|inmiddels|intussen|sindsdien|sinds die tijd|dat is voorbij"
    rf"|al (?:{_NUMBER_WORDS}|heel lang|lang) (?:ja(?:a)?r(?:en)?|maand(?:en)?|tijd(?:je)?)"
    r"|al jaren|al maanden)\b"
)
# ... and says it is better: "clean", "goed", "spijt" (a later piece without crisis words).
# Without one, "now" may be the danger itself: "vroeger dacht ik aan zelfmoord, nu heb ik een
# plan" (its last clause reads 0.01 on the meaning).
BETTER = re.compile(
    r"\b(?:clean|schoon|goed|beter|prima|blij|gelukkig|trots|spijt|schaam"
    r"|geleerd|veilig|gestopt|nooit meer|voorbij|ander mens|therapie"
    r"|behandeling|verwerkt)\b"
)
# It goes on, came back, or is recent: never told as the past (checked outside the past
# markers, so "jaren terug" is no "terug").
ONGOING = re.compile(
    r"\b(?:weer|wer|opnieuw|nog|nogsteeds|soms|af en toe|steeds|elke|iedere|terug|bijna"
    r"|gisteren|gister|vannacht|vandaag|vanavond|vanochtend|vanmorgen|straks|morgen|laatst"
    r"|net|onlangs|deze week|vorige week|afgelopen|recent|sinds gisteren|alweer)\b"
)
# The "now" is not better after all: a negation ("nu gaat het niet goed", "nu ben ik niet meer
# clean") or a turn ("nu gaat het goed, maar ik heb pillen gekocht") in the later pieces.
# "nooit meer" is the one negation that says it is over.
# Nor a reason or a decision: calm after a decision is a warning sign in itself ("nu voel ik me
# rustig want ik weet wat ik ga doen", "veilig genoeg om het af te maken").
NOT_BETTER = re.compile(
    r"\b(?:niet|nie|geen|niks|niets|nergens|maar|mr|toch|behalve|alleen|want|omdat|om|dus"
    r"|besloten|beslist|beslissing|besluit|klaar|plan|afscheid|weet wat|eind|einde|af te"
    # Farewell: arranging things, saying goodbye ("nu is alles goed geregeld voor mijn kat").
    r"|geregeld|regelen|testament|laatste|gedag|vaarwel|weggegeven|weggeven)\b"
)
# A short "now" only: a long one has room for a turn the lists do not know.
LATER_MAX_WORDS = 12
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def told_as_past(text: str, find: Callable[[str], Iterable[str]]) -> bool:
    """Whether every word-list hit of `text` is told as a distant past that is over now (see
    the module docstring). `find` gives the hit texts of a piece (the word list's `find`, as
    texts); the hits of the whole message must all be found again inside past pieces
    (counted, so a second hit elsewhere keeps the help)."""
    plain = _plain(text)
    if not plain or ONGOING.search(PAST.sub(" ", plain)):
        return False
    hits = Counter(find(text))
    if not hits:
        return False
    pieces = fragments(text)
    found: Counter[str] = Counter()
    last_hit = -1
    for i, piece in enumerate(pieces):
        own = Counter(find(piece))
        if own:
            if not PAST.search(_plain(piece)):
                return False  # a crisis word in a piece not told as the past
            found.update(own)
            last_hit = i
    if last_hit < 0 or not hits <= found:
        return False  # a hit across two pieces, or in none: the words decide
    later_pieces = [_plain(p) for p in pieces[last_hit + 1 :]]
    later = " ".join(later_pieces)
    if len(later.split()) > LATER_MAX_WORDS or NOT_BETTER.search(later.replace("nooit meer", " ")):
        return False
    # Every later piece says "now" or "better": nothing else is told after it ("nu gaat het
    # goed, dit is mijn laatste bericht"; "nu ben ik trots op mezelf, ik ga het doen").
    if not all(NOW.search(p) or BETTER.search(p) for p in later_pieces):
        return False
    return bool(NOW.search(later) and BETTER.search(later))
