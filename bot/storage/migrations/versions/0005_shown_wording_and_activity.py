"""Shown wording and level, "een beetje" as a step outcome, safety-plan look-ups.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-24

Written by hand, like the others (issue 12):
- `reflection_answers.language_level`: the level of the question exactly as the client saw it;
- `reflections.scale_question` and `scale_level`: the 1-5 question as the client saw it;
- `small_steps.status` may be 'beetje' (the step went "een beetje");
- `plan_lookups`: the client looked up their safety plan in the chat and chose a colour.
Older rows keep NULL in the new columns: the dashboard falls back to what it can infer.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES_BEFORE = "status IN ('open', 'gelukt', 'niet_gelukt', 'vervallen')"
STATUSES_AFTER = "status IN ('open', 'gelukt', 'beetje', 'niet_gelukt', 'vervallen')"


def upgrade() -> None:
    with op.batch_alter_table("reflection_answers") as batch:
        batch.add_column(sa.Column("language_level", sa.String(length=16), nullable=True))
    with op.batch_alter_table("reflections") as batch:
        batch.add_column(sa.Column("scale_question", sa.Text(), nullable=True))
        batch.add_column(sa.Column("scale_level", sa.String(length=16), nullable=True))
    with op.batch_alter_table("small_steps") as batch:
        batch.drop_constraint(op.f("ck_small_steps_status"), type_="check")
        batch.create_check_constraint(op.f("ck_small_steps_status"), sa.text(STATUSES_AFTER))

    op.create_table(
        "plan_lookups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("colour", sa.String(length=8), nullable=False),
        sa.Column("context", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_lookups")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_plan_lookups_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_plan_lookups_idempotency_key")),
        sa.CheckConstraint(
            "colour IN ('groen', 'oranje', 'rood')", name=op.f("ck_plan_lookups_colour")
        ),
    )
    op.create_index(op.f("ix_plan_lookups_client_id"), "plan_lookups", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_lookups_client_id"), table_name="plan_lookups")
    op.drop_table("plan_lookups")
    # A step that went "een beetje" counted as done before this revision.
    op.execute(sa.text("UPDATE small_steps SET status = 'gelukt' WHERE status = 'beetje'"))
    with op.batch_alter_table("small_steps") as batch:
        batch.drop_constraint(op.f("ck_small_steps_status"), type_="check")
        batch.create_check_constraint(op.f("ck_small_steps_status"), sa.text(STATUSES_BEFORE))
    with op.batch_alter_table("reflections") as batch:
        batch.drop_column("scale_level")
        batch.drop_column("scale_question")
    with op.batch_alter_table("reflection_answers") as batch:
        batch.drop_column("language_level")
