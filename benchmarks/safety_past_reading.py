"""A learned reading of "past and over" on e5 embeddings: can it lower a crisis word told as an
old, finished past without lowering a present crisis? Development data only.

    python benchmarks/safety_past_reading.py [--folds 5] [--hand dev6|dev7]

Issue 15, sixteenth pass. Rule 1b (`bot/safety/past.py`) read "past and over" by word lists;
a review broke it (docs/safety-review-rule1b.md) and it is off. This script measures the
alternative named in the fifteenth pass: a logistic regression on the e5 query embedding of a
message (and of its last clause), trained to tell a past that is over (calm) from a past
told beside a danger now (crisis).

Data, all readable (never a held-out set):
- the set of `--hand`, in `--folds` stratified folds: `tests/crisis/crisis_set_dev6.yml` (the
  default; a separate hand's 180 + 180 messages: calm pasts that are over, and crises with a
  past beside a present danger) or `tests/crisis/crisis_set_dev7.yml` (another hand's 120
  crises and 120 calm pasts; its 30 hard negatives are left out);
- every crisis exemplar of `bot/safety/exemplars.yml`, always trained on as "not over";
- checked, never trained on: the review's 40 present crises told beside a past, and every
  crisis of the development sets (`bot.safety.tune.DEV_SETS` and `LONG_SETS`) with a word-list
  hit; and the calm messages of those sets with a word-list hit (the false alarms a lowering
  could remove).

Across hands (nineteenth pass): `tests/crisis/crisis_set_dev7.yml` is the same brief by a
second separate hand. Each reading is trained on one hand's set (`--hand`, folds as above,
then on all of it) and scored on the other's, whose hand it never saw: the share of its calm
pasts with a word-list hit reached, and how many of its crises with a hit are lowered. A
lexical reading (tf-idf of words and character n-grams of the normalised text) is measured
beside the e5 ones: tense and time words are surface features. Its vocabulary is fitted on all
of the trained hand's texts and the exemplars (no labels), so its out-of-fold figure is a
little optimistic; the other hand's figure is not.

Printed per feature set, regularisation and threshold: the share of calm pasts reached
(probability of "over" at or above the threshold, out of fold; of all, and of those with a
word-list hit, the false alarms a lowering could remove), and how many present crises
would be lowered (out of fold, the review's, the development sets'). A reading is only safe at
a threshold that lowers none of them. Not a test.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

REVIEW = Path(__file__).resolve().parent.parent / "docs" / "safety-review-rule1b.md"
REVIEW_HEADING = "## The 40 sentences (one per line)"
# The two sets of pasts told beside the present, each by its own hand: trained on one, the
# other is scored only. dev6's calm messages are all pasts; dev7 also has hard negatives.
HANDS = {"dev6": "dev7", "dev7": "dev6"}
PAST = "past_over"
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95)
# scikit-learn's C: the inverse of the regularisation strength (larger: a closer fit).
INVERSE_REGULARISATION = (0.3, 1.0, 4.0)


def review_sentences() -> list[str]:
    lines = REVIEW.read_text("utf-8").split(REVIEW_HEADING, 1)[1].splitlines()
    return [s for line in lines if (s := line.strip().strip('"')) and not s.startswith("```")]


class Lexical:
    """tf-idf of words (1-2) and character n-grams (2-5) of the word list's normalised text."""

    def fit(self, texts: list[str]) -> Lexical:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union

        from bot.safety.matcher import normalise

        self._union = make_union(
            TfidfVectorizer(preprocessor=normalise, ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(
                preprocessor=normalise,
                analyzer="char_wb",
                ngram_range=(2, 5),
                min_df=2,
                sublinear_tf=True,
            ),
        ).fit(texts)
        return self

    def transform(self, texts: list[str]):
        return self._union.transform(texts)


def stacked(parts):
    """Rows stacked: the lexical reading's are sparse (CSR, so folds can index them), e5's dense."""
    import numpy as np
    from scipy import sparse

    if sparse.issparse(parts[0]):
        return sparse.vstack(parts).tocsr()
    return np.vstack(parts)


def fitted(rows, labels, always_present, c: float):
    """A logistic regression of "over" (1) against "not over" (0), with the crisis exemplars
    (`always_present`) trained on as "not over" in every fold."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    x = stacked([rows, always_present])
    return model.fit(x, np.concatenate([labels, np.zeros(always_present.shape[0])]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--hand",
        choices=sorted(HANDS),
        default="dev6",
        help="the set trained on in folds; the other hand's set is scored only",
    )
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
    trained = yaml.safe_load(SETS[args.hand].read_text("utf-8"))
    over = [i["text"] for i in trained["non_crisis"] if i.get("kind", PAST) == PAST]
    present = [i["text"] for i in trained["crisis"]]
    # Only a calm past with a word-list hit gets the help at once (the false alarm a reading
    # of "over" would lower); the others are measured too, as a wider reach.
    over_hit = np.array([bool(matcher.find(t)) for t in over])
    # The other hand's crises are counted with a word-list hit only (only a hit can be lowered
    # by this reading); the trained hand's are counted both ways, so the two compare.
    present_hit = np.array([bool(matcher.find(t)) for t in present])
    exemplars = [e.text for e in load_exemplars() if e.crisis]
    review = review_sentences()
    dev_crisis: list[str] = []
    dev_calm: list[str] = []
    for path in {**DEV_SETS, **LONG_SETS}.values():
        data = yaml.safe_load(path.read_text("utf-8"))
        dev_crisis += [i["text"] for i in data["crisis"] if matcher.find(i["text"])]
        dev_calm += [i["text"] for i in data["non_crisis"] if matcher.find(i["text"])]
    print(
        f"{args.hand}: {len(over)} calm pasts ({sum(bool(matcher.find(t)) for t in over)} with a "
        f"word-list hit), {len(present)} present crises; {len(exemplars)} crisis exemplars; "
        f"checked: {len(review)} review crises, {len(dev_crisis)} development crises and "
        f"{len(dev_calm)} calm messages with a word-list hit"
    )

    def embedded(texts: list[str], with_last: bool) -> np.ndarray:
        whole = embedder.embed(texts, QUERY)
        if not with_last:
            return whole
        return np.hstack([whole, embedder.embed([last_clause(t) or t for t in texts], QUERY)])

    across_name = HANDS[args.hand]
    across_path = SETS.get(across_name)
    across_over: list[str] = []
    across_present: list[str] = []
    if across_path is not None and across_path.exists():
        other = yaml.safe_load(across_path.read_text("utf-8"))
        across_over = [
            i["text"]
            for i in other["non_crisis"]
            if i.get("kind", PAST) == PAST and matcher.find(i["text"])
        ]
        across_present = [i["text"] for i in other["crisis"] if matcher.find(i["text"])]
        print(
            f"{across_name} (another hand, scored only): {len(across_over)} calm pasts and "
            f"{len(across_present)} crises with a word-list hit"
        )

    for reading in ("whole message", "whole message + last clause", "words"):
        if reading == "words":
            lexical = Lexical().fit(over + present + exemplars)
            features = lexical.transform
        else:
            with_last = reading != "whole message"
            features = functools.partial(embedded, with_last=with_last)
        x_over, x_present = features(over), features(present)
        x_ex, x_review = features(exemplars), features(review)
        x_dev, x_calm = features(dev_crisis), features(dev_calm)
        x_across_over = features(across_over) if across_over else None
        x_across_present = features(across_present) if across_present else None
        x = stacked([x_over, x_present])
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
            p_across_over = (
                model.predict_proba(x_across_over)[:, 1] if x_across_over is not None else None
            )
            p_across_present = (
                model.predict_proba(x_across_present)[:, 1]
                if x_across_present is not None
                else None
            )
            print(f"\n{reading}, C={c}:")
            for t in THRESHOLDS:
                print(
                    f"  p(over) >= {t:.2f}: calm pasts reached "
                    f"{np.mean(out_of_fold[y == 1] >= t):.3f}, of those with a word-list hit "
                    f"{np.mean(out_of_fold[y == 1][over_hit] >= t):.3f}; crises lowered: {args.hand} "
                    f"{int(np.sum(out_of_fold[y == 0] >= t))}/{len(present)} (with a hit "
                    f"{int(np.sum(out_of_fold[y == 0][present_hit] >= t))}/"
                    f"{int(present_hit.sum())}), review "
                    f"{int(np.sum(p_review >= t))}/{len(review)}, development "
                    f"{int(np.sum(p_dev >= t))}/{len(dev_crisis)}; development calm reached "
                    f"{int(np.sum(p_calm >= t))}/{len(dev_calm)}"
                    + (
                        f"; {across_name} (other hand): calm pasts with a hit reached "
                        f"{np.mean(p_across_over >= t):.3f}, crises lowered "
                        f"{int(np.sum(p_across_present >= t))}/{len(p_across_present)}"
                        if p_across_over is not None and p_across_present is not None
                        else ""
                    )
                )


if __name__ == "__main__":
    main()
