"""The schema, as SQLAlchemy Core tables. Migrations in `migrations/` create it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
# The OTP cap counts an account's sends of the last hour; a new start ends its pending one.
Index("ix_activations_id_number_created_at", activations.c.id_number, activations.c.created_at)


def _stored_answer() -> list[Column[object]]:
    """The columns of an answer kept to replay it byte for byte (`StoredAnswer`)."""
    return [
        Column("body_sha256", String(64), nullable=False),  # of the request's body
        Column("status", Integer, nullable=False),
        Column("content_type", String(64), nullable=False),
        Column("headers", JSON, nullable=False),
        Column("body", LargeBinary, nullable=False),
        # "zlib" for large answers (a 5,000-entry statement page shrinks ~9x), else "identity".
        Column("body_encoding", String(8), nullable=False, server_default="identity"),
        Column("created_at", UtcDateTime, nullable=False),
    ]


# Every final answer to a signed request.
messages = Table(
    "messages",
    metadata,
    Column("partner_id", String(4), primary_key=True),
    Column("message_id", String(36), primary_key=True),
    *_stored_answer(),
    Index("ix_messages_created_at", "created_at"),
)

# The answer to each `POST /internal/v1/bills` sent with an `Idempotency-Key`, kept as
# long as `messages` (`services.idempotency`): the key is the arbiter between twins.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("idempotency_key", String(64), primary_key=True),
    *_stored_answer(),
    Index("ix_idempotency_keys_created_at", "created_at"),
)

# The outbox the platform follows with a cursor on `seq`. Numbers come from
# `event_counter` (see `Tx.flush_events`), not from an identity column: that makes
# commit order equal seq order, so a reader never sees seq 11 before seq 10 commits.
events = Table(
    "events",
    metadata,
    Column("seq", SequenceId, primary_key=True, autoincrement=False),
    Column("type", String(32), nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("data", JSON, nullable=False),
)

# One row (id = 1): the last event seq handed out.
event_counter = Table(
    "event_counter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", BigInteger, nullable=False),
    CheckConstraint("id = 1", name="ck_event_counter_one_row"),
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

bills = Table(
    "bills",
    metadata,
    Column("bill_number", String(13), primary_key=True),
    Column("id_number", String(10), nullable=False),
    Column("service_code", String(32), nullable=False),
    Column("description_ar", String(256), nullable=False),
    Column("description_en", String(256), nullable=False),
    Column("amount_halalas", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("status", String(10), nullable=False),
    Column("periods", Integer, nullable=True),
    # Set on bills issued by /v1/fees/quote: the same person, service and periods while
    # the bill is open get the same bill (a partial unique index enforces it).
    Column("quote_key", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_bills_id_number", "id_number"),
    Index(
        "uq_bills_open_quote",
        "quote_key",
        unique=True,
        sqlite_where=text("status = 'UNPAID'"),
        postgresql_where=text("status = 'UNPAID'"),
    ),
)

# One row per (partner, BankPaymentRef), ever. `seq` orders the statement: PaymentId is
# derived from it. A bill has at most one POSTED payment (partial unique index), so two
# banks, or two references, racing for one bill cannot both post.
payments = Table(
    "payments",
    metadata,
    Column("seq", SequenceId, primary_key=True, autoincrement=True),
    Column("partner_id", String(4), nullable=False),
    Column("bank_payment_ref", String(64), nullable=False),
    Column("bill_number", String(13), nullable=False),
    Column("amount_halalas", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_at", UtcDateTime, nullable=False),
    Column("channel", String(8), nullable=False),
    Column("terminal_id", String(32), nullable=True),
    Column("business_date", Date, nullable=False),
    Column("status", String(10), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("reversed_at", UtcDateTime, nullable=True),
    Column("reversal_reason", String(256), nullable=True),
    UniqueConstraint("partner_id", "bank_payment_ref", name="uq_payments_partner_ref"),
    Index("ix_payments_day", "partner_id", "business_date", "seq"),
    # The reconciliation job reads a day in reference order (a merge-join with the bank's file).
    Index("ix_payments_reconcile", "partner_id", "business_date", "bank_payment_ref"),
    Index(
        "uq_payments_posted_bill",
        "bill_number",
        unique=True,
        sqlite_where=text("status = 'POSTED'"),
        postgresql_where=text("status = 'POSTED'"),
    ),
)

# Running Count / Total / Checksum of a partner's business date, updated in the same
# transaction as every posting and reversal (see domain.statement).
day_figures = Table(
    "day_figures",
    metadata,
    Column("partner_id", String(4), primary_key=True),
    Column("business_date", Date, primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("total_halalas", BigInteger, nullable=False),
    Column("checksum", String(64), nullable=False),
)

# The bank's own signed request, byte for byte, for every accepted payment and reversal:
# what settles a dispute. Kept beyond the message-id retention window.
evidence = Table(
    "evidence",
    metadata,
    Column("id", SequenceId, primary_key=True, autoincrement=True),
    Column("partner_id", String(4), nullable=False),
    Column("bank_payment_ref", String(64), nullable=False),
    Column("operation", String(32), nullable=False),
    Column("message_id", String(36), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(64), nullable=False),
    Column("headers", JSON, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_evidence_ref", "partner_id", "bank_payment_ref"),
)

# --- operator console (bank_adapter/console; migration 0006) ---------------------------

# A partner's suspension decided at runtime (console or internal API). A row overrides the
# partner file's `suspended`, which stays the boot default for partners without one.
# `version` grows with every change, so an instance never takes an older state for a newer.
partner_states = Table(
    "partner_states",
    metadata,
    Column("partner_id", String(4), primary_key=True),
    Column("suspended", Boolean, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("changed_by", String(100), nullable=False),
    Column("changed_at", UtcDateTime, nullable=False),
    Column("version", BigInteger, nullable=False),
)

# Every state change made through the console or the internal API: who, when, what, why.
# Written in the transaction of the change itself. Subjects never hold a full ID number.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", SequenceId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("via", String(16), nullable=False),
    Column("action", String(48), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("detail", JSON, nullable=True),
)

# The console finds a bill's reversed payments by bill number. Only REVERSED rows are in
# this index, so posting a payment (an INSERT of a POSTED row) does not maintain it.
Index(
    "ix_payments_reversed_bill",
    payments.c.bill_number,
    sqlite_where=text("status = 'REVERSED'"),
    postgresql_where=text("status = 'REVERSED'"),
)
