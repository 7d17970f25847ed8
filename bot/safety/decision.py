"""One readable decision: crisis help now, a calm check question first, or nothing.

Three signals come from the NLU pipeline for every message (`Evidence`):
- the word list (`bot/safety/matcher.py`): explicit crisis language, precise by design;
- the intent classifier (DIET): its confidence for the `crisis` intent;
- the semantic net (`bot/safety/semantic.py`): P(crisis) from sentence embeddings, and the
  category of the nearest crisis exemplars.

`decide` turns them into one of three outcomes, in this order (first match wins):

  1. the word list matched                                  -> CRISIS
  1a. ... but the meaning clearly denies it (below)        -> CHECK
  1b. ... but every hit is told as a distant past that is
      over now, and the last clause reads calm (below)      -> CHECK
  1c. ... but the words deny the harm, every hit inside the
      denial, not in a worrying context (below)             -> CHECK
  2. semantic >= bands.clear                                -> CRISIS
  3. classifier says crisis and semantic >= bands.agree     -> CRISIS (two signals agree)
  2c/3c. rules 2 and 3 when the words deny the harm, not in
      a worrying context                                    -> CHECK
  4. worrying context and semantic >= bands.context_clear   -> CRISIS
  5. semantic >= bands.check (not an everyday idiom)       -> CHECK
     (>= bands.unsupported_check for a longer message that
     no part of looks like a crisis, see below)
  5a. the first view alone scores >= bands.clear, but the
     mean of the three views is lower (not an idiom)        -> CHECK
  5b. the last clause of a longer message, on its own,
     scores >= bands.last_clause (no everyday idiom in it)  -> CHECK (with the clause's
                                                               own category)
  5c. the highest clause of a long message, on its own
     (three views), scores >= bands.every_clause (no
     everyday idiom in it; thirteenth pass)                 -> CHECK (with the clause's
                                                               own category)
  6. classifier says crisis (not an everyday idiom) and
     semantic >= bands.classifier_floor, and the message is
     not a short answer inside a question                   -> CHECK (one signal only)
  7. worrying context and semantic >= bands.context_check   -> CHECK
  7a. a phrase of the word list that asks, not alarms
     ("ze laten me niet gaan", "hij heeft een mes")         -> CHECK (its own category)
  8. otherwise                                              -> CALM
Then, after the first match (twelfth pass):
  9. a CHECK of rule 5 alone (the meaning of the whole message; nothing clear, no last clause
     or other clause at its band) on a long message whose every sentence, read as a message of
     its own by the whole pipeline, is calm (`Evidence.sentences_calm`), not in a worrying
     context
                                                            -> CALM

"Worrying context" (`Context.worrying`) means: a mood of 1 or 2 at this session's check-in, or
the client's previous message was itself a check or a crisis, or scored at least
`bands.context_previous` on the semantic net.

"Calm context" (`Context.calm`) means: no low mood, and the client's previous message was a
real message (three words or more, so not "hoi" or a button) that was calm and scored at most
`bands.context_calm`. Then a CRISIS from rules 2 or 3 (meaning only, no word-list hit) becomes a
CHECK: "ik sta op de brug" after "ik ga vissen met mijn vader" gets the calm question, not 113.
A calm context never lowers a word-list hit (only rule 1a can, and never to nothing).

Without context (the NLU pipeline, which cannot see the conversation) only rules 1-3, 5-5c, 6, 7a
and 8 apply, and rule 6 only to messages of more than `SHORT_ANSWER_WORDS` words;
`bot.safety.policy.SafetyContextPolicy` applies all of them with the conversation.

"The words deny the harm" (rules 1c and 2c, twenty-sixth pass; `Evidence.words_deny`, read
by `bot.safety.check_answer.words_deny_harm`): clients in forensic care say "ik zou nooit iemand
iets aandoen", "ik heb nooit aan zelfmoord gedacht", "nee ik doe niemand pijn" or "hij slaat me
niet". The word list and both models read the harm words more than the negation, and such a
message got the full crisis help. When every clause is such a denial (the negation before
the harm; before it only a no, a subject and its verb, after it only an oath or the harm's
object), a bare "nee", or a calm reason in closed words ("ik ben gewoon moe van het werk", "ik
had hoofdpijn", "ik was boos op mn buurman"; thirty-sixth pass), every word-list hit lies in a
denial clause, nothing in the message takes the denial back (as in a reply to the check
question: a harm, an intent, the means, a hidden yes), and outside the reasons no word may
turn, limit or put it off ("maar", "alleen", "wel", "als", "nu", "vanavond", "bang", "stem",
...), the crisis help becomes the check question. Never calm, never in a worrying context:
a client who denies harm is asked, not ignored.

"No part looks like a crisis" (`Evidence.unsupported`, seventh pass): a message of two or more
clauses (`bot.safety.semantic.clauses`) none of whose pieces (`bot.safety.semantic.fragments`,
also those under three words), scored on its own, reaches `bands.part_support`; never in a
worrying context. For such a message the whole-message score is weak evidence: e5 finds
every day told in detail a bit like a crisis told as a story ("mn parkiet kan nu hallo
zeggen, ik heb het hem elke ochtend geleerd ..." scored 0.94). Then rules 2 and 3 give the
check question instead of the crisis help, and rule 5 needs `bands.unsupported_check`.

"The meaning clearly denies it" (rule 1a, ninth pass, widened in the eleventh): the word list
reads words, not who they are about or whether they are meant ("film gezien waar een man van
de brug springt en het overleeft, goeie film" scored 0.06). A word-list hit gets the check
question first instead of the crisis help at once only when all of these hold:
- the semantic net read the message (`Evidence.semantic_read`) and every reading of it is
  below `bands.matcher_doubt`: the whole message, the first view alone, the last clause, and
  each other clause that holds a hit, read on its own (`Evidence.semantic_hit_clauses`);
- the message has at least `DOUBT_MIN_WORDS` words (a few words give the meaning too little
  to deny anything);
- every hit lies in a part that was read on its own (`Evidence.matcher_doubtable`): the
  message has one clause, or each hit is in a clause of three or more words that was scored
  on its own. A middle clause of a day's story that holds a hit is read for it: in "ik heb
  pizza gegeten, ik snij mezelf weer elke avond, straks ga ik slapen" that clause reads
  0.97. A hit in no such clause (a piece of one or two words, or across two clauses), or
  one whose clause could not be read, keeps the crisis help;
- the classifier does not say crisis too (two signals agree: rule 3's spirit);
- no hit is an overdose (the pills may already be taken: no question first), abuse or a
  threat (`NEVER_DOUBTED`): the net reads a plain report of being hurt or threatened weakly
  ("mijn vader heeft me in elkaar geslagen" reads 0.58, "mijn broer heeft me in elkaar
  geslagen" 0.09), so there the words decide;
- not after a worrying message or a low mood.
"Ja" or "weet ik niet" still gives the crisis help, and the check is recorded for the worker.
A hit is never lowered to nothing.

"Told as the past" (rule 1b, fourteenth pass; off by default since the fifteenth: the guard
computes `matcher_past` only with `read_past: true`, because a review made it lower 27 of 40
present crises told beside a past, docs/safety.md): clients in forensic care tell their past in
their reflections ("ik heb ooit een overdosis gehad, nu ben ik al twee jaar clean"), and the
word list showed them the crisis help at once. A word-list hit gets the check question first
instead when all of these hold:
- every hit lies in a piece of the message with a marker of a distant past ("vroeger", "ooit",
  "jaren geleden", "toen ik 16 was"), a later piece without crisis words says it is over
  ("nu", "inmiddels", "al twee jaar"), and nothing says it goes on or came back ("weer",
  "nog", "soms", "gisteren", ...), nor that the "now" turns or rests on a decision ("niet",
  "maar", "want", "besloten", ...): `Evidence.matcher_past`, by words (bot.safety.past);
- the message's last clause was read on its own and reads below `bands.matcher_doubt`: the
  meaning of the "now" is calm too ("vroeger wilde ik dood en nu eigenlijk ook weer" has
  "weer"; "toen ik klein was werd ik misbruikt en nu kan ik niet meer" reads 0.97);
- the message has at least `DOUBT_MIN_WORDS` words;
- not after a worrying message or a low mood.
Every category, also overdose, abuse and threats: the check question asks about now ("Ben je
nu in gevaar?"), which is the question a past told as past leaves open. The classifier may
agree: it reads the words, not the time. "Ja" or "weet ik niet" gives the crisis help.

"Every sentence calm" (rule 9, twelfth pass): e5 reads a long message by its form, a day told
in detail, more than by the sentence that matters, so a third of long calm messages got the
check question from the meaning alone. `CrisisGuard` reads each sentence of such a message
(`SENTENCE_MIN_WORDS` words or more, 2 to `SENTENCE_MAX` sentences) as a message of its own,
with the word list, the classifier and the meaning, as a first message (`Context()`). When no
sentence on its own is a check or a crisis, the check question is dropped. A failing or
incomplete reading keeps it (`sentences_calm` stays False). It applies with or without the
conversation's context, but never after a worrying message or a low mood, and it never lowers
the crisis help, a word-list hit, the classifier's check, a clear first reading (rule 5a), a
last clause at its band (rule 5b) or a lowered crisis (rule 2).
`CrisisGuard` reads the sentences only when its `read_sentences` is set, and it is off by
default: on the older held-out sets the rule took the check off 29 calm messages and off one
suicide message (docs/safety.md, twelfth pass).

"Every clause on its own" (rule 5c, thirteenth pass): the same form reading hides a crisis in a
middle clause of a long story (a farewell told between the shopping and the evening's
television); rule 5b reads only the last clause. The semantic scorer reads every clause of
3+ words of a message of 20+ words (`clauses_max`, the mean of the three views as for a
message; a clause with an everyday idiom is not read) and the highest at
`bands.every_clause` or more asks the check question, never the crisis help at once, with that
clause's category and nearest crisis sentence. It comes after rules 5a and 5b and before 6 and
7, so it never lowers an outcome. On the development sets it caught 6 of the 8 crises that got
nothing and asked 13 more of their 620 calm messages the check question (docs/safety.md,
"Thirteenth pass").
"A phrase that asks" (rule 7a, twenty-eighth pass; `Evidence.asked`, patterns.yml `ask`): short
reports of being held, of a weapon or of someone who broke in ("ze laten me nie weg", "hij
heeft mes", "ze hebben ingebroken") read calm to the meaning (0.04 to 0.31) and to the word list, and the
classifier alone is no help for short messages (on the development sets it would ask 27 calm
messages to gain 2 crises). They are too plain for the crisis help at once: "mn begeleider
laat me niet gaan" is ward life too. So they ask the check question, with their own category,
with or without the conversation, but only when no other rule asked or helped: last, so that a
check of the classifier or the context keeps its own category ("danger_to_others" asks "Wil
je jezelf of een ander pijn doen?"). An exclusion, a negation or an everyday purpose
(`ask_not`: a kitchen knife, a game, a leave) that overlaps one cancels it; an idiom elsewhere
in the message does not ("hij heeft een mes, ik schrik me dood").

"An everyday idiom" is a reviewed exclusion of the word list ("ik lach me dood", "ik verveel
me dood") with no crisis words beside it: it stops the check question (rules 5 and 6), not a
clear meaning (rule 2). A negation of the word list ("ik wil niet dood", `denials` in
patterns.yml) is one only in a message of negations and small words ("nee ik wil echt niet dood
hoor"): beside other words it says nothing about the rest (twenty-seventh and twenty-eighth
passes).

A classifier-only hit never shows the crisis help at once: short answers such as "me moeder"
can get a high `crisis` confidence from DIET alone. It gets the check question instead, and
not even that for a short answer (up to `SHORT_ANSWER_WORDS` words) to an open question of a
check-in ("Wie helpt jou?" - "mijn collega"): there the classifier alone is not enough, the
word list or the meaning must say it too. The NLU pipeline cannot see whether a question is
open, so it leaves rule 6 to the policy for short messages (`Context.in_question`); outside
an open question the policy still asks the check question.
The band values are tuned on the development sets (see docs/safety.md) and set in config.yml.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

CRISIS = "crisis"
CHECK = "check"
CALM = "calm"
OUTCOME_ORDER = {CALM: 0, CHECK: 1, CRISIS: 2}
LAST_CLAUSE_REASON = "laatste zinsdeel"  # the reason of rule 5b
CLAUSE_REASON = "zinsdeel apart"  # the reason of rule 5c
DOUBT_REASON = "betekenis maar"  # rule 1a: "woordenlijst", "betekenis maar 0.06"
DOUBT_MIN_WORDS = 6  # rules 1a and 1b need a message of at least this many words
PAST_REASON = "verteld als verleden"
ASK_REASON = "woordenlijst: navragen"  # rule 7a
# Rules 1c and 2c: "woordenlijst" or "betekenis 0.97", then "woorden ontkennen het"
DENIAL_REASON = "woorden ontkennen het"  # rule 1b: "woordenlijst", "verteld als verleden"
SENTENCE_MIN_WORDS = 20  # rule 9 reads the sentences of messages of this many words or more
SENTENCE_MAX = 6  # ... and of at most this many sentences (each costs a pipeline run)
SENTENCES_REASON = "elke zin apart rustig"  # rule 9's reason
# Rule 1a never doubts these word-list categories (see the module docstring)
NEVER_DOUBTED = frozenset({"overdose", "abuse", "threatened"})
# A lowering reason: no part looks like a crisis on its own ("... (hoogste 0.30)")
UNSUPPORTED_REASON = "geen zinsdeel apart zorgelijk (hoogste"
UNKNOWN = "unknown"
MOOD_SLOT = "stemming"
LOW_MOODS = {"1", "2"}
SHORT_ANSWER_WORDS = 3  # rule 6 needs more than the classifier for answers this short
# The open questions of a check-in (slot names) whose answers are about people, places and
# plans ("Wie helpt jou?", "Wat is jouw stapje?"). Not the mood, "Wat wil je kwijt?", a
# corrected answer (it may be the "kwijt" text or the hope scale) or the worker's own
# question: there a short answer may well be the first sign of a crisis.
OPEN_QUESTIONS = frozenset({"antwoord_1", "antwoord_2", "stapje"})


@dataclass(frozen=True)
class Bands:
    """Thresholds on P(crisis) from the semantic net and on the classifier's confidence.

    Chosen with `python -m bot.safety.tune sweep` on the development sets only (the main set
    and tests/crisis/crisis_set_dev.yml): the highest recall with at most 3 % false alarms and
    10 % check questions on calm messages, then the best result on the context pairs.
    `part_support` and `unsupported_check` (seventh pass) were set by hand (below).
    """

    clear: float = 0.95  # semantic alone: crisis help at once
    # semantic alone: the check question (0.70 before the sixth pass, 0.65 before the
    # thirty-second: its 138 calm exemplars of short everyday messages lowered the scores near
    # the bands by about 0.01 to 0.02, and the three bands below moved with them)
    check: float = 0.64
    last_clause: float = 0.90  # the last clause of a longer message alone: the check question
    agree: float = 0.85  # semantic, when the classifier says crisis too: crisis help
    classifier: float = 0.50  # the classifier "says crisis" from this confidence
    # classifier-only: check question from this semantic score (0.50 before the sixth pass;
    # the larger pool lowered scores, and a dev pair that had the check question lost it)
    classifier_floor: float = 0.44  # 0.45 before the thirty-second pass
    context_clear: float = 0.85  # after a worrying message or a low mood: crisis help
    context_check: float = 0.50  # after a worrying message or a low mood: check question
    context_previous: float = 0.60  # a previous message from this score is worrying
    context_calm: float = 0.50  # a previous real message up to this score is calm
    # A longer message whose pieces each score below `part_support` on their own: the check
    # question only from `unsupported_check`, and never the crisis help from meaning alone
    # (seventh pass). Set by hand on the development sets and 260 ordinary messages
    # (docs/safety.md), not by the sweep's grid.
    part_support: float = 0.50
    # 0.90 before the ninth pass: the mean of three views (eighth pass) sits lower than the
    # first view's score this band was set on, and "2 weken nie gesneden maar vannacht wel
    # weer, best diep" (0.875) fell under it. 0.86 before the sixteenth pass: a crisis told
    # beside a past often lives in no piece on its own ("vroeger mislukte mijn poging. nu
    # weet ik hoe het moet": pieces 0.16, whole 0.81). On the development sets 0.75 gives 2
    # more crises the check (dev3 and dev6) and 6 more calm messages of 800 (dev4, dev5, dev6).
    unsupported_check: float = 0.74  # 0.75 before the thirty-second pass
    # A word-list hit whose every reading scores below this: the check question first (rule
    # 1a). Set by hand on the development sets (docs/safety.md, "Eleventh pass"); 0.30 in the
    # ninth pass. With the clauses that hold the hits read too, the 45 crises with a hit that
    # rule 1a could reach read 0.76 or more; calm messages with a hit read 0.06 to 0.90.
    # Below the check band: a reading that would itself ask the check question never denies
    # the words.
    matcher_doubt: float = 0.60
    # The highest clause of a long message read on its own (rule 5c, thirteenth pass): the
    # check question. Set by hand on the development sets: 6 of the 8 crises that got nothing
    # there read 0.887 to 0.993 (the other two below 0.70); of the 513 calm messages that got
    # nothing, 13 read 0.85 or more (0.945 at most). The band of rules 3 and 4, just under the
    # unsupported check before the sixteenth pass (0.86).
    every_clause: float = 0.85

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Bands:
        names = cls.__dataclass_fields__
        return cls(**{k: float(v) for k, v in (config or {}).items() if k in names})


DEFAULT_BANDS = Bands()


@dataclass(frozen=True)
class Evidence:
    matcher_category: str | None = None  # category of a word-list hit
    idiom_only: bool = False  # only an everyday idiom ("ik ben doodmoe"), no crisis words
    classifier: float = 0.0  # DIET's crisis confidence when crisis is its top intent, else 0
    semantic: float = 0.0  # P(crisis) from the semantic net
    # The message's last clause alone (bot.safety.semantic.last_clause): P(crisis) or 0, the
    # category of its nearest crisis exemplars, and whether it holds an everyday idiom
    semantic_last: float = 0.0
    semantic_last_category: str = UNKNOWN
    last_idiom_only: bool = False
    semantic_category: str = UNKNOWN
    # The highest score of any one piece of a longer message (bot.safety.semantic.fragments),
    # scored alone; None when the message has fewer than two clauses or scored too low as a
    # whole to need it
    semantic_parts: float | None = None
    # The first view's own score when the message was read in three views (`semantic` is
    # then their mean; bot.safety.semantic.combined); None when it was read once
    semantic_first: float | None = None
    words: int = 0  # the number of words of the message
    # Whether the semantic net read the message (False when it failed or is absent: then a
    # semantic of 0 means nothing, and rule 1a does not apply)
    semantic_read: bool = False
    # Rule 1a may doubt the word list's hits: none is in `NEVER_DOUBTED`, and each lies in a part
    # the meaning read on its own (a message of one clause, its last clause, or another
    # clause read for its hit)
    matcher_doubtable: bool = False
    # The highest score of the clauses other than the last that hold a word-list hit, each
    # read on its own (`hit_clauses` of the semantic scorer); None when none was read
    semantic_hit_clauses: float | None = None
    # Every sentence of a long message, read as a message of its own by the whole pipeline
    # without context, came out calm (rule 9); False when not read, or when one was not calm
    sentences_calm: bool = False
    # The highest clause of a long message read on its own (`clauses_max` of the semantic
    # scorer, rule 5c), the category of its nearest crisis exemplars, and whether it holds an
    # everyday idiom; None when the message is not long or has one clause
    semantic_clause: float | None = None
    semantic_clause_category: str = UNKNOWN
    clause_idiom_only: bool = False
    # Every word-list hit is told as a distant past that is over now, and the message's last
    # clause was read on its own (bot.safety.past.told_as_past; rule 1b)
    matcher_past: bool = False
    # The words deny harm in so many words and say nothing else worrying ("ik zou nooit iemand
    # iets aandoen", "niemand slaat me"); every clause with a word-list hit is such a denial
    # (bot.safety.check_answer.words_deny_harm; rule 1c, twenty-sixth pass)
    words_deny: bool = False
    # The category of a phrase that asks, not alarms ("ze laten me niet gaan"; patterns.yml
    # `ask`, rule 7a, twenty-eighth pass), or None
    asked: str | None = None

    @property
    def highest_reading(self) -> float:
        """The highest of the whole message's score, its first view's, its last clause's and
        those of the clauses read for their word-list hits."""
        return max(
            self.semantic,
            self.semantic_first or 0.0,
            self.semantic_last,
            self.semantic_hit_clauses or 0.0,
        )

    @property
    def highest_semantic(self) -> float:
        """The higher of the whole message's and its last clause's score: how worrying the
        message was, as the context of the next one."""
        return max(self.semantic, self.semantic_last)

    def unsupported(self, bands: Bands) -> bool:
        """A longer message of which no piece on its own looks like a crisis."""
        return self.semantic_parts is not None and self.semantic_parts < bands.part_support

    def as_dict(self) -> dict[str, Any]:
        return {
            "words": self.words,
            "matcher_category": self.matcher_category,
            "idiom_only": self.idiom_only,
            "classifier": round(self.classifier, 4),
            "semantic": round(self.semantic, 4),
            "semantic_last": round(self.semantic_last, 4),
            "semantic_last_category": self.semantic_last_category,
            "last_idiom_only": self.last_idiom_only,
            "semantic_category": self.semantic_category,
            "semantic_parts": None
            if self.semantic_parts is None
            else round(self.semantic_parts, 4),
            "semantic_first": None
            if self.semantic_first is None
            else round(self.semantic_first, 4),
            "semantic_read": self.semantic_read,
            "matcher_doubtable": self.matcher_doubtable,
            "semantic_hit_clauses": None
            if self.semantic_hit_clauses is None
            else round(self.semantic_hit_clauses, 4),
            "sentences_calm": self.sentences_calm,
            "semantic_clause": None
            if self.semantic_clause is None
            else round(self.semantic_clause, 4),
            "semantic_clause_category": self.semantic_clause_category,
            "clause_idiom_only": self.clause_idiom_only,
            "matcher_past": self.matcher_past,
            "words_deny": self.words_deny,
            "asked": self.asked,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Evidence:
        data = data or {}
        return cls(
            matcher_category=data.get("matcher_category"),
            idiom_only=bool(data.get("idiom_only")),
            classifier=float(data.get("classifier") or 0.0),
            semantic=float(data.get("semantic") or 0.0),
            semantic_last=float(data.get("semantic_last") or 0.0),
            semantic_last_category=data.get("semantic_last_category") or UNKNOWN,
            last_idiom_only=bool(data.get("last_idiom_only")),
            semantic_category=data.get("semantic_category") or UNKNOWN,
            semantic_parts=None
            if data.get("semantic_parts") is None
            else float(data["semantic_parts"]),
            semantic_first=None
            if data.get("semantic_first") is None
            else float(data["semantic_first"]),
            words=int(data.get("words") or 0),
            semantic_read=bool(data.get("semantic_read")),
            matcher_doubtable=bool(data.get("matcher_doubtable")),
            semantic_hit_clauses=None
            if data.get("semantic_hit_clauses") is None
            else float(data["semantic_hit_clauses"]),
            sentences_calm=bool(data.get("sentences_calm")),
            semantic_clause=None
            if data.get("semantic_clause") is None
            else float(data["semantic_clause"]),
            semantic_clause_category=data.get("semantic_clause_category") or UNKNOWN,
            clause_idiom_only=bool(data.get("clause_idiom_only")),
            matcher_past=bool(data.get("matcher_past")),
            words_deny=bool(data.get("words_deny")),
            asked=data.get("asked") or None,
        )


@dataclass(frozen=True)
class Context:
    low_mood: bool = False  # mood 1 or 2 at this session's check-in
    previous_outcome: str = CALM  # the outcome of the client's previous message
    previous_semantic: float = 0.0  # the semantic score of the client's previous message
    previous_words: int = 0  # the number of words in the client's previous message
    in_question: bool = False  # the message answers an open question of a check-in

    def worrying(self, bands: Bands) -> bool:
        return (
            self.low_mood
            or self.previous_outcome in (CHECK, CRISIS)
            or self.previous_semantic >= bands.context_previous
        )

    def calm(self, bands: Bands) -> bool:
        return (
            not self.worrying(bands)
            and self.previous_outcome == CALM
            and self.previous_words >= 3
            and self.previous_semantic <= bands.context_calm
        )

    def describe(self, bands: Bands) -> str:
        parts = []
        if self.low_mood:
            parts.append("lage stemming bij de check-in")
        if self.previous_outcome in (CHECK, CRISIS):
            parts.append("vorig bericht was al zorgelijk")
        elif self.previous_semantic >= bands.context_previous:
            parts.append(f"vorig bericht scoorde {self.previous_semantic:.2f}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Decision:
    outcome: str
    category: str
    detected_by: str  # matcher | semantic | both | classifier | context (stored with events)
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def higher_than(self, outcome: str) -> bool:
        return OUTCOME_ORDER[self.outcome] > OUTCOME_ORDER[outcome]


def _meaning_denies(e: Evidence, b: Bands) -> bool:
    """Rule 1a's conditions on the message itself (see the module docstring)."""
    return (
        e.semantic_read
        and e.matcher_doubtable
        and e.matcher_category not in NEVER_DOUBTED
        and e.words >= DOUBT_MIN_WORDS
        and e.highest_reading < b.matcher_doubt
    )


def _told_as_past(e: Evidence, b: Bands) -> bool:
    """Rule 1b's conditions on the message itself (see the module docstring)."""
    return (
        e.matcher_past
        and e.semantic_read
        and e.words >= DOUBT_MIN_WORDS
        and e.semantic_last < b.matcher_doubt
    )


def decide(
    evidence: Evidence, context: Context | None = None, bands: Bands | None = None
) -> Decision:
    """The outcome for one message; see the module docstring for the rules."""
    b = bands or DEFAULT_BANDS
    decision = _rules(evidence, context, b)
    if _sentences_deny(evidence, decision, context, b):
        return Decision(CALM, UNKNOWN, "", (SENTENCES_REASON, *decision.reasons))
    return decision


def _sentences_deny(e: Evidence, decision: Decision, context: Context | None, b: Bands) -> bool:
    """Rule 9's conditions: a check of rule 5 alone (the whole message in the check band, no
    reading that is clear, no last clause or other clause at its band), every sentence calm,
    no worrying context."""
    return (
        e.sentences_calm
        and decision.outcome == CHECK
        and decision.detected_by == "semantic"
        and e.semantic < b.clear
        and (e.semantic_first or 0.0) < b.clear
        and e.semantic_last < b.last_clause
        and (e.semantic_clause or 0.0) < b.every_clause
        and not (context is not None and context.worrying(b))
    )


def _rules(evidence: Evidence, context: Context | None, b: Bands) -> Decision:
    """Rules 1 to 8, with 5a to 5c (see the module docstring)."""
    e = evidence
    classifier_says = e.classifier >= b.classifier
    semantic_category = e.semantic_category if e.semantic_category else UNKNOWN
    worrying = context is not None and context.worrying(b)
    why_context = context.describe(b) if worrying and context else ""

    if e.matcher_category:
        by = "both" if (classifier_says or e.semantic >= b.check) else "matcher"
        if _meaning_denies(e, b) and not classifier_says and not worrying:
            # Rounded down, so a score just under the band never reads as the band itself.
            shown = math.floor(round(e.highest_reading * 100, 6)) / 100
            return Decision(
                CHECK, e.matcher_category, by, ("woordenlijst", f"{DOUBT_REASON} {shown:.2f}")
            )
        if _told_as_past(e, b) and not worrying:
            return Decision(CHECK, e.matcher_category, by, ("woordenlijst", PAST_REASON))
        if e.words_deny and not worrying:
            return Decision(CHECK, e.matcher_category, by, ("woordenlijst", DENIAL_REASON))
        return Decision(CRISIS, e.matcher_category, by, ("woordenlijst",))
    calm_before = context is not None and context.calm(b)
    # Never after a worrying message or a low mood: there the meaning alone counts in full.
    unsupported = e.unsupported(b) and not worrying
    # Rules 2 and 3 give CRISIS, or CHECK right after a calm message (see "calm context") or
    # for a longer message of which no part looks like a crisis.
    # ... and for a message whose words deny harm (rule 2c, twenty-sixth pass).
    denied = e.words_deny and not worrying
    meaning_only = CHECK if calm_before or unsupported or denied else CRISIS
    why_parts: tuple[str, ...] = (
        (f"{UNSUPPORTED_REASON} {e.semantic_parts:.2f})",) if unsupported else ()
    )
    why_calm: tuple[str, ...] = ("vorig bericht was rustig",) if calm_before else ()
    why_calm += why_parts
    why_calm += (DENIAL_REASON,) if denied else ()
    if e.semantic >= b.clear:
        return Decision(
            meaning_only, semantic_category, "semantic", (f"betekenis {e.semantic:.2f}", *why_calm)
        )
    if classifier_says and e.semantic >= b.agree:
        return Decision(
            meaning_only,
            semantic_category,
            "both",
            (f"taalmodel {e.classifier:.2f}", f"betekenis {e.semantic:.2f}", *why_calm),
        )
    if worrying and e.semantic >= b.context_clear:
        return Decision(
            CRISIS, semantic_category, "context", (f"betekenis {e.semantic:.2f}", why_context)
        )
    if e.semantic >= (b.unsupported_check if unsupported else b.check) and not e.idiom_only:
        # (The lowering's reason only where it changed the outcome: rules 2 and 3.)
        return Decision(CHECK, semantic_category, "semantic", (f"betekenis {e.semantic:.2f}",))
    # The other views may take a clear first reading down to calm ("touw opgehangen in de
    # schuur": 0.99 on the first view, 0.09 as latent terms near "a rope for the washing"):
    # a clear first reading keeps at least the check question.
    if e.semantic_first is not None and e.semantic_first >= b.clear and not e.idiom_only:
        return Decision(
            CHECK, semantic_category, "semantic", (f"eerste lezing {e.semantic_first:.2f}",)
        )
    if e.semantic_last >= b.last_clause and not e.last_idiom_only:
        return Decision(
            CHECK,
            e.semantic_last_category or UNKNOWN,
            "semantic",
            (f"{LAST_CLAUSE_REASON} {e.semantic_last:.2f}",),
        )
    if (
        e.semantic_clause is not None
        and e.semantic_clause >= b.every_clause
        and not e.clause_idiom_only
    ):
        return Decision(
            CHECK,
            e.semantic_clause_category or UNKNOWN,
            "semantic",
            (f"{CLAUSE_REASON} {e.semantic_clause:.2f}",),
        )
    short = e.words <= SHORT_ANSWER_WORDS
    # Without context a short message is left to the policy, which knows the open question.
    classifier_may_check = not short or (context is not None and not context.in_question)
    if (
        classifier_says
        and not e.idiom_only
        and e.semantic >= b.classifier_floor
        and classifier_may_check
    ):
        return Decision(CHECK, semantic_category, "classifier", (f"taalmodel {e.classifier:.2f}",))
    if worrying and e.semantic >= b.context_check:
        return Decision(
            CHECK, semantic_category, "context", (f"betekenis {e.semantic:.2f}", why_context)
        )
    # Last, so that it never takes the category of a check above (rule 7a, twenty-eighth pass).
    if e.asked:
        return Decision(CHECK, e.asked, "matcher", (ASK_REASON,))
    return Decision(CALM, UNKNOWN, "", ())


def context_from_events(newest_first: Iterable[dict[str, Any]]) -> Context:
    """The context of the latest user message, from the conversation's events as dicts
    (Rasa's `Event.as_dict()` format), newest first, read back to the session's start:
    a mood of 1 or 2 at this session's check-in, the client's previous message, and whether
    the latest message answers an open question (a form was asking one of `OPEN_QUESTIONS`)."""
    low_mood = False
    mood_seen = False
    users: list[dict[str, Any]] = []
    requested: str | None = None
    loop: str | None = None
    state_seen = False
    for event in newest_first:
        kind = event.get("event")
        if kind == "session_started":
            break
        if kind == "slot" and event.get("name") == MOOD_SLOT and not mood_seen:
            mood_seen = True
            low_mood = str(event.get("value")) in LOW_MOODS
        elif kind == "user":
            users.append(event)
            if len(users) == 2 and mood_seen and state_seen:
                break
        elif users and not state_seen and kind == "active_loop":
            # The newest form event before the latest message: which question was open.
            state_seen = True
            loop = event.get("name")
        elif (
            users and requested is None and kind == "slot" and event.get("name") == "requested_slot"
        ):
            requested = event.get("value") or ""
    in_question = bool(loop) and requested in OPEN_QUESTIONS
    if len(users) < 2:
        return Context(low_mood=low_mood, in_question=in_question)
    previous = (users[1].get("parse_data") or {}).get("crisis") or {}
    return Context(
        low_mood=low_mood,
        previous_outcome=previous.get("outcome") or CALM,
        previous_semantic=Evidence.from_dict(previous.get("evidence")).highest_semantic,
        # A button payload ("/bevestigen") or an empty text counts as no real message.
        previous_words=len((users[1].get("text") or "").split())
        if previous and not (users[1].get("text") or "").startswith("/")
        else 0,
        in_question=in_question,
    )
