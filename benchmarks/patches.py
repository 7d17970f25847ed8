"""What each of Koers' Rasa patches saves, measured one after another in one run.

    .venv/bin/python benchmarks/patches.py [--checkins 6]

For each cumulative set of patches (none; + validator; + form_prefetch; ...), a fresh
process loads the trained model into a Rasa `Agent` with those patches applied before loading
(as `python -m bot.rasa_server` does), with the real action server and SQL tracker store
on SQLite, and runs scripted check-ins in-process. Reported per set: Rasa's CPU time per turn
(the process's own CPU: noise from other programs on the machine hardly moves it), the wall
time per turn, and the action-server calls per check-in. Results: var/benchmarks/patches.json.
Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "benchmarks"

ORDER = [
    "validator",
    "form_prefetch",
    "rules_decide",
    "rule_lookup",
    "past_states",
    "debug_formatting",
    "event_types",
    "http_session",
    "domain_digest",
    "sqlite_tracker",
    "tracker_cache",
]

CHILD = r"""
import asyncio, json, logging, os, socket, subprocess, sys, tempfile, time, uuid
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import requests
from bot import rasa_patches
from bot.storage.db import upgrade_database
names = [n for n in sys.argv[2].split(",") if n]
checkins = int(sys.argv[3])
if names:
    rasa_patches.apply(names)
tmp = Path(tempfile.mkdtemp(prefix="koers-patches-"))
url = f"sqlite:///{tmp / 'koers.db'}"
upgrade_database(url)
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
secret = uuid.uuid4().hex * 2
env = {**os.environ, "KOERS_DATABASE_URL": url, "SANIC_HOST": "127.0.0.1",
       "KOERS_OUTBOX_DIR": str(tmp / "outbox"), "KOERS_ACTIONS_PORT": str(port),
       "KOERS_ACTIONS_SECRET": secret, "KOERS_VAR_DIR": str(tmp)}
actions = subprocess.Popen([sys.executable, "-m", "bot.action_server"], cwd=sys.argv[1],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
try:
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.3)
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog
    configure_structlog(logging.INFO)
    logging.getLogger("rasa").setLevel(logging.INFO)
    from bot.trainer import ensure_model
    loop = asyncio.new_event_loop(); asyncio.set_event_loop(loop)
    from bot.services import ACTIONS_SECRET_HEADER
    from bot.tracker_store import KoersSQLTrackerStore
    endpoint = EndpointConfig(url=f"http://127.0.0.1:{port}/webhook",
                              headers={ACTIONS_SECRET_HEADER: secret})
    agent = Agent.load(str(ensure_model(verbose=False)), action_endpoint=endpoint)
    store = KoersSQLTrackerStore(agent.domain, db=str(tmp / "tracker.db"))
    agent.tracker_store = agent.processor.tracker_store = store
    calls = {"n": 0}
    from rasa.utils.endpoints import EndpointConfig as EC
    original = EC.request
    async def counting(self, *a, **k):
        calls["n"] += 1
        return await original(self, *a, **k)
    EC.request = counting
    from benchmarks.checkin import CheckinClient
    cpu, wall = [], []
    class T:
        def __init__(self, sender): self.sender = sender
        def send(self, text):
            c0, w0 = time.process_time(), time.perf_counter()
            reply = loop.run_until_complete(agent.handle_text(text, sender_id=self.sender))
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            return reply
        def start(self): return self.send("/groet")
        def press(self, b): return self.send(b["payload"])
        def type(self, t): return self.send(t)
    for _ in range(2):
        CheckinClient(T("warm-" + uuid.uuid4().hex[:8])).run()
    cpu.clear(); wall.clear(); calls["n"] = 0
    for _ in range(checkins):
        assert CheckinClient(T("p-" + uuid.uuid4().hex[:8])).run().saved
    print(json.dumps({"cpu": cpu, "wall": wall, "calls": calls["n"] / checkins}))
finally:
    actions.terminate()
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkins", type=int, default=6)
    args = parser.parse_args()
    results = []
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONWARNINGS": "ignore",
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    for count in range(len(ORDER) + 1):
        names = ORDER[:count]
        label = "none" if not names else "+ " + names[-1]
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(ROOT), ",".join(names), str(args.checkins)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        line = next((x for x in reversed(done.stdout.splitlines()) if x.startswith("{")), None)
        if line is None:
            print(done.stdout[-2000:], done.stderr[-3000:])
            raise SystemExit(f"{label} failed")
        data = json.loads(line)
        row = {
            "patches": label,
            "cpu_ms_per_turn": round(statistics.median(data["cpu"]), 1),
            "wall_ms_per_turn": round(statistics.median(data["wall"]), 1),
            "action_calls_per_checkin": round(data["calls"], 1),
        }
        results.append(row)
        print(json.dumps(row), flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "patches.json").write_text(json.dumps(results, indent=2))
    print(
        f"{'patches (cumulative)':24} {'CPU ms/turn':>12} {'wall ms/turn':>13} {'calls/check-in':>15}"
    )
    for row in results:
        print(
            f"{row['patches']:24} {row['cpu_ms_per_turn']:>12} {row['wall_ms_per_turn']:>13} "
            f"{row['action_calls_per_checkin']:>15}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
