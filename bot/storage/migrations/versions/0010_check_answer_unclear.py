"""The check answer "onduidelijk": no clear answer to the check question.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Written by hand, like the others. Unclear twice, or "stop"/"doei" instead of an answer, was
stored as "weet_niet": the worker read "weet ik niet", an answer the client never gave. Koers
still shows the crisis help after it. The check constraint gets the new value (a batch
rebuild on SQLite); a downgrade stores such answers as "weet_niet" again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "check_answer IS NULL OR check_answer IN ('ja', 'nee', 'weet_niet')"
NEW = "check_answer IS NULL OR check_answer IN ('ja', 'nee', 'weet_niet', 'onduidelijk')"


def upgrade() -> None:
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_constraint(op.f("ck_safety_events_check_answer"), type_="check")
        batch.create_check_constraint(op.f("ck_safety_events_check_answer"), sa.text(NEW))


def downgrade() -> None:
    op.execute(
        "UPDATE safety_events SET check_answer = 'weet_niet' WHERE check_answer = 'onduidelijk'"
    )
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_constraint(op.f("ck_safety_events_check_answer"), type_="check")
        batch.create_check_constraint(op.f("ck_safety_events_check_answer"), sa.text(OLD))
