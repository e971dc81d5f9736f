"""The platform side (contract section 6): bearer-token guarded, JSON only, unsigned.

A thin shell: check the token, read the body, call `services.platform`, answer JSON.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Sequence
from typing import Any, Final

from aiohttp import web
from pydantic import TypeAdapter

from bank_adapter.core import codec_json
from bank_adapter.core import messages as wire
from bank_adapter.core.messages import format_timestamp
from bank_adapter.core.wire import WireResponse
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services import idempotency, platform
from bank_adapter.services.billing import wire_bill
from bank_adapter.web.partner_api import read_body_within, to_aiohttp
from bank_adapter.web.runtime import RUNTIME

MAX_EVENTS_PAGE = 500
_BILLS: Final = TypeAdapter(list[wire.Bill])
_DIGITS = re.compile(r"[0-9]{1,19}")


def check_token(request: web.Request) -> None:
    """The bearer token, compared in constant time; an empty one never matches (also if
    the settings were ever to hold one), nor does a header that is not UTF-8."""
    expected = request.app[RUNTIME].settings.admin_token
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if not expected or not token or scheme.lower() != "bearer" or not _same(token, expected):
        raise AdapterError(Code.UNAUTHORIZED, "a valid bearer token is required")


def _same(given: str, expected: str) -> bool:
    # aiohttp hands bytes that are not UTF-8 over as surrogate escapes: no token has them.
    try:
        given_bytes = given.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given_bytes, expected.encode("utf-8"))


async def read_json(request: web.Request) -> bytes:
    body, _ = await read_json_value(request)
    return body


async def read_json_value(request: web.Request, limit: int | None = None) -> tuple[bytes, object]:
    """The body and the JSON value it holds: MALFORMED_MESSAGE unless JSON (strict, unique
    keys, within the shape limits); `limit` as `read_body`'s."""
    if request.content_type != "application/json":
        raise AdapterError(Code.FORMAT_NOT_ALLOWED, "the internal API takes application/json")
    body = await read_body(request, limit)
    return body, codec_json.parse_json(body)


async def read_body(request: web.Request, limit: int | None = None) -> bytes:
    """The whole body, or PAYLOAD_TOO_LARGE past `limit` (by default `max_body_bytes`)."""
    return await read_body_within(request, limit or request.app[RUNTIME].settings.max_body_bytes)


def account_json(account: Account) -> dict[str, Any]:
    return {
        "idNumber": account.id_number,
        "idType": account.id_type.value,
        "mobile": account.mobile,
        "biometricEnrolled": account.biometric_enrolled,
        "idExpiry": account.id_expiry.isoformat() if account.id_expiry else None,
        "blocked": account.blocked,
        "fullNameAr": account.full_name_ar,
        "fullNameEn": account.full_name_en,
        "status": account.status,
    }


def bill_json(bill: Bill, answer: wire.Bill) -> dict[str, Any]:
    """The bill's inquiry fields in lowerCamelCase, and whose bill it is."""
    return {"idNumber": bill.id_number, **json.loads(codec_json.encode_json(answer))}


def bills_json(issued: Sequence[tuple[Bill, wire.Bill]]) -> list[dict[str, Any]]:
    """`bill_json` of each, serialised as one list (a thousand models in one call)."""
    answers = _BILLS.dump_python(
        [answer for _, answer in issued], mode="json", by_alias=True, exclude_none=True
    )
    return [
        {"idNumber": bill.id_number, **answer}
        for (bill, _), answer in zip(issued, answers, strict=True)
    ]


async def put_account(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    data = platform.parse_input(platform.AccountIn, await read_json(request))
    account, created = await platform.register_account(rt.store, data, rt.clock())
    return web.json_response(account_json(account), status=201 if created else 200)


async def get_account(request: web.Request) -> web.Response:
    check_token(request)
    account = await platform.find_account(
        request.app[RUNTIME].store, request.match_info["id_number"]
    )
    return web.json_response(account_json(account))


async def post_bill(request: web.Request) -> web.Response:
    """One bill (an object), or up to `MAX_BULK_BILLS` all or nothing (a list); the body
    has its own limit, `internal_max_body_bytes`, sized for a full list. With an
    `Idempotency-Key`, a retry is answered the first answer (`services.idempotency`)."""
    check_token(request)
    rt = request.app[RUNTIME]
    key = idempotency.parse_key(request.headers.getall(idempotency.HEADER, []))
    body, value = await read_json_value(request, rt.settings.internal_max_body_bytes)
    keyed = idempotency.IdempotencyKey.of(key, body)
    if isinstance(value, list):
        items, render, bulk = platform.parse_bill_list(body, value), _created_list, True
    else:
        items, render, bulk = [platform.parse_bill(body)], _created_one, False
    answer = await platform.issue_bills(rt.store, items, rt.clock(), render, bulk=bulk, key=keyed)
    return to_aiohttp(answer)


def _created_list(issued: Sequence[tuple[Bill, wire.Bill]]) -> WireResponse:
    return _created(bills_json(issued))


def _created_one(issued: Sequence[tuple[Bill, wire.Bill]]) -> WireResponse:
    return _created(bill_json(*issued[0]))


def _created(value: object) -> WireResponse:
    """201 with `value` as `web.json_response` would write it."""
    return WireResponse(201, "application/json; charset=utf-8", json.dumps(value).encode())


async def get_bill(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    bill = await platform.get_bill(rt.store, request.match_info["bill_number"])
    return web.json_response(bill_json(bill, wire_bill(bill, rt.clock())))


async def cancel_bill(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    now = rt.clock()
    bill = await platform.cancel_bill(rt.store, request.match_info["bill_number"], now)
    return web.json_response(bill_json(bill, wire_bill(bill, now)))


async def list_events(request: web.Request) -> web.Response:
    check_token(request)
    after = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 100, 1, MAX_EVENTS_PAGE)
    events = await platform.events(request.app[RUNTIME].store, after, limit)
    return web.json_response(
        {
            "events": [
                {
                    "seq": event.seq,
                    "type": event.type,
                    "occurredAt": format_timestamp(event.occurred_at),
                    "data": event.data,
                }
                for event in events
            ],
            "nextCursor": events[-1].seq if events else after,
        }
    )


async def list_sms(request: web.Request) -> web.Response:
    check_token(request)
    return await sms_outbox(request)


async def sms_outbox(request: web.Request) -> web.Response:
    """The sandbox SMS outbox for `?mobile=`, oldest first (also the conformance kit's)."""
    messages = await platform.sms(request.app[RUNTIME].store, request.query.get("mobile", ""))
    return web.json_response(
        {
            "messages": [
                {"mobile": sms.mobile, "text": sms.text, "sentAt": format_timestamp(sms.sent_at)}
                for sms in messages
            ]
        }
    )


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    # ASCII digits only, and few enough for int(): str.isdigit() also says yes to "²".
    if _DIGITS.fullmatch(raw) is None or not low <= int(raw) <= high:
        raise AdapterError(
            Code.SCHEMA_INVALID, f"{name}: an integer from {low} to {high} is required"
        )
    return int(raw)


def add_routes(app: web.Application, *, sandbox: bool) -> None:
    app.router.add_post("/internal/v1/accounts", put_account)
    app.router.add_get("/internal/v1/accounts/{id_number}", get_account)
    app.router.add_get("/internal/v1/events", list_events)
    app.router.add_post("/internal/v1/bills", post_bill)
    app.router.add_get("/internal/v1/bills/{bill_number}", get_bill)
    app.router.add_post("/internal/v1/bills/{bill_number}/cancel", cancel_bill)
    if sandbox:
        app.router.add_get("/internal/v1/sms", list_sms)
