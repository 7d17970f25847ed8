"""The worker's side of a safety alert (issue 15): the question and the messages before it,
the check question and its answer, "gezien" and "vals alarm", grouping of near-identical
alerts, and the organisation's false-alarm share."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.storage.db import session_scope
from bot.storage.models import AuditEntry, Client, SafetyEvent, utcnow
from tests.web.conftest import login, token


def _event(session, client_id: int, minutes_ago: int, **kw) -> int:
    event = SafetyEvent(
        client_id=client_id,
        category=kw.pop("category", "suicide"),
        message_text=kw.pop("message_text", "testbericht zorgelijk"),
        response_text=kw.pop("response_text", "Bel 113 of 0800-0113."),
        detected_by=kw.pop("detected_by", "semantic"),
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        **kw,
    )
    session.add(event)
    session.flush()
    return event.id


def _clear_events(session, client_id: int) -> None:
    for event in session.execute(
        select(SafetyEvent).where(SafetyEvent.client_id == client_id)
    ).scalars():
        session.delete(event)


def _only_alert_page(client, engine, client_id: int, **kw) -> str:
    """The client's page as the logged-in worker sees it with this one alert (3 minutes old)."""
    with session_scope(engine) as session:
        _clear_events(session, client_id)
        _event(session, client_id, 3, **kw)
    return client.get(f"/begeleider/client/{client_id}").get_data(as_text=True)


def test_an_alert_shows_the_question_the_messages_before_and_the_reasons(client, data, engine):
    login(client, "anna")
    html = _only_alert_page(
        client,
        engine,
        data.client_a,
        outcome="controle",
        check_answer="ja",
        question_text="Waar kijk je naar uit?",
        preceding=json.dumps(
            [
                {"van": "client", "tekst": "het gaat niet zo goed"},
                {"van": "koers", "tekst": "Waar kijk je naar uit?"},
            ]
        ),
        evidence=json.dumps({"reasons": ["betekenis 0.81"], "lijkt_op": "x"}),
        message_text="ik sta op de brug <script>alert(1)</script>",
    )
    assert "Koers had gevraagd:</strong> “Waar kijk je naar uit?”" in html
    assert "het gaat niet zo goed" in html and "Berichten ervoor" in html
    assert "Koers vroeg eerst na." in html and "<strong>ja</strong>" in html
    assert "het betekenismodel van Koers (betekenis 0.81)" in html
    assert "<script>alert(1)</script>" not in html, "escaped"
    assert "⚠ Nieuw" in html and "Vals alarm" in html


def test_no_clear_answer_to_the_check_is_shown_as_such(client, data, engine):
    """Twenty-fifth pass: unclear twice (or "stop" instead of an answer) is stored as
    "onduidelijk"; the worker reads that no clear answer came and that the help was shown,
    not a "weet ik niet" the client never gave."""
    login(client, "anna")
    html = _only_alert_page(
        client, engine, data.client_a, outcome="controle", check_answer="onduidelijk"
    )
    assert "Antwoord van de cliënt: <strong>geen duidelijk antwoord</strong>" in html
    assert "Daarna liet Koers de crisishulp zien." in html
    assert "weet ik niet" not in html
    assert "Getypt als antwoord" not in html  # nothing typed (buttons), nothing shown


def test_the_typed_replies_to_the_check_are_shown_escaped(client, data, engine):
    """Twenty-fifth pass: the worker reads what the client typed in reply to the check (both
    replies when it was asked once more), not only how Koers read it."""
    login(client, "anna")
    html = _only_alert_page(
        client,
        engine,
        data.client_a,
        outcome="controle",
        check_answer="nee",
        check_reply="nee ik was alleen boos\nnee <b>echt</b> niet",
    )
    assert "Getypt als antwoord:" in html
    assert "<li>“nee ik was alleen boos”</li>" in html
    assert "<li>“nee &lt;b&gt;echt&lt;/b&gt; niet”</li>" in html


def test_the_clause_that_raised_a_check_is_marked_in_the_message(client, data, engine):
    """Rules 5b and 5c: the part of a long message that raised the check is marked (escaped
    like the rest); not when the reasons name no clause, or the clause is not in the text."""
    story = "<b>vandaag</b> naar de markt, testzinsdeel zorgelijk hier, daarna koffie"
    cases = [
        (["zinsdeel apart 0.88"], "testzinsdeel zorgelijk hier", True),
        (["laatste zinsdeel 0.91"], "testzinsdeel zorgelijk hier", True),
        (["betekenis 0.81"], "testzinsdeel zorgelijk hier", False),
        (["zinsdeel apart 0.88"], "staat er niet in", False),
    ]
    login(client, "anna")
    for reasons, part, marked in cases:
        html = _only_alert_page(
            client,
            engine,
            data.client_a,
            outcome="controle",
            message_text=story,
            evidence=json.dumps({"reasons": reasons, "zinsdeel": part}),
        )
        mark = '<mark title="Koers las dit deel apart">testzinsdeel zorgelijk hier</mark>'
        assert (mark in html) is marked, reasons
        assert ("Het gemarkeerde deel gaf de melding." in html) is marked
        assert "<b>vandaag</b>" not in html and "&lt;b&gt;vandaag&lt;/b&gt;" in html, "escaped"
        assert "daarna koffie" in html, "the whole message is shown"


def test_near_identical_alerts_of_one_conversation_are_grouped(client, data, engine):
    with session_scope(engine) as session:
        _clear_events(session, data.client_a)
        for minutes in (2, 6, 10):  # one burst in one conversation
            _event(session, data.client_a, minutes, message_text=f"burst {minutes}")
        _event(session, data.client_a, 60 * 24, message_text="gisteren apart")
    login(client, "anna")
    html = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    assert html.count('<li class="event') == 2, "three alerts in one card, one on its own"
    assert "3 meldingen in dit gesprek" in html
    assert "Eerdere meldingen in dit gesprek (2)" in html
    assert "gisteren apart" in html


def test_vals_alarm_marks_the_whole_group_and_counts_for_the_organisation(client, data, engine):
    with session_scope(engine) as session:
        _clear_events(session, data.client_a)
        ids = [_event(session, data.client_a, m, detected_by="classifier") for m in (1, 5)]
        other = _event(session, data.client_a, 60 * 48, detected_by="matcher")
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    csrf = token(client, page)
    html = client.get(page).get_data(as_text=True)
    shown = re.search(r'name="meldingen" value="([0-9,]*)"', html).group(1)
    assert sorted(shown.split(",")) == sorted(str(i) for i in ids)
    response = client.post(
        f"{page}/melding/{ids[0]}/vals-alarm", data={"csrf_token": csrf, "meldingen": shown}
    )
    assert response.status_code == 302
    with session_scope(engine) as session:
        reviews = {e.id: e.review for e in session.execute(select(SafetyEvent)).scalars()}
        assert reviews[ids[0]] == reviews[ids[1]] == "vals_alarm"
        assert reviews[other] is None, "another conversation stays open"
        actions = [a.action for a in session.execute(select(AuditEntry)).scalars()]
    assert "melding_vals_alarm" in actions
    html = client.get(page).get_data(as_text=True)
    assert "Vals alarm door Anna Test" in html
    # The other alert is marked as seen: now 2 of 3 reviewed alerts were false alarms.
    client.post(f"{page}/melding/{other}/gezien", data={"csrf_token": csrf})
    admin = client.application.test_client()
    login(admin, "beheer")
    figures = admin.get("/beheer/meldingen").get_data(as_text=True)
    assert "Beoordeeld: <strong>3</strong>" in figures
    assert "vals alarm: <strong>2</strong> (67 %)" in figures
    assert "testbericht" not in figures, "counts only, no client data"


def test_an_alert_that_came_in_after_the_page_was_loaded_stays_open(client, data, engine):
    """The worker marks the card they saw; a new alert of the same conversation that arrived
    in the meantime joins the group, but is not marked with it: it keeps "⚠ Nieuw"."""
    with session_scope(engine) as session:
        _clear_events(session, data.client_a)
        seen = _event(session, data.client_a, 20, message_text="gezien bericht")
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    html = client.get(page).get_data(as_text=True)
    form = {
        "csrf_token": token(client, page),
        "meldingen": re.search(r'name="meldingen" value="([0-9,]*)"', html).group(1),
    }
    assert form["meldingen"] == str(seen)
    with session_scope(engine) as session:
        later = _event(session, data.client_a, 0, message_text="nieuw bericht na het laden")
    assert client.post(f"{page}/melding/{seen}/vals-alarm", data=form).status_code == 302
    with session_scope(engine) as session:
        assert session.get(SafetyEvent, seen).review == "vals_alarm"
        assert session.get(SafetyEvent, later).review is None, "never seen by the worker"
    html = client.get(page).get_data(as_text=True)
    assert "⚠ Nieuw" in html and "nieuw bericht na het laden" in html


@pytest.mark.parametrize(
    ("oordeel", "review"), [("gezien", "gezien"), ("vals-alarm", "vals_alarm")]
)
def test_an_alert_replayed_late_into_a_marked_group_is_shown_and_can_be_marked(
    client, data, engine, oordeel, review
):
    """An alert kept in an outbox keeps its own (older) time when it is written: it joins a
    group whose newest alert the worker already marked. The card shows the open alert in
    full, and both buttons are there; each marks the late alert only, and the worker's
    earlier judgement of the other stands."""
    with session_scope(engine) as session:
        _clear_events(session, data.client_a)
        marked = _event(
            session,
            data.client_a,
            2,
            message_text="al gezien bericht",
            review="gezien",
            acknowledged_at=utcnow(),
            acknowledged_by="Anna Test",
        )
        late = _event(session, data.client_a, 6, message_text="laat binnengekomen bericht")
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    html = client.get(page).get_data(as_text=True)
    assert "⚠ Nieuw" in html and "Markeer als gezien" in html and "Vals alarm" in html
    card = html[html.index("⚠ Nieuw") :]
    assert card.index("laat binnengekomen bericht") < card.index("Andere meldingen in dit gesprek")
    form = {
        "csrf_token": token(client, page),
        "meldingen": re.search(r'name="meldingen" value="([0-9,]*)"', html).group(1),
    }
    assert form["meldingen"] == str(late)
    assert client.post(f"{page}/melding/{late}/{oordeel}", data=form).status_code == 302
    with session_scope(engine) as session:
        assert session.get(SafetyEvent, late).review == review
        assert session.get(SafetyEvent, marked).review == "gezien"
    html = client.get(page).get_data(as_text=True)
    assert "⚠ Nieuw" not in html
    # With nothing open, the card's button changes the judgement of the whole card.
    form["meldingen"] = re.search(r'name="meldingen" value="([0-9,]*)"', html).group(1)
    assert sorted(form["meldingen"].split(",")) == sorted([str(marked), str(late)])


def test_a_review_without_the_shown_alerts_marks_only_the_named_alert(client, data, engine):
    with session_scope(engine) as session:
        _clear_events(session, data.client_a)
        older = _event(session, data.client_a, 9)
        named = _event(session, data.client_a, 1)
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    form = {"csrf_token": token(client, page)}
    assert client.post(f"{page}/melding/{named}/gezien", data=form).status_code == 302
    with session_scope(engine) as session:
        assert session.get(SafetyEvent, named).review == "gezien"
        assert session.get(SafetyEvent, older).review is None


def test_review_rules(client, data, engine):
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    csrf = token(client, page)
    assert (
        client.post(f"{page}/melding/{data.event_a}/weg", data={"csrf_token": csrf}).status_code
        == 404
    )
    # Another worker's client: not found, and nothing changes.
    other = f"/begeleider/client/{data.client_b}/melding/{data.event_b}/gezien"
    assert client.post(other, data={"csrf_token": csrf}).status_code == 404
    with session_scope(engine) as session:
        assert session.get(SafetyEvent, data.event_b).review is None


@pytest.mark.parametrize(("detected_by", "still_new"), [("semantic", False), ("matcher", True)])
def test_a_check_answered_nee_is_shown_and_stays_new_only_from_the_word_list(
    client, data, engine, detected_by, still_new
):
    """A check answered "nee" is shown, but not as a new alert; unless it came from the word
    list (safety rule 1a, ninth pass: the meaning doubted a word-list hit, so the client got
    the check question first), which the worker still sees as new."""
    with session_scope(engine) as session:
        _clear_events(session, data.client_a)
        _event(
            session,
            data.client_a,
            1,
            outcome="controle",
            check_answer="nee",
            detected_by=detected_by,
        )
        name = session.get(Client, data.client_a).display_name
    login(client, "anna")
    caseload = client.get("/begeleider/").get_data(as_text=True)
    row = caseload[caseload.index(name) :].split("</tr>")[0]
    assert ("nieuwe melding" in row) is still_new
    html = client.get(f"/begeleider/client/{data.client_a}").get_data(as_text=True)
    badge = "⚠ Nieuw" if still_new else "Controlevraag: nee"
    assert badge in html and "Daarna ging het gesprek verder." in html
