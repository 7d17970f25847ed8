"""Deleted clients: the SHA-256 of each deleted client's chat id, so that a write kept in
an action server's outbox (bot/storage/outbox.py) is never replayed into a deleted client.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Written by hand, like the others. Only a new table: no batch rebuild on SQLite. The table
holds no personal data: the SHA-256 of a random chat id and the time of the deletion.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deleted_clients",
        sa.Column("chat_hash", sa.String(length=64), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chat_hash", name=op.f("pk_deleted_clients")),
    )


def downgrade() -> None:
    op.drop_table("deleted_clients")
