"""Between sessions in the web app (Flask test client, real migrated database): the reminder
plan with the client's consent, the worker's question, answers and agreement checks on the
client page and the preparation sheet, the client's own reminder controls and push
subscription in the chat API, and the installable chat (manifest, service worker, offline)."""

from __future__ import annotations

import dataclasses
import json
import struct
from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from bot.reminders.channels import new_vapid_keys, vapid_public_key
from bot.reminders.content import reminder_text
from bot.settings import ReminderSettings
from bot.storage import between
from bot.storage.between_models import PushSubscription, ReminderPlan, WorkerQuestion
from bot.storage.db import session_scope
from bot.storage.models import Agreement, AuditEntry, Client, utcnow
from bot.web import pwa_icons
from bot.web.dashboard import issue_code
from bot.web.security import format_code
from tests.web.conftest import login, token
from tests.web.test_chat import SECRET, client_login

TODAY = date.today()


def audits(engine, action: str) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(
            session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars()
        )


def plan_form(path_token: str, **changes) -> dict:
    form = {
        "csrf_token": path_token,
        "action": "opslaan",
        "channel": "email",
        "email": "appel@example.org",
        "phone": "",
        "day": ["0", "2", "4"],
        "time": "18:00",
        "quiet_start": "22:00",
        "quiet_end": "08:00",
        "start": TODAY.isoformat(),
        "end": (TODAY + timedelta(days=60)).isoformat(),
        "consent": "ja",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def page_of(response) -> str:
    return response.get_data(as_text=True)


# --- the reminder plan (worker) ---------------------------------------------------------------


def test_reminder_plan_needs_consent_and_keeps_what_was_typed(client, data, engine):
    login(client, "anna")
    path = f"/begeleider/client/{data.client_a}/herinneringen"
    page = client.get(path)
    assert page.status_code == 200 and "Wat de cliënt krijgt" in page_of(page)
    response = client.post(path, data=plan_form(token(client, path), consent=None))
    assert response.status_code == 400
    html = page_of(response)
    assert "Vink aan dat de cliënt hiermee heeft ingestemd" in html
    assert 'value="appel@example.org"' in html  # nothing typed is lost
    with session_scope(engine) as session:
        assert session.execute(select(ReminderPlan)).first() is None
    assert (
        len(audits(engine, "herinneringen_bekeken")) == 3
    )  # shown twice, then again with the mistakes


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"day": []}, "Kies minstens één dag."),
        ({"time": "23:30"}, "Het tijdstip valt in de rusttijd."),
        ({"quiet_end": ""}, "allebei de tijden"),
        ({"channel": "sms", "phone": "020-1234567"}, "Dit is geen mobiel nummer."),
        ({"email": "appel-at-example"}, "Dit e-mailadres klopt niet."),
        ({"end": (TODAY - timedelta(days=1)).isoformat()}, "De einddatum ligt"),
        ({"channel": ""}, "Kies hoe de cliënt de herinnering krijgt"),
    ],
)
def test_reminder_plan_mistakes_get_a_dutch_message(client, data, changes, message):
    login(client, "anna")
    path = f"/begeleider/client/{data.client_a}/herinneringen"
    response = client.post(path, data=plan_form(token(client, path), **changes))
    assert response.status_code == 400 and message in page_of(response)


def test_reminder_plan_saved_shown_and_stopped(client, data, engine):
    login(client, "anna")
    path = f"/begeleider/client/{data.client_a}/herinneringen"
    response = client.post(path, data=plan_form(token(client, path)))
    assert response.status_code == 302
    with session_scope(engine) as session:
        plan = session.execute(select(ReminderPlan)).scalar_one()
        assert plan.client_id == data.client_a and plan.consent_recorded_by == "anna"
        assert plan.send_time == time(18, 0) and plan.email == "appel@example.org"
    [entry] = audits(engine, "herinneringen_ingesteld")
    assert "toestemming" in entry.detail and entry.actor == "medewerker:anna"
    assert "appel@example.org" not in (entry.detail or "")
    html = page_of(client.get(f"/begeleider/client/{data.client_a}"))
    assert "maandag, woensdag en vrijdag om 18:00" in html
    client.post(path, data={"csrf_token": token(client, path), "action": "stop"})
    with session_scope(engine) as session:
        plan = session.execute(select(ReminderPlan)).scalar_one()
        assert plan.status == "gestopt" and plan.stopped_by == "anna"
    assert audits(engine, "herinneringen_gestopt")


def test_reminder_plan_of_another_workers_client_is_404(client, data, engine):
    login(client, "bram")
    assert client.get(f"/begeleider/client/{data.client_a}/herinneringen").status_code == 404
    assert audits(engine, "geweigerd")


def test_preview_is_the_exact_text_at_the_clients_level(client, data, engine):
    with session_scope(engine) as session:
        session.get(Client, data.client_a).language_level = "eenvoudig"
    login(client, "anna")
    html = page_of(client.get(f"/begeleider/client/{data.client_a}/herinneringen"))
    simple = reminder_text("eenvoudig", "https://…/chat/")
    assert simple.push_body in html and "Zin om even te chatten?" in html


# --- the worker's question --------------------------------------------------------------------


def set_question(client, data, **form):
    path = f"/begeleider/client/{data.client_a}"
    return client.post(
        f"{path}/vraag", data={"csrf_token": token(client, path), "choice": "", "own": "", **form}
    )


def test_question_from_the_list_then_own_words(client, data, engine):
    login(client, "anna")
    assert set_question(client, data, choice="bron:trots").status_code == 302
    html = page_of(client.get(f"/begeleider/client/{data.client_a}"))
    assert "Klaar voor de volgende keer:</strong> “Waar ben je trots op?”" in html
    assert set_question(client, data, own="Hoe ging het bij je zus?").status_code == 302
    with session_scope(engine) as session:
        rows = list(session.execute(select(WorkerQuestion).order_by(WorkerQuestion.id)).scalars())
    assert [(q.status, q.source) for q in rows] == [("vervangen", "bron"), ("open", "eigen")]
    assert len(audits(engine, "vraag_ingesteld")) == 2
    html = page_of(client.get(f"/begeleider/client/{data.client_a}"))
    assert "vervangen door een nieuwe vraag" in html


def test_own_words_that_fail_the_check_are_kept_with_a_message(client, data, engine):
    login(client, "anna")
    typed = "Hoe staat het met je regie en wat ga je doen aan je herstel deze week?"
    response = set_question(client, data, own=typed)
    assert response.status_code == 400
    html = page_of(response)
    assert "Gebruik geen moeilijk woord als “regie”" in html
    assert "hoogstens 12" in html
    assert typed in html  # nothing typed is lost
    with session_scope(engine) as session:
        assert session.execute(select(WorkerQuestion)).first() is None
    assert set_question(client, data).status_code == 400  # nothing chosen


def test_answers_show_only_when_shared_and_checks_update_the_ledger(client, data, engine):
    login(client, "anna")
    set_question(client, data, choice="bron:geholpen")
    with session_scope(engine) as session:
        q = between.next_question_for(session, data.chat_a)
        between.record_question_answer(session, data.chat_a, q.id, "PRIVE-ANTWOORD-X", False, "k1")
        task = Agreement(
            client_id=data.client_a,
            kind="client",
            text="Vacature opzoeken bij het UWV",
            created_at=utcnow() - timedelta(days=3),
            created_by="anna",
        )
        session.add(task)
        session.flush()
        between.record_agreement_check(session, data.chat_a, task.id, "deels", "k2")
    page = f"/begeleider/client/{data.client_a}"
    html = page_of(client.get(page))
    assert "PRIVE-ANTWOORD-X" not in html
    assert "Beantwoord, maar niet gedeeld" in html
    assert "Cliënt in de chat: deels gedaan" in html
    sheet = page_of(client.get(page + "/voorbereiding"))
    assert "PRIVE-ANTWOORD-X" not in sheet and "Niet gedeeld." in sheet
    assert "cliënt in de chat: <strong>deels gedaan</strong>" in sheet
    assert "Vacature opzoeken bij het UWV – <strong>deels gedaan</strong>" in sheet

    set_question(client, data, choice="bron:trots")
    with session_scope(engine) as session:
        q = between.next_question_for(session, data.chat_a)
        between.record_question_answer(session, data.chat_a, q.id, "GEDEELD-ANTWOORD-Y", True, "k3")
    html = page_of(client.get(page))
    assert "GEDEELD-ANTWOORD-Y" in html
    assert "Vraag van de begeleider" in html  # also among what was shared, with its label
    sheet = page_of(client.get(page + "/voorbereiding"))
    assert "GEDEELD-ANTWOORD-Y" in sheet and "Waar ben je trots op?" in sheet


def test_withdraw_question(client, data, engine):
    login(client, "anna")
    set_question(client, data, choice="bron:trots")
    assert set_question(client, data, action="intrekken").status_code == 302
    with session_scope(engine) as session:
        assert between.next_question_for(session, data.chat_a) is None
    assert audits(engine, "vraag_ingetrokken")


# --- the client's reminder controls and push (chat API) ---------------------------------------


@pytest.fixture
def chat_code(engine, data) -> str:
    with session_scope(engine) as session:
        return format_code(issue_code(session, session.get(Client, data.client_a), "t", SECRET))


def chat_csrf(http) -> str:
    return page_of(http.get("/chat/")).split('data-csrf="', 1)[1].split('"', 1)[0]


def make_plan(engine, data, channel="email") -> None:
    with session_scope(engine) as session:
        between.save_reminder_plan(
            session,
            data.client_a,
            between.ReminderPlanIn(
                channel=channel,
                email="appel@example.org" if channel == "email" else None,
                weekdays=0b1111111,
                send_time=time(18, 0),
                start_date=TODAY,
                end_date=TODAY + timedelta(days=30),
                quiet_start=time(22, 0),
                quiet_end=time(8, 0),
            ),
            "anna",
        )


def test_client_reminder_controls(client, data, engine, chat_code):
    assert client.get("/chat/api/herinneringen").status_code == 401
    client_login(client, chat_code)
    assert client.get("/chat/api/herinneringen").get_json() == {"ok": True, "reminders": None}
    csrf = chat_csrf(client)

    def post(body):
        return client.post("/chat/api/herinneringen", json=body, headers={"X-CSRFToken": csrf})

    no_plan = post({"action": "pauze"})
    assert (
        no_plan.status_code == 409 and "geen berichtjes afgesproken" in no_plan.get_json()["error"]
    )
    make_plan(engine, data)
    assert client.post("/chat/api/herinneringen", json={"action": "stop"}).status_code == 400
    quiet = post({"action": "tijd", "tijd": "7:00"})
    assert quiet.status_code == 409
    assert quiet.get_json()["error"] == (
        "Die tijd valt in de rusttijd. Kies een tijd tussen 08:00 en 22:00."
    )
    assert post({"action": "tijd", "tijd": "half acht"}).status_code == 400
    moved = post({"action": "tijd", "tijd": "19.30"}).get_json()
    # After 19:30 local time the read-back adds "Vandaag krijg je er geen meer." (wall clock).
    assert moved["message"].startswith("Je krijgt de berichtjes nu om 19:30.")
    assert moved["reminders"]["time"] == "19:30"
    until = (TODAY + timedelta(days=7)).isoformat()
    paused = post({"action": "pauze", "tot": until}).get_json()
    assert paused["reminders"]["status"] == "gepauzeerd"
    assert paused["reminders"]["paused_until"] == until
    assert post({"action": "hervat"}).get_json()["reminders"]["status"] == "actief"
    stopped = post({"action": "stop"}).get_json()
    assert stopped["message"].startswith("Je krijgt geen berichtjes meer.")
    again = post({"action": "pauze"})
    assert again.status_code == 409 and "gestopt" in again.get_json()["error"]
    actors = {e.actor for e in audits(engine, "herinneringen_gestopt")}
    assert actors == {"client"}


def test_push_subscription_belongs_to_this_device(client, data, engine, chat_code, monkeypatch):
    private, public = new_vapid_keys()
    settings = ReminderSettings(
        public_url="https://koers.example.nl",
        vapid_private_key=private,
        vapid_subject="mailto:beheer@example.nl",
    )
    monkeypatch.setattr("bot.web.between.get_reminder_settings", lambda: settings)
    assert client.get("/chat/api/push").status_code == 401
    client_login(client, chat_code)
    info = client.get("/chat/api/push").get_json()
    assert info["wanted"] is False and info["public_key"] == public == vapid_public_key(private)
    make_plan(engine, data, channel="push")
    info = client.get("/chat/api/push").get_json()
    assert info["wanted"] is True and info["texts"]["push_button"] == "Meldingen aanzetten"
    subscription = {
        "endpoint": "https://push.example.org/abc",
        "keys": {"p256dh": "B" * 87, "auth": "a" * 22},
    }
    csrf = chat_csrf(client)
    response = client.post("/chat/api/push", json=subscription, headers={"X-CSRFToken": csrf})
    assert response.get_json()["message"] == "Meldingen staan aan op deze telefoon."
    bad = client.post(
        "/chat/api/push", json={"endpoint": "javascript:alert(1)"}, headers={"X-CSRFToken": csrf}
    )
    assert bad.status_code == 400
    with session_scope(engine) as session:
        [row] = session.execute(select(PushSubscription)).scalars()
        assert row.client_id == data.client_a
        assert [s.id for s in between.live_push_subscriptions(session, data.client_a)] == [row.id]
    # Logging out of the chat ends the device: no more reminders to this phone.
    client.post("/chat/uitloggen", data={"csrf_token": csrf})
    with session_scope(engine) as session:
        assert between.live_push_subscriptions(session, data.client_a) == []


# --- the installable chat ---------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_manifest_and_icons(client):
    response = client.get("/chat/manifest.webmanifest")
    assert response.headers["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["name"] == "Koers" and manifest["lang"] == "nl"
    assert manifest["start_url"] == "/chat/" and manifest["scope"] == "/chat/"
    assert manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and icon["type"] == "image/png"
        width, height = png_size(image.get_data())
        assert f"{width}x{height}" == icon["sizes"]
        sizes.add((icon["sizes"], icon["purpose"]))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


def test_service_worker_keeps_only_the_offline_page(client):
    response = client.get("/chat/sw.js")
    assert response.headers["Content-Type"].startswith("text/javascript")
    script = page_of(response)
    precache = json.loads(script.split("var PRECACHE = ", 1)[1].split(";\n", 1)[0])
    assert "/chat/offline" in precache
    assert all(p == "/chat/offline" or p.startswith("/static/") for p in precache), precache
    assert "/chat/" not in precache and not any("/api/" in p for p in precache)
    assert 'if (request.method !== "GET") { return; }' in script


def test_offline_page_has_the_help_numbers_without_login_or_script(client, app, engine):
    from bot.storage import repository

    with session_scope(engine) as session:
        repository.set_org_setting(session, "crisis_contact", "Bel De Linde: 010-1234567 <b>")
    html = page_of(client.get("/chat/offline"))
    for number in (
        'href="tel:113"',
        'href="tel:08000113"',
        'href="tel:112"',
        'href="tel:08002000"',
    ):
        assert number in html
    assert "Bel De Linde: 010-1234567 &lt;b&gt;" in html
    assert "<script" not in html


def test_chat_pages_link_the_manifest_and_register_the_worker(client, chat_code):
    html = page_of(client.get("/chat/"))  # the login page
    assert 'rel="manifest" href="/chat/manifest.webmanifest"' in html
    assert 'src="/static/js/pwa.js" data-sw="/chat/sw.js"' in html
    client_login(client, chat_code)
    html = page_of(client.get("/chat/"))
    assert 'rel="manifest"' in html and "js/pwa.js" in html and "js/chat.js" in html


def test_icons_are_drawn_by_the_script(tmp_path):
    """The committed icons are what bot/web/pwa_icons.py draws (nothing downloaded)."""
    committed = (pwa_icons.ICON_DIR / "koers-192.png").read_bytes()
    assert pwa_icons.png(192, pwa_icons.render(192, False)) == committed


def test_csrf_is_required_for_client_api(client, data, engine, chat_code):
    client_login(client, chat_code)
    make_plan(engine, data)
    response = client.post("/chat/api/herinneringen", json={"action": "stop"})
    assert response.status_code == 400
    with session_scope(engine) as session:
        assert session.execute(select(ReminderPlan)).scalar_one().status == "actief"


def test_export_holds_the_plan_questions_and_checks(settings, data, engine, tmp_path):
    from tests.web.test_cli import run

    cli_settings = dataclasses.replace(settings, tracker_db=tmp_path / "tracker.db")
    make_plan(engine, data)
    with session_scope(engine) as session:
        question = between.set_worker_question(
            session, data.client_a, "Wat wil je zelf?", "Wat wil je zelf?", "bron", "x", "anna"
        )
        between.record_question_answer(session, data.chat_a, question.id, "GEHEIM-Z", False, "e1")
    out = tmp_path / "export.json"
    assert run(cli_settings, "export", str(data.client_a), "-o", str(out)) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["reminder_plan"]["email"] == "appel@example.org"
    assert payload["reminder_plan"]["time"] == "18:00"
    assert payload["worker_questions"] == [
        {
            "question": "Wat wil je zelf?",
            "status": "beantwoord",
            "created_at": payload["worker_questions"][0]["created_at"],
            "closed_at": payload["worker_questions"][0]["closed_at"],
        }
    ]
    assert "GEHEIM-Z" not in out.read_text(encoding="utf-8")  # a private answer, like any
