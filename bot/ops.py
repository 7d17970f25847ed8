"""Management commands for running Koers for real (docs/deploy.md), part of `python -m bot`:

    python -m bot init-env PATH                 a production settings file with new secrets
    python -m bot migrate                       create or upgrade the database schema
    python -m bot bootstrap-admin USERNAME      the first admin (only while there is none)
    python -m bot serve                         all three servers; refuses insecure settings
    python -m bot service actions|rasa|web      one server in the foreground (systemd units)
    python -m bot nginx-config --server-name H  the nginx site for H (deploy/nginx/koers.conf)
    python -m bot retention [--dry-run]         delete what is past its retention period
    python -m bot backup                        back up both databases
    python -m bot restore FOLDER [--replace]    put a backup back
    python -m bot audit verify                  check the audit log's hash chain

Like the other management commands, what they print is Dutch; `serve` and `service` speak
English like the rest of the server start-up.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.settings import Settings

logger = logging.getLogger("koers.ops")


# --- set-up -----------------------------------------------------------------------------------


def init_env_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.deploy import env_file_text, write_private

    path = Path(args.path)
    try:
        write_private(path, env_file_text(args.var_dir))
    except FileExistsError:
        raise SystemExit(f"{path} bestaat al. Er is niets overschreven.") from None
    print(f"{path} gemaakt (alleen leesbaar voor jou). Vul de twee CHANGE-ME-wachtwoorden in.")
    return 0


def migrate_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.engine import make_url

    from bot.production import secure_sqlite_file, sqlite_path
    from bot.storage.db import current_revision, upgrade_database

    db_file = sqlite_path(settings.database_url)
    if db_file is not None:
        secure_sqlite_file(db_file)
    upgrade_database(settings.database_url)
    shown = make_url(settings.database_url).render_as_string(hide_password=True)
    print(f"Database op versie {current_revision(settings.database_url)}: {shown}")
    return 0


def bootstrap_admin_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import func, select

    from bot.manage import _audit, _read_password
    from bot.production import mark_production
    from bot.storage import accounts
    from bot.storage.db import make_engine, session_scope
    from bot.storage.models import Worker
    from bot.web.security import hash_password

    username = args.username.strip()
    if not username or len(username) > 64:
        raise SystemExit("Kies een gebruikersnaam van 1 tot 64 tekens.")
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            if session.execute(select(Worker.id).where(Worker.role == "admin")).first():
                raise SystemExit(
                    "Er is al een beheerder. Maak nieuwe accounts op de beheerpagina "
                    "(/beheer/medewerkers) of met python -m bot create-worker."
                )
        password = _read_password(args)
        with session_scope(engine) as session:
            taken = session.execute(
                select(Worker.id).where(func.lower(Worker.username) == username.lower())
            ).first()
            if taken:
                raise SystemExit(f"Gebruikersnaam {username!r} bestaat al.")
            accounts.create_worker(
                session, username, args.name or username, "admin", hash_password(password)
            )
            _audit(session, "eerste_beheerder_aangemaakt", None, username)
    finally:
        engine.dispose()
    mark_production(settings)
    print(f"Beheerder {username} is aangemaakt. Log in op /login.")
    return 0


# --- servers ----------------------------------------------------------------------------------


def serve_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot import serve

    return serve.main([])


def service_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.services import run_service

    return run_service(args.name, settings)


def nginx_config_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.deploy import NginxSite, nginx_config

    site = NginxSite(
        server_name=args.server_name,
        cert=args.cert or "",
        key=args.key or "",
        listen=args.listen,
        http_listen=args.http_listen,
        upstream=args.upstream or f"{settings.web_host}:{settings.web_port}",
    )
    try:
        sys.stdout.write(nginx_config(site))
    except ValueError as exc:
        raise SystemExit(f"Dat kan niet: {exc}.") from None
    return 0


# --- retention, backups, audit ----------------------------------------------------------------


def retention_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot import retention
    from bot.manage import _audit
    from bot.storage.db import make_engine, session_scope
    from bot.tracker_store import tracker_url

    policy = retention.Policy.from_env()
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            counts = retention.apply_koers(
                session,
                policy,
                dry_run=args.dry_run,
                remember_days=settings.client_remember_days,
            )
            if not args.dry_run:
                _audit(session, "bewaartermijnen_toegepast", None, retention.summary(counts))
    finally:
        engine.dispose()
    counts["conversations"] = retention.apply_tracker(
        tracker_url(settings), policy.conversations, dry_run=args.dry_run
    )
    line = retention.summary(counts)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logger.info("retention%s: %s", " (dry run)" if args.dry_run else "", line)
    print(("Zou verwijderen: " if args.dry_run else "Verwijderd: ") + line)
    return 0


def backup_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.backup import BackupError, make_backup, prune_backups
    from bot.manage import _audit
    from bot.storage.db import make_engine, session_scope

    try:
        folder = make_backup(settings, Path(args.dir) if args.dir else None)
    except BackupError as exc:
        raise SystemExit(f"Geen back-up gemaakt: {exc}") from None
    removed = prune_backups(settings, settings.backup_keep_days)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            _audit(session, "back-up_gemaakt", None, folder.name)
    finally:
        engine.dispose()
    print(f"Back-up gemaakt: {folder}")
    if removed:
        print(f"{removed} back-up(s) ouder dan {settings.backup_keep_days} dagen verwijderd.")
    return 0


def restore_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.backup import BackupError, restore
    from bot.manage import _audit
    from bot.storage.db import make_engine, session_scope

    try:
        manifest = restore(settings, Path(args.folder), replace=args.replace)
    except BackupError as exc:
        raise SystemExit(f"Niet teruggezet: {exc}") from None
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            _audit(session, "back-up_teruggezet", None, Path(args.folder).name)
    finally:
        engine.dispose()
    print(f"Back-up van {manifest['created_at']} teruggezet.")
    return 0


def audit_verify_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.storage import auditlog
    from bot.storage.db import make_engine, session_scope

    key = auditlog.key_from_settings(settings)
    engine = make_engine(settings.database_url)
    try:
        with session_scope(engine) as session:
            result = auditlog.verify(session, key)
    finally:
        engine.dispose()
    if result.ok:
        span = f"regel {result.first_seq} t/m {result.last_seq}" if result.rows else "nog leeg"
        print(f"Logboek in orde: {result.rows} regels in de keten ({span}).")
        if result.unchained:
            print(f"{result.unchained} oudere regels zijn van vóór de keten (niet beschermd).")
        return 0
    print("Het logboek is NIET in orde:")
    for problem in result.problems[:50]:
        print(f"  - {problem}")
    if len(result.problems) > 50:
        print(f"  ... en nog {len(result.problems) - 50} problemen.")
    return 1


# --- the parser -------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init-env", help="maak een instellingenbestand voor productie")
    p.add_argument("path", help="bijvoorbeeld /etc/koers/koers.env")
    p.add_argument("--var-dir", default="/var/lib/koers", help="map voor de gegevens")
    p.set_defaults(func=init_env_cmd, uses_data=False)

    p = sub.add_parser("migrate", help="maak of vernieuw het databaseschema")
    p.set_defaults(func=migrate_cmd)

    p = sub.add_parser("bootstrap-admin", help="maak de eerste beheerder (alleen als er geen is)")
    p.add_argument("username")
    p.add_argument("--name", help="naam zoals die in het dashboard staat")
    p.add_argument("--password-stdin", action="store_true", help="lees het wachtwoord van stdin")
    p.set_defaults(func=bootstrap_admin_cmd)

    p = sub.add_parser("serve", help="start Koers (productie; weigert onveilige instellingen)")
    p.set_defaults(func=serve_cmd, uses_data=False)

    p = sub.add_parser("service", help="start één server op de voorgrond (voor systemd)")
    p.add_argument("name", choices=("actions", "rasa", "web"))
    p.set_defaults(func=service_cmd, uses_data=False)

    p = sub.add_parser("nginx-config", help="de nginx-configuratie voor deze server")
    p.add_argument("--server-name", required=True, help="bijvoorbeeld koers.example.nl")
    p.add_argument("--cert", help="certificaat (standaard: Let's Encrypt voor de naam)")
    p.add_argument("--key", help="sleutel van het certificaat")
    p.add_argument("--listen", default="443", help="HTTPS-poort (of adres:poort)")
    p.add_argument("--http-listen", default="80", help="HTTP-poort (doorsturen naar HTTPS)")
    p.add_argument("--upstream", help="adres van de web-app (standaard uit de instellingen)")
    p.set_defaults(func=nginx_config_cmd, uses_data=False)

    p = sub.add_parser("retention", help="verwijder wat ouder is dan de bewaartermijnen")
    p.add_argument("--dry-run", action="store_true", help="alleen tellen, niets verwijderen")
    p.set_defaults(func=retention_cmd)

    p = sub.add_parser("backup", help="maak een back-up van beide databases")
    p.add_argument("--dir", help="map voor de back-up (standaard KOERS_BACKUP_DIR)")
    p.set_defaults(func=backup_cmd)

    p = sub.add_parser("restore", help="zet een back-up terug")
    p.add_argument("folder", help="de map van de back-up (koers-JJJJMMDD-UUMMSS)")
    p.add_argument(
        "--replace", action="store_true", help="overschrijf bestaande databases (let op!)"
    )
    p.set_defaults(func=restore_cmd)

    p = sub.add_parser("audit", help="het logboek controleren")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    v = audit_sub.add_parser("verify", help="controleer de hashketen van het logboek")
    v.set_defaults(func=audit_verify_cmd)
