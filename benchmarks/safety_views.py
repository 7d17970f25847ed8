"""What the semantic net's other two views add to one message (issue 15, eighth pass).

    python benchmarks/safety_views.py [--model M] [--rounds 3]

Loads the semantic nets of a trained model and scores the development sets' messages one by
one (`SemanticCrisisScorer.process`, as for a typed message), with the other views and
without them, alternating per message. Prints the share of messages that reach
`more_views_from` and, for those, the median time of the scorer with and without the other
views, in milliseconds. Messages below it are read once, as before. Not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.rasa_server import one_thread_per_library

# The e5 engine on one OpenMP thread per call, as in Rasa's process (set before scikit-learn
# loads libgomp). Until the eighteenth pass this script left it out, so every embedding ran with
# a spinning OpenMP worker per core (docs/benchmarks.md, "Eighteenth pass").
one_thread_per_library(os.environ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import yaml
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from bot.safety.component import MORE_VIEWS, SEMANTIC_PROPERTY, SemanticCrisisScorer
    from bot.safety.evaluate import newest_model
    from bot.safety.semantic import MORE_VIEWS_FROM, SemanticModel
    from bot.safety.tune import DEV_SETS

    unpacked = Path(tempfile.mkdtemp(prefix="koers-views-"))
    with tarfile.open(args.model or newest_model()) as tar:
        tar.extractall(unpacked)
    first = next(unpacked.rglob(SemanticModel.META)).parent
    model = SemanticModel.load(first)
    views = {v: SemanticModel.load(first / v) for v in MORE_VIEWS if (first / v).is_dir()}
    if not views:
        sys.exit("this model has the first view only (trained before the eighth pass)")
    with_views = SemanticCrisisScorer({}, None, None, model, views)
    alone = SemanticCrisisScorer({}, None, None, model, {})
    texts = [
        item["text"]
        for path in DEV_SETS.values()
        for key in ("crisis", "non_crisis")
        for item in yaml.safe_load(path.read_text("utf-8"))[key]
    ]

    def timed(scorer: SemanticCrisisScorer, text: str) -> tuple[float, dict]:
        message = Message(data={TEXT: text})
        started = time.perf_counter()
        scorer.process([message])
        return (time.perf_counter() - started) * 1000, message.get(SEMANTIC_PROPERTY)

    timed(with_views, "warm up")
    reached: set[str] = set()
    times: dict[str, list[float]] = {"with": [], "without": []}
    added: list[float] = []
    for round_ in range(args.rounds):
        for i, text in enumerate(texts):
            pair: dict[str, float] = {}
            order = [("with", with_views), ("without", alone)]
            for name, scorer in order if (i + round_) % 2 else order[::-1]:
                pair[name], score = timed(scorer, text)
                if name == "with" and "views" in score:
                    reached.add(text)
            if text in reached:
                times["with"].append(pair["with"])
                times["without"].append(pair["without"])
                added.append(pair["with"] - pair["without"])
    share = len(reached) / len(texts)
    print(
        f"{len(texts)} messages; {len(reached)} ({share:.0%}) reach {MORE_VIEWS_FROM}; for those:"
    )
    for name, values in times.items():
        print(f"  the scorer {name} the other views: median {statistics.median(values):.1f} ms")
    print(f"  added per message: median {statistics.median(added):.1f} ms")


if __name__ == "__main__":
    main()
