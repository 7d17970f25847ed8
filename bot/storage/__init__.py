"""Storage layer of Koers: SQLAlchemy models, the Alembic migrations and a small repository.

Reflections, check-ins and safety events are health data. Everything that reads or writes
them goes through `bot.storage.repository`, with a session from `bot.storage.db`:

    from bot.storage.db import session_scope
    from bot.storage import repository

    with session_scope() as session:
        repository.save_checkin(session, chat_id, mood=3, idempotency_key=message_id)

The schema is created and upgraded only by the migrations
(`python -m bot.storage.db upgrade`), never by `create_all`.

Importing the package registers two session hooks: audit rows are chained when a
transaction commits (`auditlog`), and NUL bytes never reach the database (`hygiene`).
"""

from bot.storage import auditlog as _auditlog  # noqa: F401
from bot.storage import hygiene as _hygiene  # noqa: F401
