"""Backups of both databases, and restoring them (`python -m bot backup` / `restore`).

A backup is a folder `koers-YYYYMMDD-HHMMSS/` (mode 0700, files 0600) with:
- `koers.db` or `koers.pgdump`: the Koers database, made with SQLite's online backup API
  (a consistent copy while Koers runs) or `pg_dump --format=custom` (one snapshot);
- `tracker.db` or `tracker.pgdump`: Rasa's conversation store, the same way;
- `secret_key`: the generated key from the data folder, when KOERS_SECRET_KEY is not set
  (without the key, restored access codes and the audit chain cannot be checked);
- `manifest.json`: when, which schema revision, and a SHA-256 of every file.

Each database is consistent in itself; the two are copied one after the other. Database
passwords go to pg_dump / pg_restore through the environment, never on the command line.
Backups older than KOERS_BACKUP_KEEP_DAYS are removed after a new one succeeded, so what a
deleted client leaves behind in backups is gone after that many days (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.production import sqlite_path
from bot.settings import Settings
from bot.storage.models import utcnow
from bot.tracker_store import tracker_url

MANIFEST = "manifest.json"
PREFIX = "koers-"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is Dutch and says why."""


def backup_root(settings: Settings) -> Path:
    return Path(settings.backup_dir or Path(settings.var_dir) / "backups")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pg_environment(url: str) -> dict[str, str]:
    """libpq's environment for a PostgreSQL URL (the password stays off the command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    for name, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", parsed.port),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value is not None:
            env[name] = str(value)
        else:
            env.pop(name, None)
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if candidates:
        return str(candidates[0])
    raise BackupError(f"{name} ontbreekt. Installeer het pakket postgresql-client.")


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        raise BackupError(f"{Path(cmd[0]).name} mislukte: {last}")


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy, also while others write."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            if dst.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"De kopie van {source.name} is beschadigd.")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(tmp, target)


def _dump(url: str, folder: Path, name: str) -> str | None:
    """Back up one database into `folder`. Returns the file name, or None if it is empty."""
    db_file = sqlite_path(url)
    if db_file is not None:
        if not db_file.exists():
            return None
        _copy_sqlite(db_file, folder / f"{name}.db")
        return f"{name}.db"
    if make_url(url).get_backend_name() == "postgresql":
        target = folder / f"{name}.pgdump"
        _run(
            [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target)],
            pg_environment(url),
        )
        return target.name
    raise BackupError(f"Back-ups van {make_url(url).get_backend_name()} kan Koers niet maken.")


def make_backup(settings: Settings, root: Path | None = None, now: datetime | None = None) -> Path:
    """Back up both databases into a new folder under `root`; return the folder."""
    from bot.storage.db import current_revision

    os.umask(0o077)
    now = now or utcnow()
    root = Path(root or backup_root(settings))
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = root / f"{PREFIX}{now:%Y%m%d-%H%M%S}"
    if folder.exists():
        raise BackupError(f"{folder} bestaat al. Probeer het over een seconde opnieuw.")
    partial = root / f".{folder.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=0o700)
    try:
        files = {}
        koers = _dump(settings.database_url, partial, "koers")
        if koers is None:
            raise BackupError("De Koers-database bestaat nog niet. Er is niets om te bewaren.")
        files["koers"] = koers
        tracker = tracker_url(settings)
        if tracker:
            name = _dump(tracker, partial, "tracker")
            if name:
                files["tracker"] = name
        key_file = Path(settings.var_dir) / "secret_key"
        if not settings.secret_key and key_file.exists():
            shutil.copyfile(key_file, partial / "secret_key")
            files["secret_key"] = "secret_key"
        manifest = {
            "created_at": now.isoformat(),
            "schema_revision": current_revision(settings.database_url),
            "files": {
                kind: {"name": n, "sha256": _sha256(partial / n)} for kind, n in files.items()
            },
        }
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return folder


def prune_backups(settings: Settings, keep_days: int, now: datetime | None = None) -> int:
    """Remove backup folders older than `keep_days` (0 keeps all). Never the newest one."""
    if keep_days <= 0:
        return 0
    root = backup_root(settings)
    if not root.is_dir():
        return 0
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    removed = 0
    for folder in folders[:-1]:
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            created = datetime.fromisoformat(manifest["created_at"])
        except (OSError, ValueError, KeyError):
            continue  # not a complete Koers backup: leave it to a person
        if created < cutoff:
            shutil.rmtree(folder)
            removed += 1
    return removed


def read_manifest(folder: Path) -> dict:
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise BackupError(f"{folder} is geen Koers-back-up ({MANIFEST} ontbreekt).")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for kind, entry in manifest.get("files", {}).items():
        file = Path(folder) / entry["name"]
        if not file.exists() or _sha256(file) != entry["sha256"]:
            raise BackupError(f"{entry['name']} in de back-up is beschadigd of gewijzigd ({kind}).")
    return manifest


def _load(url: str, file: Path, replace: bool) -> None:
    db_file = sqlite_path(url)
    if db_file is not None:
        if db_file.exists() and not replace:
            raise BackupError(
                f"{db_file} bestaat al. Zet de back-up terug in een lege map, of gebruik "
                "--replace (dan gaat wat er nu in staat verloren)."
            )
        db_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for suffix in ("-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        _copy_sqlite(file, db_file)
        return
    if file.suffix != ".pgdump":
        raise BackupError(f"{file.name} is geen PostgreSQL-back-up.")
    if not replace and not _pg_empty(url):
        raise BackupError(
            f"De database {make_url(url).database} is niet leeg. Zet de back-up terug in een "
            "nieuwe, lege database (createdb), of gebruik --replace (dan gaat wat er nu in "
            "staat verloren)."
        )
    cmd = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction"]
    if replace:
        cmd += ["--clean", "--if-exists"]
    _run([*cmd, "--dbname", make_url(url).database or "", str(file)], pg_environment(url))


def _pg_empty(url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url, future=True)
    try:
        return not inspect(engine).get_table_names()
    finally:
        engine.dispose()


def restore(settings: Settings, folder: Path, replace: bool = False) -> dict:
    """Put a backup back into the configured databases, then migrate to the newest schema."""
    from bot.storage.db import upgrade_database

    os.umask(0o077)
    manifest = read_manifest(folder)
    files = manifest["files"]
    kinds = [k for k in ("koers", "tracker") if k in files]
    for kind in kinds:
        url = settings.database_url if kind == "koers" else tracker_url(settings)
        if url is None:
            raise BackupError("De back-up heeft gesprekken, maar er is geen SQL-gespreksopslag.")
        sqlite_backup = files[kind]["name"].endswith(".db")
        if sqlite_backup != (sqlite_path(url) is not None):
            raise BackupError(
                f"De back-up van {kind} is van een ander soort database dan die nu is ingesteld."
            )
    for kind in kinds:
        url = settings.database_url if kind == "koers" else tracker_url(settings)
        if url is None:
            raise BackupError("Deze installatie heeft geen gesprekkendatabase om terug te zetten.")
        _load(url, Path(folder) / files[kind]["name"], replace)
    if "secret_key" in files and not settings.secret_key:
        key_file = Path(settings.var_dir) / "secret_key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(Path(folder) / files["secret_key"]["name"], key_file)
            os.chmod(key_file, 0o600)
    upgrade_database(settings.database_url)
    return manifest
