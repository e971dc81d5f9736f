"""The one place where exceptions become responses, plus request ids and access logs.

Partner paths answer their own errors (signed, in the partner's format). Everything
else that escapes a handler ends here: AdapterError from the internal API becomes an
unsigned problem+json (the bearer token guards that API), routing errors and crashes
become a JWS-signed problem, never a stack trace.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from bank_adapter.errors import AdapterError, Code
from bank_adapter.web import replies
from bank_adapter.web.partner_api import to_aiohttp
from bank_adapter.web.runtime import RUNTIME

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = structlog.get_logger("bank_adapter.access")

INTERNAL = AdapterError(Code.INTERNAL_ERROR, "internal error; nothing was recorded")
_ROUTING_CODES = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 413: Code.PAYLOAD_TOO_LARGE}


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id[:64])
    started = time.perf_counter()
    response = await _answer_errors(request, handler)
    response.headers["X-Request-Id"] = request_id[:64]
    log.info(
        "http_access",
        method=request.method,
        path=request.path,
        status=response.status,
        ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return response


async def _answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    try:
        return await handler(request)
    except AdapterError as err:
        return to_aiohttp(replies.unsigned_problem(err.code, err.detail, rt.clock()))
    except web.HTTPException as exc:
        routing = AdapterError(_ROUTING_CODES.get(exc.status, Code.NOT_FOUND), exc.reason)
        return to_aiohttp(replies.failure(rt, None, routing, None, rt.clock()))
    except Exception:
        log.exception("unhandled_error")
        return to_aiohttp(replies.failure(rt, None, INTERNAL, None, rt.clock()))
