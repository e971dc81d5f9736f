"""Where the console is mounted: `/console/…` pages and the internal API's partner routes.

`add_routes(app)` is the one call `web/app.py` makes; the app's `Runtime` must be set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from bank_adapter.console import internal_partners
from bank_adapter.console.keyinfo import key_expiries
from bank_adapter.console.pages import audit_log, day_close, events, login, partners, payments
from bank_adapter.console.pages import today as today_page
from bank_adapter.console.reconcile_runs import Runs
from bank_adapter.console.session import session_key
from bank_adapter.console.shell import CONSOLE, ConsoleState, Page, page, static_file
from bank_adapter.web.runtime import RUNTIME

STATIC: Final = Path(__file__).parent / "static"


def add_routes(app: web.Application) -> None:
    rt = app[RUNTIME]
    app[CONSOLE] = ConsoleState(
        key=session_key(rt.settings.admin_token),
        idle_s=rt.settings.console_idle_timeout_s,
        started_at=rt.clock(),
        runs=Runs(rt.settings.var_dir / "console" / "reconcile", rt.settings.database_url),
        keys=key_expiries(rt.settings.partners_dir, rt.partners),
    )
    app.on_cleanup.append(_stop_runs)
    internal_partners.add_routes(app)
    router = app.router
    router.add_get("/console", login.root)
    router.add_get("/console/", login.root)
    router.add_get("/console/static/console.css", static_file(STATIC / "console.css", "text/css"))
    router.add_get("/console/login", login.login_form)
    router.add_post("/console/login", login.login)
    router.add_get("/console/lang/{lang}", login.switch_language)
    pages: list[tuple[str, str, Page]] = [
        ("POST", "/console/logout", login.logout),
        ("GET", "/console/today", today_page.today_page),
        ("GET", "/console/partners", partners.partners_page),
        ("POST", "/console/partners/{partner}/suspend", partners.suspend),
        ("POST", "/console/partners/{partner}/resume", partners.resume),
        ("GET", "/console/day-close", day_close.day_close_page),
        ("GET", "/console/reconcile/{run}", day_close.run_page),
        ("GET", "/console/reconcile/{run}/{file}", day_close.download),
        ("GET", "/console/payments", payments.search_page),
        ("GET", "/console/payments/{payment_id}", payments.payment_page),
        ("GET", "/console/evidence/{id}/{part}", payments.evidence_download),
        ("GET", "/console/events", events.events_page),
        ("GET", "/console/audit", audit_log.audit_page),
    ]
    for method, path, handler in pages:
        router.add_route(method, path, page(handler, login.error_page))
    # Read its own body: the upload is streamed, never parsed into memory as a form.
    upload = page(day_close.upload, login.error_page, parse_form=False)
    router.add_post("/console/reconcile", upload)
    router.add_route("*", "/console/{tail:.*}", page(login.not_found, login.error_page))


async def _stop_runs(app: web.Application) -> None:
    await app[CONSOLE].runs.close()
