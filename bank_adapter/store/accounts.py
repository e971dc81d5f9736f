"""Accounts, activations, stored answers and the outboxes, as fixed SQL."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from bank_adapter.domain.activation import Account, ActivationAttempt
from bank_adapter.domain.ids import IdType
from bank_adapter.services.storage import Event, Sms, StoredAnswer
from bank_adapter.store.tables import metadata
from bank_adapter.store.txbase import TxBase

# Answers above this are stored compressed (zlib level 1: ~6 ms for a 1 MB statement
# page, ~9x smaller), so replay storage stays proportionate to what banks send.
COMPRESS_ABOVE: Final = 8 * 1024

_ANSWER_COLUMNS: Final = "body_sha256, status, content_type, headers, body, body_encoding"
_ANSWER: Final = f"SELECT {_ANSWER_COLUMNS} FROM messages WHERE partner_id = ? AND message_id = ?"
INSERT_ANSWER: Final = (
    f"INSERT INTO messages (partner_id, message_id, {_ANSWER_COLUMNS}, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_KEYED_ANSWER: Final = f"SELECT {_ANSWER_COLUMNS} FROM idempotency_keys WHERE idempotency_key = ?"
_INSERT_KEYED_ANSWER: Final = (
    f"INSERT INTO idempotency_keys (idempotency_key, {_ANSWER_COLUMNS}, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_ACCOUNT_COLUMNS: Final = (
    "id_number, id_type, mobile, biometric_enrolled, id_expiry, blocked, full_name_ar,"
    " full_name_en, status"
)
_ACCOUNT: Final = f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id_number = ?"
_UPDATE_ACCOUNT: Final = (
    "UPDATE accounts SET id_type = ?, mobile = ?, biometric_enrolled = ?, id_expiry = ?,"
    " blocked = ?, full_name_ar = ?, full_name_en = ?, updated_at = ? WHERE id_number = ?"
)
_INSERT_ACCOUNT: Final = (
    "INSERT INTO accounts (id_type, mobile, biometric_enrolled, id_expiry, blocked,"
    " full_name_ar, full_name_en, updated_at, id_number, status, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', ?)"
)
_ACTIVATE: Final = (
    "UPDATE accounts SET status = 'ACTIVE', activated_at = ?, activated_by = ?, updated_at = ?"
    " WHERE id_number = ? AND status = 'PENDING'"
)
_INSERT_ACTIVATION: Final = (
    "INSERT INTO activations (activation_id, partner_id, id_number, channel, otp_hash,"
    " expires_at, tries, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ACTIVATION: Final = (
    "SELECT activation_id, partner_id, id_number, otp_hash, expires_at, tries, state, channel"
    " FROM activations WHERE activation_id = ?"
)
_UPDATE_ACTIVATION: Final = "UPDATE activations SET tries = ?, state = ? WHERE activation_id = ?"
_OTP_SENDS: Final = (
    "SELECT created_at FROM activations WHERE id_number = ? AND created_at > ? ORDER BY created_at"
)
_SUPERSEDE: Final = (
    "UPDATE activations SET state = 'SUPERSEDED' WHERE id_number = ? AND state = 'OTP_SENT'"
)
_DRAW_EVENTS: Final = (
    "UPDATE event_counter SET last_seq = last_seq + ? WHERE id = 1 RETURNING last_seq"
)
_INSERT_EVENT: Final = "INSERT INTO events (seq, type, occurred_at, data) VALUES (?, ?, ?, ?)"
_EVENTS: Final = (
    "SELECT seq, type, occurred_at, data FROM events WHERE seq > ? ORDER BY seq LIMIT ?"
)
_INSERT_SMS: Final = "INSERT INTO sms_outbox (mobile, text, created_at) VALUES (?, ?, ?)"
_SMS: Final = "SELECT mobile, text, created_at FROM sms_outbox WHERE mobile = ? ORDER BY id"
# Stored answers and idempotency keys are kept for the same window.
_PURGES: Final = (
    "DELETE FROM messages WHERE created_at < ?",
    "DELETE FROM idempotency_keys WHERE created_at < ?",
)


class AccountQueries(TxBase):
    # --- stored answers (replay) -------------------------------------------------------

    async def answer(self, partner_id: str, message_id: str) -> StoredAnswer | None:
        for staged in reversed(self._staged_views()):
            found = staged.answers.get((partner_id, message_id))
            if found is not None:
                return found[0]
        return _stored(await self.db.fetchrow(_ANSWER, partner_id, message_id))

    def save_answer(
        self, partner_id: str, message_id: str, answer: StoredAnswer, now: datetime
    ) -> None:
        """Stage a final answer; it is written with its batch (`write_answers`)."""
        self.staged.answers[(partner_id, message_id)] = (answer, now)

    def answer_rows(
        self, answers: Mapping[tuple[str, str], tuple[StoredAnswer, datetime]]
    ) -> list[tuple[Any, ...]]:
        return [
            (partner_id, message_id, *_answer_values(answer), self.v.ts(at))
            for (partner_id, message_id), (answer, at) in answers.items()
        ]

    async def keyed_answer(self, key: str) -> StoredAnswer | None:
        """The answer stored under an internal API request's idempotency key."""
        return _stored(await self.db.fetchrow(_KEYED_ANSWER, key))

    async def save_keyed_answer(self, key: str, answer: StoredAnswer, now: datetime) -> None:
        """Written at once, not staged: the key's uniqueness is what refuses a twin
        (DuplicateKey), so the twin is decided again and finds this answer."""
        values = _answer_values(answer)
        await self.db.execute(_INSERT_KEYED_ANSWER, key, *values, self.v.ts(now))

    async def purge_answers(self, before: datetime) -> int:
        """Forget stored answers and idempotency keys older than `before`; how many."""
        return sum([await self.db.execute(purge, self.v.ts(before)) for purge in _PURGES])

    # --- accounts ----------------------------------------------------------------------

    async def account(self, id_number: str) -> Account | None:
        row = await self.db.fetchrow(_ACCOUNT, id_number)
        return None if row is None else self._account(row)

    async def save_account(self, account: Account, now: datetime) -> Account:
        """Insert or update an account's registration data; its status is kept."""
        values = (
            account.id_type.value, account.mobile, account.biometric_enrolled,
            self.v.day(account.id_expiry), account.blocked, account.full_name_ar,
            account.full_name_en, self.v.ts(now), account.id_number,
        )  # fmt: skip
        if await self.db.execute(_UPDATE_ACCOUNT, *values) == 0:
            await self.db.execute(_INSERT_ACCOUNT, *values, self.v.ts(now))
        stored = await self.account(account.id_number)
        assert stored is not None
        return stored

    async def activate_account(self, id_number: str, partner_id: str, now: datetime) -> bool:
        """PENDING -> ACTIVE; False when it was not pending any more (a race lost)."""
        at = self.v.ts(now)
        return await self.db.execute(_ACTIVATE, at, partner_id, at, id_number) == 1

    def _account(self, row: Any) -> Account:
        expiry: date | None = self.v.from_day(row[4])
        return Account(
            id_number=row[0],
            id_type=IdType(row[1]),
            mobile=row[2],
            biometric_enrolled=bool(row[3]),
            id_expiry=expiry,
            blocked=bool(row[5]),
            status=row[8],
            full_name_ar=row[6],
            full_name_en=row[7],
        )

    # --- activations -------------------------------------------------------------------

    async def add_activation(self, attempt: ActivationAttempt, channel: str, now: datetime) -> None:
        await self.db.execute(
            _INSERT_ACTIVATION, attempt.activation_id, attempt.partner_id, attempt.id_number,
            channel, attempt.otp_hash, self.v.ts(attempt.expires_at), attempt.tries,
            attempt.state, self.v.ts(now),
        )  # fmt: skip

    async def activation(self, activation_id: str) -> tuple[ActivationAttempt, str] | None:
        """The attempt and the channel it started on."""
        row = await self.db.fetchrow(_ACTIVATION, activation_id)
        if row is None:
            return None
        expires_at = self.v.from_ts(row[4])
        assert expires_at is not None
        attempt = ActivationAttempt(
            activation_id=row[0],
            partner_id=row[1],
            id_number=row[2],
            otp_hash=row[3],
            expires_at=expires_at,
            tries=row[5],
            state=row[6],
        )
        return attempt, row[7]

    async def update_activation(self, activation_id: str, tries: int, state: str) -> None:
        await self.db.execute(_UPDATE_ACTIVATION, tries, state, activation_id)

    async def otp_sends(self, id_number: str, since: datetime) -> list[datetime]:
        """When the account's OTPs after `since` were sent (each attempt is one), oldest first."""
        rows = await self.db.fetch(_OTP_SENDS, id_number, self.v.ts(since))
        return [at for row in rows if (at := self.v.from_ts(row[0])) is not None]

    async def supersede_activations(self, id_number: str) -> None:
        """End the account's pending attempts: a new one is about to start."""
        await self.db.execute(_SUPERSEDE, id_number)

    # --- outboxes ----------------------------------------------------------------------

    def add_event(self, type_: str, data: Mapping[str, Any], now: datetime) -> None:
        """Stage an event; its batch numbers and writes it (`write_events`)."""
        self.staged.events.append((type_, now, dict(data)))

    async def write_events(self, events: list[tuple[str, datetime, dict[str, Any]]]) -> None:
        """Number events from the one-row counter, in commit order, and insert them."""
        if not events:
            return
        row = await self.db.fetchrow(_DRAW_EVENTS, len(events))
        assert row is not None
        first = int(row[0]) - len(events) + 1
        rows = [
            (first + i, type_, self.v.ts(at), json.dumps(data))
            for i, (type_, at, data) in enumerate(events)
        ]
        await self.db.executemany(_INSERT_EVENT, rows)

    async def events(self, after: int, limit: int) -> list[Event]:
        rows = await self.db.fetch(_EVENTS, after, limit)
        return [Event(row[0], row[1], self._at(row[2]), json.loads(row[3])) for row in rows]

    async def queue_sms(self, mobile: str, text_: str, now: datetime) -> None:
        await self.db.execute(_INSERT_SMS, mobile, text_, self.v.ts(now))

    async def sms(self, mobile: str) -> list[Sms]:
        rows = await self.db.fetch(_SMS, mobile)
        return [Sms(row[0], row[1], self._at(row[2])) for row in rows]

    async def count(self, table_name: str) -> int:
        """Rows in one of the schema's tables (operators' checks and the tests)."""
        if table_name not in metadata.tables:
            raise ValueError(f"no table {table_name!r}")
        row = await self.db.fetchrow(f"SELECT COUNT(*) FROM {table_name}")
        return int(row[0]) if row is not None else 0

    def _at(self, value: Any) -> datetime:
        at: datetime | None = self.v.from_ts(value)
        assert at is not None
        return at


def _answer_values(answer: StoredAnswer) -> tuple[Any, ...]:
    """The `_ANSWER_COLUMNS` of an answer; a large body compressed."""
    large = len(answer.body) > COMPRESS_ABOVE
    return (
        answer.body_sha256, answer.status, answer.content_type,
        json.dumps([list(pair) for pair in answer.headers]),
        zlib.compress(answer.body, 1) if large else answer.body,
        "zlib" if large else "identity",
    )  # fmt: skip


def _stored(row: Any) -> StoredAnswer | None:
    """The answer of a row of `_ANSWER_COLUMNS`, if there is one."""
    if row is None:
        return None
    headers = tuple((str(name), str(value)) for name, value in json.loads(row[3]))
    body = bytes(row[4])
    if row[5] == "zlib":
        body = zlib.decompress(body)
    return StoredAnswer(row[0], row[1], row[2], headers, body)
