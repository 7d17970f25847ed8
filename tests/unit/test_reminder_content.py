"""The reminder texts (bot/content/reminders.yml) and the worker's ready questions
(bot/content/worker_questions.yml): both language levels, plain Dutch, and nothing in a
reminder that says anything about care or health."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.language import check_text
from bot.reminders.content import REMINDERS_FILE, control_keys, control_text, reminder_text
from bot.worker_questions import QUESTIONS_FILE, choices, find_choice, question_problems

DATA = yaml.safe_load(REMINDERS_FILE.read_text(encoding="utf-8"))
LEVELS = ("standaard", "eenvoudig")
LINK = "https://koers-voorbeeldorganisatie.example.nl/chat/"  # 51 characters
LONG_LINK = "https://" + "k" * 43 + ".nl/chat/"  # 60 characters
# Words that would tell a reader of the phone's lock screen something about care or health.
HEALTH_WORDS = (
    "begeleid",
    "zorg",
    "reclassering",
    "behandel",
    "therap",
    "hulp",
    "crisis",
    "gezond",
    "stemming",
    "gevoel",
    "reflect",
    "thema",
    "veilig",
    "psych",
    "kliniek",
    "verslav",
    "toezicht",
    "cliënt",
    "client",
    "afspraak",
    "gesprek",
    "113",
    "112",
)
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


def sent_texts(level: str, link: str = LINK) -> dict[str, str]:
    text = reminder_text(level, link)
    return {
        "sms": text.sms,
        "email_subject": text.email_subject,
        "email_body": text.email_body,
        "push_title": text.push_title,
        "push_body": text.push_body,
    }


@pytest.mark.parametrize("level", LEVELS)
def test_sent_texts_are_plain_and_hold_no_health_information(level):
    for name, text in sent_texts(level).items():
        assert check_text(text, level) == [], (name, check_text(text, level))
        lowered = text.lower().replace(LINK, "")
        found = [word for word in HEALTH_WORDS if word in lowered]
        assert not found, (name, found)


@pytest.mark.parametrize("level", LEVELS)
def test_every_reminder_has_the_link_and_says_how_to_stop(level):
    texts = sent_texts(level)
    assert LINK in texts["sms"] and LINK in texts["email_body"]
    for name in ("sms", "email_body"):
        assert "geen berichtjes meer" in texts[name].lower(), name


@pytest.mark.parametrize("level", LEVELS)
def test_sms_is_one_gsm7_part_with_a_60_character_link(level):
    sms = reminder_text(level, LONG_LINK).sms
    assert len(LONG_LINK) == 60
    assert set(sms) <= GSM7, set(sms) - GSM7
    assert len(sms) <= 160, len(sms)


def test_the_check_can_fail():
    """The health-word check is not vacuous: a text with a care word is caught."""
    bad = "Je begeleider wil weten hoe het gaat."
    assert any(word in bad.lower() for word in HEALTH_WORDS)
    assert check_text("Hoe gaat het? Wat doe je?") != []


@pytest.mark.parametrize("key", control_keys())
@pytest.mark.parametrize("level", LEVELS)
def test_control_texts_both_levels_plain(key, level):
    raw = DATA["controls"][key]
    assert set(raw) == set(LEVELS), key
    values = {"datum": "10-03-2026", "tijd": "19:00", "van": "08:00", "tot": "22:00"}
    placeholders = set(re.findall(r"\{(\w+)\}", raw[level]))
    text = control_text(key, level, **{k: values[k] for k in placeholders})
    assert check_text(text, level) == [], (key, check_text(text, level))
    assert "{" not in text


# --- the worker's ready questions -------------------------------------------------------------

SEEDS = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))


def test_seed_questions_are_complete_and_unique():
    keys = [q["key"] for q in SEEDS["questions"]]
    assert len(keys) == len(set(keys)) >= 10
    for q in SEEDS["questions"]:
        assert q["bron"].strip() and re.search(r"\d{3}:L\d+", q["bron"]), q["key"]


@pytest.mark.parametrize("choice", choices(), ids=lambda c: c.value)
def test_every_ready_question_passes_the_worker_check_at_both_levels(choice):
    assert question_problems(choice.standaard, "standaard") == []
    assert question_problems(choice.eenvoudig, "eenvoudig") == []
    assert check_text(choice.eenvoudig, "eenvoudig") == []


def test_ready_questions_include_the_theme_banks():
    assert find_choice("bron:trots").standaard == "Waar ben je trots op?"
    themed = [c for c in choices() if c.source == "thema"]
    assert len(themed) >= 48 and find_choice(themed[0].value) == themed[0]
    assert find_choice("thema:bestaat.niet") is None


@pytest.mark.parametrize(
    ("text", "level", "expected"),
    [
        ("Hoe ging het gesprek met je zus?", "standaard", []),
        ("", "standaard", ["Schrijf een vraag"]),
        ("Bel je zus.", "standaard", ["Dit is geen vraag"]),
        ("Hoe gaat het? Wat doe je morgen?", "standaard", ["Stel één vraag tegelijk"]),
        ("Hoe staat het met je regie?", "standaard", ["“regie”"]),
        ("Denk je nog aan het delict?", "standaard", ["“delict”"]),
        (
            "Hoe ging het afgelopen week met het zoeken naar een nieuwe baan voor jou?",
            "standaard",
            ["14 woorden", "hoogstens 12"],
        ),
        ("Hoe ging het gesprek met je zus vorige week?", "eenvoudig", ["hoogstens 8"]),
        ("Ging het goed, of slecht, of gewoon?", "eenvoudig", ["meer dan één komma"]),
        ("x" * 301 + "?", "standaard", ["te lang"]),
        # Danger: for the worker to ask in person (a bare "ja" tells no check anything).
        ("Denk je nog weleens aan zelfmoord?", "standaard", ["stel je zelf, in een gesprek"]),
        ("Wil je jezelf iets aandoen?", "standaard", ["stel je zelf"]),
        ("Doet iemand thuis je pijn?", "eenvoudig", ["stel je zelf"]),
        ("Wil je soms dood?", "eenvoudig", ["stel je zelf"]),
        ("Snij je jezelf nog?", "eenvoudig", ["stel je zelf"]),
        ("Heeft hij je weer bedreigd?", "standaard", ["stel je zelf"]),
        ("Voel je je thuis in gevaar?", "standaard", ["stel je zelf"]),
        ("Slaat je vriend je?", "eenvoudig", ["stel je zelf"]),
        # ... but not everyday questions with nearby words.
        ("Hoe ging het na de dood van je oma?", "standaard", []),
        ("Wat doe je als je je slecht voelt?", "standaard", []),
        ("Hoe gaat het met de pijn in je knie?", "standaard", []),
        ("Wat wil je met je leven doen?", "standaard", []),
        ("Wat vond je geweldig deze week?", "standaard", []),
        ("Wat kun je daar zelf aan doen?", "standaard", []),
        ("Doet je rug nog pijn?", "standaard", []),
        ("Wil je praten over de dood van je hond?", "standaard", []),
        ("Heb je gedachten om er een eind aan te maken?", "standaard", ["stel je zelf"]),
        ("Wil je er soms niet meer zijn?", "eenvoudig", ["stel je zelf"]),
        ("Heb je jezelf iets aangedaan?", "eenvoudig", ["stel je zelf"]),
        ("Ben je agressief geweest?", "eenvoudig", ["stel je zelf"]),
        ("Aan wie kun je vertellen dat je je onveilig voelt?", "standaard", []),  # theme bank
        ("Denk je weleens aan de dood?", "eenvoudig", ["stel je zelf"]),
        ("Denk je nog vaak aan de dood van je oma?", "standaard", []),
        # Closed questions whose bare "ja" is the whole signal ...
        ("Voel je je onveilig thuis?", "standaard", ["stel je zelf"]),
        ("Ben je bang voor je partner?", "eenvoudig", ["stel je zelf"]),
        ("Heb je pillen gespaard?", "eenvoudig", ["stel je zelf"]),
        ("Verzamel je tabletten?", "standaard", ["stel je zelf"]),
        # ... but not the open ones, or fear and saving of everyday things.
        ("Wat doe je als je je onveilig voelt?", "standaard", []),
        ("Ben je bang voor je examen?", "standaard", []),
        ("Spaar je voor een nieuwe fiets?", "standaard", []),
        ("Neem je je medicijnen elke dag?", "standaard", []),
    ],
)
def test_own_words_get_a_clear_dutch_message(text, level, expected):
    problems = question_problems(text, level)
    if not expected:
        assert problems == []
    for part in expected:
        assert any(part in p for p in problems), (part, problems)
