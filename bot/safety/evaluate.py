"""Measure crisis detection on the labelled sets in tests/crisis with a trained model.

    python -m bot.safety.evaluate [--model models/koers-....tar.gz] [--show-main]

Parses every message through the whole NLU pipeline (including CrisisGuard) and prints the
recall and false-positive rate per set. Only aggregate figures are printed for the fresh set,
so that it stays unseen: never print or read its sentences. `--show-main` lists the misses and
false positives of the main set (which has been used for tuning before).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections import Counter
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

SETS = {
    "main": PROJECT_ROOT / "tests" / "crisis" / "crisis_set.yml",
    "fresh": PROJECT_ROOT / "tests" / "crisis" / "crisis_set_fresh.yml",
}


def newest_model() -> Path:
    models = sorted((PROJECT_ROOT / "models").glob("koers-*.tar.gz"), key=os.path.getmtime)
    if not models:
        raise SystemExit("no trained model in models/; run make train")
    return models[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--show-main", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from rasa.core.agent import Agent

    agent = Agent.load(str(args.model or newest_model()))
    loop = asyncio.new_event_loop()

    def intent(text: str) -> str:
        return loop.run_until_complete(agent.parse_message(text))["intent"]["name"]

    for name, path in SETS.items():
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        missed = [
            (i["text"], i.get("category"), intent(i["text"]))
            for i in data["crisis"]
            if intent(i["text"]) != "crisis"
        ]
        flagged = [
            (i["text"], i.get("kind")) for i in data["non_crisis"] if intent(i["text"]) == "crisis"
        ]
        recall = 1 - len(missed) / len(data["crisis"])
        fpr = len(flagged) / len(data["non_crisis"])
        print(
            f"{name}: recall {recall:.3f} ({len(data['crisis'])} crisis), "
            f"false-positive rate {fpr:.3f} ({len(data['non_crisis'])} non-crisis)"
        )
        print("  missed by category: " + str(dict(Counter(c for _, c, _ in missed))))
        print("  missed classified as: " + str(dict(Counter(p for _, _, p in missed))))
        print("  false positives by kind: " + str(dict(Counter(k for _, k in flagged))))
        if name == "main" and args.show_main:
            for text, category, predicted in missed:
                print(f"  MISSED [{category}] -> {predicted}: {text}")
            for text, kind in flagged:
                print(f"  FALSE POSITIVE [{kind}]: {text}")


if __name__ == "__main__":
    main()
