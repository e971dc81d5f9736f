"""The platform side (contract section 6): what the internal API accepts, and its rules.

`web/internal.py` is the shell (token, bytes in, JSON out); each function here takes the
store and runs its operation over its own transaction(s).

Input rules. A body is checked in full before anything is written, and any failure is a
400 problem naming the field, with nothing recorded:
- text (`descriptionAr`, `descriptionEn`, `fullNameAr`, `fullNameEn`): at most 200
  characters of printable text, no Unicode Cc character (nor a lone surrogate or a
  non-character, which no UTF-8 column or XML document holds);
- `amount`: a positive amount with two decimals, at most `MAX_BILL_AMOUNT` (the project's
  bound: a business day's Total of many such bills must still fit the wire's 13 integer
  digits);
- ID numbers and mobiles as in section 4 (INVALID_ID_NUMBER, INVALID_MOBILE);
- dates and date-times as the partner messages write them, years 2000 to 2099.
So a bill the platform issued always reads back through `/v1/bills/inquiry` in both
formats: its fields are the wire's own types. The answer is even built before the bill is
written, so nothing the wire cannot carry is ever committed.

Bulk issuance is all or nothing. A list of 1 to `MAX_BULK_BILLS` bills is checked item
by item exactly as a single bill is, and one 400 names every bad item by its index
(`[17].amount: ...`), with nothing recorded; its code is SCHEMA_INVALID, or
INVALID_ID_NUMBER when ID numbers are all that is wrong. A good list is issued in one
unit of work: one multi-row insert and one `bill.issue.bulk` audit entry (count, total),
so either every bill exists or none does, and a retried list is never half issued.
A retry issues the bills again unless the request carries an `Idempotency-Key`
(`services.idempotency`): then the first answer is stored with the bills, and replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails, PydanticCustomError

from bank_adapter.console import audit
from bank_adapter.core import messages as wire
from bank_adapter.core.codec_json import describe_error, fit_problems, schema_invalid
from bank_adapter.core.messages import (
    TEXT_PATTERN,
    BillStatus,
    CalendarDate,
    ServiceCode,
    Timestamp,
)
from bank_adapter.core.money import WIRE_CONTEXT, Amount, format_amount, from_halalas, to_halalas
from bank_adapter.core.wire import WireResponse
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill, new_bill_number
from bank_adapter.domain.ids import (
    IdType,
    default_id_type,
    id_number_or_none,
    mask_id,
    parse_id_number,
)
from bank_adapter.domain.mobile import normalize_mobile
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services import idempotency
from bank_adapter.services.billing import SERVICE_NAMES, find_bill, wire_bill
from bank_adapter.services.idempotency import IdempotencyKey
from bank_adapter.store.operator import OperatorQueries
from bank_adapter.store.repository import DuplicateKey, Event, Sms, Store

M = TypeVar("M", bound=BaseModel)
# The answer to issued bills (each with its inquiry form).
Render = Callable[[Sequence[tuple[Bill, wire.Bill]]], WireResponse]

MAX_TEXT: Final = 200
MAX_BILL_AMOUNT: Final = Decimal("10000000.00")
REGISTER_ATTEMPTS: Final = 2
MAX_BULK_BILLS: Final = 1000
# Fresh bill numbers are drawn again when one is taken already (about n / 9*10**11).
ISSUE_ATTEMPTS: Final = 3


def _positive_bounded(amount: Decimal) -> Decimal:
    if not Decimal("0.00") < amount <= MAX_BILL_AMOUNT:
        raise PydanticCustomError(
            "amount_range", f"must be over 0.00 and at most {MAX_BILL_AMOUNT}"
        )
    return amount


def _text(min_length: int) -> StringConstraints:
    return StringConstraints(
        strict=True, min_length=min_length, max_length=MAX_TEXT, pattern=TEXT_PATTERN
    )


PlatformText = Annotated[str, _text(0)]
Description = Annotated[str, _text(1)]
BillAmount = Annotated[Amount, AfterValidator(_positive_bounded)]


class _Input(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        regex_engine="python-re",  # TEXT_PATTERN names surrogates, which Rust regex cannot
    )


class AccountIn(_Input):
    id_number: str = Field(max_length=20)
    id_type: IdType | None = None
    mobile: str = Field(max_length=20)
    biometric_enrolled: bool
    id_expiry: CalendarDate | None = None
    blocked: bool = False
    full_name_ar: PlatformText | None = None
    full_name_en: PlatformText | None = None


class BillIn(_Input):
    id_number: str = Field(max_length=20)
    service_code: ServiceCode
    amount: BillAmount
    due_date: CalendarDate
    expires_at: Timestamp | None = None
    description_ar: Description | None = None
    description_en: Description | None = None


BillList = Annotated[list[BillIn], Field(min_length=1, max_length=MAX_BULK_BILLS)]
_BILL_LIST: Final = TypeAdapter(BillList)


def parse_input(model: type[M], body: bytes) -> M:
    """Strict JSON: `true` is a boolean, `"yes"` is not; camelCase names only; every
    field at fault is named (SCHEMA_INVALID), never its value."""
    try:
        return model.model_validate_json(
            body, strict=True, by_alias=True, by_name=False, context=WIRE_CONTEXT
        )
    except ValidationError as exc:
        raise schema_invalid(_problems(exc.errors(include_input=False))) from None


def parse_bill_list(body: bytes, items: Sequence[object]) -> list[tuple[BillIn, str]]:
    """Each bill of the JSON list `body` (already parsed as `items`) with its canonical ID
    number, checked as a single bill is; else one 400 naming every bad item by index."""
    try:
        bills = _BILL_LIST.validate_json(
            body, strict=True, by_alias=True, by_name=False, context=WIRE_CONTEXT
        )
    except ValidationError as exc:
        errors = exc.errors(include_input=False)
        if any(not error["loc"] for error in errors):  # the list itself: empty, too long
            raise schema_invalid(_problems(errors)) from None
        schema = [(int(error["loc"][0]), _problem(error)) for error in errors]
        at_fault = {index for index, _ in schema}
        others = ((i, _raw_id(item)) for i, item in enumerate(items) if i not in at_fault)
        raise _bad_items(schema, _id_numbers(others)[1], len(items)) from None
    ids, problems = _id_numbers(enumerate(bill.id_number for bill in bills))
    if problems:
        raise _bad_items([], problems, len(bills))
    return list(zip(bills, ids, strict=True))


def _problems(errors: Iterable[ErrorDetails]) -> list[str]:
    return [_problem(error) for error in errors]


def _problem(error: ErrorDetails) -> str:
    """`amount: must ...`, `[17].amount: must ...`; `body: ...` for the whole body."""
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    return f"{path.removeprefix('.') or 'body'}: {describe_error(error)}"


def _raw_id(item: object) -> str:
    # Only items the schema passed get here: objects whose idNumber is a string.
    assert isinstance(item, dict)
    return str(item["idNumber"])


def _id_numbers(raw: Iterable[tuple[int, str]]) -> tuple[list[str], list[tuple[int, str]]]:
    """The canonical ID numbers, and the problem of each item whose number is not one."""
    ids: list[str] = []
    problems: list[tuple[int, str]] = []
    for index, number in raw:
        try:
            ids.append(parse_id_number(number))
        except AdapterError as exc:
            problems.append((index, f"[{index}].idNumber: {exc.detail}"))
    return ids, problems


def _bad_items(
    schema: list[tuple[int, str]], ids: list[tuple[int, str]], count: int
) -> AdapterError:
    """One error for a refused list: which items are bad, then what is wrong with each.
    The index list comes first and is compact, so it survives the detail's bounds."""
    problems = sorted(schema + ids, key=lambda problem: problem[0])
    indexes = sorted({index for index, _ in problems})
    summary = (
        f"{len(indexes)} of {count} bills are invalid, none was issued: items {_ranges(indexes)}"
    )
    code = Code.SCHEMA_INVALID if schema else Code.INVALID_ID_NUMBER
    return AdapterError(code, "; ".join([summary, *fit_problems(text for _, text in problems)]))


def _ranges(numbers: list[int]) -> str:
    """`3, 17-19, 45` for [3, 17, 18, 19, 45] (sorted, distinct)."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


# --- accounts ---------------------------------------------------------------------------------


async def register_account(store: Store, data: AccountIn, now: datetime) -> tuple[Account, bool]:
    """Register or update a pending account: (the account as stored, whether it is new)."""
    id_number = parse_id_number(data.id_number)
    mobile = normalize_mobile(data.mobile)
    for _ in range(REGISTER_ATTEMPTS):
        try:
            async with store.write() as tx:
                existing = await tx.account(id_number)
                stored = await tx.save_account(_account(data, id_number, mobile, existing), now)
                await audit.record(tx, now, audit.account_action(existing), mask_id(id_number))
            return stored, existing is None
        except DuplicateKey:
            continue  # a concurrent first registration of the same ID: update it instead
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


async def find_account(store: Store, raw_id_number: str) -> Account:
    """The account, or ACCOUNT_NOT_FOUND for unknown and malformed numbers alike (a
    malformed one is never looked up)."""
    id_number = id_number_or_none(raw_id_number)
    account = None
    if id_number is not None:
        async with store.read() as tx:
            account = await tx.account(id_number)
    if account is None:
        raise AdapterError(Code.ACCOUNT_NOT_FOUND, "no account with this ID number")
    return account


# --- bills ------------------------------------------------------------------------------------


def parse_bill(body: bytes) -> tuple[BillIn, str]:
    """A single bill (`parse_input`), with its canonical ID number."""
    data = parse_input(BillIn, body)
    return data, parse_id_number(data.id_number)


async def issue_bills(
    store: Store,
    items: Sequence[tuple[BillIn, str]],
    now: datetime,
    render: Render,
    *,
    bulk: bool = True,
    key: IdempotencyKey | None = None,
) -> WireResponse:
    """New UNPAID bills, in order, all in one unit of work (`parse_bill`'s or
    `parse_bill_list`'s items), answered as `render` writes them (one `bill.issue` audit
    entry each unless `bulk`); the answer stored under `key` instead, if there is one.

    The answer is rendered before the unit of work, not in it (1,000 bills take tens of
    milliseconds, which would hold every other writer up), and kept under `key` in it."""
    for _ in range(ISSUE_ATTEMPTS):
        numbers = new_bill_numbers(len(items))
        bills = [
            new_bill(data, id_number, number)
            for (data, id_number), number in zip(items, numbers, strict=True)
        ]
        answer = render([(bill, wire_bill(bill, now)) for bill in bills])
        try:
            async with store.write() as tx:
                replay = await idempotency.stored(tx, key)
                if replay is not None:
                    return replay
                await tx.add_bills(bills, now)
                await _audit_issue(tx, bills, now, bulk=bulk)
                await idempotency.store(tx, key, answer, now)
        except DuplicateKey:
            continue  # a bill number, or a twin's key, was taken already: once again
        return answer
    raise AdapterError(Code.SERVICE_UNAVAILABLE, "no free bill numbers were drawn; try again")


async def _audit_issue(
    tx: OperatorQueries, bills: Sequence[Bill], now: datetime, *, bulk: bool
) -> None:
    if bulk:
        subject, detail = f"{len(bills)} bills", _bulk_detail(bills)
        await audit.record(tx, now, "bill.issue.bulk", subject, detail=detail)
        return
    for bill in bills:
        await audit.record(tx, now, "bill.issue", bill.bill_number, detail=audit.bill_detail(bill))


def new_bill_numbers(count: int) -> list[str]:
    """`count` distinct fresh bill numbers."""
    numbers: dict[str, None] = {}
    while len(numbers) < count:
        numbers[new_bill_number()] = None
    return list(numbers)


def _bulk_detail(bills: Sequence[Bill]) -> dict[str, Any]:
    total = sum(bill.amount_halalas for bill in bills)
    return {"count": len(bills), "total": format_amount(from_halalas(total))}


def new_bill(data: BillIn, id_number: str, bill_number: str) -> Bill:
    names = SERVICE_NAMES[data.service_code]
    return Bill(
        bill_number=bill_number,
        id_number=id_number,
        service_code=data.service_code,
        description_ar=data.description_ar or names[0],
        description_en=data.description_en or names[1],
        amount_halalas=to_halalas(data.amount),
        due_date=data.due_date,
        expires_at=data.expires_at,
        status=BillStatus.UNPAID,
    )


async def get_bill(store: Store, bill_number: str) -> Bill:
    async with store.read() as tx:
        return await find_bill(tx, bill_number)


async def cancel_bill(store: Store, bill_number: str, now: datetime) -> Bill:
    """UNPAID -> CANCELLED (again: the same); a paid bill must be reversed by its bank first."""
    async with store.write() as tx:
        bill = await find_bill(tx, bill_number)
        if bill.status is BillStatus.PAID:
            raise AdapterError(Code.BILL_ALREADY_PAID, "a paid bill cannot be cancelled")
        if bill.status is not BillStatus.CANCELLED:
            await tx.move_bill(bill.bill_number, bill.status, BillStatus.CANCELLED, now)
            await audit.record(tx, now, "bill.cancel", bill.bill_number)
        return await find_bill(tx, bill.bill_number)


# --- the outboxes -----------------------------------------------------------------------------


async def events(store: Store, after: int, limit: int) -> list[Event]:
    async with store.read() as tx:
        return await tx.events(after, limit)


async def sms(store: Store, raw_mobile: str) -> list[Sms]:
    mobile = normalize_mobile(raw_mobile)
    async with store.read() as tx:
        return await tx.sms(mobile)
