"""The installable chat (Progressive Web App): manifest, service worker and the offline page.

- `/chat/manifest.webmanifest`: name, icons (bot/web/static/icons, drawn by
  bot/web/pwa_icons.py), start URL and scope `/chat/`.
- `/chat/sw.js`: the service worker (template chat/sw.js), served from /chat/ so that its
  scope is the chat. It keeps only the offline page and the files that page needs; the chat
  page, messages and the API are never cached (health data stays off the device).
- `/chat/offline`: the help numbers (113, 0800-0113, 112, Veilig Thuis) and the organisation's
  crisis contact, with no script and no login. The service worker stores it on install and
  refreshes it while online, and shows it whenever the network or the server is down.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, make_response, render_template, url_for

from bot.storage import repository
from bot.web.common import db

bp = Blueprint("pwa", __name__, url_prefix="/chat")

THEME_COLOR = "#0b4f8a"
# Static files the offline page uses; the service worker keeps them for offline use.
OFFLINE_ASSETS = (
    "css/app.css",
    "css/chat.css",
    "favicon.svg",
    "icons/koers-192.png",
)
ICONS = (
    ("icons/koers-192.png", "192x192", "any"),
    ("icons/koers-512.png", "512x512", "any"),
    ("icons/koers-maskable-512.png", "512x512", "maskable"),
)


def manifest_data() -> dict:
    return {
        "id": url_for("chat.page"),
        "name": "Koers",
        "short_name": "Koers",
        "description": "Chat met Koers tussen je gesprekken door.",
        "lang": "nl",
        "dir": "ltr",
        "start_url": url_for("chat.page"),
        "scope": url_for("chat.page"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            {
                "src": url_for("static", filename=path),
                "sizes": sizes,
                "type": "image/png",
                "purpose": purpose,
            }
            for path, sizes, purpose in ICONS
        ],
    }


@bp.route("/manifest.webmanifest")
def manifest():
    response = make_response(json.dumps(manifest_data(), ensure_ascii=False, indent=1))
    response.headers["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


@lru_cache(maxsize=4)
def _assets_version(static_folder: str) -> str:
    """Changes when a file the offline page needs changes, so the worker stores it anew."""
    digest = hashlib.sha256()
    for name in OFFLINE_ASSETS:
        digest.update((Path(static_folder) / name).read_bytes())
    templates = Path(__file__).resolve().parent / "templates" / "chat"
    for name in ("offline.html", "_hulp_nummers.html", "sw.js"):
        digest.update((templates / name).read_bytes())
    return digest.hexdigest()[:12]


@bp.route("/sw.js")
def service_worker():
    offline_url = url_for(".offline")
    body = render_template(
        "chat/sw.js",
        version=_assets_version(current_app.static_folder or ""),
        offline_url=offline_url,
        scope=url_for("chat.page"),
        icon=url_for("static", filename="icons/koers-192.png"),
        precache=[offline_url] + [url_for("static", filename=name) for name in OFFLINE_ASSETS],
    )
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


@bp.route("/offline")
def offline():
    contact = repository.get_org_setting(db(), "crisis_contact", "") or ""
    return render_template("chat/offline.html", crisis_contact=contact)
