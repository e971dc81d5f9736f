"""Bills, payments, running day figures and payment evidence.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bank_adapter.store.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SequenceId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UNPAID = sa.text("status = 'UNPAID'")
POSTED = sa.text("status = 'POSTED'")


def upgrade() -> None:
    op.create_table(
        "bills",
        sa.Column("bill_number", sa.String(13), nullable=False),
        sa.Column("id_number", sa.String(10), nullable=False),
        sa.Column("service_code", sa.String(32), nullable=False),
        sa.Column("description_ar", sa.String(256), nullable=False),
        sa.Column("description_en", sa.String(256), nullable=False),
        sa.Column("amount_halalas", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("periods", sa.Integer, nullable=True),
        sa.Column("quote_key", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("bill_number", name="pk_bills"),
    )
    op.create_index("ix_bills_id_number", "bills", ["id_number"])
    op.create_index(
        "uq_bills_open_quote", "bills", ["quote_key"], unique=True,
        sqlite_where=UNPAID, postgresql_where=UNPAID,
    )  # fmt: skip
    op.create_table(
        "payments",
        sa.Column("seq", SequenceId, nullable=False, autoincrement=True),
        sa.Column("partner_id", sa.String(4), nullable=False),
        sa.Column("bank_payment_ref", sa.String(64), nullable=False),
        sa.Column("bill_number", sa.String(13), nullable=False),
        sa.Column("amount_halalas", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_at", UtcDateTime, nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("terminal_id", sa.String(32), nullable=True),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("reversed_at", UtcDateTime, nullable=True),
        sa.Column("reversal_reason", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_payments"),
        sa.UniqueConstraint("partner_id", "bank_payment_ref", name="uq_payments_partner_ref"),
    )
    op.create_index("ix_payments_day", "payments", ["partner_id", "business_date", "seq"])
    op.create_index(
        "uq_payments_posted_bill", "payments", ["bill_number"], unique=True,
        sqlite_where=POSTED, postgresql_where=POSTED,
    )  # fmt: skip
    op.create_table(
        "day_figures",
        sa.Column("partner_id", sa.String(4), nullable=False),
        sa.Column("business_date", sa.Date, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("total_halalas", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "business_date", name="pk_day_figures"),
    )
    op.create_table(
        "evidence",
        sa.Column("id", SequenceId, nullable=False, autoincrement=True),
        sa.Column("partner_id", sa.String(4), nullable=False),
        sa.Column("bank_payment_ref", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(64), nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence"),
    )
    op.create_index("ix_evidence_ref", "evidence", ["partner_id", "bank_payment_ref"])


def downgrade() -> None:
    for table in ("evidence", "day_figures", "payments", "bills"):
        op.drop_table(table)
