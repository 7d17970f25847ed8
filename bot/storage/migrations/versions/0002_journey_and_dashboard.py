"""Small steps, safety plans, workers, access codes, agreements, audit log, org settings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand, like 0001. Clients get a display name, their worker and the date of the last
contact; SQLite needs batch mode (a table rebuild) to add the foreign key.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
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
        "workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=8), server_default="worker", nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
        sa.UniqueConstraint("username", name=op.f("uq_workers_username")),
        sa.CheckConstraint("role IN ('worker', 'admin')", name=op.f("ck_workers_role")),
        sqlite_autoincrement=True,
    )

    # Rebuilt with AUTOINCREMENT on SQLite, so that a deleted client's id is never reused.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table(
        "clients",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True},
    ) as batch:
        batch.add_column(sa.Column("display_name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("worker_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            op.f("fk_clients_worker_id_workers"),
            "workers",
            ["worker_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_clients_worker_id"), ["worker_id"])

    # A client can report danger themselves (red in their safety plan).
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_constraint(op.f("ck_safety_events_detected_by"), type_="check")
        batch.create_check_constraint(
            op.f("ck_safety_events_detected_by"),
            sa.text("detected_by IN ('matcher', 'classifier', 'both', 'client')"),
        )

    op.create_table(
        "small_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("reflection_id", sa.Integer(), nullable=True),
        sa.Column("theme", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("shared_with_worker", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_small_steps")),
        _client_fk("small_steps"),
        sa.ForeignKeyConstraint(
            ["reflection_id"],
            ["reflections.id"],
            name=op.f("fk_small_steps_reflection_id_reflections"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_small_steps_idempotency_key")),
        sa.CheckConstraint(
            "status IN ('open', 'gelukt', 'niet_gelukt', 'vervallen')",
            name=op.f("ck_small_steps_status"),
        ),
    )
    op.create_index(op.f("ix_small_steps_client_id"), "small_steps", ["client_id"])
    op.create_index(op.f("ix_small_steps_reflection_id"), "small_steps", ["reflection_id"])

    op.create_table(
        "safety_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_plans")),
        _client_fk("safety_plans"),
        sa.UniqueConstraint("client_id", name=op.f("uq_safety_plans_client_id")),
    )

    op.create_table(
        "safety_plan_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_plan_items")),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["safety_plans.id"],
            name=op.f("fk_safety_plan_items_plan_id_safety_plans"),
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "phase IN ('groen', 'oranje', 'rood')", name=op.f("ck_safety_plan_items_phase")
        ),
        sa.CheckConstraint(
            "kind IN ('signaal', 'helpt', 'contact')", name=op.f("ck_safety_plan_items_kind")
        ),
    )
    op.create_index(op.f("ix_safety_plan_items_plan_id"), "safety_plan_items", ["plan_id"])

    op.create_table(
        "access_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_codes")),
        _client_fk("access_codes"),
        sa.UniqueConstraint("code_hash", name=op.f("uq_access_codes_code_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_access_codes_client_id"), "access_codes", ["client_id"])

    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("party", sa.String(length=100), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        _client_fk("agreements"),
        sa.CheckConstraint(
            "kind IN ('client', 'worker', 'ander')", name=op.f("ck_agreements_kind")
        ),
    )
    op.create_index(op.f("ix_agreements_client_id"), "agreements", ["client_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_audit_log_client_id"), "audit_log", ["client_id"])

    op.create_table(
        "org_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_org_settings")),
    )


def downgrade() -> None:
    op.drop_table("org_settings")
    op.drop_index(op.f("ix_audit_log_client_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_agreements_client_id"), table_name="agreements")
    op.drop_table("agreements")
    op.drop_index(op.f("ix_access_codes_client_id"), table_name="access_codes")
    op.drop_table("access_codes")
    op.drop_index(op.f("ix_safety_plan_items_plan_id"), table_name="safety_plan_items")
    op.drop_table("safety_plan_items")
    op.drop_table("safety_plans")
    op.drop_index(op.f("ix_small_steps_reflection_id"), table_name="small_steps")
    op.drop_index(op.f("ix_small_steps_client_id"), table_name="small_steps")
    op.drop_table("small_steps")
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_constraint(op.f("ck_safety_events_detected_by"), type_="check")
        batch.create_check_constraint(
            op.f("ck_safety_events_detected_by"),
            sa.text("detected_by IN ('matcher', 'classifier', 'both')"),
        )
    with op.batch_alter_table("clients") as batch:
        batch.drop_index(op.f("ix_clients_worker_id"))
        batch.drop_constraint(op.f("fk_clients_worker_id_workers"), type_="foreignkey")
        batch.drop_column("last_contact_at")
        batch.drop_column("worker_id")
        batch.drop_column("display_name")
    op.drop_table("workers")
