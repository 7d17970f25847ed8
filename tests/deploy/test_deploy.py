"""Koers as docs/deploy.md installs it, behind Debian's nginx over real HTTPS, on PostgreSQL.

One installation for the whole module, made with the commands the guide names:
- a throw-away PostgreSQL cluster; `createuser --pwprompt koers`, `createdb -O koers koers`
  and `createdb -O koers koers_tracker` (tests/pgcluster.py);
- `python -m bot init-env`, then the passwords filled in as the guide says;
- `python -m bot migrate`, `bootstrap-admin`, `create-worker`, `create-client`, `issue-code`;
- the three servers started with exactly the ExecStart lines and Environment of the systemd
  units in deploy/systemd/ (`python -m bot service actions|rasa|web`): production checks,
  the action server's shared secret, Rasa without its HTTP API, conversations in PostgreSQL;
- nginx with the site from `python -m bot nginx-config` and a throw-away self-signed
  certificate (in place of Let's Encrypt's), on free ports.

Then Debian's chromium (Playwright) does a client check-in and a worker login and logout
over https (finding 1: with HTTPS nobody could log in), and the other findings are checked on
the running installation: HSTS, size limit, real client address, the locked-down services,
private data files, logs without message text, retention, audit verify, backup and restore
into a fresh database after which the dashboard shows the same clients and reflections.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import shlex
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select, text

from bot.settings import PROJECT_ROOT, get_settings
from bot.storage.db import session_scope
from bot.storage.models import AuditEntry, Client, Reflection
from tests import pgcluster
from tests.browser.conftest import CHROMIUM, OUTPUT
from tests.browser.test_chat_e2e import ANSWERS, choose, koers_count, type_message, wait_for_reply

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
UNITS = PROJECT_ROOT / "deploy" / "systemd"
PG_PASSWORD = "pg-" + secrets.token_urlsafe(12)
ADMIN_PASSWORD = "beheer-wachtwoord-" + secrets.token_hex(4)
WORKER_PASSWORD = "begeleider-wachtwoord-" + secrets.token_hex(4)
CLIENT_NAME = "Deploy Cliënt (nep)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_environ() -> dict[str, str]:
    """The test runner's environment without any KOERS_ setting: only the settings file
    drives the installation."""
    return {k: v for k, v in os.environ.items() if not k.startswith("KOERS_")}


class Installation:
    def __init__(self, base: Path, cluster: pgcluster.Cluster) -> None:
        self.base = base
        self.cluster = cluster
        self.var = base / "var"
        self.env_file = base / "koers.env"
        self.web_port, self.rasa_port, self.actions_port = free_port(), free_port(), free_port()
        self.https_port, self.http_port = free_port(), free_port()
        self.url = f"https://localhost:{self.https_port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.code = ""

    @property
    def env(self) -> dict[str, str]:
        return {**clean_environ(), "KOERS_ENV_FILE": str(self.env_file)}

    def bot(self, *args: str, stdin: str = "", env_file: Path | None = None) -> str:
        """`python -m bot ARGS` as the koers user would run it (the settings file only)."""
        env = self.env if env_file is None else {**self.env, "KOERS_ENV_FILE": str(env_file)}
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, f"python -m bot {' '.join(args)}:\n{result.stderr}"
        return result.stdout

    def settings_values(self, path: Path | None = None) -> dict[str, str]:
        from dotenv import dotenv_values

        return {k: v or "" for k, v in dotenv_values(path or self.env_file).items()}

    @property
    def database_url(self) -> str:
        return self.settings_values()["KOERS_DATABASE_URL"]

    # -- the servers, as systemd starts them ----------------------------------------------------

    def unit(self, name: str) -> tuple[list[str], dict[str, str]]:
        lines = (UNITS / f"koers-{name}.service").read_text(encoding="utf-8").splitlines()
        command = next(line for line in lines if line.startswith("ExecStart="))
        argv = shlex.split(command[len("ExecStart=") :])
        assert argv[0] == "/opt/koers/.venv/bin/python", argv
        argv[0] = sys.executable
        env = dict(
            line[len("Environment=") :].split("=", 1)
            for line in lines
            if line.startswith("Environment=")
        )
        assert env["KOERS_ENV_FILE"] == "/etc/koers/koers.env"
        env["KOERS_ENV_FILE"] = str(self.env_file)
        env["HOME"] = str(self.var)
        return argv, env

    def start(self, name: str, ready: str, timeout: float) -> None:
        argv, unit_env = self.unit(name)
        log = self.base / f"journal-{name}.log"
        self.logs[name] = log

        def normal_umask() -> None:
            os.umask(0o022)  # the unit sets UMask=0077; Koers must not rely on it

        proc = subprocess.Popen(
            argv,
            cwd=PROJECT_ROOT,
            env={**clean_environ(), **unit_env},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=normal_umask,
        )
        self.procs[name] = proc
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} stopped:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(ready, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                os.killpg(proc.pid, 15)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_main_config(folder: Path, site: Path) -> Path:
    """A minimal nginx.conf around the shipped site, with every path in `folder`."""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / sub).mkdir(exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(
        f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    default_type application/octet-stream;
    include {site};
}}
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="module")
def installation(tmp_path_factory, model_path):
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX} is missing: run `make test` (it installs Debian's nginx).")
    if not pgcluster.available():
        pytest.fail("PostgreSQL is missing: run `make test` (it installs Debian's postgresql).")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium).")
    base = tmp_path_factory.mktemp("installation")
    cluster = pgcluster.Cluster().start()
    inst = Installation(base, cluster)
    nginx = None
    try:
        # docs/deploy.md, step "PostgreSQL".
        cluster.create_role("koers", PG_PASSWORD)
        cluster.create_database("koers", "koers")
        cluster.create_database("koers_tracker", "koers")
        # Step "Settings": a settings file with new secrets; fill in the two passwords.
        inst.bot("init-env", str(inst.env_file), "--var-dir", str(inst.var))
        assert stat.S_IMODE(inst.env_file.stat().st_mode) == 0o600
        settings_text = inst.env_file.read_text(encoding="utf-8")
        lines = settings_text.splitlines()
        to_fill = [i for i, line in enumerate(lines) if "CHANGE-ME" in line and line[:1] != "#"]
        assert len(to_fill) == 2, to_fill
        for i in to_fill:
            lines[i] = lines[i].replace("CHANGE-ME", PG_PASSWORD)
        settings_text = "\n".join(lines) + "\n"
        # This test's free ports instead of the standard ones.
        for name, port in (
            ("5432", str(cluster.port)),
            ("KOERS_WEB_PORT=8000", f"KOERS_WEB_PORT={inst.web_port}"),
            ("KOERS_RASA_PORT=5005", f"KOERS_RASA_PORT={inst.rasa_port}"),
            ("KOERS_ACTIONS_PORT=5055", f"KOERS_ACTIONS_PORT={inst.actions_port}"),
        ):
            settings_text = settings_text.replace(name, port)
        inst.env_file.write_text(settings_text, encoding="utf-8")
        # Step "Database and first admin".
        inst.bot("migrate")
        inst.bot("bootstrap-admin", "beheerder", "--password-stdin", stdin=ADMIN_PASSWORD + "\n")
        inst.bot(
            "create-worker",
            "begeleider",
            "--name",
            "Deploy Begeleider (nep)",
            "--password-stdin",
            stdin=WORKER_PASSWORD + "\n",
        )
        out = inst.bot("create-client", "--name", CLIENT_NAME, "--worker", "begeleider")
        client_id = re.search(r"Cliënt (\d+) aangemaakt", out).group(1)
        out = inst.bot("issue-code", client_id)
        inst.code = re.search(r"([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", out).group(1)
        # Step "Services": the three units.
        inst.start("actions", f"http://127.0.0.1:{inst.actions_port}/health", 90)
        inst.start("rasa", f"http://127.0.0.1:{inst.rasa_port}/", 300)
        inst.start("web", f"http://127.0.0.1:{inst.web_port}/login", 90)
        # Step "nginx and the certificate".
        tls = base / "nginx"
        tls.mkdir()
        cert, key = make_certificate(tls)
        site = tls / "koers.conf"
        site.write_text(
            inst.bot(
                "nginx-config",
                "--server-name",
                "localhost",
                "--cert",
                str(cert),
                "--key",
                str(key),
                "--listen",
                f"127.0.0.1:{inst.https_port}",
                "--http-listen",
                f"127.0.0.1:{inst.http_port}",
            ),
            encoding="utf-8",
        )
        main = nginx_main_config(tls, site)
        check = subprocess.run(
            [NGINX, "-t", "-p", str(tls), "-c", str(main), "-e", str(tls / "error.log")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        nginx = subprocess.Popen(
            [
                NGINX,
                "-p",
                str(tls),
                "-c",
                str(main),
                "-e",
                str(tls / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(tls / "nginx.out").open("w"),
            start_new_session=True,
        )
        inst.cert = cert
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(inst.url + "/login", verify=str(cert), timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or nginx.poll() is not None:
                    raise RuntimeError((tls / "error.log").read_text()) from None
                time.sleep(0.3)
        yield inst
    finally:
        if nginx is not None and nginx.poll() is None:
            nginx.terminate()
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
        inst.stop()
        cluster.stop()


def koers_engine(inst: Installation, url: str | None = None):  # type: ignore[no-untyped-def]
    return create_engine(url or inst.database_url, future=True)


def https_context(browser):  # type: ignore[no-untyped-def]
    # The throw-away certificate is self-signed; everything else is as in production.
    return browser.new_context(locale="nl-NL", ignore_https_errors=True)


# --- finding 1: logging in over HTTPS ----------------------------------------------------------


def test_a_client_checks_in_over_https(installation, browser):
    context = https_context(browser)
    page = context.new_page()
    page.set_default_timeout(30000)
    page.goto(installation.url + "/chat/")
    page.get_by_label("Jouw code").fill(installation.code)
    page.get_by_role("button", name="Verder").click()
    page.wait_for_selector("#berichten .msg.koers")
    assert "Pagina verlopen" not in page.content()
    answers = iter(ANSWERS * 3)
    engine = koers_engine(installation)
    try:
        for _turn in range(25):
            with session_scope(engine) as session:
                done = session.execute(
                    select(Reflection.id).where(Reflection.shared_with_worker.is_(True))
                ).first()
            if done:
                break
            buttons = page.locator("#berichten .choices button:not([disabled])").all()
            before = koers_count(page)
            if buttons:
                buttons[choose(buttons)].click()
                wait_for_reply(page, before)
            else:
                type_message(page, next(answers))
        page.screenshot(path=str(OUTPUT / "https-check-in.png"), full_page=True)
        assert done, page.locator("#berichten").inner_text()
        # The client logs out over https too.
        page.get_by_role("button", name="Uitloggen").click()
        page.wait_for_selector("text=Jouw code")
    finally:
        engine.dispose()
        context.close()


def test_the_worker_logs_in_reads_it_and_logs_out_over_https(installation, browser):
    context = https_context(browser)
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(installation.url + "/login")
    page.get_by_label("Gebruikersnaam").fill("begeleider")
    page.get_by_label("Wachtwoord").fill(WORKER_PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    assert "Pagina verlopen" not in page.content()
    page.get_by_role("link", name=CLIENT_NAME).click()
    content = page.locator("#reflecties").inner_text()
    assert any(answer[:30] in content for answer in ANSWERS), content
    page.screenshot(path=str(OUTPUT / "https-worker.png"), full_page=True)
    page.get_by_role("button", name="Uitloggen").click()
    assert "Je bent uitgelogd" in page.content()
    context.close()


# --- the proxy: HSTS, redirects, size limit, real client address -------------------------------


def test_nginx_sends_hsts_once_redirects_http_and_limits_the_size(installation):
    verify = str(installation.cert)
    response = requests.get(installation.url + "/login", verify=verify, timeout=10)
    assert response.status_code == 200
    assert response.raw.headers.getlist("Strict-Transport-Security") == ["max-age=31536000"]
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "nginx/" not in response.headers.get("Server", "")
    big = requests.post(
        installation.url + "/login", data={"x": "a" * 400_000}, verify=verify, timeout=10
    )
    assert big.status_code == 413
    plain = requests.get(
        f"http://localhost:{installation.http_port}/chat/?x=1", allow_redirects=False, timeout=10
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://localhost:{installation.https_port}/chat/?x=1"
    with pytest.raises(requests.RequestException):  # another host name gets no answer
        requests.get(
            f"http://127.0.0.1:{installation.http_port}/",
            headers={"Host": "elders.example"},
            timeout=5,
        )


def raw_https(inst: Installation, source: str, request: bytes) -> bytes:
    """One HTTPS request from a given local source address (another "client machine")."""
    context = ssl.create_default_context(cafile=str(inst.cert))
    with socket.create_connection(
        ("127.0.0.1", inst.https_port), source_address=(source, 0)
    ) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(request)
            chunks = []
            while chunk := tls.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def test_the_web_app_sees_the_real_client_address(installation):
    inst = installation
    host = f"localhost:{inst.https_port}"
    page = raw_https(
        inst,
        "127.0.0.2",
        f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode(),
    ).decode("utf-8", "replace")
    cookie = re.search(r"Set-Cookie: (koers_sessie=[^;]+)", page).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    body = f"username=niemand&password=fout&csrf_token={token}".encode()
    answer = raw_https(
        inst,
        "127.0.0.2",
        (
            f"POST /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Cookie: {cookie}\r\nReferer: https://{host}/login\r\n"
            "X-Forwarded-For: 6.6.6.6\r\n"  # a client's own header is not believed
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body,
    ).decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 401"), answer[:300]
    engine = koers_engine(inst)
    try:
        with session_scope(engine) as session:
            row = (
                session.execute(
                    select(AuditEntry)
                    .where(AuditEntry.action == "inloggen_mislukt")
                    .order_by(AuditEntry.id.desc())
                )
                .scalars()
                .first()
            )
        assert row.remote_addr == "127.0.0.2"
    finally:
        engine.dispose()


# --- findings 2, 3 and 5 on the running installation -------------------------------------------


def test_rasa_api_is_off_and_the_action_server_answers_only_rasa(installation):
    rasa = f"http://127.0.0.1:{installation.rasa_port}"
    for path in ("/status", "/conversations/iemand/tracker", "/model"):
        assert requests.get(rasa + path, timeout=10).status_code == 404, path
    actions = f"http://127.0.0.1:{installation.actions_port}"
    call = {"next_action": "action_welkom", "sender_id": "iemand", "tracker": {}}
    assert requests.post(actions + "/webhook", json=call, timeout=10).status_code == 403
    secrets_in_use = [
        v
        for k, v in installation.settings_values().items()
        if k in ("KOERS_ACTIONS_SECRET", "KOERS_SECRET_KEY", "KOERS_AUDIT_KEY")
        or k.endswith("PASSWORD")
    ] + [PG_PASSWORD]
    for name, proc in installation.procs.items():
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode()
        assert not any(s and s in cmdline for s in secrets_in_use), name


def test_data_files_are_private(installation):
    var = installation.var
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for path in var.rglob("*"):
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_logs_hold_no_message_text(installation):
    engine = koers_engine(installation)
    try:
        with session_scope(engine) as session:
            chat_ids = list(session.execute(select(Client.chat_id)).scalars())
    finally:
        engine.dispose()
    logs = "\n".join(path.read_text(errors="replace") for path in installation.logs.values())
    assert "Rasa server is up and running" in logs  # the logs are there and were read
    for needle in [*ANSWERS, *chat_ids, installation.code]:
        assert needle not in logs, needle


# --- findings 4 and 6: audit verify and retention as commands ----------------------------------


def test_audit_log_verifies_and_retention_runs(installation):
    out = installation.bot("audit", "verify")
    assert "Logboek in orde" in out
    due = installation.bot("retention", "--dry-run")
    assert "Zou verwijderen:" in due and "gespreksregels (Rasa) 0" in due
    done = installation.bot("retention")
    assert "Verwijderd:" in done
    assert not any(answer[:20] in done for answer in ANSWERS)
    assert "Logboek in orde" in installation.bot("audit", "verify")


# --- backup and restore ------------------------------------------------------------------------


def dashboard_view(database_url: str, var: Path, values: dict[str, str]) -> tuple[str, str]:
    """The worker's caseload and client page, as the dashboard shows them."""
    from bot.web import create_app
    from tests.web.conftest import login

    settings = dataclasses.replace(
        get_settings(),
        database_url=database_url,
        var_dir=var,
        secret_key=values["KOERS_SECRET_KEY"],
        audit_key=values["KOERS_AUDIT_KEY"],
        cookie_secure=False,
        rasa_port=9,
    )
    app = create_app(settings=settings)
    try:
        http = app.test_client()
        assert login(http, "begeleider", WORKER_PASSWORD).status_code == 302
        caseload = http.get("/begeleider/").get_data(as_text=True)
        client_id = re.search(r'href="/begeleider/client/(\d+)"', caseload).group(1)
        page = http.get(f"/begeleider/client/{client_id}").get_data(as_text=True)
        return caseload, page
    finally:
        app.extensions["koers_engine"].dispose()


def test_backup_restores_into_a_fresh_database_with_the_same_dashboard(installation):
    inst = installation
    out = inst.bot("backup")
    folder = Path(re.search(r"Back-up gemaakt: (.+)", out).group(1).strip())
    assert sorted(p.name for p in folder.iterdir()) == [
        "koers.pgdump",
        "manifest.json",
        "tracker.pgdump",
    ]
    # A fresh installation: new databases, a new data folder, the same secrets.
    inst.cluster.create_database("koers_terug", "koers")
    inst.cluster.create_database("koers_tracker_terug", "koers")
    fresh_var = inst.base / "var-terug"
    fresh_env = inst.base / "koers-terug.env"
    text_ = inst.env_file.read_text(encoding="utf-8")
    text_ = text_.replace(f":{inst.cluster.port}/koers\n", f":{inst.cluster.port}/koers_terug\n")
    text_ = text_.replace(
        "KOERS_TRACKER_PG_DB=koers_tracker", "KOERS_TRACKER_PG_DB=koers_tracker_terug"
    )
    text_ = text_.replace(f"KOERS_VAR_DIR={inst.var}", f"KOERS_VAR_DIR={fresh_var}")
    fresh_env.write_text(text_, encoding="utf-8")
    os.chmod(fresh_env, 0o600)
    inst.bot("restore", str(folder), env_file=fresh_env)
    values = inst.settings_values(fresh_env)
    assert values["KOERS_DATABASE_URL"].endswith("/koers_terug")
    before = dashboard_view(inst.database_url, inst.var, values)
    after = dashboard_view(values["KOERS_DATABASE_URL"], fresh_var, values)
    assert CLIENT_NAME in after[0]
    assert any(answer[:30] in after[1] for answer in ANSWERS)

    def names(html: str) -> list[str]:
        return re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', html)

    def answers(html: str) -> list[str]:
        return re.findall(r'<dd class="quote">([^<]*)</dd>', html)

    assert names(after[0]) == names(before[0]) and CLIENT_NAME in names(after[0])
    assert answers(after[1]) == answers(before[1]) and answers(after[1])
    tracker = create_engine(
        inst.cluster.url("koers", PG_PASSWORD, "koers_tracker_terug"), future=True
    )
    try:
        with tracker.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM events")).scalar_one() > 10
    finally:
        tracker.dispose()
    assert "Logboek in orde" in inst.bot("audit", "verify", env_file=fresh_env)
