"""The supervisor (bot/serve.py): a child that stops is started again with back-off, and a
supervisor that is killed leaves no orphans. Real processes; the Rasa stack itself is
exercised in tests/test_load_faults.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.serve import BACKOFF_MAX, STABLE_AFTER, ChildSpec, Supervisor

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _spec(tmp_path: Path, code: str, name: str = "Het kind") -> ChildSpec:
    return ChildSpec(
        name=name,
        cmd=[sys.executable, "-c", code],
        env=dict(os.environ),
        log=tmp_path / f"{name}.log",
        health_url="http://127.0.0.1:9/",  # nothing listens: never "running again"
        ready_timeout=5,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_crashing_child_is_restarted_with_growing_back_off(tmp_path):
    clock = Clock()
    lines: list[str] = []
    spec = _spec(tmp_path, "import sys; sys.exit(3)")
    supervisor = Supervisor([spec.spawn()], out=lines.append, clock=clock)
    child = supervisor.children[0]
    delays = []
    try:
        for _ in range(8):
            child.proc.wait(timeout=10)
            supervisor.check()  # notices the exit, schedules the restart
            assert child.restart_at is not None
            delays.append(child.restart_at - clock.now)
            clock.now = child.restart_at - 0.01
            supervisor.check()
            assert child.restart_at is not None, "not before the back-off has passed"
            clock.now = child.restart_at
            old_pid = child.proc.pid
            supervisor.check()  # starts it again
            assert child.restart_at is None and child.proc.pid != old_pid
        assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
        assert child.restarts == 8
        assert "stopped (exit code 3)" in lines[0] and "again in 1 s" in lines[0]
    finally:
        supervisor.stop()


def test_the_back_off_starts_over_after_a_long_run(tmp_path):
    clock = Clock()
    spec = _spec(tmp_path, "import sys; sys.exit(1)")
    supervisor = Supervisor([spec.spawn()], out=lambda _: None, clock=clock)
    child = supervisor.children[0]
    child.failures = 5  # it crashed quickly five times before
    try:
        child.proc.wait(timeout=10)
        clock.now += STABLE_AFTER + 1  # ... but this time it had run for over a minute
        supervisor.check()
        assert child.restart_at - clock.now == 1
        assert BACKOFF_MAX == 60
    finally:
        supervisor.stop()


def test_a_running_child_is_left_alone_and_stopped_at_the_end(tmp_path):
    spec = _spec(tmp_path, "import time; time.sleep(120)")
    supervisor = Supervisor([spec.spawn()], out=lambda _: None)
    pid = supervisor.children[0].proc.pid
    supervisor.check()
    assert supervisor.children[0].restart_at is None and _alive(pid)
    supervisor.stop()
    assert not _alive(pid)


def test_a_killed_supervisor_leaves_no_orphans(tmp_path):
    """A process that starts children the way bot.serve does, then is killed with SIGKILL
    (no chance to clean up): its children go with it."""
    pids_file = tmp_path / "pids"
    script = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from pathlib import Path
        from bot.serve import ChildSpec
        specs = [
            ChildSpec("kind", [sys.executable, "-c", "import time; time.sleep(300)"],
                      {{}}, Path({str(tmp_path)!r}) / f"kind{{i}}.log", "http://127.0.0.1:9/", 5)
            for i in range(3)
        ]
        procs = [spec.spawn() for spec in specs]
        Path({str(pids_file)!r}).write_text(" ".join(str(p.pid) for p in procs))
        time.sleep(300)
        """
    )
    supervisor = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while not pids_file.exists() or len(pids_file.read_text().split()) < 3:
        assert time.monotonic() < deadline, "the children did not start"
        time.sleep(0.1)
    children = [int(p) for p in pids_file.read_text().split()]
    assert all(_alive(pid) for pid in children)
    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children):
        assert time.monotonic() < deadline, f"orphans left: {[p for p in children if _alive(p)]}"
        time.sleep(0.1)
