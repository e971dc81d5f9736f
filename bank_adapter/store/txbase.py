"""What every query mix-in of `Tx` shares: the connection, and inserts that report
a unique-constraint refusal as `DuplicateKey`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection


class DuplicateKey(Exception):
    """A unique constraint refused the write: someone else got there first."""


class TxBase:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def _insert(self, statement: Any) -> Any:
        try:
            return await self.conn.execute(statement)
        except IntegrityError as exc:
            raise DuplicateKey(str(exc.orig)) from exc
