"""Throw-away local PostgreSQL and Redis for running Koers scaled out on one machine.

    python -m bot.localservices run --instances 2 -- .venv/bin/python -m bot.serve --demo

Starts a fresh PostgreSQL cluster and a Redis server (Debian's packages, installed by
`make services`) in a temporary folder on free ports, creates the Koers database (migrated)
and Rasa's tracker database, runs the command with the environment that points Koers at them
(KOERS_DATABASE_URL, KOERS_ENDPOINTS=endpoints.postgres.yml, KOERS_TRACKER_PG_*,
KOERS_REDIS_*, KOERS_RASA_INSTANCES), and on Ctrl-C, or when the command ends, stops it all
and deletes the folder. Nothing is kept: this is for trying out, benchmarks and tests. The
production topology is in docs/scaling.md.

The servers run as children of this process (never daemonised) and die with it.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.serve import _die_with_parent

DB_USER = "koers"
DB_NAME = "koers"
TRACKER_DB = "koers_tracker"
REDIS_LOCK_DB = 1  # Rasa's lock store (endpoints.postgres.yml)
REDIS_WEB_DB = 2  # the web app's shared state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} stopped while starting (exit code {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s")


def postgres_bin() -> Path:
    """The folder with Debian's PostgreSQL programs (the newest installed version)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if not found:
        raise SystemExit("PostgreSQL is not installed: run `make services` first.")
    return Path(found[-1]).parent


def redis_server() -> str:
    path = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(path).exists():
        raise SystemExit("Redis is not installed: run `make services` first.")
    return path


class LocalPostgres:
    """A PostgreSQL cluster in `directory`, listening on 127.0.0.1:`port` (trust auth)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.port = port or free_port()
        self.bin = postgres_bin()
        self.proc: subprocess.Popen | None = None
        # PostgreSQL refuses to run as root: then it runs as Debian's `postgres` user.
        self.user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def _preexec(self):
        """Become the postgres user (when root), then die with this process."""
        die = _die_with_parent(os.getpid())
        user = self.user

        def preexec() -> None:
            if user is not None:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)  # clears the parent-death signal: set it after this
            if die is not None:
                die()

        return preexec

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.user is not None:
            os.chown(self.directory, self.user.pw_uid, self.user.pw_gid)
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                DB_USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            cwd=self.directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=self._preexec(),
        )

    def start(self) -> None:
        log = (self.directory / "postgres.log").open("a")
        self.proc = subprocess.Popen(
            [
                str(self.bin / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.directory),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=200",
            ],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=self._preexec(),
        )
        _wait_port(self.port, self.proc, "PostgreSQL")
        # The port opens before the server accepts logins: wait for a real connection.
        deadline = time.monotonic() + 30
        while True:
            try:
                self.execute("SELECT 1")
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast shutdown": ends sessions, clean stop
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def url(self, database: str = DB_NAME) -> str:
        return f"postgresql+psycopg2://{DB_USER}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=DB_USER, dbname=database, connect_timeout=3
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(sql)
        finally:
            connection.close()

    def create_databases(self) -> None:
        for name in (DB_NAME, TRACKER_DB):
            self.execute(f'CREATE DATABASE "{name}"')


class LocalRedis:
    """A Redis server on 127.0.0.1:`port` without persistence (throw-away)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = Path(directory)
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("a")
        self.proc = subprocess.Popen(
            [
                redis_server(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        _wait_port(self.port, self.proc, "Redis")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def url(self, db: int = REDIS_WEB_DB) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class LocalServices:
    """PostgreSQL + Redis in one temporary folder; `env()` points Koers at them."""

    def __init__(self, directory: Path | None = None) -> None:
        self.own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="koers-services-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.directory, 0o755)  # PostgreSQL may run as another user (see below)
        self.postgres = LocalPostgres(self.directory / "postgres")
        self.redis = LocalRedis(self.directory / "redis")

    def start(self, migrate: bool = True) -> LocalServices:
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_databases()
        self.redis.start()
        if migrate:
            from bot.storage.db import upgrade_database

            upgrade_database(self.postgres.url())
        return self

    def env(self, instances: int = 2) -> dict[str, str]:
        return {
            "KOERS_DATABASE_URL": self.postgres.url(),
            "KOERS_ENDPOINTS": "endpoints.postgres.yml",
            "KOERS_TRACKER_PG_HOST": "127.0.0.1",
            "KOERS_TRACKER_PG_PORT": str(self.postgres.port),
            "KOERS_TRACKER_PG_DB": TRACKER_DB,
            "KOERS_TRACKER_PG_USER": DB_USER,
            "KOERS_TRACKER_PG_PASSWORD": "",
            "KOERS_REDIS_HOST": "127.0.0.1",
            "KOERS_REDIS_PORT": str(self.redis.port),
            "KOERS_REDIS_URL": self.redis.url(),
            "KOERS_RASA_INSTANCES": str(instances),
        }

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()
        if self.own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> LocalServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.localservices", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start PostgreSQL and Redis, run a command, stop them")
    run.add_argument("--instances", type=int, default=2, help="KOERS_RASA_INSTANCES")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- the command to run")
    args = parser.parse_args(argv)
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        parser.error("give the command to run after --")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    services = LocalServices()
    child: subprocess.Popen | None = None
    try:
        print("Starting a throw-away PostgreSQL and Redis...", flush=True)
        services.start()
        env = {**os.environ, **services.env(args.instances)}
        print(
            f"  PostgreSQL on 127.0.0.1:{services.postgres.port}, "
            f"Redis on 127.0.0.1:{services.redis.port} (in {services.directory})",
            flush=True,
        )
        child = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent(os.getpid()))
        return child.wait()
    except KeyboardInterrupt:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
        return 0
    finally:
        services.stop()
        print("PostgreSQL and Redis have stopped; their data is deleted.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
