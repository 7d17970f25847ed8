"""The test suite's agent in TensorFlow's eager mode against graph mode (the server's mode).

    python benchmarks/turn_mode.py [--messages 200] [--model M]

Each mode runs in its own process: the trained model in-process with the real action server
on a temporary SQLite database, as `tests/conftest.py` loads it. It prints the load time (with
the first turn) and the median and mean time of a turn over the main crisis set's first
messages (half crisis, half calm; each a new conversation, as the crisis-set tests send
them), and the number of replies, which must be the same in both modes. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_one(eager: bool, messages: int, model: str) -> dict:
    """Load the model in one mode and time the turns (runs in the child process)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # as tests/conftest.py and the server
    logging.disable(logging.WARNING)
    import tensorflow as tf
    import yaml
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    from bot import rasa_patches
    from bot.safety.evaluate import SETS, in_process_action_server
    from bot.storage.db import upgrade_database

    configure_structlog(logging.WARNING)
    rasa_patches.apply()
    tf.config.run_functions_eagerly(eager)
    workdir = Path(tempfile.mkdtemp(prefix="koers-turn-mode-"))
    url = f"sqlite:///{workdir / 'koers.db'}"
    upgrade_database(url)
    server, endpoint = in_process_action_server(url, workdir)
    try:
        started = time.monotonic()
        agent = Agent.load(model, action_endpoint=endpoint)
        loop = asyncio.new_event_loop()

        def say(sender: str, text: str) -> list[dict]:
            return loop.run_until_complete(agent.handle_text(text, sender_id=sender))

        say("opwarmen", "hoi")
        load = time.monotonic() - started
        data = yaml.safe_load(SETS["main"].read_text("utf-8"))
        half = messages // 2
        texts = [i["text"] for i in data["crisis"][:half] + data["non_crisis"][:half]]
        times, replies = [], 0
        for k, text in enumerate(texts):
            began = time.monotonic()
            replies += len(say(f"meting-{k}", text))
            times.append(time.monotonic() - began)
        return {
            "mode": "eager" if eager else "graph",
            "load_s": round(load, 1),
            "turns": len(times),
            "median_ms": round(statistics.median(times) * 1000, 1),
            "mean_ms": round(statistics.mean(times) * 1000, 1),
            "replies": replies,
        }
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--model", default=None)
    parser.add_argument("--child", choices=["eager", "graph"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child == "eager", args.messages, args.model)))
        return
    from bot.trainer import ensure_model

    model = args.model or str(ensure_model())
    results = []
    for mode in ("eager", "graph"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--messages", str(args.messages)]
            + ["--model", model],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    eager, graph = results
    print(
        f"graph/eager median turn: {graph['median_ms'] / eager['median_ms']:.2f}; "
        f"load +{graph['load_s'] - eager['load_s']:.0f} s; "
        f"same replies: {eager['replies'] == graph['replies']}"
    )


if __name__ == "__main__":
    main()
