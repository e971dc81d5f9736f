"""Event sequence numbers from a one-row counter, in commit order.

With an identity column two instances can commit out of sequence order: A draws 10,
B draws 11, B commits, a consumer reads up to 11, A commits 10 and the consumer never
sees it. Drawing the number with `UPDATE event_counter … RETURNING` instead holds the
counter row's lock until commit, so the next number is only drawn after this one is
visible. Existing events keep their seq; the counter starts at the highest.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_counter",
        sa.Column("id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_event_counter"),
        sa.CheckConstraint("id = 1", name="ck_event_counter_one_row"),
    )
    op.execute(
        "INSERT INTO event_counter (id, last_seq) SELECT 1, COALESCE(MAX(seq), 0) FROM events"
    )
    if op.get_bind().dialect.name == "postgresql":
        # Nothing may draw numbers past the counter any more: drop the sequence behind
        # 0001's BIGSERIAL.
        op.execute("ALTER TABLE events ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE events_seq_seq")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE events_seq_seq OWNED BY events.seq")
        op.execute("SELECT setval('events_seq_seq', last_seq + 1, false) FROM event_counter")
        op.execute("ALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq_seq')")
    op.drop_table("event_counter")
