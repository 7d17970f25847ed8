"""Prompt rotation, menu parsing and "kies jij maar" (bot/content), and the generated rules."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bot import content, rulegen
from bot.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("theme", content.theme_keys())
def test_rotation_never_repeats_the_last_prompts_and_covers_the_bank(theme):
    rng = random.Random(7)
    history: list[list[str]] = []
    seen: set[str] = set()
    for _ in range(30):
        chosen = content.choose_prompts(theme, history, rng=rng)
        assert len(chosen) == 2 and len(set(chosen)) == 2
        if history:
            assert not set(chosen) & set(history[0]), "same prompt twice in a row"
        seen.update(chosen)
        history.insert(0, chosen)
    assert seen == {p.key for p in content.prompts(theme)}, "every prompt comes round"


def test_rotation_prefers_prompts_never_asked():
    keys = [p.key for p in content.prompts("hoop")]
    history = [keys[:2], keys[2:4], keys[4:6]]
    chosen = content.choose_prompts("hoop", history, rng=random.Random(1))
    assert set(chosen) <= set(keys[6:])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "verbinding"),
        ("nummer 2", "hoop"),
        ("3.", "identiteit"),
        ("7", "kwijt"),
        ("Hoop en toekomst", "hoop"),
        ("later", "hoop"),
        ("familie", "verbinding"),
        ("ik wil iets over mezelf", None),
        ("doe maar zelf kiezen", "eigen_regie"),
        ("veilig voelen graag", "veiligheid"),
        ("Wat vind jij belangrijk?", "zingeving"),
        ("even iets kwijt", "kwijt"),
        ("kies jij maar", "kies"),
        ("maakt niet uit", "kies"),
        ("8", None),
        ("geen zin", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_theme_choice(text, expected):
    assert content.parse_theme_choice(text) == expected


def test_least_recent_theme():
    now = datetime.now(timezone.utc)
    visits = {t: now - timedelta(days=i) for i, t in enumerate(content.theme_keys())}
    assert content.least_recent_theme(visits) == content.theme_keys()[-1]
    del visits["zingeving"]
    assert content.least_recent_theme(visits) == "zingeving", "never visited comes first"
    assert content.least_recent_theme({}) == content.theme_keys()[0]


def test_generated_rules_are_up_to_date():
    assert rulegen.main(["--check"]) == 0, "run: python -m bot.rulegen"


def test_every_form_has_every_interruption():
    rules = rulegen.interruption_rules() + rulegen.safety_rules()
    for form in DOMAIN["forms"]:
        names = {r["rule"] for r in rules if r.get("condition") == [{"active_loop": form}]}
        for intent in ("hulp_vraag", "snap_het_niet", "taal_eenvoudig", "stoppen", "afscheid"):
            assert f"{intent} tijdens {form}" in names
        assert f"Crisis tijdens {form}" in names and f"Rood in het plan tijdens {form}" in names
    assert set(rulegen.FORMS) == set(DOMAIN["forms"])
