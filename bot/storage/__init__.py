"""Storage layer of Koers: SQLAlchemy models, the Alembic migrations and a small repository.

Reflections, check-ins and safety events are health data. Everything that reads or writes
them goes through `bot.storage.repository`, with a session from `bot.storage.db`:

    from bot.storage.db import session_scope
    from bot.storage import repository

    with session_scope() as session:
        repository.save_checkin(session, chat_id, mood=3, idempotency_key=message_id)

The schema is created and upgraded only by the migrations
(`python -m bot.storage.db upgrade`), never by `create_all`.
"""
