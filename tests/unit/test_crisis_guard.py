"""CrisisGuard (bot/safety/component.py): what becomes of a crisis guess it drops."""

from __future__ import annotations

import pytest
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety.component import FALLBACK_INTENT, SEMANTIC_PROPERTY, CrisisGuard
from bot.safety.decision import DEFAULT_BANDS


@pytest.fixture(scope="module")
def guard() -> CrisisGuard:
    return CrisisGuard(CrisisGuard.get_default_config())


def parsed(text: str, ranking: list[tuple[str, float]], semantic: float) -> Message:
    message = Message(data={TEXT: text})
    message.set(INTENT, {"name": ranking[0][0], "confidence": ranking[0][1]})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    message.set(SEMANTIC_PROPERTY, {"probability": semantic, "category": "unknown"})
    return message


def test_a_dropped_guess_never_falls_to_an_intent_the_classifier_did_not_consider(guard):
    # Measured on a trained model: the idiom got `crisis` 0.9998 and then `plan_rood` 0.00003,
    # and the red-plan path showed the crisis help for "ik lach me dood".
    message = parsed("ik lach me dood", [("crisis", 0.9998), ("plan_rood", 0.00003)], 0.71)
    guard.process([message])
    assert message.get("crisis")["outcome"] == "calm"
    assert message.get(INTENT)["name"] == FALLBACK_INTENT
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == FALLBACK_INTENT


def test_a_dropped_guess_falls_to_a_real_second_reading(guard):
    message = parsed("ik lach me dood", [("crisis", 0.55), ("bedankt", 0.40)], 0.2)
    guard.process([message])
    assert message.get(INTENT)["name"] == "bedankt"


def test_a_crisis_in_the_last_clause_gets_the_check_with_its_own_category(guard):
    """Rule 5b through the guard: the clause's category and nearest sentence go with the
    check (the whole message's nearest exemplars say little), and an everyday idiom in the
    first clause does not stop it; one in the last clause does."""
    text = "ik lach me dood om die gast, morgen ga ik met mn mes naar hem toe"
    message = parsed(text, [("vertellen", 0.9)], 0.3)
    message.set(
        SEMANTIC_PROPERTY,
        {
            "probability": 0.3,
            "category": "abuse",
            "nearest_crisis": "hij slaat me",
            "last_clause": 0.96,
            "last_clause_text": "morgen ga ik met mn mes naar hem toe",
            "last_clause_category": "danger_to_others",
            "last_clause_nearest": "ik ga hem neersteken",
        },
    )
    guard.process([message])
    crisis = message.get("crisis")
    assert (crisis["outcome"], crisis["category"]) == ("check", "danger_to_others")
    assert crisis["lijkt_op"] == "ik ga hem neersteken"
    assert crisis["zinsdeel"] == "morgen ga ik met mn mes naar hem toe", "marked for the worker"
    assert crisis["evidence"]["last_idiom_only"] is False

    idiom_last = parsed("die gast deed zo raar vandaag, ik lach me dood", [("vertellen", 0.9)], 0.3)
    idiom_last.set(
        SEMANTIC_PROPERTY,
        {
            "probability": 0.3,
            "category": "unknown",
            "last_clause": 0.96,
            "last_clause_text": "ik lach me dood",
            "last_clause_category": "suicide",
        },
    )
    guard.process([idiom_last])
    assert idiom_last.get("crisis")["outcome"] == "calm"


def test_a_crisis_in_a_middle_clause_gets_the_check_with_its_own_category(guard):
    """Rule 5c through the guard: the highest clause of a long message (`clauses_max`) goes
    into the evidence with its category, and the check shows its nearest sentence; an
    everyday idiom inside that clause stops it, one elsewhere does not."""
    story = (
        "vandaag was ik bij mijn moeder, ik lach me dood om haar hond, het hoeft voor mij "
        "allemaal niet meer, daarna hebben we samen soep gegeten en tv gekeken"
    )

    def long_message(clause: str) -> Message:
        message = parsed(story, [("vertellen", 0.9)], 0.2)
        message.set(
            SEMANTIC_PROPERTY,
            {
                "probability": 0.2,
                "category": "abuse",
                "nearest_crisis": "hij slaat me",
                "last_clause": 0.1,
                "last_clause_text": "daarna hebben we samen soep gegeten",
                "last_clause_category": "overdose",
                "clauses_max": 0.9,
                "clauses_max_text": clause,
                "clauses_max_category": "suicide",
                "clauses_max_nearest": "ik wil er niet meer zijn",
            },
        )
        guard.process([message])
        return message

    crisis = long_message("het hoeft voor mij allemaal niet meer").get("crisis")
    assert (crisis["outcome"], crisis["category"]) == ("check", "suicide")
    assert crisis["lijkt_op"] == "ik wil er niet meer zijn"
    assert crisis["zinsdeel"] == "het hoeft voor mij allemaal niet meer", "marked for the worker"
    assert crisis["evidence"]["semantic_clause"] == 0.9
    assert crisis["evidence"]["clause_idiom_only"] is False
    assert long_message("ik lach me dood om haar hond").get("crisis")["outcome"] == "calm"


def test_the_highest_part_reaches_the_decision(guard):
    """The scorer's `parts_max` is the evidence's `semantic_parts`: a longer message in the
    check band of which no clause looks like a crisis stays calm; with one, it is a check."""
    text = "mn parkiet kan nu hallo zeggen, ik heb het hem elke ochtend geleerd"
    # In the check band, below the band for a message no part of which looks like a crisis.
    score = (DEFAULT_BANDS.check + DEFAULT_BANDS.unsupported_check) / 2
    for parts, outcome in ((0.2, "calm"), (0.8, "check"), (None, "check")):
        message = parsed(text, [("vertellen", 0.9)], score)
        semantic = {"probability": score, "category": "suicide", "last_clause": 0.2}
        if parts is not None:
            semantic["parts_max"] = parts
        message.set(SEMANTIC_PROPERTY, semantic)
        guard.process([message])
        crisis = message.get("crisis")
        assert crisis["outcome"] == outcome, parts
        assert crisis["zinsdeel"] is None, "the whole message decided: nothing to mark"
        assert crisis["evidence"]["semantic_parts"] == parts


def test_the_parts_are_measured_below_every_band_that_uses_them():
    """The scorer measures `parts_max` from `parts_from`; the lowering applies from the check
    band up, so `parts_from` must sit below it or some messages would miss their parts."""
    import yaml

    from bot.safety.component import SemanticCrisisScorer
    from bot.safety.decision import Bands
    from bot.settings import PROJECT_ROOT

    # The pipeline's own settings in config.yml over the components' defaults.
    pipeline = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text("utf-8"))["pipeline"]
    own = {c["name"].rsplit(".", 1)[-1]: c for c in pipeline}
    bands = Bands.from_config(
        {**CrisisGuard.get_default_config()["bands"], **own["CrisisGuard"].get("bands", {})}
    )
    parts_from = own["SemanticCrisisScorer"].get(
        "parts_from", SemanticCrisisScorer.get_default_config()["parts_from"]
    )
    assert parts_from <= bands.check < bands.unsupported_check < bands.clear
    assert bands.part_support < bands.check


def test_a_word_list_hit_the_meaning_denies_needs_the_meaning_to_be_read(guard):
    """Rule 1a through the guard: the word list's hit with a read, clearly calm meaning gets
    the check question; without the semantic net's reading (it failed or is absent) the
    same hit is the crisis help at once."""
    text = "film gezien waar een man van de brug springt en het overleeft, goeie film"
    denied = parsed(text, [("vertellen", 0.9)], 0.06)
    unread = parsed(text, [("vertellen", 0.9)], 0.06)
    unread.set(SEMANTIC_PROPERTY, None)
    meant = parsed(text, [("vertellen", 0.9)], 0.7)  # above matcher_doubt (0.60)
    guard.process([denied, unread, meant])
    assert denied.get("crisis")["matched"], "the word list must match this text"
    assert (denied.get("crisis")["outcome"], denied.get("crisis")["category"]) == (
        "check",
        "suicide",
    )
    assert denied.get("crisis")["evidence"]["semantic_read"] is True
    assert denied.get("crisis")["evidence"]["matcher_doubtable"] is True
    assert unread.get("crisis")["outcome"] == "crisis"
    assert unread.get("crisis")["evidence"]["semantic_read"] is False
    assert meant.get("crisis")["outcome"] == "crisis"


def test_an_unread_middle_clause_hit_or_one_beside_an_overdose_is_never_doubted(guard):
    """Rule 1a only doubts hits the meaning read on its own (from the second review): a
    self-harm hit in a middle clause of a day's story whose clause the scorer did not read
    (no `hit_clauses`: the whole message and the last clause score low) keeps the crisis
    help; and no hit is doubted beside an overdose hit, even when another category's hit
    comes first."""
    story = (
        "de begeleider zegt dat ik goed bezig ben met werken in de tuin en in de kas met de "
        "tomaten, ik snij mezelf weer, en morgen ga ik met mijn broer naar de bioscoop"
    )
    middle = parsed(story, [("vertellen", 0.9)], 0.15)
    middle.set(
        SEMANTIC_PROPERTY,
        {
            "probability": 0.15,
            "category": "unknown",
            "last_clause": 0.29,
            "last_clause_text": "en morgen ga ik met mijn broer naar de bioscoop",
            "last_clause_category": "unknown",
        },
    )
    both = "film gezien waar een man van de brug springt en alle pillen genomen heeft"
    overdose = parsed(both, [("vertellen", 0.9)], 0.06)
    guard.process([middle, overdose])
    assert middle.get("crisis")["matched"] == "snij mezelf"
    assert middle.get("crisis")["evidence"]["matcher_doubtable"] is False
    assert middle.get("crisis")["outcome"] == "crisis"
    assert overdose.get("crisis")["category"] == "suicide"
    assert overdose.get("crisis")["evidence"]["matcher_doubtable"] is False
    assert overdose.get("crisis")["outcome"] == "crisis"


def test_a_word_list_hit_in_a_middle_clause_is_doubted_only_when_that_clause_was_read(guard):
    """Rule 1a, eleventh pass: a hit in a middle clause may be doubted when the scorer read
    that clause on its own (`hit_clauses`) and every reading, that clause's too, is low; a
    clause that reads as the crisis keeps the help at once, and so does a hit in a clause
    that was not read (the scorer's batch failed)."""
    story = (
        "we keken een film over een man, hij wilde zelfmoord plegen, daarna hebben we samen "
        "koffie gedronken in de tuin"
    )

    def message(hit_clause_score: float | None) -> Message:
        m = parsed(story, [("vertellen", 0.9)], 0.12)
        semantic = {
            "probability": 0.12,
            "category": "unknown",
            "last_clause": 0.08,
            "last_clause_text": "daarna hebben we samen koffie gedronken in de tuin",
            "last_clause_category": "unknown",
        }
        if hit_clause_score is not None:
            semantic["hit_clauses"] = [["hij wilde zelfmoord plegen", hit_clause_score]]
        m.set(SEMANTIC_PROPERTY, semantic)
        return m

    low, high, unread = message(0.2), message(0.9), message(None)
    # The same words again in a piece of one word, which no score read: counted, so not
    # doubted although "zelfmoord" also stands in the clause that was read.
    again = message(0.2)
    again.set(TEXT, story.replace("plegen,", "plegen, zelfmoord,"))
    # A hit of another kind in the first clause, not read for it.
    other = message(0.2)
    other.set(
        TEXT, "we keken een film over een man die van de brug springt, " + story.split(", ", 1)[1]
    )
    # ... and the same message with both hit clauses read: the higher reading counts.
    both_read = {}
    for name, first in (("low", 0.3), ("high", 0.9)):
        m = message(0.2)
        m.set(TEXT, other.get(TEXT))
        m.get(SEMANTIC_PROPERTY)["hit_clauses"] = [
            ["we keken een film over een man die van de brug springt", first],
            ["hij wilde zelfmoord plegen", 0.2],
        ]
        both_read[name] = m
    # A report of being hurt is never doubted, however low every reading.
    hurt = message(0.2)
    hurt.set(TEXT, story.replace("hij wilde zelfmoord plegen", "hij heeft me in elkaar geslagen"))
    hurt.get(SEMANTIC_PROPERTY)["hit_clauses"] = [["hij heeft me in elkaar geslagen", 0.2]]
    guard.process([low, high, unread, again, other, hurt, *both_read.values()])
    assert low.get("crisis")["matched"] == again.get("crisis")["matched"] == "zelfmoord"
    assert other.get("crisis")["matched"] != "zelfmoord", "the first clause's hit comes first"
    assert hurt.get("crisis")["category"] == "abuse"
    # message: (matcher_doubtable, semantic_hit_clauses, outcome)
    expected = {
        "low": (low, True, 0.2, "check"),
        "high": (high, True, 0.9, "crisis"),
        "unread": (unread, False, None, "crisis"),
        "again": (again, False, 0.2, "crisis"),
        "other": (other, False, 0.2, "crisis"),
        "hurt": (hurt, False, 0.2, "crisis"),
        "both read, low": (both_read["low"], True, 0.3, "check"),
        "both read, one high": (both_read["high"], True, 0.9, "crisis"),
    }
    for name, (m, doubtable, hit_clauses, outcome) in expected.items():
        crisis = m.get("crisis")
        got = (
            crisis["evidence"]["matcher_doubtable"],
            crisis["evidence"]["semantic_hit_clauses"],
            crisis["outcome"],
        )
        assert got == (doubtable, hit_clauses, outcome), name


LONG_DAY = (
    "Vandaag ben ik vroeg opgestaan en heb ik de hele ochtend in de tuin gewerkt. "
    "Daarna heb ik met mijn zus gebeld over haar nieuwe baan. "
    "Vanavond ga ik koken en daarna lees ik een boek."
)


def _long_check(text: str = LONG_DAY) -> Message:
    """A long message that the meaning alone puts in the check band."""
    return parsed(text, [("vertellen", 0.9)], 0.7)


def test_every_sentence_calm_on_its_own_drops_the_check_question():
    """Rule 9 through the guard: the sentences of a long check from the meaning alone are read
    with the reader, each decided on its own; all calm drops the check, one check keeps it,
    and a failing reader keeps it too."""
    asked: list[list[str]] = []

    def reader(outcomes: dict[str, float]):
        def read(texts: list[str]) -> list[Message]:
            asked.append(texts)
            return [parsed(t, [("vertellen", 0.9)], outcomes.get(t, 0.1)) for t in texts]

        return read

    config = {**CrisisGuard.get_default_config(), "read_sentences": True}
    calm = CrisisGuard(config, reader=reader({}))
    message = _long_check()
    calm.process([message])
    assert asked == [
        [
            "Vandaag ben ik vroeg opgestaan en heb ik de hele ochtend in de tuin gewerkt.",
            "Daarna heb ik met mijn zus gebeld over haar nieuwe baan.",
            "Vanavond ga ik koken en daarna lees ik een boek.",
        ]
    ]
    assert message.get("crisis")["outcome"] == "calm"
    assert message.get("crisis")["zinnen"] == ["calm", "calm", "calm"]
    assert message.get("crisis")["evidence"]["sentences_calm"] is True

    one_check = CrisisGuard(config, reader=reader({asked[0][1]: 0.7}))
    message = _long_check()
    one_check.process([message])
    assert message.get("crisis")["outcome"] == "check"
    assert message.get("crisis")["zinnen"] == ["calm", "check", "calm"]
    assert message.get("crisis")["evidence"]["sentences_calm"] is False

    def broken(texts: list[str]) -> list[Message]:
        raise RuntimeError("reader down")

    message = _long_check()
    CrisisGuard(config, reader=broken).process([message])
    assert message.get("crisis")["outcome"] == "check"
    assert message.get("crisis")["zinnen"] is None


def test_rule_9_is_off_unless_the_config_switches_it_on():
    """Off by default (it dropped the check on a held-out suicide message): the sentences are
    not read and the long message keeps its check question."""
    asked: list[list[str]] = []

    def read(texts: list[str]) -> list[Message]:
        asked.append(texts)
        return [parsed(t, [("vertellen", 0.9)], 0.1) for t in texts]

    assert CrisisGuard.get_default_config()["read_sentences"] is False
    with pytest.raises(InvalidConfigException, match="read_sentences"):
        CrisisGuard({**CrisisGuard.get_default_config(), "read_sentences": "false"})
    message = _long_check()
    CrisisGuard(CrisisGuard.get_default_config(), reader=read).process([message])
    assert asked == []
    assert message.get("crisis")["outcome"] == "check"
    assert message.get("crisis")["zinnen"] is None
    assert message.get("crisis")["evidence"]["sentences_calm"] is False


def test_only_long_checks_from_the_meaning_of_two_sentences_are_read():
    asked: list[list[str]] = []

    def read(texts: list[str]) -> list[Message]:
        asked.append(texts)
        return [parsed(t, [("vertellen", 0.9)], 0.1) for t in texts]

    guard = CrisisGuard({**CrisisGuard.get_default_config(), "read_sentences": True}, reader=read)
    short = _long_check("Het was een lange dag. Ik ben moe.")  # under 20 words
    one = _long_check(LONG_DAY.replace(". ", ", "))  # one sentence
    hit = _long_check(LONG_DAY + " Ik wil zelfmoord plegen.")  # a word-list hit
    classifier = parsed(LONG_DAY, [("crisis", 0.99)], 0.5)  # the classifier's check
    guard.process([short, one, hit, classifier])
    assert asked == []
    assert [m.get("crisis")["outcome"] for m in (short, one, hit, classifier)] == [
        "check",
        "check",
        "crisis",
        "check",
    ]


def test_rule_9_needs_every_sentence_read_and_reads_them_as_first_messages():
    """An incomplete reading keeps the check; a short sentence the classifier alone calls a
    crisis is a check as a first message (rule 6), so it keeps the check too; more than
    `SENTENCE_MAX` sentences are not read; a new line ends a sentence."""
    from bot.safety.decision import SENTENCE_MAX

    config = {**CrisisGuard.get_default_config(), "read_sentences": True}
    message = _long_check()
    CrisisGuard(config, reader=lambda texts: []).process([message])
    assert message.get("crisis")["outcome"] == "check"

    def short_crisis(texts: list[str]) -> list[Message]:
        return [parsed(t, [("vertellen", 0.9)], 0.1) for t in texts[:-1]] + [
            parsed("Het is genoeg.", [("crisis", 0.95)], 0.5)
        ]

    message = _long_check()
    CrisisGuard(config, reader=short_crisis).process([message])
    assert message.get("crisis")["zinnen"] == ["calm", "calm", "check"]
    assert message.get("crisis")["outcome"] == "check"

    asked: list[list[str]] = []

    def read(texts: list[str]) -> list[Message]:
        asked.append(texts)
        return [parsed(t, [("vertellen", 0.9)], 0.1) for t in texts]

    guard = CrisisGuard(config, reader=read)
    many = " ".join(["Ik heb vandaag gewerkt in de tuin."] * (SENTENCE_MAX + 1))
    lines = LONG_DAY.replace(". ", "\n")
    guard.process([_long_check(many), _long_check(lines)])
    assert asked == [lines.split("\n")]
    assert len(asked[0]) == 3


def test_a_hit_told_as_the_past_gets_the_check_only_with_a_calm_last_clause():
    """Rule 1b through the guard, switched on: the words say the overdose is a past that is
    over, and the last clause, read on its own, reads calm; without a last clause read, or with
    one that reads worrying, the crisis help stays. Switched off (the default since the
    fifteenth pass), the help stays too."""
    text = "ik heb ooit een overdosis gehad, nu ben ik al twee jaar clean"
    guard = CrisisGuard({**CrisisGuard.get_default_config(), "read_past": True})

    def outcome(semantic: dict) -> dict:
        message = parsed(text, [("crisis", 0.9)], 0.5)
        message.set(SEMANTIC_PROPERTY, {"probability": 0.5, "category": "overdose", **semantic})
        guard.process([message])
        return message.get("crisis")

    last = {"last_clause_text": "nu ben ik al twee jaar clean", "last_clause_category": "abuse"}
    crisis = outcome({**last, "last_clause": 0.01})
    assert (crisis["outcome"], crisis["category"]) == ("check", "overdose")
    assert crisis["reasons"] == ["woordenlijst", "verteld als verleden"]
    assert crisis["evidence"]["matcher_past"] is True
    assert outcome({**last, "last_clause": 0.7})["outcome"] == "crisis"
    unread = outcome({})  # the scorer read no last clause (it failed or the net is absent)
    assert (unread["outcome"], unread["evidence"]["matcher_past"]) == ("crisis", False)
    guard = CrisisGuard(CrisisGuard.get_default_config())
    assert CrisisGuard.get_default_config()["read_past"] is False
    off = outcome({**last, "last_clause": 0.01})
    assert (off["outcome"], off["evidence"]["matcher_past"]) == ("crisis", False)
    with pytest.raises(InvalidConfigException, match="read_past"):
        CrisisGuard({**CrisisGuard.get_default_config(), "read_past": "true"})
