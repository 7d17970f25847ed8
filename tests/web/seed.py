"""Seeded test data: two workers with one client each, an admin, shared and private
reflections, a safety event, steps and agreements. Texts are clearly fake."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from bot.storage.models import (
    Agreement,
    Client,
    Reflection,
    ReflectionAnswer,
    SafetyEvent,
    SmallStep,
    Worker,
    utcnow,
)
from bot.web.security import hash_password

PASSWORD = "test-wachtwoord-123"
PRIVATE_TEXT = "GEHEIM-PRIVE-ANTWOORD nooit tonen"
SCRIPT_TEXT = "<script>alert('x')</script> <b>vet</b>"

_HASH = hash_password(PASSWORD)  # hashing is slow on purpose; do it once


@dataclass
class Seeded:
    worker_a: int
    worker_b: int
    admin: int
    client_a: int
    client_b: int
    chat_a: str
    event_a: int
    event_b: int
    agreement_b: int
    private_reflection: int


def _reflection(
    client: Client,
    theme: str,
    answers: list[str],
    scale: int | None,
    shared: bool,
    days_ago: int,
    key: str,
) -> Reflection:
    at = utcnow() - timedelta(days=days_ago)
    return Reflection(
        client=client,
        theme=theme,
        status="compleet",
        scale=scale,
        shared_with_worker=shared,
        idempotency_key=key,
        created_at=at,
        updated_at=at,
        completed_at=at,
        answers=[
            ReflectionAnswer(
                position=i,
                question_key=f"q{i}",
                question_text=f"Testvraag {i} over {theme}?",
                answer_text=a,
            )
            for i, a in enumerate(answers, start=1)
        ],
    )


def seed(session: Session, secret_key: str) -> Seeded:
    now = utcnow()
    a = Worker(username="anna", display_name="Anna Test", password_hash=_HASH, role="worker")
    b = Worker(username="bram", display_name="Bram Test", password_hash=_HASH, role="worker")
    admin = Worker(username="beheer", display_name="Beheer Test", password_hash=_HASH, role="admin")
    session.add_all([a, b, admin])
    session.flush()
    ca = Client(
        chat_id="test-chat-a",
        display_name="Testcliënt Appel",
        worker_id=a.id,
        created_at=now,
        last_seen_at=now,
    )
    cb = Client(
        chat_id="test-chat-b",
        display_name="Testcliënt Peer",
        worker_id=b.id,
        created_at=now,
        last_seen_at=now,
    )
    session.add_all([ca, cb])
    session.flush()
    session.add_all(
        [
            _reflection(
                ca,
                "hoop",
                ["Ik wil later een eigen huis met een tuin.", "Mijn tuin en werk geven mij hoop."],
                2,
                True,
                10,
                "r1",
            ),
            _reflection(
                ca,
                "hoop",
                ["Werk zoeken in een tuin lijkt me fijn.", "Een baan en een huis."],
                4,
                True,
                3,
                "r2",
            ),
            _reflection(ca, "verbinding", [SCRIPT_TEXT, "Mijn broer belt vaak."], 3, True, 2, "r3"),
        ]
    )
    private = _reflection(ca, "veiligheid", [PRIVATE_TEXT, "ook prive"], 1, False, 1, "r4")
    session.add(private)
    session.add(_reflection(cb, "hoop", ["Antwoord van cliënt B"], 3, True, 1, "rb1"))
    ea = SafetyEvent(
        client=ca,
        category="self_harm",
        message_text="testmelding ik wil niet meer",
        response_text="Bel 113 of 0800-0113.",
        detected_by="matcher",
        created_at=now - timedelta(hours=5),
    )
    eb = SafetyEvent(
        client=cb,
        category="unknown",
        message_text="melding van B",
        response_text="Bel 113.",
        detected_by="matcher",
        created_at=now,
    )
    session.add_all([ea, eb])
    session.add_all(
        [
            SmallStep(
                client=ca,
                theme="hoop",
                text="Een vacature opzoeken",
                status="open",
                shared_with_worker=True,
                idempotency_key="s1",
                created_at=now,
            ),
            SmallStep(
                client=ca,
                theme="hoop",
                text="PRIVE-STAP niet tonen",
                status="open",
                shared_with_worker=False,
                idempotency_key="s2",
                created_at=now,
            ),
        ]
    )
    ab = Agreement(
        client=cb, kind="worker", text="Afspraak van B", created_by="bram", created_at=now
    )
    session.add(ab)
    session.flush()
    return Seeded(a.id, b.id, admin.id, ca.id, cb.id, ca.chat_id, ea.id, eb.id, ab.id, private.id)
