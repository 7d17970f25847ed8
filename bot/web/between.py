"""Between sessions in the web app (issue 14).

Worker side (dashboard, /begeleider/...): the reminder plan set up with the client (with the
client's consent recorded) and the worker's one open question for the next check-in. Every
URL with a client id checks the caseload (404 otherwise) and every view or change is audited.

Client side (chat, /chat/api/...): the client's own reminder controls (pause, resume, stop,
another time) and turning on web push for this phone. The client is always the one logged in
on this device; nothing the browser sends can choose another client.
"""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from bot.reminders import schedule
from bot.reminders.content import control_text, refusal_text, reminder_text, time_changed_text
from bot.settings import get_reminder_settings
from bot.storage import between, devices
from bot.storage.between_models import REMINDER_CHANNELS
from bot.storage.models import utcnow
from bot.web import between_views
from bot.web.common import audit, db, local, parse_day, worker_required
from bot.web.dashboard import _client, _render_client
from bot.worker_questions import find_choice, grouped_choices, question_problems

bp = Blueprint("between", __name__)

DEFAULT_PLAN_DAYS = 91
PREVIEW_LINK = "https://…/chat/"


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {**between_views.template_globals(), "question_choices": grouped_choices}


# --- the reminder plan (worker) ---------------------------------------------------------------


def _parse_clock(text: str | None) -> time | None:
    value = (text or "").strip()
    if not value:
        return None
    try:
        hour, minute = value.split(":")[:2]
        return time(int(hour), int(minute))
    except ValueError:
        return None


def _plan_form(plan) -> dict[str, Any]:
    today = local(utcnow()).date()
    if plan is None:
        return {
            "channel": "",
            "email": "",
            "phone": "",
            "days": [],
            "time": "18:00",
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "start": today.isoformat(),
            "end": (today + timedelta(days=DEFAULT_PLAN_DAYS)).isoformat(),
            "consent": False,
        }
    return {
        "channel": plan.channel,
        "email": plan.email or "",
        "phone": plan.phone or "",
        "days": schedule.mask_to_days(plan.weekdays),
        "time": schedule.time_text(plan.send_time),
        "quiet_start": schedule.time_text(plan.quiet_start) if plan.quiet_start else "",
        "quiet_end": schedule.time_text(plan.quiet_end) if plan.quiet_end else "",
        "start": plan.start_date.isoformat(),
        "end": plan.end_date.isoformat(),
        "consent": False,  # every change is agreed with the client again
    }


def _read_plan_form() -> tuple[dict[str, Any], between.ReminderPlanIn | None, list[str]]:
    f = request.form
    form: dict[str, Any] = {
        "channel": f.get("channel", ""),
        "email": (f.get("email") or "").strip()[:254],
        "phone": (f.get("phone") or "").strip()[:40],
        "days": sorted({int(d) for d in f.getlist("day") if d.isdigit() and 0 <= int(d) <= 6}),
        "time": (f.get("time") or "").strip()[:5],
        "quiet_start": (f.get("quiet_start") or "").strip()[:5],
        "quiet_end": (f.get("quiet_end") or "").strip()[:5],
        "start": (f.get("start") or "").strip()[:10],
        "end": (f.get("end") or "").strip()[:10],
        "consent": f.get("consent") == "ja",
    }
    errors: list[str] = []
    if form["channel"] not in REMINDER_CHANNELS:
        errors.append("Kies hoe de cliënt de herinnering krijgt: e-mail, SMS of melding.")
    if not form["days"]:
        errors.append("Kies minstens één dag.")
    send_time = _parse_clock(form["time"])
    if send_time is None:
        errors.append("Vul een tijd in, bijvoorbeeld 18:00.")
    quiet_start, quiet_end = _parse_clock(form["quiet_start"]), _parse_clock(form["quiet_end"])
    if (form["quiet_start"] and quiet_start is None) or (form["quiet_end"] and quiet_end is None):
        errors.append("Een tijd van de rusttijd klopt niet. Gebruik bijvoorbeeld 22:00.")
    elif (quiet_start is None) != (quiet_end is None):
        errors.append("Vul bij de rusttijd allebei de tijden in, of geen van beide.")
    elif send_time is not None and schedule.in_quiet_hours(send_time, quiet_start, quiet_end):
        errors.append(
            "Het tijdstip valt in de rusttijd. Kies een ander tijdstip of een andere rusttijd."
        )
    start, end = parse_day(form["start"]), parse_day(form["end"])
    today = local(utcnow()).date()
    if start is None or end is None:
        errors.append("Vul een begin- en einddatum in. Gebruik de kalender.")
    elif end < start:
        errors.append("De einddatum ligt voor de begindatum.")
    elif end < today:
        errors.append("De einddatum ligt in het verleden.")
    email = phone = None
    if form["channel"] == "email":
        email = between.valid_email(form["email"])
        if email is None:
            errors.append("Dit e-mailadres klopt niet. Kijk het na.")
    if form["channel"] == "sms":
        phone = between.normalize_phone(form["phone"])
        if phone is None:
            errors.append("Dit is geen mobiel nummer. Schrijf het zo: 06-12345678.")
    if not form["consent"]:
        errors.append(
            "Vink aan dat de cliënt hiermee heeft ingestemd. Zonder toestemming stuurt Koers "
            "geen herinneringen."
        )
    if errors:
        return form, None, errors
    assert send_time is not None and start is not None and end is not None
    return (
        form,
        between.ReminderPlanIn(
            channel=form["channel"],
            weekdays=schedule.days_to_mask(form["days"]),
            send_time=send_time,
            start_date=start,
            end_date=end,
            email=email,
            phone=phone,
            quiet_start=quiet_start,
            quiet_end=quiet_end,
        ),
        [],
    )


def _render_plan_page(client, form, errors, status=200):
    session = db()
    plan = between.reminder_plan(session, client.id)
    return render_template(
        "reminders_edit.html",
        client=client,
        plan=plan,
        plan_status=between._status_of(plan, utcnow()) if plan else None,
        sends=between.recent_sends(session, client.id, limit=10),
        push_devices=len(between.live_push_subscriptions(session, client.id)),
        form=form,
        errors=errors,
        preview=reminder_text(client.language_level, PREVIEW_LINK),
        ready={channel: between_views.channel_ready(channel) for channel in REMINDER_CHANNELS},
        day_names=schedule.DAY_NAMES,
    ), status


@bp.route("/begeleider/client/<int:client_id>/herinneringen", methods=["GET", "POST"])
@worker_required
def reminder_plan(client_id: int):
    client = _client(client_id)
    session = db()
    if request.method == "POST" and request.form.get("action") == "stop":
        plan = between.reminder_plan(session, client.id)
        if plan is not None and plan.status != "gestopt":
            between.stop_reminders(session, client.chat_id, by=g.worker.username)
            audit("herinneringen_gestopt", client)
            flash("De herinneringen zijn gestopt. Er gaat niets meer weg.", "info")
        return redirect(
            url_for("dashboard.client_page", client_id=client.id, _anchor="herinneringen")
        )
    if request.method == "POST":
        form, plan_in, errors = _read_plan_form()
        if errors:
            audit("herinneringen_bekeken", client)
            return _render_plan_page(client, form, errors, status=400)
        assert plan_in is not None
        between.save_reminder_plan(session, client.id, plan_in, recorded_by=g.worker.username)
        audit(
            "herinneringen_ingesteld",
            client,
            detail=f"{plan_in.channel}; toestemming van de cliënt vastgelegd",
        )
        flash("De herinneringen zijn opgeslagen, met de toestemming van de cliënt.", "info")
        return redirect(
            url_for("dashboard.client_page", client_id=client.id, _anchor="herinneringen")
        )
    audit("herinneringen_bekeken", client)
    return _render_plan_page(client, _plan_form(between.reminder_plan(session, client.id)), [])


# --- the worker's question for next time ------------------------------------------------------


@bp.route("/begeleider/client/<int:client_id>/vraag", methods=["POST"])
@worker_required
def set_question(client_id: int):
    client = _client(client_id)
    session = db()
    if request.form.get("action") == "intrekken":
        if between.withdraw_worker_question(session, client.id):
            audit("vraag_ingetrokken", client)
            flash("De vraag is ingetrokken. Koers stelt hem niet.", "info")
        return redirect(url_for("dashboard.client_page", client_id=client.id, _anchor="vraag"))
    own = (request.form.get("own") or "").strip()
    value = request.form.get("choice") or ""
    choice = find_choice(value)
    errors: list[str] = []
    if own:
        errors = question_problems(own, client.language_level)
    elif choice is None:
        errors = ["Kies een vraag uit de lijst, of schrijf je eigen vraag."]
    if errors:
        g.question_form = {"choice": value if choice else "", "own": own[:2000]}
        g.question_errors = errors
        flash("De vraag is niet opgeslagen. Verbeter wat hieronder staat.", "error")
        return _render_client(client, status=400)
    if own:
        between.set_worker_question(
            session, client.id, own, own, "eigen", None, created_by=g.worker.username
        )
    else:
        assert choice is not None
        between.set_worker_question(
            session,
            client.id,
            choice.standaard,
            choice.eenvoudig,
            choice.source,
            choice.source_key,
            created_by=g.worker.username,
        )
    audit("vraag_ingesteld", client)
    flash("De vraag staat klaar. Koers stelt hem bij de volgende check-in.", "info")
    return redirect(url_for("dashboard.client_page", client_id=client.id, _anchor="vraag"))


# --- the client's own reminder controls (chat) ------------------------------------------------


_LOGGED_OUT = "Je bent niet meer ingelogd. Vul je code opnieuw in."


def _chat_client_and_device():
    """(client, device, refusal): the logged-in client of this browser and its live device
    row, or a refusal to return: 401 when nobody is logged in, and for a page loaded for
    another client the 409 of bot.web.chat.from_another_page."""
    from bot.web import chat

    client = chat.current_client()
    if client is None:
        return None, None, (jsonify({"ok": False, "error": _LOGGED_OUT}), 401)
    other = chat.from_another_page(client)
    if other is not None:
        return None, None, other
    data = chat._cookie_data() or {}
    device = devices.find_device(db(), current_app.config["SECRET_KEY"], str(data.get("d", "")))
    if device is None:
        return None, None, (jsonify({"ok": False, "error": _LOGGED_OUT}), 401)
    return client, device, None


def _status_json(status: between.ReminderStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "status": status.status,
        "channel": status.channel,
        "days": status.days_text,
        "time": status.time_text,
        "paused_until": status.paused_until.isoformat() if status.paused_until else None,
        "end_date": status.end_date.isoformat(),
        "next_at": status.next_at.isoformat() if status.next_at else None,
    }


def _refusal(exc: between.ReminderRefused, level: str) -> str:
    return refusal_text(exc.code, level, exc.quiet)


@bp.route("/chat/api/herinneringen", methods=["GET", "POST"])
def client_reminders():
    """GET: the client's reminders. POST {"action": "pauze" [, "tot": "YYYY-MM-DD"]} |
    {"action": "hervat"} | {"action": "stop"} | {"action": "tijd", "tijd": "19:00"}."""
    client, _device, refusal = _chat_client_and_device()
    if refusal is not None:
        return refusal
    session = db()
    level = client.language_level
    if request.method == "GET":
        status = between.reminder_status(session, client.chat_id)
        return jsonify({"ok": True, "reminders": _status_json(status)})
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    action = body.get("action")
    try:
        if action == "pauze":
            until = parse_day(str(body.get("tot") or "")) if body.get("tot") else None
            if body.get("tot") and (until is None or until < local(utcnow()).date()):
                return jsonify({"ok": False, "error": "Kies een datum vanaf vandaag."}), 400
            status = between.pause_reminders(session, client.chat_id, until=until)
            message = (
                control_text("paused_until", level, datum=until.strftime("%d-%m-%Y"))
                if until
                else control_text("paused", level)
            )
        elif action == "hervat":
            status = between.resume_reminders(session, client.chat_id)
            message = control_text("resumed", level)
        elif action == "stop":
            status = between.stop_reminders(session, client.chat_id)
            message = control_text("stopped", level)
        elif action == "tijd":
            new_time = schedule.parse_time(str(body.get("tijd") or ""))
            if new_time is None:
                return jsonify({"ok": False, "error": control_text("bad_time", level)}), 400
            status = between.change_reminder_time(session, client.chat_id, new_time)
            message = time_changed_text(level, new_time, status)
        else:
            return jsonify(
                {"ok": False, "error": "Dat snap ik niet. Kies pauze, hervat, stop of tijd."}
            ), 400
    except between.ReminderRefused as exc:
        return jsonify({"ok": False, "error": _refusal(exc, level)}), 409
    return jsonify({"ok": True, "message": message, "reminders": _status_json(status)})


# --- web push on this phone (chat) ------------------------------------------------------------


@bp.route("/chat/api/push", methods=["GET", "POST", "DELETE"])
def client_push():
    """GET: whether this client has push reminders and the server's public key.
    POST: the browser's PushSubscription (JSON); DELETE: {"endpoint": ...}."""
    client, device, refusal = _chat_client_and_device()
    if refusal is not None:
        return refusal
    session = db()
    level = client.language_level
    if request.method == "GET":
        settings = get_reminder_settings()
        public_key = None
        if settings.vapid_private_key:
            from bot.reminders.channels import vapid_public_key

            public_key = vapid_public_key(settings.vapid_private_key)
        plan = between.reminder_plan(session, client.id)
        status = between._status_of(plan, utcnow()) if plan else None
        wanted = bool(
            public_key
            and status
            and status.channel == "push"
            and status.status in ("actief", "gepauzeerd")
        )
        return jsonify(
            {
                "ok": True,
                "wanted": wanted,
                "public_key": public_key,
                "texts": {
                    key: control_text(key, level)
                    for key in (
                        "push_offer",
                        "push_button",
                        "push_on",
                        "push_blocked",
                        "push_failed",
                    )
                },
            }
        )
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}
    endpoint = body.get("endpoint")
    if request.method == "DELETE":
        removed = isinstance(endpoint, str) and between.delete_push_subscription(
            session, client.id, endpoint
        )
        if removed:
            audit("push_uitgezet", client, actor="client")
        return jsonify({"ok": True})
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    try:
        _, created = between.save_push_subscription(
            session,
            client.id,
            device.id,
            endpoint if isinstance(endpoint, str) else "",
            keys.get("p256dh") if isinstance(keys.get("p256dh"), str) else "",
            keys.get("auth") if isinstance(keys.get("auth"), str) else "",
        )
    except ValueError:
        return jsonify({"ok": False, "error": control_text("push_failed", level)}), 400
    if created:
        audit("push_aangezet", client, actor="client")
    return jsonify({"ok": True, "message": control_text("push_on", level)})
