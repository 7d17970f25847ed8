"""The worker dashboard: caseload, client page, safety plan, agreements, preparation sheet,
clients and access codes. Every URL with a client id checks that the client is on the
logged-in worker's caseload (404 otherwise), and every view of client data is audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from bot.storage import accounts, queries, repository
from bot.storage.models import Agreement, Client, utcnow
from bot.summary import answer_level, build_summary, shown_scale
from bot.vocabulary import (
    AGREEMENT_KINDS,
    LANGUAGE_LEVELS,
    PLAN_KINDS,
    PLAN_PHASES,
    REVIEW_FALSE_ALARM,
    REVIEW_SEEN,
    SIMPLE,
    STANDARD,
)
from bot.web import between_views
from bot.web.common import (
    audit,
    clean_text,
    day_start,
    db,
    local,
    parse_day,
    worker_required,
)
from bot.web.security import code_hash, format_code, new_access_code

bp = Blueprint("dashboard", __name__, url_prefix="/begeleider")

RECENT_REFLECTIONS = 30
MAX_AGREEMENT_LENGTH = 500
MAX_PLAN_LINES = 12
# The same agreement or client twice within this time is a double submit.
DOUBLE_SUBMIT_SECONDS = 30

PHASE_LABELS = {
    "groen": "Groen: het gaat goed",
    "oranje": "Oranje: het gaat minder",
    "rood": "Rood: crisis",
}
KIND_LABELS = {"signaal": "Signalen", "helpt": "Wat helpt", "contact": "Contacten"}
AGREEMENT_LABELS = {
    "client": "Taken van de cliënt",
    "worker": "Mijn beloftes",
    "ander": "Gevraagd aan anderen",
}
STEP_LABELS = {
    "open": "nog open",
    "gelukt": "gelukt",
    "beetje": "een beetje gelukt",
    "niet_gelukt": "niet gelukt",
    "vervallen": "vervallen",
}
MOOD_KEY = "stemming"
LEVEL_LABELS = {STANDARD: "Standaard", SIMPLE: "Eenvoudig (korte zinnen)"}


def _client(client_id: int) -> Client:
    client = queries.owned_client(db(), g.worker, client_id)
    if client is None:
        audit("geweigerd", client_id, detail=request.path)
        abort(404)
    return client


def client_name(client: Client) -> str:
    return client.display_name or f"Cliënt {client.id}"


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {
        "theme_meta": queries.theme,
        "phase_labels": PHASE_LABELS,
        "kind_labels": KIND_LABELS,
        "agreement_labels": AGREEMENT_LABELS,
        "step_labels": STEP_LABELS,
        "level_labels": LEVEL_LABELS,
        "client_name": client_name,
        "category_labels": queries.CATEGORY_LABELS,
        "detected_labels": queries.DETECTED_LABELS,
        "check_answer_labels": queries.CHECK_ANSWER_LABELS,
        "review_labels": queries.REVIEW_LABELS,
        "scale_low": queries.SCALE_LOW,
        "scale_high": queries.SCALE_HIGH,
        "mood_low": queries.MOOD_LOW,
        "mood_high": queries.MOOD_HIGH,
        "shown_scale": shown_scale,
        "answer_level": answer_level,
    }


@bp.route("/")
@worker_required
def caseload():
    rows = queries.caseload(db(), g.worker)
    for row in rows:
        audit("overzicht_bekeken", row.client)
    return render_template("caseload.html", rows=rows)


def _mood_chart(points: list[tuple[datetime, int]]) -> dict[str, Any]:
    """The mood check-ins as a chart like the theme scales (1 = slecht, 5 = goed)."""
    return {
        "key": MOOD_KEY,
        "icon": "🙂",
        "label": "Stemming bij de check-in",
        "question": "Hoe gaat het vandaag?",
        "low": queries.MOOD_LOW,
        "high": queries.MOOD_HIGH,
        "points": [
            {
                "x": local(at).strftime("%d-%m-%Y %H:%M"),
                "y": mood,
                "label": local(at).strftime("%d-%m"),
            }
            for at, mood in points
        ],
    }


def _chart_data(series: dict[str, list[tuple[datetime, int]]]) -> list[dict[str, Any]]:
    charts = []
    for key in [k for k in queries.THEMES if k in series] + [
        k for k in series if k not in queries.THEMES
    ]:
        meta = queries.theme(key)
        charts.append(
            {
                "key": key,
                "label": meta.label,
                "question": meta.question or "",
                "low": queries.SCALE_LOW,
                "high": queries.SCALE_HIGH,
                "points": [
                    {"x": local(at).strftime("%d-%m-%Y"), "y": scale} for at, scale in series[key]
                ],
            }
        )
    return charts


@bp.route("/client/<int:client_id>")
@worker_required
def client_page(client_id: int):
    return _render_client(_client(client_id), show_all=request.args.get("alle") == "1")


def _render_client(
    client: Client, show_all: bool = False, form: dict[str, str] | None = None, status: int = 200
):
    """The client page; `form` refills the agreement form after a mistake (never via the URL,
    so what was typed does not end up in logs or the browser history)."""
    session = db()
    reflections = queries.shared_reflections(
        session, client.id, limit=None if show_all else RECENT_REFLECTIONS
    )
    shared, private = queries.reflection_counts(session, client.id)
    series = queries.scale_series(session, client.id)
    mood = _mood_chart(queries.mood_series(session, client.id))
    audit("client_bekeken", client, detail="alle reflecties" if show_all else None)
    active_code = next((c for c in client.access_codes if c.revoked_at is None), None)
    return render_template(
        "client.html",
        client=client,
        reflections=reflections,
        shared=shared,
        private=private,
        show_all=show_all,
        charts=_chart_data(series),
        mood=mood,
        last_checkin=queries.last_checkin(session, client.id),
        steps=queries.shared_steps(session, client.id),
        plan=queries.safety_plan(session, client.id),
        alert_groups=queries.alert_groups(queries.safety_events(session, client.id)),
        agreements=queries.agreements(session, client.id),
        agreement_kinds=AGREEMENT_KINDS,
        active_code=active_code,
        form=form or {"kind": "client", "text": "", "party": "", "due_date": ""},
        between=between_views.client_panel(session, client),
    ), status


@bp.route("/client/<int:client_id>/contact", methods=["POST"])
@worker_required
def record_contact(client_id: int):
    client = _client(client_id)
    accounts.record_contact(db(), client)
    audit("contact_vastgelegd", client)
    flash("Het gesprek van vandaag is vastgelegd. De volgende voorbereiding begint hier.", "info")
    return redirect(url_for(".client_page", client_id=client.id))


REVIEWS = {"gezien": REVIEW_SEEN, "vals-alarm": REVIEW_FALSE_ALARM}


@bp.route("/client/<int:client_id>/melding/<int:event_id>/<oordeel>", methods=["POST"])
@worker_required
def review_alert(client_id: int, event_id: int, oordeel: str):
    """Mark an alert (with the alerts grouped with it) as seen or as a false alarm. Only the
    alerts the worker's page showed in the group (its `meldingen` field): one that came in
    after the page was loaded joins the group but stays open until the worker has seen it."""
    client = _client(client_id)
    review = REVIEWS.get(oordeel)
    shown = {int(part) for part in request.form.get("meldingen", "").split(",") if part.isdigit()}
    group = queries.alert_group_of(db(), client.id, event_id)
    if review is None or not group:
        abort(404)
    # A form without the field marks only the alert it names.
    group = [event for event in group if event.id in shown or event.id == event_id]
    for event in group:
        repository.review_safety_event(db(), event, review, g.worker.display_name[:128])
    ids = ",".join(str(e.id) for e in group)
    audit("melding_" + review, client, detail=f"melding {ids}")
    if review == REVIEW_FALSE_ALARM:
        flash("Gemarkeerd als vals alarm. Dank je: zo leert Koers wat er mis ging.", "info")
    else:
        flash("De melding is gemarkeerd als gezien.", "info")
    return redirect(url_for(".client_page", client_id=client.id, _anchor="meldingen"))


@bp.route("/client/<int:client_id>/afspraken", methods=["POST"])
@worker_required
def add_agreement(client_id: int):
    client = _client(client_id)
    kind = request.form.get("kind", "")
    text, problem = clean_text(request.form.get("text"), MAX_AGREEMENT_LENGTH)
    party = (request.form.get("party") or "").strip()[:100] or None
    due = parse_day(request.form.get("due_date"))
    if kind not in AGREEMENT_KINDS:
        problem = "Kies wat voor afspraak het is."
    elif request.form.get("due_date") and due is None:
        problem = "Deze datum klopt niet. Gebruik de kalender."
    elif kind == "ander" and not party and problem is None:
        problem = "Vul in aan wie je het vroeg."
    if problem:
        flash(f"De afspraak is niet opgeslagen. {problem}", "error")
        # Keep what was typed: show it again in the form (in the page, not in the URL).
        return _render_client(
            client,
            form={
                "kind": kind if kind in AGREEMENT_KINDS else "client",
                "text": text[:2000],
                "party": party or "",
                "due_date": request.form.get("due_date", "")[:10],
            },
            status=400,
        )
    same = (
        db()
        .execute(
            select(Agreement.id).where(
                Agreement.client_id == client.id,
                Agreement.kind == kind,
                Agreement.text == text,
                Agreement.done_at.is_(None),
                Agreement.created_at >= utcnow() - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
            )
        )
        .first()
    )
    if same is not None:  # a double click or a second tab: keep one
        flash("Deze afspraak stond er al.", "info")
        return redirect(url_for(".client_page", client_id=client.id, _anchor="afspraken"))
    accounts.add_agreement(db(), client, kind, text, party, due, g.worker.username)
    audit("afspraak_toegevoegd", client)
    flash("De afspraak is opgeslagen.", "info")
    return redirect(url_for(".client_page", client_id=client.id, _anchor="afspraken"))


@bp.route("/client/<int:client_id>/afspraken/<int:agreement_id>/klaar", methods=["POST"])
@worker_required
def agreement_done(client_id: int, agreement_id: int):
    client = _client(client_id)
    row = queries.agreement(db(), client.id, agreement_id)
    if row is None:
        abort(404)
    if accounts.finish_agreement(db(), row):
        audit("afspraak_afgerond", client, detail=f"afspraak {row.id}")
    flash("De afspraak staat op afgerond.", "info")
    return redirect(url_for(".client_page", client_id=client.id, _anchor="afspraken"))


@bp.route("/client/<int:client_id>/plan", methods=["GET", "POST"])
@worker_required
def edit_plan(client_id: int):
    client = _client(client_id)
    session = db()
    errors: list[str] = []
    if request.method == "POST":
        items = []
        values: dict[tuple[str, str], str] = {}
        for phase in PLAN_PHASES:
            for kind in PLAN_KINDS:
                raw = request.form.get(f"{phase}_{kind}", "")
                values[(phase, kind)] = raw
                lines = [line.strip() for line in raw.splitlines() if line.strip()]
                if len(lines) > MAX_PLAN_LINES:
                    errors.append(
                        f"{PHASE_LABELS[phase]} – {KIND_LABELS[kind]}: hoogstens "
                        f"{MAX_PLAN_LINES} regels."
                    )
                for line in lines:
                    if len(line) > repository.MAX_PLAN_ITEM_LENGTH:
                        errors.append(
                            f"{PHASE_LABELS[phase]} – {KIND_LABELS[kind]}: een regel "
                            f"is langer dan {repository.MAX_PLAN_ITEM_LENGTH} tekens."
                        )
                    items.append(repository.PlanItemIn(phase, kind, line))
        if not errors:
            repository.save_safety_plan(
                session, client.chat_id, items, updated_by=g.worker.username
            )
            audit("plan_gewijzigd", client)
            flash("Het signaleringsplan is opgeslagen.", "info")
            return redirect(url_for(".client_page", client_id=client.id, _anchor="plan"))
        audit("plan_bekeken", client)
        return render_template("plan_edit.html", client=client, values=values, errors=errors), 400
    plan = queries.safety_plan(session, client.id)
    values = {(p, k): "" for p in PLAN_PHASES for k in PLAN_KINDS}
    if plan is not None:
        for item in plan.items:
            values[(item.phase, item.kind)] += item.text + "\n"
    audit("plan_bekeken", client)
    return render_template("plan_edit.html", client=client, values=values, errors=errors)


@bp.route("/client/<int:client_id>/voorbereiding")
@worker_required
def prepare(client_id: int):
    client = _client(client_id)
    today = local(utcnow()).date()
    start_day = parse_day(request.args.get("van"))
    end_day = parse_day(request.args.get("tot"))
    problem = None
    if request.args.get("van") and start_day is None or request.args.get("tot") and end_day is None:
        problem = "Een datum klopte niet. De standaardperiode wordt getoond."
    if start_day is None:
        start_day = (
            local(client.last_contact_at).date()
            if client.last_contact_at
            else today - timedelta(days=28)
        )
    if end_day is None:
        end_day = today
    if end_day < start_day:
        problem = "De einddatum lag voor de begindatum. De data zijn omgedraaid."
        start_day, end_day = end_day, start_day
    since = (
        client.last_contact_at
        if (not request.args.get("van") and client.last_contact_at)
        else day_start(start_day)
    )
    until = day_start(end_day + timedelta(days=1))
    summary = build_summary(db(), client.id, since, until)
    audit("voorbereiding_bekeken", client, detail=f"{start_day:%Y-%m-%d} t/m {end_day:%Y-%m-%d}")
    return render_template(
        "prepare.html",
        client=client,
        summary=summary,
        mood=_mood_chart(summary.mood.points),
        since_contact=since == client.last_contact_at and client.last_contact_at is not None,
        start_day=start_day,
        end_day=end_day,
        problem=problem,
        today=today,
        plan=queries.safety_plan(db(), client.id),
        between=between_views.sheet_part(db(), client, since, until),
    )


# --- clients and access codes -----------------------------------------------------------------


@bp.route("/clienten/nieuw", methods=["GET", "POST"])
@worker_required
def new_client():
    error = None
    name = ""
    level = STANDARD
    if request.method == "POST":
        name, error = clean_text(request.form.get("display_name"), 100)
        level = request.form.get("language_level", "")
        if level not in LANGUAGE_LEVELS:
            error = error or "Kies een taalniveau."
        if error is None:
            now = utcnow()
            same = (
                db()
                .execute(
                    select(Client).where(
                        Client.worker_id == g.worker.id,
                        Client.display_name == name,
                        Client.created_at >= now - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
                    )
                )
                .scalars()
                .first()
            )
            if same is not None:  # a double click or a second tab: keep one
                flash(f"{name} stond er al.", "info")
                return redirect(url_for(".client_page", client_id=same.id, _anchor="toegang"))
            client = accounts.create_client(db(), name, level, g.worker.id)
            audit("client_aangemaakt", client)
            flash(f"{name} is toegevoegd. Maak nu een toegangscode voor de chat.", "info")
            return redirect(url_for(".client_page", client_id=client.id, _anchor="toegang"))
    return render_template("client_new.html", error=error, name=name, level=level), (
        400 if error else 200
    )


@bp.route("/client/<int:client_id>/taalniveau", methods=["POST"])
@worker_required
def set_language_level(client_id: int):
    """The language of the client's chat, reminders and pages between sessions. The chat
    takes the stored level at every session start; the client can still switch in the chat
    ("makkelijker"), which is stored too (action_taal_bewaren)."""
    client = _client(client_id)
    level = request.form.get("language_level", "")
    if level not in LANGUAGE_LEVELS:
        flash("Kies een taalniveau. Er is niets veranderd.", "error")
    elif level == client.language_level:
        flash("Dat taalniveau stond er al.", "info")
    else:
        repository.set_language_level(client, level)
        audit("taalniveau_gewijzigd", client, detail=level)
        flash(
            f"Taal in de chat: {LEVEL_LABELS[level].lower()}. "
            "Koers gebruikt die vanaf het volgende gesprek van de cliënt.",
            "info",
        )
    return redirect(url_for(".client_page", client_id=client.id, _anchor="toegang"))


def issue_code(session: Any, client: Client, created_by: str, secret_key: str) -> str:
    """Revoke the client's active codes and make a new one. Returns the code (shown once)."""
    code = new_access_code()
    # The old codes' devices stop at once.
    accounts.replace_access_code(session, client, code_hash(secret_key, code), created_by)
    return code


@bp.route("/client/<int:client_id>/code", methods=["POST"])
@worker_required
def new_code(client_id: int):
    client = _client(client_id)
    code = issue_code(db(), client, g.worker.username, current_app.config["SECRET_KEY"])
    audit("code_uitgegeven", client)
    return render_template(
        "code_shown.html",
        client=client,
        code=format_code(code),
        chat_url=url_for("chat.page", _external=True),
    )


@bp.route("/client/<int:client_id>/code/intrekken", methods=["POST"])
@worker_required
def revoke_code(client_id: int):
    client = _client(client_id)
    accounts.revoke_access_codes(db(), client)  # every logged-in device stops at once
    audit("code_ingetrokken", client)
    flash(
        "De toegangscode werkt niet meer. De cliënt kan niet meer inloggen tot je een nieuwe "
        "code maakt.",
        "info",
    )
    return redirect(url_for(".client_page", client_id=client.id, _anchor="toegang"))
