"""The Flask app factory: worker dashboard, admin pages and the client chat in one app."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Request, g, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items

from bot.settings import Settings, get_settings
from bot.storage import auditlog
from bot.storage.db import make_engine
from bot.web import common, phones
from bot.web.security import load_secret_key
from bot.web.shared import make_state

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# Same-origin requests carry a Referer (Flask-WTF's strict check over HTTPS needs it);
# requests to other sites carry none, so no URL of Koers (client numbers) leaks to them.
REFERRER_POLICY = "same-origin"

csrf = CSRFProtect()

STORAGE_DOWN_CHAT = (
    "Koers is nu even niet bereikbaar. Je bericht is niet kwijt. Probeer het zo nog een keer."
)
STORAGE_DOWN_PAGE = (
    "Koers is nu even niet bereikbaar. Er is niets opgeslagen. Probeer het over een minuut "
    "opnieuw."
)
MSG_ERROR = (
    "Er ging iets mis bij het laden van deze pagina. Er is niets kwijt. Probeer het over een "
    "paar tellen opnieuw. Blijft het misgaan? Meld het dan bij je beheerder."
)
MSG_CHAT_ERROR = "Er ging iets mis. Je bericht is niet kwijt. Probeer het zo nog een keer."
# A chat request over MAX_CONTENT_LENGTH: far more than the chat's 2,000 characters.
MSG_CHAT_TOO_LARGE = "Je bericht is veel te lang. Het staat nog in het vak. Maak het korter."


class _NulFreeMultiDict(ImmutableMultiDict):
    """Form fields and query parameters without NUL bytes (PostgreSQL refuses them)."""

    def __init__(self, mapping=None):
        if mapping is not None:
            mapping = [(_nul_free(k), _nul_free(v)) for k, v in iter_multi_items(mapping)]
        super().__init__(mapping)


def _nul_free(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


class KoersRequest(Request):
    parameter_storage_class = _NulFreeMultiDict


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app. `config` overrides Flask settings (tests use DATABASE_URL etc.)."""
    settings = settings or get_settings()
    app = Flask(__name__)
    app.request_class = KoersRequest
    app.config.update(
        SECRET_KEY=load_secret_key(settings),
        DATABASE_URL=settings.database_url,
        RASA_URL=settings.rasa_url,
        RASA_TIMEOUT=settings.rasa_timeout,
        # Sent to Rasa's REST channel, which demands it with KOERS_ALLOW_PRIVATE_BACKENDS.
        RASA_TOKEN=settings.rasa_token,
        SESSION_COOKIE_NAME="koers_sessie",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.worker_session_minutes),
        WORKER_IDLE_SECONDS=settings.worker_session_minutes * 60,
        CLIENT_REMEMBER_SECONDS=settings.client_remember_days * 86400,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=settings.cookie_secure,
        MAX_CONTENT_LENGTH=256 * 1024,
        REDIS_URL=settings.redis_url,
        # Several Rasa instances: each client always goes to the same one (bot.web.routing).
        RASA_URLS=list(settings.rasa_urls) if len(settings.rasa_urls) > 1 else None,
    )
    if config:
        app.config.update(config)
    # Shared state (send locks, offered buttons, rate limits, worker sessions): in this
    # process, or in Redis so that several web processes share it (bot.web.shared).
    state = make_state(app.config["REDIS_URL"])
    app.extensions["koers_state"] = state
    app.config.setdefault("LOGIN_LIMITER", state.limiter("worker-login", 5, 15 * 60))
    # Many usernames from one address (password spraying): blocked after 20 failures.
    app.config.setdefault("LOGIN_IP_LIMITER", state.limiter("worker-login-ip", 20, 15 * 60))
    app.config.setdefault("CODE_LIMITER", state.limiter("client-code", 10, 15 * 60))
    app.extensions["koers_engine"] = make_engine(app.config["DATABASE_URL"])
    auditlog.set_key(
        app.extensions["koers_engine"],
        auditlog.derive_key(app.config["SECRET_KEY"], settings.audit_key),
    )
    csrf.init_app(app)
    # The client's "Uitloggen" works without the page's CSRF token: a worker who logs in on the
    # same browser starts a new session (and token), and the client must still be able to
    # log out from the chat page that was open. A forged logout from another site cannot end
    # anything: the login cookie is SameSite=Lax, so such a POST carries no device.
    csrf.exempt("bot.web.chat.logout")

    from bot.web import admin, auth, between, chat, dashboard, pwa

    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(chat.bp)
    app.register_blueprint(between.bp)  # issue 14: reminders, the worker's question
    app.register_blueprint(pwa.bp)  # issue 14: installable chat, offline help

    app.teardown_request(common.close_db)
    app.add_template_filter(common.format_datetime, "datum_tijd")
    app.add_template_filter(common.format_date, "datum")
    app.add_template_filter(phones.tel_links, "tel_links")
    app.add_template_filter(common.visible, "zichtbaar")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"current_worker": g.get("worker")}

    @app.after_request
    def _commit(response):
        # Commit before the response leaves: a failing commit (for example SQLite "database is
        # locked") then gets the Dutch error page below instead of a half-sent answer.
        if response.status_code < 500:
            common.commit_db()
        return response

    @app.after_request
    def _headers(response):
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = REFERRER_POLICY
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            # Health data: never kept in a browser or proxy cache.
            response.headers["Cache-Control"] = "no-store"
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        return response

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        if request.path.startswith("/chat/api/"):
            # The chat page reloads itself and keeps what the box held (chat.js).
            return {
                "ok": False,
                "error": "De pagina is verlopen. Laad de pagina opnieuw.",
                "reload": True,
            }, 400
        return render_template(
            "error.html",
            title="Pagina verlopen",
            message="Deze pagina was verlopen. Ga terug, laad de pagina opnieuw en probeer het "
            "nog eens. Er is niets opgeslagen.",
        ), 400

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(RedisError)
    def _storage_unavailable(error: Exception):
        # The database (or Redis, for the shared state) is down or stayed locked past the
        # busy timeout: a calm message, never a 500. Nothing of this request was saved (its
        # transaction is rolled back). Other database errors are bugs: the 500 page below.
        app.logger.warning("storage unavailable: %s", error.__class__.__name__)
        # Roll back here: the handled error reaches the request's teardown as "no error",
        # which would commit what the request wrote before the failure, or, when the
        # connection was lost, raise PendingRollbackError there and turn this 503 into a 500.
        common.rollback_db()
        if request.path.startswith("/chat/api/"):
            help_texts = chat.help_without_storage()
            if help_texts:  # a crisis in the refused message: the help comes with it
                messages = [{"text": text, "buttons": []} for text in help_texts]
                return {"ok": False, "error": STORAGE_DOWN_CHAT, "messages": messages}, 503
            return {"ok": False, "error": STORAGE_DOWN_CHAT}, 503
        return render_template(
            "error.html", title="Even niet bereikbaar", message=STORAGE_DOWN_PAGE
        ), 503

    @app.errorhandler(403)
    def _forbidden(_error):
        return render_template(
            "error.html", title="Geen toegang", message="Je hebt geen toegang tot deze pagina."
        ), 403

    @app.errorhandler(404)
    def _not_found(_error):
        return render_template(
            "error.html",
            title="Niet gevonden",
            message="Deze pagina bestaat niet, of je hebt er geen toegang " "toe.",
        ), 404

    @app.errorhandler(500)
    def _server_error(error):
        # Anything unexpected, also a database that stays busy: a calm Dutch page (or JSON for
        # the chat), never Flask's or waitress's English one. Nothing half-done is kept; Flask
        # has already logged the error with its traceback.
        common.rollback_db()
        if request.path.startswith("/chat/api/"):
            return {"ok": False, "error": MSG_CHAT_ERROR}, 500
        home = url_for("chat.page") if request.path.startswith("/chat") else None
        return render_template(
            "error.html", title="Er ging iets mis", message=MSG_ERROR, home=home
        ), 500

    @app.errorhandler(413)
    def _too_large(_error):
        if request.path.startswith("/chat/api/"):
            # The chat shows the error under the box, which keeps the text: no retry.
            return {"ok": False, "error": MSG_CHAT_TOO_LARGE}, 413
        return render_template(
            "error.html",
            title="Te veel tekst",
            message="Je stuurde te veel tekst in één keer. Maak het korter "
            "en probeer het opnieuw.",
        ), 413

    return app
