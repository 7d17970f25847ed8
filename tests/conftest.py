"""Shared fixtures: the trained model (cached by a hash of the training data), a real action
server on a temporary SQLite database, and a Rasa Agent that talks to it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
# The in-process Agent runs like `python -m bot.rasa_server`: one OpenMP thread (see
# bot.rasa_server.one_thread_per_library; set before scikit-learn loads libgomp).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest
import requests

from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine, upgrade_database

# The action server answers only calls with this shared secret (bot/action_server.py).
# Kept in the environment: test modules that import this file get the same value.
ACTIONS_SECRET = os.environ.setdefault(
    "KOERS_TEST_ACTIONS_SECRET", "test-actions-secret-" + uuid.uuid4().hex
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def model_path() -> Path:
    from bot.trainer import ensure_model

    override = os.environ.get("KOERS_TEST_MODEL")  # developer shortcut: test a given model
    return Path(override) if override else ensure_model()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'koers-test.db'}"
    upgrade_database(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


# The session's action server process and its log (for `Bot.say`'s check).
ACTION_SERVER: dict = {}


def _check_action_server() -> None:
    """Fail with the action server's log when it is no longer running: every turn would
    otherwise just be unanswered (Rasa's atomic turns, bot/rasa_patches.py), and every later
    test would fail with an empty reply that does not say why."""
    proc = ACTION_SERVER.get("proc")
    if proc is not None and proc.poll() is not None:
        tail = ACTION_SERVER["log"].read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the test action server exited ({proc.returncode}):\n{tail}")


def start_action_server(database_url: str, outbox: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Start the real rasa-sdk action server with Koers' actions on 127.0.0.1 and wait until
    it answers /health. Returns the process and its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "KOERS_DATABASE_URL": database_url,
        "KOERS_OUTBOX_DIR": str(outbox),
        # Short: the fault tests lock the database; normal turns never wait this long.
        "KOERS_SQLITE_BUSY_TIMEOUT": "3",
        "SANIC_HOST": "127.0.0.1",
        "KOERS_ACTIONS_PORT": str(port),
        "KOERS_ACTIONS_SECRET": ACTIONS_SECRET,
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.action_server"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError("action server exited:\n" + log.read_text())
        try:
            if requests.get(url + "/health", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("action server did not start:\n" + log.read_text())
        time.sleep(0.3)


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def action_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real rasa-sdk action server with Koers' actions, on 127.0.0.1."""
    log = tmp_path_factory.mktemp("logs") / "actions.log"
    proc, url = start_action_server(database_url, tmp_path_factory.mktemp("outbox"), log)
    ACTION_SERVER.update(proc=proc, log=log)
    yield url + "/webhook"
    ACTION_SERVER.clear()
    stop_process(proc)


@pytest.fixture(scope="session")
def event_loop_session() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


class Bot:
    """Talk to the trained Koers model like a user does, one message at a time."""

    def __init__(self, agent, loop: asyncio.AbstractEventLoop) -> None:
        self.agent = agent
        self.loop = loop

    def new_sender(self, prefix: str = "test") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def say(self, sender: str, text: str) -> list[dict]:
        replies = self.loop.run_until_complete(self.agent.handle_text(text, sender_id=sender))
        if not replies:
            _check_action_server()
        return replies

    def texts(self, sender: str, text: str) -> str:
        return "\n".join(m.get("text") or "" for m in self.say(sender, text))

    def parse(self, text: str) -> dict:
        return self.loop.run_until_complete(self.agent.parse_message(text))

    def tracker(self, sender: str):
        return self.loop.run_until_complete(self.agent.tracker_store.retrieve(sender))

    def save_events(self, sender: str, events: list[dict]) -> None:
        """Store a conversation as a tracker store holds it (for example one saved by an
        older Koers), so that the next message continues it."""
        from rasa.shared.core.trackers import DialogueStateTracker

        tracker = DialogueStateTracker.from_dict(sender, events, self.agent.domain.slots)
        self.loop.run_until_complete(self.agent.tracker_store.save(tracker))


@pytest.fixture(scope="session")
def bot(model_path: Path, action_server: str, event_loop_session) -> Bot:
    import tensorflow as tf
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bot import rasa_patches

    rasa_patches.apply()  # as `python -m bot.rasa_server` does before loading the model

    # Graph mode, as `python -m bot.rasa_server` runs: the load traces the graphs once (about
    # 40 s more than eager mode), and a turn then takes about 0.6 of the time (113 ms against
    # 186 ms median; benchmarks/turn_mode.py). The crisis sets send thousands of turns.
    tf.config.run_functions_eagerly(False)
    tf.get_logger().setLevel("ERROR")  # no checkpoint notices when the session ends
    from rasa.shared.core.domain import Domain

    from bot.services import ACTIONS_SECRET_HEADER
    from bot.tracker_store import KoersInMemoryTrackerStore

    endpoint = EndpointConfig(url=action_server, headers={ACTIONS_SECRET_HEADER: ACTIONS_SECRET})
    # Koers's tracker store (in memory here): it reads conversations saved before issue 10.
    store = KoersInMemoryTrackerStore(Domain.empty())
    agent = Agent.load(str(model_path), action_endpoint=endpoint, tracker_store=store)
    return Bot(agent, event_loop_session)


# --- figures printed at the end of every run (NLU score, crisis recall, ...) ----------------

FIGURES: list[str] = []


@pytest.fixture
def figure():
    """Record a measured figure; it is printed in the summary at the end of the run."""
    return FIGURES.append


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("Koers figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
