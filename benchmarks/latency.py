"""Turn latency of Koers against stock Rasa, measured side by side in one run (`make benchmark`).

    .venv/bin/python benchmarks/latency.py [--rounds 8] [--clients 20] [--seconds 40]
        [--variants stock,before,after,after-2] [--before REV] [--profile]

Variants, each started fresh on free ports, measured one after the other on this machine:
  stock    the stock `rasa init` assistant (a throw-away folder outside the repository,
           trained here; in-memory tracker store, no action server), scripted "hello",
           "I am sad", "yes", "bye";
  before   Koers at git revision REV (default: where this branch left main), as `make run`
           started it then (SQLite, one Rasa), with the same trained model;
  after    Koers now, as `make run` starts it (SQLite, one Rasa, the start-up patches);
  after-2  Koers now with 2 Rasa instances on PostgreSQL + Redis (`make run-scaled`); each
           client is sent to its own instance as the web app does.
Koers' clients follow the buttons through a full check-in (benchmarks/checkin.py) over
Rasa's REST channel. For each variant: 1 client (median, p95 of every turn), /model/parse
(median), their ratio, and N concurrent clients for a fixed time (turns/s, median, p95);
then the resident memory of every process. `--profile` also records a py-spy profile of
(the first) Rasa during the concurrent load: var/benchmarks/profile-<variant>.txt.
Results: printed, and var/benchmarks/latency.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.checkin import CheckinClient, RestTransport  # noqa: E402
from benchmarks.stack import (  # noqa: E402
    RASA_TOKEN,
    Stack,
    children_of,
    free_port,
    remove,
    rss_mb,
    temporary_stack,
)
from bot.serve import _die_with_parent  # noqa: E402
from bot.trainer import quiet_env  # noqa: E402
from bot.web.routing import instance_order  # noqa: E402

OUT = ROOT / "var" / "benchmarks"
STOCK_SCRIPT = ["hello", "I am sad", "yes", "bye"]
PARSE_TEXTS = ["hoi", "4", "ja klopt", "ik heb vandaag mijn zus gebeld", "ik snap het niet"]
STOCK_PARSE = ["hello", "I am sad", "yes", "bye", "great"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- the systems under test ---------------------------------------------------------------------


class Running:
    """A started variant: its Rasa URLs, its processes, and how to stop it."""

    def __init__(self, name: str, rasa_urls: list[str], stop, pids) -> None:
        self.name = name
        self.rasa_urls = rasa_urls
        self.stop = stop
        self.pids = pids  # () -> {name: pid}

    def memory(self) -> dict[str, float]:
        return {name: round(rss_mb(pid), 1) for name, pid in self.pids().items()}


def _wait(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"stopped while starting: {url}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"did not start: {url}")


def start_stock(work: Path) -> Running:
    project = work / "stock-rasa-init"
    project.mkdir()
    print("  rasa init --no-prompt (trains the stock assistant)...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(project)],
        cwd=work,
        env=quiet_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port)],
        cwd=project,
        env=quiet_env(),
        stdout=(work / "stock.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent(os.getpid()),
    )
    url = f"http://127.0.0.1:{port}"
    _wait(url + "/", proc)

    def stop() -> None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    return Running("stock", [url], stop, lambda: {"rasa": proc.pid})


_BEFORE_SCRIPT = """
import dataclasses, json, signal, socket, sys, time
from pathlib import Path
sys.path.insert(0, ".")
from bot.serve import start_stack, stop
from bot.settings import get_settings
from bot.storage.db import upgrade_database
def fp():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]
tmp = Path(sys.argv[1]); model = Path(sys.argv[2])
url = f"sqlite:///{tmp / 'koers.db'}"
upgrade_database(url)
s = dataclasses.replace(get_settings(), database_url=url, rasa_port=fp(), actions_port=fp(),
                        tracker_db=tmp / "tracker.db", var_dir=tmp)
procs = start_stack(s, model, tmp / "log")
(tmp / "info.json").write_text(json.dumps({"rasa": s.rasa_url, "pids": [p.pid for p in procs]}))
signal.signal(signal.SIGTERM, lambda *a: (stop(procs), sys.exit(0)))
while True:
    time.sleep(1)
"""


def start_before(work: Path, rev: str, model: Path) -> Running:
    checkout = work / f"koers-{rev[:10]}"
    checkout.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive.stdout, check=True)
    (checkout / "build").mkdir(exist_ok=True)
    (checkout / "build" / "spacy-nl").symlink_to(ROOT / "build" / "spacy-nl")
    state = work / "before-state"
    state.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-c", _BEFORE_SCRIPT, str(state), str(model)],
        cwd=checkout,
        env={
            **quiet_env(),
            "KOERS_ENV_FILE": str(work / "no.env"),
            # Koers's Rasa API is off since issue 11; on with a token for /model/parse.
            "KOERS_RASA_API": "true",
            "KOERS_RASA_TOKEN": RASA_TOKEN,
        },
        stdout=(work / "before.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent(os.getpid()),
    )
    deadline = time.monotonic() + 600
    while not (state / "info.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                "Koers before did not start:\n" + (work / "before.log").read_text()[-2000:]
            )
        time.sleep(1)
    info = json.loads((state / "info.json").read_text())

    def stop() -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()

    def pids() -> dict[str, int]:
        named = {}
        for pid in info["pids"]:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            actions = "rasa_sdk" in cmd or "action_server" in cmd
            named["actions" if actions else "rasa"] = pid
        return named

    return Running("before", [info["rasa"]], stop, pids)


def start_after(instances: int) -> tuple[Running, Stack]:
    stack = temporary_stack(instances=instances, scaled=instances > 1, rasa_api=True)
    stack.start()

    def stop() -> None:
        stack.stop()
        remove(stack)

    def pids() -> dict[str, int]:
        named = dict(stack.children())
        if stack.services is not None:
            for name, proc in (
                ("postgres", stack.services.postgres.proc),
                ("redis", stack.services.redis.proc),
            ):
                if proc is not None:
                    named[name] = proc.pid
                    for i, child in enumerate(children_of(proc.pid)):
                        named[f"{name}-{i + 1}"] = child
        return named

    return Running(
        "after" if instances == 1 else f"after-{instances}", stack.rasa_urls, stop, pids
    ), stack


# --- the measurements ---------------------------------------------------------------------------


def stock_conversation(url: str) -> list[float]:
    transport = RestTransport(url, "stock-" + uuid.uuid4().hex[:10])
    timings = []
    for text in STOCK_SCRIPT:
        started = time.perf_counter()
        transport.send(text)
        timings.append((time.perf_counter() - started) * 1000)
    transport.close()
    return timings


def koers_conversation(urls: list[str]) -> list[float]:
    sender = "bench-" + uuid.uuid4().hex[:10]
    url = instance_order(sender, urls)[0]  # the client's own instance, as the web app routes
    transport = RestTransport(url, sender)
    result = CheckinClient(transport).run()
    transport.close()
    if not result.saved:
        raise RuntimeError("the check-in did not finish")
    return result.timings


def measure(running: Running, rounds: int, clients: int, seconds: float, profile: bool) -> dict:
    stock = running.name == "stock"
    conversation = (
        (lambda: stock_conversation(running.rasa_urls[0]))
        if stock
        else (lambda: koers_conversation(running.rasa_urls))
    )
    for _ in range(2):
        conversation()  # warm-up
    single: list[float] = []
    single_errors: Counter[str] = Counter()
    wanted = rounds * (3 if stock else 1)
    done = 0
    while done < wanted and sum(single_errors.values()) <= wanted:
        try:
            single += conversation()
            done += 1
        except Exception as error:  # counted and reported; another check-in is done instead
            single_errors[f"{type(error).__name__}: {str(error)[:80]}"] += 1
    parse: list[float] = []
    with requests.Session() as http:
        for i in range(100):
            text = (STOCK_PARSE if stock else PARSE_TEXTS)[i % 5]
            started = time.perf_counter()
            http.post(
                f"{running.rasa_urls[0]}/model/parse",
                json={"text": text},
                params={"token": RASA_TOKEN},  # ignored by stock Rasa (no token set)
                timeout=30,
            ).raise_for_status()
            parse.append((time.perf_counter() - started) * 1000)
    many: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(_: int) -> None:
        while time.monotonic() < stop_at:
            try:
                timings = conversation()
            except Exception as error:  # counted and reported
                with lock:
                    errors[type(error).__name__] += 1
                continue
            with lock:
                many.extend(timings)

    profiler = None
    if profile:
        pid = running.pids().get("rasa") or running.pids().get("rasa-1")
        OUT.mkdir(parents=True, exist_ok=True)
        profiler = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "-d",
                str(int(seconds * 0.8)),
                "-r",
                "50",
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(OUT / f"profile-{running.name}.raw"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(worker, range(clients)))
    elapsed = time.monotonic() - started
    if profiler is not None:
        profiler.wait(timeout=120)
        summarise_profile(OUT / f"profile-{running.name}.raw", OUT / f"profile-{running.name}.txt")
    median_single = statistics.median(single)
    median_parse = statistics.median(parse)
    return {
        "variant": running.name,
        "single_n": len(single),
        "single_errors": dict(single_errors),
        "single_median_ms": round(median_single, 1),
        "single_p95_ms": round(percentile(single, 0.95), 1),
        "parse_median_ms": round(median_parse, 1),
        "turn_over_parse": round(median_single / median_parse, 2),
        "concurrent_clients": clients,
        "concurrent_turns": len(many),
        "concurrent_turns_per_s": round(len(many) / elapsed, 1),
        "concurrent_median_ms": round(statistics.median(many), 1) if many else None,
        "concurrent_p95_ms": round(percentile(many, 0.95), 1) if many else None,
        "errors": dict(errors),
        "memory_mb": running.memory(),
    }


def summarise_profile(raw: Path, out: Path, top: int = 60) -> None:
    """Inclusive share of every function in py-spy's collapsed stacks."""
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        for frame in {re.sub(r":\d+\)", ")", f) for f in stack.split(";")}:
            inclusive[frame] += n
    lines = [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    out.write_text(f"{total} samples\n" + "\n".join(lines) + "\n")


def default_before() -> str:
    for ref in ("main", "origin/main"):
        found = subprocess.run(
            ["git", "merge-base", "HEAD", ref], cwd=ROOT, capture_output=True, text=True
        )
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    raise SystemExit("give --before REV")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8, help="check-ins for the 1-client figure")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--variants", default="stock,before,after,after-2")
    parser.add_argument("--before", default=None, help="git revision of 'before'")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from bot.trainer import ensure_model

    model = ensure_model()
    before = args.before or default_before()
    work = Path(tempfile.mkdtemp(prefix="koers-latency-"))
    results = []
    try:
        for variant in args.variants.split(","):
            print(f"Starting {variant} ...", flush=True)
            if variant == "stock":
                running = start_stock(work)
            elif variant == "before":
                running = start_before(work, before, model)
            elif variant.startswith("after"):
                running, _ = start_after(int(variant.split("-")[1]) if "-" in variant else 1)
            else:
                raise SystemExit(f"unknown variant {variant}")
            try:
                result = measure(running, args.rounds, args.clients, args.seconds, args.profile)
            finally:
                running.stop()
            if variant == "before":
                result["revision"] = before
            results.append(result)
            print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nMachine: {os.cpu_count()} CPUs; one run, variants one after the other.")
    print(
        f"{'variant':9} {'1 client med/p95 ms':>20} {'parse ms':>9} {'ratio':>6} "
        f"{args.clients} clients: {'turns/s':>8} {'med/p95 ms':>14}"
    )
    for r in results:
        print(
            f"{r['variant']:9} {r['single_median_ms']:>10}/{r['single_p95_ms']:<9} "
            f"{r['parse_median_ms']:>9} {r['turn_over_parse']:>6} "
            f"{'':>12}{r['concurrent_turns_per_s']:>8} "
            f"{r['concurrent_median_ms']}/{r['concurrent_p95_ms']}"
        )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latency.json").write_text(json.dumps(results, indent=2))
    print(f"Written to {OUT / 'latency.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
