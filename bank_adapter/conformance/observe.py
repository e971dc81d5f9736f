"""The kit inside a running server: a middleware that records every partner request's
outcome, the lost-answer fault, and the `/sandbox/v1/conformance/*` routes.

The middleware sits inside the service's own (`request_context`), so it sees each
partner answer after the pipeline decided, signed and stored it. It reads the request
the pipeline received (`hook.REQUEST_WIRE`) and the answer it is about to send, only to
classify them: nothing here changes an answer. The one exception is the fault: for the
first notification of the `lost_answer` bill that posts, it closes the connection
instead of answering. The payment is committed and its answer stored, so a retry with
the same BankPaymentRef (or the same message) gets it, as on a real network.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from aiohttp import web

from bank_adapter.conformance.fixtures import Fixtures
from bank_adapter.conformance.hook import REQUEST_WIRE
from bank_adapter.conformance.html import render_html
from bank_adapter.conformance.rules import Outcome, Record, Targets, report
from bank_adapter.core import codec_json
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError
from bank_adapter.web.internal import sms_outbox
from bank_adapter.web.runtime import RUNTIME

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PREFIX = "/sandbox/v1/conformance"
log = structlog.get_logger("bank_adapter.conformance")


class ConformanceRecorder:
    """What the kit knows: the fixtures and the record of outcomes."""

    def __init__(self, fixtures: Fixtures) -> None:
        self.fixtures = fixtures
        targets = Targets(
            payment_bill=fixtures.payment_bill.bill_number,
            lost_answer_bill=fixtures.lost_answer_bill.bill_number,
        )
        self.record = Record(targets)

    def observe(self, outcome: Outcome) -> None:
        self.record.add(outcome)

    def drop_answer(self, outcome: Outcome) -> bool:
        """Whether this (just observed) outcome's answer is the one to lose."""
        if not self.record.should_lose(outcome):
            return False
        self.record.lose()
        return True

    def keys_fetched(self) -> None:
        self.record.keys_fetched = True

    def report(self) -> dict[str, Any]:
        return report(self.fixtures.partner, self.record)


RECORDER = web.AppKey("conformance_recorder", ConformanceRecorder)


def install(app: web.Application, fixtures: Fixtures) -> None:
    """Add the kit to a service's app (before it starts)."""
    app[RECORDER] = ConformanceRecorder(fixtures)
    app.middlewares.append(observing)
    app.router.add_get(f"{PREFIX}/fixtures", _fixtures)
    app.router.add_get(f"{PREFIX}/sms", sms_outbox)
    app.router.add_get(f"{PREFIX}/report", _report)


@web.middleware
async def observing(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    recorder = request.app[RECORDER]
    if request.path == "/v1/keys" and response.status == 200:
        recorder.keys_fetched()
    elif request.path in OPERATIONS and isinstance(response, web.Response):
        outcome = outcome_of(request, response)
        recorder.observe(outcome)
        if recorder.drop_answer(outcome):
            _close_unanswered(request, outcome)
    return response


def outcome_of(request: web.Request, response: web.Response) -> Outcome:
    wire = request.get(REQUEST_WIRE)
    sent = _fields(wire.body, wire.header("content-type") or "") if wire is not None else {}
    body = response.body if isinstance(response.body, bytes) else b""
    return Outcome(request.path, response.status, sent, _fields(body, response.content_type))


def _fields(body: bytes, content_type: str) -> Mapping[str, Any]:
    """A message's top-level fields under their JSON names; {} when it does not parse."""
    try:
        if "xml" in content_type:
            root = parse_xml(body)
            return {
                _json_name(child.tag): child.text for child in root if isinstance(child.tag, str)
            }
        return codec_json.decode_json(body)
    except AdapterError:
        return {}


def _json_name(tag: str) -> str:
    local = tag.rpartition("}")[2]
    return local[:1].lower() + local[1:]


def _close_unanswered(request: web.Request, outcome: Outcome) -> None:
    log.info("conformance_answer_lost", message_id=outcome.message_id, path=outcome.path)
    transport = request.transport
    if transport is not None:
        transport.close()  # no status line: the client sees the connection close


async def _fixtures(request: web.Request) -> web.Response:
    return web.json_response(request.app[RECORDER].fixtures.document())


async def _report(request: web.Request) -> web.Response:
    document = request.app[RECORDER].report()
    if "text/html" in request.headers.get("Accept", ""):
        now = request.app[RUNTIME].clock()
        return web.Response(text=render_html(document, now), content_type="text/html")
    return web.json_response(document, dumps=lambda data: json.dumps(data, indent=2))
