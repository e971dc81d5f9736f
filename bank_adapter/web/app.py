"""The aiohttp application: routes and middleware around a `Runtime`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bank_adapter.console import partner_refresh
from bank_adapter.console import routes as console
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.services import activation, billing, payments, statement
from bank_adapter.web import internal, ops
from bank_adapter.web.middleware import request_context
from bank_adapter.web.partner_api import Route, Service, handler
from bank_adapter.web.runtime import RUNTIME, Runtime

EVIDENCE: dict[str, Callable[[Any], str]] = {
    "/v1/payments": lambda message: str(message.bank_payment_ref),
    "/v1/payments/reversal": lambda message: str(message.bank_payment_ref),
}
SERVICES: dict[str, Service] = {
    "/v1/activations": activation.start,
    "/v1/activations/confirm": activation.confirm,
    "/v1/bills/inquiry": billing.inquire,
    "/v1/fees/quote": billing.quote,
    "/v1/payments": payments.notify,
    "/v1/payments/reversal": payments.reverse,
    "/v1/payments/status": payments.status,
    "/v1/reconciliation/statement": statement.statement,
}


def build_app(rt: Runtime) -> web.Application:
    # The body limit is enforced per route with the contract's error; aiohttp's own
    # limit only has to be above it.
    app = web.Application(
        middlewares=[request_context], client_max_size=rt.settings.max_body_bytes * 4
    )
    app[RUNTIME] = rt
    for path, service in SERVICES.items():
        route = Route(OPERATIONS[path], service, EVIDENCE.get(path))
        app.router.add_route("*", path, handler(route))
    internal.add_routes(app, sandbox=rt.settings.sandbox)
    ops.add_routes(app)
    console.add_routes(app)
    app.cleanup_ctx.append(_housekeeping)
    app.cleanup_ctx.append(partner_refresh.keep_fresh)
    app.on_cleanup.append(_close_store)
    return app


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """Forget stored answers past the retention window, every `purge_interval_s`."""
    task = asyncio.create_task(_purge_forever(app[RUNTIME]))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _purge_forever(rt: Runtime) -> None:
    log = structlog.get_logger("bank_adapter.housekeeping")
    while True:
        await asyncio.sleep(rt.settings.purge_interval_s)
        cutoff = rt.clock() - timedelta(days=rt.settings.message_retention_days)
        try:
            async with rt.store.write() as tx:
                purged = await tx.purge_answers(cutoff)
            log.info("purged_stored_answers", count=purged, older_than=cutoff.isoformat())
        except (SQLAlchemyError, OSError) as exc:
            # The database is down; readiness reports it. Try again next round.
            log.warning("purge_failed", error=type(exc).__name__)


async def _close_store(app: web.Application) -> None:
    await app[RUNTIME].store.close()
