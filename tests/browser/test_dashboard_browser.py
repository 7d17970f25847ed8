"""The dashboard in a real browser: log in, open a seeded client, see the charts (themes and
mood), open the preparation sheet (screen and print), with screenshots in
test-output/browser/."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage.db import session_scope
from bot.storage.models import CheckIn, PlanLookup, utcnow
from tests.browser.conftest import OUTPUT, LiveServer, axe_violations, make_live_app
from tests.web import seed

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path):
    app = make_live_app(tmp_path)
    with session_scope(app.extensions["koers_engine"]) as session:
        data = seed.seed(session, "browser-test-secret-key")
        now = utcnow()
        for i, mood in enumerate([2, 3, 3, 4]):
            at = now - timedelta(days=8 - 2 * i)
            session.add(
                CheckIn(client_id=data.client_a, mood=mood, idempotency_key=f"b{i}", created_at=at)
            )
        session.add(
            PlanLookup(client_id=data.client_a, colour="oranje", created_at=now - timedelta(days=1))
        )
    with LiveServer(app) as server:
        server.data = data
        yield server


def test_worker_sees_chart_and_preparation_sheet(live, page):
    page.goto(live.url + "/login")
    page.get_by_label("Gebruikersnaam").fill("anna")
    page.get_by_label("Wachtwoord").fill(seed.PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url("**/begeleider/")
    page.screenshot(path=str(OUTPUT / "dashboard-caseload.png"), full_page=True)
    assert page.get_by_text("1 nieuwe melding").is_visible()

    page.get_by_role("link", name="Testcliënt Appel").click()
    page.wait_for_url(f"**/begeleider/client/{live.data.client_a}")
    chart = page.locator("#grafiek-hoop")
    chart.scroll_into_view_if_needed()
    # Chart.js has drawn on the canvas: it registered a chart with both points.
    points = page.evaluate("() => Chart.getChart('grafiek-hoop').data.datasets[0].data")
    assert points == [2, 4]
    assert chart.bounding_box()["height"] > 100
    mood = page.evaluate("() => Chart.getChart('grafiek-stemming').data.datasets[0].data")
    assert mood == [2, 3, 3, 4]
    # The answer with HTML is shown as text, not run.
    assert page.get_by_text(seed.SCRIPT_TEXT).count() >= 1
    assert seed.PRIVATE_TEXT not in page.content()
    page.screenshot(path=str(OUTPUT / "dashboard-client.png"), full_page=True)

    page.get_by_role("link", name="Gespreksvoorbereiding").click()
    page.wait_for_url("**/voorbereiding")
    assert page.get_by_role("heading", name="Gespreksvoorbereiding: Testcliënt Appel").is_visible()
    assert page.get_by_text("van 2 naar 4 (hoger)").first.is_visible()
    # The sheet: mood chart with its table, activity, and suggested questions.
    sheet_mood = page.evaluate("() => Chart.getChart('grafiek-stemming').data.datasets[0].data")
    assert sheet_mood == [2, 3, 3, 4]
    assert page.locator(".mood-chart table tbody tr").count() == 4
    assert page.locator(".mood-chart table").is_visible()
    assert page.get_by_role("heading", name="Vragen voor het gesprek").is_visible()
    assert page.locator("ol.suggestions li").count() >= 2
    assert "1× oranje" in page.locator("ul.activity").inner_text()
    page.screenshot(path=str(OUTPUT / "dashboard-voorbereiding.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()  # print styles hide the navigation
    assert not page.get_by_role("button", name="Printen").is_visible()
    page.screenshot(path=str(OUTPUT / "dashboard-voorbereiding-print.png"), full_page=True)
    page.pdf(path=str(OUTPUT / "gespreksvoorbereiding.pdf"), format="A4")
    assert page.console_errors == []  # no script errors, no CSP violations


def test_dashboard_pages_have_no_serious_axe_violations(live, browser):
    context = browser.new_context(locale="nl-NL", bypass_csp=True)  # to inject axe only
    page = context.new_page()
    page.goto(live.url + "/login")
    results = {"login": axe_violations(page)}
    page.get_by_label("Gebruikersnaam").fill("anna")
    page.get_by_label("Wachtwoord").fill(seed.PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url("**/begeleider/")
    results["caseload"] = axe_violations(page)
    for name, path in (
        ("client", f"/begeleider/client/{live.data.client_a}"),
        ("voorbereiding", f"/begeleider/client/{live.data.client_a}/voorbereiding"),
        ("plan", f"/begeleider/client/{live.data.client_a}/plan"),
    ):
        page.goto(live.url + path)
        results[name] = axe_violations(page)
    context.close()
    report = [
        f"{name}: {v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x)"
        for name, violations in results.items()
        for v in violations
    ]
    (OUTPUT / "axe-dashboard.txt").write_text(
        "\n".join(report) or "no violations\n", encoding="utf-8"
    )
    assert report == [], "\n".join(report)  # no violations at all
