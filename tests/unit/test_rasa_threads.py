"""Rasa's process runs the safety net's e5 engine on one OpenMP thread (bot.rasa_server).

scikit-learn loads the vendored libgomp before the e5 engine does, so the engine's own
OMP_NUM_THREADS=1 came too late and every embedding used a spinning worker per core: with
two Rasa instances on two cores, 83 % of Rasa's time went to those spins.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.rasa_server import one_thread_per_library
from bot.settings import PROJECT_ROOT

# What Rasa's process does, in its order: Koers' start-up, then Rasa (which imports
# scikit-learn), then the model's safety component loads the e5 engine and embeds.
PROBE = """
import os, sys
if sys.argv[1] == "koers":
    from bot.rasa_server import one_thread_per_library
    one_thread_per_library(os.environ)
import sklearn.linear_model  # noqa: F401  (Rasa imports it before the model loads)
from bot.safety.embedder import get_embedder
get_embedder().embed_one("ik heb vandaag mijn zus gebeld")
print(len(os.listdir("/proc/self/task")))
"""


def _threads(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def test_the_setting_is_a_default_an_operator_can_change() -> None:
    environ: dict[str, str] = {}
    one_thread_per_library(environ)
    assert environ == {"OMP_NUM_THREADS": "1"}
    chosen = {"OMP_NUM_THREADS": "2"}
    one_thread_per_library(chosen)
    assert chosen == {"OMP_NUM_THREADS": "2"}


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: OpenMP starts one thread anyway")
def test_rasa_start_up_keeps_the_e5_engine_on_one_thread() -> None:
    # Without Koers' start-up the engine starts a worker per core (the bug); with it, none.
    assert _threads("plain") > 1
    assert _threads("koers") == 1
