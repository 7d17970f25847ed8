"""Production mode: what `python -m bot serve` checks before it starts, and private file modes
for the health data on disk.

`check(settings)` returns one line per insecure or unfinished setting; the server refuses to
start while there is any (`refuse_insecure`). `make run` (the local demo) skips the checks,
but never adds demo data to a real installation (`bot.web.demo`).

Files: every Koers process that writes data calls `secure_data_dir` first. It sets the umask
to 077 (new files 0600, new folders 0700; the Rasa and action-server child processes inherit
it) and tightens what already exists: the data folder, its log folder, the SQLite databases
with their -wal/-shm files, the secret key and the backups.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bot.settings import PROJECT_ROOT, Settings

MIN_SECRET_LENGTH = 32
INSTALLATION_KEY = "installatie"
INSTALLATION_PRODUCTION = "productie"
INSTALLATION_DEMO = "demo"
SECRET_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


# --- file modes -------------------------------------------------------------------------------


def restrict_umask() -> None:
    """New files 0600, new folders 0700, in this process and the processes it starts."""
    os.umask(0o077)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.is_symlink() or not path.exists():
            return
        if stat.S_IMODE(path.stat().st_mode) != mode:
            os.chmod(path, mode)
    except OSError:
        pass  # not ours (e.g. a shared parent folder): leave it


def _tighten_tree(folder: Path) -> None:
    """Folders 0700 and files 0600 below `folder` (symlinks are left alone)."""
    if not folder.is_dir() or folder.is_symlink():
        return
    _chmod(folder, 0o700)
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            _chmod(Path(root) / name, 0o700)
        for name in files:
            _chmod(Path(root) / name, 0o600)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, or None (other databases, in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def secure_sqlite_file(path: Path) -> None:
    """A SQLite database and its journal files: 0600 (created empty with 0600 if missing, so
    that SQLite never creates it with the umask's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for suffix in ("", "-wal", "-shm", "-journal"):
        _chmod(Path(f"{path}{suffix}"), 0o600)


def secure_data_dir(settings: Settings) -> None:
    """Umask 077 and private modes for everything Koers keeps on disk."""
    restrict_umask()
    var_dir = Path(settings.var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    _chmod(var_dir, 0o700)
    for child in var_dir.iterdir():
        if child.is_dir():
            _tighten_tree(child)
        else:
            _chmod(child, 0o600)
    for db_file in (sqlite_path(settings.database_url), Path(settings.tracker_db)):
        if db_file is not None and db_file.exists():
            for suffix in ("", "-wal", "-shm", "-journal"):
                _chmod(Path(f"{db_file}{suffix}"), 0o600)
    if settings.backup_dir is not None:
        _tighten_tree(Path(settings.backup_dir))


# --- checks -----------------------------------------------------------------------------------


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip().strip("[]"))
    except ValueError:
        return None


def _loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    address = _address(host)
    return address is not None and address.is_loopback


# The private ranges Rasa and the action server may use with KOERS_ALLOW_PRIVATE_BACKENDS:
# RFC 1918 and IPv6 unique local addresses. Not link-local (cloud metadata services live
# there), not carrier-grade NAT, not host names (what a name points at can change).
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def private_address(host: str) -> bool:
    """True for an address (not a name) in an RFC 1918 or ULA range."""
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and any(address in net for net in PRIVATE_NETWORKS)


def backend_hosts(settings: Settings) -> list[tuple[str, str]]:
    """(setting, host) of every address Rasa or the action server listens on or is reached
    at: KOERS_RASA_HOST, KOERS_ACTIONS_HOST and the hosts of KOERS_RASA_URLS."""
    hosts = [
        ("KOERS_RASA_HOST", settings.rasa_host),
        ("KOERS_ACTIONS_HOST", settings.actions_host),
    ]
    for url in settings.rasa_url_list:
        hosts.append(("KOERS_RASA_URLS", urlsplit(url).hostname or url))
    return hosts


def backend_problems(settings: Settings) -> list[str]:
    """Rasa and the action server: loopback, or a private address with
    KOERS_ALLOW_PRIVATE_BACKENDS=true and both secrets set; a public address never.

    Rasa's REST channel and the action server take any client's messages from whoever
    reaches them, so off this machine they must demand a secret: the action server always
    does (KOERS_ACTIONS_SECRET), Rasa's channel with this setting (KOERS_RASA_TOKEN,
    bot/rasa_channel.py). The traffic itself is plain HTTP: docs/scaling.md says which
    network that needs."""
    problems = []
    for name, host in backend_hosts(settings):
        if _loopback(host):
            continue
        if private_address(host):
            if not settings.allow_private_backends:
                problems.append(
                    f"{name}={host} is a private network address: for Rasa or the action "
                    "server on another machine set KOERS_ALLOW_PRIVATE_BACKENDS=true (with "
                    "KOERS_RASA_TOKEN and KOERS_ACTIONS_SECRET, docs/scaling.md); on one "
                    "machine keep it 127.0.0.1."
                )
            continue
        problems.append(
            f"{name}={host} is reachable from the network: keep it 127.0.0.1, or use a "
            "private address (10.x, 172.16-31.x, 192.168.x, fc00::/7) with "
            "KOERS_ALLOW_PRIVATE_BACKENDS=true. Public addresses, 0.0.0.0 and host names "
            "are refused."
        )
    if settings.allow_private_backends:
        problem = _secret_problem(
            "KOERS_RASA_TOKEN",
            settings.rasa_token,
            "with KOERS_ALLOW_PRIVATE_BACKENDS=true Rasa's REST channel accepts only "
            "requests with this token",
        )
        if problem:
            problems.append(problem)
    return problems


def env_file() -> Path:
    return Path(os.environ.get("KOERS_ENV_FILE", str(PROJECT_ROOT / ".env")))


def _secret_problem(name: str, value: str | None, why: str) -> str | None:
    if not value:
        return f"{name} is empty: {why}; set a random value of at least {MIN_SECRET_LENGTH} characters in .env ({SECRET_HINT})."
    if len(value) < MIN_SECRET_LENGTH:
        return f"{name} is shorter than {MIN_SECRET_LENGTH} characters: use a long random value ({SECRET_HINT})."
    return None


def settings_problems(settings: Settings) -> list[str]:
    """Insecure settings, one line each (no database access)."""
    problems: list[str] = []
    if settings.demo_data:
        problems.append(
            "KOERS_DEMO_DATA is true: production never adds demo data; set it to false."
        )
    for name, value, why in (
        ("KOERS_SECRET_KEY", settings.secret_key, "it signs sessions and keys the access codes"),
        (
            "KOERS_ACTIONS_SECRET",
            settings.actions_secret,
            "the action server accepts only Rasa, which sends this secret",
        ),
    ):
        problem = _secret_problem(name, value, why)
        if problem:
            problems.append(problem)
    if not settings.cookie_secure:
        problems.append(
            "KOERS_COOKIE_SECURE is not true: production is reached over HTTPS only "
            "(nginx in front, docs/deploy.md)."
        )
    if not settings.trusted_proxy:
        problems.append(
            "KOERS_TRUSTED_PROXY is empty: set the address of the HTTPS proxy (127.0.0.1 when "
            "nginx runs on this server), so login limits count per client, not per proxy."
        )
    if not _loopback(settings.web_host) and (
        not settings.trusted_proxy or _loopback(settings.trusted_proxy)
    ):
        problems.append(
            f"KOERS_WEB_HOST={settings.web_host} accepts plain HTTP from the network: keep it "
            "127.0.0.1 behind the HTTPS proxy."
        )
    problems += backend_problems(settings)
    if settings.rasa_api and not settings.allow_private_backends:  # else checked above
        problem = _secret_problem(
            "KOERS_RASA_TOKEN", settings.rasa_token, "KOERS_RASA_API=true opens Rasa's HTTP API"
        )
        if problem:
            problems.append(problem)
    if settings.log_level == "DEBUG":
        problems.append(
            "KOERS_LOG_LEVEL=DEBUG writes conversation text to the logs: use INFO or WARNING."
        )
    path = env_file()
    if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
        problems.append(f"{path} can be read by other users: chmod 600 {path}.")
    return problems


def database_problems(settings: Settings) -> list[str]:
    """Schema not migrated, demo accounts present, no admin yet (needs the database)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from bot.storage.db import current_revision, make_engine, session_scope
    from bot.storage.models import Worker
    from bot.web.demo import DEMO_ADMIN, DEMO_WORKER

    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        revision = current_revision(settings.database_url)
    except SQLAlchemyError as exc:
        return [f"Cannot reach the database {shown}: {type(exc).__name__}."]
    head = head_revision()
    if revision != head:
        return [
            f"The database is at revision {revision or 'none'}, this Koers needs {head}: run "
            "python -m bot migrate first."
        ]
    from bot.storage import auditlog

    problems = []
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            workers = list(session.execute(select(Worker)).scalars())
            same_key = auditlog.key_matches(session, auditlog.key_from_settings(settings))
    finally:
        engine.dispose()
    if not same_key:
        problems.append(
            "The audit log was started with another key (KOERS_AUDIT_KEY or KOERS_SECRET_KEY "
            "changed): put the old value back, or no new audit row could be verified."
        )
    demo = [w.username for w in workers if w.username in (DEMO_WORKER, DEMO_ADMIN) and w.active]
    if demo:
        problems.append(
            f"The database holds the active demo account(s) {', '.join(demo)} of make run: "
            "production never runs on demo data."
        )
    if not any(w.role == "admin" and w.active for w in workers):
        problems.append(
            "There is no admin account yet: create the first one with "
            "python -m bot bootstrap-admin USERNAME."
        )
    return problems


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from bot.storage.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    if head is None:
        raise RuntimeError("the migrations have no head revision")
    return head


def problems(settings: Settings) -> list[str]:
    found = settings_problems(settings)
    return found + database_problems(settings)


def refuse_insecure(settings: Settings) -> None:
    """Exit with one line per problem when production settings are not safe."""
    found = problems(settings)
    if found:
        for line in found:
            print(f"Koers did not start: {line}", file=sys.stderr)
        raise SystemExit(2)
    mark_production(settings)


def mark_production(settings: Settings) -> None:
    """Remember that this database is a real installation (make run then refuses demo data)."""
    from bot.storage import repository
    from bot.storage.db import make_engine, session_scope

    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            if repository.get_org_setting(session, INSTALLATION_KEY) != INSTALLATION_PRODUCTION:
                repository.set_org_setting(
                    session, INSTALLATION_KEY, INSTALLATION_PRODUCTION, "systeem"
                )
    finally:
        engine.dispose()
