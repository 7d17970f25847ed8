"""Start the Koers stack on 127.0.0.1: the action server, the Rasa server and the web app
(worker dashboard and client chat).

    python -m bot.serve            # production (= python -m bot serve): no demo data, refuses
                                   # insecure settings (bot/production.py, docs/deploy.md)
    python -m bot.serve --demo     # used by `make run`: adds clearly fake demo data and
                                   # prints a demo client code and demo logins; Ctrl-C stops all

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

from bot import production, services
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
        services.action_server_command(settings),
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(
        f"http://{settings.actions_host}:{settings.actions_port}/health",
        proc,
        60,
        "The action server",
        log,
    )
    return proc


def start_rasa(
    settings: Settings, model: Path, log_dir: Path, env: dict[str, str]
) -> subprocess.Popen:
    log = log_dir / "rasa.log"
    cmd = services.rasa_command(settings, model, log_dir)
    proc = subprocess.Popen(
        cmd,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
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
    env.update(services.secret_env(settings))
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


def start_web(settings: Settings, log_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start the web app (waitress) on KOERS_WEB_HOST:KOERS_WEB_PORT and wait until it answers."""
    log = log_dir / "web.log"
    env = {
        **env,
        "KOERS_WEB_HOST": settings.web_host,
        "KOERS_WEB_PORT": str(settings.web_port),
        "KOERS_RASA_HOST": settings.rasa_host,
        "KOERS_RASA_PORT": str(settings.rasa_port),
        "KOERS_VAR_DIR": str(settings.var_dir),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.web"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(f"http://{settings.web_host}:{settings.web_port}/login", proc, 60, "The web app", log)
    return proc


def seed_demo_data(settings: Settings):
    from bot.storage.db import make_engine, session_scope
    from bot.web.demo import seed_demo
    from bot.web.security import load_secret_key

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            return seed_demo(session, load_secret_key(settings))
    finally:
        engine.dispose()


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.serve")
    parser.add_argument("--demo", action="store_true", help="add clearly fake demo data")
    args = parser.parse_args(argv)
    settings = get_settings()
    log_dir = settings.var_dir / "log"
    # Ctrl-C (SIGINT) and a service manager's SIGTERM both stop everything cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    production.secure_data_dir(settings)  # umask 077; var/, databases and logs private
    if not (args.demo or settings.demo_data):
        production.refuse_insecure(settings)  # production: one line per insecure setting
    model = ensure_model()
    demo = seed_demo_data(settings) if (args.demo or settings.demo_data) else None
    procs = start_stack(settings, model, log_dir)
    try:
        print("Starting the web app...", flush=True)
        procs.append(start_web(settings, log_dir, stack_env(settings)))
        web = f"http://{settings.web_host}:{settings.web_port}"
        lines = [
            "",
            "  Koers is running.",
            f"  Client chat (phone or browser):  {web}/chat/",
        ]
        if demo is not None:
            lines.append(f"    demo client code:              {demo.client_code}")
        lines.append(f"  Worker dashboard:                {web}/login")
        if demo is not None:
            lines += [
                f"    demo worker:                   {demo.worker_username} / {demo.worker_password}",
                f"    demo admin:                    {demo.admin_username} / {demo.admin_password}",
                "    (demo data is fake; passwords and the code are new at every start)",
            ]
        lines += [
            "  Chat in a terminal instead:      make chat",
            f"  Logs:                            {log_dir}/",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(lines), flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(1)
        print("A server stopped unexpectedly; see the logs in var/log/.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping Koers...", flush=True)
        return 0
    finally:
        stop(procs)
        print("Koers has stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
