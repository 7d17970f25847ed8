"""Structure kept by tests (issue 10): one theme form, one vocabulary, one data layer, a
readable domain, and a Makefile whose `help` lists every target."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import yaml

from actions.common import INTERRUPTIONS
from bot import content, vocabulary
from bot.settings import PROJECT_ROOT

DOMAIN_TEXT = (PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8")
DOMAIN = yaml.safe_load(DOMAIN_TEXT)
PYTHON = [
    p
    for folder in ("bot", "actions", "benchmarks")
    for p in (PROJECT_ROOT / folder).rglob("*.py")
    if "migrations" not in p.parts
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_one_theme_form_for_every_theme():
    forms = DOMAIN["forms"]
    assert set(forms) == set(vocabulary.FORMS)
    assert not any(f"{theme}_form" in forms for theme in content.theme_keys())
    assert forms[vocabulary.THEME_FORM]["required_slots"] == [
        "plan_kleur",
        "antwoord_1",
        "antwoord_2",
        "thema_schaal",
    ]
    # No theme key is written in the domain, the rules or the stories used for training.
    themed = re.compile(r"\b(?:" + "|".join(content.theme_keys()) + r")\b")
    for path in [PROJECT_ROOT / "domain.yml", *(PROJECT_ROOT / "data" / "rules").glob("*.yml")]:
        lines = path.read_text(encoding="utf-8").splitlines()
        # Comments and the Dutch texts ("Jouw veiligheid gaat voor") may use the words.
        code = [ln for ln in lines if not re.match(r"^\s*(#|-? ?text:|title:)", ln.lstrip("- "))]
        assert not [ln for ln in code if themed.search(ln)], path.name


def test_no_validator_or_question_is_made_with_globals():
    """Every action class is written out: grep and an IDE find it (issue 10)."""
    for path in (PROJECT_ROOT / "actions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "globals()[" not in text and "type(_name" not in text, path.name


def test_the_action_server_registers_only_real_actions():
    from rasa_sdk.executor import ActionExecutor

    executor = ActionExecutor()
    executor.register_package("actions")
    names = set(executor.actions)
    domain_actions = set(DOMAIN["actions"])
    assert names <= domain_actions | {"action_session_start"}, names - domain_actions
    assert not [n for n in names if n.endswith("_") or "__" in n], "no placeholder actions"
    missing = {a for a in domain_actions if a not in names}
    assert not missing, f"domain actions without code: {missing}"


def test_the_interruptions_are_one_list_in_the_domain_and_the_actions():
    interruptions = DOMAIN["slots"]["antwoord_1"]["mappings"][0]["not_intent"]
    assert set(interruptions) == INTERRUPTIONS
    # Written once (an anchor), used by every free-text slot.
    assert DOMAIN_TEXT.count("not_intent: &interruptions\n") == 1
    # The intents, the two interruption lists and the safety plan's list: no copies.
    assert DOMAIN_TEXT.count("- privacy_vraag\n") <= 4, "lists are anchors, not copies"
    for slot in ("antwoord_2", "thema_schaal", "kwijt_tekst", "stapje", "nieuw_antwoord"):
        assert DOMAIN["slots"][slot]["mappings"][0]["not_intent"] == interruptions


def test_the_domain_is_ordered_by_concern_with_headings():
    headings = re.findall(r"(?m)^# --- (\d)\. (\w+)", DOMAIN_TEXT)
    assert [n for n, _ in headings] == ["1", "2", "3", "4", "5", "6"]
    assert len(re.findall(r"(?m)^  # --- ", DOMAIN_TEXT)) >= 10, "response groups have headings"
    # 1400 before issue 14; the chat side of issue 14 added about 280 lines (three forms).
    assert len(DOMAIN_TEXT.splitlines()) < 1700


def _strings(path: Path) -> set[str]:
    """The string constants of a module's code (docstrings left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    }


def test_shared_names_come_from_the_vocabulary():
    """Status strings and form names are spelled in bot/vocabulary.py only."""
    names = {
        vocabulary.STATUS_COMPLETE,
        vocabulary.STATUS_INTERRUPTED,
        *vocabulary.FORMS,
        *vocabulary.LEGACY_THEME_FORMS,
    }
    offenders = {
        p.relative_to(PROJECT_ROOT).as_posix(): sorted(_strings(p) & names)
        for p in PYTHON
        if p.name != "vocabulary.py" and _strings(p) & names
    }
    assert offenders == {}


def test_summary_does_not_import_the_web_package():
    for name in ("summary.py", "suggestions.py"):
        assert not any(m.startswith("bot.web") for m in _imports(PROJECT_ROOT / "bot" / name))
    # ... nor does the storage layer.
    for path in (PROJECT_ROOT / "bot" / "storage").glob("*.py"):
        imports = {m for m in _imports(path) if m.startswith("bot.web")}
        assert imports <= {"bot.web.security.load_secret_key", "bot.web.security"}, path.name


def test_client_rows_are_made_in_one_place():
    makers = [
        p.relative_to(PROJECT_ROOT).as_posix()
        for p in PYTHON
        if re.search(r"(?<![\w.])(?<!class )Client\(", p.read_text(encoding="utf-8"))
    ]
    assert makers == ["bot/storage/accounts.py"], makers


def test_views_write_only_through_storage():
    """The web app adds, changes and deletes rows through bot/storage, never itself."""
    writes = re.compile(r"\b(?:session|db\(\))\.(?:add|delete|merge)\(|\bupdate\(\w+\)\s*\.")
    for path in (PROJECT_ROOT / "bot" / "web").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name == "demo.py":  # seeds example rows of every kind for `make run`
            continue
        assert not writes.search(text), path.name


def test_make_help_lists_every_target():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    phony = re.search(r"(?m)^\.PHONY:(.*)$", makefile)
    assert phony
    targets = phony.group(1).split()
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = re.findall(r"(?m)^\s+make (\S+)", shown)
    assert sorted(listed) == sorted(targets)
