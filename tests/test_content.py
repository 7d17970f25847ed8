"""Everything Koers says: both language levels, plain language, and the fixed crisis help."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.language import check_text

DOMAIN = yaml.safe_load((Path(__file__).parent.parent / "domain.yml").read_text(encoding="utf-8"))
RESPONSES: dict[str, list[dict]] = DOMAIN["responses"]
# The calm check question (bot/safety) asks; the crisis help itself never does.
CHECK = sorted(name for name in RESPONSES if name.startswith("utter_crisis_controle"))
CRISIS = sorted(
    name
    for name in RESPONSES
    if name.startswith("utter_crisis_")
    and name not in ("utter_crisis_keuze", "utter_crisis_herinnering", *CHECK)
)
HELP_LINES = ("113", "0800-0113", "113.nl", "112", "0800-2000")


def variants(name: str) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for variant in RESPONSES[name]:
        conditions = variant.get("condition") or []
        if not conditions:
            found["standaard"] = variant
        elif conditions == [{"type": "slot", "name": "taalniveau", "value": "eenvoudig"}]:
            found["eenvoudig"] = variant
        else:
            found[f"unexpected {conditions}"] = variant
    return found


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_has_a_standard_and_a_simple_variant(name):
    assert set(variants(name)) == {"standaard", "eenvoudig"}


@pytest.mark.parametrize("name", sorted(RESPONSES))
@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_plain_language(name, level):
    variant = variants(name)[level]
    problems = check_text(variant["text"], level)
    assert not problems, "\n".join(f"{p.issue}: {p.sentence}" for p in problems)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_closed_questions_have_buttons_in_both_levels(name):
    v = variants(name)
    assert bool(v["standaard"].get("buttons")) == bool(v["eenvoudig"].get("buttons"))
    if v["eenvoudig"].get("buttons"):
        assert len(v["eenvoudig"]["buttons"]) == len(v["standaard"]["buttons"])


def test_the_crisis_categories_are_all_covered():
    assert CRISIS == [
        f"utter_crisis_{c}"
        for c in sorted(
            [
                "suicide",
                "overdose",
                "self_harm",
                "danger_to_others",
                "threatened",
                "abuse",
                "unknown",
            ]
        )
    ]


@pytest.mark.parametrize("name", [*CRISIS, "utter_schaal_niet_veilig"])
@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_crisis_text_has_all_help_and_asks_nothing(name, level):
    text = variants(name)[level]["text"]
    for line in HELP_LINES:
        assert line in text, f"{name} ({level}) misses {line}"
    assert "?" not in text, "the crisis help never asks a question (and never about methods)"
    assert "begeleider" in text, "says honestly that the worker will see it"


@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_the_reminder_after_a_crisis_keeps_every_number(level):
    text = variants("utter_crisis_herinnering")[level]["text"]
    for line in HELP_LINES:
        assert line in text, f"utter_crisis_herinnering ({level}) misses {line}"
    assert "?" not in text


@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_simple_crisis_help_says_free_and_day_and_night(level):
    for name in CRISIS:
        text = variants(name)[level]["text"].lower()
        assert "gratis" in text and "dag en nacht" in text, name


def test_crisis_texts_avoid_what_the_review_found():
    for name in CRISIS:
        for level, variant in variants(name).items():
            text = variant["text"]
            # "Je hoeft dit niet alleen te doen" can be read as being about the self-harm.
            assert "niet alleen te doen" not in text, (name, level)
    # The same words under the chat's Hulp button: it opens on a crisis too.
    templates = Path(__file__).parent.parent / "bot" / "web" / "templates" / "chat"
    for page in templates.glob("*.html"):
        assert "niet alleen te doen" not in page.read_text(encoding="utf-8"), page.name
    for level, variant in variants("utter_crisis_danger_to_others").items():
        # The client's feeling is not stated as a fact.
        assert "Je bent heel boos" not in variant["text"], level
        assert "Ik hoor dat je heel boos bent" not in variant["text"], level


@pytest.mark.parametrize("name", CHECK)
@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_the_check_question_is_calm_and_never_about_methods(name, level):
    variant = variants(name)[level]
    text = variant["text"].lower()
    if name not in ("utter_crisis_controle_nee", "utter_crisis_controle_nee_bewaard"):
        assert text.count("?") == 1, "one question"
        payloads = [b["payload"] for b in variant["buttons"]]
        assert payloads == ["/bevestigen", "/ontkennen", "/weet_niet"]
    for word in ("hoe ", "waarmee", "methode", "pillen", "mes", "touw"):
        assert word not in text, f"{name} ({level}) must not ask about methods: {word!r}"


def test_only_the_check_question_offers_ja_nee_weet_ik_niet():
    """bot.safety.evaluate recognises the check question by these three buttons."""
    for name, variant_list in RESPONSES.items():
        for variant in variant_list:
            payloads = {b["payload"] for b in variant.get("buttons") or []}
            if {"/bevestigen", "/ontkennen", "/weet_niet"} <= payloads:
                assert name in CHECK, name


@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_crisis_offers_to_continue_or_stop(level):
    buttons = variants("utter_crisis_keuze")[level]["buttons"]
    assert {b["payload"] for b in buttons} == {"/hervatten", "/stoppen"}


@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_disclosure_is_honest(level):
    variant = variants("utter_disclosure")[level]
    text = variant["text"].lower()
    assert "computer" in text and "geen mens" in text
    assert "begeleider" in text and "112" in text  # who reads what; not for emergencies
    # The rest is behind "Meer weten?" in the web chat (and in utter_privacy).
    more = variant["custom"]["meer_weten"].lower()
    assert "bewaar" in more and "gevaar" in more
    assert not check_text(variant["custom"]["meer_weten"], level)


def test_readback_shows_every_answer():
    for level in ("standaard", "eenvoudig"):
        text = variants("utter_readback")[level]["text"]
        assert "{regels}" in text and text.rstrip().endswith("Klopt dat?")
        assert "{cijfer}" in variants("utter_readback_schaal")[level]["text"]
        assert "{stapje}" in variants("utter_readback_stapje")[level]["text"]


@pytest.mark.parametrize("name", ["utter_crisis_controle_nee", "utter_crisis_controle_nee_bewaard"])
@pytest.mark.parametrize("level", ["standaard", "eenvoudig"])
def test_after_nee_to_the_check_koers_says_where_help_is(name, level):
    """After "nee" the client has not seen the crisis help: say where it is, for both kinds
    of danger the check asks about (113 for thoughts of suicide, 112 for danger)."""
    text = variants(name)[level]["text"]
    assert "113" in text and "112" in text
    assert "hulpnummers" not in text, "names numbers the client was never shown"
