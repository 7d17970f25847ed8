"""The action server: rasa-sdk with Koers's actions, reachable only by Rasa.

    python -m bot.action_server      (KOERS_ACTIONS_SECRET, KOERS_ACTIONS_HOST/PORT from .env)

Rasa sends the shared secret KOERS_ACTIONS_SECRET in the X-Koers-Actions-Secret header of
every call (`headers` of the action endpoint in endpoints.yml). A small middleware refuses
every request without it (403), so another local process can neither run actions nor
choose a `sender_id`; only `/health` (no data) answers everyone.

Errors are logged without their message and never echo the request: an action call holds
the whole conversation, so rasa-sdk's default error answer (with `request_body`) and log
line could carry what a client typed.
"""

from __future__ import annotations

import hmac
import logging
import os
import sys
import traceback

from rasa_sdk import endpoint, utils
from sanic import Sanic, response
from sanic.request import Request

from bot.services import ACTIONS_SECRET_HEADER

logger = logging.getLogger("koers.action_server")
OPEN_PATHS = frozenset({"/health"})


def create_app(secret: str, actions_package: str = "actions") -> Sanic:
    """rasa-sdk's app with the shared-secret check in front of every route but /health."""
    if not secret:
        raise ValueError("the action server needs a shared secret")
    expected = secret.encode("utf-8")
    app = endpoint.create_app(actions_package, cors_origins=None)

    @app.middleware("request")
    async def only_rasa(request: Request):
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(ACTIONS_SECRET_HEADER) or "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "forbidden"}, status=403)
        return None

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
