"""The preparation sheet and client page show what the client really saw and did: the exact
wording and language level of each question, "een beetje" as its own step outcome, the mood
trend and the activity since the last contact, and suggested questions from the banks. Also:
the Dutch error pages and the access code that stays in the field after a mistake."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot import content
from bot.storage import repository as repo
from bot.storage.db import session_scope
from bot.storage.models import (
    AuditEntry,
    CheckIn,
    Client,
    PlanLookup,
    Reflection,
    ReflectionAnswer,
    utcnow,
)
from bot.suggestions import suggest
from bot.summary import build_summary, summary_text
from tests.web.conftest import csrf_from, login

WIE = content.prompt("verbinding", "iemand_geholpen")  # the prompt of the issue
HOOP_SCALE = {level: content.scale_question("hoop", level) for level in content.LEVELS}


def sheet(client, client_id: int, query: str = "") -> str:
    response = client.get(f"/begeleider/client/{client_id}/voorbereiding{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"', 1)[1].split("<h2", 1)[0]


def reflection(
    session: Session,
    client_id: int,
    theme: str,
    answers: list[tuple[str, str, str, str | None]],
    scale: int | None = None,
    scale_shown: tuple[str, str] | None = None,
    days_ago: float = 1,
    shared: bool = True,
    status: str = "compleet",
    key: str | None = None,
) -> Reflection:
    at = utcnow() - timedelta(days=days_ago)
    row = Reflection(
        client_id=client_id,
        theme=theme,
        status=status,
        scale=scale,
        scale_question=scale_shown[0] if scale_shown else None,
        scale_level=scale_shown[1] if scale_shown else None,
        shared_with_worker=shared,
        idempotency_key=key or f"k-{theme}-{days_ago}-{len(answers)}-{status}",
        created_at=at,
        updated_at=at,
        completed_at=at if status == "compleet" else None,
        answers=[
            ReflectionAnswer(
                position=i,
                question_key=qkey,
                question_text=question,
                answer_text=answer,
                language_level=level,
            )
            for i, (qkey, question, answer, level) in enumerate(answers, start=1)
        ],
    )
    session.add(row)
    session.flush()
    return row


# --- exact wording and level ------------------------------------------------------------------


def test_the_sheet_shows_the_wording_and_level_the_client_saw(client, data, engine):
    """The case of the issue: asked in the standard wording, then the client switched to
    simple language, so the scale was asked in its simple wording."""
    with session_scope(engine) as session:
        session.get(Client, data.client_a).language_level = "eenvoudig"
        reflection(
            session,
            data.client_a,
            "verbinding",
            [(WIE.key, WIE.standaard, "Boodschappen voor mijn buurman", "standaard")],
            scale=4,
            scale_shown=(content.scale_question("verbinding", "eenvoudig"), "eenvoudig"),
            days_ago=0.5,
        )
    login(client, "anna")
    html = sheet(client, data.client_a)
    theme = html.split("Mensen om je heen", 1)[1].split("</section>", 1)[0]
    assert f'{WIE.standaard} <span class="level">(standaard taal)</span>' in theme
    assert WIE.eenvoudig not in theme
    simple_scale = content.scale_question("verbinding", "eenvoudig")
    assert f'“{simple_scale}” <span class="level">(eenvoudige taal)</span>' in theme
    assert content.scale_question("verbinding", "standaard") not in theme

    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    shared = page.split('id="reflecties"', 1)[1]
    assert f'{WIE.standaard} <span class="level">(standaard taal)</span>' in shared
    assert f'{simple_scale} <span class="level">(eenvoudige taal)</span>' in shared


def test_older_rows_fall_back_and_say_so(client, data, engine):
    hope = content.prompts("hoop")[0]
    with session_scope(engine) as session:
        # Stored before the level was kept: the answer's wording is the bank's simple one.
        reflection(
            session,
            data.client_a,
            "hoop",
            [(hope.key, hope.eenvoudig, "Een eigen huis", None)],
            scale=3,
            days_ago=0.2,
            key="old-row",
        )
    login(client, "anna")
    html = sheet(client, data.client_a)
    # The stored question as it is, but no level is claimed for it.
    assert f'{hope.eenvoudig} <span class="level">(taalniveau niet bewaard)</span>' in html
    # The scale question was not stored: the theme's question in the answers' wording level,
    # said to be a guess.
    scale = f"“{HOOP_SCALE['eenvoudig']}” <span class=\"level\">(waarschijnlijk eenvoudige taal)"
    assert scale in html
    # The seed's rows give no clue at all: the standard wording, said to be not stored.
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    steun = content.scale_question("verbinding", "standaard")
    assert f'{steun} <span class="level">(taalniveau niet bewaard)</span>' in page


# --- small steps ------------------------------------------------------------------------------


def test_een_beetje_is_its_own_outcome(client, data, engine):
    with session_scope(engine) as session:
        step, _ = repo.save_step(session, data.chat_a, "hoop", "cv afmaken", True, "beetje-1")
        assert repo.resolve_step(session, data.chat_a, step.id, "beetje").status == "beetje"
        with pytest.raises(ValueError):
            repo.resolve_step(session, data.chat_a, step.id, "gelukt")  # resolved once
    login(client, "anna")
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert re.search(r'step-beetje">een beetje gelukt</span> cv afmaken', page)
    html = sheet(client, data.client_a)
    assert "<li>cv afmaken – een beetje gelukt</li>" in html
    assert "cv afmaken – gelukt" not in html


# --- mood trend and activity ------------------------------------------------------------------


def _activity_data(session: Session, data) -> None:
    client = session.get(Client, data.client_a)
    now = utcnow()
    client.last_contact_at = now - timedelta(days=7)
    # Before the last contact: not counted on the default sheet.
    session.add(
        CheckIn(
            client_id=client.id, mood=5, idempotency_key="c0", created_at=now - timedelta(days=9)
        )
    )
    session.add(PlanLookup(client_id=client.id, colour="groen", created_at=now - timedelta(days=8)))
    for i, (mood, days) in enumerate([(2, 6), (3, 4), (4, 1)], start=1):
        session.add(
            CheckIn(
                client_id=client.id,
                mood=mood,
                idempotency_key=f"c{i}",
                created_at=now - timedelta(days=days),
            )
        )
    session.add(
        PlanLookup(client_id=client.id, colour="oranje", created_at=now - timedelta(days=5))
    )
    session.add(PlanLookup(client_id=client.id, colour="rood", created_at=now - timedelta(days=3)))
    session.add(
        PlanLookup(client_id=client.id, colour="oranje", created_at=now - timedelta(days=2))
    )
    reflection(
        session,
        client.id,
        "identiteit",
        [("x", "Vraag?", "GEHEIM-CONCEPT nooit tonen", None)],
        status="onderbroken",
        shared=False,
        days_ago=2,
    )


def test_mood_trend_and_activity_since_the_last_contact(client, data, engine):
    with session_scope(engine) as session:
        _activity_data(session, data)
    login(client, "anna")
    html = sheet(client, data.client_a)
    activity = section(html, "h-activiteit")
    assert "sinds jullie laatste gesprek" in activity
    assert '<li data-activity="checkins"><strong>3</strong> check-ins in de chat</li>' in activity
    assert "<strong>1</strong> reflectie niet afgemaakt" in activity
    lookups = activity.split('data-activity="lookups"', 1)[1]
    assert "<strong>3</strong> keer het signaleringsplan bekeken: 2× oranje, 1× rood" in lookups
    assert "groen" not in lookups  # before the last contact
    assert "GEHEIM-CONCEPT" not in html  # drafts: only the number

    mood = section(html, "h-stemming")
    assert "3 check-ins: van 2 naar 4 (hoger), gemiddeld 3,0" in mood
    rows = re.findall(r"<tr><td>([\d\- :]+)</td><td>(\d)</td></tr>", mood)
    assert [int(value) for _, value in rows] == [4, 3, 2]  # newest first
    charts = json.loads(
        re.search(r'id="grafiek-data">(.*?)</script>', html, re.S).group(1)  # type: ignore[union-attr]
    )
    assert [p["y"] for p in charts[0]["points"]] == [2, 3, 4]
    assert (charts[0]["low"], charts[0]["high"]) == ("heel slecht", "heel goed")
    assert 'id="grafiek-stemming"' in html and "chart.umd.min.js" in html

    # A chosen period counts that period: now the check-in before the last contact is in.
    start = (utcnow() - timedelta(days=10)).strftime("%Y-%m-%d")
    wide = sheet(client, data.client_a, f"?van={start}")
    assert "in deze periode" in section(wide, "h-activiteit")
    assert "<strong>4</strong> check-ins" in section(wide, "h-activiteit")
    assert "4 check-ins: van 5 naar 4 (lager)" in section(wide, "h-stemming")

    # The client page: the mood chart with all check-ins, next to the theme scales.
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    charts = json.loads(re.search(r'id="grafiek-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert charts[0]["key"] == "stemming" and [p["y"] for p in charts[0]["points"]] == [5, 2, 3, 4]
    assert {c["key"] for c in charts[1:]} == {"hoop", "verbinding"}


def test_last_contact_and_last_check_in_are_named_apart(client, data, engine):
    login(client, "anna")
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert "Jouw laatste gesprek met de cliënt: nog niet vastgelegd" in page
    assert "Laatste check-in van de cliënt in de chat: nog geen" in page
    assert "Laatste gesprek: nooit" not in page
    with session_scope(engine) as session:
        repo.save_checkin(session, data.chat_a, 3, "net-nu")
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert "Jouw laatste gesprek met de cliënt: nog niet vastgelegd" in page
    assert re.search(r"Laatste check-in van de cliënt in de chat: \d\d-\d\d-\d{4} \d\d:\d\d", page)
    html = sheet(client, data.client_a)
    dates = html.split('class="contact-dates"', 1)[1].split("</dl>", 1)[0]
    assert "<dt>Jouw laatste gesprek met de cliënt</dt><dd>nog niet vastgelegd</dd>" in dates
    assert re.search(r"<dt>Laatste check-in van de cliënt in de chat</dt><dd>\d\d-", dates)


def test_plan_look_ups_are_recorded_once_per_message(engine, data):
    with session_scope(engine) as session:
        first, created = repo.record_plan_lookup(session, data.chat_a, "oranje", "plan_form", "m1")
        again, created_again = repo.record_plan_lookup(
            session, data.chat_a, "oranje", "plan_form", "m1"
        )
        assert created and not created_again and first.id == again.id
        with pytest.raises(ValueError):
            repo.record_plan_lookup(session, data.chat_a, "paars")
    with session_scope(engine) as session:
        assert len(session.execute(select(PlanLookup)).scalars().all()) == 1


# --- suggested questions ----------------------------------------------------------------------


def test_suggested_questions_come_from_the_banks_with_a_reason(client, data, engine):
    with session_scope(engine) as session:
        client_a = session.get(Client, data.client_a)
        client_a.language_level = "eenvoudig"
        asked = content.prompts("eigen_regie")[0]
        reflection(
            session,
            data.client_a,
            "eigen_regie",
            [(asked.key, asked.eenvoudig, "Zelf mijn geld regelen", "eenvoudig")],
            scale=4,
            days_ago=3,
        )
        reflection(
            session,
            data.client_a,
            "eigen_regie",
            [(content.prompts("eigen_regie")[1].key, "?", "Ik mag weinig zelf", "eenvoudig")],
            scale=2,
            days_ago=1,
        )
        repo.save_step(session, data.chat_a, "verbinding", "mijn zus bellen", True, "stap-zus")
    login(client, "anna")
    html = sheet(
        client, data.client_a, "?van=" + (utcnow() - timedelta(days=20)).strftime("%Y-%m-%d")
    )
    part = section(html, "h-vragen")
    items = re.findall(r"<li><strong>(.*?)</strong>.*?Waarom: (.*?)</span></li>", part, re.S)
    assert 2 <= len(items) <= 3, part
    banks = {p.eenvoudig: theme for theme in content.theme_keys() for p in content.prompts(theme)}
    for question, _reason in items:
        assert question in banks, f"not from a bank (or not in simple language): {question}"
    # Open shared steps first, oldest first (the seed's, then ours), then the scale that went
    # down; one question per theme.
    assert len(items) == 3
    assert "Open kleine stap" in items[0][1] and "Een vacature opzoeken" in items[0][1]
    assert "Open kleine stap" in items[1][1] and "mijn zus bellen" in items[1][1]
    assert [banks[q] for q, _r in items] == ["hoop", "verbinding", "eigen_regie"]
    assert "ging omlaag: van 4 naar 2" in items[2][1]
    # Prompts the client already answered are not suggested again.
    regie = [q for q, _r in items if banks[q] == "eigen_regie"]
    assert regie and regie[0] not in (asked.eenvoudig, content.prompts("eigen_regie")[1].eenvoudig)
    # Private things give no suggestions: the private step and reflection of the seed.
    assert "PRIVE-STAP" not in part and "GEHEIM" not in part

    summary_text_ = summary_text(
        build_summary(Session(engine), data.client_a),
        "Testcliënt",  # the CLI summary too
    )
    assert (
        "Vragen voor het gesprek:" in summary_text_ and "Waarom: Open kleine stap" in summary_text_
    )


def test_no_suggestions_without_shared_answers(engine, data):
    assert suggest({}, [], [], "standaard") == []


# --- errors in Dutch --------------------------------------------------------------------------


def test_an_unexpected_error_gets_a_dutch_page(app, client, data):
    @app.route("/begeleider/test-fout")
    def broken():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    @app.route("/chat/api/test-fout", methods=["POST"])
    def broken_chat():  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    response = client.get("/begeleider/test-fout")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in html and '<html lang="nl">' in html
    assert "Internal Server Error" not in html and "boom" not in html
    response = client.post("/chat/api/test-fout")
    assert response.status_code in (400, 500)  # CSRF first, or the JSON error
    assert response.is_json and "Internal" not in response.get_data(as_text=True)


def test_a_failed_commit_gets_the_dutch_page_and_keeps_nothing_half(
    app, client, data, engine, monkeypatch
):
    """The issue's case: the audit write of the caseload fails with "database is locked"."""
    login(client, "anna")
    from bot.web import common

    def locked() -> None:
        raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(common, "commit_db", locked)
    with session_scope(engine) as session:
        before = len(session.execute(select(AuditEntry)).scalars().all())
    response = client.get("/begeleider/")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in html and "Internal Server Error" not in html
    with session_scope(engine) as session:
        assert len(session.execute(select(AuditEntry)).scalars().all()) == before


def test_a_wrong_code_keeps_the_typed_field(client, data):
    page = client.get("/chat/").get_data(as_text=True)
    response = client.post(
        "/chat/login", data={"code": "ABCD <b>x</b>", "csrf_token": csrf_from(page)}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'value="ABCD &lt;b&gt;x&lt;/b&gt;"' in html  # kept, and escaped
    assert 'aria-invalid="true"' in html


def test_storage_unavailable_keeps_nothing_the_request_wrote(app, client, data, engine):
    """A handled OperationalError reaches the teardown as "no error": before the fix it
    committed the request's earlier writes (and, when the connection was lost, the commit
    raised PendingRollbackError there: a 500 in the PostgreSQL fault test)."""
    from bot.web.common import db

    @app.route("/chat/api/test-opslag", methods=["POST"])
    def half_written():  # type: ignore[no-untyped-def]
        db().add(AuditEntry(actor="test", action="half", detail="{}"))
        db().flush()
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    app.config["WTF_CSRF_ENABLED"] = False
    with session_scope(engine) as session:
        before = len(session.execute(select(AuditEntry)).scalars().all())
    response = client.post("/chat/api/test-opslag")
    assert response.status_code == 503 and response.is_json
    with session_scope(engine) as session:
        assert len(session.execute(select(AuditEntry)).scalars().all()) == before
