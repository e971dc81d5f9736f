"""Accounts, activations, stored answers, the events outbox and the SMS outbox.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bank_adapter.store.types import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SequenceId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id_number", sa.String(10), nullable=False),
        sa.Column("id_type", sa.String(16), nullable=False),
        sa.Column("mobile", sa.String(13), nullable=False),
        sa.Column("biometric_enrolled", sa.Boolean, nullable=False),
        sa.Column("id_expiry", sa.Date, nullable=True),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("full_name_ar", sa.String(200), nullable=True),
        sa.Column("full_name_en", sa.String(200), nullable=True),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("activated_at", UtcDateTime, nullable=True),
        sa.Column("activated_by", sa.String(4), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id_number", name="pk_accounts"),
    )
    op.create_table(
        "activations",
        sa.Column("activation_id", sa.String(36), nullable=False),
        sa.Column("partner_id", sa.String(4), nullable=False),
        sa.Column("id_number", sa.String(10), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("otp_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("activation_id", name="pk_activations"),
    )
    op.create_table(
        "messages",
        sa.Column("partner_id", sa.String(4), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("headers", sa.JSON, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("partner_id", "message_id", name="pk_messages"),
    )
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_table(
        "events",
        sa.Column("seq", SequenceId, nullable=False, autoincrement=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
    )
    op.create_table(
        "sms_outbox",
        sa.Column("id", SequenceId, nullable=False, autoincrement=True),
        sa.Column("mobile", sa.String(13), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_outbox"),
    )
    op.create_index("ix_sms_outbox_mobile", "sms_outbox", ["mobile"])


def downgrade() -> None:
    for table in ("sms_outbox", "events", "messages", "activations", "accounts"):
        op.drop_table(table)
