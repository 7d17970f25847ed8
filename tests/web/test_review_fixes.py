"""Regression tests for the review of issues 4 and 5: theme labels and scale wording, safety
event details, agreement text kept out of URLs, and offered chat buttons working once."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from pathlib import Path

from bot import content, manage
from bot.storage.db import session_scope
from bot.storage.models import Client, Reflection, ReflectionAnswer, SafetyEvent, utcnow
from tests.web.conftest import login, token
from tests.web.test_chat import client_login, code, rasa, send  # noqa: F401 (fixtures)

CHARTS_JS = Path(__file__).parents[2] / "bot" / "web" / "static" / "js" / "charts.js"


def _add_vent_and_client_event(engine, client_id: int) -> None:
    at = utcnow() - timedelta(hours=2)
    with session_scope(engine) as session:
        client = session.get(Client, client_id)
        session.add(
            Reflection(
                client=client,
                theme="kwijt",
                status="compleet",
                scale=None,
                shared_with_worker=True,
                idempotency_key="vent-1",
                created_at=at,
                updated_at=at,
                completed_at=at,
                answers=[
                    ReflectionAnswer(
                        position=1,
                        question_key="kwijt",
                        question_text="Vertel maar. Wat wil je kwijt?",
                        answer_text="Ik baal van het gedoe op werk (test).",
                    )
                ],
            )
        )
        session.add(
            SafetyEvent(
                client=client,
                category="suicide",
                detected_by="client",
                message_text="rood gekozen (test)",
                response_text="Bel 113 of 0800-0113. Dag en nacht.",
                created_at=at,
            )
        )


def test_venting_has_its_own_label_and_no_scale(client, data, engine):
    _add_vent_and_client_event(engine, data.client_a)
    login(client, "anna")
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert content.label("kwijt") == "Even iets kwijt"
    assert "Even iets kwijt" in page and "💬" in page
    sheet = client.get(f"/begeleider/client/{data.client_a}/voorbereiding").get_data(as_text=True)
    assert "Even iets kwijt" in sheet
    section = sheet.split("Even iets kwijt", 1)[1].split("</h3>", 1)[0]
    assert "schaal" not in section  # venting has no 1-5 scale


def test_scale_wording_is_heel_weinig_to_heel_veel(client, data):
    login(client, "anna")
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    caseload = client.get("/begeleider/").get_data(as_text=True)
    # Only the mood check-in (its own section) runs from bad to good.
    scales = page.split('id="schalen"', 1)[1].split("</section>", 1)[0]
    for html in (scales, caseload):
        assert "1 = heel weinig, 5 = heel veel" in html
        assert "slecht" not in html and "5 = goed" not in html
    charts = json.loads(
        re.search(
            r'<script type="application/json" id="grafiek-data">(.*?)</script>', page, re.S
        ).group(1)
    )
    hoop = next(c for c in charts if c["key"] == "hoop")
    assert hoop["question"] == content.scale_question("hoop", "standaard")
    assert (hoop["low"], hoop["high"]) == ("heel weinig", "heel veel")
    assert "Hoeveel hoop voel je nu?" in page
    js = CHARTS_JS.read_text(encoding="utf-8")
    assert "slecht" not in js and "goed" not in js


def test_safety_event_shows_category_detector_and_the_exact_answer(
    client, data, engine, settings, capsys
):
    _add_vent_and_client_event(engine, data.client_a)
    login(client, "anna")
    page = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert "zichzelf pijn doen" in page  # the seeded self_harm event, in Dutch words
    assert "gedachten aan zelfmoord" in page
    assert "de cliënt koos rood in het signaleringsplan" in page
    assert "de woordenlijst van Koers" in page  # detected_by "matcher"
    # What Koers showed is on the page itself, not hidden behind a click.
    assert "<details><summary>Wat Koers liet zien" not in page
    # Word for word; its numbers are links that call (issue 12).
    assert "Bel 113 of 0800-0113. Dag en nacht." in re.sub(r"<a [^>]*>|</a>", "", page)
    assert '<a href="tel:08000113" class="tel-link">0800-0113</a>' in page
    sheet = client.get(f"/begeleider/client/{data.client_a}/voorbereiding").get_data(as_text=True)
    assert "gedachten aan zelfmoord" in sheet and "de cliënt koos rood" in sheet
    assert manage.main(["summary", str(data.client_a)], settings=settings) == 0
    out = capsys.readouterr().out
    assert "zichzelf pijn doen" in out and "opgemerkt door de woordenlijst van Koers" in out
    assert 'Koers liet zien: "Bel 113 of 0800-0113."' in out
    assert 'Schaalvraag: "Hoeveel hoop voel je nu?" (1 = heel weinig, 5 = heel veel)' in out


def test_export_has_detected_by(data, settings, tmp_path):
    target = tmp_path / "export.json"
    assert manage.main(["export", str(data.client_a), "-o", str(target)], settings=settings) == 0
    exported = json.loads(target.read_text(encoding="utf-8"))
    assert exported["safety_events"][0]["detected_by"] == "matcher"


def test_rejected_agreement_text_never_goes_into_the_url(client, data):
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    csrf = token(client, page)
    secret = "Praat met <b>zus</b> over de schuld " + "x" * 600  # too long
    response = client.post(
        page + "/afspraken",
        data={
            "csrf_token": csrf,
            "kind": "ander",
            "text": secret,
            "party": "",
            "due_date": "2030-01-31",
        },
    )
    assert response.status_code == 400 and "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert "te lang" in html
    assert "Praat met &lt;b&gt;zus&lt;/b&gt;" in html and "<b>zus</b>" not in html
    assert 'value="ander" checked' in html and 'value="2030-01-31"' in html
    # A very long text (10 000 characters) is refused with the same calm message.
    big = client.post(
        page + "/afspraken", data={"csrf_token": csrf, "kind": "client", "text": "é" * 10000}
    )
    assert big.status_code == 400 and "te lang" in big.get_data(as_text=True)


def test_an_offered_button_works_once_even_from_two_tabs(client, code, rasa, app):  # noqa: F811
    client_login(client, code)
    send(client, {"text": "hoi"})  # the fake Rasa offers Ja (/bevestigen) and Nee
    rasa.mode = "slow_plain"
    app.config["RASA_TIMEOUT"] = 5.0
    page = client.get("/chat/").get_data(as_text=True)
    csrf = page.split('data-csrf="', 1)[1].split('"', 1)[0]
    cookies = {c.key: c.value for c in client._cookies.values()}

    def press() -> None:
        tab = app.test_client()
        for key, value in cookies.items():
            tab.set_cookie(key, value)
        tab.post(
            "/chat/api/send",
            json={"payload": "/bevestigen", "title": "Ja"},
            headers={"X-CSRFToken": csrf},
        )

    tabs = [threading.Thread(target=press) for _ in range(2)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    sent = [r["message"] for r in rasa.received[1:]]
    # The payload goes to Rasa once; the second press is only words, or (while the first is
    # on its way) not sent at all: "even wachten".
    assert sent.count("/bevestigen") == 1 and set(sent) <= {"/bevestigen", "Ja"}, sent


def test_password_spraying_from_one_address_is_limited(client, data):
    from tests.web.conftest import login as do_login

    for number in range(20):  # 20 different usernames, each tried once
        assert do_login(client, f"gok{number}", "fout-fout-fout").status_code == 401
    blocked = do_login(client, "anna")  # now even a right password from this address waits
    assert blocked.status_code == 429 and "Wacht 15 minuten" in blocked.get_data(as_text=True)


def test_admin_can_remove_the_crisis_contact(client, data, engine):
    from bot.storage import repository

    login(client, "beheer")
    path = "/beheer/instellingen"
    client.post(path, data={"csrf_token": token(client, path), "crisis_contact": "Bel 0800-0000"})
    response = client.post(path, data={"csrf_token": token(client, path), "crisis_contact": " "})
    assert response.status_code == 302
    with session_scope(engine) as session:
        assert repository.get_org_setting(session, "crisis_contact") == ""
    assert "Je eigen hulp" not in client.get("/chat/").get_data(as_text=True)


def test_chat_page_never_calls_a_theme_scale_slecht_or_goed():
    chat_js = (CHARTS_JS.parent / "chat.js").read_text(encoding="utf-8")
    words = re.search(r"var FACE_WORDS = (\{.*?\});", chat_js).group(1)
    assert "slecht" not in words and "goed" not in words


def test_password_reset_by_an_admin_ends_the_workers_open_sessions(client, data, app):
    other = app.test_client()
    login(other, "anna")
    assert other.get("/begeleider/").status_code == 200
    login(client, "beheer")
    path = "/beheer/medewerkers"
    response = client.post(
        f"{path}/{data.worker_a}",
        data={
            "csrf_token": token(client, path),
            "action": "password",
            "password": "nieuw-wachtwoord-456",
        },
    )
    assert response.status_code == 302
    assert other.get("/begeleider/").status_code == 302  # logged out
    assert client.get(path).status_code == 200  # the admin's own session goes on


def test_login_next_with_tabs_newlines_or_backslashes_stays_on_this_site(client, data):
    from tests.web.conftest import csrf_from

    for target in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "/ /evil.example",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example",
    ]:
        page = client.get("/login")
        response = client.post(
            "/login",
            query_string={"next": target},
            data={
                "username": "anna",
                "password": "test-wachtwoord-123",
                "csrf_token": csrf_from(page.get_data(as_text=True)),
            },
        )
        assert response.status_code == 302, target
        assert response.headers["Location"] == "/begeleider/", (target, response.headers)
        client.post("/logout", data={"csrf_token": token(client, "/begeleider/")})
    page = client.get("/login")
    response = client.post(
        "/login",
        query_string={"next": "/begeleider/client/1?alle=1"},
        data={
            "username": "anna",
            "password": "test-wachtwoord-123",
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.headers["Location"] == "/begeleider/client/1?alle=1"  # local paths work


def test_a_deleted_clients_device_is_not_logged_in_as_a_new_client(client, engine, data, settings):
    """The schema no longer reuses ids (AUTOINCREMENT), but a restored backup or an explicit id
    can still give a new client a deleted client's number: the device must not follow it."""
    from bot.web.dashboard import issue_code
    from bot.web.security import format_code
    from tests.web.test_chat import SECRET

    with session_scope(engine) as session:
        old = Client(
            chat_id="web-oud-test",
            display_name="Oud Test",
            worker_id=data.worker_a,
            created_at=utcnow(),
            last_seen_at=utcnow(),
        )
        session.add(old)
        session.flush()
        old_id = old.id
        old_code = format_code(issue_code(session, old, "test", SECRET))
    client_login(client, old_code)
    assert 'id="chat-config"' in client.get("/chat/").get_data(as_text=True)
    with session_scope(engine) as session:
        manage.delete_client(session, settings, old_id)
    with session_scope(engine) as session:
        new = Client(
            id=old_id,
            chat_id="web-nieuw-test",
            display_name="Nieuw Test",
            worker_id=data.worker_b,
            created_at=utcnow(),
            last_seen_at=utcnow(),
        )
        session.add(new)
        session.flush()
        issue_code(session, new, "test", SECRET)
        assert new.id == old_id  # the same number as the deleted client
    page = client.get("/chat/").get_data(as_text=True)
    assert 'id="chat-config"' not in page and "Vul de code in" in page


def test_double_submit_makes_one_agreement_and_one_client(client, data, engine):
    from sqlalchemy import func, select

    from bot.storage.models import Agreement

    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    csrf = token(client, page)
    form = {"csrf_token": csrf, "kind": "client", "text": "Brief van de gemeente meenemen 📄"}
    assert client.post(page + "/afspraken", data=form).status_code == 302
    assert client.post(page + "/afspraken", data=form).status_code == 302
    new = {"csrf_token": csrf, "display_name": "Dubbel Test", "language_level": "standaard"}
    first = client.post("/begeleider/clienten/nieuw", data=new)
    second = client.post("/begeleider/clienten/nieuw", data=new)
    assert first.headers["Location"] == second.headers["Location"]
    with session_scope(engine) as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(Agreement)
                .where(Agreement.client_id == data.client_a)
            ).scalar_one()
            == 1
        )
        assert (
            session.execute(
                select(func.count()).select_from(Client).where(Client.display_name == "Dubbel Test")
            ).scalar_one()
            == 1
        )


def test_caseload_trends_follow_the_theme_order(client, data):
    login(client, "anna")
    html = client.get("/begeleider/").get_data(as_text=True)
    first, second = content.label(content.theme_keys()[0]), content.label("hoop")
    assert content.theme_keys().index("verbinding") < content.theme_keys().index("hoop")
    assert html.index(content.label("verbinding")) < html.index(second), first
