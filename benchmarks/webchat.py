"""Turn latency through the web chat, compared with Rasa's REST channel directly.

    .venv/bin/python benchmarks/webchat.py [--clients 12]

Starts the stack as `make run` does (`python -m bot.serve`: the action server, Rasa and the
web app under waitress) on a temporary SQLite database and free ports. Each client logs in
with an access code and does a full check-in through /chat/api/send, following Koers' own
buttons (mood, theme, two answers, scale, small step, read-back, consent); the same check-in
then goes straight to Rasa for other senders. Clients one after another. Prints medians, p95
and the ratio web / direct per turn kind: the web app's own cost (login check, CSRF, the
per-client lock, one more HTTP hop). Not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.checkin import PHASES, CheckinClient, RestTransport, WebTransport
from benchmarks.stack import remove, temporary_stack


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=12)
    args = parser.parse_args()
    stack = temporary_stack(instances=1)
    print("Starting the stack (python -m bot.serve) ...", flush=True)
    stack.start()
    web: dict[str, list[float]] = {}
    direct: dict[str, list[float]] = {}
    try:
        people = stack.new_clients(args.clients + 1, "webchat")
        CheckinClient(WebTransport(stack.web_urls, people[0][1])).run()  # warm-up
        for _, code in people[1:]:
            for turn in CheckinClient(WebTransport(stack.web_urls, code)).run().turns:
                web.setdefault(turn.phase, []).append(turn.ms)
        for _ in range(args.clients):
            sender = "direct-" + uuid.uuid4().hex[:10]
            for turn in CheckinClient(RestTransport(stack.rasa_urls[0], sender)).run().turns:
                direct.setdefault(turn.phase, []).append(turn.ms)
    finally:
        stack.stop()
        remove(stack)
    print(f"\nTurn latency, {args.clients} clients one after another, full check-in, ms")
    print(f"{'turn':14} {'web median':>11} {'web p95':>8} {'direct median':>14} {'ratio':>6}")
    all_web, all_direct = [], []
    for phase in PHASES:
        if phase not in web or phase not in direct:
            continue
        w, d = statistics.median(web[phase]), statistics.median(direct[phase])
        all_web += web[phase]
        all_direct += direct[phase]
        print(f"{phase:14} {w:11.0f} {_p95(web[phase]):8.0f} {d:14.0f} {w / d:6.2f}")
    w, d = statistics.median(all_web), statistics.median(all_direct)
    print(f"{'all turns':14} {w:11.0f} {_p95(all_web):8.0f} {d:14.0f} {w / d:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
