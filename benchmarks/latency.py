"""REST turn latency of a running Koers (start it with `make run` first).

    python benchmarks/latency.py [--rounds 10] [--clients 20]

Measures, on the running stack (Rasa + action server + SQLite):
  - a scripted check-in ("hoi", "4", "nee": greeting + disclosure, mood, decline) per client,
    with 1 client and with N concurrent clients, every turn timed;
  - /model/parse for a fixed list of Dutch messages.
Prints medians and p95 in milliseconds and the concurrent/single ratio. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.settings import get_settings

SCRIPT = ["hoi", "4", "nee"]
PARSE_TEXTS = [
    "hoi",
    "4",
    "ja klopt",
    "ik kijk uit naar het weekend",
    "ik snap het niet",
    "wat voor weer wordt het",
    "makkelijker graag",
    "ik ben doodmoe",
    "ik wil stoppen",
    "een eigen huis en werk",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def conversation(base: str, prefix: str) -> list[float]:
    sender = f"bench-{prefix}-{uuid.uuid4().hex[:10]}"
    timings = []
    with requests.Session() as http:
        for text in SCRIPT:
            started = time.perf_counter()
            reply = http.post(
                f"{base}/webhooks/rest/webhook",
                json={"sender": sender, "message": text},
                timeout=60,
            )
            elapsed = (time.perf_counter() - started) * 1000
            reply.raise_for_status()
            if not reply.json():
                raise RuntimeError(f"empty reply for {text!r}")
            timings.append(elapsed)
    return timings


def run_load(base: str, clients: int, rounds: int) -> list[float]:
    timings: list[float] = []
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for _ in range(rounds):
            for result in pool.map(lambda i: conversation(base, f"c{clients}-{i}"), range(clients)):
                timings.extend(result)
    return timings


def parse_latency(base: str, repeats: int) -> list[float]:
    token = os.environ.get("KOERS_RASA_TOKEN")
    params = {"token": token} if token else None
    timings = []
    with requests.Session() as http:
        for _ in range(repeats):
            for text in PARSE_TEXTS:
                started = time.perf_counter()
                http.post(
                    f"{base}/model/parse", json={"text": text}, params=params, timeout=30
                ).raise_for_status()
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def summary(name: str, values: list[float]) -> dict:
    return {
        "name": name,
        "n": len(values),
        "median_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 0.95), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10, help="conversations per client")
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    base = get_settings().rasa_url
    try:
        requests.get(base, timeout=5).raise_for_status()
    except requests.RequestException:
        print(f"Koers is not running at {base}. Start it with `make run` first.")
        return 1
    conversation(base, "warmup")
    single = summary("turn, 1 client", run_load(base, 1, args.rounds * 2))
    many = summary(
        f"turn, {args.clients} concurrent clients",
        run_load(base, args.clients, max(1, args.rounds // 2)),
    )
    rows = [single, many]
    token = os.environ.get("KOERS_RASA_TOKEN")
    probe = requests.post(
        f"{base}/model/parse",
        json={"text": "hoi"},
        params={"token": token} if token else None,
        timeout=30,
    )
    if probe.status_code == 200:
        rows.append(summary("/model/parse", parse_latency(base, 20)))
    else:  # Rasa's HTTP API is off by default (KOERS_RASA_API=true and a token turn it on)
        print("/model/parse skipped: Rasa's HTTP API is off (KOERS_RASA_API, KOERS_RASA_TOKEN).")
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"{'measure':38} {'n':>5} {'median ms':>10} {'p95 ms':>8}")
    for row in rows:
        print(f"{row['name']:38} {row['n']:>5} {row['median_ms']:>10} {row['p95_ms']:>8}")
    print(
        f"ratio median {args.clients} clients / 1 client: {many['median_ms'] / single['median_ms']:.1f}x"
    )
    out = get_settings().var_dir / "benchmarks" / "latency.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
