"""Would reading a long message sentence by sentence lower its check question?

    python benchmarks/safety_sentences.py [--model M] [--min-words 20]

Issue 15, tenth pass: an analysis for the next change, not a part of the bot. For every
message of the development sets (`bot.safety.tune.DEV_SETS` and `LONG_SETS`, all readable)
that the NLU pipeline answers with the check question from the meaning alone (detected by
"semantic"), has at least `--min-words` words and at least two sentences, each sentence (also
a short one such as "Ik wilde springen.") is parsed as a message of its own. Two readings
are counted:
- "every sentence calm": each sentence, read by the whole pipeline (word list, classifier,
  meaning), comes out calm;
- "meaning only": the same with the classifier left out of each sentence's decision (what the
  semantic component could do alone, without running the classifier per sentence).
A reading that would lower the check of a crisis lists that crisis. Prints counts per set and
the lowered crises; never reads the held-out sets. Not a test.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentences(text: str) -> list[str]:
    """The sentences of a message, split after . ! ? and at new lines; none is left out."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path)
    parser.add_argument("--min-words", type=int, default=20)
    args = parser.parse_args()

    import yaml

    from bot.safety.decision import CALM, CHECK, Context, Evidence, decide
    from bot.safety.tune import DEV_SETS, LONG_SETS, crisis_reader

    read = crisis_reader(args.model)

    def meaning_only(crisis: dict) -> str:
        evidence = replace(Evidence.from_dict(crisis.get("evidence") or {}), classifier=0.0)
        return decide(evidence, Context()).outcome

    lost: list[str] = []
    for name, path in (DEV_SETS | LONG_SETS).items():
        data = yaml.safe_load(path.read_text("utf-8"))
        counts: Counter[str] = Counter()
        for label, key in (("crisis", "crisis"), ("calm", "non_crisis")):
            for item in data[key]:
                text = item["text"]
                if len(text.split()) < args.min_words:
                    continue
                counts[f"{label} long"] += 1
                whole = read(text)
                if whole.get("outcome") != CHECK or whole.get("detected_by") != "semantic":
                    continue
                counts[f"{label} check from the meaning"] += 1
                own = sentences(text)
                if len(own) < 2:
                    continue
                counts[f"{label} ... of 2+ sentences"] += 1
                parts = [read(s) for s in own]
                if all(p.get("outcome") == CALM for p in parts):
                    counts[f"{label} lowered (every sentence calm)"] += 1
                    if label == "crisis":
                        lost.append(f"{name} (every sentence calm): {text}")
                if all(meaning_only(p) == CALM for p in parts):
                    counts[f"{label} lowered (meaning only)"] += 1
                    if label == "crisis":
                        lost.append(f"{name} (meaning only): {text}")
        print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"crises whose check would be lowered: {len(lost)}")
    for line in lost:
        print("  " + line)


if __name__ == "__main__":
    main()
