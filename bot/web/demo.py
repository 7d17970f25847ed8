"""Clearly fake demo data for `make run`: a demo worker and admin (new random passwords at
every start), a demo client with a new access code, and an example client with shared
reflections, a safety event, small steps, a safety plan and agreements.

Never use this on a production database: every name says "(nep)" (fake).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import content
from bot.storage import accounts, repository
from bot.storage.models import (
    Agreement,
    CheckIn,
    Client,
    PlanLookup,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    SmallStep,
    Worker,
    utcnow,
)
from bot.vocabulary import PLAN_FORM, SIMPLE, STANDARD, STATUS_COMPLETE
from bot.web.dashboard import issue_code
from bot.web.security import format_code, hash_password

DEMO_WORKER = "demo.begeleider"
DEMO_ADMIN = "demo.beheer"
DEMO_CLIENT = "Demo Cliënt (nep)"
EXAMPLE_CLIENT = "Voorbeeld Sam (nep)"


@dataclass
class DemoLogins:
    worker_username: str
    worker_password: str
    admin_username: str
    admin_password: str
    client_code: str


def _worker(session: Session, username: str, name: str, role: str, password: str) -> Worker:
    worker = session.execute(select(Worker).where(Worker.username == username)).scalar_one_or_none()
    if worker is None:
        return accounts.create_worker(session, username, name, role, hash_password(password))
    accounts.set_password(session, worker, hash_password(password))
    return worker


def _client(
    session: Session, name: str, worker: Worker, level: str = SIMPLE
) -> tuple[Client, bool]:
    client = session.execute(select(Client).where(Client.display_name == name)).scalar_one_or_none()
    if client is not None:
        return client, False
    return accounts.create_client(session, name, level, worker.id), True


def _example_history(session: Session, client: Client) -> None:
    now = utcnow()
    rows = [
        (
            "hoop",
            12,
            2,
            True,
            [
                (
                    "Wat wil je over een jaar anders hebben?",
                    "Een eigen kamer en werk in de groenvoorziening. (nep)",
                )
            ],
        ),
        (
            "verbinding",
            9,
            3,
            True,
            [("Wie helpt jou op dit moment?", "Mijn zus en de begeleider. (nep)")],
        ),
        (
            "hoop",
            5,
            3,
            True,
            [("Wat geeft jou hoop?", "Dat ik elke dag op tijd op werk ben. (nep)")],
        ),
        ("veiligheid", 3, 2, False, [("Niet gedeeld", "Dit is een niet-gedeeld voorbeeld. (nep)")]),
        (
            "hoop",
            1,
            4,
            True,
            [
                (
                    "Wat ging deze week goed?",
                    "Ik heb werk gezocht en een sollicitatie gestuurd. (nep)",
                )
            ],
        ),
    ]
    for i, (theme, days, scale, shared, answers) in enumerate(rows):
        at = now - timedelta(days=days)
        session.add(
            Reflection(
                client_id=client.id,
                theme=theme,
                status=STATUS_COMPLETE,
                scale=scale,
                scale_question=content.scale_question(theme, STANDARD),
                scale_level=STANDARD,
                shared_with_worker=shared,
                idempotency_key=f"demo-{client.id}-{i}",
                created_at=at,
                updated_at=at,
                completed_at=at,
                answers=[
                    ReflectionAnswer(
                        position=p,
                        question_key=f"demo{p}",
                        question_text=q,
                        language_level=STANDARD,
                        answer_text=a,
                    )
                    for p, (q, a) in enumerate(answers, 1)
                ],
            )
        )
    session.add(
        SmallStep(
            client_id=client.id,
            theme="hoop",
            text="Morgen de vacaturesite " "bekijken. (nep)",
            shared_with_worker=True,
            idempotency_key=f"demo-step-{client.id}",
            created_at=now,
        )
    )
    session.add(
        SmallStep(
            client_id=client.id,
            theme="verbinding",
            text="Mijn zus bellen. (nep)",
            status="beetje",
            shared_with_worker=True,
            idempotency_key=f"demo-step-beetje-{client.id}",
            created_at=now - timedelta(days=9),
            asked_at=now - timedelta(days=5),
            resolved_at=now - timedelta(days=5),
        )
    )
    # Mood check-ins and safety-plan look-ups since the last contact (a week ago).
    client.last_contact_at = now - timedelta(days=7)
    for days, mood in ((12, 2), (9, 3), (6, 2), (5, 3), (3, 3), (1, 4)):
        session.add(
            CheckIn(
                client_id=client.id,
                mood=mood,
                idempotency_key=f"demo-checkin-{client.id}-{days}",
                created_at=now - timedelta(days=days),
            )
        )
    session.add(
        PlanLookup(
            client_id=client.id,
            colour="oranje",
            context=PLAN_FORM,
            created_at=now - timedelta(days=6),
        )
    )
    session.add(
        SafetyEvent(
            client_id=client.id,
            category="unknown",
            detected_by="matcher",
            message_text="Voorbeeldmelding: ik zie het even niet meer zitten (nep)",
            response_text="Bel 113 of 0800-0113. Bij direct gevaar: bel 112.",
            created_at=now - timedelta(days=2),
        )
    )
    session.add(
        Agreement(
            client_id=client.id,
            kind="worker",
            text="Uitzoeken hoe de " "huurtoeslag werkt. (nep)",
            created_by=DEMO_WORKER,
            created_at=now,
        )
    )
    session.flush()
    repository.save_safety_plan(
        session,
        client.chat_id,
        [
            repository.PlanItemIn("groen", "signaal", "Ik slaap goed en ga naar werk. (nep)"),
            repository.PlanItemIn("oranje", "signaal", "Ik blijf in bed liggen. (nep)"),
            repository.PlanItemIn("oranje", "helpt", "Een stuk wandelen. (nep)"),
            repository.PlanItemIn("rood", "contact", "Begeleider of de crisisdienst. (nep)"),
        ],
        updated_by=DEMO_WORKER,
    )


class DemoRefused(SystemExit):
    """`make run` on a real installation: demo accounts would be a standing back door."""


def refuse_real_installation(session: Session) -> None:
    """Raise DemoRefused unless this database is a demo database: marked so by an earlier
    `make run`, or (no mark yet) holding no accounts but the demo accounts. A database marked
    as a real installation (`python -m bot bootstrap-admin`, a production start), or one with
    other accounts and no mark (a real installation from before the mark existed), is never
    given demo accounts, and a demo account someone switched off there stays off."""
    from bot.production import INSTALLATION_DEMO, INSTALLATION_KEY

    mark = repository.get_org_setting(session, INSTALLATION_KEY)
    if mark == INSTALLATION_DEMO:
        return
    usernames = set(session.execute(select(Worker.username)).scalars())
    if mark is None and usernames <= {DEMO_WORKER, DEMO_ADMIN}:
        return
    raise DemoRefused(
        "This database is a real Koers installation: make run adds no demo accounts to it "
        "and does not start. Start it with `python -m bot serve` (docs/deploy.md), or use "
        "another KOERS_DATABASE_URL / KOERS_VAR_DIR for the demo."
    )


def seed_demo(session: Session, secret_key: str) -> DemoLogins:
    from bot.production import INSTALLATION_DEMO, INSTALLATION_KEY

    refuse_real_installation(session)
    if repository.get_org_setting(session, INSTALLATION_KEY) is None:
        repository.set_org_setting(session, INSTALLATION_KEY, INSTALLATION_DEMO, "demo")
    worker_password = secrets.token_urlsafe(9)
    admin_password = secrets.token_urlsafe(9)
    worker = _worker(session, DEMO_WORKER, "Demo Begeleider (nep)", "worker", worker_password)
    _worker(session, DEMO_ADMIN, "Demo Beheerder (nep)", "admin", admin_password)
    demo, _ = _client(session, DEMO_CLIENT, worker)
    example, created = _client(session, EXAMPLE_CLIENT, worker, level=STANDARD)
    if created:
        _example_history(session, example)
    if repository.get_org_setting(session, "crisis_contact") is None:
        repository.set_org_setting(
            session,
            "crisis_contact",
            "Demo-zorginstelling (nep): bel je begeleider. 's Nachts: de nachtdienst. "
            "Dit is een voorbeeldtekst.",
            DEMO_ADMIN,
        )
    code = issue_code(session, demo, "demo", secret_key)
    return DemoLogins(DEMO_WORKER, worker_password, DEMO_ADMIN, admin_password, format_code(code))
