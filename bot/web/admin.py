"""Admin pages: workers, caseloads, the organisation's crisis contact and the audit log.

Admins manage accounts; they never see reflections or other client answers."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from bot.storage import accounts, queries, repository
from bot.storage.models import Client, Worker, utcnow
from bot.vocabulary import LANGUAGE_LEVELS, WORKER_ROLES
from bot.web.common import (
    admin_required,
    audit,
    clean_text,
    day_start,
    db,
    end_sessions_of,
    parse_day,
    username_hash,
)
from bot.web.security import hash_password, password_problem

bp = Blueprint("admin", __name__, url_prefix="/beheer")

CRISIS_CONTACT_KEY = "crisis_contact"
MAX_CRISIS_CONTACT = 500
ROLE_LABELS = {"worker": "Begeleider", "admin": "Beheerder"}


@bp.app_context_processor
def _labels():
    return {"role_labels": ROLE_LABELS}


def _workers() -> list[Worker]:
    return list(db().execute(select(Worker).order_by(func.lower(Worker.display_name))).scalars())


@bp.route("/medewerkers", methods=["GET", "POST"])
@admin_required
def workers():
    error = None
    form = {"username": "", "display_name": "", "role": "worker"}
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        password = request.form.get("password") or ""
        username, error = clean_text(form["username"], 64)
        if error is None:
            _, error = clean_text(form["display_name"], 100)
        if error is None and form["role"] not in WORKER_ROLES:
            error = "Kies een rol."
        if error is None:
            error = password_problem(password)
        if (
            error is None
            and db()
            .execute(select(Worker).where(func.lower(Worker.username) == username.lower()))
            .first()
        ):
            error = "Deze gebruikersnaam bestaat al. Kies een andere."
        if error is None:
            accounts.create_worker(
                db(), username, form["display_name"], form["role"], hash_password(password)
            )
            audit("medewerker_aangemaakt", detail=username)
            flash(f"{form['display_name']} kan nu inloggen.", "info")
            return redirect(url_for(".workers"))
    counts = dict(
        db().execute(select(Client.worker_id, func.count()).group_by(Client.worker_id)).all()
    )
    return render_template(
        "admin/workers.html", workers=_workers(), counts=counts, error=error, form=form
    ), (400 if error else 200)


@bp.route("/medewerkers/<int:worker_id>", methods=["POST"])
@admin_required
def change_worker(worker_id: int):
    worker = db().get(Worker, worker_id)
    if worker is None:
        abort(404)
    action = request.form.get("action")
    if action in ("deactivate", "activate"):
        if worker.id == g.worker.id:
            flash("Je kunt je eigen account niet uitzetten.", "error")
        else:
            worker.active = action == "activate"
            audit("medewerker_" + ("aan" if worker.active else "uit"), detail=worker.username)
            flash(
                f"{worker.display_name} is {'weer actief' if worker.active else 'uitgezet'}.",
                "info",
            )
    elif action == "password":
        password = request.form.get("password") or ""
        problem = password_problem(password)
        if problem:
            flash(f"Het wachtwoord is niet gewijzigd. {problem}", "error")
        else:
            worker.password_hash = hash_password(password)
            if worker.id != g.worker.id:
                end_sessions_of(worker.id)  # a leaked password: old sessions stop now
            audit("wachtwoord_gewijzigd", detail=worker.username)
            flash(f"Het wachtwoord van {worker.display_name} is gewijzigd.", "info")
    else:
        abort(400)
    return redirect(url_for(".workers"))


@bp.route("/caseloads", methods=["GET", "POST"])
@admin_required
def caseloads():
    session = db()
    if request.method == "POST" and request.form.get("action") == "create":
        return _create_client()
    if request.method == "POST":
        client = session.get(Client, request.form.get("client_id", type=int) or -1)
        worker_id = request.form.get("worker_id", type=int)
        worker = session.get(Worker, worker_id) if worker_id else None
        if client is None or (worker_id and (worker is None or worker.role != "worker")):
            flash("Dat kon niet. Kies een cliënt en een begeleider uit de lijst.", "error")
        else:
            accounts.assign_worker(session, client, worker)
            audit(
                "caseload_gewijzigd",
                client,
                detail=f"naar {worker.username}" if worker else "geen begeleider",
            )
            flash("De begeleider is gewijzigd.", "info")
        return redirect(url_for(".caseloads"))
    clients = list(
        session.execute(
            select(Client)
            .where(Client.display_name.is_not(None))
            .order_by(func.lower(Client.display_name))
        ).scalars()
    )
    begeleiders = [w for w in _workers() if w.role == "worker"]
    audit("caseloads_bekeken", detail=f"{len(clients)} namen")
    return render_template(
        "admin/caseloads.html",
        clients=clients,
        workers=begeleiders,
        levels=LANGUAGE_LEVELS,
        error=None,
        form={},
    )


def _create_client():
    """A new client (name or pseudonym, language level, worker) from the admin page."""
    session = db()
    name, error = clean_text(request.form.get("display_name"), 100)
    level = request.form.get("language_level", "")
    worker_id = request.form.get("worker_id", type=int)
    worker = session.get(Worker, worker_id) if worker_id else None
    if error is None and level not in LANGUAGE_LEVELS:
        error = "Kies een taalniveau."
    if error is None and worker_id and (worker is None or worker.role != "worker"):
        error = "Kies een begeleider uit de lijst."
    if error is not None:
        clients = list(
            session.execute(
                select(Client)
                .where(Client.display_name.is_not(None))
                .order_by(func.lower(Client.display_name))
            ).scalars()
        )
        return render_template(
            "admin/caseloads.html",
            clients=clients,
            levels=LANGUAGE_LEVELS,
            workers=[w for w in _workers() if w.role == "worker"],
            error=error,
            form={"display_name": name, "language_level": level, "worker_id": worker_id},
        ), 400
    client = accounts.create_client(session, name, level, worker.id if worker else None)
    audit("client_aangemaakt", client)
    flash(f"{name} is toegevoegd. De begeleider kan nu een toegangscode maken.", "info")
    return redirect(url_for(".caseloads"))


@bp.route("/instellingen", methods=["GET", "POST"])
@admin_required
def settings():
    session = db()
    error = None
    value = repository.get_org_setting(session, CRISIS_CONTACT_KEY, "") or ""
    if request.method == "POST":
        value, error = clean_text(request.form.get("crisis_contact"), MAX_CRISIS_CONTACT)
        if not value:
            error = None  # an empty text removes the organisation's contact
        if error is None:
            repository.set_org_setting(session, CRISIS_CONTACT_KEY, value, g.worker.username)
            audit("instelling_gewijzigd", detail=CRISIS_CONTACT_KEY)
            flash(
                "Het crisiscontact is opgeslagen. Cliënten zien het onder de knop Hulp."
                if value
                else "Het crisiscontact is weggehaald. Cliënten zien nu alleen 113, "
                "112 en Veilig Thuis.",
                "info",
            )
            return redirect(url_for(".settings"))
    return render_template(
        "admin/settings.html", value=value, error=error, maximum=MAX_CRISIS_CONTACT
    ), (400 if error else 200)


@bp.route("/meldingen")
@admin_required
def alarm_figures():
    """How often workers marked a safety alert as a false alarm, for the whole organisation:
    counts only, no client data. Real-world figures for tuning the crisis detection."""
    figures = queries.false_alarm_share(db())
    audit("meldingen_cijfers_bekeken")
    return render_template("admin/alarms.html", figures=figures)


@bp.route("/logboek")
@admin_required
def audit_log():
    """The audit log, newest first, in pages, filtered by actor, action, client, period and
    (for failed logins) the keyed hash of a username."""
    args = request.args
    start, end = parse_day(args.get("van")), parse_day(args.get("tot"))
    problem = None
    if (args.get("van") and start is None) or (args.get("tot") and end is None):
        problem = "Een datum klopte niet. Die datum is niet gebruikt."
    username = (args.get("gebruikersnaam") or "").strip()[:64]
    filters = queries.AuditFilter(
        actor=(args.get("wie") or "").strip()[:64],
        action=(args.get("wat") or "").strip()[:64],
        client_id=args.get("client", type=int),
        since=day_start(start) if start else None,
        until=day_start(end + timedelta(days=1)) if end else None,
        detail=f"gebruikersnaam-hash {username_hash(username)}" if username else "",
    )
    page = max(args.get("pagina", default=1, type=int) or 1, 1)
    entries, total = queries.audit_page(db(), filters, page)
    pages = max((total + queries.AUDIT_PAGE_SIZE - 1) // queries.AUDIT_PAGE_SIZE, 1)
    shown = {k: v for k, v in args.items() if k != "pagina" and v}
    return render_template(
        "admin/audit.html",
        entries=entries,
        total=total,
        page=min(page, pages),
        pages=pages,
        args=shown,
        actions=queries.audit_actions(db()),
        counts=queries.audit_counts(db(), utcnow().date() - timedelta(days=30)),
        problem=problem,
    )
