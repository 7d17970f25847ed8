"""Safety v2: the calm check question, the worker's review of an alert, and its context.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- `outcome`: "hulp" (the crisis help was shown at once) or "controle" (Koers first asked a
  calm check question); `check_answer`: "ja", "nee", "weet_niet" or NULL (not answered yet).
- `question_text`: the question the client was answering; `preceding`: the messages just
  before (JSON); `evidence`: the detection's signals and reasons (JSON), for review and tuning.
- `review`: "gezien" or "vals_alarm", set by the worker (with acknowledged_at/by).
- `detected_by` may now also be "semantic" (the meaning model) or "context" (the message
  together with the conversation: a low mood, a worrying previous message).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_DETECTED_BY = "detected_by IN ('matcher', 'classifier', 'both', 'client')"
NEW_DETECTED_BY = (
    "detected_by IN ('matcher', 'classifier', 'semantic', 'both', 'context', 'client')"
)


def upgrade() -> None:
    with op.batch_alter_table("safety_events") as batch:
        batch.add_column(
            sa.Column("outcome", sa.String(length=16), nullable=False, server_default="hulp")
        )
        batch.add_column(sa.Column("check_answer", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("question_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("preceding", sa.Text(), nullable=True))
        batch.add_column(sa.Column("evidence", sa.Text(), nullable=True))
        batch.add_column(sa.Column("review", sa.String(length=16), nullable=True))
        batch.drop_constraint(op.f("ck_safety_events_detected_by"), type_="check")
        batch.create_check_constraint(
            op.f("ck_safety_events_detected_by"), sa.text(NEW_DETECTED_BY)
        )
        batch.create_check_constraint(
            op.f("ck_safety_events_outcome"), sa.text("outcome IN ('hulp', 'controle')")
        )
        batch.create_check_constraint(
            op.f("ck_safety_events_check_answer"),
            sa.text("check_answer IS NULL OR check_answer IN ('ja', 'nee', 'weet_niet')"),
        )
        batch.create_check_constraint(
            op.f("ck_safety_events_review"),
            sa.text("review IS NULL OR review IN ('gezien', 'vals_alarm')"),
        )
    # Alerts the worker already marked as seen keep that review.
    op.execute("UPDATE safety_events SET review = 'gezien' WHERE acknowledged_at IS NOT NULL")


def downgrade() -> None:
    op.execute(
        "UPDATE safety_events SET detected_by = 'classifier' "
        "WHERE detected_by IN ('semantic', 'context')"
    )
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_constraint(op.f("ck_safety_events_review"), type_="check")
        batch.drop_constraint(op.f("ck_safety_events_check_answer"), type_="check")
        batch.drop_constraint(op.f("ck_safety_events_outcome"), type_="check")
        batch.drop_constraint(op.f("ck_safety_events_detected_by"), type_="check")
        batch.create_check_constraint(
            op.f("ck_safety_events_detected_by"), sa.text(OLD_DETECTED_BY)
        )
        batch.drop_column("review")
        batch.drop_column("evidence")
        batch.drop_column("preceding")
        batch.drop_column("question_text")
        batch.drop_column("check_answer")
        batch.drop_column("outcome")
