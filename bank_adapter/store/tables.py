"""The schema, as SQLAlchemy Core tables. Migrations in `migrations/` create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from bank_adapter.store.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
SequenceId = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "accounts",
    metadata,
    Column("id_number", String(10), primary_key=True),
    Column("id_type", String(16), nullable=False),
    Column("mobile", String(13), nullable=False),
    Column("biometric_enrolled", Boolean, nullable=False),
    Column("id_expiry", Date, nullable=True),
    Column("blocked", Boolean, nullable=False),
    Column("full_name_ar", String(200), nullable=True),
    Column("full_name_en", String(200), nullable=True),
    Column("status", String(8), nullable=False),
    Column("activated_at", UtcDateTime, nullable=True),
    Column("activated_by", String(4), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

activations = Table(
    "activations",
    metadata,
    Column("activation_id", String(36), primary_key=True),
    Column("partner_id", String(4), nullable=False),
    Column("id_number", String(10), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("otp_hash", String(64), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("tries", Integer, nullable=False),
    Column("state", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Every final answer to a signed request, kept to replay it byte for byte.
messages = Table(
    "messages",
    metadata,
    Column("partner_id", String(4), primary_key=True),
    Column("message_id", String(36), primary_key=True),
    Column("body_sha256", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("content_type", String(64), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_messages_created_at", "created_at"),
)

events = Table(
    "events",
    metadata,
    Column("seq", SequenceId, primary_key=True, autoincrement=True),
    Column("type", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("data", JSON, nullable=False),
)

# The transactional SMS outbox: written with the change that needs the SMS; the sandbox
# reads it back, a gateway relay sends it in production.
sms_outbox = Table(
    "sms_outbox",
    metadata,
    Column("id", SequenceId, primary_key=True, autoincrement=True),
    Column("mobile", String(13), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_sms_outbox_mobile", "mobile"),
)
