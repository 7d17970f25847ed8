"""The safety layer of the NLU pipeline: two Rasa components that run on every user message
(also a free-text answer inside a form), after the intent classifier.

- `SemanticCrisisScorer` (trained with the model): embeds the message with the offline e5
  model and scores it with `bot.safety.semantic.SemanticModel`; a message that scores
  `more_views_from` or more is read twice more (e5's "passage: " prefix, e5's sparse latent
  terms), each on its own net, and scored by the mean of the three views
  (`bot.safety.semantic.combined`).
- `CrisisGuard`: gathers the evidence (word list, classifier, semantic net) and applies
  `bot.safety.decision.decide` without conversation context:
  - CRISIS: intent `crisis` (confidence 1.0 for a word-list hit);
  - CHECK: intent `crisis_check`, which asks a calm check question first;
  - CALM: a `crisis` guess of the classifier is replaced by its next intent.
  The message gets a `crisis` property (outcome, category, detected_by, matched text, the
  evidence and the semantic explanation) that the policy and the custom actions read.

`bot.safety.policy.SafetyContextPolicy` applies the same decision with the conversation's
context (previous message, mood).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.check_answer import words_deny_harm
from bot.safety.decision import (
    CALM,
    CHECK,
    CLAUSE_REASON,
    CRISIS,
    LAST_CLAUSE_REASON,
    NEVER_DOUBTED,
    SENTENCE_MAX,
    SENTENCE_MIN_WORDS,
    UNKNOWN,
    Bands,
    Context,
    Decision,
    Evidence,
    decide,
)
from bot.safety.embedder import PASSAGE, TERMS
from bot.safety.matcher import CrisisMatcher, get_matcher
from bot.safety.past import told_as_past
from bot.safety.semantic import (
    EXEMPLARS_FILE,
    MORE_VIEWS_FROM,
    Example,
    SemanticModel,
    clauses,
    combined,
    fragments,
    load_exemplars,
)
from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

CRISIS_PROPERTY = "crisis"
SEMANTIC_PROPERTY = "crisis_semantic"
FALLBACK_INTENT = "nlu_fallback"
# A dropped crisis guess falls back to the next intent only from this confidence.
NEXT_INTENT_FLOOR = 0.3
CRISIS_INTENT = "crisis"
CHECK_INTENT = "crisis_check"
EMBEDDING_CACHE = PROJECT_ROOT / "build" / "embeddings" / "e5-cache.npz"
# The views read after the first (eighth pass); each net is kept in a folder of that name
# inside the component's resource, each view's vectors in a cache of its own.
MORE_VIEWS = (PASSAGE, TERMS)


def view_cache(view: str) -> Path:
    return EMBEDDING_CACHE.with_name(f"e5-{view}-cache.npz")


SEMANTIC_CODE = Path(__file__).with_name("semantic.py")
EMBEDDER_CODE = Path(__file__).with_name("embedder.py")
# A message of more pieces than this (a pasted text) is not scored piece by piece.
MAX_PARTS = 12
PARTS_FROM = 0.60
# Every clause of a long message is read on its own (thirteenth pass, rule 5c of
# bot.safety.decision): e5 reads a day told in detail by its form, so a crisis in a middle
# clause of a long story averages out to calm in one embedding of the whole message.
EVERY_CLAUSE_MIN_WORDS = 20
# ... and at most this many of its clauses (a pasted text of 2,000 characters has about 50).
EVERY_CLAUSE_MAX = 24


def pieces_to_score(text: str, probability: float, parts_from: float = PARTS_FROM) -> list[str]:
    """The pieces of a message to score one by one for `parts_max` (the "no part looks like
    a crisis" rule of bot.safety.decision): all pieces of the clause split (`fragments`) of a
    message of two or more clauses that scores at least `parts_from` as a whole, and at most
    `MAX_PARTS` of them; none otherwise. The NLU component and the tuning sweep both use it."""
    if probability < parts_from or not clauses(text):
        return []
    pieces = fragments(text)
    return pieces if len(pieces) <= MAX_PARTS else []


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class SemanticCrisisScorer(GraphComponent):
    """Scores every message on the semantic safety net (`crisis_semantic` property)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "crisis_intent": CRISIS_INTENT,
            # Curated exemplars beside the NLU data (relative to the project).
            "exemplars": str(EXEMPLARS_FILE.relative_to(PROJECT_ROOT)),
            # The number of nearest examples on each side of the margin.
            "k": 3,
            # The spaCy pipeline of the word list (None: the default), which finds the
            # clauses that hold crisis words (`hit_clauses`, for rule 1a). Keep it the same as
            # CrisisGuard's: with another one a hit may lie in no clause read for it, and is
            # then never doubted (the safe side).
            "pipeline_path": None,
            # Every piece of a longer message is scored on its own (`parts_max`, for the
            # "no part looks like a crisis" rule of bot.safety.decision) only when the whole
            # message scores at least this: below the lowest band that rule changes (the check
            # band, 0.65), so that most messages need no more than two embeddings.
            "parts_from": PARTS_FROM,
            # A message that scores at least this on the first view is read twice more
            # (MORE_VIEWS); its score is the mean of the three views.
            "more_views_from": MORE_VIEWS_FROM,
            # Every clause of a message of at least this many words is read on its own
            # (`clauses_max`, rule 5c).
            "every_clause_min_words": EVERY_CLAUSE_MIN_WORDS,
            # Part of Rasa's training cache key: editing the exemplars retrains this component.
            "exemplars_sha256": hashlib.sha256(EXEMPLARS_FILE.read_bytes()).hexdigest(),
            # ... and so does editing the semantic net's code (Rasa's own fingerprint only
            # covers this class's source, not the module that does the work).
            "code_sha256": hashlib.sha256(SEMANTIC_CODE.read_bytes()).hexdigest(),
            # ... and editing the embedder (it makes the vectors every view's net keeps).
            "embedder_sha256": hashlib.sha256(EMBEDDER_CODE.read_bytes()).hexdigest(),
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: SemanticModel | None = None,
        more_views: dict[str, SemanticModel] | None = None,
    ) -> None:
        self.config = config
        self._storage = model_storage
        self._resource = resource
        self.model = model
        # The nets of the other views by name; empty: the first view alone decides.
        self.more_views = dict(more_views or {})

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SemanticCrisisScorer:
        return cls(config, model_storage, resource)

    def training_examples(self, training_data: TrainingData) -> list[Example]:
        intent = self.config["crisis_intent"]
        examples = [
            Example(m.get(TEXT), m.get(INTENT) == intent)
            for m in training_data.intent_examples
            if m.get(TEXT)
        ]
        return examples + load_exemplars(PROJECT_ROOT / self.config["exemplars"])

    def train(self, training_data: TrainingData) -> Resource:
        from bot.safety.embedder import EmbeddingCache

        examples = self.training_examples(training_data)
        k = int(self.config["k"])
        cache = EmbeddingCache(EMBEDDING_CACHE)
        self.model = SemanticModel.fit(examples, cache, k=k)
        cache.save()
        for view in MORE_VIEWS:
            view_vectors = EmbeddingCache(view_cache(view), view=view)
            self.more_views[view] = SemanticModel.fit(examples, view_vectors, k=k)
            view_vectors.save()
        with self._storage.write_to(self._resource) as directory:
            self.model.save(Path(directory))
            for view, net in self.more_views.items():
                (Path(directory) / view).mkdir()
                net.save(Path(directory) / view)
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SemanticCrisisScorer:
        with model_storage.read_from(resource) as directory:
            model = SemanticModel.load(Path(directory))
            # (A model trained before the eighth pass has the first view only.)
            more_views = {
                view: SemanticModel.load(Path(directory) / view)
                for view in MORE_VIEWS
                if (Path(directory) / view).is_dir()
            }
        return cls(config, model_storage, resource, model, more_views)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None:
            return messages
        from bot.safety.embedder import get_embedder

        texts = [(m, m.get(TEXT) or "") for m in messages]
        wanted = [(m, t) for m, t in texts if t.strip()]
        if not wanted:
            return messages
        embedder = get_embedder()
        parts = [clauses(t) for _, t in wanted]
        lasts = [p[-1] for p in parts if p]
        # Rule 5c's clauses are read in this batch too, beside the messages (the embedder
        # shares one call out over its threads); `_score_clauses` finds them in its memory.
        try:
            every = [c for read in self._every_clause(parts, [t for _, t in wanted]) for c in read]
        except Exception:  # `_score_clauses` reports it and leaves rule 5c out
            every = []
        try:
            vectors = embedder.embed([t for _, t in wanted] + lasts + every)
        except Exception:  # rule 5c's clauses must not take the messages' reading with them
            if not every:
                raise
            logger.exception("reading %d clauses with their messages failed", len(every))
            vectors = embedder.embed([t for _, t in wanted] + lasts)
        last_vectors = iter(vectors[len(wanted) : len(wanted) + len(lasts)])
        scores: list[dict[str, Any]] = []
        for vector, own_parts in zip(vectors[: len(wanted)], parts, strict=True):
            score = self.model.score(vector).as_dict()
            # The last clause on its own (see bot.safety.semantic.last_clause): its score,
            # category and nearest crisis sentence (for rule 5b and the worker's alert).
            if own_parts:
                own = self.model.score(next(last_vectors))
                score["last_clause"] = round(own.probability, 4)
                score["last_clause_text"] = own_parts[-1]
                score["last_clause_category"] = own.category
                score["last_clause_nearest"] = own.nearest_crisis
            scores.append(score)
        self._more_views(scores, [t for _, t in wanted])
        self._score_parts(scores, [t for _, t in wanted])
        self._score_hit_clauses(scores, parts, [t for _, t in wanted])
        self._score_clauses(scores, parts, [t for _, t in wanted])
        for (message, _), score in zip(wanted, scores, strict=True):
            message.set(SEMANTIC_PROPERTY, score, add_to_output=True)
        return messages

    def _more_views(self, scores: list[dict[str, Any]], texts: list[str]) -> None:
        """The messages that score `more_views_from` or more are read in the other views, one
        batch per view, the views at once; their `probability` becomes the mean of the views
        (`views` keeps each one). A view whose embedding fails is left out: the others' mean
        stands."""
        from bot.safety.embedder import get_embedder

        floor = float(self.config.get("more_views_from", MORE_VIEWS_FROM))
        todo = [(s, t) for s, t in zip(scores, texts, strict=True) if s["probability"] >= floor]
        if not todo or not self.more_views:
            return
        for score, _ in todo:
            score["views"] = {"query": score["probability"]}
        try:  # all views at once (bot.safety.embedder.THREADS)
            read = get_embedder().embed_views([t for _, t in todo], tuple(self.more_views))
        except Exception as error:  # a safety net must not take the message's verdict with it
            read = dict.fromkeys(self.more_views, error)
        for view, net in self.more_views.items():
            if isinstance(read[view], Exception):
                logger.error(
                    "the %s view of %d messages failed", view, len(todo), exc_info=read[view]
                )
                continue
            try:
                probabilities = net.probability(read[view])
            except Exception:  # a safety net must not take the message's verdict with it
                logger.exception("the %s view of %d messages failed", view, len(todo))
                continue
            for (score, _), p in zip(todo, probabilities, strict=True):
                score["views"][view] = round(float(p), 4)
        for score, _ in todo:
            score["probability"] = round(combined(list(score["views"].values())), 4)

    def _score_parts(self, scores: list[dict[str, Any]], texts: list[str]) -> None:
        """`parts_max`: the highest score of any one piece (`pieces_to_score`), all in one more
        batch. Left unset (the rule does not apply) when the embedding fails: the whole
        message's score stands."""
        from bot.safety.embedder import get_embedder

        assert self.model is not None
        floor = float(self.config.get("parts_from", PARTS_FROM))
        todo = [
            (score, pieces)
            for score, text in zip(scores, texts, strict=True)
            if (pieces := pieces_to_score(text, score["probability"], floor))
        ]
        if not todo:
            return
        try:
            probabilities = self.model.probability(
                get_embedder().embed([p for _, pieces in todo for p in pieces])
            )
        except Exception:  # a safety net must not take the message's verdict with it
            logger.exception("scoring the parts of %d messages failed", len(todo))
            return
        at = 0
        for score, pieces in todo:
            score["parts_max"] = round(float(probabilities[at : at + len(pieces)].max()), 4)
            at += len(pieces)

    def _score_hit_clauses(
        self, scores: list[dict[str, Any]], parts: list[list[str]], texts: list[str]
    ) -> None:
        """`hit_clauses`: each clause other than the last (that one is scored already) that
        holds a word-list hit, with its score read on its own, all in one more batch. Rule 1a
        of bot.safety.decision may doubt a hit only where the meaning read the part that
        holds it. Left unset when the embedding fails: then such a hit is never doubted."""
        from bot.safety.embedder import get_embedder

        assert self.model is not None
        try:
            matcher = get_matcher(self.config.get("pipeline_path"))
            todo = [
                (score, holding)
                for score, own, text in zip(scores, parts, texts, strict=True)
                if own
                and matcher.find(text)
                and (holding := [c for c in own[:-1] if matcher.find(c)])
            ]
            if not todo:
                return
            probabilities = self.model.probability(
                get_embedder().embed([c for _, holding in todo for c in holding])
            )
        except Exception:  # a safety net must not take the message's verdict with it
            logger.exception("scoring the hit clauses failed")
            return
        at = iter(probabilities)
        for score, holding in todo:
            score["hit_clauses"] = [[c, round(float(next(at)), 4)] for c in holding]

    def _every_clause(self, parts: list[list[str]], texts: list[str]) -> list[list[str]]:
        """Per message the clauses rule 5c reads (`_score_clauses`); none for a message under
        `every_clause_min_words` words."""
        min_words = int(self.config.get("every_clause_min_words", EVERY_CLAUSE_MIN_WORDS))
        matcher = get_matcher(self.config.get("pipeline_path"))
        return [
            [c for c in own if not matcher.analyse(c)[1]][:EVERY_CLAUSE_MAX]
            if len(text.split()) >= min_words
            else []
            for own, text in zip(parts, texts, strict=True)
        ]

    def _score_clauses(
        self, scores: list[dict[str, Any]], parts: list[list[str]], texts: list[str]
    ) -> None:
        """`clauses_max`: the highest score of the clauses of a message of at least
        `every_clause_min_words` words and two or more clauses of 3+ words, each read on its
        own as a message is (the mean of the three views from `more_views_from`), with its
        text, category and nearest crisis sentence (for rule 5c and the worker's alert).
        A clause that holds an everyday idiom ("ik lach me dood om de hond") is left out, so
        that it cannot hide a worrying clause that reads lower; at most `EVERY_CLAUSE_MAX`
        clauses of a message are read (the first ones; the last is read for rule 5b anyway).
        Their first view comes from the embedder's memory (`process` reads them with the
        messages), and the other views in one more batch for the clauses that reach
        `more_views_from`. Left unset when the word list or the embedding fails: then rule 5c
        does not apply."""
        from bot.safety.embedder import get_embedder

        assert self.model is not None
        try:
            todo = [
                (score, read)
                for score, read in zip(scores, self._every_clause(parts, texts), strict=True)
                if read
            ]
            if not todo:
                return
            texts_read = [c for _, read in todo for c in read]
            vectors = get_embedder().embed(texts_read)
            if len(vectors) != len(texts_read):
                raise ValueError(f"{len(vectors)} embeddings for {len(texts_read)} clauses")
        except Exception:  # a safety net must not take the message's verdict with it
            logger.exception("scoring the clauses of long messages failed")
            return
        scored = [self.model.score(v).as_dict() for v in vectors]
        self._more_views(scored, texts_read)
        at = 0
        for score, read in todo:
            best = max(range(at, at + len(read)), key=lambda i: scored[i]["probability"])
            at += len(read)
            score["clauses_max"] = scored[best]["probability"]
            score["clauses_max_text"] = texts_read[best]
            score["clauses_max_category"] = scored[best]["category"]
            score["clauses_max_nearest"] = scored[best]["nearest_crisis"]


# A sentence ends after . ! ? (not after a known abbreviation, a number such as "1." or an
# ellipsis: "ik wil... dood" stays one) and at a new line.
SENTENCE_END = re.compile(
    r"(?<!\bo\.a\.)(?<!\bbijv\.)(?<!\bdr\.)(?<!\bDr\.)(?<!\bmr\.)(?<!\bnl\.)(?<!\bca\.)"
    r"(?<!\d\.)(?<!\.\.)(?<=[.!?])\s+|\n+"
)


def sentences(text: str) -> list[str]:
    """The sentences of a message, split after . ! ? and at new lines; none is left out."""
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def reader_target(context: ExecutionContext | None) -> str | None:
    """The node whose output rule 9 reads each sentence with: the guard's input, when that is
    the semantic scorer (then the model's own pipeline up to it gives every sentence the word
    list's, the classifier's and the meaning's evidence). None without a model graph that
    holds this node (unit tests, training) or with another input (a reordered pipeline, where
    every sentence would read calm): then rule 9 is off."""
    schema = getattr(context, "graph_schema", None)
    if context is None or schema is None:
        return None
    node = schema.nodes.get(context.node_name or "")
    if node is None or "messages" not in node.needs:
        return None
    target = node.needs["messages"]
    if not issubclass(schema.nodes[target].uses, SemanticCrisisScorer):
        logger.warning("rule 9 is off: %s does not feed the crisis guard", target)
        return None
    return target


def running_graph(target: str) -> Any | None:
    """The graph runner that is running this message and holds `target`, from the call stack
    (Rasa 3.6: `DaskGraphRunner.run` runs every node in the calling thread). Rule 9 reads
    sentences with it, so the components the model loaded once are used again, not loaded a
    second time (the classifier: about 30 s and 420 MB). None when no such runner is on the
    stack."""
    import sys

    from rasa.engine.runner.dask import DaskGraphRunner

    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        runner = frame.f_locals.get("self")
        if isinstance(runner, DaskGraphRunner) and target in runner._instantiated_nodes:
            return runner
        frame = frame.f_back
    return None


def graph_reader(runner: Any, target: str) -> Callable[[list[str]], list[Message]]:
    """Reads texts as messages with `runner`'s nodes up to `target`, in one batch."""
    from rasa.core.channels.channel import UserMessage
    from rasa.engine.constants import PLACEHOLDER_MESSAGE

    def read(texts: list[str]) -> list[Message]:
        result = runner.run({PLACEHOLDER_MESSAGE: [UserMessage(t) for t in texts]}, [target])
        return list(result[target])

    return read


def _switch(config: dict[str, Any], name: str) -> bool:
    """A rule's switch (`read_sentences`: rule 9; `read_past`: rule 1b), strictly a boolean:
    "false" in quotes must not switch a rule on."""
    value = config.get(name, False)
    if not isinstance(value, bool):
        raise InvalidConfigException(f"{name} must be true or false, not {value!r}")
    return value


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisGuard(GraphComponent):
    """Word list + classifier + semantic net -> crisis, check or calm (no context)."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "crisis_intent": CRISIS_INTENT,
            "check_intent": CHECK_INTENT,
            "pipeline_path": None,
            # The bands of bot.safety.decision.Bands; unset values keep their defaults.
            "bands": {},
            # Rule 9 (read a long message's sentences one by one and drop the check when all
            # are calm). Off by default: on the held-out sets it dropped 29 checks on calm
            # messages and the check on one suicide message (docs/safety.md, twelfth pass).
            "read_sentences": False,
            # Rule 1b (a word-list hit told as a past that is over: the check question first).
            # Off by default since the fifteenth pass: on all held-out sets it reaches 3 calm
            # messages, and a review made it lower 27 of 40 present crises told beside a past
            # ("ik snij mezelf zoals vroeger, nu voel ik me beter"; docs/safety.md).
            "read_past": False,
        }

    def __init__(
        self,
        config: dict[str, Any],
        matcher: CrisisMatcher | None = None,
        reader: Callable[[list[str]], list[Message]] | None = None,
        reader_target: str | None = None,
    ) -> None:
        self.intent = config.get("crisis_intent", CRISIS_INTENT)
        self.check_intent = config.get("check_intent", CHECK_INTENT)
        self.bands = Bands.from_config(config.get("bands") or {})
        self.matcher = matcher or get_matcher(config.get("pipeline_path"))
        # Reads extra texts (the sentences of a long message, rule 9) with the pipeline up to
        # this component: given (tests), or made at the first long message from the running
        # graph and `reader_target`. Neither, or `read_sentences` not set: rule 9 is off.
        self.reader = reader
        self.reader_target = reader_target
        self.read_sentences = _switch(config, "read_sentences")
        self.read_past = _switch(config, "read_past")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisGuard:
        on = _switch(config, "read_sentences")
        return cls(config, reader_target=reader_target(execution_context) if on else None)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def evidence(self, message: Message) -> tuple[Evidence, str | None]:
        """The three signals for one message, and the matched crisis words (if any)."""
        text = message.get(TEXT) or ""
        ranking: list[dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
        hits, idioms = self.matcher.analyse(text)
        # A phrase that only asks (rule 7a) counts when the word list has no hit.
        asked = None if hits else self.matcher.ask(text)
        semantic = message.get(SEMANTIC_PROPERTY) or {}
        clause = semantic.get("last_clause_text")
        # Rule 5b is stopped only by an everyday idiom inside the clause itself.
        clause_hits, clause_idioms = self.matcher.analyse(clause) if clause else ([], 0)
        # ... and rule 5c only by one inside the highest clause of a long message.
        highest = semantic.get("clauses_max_text")
        _, highest_idioms = self.matcher.analyse(highest) if highest else ([], 0)
        # Rule 1a may doubt only hits the meaning read on its own: in a message of one clause
        # (no last clause of its own), or each in the last clause or in another clause that
        # was scored on its own (`hit_clauses`); and never an overdose, abuse or a threat.
        # Counted, not only named: a second "zelfmoord" in a piece that was not read keeps the
        # help even when the same word also stands in a clause that was.
        hit_clauses = [(str(c), float(p)) for c, p in semantic.get("hit_clauses") or []]
        read_hits = Counter(h.text for h in clause_hits)
        for other, _ in hit_clauses:
            read_hits.update(h.text for h in self.matcher.find(other))
        doubtable = (
            bool(hits)
            and all(h.category not in NEVER_DOUBTED for h in hits)
            and (not clause or Counter(h.text for h in hits) <= read_hits)
        )
        # The classifier's own top choice, ignoring the fallback label.
        top = next((r for r in ranking if r.get("name") != FALLBACK_INTENT), None)
        classifier = (
            float(top.get("confidence") or 0.0) if top and top.get("name") == self.intent else 0.0
        )
        evidence = Evidence(
            matcher_category=hits[0].category if hits else None,
            asked=asked.category if asked else None,
            idiom_only=bool(idioms) and not hits,
            classifier=classifier,
            semantic=float(semantic.get("probability") or 0.0),
            semantic_last=float(semantic.get("last_clause") or 0.0),
            semantic_last_category=semantic.get("last_clause_category") or "unknown",
            last_idiom_only=bool(clause_idioms),
            semantic_category=semantic.get("category") or "unknown",
            semantic_parts=semantic.get("parts_max"),
            semantic_first=(semantic.get("views") or {}).get("query"),
            words=len(text.split()),
            semantic_read="probability" in semantic,
            matcher_doubtable=doubtable,
            semantic_hit_clauses=max((p for _, p in hit_clauses), default=None),
            semantic_clause=None
            if semantic.get("clauses_max") is None
            else float(semantic["clauses_max"]),
            semantic_clause_category=semantic.get("clauses_max_category") or UNKNOWN,
            clause_idiom_only=bool(highest_idioms),
            # Rule 1b: every hit told as a distant past that is over now, with the message's
            # last clause read on its own (its reading is the meaning of the "now").
            matcher_past=self.read_past
            and bool(hits)
            and semantic.get("last_clause") is not None
            and told_as_past(text, lambda piece: [h.text for h in self.matcher.find(piece)]),
            # Rules 1c and 2c: the words deny harm (every clause with a hit among them).
            words_deny=words_deny_harm(text, lambda piece: len(self.matcher.find(piece))),
        )
        return evidence, hits[0].text if hits else (asked.text if asked else None)

    def _guard(self, message: Message) -> None:
        evidence, matched = self.evidence(message)
        decision = decide(evidence, None, self.bands)
        outcomes: list[str] | None = None
        if self.read_sentences and decision.outcome == CHECK and decision.detected_by == "semantic":
            outcomes = self._sentence_outcomes(message.get(TEXT) or "")
            if outcomes is not None and all(o == CALM for o in outcomes):
                evidence = replace(evidence, sentences_calm=True)
                decision = decide(evidence, None, self.bands)
        ranking: list[dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
        semantic = message.get(SEMANTIC_PROPERTY) or {}
        message.set(
            CRISIS_PROPERTY,
            {
                "outcome": decision.outcome,
                "category": decision.category,
                "detected_by": decision.detected_by,
                "matched": matched,
                "reasons": list(decision.reasons),
                "evidence": evidence.as_dict(),
                # For a check from one clause alone (rules 5b and 5c): that clause's nearest,
                # and the clause itself (the part the worker's alert marks in the message).
                "lijkt_op": self._nearest(decision, semantic),
                "zinsdeel": self._decisive_clause(decision, semantic),
                "lijkt_ook_op": semantic.get("nearest_calm"),
                # Rule 9: each sentence's own outcome, when the sentences were read.
                "zinnen": outcomes,
            },
            add_to_output=True,
        )
        if decision.outcome == CRISIS:
            self._set_intent(message, ranking, self.intent, 1.0)
        elif decision.outcome == CHECK:
            self._set_intent(message, ranking, self.check_intent, 1.0)
        elif decision.outcome == CALM and (message.get(INTENT) or {}).get("name") == self.intent:
            # A weak or idiom-only crisis guess: fall back to the next intent, but only when
            # the classifier really considered it. "ik lach me dood" had `crisis` at 0.9998 and
            # then `plan_rood` at 0.00003, and the red-plan path showed the crisis help; a
            # next intent that weak is no reading of the message at all (nlu_fallback: inside
            # a question the text is the answer, elsewhere "dat snap ik niet goed").
            rest = [r for r in ranking if r.get("name") != self.intent]
            if rest and float(rest[0].get("confidence") or 0.0) >= NEXT_INTENT_FLOOR:
                top = {"name": rest[0]["name"], "confidence": rest[0]["confidence"]}
            else:
                top = {"name": FALLBACK_INTENT, "confidence": 1.0}
                rest = [top, *[r for r in rest if r.get("name") != FALLBACK_INTENT]]
            message.set(INTENT, top, add_to_output=True)
            message.set(INTENT_RANKING_KEY, rest, add_to_output=True)

    @staticmethod
    def _nearest(decision: Decision, semantic: dict[str, Any]) -> str | None:
        """The crisis sentence the decisive reading was nearest to: that of the last clause
        for rule 5b, of the highest clause for rule 5c, else of the whole message."""
        first = decision.reasons[0] if decision.reasons else ""
        if first.startswith(LAST_CLAUSE_REASON):
            return semantic.get("last_clause_nearest")
        if first.startswith(CLAUSE_REASON):
            return semantic.get("clauses_max_nearest")
        return semantic.get("nearest_crisis")

    @staticmethod
    def _decisive_clause(decision: Decision, semantic: dict[str, Any]) -> str | None:
        """The clause read on its own that decided: the last clause for rule 5b, the highest
        clause for rule 5c; None when the whole message (or anything else) decided."""
        first = decision.reasons[0] if decision.reasons else ""
        if first.startswith(LAST_CLAUSE_REASON):
            return semantic.get("last_clause_text")
        if first.startswith(CLAUSE_REASON):
            return semantic.get("clauses_max_text")
        return None

    def _sentence_outcomes(self, text: str) -> list[str] | None:
        """Rule 9: the outcome of each sentence of a long message, read by the pipeline up to
        this component and decided as a first message. None when the message is not long or
        has one sentence or more than `SENTENCE_MAX`, and when the reading fails or comes back
        incomplete (then the check question stands)."""
        own = sentences(text)
        if len(text.split()) < SENTENCE_MIN_WORDS or not 2 <= len(own) <= SENTENCE_MAX:
            return None
        if self.reader is None and self.reader_target is not None:
            runner = running_graph(self.reader_target)
            if runner is None:  # (not run by a model graph: this message keeps its check)
                logger.warning("rule 9: no running model graph holds %s", self.reader_target)
                return None
            self.reader = graph_reader(runner, self.reader_target)
        if self.reader is None:
            return None
        try:
            read = self.reader(own)
        except Exception:  # a safety net must not take the message's verdict with it
            logger.exception("reading the %d sentences of a long message failed", len(own))
            return None
        evidence = [self.evidence(m)[0] for m in read]
        if len(evidence) != len(own) or not all(e.semantic_read for e in evidence):
            logger.warning("the sentences of a long message were not all read")
            return None
        return [decide(e, Context(), self.bands).outcome for e in evidence]

    @staticmethod
    def _set_intent(
        message: Message, ranking: list[dict[str, Any]], name: str, confidence: float
    ) -> None:
        new_top = {"name": name, "confidence": confidence}
        rest = [r for r in ranking if r.get("name") != name]
        message.set(INTENT, new_top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [new_top, *rest], add_to_output=True)
