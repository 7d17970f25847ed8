"""Trustworthy audit log: a hash chain over the rows, append-only triggers, daily counters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Written by hand, like the others. `audit_log` gets `seq`, `prev_hash` and `row_hash` (filled by
the application, bot/storage/auditlog.py); `audit_chain` holds the head of the chain (one row);
`audit_counts` counts blocked attempts per day instead of a row per attempt. Triggers (SQLite
and PostgreSQL) refuse to change a chained row and to delete one, except the rows retention
prunes (seq up to `audit_chain.pruned_seq`); the chain head never moves backwards. Rows from
before this revision stay unchained (`verify` reports them).

Batch operations on `audit_log` in later migrations rebuild the table on SQLite and drop
these triggers: recreate them with `create_triggers()` there.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    WHEN OLD.row_hash IS NOT NULL OR NEW.row_hash IS NULL
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN OLD.seq IS NOT NULL AND OLD.seq > (SELECT pruned_seq FROM audit_chain WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_chain_forward BEFORE UPDATE ON audit_chain
    WHEN NEW.seq < OLD.seq OR NEW.pruned_seq < OLD.pruned_seq
    BEGIN SELECT RAISE(ABORT, 'audit_chain never moves backwards'); END""",
    """CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
    BEGIN SELECT RAISE(ABORT, 'audit_chain is permanent'); END""",
]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION koers_audit_log_append_only() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'UPDATE' THEN
        IF OLD.row_hash IS NOT NULL OR NEW.row_hash IS NULL THEN
          RAISE EXCEPTION 'audit_log is append-only';
        END IF;
        RETURN NEW;
      END IF;
      IF OLD.seq IS NOT NULL
         AND OLD.seq > (SELECT pruned_seq FROM audit_chain WHERE id = 1) THEN
        RAISE EXCEPTION 'audit_log is append-only';
      END IF;
      RETURN OLD;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION koers_audit_log_append_only()""",
    """CREATE OR REPLACE FUNCTION koers_audit_chain_forward() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_chain is permanent';
      END IF;
      IF NEW.seq < OLD.seq OR NEW.pruned_seq < OLD.pruned_seq THEN
        RAISE EXCEPTION 'audit_chain never moves backwards';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION koers_audit_chain_forward()""",
]


def create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    statements = POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS
    if dialect not in ("postgresql", "sqlite"):
        return
    for statement in statements:
        op.execute(statement)


def drop_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_forward ON audit_chain")
        op.execute("DROP FUNCTION IF EXISTS koers_audit_log_append_only()")
        op.execute("DROP FUNCTION IF EXISTS koers_audit_chain_forward()")
    elif dialect == "sqlite":
        for name in (
            "audit_log_no_update",
            "audit_log_no_delete",
            "audit_chain_forward",
            "audit_chain_no_delete",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_audit_log_seq"), "audit_log", ["seq"], unique=True)
    chain = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("pruned_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pruned_hash", sa.String(length=64), nullable=False),
        sa.Column("key_check", sa.String(length=16), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    op.bulk_insert(
        chain,
        [{"id": 1, "seq": 0, "last_hash": GENESIS, "pruned_seq": 0, "pruned_hash": GENESIS}],
    )
    op.create_table(
        "audit_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("day", "action", name=op.f("pk_audit_counts")),
    )
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    op.drop_table("audit_counts")
    op.drop_table("audit_chain")
    op.drop_index(op.f("ix_audit_log_seq"), table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
