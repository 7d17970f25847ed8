"""Rule 9 ("every sentence calm") on the development sets: what it lowers, and what it costs.

    python benchmarks/safety_sentences.py [--model M] [--repeats 3]

Issue 15, twelfth pass. Every message of the development sets (`bot.safety.tune.DEV_SETS` and
`LONG_SETS`, all readable; never the held-out sets) is parsed by the trained model in-process
as a first message. Counted per set: the messages whose sentences were read (`crisis.zinnen`)
and those whose check question rule 9 dropped, for crises and calm messages apart; a dropped
crisis is listed. Then the messages that were read are parsed again `--repeats` times with
rule 9 on and off in turn, each time with an empty embedding memory (as a new message), and
the medians of the whole parse are printed with their ratio. Rule 9 is off by default
(`read_sentences` of `CrisisGuard`); this script switches it on for the loaded model only.
Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
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
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import yaml
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)

    from bot.safety.component import CrisisGuard, reader_target
    from bot.safety.decision import SENTENCES_REASON
    from bot.safety.embedder import get_embedder
    from bot.safety.evaluate import newest_model
    from bot.safety.tune import DEV_SETS, LONG_SETS

    agent = Agent.load(str(args.model or newest_model()))
    runner = agent.processor.graph_runner
    [(name, guard)] = [
        (name, n._component)
        for name, n in runner._instantiated_nodes.items()
        if isinstance(n._component, CrisisGuard)
    ]
    target = reader_target(replace(runner._execution_context, node_name=name))
    if target is None:
        sys.exit("this model's crisis guard is not fed by the semantic scorer: no rule 9")
    loop = asyncio.new_event_loop()

    def parse(text: str, rule9: bool) -> tuple[dict, float]:
        guard.read_sentences, guard.reader, guard.reader_target = rule9, None, target
        get_embedder().forget()
        started = time.perf_counter()
        crisis = loop.run_until_complete(agent.parse_message(text)).get("crisis") or {}
        return crisis, (time.perf_counter() - started) * 1000

    read: list[str] = []
    for set_name, path in (DEV_SETS | LONG_SETS).items():
        data = yaml.safe_load(path.read_text("utf-8"))
        counts: Counter[str] = Counter()
        for label, key in (("crisis", "crisis"), ("calm", "non_crisis")):
            for item in data[key]:
                crisis, _ = parse(item["text"], rule9=True)
                if crisis.get("zinnen") is None:
                    continue
                read.append(item["text"])
                counts[f"{label} read"] += 1
                if SENTENCES_REASON in (crisis.get("reasons") or []):
                    counts[f"{label} check dropped"] += 1
                    if label == "crisis":
                        print(f"  {set_name}: a crisis lost its check: {item['text']}")
        print(
            f"{set_name:6s} {len(data['crisis'])} crises, {len(data['non_crisis'])} calm: {dict(counts)}"
        )

    on: list[float] = []
    off: list[float] = []
    for _ in range(args.repeats):
        for text in read:
            on.append(parse(text, rule9=True)[1])
            off.append(parse(text, rule9=False)[1])
    if read:
        ratio = statistics.median(on) / statistics.median(off)
        print(
            f"{len(read)} messages read sentence by sentence, {args.repeats} times each: "
            f"parse median {statistics.median(off):.0f} ms without rule 9, "
            f"{statistics.median(on):.0f} ms with it ({ratio:.2f}x)"
        )


if __name__ == "__main__":
    main()
