"""Rasa's REST channel for Koers (credentials.yml): the stock channel, with a token check
when Rasa may be reached from other machines.

Rasa's REST channel has no authentication of its own: whoever reaches it can send messages
as any sender id, so as any client, and read what Koers answers (a read-back of a
reflection, the worker's question). On 127.0.0.1 (the default, and what production mode
demands otherwise) only this machine reaches it. With KOERS_ALLOW_PRIVATE_BACKENDS=true Rasa
may listen on a private network address (docs/scaling.md); then every request to the
channel must carry KOERS_RASA_TOKEN in the X-Koers-Rasa-Token header, which the web app and
`make chat` send, and Rasa does not start without a token (`bot.rasa_server`). The URL stays
/webhooks/rest/webhook; only the channel's health check (GET /webhooks/rest/, no data)
answers without the token.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.rasa_server import required_token
from bot.services import RASA_TOKEN_HEADER


class KoersRestInput(RestInput):
    """Rasa's REST channel under its own name ("rest"), plus the token check."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> KoersRestInput:
        return cls(required_token(os.environ))

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)
        if not self.token:
            return webhook
        expected = self.token.encode("utf-8")

        @webhook.middleware("request")
        async def only_with_the_token(request: Request):
            if request.method == "GET" and request.path.rstrip("/").endswith("/webhooks/rest"):
                return None  # the channel's health check
            given = (request.headers.get(RASA_TOKEN_HEADER) or "").encode("utf-8")
            if not hmac.compare_digest(given, expected):
                return response.json({"error": "forbidden"}, status=403)
            return None

        return webhook
