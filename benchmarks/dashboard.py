"""Server time of the dashboard pages on SQLite (issue 4).

    .venv/bin/python benchmarks/dashboard.py [--runs 30]     (or: make benchmark-dashboard)

Builds a fresh SQLite database with the real migrations in a temporary folder and fills it
with clearly fake data: one worker with 100 clients (a few shared reflections, check-ins and
a safety event each), one of whom has 1,000 reflections (900 shared). Then times the pages
with Flask's test client, so the figure is the server time (routing, queries, audit writes,
template rendering), without network or browser. Target: under 200 ms per page. Prints the
median, the 90th percentile and the ratio median/target.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import get_settings
from bot.storage import accounts
from bot.storage.db import session_scope, upgrade_database
from bot.storage.models import (
    CheckIn,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    SmallStep,
    Worker,
    utcnow,
)
from bot.vocabulary import STATUS_COMPLETE
from bot.web import create_app
from bot.web.security import hash_password

TARGET_MS = 200.0
THEMES = ["hoop", "verbinding", "identiteit", "zingeving", "eigen_regie", "veiligheid"]
WORDS = (
    "werk huis tuin broer moeder rust sporten wandelen slapen geld schuld afspraak "
    "hond muziek koken vriend school fiets"
).split()


def _answer(i: int) -> str:
    return (
        f"Testantwoord {i}: ik dacht aan {WORDS[i % len(WORDS)]} en "
        f"{WORDS[(i * 7) % len(WORDS)]}, en dat het morgen weer wat beter gaat."
    )


def seed(session, clients: int, big: int) -> tuple[int, str]:
    now = utcnow()
    worker = Worker(
        username="bench",
        display_name="Bench Begeleider",
        password_hash=hash_password("bench-wachtwoord"),
        role="worker",
    )
    session.add(worker)
    session.flush()
    big_id = None
    key = 0
    for c in range(clients):
        client = accounts.create_client(session, f"Testcliënt {c:03d}", worker_id=worker.id)
        accounts.record_contact(session, client, now - timedelta(days=14))
        n = big if c == 0 else 6
        if c == 0:
            big_id = client.id
        for i in range(n):
            key += 1
            at = now - timedelta(hours=i * 17)
            session.add(
                Reflection(
                    client_id=client.id,
                    theme=THEMES[i % len(THEMES)],
                    status=STATUS_COMPLETE,
                    shared_with_worker=i % 10 != 0,
                    scale=1 + (i * 3) % 5,
                    idempotency_key=f"r{key}",
                    created_at=at,
                    updated_at=at,
                    completed_at=at,
                    answers=[
                        ReflectionAnswer(
                            position=p,
                            question_key=f"q{p}",
                            question_text=f"Testvraag {p}?",
                            answer_text=_answer(i + p),
                        )
                        for p in (1, 2)
                    ],
                )
            )
        for i in range(3):
            key += 1
            session.add(
                CheckIn(
                    client_id=client.id,
                    mood=1 + i,
                    idempotency_key=f"c{key}",
                    created_at=now - timedelta(days=i),
                )
            )
        session.add(
            SafetyEvent(
                client_id=client.id,
                category="unknown",
                message_text="testmelding",
                response_text="Bel 113.",
                detected_by="matcher",
                created_at=now,
            )
        )
        key += 1
        session.add(
            SmallStep(
                client_id=client.id,
                theme="hoop",
                text="Een teststap",
                shared_with_worker=True,
                idempotency_key=f"s{key}",
                created_at=now,
            )
        )
    assert big_id is not None
    return big_id, "bench"


def measure(client, path: str, runs: int) -> list[float]:
    for _ in range(3):  # warm-up (template compilation, spaCy load)
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--reflections", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade_database(url)
        settings = dataclasses.replace(
            get_settings(), database_url=url, var_dir=Path(tmp), secret_key="benchmark-only-secret"
        )
        app = create_app(settings=settings)
        with session_scope(app.extensions["koers_engine"]) as session:
            big_id, username = seed(session, args.clients, args.reflections)
        http = app.test_client()
        page = http.get("/login").get_data(as_text=True)
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found is not None, "the login page has a CSRF token"
        token = found.group(1)
        http.post(
            "/login",
            data={"username": username, "password": "bench-wachtwoord", "csrf_token": token},
        )
        pages = [
            (f"caseload, {args.clients} clients", "/begeleider/"),
            (f"client page, {args.reflections} reflections", f"/begeleider/client/{big_id}"),
            ("client page, all shared reflections listed", f"/begeleider/client/{big_id}?alle=1"),
            ("preparation sheet, since last contact", f"/begeleider/client/{big_id}/voorbereiding"),
            (
                "preparation sheet, whole history (spaCy topics)",
                f"/begeleider/client/{big_id}/voorbereiding?van=2000-01-01",
            ),
        ]
        print(f"Dashboard server time on SQLite, {args.runs} runs each (target {TARGET_MS:.0f} ms)")
        print(f"{'page':52} {'median':>9} {'p90':>9} {'median/target':>14}")
        for label, path in pages:
            times = sorted(measure(http, path, args.runs))
            median = statistics.median(times)
            p90 = times[int(0.9 * (len(times) - 1))]
            print(f"{label:52} {median:7.1f}ms {p90:7.1f}ms {median / TARGET_MS:13.2f}x")
        app.extensions["koers_engine"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
