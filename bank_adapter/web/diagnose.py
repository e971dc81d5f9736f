"""`POST /sandbox/v1/diagnose` (contract section 10): signature diagnostics for banks.

Sandbox mode only; without it the path is not routed and answers 404 like any other.
The answer is unsigned JSON. Nothing is recorded, no rate limit is spent, nothing a real
request would see changes: the handler reads the request and calls the pure core.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bank_adapter.core.diagnose import diagnose, lower_headers
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError, Code
from bank_adapter.web.internal import read_body
from bank_adapter.web.runtime import RUNTIME

PATH = "/sandbox/v1/diagnose"
PATH_HEADER = "X-Diagnose-Path"


async def handle(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    path = _operation_path(request.headers.getall(PATH_HEADER, []))
    body = await read_body(request)
    headers, repeated = lower_headers(request.headers.items())
    wire = WireRequest(request.method, path, headers, body)
    # Off the loop: diagnosis tries several signatures and canonicalisations.
    diagnosis = await asyncio.to_thread(
        diagnose,
        wire,
        rt.partners,
        rt.clock(),
        repeated_headers=repeated,
        target=request.rel_url.raw_path_qs,
    )
    return web.json_response(diagnosis.as_json())


def _operation_path(values: list[str]) -> str:
    if len(values) != 1 or values[0] not in OPERATIONS:
        raise AdapterError(
            Code.SCHEMA_INVALID,
            f"{PATH_HEADER} must be given once and name an operation path: "
            + ", ".join(OPERATIONS),
        )
    return values[0]


def add_routes(app: web.Application) -> None:
    if app[RUNTIME].settings.sandbox:
        app.router.add_post(PATH, handle)
