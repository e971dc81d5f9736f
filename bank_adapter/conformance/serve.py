"""`bank-adapter conformance serve`: a sandbox for one bank, on a fresh database.

The database is an SQLite file in a temporary directory made for the run and removed
when it stops, whatever `BANK_ADAPTER_DATABASE_URL` says: every run starts from the
same empty state, and a kit pointed by mistake at a real database cannot seed fixtures
into it. Everything else is read as `serve` reads it (host, TLS, signing key, limits);
sandbox mode is on, and the only partner is the one of `--partner-file`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import signal
import tempfile
from pathlib import Path

from aiohttp import web

from bank_adapter.clock import Clock
from bank_adapter.conformance.fixtures import Fixtures, new_fixtures, seed
from bank_adapter.conformance.observe import install
from bank_adapter.logging import get_logger
from bank_adapter.partners import load_partner
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime
from bank_adapter.web.tls import server_context


async def build_kit(
    settings: Settings, partner_file: Path, clock: Clock, workdir: Path
) -> tuple[web.Application, Fixtures]:
    """The service's app for the partner of `partner_file`, seeded and observed."""
    partner = load_partner(partner_file, sandbox=True)
    partners_dir = workdir / "partners"  # empty: the partner comes from its own file
    partners_dir.mkdir(parents=True, exist_ok=True)
    settings = dataclasses.replace(
        settings,
        sandbox=True,
        database_url=f"sqlite:///{workdir / 'conformance.db'}",
        partners_dir=partners_dir,
    )
    runtime = dataclasses.replace(build_runtime(settings, clock), partners={partner.id: partner})
    await migrate.upgrade(runtime.store.engine)
    fixtures = new_fixtures(partner, clock())
    await seed(runtime.store, fixtures, clock())
    app = build_app(runtime)
    install(app, fixtures)
    return app, fixtures


def serve(settings: Settings, partner_file: Path, port: int, clock: Clock) -> None:
    with tempfile.TemporaryDirectory(prefix="bank-adapter-conformance-") as workdir:
        asyncio.run(_run(settings, partner_file, port, clock, Path(workdir)))


async def _run(
    settings: Settings, partner_file: Path, port: int, clock: Clock, workdir: Path
) -> None:
    app, fixtures = await build_kit(settings, partner_file, clock, workdir)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, port, ssl_context=server_context(settings))
    await site.start()
    get_logger("bank_adapter.conformance").info(
        "conformance_serving", host=settings.host, port=port, partner=fixtures.partner
    )
    print(json.dumps(fixtures.document()), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()
