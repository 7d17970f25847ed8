"""The action server: rasa-sdk with Koers's actions, reachable only by Rasa.

    python -m bot.action_server      (KOERS_ACTIONS_SECRET, KOERS_ACTIONS_HOST/PORT from .env)

Rasa sends the shared secret KOERS_ACTIONS_SECRET in the X-Koers-Actions-Secret header of
every call (`headers` of the action endpoint in endpoints.yml). A small middleware refuses
every request without it (403), so another local process can neither run actions nor
choose a `sender_id`; only `/health` (no data) answers everyone.

Errors are logged without their message and never echo the request: an action call holds
the whole conversation, so rasa-sdk's default error answer (with `request_body`) and log
line could carry what a client typed.

Rasa names the domain of a call by its digest (bot/action_domain.py, the `domain_digest`
patch): the server keeps the domains it has received in full and puts the named one back
into the call before rasa-sdk runs the action; a digest it does not know is answered with
409, and Rasa then sends the call once more with the whole domain.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import traceback
import zlib
from typing import Any

from rasa_sdk import endpoint, utils
from sanic import Sanic, response
from sanic.request import Request

from bot.action_domain import DIGEST_KEY, UNKNOWN_STATUS, DomainStore, unknown_domain_answer
from bot.services import ACTIONS_SECRET_HEADER

logger = logging.getLogger("koers.action_server")
OPEN_PATHS = frozenset({"/health"})


def create_app(secret: str, actions_package: str = "actions") -> Sanic:
    """rasa-sdk's app with the shared-secret check in front of every route but /health."""
    if not secret:
        raise ValueError("the action server needs a shared secret")
    expected = secret.encode("utf-8")
    app = endpoint.create_app(actions_package, cors_origins=None)
    domains = DomainStore()

    @app.middleware("request")
    async def only_rasa(request: Request):
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(ACTIONS_SECRET_HEADER) or "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "forbidden"}, status=403)
        if request.path == "/webhook" and request.method == "POST":
            return with_domain(request)
        return None

    def with_domain(request: Request):
        """The domain of a call that names it by digest (see bot/action_domain.py)."""
        if request.headers.get("Content-Encoding") == "deflate":
            # rasa-sdk decompresses and parses such a body itself; Rasa's patch always
            # sends the whole domain with a compressed call. One without it is refused.
            call = json.loads(zlib.decompress(request.body))
            if isinstance(call, dict) and DIGEST_KEY in call and "domain" not in call:
                return response.json(unknown_domain_answer(call[DIGEST_KEY]), UNKNOWN_STATUS)
            return None
        call = request.json  # parsed once: rasa-sdk's handler reads this same dict
        digest = call.get(DIGEST_KEY) if isinstance(call, dict) else None
        if not domains.complete(call):
            return response.json(unknown_domain_answer(digest), UNKNOWN_STATUS)
        return None

    if actions_package == "actions":

        @app.listener("after_server_start")
        async def bring_in_outbox(app: Sanic, loop: Any) -> None:
            from actions.durable import bring_in_leftovers

            if bring_in_leftovers():
                logger.info("outbox: writing what an earlier run kept")

    @app.exception(Exception)
    async def content_free_error(request: Request, exception: Exception):
        frames = traceback.extract_tb(exception.__traceback__)
        where = " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in frames[-3:])
        logger.error(
            "%s in %s %s (%s)", type(exception).__name__, request.method, request.path, where
        )
        status = getattr(exception, "status_code", 500)
        return response.json({"error": type(exception).__name__}, status=status)

    return app


def main() -> int:
    from bot.production import restrict_umask
    from bot.settings import get_settings

    restrict_umask()
    settings = get_settings()
    secret = os.environ.get("KOERS_ACTIONS_SECRET") or settings.actions_secret
    if not secret:
        print(
            "The action server did not start: KOERS_ACTIONS_SECRET is empty "
            "(Rasa sends it with every call; see .env.example).",
            file=sys.stderr,
        )
        return 2
    level = "WARNING" if settings.log_level == "DEBUG" else settings.log_level
    utils.configure_colored_logging(level)
    utils.update_sanic_log_level()
    logging.getLogger("koers").setLevel(level)
    app = create_app(secret)
    host = os.environ.get("SANIC_HOST") or settings.actions_host
    logger.info("Action server on http://%s:%s (Rasa only)", host, settings.actions_port)
    app.run(
        host,
        settings.actions_port,
        workers=utils.number_of_sanic_workers(),
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
