"""The worker dashboard through Flask's test client, on a real migrated SQLite database."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.storage.db import session_scope
from bot.storage.models import (
    AccessCode,
    Agreement,
    AuditEntry,
    Client,
    OrgSetting,
    SafetyEvent,
    SafetyPlan,
    Worker,
)
from bot.web.security import code_hash
from tests.web import seed
from tests.web.conftest import login, token


def audit_actions(engine, client_id=None) -> list[tuple[str, str, int | None]]:
    with session_scope(engine) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if client_id is not None:
            query = query.where(AuditEntry.client_id == client_id)
        return [(e.actor, e.action, e.client_id) for e in session.execute(query).scalars()]


# --- login ------------------------------------------------------------------------------------


def test_login_and_logout(client, data):
    assert client.get("/begeleider/").status_code == 302
    response = login(client, "anna")
    assert response.status_code == 302 and response.headers["Location"].endswith("/begeleider/")
    page = client.get("/begeleider/").get_data(as_text=True)
    assert "Testcliënt Appel" in page and "Testcliënt Peer" not in page
    csrf = token(client, "/begeleider/")
    copied = client.get_cookie("koers_sessie").value
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/begeleider/").status_code == 302  # back to the login page
    # A copy of the cookie from before the logout no longer works either.
    thief = client.application.test_client()
    thief.set_cookie("koers_sessie", copied)
    assert thief.get("/begeleider/").status_code == 302


def test_session_expires_after_idle_time(client, data, app):
    login(client, "anna")
    assert client.get("/begeleider/").status_code == 200
    app.config["WORKER_IDLE_SECONDS"] = -1  # every request is now "too late"
    response = client.get("/begeleider/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    app.config["WORKER_IDLE_SECONDS"] = 1800
    assert client.get("/begeleider/").status_code == 302  # the session is gone for good


def test_session_cookie_flags(client, data):
    response = login(client, "anna")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_and_unknown_user(client, data, engine):
    response = login(client, "anna", "verkeerd-wachtwoord")
    assert response.status_code == 401
    assert "klopt niet" in response.get_data(as_text=True)
    assert login(client, "niemand", "whatever-123").status_code == 401
    assert client.get("/begeleider/").status_code == 302
    assert ("onbekend", "inloggen_mislukt", None) in audit_actions(engine)


def test_login_rate_limit_per_ip_and_username(client, data):
    for _ in range(5):
        assert login(client, "anna", "fout-fout-fout").status_code == 401
    blocked = login(client, "anna")  # even the right password is refused now
    assert blocked.status_code == 429 and "15 minuten" in blocked.get_data(as_text=True)
    assert login(client, "bram").status_code == 302  # another username is not blocked


def test_inactive_worker_cannot_log_in(client, data, engine):
    with session_scope(engine) as session:
        session.get(Worker, data.worker_a).active = False
    assert login(client, "anna").status_code == 401


def test_csrf_is_required(client, data):
    login(client, "anna")
    response = client.post(
        f"/begeleider/client/{data.client_a}/afspraken",
        data={"kind": "client", "text": "zonder token"},
    )
    assert response.status_code == 400
    assert "verlopen" in response.get_data(as_text=True)
    bad = client.post("/login", data={"username": "anna", "password": seed.PASSWORD})
    assert bad.status_code == 400


def test_security_headers(client, data):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)  # no inline scripts


def test_open_redirect_is_refused(client, data):
    page = client.get("/login?next=//evil.example/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": "anna", "password": seed.PASSWORD, "csrf_token": csrf},
    )
    assert response.headers["Location"].endswith("/begeleider/")


# --- ownership --------------------------------------------------------------------------------


def test_worker_cannot_open_another_workers_client_or_records(client, data, engine):
    login(client, "anna")
    csrf = token(client, "/begeleider/")
    b = data.client_b
    for path in (
        f"/begeleider/client/{b}",
        f"/begeleider/client/{b}/voorbereiding",
        f"/begeleider/client/{b}/plan",
        "/begeleider/client/9999",
    ):
        assert client.get(path).status_code == 404, path
    for path in (
        f"/begeleider/client/{b}/melding/{data.event_b}/gezien",
        f"/begeleider/client/{b}/afspraken/{data.agreement_b}/klaar",
        f"/begeleider/client/{b}/code",
        f"/begeleider/client/{b}/contact",
        f"/begeleider/client/{b}/plan",
        # B's record through A's own client id: still refused
        f"/begeleider/client/{data.client_a}/melding/{data.event_b}/gezien",
        f"/begeleider/client/{data.client_a}/afspraken/{data.agreement_b}/klaar",
    ):
        assert (
            client.post(path, data={"csrf_token": csrf, "groen_signaal": "x"}).status_code == 404
        ), path
    with session_scope(engine) as session:
        assert session.get(SafetyEvent, data.event_b).acknowledged_at is None
        assert session.get(Agreement, data.agreement_b).done_at is None
        assert session.execute(select(AccessCode)).first() is None
        assert session.execute(select(SafetyPlan)).first() is None
        assert session.get(Client, b).last_contact_at is None
    assert ("medewerker:anna", "geweigerd", b) in audit_actions(engine)


def test_admin_sees_no_client_data(client, data):
    login(client, "beheer")
    assert client.get(f"/begeleider/client/{data.client_a}").status_code == 403
    assert client.get("/begeleider/").status_code == 403
    caseloads = client.get("/beheer/caseloads").get_data(as_text=True)
    assert "Testcliënt Appel" in caseloads
    assert "tuin" not in caseloads and "testmelding" not in caseloads


def test_worker_cannot_use_admin_pages(client, data):
    login(client, "anna")
    for path in (
        "/beheer/medewerkers",
        "/beheer/caseloads",
        "/beheer/logboek",
        "/beheer/instellingen",
    ):
        assert client.get(path).status_code == 403


# --- what a worker sees -----------------------------------------------------------------------


def test_private_reflections_only_as_a_count(client, data):
    login(client, "anna")
    pages = [
        client.get(p).get_data(as_text=True)
        for p in (
            "/begeleider/",
            f"/begeleider/client/{data.client_a}",
            f"/begeleider/client/{data.client_a}?alle=1",
            f"/begeleider/client/{data.client_a}/voorbereiding",
            f"/begeleider/client/{data.client_a}/voorbereiding?van=2000-01-01",
        )
    ]
    for html in pages:
        assert seed.PRIVATE_TEXT not in html
        assert "PRIVE-STAP" not in html
        assert "ook prive" not in html
    assert "1</strong> niet gedeeld" in pages[1]
    assert "Mijn broer belt vaak." in pages[1]


def test_reflection_html_is_escaped(client, data):
    login(client, "anna")
    for path in (
        f"/begeleider/client/{data.client_a}",
        f"/begeleider/client/{data.client_a}/voorbereiding",
    ):
        html = client.get(path).get_data(as_text=True)
        assert seed.SCRIPT_TEXT not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_client_page_shows_chart_data_events_and_steps(client, data):
    login(client, "anna")
    html = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert 'id="grafiek-hoop"' in html and 'id="grafiek-verbinding"' in html
    assert 'id="grafiek-veiligheid"' not in html  # only the private reflection had it
    chart_json = re.search(r'id="grafiek-data">(.*?)</script>', html, re.S).group(1)
    assert '"y": 2' in chart_json and '"y": 4' in chart_json and '"y": 1' not in chart_json
    assert "testmelding ik wil niet meer" in html and "Markeer als gezien" in html
    assert "Een vacature opzoeken" in html


def test_caseload_marks_open_events_and_trend(client, data):
    login(client, "anna")
    html = client.get("/begeleider/").get_data(as_text=True)
    assert "1 nieuwe melding" in html
    assert "▲ hoger" in html  # hoop went from 2 to 4


def test_every_view_is_audited(client, data, engine):
    login(client, "anna")
    client.get("/begeleider/")
    client.get(f"/begeleider/client/{data.client_a}")
    client.get(f"/begeleider/client/{data.client_a}/voorbereiding")
    client.get(f"/begeleider/client/{data.client_a}/plan")
    actions = audit_actions(engine, data.client_a)
    for action in ("overzicht_bekeken", "client_bekeken", "voorbereiding_bekeken", "plan_bekeken"):
        assert ("medewerker:anna", action, data.client_a) in actions
    admin = client.application.test_client()
    login(admin, "beheer")
    log = admin.get(f"/beheer/logboek?client={data.client_a}").get_data(as_text=True)
    assert "client bekeken" in log and "medewerker:anna" in log


# --- actions ----------------------------------------------------------------------------------


def test_acknowledge_records_who_and_when(client, data, engine):
    login(client, "anna")
    csrf = token(client, f"/begeleider/client/{data.client_a}")
    response = client.post(
        f"/begeleider/client/{data.client_a}/melding/{data.event_a}/gezien",
        data={"csrf_token": csrf},
    )
    assert response.status_code == 302
    with session_scope(engine) as session:
        event = session.get(SafetyEvent, data.event_a)
        assert event.acknowledged_by == "Anna Test" and event.acknowledged_at is not None
        first = event.acknowledged_at
    client.post(
        f"/begeleider/client/{data.client_a}/melding/{data.event_a}/gezien",
        data={"csrf_token": csrf},
    )  # a repeated submit changes nothing
    with session_scope(engine) as session:
        assert session.get(SafetyEvent, data.event_a).acknowledged_at == first
    html = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert "Gezien door Anna Test" in html
    assert "nieuwe melding" not in client.get("/begeleider/").get_data(as_text=True)


def test_agreements_add_validate_and_finish(client, data, engine):
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    csrf = token(client, page)
    ok = client.post(
        page + "/afspraken",
        data={
            "csrf_token": csrf,
            "kind": "ander",
            "text": "Woningcorporatie bellen over huur",
            "party": "Wooncorporatie Test",
            "due_date": "2030-01-31",
        },
    )
    assert ok.status_code == 302
    empty = client.post(
        page + "/afspraken",
        data={"csrf_token": csrf, "kind": "client", "text": "   "},
        follow_redirects=True,
    )
    assert "niet opgeslagen" in empty.get_data(as_text=True)
    long_text = "x" * 600
    too_long = client.post(
        page + "/afspraken",
        data={"csrf_token": csrf, "kind": "worker", "text": long_text},
        follow_redirects=True,
    )
    body = too_long.get_data(as_text=True)
    assert "te lang" in body and long_text in body  # the typed text is kept in the form
    with session_scope(engine) as session:
        rows = (
            session.execute(select(Agreement).where(Agreement.client_id == data.client_a))
            .scalars()
            .all()
        )
        assert [(a.kind, a.party) for a in rows] == [("ander", "Wooncorporatie Test")]
        agreement_id = rows[0].id
    html = client.get(page).get_data(as_text=True)
    assert "Woningcorporatie bellen over huur" in html and "31-01-2030" in html
    client.post(f"{page}/afspraken/{agreement_id}/klaar", data={"csrf_token": csrf})
    with session_scope(engine) as session:
        assert session.get(Agreement, agreement_id).done_at is not None
    sheet = client.get(page + "/voorbereiding").get_data(as_text=True)
    assert "Woningcorporatie bellen" not in sheet  # done: no longer to check


def test_safety_plan_edit(client, data, engine):
    login(client, "anna")
    path = f"/begeleider/client/{data.client_a}/plan"
    csrf = token(client, path)
    response = client.post(
        path,
        data={
            "csrf_token": csrf,
            "groen_signaal": "Ik slaap goed\nIk sport",
            "oranje_helpt": "Wandelen <b>buiten</b>",
            "rood_contact": "Crisisdienst Test 0800-0000000",
        },
    )
    assert response.status_code == 302
    html = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert "Ik slaap goed" in html and "Wandelen &lt;b&gt;buiten&lt;/b&gt;" in html
    too_long = client.post(path, data={"csrf_token": csrf, "rood_signaal": "y" * 600})
    assert too_long.status_code == 400 and "y" * 600 in too_long.get_data(as_text=True)
    with session_scope(engine) as session:
        plan = session.execute(select(SafetyPlan)).scalar_one()
        assert sorted((i.phase, i.kind, i.text) for i in plan.items) == [
            ("groen", "signaal", "Ik slaap goed"),
            ("groen", "signaal", "Ik sport"),
            ("oranje", "helpt", "Wandelen <b>buiten</b>"),
            ("rood", "contact", "Crisisdienst Test 0800-0000000"),
        ]


def test_preparation_sheet_summary_content(client, data):
    login(client, "anna")
    html = client.get(f"/begeleider/client/{data.client_a}/voorbereiding").get_data(as_text=True)
    assert "Gespreksvoorbereiding" in html and 'media="print"' in html
    assert "van 2 naar 4 (hoger)" in html  # hoop scale trend
    assert "Een baan en een huis." in html  # the newest hoop answer, quoted
    assert "Ik wil later een eigen huis" not in html  # only the latest answers are quoted
    topics = re.search(r"Komt vaker terug:(.*?)</p>", html, re.S).group(1)
    for lemma in ("huis", "tuin", "werk"):
        assert f"<strong>{lemma}</strong>" in topics
    assert "<strong>een</strong>" not in topics and "<strong>mijn</strong>" not in topics
    # A period that excludes everything shows no reflections.
    empty = client.get(
        f"/begeleider/client/{data.client_a}/voorbereiding?van=2001-01-01" "&tot=2001-01-31"
    ).get_data(as_text=True)
    assert "In deze periode is niets gedeeld." in empty
    bad = client.get(f"/begeleider/client/{data.client_a}/voorbereiding?van=gisteren")
    assert bad.status_code == 200 and "datum klopte niet" in bad.get_data(as_text=True)


def test_preparation_sheet_defaults_to_last_contact(client, data):
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    client.post(page + "/contact", data={"csrf_token": token(client, page)})
    html = client.get(page + "/voorbereiding").get_data(as_text=True)
    assert "In deze periode is niets gedeeld." in html  # everything was before the contact


def test_create_client_and_access_code_shown_once(client, data, engine, app):
    login(client, "anna")
    csrf = token(client, "/begeleider/clienten/nieuw")
    empty = client.post(
        "/begeleider/clienten/nieuw",
        data={"csrf_token": csrf, "display_name": " ", "language_level": "eenvoudig"},
    )
    assert empty.status_code == 400 and "leeg" in empty.get_data(as_text=True)
    response = client.post(
        "/begeleider/clienten/nieuw",
        data={"csrf_token": csrf, "display_name": "Nieuwe <Test>", "language_level": "eenvoudig"},
    )
    assert response.status_code == 302
    with session_scope(engine) as session:
        new = session.execute(
            select(Client).where(Client.display_name == "Nieuwe <Test>")
        ).scalar_one()
        assert new.worker_id == data.worker_a and new.chat_id.startswith("web-")
        assert len(new.chat_id) > 20
        new_id = new.id
    shown = client.post(f"/begeleider/client/{new_id}/code", data={"csrf_token": csrf})
    code = re.search(r'id="toegangscode">([A-Z0-9-]+)<', shown.get_data(as_text=True)).group(1)
    assert len(code.replace("-", "")) >= 10
    with session_scope(engine) as session:
        row = session.execute(select(AccessCode).where(AccessCode.client_id == new_id)).scalar_one()
        assert row.code_hash == code_hash(app.config["SECRET_KEY"], code)
        assert code.replace("-", "") not in row.code_hash
    page = client.get(f"/begeleider/client/{new_id}").get_data(as_text=True)
    assert code not in page and code.replace("-", "") not in page  # shown once only
    client.post(f"/begeleider/client/{new_id}/code/intrekken", data={"csrf_token": csrf})
    with session_scope(engine) as session:
        assert session.execute(select(AccessCode)).scalar_one().revoked_at is not None


def test_a_worker_changes_the_language_level_of_their_own_client_only(client, data, engine):
    """A client added with the wrong level, or one who needs simpler words now: the worker
    changes it on the client page (the chat takes it at the next session start)."""
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    csrf = token(client, page)
    assert 'name="language_level" value="eenvoudig"' in client.get(page).get_data(as_text=True)

    def level(client_id: int) -> str:
        with session_scope(engine) as session:
            return session.get(Client, client_id).language_level

    before = level(data.client_a)
    other = "eenvoudig" if before == "standaard" else "standaard"
    bad = client.post(page + "/taalniveau", data={"csrf_token": csrf, "language_level": "x"})
    assert bad.status_code == 302 and level(data.client_a) == before
    assert "Kies een taalniveau" in client.get(page).get_data(as_text=True)
    done = client.post(page + "/taalniveau", data={"csrf_token": csrf, "language_level": other})
    assert done.status_code == 302 and level(data.client_a) == other
    assert "volgende gesprek" in client.get(page).get_data(as_text=True)
    assert ("medewerker:anna", "taalniveau_gewijzigd", data.client_a) in audit_actions(
        engine, data.client_a
    )
    # Another worker's client: not found, and nothing changes.
    theirs = level(data.client_b)
    response = client.post(
        f"/begeleider/client/{data.client_b}/taalniveau",
        data={"csrf_token": csrf, "language_level": other if theirs != other else before},
    )
    assert response.status_code == 404 and level(data.client_b) == theirs
    # Without the form's token: refused.
    refused = client.post(page + "/taalniveau", data={"language_level": before})
    assert refused.status_code == 400 and level(data.client_a) == other


# --- admin ------------------------------------------------------------------------------------


def test_admin_manages_workers_caseloads_and_crisis_contact(client, data, engine):
    login(client, "beheer")
    csrf = token(client, "/beheer/medewerkers")
    short = client.post(
        "/beheer/medewerkers",
        data={
            "csrf_token": csrf,
            "username": "carla",
            "display_name": "Carla Test",
            "password": "kort",
            "role": "worker",
        },
    )
    assert short.status_code == 400 and "minstens 10" in short.get_data(as_text=True)
    client.post(
        "/beheer/medewerkers",
        data={
            "csrf_token": csrf,
            "username": "carla",
            "display_name": "Carla Test",
            "password": "lang-genoeg-123",
            "role": "worker",
        },
    )
    with session_scope(engine) as session:
        carla = session.execute(select(Worker).where(Worker.username == "carla")).scalar_one()
        assert carla.password_hash != "lang-genoeg-123" and carla.role == "worker"
        carla_id = carla.id
    client.post(
        "/beheer/caseloads",
        data={"csrf_token": csrf, "client_id": data.client_a, "worker_id": carla_id},
    )
    client.post(
        "/beheer/instellingen",
        data={"csrf_token": csrf, "crisis_contact": "Bel de testlijn 0800-1234567"},
    )
    with session_scope(engine) as session:
        assert session.get(Client, data.client_a).worker_id == carla_id
        assert session.get(OrgSetting, "crisis_contact").value == "Bel de testlijn 0800-1234567"
    # Anna lost the client, Carla has it.
    anna = client.application.test_client()
    login(anna, "anna")
    assert anna.get(f"/begeleider/client/{data.client_a}").status_code == 404
    carla_client = client.application.test_client()
    login(carla_client, "carla", "lang-genoeg-123")
    assert carla_client.get(f"/begeleider/client/{data.client_a}").status_code == 200


def test_admin_creates_a_client_for_a_worker(client, data, engine):
    login(client, "beheer")
    csrf = token(client, "/beheer/caseloads")
    bad = client.post(
        "/beheer/caseloads",
        data={
            "csrf_token": csrf,
            "action": "create",
            "display_name": "Te <lang>" * 30,
            "language_level": "standaard",
        },
    )
    assert bad.status_code == 400 and "te lang" in bad.get_data(as_text=True)
    assert "Te &lt;lang&gt;" in bad.get_data(as_text=True)  # what was typed is kept, escaped
    ok = client.post(
        "/beheer/caseloads",
        data={
            "csrf_token": csrf,
            "action": "create",
            "display_name": "Beheer Testcliënt",
            "language_level": "eenvoudig",
            "worker_id": data.worker_b,
        },
    )
    assert ok.status_code == 302
    with session_scope(engine) as session:
        new = session.execute(
            select(Client).where(Client.display_name == "Beheer Testcliënt")
        ).scalar_one()
        assert new.worker_id == data.worker_b and new.language_level == "eenvoudig"
        assert new.chat_id.startswith("web-")
    bram = client.application.test_client()
    login(bram, "bram")
    assert "Beheer Testcliënt" in bram.get("/begeleider/").get_data(as_text=True)
