"""What one word-list reading costs (`CrisisMatcher.analyse`, uncached), for word-list changes.

    python benchmarks/word_list.py [--base REV] [--runs 5]

Reads every text of the readable crisis sets once per run and prints the median time of one
reading (the median of the run medians). With `--base`, the word list and matcher of that git
revision (checked out into a temporary worktree) are timed in the same process, alternating
run by run, and the ratio is printed. A turn reads the message and some of its clauses; the
rest of the safety layer's cost is measured by `benchmarks/safety_cost.py`. Not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _matcher_at(rev: str, nlp, workdir: Path):
    """The CrisisMatcher class and word list of another revision, on this process's pipeline."""
    tree = workdir / "base"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
        check=True,
        capture_output=True,
    )
    try:
        spec = importlib.util.spec_from_file_location(
            "base_matcher", tree / "bot/safety/matcher.py"
        )
        if spec is None or spec.loader is None:
            raise SystemExit(f"no bot/safety/matcher.py at {rev}")
        module = importlib.util.module_from_spec(spec)
        sys.modules["base_matcher"] = module
        spec.loader.exec_module(module)
        return module.CrisisMatcher(nlp, module.load_patterns(tree / "bot/safety/patterns.yml"))
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
            check=False,
            capture_output=True,
        )


def _median_ms(matcher, texts: list[str]) -> float:
    times = []
    for text in texts:
        start = time.perf_counter()
        matcher.analyse(text, remember=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a git revision to compare with")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import yaml

    from bot.safety.evaluate import READABLE, SETS
    from bot.safety.matcher import get_matcher

    texts = [
        item["text"]
        for name in sorted(READABLE)
        for key in ("crisis", "non_crisis")
        for item in yaml.safe_load(SETS[name].read_text("utf-8"))[key]
    ]
    current = get_matcher()
    with tempfile.TemporaryDirectory() as workdir:
        base = _matcher_at(args.base, current.nlp, Path(workdir)) if args.base else None
        runs: dict[str, list[float]] = {"current": [], "base": []}
        for _ in range(args.runs):
            runs["current"].append(_median_ms(current, texts))
            if base is not None:
                runs["base"].append(_median_ms(base, texts))
    now = statistics.median(runs["current"])
    print(f"{len(texts)} texts, {args.runs} runs: one reading {now:.3f} ms (median of medians)")
    if base is not None:
        before = statistics.median(runs["base"])
        print(f"base {args.base}: {before:.3f} ms; ratio {now / before:.2f}")


if __name__ == "__main__":
    main()
