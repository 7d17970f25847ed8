"""Chat devices: one row per device logged in to the client chat.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Written by hand, like 0001 and 0002. The chat cookie holds a random token; the table keeps only
a keyed hash of it, so that logging out (or revoking the access code) ends that very device and
a copied cookie stops working at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("access_code_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_devices")),
        sa.ForeignKeyConstraint(
            ["access_code_id"],
            ["access_codes.id"],
            name=op.f("fk_chat_devices_access_code_id_access_codes"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_chat_devices_token_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_chat_devices_access_code_id"), "chat_devices", ["access_code_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_devices_access_code_id"), table_name="chat_devices")
    op.drop_table("chat_devices")
