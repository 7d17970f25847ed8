"""A learned reading of "past and over" on e5 embeddings: can it lower a crisis word told as an
old, finished past without lowering a present crisis? Development data only.

    python benchmarks/safety_past_reading.py [--folds 5]

Issue 15, sixteenth pass. Rule 1b (`bot/safety/past.py`) read "past and over" by word lists;
a review broke it (docs/safety-review-rule1b.md) and it is off. This script measures the
alternative named in the fifteenth pass: a logistic regression on the e5 query embedding of a
message (and of its last clause), trained to tell a past that is over (calm) from a past
told beside a danger now (crisis).

Data, all readable (never a held-out set):
- `tests/crisis/crisis_set_dev6.yml` (a separate hand's 180 + 180 messages: calm pasts that
  are over, and crises with a past beside a present danger), in `--folds` stratified folds;
- every crisis exemplar of `bot/safety/exemplars.yml`, always trained on as "not over";
- checked, never trained on: the review's 40 present crises told beside a past, and every
  crisis of the development sets (`bot.safety.tune.DEV_SETS` and `LONG_SETS`) with a word-list
  hit; and the calm messages of those sets with a word-list hit (the false alarms a lowering
  could remove).

Printed per feature set, regularisation and threshold: the share of calm pasts reached
(probability of "over" at or above the threshold, out of fold; of all, and of those with a
word-list hit, the false alarms a lowering could remove), and how many present crises
would be lowered (out of fold, the review's, the development sets'). A reading is only safe at
a threshold that lowers none of them. Not a test.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REVIEW = Path(__file__).resolve().parent.parent / "docs" / "safety-review-rule1b.md"
REVIEW_HEADING = "## The 40 sentences (one per line)"
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95)
# scikit-learn's C: the inverse of the regularisation strength (larger: a closer fit).
INVERSE_REGULARISATION = (0.3, 1.0, 4.0)


def review_sentences() -> list[str]:
    lines = REVIEW.read_text("utf-8").split(REVIEW_HEADING, 1)[1].splitlines()
    return [s for line in lines if (s := line.strip().strip('"')) and not s.startswith("```")]


def fitted(rows, labels, always_present, c: float):
    """A logistic regression of "over" (1) against "not over" (0), with the crisis exemplars
    (`always_present`) trained on as "not over" in every fold."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    x = np.vstack([rows, always_present])
    return model.fit(x, np.concatenate([labels, np.zeros(len(always_present))]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import numpy as np
    import yaml
    from sklearn.model_selection import StratifiedKFold

    from bot.safety.embedder import QUERY, get_embedder
    from bot.safety.evaluate import SETS
    from bot.safety.matcher import get_matcher
    from bot.safety.semantic import last_clause, load_exemplars
    from bot.safety.tune import DEV_SETS, LONG_SETS

    matcher, embedder = get_matcher(), get_embedder()
    dev6 = yaml.safe_load(SETS["dev6"].read_text("utf-8"))
    over = [i["text"] for i in dev6["non_crisis"]]
    present = [i["text"] for i in dev6["crisis"]]
    # Only a calm past with a word-list hit gets the help at once (the false alarm a reading
    # of "over" would lower); the others are measured too, as a wider reach.
    over_hit = np.array([bool(matcher.find(t)) for t in over])
    exemplars = [e.text for e in load_exemplars() if e.crisis]
    review = review_sentences()
    dev_crisis: list[str] = []
    dev_calm: list[str] = []
    for path in {**DEV_SETS, **LONG_SETS}.values():
        data = yaml.safe_load(path.read_text("utf-8"))
        dev_crisis += [i["text"] for i in data["crisis"] if matcher.find(i["text"])]
        dev_calm += [i["text"] for i in data["non_crisis"] if matcher.find(i["text"])]
    print(
        f"dev6: {len(over)} calm pasts ({sum(bool(matcher.find(t)) for t in over)} with a "
        f"word-list hit), {len(present)} present crises; {len(exemplars)} crisis exemplars; "
        f"checked: {len(review)} review crises, {len(dev_crisis)} development crises and "
        f"{len(dev_calm)} calm messages with a word-list hit"
    )

    def features(texts: list[str], with_last: bool) -> np.ndarray:
        whole = embedder.embed(texts, QUERY)
        if not with_last:
            return whole
        return np.hstack([whole, embedder.embed([last_clause(t) or t for t in texts], QUERY)])

    for with_last in (False, True):
        x_over, x_present = features(over, with_last), features(present, with_last)
        x_ex, x_review = features(exemplars, with_last), features(review, with_last)
        x_dev, x_calm = features(dev_crisis, with_last), features(dev_calm, with_last)
        x = np.vstack([x_over, x_present])
        y = np.array([1] * len(over) + [0] * len(present))
        out_of_fold = np.zeros(len(y))
        folds = StratifiedKFold(args.folds, shuffle=True, random_state=0)
        for c in INVERSE_REGULARISATION:
            for train, held in folds.split(x, y):
                model = fitted(x[train], y[train], x_ex, c)
                out_of_fold[held] = model.predict_proba(x[held])[:, 1]
            model = fitted(x, y, x_ex, c)
            p_review = model.predict_proba(x_review)[:, 1]
            p_dev = model.predict_proba(x_dev)[:, 1]
            p_calm = model.predict_proba(x_calm)[:, 1]
            name = "whole message + last clause" if with_last else "whole message"
            print(f"\n{name}, C={c}:")
            for t in THRESHOLDS:
                print(
                    f"  p(over) >= {t:.2f}: calm pasts reached "
                    f"{np.mean(out_of_fold[y == 1] >= t):.3f}, of those with a word-list hit "
                    f"{np.mean(out_of_fold[y == 1][over_hit] >= t):.3f}; crises lowered: dev6 "
                    f"{int(np.sum(out_of_fold[y == 0] >= t))}/{len(present)}, review "
                    f"{int(np.sum(p_review >= t))}/{len(review)}, development "
                    f"{int(np.sum(p_dev >= t))}/{len(dev_crisis)}; development calm reached "
                    f"{int(np.sum(p_calm >= t))}/{len(dev_calm)}"
                )


if __name__ == "__main__":
    main()
