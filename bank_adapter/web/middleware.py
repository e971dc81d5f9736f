"""The one place where exceptions become responses, plus request ids and the access log.

Partner paths answer their own errors (signed, in the partner's format). Everything
else that escapes a handler ends here: AdapterError from the internal API becomes an
unsigned problem+json (the bearer token guards that API), a storage outage a 503
problem+json, routing errors a JWS-signed problem, and crashes an error signed in the
claimed partner's profile (a JWS-signed problem when it names none): never a stack trace.

One log line per request (`request`), with what the partner pipeline learnt about it
(partner, operation, contract code); health probes log at debug level.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from bank_adapter.core.messages import OPERATIONS
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services.storage import StorageUnavailable
from bank_adapter.web import replies
from bank_adapter.web.partner_api import OUTCOME, UNAVAILABLE, to_aiohttp
from bank_adapter.web.runtime import RUNTIME

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = structlog.get_logger("bank_adapter.access")

INTERNAL = AdapterError(Code.INTERNAL_ERROR, "internal error; nothing was recorded")
_ROUTING_CODES = {404: Code.NOT_FOUND, 405: Code.METHOD_NOT_ALLOWED, 413: Code.PAYLOAD_TOO_LARGE}
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


# Generated request ids have no digits: ten in a row would be masked in the logs as
# ID-shaped, and the logged id would no longer match the X-Request-Id answered.
_DIGITS_TO_LETTERS = str.maketrans("0123456789", "ghijklmnop")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = _request_id(request.headers.get("X-Request-Id"))
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    partner = _claimed_partner(request)
    if partner is not None:
        structlog.contextvars.bind_contextvars(partner=partner)
    started = time.perf_counter()
    response = await _answer_errors(request, handler)
    response.headers["X-Request-Id"] = request_id
    write = log.debug if request.path in PROBES else log.info
    write(
        "request",
        method=request.method,
        path=request.path,
        status=response.status,
        ms=round((time.perf_counter() - started) * 1000, 2),
        **request.get(OUTCOME, {}),
    )
    return response


def _request_id(given: str | None) -> str:
    """The caller's id when it is a plain token (so what is logged and echoed is never
    someone's text: no spaces, quotes or log syntax), else a new one."""
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return new_request_id()


def new_request_id() -> str:
    return uuid.uuid4().hex.translate(_DIGITS_TO_LETTERS)


def _claimed_partner(request: web.Request) -> str | None:
    """The partner a partner-API request is about, for every log line about it, also
    when it is refused before the pipeline knows it (suspended, rate-limited, unknown:
    "-"). The pipeline binds the same id once the partner is looked up."""
    claimed = request.headers.get("X-Partner-Id")
    if claimed is None and request.path not in OPERATIONS:
        return None
    return claimed if claimed in request.app[RUNTIME].partners else "-"


async def _answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    rt = request.app[RUNTIME]
    try:
        return await handler(request)
    except AdapterError as err:
        return to_aiohttp(replies.unsigned_problem(err.code, err.detail, rt.clock()))
    except StorageUnavailable as exc:
        # The internal API's storage is down: nothing was recorded, safe to retry.
        log.error("storage_unavailable", error=str(exc)[:200])
        return to_aiohttp(
            replies.unsigned_problem(UNAVAILABLE.code, UNAVAILABLE.detail, rt.clock())
        )
    except web.HTTPException as exc:
        routing = AdapterError(_ROUTING_CODES.get(exc.status, Code.NOT_FOUND), exc.reason)
        return to_aiohttp(replies.failure(rt, None, routing, None, rt.clock()))
    except Exception:
        log.exception("unhandled_error")
        # Signed in the partner's own profile, so its SDK can verify even a crash.
        partner = rt.partners.get(request.headers.get("X-Partner-Id", ""))
        return to_aiohttp(replies.failure(rt, partner, INTERNAL, None, rt.clock()))
