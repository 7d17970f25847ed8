"""The question banks per theme (bot/content/themes.yml, schema v2): complete, plain, safe.

Readability (Flesch-Douma per text and level) is in tests/test_readability.py; this file checks
the shape of the data and the review rules of docs/conversation.md that a pattern can catch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import content
from bot.language import check_text, example_words, words

THEMES_FILE = Path(__file__).parent.parent / "bot" / "content" / "themes.yml"
RAW = THEMES_FILE.read_text(encoding="utf-8")
DATA = yaml.safe_load(RAW)
THEMES: dict[str, dict] = DATA["themes"]
VENT: dict = DATA["vent"]
EXPECTED_LABELS = {
    "verbinding": "Mensen om je heen",
    "hoop": "Hoop en toekomst",
    "identiteit": "Wie ben ik",
    "zingeving": "Wat vind jij belangrijk",
    "eigen_regie": "Zelf kiezen",
    "veiligheid": "Veilig zijn",
}
LEVELS = ("standaard", "eenvoudig")
PROMPTS = [
    (theme, prompt) for theme in sorted(THEMES) for prompt in THEMES[theme].get("prompts") or []
]
PROMPT_IDS = [f"{theme}.{prompt.get('key')}" for theme, prompt in PROMPTS]


def both(value) -> bool:
    return (
        isinstance(value, dict)
        and set(value) == set(LEVELS)
        and all(isinstance(value[level], str) and value[level].strip() for level in LEVELS)
    )


def client_texts() -> list[tuple[str, str, str]]:
    """(where, level, text) for everything in themes.yml that a client reads."""
    out: list[tuple[str, str, str]] = []

    def add(where: str, value) -> None:
        if isinstance(value, str):
            out.append((where, "beide", value))
        else:
            out.extend((where, level, value[level]) for level in LEVELS)

    for field in ("label", "question", "uitleg", "voorbeeld"):
        add(f"vent.{field}", VENT[field])
    for theme, entry in THEMES.items():
        add(f"{theme}.label", entry["label"])
        for part in ("question", "low", "high"):
            add(f"{theme}.scale.{part}", entry["scale"][part])
        for prompt in entry["prompts"]:
            for field in ("standaard", "eenvoudig"):
                out.append((f"{theme}.{prompt['key']}", field, prompt[field]))
            for field in ("uitleg", "voorbeeld", "kort"):
                add(f"{theme}.{prompt['key']}.{field}", prompt[field])
    return out


CLIENT_TEXTS = client_texts()


def test_version():
    assert DATA["version"] == 2


def test_six_themes_with_the_agreed_keys():
    assert set(THEMES) == set(EXPECTED_LABELS)


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_standard_label(theme):
    assert THEMES[theme]["label"]["standaard"] == EXPECTED_LABELS[theme]


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_label_and_scale_have_both_levels(theme):
    assert both(THEMES[theme]["label"])
    scale = THEMES[theme]["scale"]
    assert set(scale) == {"question", "low", "high"}
    for part in ("question", "low", "high"):
        assert both(scale[part]), part


def test_vent_has_both_levels_and_an_example():
    for field in ("label", "question", "uitleg"):
        assert both(VENT[field]), field
    assert VENT["icon"].strip()
    assert VENT["voorbeeld"].startswith("Bijvoorbeeld:")
    assert 0 < len(example_words(VENT["voorbeeld"])) <= 8


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_icon_present(theme):
    icon = THEMES[theme].get("icon")
    assert isinstance(icon, str) and icon.strip()


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_ten_or_eleven_prompts_with_unique_keys(theme):
    keys = [prompt.get("key") for prompt in THEMES[theme]["prompts"]]
    assert 10 <= len(keys) <= 11
    assert all(isinstance(key, str) and re.fullmatch(r"[a-z_]+", key) for key in keys)
    assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"


def test_every_prompt_cites_its_source():
    """The comment right above each prompt names its place in the seeds (or domain.md)."""
    lines = RAW.splitlines()
    prompt_lines = [i for i, line in enumerate(lines) if re.match(r"\s*- key: ", line)]
    assert len(prompt_lines) == len(PROMPTS)
    for i in prompt_lines:
        block = []
        while lines[i - 1 - len(block)].strip().startswith("#"):
            block.append(lines[i - 1 - len(block)].strip())
        assert block, f"no source comment above: {lines[i].strip()}"
        comment = " ".join(reversed(block))
        assert re.search(r"\d{3}:L\d+|\bL\d{3,}|domain\.md|prompt-sources", comment), comment


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
@pytest.mark.parametrize("level", LEVELS)
def test_labels_and_scale_are_plain_language(theme, level):
    texts = [THEMES[theme]["label"][level]]
    texts += [THEMES[theme]["scale"][part][level] for part in ("question", "low", "high")]
    for text in texts:
        assert check_text(text, "standaard") == [], text
        assert check_text(text, level) == [], text


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
@pytest.mark.parametrize("level", LEVELS)
def test_scale_is_one_question_with_short_end_words(theme, level):
    scale = THEMES[theme]["scale"]
    assert scale["question"][level].count("?") == 1
    for part in ("low", "high"):
        assert "?" not in scale[part][level] and 1 <= len(words(scale[part][level])) <= 4


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
@pytest.mark.parametrize("level", LEVELS)
def test_scale_words_fit_the_question(theme, level):
    """ "Hoe veilig voel je je nu?" is answered with "niet veilig … heel veilig", not with
    "heel weinig … heel veel"; "Hoeveel …?" with an amount. Both ends share a word, so the
    scale is even ("Slecht … Heel goed" is not)."""
    scale = THEMES[theme]["scale"]
    question = scale["question"][level].lower()
    low, high = (set(words(scale[part][level].lower())) for part in ("low", "high"))
    if question.startswith("hoeveel"):
        assert "weinig" in low and "veel" in high, (low, high)
    else:
        match = re.match(r"hoe (\w+)", question)
        assert match, f"a 1-5 question starts with Hoe or Hoeveel: {question}"
        assert match.group(1) in low and match.group(1) in high, (question, low, high)
    assert low & high, f"uneven scale: {low} … {high}"


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
def test_prompt_has_all_fields(theme, prompt):
    for field in ("key", "standaard", "eenvoudig", "voorbeeld", "kort"):
        assert isinstance(prompt.get(field), str) and prompt[field].strip(), field
    assert both(prompt.get("uitleg")), "uitleg needs a standard and a simple wording"


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
@pytest.mark.parametrize("level", LEVELS)
def test_prompt_and_explanation_are_exactly_one_question(theme, prompt, level):
    assert prompt[level].count("?") == 1, prompt[level]
    assert prompt["uitleg"][level].count("?") == 1, prompt["uitleg"][level]
    assert prompt[level].rstrip().endswith("?") and prompt["uitleg"][level].rstrip().endswith("?")


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
@pytest.mark.parametrize("level", LEVELS)
def test_prompt_and_explanation_are_plain_language(theme, prompt, level):
    """<= 12 words per sentence (8 simple), one comma at most in simple, no jargon, never
    "dader" or "patiënt" (bot.language.check_text)."""
    for text in (prompt[level], prompt["uitleg"][level]):
        assert check_text(text, level) == [], text


def _words(text: str) -> list[str]:
    return [re.sub(r"[^\w']", "", w.lower()) for w in words(text)]


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
@pytest.mark.parametrize("level", LEVELS)
def test_explanation_uses_other_words(theme, prompt, level):
    """ "Ik snap het niet" gets the question in other words, not the same words again or a
    shorter cut of them: at least 40 % of the explanation's words are new."""
    asked, explained = set(_words(prompt[level])), _words(prompt["uitleg"][level])
    new = [w for w in explained if w not in asked]
    assert len(new) >= 0.4 * len(explained), (prompt[level], prompt["uitleg"][level])


@pytest.mark.parametrize("level", LEVELS)
def test_vent_explanation_uses_other_words(level):
    asked, explained = set(_words(VENT["question"][level])), _words(VENT["uitleg"][level])
    assert len([w for w in explained if w not in asked]) >= 0.4 * len(explained)


@pytest.mark.parametrize(("theme", "prompt"), PROMPTS, ids=PROMPT_IDS)
def test_example_answer(theme, prompt):
    example = prompt["voorbeeld"]
    assert example.startswith("Bijvoorbeeld: "), example
    assert 1 <= len(example_words(example)) <= 8, example
    assert check_text(example, "standaard") == [], example


@pytest.mark.parametrize("theme", sorted(EXPECTED_LABELS))
def test_correction_labels_are_short_and_whole(theme):
    """The correction buttons show `kort`: at most 4 whole words, never a cut-off prompt."""
    labels = [p["kort"] for p in THEMES[theme]["prompts"]]
    assert len(labels) == len(set(labels)), f"two answers with the same label: {labels}"
    for prompt in THEMES[theme]["prompts"]:
        label = prompt["kort"]
        assert 1 <= len(words(label)) <= 4, label
        assert not re.search(r"[?.!,:…]|\.\.\.", label), label
        assert label[0].isupper(), label
        assert check_text(label, "eenvoudig") == [], label
        assert not prompt["standaard"].startswith(label) or label == prompt["standaard"]


# --- Review rules (docs/conversation.md) that a pattern can catch --------------------------
# Each rule: (name, regex). Matched case-insensitively against every client text above.
REVIEW_RULES = [
    # Never invite contact that may be forbidden (a contact ban, a victim).
    (
        "contact",
        r"\b(toch spreken|spreken|mist|weer contact|contact (op)?nemen|bezoek\w*|opzoeken|zoek je op)\b",
    ),
    # Never name family: a partner, child or relative may be the victim or out of reach.
    (
        "family",
        r"\b(familie|gezin|ouders?|moeder|vader|ma|pa|zoon|zoontje|dochter|kind|kinderen|broer|"
        r"zus|opa|oma|oom|tante|neef|nicht|vrouw|vriendin|partner|ex)\b",
    ),
    # Never open the offence, never lean towards guilt.
    (
        "offence",
        r"\b(delict\w*|misdrijf|straf\w*|dader\w*|slachtoffer\w*|gevangenis|detentie|bajes|"
        r"politie|rechter|veroordeel\w*|spijt|schuld\w*|fout\w*|goed ?te ?maken|goedmak\w*|"
        r"verbeterd|het beter (te )?maken)\b",
    ),
    # Never assume a living situation.
    (
        "living",
        r"\b(huisgeno\w*|medebewoner\w*|groepsgeno\w*|huiskamer|ons huis|thuis|waar je woont|"
        r"je woning|je huis|nachtdienst|in de groep|op de groep)\b",
    ),
    # No cheering, no therapy phrases, no idioms.
    (
        "tone",
        r"goed gedaan|super\b|knap van je|het mag er zijn|dat mag er zijn|eruit mag|dwars|"
        r"touwtjes|op de rit|in je hum|kop op|hart luchten|!",
    ),
]


@pytest.mark.parametrize(("rule", "pattern"), REVIEW_RULES, ids=[r for r, _ in REVIEW_RULES])
def test_review_rules(rule, pattern):
    broken = [
        (where, level, text)
        for where, level, text in CLIENT_TEXTS
        if re.search(pattern, text, flags=re.IGNORECASE)
    ]
    assert not broken, f"{rule}: {broken}"


WORKER_QUESTIONS = yaml.safe_load(
    (THEMES_FILE.parent / "worker_questions.yml").read_text(encoding="utf-8")
)["questions"]


@pytest.mark.parametrize(("rule", "pattern"), REVIEW_RULES, ids=[r for r, _ in REVIEW_RULES])
def test_review_rules_hold_for_the_workers_ready_questions(rule, pattern):
    """The questions a worker picks for the next check-in (bot/content/worker_questions.yml)
    reach the client too: the same review rules apply."""
    broken = [
        (q["key"], level, q[level])
        for q in WORKER_QUESTIONS
        for level in LEVELS
        if re.search(pattern, q[level], flags=re.IGNORECASE)
    ]
    assert not broken, f"{rule}: {broken}"


@pytest.mark.parametrize(("rule", "pattern"), REVIEW_RULES, ids=[r for r, _ in REVIEW_RULES])
def test_review_rules_catch_what_the_review_found(rule, pattern):
    """The patterns above are not empty: each catches the text that the review of issue 10
    found (so the rule test above can fail)."""
    found = {
        "contact": "Op welke manier kun je iemand die je mist toch spreken?",
        "family": "Hoe wil je zijn voor je familie?",
        "offence": "Wat heb je zelf al verbeterd?",
        "living": "Hoe gaat het met je huisgenoten?",
        "tone": "Dank je dat je het vertelt. Het mag er zijn.",
    }[rule]
    assert re.search(pattern, found, flags=re.IGNORECASE)


def test_labels_are_not_ambiguous():
    """ "Later" (hope) reads as "not now", "Iets kwijt" as "lost something"."""
    for entry in [VENT, *THEMES.values()]:
        for level in LEVELS:
            assert entry["label"][level].lower() not in {"later", "iets kwijt", "matig"}


@pytest.mark.parametrize("level", LEVELS)
def test_the_loader_reads_the_scale_question(level):
    for theme in THEMES:
        assert content.scale_question(theme, level) == THEMES[theme]["scale"]["question"][level]


def test_retired_prompt_keys_resume_with_a_current_prompt():
    """A conversation saved before a prompt was removed resumes with the prompt that replaced it."""
    retired = DATA.get("retired") or {}
    assert retired, "the review of issue 10 removed prompts; their keys must stay resolvable"
    for theme, mapping in retired.items():
        current = {p.key for p in content.prompts(theme)}
        for old, new in mapping.items():
            assert old not in current, f"{theme}/{old} is retired but still in the bank"
            assert new in current, f"{theme}/{old} points to a missing prompt {new}"
            assert content.prompt(theme, old).key == new
