"""Management commands for the organisation's administrator.

    python -m bot create-worker USERNAME --name "Anna de Vries" [--admin]   (asks the password)
    python -m bot create-client --name "Pseudoniem" --worker USERNAME [--level eenvoudig]
    python -m bot issue-code CLIENT_ID            (prints a new access code once)
    python -m bot export CLIENT_ID [-o file.json] [--include-private]
    python -m bot delete CLIENT_ID [--yes]        (asks to type the client number to confirm)
    python -m bot summary CLIENT_ID [--since YYYY-MM-DD]
    python -m bot reminders send|vapid-keys|test   (see bot/reminders/cli.py)

Running Koers for real (bot/ops.py, docs/deploy.md): migrate, bootstrap-admin, serve,
service, retention, backup, restore, audit verify, nginx-config.

Every command that reads or changes client data writes an audit entry (actor "cli:<user>").
Messages are in Dutch, like the rest of what administrators see.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session, selectinload

from bot.settings import Settings, get_settings
from bot.storage import accounts, auditlog, between
from bot.storage.db import make_engine, session_scope
from bot.storage.models import (
    Agreement,
    CheckIn,
    Client,
    PlanLookup,
    Reflection,
    SafetyEvent,
    SafetyPlan,
    SmallStep,
    Worker,
)
from bot.vocabulary import LANGUAGE_LEVELS, STANDARD
from bot.web.security import (
    format_code,
    hash_password,
    load_secret_key,
    password_problem,
)


def _actor() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = "onbekend"
    return f"cli:{user}"[:64]


def _audit(session: Session, action: str, client_id: int | None, detail: str | None = None) -> None:
    auditlog.record(
        session, action, actor=_actor(), client_id=client_id, detail=detail, remote_addr="cli"
    )


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise SystemExit(f"Cliënt {client_id} bestaat niet.")
    return client


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Wachtwoord: ")
        if getpass.getpass("Nog een keer: ") != password:
            raise SystemExit("De wachtwoorden zijn niet gelijk. Er is niets opgeslagen.")
    problem = password_problem(password)
    if problem:
        raise SystemExit(problem + " Er is niets opgeslagen.")
    return password


# --- commands ---------------------------------------------------------------------------------


def create_worker(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password(args)
    with session_scope(make_engine(settings.database_url)) as session:
        if session.execute(select(Worker).where(Worker.username == args.username)).first():
            raise SystemExit(f"Gebruikersnaam {args.username!r} bestaat al.")
        worker = accounts.create_worker(
            session,
            args.username,
            args.name or args.username,
            "admin" if args.admin else "worker",
            hash_password(password),
        )
        _audit(session, "medewerker_aangemaakt", None, args.username)
        print(
            f"Medewerker {worker.username} ({'beheerder' if args.admin else 'begeleider'}) "
            f"aangemaakt, nummer {worker.id}."
        )
    return 0


def create_client(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(make_engine(settings.database_url)) as session:
        worker_id = None
        if args.worker:
            worker = session.execute(
                select(Worker).where(Worker.username == args.worker)
            ).scalar_one_or_none()
            if worker is None or worker.role != "worker":
                raise SystemExit(f"Begeleider {args.worker!r} bestaat niet.")
            worker_id = worker.id
        client = accounts.create_client(session, args.name, args.level, worker_id)
        _audit(session, "client_aangemaakt", client.id)
        print(
            f"Cliënt {client.id} aangemaakt. Maak een toegangscode met: "
            f"python -m bot issue-code {client.id}"
        )
    return 0


def issue_code_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.web.dashboard import issue_code

    key = load_secret_key(settings)
    with session_scope(make_engine(settings.database_url)) as session:
        client = _client(session, args.client_id)
        code = issue_code(session, client, _actor(), key)
        _audit(session, "code_uitgegeven", client.id)
    print(f"Toegangscode voor cliënt {args.client_id}: {format_code(code)}")
    print("Deze code wordt maar één keer getoond. Een eerdere code werkt niet meer.")
    return 0


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_client(session: Session, client_id: int, include_private: bool) -> dict[str, Any]:
    """All data of one client as a JSON-ready dict; private reflections and steps only with
    `include_private` (for the client's own request to see their data)."""
    client = _client(session, client_id)
    reflections = session.execute(
        select(Reflection)
        .where(Reflection.client_id == client.id)
        .options(selectinload(Reflection.answers))
        .order_by(Reflection.created_at)
    ).scalars()
    steps = session.execute(
        select(SmallStep).where(SmallStep.client_id == client.id).order_by(SmallStep.created_at)
    ).scalars()
    plan = session.execute(
        select(SafetyPlan)
        .where(SafetyPlan.client_id == client.id)
        .options(selectinload(SafetyPlan.items))
    ).scalar_one_or_none()
    checkins = [
        {"mood": c.mood, "created_at": _iso(c.created_at)}
        for c in session.execute(
            select(CheckIn).where(CheckIn.client_id == client.id).order_by(CheckIn.created_at)
        ).scalars()
    ]
    private_count = 0
    out_reflections = []
    for r in reflections:
        if not r.shared_with_worker and not include_private:
            private_count += 1
            continue
        out_reflections.append(
            {
                "theme": r.theme,
                "status": r.status,
                "shared_with_worker": r.shared_with_worker,
                "scale": r.scale,
                "scale_question": r.scale_question,
                "scale_language_level": r.scale_level,
                "created_at": _iso(r.created_at),
                "answers": [
                    {
                        "question": a.question_text,
                        "language_level": a.language_level,
                        "answer": a.answer_text,
                    }
                    for a in r.answers
                ],
            }
        )
    return {
        "client": {
            "id": client.id,
            "display_name": client.display_name,
            "language_level": client.language_level,
            "created_at": _iso(client.created_at),
            "last_contact_at": _iso(client.last_contact_at),
        },
        "includes_private": include_private,
        "private_reflections_not_exported": private_count,
        "reflections": out_reflections,
        # A mood check-in is never shared with the worker (the dashboard shows only the date
        # of the last one): only in a full export for the client's own request.
        "checkins": checkins if include_private else [],
        "checkins_not_exported": 0 if include_private else len(checkins),
        "small_steps": [
            {"theme": s.theme, "text": s.text, "status": s.status, "created_at": _iso(s.created_at)}
            for s in steps
            if s.shared_with_worker or include_private
        ],
        "safety_events": [
            {
                "category": e.category,
                "detected_by": e.detected_by,
                "message": e.message_text,
                "response": e.response_text,
                "created_at": _iso(e.created_at),
                "acknowledged_at": _iso(e.acknowledged_at),
                "acknowledged_by": e.acknowledged_by,
                "outcome": e.outcome,
                "check_answer": e.check_answer,
                "check_reply": e.check_reply,
                "question": e.question_text,
                "review": e.review,
            }
            for e in session.execute(
                select(SafetyEvent).where(SafetyEvent.client_id == client.id)
            ).scalars()
        ],
        "safety_plan": [
            {"phase": i.phase, "kind": i.kind, "text": i.text} for i in (plan.items if plan else [])
        ],
        "safety_plan_lookups": [
            {"colour": p.colour, "context": p.context, "created_at": _iso(p.created_at)}
            for p in session.execute(
                select(PlanLookup)
                .where(PlanLookup.client_id == client.id)
                .order_by(PlanLookup.created_at)
            ).scalars()
        ],
        "agreements": [
            {
                "kind": a.kind,
                "text": a.text,
                "party": a.party,
                "due_date": _iso(a.due_date),
                "done_at": _iso(a.done_at),
            }
            for a in session.execute(
                select(Agreement).where(Agreement.client_id == client.id)
            ).scalars()
        ],
        # Issue 14: reminder plan, the worker's questions, the client's checks of their tasks.
        **between.export_data(session, client.id),
    }


def export_cmd(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(make_engine(settings.database_url)) as session:
        data = export_client(session, args.client_id, args.include_private)
        _audit(
            session,
            "export",
            args.client_id,
            "met niet-gedeelde reflecties" if args.include_private else "alleen gedeeld",
        )
    payload = json.dumps(data, ensure_ascii=False, indent=2)
    if args.output:
        fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload + "\n")
        print(f"Opgeslagen in {args.output} (alleen leesbaar voor jou).")
    else:
        print(payload)
    return 0


def tracker_url(settings: Settings) -> str | None:
    """The database URL of Rasa's tracker store, read from the endpoints file in use."""
    from bot.tracker_store import tracker_url as _tracker_url

    return _tracker_url(settings)


def delete_tracker_conversation(settings: Settings, chat_id: str) -> int:
    """Delete the client's conversation (all events) from Rasa's SQL tracker store."""
    url = tracker_url(settings)
    if url is None:
        return 0
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///") :]):
        return 0
    engine = create_engine(url, future=True)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        with engine.begin() as connection:
            result = connection.execute(
                text("DELETE FROM events WHERE sender_id = :s"), {"s": chat_id}
            )
            return result.rowcount or 0
    finally:
        engine.dispose()


def delete_client(session: Session, settings: Settings, client_id: int) -> tuple[str, int]:
    """Delete the client and everything about them (cascades), and the Rasa conversation.
    The audit log keeps its entries (who looked at what), without content."""
    client = _client(session, client_id)
    chat_id = accounts.delete_client(session, client)
    _audit(session, "client_verwijderd", client_id)
    session.flush()
    return chat_id, delete_tracker_conversation(settings, chat_id)


def delete_cmd(args: argparse.Namespace, settings: Settings) -> int:
    with session_scope(make_engine(settings.database_url)) as session:
        client = _client(session, args.client_id)
        name = client.display_name or "(geen naam)"
        if not args.yes:
            print(
                f"Je gaat ALLE gegevens van cliënt {client.id} ({name}) verwijderen: "
                "reflecties, stappen, meldingen, plan, afspraken, codes en het gesprek."
            )
            print("Dit kan niet ongedaan worden gemaakt.")
            try:
                answer = input(f"Typ het cliëntnummer ({client.id}) om te bevestigen: ")
            except EOFError:
                answer = ""
            if answer.strip() != str(client.id):
                print("Niet bevestigd. Er is niets verwijderd.")
                return 1
        chat_id, events = delete_client(session, settings, args.client_id)
    # After the commit: writes this machine's action server still keeps for the client.
    # (Outboxes elsewhere drop theirs at their next flush: the deletion is recorded.)
    waiting = forget_outbox(settings, chat_id)
    print(
        f"Cliënt {args.client_id} is verwijderd ({events} gespreksregels uit Rasa gewist, "
        f"{waiting} wachtende schrijfacties uit de outbox)."
    )
    return 0


def forget_outbox(settings: Settings, chat_id: str) -> int:
    """Remove a deleted client's entries from this machine's outbox (bot/storage/outbox.py)."""
    from bot.storage.outbox import get_outbox

    return get_outbox(settings.outbox_path).discard_client(chat_id)


def summary_cmd(args: argparse.Namespace, settings: Settings) -> int:
    from bot.localtime import day_start
    from bot.summary import build_summary, summary_text

    since = None
    if args.since:
        try:
            since = day_start(date.fromisoformat(args.since))
        except ValueError as exc:
            raise SystemExit("Gebruik een datum als 2026-01-31.") from exc
    with session_scope(make_engine(settings.database_url)) as session:
        client = _client(session, args.client_id)
        summary = build_summary(session, client.id, since=since)
        _audit(session, "samenvatting_bekeken", client.id)
        print(summary_text(summary, client.display_name or f"cliënt {client.id}"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Koers beheer")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("create-worker", help="maak een begeleider of beheerder")
    p.add_argument("username")
    p.add_argument("--name", help="naam zoals die in het dashboard staat")
    p.add_argument("--admin", action="store_true", help="beheerder in plaats van begeleider")
    p.add_argument("--password-stdin", action="store_true", help="lees het wachtwoord van stdin")
    p.set_defaults(func=create_worker)

    p = sub.add_parser("create-client", help="maak een cliënt")
    p.add_argument("--name", required=True, help="naam of schuilnaam")
    p.add_argument("--worker", help="gebruikersnaam van de begeleider")
    p.add_argument("--level", choices=LANGUAGE_LEVELS, default=STANDARD)
    p.set_defaults(func=create_client)

    p = sub.add_parser("issue-code", help="maak een nieuwe toegangscode (oude stopt)")
    p.add_argument("client_id", type=int)
    p.set_defaults(func=issue_code_cmd)

    p = sub.add_parser("export", help="alle gegevens van één cliënt als JSON")
    p.add_argument("client_id", type=int)
    p.add_argument("-o", "--output")
    p.add_argument(
        "--include-private",
        action="store_true",
        help="ook niet-gedeelde reflecties (alleen voor een inzageverzoek van de cliënt)",
    )
    p.set_defaults(func=export_cmd)

    p = sub.add_parser("delete", help="verwijder alle gegevens van één cliënt")
    p.add_argument("client_id", type=int)
    p.add_argument("--yes", action="store_true", help="niet om bevestiging vragen")
    p.set_defaults(func=delete_cmd)

    p = sub.add_parser("summary", help="samenvatting van wat een cliënt deelde")
    p.add_argument("client_id", type=int)
    p.add_argument("--since", help="vanaf datum JJJJ-MM-DD")
    p.set_defaults(func=summary_cmd)

    from bot.reminders.cli import add_parser as add_reminders_parser

    add_reminders_parser(sub)
    from bot.ops import add_commands

    add_commands(sub)  # production, retention, backup, audit (bot/ops.py)
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    from bot.production import secure_data_dir

    args = build_parser().parse_args(argv)
    settings = settings or get_settings()
    if getattr(args, "uses_data", True):
        secure_data_dir(settings)  # umask 077: exports, backups and databases stay private
        auditlog.set_key(settings.database_url, auditlog.key_from_settings(settings))
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
