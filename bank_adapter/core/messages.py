"""The partner API's messages (contract sections 4 and 5): one frozen model per message.

JSON names are the field aliases (lowerCamelCase); XML element names are the same with
the first letter upper-cased (`xml_name`), in field order. `schemas/bank-adapter-v1.xsd`
says the same thing for XML, and a test keeps the two in agreement.

Wire scalars have one lexical form each (RFC 3339 timestamps with offset, dates, UUIDs
with hyphens, amounts with two decimals), checked here rather than left to pydantic's
lenient parsing, which would take a Unix time for a timestamp or a UUID in braces.
Python code may pass the parsed types instead (`datetime`, `UUID`, ...).

Where the contract owes the bank a specific code, the schema stays loose so the domain
can give it: `IdNumber` and `Mobile` (INVALID_ID_NUMBER, INVALID_MOBILE), `Otp`
(OTP_INVALID) and `BillNumber` (BILL_NOT_FOUND) are bounded strings, not patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Final, Generic, NamedTuple, Self, TypeVar
from uuid import UUID

from annotated_types import Ge, Le, MaxLen
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    PlainValidator,
    Strict,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.fields import ComputedFieldInfo, FieldInfo
from pydantic_core import PydanticCustomError

from bank_adapter.core.money import Amount
from bank_adapter.errors import Code

XML_NAMESPACE: Final = "urn:bank-adapter:v1"

UUID_PATTERN: Final = (
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
# Dates and date-times are written with a year from 2000 to 2099 (contract section 4):
# no business of this service lies outside, and a year 1 or 9999 with an offset would
# overflow the moment it is converted to UTC. A date-time's instant must lie in those years
# in UTC as well (the project's addition: it excludes the first and last 14 hours written
# with an extreme offset), because the adapter stores instants and answers in UTC: a
# PaidAt of 2000-01-01T00:00:00+14:00 would come back on a statement as 1999-12-31.
FIRST_YEAR: Final = 2000
LAST_YEAR: Final = 2099
FIRST_INSTANT: Final = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
END_INSTANT: Final = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
DATE_PATTERN: Final = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"
TIMESTAMP_PATTERN: Final = (
    r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
# No control characters, lone surrogates or non-characters: what a database column and
# an XML document can both hold. Written so Python, JSON Schema (ECMA-262) and XSD
# (`[^\p{Cc}]`, the same set for anything XML can carry) read it alike.
_NOT_TEXT_CHARS: Final = r"\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff"
TEXT_PATTERN: Final = rf"^[^{_NOT_TEXT_CHARS}]*$"
CHECKSUM_PATTERN: Final = r"^[0-9a-f]{64}$"

T = TypeVar("T")


def xml_name(alias: str) -> str:
    """The XML element name of the JSON field `alias` (`bankPaymentRef` -> `BankPaymentRef`)."""
    return alias[:1].upper() + alias[1:]


# --- enumerations --------------------------------------------------------------------------


class Channel(StrEnum):
    APP = "APP"
    WEB = "WEB"
    IVR = "IVR"
    ATM = "ATM"
    KIOSK = "KIOSK"


class ServiceCode(StrEnum):
    IQAMA_RENEWAL = "IQAMA_RENEWAL"
    RESIDENT_ID_ISSUE = "RESIDENT_ID_ISSUE"
    EXIT_REENTRY_VISA = "EXIT_REENTRY_VISA"
    TRAFFIC_VIOLATION = "TRAFFIC_VIOLATION"
    OTHER = "OTHER"


class Currency(StrEnum):
    SAR = "SAR"


class ActivationStatus(StrEnum):
    OTP_SENT = "OTP_SENT"
    ACTIVATED = "ACTIVATED"


class BillStatus(StrEnum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class PaymentStatus(StrEnum):
    POSTED = "POSTED"
    REVERSED = "REVERSED"


# --- wire scalars --------------------------------------------------------------------------


def _lexical(
    error: str, pattern: str, parse: Callable[[str], T], accepts: Callable[[object], bool]
) -> PlainValidator:
    """A validator taking a string in exactly one lexical form, or an already-parsed value."""
    regex = re.compile(pattern)
    expected = f"must be {error}"

    def validate(value: object) -> object:
        if isinstance(value, str) and regex.fullmatch(value):
            try:
                return parse(value)
            except ValueError:
                pass  # the right shape but not a real value, e.g. 2026-02-30
        elif not isinstance(value, str) and accepts(value):
            return value
        raise PydanticCustomError("lexical_form", expected)

    return PlainValidator(validate)


def _in_years(value: date) -> bool:
    return FIRST_YEAR <= value.year <= LAST_YEAR


def _in_instants(value: datetime) -> bool:
    """Written in the contract's years, and in them in UTC too (checked in this order: a
    year outside could not be compared without overflowing)."""
    return _in_years(value) and FIRST_INSTANT <= value < END_INSTANT


def _is_rfc3339_datetime(value: object) -> bool:
    """Aware, with an offset RFC 3339 can write (whole minutes), in the contract's years."""
    if not isinstance(value, datetime):
        return False
    offset = value.utcoffset()
    whole_minutes = offset is not None and offset % timedelta(minutes=1) == timedelta(0)
    return whole_minutes and _in_instants(value)


def _parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)  # keeps microseconds, drops finer digits
    if not _in_instants(value):
        raise ValueError("outside the contract's years")
    return value


def _is_calendar_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime) and _in_years(value)


def format_timestamp(value: datetime) -> str:
    """RFC 3339, `Z` for UTC, microseconds only when there are any."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


Uuid = Annotated[
    UUID,
    _lexical("a UUID (8-4-4-4-12 hex digits)", UUID_PATTERN, UUID, lambda v: isinstance(v, UUID)),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
]
_UUID_RE: Final = re.compile(UUID_PATTERN)


def uuid_or_none(value: object) -> UUID | None:
    """`value` as a UUID when it is one in the wire form, else None (for ids read early)."""
    return UUID(value) if isinstance(value, str) and _UUID_RE.fullmatch(value) else None


Timestamp = Annotated[
    datetime,
    _lexical(
        "an RFC 3339 date-time with offset in the years 2000 to 2099 (in UTC too), "
        "e.g. 2026-01-31T09:30:00+03:00",
        TIMESTAMP_PATTERN,
        _parse_timestamp,
        _is_rfc3339_datetime,
    ),
    PlainSerializer(format_timestamp, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}),
]
CalendarDate = Annotated[
    date,
    _lexical(
        "a date YYYY-MM-DD in the years 2000 to 2099",
        DATE_PATTERN,
        date.fromisoformat,
        _is_calendar_date,
    ),
    PlainSerializer(date.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]


def _bounded(max_length: int) -> StringConstraints:
    """A string the domain judges; only its size is the schema's business."""
    return StringConstraints(strict=True, min_length=1, max_length=max_length)


def _text(max_length: int) -> StringConstraints:
    return StringConstraints(strict=True, min_length=1, max_length=max_length, pattern=TEXT_PATTERN)


NOT_TEXT: Final = re.compile(rf"[{_NOT_TEXT_CHARS}]")


def fit_text(text: str, max_length: int) -> str:
    """`text` made to pass as TEXT_PATTERN of at most `max_length` characters."""
    text = NOT_TEXT.sub("?", text)
    return text if len(text) <= max_length else text[: max_length - 1] + "…"


def _fitted(max_length: int) -> BeforeValidator:
    # Error text is fitted rather than refused: an error answer must always be buildable,
    # whatever an exception message held.
    return BeforeValidator(lambda v: fit_text(v, max_length) if isinstance(v, str) else v)


IdNumber = Annotated[str, _bounded(20)]
Mobile = Annotated[str, _bounded(20)]
Otp = Annotated[str, _bounded(12)]
BillNumber = Annotated[str, _bounded(32)]
BankPaymentRef = Annotated[str, _text(64)]
BankCustomerRef = Annotated[str, _text(64)]
TerminalId = Annotated[str, _text(32)]
PaymentId = Annotated[str, _text(64)]
PageToken = Annotated[str, _text(512)]
Reason = Annotated[str, _text(256)]
Description = Annotated[str, _text(256)]
MaskedMobile = Annotated[str, _text(20)]
ProblemText = Annotated[str, _text(256), _fitted(256)]
ProblemDetail = Annotated[str, _text(8192), _fitted(8192)]
Checksum = Annotated[str, StringConstraints(strict=True, pattern=CHECKSUM_PATTERN)]

Periods = Annotated[int, Strict(), Ge(1), Le(120)]
PageSize = Annotated[int, Strict(), Ge(1), Le(5000)]
Count = Annotated[int, Strict(), Ge(0), Le(2**31 - 1)]
HttpStatus = Annotated[int, Strict(), Ge(400), Le(599)]

MAX_BILLS: Final = 1000
MAX_ENTRIES: Final = 5000


@dataclass(frozen=True, slots=True)
class XmlList:
    """Marks a list field: in XML, a wrapper element holding one `item` element per entry."""

    item: str


# --- messages ------------------------------------------------------------------------------


def _title(name: str, _info: FieldInfo | ComputedFieldInfo) -> str:
    return xml_name(to_camel(name))


class WireModel(BaseModel):
    """What every message and list item shares: immutable, closed, aliases on the wire."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        regex_engine="python-re",  # TEXT_PATTERN names surrogates, which Rust regex cannot
        field_title_generator=_title,  # JSON Schema titles are the XML element names
        use_attribute_docstrings=True,
    )


class PartnerRequest(WireModel):
    """The fields every request starts with."""

    message_id: Uuid
    """Unique per partner; a repeat with the same body gets the stored answer again."""
    timestamp: Timestamp
    """When the bank sent it; more than 300 s from the adapter's clock is STALE_MESSAGE."""
    channel: Channel
    terminal_id: TerminalId | None = None


class PartnerResponse(WireModel):
    """The fields every successful response starts with."""

    message_id: Uuid
    in_reply_to: Uuid
    """The request's MessageId."""
    timestamp: Timestamp


class ActivationRequest(PartnerRequest):
    """Start activation of a pending account."""

    id_number: IdNumber
    mobile: Mobile
    """The mobile the bank has on record for its customer."""
    bank_customer_ref: BankCustomerRef


class ActivationConfirm(PartnerRequest):
    """Finish an activation with the OTP sent by SMS."""

    activation_id: Uuid
    otp: Otp


class BillInquiry(PartnerRequest):
    """A person's open fees (IdNumber) or one bill (BillNumber): exactly one of the two."""

    id_number: IdNumber | None = None
    bill_number: BillNumber | None = None

    @model_validator(mode="after")
    def _exactly_one_key(self) -> Self:
        if (self.id_number is None) == (self.bill_number is None):
            raise PydanticCustomError(
                "exactly_one", "exactly one of idNumber and billNumber is required"
            )
        return self


class FeeQuote(PartnerRequest):
    """Price a service for a person and issue its bill."""

    id_number: IdNumber
    service_code: ServiceCode
    periods: Periods
    """Months, for renewals and visas."""


class PaymentNotification(PartnerRequest):
    """The bank has taken the money for a bill."""

    bank_payment_ref: BankPaymentRef
    bill_number: BillNumber
    amount: Amount
    currency: Currency
    paid_at: Timestamp
    """The bank's record; kept, never used to place the payment in a business day."""


class PaymentReversal(PartnerRequest):
    """Undo a payment on the same business date."""

    bank_payment_ref: BankPaymentRef
    reason: Reason


class PaymentStatusQuery(PartnerRequest):
    """What became of a payment."""

    bank_payment_ref: BankPaymentRef


class StatementRequest(PartnerRequest):
    """The partner's payments for a business date, one page at a time."""

    business_date: CalendarDate
    page_size: PageSize | None = None
    """Entries per page; 500 when absent."""
    page_token: PageToken | None = None
    """The previous page's NextPageToken."""


class ActivationResponse(PartnerResponse):
    """OTP_SENT (with ActivationId, OtpExpiresAt, MaskedMobile) or ACTIVATED."""

    status: ActivationStatus
    activation_id: Uuid | None = None
    otp_expires_at: Timestamp | None = None
    masked_mobile: MaskedMobile | None = None
    """E.164 with the five digits after +9665 starred, e.g. +9665*****678."""


class Bill(WireModel):
    """One bill of a BillInquiryResponse (in XML, a Bill in Bills)."""

    bill_number: BillNumber
    service_code: ServiceCode
    description_ar: Description
    description_en: Description
    amount: Amount
    currency: Currency
    due_date: CalendarDate
    expires_at: Timestamp | None = None
    status: BillStatus


class BillInquiryResponse(PartnerResponse):
    """The bills found (BillInquiry) or issued (FeeQuote)."""

    bills: Annotated[list[Bill], XmlList("Bill"), MaxLen(MAX_BILLS)]


class PaymentAck(PartnerResponse):
    """A payment as it stands now, for a notification, a reversal or a status query."""

    bank_payment_ref: BankPaymentRef
    """The reference the bank sent, so an answer can be matched without its request."""
    status: PaymentStatus
    payment_id: PaymentId
    business_date: CalendarDate
    """The adapter's business date of the payment (Asia/Riyadh, partner's cut-off)."""


class StatementEntry(WireModel):
    """One payment of a Statement page (in XML, an Entry in Entries)."""

    bank_payment_ref: BankPaymentRef
    payment_id: PaymentId
    bill_number: BillNumber
    amount: Amount
    paid_at: Timestamp
    status: PaymentStatus


class Statement(PartnerResponse):
    """One page of a business date; Count, Total and Checksum cover the whole day."""

    business_date: CalendarDate
    final: StrictBool
    """True once the day's cut-off has passed: nothing can change it any more."""
    count: Count
    """The day's entries, posted and reversed."""
    total: Amount
    """Sum of the POSTED amounts."""
    entries: Annotated[list[StatementEntry], XmlList("Entry"), MaxLen(MAX_ENTRIES)]
    """Ordered by PaymentId."""
    checksum: Checksum
    """Lowercase hex XOR over the day of SHA-256("BankPaymentRef|BillNumber|Amount|Status")."""
    next_page_token: PageToken | None = None
    """On every page but the last."""


class EntryRow(NamedTuple):
    """A StatementEntry already in its wire form, as a page reads it from the ledger.

    A page of 5,000 entries is built, encoded and signed within a request: each entry as
    a validated model would cost more than all the rest. The ledger's own rows are
    trusted to be valid entries (they were validated on the way in); the codecs write
    them exactly as they would write the equal `StatementEntry` (tests compare both).
    """

    bank_payment_ref: str
    payment_id: str
    bill_number: str
    amount: str  # two decimals, e.g. "650.00"
    paid_at: str  # `format_timestamp` of the UTC instant
    status: str  # a PaymentStatus value


@dataclass(frozen=True, slots=True)
class StatementPage:
    """A Statement answer: `head` is the page validated without its entries (`entries`
    empty), `entries` the page's entries in wire form, written into it by the codecs."""

    head: Statement
    entries: Sequence[EntryRow]

    def __post_init__(self) -> None:
        if self.head.entries:
            raise ValueError("a StatementPage's head carries no entries")
        if len(self.entries) > MAX_ENTRIES:
            raise ValueError(f"a statement page holds at most {MAX_ENTRIES} entries")

    def as_statement(self) -> Statement:
        """The same page as one validated model (tests, and the codecs' reference)."""
        entries = [StatementEntry.model_validate(row._asdict()) for row in self.entries]
        return self.head.model_copy(update={"entries": entries})


Answer = BaseModel | StatementPage
"""What a service answers: a message model, or a statement page (see `StatementPage`)."""


class Problem(WireModel):
    """An error in JSON: RFC 9457 problem details (application/problem+json)."""

    type: ProblemText
    title: ProblemText
    status: HttpStatus
    detail: ProblemDetail
    code: Code
    message_id: Uuid
    in_reply_to: Uuid | None = None
    """Absent when the request's MessageId could not be read."""
    timestamp: Timestamp


class ErrorResponse(WireModel):
    """An error in XML (root element `Error`)."""

    message_id: Uuid
    in_reply_to: Uuid | None = None
    """Absent when the request's MessageId could not be read."""
    timestamp: Timestamp
    code: Code
    description: ProblemDetail


# --- operations ----------------------------------------------------------------------------


RequestT = TypeVar("RequestT", bound=PartnerRequest)


@dataclass(frozen=True, slots=True)
class Operation(Generic[RequestT]):
    """One row of the contract's table (section 4): every operation is a signed POST."""

    path: str
    name: str
    request_model: type[RequestT]
    request_root: str
    response_model: type[PartnerResponse]
    response_root: str


ACTIVATION: Final = Operation(
    "/v1/activations", "activation",
    ActivationRequest, "ActivationRequest", ActivationResponse, "ActivationResponse",
)  # fmt: skip
ACTIVATION_CONFIRM: Final = Operation(
    "/v1/activations/confirm", "activation_confirm",
    ActivationConfirm, "ActivationConfirm", ActivationResponse, "ActivationResponse",
)  # fmt: skip
BILL_INQUIRY: Final = Operation(
    "/v1/bills/inquiry", "bill_inquiry",
    BillInquiry, "BillInquiry", BillInquiryResponse, "BillInquiryResponse",
)  # fmt: skip
FEE_QUOTE: Final = Operation(
    "/v1/fees/quote", "fee_quote", FeeQuote, "FeeQuote", BillInquiryResponse, "BillInquiryResponse"
)
PAYMENT: Final = Operation(
    "/v1/payments", "payment", PaymentNotification, "PaymentNotification", PaymentAck, "PaymentAck"
)
PAYMENT_REVERSAL: Final = Operation(
    "/v1/payments/reversal", "payment_reversal",
    PaymentReversal, "PaymentReversal", PaymentAck, "PaymentAck",
)  # fmt: skip
PAYMENT_STATUS: Final = Operation(
    "/v1/payments/status", "payment_status",
    PaymentStatusQuery, "PaymentStatusQuery", PaymentAck, "PaymentAck",
)  # fmt: skip
STATEMENT: Final = Operation(
    "/v1/reconciliation/statement", "statement",
    StatementRequest, "StatementRequest", Statement, "Statement",
)  # fmt: skip
OPERATIONS: Final[Mapping[str, Operation[Any]]] = MappingProxyType(
    {
        operation.path: operation
        for operation in (
            ACTIVATION,
            ACTIVATION_CONFIRM,
            BILL_INQUIRY,
            FEE_QUOTE,
            PAYMENT,
            PAYMENT_REVERSAL,
            PAYMENT_STATUS,
            STATEMENT,
        )
    }
)
ERROR_ROOT: Final = "Error"
