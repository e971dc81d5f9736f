"""Idempotency keys of the internal API (`POST /internal/v1/bills`, header
`Idempotency-Key`): a platform retrying after a lost answer or a 503 gets the first
answer again, never a second issue.

The first request with a key stores its answer (status, body, and the SHA-256 of the
request body) under the key, in the unit of work that issues the bills: both commit or
neither does. A request whose key is stored gets that answer byte for byte when its
body is the same, with `Idempotent-Replayed: true`, and 409 DUPLICATE_CONFLICT when it
is not; either way nothing new is recorded. Twins at once, in one process or in
instances sharing one database, are settled as the partner API's MessageIds are:
batches write one at a time (`bank_adapter.store.batch`), so a twin finds the first
one's row (in its batch, or committed); should two ever both insert, the key's
uniqueness refuses the second (DuplicateKey) and it is decided again. Keys are
forgotten with the stored answers, after `message_retention_days`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from bank_adapter.core.wire import WireResponse
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services.storage import StoredAnswer, Tx

HEADER: Final = "Idempotency-Key"
REPLAYED: Final = ("Idempotent-Replayed", "true")
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    key: str
    body_sha256: str

    @classmethod
    def of(cls, key: str | None, body: bytes) -> IdempotencyKey | None:
        return None if key is None else cls(key, hashlib.sha256(body).hexdigest())


def parse_key(values: Sequence[str]) -> str | None:
    """The key of a request's `Idempotency-Key` header values, None without one;
    SCHEMA_INVALID for anything but one value of 1 to 64 of `A-Z a-z 0-9 . _ : -`."""
    if not values:
        return None
    if len(values) > 1 or _KEY.fullmatch(values[0]) is None:
        raise AdapterError(
            Code.SCHEMA_INVALID,
            f"{HEADER}: one value of 1 to 64 characters A-Z a-z 0-9 . _ : - is required",
        )
    return values[0]


async def stored(tx: Tx, key: IdempotencyKey | None) -> WireResponse | None:
    """The answer stored under `key`, marked as replayed; 409 if it was another body's."""
    if key is None:
        return None
    answer = await tx.keyed_answer(key.key)
    if answer is None:
        return None
    if answer.body_sha256 != key.body_sha256:
        raise AdapterError(
            Code.DUPLICATE_CONFLICT,
            f"this {HEADER} was used for another request body; nothing was issued",
        )
    headers = (*answer.headers, REPLAYED)
    return WireResponse(answer.status, answer.content_type, answer.body, headers)


async def store(tx: Tx, key: IdempotencyKey | None, answer: WireResponse, now: datetime) -> None:
    """Keep `answer` under `key` (if any), in `tx`."""
    if key is not None:
        kept = StoredAnswer(
            key.body_sha256, answer.status, answer.content_type, answer.headers, answer.body
        )
        await tx.save_keyed_answer(key.key, kept, now)
