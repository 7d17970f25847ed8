"""Start the Koers stack on 127.0.0.1: the action server and the Rasa server.

    python -m bot.serve            # used by `make run`; Ctrl-C stops everything

Logs go to var/log/. The sender id of every conversation is chosen by the program that
talks to Rasa's REST channel (`make chat`, later the web app), never by the client.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bot.settings import PROJECT_ROOT, Settings, get_settings
from bot.trainer import ensure_model, quiet_env


def wait_for(url: str, proc: subprocess.Popen, timeout: float, name: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} stopped while starting; see {log}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{name} did not start within {timeout:.0f} s; see {log}")


def start_action_server(settings: Settings, log_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    log = log_dir / "actions.log"
    env = {**env, "SANIC_HOST": settings.actions_host}
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions",
         "--port", str(settings.actions_port)],
        cwd=PROJECT_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(f"http://{settings.actions_host}:{settings.actions_port}/health", proc, 60,
             "The action server", log)
    return proc


def start_rasa(settings: Settings, model: Path, log_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    log = log_dir / "rasa.log"
    cmd = [
        sys.executable, "-m", "rasa", "run", "--model", str(model), "--enable-api",
        "--interface", settings.rasa_host, "--port", str(settings.rasa_port),
        "--endpoints", str(settings.endpoints_file), "--credentials", "credentials.yml",
        "--log-file", str(log_dir / "rasa-debug.log"),
    ]
    token = os.environ.get("KOERS_RASA_TOKEN")
    if token:
        cmd += ["--auth-token", token]
    proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    wait_for(f"{settings.rasa_url}/", proc, 240, "Rasa", log)
    return proc


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def stack_env(settings: Settings) -> dict[str, str]:
    """Environment for both servers: quiet logs and the values endpoints.yml reads."""
    env = quiet_env()
    env.update(
        KOERS_ACTIONS_HOST=settings.actions_host,
        KOERS_ACTIONS_PORT=str(settings.actions_port),
        KOERS_TRACKER_DB=str(settings.tracker_db),
        KOERS_DATABASE_URL=settings.database_url,
    )
    return env


def start_stack(settings: Settings, model: Path, log_dir: Path) -> list[subprocess.Popen]:
    """Start the action server, then Rasa; return both processes once they answer."""
    log_dir.mkdir(parents=True, exist_ok=True)
    settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    env = stack_env(settings)
    procs: list[subprocess.Popen] = []
    try:
        print("Starting the action server...", flush=True)
        procs.append(start_action_server(settings, log_dir, env))
        print("Starting Rasa (loading the model takes about a minute)...", flush=True)
        procs.append(start_rasa(settings, model, log_dir, env))
    except BaseException:
        stop(procs)
        raise
    return procs


def main() -> int:
    settings = get_settings()
    log_dir = settings.var_dir / "log"
    model = ensure_model()
    procs = start_stack(settings, model, log_dir)
    try:
        print(
            "\n"
            "  Koers is running.\n"
            "  Chat in a second terminal:   make chat\n"
            f"  Rasa REST channel:           {settings.rasa_url}/webhooks/rest/webhook\n"
            f"  Logs:                        {log_dir}/\n"
            "  Stop with Ctrl-C.\n",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("A server stopped unexpectedly; see the logs in var/log/.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Koers...", flush=True)
        return 0
    finally:
        stop(procs)


if __name__ == "__main__":
    sys.exit(main())
