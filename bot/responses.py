"""Koers's responses as the client sees them, outside Rasa.

Rasa picks a response's variant by the `taalniveau` slot; the actions record exactly what was
shown (for example in a safety event), and the web chat shows the fixed crisis help itself
for a message too long to send to Rasa (bot.web.chat). Both read the variants here.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot.settings import PROJECT_ROOT
from bot.vocabulary import LANGUAGE_SLOT

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"


def variant(domain: dict[str, Any], name: str, level: str) -> dict[str, Any]:
    """The variant of response `name` Rasa picks at this language level.

    Mirrors Rasa's conditional response selection on the `taalniveau` slot, so that what is
    recorded (for example in a safety event) is exactly what the client saw.
    """
    variants = domain.get("responses", {}).get(name) or []
    chosen = None
    for candidate in variants:
        conditions = candidate.get("condition") or []
        if conditions and all(
            c.get("name") == LANGUAGE_SLOT and c.get("value") == level for c in conditions
        ):
            chosen = candidate
            break
    if chosen is None:
        chosen = next((v for v in variants if not v.get("condition")), None)
    if chosen is None:
        raise KeyError(f"response {name} is missing from the domain")
    return chosen


def render_response(domain: dict[str, Any], name: str, level: str, **values: Any) -> str:
    """The text Rasa will show for response `name` at this language level."""
    text = variant(domain, name, level).get("text", "")
    return text.format(**values) if values else text


def crisis_help_texts(
    domain: dict[str, Any], category: str, level: str, contact: str | None
) -> list[str]:
    """The fixed crisis help for `category` at this language level, and the organisation's
    own contact when it has one: the messages as the client sees them, in order."""
    texts = [render_response(domain, f"utter_crisis_{category}", level)]
    if contact:
        texts.append(render_response(domain, "utter_organisatie_contact", level, contact=contact))
    return texts


@lru_cache(maxsize=1)
def domain_responses() -> dict[str, Any]:
    """The responses of the project's domain.yml, read once (for code that runs outside
    Rasa's action server, which gets the domain from Rasa)."""
    data = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")) or {}
    return {"responses": data.get("responses") or {}}
