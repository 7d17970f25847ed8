"""The short version of the load and fault suite (benchmarks/load.py; issue 13).

One real scaled stack, started as `make run-scaled` does: the supervisor (`python -m
bot.serve`) with 2 Rasa instances, the action server and the web app, a second web process,
throw-away PostgreSQL and Redis. Clients go through the web chat and follow Koers' buttons
through a full check-in; their requests alternate between the two web processes.

- 50 concurrent clients: every client that got "bewaard" has exactly one reflection with its
  answers, nobody has two check-ins, no empty reply, no 5xx.
- Faults in the middle of conversations (the action server killed, one Rasa instance
  killed, PostgreSQL and Redis briefly stopped): clients only ever see a calm message, go on
  by sending the same thing again, and nothing is lost or saved twice.
- The supervisor restarted what was killed; killed itself, it leaves no process behind.
Turn times are printed as figures, never asserted.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from benchmarks.load import CALM, FAULTS, audit, run_clients, scenario_fault
from benchmarks.stack import alive, remove, temporary_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(model_path):
    stack = temporary_stack(instances=2, web_processes=2, scaled=True, model=model_path)
    stack.start()
    yield stack
    stack.stop()
    remove(stack)


def test_fifty_concurrent_clients_through_the_web_chat(stack, figure):
    people = stack.new_clients(50, "load")
    run = run_clients(stack, people, concurrency=50)
    found = audit(stack, people, run)
    summary = run.summary()
    figure(
        f"50 concurrent web-chat clients, 2 Rasa instances: {summary['turns_per_s']} turns/s, "
        f"median {summary['median_ms']} ms, p95 {summary['p95_ms']} ms ({summary['turns']} turns)"
    )
    assert run.gave_up == {}
    assert len(run.saved) == 50, "every client got 'bewaard'"
    assert found["lost"] == [] and found["duplicated"] == [] and found["answers_missing"] == []
    assert run.failures == [], "no empty reply, no 5xx, nothing to retry"


@pytest.mark.parametrize("fault", FAULTS)
def test_a_fault_mid_conversation_loses_nothing(stack, fault, figure):
    result = scenario_fault(stack, fault, clients=6)
    found = result["audit"]
    figure(
        f"fault '{fault}': {result['failed_tries']} calm retries, longest wait "
        f"{result['longest_wait_s']} s, {result['saved']}/6 saved"
    )
    assert result["gave_up"] == 0, result["gave_up_because"]
    assert result["saved"] == 6
    assert found["lost"] == [] and found["duplicated"] == [] and found["answers_missing"] == []
    assert found["http_500"] == 0 and found["not_calm"] == []
    assert all(any(c in kind for c in CALM) for kind in result["failures_by_kind"])


def test_the_supervisor_restarted_what_was_killed_and_leaves_no_orphans(stack):
    log = (stack.directory / "serve.log").read_text()
    assert "The action server stopped (exit code -9)" in log
    assert "The action server is running again" in log
    assert "Rasa 1 stopped (exit code -9)" in log and "Rasa 1 is running again" in log
    children = stack.children()
    assert set(children) == {"actions", "rasa-1", "rasa-2", "web"}
    assert stack.supervisor is not None
    os.kill(stack.supervisor.pid, signal.SIGKILL)
    stack.supervisor.wait()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in children.values()):
        left = {name: pid for name, pid in children.items() if alive(pid)}
        assert time.monotonic() < deadline, f"orphans: {left}"
        time.sleep(0.2)
