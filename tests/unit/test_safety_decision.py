"""The safety decision (bot/safety/decision.py): one test per band, and the context rules."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.safety.decision import (
    ASK_REASON,
    CALM,
    CHECK,
    CLAUSE_REASON,
    CRISIS,
    DENIAL_REASON,
    DOUBT_MIN_WORDS,
    DOUBT_REASON,
    LAST_CLAUSE_REASON,
    PAST_REASON,
    SENTENCES_REASON,
    SHORT_ANSWER_WORDS,
    Bands,
    Context,
    Evidence,
    context_from_events,
    decide,
)

B = Bands()
WORRYING = Context(previous_outcome=CHECK)
LOW_MOOD = Context(low_mood=True)
CALM_BEFORE = Context(previous_outcome=CALM, previous_semantic=0.05, previous_words=6)


def ev(**kw) -> Evidence:
    return Evidence(**kw)


def test_the_bands_are_ordered_sensibly():
    assert B.context_check < B.check < B.clear
    assert B.context_clear < B.clear
    assert B.check <= B.agree < B.clear


def test_a_word_list_hit_is_a_crisis_whatever_the_other_signals_say():
    # (Rule 1a below is the one exception: the meaning, read, clearly denies it.)
    d = decide(ev(matcher_category="suicide", semantic=0.0))
    assert (d.outcome, d.category, d.detected_by) == (CRISIS, "suicide", "matcher")
    assert decide(ev(matcher_category="abuse", semantic=0.99)).detected_by == "both"
    # Never lowered by a calm context.
    assert decide(ev(matcher_category="suicide"), CALM_BEFORE).outcome == CRISIS


def test_a_word_list_hit_the_meaning_clearly_denies_asks_the_check_question_first():
    """Rule 1a (ninth pass): the words say crisis, every reading of the meaning clearly not."""
    low = B.matcher_doubt - 0.001
    denied = dict(
        matcher_category="suicide",
        semantic=low,
        semantic_read=True,
        matcher_doubtable=True,
        words=12,
    )
    d = decide(ev(**denied))
    assert (d.outcome, d.category, d.detected_by) == (CHECK, "suicide", "matcher")
    # The score is rounded down: 0.299 must not read as the band (0.30).
    assert d.reasons == ("woordenlijst", f"{DOUBT_REASON} {B.matcher_doubt - 0.01:.2f}")
    # Each condition on its own keeps the crisis help at once:
    for change in (
        {"semantic": B.matcher_doubt},  # the whole message reaches the band
        {"semantic_first": B.matcher_doubt},  # the first view alone does
        {"semantic_last": B.matcher_doubt},  # the last clause does
        {"semantic_hit_clauses": B.matcher_doubt},  # another clause holding a hit does
        {"semantic_read": False},  # the meaning was not read (failing or absent net)
        {"matcher_doubtable": False},  # a hit outside the parts read alone, or an overdose
        {"words": DOUBT_MIN_WORDS - 1},  # too short to deny anything
        {"classifier": B.classifier},  # the classifier says crisis too
        {"matcher_category": "overdose"},  # no question first after pills
        {"matcher_category": "abuse"},  # a report of being hurt: the words decide
        {"matcher_category": "threatened"},  # ... or of being threatened
    ):
        assert decide(ev(**{**denied, **change})).outcome == CRISIS, change
    assert decide(ev(**{**denied, "words": DOUBT_MIN_WORDS})).outcome == CHECK
    # Rounded down without a floating-point slip: 0.29 reads as 0.29, not 0.28.
    assert decide(ev(**{**denied, "semantic": 0.29})).reasons[1] == f"{DOUBT_REASON} 0.29"
    # Never lowered after a worrying message or a low mood, and never to nothing.
    for context in (WORRYING, LOW_MOOD):
        assert decide(ev(**denied), context).outcome == CRISIS
    assert decide(ev(**denied), CALM_BEFORE).outcome == CHECK
    assert decide(ev(**{**denied, "semantic_hit_clauses": low})).outcome == CHECK
    # A reading that would itself ask the check question never denies the words.
    assert B.matcher_doubt < B.check


def test_a_word_list_hit_told_as_the_past_asks_the_check_question_first():
    """Rule 1b: every hit told as a distant past that is over now, with a calm last clause,
    gets the check question instead of the help at once, in every category, also with the
    classifier agreeing; each condition on its own keeps the help, and never to nothing."""
    past = {
        "matcher_category": "overdose",
        "matcher_past": True,
        "semantic_read": True,
        "words": DOUBT_MIN_WORDS,
        "semantic": 0.62,
        "semantic_last": B.matcher_doubt - 0.01,
        "classifier": 0.99,
    }
    d = decide(ev(**past))
    assert (d.outcome, d.category, d.detected_by) == (CHECK, "overdose", "both")
    assert d.reasons == ("woordenlijst", PAST_REASON)
    for category in ("suicide", "self_harm", "danger_to_others", "abuse", "threatened"):
        assert decide(ev(**{**past, "matcher_category": category})).outcome == CHECK
    for change in (
        {"matcher_past": False},  # not told as the past, or no last clause read
        {"semantic_last": B.matcher_doubt},  # the "now" does not read calm
        {"semantic_read": False},  # the meaning was not read
        {"words": DOUBT_MIN_WORDS - 1},  # too short
    ):
        assert decide(ev(**{**past, **change})).outcome == CRISIS, change
    for context in (WORRYING, LOW_MOOD):
        assert decide(ev(**past), context).outcome == CRISIS
    assert decide(ev(**past), CALM_BEFORE).outcome == CHECK
    # The stored evidence keeps it: the policy decides the same.
    assert Evidence.from_dict(ev(**past).as_dict()).matcher_past is True


def test_words_that_deny_the_harm_ask_the_check_question_first():
    """Rules 1c and 2c: a word-list hit, or a clear reading of the models, on a message whose
    words deny the harm gets the check question instead of the help at once, in every
    category; never nothing, and never in a worrying context."""
    hit = {"matcher_category": "danger_to_others", "classifier": 0.99, "words_deny": True}
    d = decide(ev(**hit))
    assert (d.outcome, d.category) == (CHECK, "danger_to_others")
    assert d.reasons == ("woordenlijst", DENIAL_REASON)
    for category in ("suicide", "self_harm", "overdose", "abuse", "threatened"):
        assert decide(ev(**{**hit, "matcher_category": category})).outcome == CHECK
    assert decide(ev(**{**hit, "words_deny": False})).outcome == CRISIS
    clear = {"semantic": 0.99, "semantic_category": "suicide", "words_deny": True}
    agree = {"semantic": B.agree, "classifier": 0.99, "words_deny": True}
    for models in (clear, agree):
        d = decide(ev(**models))
        assert d.outcome == CHECK and d.reasons[-1] == DENIAL_REASON, models
        assert decide(ev(**{**models, "words_deny": False})).outcome == CRISIS
    for evidence in (hit, clear, agree):
        for context in (WORRYING, LOW_MOOD):
            assert decide(ev(**evidence), context).outcome == CRISIS
        # Only ever lowered to the check question, however calm the rest is.
        assert decide(ev(**evidence), CALM_BEFORE).outcome == CHECK
    # Nothing that was not the crisis help is lowered by it.
    assert decide(ev(semantic=B.check, words_deny=True)).outcome == CHECK
    # The stored evidence keeps it: the policy and the actions decide the same.
    assert Evidence.from_dict(ev(**hit).as_dict()).words_deny is True


def test_a_phrase_that_asks_gets_the_check_question():
    """Rule 7a (twenty-eighth pass): "ze laten me nie weg" asks, with its own category, with or
    without the conversation, also in a short answer to an open question."""
    asked = {"asked": "threatened", "words": 4, "semantic": 0.19, "classifier": 0.96}
    for context in (None, Context(), CALM_BEFORE, Context(in_question=True), WORRYING):
        d = decide(ev(**asked), context)
        assert (d.outcome, d.category, d.detected_by, d.reasons) == (
            CHECK,
            "threatened",
            "matcher",
            (ASK_REASON,),
        ), context
    # Never more than the check question on its own ...
    assert decide(ev(**{**asked, "semantic": B.check - 0.01})).outcome == CHECK
    # ... and never less than what the rules above give.
    assert decide(ev(**asked, matcher_category="abuse")).outcome == CRISIS
    assert decide(ev(**{**asked, "semantic": B.clear})).outcome == CRISIS
    assert decide(ev(**{**asked, "asked": None})).outcome == CALM
    # An everyday idiom elsewhere in the message does not stop it ("hij heeft een mes, ik schrik
    # me dood"); one over the phrase cancels it in the word list already.
    assert decide(ev(**asked, idiom_only=True)).outcome == CHECK
    # Last: a check of the classifier or of the context keeps its own category.
    clf = {**asked, "semantic": B.classifier_floor, "semantic_category": "danger_to_others"}
    assert decide(ev(**clf)).category == "danger_to_others"
    ctx = {**asked, "semantic": B.context_check, "semantic_category": "danger_to_others"}
    assert decide(ev(**ctx), WORRYING).category == "danger_to_others"
    assert Evidence.from_dict(ev(**asked).as_dict()) == ev(**asked)


def test_semantic_above_clear_is_a_crisis():
    d = decide(ev(semantic=B.clear, semantic_category="overdose"))
    assert (d.outcome, d.category, d.detected_by) == (CRISIS, "overdose", "semantic")
    assert decide(ev(semantic=B.clear - 0.01)).outcome == CHECK


def test_classifier_and_semantic_agreeing_is_a_crisis():
    d = decide(ev(classifier=0.9, semantic=B.agree, semantic_category="self_harm"))
    assert (d.outcome, d.detected_by) == (CRISIS, "both")
    assert decide(ev(classifier=0.9, semantic=B.agree - 0.01)).outcome == CHECK


def test_semantic_in_the_middle_band_asks_the_check_question():
    d = decide(ev(semantic=B.check, semantic_category="danger_to_others"))
    assert (d.outcome, d.category, d.detected_by) == (CHECK, "danger_to_others", "semantic")
    assert decide(ev(semantic=B.check - 0.01)).outcome == CALM


def test_the_last_clause_alone_asks_the_check_question():
    """A crisis told after an ordinary opening: the whole message scores calm, its last
    clause on its own does not. It gets the check question, never the crisis help at once,
    with the clause's own category (the whole message's nearest crisis exemplars say little)."""
    d = decide(
        ev(
            semantic=0.1,
            semantic_category="abuse",
            semantic_last=B.last_clause,
            semantic_last_category="danger_to_others",
        )
    )
    assert (d.outcome, d.category, d.detected_by) == (CHECK, "danger_to_others", "semantic")
    assert d.reasons[0].startswith(LAST_CLAUSE_REASON)
    assert decide(ev(semantic=0.1, semantic_last=B.last_clause - 0.01)).outcome == CALM
    assert decide(ev(semantic=0.1, semantic_last=1.0)).outcome == CHECK


def test_a_clause_of_a_long_message_alone_asks_the_check_question():
    """Rule 5c (thirteenth pass): a crisis told in a middle clause of a long story. The whole
    message and its last clause score calm, its highest clause on its own does not: the check
    question, never the crisis help at once, with that clause's category; not for a clause
    that holds an everyday idiom, and never in place of a higher outcome."""
    long = dict(words=40, semantic=0.1, semantic_category="abuse", semantic_last=0.2)
    d = decide(ev(semantic_clause=B.every_clause, semantic_clause_category="suicide", **long))
    assert (d.outcome, d.category, d.detected_by) == (CHECK, "suicide", "semantic")
    assert d.reasons == (f"{CLAUSE_REASON} {B.every_clause:.2f}",)
    assert decide(ev(semantic_clause=1.0, **long)).outcome == CHECK
    assert decide(ev(semantic_clause=B.every_clause - 0.01, **long)).outcome == CALM
    assert decide(ev(**long)).outcome == CALM  # no clause read: no rule 5c
    assert decide(ev(semantic_clause=0.99, clause_idiom_only=True, **long)).outcome == CALM
    # Only the clause's own idiom stops it, as for rule 5b.
    assert decide(ev(semantic_clause=0.99, idiom_only=True, **long)).outcome == CHECK
    # The last clause at its band answers first (rule 5b), with its own category.
    d = decide(
        ev(
            **{**long, "semantic_last": B.last_clause},
            semantic_last_category="overdose",
            semantic_clause=0.99,
            semantic_clause_category="suicide",
        )
    )
    assert (d.outcome, d.category) == (CHECK, "overdose")
    assert d.reasons[0].startswith(LAST_CLAUSE_REASON)
    # A word-list hit or a clear meaning keeps the crisis help.
    assert decide(ev(matcher_category="suicide", semantic_clause=0.99, **long)).outcome == CRISIS
    assert decide(ev(**{**long, "semantic": B.clear}, semantic_clause=0.99)).outcome == CRISIS
    # In any context, and after the stored evidence too (the policy decides from it).
    for context in (CALM_BEFORE, WORRYING, LOW_MOOD):
        assert decide(ev(semantic_clause=0.9, **long), context).outcome == CHECK
    # Before the classifier's check (6) and the context's (7): its reason is the clause.
    d = decide(ev(**{**long, "semantic": B.context_check}, semantic_clause=0.9), WORRYING)
    assert (d.outcome, d.reasons) == (CHECK, (f"{CLAUSE_REASON} 0.90",))
    e = ev(semantic_clause=0.91, semantic_clause_category="threatened", clause_idiom_only=True)
    assert Evidence.from_dict(e.as_dict()) == e
    assert Evidence.from_dict(ev(semantic=0.1).as_dict()).semantic_clause is None
    # Rule 9 never drops a check that a clause at its band asked for, also from rule 5.
    d = decide(ev(**{**long, "semantic": B.check}, semantic_clause=0.9, sentences_calm=True))
    assert (d.outcome, d.detected_by) == (CHECK, "semantic")


def test_a_clear_first_reading_keeps_at_least_the_check_question():
    """Rule 5a: "touw opgehangen in de schuur" scored 0.99 on the first view and 0.09 as
    latent terms (near "a rope for the washing"); the mean of the three views (0.58) is under
    the check band. A clear first reading keeps the check question, never calm; below clear it
    does not, and a message read once (no first-view score) is unchanged."""
    just_under = B.check - 0.01
    d = decide(ev(semantic=just_under, semantic_first=B.clear))
    assert (d.outcome, d.reasons) == (CHECK, (f"eerste lezing {B.clear:.2f}",))
    assert decide(ev(semantic=just_under, semantic_first=B.clear - 0.01)).outcome == CALM
    assert decide(ev(semantic=just_under)).outcome == CALM
    assert decide(ev(semantic=just_under, semantic_first=0.99, idiom_only=True)).outcome == CALM
    stored = Evidence.from_dict(ev(semantic=0.5, semantic_first=0.97).as_dict())
    assert stored.semantic_first == pytest.approx(0.97)
    assert Evidence.from_dict(ev(semantic=0.5).as_dict()).semantic_first is None


def test_only_an_idiom_inside_the_last_clause_stops_rule_5b():
    # "ik lach me dood om die gast, morgen ga ik met mn mes naar hem toe": the idiom is in
    # the first clause, so the clause still gets the check question.
    assert decide(ev(semantic=0.1, semantic_last=0.99, idiom_only=True)).outcome == CHECK
    assert decide(ev(semantic=0.1, semantic_last=0.99, last_idiom_only=True)).outcome == CALM


def test_the_last_clause_score_survives_the_stored_evidence():
    e = ev(semantic=0.2, semantic_last=0.93, semantic_last_category="suicide", last_idiom_only=True)
    assert Evidence.from_dict(e.as_dict()) == e
    read = ev(
        matcher_category="suicide",
        semantic=0.1,
        semantic_read=True,
        matcher_doubtable=True,
        semantic_hit_clauses=0.77,
    )
    assert Evidence.from_dict(read.as_dict()) == read
    # The policy decides again from the stored evidence: a hit clause that was read high
    # must still deny rule 1a there.
    denied = Evidence.from_dict({**read.as_dict(), "words": 12})
    assert decide(denied).outcome == CRISIS
    assert decide(replace(denied, semantic_hit_clauses=None)).outcome == CHECK


def test_a_previous_message_counts_by_its_higher_score():
    """A previous message whose last clause scored high is worrying, not calm."""
    events = [
        {"event": "user", "text": "ik ben er", "parse_data": {}},
        {
            "event": "user",
            "text": "buurman is luid, morgen ga ik met mn mes naar hem",
            "parse_data": {
                "crisis": {
                    "outcome": CALM,
                    "evidence": {"semantic": 0.2, "semantic_last": B.context_previous},
                }
            },
        },
    ]
    context = context_from_events(events)
    assert context.previous_semantic == B.context_previous
    assert context.worrying(B) and not context.calm(B)


def test_the_classifier_alone_never_shows_the_crisis_help():
    # "me moeder" got crisis 0.9997 from the classifier alone: a check at most.
    d = decide(ev(classifier=0.9997, semantic=B.classifier_floor, words=5))
    assert (d.outcome, d.detected_by) == (CHECK, "classifier")
    # ... and nothing when the meaning is clearly calm or only an everyday idiom matched.
    assert (
        decide(ev(classifier=0.9997, semantic=B.classifier_floor - 0.01, words=5)).outcome == CALM
    )
    assert decide(ev(classifier=0.99, semantic=0.6, idiom_only=True, words=5)).outcome == CALM


def test_a_short_answer_to_an_open_question_needs_more_than_the_classifier():
    short = ev(classifier=0.9997, semantic=B.classifier_floor, words=SHORT_ANSWER_WORDS)
    # Inside an open question ("Wie helpt jou?" - "mijn collega"): calm.
    assert decide(short, Context(in_question=True)).outcome == CALM
    # Outside one (a first message, the mood question, "Wat wil je kwijt?"): the check.
    d = decide(short, Context(in_question=False))
    assert (d.outcome, d.detected_by) == (CHECK, "classifier")
    # The NLU pipeline cannot see the question: it leaves short messages to the policy.
    assert decide(short).outcome == CALM
    # One word more and the classifier may ask the check question anywhere.
    longer = ev(classifier=0.9997, semantic=B.classifier_floor, words=SHORT_ANSWER_WORDS + 1)
    assert decide(longer, Context(in_question=True)).outcome == CHECK
    # The word list and the meaning still work on short answers inside a question.
    inside = Context(in_question=True)
    assert decide(ev(matcher_category="suicide", words=2), inside).outcome == CRISIS
    assert decide(ev(semantic=B.check, words=2), inside).outcome == CHECK
    assert decide(ev(semantic=B.clear, words=2), inside).outcome == CRISIS


def test_an_everyday_idiom_gets_no_check_question():
    assert decide(ev(semantic=B.check, idiom_only=True)).outcome == CALM
    assert decide(ev(semantic=B.clear, idiom_only=True)).outcome == CRISIS


def test_nothing_is_calm():
    assert decide(ev()) == decide(ev(semantic=0.1, classifier=0.2))
    assert decide(ev()).outcome == CALM


@pytest.mark.parametrize("context", [WORRYING, LOW_MOOD, Context(previous_semantic=0.7)])
def test_a_worrying_context_raises_the_outcome(context):
    assert context.worrying(B)
    middle = ev(semantic=B.context_clear)
    assert decide(middle).outcome == CHECK
    d = decide(middle, context)
    assert (d.outcome, d.detected_by) == (CRISIS, "context")
    assert d.reasons[-1], "the reason names the context"
    low = ev(semantic=B.context_check)
    assert decide(low).outcome == CALM
    assert decide(low, context).outcome == CHECK
    assert decide(ev(semantic=B.context_check - 0.01), context).outcome == CALM


def test_a_calm_context_turns_a_meaning_only_crisis_into_a_check():
    assert CALM_BEFORE.calm(B)
    d = decide(ev(semantic=0.99), CALM_BEFORE)
    assert (d.outcome, d.detected_by) == (CHECK, "semantic")
    assert "vorig bericht was rustig" in d.reasons
    d = decide(ev(semantic=0.9, classifier=0.9), CALM_BEFORE)
    assert d.outcome == CHECK


def test_a_greeting_or_a_button_is_no_calm_context():
    for words in (0, 1, 2):
        context = Context(previous_outcome=CALM, previous_semantic=0.0, previous_words=words)
        assert not context.calm(B)
        assert decide(ev(semantic=0.99), context).outcome == CRISIS
    # A low mood is never a calm context.
    assert not Context(low_mood=True, previous_words=8).calm(B)


def _user(text: str, outcome: str = CALM, semantic: float = 0.0) -> dict:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"crisis": {"outcome": outcome, "evidence": {"semantic": semantic}}},
    }


def test_context_from_events_reads_mood_and_the_previous_message():
    events = [
        {"event": "session_started"},
        {"event": "slot", "name": "stemming", "value": "2"},
        _user("het gaat slecht, echt heel slecht", CHECK, 0.8),
        {"event": "bot", "text": "Wat zit je dwars?"},
        _user("ik sta op de brug"),
    ]
    context = context_from_events(reversed(events))
    assert context == Context(
        low_mood=True, previous_outcome=CHECK, previous_semantic=0.8, previous_words=6
    )


def test_context_from_events_stops_at_the_session_start():
    events = [
        {"event": "slot", "name": "stemming", "value": "1"},
        _user("alles is zwart", CRISIS, 0.99),
        {"event": "session_started"},
        _user("hoi"),
    ]
    assert context_from_events(reversed(events)) == Context()


def test_a_button_is_not_a_real_previous_message():
    events = [_user("/bevestigen"), _user("ik heb alles klaar liggen")]
    assert context_from_events(reversed(events)).previous_words == 0


def _form(loop: str | None, requested: str | None) -> list[dict]:
    return [
        {"event": "active_loop", "name": loop},
        {"event": "slot", "name": "requested_slot", "value": requested},
    ]


@pytest.mark.parametrize(
    ("loop", "requested", "inside"),
    [
        ("thema_form", "antwoord_1", True),
        ("stapje_form", "stapje", True),
        ("checkin_form", "stemming", False),  # the mood: a short answer may be a first sign
        ("kwijt_form", "kwijt_tekst", False),  # "Wat wil je kwijt?": the same
        ("correctie_form", "nieuw_antwoord", False),  # may correct the "kwijt" text
        ("vraag_form", "vraag_antwoord", False),  # the worker's own question
        (None, None, False),
    ],
)
def test_context_from_events_knows_the_open_question(loop, requested, inside):
    events = [
        {"event": "session_started"},
        _user("hoi"),
        *_form(loop, requested),
        _user("mn collega"),
    ]
    assert context_from_events(reversed(events)).in_question is inside


def test_a_form_that_ended_before_the_message_is_no_open_question():
    events = [
        *_form("thema_form", "antwoord_1"),
        _user("mijn zus"),
        {"event": "slot", "name": "requested_slot", "value": None},
        {"event": "active_loop", "name": None},
        _user("mn collega"),
    ]
    assert context_from_events(reversed(events)).in_question is False


def test_a_longer_message_of_which_no_part_looks_like_a_crisis():
    """Seventh pass: every clause below `part_support` on its own. The meaning alone then
    asks the check question only from `unsupported_check`, never the crisis help at once;
    the word list and the classifier's check are unchanged."""
    unsupported = B.part_support - 0.01
    assert B.check < B.unsupported_check < B.clear
    assert decide(ev(semantic=B.check, semantic_parts=unsupported)).outcome == CALM
    assert (
        decide(ev(semantic=B.unsupported_check - 0.01, semantic_parts=unsupported)).outcome == CALM
    )
    d = decide(ev(semantic=B.unsupported_check, semantic_parts=unsupported))
    # The same outcome as without the lowering: no lowering reason.
    assert d.outcome == CHECK and not any("zinsdeel" in r for r in d.reasons)
    # Rules 2 and 3 give the check question, not the crisis help.
    assert decide(ev(semantic=0.99, semantic_parts=unsupported)).outcome == CHECK
    assert decide(ev(semantic=0.9, classifier=0.99, semantic_parts=unsupported)).outcome == CHECK
    # A part that looks like a crisis, or no parts measured: the usual bands.
    assert decide(ev(semantic=B.check, semantic_parts=B.part_support)).outcome == CHECK
    assert decide(ev(semantic=B.check, semantic_parts=None)).outcome == CHECK
    assert decide(ev(semantic=0.99, semantic_parts=B.part_support)).outcome == CRISIS
    # The word list still wins; the classifier still asks the check question.
    assert decide(ev(matcher_category="suicide", semantic_parts=0.0)).outcome == CRISIS
    d = decide(ev(semantic=B.check, classifier=0.99, semantic_parts=0.1, words=12))
    assert (d.outcome, d.detected_by) == (CHECK, "classifier")
    # Never in a worrying context: there the meaning counts in full.
    for context in (WORRYING, LOW_MOOD):
        assert decide(ev(semantic=0.99, semantic_parts=0.1), context).outcome == CRISIS
        agree = ev(semantic=B.agree, classifier=0.99, semantic_parts=0.1)
        assert decide(agree, context).outcome == CRISIS
        assert decide(ev(semantic=B.context_clear, semantic_parts=0.1), context).outcome == CRISIS
        assert decide(ev(semantic=B.check, semantic_parts=0.1), context).outcome == CHECK
    # The reason says why it was lowered.
    d = decide(ev(semantic=0.99, semantic_parts=0.3))
    assert d.reasons == ("betekenis 0.99", "geen zinsdeel apart zorgelijk (hoogste 0.30)")


def test_the_parts_score_survives_the_stored_evidence():
    for parts in (None, 0.0, 0.42):
        e = ev(semantic=0.8, semantic_parts=parts)
        assert Evidence.from_dict(e.as_dict()) == e


def test_every_sentence_calm_drops_a_check_from_the_meaning_alone():
    """Rule 9 (twelfth pass): a check from the meaning alone on a long message whose every
    sentence on its own is calm becomes calm; nothing else is lowered by it."""
    long = dict(words=30, sentences_calm=True)
    d = decide(ev(semantic=B.check, **long))
    assert (d.outcome, d.reasons[0]) == (CALM, SENTENCES_REASON)
    # Only rule 5: not a clear first reading (5a), a last clause at its band (5b) or a crisis
    # of the meaning lowered for a message no part of which looks like one (rule 2).
    for evidence in (
        ev(semantic_last=B.last_clause, **long),
        ev(semantic=B.check, semantic_last=B.last_clause, **long),
        ev(semantic=B.check, semantic_first=B.clear, **long),
        ev(semantic=B.clear, semantic_parts=B.part_support - 0.1, **long),
    ):
        d = decide(evidence)
        assert (d.outcome, d.detected_by) == (CHECK, "semantic"), evidence
    # Without it, or in a worrying context, the check stands.
    assert decide(ev(semantic=B.check, words=30)).outcome == CHECK
    for context in (WORRYING, LOW_MOOD):
        assert decide(ev(semantic=B.check, **long), context).outcome == CHECK
    assert decide(ev(semantic=B.check, **long), CALM_BEFORE).outcome == CALM
    # Never the crisis help, a word-list hit or the classifier's check.
    assert decide(ev(semantic=B.clear, **long)).outcome == CRISIS
    assert decide(ev(matcher_category="suicide", **long)).outcome == CRISIS
    d = decide(ev(classifier=0.99, semantic=B.classifier_floor, **long))
    assert (d.outcome, d.detected_by) == (CHECK, "classifier")
    # ... and it survives the stored evidence the policy decides from.
    stored = Evidence.from_dict(ev(semantic=B.check, **long).as_dict())
    assert stored.sentences_calm is True
    assert decide(stored).outcome == CALM
