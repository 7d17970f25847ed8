"""CrisisGuard: a Rasa NLU component that runs after the intent classifier.

Every user message (also a free-text answer inside a form) passes through here:
- a hit of the deterministic matcher always wins: intent `crisis` with confidence 1.0;
- a `crisis` prediction of the classifier is kept when it is reasonably confident, also
  when the FallbackClassifier would otherwise have called it `nlu_fallback`;
- a classifier `crisis` on a message that holds only an everyday idiom ("ik ben
  doodmoe") and no crisis words is downgraded to the next intent.
The message gets a `crisis` property (category, detected_by, matched text) that the
custom actions read from `tracker.latest_message` to record the safety event.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.safety.matcher import CrisisMatcher, get_matcher

CRISIS_PROPERTY = "crisis"
FALLBACK_INTENT = "nlu_fallback"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CrisisGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "crisis_intent": "crisis",
            # Minimum classifier confidence for a crisis prediction without a matcher hit.
            "classifier_threshold": 0.5,
            "pipeline_path": None,
        }

    def __init__(self, config: dict[str, Any], matcher: CrisisMatcher | None = None) -> None:
        self.intent = config["crisis_intent"]
        self.threshold = float(config["classifier_threshold"])
        self.matcher = matcher or get_matcher(config.get("pipeline_path"))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> CrisisGuard:
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _classifier_crisis(self, ranking: list[dict[str, Any]]) -> float:
        for item in ranking:
            if item.get("name") == self.intent:
                return float(item.get("confidence") or 0.0)
        return 0.0

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        ranking: list[dict[str, Any]] = list(message.get(INTENT_RANKING_KEY) or [])
        intent = message.get(INTENT) or {}
        hits, idioms = self.matcher.analyse(text)
        classifier_conf = self._classifier_crisis(ranking)
        # The classifier's own top choice, ignoring the fallback label.
        top = next((r for r in ranking if r.get("name") != FALLBACK_INTENT), None)
        classifier_top = bool(top and top.get("name") == self.intent)
        classifier_says = classifier_top and classifier_conf >= self.threshold

        if hits:
            detected_by = "both" if classifier_says else "matcher"
            self._set_crisis(message, ranking, hits[0].category, detected_by, hits[0].text)
        elif classifier_says and not idioms:
            self._set_crisis(message, ranking, "unknown", "classifier", None, classifier_conf)
        elif intent.get("name") == self.intent:
            # Only an everyday idiom or a weak score: fall back to the next intent.
            rest = [r for r in ranking if r.get("name") != self.intent]
            if rest:
                message.set(
                    INTENT,
                    {"name": rest[0]["name"], "confidence": rest[0]["confidence"]},
                    add_to_output=True,
                )
                message.set(INTENT_RANKING_KEY, rest, add_to_output=True)

    def _set_crisis(
        self,
        message: Message,
        ranking: list[dict[str, Any]],
        category: str,
        detected_by: str,
        matched: str | None,
        confidence: float = 1.0,
    ) -> None:
        new_top = {"name": self.intent, "confidence": confidence}
        rest = [r for r in ranking if r.get("name") != self.intent]
        message.set(INTENT, new_top, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [new_top, *rest], add_to_output=True)
        message.set(
            CRISIS_PROPERTY,
            {"category": category, "detected_by": detected_by, "matched": matched},
            add_to_output=True,
        )
