"""Keeps `Runtime.partner_states` current (see `partner_state`) and exports it as a gauge.

Registered as an aiohttp cleanup context: the first read happens before the service
takes requests; then a background task reads the table every `REFRESH_INTERVAL_S`. While
the database does not answer, the last states read stay in force (requests fail with 503
then anyway) and one warning is logged, not one per second.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Final

import structlog
from aiohttp import web
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from sqlalchemy.exc import SQLAlchemyError

from bank_adapter.console.partner_state import REFRESH_INTERVAL_S, PartnerStates, load
from bank_adapter.console.reads import read_only
from bank_adapter.partners import Partner
from bank_adapter.web.runtime import RUNTIME, Runtime

READ_TIMEOUT_S: Final = 5.0

log = structlog.get_logger("bank_adapter.partner_states")


class SuspendedGauge:
    """`bank_adapter_partner_suspended{partner}`: 1 while suspended, else 0, as the
    pipeline sees it now (file default or runtime decision)."""

    def __init__(self, partners: Mapping[str, Partner], states: PartnerStates) -> None:
        self._partners = partners
        self._states = states

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            "bank_adapter_partner_suspended",
            "1 while the partner is suspended (partner file or runtime decision), else 0.",
            labels=["partner"],
        )
        for partner_id, partner in sorted(self._partners.items()):
            gauge.add_metric([partner_id], 1.0 if self._states.suspended(partner) else 0.0)
        yield gauge


async def keep_fresh(app: web.Application) -> AsyncIterator[None]:
    rt = app[RUNTIME]
    rt.metrics.computed.register(SuspendedGauge(rt.partners, rt.partner_states))
    await refresh(rt)
    task = asyncio.create_task(_refresh_forever(rt))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def refresh(rt: Runtime) -> bool:
    """Read the table once; False (and the states kept) if the database did not answer."""
    try:
        async with read_only(rt.store.engine) as conn:
            states = await asyncio.wait_for(load(conn), READ_TIMEOUT_S)
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        log.debug("partner_states_unread", error=type(exc).__name__)
        return False
    rt.partner_states.merge(states)
    return True


async def _refresh_forever(rt: Runtime) -> None:
    healthy = True
    while True:
        await asyncio.sleep(REFRESH_INTERVAL_S)
        ok = await refresh(rt)
        if ok != healthy:
            if ok:
                log.info("partner_states_refreshed_again")
            else:
                log.warning("partner_states_refresh_failing", keeping="the last states read")
            healthy = ok
