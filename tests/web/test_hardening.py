"""Issue 11 in the web app and the management commands: each numbered finding of the issue
has a test here that failed on the old code (the nginx + Chromium test over real HTTPS is in
tests/deploy/test_deploy.py).

1 HTTPS login; 3 file modes; 4 audit-log flooding, usernames, paging, bidi; 6 retention from
the command line; 7 the "shared only" export; 8 demo data on a real installation; 9 the small
defects (dates, empty key file, NUL bytes; parallel sends are in test_chat.py). Also the
production checks of `python -m bot serve`, the Rasa wrapper and the first-admin command.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

from bot import manage, production
from bot.localtime import local
from bot.rasa_server import rasa_argv
from bot.settings import PROJECT_ROOT
from bot.storage import auditlog
from bot.storage.db import session_scope, upgrade_database
from bot.storage.models import (
    Agreement,
    AuditCount,
    AuditEntry,
    CheckIn,
    Client,
    OrgSetting,
    Worker,
    utcnow,
)
from bot.web import create_app
from bot.web.common import visible
from bot.web.dashboard import issue_code
from bot.web.demo import DEMO_ADMIN, DemoRefused, seed_demo
from bot.web.security import RateLimiter, format_code, load_secret_key
from tests.web import seed
from tests.web.conftest import csrf_from, login

SECRET = "test-secret-key-not-for-production"
HTTPS = "https://koers.test"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- 1. HTTPS: the Referer a browser sends must pass Flask-WTF's strict check ---------------


def browser_referer(policy: str, page_url: str, target_url: str) -> str | None:
    """The Referer header a browser sends from `page_url` to `target_url` under the page's
    Referrer-Policy (https to https; https://www.w3.org/TR/referrer-policy/)."""
    page, target = urlsplit(page_url), urlsplit(target_url)
    same_origin = (page.scheme, page.netloc) == (target.scheme, target.netloc)
    origin = f"{page.scheme}://{page.netloc}/"
    full = page_url.split("#")[0]
    policy = policy.strip().lower() or "strict-origin-when-cross-origin"
    if policy == "no-referrer":
        return None
    if policy == "same-origin":
        return full if same_origin else None
    if policy in ("origin", "strict-origin"):
        return origin
    if policy in ("strict-origin-when-cross-origin", "origin-when-cross-origin"):
        return full if same_origin else origin
    if policy in ("no-referrer-when-downgrade", "unsafe-url"):
        return full
    raise ValueError(policy)


class Browser:
    """Flask's test client used like a browser on https://koers.test: every request carries
    the Referer that the previous page's Referrer-Policy allows."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.http = app.test_client()
        self.page_url = ""
        self.policy = ""

    def _headers(self, url: str, extra: dict | None = None) -> dict:
        headers = dict(extra or {})
        if self.page_url:
            referer = browser_referer(self.policy, self.page_url, url)
            if referer:
                headers["Referer"] = referer
        return headers

    def get(self, path: str):  # type: ignore[no-untyped-def]
        url = HTTPS + path
        response = self.http.get(path, base_url=HTTPS, headers=self._headers(url))
        self.page_url, self.policy = url, response.headers.get("Referrer-Policy", "")
        return response

    def post(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        url = HTTPS + path
        headers = self._headers(url, kwargs.pop("headers", None))
        return self.http.post(path, base_url=HTTPS, headers=headers, **kwargs)


@pytest.fixture
def https_app(settings):
    app = create_app(settings=dataclasses.replace(settings, cookie_secure=True))
    yield app
    app.extensions["koers_engine"].dispose()


@pytest.fixture
def https_data(https_app):
    with session_scope(https_app.extensions["koers_engine"]) as session:
        return seed.seed(session, SECRET)


def test_worker_login_and_logout_work_over_https(https_app, https_data):
    browser = Browser(https_app)
    page = browser.get("/login")
    response = browser.post(
        "/login",
        data={"username": "anna", "password": seed.PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    caseload = browser.get("/begeleider/")
    assert caseload.status_code == 200 and "Testcliënt Appel" in caseload.text
    logout = browser.post("/logout", data={"csrf_token": csrf_from(caseload.text)})
    assert logout.status_code == 302
    assert browser.get("/begeleider/").status_code == 302  # logged out


def test_client_code_login_chat_and_logout_work_over_https(https_app, https_data):
    from tests.web.test_chat import FakeRasa

    rasa = FakeRasa()
    https_app.config["RASA_URL"] = rasa.url
    try:
        with session_scope(https_app.extensions["koers_engine"]) as session:
            code = format_code(
                issue_code(session, session.get(Client, https_data.client_a), "test", SECRET)
            )
        browser = Browser(https_app)
        page = browser.get("/chat/")
        login_response = browser.post(
            "/chat/login", data={"code": code, "csrf_token": csrf_from(page.text)}
        )
        assert login_response.status_code == 302, login_response.text[:300]
        chat = browser.get("/chat/")
        token = chat.text.split('data-csrf="', 1)[1].split('"', 1)[0]
        sent = browser.post(
            "/chat/api/send", json={"text": "hallo"}, headers={"X-CSRFToken": token}
        )
        assert sent.status_code == 200 and sent.json["ok"], sent.text
        out = browser.post("/chat/uitloggen", data={"csrf_token": token})
        assert out.status_code == 302
    finally:
        rasa.close()


def test_no_koers_address_leaks_to_other_sites(https_app, https_data):
    policy = Browser(https_app).get("/login").headers["Referrer-Policy"]
    assert (
        browser_referer(policy, HTTPS + "/begeleider/client/7", "https://elders.example/") is None
    )


# --- 3. data files are private -----------------------------------------------------------------


def _cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "KOERS_ENV_FILE": str(tmp_path / "none.env"),
        "KOERS_VAR_DIR": str(tmp_path / "var"),
        "KOERS_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'koers.db'}",
        "KOERS_TRACKER_DB": str(tmp_path / "var" / "tracker.db"),
        **extra,
    }


def _run(cmd: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    def umask_022() -> None:
        os.umask(0o022)  # a normal login shell's umask

    return subprocess.run(
        cmd,
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        preexec_fn=umask_022,
    )


@pytest.mark.parametrize(
    "command",
    [["-m", "bot", "migrate"], ["-m", "bot.storage.db", "upgrade"]],
    ids=["python -m bot migrate", "make migrate"],
)
def test_the_database_and_data_folder_are_private(tmp_path, command):
    result = _run([sys.executable, *command], _cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    db = tmp_path / "var" / "koers.db"
    assert mode(db) == 0o600, oct(mode(db))
    assert mode(db.parent) == 0o700, oct(mode(db.parent))


def test_existing_files_are_tightened(tmp_path, settings):
    var = tmp_path / "var"
    (var / "log").mkdir(parents=True)
    for path in (var / "koers.db", var / "tracker.db", var / "log" / "rasa.log"):
        path.write_text("x")
        os.chmod(path, 0o644)
    os.chmod(var, 0o755)
    os.chmod(var / "log", 0o755)
    production.secure_data_dir(
        dataclasses.replace(
            settings,
            var_dir=var,
            tracker_db=var / "tracker.db",
            database_url=f"sqlite:///{var}/koers.db",
        )
    )
    assert mode(var) == 0o700 and mode(var / "log") == 0o700
    assert {mode(p) for p in (var / "koers.db", var / "tracker.db", var / "log" / "rasa.log")} == {
        0o600
    }
    assert os.umask(0o077) == 0o077  # and new files from here on are private


# --- 4. the audit log cannot be flooded and never holds a typed password ----------------------


def audit_rows(engine) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return list(session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())


def test_blocked_logins_are_counted_not_logged(client, data, engine, app):
    for _ in range(5):
        assert login(client, "anna", "fout-wachtwoord").status_code == 401
    rows = audit_rows(engine)
    assert [r.action for r in rows] == ["inloggen_mislukt"] * 5 + ["inloggen_blokkade"]
    limiter = app.config["LOGIN_LIMITER"]
    keys_before = len(limiter), len(app.config["LOGIN_IP_LIMITER"])
    for i in range(30):  # blocked: the attacker chooses new usernames
        assert login(client, f"gok-{i}", "x").status_code in (401, 429)
    blocked_rows = [r for r in audit_rows(engine) if r.action not in ("inloggen_mislukt",)]
    # Per address at most 20 failures are logged before the address is blocked too.
    assert len([r for r in audit_rows(engine) if r.action == "inloggen_mislukt"]) == 20
    assert len(blocked_rows) <= 3  # one row when a block starts
    with session_scope(engine) as session:
        counted = session.execute(
            select(AuditCount.count).where(AuditCount.action == "inloggen_geblokkeerd")
        ).scalar_one()
    assert counted == 15  # 30 attempts: 15 failed (up to the address limit), 15 counted
    assert len(app.config["LOGIN_IP_LIMITER"]) == keys_before[1]
    assert len(limiter) <= keys_before[0] + 15  # blocked attempts add no keys


def test_a_password_typed_as_username_never_reaches_the_log(client, data, engine, app):
    typed = "MijnGeheimeWachtwoord!2026"
    assert login(client, typed, "whatever").status_code == 401
    rows = audit_rows(engine)
    assert rows and all(typed not in (r.detail or "") + r.actor for r in rows)
    expected = auditlog.username_hash(SECRET, typed)
    assert rows[-1].detail == f"gebruikersnaam-hash {expected}"
    # The admin can still look for failed logins of a given username.
    admin = app.test_client()
    login(admin, "beheer")
    page = admin.get(f"/beheer/logboek?gebruikersnaam={typed}").get_data(as_text=True)
    assert expected in page and "1 regel" in page
    assert typed not in page.split("<tbody>", 1)[1]


def test_the_limiter_forgets_what_is_over_and_keeps_what_is_blocked():
    now = [0.0]
    limiter = RateLimiter(max_failures=3, window_seconds=60, max_keys=100, clock=lambda: now[0])
    for _ in range(1000):
        assert not limiter.blocked("nobody-failed")
    assert len(limiter) == 0  # checking stores nothing
    blocked_now = [limiter.fail("aanvaller") for _ in range(3)]
    assert blocked_now == [False, False, True] and limiter.blocked("aanvaller")
    for i in range(5000):  # a flood of new keys
        limiter.fail(f"ruis-{i}")
    assert limiter.blocked("aanvaller") and len(limiter) <= 101
    now[0] = 61.0
    assert not limiter.blocked("aanvaller")
    limiter.fail("nieuw")
    for key in [f"ruis-{i}" for i in range(5000)]:
        limiter.blocked(key)
    assert len(limiter) == 1


def _many_rows(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    start = utcnow() - timedelta(days=10)
    with session_scope(engine) as session:
        for i in range(n):
            auditlog.record(
                session,
                "client_bekeken" if i % 2 else "plan_bekeken",
                actor=f"medewerker:{'anna' if i % 3 else 'bram'}",
                client_id=i % 5,
                detail=f"regel-{i:04d}",
                at=start + timedelta(hours=i),
            )


def test_the_admin_log_pages_through_everything_and_filters(client, data, engine):
    _many_rows(engine, 250)
    login(client, "beheer")
    first = client.get("/beheer/logboek").get_data(as_text=True)
    assert "regel-0249" in first and "regel-0000" not in first
    assert "pagina 1 van 3" in first
    last = client.get("/beheer/logboek?pagina=3").get_data(as_text=True)
    assert "regel-0000" in last  # the oldest rows stay reachable (the old page showed 300)
    by_actor = client.get("/beheer/logboek?wie=bram&wat=plan_bekeken").get_data(as_text=True)
    shown = set(re.findall(r"regel-\d{4}", by_actor))
    assert shown == {f"regel-{i:04d}" for i in range(250) if i % 6 == 0}  # bram, plan_bekeken
    by_client = client.get("/beheer/logboek?client=3").get_data(as_text=True)
    assert set(re.findall(r"regel-\d{4}", by_client)) == {
        f"regel-{i:04d}" for i in range(250) if i % 5 == 3
    }
    # The filter reads days in the organisation's time zone (bot.localtime), not in UTC:
    # between 21:00 and 22:00 UTC in winter, row 50's UTC date was the day before its local one.
    day = local(utcnow() - timedelta(days=10) + timedelta(hours=50)).date().isoformat()
    by_date = client.get(f"/beheer/logboek?van={day}&tot={day}").get_data(as_text=True)
    assert "regel-0050" in by_date and "regel-0010" not in by_date and "regel-0100" not in by_date
    assert "Een datum klopte niet" in client.get("/beheer/logboek?van=0001-01-01").get_data(
        as_text=True
    )


def test_bidi_controls_are_shown_as_codes(client, data, engine):
    with session_scope(engine) as session:
        auditlog.record(session, "inloggen", actor="medewerker:abc\u202etxt.exe", detail="x\u2066y")
    login(client, "beheer")
    page = client.get("/beheer/logboek").get_data(as_text=True)
    assert "\u202e" not in page and "\u2066" not in page
    assert "abc[U+202E]txt.exe" in page and "x[U+2066]y" in page
    assert visible("gewoon\ttekst") == "gewoon\ttekst"


# --- 6. retention and audit verify from the command line ---------------------------------------


def run_cli(settings, *argv: str, stdin: str = "") -> int:  # type: ignore[no-untyped-def]
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return manage.main(list(argv), settings=settings)
    finally:
        sys.stdin = old


def test_retention_command_logs_counts_never_content(settings, data, engine, capsys):
    old = utcnow() - timedelta(days=900)
    with session_scope(engine) as session:
        session.execute(
            text("UPDATE reflections SET created_at = :t WHERE idempotency_key = 'r1'"),
            {"t": old.replace(tzinfo=None)},
        )
    assert run_cli(settings, "retention", "--dry-run") == 0
    assert "reflecties 1" in capsys.readouterr().out
    assert run_cli(settings, "retention") == 0
    out = capsys.readouterr().out
    assert "reflecties 1" in out and "eigen huis" not in out and "tuin" not in out
    rows = audit_rows(engine)
    assert rows[-1].action == "bewaartermijnen_toegepast" and "tuin" not in rows[-1].detail
    assert run_cli(settings, "retention") == 0
    assert "reflecties 0" in capsys.readouterr().out  # safe to run again


def test_audit_verify_command(settings, data, client, engine, capsys):
    login(client, "anna")
    client.get(f"/begeleider/client/{data.client_a}")
    client.get("/begeleider/")
    assert run_cli(settings, "audit", "verify") == 0
    assert "Logboek in orde" in capsys.readouterr().out
    with engine.begin() as connection:  # someone with database access removes a view
        connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        connection.execute(text("DELETE FROM audit_log WHERE action = 'client_bekeken'"))
    assert run_cli(settings, "audit", "verify") == 1
    assert "ontbreekt" in capsys.readouterr().out


# --- 7. the "shared only" export ---------------------------------------------------------------


def test_shared_only_export_has_no_mood_check_ins(settings, data, engine, tmp_path):
    with session_scope(engine) as session:
        for i, mood in enumerate((1, 2)):
            session.add(CheckIn(client_id=data.client_a, mood=mood, idempotency_key=f"m{i}"))
    shared = tmp_path / "gedeeld.json"
    assert run_cli(settings, "export", str(data.client_a), "-o", str(shared)) == 0
    payload = json.loads(shared.read_text(encoding="utf-8"))
    assert payload["checkins"] == [] and payload["checkins_not_exported"] == 2
    full = tmp_path / "alles.json"
    run_cli(settings, "export", str(data.client_a), "-o", str(full), "--include-private")
    assert sorted(c["mood"] for c in json.loads(full.read_text())["checkins"]) == [1, 2]


# --- 8. make run never adds demo accounts to a real installation -------------------------------


def test_demo_data_is_refused_on_a_real_installation(settings, engine, capsys):
    assert (
        run_cli(
            settings,
            "bootstrap-admin",
            "anna.admin",
            "--password-stdin",
            stdin="een-goed-wachtwoord\n",
        )
        == 0
    )
    with session_scope(engine) as session, pytest.raises(DemoRefused) as refused:
        seed_demo(session, SECRET)
    assert "real Koers installation" in str(refused.value)
    with session_scope(engine) as session:
        assert session.execute(select(Worker).where(Worker.username == DEMO_ADMIN)).first() is None


def test_a_deactivated_demo_admin_stays_off_on_an_old_real_installation(engine, data):
    """A real installation from before the installation mark, where the demo admin once
    existed and was switched off: no back door."""
    with session_scope(engine) as session:
        session.add(
            Worker(
                username=DEMO_ADMIN,
                display_name="x",
                password_hash="old",
                role="admin",
                active=False,
            )
        )
        session.add(OrgSetting(key="installatie", value="productie", updated_at=utcnow()))
    with session_scope(engine) as session, pytest.raises(DemoRefused):
        seed_demo(session, SECRET)
    with session_scope(engine) as session:
        demo = session.execute(select(Worker).where(Worker.username == DEMO_ADMIN)).scalar_one()
        assert not demo.active and demo.password_hash == "old"


def test_demo_data_still_works_on_a_demo_database(engine):
    with session_scope(engine) as session:
        first = seed_demo(session, SECRET)
    with session_scope(engine) as session:
        second = seed_demo(session, SECRET)  # make run again: new passwords
    assert first.admin_password != second.admin_password


# --- 9. the smaller defects --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["van=0001-01-01", "tot=9999-12-31", "van=0001-01-01&tot=0001-01-02"]
)
def test_extreme_dates_on_the_preparation_sheet(client, data, query):
    login(client, "anna")
    response = client.get(f"/begeleider/client/{data.client_a}/voorbereiding?{query}")
    assert response.status_code == 200
    assert "Een datum klopte niet" in response.get_data(as_text=True)


def test_an_empty_secret_key_file_does_not_stop_the_start(settings, tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("")
    no_key = dataclasses.replace(settings, secret_key=None, var_dir=tmp_path)
    app = create_app(settings=no_key)
    try:
        key = app.config["SECRET_KEY"]
        assert len(key) >= 32 and key_file.read_text().strip() == key
        assert mode(key_file) == 0o600
        assert load_secret_key(no_key) == key  # kept from now on
    finally:
        app.extensions["koers_engine"].dispose()


def test_nul_bytes_in_forms_are_dropped(client, data, engine):
    login(client, "anna")
    page = f"/begeleider/client/{data.client_a}"
    token = csrf_from(client.get(page).get_data(as_text=True))
    response = client.post(
        page + "/afspraken",
        data={"csrf_token": token, "kind": "client", "text": "Bel\x00 de huisarts"},
    )
    assert response.status_code == 302
    with session_scope(engine) as session:
        texts = set(session.execute(select(Agreement.text)).scalars())
    assert "Bel de huisarts" in texts
    other = client.application.test_client()
    assert login(other, "an\x00na").status_code in (302, 401)  # never a 500


# --- production mode ---------------------------------------------------------------------------


def secure(settings):  # type: ignore[no-untyped-def]
    return dataclasses.replace(
        settings,
        secret_key="s" * 48,
        actions_secret="a" * 48,
        cookie_secure=True,
        trusted_proxy="127.0.0.1",
        demo_data=False,
        log_level="INFO",
    )


def test_insecure_settings_are_named_one_line_each(settings, monkeypatch, tmp_path):
    monkeypatch.setenv("KOERS_ENV_FILE", str(tmp_path / "none.env"))
    assert production.settings_problems(secure(settings)) == []
    bad = dataclasses.replace(
        secure(settings),
        secret_key=None,
        actions_secret="kort",
        cookie_secure=False,
        trusted_proxy=None,
        web_host="0.0.0.0",
        rasa_api=True,
        rasa_token=None,
        log_level="DEBUG",
        demo_data=True,
    )
    problems = production.settings_problems(bad)
    for name in (
        "KOERS_SECRET_KEY",
        "KOERS_ACTIONS_SECRET",
        "KOERS_COOKIE_SECURE",
        "KOERS_TRUSTED_PROXY",
        "KOERS_WEB_HOST",
        "KOERS_RASA_TOKEN",
        "KOERS_LOG_LEVEL",
        "KOERS_DEMO_DATA",
    ):
        assert sum(name in p for p in problems) >= 1, name
    assert all("\n" not in p for p in problems)
    env_file = tmp_path / "koers.env"
    env_file.write_text("KOERS_SECRET_KEY=x\n")
    os.chmod(env_file, 0o644)
    monkeypatch.setenv("KOERS_ENV_FILE", str(env_file))
    assert any("chmod 600" in p for p in production.settings_problems(secure(settings)))


def test_backends_on_other_machines_only_on_a_private_network_with_both_secrets(
    settings, monkeypatch, tmp_path
):
    """Rasa and the action server: loopback always; a private (RFC 1918 / ULA) address only
    with KOERS_ALLOW_PRIVATE_BACKENDS=true and KOERS_RASA_TOKEN and KOERS_ACTIONS_SECRET set;
    a public address, 0.0.0.0, link-local or a host name never."""
    monkeypatch.setenv("KOERS_ENV_FILE", str(tmp_path / "none.env"))
    token = "r" * 48

    def problems(**changes):  # type: ignore[no-untyped-def]
        return production.settings_problems(dataclasses.replace(secure(settings), **changes))

    several = {
        "rasa_host": "10.0.0.11",
        "actions_host": "10.0.0.21",
        "rasa_url_list": (
            "http://10.0.0.11:5005",
            "http://172.16.4.2:5005",
            "http://[fd00::12]:5005",
        ),
    }
    # Without the explicit setting: refused, with a pointer to it.
    found = problems(**several, rasa_token=token)
    assert len(found) == 5 and all("KOERS_ALLOW_PRIVATE_BACKENDS=true" in p for p in found)
    # With it and both secrets: accepted.
    assert problems(**several, rasa_token=token, allow_private_backends=True) == []
    assert problems(rasa_host="192.168.1.5", rasa_token=token, allow_private_backends=True) == []
    # With it but without the Rasa token, or with a short action-server secret: refused.
    found = problems(**several, allow_private_backends=True)
    assert found and all("KOERS_RASA_TOKEN" in p for p in found)
    assert any(
        "KOERS_ACTIONS_SECRET" in p
        for p in problems(
            **several, rasa_token=token, allow_private_backends=True, actions_secret="kort"
        )
    )
    # Public and other non-private addresses: refused, also with the setting.
    for host in (
        "8.8.8.8",
        "0.0.0.0",
        "::",
        "169.254.169.254",
        "100.64.0.1",
        "2001:db8::1",
        "rasa.internal",
    ):
        found = problems(rasa_host=host, rasa_token=token, allow_private_backends=True)
        assert len(found) == 1 and "is reachable from the network" in found[0], host
    found = problems(
        rasa_url_list=("http://203.0.113.7:5005",), rasa_token=token, allow_private_backends=True
    )
    assert len(found) == 1 and found[0].startswith("KOERS_RASA_URLS=203.0.113.7")
    # Loopback stays fine without anything.
    assert problems(rasa_host="127.0.0.1", actions_host="::1") == []


def test_database_checks(settings, tmp_path, engine):
    fresh = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'leeg.db'}")
    assert "python -m bot migrate" in production.database_problems(fresh)[0]
    assert any("bootstrap-admin" in p for p in production.database_problems(settings))
    with session_scope(engine) as session:
        seed_demo(session, SECRET)
    assert any("demo account" in p for p in production.database_problems(settings))


def test_serve_refuses_insecure_settings_before_starting_anything(tmp_path):
    env = _cli_env(tmp_path, KOERS_SECRET_KEY="", KOERS_COOKIE_SECURE="false")
    result = _run([sys.executable, "-m", "bot", "serve"], env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.startswith("Koers did not start: ") for line in lines), result.stderr
    assert any("KOERS_COOKIE_SECURE" in line for line in lines)
    assert "Starting" not in result.stdout


def test_bootstrap_admin_only_once_and_marks_the_installation(settings, engine, capsys):
    assert (
        run_cli(
            settings, "bootstrap-admin", "eerste", "--password-stdin", stdin="een-goed-wachtwoord\n"
        )
        == 0
    )
    with pytest.raises(SystemExit, match="al een beheerder"):
        run_cli(
            settings, "bootstrap-admin", "tweede", "--password-stdin", stdin="een-goed-wachtwoord\n"
        )
    with session_scope(engine) as session:
        admins = session.execute(
            select(func.count()).select_from(Worker).where(Worker.role == "admin")
        ).scalar_one()
        mark = session.get(OrgSetting, "installatie")
    assert admins == 1 and mark.value == "productie"


def test_init_env_makes_a_private_file_with_secure_settings(tmp_path, monkeypatch):
    path = tmp_path / "koers.env"
    env = _cli_env(tmp_path)
    result = _run([sys.executable, "-m", "bot", "init-env", str(path)], env)
    assert result.returncode == 0, result.stderr
    assert mode(path) == 0o600
    again = _run([sys.executable, "-m", "bot", "init-env", str(path)], env)
    assert again.returncode != 0 and "bestaat al" in again.stderr
    from dotenv import dotenv_values

    from bot.settings import get_settings

    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    for name in list(os.environ):
        if name.startswith("KOERS_"):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KOERS_ENV_FILE", str(path))
    get_settings.cache_clear()
    try:
        assert production.settings_problems(get_settings()) == []
    finally:
        get_settings.cache_clear()


def test_rasa_api_is_off_unless_asked_and_its_token_never_on_the_command_line():
    off = rasa_argv(["--port", "5005"], {})
    assert off == ["rasa", "run", "--port", "5005"]
    with pytest.raises(SystemExit, match="KOERS_RASA_TOKEN"):
        rasa_argv([], {"KOERS_RASA_API": "true"})
    on = rasa_argv([], {"KOERS_RASA_API": "true", "KOERS_RASA_TOKEN": "t" * 40})
    assert on[-3:] == ["--enable-api", "--auth-token", "t" * 40]
    for refused in (["--enable-api"], ["--auth-token", "x"], ["--auth-token=x"]):
        with pytest.raises(SystemExit, match="not accepted"):
            rasa_argv(refused, {})
    # Rasa's REST channel on a private network demands the token: no start without it.
    with pytest.raises(SystemExit, match="KOERS_RASA_TOKEN"):
        rasa_argv([], {"KOERS_ALLOW_PRIVATE_BACKENDS": "true"})
    assert rasa_argv([], {"KOERS_ALLOW_PRIVATE_BACKENDS": "true", "KOERS_RASA_TOKEN": "t" * 40})


def test_nginx_config_is_complete(capsys, settings):
    assert run_cli(settings, "nginx-config", "--server-name", "koers.example.nl") == 0
    config = capsys.readouterr().out
    assert "{{" not in config
    assert "server_name koers.example.nl;" in config
    assert "/etc/letsencrypt/live/koers.example.nl/fullchain.pem" in config
    assert 'Strict-Transport-Security "max-age=31536000" always' in config
    assert "client_max_body_size 256k" in config and "proxy_read_timeout" in config
    assert "X-Forwarded-For $remote_addr" in config
    assert "server 127.0.0.1:8000;" in config
    with pytest.raises(SystemExit, match="Dat kan niet"):
        run_cli(settings, "nginx-config", "--server-name", "koers.nl; evil")


def test_the_migrated_template_is_at_head(migrated_template):
    """The fixtures' template database is built by the migrations (incl. 0007's triggers)."""
    url = f"sqlite:///{migrated_template}"
    upgrade_database(url)
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            triggers = set(
                connection.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
                ).scalars()
            )
    finally:
        engine.dispose()
    assert {"audit_log_no_update", "audit_log_no_delete"} <= triggers


def test_env_example_documents_every_retention_period():
    from bot.retention import Policy, env_name

    example = (PROJECT_ROOT / ".env.example").read_text(encoding="utf-8")
    for field in dataclasses.fields(Policy):
        assert f"{env_name(field.name)}={field.default}" in example, field.name


def test_a_changed_audit_key_is_refused_at_start(settings, engine, data, client):
    login(client, "anna")  # the chain starts with this app's key
    changed = dataclasses.replace(settings, audit_key="een-nieuwe-sleutel-" + "x" * 32)
    assert any("another key" in p for p in production.database_problems(changed))
    assert not any("another key" in p for p in production.database_problems(settings))


def test_an_unmarked_database_with_real_accounts_gets_no_demo_accounts(engine, data):
    """A real installation from before the installation mark: other accounts than the demo
    ones, and a demo admin that was switched off there. make run must not switch it on."""
    with session_scope(engine) as session:
        session.add(
            Worker(
                username=DEMO_ADMIN,
                display_name="x",
                password_hash="old",
                role="admin",
                active=False,
            )
        )
    with session_scope(engine) as session, pytest.raises(DemoRefused):
        seed_demo(session, SECRET)
    with session_scope(engine) as session:
        demo = session.execute(select(Worker).where(Worker.username == DEMO_ADMIN)).scalar_one()
        assert not demo.active and demo.password_hash == "old"
