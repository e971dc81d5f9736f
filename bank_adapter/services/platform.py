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
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Final, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from bank_adapter.console import audit
from bank_adapter.core import messages as wire
from bank_adapter.core.codec_json import describe_error, schema_invalid
from bank_adapter.core.messages import (
    TEXT_PATTERN,
    BillStatus,
    CalendarDate,
    ServiceCode,
    Timestamp,
)
from bank_adapter.core.money import WIRE_CONTEXT, Amount, to_halalas
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
from bank_adapter.services.billing import SERVICE_NAMES, find_bill, wire_bill
from bank_adapter.store.repository import DuplicateKey, Event, Sms, Store

M = TypeVar("M", bound=BaseModel)

MAX_TEXT: Final = 200
MAX_BILL_AMOUNT: Final = Decimal("10000000.00")
REGISTER_ATTEMPTS: Final = 2


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


def parse_input(model: type[M], body: bytes) -> M:
    """Strict JSON: `true` is a boolean, `"yes"` is not; camelCase names only; every
    field at fault is named (SCHEMA_INVALID), never its value."""
    try:
        return model.model_validate_json(
            body, strict=True, by_alias=True, by_name=False, context=WIRE_CONTEXT
        )
    except ValidationError as exc:
        raise schema_invalid(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {describe_error(error)}"
            for error in exc.errors(include_input=False)
        ) from None


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


async def issue_bill(store: Store, data: BillIn, now: datetime) -> tuple[Bill, wire.Bill]:
    """A new UNPAID bill, and its inquiry form (built first: what is written reads back)."""
    bill = new_bill(data)
    answer = wire_bill(bill, now)
    async with store.write() as tx:
        await tx.add_bill(bill, now)
        await audit.record(tx, now, "bill.issue", bill.bill_number, detail=audit.bill_detail(bill))
    return bill, answer


def new_bill(data: BillIn) -> Bill:
    names = SERVICE_NAMES[data.service_code]
    return Bill(
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
