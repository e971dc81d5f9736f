"""The message models and money, in Python: what they take, what they refuse, how they print."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError

from bank_adapter.core.messages import (
    OPERATIONS,
    BillInquiry,
    Channel,
    Currency,
    ErrorResponse,
    PartnerRequest,
    PartnerResponse,
    PaymentNotification,
    StatementRequest,
    format_timestamp,
    uuid_or_none,
    xml_name,
)
from bank_adapter.core.money import (
    WIRE_CONTEXT,
    format_amount,
    from_halalas,
    is_amount,
    parse_amount,
    to_halalas,
)
from bank_adapter.errors import Code

M = TypeVar("M", bound=BaseModel)

MESSAGE_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
RIYADH = timezone(timedelta(hours=3))

NOTIFICATION: dict[str, object] = {
    "messageId": MESSAGE_ID,
    "timestamp": "2026-01-31T09:30:00+03:00",
    "channel": "APP",
    "bankPaymentRef": "RJHI-000123",
    "billNumber": "1000000018",
    "amount": "650.00",
    "currency": "SAR",
    "paidAt": "2026-01-31T09:29:58+03:00",
}


def wire(model_cls: type[M], **changes: object) -> M:
    """Validate NOTIFICATION-like data the way the codecs do."""
    data = {**NOTIFICATION, **changes}
    return model_cls.model_validate(data, context=WIRE_CONTEXT, by_alias=True, by_name=False)


def error_types(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {".".join(map(str, e["loc"])): e["type"] for e in exc.value.errors()}


# --- money ---------------------------------------------------------------------------------


def test_halalas_round_trip_exactly() -> None:
    assert to_halalas(Decimal("650.00")) == 65000
    assert from_halalas(65000) == Decimal("650.00")
    assert str(from_halalas(5)) == "0.05"


def test_amounts_add_exactly() -> None:
    total = parse_amount("0.10") + parse_amount("0.20")
    assert format_amount(total) == "0.30"
    assert to_halalas(total) == 30


def test_fractions_of_a_halala_are_not_halalas() -> None:
    with pytest.raises(ValueError, match="halalas"):
        to_halalas(Decimal("0.005"))


@pytest.mark.parametrize("text", ["650", "650.0", "650.000", "0650.00", "-1.00", "1e3", " 1.00"])
def test_parse_amount_takes_only_the_wire_form(text: str) -> None:
    with pytest.raises(ValueError, match="two decimals"):
        parse_amount(text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("650.00"), True),
        (Decimal("0.00"), True),
        (Decimal("9999999999999.99"), True),
        (Decimal("10000000000000.00"), False),
        (Decimal("650.0"), False),
        (Decimal("-1.00"), False),
        (Decimal("NaN"), False),
    ],
)
def test_is_amount(value: Decimal, expected: bool) -> None:
    assert is_amount(value) is expected


# --- amounts in models ---------------------------------------------------------------------


def test_python_code_may_pass_a_decimal_amount() -> None:
    notification = PaymentNotification.model_validate({**NOTIFICATION, "amount": Decimal("650.00")})
    assert notification.amount == Decimal("650.00")


def test_a_decimal_from_the_wire_is_a_json_number_and_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        wire(PaymentNotification, amount=Decimal("650.00"))
    assert error_types(exc) == {"amount": "amount"}


@pytest.mark.parametrize("amount", [650.0, 650, Decimal("650.000"), "650.5", True])
def test_amounts_in_any_other_form_are_refused(amount: object) -> None:
    with pytest.raises(ValidationError) as exc:
        PaymentNotification.model_validate({**NOTIFICATION, "amount": amount})
    assert error_types(exc) == {"amount": "amount"}


def test_amount_serialises_as_its_string() -> None:
    notification = wire(PaymentNotification)
    assert notification.model_dump(mode="json", by_alias=True)["amount"] == "650.00"
    assert notification.model_dump()["amount"] == Decimal("650.00")


# --- timestamps, dates, ids ----------------------------------------------------------------


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-01-31T09:30:00",  # naive
        "2026-01-31 09:30:00+03:00",
        "2026-01-31T09:30:00z",
        "2026-01-31T09:30+03:00",
        "2026-02-30T09:30:00Z",
        "1769841000",
        1769841000,
    ],
)
def test_timestamps_must_be_rfc3339_with_offset(timestamp: object) -> None:
    with pytest.raises(ValidationError) as exc:
        wire(PaymentNotification, timestamp=timestamp)
    assert error_types(exc) == {"timestamp": "lexical_form"}


def test_naive_datetimes_are_refused_in_python_too() -> None:
    with pytest.raises(ValidationError) as exc:
        PaymentNotification.model_validate({**NOTIFICATION, "paidAt": datetime(2026, 1, 31, 9)})
    assert error_types(exc) == {"paidAt": "lexical_form"}


def test_nanoseconds_are_read_to_the_microsecond() -> None:
    notification = wire(PaymentNotification, timestamp="2026-01-31T09:30:00.123456789Z")
    assert notification.timestamp == datetime(2026, 1, 31, 9, 30, 0, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 1, 31, 6, 30, tzinfo=UTC), "2026-01-31T06:30:00Z"),
        (datetime(2026, 1, 31, 9, 30, tzinfo=RIYADH), "2026-01-31T09:30:00+03:00"),
        (datetime(2026, 1, 31, 9, 30, 0, 5000, tzinfo=RIYADH), "2026-01-31T09:30:00.005000+03:00"),
    ],
)
def test_format_timestamp(value: datetime, text: str) -> None:
    assert format_timestamp(value) == text


@pytest.mark.parametrize(
    "message_id",
    [
        "6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b",
        "{6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b}",
        "urn:uuid:6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
        "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4",
    ],
)
def test_message_ids_are_hyphenated_uuids(message_id: str) -> None:
    with pytest.raises(ValidationError) as exc:
        wire(PaymentNotification, messageId=message_id)
    assert error_types(exc) == {"messageId": "lexical_form"}
    assert uuid_or_none(message_id) is None


def test_upper_case_uuids_are_the_same_uuid() -> None:
    notification = wire(PaymentNotification, messageId=MESSAGE_ID.upper())
    assert notification.message_id == UUID(MESSAGE_ID)


@pytest.mark.parametrize("business_date", ["2026-1-31", "2026-01-31Z", "2026-02-30", 20260131])
def test_business_dates_are_plain_dates(business_date: object) -> None:
    data = {k: NOTIFICATION[k] for k in ("messageId", "timestamp", "channel")}
    with pytest.raises(ValidationError) as exc:
        StatementRequest.model_validate({**data, "businessDate": business_date})
    assert error_types(exc) == {"businessDate": "lexical_form"}


# --- shape ---------------------------------------------------------------------------------


def test_models_are_frozen() -> None:
    notification = wire(PaymentNotification)
    with pytest.raises(ValidationError):
        notification.amount = Decimal("1.00")  # type: ignore[misc]


def test_python_names_are_not_wire_names() -> None:
    with pytest.raises(ValidationError) as exc:
        wire(PaymentNotification, bank_payment_ref="x")
    assert error_types(exc) == {"bank_payment_ref": "extra_forbidden"}


def test_python_code_builds_models_by_field_name() -> None:
    inquiry = BillInquiry(
        message_id=UUID(MESSAGE_ID),
        timestamp=datetime(2026, 1, 31, 9, 30, tzinfo=RIYADH),
        channel=Channel.ATM,
        bill_number="1000000018",
    )
    assert inquiry.id_number is None


@pytest.mark.parametrize(
    "keys", [{}, {"idNumber": "1000000008", "billNumber": "1000000018"}], ids=["none", "both"]
)
def test_bill_inquiry_takes_exactly_one_key(keys: dict[str, str]) -> None:
    data = {k: NOTIFICATION[k] for k in ("messageId", "timestamp", "channel")}
    with pytest.raises(ValidationError, match="exactly one of idNumber and billNumber"):
        BillInquiry.model_validate({**data, **keys})


@pytest.mark.parametrize("periods", ["12", 12.0, True, 0, 121])
def test_integers_are_json_integers_in_range(periods: Any) -> None:
    data = {k: NOTIFICATION[k] for k in ("messageId", "timestamp", "channel")}
    fee_quote = OPERATIONS["/v1/fees/quote"].request_model
    with pytest.raises(ValidationError) as exc:
        fee_quote.model_validate(
            {**data, "idNumber": "1", "serviceCode": "IQAMA_RENEWAL", "periods": periods}
        )
    assert list(error_types(exc)) == ["periods"]


def test_page_size_is_optional_and_bounded() -> None:
    data = {k: NOTIFICATION[k] for k in ("messageId", "timestamp", "channel")}
    request = StatementRequest.model_validate({**data, "businessDate": "2026-01-31"})
    assert request.page_size is None
    assert request.business_date == date(2026, 1, 31)
    with pytest.raises(ValidationError):
        StatementRequest.model_validate({**data, "businessDate": "2026-01-31", "pageSize": 5001})


@pytest.mark.parametrize("ref", ["", "x" * 65, "a\x00b", "a\nb", "a\u0085b"])
def test_references_are_bounded_printable_text(ref: str) -> None:
    with pytest.raises(ValidationError) as exc:
        wire(PaymentNotification, bankPaymentRef=ref)
    assert list(error_types(exc)) == ["bankPaymentRef"]


def test_id_numbers_are_left_to_the_domain() -> None:
    data = {k: NOTIFICATION[k] for k in ("messageId", "timestamp", "channel")}
    inquiry = BillInquiry.model_validate({**data, "idNumber": "not-an-id!"})
    assert inquiry.id_number == "not-an-id!"


def test_currency_is_sar() -> None:
    assert [c.value for c in Currency] == ["SAR"]
    with pytest.raises(ValidationError):
        wire(PaymentNotification, currency="USD")


def test_xml_names_upper_case_the_first_letter() -> None:
    assert xml_name("bankPaymentRef") == "BankPaymentRef"
    assert xml_name("otp") == "Otp"


# --- operations ----------------------------------------------------------------------------

CONTRACT_TABLE = [
    ("/v1/activations", "ActivationRequest", "ActivationResponse"),
    ("/v1/activations/confirm", "ActivationConfirm", "ActivationResponse"),
    ("/v1/bills/inquiry", "BillInquiry", "BillInquiryResponse"),
    ("/v1/fees/quote", "FeeQuote", "BillInquiryResponse"),
    ("/v1/payments", "PaymentNotification", "PaymentAck"),
    ("/v1/payments/reversal", "PaymentReversal", "PaymentAck"),
    ("/v1/payments/status", "PaymentStatusQuery", "PaymentAck"),
    ("/v1/reconciliation/statement", "StatementRequest", "Statement"),
]


def test_operations_are_the_contract_table() -> None:
    table = [(op.path, op.request_root, op.response_root) for op in OPERATIONS.values()]
    assert table == CONTRACT_TABLE
    assert all(path == op.path for path, op in OPERATIONS.items())
    assert len({op.name for op in OPERATIONS.values()}) == len(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS.values(), ids=OPERATIONS.keys())
def test_operation_models_are_named_as_their_roots(operation: Any) -> None:
    assert issubclass(operation.request_model, PartnerRequest)
    assert issubclass(operation.response_model, PartnerResponse)
    assert operation.request_model.__name__ == operation.request_root
    assert operation.response_model.__name__ == operation.response_root


def test_error_text_is_fitted_not_refused() -> None:
    # An error answer must always build, whatever an exception message held.
    error = ErrorResponse(
        message_id=UUID(MESSAGE_ID),
        timestamp=datetime(2026, 1, 31, 9, 30, tzinfo=RIYADH),
        code=Code.MALFORMED_MESSAGE,
        description="line 1\nline 2\x00" + "x" * 10_000,
    )
    assert error.description.startswith("line 1?line 2?xxx")
    assert len(error.description) == 8192
    assert error.description.endswith("…")
