"""Koers web app: the worker dashboard and the client chat (Flask).

python -m bot.web        # serve on KOERS_WEB_HOST:KOERS_WEB_PORT with waitress
"""

from bot.web.app import create_app

__all__ = ["create_app"]
