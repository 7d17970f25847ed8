"""What the safety layer adds to a turn (issue 15: median <= 25 ms).

    python benchmarks/safety_cost.py [--rounds 10] [--model M] [--long | --stories]
                                     [--keep-memory] [--unpatched]

Runs the trained model in-process (graph mode, with Koers' Rasa patches applied before the
load, as `python -m bot.rasa_server` does; `--unpatched`: stock Rasa, as this script measured
until the thirty-fourth pass; the short-text parse cache is off unless `--keep-memory`) with
the real action server, and a scripted client that does a whole check-in the way a client
types it: greeting, mood, a theme, two typed answers, the scale, a small step, the read-back
and consent. Every turn is timed, and so is the time spent inside the safety layer during
that turn: `SemanticCrisisScorer.process` (embedding + nearest neighbours),
`CrisisGuard.process` (word list + decision) and
`SafetyContextPolicy.predict_action_probabilities`. Prints medians and p95 in milliseconds.
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rasa_server import one_thread_per_library

# The e5 engine on one OpenMP thread per call, as in Rasa's process (set before scikit-learn
# loads libgomp). Until the eighteenth pass this script left it out, so every embedding ran with
# a spinning OpenMP worker per core (docs/benchmarks.md, "Eighteenth pass").
one_thread_per_library(os.environ)

SCRIPT = [
    "hoi",
    "4",
    "ik wil over hoop praten",
    "een eigen plek en werk",
    "mijn zus vaker zien",
    "3",
    "ja",
    "morgen de vacatures bekijken",
    "klopt",
    "ja",
]


# The same check-in with long typed answers of two clauses or more, so that the last clause
# of every typed answer is embedded on its own too (rule 5b): the worst case for the cost.
LONG_SCRIPT = [
    "hoi, ik heb vandaag best veel gedaan en wil even praten",
    "4",
    "ik wil over hoop praten, dat lijkt me goed voor vandaag",
    "een eigen plek met een keuken, en werk waar ik elke dag naartoe kan",
    "mijn zus vaker zien, want we hebben elkaar lang niet gesproken",
    "3",
    "ja",
    "morgen de vacatures bekijken, daarna bel ik mijn begeleider om het te bespreken",
    "klopt",
    "ja",
]

# The same check-in told at length (thirteenth pass): typed answers of 20 to 30 words and
# three or more clauses, so that every clause of each is read on its own too (rule 5c).
STORY_SCRIPT = [
    "hoi, ik heb vandaag best veel gedaan, eerst boodschappen bij de supermarkt "
    "en daarna de was opgehangen en mijn kamer gestofzuigd",
    "4",
    "ik wil over hoop praten, want ik denk de laatste tijd vaker aan later "
    "en dat voelt eigenlijk best goed voor mij",
    "een eigen plek met een keuken, werk waar ik elke dag naartoe kan, "
    "en een paar mensen om me heen die ik vertrouw",
    "mijn zus vaker zien, want we hebben elkaar lang niet gesproken, "
    "en ik wil ook weer gaan voetballen bij de club in de wijk",
    "3",
    "ja",
    "morgen de vacatures bekijken op de computer in de bibliotheek, "
    "daarna bel ik mijn begeleider en vrijdag ga ik langs bij het uitzendbureau",
    "klopt",
    "ja",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--model", type=Path)
    parser.add_argument(
        "--long", action="store_true", help="long typed answers (the last clause is scored too)"
    )
    parser.add_argument(
        "--stories",
        action="store_true",
        help="typed answers of 20+ words (every clause is scored too)",
    )
    parser.add_argument(
        "--keep-memory",
        action="store_true",
        help="let the embedder and the short-text parse cache remember texts between turns "
        "(by default every turn is new)",
    )
    parser.add_argument(
        "--unpatched",
        action="store_true",
        help="stock Rasa, without Koers' patches (bot/rasa_patches.py)",
    )
    args = parser.parse_args()
    script = STORY_SCRIPT if args.stories else LONG_SCRIPT if args.long else SCRIPT
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no per-turn debug lines

    from bot import rasa_patches
    from bot.safety import component, policy
    from bot.safety.embedder import get_embedder
    from bot.safety.evaluate import (
        in_process_action_server,
        newest_model,
        patches_applied,
        shut_down,
    )
    from bot.storage.db import upgrade_database

    spent = [0.0]

    def timed(cls: type, name: str) -> None:
        original = getattr(cls, name)

        def wrapper(self, *a, **kw):
            started = time.perf_counter()
            try:
                return original(self, *a, **kw)
            finally:
                spent[0] += time.perf_counter() - started

        setattr(cls, name, wrapper)

    if not args.unpatched:
        rasa_patches.apply()  # as `python -m bot.rasa_server` runs Rasa
        if not args.keep_memory:
            # The short-text parse cache (`nlu_shortcuts`) would answer this script's short
            # typed answers ("4", "ja", "een eigen plek en werk") from the first round in every
            # later one; a client's typed answer is new text. Read at every call.
            rasa_patches.SHORT_TEXT_CHARS = 0
    timed(component.SemanticCrisisScorer, "process")
    timed(component.CrisisGuard, "process")
    timed(policy.SafetyContextPolicy, "predict_action_probabilities")

    workdir = Path(tempfile.mkdtemp(prefix="koers-safety-cost-"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    upgrade_database(url)
    server, endpoint = in_process_action_server(url, workdir)
    loop = asyncio.new_event_loop()
    try:
        agent = Agent.load(str(args.model or newest_model()), action_endpoint=endpoint)
        turns: list[float] = []
        safety: list[float] = []
        stories: list[float] = []  # the safety layer on typed answers of 20+ words
        for round_ in range(args.rounds + 1):
            sender = f"bench-{uuid.uuid4().hex[:10]}"
            for text in script:
                if not args.keep_memory:
                    # The embedder keeps its last texts (twelfth pass); every round repeats
                    # the same script, so without this every turn after the first round
                    # would be free. A client's typed answer is new text.
                    get_embedder().forget()
                spent[0] = 0.0
                started = time.perf_counter()
                loop.run_until_complete(agent.handle_text(text, sender_id=sender))
                if round_ > 0:  # the first round warms up
                    turns.append((time.perf_counter() - started) * 1000)
                    safety.append(spent[0] * 1000)
                    if len(text.split()) >= 20:
                        stories.append(spent[0] * 1000)
        share = statistics.median(safety) / statistics.median(turns)
        cache = "" if args.unpatched or args.keep_memory else " (short-text parse cache off)"
        print(f"turns: {len(turns)} ({args.rounds} check-ins of {len(script)} turns)")
        print(patches_applied() + cache)
        print(
            f"whole turn     median {statistics.median(turns):6.1f} ms, "
            f"p95 {percentile(turns, 0.95):6.1f} ms"
        )
        print(
            f"safety layer   median {statistics.median(safety):6.1f} ms, "
            f"p95 {percentile(safety, 0.95):6.1f} ms ({share:.0%} of the median turn)"
        )
        if stories:
            # The median of a check-in's turns falls between its longest short turn and its
            # shortest story, so it jumps; the stories' own median does not.
            print(
                f"20+ word turns median {statistics.median(stories):6.1f} ms of the safety "
                f"layer ({len(stories)} turns)"
            )
    finally:
        shut_down(loop, server)


if __name__ == "__main__":
    main()
