"""Start a whole Koers stack for a benchmark or a test, as `make run` / `make run-scaled` do.

`Stack.start()` runs `python -m bot.serve --demo` (the supervisor: action server, N Rasa instances,
the web app) in a temporary folder on free ports, optionally with extra web processes and
with throw-away PostgreSQL and Redis (`bot.localservices`), and seeds clients with access
codes. Children are found through /proc (their parent is the supervisor), so faults can be
made by killing real processes.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.localservices import LocalServices  # noqa: E402
from bot.serve import _die_with_parent  # noqa: E402
from bot.trainer import quiet_env  # noqa: E402

SECRET = "benchmark-only-secret-not-for-production"
# Rasa's HTTP API is off in Koers (issue 11); a benchmark that measures /model/parse turns
# it on with this token (`Stack(rasa_api=True)`), passed as `?token=`.
RASA_TOKEN = "benchmark-only-rasa-token-not-for-production"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_range(count: int) -> int:
    """A first port of `count` consecutive free ports (Rasa instances use port, port+1...)."""
    for _ in range(200):
        first = random.randint(20000, 60000 - count)
        sockets = []
        try:
            for port in range(first, first + count):
                s = socket.socket()
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return first
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port range")


def rss_mb(pid: int) -> float:
    """Resident memory of a process (MB), from /proc."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children_of(pid: int) -> dict[int, str]:
    """{pid: command line} of the direct children of `pid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                found[int(entry.name)] = cmd
        except (OSError, ValueError, IndexError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclasses.dataclass
class Stack:
    directory: Path
    instances: int = 1
    web_processes: int = 1
    scaled: bool = False  # PostgreSQL + Redis (needed for more than one instance)
    rasa_api: bool = False  # Rasa's HTTP API on, with RASA_TOKEN (for /model/parse)
    model: Path | None = None
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)
    services: LocalServices | None = None
    supervisor: subprocess.Popen | None = None
    extra_web: list[subprocess.Popen] = dataclasses.field(default_factory=list)
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    web_urls: list[str] = dataclasses.field(default_factory=list)
    rasa_urls: list[str] = dataclasses.field(default_factory=list)
    database_url: str = ""

    # -- starting and stopping ------------------------------------------------------------------

    def start(self, timeout: float = 600) -> Stack:
        self.directory.mkdir(parents=True, exist_ok=True)
        rasa_port = free_port_range(self.instances)
        env = {
            **quiet_env(),
            "KOERS_VAR_DIR": str(self.directory),
            "KOERS_RASA_PORT": str(rasa_port),
            "KOERS_ACTIONS_PORT": str(free_port()),
            "KOERS_WEB_PORT": str(free_port()),
            "KOERS_SECRET_KEY": SECRET,
            "KOERS_DEMO_DATA": "false",
            "KOERS_RASA_INSTANCES": str(self.instances),
            "KOERS_TRACKER_DB": str(self.directory / "tracker.db"),
            "KOERS_ENV_FILE": str(self.directory / "no.env"),  # ignore a developer's .env
        }
        if self.rasa_api:
            env.update(KOERS_RASA_API="true", KOERS_RASA_TOKEN=RASA_TOKEN)
        if self.model is not None:
            env["KOERS_MODEL_DIR"] = str(self.model.parent)
        if self.scaled:
            # In a folder of its own: PostgreSQL runs as another user (when root), which must
            # be able to reach it.
            self.services = LocalServices().start()
            env.update(self.services.env(self.instances))
        else:
            from bot.storage.db import upgrade_database

            env["KOERS_DATABASE_URL"] = f"sqlite:///{self.directory / 'koers.db'}"
            upgrade_database(env["KOERS_DATABASE_URL"])
        env.update(self.extra_env)
        self.env = env
        self.database_url = env["KOERS_DATABASE_URL"]
        self.rasa_urls = [f"http://127.0.0.1:{rasa_port + i}" for i in range(self.instances)]
        self.web_urls = [f"http://127.0.0.1:{env['KOERS_WEB_PORT']}"]
        log = (self.directory / "serve.log").open("w")
        # As `make run` starts it: --demo skips the production checks (HTTPS-only cookies,
        # a proxy) and adds the fake demo accounts, which no measurement counts.
        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", "bot.serve", "--demo"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        for _ in range(self.web_processes - 1):
            port = free_port()
            web_env = {
                **env,
                "KOERS_WEB_PORT": str(port),
                "KOERS_RASA_URLS": ",".join(self.rasa_urls),
            }
            self.extra_web.append(
                subprocess.Popen(
                    [sys.executable, "-m", "bot.web"],
                    cwd=ROOT,
                    env=web_env,
                    stdout=(self.directory / f"web-{port}.log").open("w"),
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent(os.getpid()),
                )
            )
            self.web_urls.append(f"http://127.0.0.1:{port}")
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        urls = [u + "/login" for u in self.web_urls] + [u + "/" for u in self.rasa_urls]
        while True:
            if self.supervisor is not None and self.supervisor.poll() is not None:
                raise RuntimeError(
                    "bot.serve stopped:\n" + (self.directory / "serve.log").read_text()[-3000:]
                )
            if all(self.answers(url) for url in urls):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the stack did not start in time")
            time.sleep(1)

    @staticmethod
    def answers(url: str) -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        for proc in [*self.extra_web, self.supervisor]:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [*self.extra_web, self.supervisor]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.services is not None:
            self.services.stop()

    # -- the processes ---------------------------------------------------------------------------

    def children(self) -> dict[str, int]:
        """{"actions": pid, "rasa-1": pid, ..., "web": pid} of the supervisor's children."""
        named: dict[str, int] = {}
        assert self.supervisor is not None
        for pid, cmd in children_of(self.supervisor.pid).items():
            if "bot.action_server" in cmd or "rasa_sdk" in cmd:
                named["actions"] = pid
            elif "bot.rasa_server" in cmd or " rasa run" in cmd:
                port = cmd.split("--port", 1)[1].split()[0]
                index = [u.rsplit(":", 1)[1] for u in self.rasa_urls].index(port)
                named[f"rasa-{index + 1}"] = pid
            elif "bot.web" in cmd:
                named["web"] = pid
        return named

    def memory(self) -> dict[str, float]:
        """RSS (MB) of every process of the stack, and of PostgreSQL and Redis."""
        result = {name: rss_mb(pid) for name, pid in sorted(self.children().items())}
        for i, web in enumerate(self.extra_web, start=2):
            result[f"web-{i}"] = rss_mb(web.pid)
        if self.supervisor is not None:
            result["supervisor"] = rss_mb(self.supervisor.pid)
        if self.services is not None:
            for name, proc in (
                ("postgres", self.services.postgres.proc),
                ("redis", self.services.redis.proc),
            ):
                if proc is not None:
                    # PostgreSQL runs a process per connection: count them all.
                    pids = [proc.pid, *children_of(proc.pid)]
                    result[name] = sum(rss_mb(p) for p in pids)
        return result

    # -- clients -----------------------------------------------------------------------------------

    def new_clients(self, count: int, prefix: str = "bench") -> list[tuple[str, str]]:
        """`count` new clients with access codes: [(chat_id, code)]."""
        from bot.storage import accounts
        from bot.storage.db import make_engine, session_scope
        from bot.web.dashboard import issue_code

        engine = make_engine(self.database_url)
        made = []
        try:
            with session_scope(engine) as session:
                for i in range(count):
                    client = accounts.create_client(session, f"{prefix} {i} (nep)")
                    made.append((client.chat_id, issue_code(session, client, "bench", SECRET)))
        finally:
            engine.dispose()
        return made


def temporary_stack(**kwargs) -> Stack:
    return Stack(Path(tempfile.mkdtemp(prefix="koers-stack-")), **kwargs)


def remove(stack: Stack) -> None:
    shutil.rmtree(stack.directory, ignore_errors=True)
