"""SafetyContextPolicy: the crisis decision with the conversation's context, and the calm
check question's answer.

The NLU pipeline decides per message, without context (`bot.safety.component.CrisisGuard`),
and rules answer its `crisis` and `crisis_check` intents. This policy adds what needs the
conversation, in three readable steps:

1. A check question is open (slot `crisis_controle`): whatever the client says next goes to
   `action_crisis_controle_antwoord`, which reads "ja", "nee" or "weet ik niet".
2. Context changes the outcome: `bot.safety.decision.decide` is applied again with the
   context (mood 1-2 at this session's check-in, the previous message's outcome, semantic
   score and length). When that differs from the NLU's own outcome (a worrying context
   raises it; a calm previous message turns a meaning-only crisis into a check), the policy
   starts `action_crisis` or `action_crisis_controle`, also in the middle of a form.
3. After `action_crisis` and `action_crisis_controle` Koers waits for the client; after a
   "nee" to the check question it goes back to the form that was paused.

Its predictions have priority 7 (above the RulePolicy's 6) and are marked as predictions
that do not depend on the user's text, so that they come before a form's own happy path.
Otherwise the policy abstains (all zeros) and the rules decide as before.
"""

from __future__ import annotations

from typing import Any

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot.safety.decision import CALM, CRISIS, Bands, Evidence, context_from_events, decide

ACTION_CRISIS = "action_crisis"
ACTION_CHECK = "action_crisis_controle"
ACTION_CHECK_ANSWER = "action_crisis_controle_antwoord"
CHECK_SLOT = "crisis_controle"
RESUME_SLOT = "controle_hervat"


def context_decision(tracker: DialogueStateTracker, bands: Bands) -> tuple[str, str]:
    """(outcome without context, outcome with context) for the latest user message."""
    info = tracker.latest_message.parse_data.get("crisis") if tracker.latest_message else None
    if not info:
        return CALM, CALM
    evidence = Evidence.from_dict(info.get("evidence"))
    context = context_from_events(e.as_dict() for e in reversed(tracker.events))
    with_context = decide(evidence, context, bands)
    return info.get("outcome") or CALM, with_context.outcome


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class SafetyContextPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"priority": 7, "bands": {}}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)
        self.bands = Bands.from_config(config.get("bands") or {})

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        # Nothing to learn: the decision is written down in bot.safety.decision.
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SafetyContextPolicy:
        return cls(config, model_storage, resource, execution_context)

    def persist(self) -> None:  # nothing to store
        return None

    def _predict(self, domain: Domain, action: str | None) -> PolicyPrediction:
        probabilities = [0.0] * domain.num_actions
        if action is not None:
            probabilities[domain.index_for_action(action)] = 1.0
        return self._prediction(probabilities, is_no_user_prediction=action is not None)

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        return self._predict(domain, self.next_action(tracker))

    def next_action(self, tracker: DialogueStateTracker) -> str | None:
        """The action this policy insists on, or None to leave it to the other policies."""
        latest = tracker.latest_action_name
        if latest in (ACTION_CRISIS, ACTION_CHECK):
            return ACTION_LISTEN_NAME
        if latest == ACTION_CHECK_ANSWER:
            return tracker.get_slot(RESUME_SLOT) or ACTION_LISTEN_NAME
        if latest != ACTION_LISTEN_NAME or not tracker.latest_message:
            return None
        if tracker.get_slot(CHECK_SLOT):
            return ACTION_CHECK_ANSWER
        nlu_outcome, outcome = context_decision(tracker, self.bands)
        if outcome == nlu_outcome or outcome == CALM:
            return None
        # Raised by a worrying context, or a meaning-only crisis after a calm message (CHECK).
        return ACTION_CRISIS if outcome == CRISIS else ACTION_CHECK
