"""Operator console: runtime partner suspensions, the audit log, reversed payments by bill.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bank_adapter.store.types import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SequenceId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
REVERSED = sa.text("status = 'REVERSED'")


def upgrade() -> None:
    op.create_table(
        "partner_states",
        sa.Column("partner_id", sa.String(4), nullable=False),
        sa.Column("suspended", sa.Boolean, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("changed_by", sa.String(100), nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", name="pk_partner_states"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", SequenceId, nullable=False, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index(
        "ix_payments_reversed_bill", "payments", ["bill_number"],
        sqlite_where=REVERSED, postgresql_where=REVERSED,
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_payments_reversed_bill", table_name="payments")
    op.drop_table("audit_log")
    op.drop_table("partner_states")
