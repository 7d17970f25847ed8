"""Adding a seventh theme is a data change (issue 10): themes.yml, and NLU examples when clients
should be able to name it outside the menu. No Python, rules or domain edits.

The test copies the project to a temporary folder and adds a theme there:

1. With only themes.yml changed, nothing Rasa trains on changed (the training hash is the
   same), so the trained model of this tree *is* the copy's model. The copy's own action server
   runs a whole check-in on the new theme through that model: menu (a fifth theme in "Over
   mezelf", so the menu shows it on its second screen), both prompts, the scale, read-back,
   consent, and the reflection stored with the new theme's key.
2. With NLU examples added as well, `rasa data validate` passes in the copy and the generated
   rules are not stale (`python -m bot.rulegen --check`): there is nothing to regenerate.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy.orm import Session

from bot.settings import PROJECT_ROOT
from bot.storage import repository as repo
from bot.storage.db import make_engine, upgrade_database
from bot.trainer import quiet_env, training_hash
from tests.conftest import free_port

NEW = "werk"
NEW_THEME = {
    "label": {"standaard": "Werk en dagbesteding", "eenvoudig": "Werk"},
    "icon": "🛠️",
    "group": "mezelf",
    "synonyms": ["werk", "dagbesteding", "baan", "werken"],
    "scale": {
        "question": {
            "standaard": "Hoe tevreden ben je nu over je werk?",
            "eenvoudig": "Hoe blij ben je met je werk?",
        },
        "low": {"standaard": "Niet tevreden", "eenvoudig": "Niet blij"},
        "high": {"standaard": "Heel tevreden", "eenvoudig": "Heel blij"},
    },
    "prompts": [
        {
            "key": f"vraag_{i}",
            "standaard": f"Wat ging er deze week goed op je werk, stap {i}?",
            "eenvoudig": f"Wat ging goed op je werk, stap {i}?",
            "uitleg": {"standaard": f"Wat lukte er bij je werk, stap {i}?"},
            "voorbeeld": "Bijvoorbeeld: ik was op tijd.",
            "kort": f"Werk {i}",
        }
        for i in range(1, 9)
    ],
}
NLU_EXAMPLES = """version: "3.1"
nlu:
- intent: kies_thema
  examples: |
    - ik wil over [werk](thema) praten
    - [dagbesteding]{"entity": "thema", "value": "werk"}
    - iets over mijn [baan]{"entity": "thema", "value": "werk"}
"""
IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "models", ".rasa", "var", "build", "results", "__pycache__", "*.egg-info"
)


def copy_with_new_theme(tmp: Path) -> Path:
    copy = tmp / "koers"
    copy.mkdir()
    for name in ("bot", "actions", "data", "tests"):
        shutil.copytree(PROJECT_ROOT / name, copy / name, ignore=IGNORE)
    for name in ("domain.yml", "config.yml", "endpoints.yml", "pyproject.toml"):
        shutil.copy2(PROJECT_ROOT / name, copy / name)
    # The spaCy pipeline the model refers to stays where it is (not copied).
    themes_file = copy / "bot" / "content" / "themes.yml"
    data = yaml.safe_load(themes_file.read_text(encoding="utf-8"))
    data["themes"][NEW] = NEW_THEME
    themes_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return copy


def _run(copy: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**quiet_env(), "PYTHONPATH": str(copy)}
    return subprocess.run(
        [sys.executable, *args], cwd=copy, env=env, capture_output=True, text=True, timeout=600
    )


def test_a_new_theme_needs_no_rule_domain_or_code_change(tmp_path):
    copy = copy_with_new_theme(tmp_path)
    assert training_hash(copy) == training_hash(PROJECT_ROOT), "nothing Rasa trains on changed"
    # The copy's own code reads the new theme: menu, prompts, scale words, typed names.
    probe = _run(
        copy,
        "-c",
        "from bot import content\n"
        "assert content.THEMES_FILE.is_relative_to(__import__('pathlib').Path.cwd())\n"
        f"assert '{NEW}' in content.theme_keys() and content.group('{NEW}') == 'mezelf'\n"
        "shown, more = content.menu_screen('mezelf', 0)\n"
        f"assert more and len(shown) == 3 and '{NEW}' in content.menu_screen('mezelf', 1)[0]\n"
        f"assert content.parse_menu_choice('dagbesteeding', numbers=[]) == '{NEW}'\n"
        f"assert content.parse_menu_choice('5', numbers=content.themes_in_group('mezelf')) == '{NEW}'\n"
        f"assert content.scale_words('{NEW}', 'eenvoudig') == ('Niet blij', 'Heel blij')\n",
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    # NLU examples so that "ik wil over werk praten" is understood outside the menu too.
    (copy / "data" / "nlu" / "thema_werk.yml").write_text(NLU_EXAMPLES, encoding="utf-8")
    rules = _run(copy, "-m", "bot.rulegen", "--check")
    assert rules.returncode == 0, rules.stdout + rules.stderr[-2000:]
    validate = _run(
        copy,
        "-m",
        "rasa",
        "data",
        "validate",
        "--data",
        "data",
        "-d",
        "domain.yml",
        "--config",
        "config.yml",
    )
    assert validate.returncode == 0, validate.stdout[-3000:] + validate.stderr[-3000:]


@pytest.fixture
def copy_action_server(tmp_path):
    """The copy's action server (its own bot.content with the seventh theme)."""
    from bot.services import ACTIONS_SECRET_HEADER

    copy = copy_with_new_theme(tmp_path)
    url = f"sqlite:///{tmp_path / 'koers.db'}"
    upgrade_database(url)
    port = free_port()
    secret = "new-theme-test-secret"
    env = {
        **quiet_env(),
        "PYTHONPATH": str(copy),
        "KOERS_DATABASE_URL": url,
        "SANIC_HOST": "127.0.0.1",
        "KOERS_ACTIONS_PORT": str(port),
        "KOERS_ACTIONS_SECRET": secret,
    }
    log = tmp_path / "actions.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.action_server"],
        cwd=copy,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(log.read_text())
    yield f"http://127.0.0.1:{port}/webhook", {ACTIONS_SECRET_HEADER: secret}, url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_a_check_in_on_the_new_theme_through_the_whole_bot(model_path, copy_action_server):
    import tensorflow as tf
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    endpoint_url, headers, database_url = copy_action_server
    # Eager mode loads this second agent in seconds; the setting is global, so it is put back
    # afterwards for the session's agent (graph mode, tests/conftest.py).
    was_eager = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    agent = Agent.load(
        str(model_path), action_endpoint=EndpointConfig(url=endpoint_url, headers=headers)
    )
    loop = asyncio.new_event_loop()
    sender = "nieuw-thema"

    def say(text: str) -> list[dict]:
        return loop.run_until_complete(agent.handle_text(text, sender_id=sender))

    def buttons(messages: list[dict]) -> dict[str, str]:
        return {b["title"]: b["payload"] for m in messages for b in m.get("buttons") or []}

    try:
        say("hoi")
        menu = buttons(say("4"))
        assert '/kies_thema{{"groep": "mezelf"}}'.replace("{{", "{").replace("}}", "}") in (
            menu.values()
        ), menu
        first_screen = buttons(say('/kies_thema{"groep": "mezelf"}'))
        assert len(first_screen) == 4 and '/kies_thema{"groep": "meer"}' in first_screen.values()
        second_screen = buttons(say('/kies_thema{"groep": "meer"}'))
        title = f"5 {NEW_THEME['icon']} {NEW_THEME['label']['standaard']}"
        assert second_screen.get(title) == f'/kies_thema{{"thema": "{NEW}"}}', second_screen
        started = "\n".join(m.get("text") or "" for m in say(second_screen[title]))
        assert NEW_THEME["label"]["standaard"] in started
        tracker = loop.run_until_complete(agent.tracker_store.retrieve(sender))
        assert tracker.active_loop_name == "thema_form" and tracker.get_slot("thema") == NEW
        first, second = tracker.get_slot("vragen")
        prompts = {p["key"]: p for p in NEW_THEME["prompts"]}
        assert prompts[first]["standaard"] in started
        assert prompts[second]["standaard"] in "\n".join(
            m["text"] for m in say("een collega op mijn werk")
        )
        scale = say("ik was op tijd")
        assert NEW_THEME["scale"]["question"]["standaard"] in scale[-1]["text"]
        assert "1 ●○○○○ Niet tevreden" in buttons(scale)
        assert "klein stapje" in "\n".join(m.get("text") or "" for m in say("4"))
        readback = "\n".join(m.get("text") or "" for m in say("nee"))
        assert "een collega op mijn werk" in readback and "4 van de 5" in readback
        say("ja")
        say("ja")
        engine = make_engine(database_url)
        with Session(engine) as session:
            [saved] = repo.list_reflections(session, sender)
        engine.dispose()
        assert saved.theme == NEW and saved.status == "compleet" and saved.scale == 4
        assert [a.question_key for a in saved.answers] == [first, second]
    finally:
        loop.close()
        tf.config.run_functions_eagerly(was_eager)


def test_the_copy_does_not_change_this_tree(tmp_path):
    before = (PROJECT_ROOT / "bot" / "content" / "themes.yml").read_bytes()
    copy_with_new_theme(tmp_path)
    assert (PROJECT_ROOT / "bot" / "content" / "themes.yml").read_bytes() == before
    assert os.path.exists(tmp_path / "koers" / "bot" / "content" / "themes.yml")
