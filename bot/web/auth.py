"""Worker login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from bot.storage.models import Worker
from bot.web.common import (
    audit,
    count_event,
    current_worker,
    db,
    end_worker_session,
    login_worker,
    remote_addr,
    username_hash,
)
from bot.web.security import check_password

bp = Blueprint("auth", __name__)


def _home_for(worker: Worker) -> str:
    return url_for("admin.workers") if worker.role == "admin" else url_for("dashboard.caseload")


def _safe_next(target: str | None) -> str | None:
    """Only local paths, so the login page cannot send someone to another site. Spaces and
    control characters are refused too: browsers drop tabs and newlines, so "/<tab>/evil.nl"
    would become "//evil.nl", another site."""
    if not target or len(target) > 500 or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/")
def index():
    worker = current_worker()
    if worker is not None:
        return redirect(_home_for(worker))
    return redirect(url_for("chat.page"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    worker = current_worker()
    if worker is not None and request.method == "GET":
        return redirect(_home_for(worker))
    error = None
    username = ""
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()[:64]
        password = request.form.get("password") or ""
        limiter = current_app.config["LOGIN_LIMITER"]
        key = f"worker:{remote_addr()}:{username.lower()}"
        ip_limiter = current_app.config["LOGIN_IP_LIMITER"]
        ip_key = f"worker-ip:{remote_addr()}"
        if limiter.blocked(key) or ip_limiter.blocked(ip_key):
            error = (
                "Te vaak een verkeerd wachtwoord. Wacht 15 minuten en probeer het dan " "opnieuw."
            )
            # Counted per day, not a row per attempt: a blocked attacker cannot flood the log.
            count_event("inloggen_geblokkeerd")
            return render_template("login.html", error=error, username=username), 429
        found = db().execute(select(Worker).where(Worker.username == username)).scalar_one_or_none()
        ok = check_password(found.password_hash if found else None, password)
        if ok and found is not None and found.active:
            limiter.reset(key)
            login_worker(found)
            g.worker = found
            audit("inloggen")
            flash(f"Welkom, {found.display_name}.", "info")
            return redirect(_safe_next(request.args.get("next")) or _home_for(found))
        blocked_now = limiter.fail(key)
        blocked_now = ip_limiter.fail(ip_key) or blocked_now
        # Never the typed username (it may be a password typed in the wrong field): a keyed
        # hash, which the admin page can match against a username.
        detail = f"gebruikersnaam-hash {username_hash(username)}"
        audit("inloggen_mislukt", detail=detail, actor="onbekend")
        if blocked_now:  # one row when a block starts; its attempts are only counted
            audit("inloggen_blokkade", detail="15 minuten geblokkeerd", actor="onbekend")
        error = "Deze gebruikersnaam of dit wachtwoord klopt niet."
    return render_template("login.html", error=error, username=username), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    worker = current_worker()
    if worker is not None:
        audit("uitloggen")
    end_worker_session()
    flash("Je bent uitgelogd.", "info")
    return redirect(url_for("auth.login"))
