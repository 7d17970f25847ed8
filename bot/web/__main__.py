"""Serve the Koers web app with waitress: `python -m bot.web`."""

from __future__ import annotations

import sys

from waitress import serve

from bot.production import restrict_umask
from bot.settings import get_settings
from bot.web import chat
from bot.web.app import create_app


def main() -> int:
    settings = get_settings()
    restrict_umask()  # the SQLite database and its journal files stay private (0600)
    app = create_app(settings=settings)
    chat.bring_in_leftovers(app)  # a crisis kept while the database was down reaches the worker
    proxy: dict = {}
    if settings.trusted_proxy:
        # Behind an HTTPS proxy: take the client address and scheme from its headers, so the
        # login rate limits count per real client address.
        proxy = {
            "trusted_proxy": settings.trusted_proxy,
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        }
    serve(
        app,
        host=settings.web_host,
        port=settings.web_port,
        threads=8,
        ident="Koers",
        clear_untrusted_proxy_headers=True,
        **proxy,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
