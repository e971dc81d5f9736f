"""The synchronous client, for bank back ends without an event loop.

It runs a `PartnerClient` on a private event loop in a daemon thread and waits for each
call. So signing, verification, key refresh, timeouts and retries are one implementation
for both clients and cannot drift apart; the cost is one thread per client and the
thread hop per call (tens of microseconds, against milliseconds of signing and network).
A sync HTTP stack would have meant a second transport with its own timeouts and its own
way of reporting a lost answer, which is where the two would have diverged.

Calls may come from any thread (they queue on the private loop) and from inside another
event loop (that loop is blocked while waiting, as with any sync I/O). Close the client,
or use it as a context manager, to stop the thread.

    with SyncPartnerClient(url, config) as bank:
        ack = bank.pay(bank_payment_ref="R-1", bill_number="…", amount="300.00",
                       channel="APP")
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import Future
from datetime import date, datetime
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar

from pydantic import BaseModel

from bank_adapter.client import calls
from bank_adapter.client.aio import PartnerClient
from bank_adapter.client.calls import Call
from bank_adapter.client.config import PartnerConfig
from bank_adapter.client.policy import DEFAULT_TIMEOUTS, Retries, Timeouts
from bank_adapter.client.replies import Reply
from bank_adapter.clock import Clock, system_clock
from bank_adapter.core.keys import PublicKey
from bank_adapter.core.messages import Statement

P = ParamSpec("P")
R = TypeVar("R", bound=BaseModel)
T = TypeVar("T")


def _typed(
    build: Callable[Concatenate[datetime, P], Call[R]],
) -> Callable[Concatenate[SyncPartnerClient, P], R]:
    def operation(client: SyncPartnerClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        inner = client.client
        return client.run(inner.call(build(inner.clock(), *args, **kwargs)))

    operation.__doc__ = build.__doc__
    return operation


def _untyped(
    build: Callable[Concatenate[datetime, P], Call[R]],
) -> Callable[Concatenate[SyncReplies, P], Reply]:
    def operation(replies: SyncReplies, /, *args: P.args, **kwargs: P.kwargs) -> Reply:
        inner = replies.sync.client
        return replies.sync.run(inner.send_call(build(inner.clock(), *args, **kwargs)))

    operation.__doc__ = build.__doc__
    return operation


class SyncPartnerClient:
    """`PartnerClient`'s operations, called synchronously. Same arguments and results."""

    def __init__(
        self,
        base_url: str,
        config: PartnerConfig,
        *,
        adapter_keys: Mapping[str, PublicKey] | None = None,
        clock: Clock = system_clock,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retries: Retries | None = None,
    ) -> None:
        self.client = PartnerClient(
            base_url,
            config,
            adapter_keys=adapter_keys,
            clock=clock,
            timeouts=timeouts,
            retries=retries,
        )
        self.replies = SyncReplies(self)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="bank-adapter-client", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> SyncPartnerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self.run(self.client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the private loop and wait for its result."""
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result()

    activate = _typed(calls.activation)
    confirm = _typed(calls.confirmation)
    inquire_bills = _typed(calls.bill_inquiry)
    quote_fee = _typed(calls.fee_quote)
    pay = _typed(calls.payment)
    reverse = _typed(calls.reversal)
    payment_status = _typed(calls.payment_status)
    statement = _typed(calls.statement)

    def statement_pages(
        self, *, business_date: date, channel: str = "WEB", page_size: int | None = None
    ) -> Iterator[Statement]:
        """Every page of a day's statement, first to last."""
        token: str | None = None
        while True:
            page = self.statement(
                business_date=business_date, channel=channel, page_size=page_size, page_token=token
            )
            yield page
            token = page.next_page_token
            if token is None:
                return


class SyncReplies:
    """`Replies`, synchronously: verified `Reply`s, contract errors not raised."""

    def __init__(self, sync: SyncPartnerClient) -> None:
        self.sync = sync

    activate = _untyped(calls.activation)
    confirm = _untyped(calls.confirmation)
    inquire_bills = _untyped(calls.bill_inquiry)
    quote_fee = _untyped(calls.fee_quote)
    pay = _untyped(calls.payment)
    reverse = _untyped(calls.reversal)
    payment_status = _untyped(calls.payment_status)
    statement = _untyped(calls.statement)
