"""Seen message ids and the internal API's idempotency keys are kept at least the
retention window, then purged by the service."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from aiohttp import web

from bank_adapter.store import migrate
from bank_adapter.store.repository import StoredAnswer
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime


async def test_the_service_purges_answers_and_keys_older_than_the_window(settings, clock):
    fast = dataclasses.replace(settings, purge_interval_s=0.05)
    runtime = build_runtime(fast, clock)
    await migrate.upgrade(runtime.store.engine)
    now = clock()
    answer = StoredAnswer("0" * 64, 200, "application/json", (), b"{}")
    async with runtime.store.write() as tx:
        tx.save_answer("JWSA", "old", answer, now - timedelta(days=7, minutes=1))
        tx.save_answer("JWSA", "young", answer, now - timedelta(days=6, hours=23))
        await tx.save_keyed_answer("old-key", answer, now - timedelta(days=7, minutes=1))
        await tx.save_keyed_answer("young-key", answer, now - timedelta(days=6, hours=23))
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    try:
        for _ in range(200):  # a generous deadline, not a timing assertion
            async with runtime.store.read() as tx:
                old = await tx.answer("JWSA", "old") or await tx.keyed_answer("old-key")
            if old is None:
                break
            await asyncio.sleep(0.05)
        async with runtime.store.read() as tx:
            assert await tx.answer("JWSA", "old") is None
            assert await tx.answer("JWSA", "young") is not None
            assert await tx.keyed_answer("old-key") is None
            assert await tx.keyed_answer("young-key") is not None
    finally:
        await runner.cleanup()
