"""The platform side (contract section 6): bearer-token guarded, JSON only, unsigned."""

from __future__ import annotations

import hmac
import json
import re
from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from bank_adapter.console import audit
from bank_adapter.core import codec_json
from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.core.money import Amount, to_halalas
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill, new_bill_number
from bank_adapter.domain.ids import IdType, default_id_type, mask_id, parse_id_number
from bank_adapter.domain.mobile import normalize_mobile
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services.billing import SERVICE_NAMES, find_bill, wire_bill
from bank_adapter.store.repository import DuplicateKey
from bank_adapter.web.runtime import RUNTIME

MAX_EVENTS_PAGE = 500
_INTERNAL_MODEL = ConfigDict(
    alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
)
_DIGITS = re.compile(r"[0-9]{1,19}")


class AccountIn(BaseModel):
    model_config = _INTERNAL_MODEL

    id_number: str = Field(max_length=20)
    id_type: IdType | None = None
    mobile: str = Field(max_length=20)
    biometric_enrolled: bool
    id_expiry: date | None = None
    blocked: bool = False
    full_name_ar: str | None = Field(default=None, max_length=200)
    full_name_en: str | None = Field(default=None, max_length=200)


class BillIn(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    id_number: str = Field(max_length=20)
    service_code: ServiceCode
    amount: Amount
    due_date: date
    expires_at: AwareDatetime | None = None
    description_ar: str | None = Field(default=None, min_length=1, max_length=256)
    description_en: str | None = Field(default=None, min_length=1, max_length=256)


def check_token(request: web.Request) -> None:
    expected = request.app[RUNTIME].settings.admin_token
    given = request.headers.get("Authorization", "")
    scheme, _, token = given.partition(" ")
    if (
        expected is None
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8"))
    ):
        raise AdapterError(Code.UNAUTHORIZED, "a valid bearer token is required")


async def read_json(request: web.Request) -> bytes:
    if request.content_type != "application/json":
        raise AdapterError(Code.FORMAT_NOT_ALLOWED, "the internal API takes application/json")
    limit = request.app[RUNTIME].settings.max_body_bytes
    too_large = AdapterError(Code.PAYLOAD_TOO_LARGE, f"request bodies are limited to {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    body = await request.read()
    if len(body) > limit:  # a chunked body announces no Content-Length
        raise too_large
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise AdapterError(Code.MALFORMED_MESSAGE, "body is not JSON") from None
    return body


def validated(model: type[BaseModel], body: bytes) -> Any:
    """Strict JSON validation: `true` is a boolean, `"yes"` is not; camelCase names only."""
    try:
        return model.model_validate_json(body, strict=True, by_alias=True, by_name=False)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise AdapterError(Code.SCHEMA_INVALID, problems) from None


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


async def put_account(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    data: AccountIn = validated(AccountIn, await read_json(request))
    id_number = parse_id_number(data.id_number)
    mobile = normalize_mobile(data.mobile)
    now = rt.clock()
    for _ in range(2):  # a concurrent first registration of the same ID: update it instead
        try:
            async with rt.store.write() as tx:
                existing = await tx.account(id_number)
                account = _account(data, id_number, mobile, existing)
                stored = await tx.save_account(account, now)
                await audit.record(tx, now, audit.account_action(existing), mask_id(id_number))
            return web.json_response(account_json(stored), status=200 if existing else 201)
        except DuplicateKey:
            continue
    raise AdapterError(Code.SERVICE_UNAVAILABLE, "the account changed concurrently; try again")


def _account(data: AccountIn, id_number: str, mobile: str, existing: Account | None) -> Account:
    """The registration data to store; an omitted idType keeps the stored one."""
    fallback = existing.id_type if existing is not None else default_id_type(id_number)
    return Account(
        id_number=id_number,
        id_type=data.id_type or fallback,
        mobile=mobile,
        biometric_enrolled=data.biometric_enrolled,
        id_expiry=data.id_expiry,
        blocked=data.blocked,
        status="PENDING",
        full_name_ar=data.full_name_ar,
        full_name_en=data.full_name_en,
    )


async def get_account(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    async with rt.store.read() as tx:
        account = await tx.account(request.match_info["id_number"])
    if account is None:
        raise AdapterError(Code.ACCOUNT_NOT_FOUND, "no account with this ID number")
    return web.json_response(account_json(account))


async def list_events(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    after = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 100, 1, MAX_EVENTS_PAGE)
    async with rt.store.read() as tx:
        events = await tx.events(after, limit)
    return web.json_response(
        {
            "events": [
                {
                    "seq": event.seq,
                    "type": event.type,
                    "occurredAt": event.occurred_at.isoformat().replace("+00:00", "Z"),
                    "data": event.data,
                }
                for event in events
            ],
            "nextCursor": events[-1].seq if events else after,
        }
    )


async def list_sms(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    mobile = normalize_mobile(request.query.get("mobile", ""))
    async with rt.store.read() as tx:
        messages = await tx.sms(mobile)
    return web.json_response(
        {
            "messages": [
                {
                    "mobile": sms.mobile,
                    "text": sms.text,
                    "sentAt": sms.sent_at.isoformat().replace("+00:00", "Z"),
                }
                for sms in messages
            ]
        }
    )


def bill_json(bill: Bill, now: datetime) -> dict[str, Any]:
    wire = wire_bill(bill, now)
    return {"idNumber": bill.id_number, **json.loads(codec_json.encode_json(wire))}


async def post_bill(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    data: BillIn = validated(BillIn, await read_json(request))
    now = rt.clock()
    names = SERVICE_NAMES[data.service_code]
    bill = Bill(
        bill_number=new_bill_number(),
        id_number=parse_id_number(data.id_number),
        service_code=data.service_code,
        description_ar=data.description_ar or names[0],
        description_en=data.description_en or names[1],
        amount_halalas=to_halalas(data.amount),
        due_date=data.due_date,
        expires_at=data.expires_at,
        status=BillStatus.UNPAID,
    )
    async with rt.store.write() as tx:
        await tx.add_bill(bill, now)
        await audit.record(tx, now, "bill.issue", bill.bill_number, detail=audit.bill_detail(bill))
    return web.json_response(bill_json(bill, now), status=201)


async def get_bill(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    async with rt.store.read() as tx:
        bill = await find_bill(tx, request.match_info["bill_number"])
    return web.json_response(bill_json(bill, rt.clock()))


async def cancel_bill(request: web.Request) -> web.Response:
    """UNPAID -> CANCELLED; a paid bill must be reversed by its bank first."""
    check_token(request)
    rt = request.app[RUNTIME]
    now = rt.clock()
    async with rt.store.write() as tx:
        bill = await find_bill(tx, request.match_info["bill_number"])
        if bill.status is BillStatus.PAID:
            raise AdapterError(Code.BILL_ALREADY_PAID, "a paid bill cannot be cancelled")
        if bill.status is not BillStatus.CANCELLED:
            await tx.move_bill(bill.bill_number, bill.status, BillStatus.CANCELLED, now)
            await audit.record(tx, now, "bill.cancel", bill.bill_number)
        cancelled = await find_bill(tx, bill.bill_number)
    return web.json_response(bill_json(cancelled, now))


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
