"""The theme menu (issue 10): at most four choices a screen, built from themes.yml, with
typed numbers, labels, synonyms and misspelt names at both steps."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import AskThemaKeuze
from bot import content
from bot.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
LEVELS = ("standaard", "eenvoudig")


def _variant(name: str, level: str) -> dict:
    return next(
        v for v in DOMAIN["responses"][name] if bool(v.get("condition")) == (level == "eenvoudig")
    )


def _ask_second_step(group: str, level: str, page: float = 0) -> dict:
    tracker = Tracker(
        sender_id="menu",
        slots={"taalniveau": level, "thema_groep": group, "menu_pagina": page},
        latest_message={"text": "", "intent": {"name": "vrij_antwoord"}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "keuze_form"},
        latest_action_name="keuze_form",
    )
    dispatcher = CollectingDispatcher()
    AskThemaKeuze().ask(dispatcher, tracker, DOMAIN)
    [message] = dispatcher.messages
    return message


@pytest.mark.parametrize("level", LEVELS)
def test_first_step_has_four_choices(level):
    buttons = _variant("utter_ask_thema_groep", level)["buttons"]
    assert len(buttons) == content.MENU_SCREEN == 4
    assert [b["payload"] for b in buttons] == [
        '/kies_thema{{"groep": "mezelf"}}',
        '/kies_thema{{"groep": "anderen"}}',
        "/kwijt",
        "/kies_jij_maar",
    ]
    # The typed numbers of the first step are the buttons' numbers.
    assert content.FIRST_STEP == ("mezelf", "anderen", content.VENT, "kies")


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("group", ["mezelf", "anderen"])
def test_second_step_follows_the_theme_file(group, level):
    message = _ask_second_step(group, level)
    themes = content.themes_in_group(group)
    assert themes, "every group has themes"
    assert len(message["buttons"]) <= content.MENU_SCREEN
    for number, (theme, button) in enumerate(zip(themes, message["buttons"], strict=False), 1):
        assert button["title"] == f"{number} {content.icon(theme)} {content.label(theme, level)}"
        assert button["payload"] == f'/kies_thema{{"thema": "{theme}"}}'
    assert message["text"] == _variant("utter_ask_thema_keuze", level)["text"]


def test_every_theme_is_in_a_group_and_groups_fit_the_screen():
    grouped = [t for g in ("mezelf", "anderen") for t in content.themes_in_group(g)]
    assert sorted(grouped) == sorted(content.theme_keys())


def test_hope_is_never_labelled_later_in_simple_mode():
    """'Later' reads as 'not now' (issue 10): never a menu button or 'Ik kies voor jou'."""
    assert content.label("hoop", "eenvoudig").lower() != "later"
    titles = [b["title"] for b in _ask_second_step("mezelf", "eenvoudig")["buttons"]]
    assert not any(title.lower().endswith(" later") for title in titles)
    for level in LEVELS:
        for response in ("utter_niet_begrepen", "utter_default"):
            for button in _variant(response, level).get("buttons") or []:
                assert "later" not in button["title"].lower()


def test_a_big_group_is_shown_in_screens_of_four(monkeypatch):
    themes = {f"t{i}": {"label": {"standaard": f"T{i}"}, "group": "mezelf"} for i in range(7)}
    monkeypatch.setattr(content, "_data", lambda: {"themes": themes, "vent": {}})
    first, more = content.menu_screen("mezelf", 0)
    assert first == ["t0", "t1", "t2"] and more
    second, _ = content.menu_screen("mezelf", 1)
    third, _ = content.menu_screen("mezelf", 2)
    assert second == ["t3", "t4", "t5"] and third == ["t6"]
    assert content.menu_screen("mezelf", 3)[0] == first, "after the last screen, the first"
    message = _ask_second_step("mezelf", "standaard", page=1)
    assert [b["title"] for b in message["buttons"]][:3] == ["4 T3", "5 T4", "6 T5"]
    assert message["buttons"][-1]["payload"] == '/kies_thema{"groep": "meer"}'
    assert len(message["buttons"]) == 4
    # Numbers stay the same on every screen.
    assert content.parse_menu_choice("7", numbers=content.themes_in_group("mezelf")) == "t6"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("famillie", "verbinding"),
        ("vrienen", "verbinding"),
        ("ik wil over famillie praten", "verbinding"),
        ("veiligheit", "veiligheid"),
        ("toekomts", "hoop"),
        ("kies jij maar", "kies"),
        ("laten", None),  # one letter from "later", but a short word must match exactly
        ("banaan", None),
    ],
)
def test_misspelt_theme_names(text, expected):
    assert content.parse_menu_choice(text, numbers=content.FIRST_STEP, groups=True) == expected
    assert content.parse_theme_choice(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "mezelf"),
        ("2", "anderen"),
        ("3", "kwijt"),
        ("4", "kies"),
        ("over mezelf", "mezelf"),
        ("anderen", "anderen"),
        ("iets vertellen", "kwijt"),
        ("5", None),
    ],
)
def test_first_step_typed(text, expected):
    assert content.parse_menu_choice(text, numbers=content.FIRST_STEP, groups=True) == expected


@pytest.mark.parametrize("level", LEVELS)
def test_the_more_button_can_be_typed_as_it_reads(level):
    """Clients type what they see: the words of the "meer" button open the next screen."""
    title = _variant("utter_menu_meer", level)["text"]
    typed = title.split(" ", 1)[1].lower()  # without the ➕
    assert content.parse_menu_choice(typed, numbers=[]) == content.MORE
