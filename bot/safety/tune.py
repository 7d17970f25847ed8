"""How the bands of the safety decision were chosen (development sets only).

    python -m bot.safety.tune collect [--model M]  # parse the dev sets with a trained model
    python -m bot.safety.tune sweep                 # grid-search the bands, print the frontier

Tuning uses only the development sets: `tests/crisis/crisis_set.yml` (the main set, also used
for the word list before), `tests/crisis/crisis_set_dev.yml` (written by a separate hand
for this purpose, read while tuning), `tests/crisis/crisis_set_dev3.yml` (another separate
hand, fifth pass). The long-message sets of the tenth pass (`LONG_SETS`) are read while
tuning too, but not by the sweep. The fresh and unseen sets are never used here.

`collect` stores, per message, the word list's and the classifier's evidence from the trained
model. `sweep` refits the semantic net from the current NLU data and exemplars (so an exemplar
change needs no retraining to be measured), then simulates `bot.safety.decision.decide` for
every band setting in a grid, as a first message and, for the context pairs, after the previous
message. It prints the best settings under the targets: recall (help at once, or after "ja" to
the check) first, then at most `--max-fp` false alarms and `--max-check` check questions on
calm messages.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from bot.safety.decision import CALM, CHECK, CRISIS, Bands, Context, Evidence, decide
from bot.safety.semantic import clauses
from bot.settings import PROJECT_ROOT

DEV_SETS = {
    "main": PROJECT_ROOT / "tests" / "crisis" / "crisis_set.yml",
    "dev": PROJECT_ROOT / "tests" / "crisis" / "crisis_set_dev.yml",
    "dev3": PROJECT_ROOT / "tests" / "crisis" / "crisis_set_dev3.yml",
}
# Long messages only (25 to 60 words; tenth pass), also read while tuning. Kept apart from
# DEV_SETS: no band setting meets the sweep's limits on them (dev4's word-list false alarms
# alone are 0.031, and its checks on calm stay above 0.10 at every setting of the grid), so
# the sweep stays as it was chosen. `benchmarks/safety_sentences.py` reads them. dev4 is
# also measured by the tests; dev5 is not (make test's time).
LONG_SETS = {
    "dev4": PROJECT_ROOT / "tests" / "crisis" / "crisis_set_dev4.yml",
    "dev5": PROJECT_ROOT / "tests" / "crisis" / "crisis_set_dev5.yml",
}
EVIDENCE_FILE = PROJECT_ROOT / "build" / "safety-tuning" / "evidence.json"


def crisis_reader(model: Path | None) -> Callable[[str], dict]:
    """A trained model's NLU pipeline as a function: a text's `crisis` property (outcome,
    detected_by, evidence, ...). Rasa's per-turn debug lines, which print each parsed text,
    are silenced, so that a held-out sentence is never shown."""
    from bot.safety.evaluate import newest_model

    logging.disable(logging.WARNING)
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # no per-turn debug lines

    agent = Agent.load(str(model or newest_model()))
    loop = asyncio.new_event_loop()

    def read(text: str) -> dict:
        return loop.run_until_complete(agent.parse_message(text)).get("crisis") or {}

    return read


def collect(model: Path | None) -> None:
    read = crisis_reader(model)

    def evidence(text: str) -> dict:
        return read(text).get("evidence") or {}

    out: dict[str, list[dict]] = {}
    for name, path in DEV_SETS.items():
        data = yaml.safe_load(path.read_text("utf-8"))
        rows = [
            {"text": i["text"], "label": label, "ev": evidence(i["text"])}
            for label, key in ((CRISIS, "crisis"), (CALM, "non_crisis"))
            for i in data[key]
        ]
        for pair in data.get("context") or []:
            rows.append(
                {
                    "text": pair["text"],
                    "before": pair["before"],
                    "label": "context_" + pair["label"],
                    "ev": evidence(pair["text"]),
                    "ev_before": evidence(pair["before"]),
                }
            )
        out[name] = rows
    EVIDENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    EVIDENCE_FILE.write_text(json.dumps(out, ensure_ascii=False), "utf-8")
    print(f"wrote {EVIDENCE_FILE}: " + ", ".join(f"{k} {len(v)}" for k, v in out.items()))


def _semantic_model():
    """The semantic net as the NLU component trains it: the first view, then the others (by
    name), each as (net, its embedding cache)."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.safety.component import EMBEDDING_CACHE, MORE_VIEWS, view_cache
    from bot.safety.embedder import EmbeddingCache
    from bot.safety.semantic import Example, SemanticModel, load_exemplars

    data = load_data(str(PROJECT_ROOT / "data" / "nlu"))
    examples = [
        Example(m.get("text"), m.get("intent") == "crisis")
        for m in data.intent_examples
        if m.get("text")
    ] + load_exemplars()
    cache = EmbeddingCache(EMBEDDING_CACHE)
    more = {view: EmbeddingCache(view_cache(view), view=view) for view in MORE_VIEWS}
    return (SemanticModel.fit(examples, cache), cache), {
        view: (SemanticModel.fit(examples, vectors), vectors) for view, vectors in more.items()
    }


def _evidence(
    raw: dict,
    semantic: float,
    semantic_last: float = 0.0,
    semantic_parts: float | None = None,
    semantic_first: float | None = None,
) -> Evidence:
    return replace(
        Evidence.from_dict(raw),
        semantic=semantic,
        semantic_last=semantic_last,
        semantic_parts=semantic_parts,
        semantic_first=semantic_first,
        semantic_read=True,
    )


def _scores(views, texts: list[str]) -> dict[str, tuple[float, float, float | None, float | None]]:
    """Per text, as the NLU component scores it: the whole message (the mean of the views from
    `MORE_VIEWS_FROM`), its last clause (or 0) and, from the scorer's `parts_from`, its
    highest piece (or None), and the first view's own score when the other views were read
    (or None)."""
    from bot.safety.component import pieces_to_score
    from bot.safety.semantic import MORE_VIEWS_FROM, combined

    (model, cache), more = views
    parts = {t: clauses(t) for t in texts}
    every = sorted(set(texts) | {c for own in parts.values() for c in own})
    probs = dict(zip(every, map(float, model.probability(cache.embed(every))), strict=True))
    whole = {t: probs[t] for t in texts}
    again = sorted({t for t in texts if probs[t] >= MORE_VIEWS_FROM})
    read_again = set(again)
    if again:
        others = [net.probability(vectors.embed(again)) for net, vectors in more.values()]
        for i, t in enumerate(again):
            whole[t] = combined([probs[t], *(float(p[i]) for p in others)])
    pieces = {t: pieces_to_score(t, whole[t]) for t in texts}
    missing = sorted({p for own in pieces.values() for p in own} - set(probs))
    if missing:
        scored = model.probability(cache.embed(missing))
        probs.update(zip(missing, map(float, scored), strict=True))
    out: dict[str, tuple[float, float, float | None, float | None]] = {}
    for t, own in parts.items():
        last = probs[own[-1]] if own else 0.0
        highest = max(probs[p] for p in pieces[t]) if pieces[t] else None
        out[t] = (whole[t], last, highest, probs[t] if t in read_again else None)
    return out


def simulate(rows: list[dict], bands: Bands) -> dict[str, float]:
    """Recall, false alarms and check rate for single messages; the same for context pairs,
    where a pair counts by the worst outcome of its two turns."""
    single: dict[str, list] = {CRISIS: [], CALM: []}
    pairs: dict[str, list] = {CRISIS: [], CALM: []}
    for r in rows:
        first = decide(r["evidence"], Context(), bands)  # a first message: no open question
        if r["label"] in (CRISIS, CALM):
            single[r["label"]].append(first.outcome)
            continue
        before = decide(r["evidence_before"], None, bands)
        context = Context(
            previous_outcome=before.outcome,
            previous_semantic=r["evidence_before"].highest_semantic,
            previous_words=len(r["before"].split()),
        )
        second = decide(r["evidence"], context, bands)
        worst = max((before.outcome, second.outcome), key=[CALM, CHECK, CRISIS].index)
        pairs[r["label"].removeprefix("context_")].append(worst)

    def rates(outcomes: dict[str, list[str]]) -> tuple[float, float, float]:
        crisis, calm = outcomes[CRISIS], outcomes[CALM]
        recall = np.mean([o != CALM for o in crisis]) if crisis else 1.0
        fp = np.mean([o == CRISIS for o in calm]) if calm else 0.0
        check = np.mean([o == CHECK for o in calm]) if calm else 0.0
        return float(recall), float(fp), float(check)

    recall, fp, check = rates(single)
    c_recall, c_fp, c_check = rates(pairs)
    return {
        "recall": recall,
        "fp": fp,
        "check": check,
        "ctx_recall": c_recall,
        "ctx_fp": c_fp,
        "ctx_check": c_check,
    }


GRID = {
    "clear": [0.90, 0.93, 0.95, 0.97],
    "check": [0.60, 0.65, 0.70, 0.75, 0.80],
    "last_clause": [0.85, 0.90, 0.95, 1.01],
    "agree": [0.80, 0.85, 0.90, 0.95],
    "classifier_floor": [0.30, 0.40, 0.45, 0.50],
    "context_clear": [0.85, 0.90, 0.95],
    "context_check": [0.30, 0.50],
    "context_previous": [0.50, 0.60, 0.70],
    "context_calm": [0.30, 0.50, 0.60],
}


def sweep(max_fp: float, max_check: float, top: int) -> None:
    data = json.loads(EVIDENCE_FILE.read_text("utf-8"))
    views = _semantic_model()
    sets: dict[str, list[dict]] = {}
    for name, rows in data.items():
        texts = [r["text"] for r in rows] + [r["before"] for r in rows if "before" in r]
        scores = _scores(views, texts)
        for r in rows:
            r["evidence"] = _evidence(r["ev"], *scores[r["text"]])
            if "before" in r:
                r["evidence_before"] = _evidence(r["ev_before"], *scores[r["before"]])
        sets[name] = rows
    cache = views[0][1]
    for vectors in [cache, *(c for _, c in views[1].values())]:
        vectors.save()

    results = []
    keys = list(GRID)
    for values in itertools.product(*(GRID[k] for k in keys)):
        settings = dict(zip(keys, values, strict=True))
        if not settings["check"] < settings["clear"]:
            continue
        if not settings["context_check"] < settings["check"] < settings["context_clear"]:
            continue
        bands = Bands(**settings)
        figures = {name: simulate(rows, bands) for name, rows in sets.items()}
        # Single messages must meet the targets; the context pairs (written to be hard:
        # the same ambiguous words after a worrying and after a calm message) rank the rest.
        recall = min(f["recall"] for f in figures.values())
        fp = max(f["fp"] for f in figures.values())
        check = max(f["check"] for f in figures.values())
        pairs = np.mean(
            [f["ctx_recall"] - f["ctx_fp"] - 0.3 * f["ctx_check"] for f in figures.values()]
        )
        results.append((settings, figures, recall, fp, check, pairs))
    fitting = [r for r in results if r[3] <= max_fp and r[4] <= max_check]
    fitting.sort(key=lambda r: (-r[2], -r[5], r[4], r[3]))
    print(f"{len(results)} settings, {len(fitting)} within fp <= {max_fp}, check <= {max_check}")
    for settings, figures, *_ in fitting[:top]:
        print(json.dumps(settings))
        for name, f in figures.items():
            print(
                f"  {name:5s} recall {f['recall']:.3f} fp {f['fp']:.3f} check {f['check']:.3f}"
                f" | pairs recall {f['ctx_recall']:.3f} fp {f['ctx_fp']:.3f}"
                f" check {f['ctx_check']:.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--model", type=Path)
    s = sub.add_parser("sweep")
    s.add_argument("--max-fp", type=float, default=0.03)
    s.add_argument("--max-check", type=float, default=0.10)
    s.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.command == "collect":
        collect(args.model)
    else:
        sweep(args.max_fp, args.max_check, args.top)


if __name__ == "__main__":
    main()
