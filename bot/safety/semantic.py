"""The semantic safety net: how much does a message *mean* crisis, whatever its words?

Every message is embedded (`bot.safety.embedder`, multilingual-e5-small) and compared with
the crisis examples (the NLU `crisis` intent plus the curated exemplars per category in
`bot/safety/exemplars.yml`) and everything calm (all other NLU examples plus the exemplars'
calm hard negatives):
- the probability of crisis comes from the margin between its nearest crisis and its nearest
  calm examples (`SemanticModel`); the bands in `bot.safety.decision` use it. A message that
  scores at least `MORE_VIEWS_FROM` is read twice more (e5's other prefix and its sparse
  latent terms), and its score is the mean of the three views (`combined`);
- the categories of the nearest crisis exemplars give the message's category, and the nearest
  crisis and calm sentences are kept as a readable explanation ("lijkt op: ...") for
  reviewers and for the worker's alert view.

This module is plain numpy/scikit-learn; `bot.safety.component.SemanticCrisisScorer` wraps it
as a Rasa NLU component that is trained with the model and loaded once per process.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml

from bot.safety.embedder import EmbeddingCache

EXEMPLARS_FILE = Path(__file__).resolve().parent / "exemplars.yml"
CRISIS_CATEGORIES = (
    "suicide",
    "self_harm",
    "overdose",
    "danger_to_others",
    "threatened",
    "abuse",
)
NEAREST_K = 3
# The category of NLU `crisis` examples, which have none of their own.
UNLABELLED = "-"
# The last clause of a longer message is scored on its own too (sixth pass): a crisis told
# after an ordinary opening ("buurman zet zn muziek keihard. morgen ga ik met mn mes naar hem
# toe") averages out to calm in one embedding of the whole message.
CLAUSE_SPLIT = re.compile(
    # A full stop, colon or comma inside a number ("om 9.30", "3,50 euro") is no boundary.
    r"(?:(?<!\d)[.:](?!\d)|[!?;\n])+|(?<!\d),(?!\d)\s*"
    r"|\s+(?:en|maar|want|dus|omdat|toen|daarna|terwijl)\s+",
    re.IGNORECASE,
)
LAST_CLAUSE_MIN_MESSAGE_WORDS = 6
LAST_CLAUSE_MIN_WORDS = 3
# More views (eighth pass): a message that scores at least this on the first view (e5's
# "query: " prefix) is read twice more, with e5's "passage: " prefix and as e5's sparse
# latent terms (`bot.safety.embedder.VIEWS`), each scored on its own net fitted on the same
# examples in that view; its score is the mean of the three (`combined`). Below it the first
# view alone decides: on the development sets no message under 0.45 reached a band with the
# mean (docs/safety.md, "Eighth pass").
MORE_VIEWS_FROM = 0.45


def combined(probabilities: list[float]) -> float:
    """P(crisis) from several views of one message: their mean. Where the readings disagree
    the message is neither clear nor calm; where they agree the score stands."""
    return float(sum(probabilities) / len(probabilities))


def _similarities(vectors, examples) -> np.ndarray:
    """Cosine similarities (rows: vectors), dense, also for the sparse `terms` view."""
    sims = vectors @ examples.T
    return sims.toarray() if hasattr(sims, "toarray") else np.asarray(sims)


def clauses(text: str) -> list[str]:
    """The clauses of at least 3 words of a message of at least 6 words that has at least two
    of them; an empty list otherwise (a short message, or one clause)."""
    if len(text.split()) < LAST_CLAUSE_MIN_MESSAGE_WORDS:
        return []
    parts = [p for p in fragments(text) if len(p.split()) >= LAST_CLAUSE_MIN_WORDS]
    return parts if len(parts) >= 2 else []


def fragments(text: str) -> list[str]:
    """Every piece of the clause split, also those under three words ("wil sterven"): what is
    scored on its own for the "no part looks like a crisis" rule of bot.safety.decision."""
    return [p.strip() for p in CLAUSE_SPLIT.split(text) if p and p.strip()]


def last_clause(text: str) -> str | None:
    """The last clause of a message of at least 6 words that has at least two clauses of at
    least 3 words each; None otherwise."""
    parts = clauses(text)
    return parts[-1] if parts else None


@dataclass(frozen=True)
class Example:
    text: str
    crisis: bool
    # A crisis category, or a calm kind ("hard_negative", ...); None for NLU examples.
    label: str | None = None


@dataclass(frozen=True)
class SemanticScore:
    """What the semantic net says about one message."""

    probability: float  # P(crisis) from the logistic regression
    category: str  # the category of the nearest crisis exemplars
    nearest_crisis: str  # the most similar crisis exemplar ...
    crisis_similarity: float  # ... and its cosine similarity
    nearest_calm: str  # the most similar calm exemplar ...
    calm_similarity: float  # ... and its cosine similarity

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def load_exemplars(path: Path = EXEMPLARS_FILE) -> list[Example]:
    """The curated exemplars: crisis sentences per category, calm sentences per kind."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples: list[Example] = []
    for category, texts in (data.get("crisis") or {}).items():
        if category not in CRISIS_CATEGORIES:
            raise ValueError(f"{path}: unknown crisis category {category!r}")
        examples += [Example(str(t), True, category) for t in texts]
    for kind, texts in (data.get("calm") or {}).items():
        examples += [Example(str(t), False, kind) for t in texts]
    return examples


class SemanticModel:
    """Nearest-neighbour margin on e5 embeddings, calibrated to a probability.

    margin(v) = mean cosine similarity of the K nearest crisis examples
              - mean cosine similarity of the K nearest calm examples
    P(crisis) = 1 / (1 + exp(-(a * margin + b)))

    a and b come from a logistic regression on the training examples' own leave-one-out
    margins (each example scored without itself), with balanced class weights. On the
    development sets this nearest-neighbour margin separated crisis from calm better than a
    logistic regression on the raw embeddings (docs/safety.md).
    """

    FILE = "semantic_safety.npz"
    META = "semantic_safety.json"

    def __init__(
        self,
        crisis_vectors: np.ndarray,
        crisis_labels: list[str],
        crisis_texts: list[str],
        calm_vectors: np.ndarray,
        calm_texts: list[str],
        a: float,
        b: float,
        k: int = NEAREST_K,
    ) -> None:
        self.crisis_vectors = crisis_vectors
        self.crisis_labels = crisis_labels
        self.crisis_texts = crisis_texts
        self.calm_vectors = calm_vectors
        self.calm_texts = calm_texts
        self.a = float(a)
        self.b = float(b)
        self.k = int(k)

    # --- training ---------------------------------------------------------------------------

    @classmethod
    def fit(
        cls, examples: list[Example], cache: EmbeddingCache, k: int = NEAREST_K
    ) -> SemanticModel:
        from sklearn.linear_model import LogisticRegression

        # One example per text: a sentence that is in both classes counts as crisis.
        by_text: dict[str, Example] = {}
        for ex in examples:
            if ex.text not in by_text or (ex.crisis and not by_text[ex.text].crisis):
                by_text[ex.text] = ex
        unique = list(by_text.values())
        crisis = [e for e in unique if e.crisis]
        calm = [e for e in unique if not e.crisis]
        if len(crisis) <= k or len(calm) <= k:
            raise ValueError("the semantic safety net needs crisis and calm examples")
        crisis_vectors = cache.embed([e.text for e in crisis])
        calm_vectors = cache.embed([e.text for e in calm])
        model = cls(
            crisis_vectors,
            [e.label or UNLABELLED for e in crisis],
            [e.text for e in crisis],
            calm_vectors,
            [e.text for e in calm],
            a=1.0,
            b=0.0,
            k=k,
        )
        # Leave-one-out margins: every example is scored without itself.
        margins = np.concatenate(
            [model.margins(crisis_vectors, own="crisis"), model.margins(calm_vectors, own="calm")]
        )
        labels = np.array([1] * len(crisis) + [0] * len(calm))
        lr = LogisticRegression(class_weight="balanced", C=100.0, random_state=0)
        lr.fit(margins[:, None], labels)
        model.a, model.b = float(lr.coef_[0][0]), float(lr.intercept_[0])
        return model

    # --- scoring ----------------------------------------------------------------------------

    def margins(self, vectors: np.ndarray, own: str | None = None) -> np.ndarray:
        """The margin of each row; `own` ("crisis"/"calm") leaves each row's own entry out
        (the rows are then that class's training vectors, in order)."""
        crisis_sims = _similarities(vectors, self.crisis_vectors)
        calm_sims = _similarities(vectors, self.calm_vectors)
        if own == "crisis":
            np.fill_diagonal(crisis_sims, -1.0)
        elif own == "calm":
            np.fill_diagonal(calm_sims, -1.0)
        k = self.k
        top_crisis = np.partition(crisis_sims, -k, axis=1)[:, -k:].mean(axis=1)
        top_calm = np.partition(calm_sims, -k, axis=1)[:, -k:].mean(axis=1)
        return top_crisis - top_calm

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * self.margins(vectors) + self.b)))

    def score(self, vector: np.ndarray) -> SemanticScore:
        p = float(self.probability(vector[None, :])[0])
        crisis_sims = self.crisis_vectors @ vector
        calm_sims = self.calm_vectors @ vector
        order = np.argsort(-crisis_sims)
        labelled = [int(i) for i in order[: 4 * self.k] if self.crisis_labels[i] != UNLABELLED]
        # The category most frequent among the nearest labelled exemplars (ties: the nearest).
        votes: dict[str, float] = {}
        for i in labelled[: self.k]:
            votes[self.crisis_labels[i]] = votes.get(self.crisis_labels[i], 0.0) + float(
                crisis_sims[i]
            )
        category = max(votes, key=votes.__getitem__) if votes else "unknown"
        ci = int(order[0])
        li = int(np.argmax(calm_sims))
        return SemanticScore(
            probability=p,
            category=category,
            nearest_crisis=self.crisis_texts[ci],
            crisis_similarity=float(crisis_sims[ci]),
            nearest_calm=self.calm_texts[li],
            calm_similarity=float(calm_sims[li]),
        )

    # --- persistence ------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        np.savez(
            directory / self.FILE,
            **_pack("crisis_vectors", self.crisis_vectors),
            **_pack("calm_vectors", self.calm_vectors),
        )
        meta = {
            "a": self.a,
            "b": self.b,
            "k": self.k,
            "crisis_labels": self.crisis_labels,
            "crisis_texts": self.crisis_texts,
            "calm_texts": self.calm_texts,
        }
        (directory / self.META).write_text(json.dumps(meta, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, directory: Path) -> SemanticModel:
        meta = json.loads((directory / cls.META).read_text("utf-8"))
        with np.load(directory / cls.FILE) as data:
            return cls(
                _unpack("crisis_vectors", data),
                meta["crisis_labels"],
                meta["crisis_texts"],
                _unpack("calm_vectors", data),
                meta["calm_texts"],
                a=meta["a"],
                b=meta["b"],
                k=meta["k"],
            )


def _pack(name: str, vectors) -> dict[str, np.ndarray]:
    """A dense array as it is; a sparse (`terms`) matrix as its CSR arrays."""
    if not hasattr(vectors, "indptr"):
        return {name: vectors}
    return {
        f"{name}_data": vectors.data,
        f"{name}_indices": vectors.indices,
        f"{name}_indptr": vectors.indptr,
        f"{name}_shape": np.asarray(vectors.shape),
    }


def _unpack(name: str, data):
    if name in data.files:
        return data[name]
    from scipy import sparse

    return sparse.csr_matrix(
        (data[f"{name}_data"], data[f"{name}_indices"], data[f"{name}_indptr"]),
        shape=tuple(data[f"{name}_shape"]),
    )
