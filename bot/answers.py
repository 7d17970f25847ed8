"""Short answers never derail a check-in: the Rasa NLU component `AnswerGuard`.

A client with a mild intellectual disability often answers in one to four words: "mn
moeder", "kamer opgeruimd", "huis", "groen". The intent classifier sometimes reads such an
answer as a goodbye or a stop (`afscheid` 0.97 for "mn moeder"), and Koers then ended the
check-in. The guard keeps the classifier's `afscheid` or `stoppen` for a short message only
when the message really says so:

- it is one of the short stop or goodbye examples of the NLU training data ("ik ga slapen",
  "laat maar", "doei"), or
- it ends with a goodbye word ("ik ga eten nu doei"), or
- every word of it occurs in those examples (or is a filler such as "ok" or "nou") and it
  holds an unmistakable marker ("doei", "stop", "pauze", "tot morgen", "laat maar", ...):
  "ok doei", "stop nu", "we gaan morgen verder".

Otherwise the message becomes `vrij_antwoord` (a free answer): inside a question it is the
answer, and the form goes on. Longer messages keep the classifier's intent. The training
examples are the reviewed list: a new stop phrase is a new NLU example.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

GUARDED = ("afscheid", "stoppen")
ANSWER_INTENT = "vrij_antwoord"
MAX_WORDS = 4
# Words that on their own say "stop" or "bye" (after normalising).
MARKERS = frozenset(
    """doei doeii doeidoei doeg dag daag bye ciao adios houdoe mazzel bslama toedeloe
    welterusten goedenacht ziens stop stoppen stoppe kap kappen pauze pauzeren pauzeer afbreken
    ophouden genoeg""".split()
)
# Word pairs that on their own say "stop" or "bye".
PAIR_MARKERS = frozenset(
    """fijne avond|fijne dag|fijn weekend|tot straks|tot later|tot morgen|tot ziens|tot snel|
    tot kijk|later verder|morgen verder|geen zin|laat maar|ff niet|even niet|ben weg""".replace(
        "\n", ""
    ).split("|")
)
# A message that ends with one of these is a goodbye ("ik ga eten nu doei"); not "dag", which
# also ends "een goede dag".
GOODBYE_ENDINGS = frozenset(
    "doei doeii doeidoei doeg bye ciao adios houdoe mazzel welterusten".split()
)
# Words that may come with a stop or goodbye without changing it.
FILLERS = frozenset(
    "ok oke okee nou hoor joh even ff maar koers dan nu jongens graag weer aub alsjeblieft".split()
)
_REPEATS = re.compile(r"(.)\1{2,}")


def normalise(text: str) -> list[str]:
    """Lower-case words without accents, punctuation or emoji; "doeiii" -> "doeii"."""
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^\w\s]", " ", text)
    return _REPEATS.sub(r"\1\1", text).split()


class StopPhrases:
    """The short stop and goodbye phrases, learnt from the NLU examples."""

    def __init__(self, phrases: set[str]) -> None:
        self.phrases = phrases
        self.vocabulary = {word for phrase in phrases for word in phrase.split()} | FILLERS

    @classmethod
    def from_examples(cls, texts: list[str]) -> StopPhrases:
        short = (" ".join(normalise(t)) for t in texts)
        return cls({p for p in short if p and len(p.split()) <= MAX_WORDS})

    def explicit(self, text: str) -> bool:
        words = normalise(text)
        core = [w for w in words if w not in FILLERS]
        if not words:
            return False
        if " ".join(words) in self.phrases or (core and " ".join(core) in self.phrases):
            return True
        if core and core[-1] in GOODBYE_ENDINGS:
            return True
        pairs = {" ".join(words[i : i + 2]) for i in range(len(words) - 1)}
        says_it = bool(set(words) & MARKERS or pairs & PAIR_MARKERS)
        return set(words) <= self.vocabulary and says_it

    def keeps(self, text: str) -> bool:
        """Does a message the classifier read as a stop or goodbye stay one?"""
        return len(normalise(text)) > MAX_WORDS or self.explicit(text)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class AnswerGuard(GraphComponent):
    FILE = "stop_phrases.json"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"guarded_intents": list(GUARDED), "answer_intent": ANSWER_INTENT}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        phrases: StopPhrases | None = None,
    ) -> None:
        self.config = config
        self._storage = model_storage
        self._resource = resource
        self.phrases = phrases or StopPhrases(set())

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AnswerGuard:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        guarded = set(self.config["guarded_intents"])
        self.phrases = StopPhrases.from_examples(
            [m.get(TEXT) for m in training_data.intent_examples if m.get(INTENT) in guarded]
        )
        with self._storage.write_to(self._resource) as directory:
            (Path(directory) / self.FILE).write_text(
                json.dumps(sorted(self.phrases.phrases), ensure_ascii=False), "utf-8"
            )
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> AnswerGuard:
        with model_storage.read_from(resource) as directory:
            phrases = json.loads((Path(directory) / cls.FILE).read_text("utf-8"))
        return cls(config, model_storage, resource, StopPhrases(set(phrases)))

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        guarded = set(self.config["guarded_intents"])
        answer = self.config["answer_intent"]
        for message in messages:
            intent = message.get(INTENT) or {}
            text = message.get(TEXT) or ""
            if intent.get("name") in guarded and not self.phrases.keeps(text):
                ranking = [
                    r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != answer
                ]
                top = {"name": answer, "confidence": intent.get("confidence") or 1.0}
                message.set(INTENT, top, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
                message.set("answer_guard", {"was": intent.get("name")}, add_to_output=True)
        return messages
