"""Start and supervise the Koers stack on 127.0.0.1: the action server, one or more Rasa
servers and the web app (worker dashboard and client chat).

    python -m bot.serve            # production (= python -m bot serve): no demo data, refuses
                                   # insecure settings (bot/production.py, docs/deploy.md)
    python -m bot.serve --demo     # used by `make run`: adds clearly fake demo data and
                                   # prints a demo client code and demo logins; Ctrl-C stops all

The supervisor keeps the stack up: a child that stops (a crash, the kernel's OOM killer, a
kill) is started again after a back-off of 1, 2, 4, ... up to 60 s, which resets once the
child has run for a minute. Meanwhile the web app tells clients calmly that Koers is briefly
unreachable. Every child asks the kernel to send it SIGTERM when the supervisor dies
(Linux `PR_SET_PDEATHSIG`), so even a supervisor killed with SIGKILL leaves no orphans.

KOERS_RASA_INSTANCES=N starts N Rasa processes on consecutive ports (docs/scaling.md); more
than one needs the PostgreSQL tracker store and the Redis lock store (endpoints.postgres.yml).

Logs go to var/log/. The sender id of every conversation is chosen by the program that
talks to Rasa's REST channel (`make chat`, the web app), never by the client.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot import production, services
from bot.settings import PROJECT_ROOT, Settings, get_settings
from bot.trainer import ensure_model, quiet_env

PR_SET_PDEATHSIG = 1
BACKOFF_START = 1.0
BACKOFF_MAX = 60.0
STABLE_AFTER = 60.0  # seconds of running that reset the back-off

_libc: ctypes.CDLL | None = None


def _load_libc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        except OSError:
            _libc = None
    return _libc


def _die_with_parent(parent_pid: int) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child get SIGTERM when its parent thread dies.

    The supervisor starts every child from its main thread, so the child lives exactly as
    long as the supervisor. If the parent already died between fork and prctl, the child
    exits at once. Not Linux: None (children are still stopped on Ctrl-C and SIGTERM).
    """
    libc = _load_libc()  # loaded before fork: the child only makes two system calls
    if libc is None:
        return None

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


@dataclass
class ChildSpec:
    """How to start one child process, and how to see that it is ready."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    health_url: str
    ready_timeout: float

    def spawn(self, append: bool = False) -> subprocess.Popen:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("a" if append else "w") as log:
            proc = subprocess.Popen(
                self.cmd,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        proc.spec = self  # type: ignore[attr-defined]
        return proc


def healthy(url: str, timeout: float = 2) -> bool:
    try:
        return requests.get(url, timeout=timeout).status_code == 200
    except requests.RequestException:
        return False


def wait_for(url: str, proc: subprocess.Popen, timeout: float, name: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{name} stopped while starting; see {log}")
        if healthy(url):
            return
        time.sleep(0.5)
    raise SystemExit(f"{name} did not start within {timeout:.0f} s; see {log}")


def _spawn_and_wait(spec: ChildSpec) -> subprocess.Popen:
    proc = spec.spawn()
    try:
        wait_for(spec.health_url, proc, spec.ready_timeout, spec.name, spec.log)
    except BaseException:
        stop([proc])
        raise
    return proc


# --- the children -----------------------------------------------------------------------------


def action_server_spec(settings: Settings, log_dir: Path, env: dict[str, str]) -> ChildSpec:
    return ChildSpec(
        name="The action server",
        cmd=services.action_server_command(settings),
        env={**env, "SANIC_HOST": settings.actions_host},
        log=log_dir / "actions.log",
        health_url=f"http://{settings.actions_host}:{settings.actions_port}/health",
        ready_timeout=60,
    )


def rasa_spec(
    settings: Settings, model: Path, log_dir: Path, env: dict[str, str], index: int = 0
) -> ChildSpec:
    """Rasa instance `index` (0, 1, ...) on KOERS_RASA_PORT + index, started through
    `bot.rasa_server` (the HTTP API off unless asked for, Koers' start-up patches applied
    before the model loads: bot/rasa_patches.py)."""
    port = settings.rasa_port + index
    suffix = "" if index == 0 else f"-{index + 1}"
    cmd = services.rasa_command(settings, model, log_dir, index=index)
    name = "Rasa" if settings.rasa_instances == 1 else f"Rasa {index + 1}"
    return ChildSpec(
        name=name,
        cmd=cmd,
        env=env,
        log=log_dir / f"rasa{suffix}.log",
        health_url=f"http://{settings.rasa_host}:{port}/",
        ready_timeout=240,
    )


def web_spec(settings: Settings, log_dir: Path, env: dict[str, str]) -> ChildSpec:
    env = {
        **env,
        "KOERS_WEB_HOST": settings.web_host,
        "KOERS_WEB_PORT": str(settings.web_port),
        "KOERS_RASA_HOST": settings.rasa_host,
        "KOERS_RASA_PORT": str(settings.rasa_port),
        "KOERS_RASA_URLS": ",".join(settings.rasa_urls),
        "KOERS_VAR_DIR": str(settings.var_dir),
    }
    return ChildSpec(
        name="The web app",
        cmd=[sys.executable, "-m", "bot.web"],
        env=env,
        log=log_dir / "web.log",
        health_url=f"http://{settings.web_host}:{settings.web_port}/login",
        ready_timeout=60,
    )


def start_action_server(settings: Settings, log_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    return _spawn_and_wait(action_server_spec(settings, log_dir, env))


def start_rasa(
    settings: Settings, model: Path, log_dir: Path, env: dict[str, str], index: int = 0
) -> subprocess.Popen:
    return _spawn_and_wait(rasa_spec(settings, model, log_dir, env, index))


def start_rasa_instances(
    settings: Settings, model: Path, log_dir: Path, env: dict[str, str]
) -> list[subprocess.Popen]:
    """Start every Rasa instance at once (each loads the model), then wait for all."""
    specs = [rasa_spec(settings, model, log_dir, env, i) for i in range(settings.rasa_instances)]
    procs = [spec.spawn() for spec in specs]
    try:
        for spec, proc in zip(specs, procs, strict=True):
            wait_for(spec.health_url, proc, spec.ready_timeout, spec.name, spec.log)
    except BaseException:
        stop(procs)
        raise
    return procs


def start_web(settings: Settings, log_dir: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start the web app (waitress) on KOERS_WEB_HOST:KOERS_WEB_PORT and wait until it answers."""
    return _spawn_and_wait(web_spec(settings, log_dir, env))


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def stack_env(settings: Settings) -> dict[str, str]:
    """Environment for the servers: quiet logs and the values endpoints.yml reads."""
    env = quiet_env()
    env.update(
        KOERS_ACTIONS_HOST=settings.actions_host,
        KOERS_ACTIONS_PORT=str(settings.actions_port),
        KOERS_TRACKER_DB=str(settings.tracker_db),
        KOERS_DATABASE_URL=settings.database_url,
        KOERS_OUTBOX_DIR=str(settings.outbox_path),
        KOERS_RASA_INSTANCES=str(settings.rasa_instances),
    )
    if settings.redis_url:
        env["KOERS_REDIS_URL"] = settings.redis_url
    env.update(services.secret_env(settings))
    if settings.rasa_instances > 1:
        # Rasa's Redis lock of a conversation outlives an instance that dies mid-turn until
        # it expires; 20 s (Rasa's default is 60) lets the client go on sooner. The web app's
        # own per-client lock keeps one message per client in flight regardless.
        env.setdefault("TICKET_LOCK_LIFETIME", "20")
    return env


def scale_out_problem(settings: Settings) -> str | None:
    """Why this configuration cannot run several Rasa instances, or None."""
    if settings.rasa_instances <= 1:
        return None
    import yaml

    try:
        endpoints = yaml.safe_load(settings.endpoints_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        return f"cannot read {settings.endpoints_file}: {error}"
    from bot.tracker_store import SQL_TYPES

    tracker = endpoints.get("tracker_store") or {}
    lock = endpoints.get("lock_store") or {}
    sql = str(tracker.get("type", "")).upper() in SQL_TYPES
    if not sql or str(tracker.get("dialect", "")).strip('"') == "sqlite":
        return (
            "several Rasa instances must share their conversations in PostgreSQL: set "
            "KOERS_ENDPOINTS=endpoints.postgres.yml (see docs/scaling.md or `make run-scaled`)"
        )
    if lock.get("type") != "redis":
        return "several Rasa instances need the Redis lock store (endpoints.postgres.yml)"
    return None


def start_stack(settings: Settings, model: Path, log_dir: Path) -> list[subprocess.Popen]:
    """Start the action server, then the Rasa instance(s); return them once they answer."""
    problem = scale_out_problem(settings)
    if problem:
        raise SystemExit(f"KOERS_RASA_INSTANCES={settings.rasa_instances}: {problem}")
    log_dir.mkdir(parents=True, exist_ok=True)
    settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    env = stack_env(settings)
    procs: list[subprocess.Popen] = []
    try:
        print("Starting the action server...", flush=True)
        procs.append(start_action_server(settings, log_dir, env))
        many = settings.rasa_instances
        print(
            "Starting Rasa (loading the model takes about a minute)..."
            if many == 1
            else f"Starting {many} Rasa instances (loading the model takes a minute or two)...",
            flush=True,
        )
        procs.extend(start_rasa_instances(settings, model, log_dir, env))
    except BaseException:
        stop(procs)
        raise
    return procs


# --- supervision ------------------------------------------------------------------------------


@dataclass
class Supervised:
    """One child under supervision: its process, and when to start it again."""

    spec: ChildSpec
    proc: subprocess.Popen
    started_at: float = field(default_factory=time.monotonic)
    failures: int = 0  # consecutive quick failures (for the back-off)
    restart_at: float | None = None
    restarts: int = 0
    announced: bool = True  # "is running again" printed (or not needed)

    def backoff(self) -> float:
        return min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, self.failures - 1))


class Supervisor:
    """Restart children that stop, with back-off; stop them all on Ctrl-C or SIGTERM."""

    def __init__(
        self,
        procs: list[subprocess.Popen],
        out: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.children = [Supervised(p.spec, p, started_at=clock()) for p in procs]  # type: ignore[attr-defined]
        self.out = out or (lambda line: print(line, file=sys.stderr, flush=True))

    @property
    def procs(self) -> list[subprocess.Popen]:
        return [child.proc for child in self.children]

    def add(self, proc: subprocess.Popen) -> None:
        self.children.append(Supervised(proc.spec, proc, started_at=self.clock()))  # type: ignore[attr-defined]

    def check(self) -> None:
        """One round: notice stopped children, start those whose back-off has passed."""
        now = self.clock()
        for child in self.children:
            name = child.spec.name
            if child.restart_at is None and child.proc.poll() is not None:
                ran = now - child.started_at
                child.failures = 1 if ran >= STABLE_AFTER else child.failures + 1
                delay = child.backoff()
                child.restart_at = now + delay
                self.out(
                    f"{name} stopped (exit code {child.proc.returncode}) after {ran:.0f} s; "
                    f"starting it again in {delay:.0f} s. Log: {child.spec.log}"
                )
            elif child.restart_at is not None and now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                child.proc = child.spec.spawn(append=True)
                child.started_at = now
                child.announced = False
            elif not child.announced and child.proc.poll() is None:
                if healthy(child.spec.health_url, timeout=0.5):
                    child.announced = True
                    self.out(f"{name} is running again (restart {child.restarts}).")

    def run(self, interval: float = 1.0) -> None:
        while True:
            self.check()
            time.sleep(interval)

    def stop(self) -> None:
        stop(self.procs)


# --- make run ---------------------------------------------------------------------------------


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
    supervisor = Supervisor([])
    try:
        for proc in start_stack(settings, model, log_dir):
            supervisor.add(proc)
        print("Starting the web app...", flush=True)
        supervisor.add(start_web(settings, log_dir, stack_env(settings)))
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
        if settings.rasa_instances > 1:
            lines.append(f"  Rasa instances:                  {', '.join(settings.rasa_urls)}")
        lines += [
            "  Chat in a terminal instead:      make chat",
            f"  Logs:                            {log_dir}/",
            "  Stop with Ctrl-C.",
            "",
        ]
        print("\n".join(lines), flush=True)
        supervisor.run()
        return 0
    except KeyboardInterrupt:
        print("\nStopping Koers...", flush=True)
        return 0
    finally:
        supervisor.stop()
        print("Koers has stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
