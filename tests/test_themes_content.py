"""The question banks per theme (bot/content/themes.yml): complete, one question each, plain."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.language import check_text

THEMES_FILE = Path(__file__).parent.parent / "bot" / "content" / "themes.yml"
DATA = yaml.safe_load(THEMES_FILE.read_text(encoding="utf-8"))
THEMES: dict[str, dict] = DATA["themes"]
EXPECTED_LABELS = {
    "verbinding": "Mensen om je heen",
    "hoop": "Hoop en toekomst",
    "identiteit": "Wie ben ik",
    "zingeving": "Wat vind jij belangrijk",
    "eigen_regie": "Zelf kiezen",
    "veiligheid": "Veilig voelen",
}
LEVELS = ("standaard", "eenvoudig")
PROMPTS = [
    (theme, prompt) for theme in sorted(THEMES) for prompt in THEMES[theme].get("prompts") or []
]
PROMPT_IDS = [f"{theme}.{prompt.get('key')}" for theme, prompt in PROMPTS]


def test_version():
    assert DATA["version"] == 1


def test_six_themes_with_the_agreed_keys():
    assert set(THEMES) == set(EXPECTED_LABELS)


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_standard_label(theme):
    assert THEMES[theme]["label"]["standaard"] == EXPECTED_LABELS[theme]


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_labels_and_scale_have_both_levels(theme):
    for field in ("label", "scale"):
        value = THEMES[theme][field]
        assert set(value) == set(LEVELS), field
        assert all(isinstance(value[level], str) and value[level].strip() for level in LEVELS)


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_icon_present(theme):
    icon = THEMES[theme].get("icon")
    assert isinstance(icon, str) and icon.strip()


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_at_least_eight_prompts_with_unique_keys(theme):
    keys = [prompt.get("key") for prompt in THEMES[theme]["prompts"]]
    assert len(keys) >= 8
    assert all(isinstance(key, str) and key for key in keys)
    assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
@pytest.mark.parametrize("level", LEVELS)
def test_labels_and_scale_are_plain_language(theme, level):
    for field in ("label", "scale"):
        text = THEMES[theme][field][level]
        assert check_text(text, "standaard") == [], (field, text)
        assert check_text(text, level) == [], (field, text)


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_scale_is_one_question(theme):
    for level in LEVELS:
        assert THEMES[theme]["scale"][level].count("?") == 1


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
def test_prompt_has_all_fields(theme, prompt):
    for field in ("key", "standaard", "eenvoudig", "voorbeeld"):
        assert isinstance(prompt.get(field), str) and prompt[field].strip(), field


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
@pytest.mark.parametrize("level", LEVELS)
def test_prompt_is_exactly_one_question(theme, prompt, level):
    assert prompt[level].count("?") == 1, prompt[level]


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
@pytest.mark.parametrize("level", LEVELS)
def test_prompt_is_plain_language(theme, prompt, level):
    assert check_text(prompt[level], level) == [], prompt[level]


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
def test_example_answer(theme, prompt):
    example = prompt["voorbeeld"]
    assert example.startswith("Bijvoorbeeld:"), example
    assert check_text(example, "standaard") == [], example
