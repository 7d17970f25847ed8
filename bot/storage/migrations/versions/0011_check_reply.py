"""The client's typed replies to the check question: `safety_events.check_reply`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

Written by hand, like the others. One nullable column: no batch rebuild on SQLite. What the
client typed in reply to the check question (both replies when it was asked once more), so
that the worker reads the words behind a "nee" or an unclear answer, not only the reading.
NULL for a button press or an event from before this migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("safety_events", sa.Column("check_reply", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_column("check_reply")
