"""Issue 14 end to end in a real browser, on the whole stack (action server, `rasa run` with
the trained model, the web app, SQLite): the worker sets a question for next time, a task for
the client and a promise of their own in the dashboard; the client checks in and is asked the
question and the task after the mood, and sees the promise; the worker then reads the shared
answer and the updated ledger. Also: "geen berichtjes meer" in the chat stops the reminder plan,
which the worker sees. Screenshots: test-output/browser/between-*.png."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.reminders.content import control_text
from bot.reminders.schedule import ALL_DAYS
from bot.storage import between
from bot.storage.between_models import AgreementCheck, ReminderPlan, WorkerQuestion
from bot.storage.db import session_scope
from tests.browser.conftest import OUTPUT
from tests.browser.test_chat_e2e import (  # noqa: F401 - `stack` is a fixture
    SECRET,
    WORKER_PASSWORD,
    client_login,
    koers_count,
    new_client,
    stack,
    type_message,
    wait_for_reply,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

QUESTION = "Wat wil je de volgende keer met mij bespreken?"
TASK = "Bellen met de woningcorporatie"
PROMISE = "Uitzoeken hoe de cursus werkt"
ANSWER = "Over mijn schulden en de brief van de bank"
CHOICES = "#berichten .choices button:not([disabled])"


@pytest.fixture(scope="module", autouse=True)
def same_secret_for_the_action_server():
    """The action server writes audit rows now (the client's reminder changes, actor
    `client`), chained with the key derived from KOERS_SECRET_KEY, like the web app. In
    production both read the same settings file; here the web app gets SECRET by override, so
    the action server started by `stack` (after this autouse fixture) gets it too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KOERS_SECRET_KEY", SECRET)
        yield


def worker_login(browser, server):
    context = browser.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(server.url + "/login")
    page.get_by_label("Gebruikersnaam").fill("e2e.begeleider")
    page.get_by_label("Wachtwoord").fill(WORKER_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    return context, page


def add_agreement(page, kind_label: str, text: str, due: date | None) -> None:
    form = page.locator("#afspraken form.boxed")
    form.get_by_label(kind_label).check()
    form.get_by_label("Afspraak", exact=True).fill(text)
    if due is not None:
        form.get_by_label("Klaar voor (niet verplicht)").fill(due.isoformat())
    form.get_by_role("button", name="Afspraak opslaan").click()
    assert "De afspraak is opgeslagen." in page.locator("body").inner_text()


def press(page, title: re.Pattern[str]) -> None:
    before = koers_count(page)
    page.locator(CHOICES).filter(has_text=title).first.click()
    wait_for_reply(page, before)


def chat_text(page) -> str:
    return page.locator("#berichten").inner_text()


def test_the_worker_asks_the_client_answers_in_the_chat_and_the_worker_reads_it(stack, browser):  # noqa: F811 - the imported fixture
    client_id, chat_id, code = new_client(stack, "E2E Tussendoor (nep)")

    # 1. The worker sets a question and two agreements in the dashboard.
    worker, wpage = worker_login(browser, stack)
    wpage.get_by_role("link", name="E2E Tussendoor (nep)").click()
    wpage.get_by_label("Of schrijf je eigen vraag").fill(QUESTION)
    wpage.get_by_role("button", name="Vraag klaarzetten").click()
    assert "De vraag staat klaar." in wpage.locator("body").inner_text()
    add_agreement(wpage, "Taken van de cliënt", TASK, date.today())
    add_agreement(wpage, "Mijn beloftes", PROMISE, None)
    wpage.screenshot(path=str(OUTPUT / "between-worker-sets.png"), full_page=True)

    # 2. The client checks in: after the mood the worker's question, then the task.
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20000)
    client_login(page, stack, code)
    press(page, re.compile(r"^\s*4\b"))
    assert f"Je begeleider vraagt: {QUESTION}" in chat_text(page)
    assert page.locator(CHOICES).filter(has_text="overslaan").count() == 1, "skippable"
    with session_scope(stack.engine) as session:
        question = session.execute(
            select(WorkerQuestion).where(WorkerQuestion.client_id == client_id)
        ).scalar_one()
        assert question.asked_at is not None and question.status == "open"
    type_message(page, ANSWER)
    assert f"Ik schreef op: {ANSWER}" in chat_text(page)
    press(page, re.compile(r"^\s*Ja\s*$"))
    text = chat_text(page)
    assert "Je begeleider kan het lezen." in text
    assert f"Je begeleider zou: {PROMISE}" in text, "the worker's promise, read-only"
    assert f"Je sprak met je begeleider af: {TASK}" in text
    assert page.locator(CHOICES).filter(has_text=PROMISE).count() == 0
    page.screenshot(path=str(OUTPUT / "between-client-task.png"), full_page=True)
    press(page, re.compile(r"Een beetje"))
    assert "Een deel is ook een stap." in chat_text(page)
    # The check-in goes on: the menu.
    assert page.locator(CHOICES).filter(has_text="Over mezelf").count() == 1
    page.screenshot(path=str(OUTPUT / "between-client-done.png"), full_page=True)
    context.close()

    # 3. The worker sees the shared answer and the updated ledger.
    wpage.reload()
    vraag = wpage.locator("#vraag").inner_text()
    assert ANSWER in vraag and "beantwoord" in vraag, vraag
    afspraken = wpage.locator("#afspraken").inner_text()
    assert "Cliënt in de chat: deels gedaan" in afspraken, afspraken
    wpage.screenshot(path=str(OUTPUT / "between-worker-reads.png"), full_page=True)
    worker.close()
    with session_scope(stack.engine) as session:
        checks = session.execute(select(AgreementCheck)).scalars().all()
        assert [
            (c.agreement.text, c.outcome) for c in checks if c.agreement.client_id == client_id
        ] == [(TASK, "deels")]


def test_a_private_answer_stays_private_and_skipping_works(stack, browser):  # noqa: F811 - the imported fixture
    client_id, _chat_id, code = new_client(stack, "E2E Tussendoor privé (nep)")
    worker, wpage = worker_login(browser, stack)
    wpage.get_by_role("link", name="E2E Tussendoor privé (nep)").click()
    wpage.get_by_label("Of schrijf je eigen vraag").fill(QUESTION)
    wpage.get_by_role("button", name="Vraag klaarzetten").click()

    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20000)
    client_login(page, stack, code)
    press(page, re.compile(r"^\s*3\b"))
    type_message(page, ANSWER)
    press(page, re.compile(r"^\s*Nee\s*$"))
    assert "Het is alleen voor jou." in chat_text(page)
    type_message(page, "stop")  # done for now: the next visit starts a new check-in
    context.close()

    wpage.reload()
    vraag = wpage.locator("#vraag").inner_text()
    assert ANSWER not in wpage.locator("body").inner_text()
    assert "niet gedeeld" in vraag, vraag

    # A new question, skipped with the button: closed, never answered.
    wpage.get_by_label("Of schrijf je eigen vraag").fill("Wat ging er deze week goed?")
    wpage.get_by_role("button", name="Vraag klaarzetten").click()
    worker.close()
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20000)
    client_login(page, stack, code)
    press(page, re.compile(r"^\s*3\b"))
    assert "Je begeleider vraagt: Wat ging er deze week goed?" in chat_text(page)
    press(page, re.compile(r"overslaan", re.I))
    assert "we slaan deze vraag over" in chat_text(page)
    context.close()
    with session_scope(stack.engine) as session:
        statuses = session.execute(
            select(WorkerQuestion.status)
            .where(WorkerQuestion.client_id == client_id)
            .order_by(WorkerQuestion.id)
        ).scalars()
        assert list(statuses) == ["beantwoord", "overgeslagen"]


def test_stopping_reminders_in_the_chat_stops_the_plan(stack, browser):  # noqa: F811 - the imported fixture
    client_id, chat_id, code = new_client(stack, "E2E Berichtjes (nep)")
    today = date.today()
    with session_scope(stack.engine) as session:
        between.save_reminder_plan(
            session,
            client_id,
            between.ReminderPlanIn(
                channel="email",
                weekdays=ALL_DAYS,
                send_time=time(19, 0),
                start_date=today,
                end_date=today + timedelta(days=30),
                email="e2e-client@example.org",
            ),
            "e2e.begeleider",
            now=datetime.now(timezone.utc),
        )
    context = browser.new_context(locale="nl-NL", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20000)
    client_login(page, stack, code)
    type_message(page, "stuur het om 18:00")
    assert control_text("time_changed", "standaard", tijd="18:00") in chat_text(page), chat_text(
        page
    )
    type_message(page, "geen berichtjes meer")
    assert control_text("stopped", "standaard") in chat_text(page)
    page.screenshot(path=str(OUTPUT / "between-reminders-stopped.png"), full_page=True)
    context.close()
    with session_scope(stack.engine) as session:
        plan = session.execute(
            select(ReminderPlan).where(ReminderPlan.client_id == client_id)
        ).scalar_one()
        assert (plan.status, plan.send_time, plan.stopped_by) == ("gestopt", time(18, 0), "client")
    worker, wpage = worker_login(browser, stack)
    wpage.get_by_role("link", name="E2E Berichtjes (nep)").click()
    assert "Gestopt" in wpage.locator("#herinneringen").inner_text()
    worker.close()
