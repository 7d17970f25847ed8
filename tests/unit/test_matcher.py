"""The deterministic crisis matcher on its own (the whole-bot figures are in
tests/test_crisis_set.py). Sentences here are written for these unit tests only."""

from __future__ import annotations

import pytest

from bot.safety.matcher import CATEGORIES, compile_pattern, get_matcher, load_patterns, normalise


@pytest.fixture(scope="module")
def matcher():
    return get_matcher()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("ik wil dood", "suicide"),
        ("Kwil gewoon dood", "suicide"),
        ("ik denk aan zelfmoord", "suicide"),
        ("ZELFMOOOORD", "suicide"),
        ("ik wil er een eind aan maken", "suicide"),
        ("ik maak er een einde aan vanavond", "suicide"),
        ("soms wil ik er niet meer zijn", "suicide"),
        ("mijn leven heeft geen zin meer", "suicide"),
        ("ik snij mezelf", "self_harm"),
        ("ik heb weer in mijn armen gesneden", "self_harm"),
        ("ik heb al mijn pillen ingenomen", "overdose"),
        ("ik ga hem kapot maken", "danger_to_others"),
        ("ik steek die gast neer", "danger_to_others"),
        ("ze bedreigen me al weken", "threatened"),
        ("hij wil me vermoorden", "threatened"),
        ("mijn vriend slaat me", "abuse"),
        ("ik ben thuis mishandeld", "abuse"),
        ("ik ga zijn kop inslaan", "danger_to_others"),
        ("ik steek zijn auto in de fik", "danger_to_others"),
        ("ik sla 'm kapot", "danger_to_others"),
        ("ze breken mijn armen als ik niet betaal", "threatened"),
        ("hij kwam met een mes naar mijn huis", "threatened"),
        ("ik heb me eigen gesneden", "self_harm"),
        ("ik heb pillen opgespaard om ze in te nemen", "overdose"),
        ("mijn vriend zegt dat ik dood ben als ik praat", "threatened"),
    ],
)
def test_crisis_language_is_found(matcher, text, category):
    assert matcher.category(text) == category


@pytest.mark.parametrize(
    "text",
    [
        "ik ben doodmoe",
        "mijn telefoon is dood",
        "ik lach me dood",
        "ik ga dood van de honger",
        "ik schrok me dood",
        "ik kijk uit naar het weekend",
        "ik ga je morgen bellen",
        "ik heb me gesneden bij het koken",
        "ik heb mijn medicatie ingenomen",
        "we zagen een film over huiselijk geweld",
        "ik ging bijna dood van de pijn",
        "",
        "   ",
        "😀😀",
        "<script>alert(1)</script>",
    ],
)
def test_everyday_language_is_not_crisis(matcher, text):
    assert matcher.category(text) is None


def test_matcher_hit_beats_priority_order(matcher):
    hits = matcher.find("hij slaat me en ik wil dood")
    assert [h.category for h in hits][0] == "suicide"
    assert {h.category for h in hits} == {"suicide", "abuse"}


def test_normalise_expands_contractions_and_squeezes_repeats():
    assert normalise("Kwil DOOOOD!!") == "ik wil dood"
    assert normalise("ZÉLFMOORD") == "zelfmoord"


def test_word_list_is_well_formed():
    patterns = load_patterns()
    assert set(patterns) == {*CATEGORIES, "exclusions"}
    for lines in patterns.values():
        for line in lines:
            assert compile_pattern(line), line


@pytest.mark.parametrize("pattern", ["_ _", "/^(a|b c)/", "a||b"])
def test_malformed_pattern_is_rejected(pattern):
    with pytest.raises(ValueError):
        compile_pattern(pattern)
