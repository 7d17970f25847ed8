"""Initial schema: clients, check-ins, reflections with their answers, safety events.

Revision ID: 0001
Revises:
Create Date: 2025-11-23

Written by hand. Constraint names follow the naming convention in `bot/storage/models.py`
(pk_/uq_/ck_/fk_/ix_<table>_...); `op.f()` marks them as final so the convention is not applied
a second time. Keep models and migrations in step (tests/unit/test_repository.py checks).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=128), nullable=False),
        sa.Column(
            "language_level", sa.String(length=16), server_default="standaard", nullable=False
        ),
        sa.Column("disclosure_shown_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_clients_chat_id")),
        sa.CheckConstraint(
            "language_level IN ('standaard', 'eenvoudig')", name=op.f("ck_clients_language_level")
        ),
    )

    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("mood", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkins")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_checkins_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_checkins_idempotency_key")),
        sa.CheckConstraint("mood BETWEEN 1 AND 5", name=op.f("ck_checkins_mood_range")),
    )
    op.create_index(op.f("ix_checkins_client_id"), "checkins", ["client_id"])

    op.create_table(
        "reflections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("shared_with_worker", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("scale", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reflections")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_reflections_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_reflections_idempotency_key")),
        sa.CheckConstraint(
            "status IN ('compleet', 'onderbroken')", name=op.f("ck_reflections_status")
        ),
        sa.CheckConstraint(
            "scale IS NULL OR scale BETWEEN 1 AND 5", name=op.f("ck_reflections_scale_range")
        ),
    )
    op.create_index(op.f("ix_reflections_client_id"), "reflections", ["client_id"])

    op.create_table(
        "reflection_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reflection_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=False),
        sa.Column("question_text", sa.Text(), nullable=False),
        sa.Column("answer_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reflection_answers")),
        sa.ForeignKeyConstraint(
            ["reflection_id"],
            ["reflections.id"],
            name=op.f("fk_reflection_answers_reflection_id_reflections"),
            ondelete="CASCADE",
        ),
        # Also serves as the index on reflection_id (its leading column).
        sa.UniqueConstraint(
            "reflection_id",
            "question_key",
            name=op.f("uq_reflection_answers_reflection_id_question_key"),
        ),
    )

    op.create_table(
        "safety_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("message_text", sa.Text(), nullable=False),
        sa.Column("response_text", sa.Text(), nullable=False),
        sa.Column("detected_by", sa.String(length=32), nullable=False),
        sa.Column("context", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_events")),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_safety_events_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_safety_events_idempotency_key")),
        sa.CheckConstraint(
            "category IN ('suicide', 'self_harm', 'overdose', 'danger_to_others', "
            "'threatened', 'abuse', 'unknown')",
            name=op.f("ck_safety_events_category"),
        ),
        sa.CheckConstraint(
            "detected_by IN ('matcher', 'classifier', 'both')",
            name=op.f("ck_safety_events_detected_by"),
        ),
    )
    op.create_index(op.f("ix_safety_events_client_id"), "safety_events", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_safety_events_client_id"), table_name="safety_events")
    op.drop_table("safety_events")
    op.drop_table("reflection_answers")
    op.drop_index(op.f("ix_reflections_client_id"), table_name="reflections")
    op.drop_table("reflections")
    op.drop_index(op.f("ix_checkins_client_id"), table_name="checkins")
    op.drop_table("checkins")
    op.drop_table("clients")
