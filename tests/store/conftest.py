"""A migrated Store on the engine under test, and a second one on the same database
(its own pool and in-process locks: what another adapter instance would have)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bank_adapter.store import migrate
from bank_adapter.store.repository import Store


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = Store.open(database_url)
    await migrate.upgrade(opened.engine)
    yield opened
    await opened.close()


@pytest.fixture
async def other_instance(database_url: str, store: Store) -> AsyncIterator[Store]:
    opened = Store.open(database_url)
    yield opened
    await opened.close()
