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


class Occupancy:
    """How many clients are in a conversation on each instance, now and over time."""

    def __init__(self, instances: int) -> None:
        self.lock = threading.Lock()
        self.active = [0] * instances

    def enter(self, index: int) -> None:
        with self.lock:
            self.active[index] += 1

    def leave(self, index: int) -> None:
        with self.lock:
            self.active[index] -= 1

    def on(self, index: int) -> int:
        with self.lock:
            return self.active[index]


def koers_conversation(urls: list[str], occupancy: Occupancy | None = None) -> list[float]:
    return [ms for ms, _phase, _index, _load in koers_turns(urls, occupancy)]


def new_sender() -> str:
    return "bench-" + uuid.uuid4().hex[:10]


def client_senders(clients: int, urls: list[str], mode: str) -> list[str | None]:
    """The sender id of each concurrent client: None for a new one at every check-in
    ("fresh"), or one fixed id per client for the whole run, as the web app gives each client
    its own chat id ("persons": drawn at random; "even": drawn until each instance has its
    share of the clients)."""
    if mode == "fresh":
        return [None] * clients
    if mode == "persons" or len(urls) == 1:
        return [new_sender() for _ in range(clients)]
    senders: list[str | None] = []
    for i in range(clients):
        wanted = urls[i % len(urls)]
        sender = new_sender()
        while instance_order(sender, urls)[0] != wanted:
            sender = new_sender()
        senders.append(sender)
    return senders


def koers_turns(
    urls: list[str], occupancy: Occupancy | None = None, sender: str | None = None
) -> list[tuple[float, str, int, int]]:
    """One check-in: (ms, phase, instance index, clients on that instance) for every turn."""
    sender = sender or new_sender()
    url = instance_order(sender, urls)[0]  # the client's own instance, as the web app routes
    index = urls.index(url)
    loads: list[int] = []

    class Counted(RestTransport):
        def send(self, message: str) -> list[dict]:
            loads.append(occupancy.on(index) if occupancy is not None else 0)
            return super().send(message)

    transport = Counted(url, sender)
    if occupancy is not None:
        occupancy.enter(index)
    try:
        result = CheckinClient(transport).run()
    finally:
        if occupancy is not None:
            occupancy.leave(index)
        transport.close()
    if not result.saved:
        raise RuntimeError("the check-in did not finish")
    return [(t.ms, t.phase, index, load) for t, load in zip(result.turns, loads, strict=True)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children that were waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine so far (all cores; /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def cpu_by_process(running: Running) -> dict[str, float]:
    """CPU seconds used so far by each process of the variant (PostgreSQL's backends
    summed), and by this benchmark process (the clients)."""
    used: dict[str, float] = {
        "machine": machine_cpu_seconds(),
        "clients": cpu_seconds(os.getpid()),
    }
    for name, pid in running.pids().items():
        key = name.split("-")[0] if name.startswith("postgres") else name
        used[key] = used.get(key, 0.0) + cpu_seconds(pid)
    return used


def breakdown(turns: list[tuple[float, str, int, int]]) -> dict:
    """The concurrent turns by phase, by instance and by the clients on their instance: n,
    median and p95 of each group, and each group's share of the slowest 5 % of all turns."""
    if not turns:
        return {}
    cut = percentile([t[0] for t in turns], 0.95)

    def groups(key) -> dict:
        grouped: dict = {}
        for turn in turns:
            grouped.setdefault(key(turn), []).append(turn[0])
        return {
            str(k): {
                "n": len(v),
                "median_ms": round(statistics.median(v), 1),
                "p95_ms": round(percentile(v, 0.95), 1),
                "share_of_slowest_5pct": round(sum(ms >= cut for ms in v) / len(v), 3),
            }
            for k, v in sorted(grouped.items())
        }

    return {
        "p95_cut_ms": round(cut, 1),
        "by_phase": groups(lambda t: t[1]),
        "by_instance": groups(lambda t: t[2]),
        "by_clients_on_instance": groups(lambda t: t[3]),
    }


def measure(
    running: Running,
    rounds: int,
    clients: int,
    seconds: float,
    profile: str | None,
    sender_mode: str = "fresh",
) -> dict:
    stock = running.name == "stock"
    conversation = (
        (lambda: stock_conversation(running.rasa_urls[0]))
        if stock
        else (lambda: koers_conversation(running.rasa_urls))
    )
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    for _ in range(2):
        conversation()  # warm-up
    single: list[float] = []
    single_detailed: list[tuple[float, str, int, int]] = []
    single_errors: Counter[str] = Counter()
    wanted = rounds * (3 if stock else 1)
    done = 0
    while done < wanted and sum(single_errors.values()) <= wanted:
        try:
            if stock:
                single += conversation()
            else:
                turns = koers_turns(running.rasa_urls)
                single += [t[0] for t in turns]
                single_detailed.extend(turns)
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
    detailed: list[tuple[float, str, int, int]] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    occupancy = Occupancy(len(running.rasa_urls))
    split: Counter[str] = Counter()  # sampled clients on each instance (sorted, busiest first)

    senders = client_senders(clients, running.rasa_urls, sender_mode)

    def worker(client: int) -> None:
        while time.monotonic() < stop_at:
            try:
                if stock:
                    timings = conversation()
                else:
                    turns = koers_turns(running.rasa_urls, occupancy, senders[client])
                    timings = [t[0] for t in turns]
            except Exception as error:  # counted and reported
                with lock:
                    errors[type(error).__name__] += 1
                continue
            with lock:
                many.extend(timings)
                if not stock:
                    detailed.extend(turns)

    def sampler() -> None:
        while time.monotonic() < stop_at:
            with occupancy.lock:
                split["/".join(str(n) for n in sorted(occupancy.active, reverse=True))] += 1
            time.sleep(0.25)

    profilers: dict[str, subprocess.Popen] = {}
    if profile:
        OUT.mkdir(parents=True, exist_ok=True)
        processes = running.pids()
        targets = [n for n in ("rasa", "rasa-1") if n in processes][:1]
        if profile == "all":
            targets += [n for n in ("rasa-2", "actions") if n in processes]
        for name in targets:
            profilers[name] = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(processes[name]),
                    "-d",
                    str(int(seconds * 0.8)),
                    "-r",
                    "50",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "--idle",
                    "-o",
                    str(OUT / f"profile-{running.name}-{name}.raw"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    cpu_before = cpu_by_process(running)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=clients + 1) as pool:
        sampling = pool.submit(sampler) if len(running.rasa_urls) > 1 else None
        list(pool.map(worker, range(clients)))
        if sampling is not None:
            sampling.result()
    elapsed = time.monotonic() - started
    cpu_after = cpu_by_process(running)
    cpu_share = {  # cores used on average during the concurrent load
        name: round((cpu_after.get(name, 0.0) - used) / elapsed, 2)
        for name, used in cpu_before.items()
    }
    # Whatever else ran on the machine meanwhile (another engineer's job): not this benchmark.
    cpu_share["other"] = round(
        cpu_share["machine"] - sum(v for k, v in cpu_share.items() if k != "machine"), 2
    )
    for name, profiler in profilers.items():
        profiler.wait(timeout=120)
        raw = OUT / f"profile-{running.name}-{name}.raw"
        summarise_profile(raw, raw.with_suffix(".txt"))
    median_single = statistics.median(single)
    median_parse = statistics.median(parse)
    return {
        "variant": running.name,
        "load_avg_at_start": load_at_start,
        "single_n": len(single),
        "single_errors": dict(single_errors),
        "single_median_ms": round(median_single, 1),
        "single_p95_ms": round(percentile(single, 0.95), 1),
        "parse_median_ms": round(median_parse, 1),
        "turn_over_parse": round(median_single / median_parse, 2),
        "concurrent_clients": clients,
        "senders": sender_mode,
        "concurrent_turns": len(many),
        "concurrent_turns_per_s": round(len(many) / elapsed, 1),
        "concurrent_median_ms": round(statistics.median(many), 1) if many else None,
        "concurrent_p95_ms": round(percentile(many, 0.95), 1) if many else None,
        "errors": dict(errors),
        "memory_mb": running.memory(),
        "split": dict(split.most_common()),
        "cores_used": cpu_share,
        "breakdown": breakdown(detailed),
        "single_by_phase": breakdown(single_detailed).get("by_phase", {}),
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
    parser.add_argument(
        "--senders",
        choices=("fresh", "persons", "even"),
        default="fresh",
        help="concurrent clients: a new sender id per check-in, or one id per client "
        "(random, or drawn so that every instance gets its share)",
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="rasa",
        choices=("rasa", "all"),
        help="py-spy profile of the (first) Rasa, or of every Rasa and the action server",
    )
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
                result = measure(
                    running, args.rounds, args.clients, args.seconds, args.profile, args.senders
                )
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
    for r in results:
        if r.get("breakdown"):
            print(f"\n{r['variant']}: 20-client turns by phase, instance, clients on the instance")
            print(f"  split of clients over instances (samples): {r['split']}")
            print(f"  cores used during the load: {r['cores_used']}")
            for title, rows in (
                ("1 client", r["single_by_phase"]),
                ("phase", r["breakdown"]["by_phase"]),
                ("instance", r["breakdown"]["by_instance"]),
                ("clients", r["breakdown"]["by_clients_on_instance"]),
            ):
                for key, row in rows.items():
                    print(
                        f"  {title:8} {key:12} n={row['n']:<5} median {row['median_ms']:>7} "
                        f"p95 {row['p95_ms']:>7}  in slowest 5 %: "
                        f"{100 * row['share_of_slowest_5pct']:.1f} %"
                    )
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latency.json").write_text(json.dumps(results, indent=2))
    print(f"Written to {OUT / 'latency.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
