"""The time of the client's language level: `clients.language_level_at`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Written by hand, like the others. One nullable column: no batch rebuild on SQLite. A
language switch kept in an action server's outbox while the database was down is replayed
with the time it was made; it no longer puts an older level back over one set later (by the
worker on the dashboard, or by the client through another action server). NULL: set before
this migration, or never changed since the client was added.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "clients", sa.Column("language_level_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("language_level_at")
