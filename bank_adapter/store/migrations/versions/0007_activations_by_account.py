"""Activations by account and time: the OTP cap counts an account's sends of the last hour,
and a new start ends the account's pending attempt.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_activations_id_number_created_at", "activations", ["id_number", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_activations_id_number_created_at", table_name="activations")
