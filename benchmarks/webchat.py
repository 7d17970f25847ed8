"""Turn latency through the web chat, compared with Rasa's REST channel directly (issue 5).

    .venv/bin/python benchmarks/webchat.py [--clients 12] [--model models/koers-....tar.gz]

Starts the real stack on free ports with a temporary SQLite database: the action server,
`rasa run` with the newest trained model (or --model) and the web app under waitress, as
`make run` does. Each client logs in with an access code and does three turns through
/chat/api/send (greeting, mood "4" as a button, the theme "hoop" as a button); the same three
turns are then sent straight to Rasa for other senders. Prints medians, p95 and the ratio
web / direct (the overhead of the web app: login check, CSRF, lock, one more HTTP hop).
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.serve import stack_env, start_stack, start_web, stop
from bot.settings import PROJECT_ROOT, get_settings
from bot.storage import accounts
from bot.storage.db import make_engine, session_scope, upgrade_database
from bot.web.dashboard import issue_code

THEME = '/kies_thema{"thema": "hoop"}'
SECRET = "benchmark-only-secret"
TURNS: list[dict[str, Any]] = [
    {"start": True},
    {"payload": "4", "title": "4"},
    {"payload": THEME, "title": "Hoop"},
]
DIRECT = ["/groet", "4", THEME]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    model = args.model or max(
        (PROJECT_ROOT / "models").glob("koers-*.tar.gz"), key=lambda p: p.stat().st_mtime
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'koers.db'}"
        upgrade_database(url)
        settings = dataclasses.replace(
            get_settings(),
            database_url=url,
            rasa_port=_free_port(),
            actions_port=_free_port(),
            web_port=_free_port(),
            tracker_db=tmp / "tracker.db",
            var_dir=tmp,
            secret_key=SECRET,
        )
        engine = make_engine(url)
        codes = []
        with session_scope(engine) as session:
            for i in range(args.clients):
                client = accounts.create_client(session, f"Bench {i} (nep)")
                codes.append(issue_code(session, client, "bench", SECRET))
        engine.dispose()
        print(f"Starting the stack with {model.name} ...", flush=True)
        procs = start_stack(settings, model, tmp / "log")
        try:
            env = {
                **stack_env(settings),
                "KOERS_SECRET_KEY": SECRET,
                "KOERS_DATABASE_URL": url,
            }
            procs.append(start_web(settings, tmp / "log", env))
            base = f"http://{settings.web_host}:{settings.web_port}"
            web: dict[int, list[float]] = {0: [], 1: [], 2: []}
            direct: dict[int, list[float]] = {0: [], 1: [], 2: []}
            for code in codes:
                http = requests.Session()
                page = http.get(base + "/chat/").text
                found = re.search(r'name="csrf_token" value="([^"]+)"', page)
                assert found is not None, "the chat's login page has a CSRF token"
                token = found.group(1)
                http.post(base + "/chat/login", data={"code": code, "csrf_token": token})
                token = http.get(base + "/chat/").text.split('data-csrf="', 1)[1].split('"')[0]
                for turn, body in enumerate(TURNS):
                    start = time.perf_counter()
                    reply = http.post(
                        base + "/chat/api/send",
                        json=body,
                        headers={"X-CSRFToken": token},
                        timeout=60,
                    )
                    web[turn].append((time.perf_counter() - start) * 1000)
                    assert reply.ok and reply.json()["ok"], reply.text
            for i in range(len(codes)):
                sender = f"bench-direct-{i}"
                for turn, message in enumerate(DIRECT):
                    start = time.perf_counter()
                    reply = requests.post(
                        f"{settings.rasa_url}/webhooks/rest/webhook",
                        json={"sender": sender, "message": message},
                        timeout=60,
                    )
                    direct[turn].append((time.perf_counter() - start) * 1000)
                    assert reply.ok and reply.json()
        finally:
            stop(procs)
    names = ["greeting (new client)", "mood button", "theme button"]
    print(f"\nTurn latency, {args.clients} clients one after another, ms")
    print(f"{'turn':24} {'web median':>11} {'web p95':>8} {'direct median':>14} {'ratio':>6}")
    all_web, all_direct = [], []
    for turn, name in enumerate(names):
        w, d = statistics.median(web[turn]), statistics.median(direct[turn])
        all_web += web[turn]
        all_direct += direct[turn]
        print(f"{name:24} {w:11.0f} {_p95(web[turn]):8.0f} {d:14.0f} {w / d:6.2f}")
    w, d = statistics.median(all_web), statistics.median(all_direct)
    print(f"{'all turns':24} {w:11.0f} {_p95(all_web):8.0f} {d:14.0f} {w / d:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
