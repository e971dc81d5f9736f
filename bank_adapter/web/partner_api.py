"""The partner request pipeline (contract sections 1-3).

Theory of operation. Each request goes through these steps, and the first that fails
answers with its contract code:

1. partner known (`X-Partner-Id`), not suspended, within its rate limit;
2. body at most `max_body_bytes` (413), in the partner's format (415);
3. signature, by the partner's profile, against the partner's own keys only;
4. the MessageId is read from what was verified, and the message decoded (pure work,
   done before the storage is involved);
5. one unit of work (`Store.decide`, group-committed with its neighbours): if this
   partner already has a final answer stored for the MessageId, that answer is returned
   byte for byte (same body) or 409 MESSAGE_ID_REUSED (other body), before freshness,
   so retries of old messages still get their answer. Otherwise the schema's verdict,
   freshness, channel, the service's rules and writes, the signed answer and its
   storage. The answer leaves only after its batch's commit, so no 2xx is ever sent
   for something not durably recorded; if the commit fails the answer is a 503.

Errors before step 4 are not stored (nothing verified names the message); 5xx answers
never are, so a retry after one is processed afresh. Every answer names the request's
MessageId in InReplyTo when one can be read from the body, even an unverified one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

import aiohttp
from aiohttp import web
from multidict import CIMultiDictProxy

from bank_adapter.conformance.hook import REQUEST_WIRE
from bank_adapter.core import codec_json, codec_xml, xmldsig
from bank_adapter.core.limits import REQUEST_XML
from bank_adapter.core.messages import ActivationResponse, Answer, Operation, PartnerRequest
from bank_adapter.core.signing import Verified, VerifyPolicy
from bank_adapter.core.wire import WireRequest, WireResponse
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code
from bank_adapter.partners import Partner
from bank_adapter.services.context import CallContext
from bank_adapter.services.storage import Evidence, StorageUnavailable, StoredAnswer, Tx
from bank_adapter.web import replies
from bank_adapter.web.runtime import RUNTIME, Runtime

RequestT = TypeVar("RequestT", bound=PartnerRequest)
Service = Callable[[CallContext, Tx, RequestT], Awaitable[Answer]]

_SINGLE_HEADERS = frozenset(
    {
        "x-partner-id", "content-type", "content-digest", "x-jws-signature",
        "signature", "signature-input",
    }
)  # fmt: skip
UNAVAILABLE = AdapterError(Code.SERVICE_UNAVAILABLE, "storage unavailable; nothing was recorded")
# What the access log line of a partner request says besides method, path and status.
OUTCOME = web.RequestKey("outcome", dict)


@dataclass(frozen=True, slots=True)
class Route(Generic[RequestT]):
    operation: Operation[RequestT]
    service: Service[RequestT]
    # For operations whose accepted requests are kept as evidence: the reference to
    # file them under.
    evidence: Callable[[RequestT], str] | None = None


@dataclass
class _Exchange:
    """What is known so far about a request, for answering an error properly."""

    partner: Partner | None = None
    body: bytes | None = None
    in_reply_to: UUID | None = None
    code: str = "OK"
    otp_sent: bool = False  # by the decision that committed (not a replay)


@dataclass(frozen=True, slots=True)
class _Draft(Generic[RequestT]):
    """A verified message: its id, and its decoding (or the schema's refusal of it)."""

    partner: Partner
    wire: WireRequest
    message_id: UUID
    body_sha256: str
    message: RequestT | None
    refusal: AdapterError | None


def handler(route: Route[Any]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        rt = request.app[RUNTIME]
        started = time.perf_counter()
        exchange = _Exchange()
        try:
            answer = await _process(rt, route, request, exchange)
        except AdapterError as err:
            answer = await _failure(rt, request, exchange, err)
        except StorageUnavailable:
            answer = await _failure(rt, request, exchange, UNAVAILABLE)
        _observe(rt, route, request, exchange, answer, time.perf_counter() - started)
        return to_aiohttp(answer)

    return handle


async def _process(
    rt: Runtime, route: Route[Any], request: web.Request, exchange: _Exchange
) -> WireResponse:
    partner = _partner(rt, request)
    # Known from here on: every error below is answered in this partner's own profile.
    exchange.partner = partner
    if request.rel_url.raw_path != route.operation.path:
        # Only the contract's paths, byte for byte: a percent-encoded spelling that the
        # router decoded onto one is no path of the contract (and no signature was made
        # over the decoded form it would otherwise be checked against).
        raise AdapterError(Code.NOT_FOUND, "no such path; paths are sent exactly as listed")
    _admit(rt, partner)
    if request.method != "POST":
        raise AdapterError(Code.METHOD_NOT_ALLOWED, "partner operations are POST")
    exchange.body = await read_body_within(request, rt.settings.max_body_bytes)
    _check_format(request, partner)
    wire = WireRequest(request.method, route.operation.path, _lower(request.headers), exchange.body)
    request[REQUEST_WIRE] = wire  # read by the conformance kit only (sandbox)
    policy = VerifyPolicy(partner.keys, partner.algorithms, rt.clock())
    verified = rt.profiles[partner.signature].verify_request(wire, policy)
    draft = _draft(partner, route.operation, wire, verified)
    exchange.in_reply_to = draft.message_id

    async def decide(tx: Tx) -> WireResponse:
        return await _decide_and_record(rt, route, draft, tx, exchange)

    answer = await rt.store.decide(decide)
    if exchange.otp_sent:  # counted once committed: the SMS is in the outbox
        rt.metrics.otps_sent.labels(partner.id).inc()
    return answer


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


async def read_body_within(request: web.Request, limit: int) -> bytes:
    """The whole body, read in chunks, or PAYLOAD_TOO_LARGE past `limit` (also chunked)."""
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


def _draft(
    partner: Partner, op: Operation[RequestT], wire: WireRequest, verified: Verified
) -> _Draft[RequestT]:
    digest = hashlib.sha256(verified.body).hexdigest()
    if partner.format == "json":
        data = codec_json.decode_json(verified.body)
        message_id = codec_json.peek_message_id(data)
        decode: Callable[[], RequestT] = lambda: codec_json.validate(op.request_model, data)  # noqa: E731
    else:
        root = verified.xml_root
        if root is None:  # http-sig: the body was verified as bytes, parsed here
            root = parse_xml(verified.body, REQUEST_XML)
        if partner.signature == "xmldsig":
            # The root element binds an XML-DSig signature to its operation.
            xmldsig.check_operation(root, op.request_root, op.path)
        message_id = codec_xml.peek_message_id(root)
        decode = lambda: codec_xml.decode_xml(root, op.request_model, op.request_root)  # noqa: E731
    try:
        message, refusal = decode(), None
    except AdapterError as err:
        message, refusal = None, err
    if message_id is None:
        raise refusal or AdapterError(Code.SCHEMA_INVALID, "messageId: missing or not a UUID")
    return _Draft(partner, wire, message_id, digest, message, refusal)


async def _decide_and_record(
    rt: Runtime, route: Route[RequestT], draft: _Draft[RequestT], tx: Tx, exchange: _Exchange
) -> WireResponse:
    message_id = str(draft.message_id)
    stored = await tx.answer(draft.partner.id, message_id)
    if stored is not None:
        return _replay(rt, draft, stored, exchange)
    now = rt.clock()
    exchange.otp_sent = False  # this attempt's decision only (a unit may be decided again)
    try:
        message = _admitted(rt, draft, now)
        model = await route.service(_context(rt, draft, now), tx, message)
        exchange.otp_sent = isinstance(model, ActivationResponse) and model.status == "OTP_SENT"
        answer = replies.success(rt, draft.partner, route.operation, model, now)
        if route.evidence is not None:
            tx.add_evidence(_evidence(route, draft, message, now))
    except AdapterError as err:
        exchange.code = err.code.value
        answer = replies.failure(rt, draft.partner, err, draft.message_id, now)
    if answer.status < 500:
        stored_answer = StoredAnswer(
            draft.body_sha256, answer.status, answer.content_type, answer.headers, answer.body
        )
        tx.save_answer(draft.partner.id, message_id, stored_answer, now)
    return answer


def _replay(
    rt: Runtime, draft: _Draft[Any], stored: StoredAnswer, exchange: _Exchange
) -> WireResponse:
    if stored.body_sha256 != draft.body_sha256:
        raise AdapterError(Code.MESSAGE_ID_REUSED, "this MessageId was used for another message")
    rt.metrics.replays.labels(draft.partner.id).inc()
    exchange.code = "REPLAYED"
    return WireResponse(stored.status, stored.content_type, stored.body, stored.headers)


def _admitted(rt: Runtime, draft: _Draft[RequestT], now: Any) -> RequestT:
    """The message, if its schema, freshness and channel admit it."""
    if draft.message is None:
        assert draft.refusal is not None
        raise draft.refusal
    message = draft.message
    if abs(message.timestamp - now) > timedelta(seconds=rt.settings.max_clock_skew_s):
        raise AdapterError(
            Code.STALE_MESSAGE,
            f"timestamp is more than {rt.settings.max_clock_skew_s} s from the adapter's clock",
        )
    if message.channel.value not in draft.partner.channels:
        raise AdapterError(
            Code.CHANNEL_NOT_ALLOWED,
            f"channel {message.channel.value} is not allowed for this partner",
        )
    return message


def _context(rt: Runtime, draft: _Draft[Any], now: Any) -> CallContext:
    return CallContext(
        draft.partner,
        now,
        draft.message_id,
        rt.otp_key,
        rt.fees,
        rt.page_token_key,
        rt.settings.otp_max_per_hour,
    )


def _evidence(route: Route[RequestT], draft: _Draft[Any], message: RequestT, now: Any) -> Evidence:
    assert route.evidence is not None
    wire = draft.wire
    return Evidence(
        partner_id=draft.partner.id,
        bank_payment_ref=route.evidence(message),
        operation=route.operation.name,
        message_id=str(message.message_id),
        method=wire.method,
        path=wire.path,
        headers=wire.headers,
        body=wire.body,
        received_at=now,
    )


async def _failure(
    rt: Runtime, request: web.Request, exchange: _Exchange, err: AdapterError
) -> WireResponse:
    exchange.code = err.code.value
    if exchange.in_reply_to is None:
        exchange.in_reply_to = await _readable_message_id(rt, request, exchange)
    return replies.failure(rt, exchange.partner, err, exchange.in_reply_to, rt.clock())


async def _readable_message_id(
    rt: Runtime, request: web.Request, exchange: _Exchange
) -> UUID | None:
    """The MessageId an unverified body names, for InReplyTo on early answers."""
    if exchange.body is None:
        try:
            exchange.body = await read_body_within(request, rt.settings.max_body_bytes)
        except AdapterError:
            return None
    body = exchange.body.lstrip()
    try:
        if body.startswith(b"<"):
            return codec_xml.peek_message_id(parse_xml(body, REQUEST_XML))
        return codec_json.peek_message_id(codec_json.decode_json(body))
    except AdapterError:
        return None


def _observe(
    rt: Runtime,
    route: Route[Any],
    request: web.Request,
    exchange: _Exchange,
    answer: WireResponse,
    seconds: float,
) -> None:
    code = "OK" if answer.status < 300 else exchange.code
    partner = exchange.partner.id if exchange.partner is not None else "-"
    rt.metrics.observe_request(partner, route.operation.name, code, seconds)
    outcome = {"partner": partner, "operation": route.operation.name, "code": code}
    if exchange.in_reply_to is not None:
        outcome["message_id"] = str(exchange.in_reply_to)
    request[OUTCOME] = outcome


def to_aiohttp(answer: WireResponse) -> web.Response:
    headers = {"Content-Type": answer.content_type}
    headers.update(answer.headers)
    return web.Response(status=answer.status, body=answer.body, headers=headers)
