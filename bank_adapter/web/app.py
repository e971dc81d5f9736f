"""The aiohttp application: routes and middleware around a `Runtime`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from bank_adapter.console import partner_refresh
from bank_adapter.console import routes as console
from bank_adapter.core import messages as op
from bank_adapter.services import activation, billing, payments, statement
from bank_adapter.services.storage import StorageUnavailable
from bank_adapter.web import diagnose, home, internal, ops, server_header
from bank_adapter.web.listener_split import listener_split
from bank_adapter.web.middleware import request_context
from bank_adapter.web.partner_api import Route, handler
from bank_adapter.web.runtime import RUNTIME, Runtime

# Each operation of the contract's table wired to its service; mypy checks that every
# service takes its operation's request model.
ROUTES: tuple[Route[Any], ...] = (
    Route(op.ACTIVATION, activation.start),
    Route(op.ACTIVATION_CONFIRM, activation.confirm),
    Route(op.BILL_INQUIRY, billing.inquire),
    Route(op.FEE_QUOTE, billing.quote),
    Route(op.PAYMENT, payments.notify, lambda message: message.bank_payment_ref),
    Route(op.PAYMENT_REVERSAL, payments.reverse, lambda message: message.bank_payment_ref),
    Route(op.PAYMENT_STATUS, payments.status),
    Route(op.STATEMENT, statement.statement),
)


def build_app(rt: Runtime) -> web.Application:
    # The body limit is enforced per route with the contract's error; aiohttp's own
    # limit only has to be above it.
    middlewares: list[Middleware] = [request_context]
    if rt.settings.admin_port is not None:
        middlewares.append(listener_split(rt.settings.admin_port))
    app = web.Application(middlewares=middlewares, client_max_size=rt.settings.max_body_bytes * 4)
    app[RUNTIME] = rt
    for route in ROUTES:
        app.router.add_route("*", route.operation.path, handler(route))
    internal.add_routes(app, sandbox=rt.settings.sandbox)
    ops.add_routes(app)
    diagnose.add_routes(app)
    home.add_routes(app, sandbox=rt.settings.sandbox, admin_port=rt.settings.admin_port)
    server_header.install(app)
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
        except StorageUnavailable as exc:
            # The database is down; readiness reports it. Try again next round.
            log.warning("purge_failed", error=str(exc)[:200])


async def _close_store(app: web.Application) -> None:
    await app[RUNTIME].store.close()
