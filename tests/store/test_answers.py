"""Stored answers come back byte for byte; large ones are kept compressed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bank_adapter.services.storage import Tx
from bank_adapter.store import tables as t
from bank_adapter.store.repository import COMPRESS_ABOVE, StorageUnavailable, StoredAnswer
from tests.store.test_decisions import a_bill

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def answer(body: bytes) -> StoredAnswer:
    return StoredAnswer(
        "a" * 64, 200, "application/json", (("X-JWS-Signature", "e30..c2ln"),), body
    )


@pytest.mark.parametrize("size", [10, COMPRESS_ABOVE, COMPRESS_ABOVE + 1, 1_000_000])
async def test_answers_round_trip_exactly(store, size):
    entries = [
        {"bankPaymentRef": f"R{n:08d}", "amount": f"{n % 997}.00"} for n in range(size // 20 + 1)
    ]
    body = json.dumps(entries).encode()[:size]

    async with store.write() as tx:
        tx.save_answer("RJHI", f"m-{size}", answer(body), NOW)
    async with store.read() as tx:
        stored = await tx.answer("RJHI", f"m-{size}")
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(t.messages.c.body, t.messages.c.body_encoding))).one()

    assert stored == answer(body)
    if size > COMPRESS_ABOVE:
        assert row.body_encoding == "zlib"
        assert len(row.body) < len(body) // 4
    else:
        assert (row.body_encoding, row.body) == ("identity", body)


async def answer_again(tx: Tx) -> None:
    tx.save_answer("RJHI", "m", answer(b"[]"), NOW)
    await tx.add_bill(a_bill(), NOW)


async def test_a_message_id_is_answered_once(store):
    """The primary key is the final arbiter: a second answer for one MessageId fails its
    batch whole (nothing of it recorded) and the first answer stands."""
    async with store.write() as tx:
        tx.save_answer("RJHI", "m", answer(b"{}"), NOW)
    with pytest.raises(StorageUnavailable):
        await store.decide(answer_again)
    async with store.read() as tx:
        assert await tx.answer("RJHI", "m") == answer(b"{}")
        assert await tx.count("bills") == 0
