"""Payments by (partner, business date, reference): the reconciliation job's day scan.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_payments_reconcile", "payments", ["partner_id", "business_date", "bank_payment_ref"]
    )


def downgrade() -> None:
    op.drop_index("ix_payments_reconcile", table_name="payments")
