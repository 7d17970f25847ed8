"""Crisis detection: a deterministic Dutch matcher and the Rasa NLU component using it."""

from bot.safety.matcher import CATEGORIES, CrisisHit, CrisisMatcher, get_matcher, normalise

__all__ = ["CATEGORIES", "CrisisHit", "CrisisMatcher", "get_matcher", "normalise"]
