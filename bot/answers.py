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

The same holds for the questions a client can ask in the middle of a check-in: "mijn plan"
(`mijn_plan`), "wie leest dit" (`privacy_vraag`) and "hoe werkt dit" (`hulp_vraag`). The
classifier read "mijn collega" as the privacy question (0.68) and "mijn collega hielp me met
de planning" as a request for the plan (0.93), and Koers paused the check-in for it. For a
message of up to `MAX_REQUEST_WORDS` words one of these intents is kept only when the message
really asks it (`RequestPhrases.keeps`):

- it is close to one of the intent's NLU examples (spelling allowed: "me plan", "signalerings
  plan"), or
- it holds one of the intent's key words: a word of its examples that is at least three times
  as common there as in the examples of all other intents ("plan", "leest", "uitleg"), except
  a short list of everyday words (`EVERYDAY_WORDS`: "bellen", "mens"); a key word of four
  letters or more also counts at the end of a word ("crisisplan"), or
- it is a question: "?", a question word first ("wie leest dit"), or a verb first with a word
  that points at Koers or the text ("leest iemand dit mee"); a question inside a question is
  meant for Koers.

Otherwise it is a free answer. Outside a question a free answer gets the way on with buttons
(`action_wat_nu`), where "Mijn plan" and "Uitleg" are offered, so no request is lost.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.stop_words import (
    FILLERS,
    GOODBYE_ENDINGS,
    MARKERS,
    PAIR_MARKERS,
    STOP_INTENTS,
    normalise,
)

GUARDED = STOP_INTENTS
# Requests that interrupt a check-in: kept only when the message really asks them.
REQUESTS = ("mijn_plan", "privacy_vraag", "hulp_vraag")
ANSWER_INTENT = "vrij_antwoord"
MAX_WORDS = 4
MAX_REQUEST_WORDS = 8
KEY_WORD_RATIO = 3  # a key word is this many times as common in the request's examples
SIMILAR = 85  # rapidfuzz ratio (0-100) from which a message is close to an example
# A message that starts with one of these is a question ("wie leest dit").
QUESTION_WORDS = frozenset("wie wat waar waarom wanneer hoe welke welk".split())
# A message that starts with one of these verbs is a question only with a word that points at
# Koers or the text ("leest iemand dit mee", "ben je een robot"); "is mijn collega" and "gaat
# wel" are answers.
QUESTION_VERBS = frozenset(
    """ben bent kan kun kunnen mag mogen wordt worden is zijn leest lees ziet zie krijgt gaat
    komt weet heb hebben""".split()
)
ADDRESSED = frozenset("dit dat je jij jou u jullie iemand er".split())
COMPOUND_KEY = 4  # a key word this long also counts at the end of a word ("crisisplan")
# Words the request examples use that clients also use in answers ("mijn moeder bellen", "een
# goed mens", "ziet er goed uit"): never a key word, however often the examples use them.
EVERYDAY_WORDS = frozenset(
    """mens persoon echte blijft gebeurt krijgt ziet staat bellen alweer slechter volgens
    werkt""".split()
)


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


class RequestPhrases:
    """How the client asks for the plan, for privacy or for help (see the module docstring),
    learnt from the NLU examples."""

    def __init__(self, examples: dict[str, list[str]], key_words: dict[str, set[str]]) -> None:
        self.examples = examples
        self.key_words = key_words

    @classmethod
    def from_examples(cls, by_intent: dict[str, list[str]]) -> RequestPhrases:
        def document_counts(intents: tuple[str, ...]) -> Counter:
            return Counter(
                word
                for intent in intents
                for text in by_intent.get(intent, [])
                for word in set(normalise(text))
            )

        # Everything that is not one of the requests: answers, everyday talk and the rest.
        background = document_counts(
            tuple(intent for intent in by_intent if intent not in REQUESTS)
        )
        examples, key_words = {}, {}
        for intent in REQUESTS:
            own = document_counts((intent,))
            key_words[intent] = {
                word
                for word, n in own.items()
                if len(word) >= 3
                and n >= 2
                and n >= KEY_WORD_RATIO * background[word]
                and word not in EVERYDAY_WORDS
            }
            examples[intent] = sorted({" ".join(normalise(t)) for t in by_intent.get(intent, [])})
        return cls(examples, key_words)

    def as_dict(self) -> dict[str, Any]:
        return {
            "examples": self.examples,
            "key_words": {k: sorted(v) for k, v in self.key_words.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RequestPhrases:
        return cls(
            {k: list(v) for k, v in data.get("examples", {}).items()},
            {k: set(v) for k, v in data.get("key_words", {}).items()},
        )

    def why(self, intent: str, text: str) -> str | None:
        """Why a message the classifier read as `intent` really asks it, or None."""
        words = normalise(text)
        if len(words) > MAX_REQUEST_WORDS:
            return "lang"
        if not words or intent not in self.examples:
            return "niet bewaakt"
        if text.strip().endswith("?") or words[0] in QUESTION_WORDS:
            return "vraag"
        if words[0] in QUESTION_VERBS and set(words[1:]) & ADDRESSED:
            return "vraag"
        keys = self.key_words.get(intent, set())
        if set(words) & keys or any(
            word.endswith(key) for word in words for key in keys if len(key) >= COMPOUND_KEY
        ):
            return "sleutelwoord"
        joined = " ".join(words)
        match = process.extractOne(joined, self.examples[intent], scorer=fuzz.ratio)
        if match and match[1] >= SIMILAR:
            return "voorbeeld"
        return None

    def keeps(self, intent: str, text: str) -> bool:
        return self.why(intent, text) is not None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class AnswerGuard(GraphComponent):
    FILE = "stop_phrases.json"
    REQUEST_FILE = "request_phrases.json"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "guarded_intents": list(GUARDED),
            "request_intents": list(REQUESTS),
            "answer_intent": ANSWER_INTENT,
            # Part of Rasa's training cache key: the phrases are learnt by this module's code.
            "code_sha256": hashlib.sha256(Path(__file__).read_bytes()).hexdigest(),
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        phrases: StopPhrases | None = None,
        requests: RequestPhrases | None = None,
    ) -> None:
        self.config = config
        self._storage = model_storage
        self._resource = resource
        self.phrases = phrases or StopPhrases(set())
        self.requests = requests or RequestPhrases({}, {})

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
        by_intent: dict[str, list[str]] = {}
        for m in training_data.intent_examples:
            by_intent.setdefault(m.get(INTENT), []).append(m.get(TEXT) or "")
        self.requests = RequestPhrases.from_examples(by_intent)
        with self._storage.write_to(self._resource) as directory:
            (Path(directory) / self.FILE).write_text(
                json.dumps(sorted(self.phrases.phrases), ensure_ascii=False), "utf-8"
            )
            (Path(directory) / self.REQUEST_FILE).write_text(
                json.dumps(self.requests.as_dict(), ensure_ascii=False), "utf-8"
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
            request_file = Path(directory) / cls.REQUEST_FILE
            # A model trained before the request guard keeps every request, as it did then.
            requests = json.loads(request_file.read_text("utf-8")) if request_file.exists() else {}
        return cls(
            config,
            model_storage,
            resource,
            StopPhrases(set(phrases)),
            RequestPhrases.from_dict(requests),
        )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        guarded = set(self.config["guarded_intents"])
        requests = set(self.config.get("request_intents") or [])
        for message in messages:
            intent = message.get(INTENT) or {}
            name = intent.get("name")
            text = message.get(TEXT) or ""
            if name in guarded and not self.phrases.keeps(text):
                self._answer(message, intent)
            elif name in requests and not self.requests.keeps(str(name), text):
                self._answer(message, intent)
        return messages

    def _answer(self, message: Message, intent: dict[str, Any]) -> None:
        """Read the message as a free answer; the classifier's intent stays in the ranking."""
        answer = self.config["answer_intent"]
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != answer]
        top = {"name": answer, "confidence": intent.get("confidence") or 1.0}
        message.set(INTENT, top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [top, *ranking], add_to_output=True)
        message.set("answer_guard", {"was": intent.get("name")}, add_to_output=True)
