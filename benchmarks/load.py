"""The load and fault suite (issue 13): `make benchmark-load`.

    .venv/bin/python benchmarks/load.py [--clients 50] [--fault-clients 12] [--turns 400]
                                        [--only load,faults,long,memory]

Everything goes through the web chat, as a phone does: each client logs in with an access
code and does a full check-in by following Koers' own buttons (benchmarks/checkin.py).

1. load: a scaled stack (2 Rasa instances, 2 web processes, PostgreSQL + Redis; each
   client's requests alternate between the web processes) and 50 concurrent clients. Reports
   turns/s, median and p95, and audits the database: every client that got "bewaard" has
   exactly one reflection with its answers, nobody has two check-ins; no empty reply, no 5xx.
2. faults: on the same stack, clients in the middle of their check-ins while the action
   server is killed, one Rasa instance is killed (the supervisor restarts it), PostgreSQL is
   stopped for a few seconds, Redis is stopped for a few seconds. A client that gets an error
   waits and sends the same thing again ("probeer het zo nog een keer"). Reports what each
   fault did: the messages clients saw, the longest wait, and the same audit.
3. long: one client, 400 turns (a check-in after a check-in, each opened by the chat), on the
   `make run` stack (SQLite, 1 instance). Latency at turn 400 vs turn 10.
4. memory: RSS of every process at 1 and at 2 Rasa instances.

Results are printed and written to var/benchmarks/load.json. Not a test: the short version is
tests/test_load_faults.py.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.checkin import ANSWERS, CheckinClient, WebTransport  # noqa: E402
from benchmarks.stack import Stack, remove, temporary_stack  # noqa: E402

CALM = ("niet bereikbaar", "te langzaam", "geen antwoord", "Even wachten")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else 0.0


@dataclass
class Run:
    """What a group of clients did."""

    latencies: list[float] = field(default_factory=list)
    failures: list[tuple[str, int | None, str]] = field(default_factory=list)
    saved: set[str] = field(default_factory=set)
    gave_up: dict[str, str] = field(default_factory=dict)
    turns: int = 0
    elapsed: float = 0.0
    longest_wait: float = 0.0  # seconds from a client's first failed try to success
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict:
        return {
            "turns": self.turns,
            "turns_per_s": round(self.turns / self.elapsed, 1) if self.elapsed else 0,
            "median_ms": round(statistics.median(self.latencies), 1) if self.latencies else None,
            "p95_ms": round(percentile(self.latencies, 0.95), 1) if self.latencies else None,
            "saved": len(self.saved),
            "gave_up": len(self.gave_up),
            "failed_tries": len(self.failures),
            "failures_by_kind": dict(
                Counter(
                    f"{status} {text.split(':', 1)[-1].strip()[:60]}"
                    for _, status, text in self.failures
                )
            ),
            "longest_wait_s": round(self.longest_wait, 1),
            "gave_up_because": sorted(set(self.gave_up.values()))[:5],
        }


class TimedClient(CheckinClient):
    """A check-in client that also measures how long it had to wait through failures."""

    def __init__(self, *args, run: Run, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.run_record = run

    def _turn(self, phase, label, call):
        started = time.monotonic()
        before = len(self.failures)
        turn = super()._turn(phase, label, call)
        with self.run_record.lock:
            self.run_record.turns += 1
            self.run_record.latencies.append(turn.ms)
            if len(self.failures) > before:
                self.run_record.longest_wait = max(
                    self.run_record.longest_wait, time.monotonic() - started
                )
        return turn


def run_clients(
    stack: Stack,
    clients: list[tuple[str, str]],
    concurrency: int,
    retries: int = 0,
    pause: float = 2.0,
    run: Run | None = None,
) -> Run:
    """Every client does one check-in through the web chat, `concurrency` at a time."""
    run = run or Run()
    themes = ["hoop", "verbinding", "identiteit", "zingeving", "eigen_regie"]

    def one(index: int) -> None:
        chat_id, code = clients[index]
        bases = (
            stack.web_urls[index % len(stack.web_urls) :]
            + stack.web_urls[: index % len(stack.web_urls)]
        )
        try:
            transport = WebTransport(bases, code)
        except Exception as error:  # recorded and reported
            with run.lock:
                run.gave_up[chat_id] = f"login: {error}"
            return
        client = TimedClient(
            transport,
            theme=themes[index % len(themes)],
            retries=retries,
            retry_pause=pause,
            run=run,
        )
        try:
            result = client.run()
            if result.saved:
                with run.lock:
                    run.saved.add(chat_id)
        except Exception as error:  # recorded and reported
            with run.lock:
                run.gave_up[chat_id] = str(error)[:200]
        finally:
            with run.lock:
                run.failures.extend(client.failures)
            transport.close()

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(len(clients))))
    run.elapsed = time.monotonic() - started
    return run


def audit(stack: Stack, clients: list[tuple[str, str]], run: Run) -> dict:
    """What the database holds for these clients, against what they were told."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session, selectinload

    from bot.storage.db import make_engine
    from bot.storage.models import CheckIn, Client, Reflection
    from bot.vocabulary import STATUS_COMPLETE

    engine = make_engine(stack.database_url)
    lost, duplicated, wrong_answers = [], [], []
    try:
        with Session(engine) as session:
            for chat_id, _ in clients:
                client = session.execute(
                    select(Client).where(Client.chat_id == chat_id)
                ).scalar_one()
                reflections = list(
                    session.execute(
                        select(Reflection)
                        .where(Reflection.client_id == client.id)
                        .options(selectinload(Reflection.answers))
                    ).scalars()
                )
                checkins = session.execute(
                    select(CheckIn).where(CheckIn.client_id == client.id)
                ).all()
                if chat_id in run.saved:
                    complete = [r for r in reflections if r.status == STATUS_COMPLETE]
                    if not complete:
                        lost.append(chat_id)
                    elif len(complete) > 1:
                        duplicated.append(chat_id)
                    elif not {a.answer_text for a in complete[0].answers} & set(ANSWERS):
                        wrong_answers.append(chat_id)
                if len(reflections) > 1 or len(checkins) > 1:
                    duplicated.append(chat_id)
    finally:
        engine.dispose()
    statuses = Counter(status for _, status, _ in run.failures)
    return {
        "lost": sorted(set(lost)),
        "duplicated": sorted(set(duplicated)),
        "answers_missing": sorted(set(wrong_answers)),
        "empty_replies": sum(
            1 for _, _, text in run.failures if "empty reply" in text or "geen antwoord" in text
        ),
        "http_500": statuses.get(500, 0),
        "http_5xx": sum(n for status, n in statuses.items() if status and status >= 500),
        "not_calm": [
            text for _, status, text in run.failures if status and not any(c in text for c in CALM)
        ],
    }


# --- scenarios ----------------------------------------------------------------------------------


def scenario_load(stack: Stack, clients: int) -> dict:
    people = stack.new_clients(clients, "load")
    run = run_clients(stack, people, concurrency=clients)
    return {"clients": clients, **run.summary(), "audit": audit(stack, people, run)}


def _fault(stack: Stack, name: str) -> None:
    assert stack.services is not None
    if name == "kill the action server":
        os.kill(stack.children()["actions"], signal.SIGKILL)
    elif name == "kill one Rasa instance":
        os.kill(stack.children()["rasa-1"], signal.SIGKILL)
    elif name == "PostgreSQL unavailable for 5 s":
        stack.services.postgres.stop()
        time.sleep(5)
        stack.services.postgres.start()
    elif name == "Redis unavailable for 5 s":
        stack.services.redis.stop()
        time.sleep(5)
        stack.services.redis.start()
    else:
        raise ValueError(name)


FAULTS = (
    "kill the action server",
    "kill one Rasa instance",
    "PostgreSQL unavailable for 5 s",
    "Redis unavailable for 5 s",
)


def scenario_fault(stack: Stack, name: str, clients: int) -> dict:
    """Clients mid-check-in while `name` happens; they retry calmly until they are done."""
    people = stack.new_clients(clients, "fault")
    run = Run()
    worker = threading.Thread(
        target=run_clients,
        kwargs={
            "stack": stack,
            "clients": people,
            "concurrency": clients,
            "retries": 60,
            "pause": 2.0,
            "run": run,
        },
    )
    worker.start()
    # Break things once the clients are well into their check-ins.
    while run.turns < clients * 3 and worker.is_alive():
        time.sleep(0.2)
    at_turn = run.turns
    _fault(stack, name)
    worker.join(timeout=900)
    # Wait until the supervisor has everything up again before the next fault.
    stack.wait_ready(timeout=600)
    return {
        "fault": name,
        "clients": clients,
        "fault_at_turn": at_turn,
        **run.summary(),
        "audit": audit(stack, people, run),
    }


def scenario_long(stack: Stack, turns: int) -> dict:
    """One client, check-in after check-in (each opened by the chat), `turns` turns."""
    [(chat_id, code)] = stack.new_clients(1, "lang")
    transport = WebTransport(stack.web_urls, code)
    latencies: list[float] = []
    while len(latencies) < turns:
        result = CheckinClient(transport).run()
        latencies += result.timings
    latencies = latencies[:turns]

    def around(turn: int) -> float:  # the median of 11 turns around `turn` (1-based)
        window = latencies[max(0, turn - 6) : turn + 5]
        return statistics.median(window)

    at_10, at_end = around(10), around(turns)
    return {
        "turns": turns,
        "turn_10_ms": round(at_10, 1),
        f"turn_{turns}_ms": round(at_end, 1),
        "ratio": round(at_end / at_10, 2),
        "median_per_50_turns": [
            round(statistics.median(latencies[i : i + 50]), 1) for i in range(0, turns, 50)
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--fault-clients", type=int, default=12)
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--only", default="load,faults,long,memory")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    report: dict = {"machine": f"{os.cpu_count()} CPUs"}

    if parts & {"load", "faults", "memory"}:
        print(
            "Starting the scaled stack: 2 Rasa instances, 2 web processes, PostgreSQL, Redis...",
            flush=True,
        )
        stack = temporary_stack(instances=2, web_processes=2, scaled=True)
        try:
            stack.start()
            if "memory" in parts:
                report["memory_2_instances_mb_idle"] = stack.memory()
            if "load" in parts:
                report["load"] = scenario_load(stack, args.clients)
                print(json.dumps(report["load"], indent=2), flush=True)
                report["memory_2_instances_mb_after_load"] = stack.memory()
            if "faults" in parts:
                report["faults"] = []
                for name in FAULTS:
                    print(f"Fault: {name} ...", flush=True)
                    result = scenario_fault(stack, name, args.fault_clients)
                    report["faults"].append(result)
                    print(json.dumps(result, indent=2), flush=True)
        finally:
            stack.stop()
            remove(stack)

    if parts & {"long", "memory"}:
        print("Starting the `make run` stack: 1 Rasa instance, SQLite...", flush=True)
        stack = temporary_stack(instances=1)
        try:
            stack.start()
            if "memory" in parts:
                report["memory_1_instance_mb_idle"] = stack.memory()
            if "long" in parts:
                report["long"] = scenario_long(stack, args.turns)
                print(json.dumps(report["long"], indent=2), flush=True)
                report["memory_1_instance_mb_after_long"] = stack.memory()
        finally:
            stack.stop()
            remove(stack)

    out = ROOT / "var" / "benchmarks" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"Written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
