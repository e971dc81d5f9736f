"""The partner request pipeline (contract sections 1-3).

Theory of operation. Each request goes through these steps, and the first that fails
answers with its contract code:

1. partner known (`X-Partner-Id`), not suspended, within its rate limit;
2. body at most `max_body_bytes` (413), in the partner's format (415);
3. signature, by the partner's profile, against the partner's own keys only;
4. the MessageId is read from what was verified;
5. in ONE write transaction: if this partner already has a final answer stored for the
   MessageId, that answer is returned byte for byte (same body) or 409
   MESSAGE_ID_REUSED (other body), before freshness, so retries of old messages still
   get their answer. Otherwise the schema, freshness, channel, the service's rules and
   writes, the signed answer and its storage. The answer leaves only after the commit,
   so no 2xx is ever sent for something not durably recorded. A concurrent twin that
   loses a unique-constraint race (same MessageId, same payment, same bill) rolls back
   whole and is decided again, finding the winner's answer or state.

Errors before step 4 are not stored (nothing verified names the message); 5xx answers
never are, so a retry after one is processed afresh.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import aiohttp
import structlog
from aiohttp import web
from multidict import CIMultiDictProxy
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.messages import Operation, PartnerRequest
from bank_adapter.core.signing import Verified, VerifyPolicy
from bank_adapter.core.wire import WireRequest, WireResponse
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code
from bank_adapter.partners import Partner
from bank_adapter.services.context import CallContext
from bank_adapter.store.repository import DecideAgain, StoredAnswer, Tx
from bank_adapter.web import replies
from bank_adapter.web.runtime import RUNTIME, Runtime

Service = Callable[[CallContext, Tx, Any], Awaitable[BaseModel]]

log = structlog.get_logger("bank_adapter.partner_api")

_SINGLE_HEADERS = frozenset(
    {
        "x-partner-id", "content-type", "content-digest", "x-jws-signature",
        "signature", "signature-input",
    }
)  # fmt: skip
DECIDE_ATTEMPTS = 5
UNAVAILABLE = AdapterError(Code.SERVICE_UNAVAILABLE, "storage unavailable; nothing was recorded")


@dataclass(frozen=True, slots=True)
class Route:
    operation: Operation
    service: Service
    # For operations whose accepted requests are kept as evidence: the reference to
    # file them under.
    evidence: Callable[[Any], str] | None = None


@dataclass
class _Exchange:
    """What is known so far about a request, for answering an error properly."""

    partner: Partner | None = None
    in_reply_to: UUID | None = None
    code: str = "OK"


@dataclass(frozen=True, slots=True)
class _Draft:
    """A verified message, parsed but not yet validated against its schema."""

    partner: Partner
    operation: Operation
    wire: WireRequest
    message_id: UUID | None
    body_sha256: str
    decode: Callable[[], PartnerRequest]


def handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        rt = request.app[RUNTIME]
        started = time.perf_counter()
        exchange = _Exchange()
        try:
            answer = await _process(rt, route, request, exchange)
        except AdapterError as err:
            exchange.code = err.code.value
            answer = replies.failure(rt, exchange.partner, err, exchange.in_reply_to, rt.clock())
        except (SQLAlchemyError, OSError) as exc:
            log.error("storage_unavailable", error=type(exc).__name__)
            exchange.code = UNAVAILABLE.code.value
            answer = replies.failure(
                rt, exchange.partner, UNAVAILABLE, exchange.in_reply_to, rt.clock()
            )
        _observe(rt, route, exchange, answer, time.perf_counter() - started)
        return to_aiohttp(answer)

    return handle


async def _process(
    rt: Runtime, route: Route, request: web.Request, exchange: _Exchange
) -> WireResponse:
    partner = _partner(rt, request)
    # Known from here on: every error below is answered in this partner's own profile.
    exchange.partner = partner
    structlog.contextvars.bind_contextvars(partner=partner.id)
    _admit(rt, partner)
    if request.method != "POST":
        raise AdapterError(Code.METHOD_NOT_ALLOWED, "partner operations are POST")
    body = await _read_body(request, rt.settings.max_body_bytes)
    _check_format(request, partner)
    now = rt.clock()
    # RFC 9421 @path is the path as sent, not percent-decoded.
    wire = WireRequest(request.method, request.rel_url.raw_path, _lower(request.headers), body)
    policy = VerifyPolicy(partner.keys, partner.algorithms, now)
    verified = rt.profiles[partner.signature].verify_request(wire, policy)
    draft = _draft(partner, route.operation, wire, verified)
    if draft.message_id is None:
        draft.decode()  # raises SCHEMA_INVALID naming messageId
        raise AdapterError(Code.SCHEMA_INVALID, "messageId: missing or not a UUID")
    exchange.in_reply_to = draft.message_id
    structlog.contextvars.bind_contextvars(message_id=str(draft.message_id))
    return await _answer(rt, route, draft, exchange)


def _partner(rt: Runtime, request: web.Request) -> Partner:
    ids = request.headers.getall("X-Partner-Id", [])
    if len(ids) > 1:
        raise AdapterError(Code.UNKNOWN_PARTNER, "X-Partner-Id appears more than once")
    partner_id = ids[0] if ids else None
    if not partner_id:
        raise AdapterError(Code.UNKNOWN_PARTNER, "X-Partner-Id header is missing")
    partner = rt.partners.get(partner_id)
    if partner is None:
        raise AdapterError(Code.UNKNOWN_PARTNER, "X-Partner-Id names no registered partner")
    return partner


def _admit(rt: Runtime, partner: Partner) -> None:
    if rt.partner_states.suspended(partner):
        raise AdapterError(Code.PARTNER_SUSPENDED, "this partner is suspended")
    if partner.rate_limit is not None:
        wait = rt.limiter.retry_after(partner.id, partner.rate_limit, time.monotonic())
        if wait is not None:
            raise AdapterError(Code.RATE_LIMITED, "request rate limit reached", retry_after=wait)


async def _read_body(request: web.Request, limit: int) -> bytes:
    too_large = AdapterError(Code.PAYLOAD_TOO_LARGE, f"request bodies are limited to {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except (ConnectionError, aiohttp.ClientPayloadError):
        # The bank hung up mid-body; not a storage failure, and nobody reads the answer.
        raise AdapterError(Code.MALFORMED_MESSAGE, "the request body was cut off") from None
    return b"".join(chunks)


def _check_format(request: web.Request, partner: Partner) -> None:
    if request.content_type != partner.content_type:
        raise AdapterError(
            Code.FORMAT_NOT_ALLOWED, f"this partner sends {partner.content_type} only"
        )


def _lower(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """Header names in lower case; a repeated security header is refused, not merged,
    so no two readers of the request can disagree on which value counts."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        if key in lowered and key in _SINGLE_HEADERS:
            raise AdapterError(Code.SIGNATURE_INVALID, f"header {name} appears more than once")
        lowered[key] = value
    return lowered


def _draft(partner: Partner, op: Operation, wire: WireRequest, verified: Verified) -> _Draft:
    digest = hashlib.sha256(verified.body).hexdigest()
    if partner.format == "json":
        data = codec_json.decode_json(verified.body)
        return _Draft(
            partner, op, wire, codec_json.peek_message_id(data), digest,
            lambda: codec_json.validate(op.request_model, data),
        )  # fmt: skip
    root = verified.xml_root if verified.xml_root is not None else parse_xml(verified.body)
    if partner.signature == "xmldsig" and root.tag != f"{{{codec_xml.NAMESPACE}}}{op.request_root}":
        # With XML-DSig the root element is what binds the signature to the operation,
        # as htm/htu do for JWS and @path for HTTP signatures.
        raise AdapterError(
            Code.SIGNATURE_INVALID, f"the message was signed for another operation than {op.path}"
        )
    return _Draft(
        partner, op, wire, codec_xml.peek_message_id(root), digest,
        lambda: codec_xml.decode_xml(root, op.request_model, op.request_root),
    )  # fmt: skip


async def _answer(rt: Runtime, route: Route, draft: _Draft, exchange: _Exchange) -> WireResponse:
    assert draft.message_id is not None
    message_id = str(draft.message_id)
    for _ in range(DECIDE_ATTEMPTS):
        try:
            return await _decide_and_record(rt, route, draft, message_id, exchange)
        except DecideAgain as exc:
            # A concurrent transaction committed first (same MessageId, same payment,
            # same bill): this one rolled back whole; decide again on what is there now.
            log.info("decided_again", reason=str(exc)[:200])
    raise UNAVAILABLE


def _replay(rt: Runtime, draft: _Draft, stored: StoredAnswer, exchange: _Exchange) -> WireResponse:
    if stored.body_sha256 != draft.body_sha256:
        raise AdapterError(Code.MESSAGE_ID_REUSED, "this MessageId was used for another message")
    rt.metrics.replays.labels(draft.partner.id).inc()
    exchange.code = "REPLAYED"
    return WireResponse(stored.status, stored.content_type, stored.body, stored.headers)


async def _decide_and_record(
    rt: Runtime, route: Route, draft: _Draft, message_id: str, exchange: _Exchange
) -> WireResponse:
    async with rt.store.write() as tx:
        stored = await tx.answer(draft.partner.id, message_id)
        if stored is not None:
            return _replay(rt, draft, stored, exchange)
        now = rt.clock()
        try:
            message, model = await _decide(rt, route, draft, tx, now)
            answer = replies.success(rt, draft.partner, route.operation, model, now)
            if route.evidence is not None:
                await _keep_evidence(tx, route, draft, message, now)
        except AdapterError as err:
            exchange.code = err.code.value
            answer = replies.failure(rt, draft.partner, err, draft.message_id, now)
        if answer.status < 500:
            stored_answer = StoredAnswer(
                draft.body_sha256, answer.status, answer.content_type, answer.headers, answer.body
            )
            await tx.save_answer(draft.partner.id, message_id, stored_answer, now)
    return answer


async def _keep_evidence(
    tx: Tx, route: Route, draft: _Draft, message: PartnerRequest, now: datetime
) -> None:
    assert route.evidence is not None
    await tx.add_evidence(
        partner_id=draft.partner.id,
        bank_payment_ref=route.evidence(message),
        operation=route.operation.name,
        message_id=str(message.message_id),
        method=draft.wire.method,
        path=draft.wire.path,
        headers=draft.wire.headers,
        body=draft.wire.body,
        now=now,
    )


async def _decide(
    rt: Runtime, route: Route, draft: _Draft, tx: Tx, now: datetime
) -> tuple[PartnerRequest, BaseModel]:
    message = draft.decode()
    skew = timedelta(seconds=rt.settings.max_clock_skew_s)
    if abs(message.timestamp - now) > skew:
        raise AdapterError(
            Code.STALE_MESSAGE,
            f"timestamp is more than {rt.settings.max_clock_skew_s} s from the adapter's clock",
        )
    if message.channel.value not in draft.partner.channels:
        raise AdapterError(
            Code.CHANNEL_NOT_ALLOWED,
            f"channel {message.channel.value} is not allowed for this partner",
        )
    assert draft.message_id is not None
    ctx = CallContext(
        draft.partner, now, draft.message_id, rt.otp_key, rt.fees, rt.page_token_key, rt.clock
    )
    return message, await route.service(ctx, tx, message)


def _observe(
    rt: Runtime, route: Route, exchange: _Exchange, answer: WireResponse, seconds: float
) -> None:
    code = "OK" if answer.status < 300 else exchange.code
    partner = exchange.partner.id if exchange.partner is not None else "-"
    rt.metrics.requests.labels(partner, route.operation.name, code).inc()
    rt.metrics.latency.labels(route.operation.name).observe(seconds)
    log.info(
        "partner_request",
        operation=route.operation.name,
        status=answer.status,
        code=code,
        ms=round(seconds * 1000, 2),
    )


def to_aiohttp(answer: WireResponse) -> web.Response:
    headers = {"Content-Type": answer.content_type}
    headers.update(answer.headers)
    return web.Response(status=answer.status, body=answer.body, headers=headers)
