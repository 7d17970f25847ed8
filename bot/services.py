"""How the three Koers servers are started: commands and environment for the action server,
Rasa and the web app. Used by `bot.serve` (all three under one supervisor: `make run`,
`python -m bot serve`) and by `python -m bot service NAME` (one server in the foreground,
for the systemd units in deploy/systemd/).

Secrets never appear on a command line (`ps` shows command lines to every local user):
- the action server's shared secret (KOERS_ACTIONS_SECRET) reaches Rasa through the
  environment; endpoints.yml puts it in the X-Koers-Actions-Secret header of every call;
- Rasa's HTTP API is off unless KOERS_RASA_API=true; its token (KOERS_RASA_TOKEN) is read
  from the environment inside the Rasa process by `bot.rasa_server`.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings

ACTIONS_SECRET_HEADER = "X-Koers-Actions-Secret"
# Rasa's REST channel demands KOERS_RASA_TOKEN in this header when KOERS_ALLOW_PRIVATE_BACKENDS
# is true (bot/rasa_channel.py).
RASA_TOKEN_HEADER = "X-Koers-Rasa-Token"
SERVICES = ("actions", "rasa", "web")

_session_secret: str | None = None


def actions_secret(settings: Settings) -> str:
    """KOERS_ACTIONS_SECRET, or (demo and tests) one random secret for this process's stack."""
    global _session_secret
    if settings.actions_secret:
        return settings.actions_secret
    if _session_secret is None:
        _session_secret = secrets.token_urlsafe(32)
    return _session_secret


def secret_env(settings: Settings) -> dict[str, str]:
    """The environment values that carry secrets to the child processes."""
    env = {
        "KOERS_ACTIONS_SECRET": actions_secret(settings),
        "KOERS_RASA_API": "true" if settings.rasa_api else "false",
        "KOERS_RASA_TOKEN": settings.rasa_token or "",
        # Rasa's REST channel then demands the token (bot/rasa_channel.py).
        "KOERS_ALLOW_PRIVATE_BACKENDS": "true" if settings.allow_private_backends else "false",
    }
    return env


def child_env(settings: Settings) -> dict[str, str]:
    """Environment of a Koers server process: quiet libraries, the values endpoints.yml
    reads, and the secrets."""
    from bot.trainer import quiet_env

    env = quiet_env()
    env.update(
        KOERS_ACTIONS_HOST=settings.actions_host,
        KOERS_ACTIONS_PORT=str(settings.actions_port),
        KOERS_TRACKER_DB=str(settings.tracker_db),
        KOERS_DATABASE_URL=settings.database_url,
        KOERS_VAR_DIR=str(settings.var_dir),
        KOERS_WEB_HOST=settings.web_host,
        KOERS_WEB_PORT=str(settings.web_port),
        KOERS_RASA_HOST=settings.rasa_host,
        KOERS_RASA_PORT=str(settings.rasa_port),
        SANIC_HOST=settings.actions_host,
    )
    env.update(secret_env(settings))
    return env


def action_server_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "bot.action_server"]


def rasa_command(
    settings: Settings, model: Path, log_dir: Path | None, index: int = 0
) -> list[str]:
    """`rasa run` through `bot.rasa_server`: no --enable-api and no token on this line.
    `index` > 0: the further Rasa instances of KOERS_RASA_INSTANCES (issue 13), on the next
    ports and with their own log file."""
    suffix = "" if index == 0 else f"-{index + 1}"
    cmd = [
        sys.executable,
        "-m",
        "bot.rasa_server",
        "--model",
        str(model),
        "--interface",
        settings.rasa_host,
        "--port",
        str(settings.rasa_port + index),
        "--endpoints",
        str(settings.endpoints_file),
        "--credentials",
        str(PROJECT_ROOT / "credentials.yml"),
    ]
    if log_dir is not None:
        cmd += ["--log-file", str(log_dir / f"rasa{suffix}-debug.log")]
    return cmd


def web_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "bot.web"]


def run_service(name: str, settings: Settings) -> int:
    """Replace this process by one Koers server (for systemd: `python -m bot service NAME`).

    Production checks run first, so a unit with insecure settings fails with the reason in
    the journal. Logs go to stdout/stderr (the journal), not to files.
    """
    from bot import production

    if name not in SERVICES:
        raise SystemExit(f"Unknown service {name!r}; choose one of {', '.join(SERVICES)}.")
    production.secure_data_dir(settings)
    problems = production.settings_problems(settings)
    if problems:
        for line in problems:
            print(f"Koers did not start: {line}", file=sys.stderr)
        return 2
    if name == "actions":
        cmd = action_server_command(settings)
    elif name == "rasa":
        from bot.trainer import model_path

        model = model_path()
        if not model.exists():
            print(
                f"Koers did not start: no trained model {model.name}; run `make train` first.",
                file=sys.stderr,
            )
            return 2
        cmd = rasa_command(settings, model, None)
    else:
        problems = production.database_problems(settings)
        if problems:
            for line in problems:
                print(f"Koers did not start: {line}", file=sys.stderr)
            return 2
        production.mark_production(settings)
        cmd = web_command(settings)
    sys.stdout.flush()
    os.chdir(PROJECT_ROOT)
    os.execve(cmd[0], cmd, child_env(settings))
    return 0  # not reached
