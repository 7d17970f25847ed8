"""The deployment files and docs/deploy.md stay true: the systemd units pass
`systemd-analyze verify` and run real `python -m bot` commands, and every command, file and
test the guide names exists."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

import pytest

from bot.manage import build_parser
from bot.settings import PROJECT_ROOT

UNITS = PROJECT_ROOT / "deploy" / "systemd"
GUIDE = PROJECT_ROOT / "docs" / "deploy.md"


def subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(action.choices)


def test_units_run_real_commands():
    commands = subcommands()
    units = sorted(UNITS.glob("koers-*.service"))
    assert {u.name for u in units} == {
        "koers-actions.service",
        "koers-rasa.service",
        "koers-web.service",
        "koers-retention.service",
        "koers-backup.service",
    }
    for unit in units:
        text = unit.read_text(encoding="utf-8")
        line = next(x for x in text.splitlines() if x.startswith("ExecStart="))
        argv = shlex.split(line[len("ExecStart=") :])
        assert argv[:3] == ["/opt/koers/.venv/bin/python", "-m", "bot"], unit.name
        assert argv[3] in commands, unit.name
        if argv[3] == "service":
            assert argv[4] in ("actions", "rasa", "web")
        for needed in ("User=koers", "UMask=0077", "ProtectSystem=strict", "NoNewPrivileges=yes"):
            assert needed in text, f"{unit.name}: {needed}"
        assert "Environment=KOERS_ENV_FILE=/etc/koers/koers.env" in text
    for timer in ("koers-retention.timer", "koers-backup.timer"):
        assert (
            "OnCalendar=" in (UNITS / timer).read_text()
            and "Persistent=true" in (UNITS / timer).read_text()
        )


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing")
def test_systemd_accepts_the_units(tmp_path):
    """`systemd-analyze verify` on copies that point at this checkout (the real paths
    /opt/koers do not exist here); unknown keys or a missing program fail the test."""
    for unit in UNITS.iterdir():
        text = unit.read_text(encoding="utf-8")
        text = text.replace("/opt/koers/.venv/bin/python", sys.executable)
        text = text.replace("/opt/koers", str(PROJECT_ROOT))
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line
        for line in (result.stderr + result.stdout).splitlines()
        if line.strip() and "koers" in line.lower()
    ]
    assert result.returncode == 0 and not problems, result.stderr


def guide_commands() -> list[list[str]]:
    """Every `koers ...` / `python -m bot ...` command in the guide's code blocks."""
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    found = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("|"):
                words = shlex.split(part.split("#")[0]) if part.strip() else []
                if words[:1] == ["koers"]:
                    found.append(words[1:])
                elif words[:2] == ["-m", "bot"]:
                    found.append(words[2:])
    return found


def test_every_command_in_the_guide_exists():
    commands = guide_commands()
    names = {c[0] for c in commands}
    assert {"init-env", "migrate", "bootstrap-admin", "nginx-config", "restore"} <= names
    assert names <= subcommands(), names - subcommands()
    parser = build_parser()
    for command in commands:
        try:
            parser.parse_args(command)
        except SystemExit as exc:  # argparse refused: the guide's command line is wrong
            pytest.fail(f"koers {' '.join(command)}: {exc}")


def test_every_file_and_test_the_guide_names_exists():
    text = GUIDE.read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:deploy|docs|tests|bot)/[\w./-]+)`", text))
    paths |= set(re.findall(r"/opt/koers/((?:deploy)/[\w./-]+)", text))
    assert paths, "the guide names no repository files?"
    for path in paths:
        base = path.split("::")[0].rstrip("*")
        assert (PROJECT_ROOT / base).exists() or list(PROJECT_ROOT.glob(base + "*")), path
    for test_file, test_name in re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text):
        assert f"def {test_name}(" in (PROJECT_ROOT / test_file).read_text(), test_name
    assert ".env.example" in text and (PROJECT_ROOT / ".env.example").exists()
