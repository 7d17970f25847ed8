"""Between sessions: reminder plans and sends, web push subscriptions, the worker's question
for the next check-in and the client's checks of agreements.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

Written by hand, like 0001-0003. Only new tables, so no batch rebuild is needed on SQLite.
The partial unique index (one open question per client) works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _client_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["client_id"],
        ["clients.id"],
        name=op.f(f"fk_{table}_client_id_clients"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "reminder_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("weekdays", sa.Integer(), nullable=False),
        sa.Column("send_time", sa.Time(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="actief", nullable=False),
        sa.Column("paused_until", sa.Date(), nullable=True),
        sa.Column("schedule_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_plans")),
        _client_fk("reminder_plans"),
        sa.UniqueConstraint("client_id", name=op.f("uq_reminder_plans_client_id")),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push')", name=op.f("ck_reminder_plans_channel")
        ),
        sa.CheckConstraint(
            "status IN ('actief', 'gepauzeerd', 'gestopt')", name=op.f("ck_reminder_plans_status")
        ),
        sa.CheckConstraint("weekdays BETWEEN 1 AND 127", name=op.f("ck_reminder_plans_weekdays")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_reminder_plans_dates")),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "reminder_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sends")),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["reminder_plans.id"],
            name=op.f("fk_reminder_sends_plan_id_reminder_plans"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("plan_id", "slot_at", name=op.f("uq_reminder_sends_plan_id_slot_at")),
        sa.CheckConstraint(
            "status IN ('bezig', 'verstuurd', 'opnieuw', 'mislukt', 'onbekend')",
            name=op.f("ck_reminder_sends_status"),
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms', 'push')", name=op.f("ck_reminder_sends_channel")
        ),
    )
    op.create_index(op.f("ix_reminder_sends_plan_id"), "reminder_sends", ["plan_id"])

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("p256dh", sa.String(length=128), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        _client_fk("push_subscriptions"),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["chat_devices.id"],
            name=op.f("fk_push_subscriptions_device_id_chat_devices"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_push_subscriptions_client_id"), "push_subscriptions", ["client_id"])
    op.create_index(op.f("ix_push_subscriptions_device_id"), "push_subscriptions", ["device_id"])

    op.create_table(
        "worker_questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("text_standaard", sa.Text(), nullable=False),
        sa.Column("text_eenvoudig", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("source_key", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=12), server_default="open", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reflection_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_questions")),
        _client_fk("worker_questions"),
        sa.ForeignKeyConstraint(
            ["reflection_id"],
            ["reflections.id"],
            name=op.f("fk_worker_questions_reflection_id_reflections"),
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "source IN ('thema', 'bron', 'eigen')", name=op.f("ck_worker_questions_source")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'beantwoord', 'overgeslagen', 'vervangen', 'ingetrokken')",
            name=op.f("ck_worker_questions_status"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_worker_questions_client_id"), "worker_questions", ["client_id"])
    op.create_index(
        op.f("ix_worker_questions_reflection_id"), "worker_questions", ["reflection_id"]
    )
    op.create_index(
        "uq_worker_questions_one_open",
        "worker_questions",
        ["client_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "agreement_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_checks")),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["agreements.id"],
            name=op.f("fk_agreement_checks_agreement_id_agreements"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_agreement_checks_idempotency_key")),
        sa.CheckConstraint(
            "outcome IN ('gedaan', 'deels', 'nog_niet')", name=op.f("ck_agreement_checks_outcome")
        ),
    )
    op.create_index(op.f("ix_agreement_checks_agreement_id"), "agreement_checks", ["agreement_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_agreement_checks_agreement_id"), table_name="agreement_checks")
    op.drop_table("agreement_checks")
    op.drop_index("uq_worker_questions_one_open", table_name="worker_questions")
    op.drop_index(op.f("ix_worker_questions_reflection_id"), table_name="worker_questions")
    op.drop_index(op.f("ix_worker_questions_client_id"), table_name="worker_questions")
    op.drop_table("worker_questions")
    op.drop_index(op.f("ix_push_subscriptions_device_id"), table_name="push_subscriptions")
    op.drop_index(op.f("ix_push_subscriptions_client_id"), table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index(op.f("ix_reminder_sends_plan_id"), table_name="reminder_sends")
    op.drop_table("reminder_sends")
    op.drop_table("reminder_plans")
