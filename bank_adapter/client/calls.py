"""What to send: one `Call` per operation, built from the bank's arguments. No I/O.

A call holds an operation's fields without `MessageId` and `Timestamp`: each send
stamps fresh ones, so a retry is a new message about the same thing, as the contract's
retry rule asks (section 3: new MessageId and Timestamp, same BankPaymentRef).

`retryable` says whether sending the call again after a timeout, a lost answer or a 5xx
is what the contract wants: payments (same BankPaymentRef: never posted twice), status
queries and the reads. Not activation start (each start sends a new OTP and ends the
previous activation), confirm (a lost ACTIVATED answer then reads as not found) or
reversal (a lost REVERSED answer then reads as ALREADY_REVERSED): after a lost answer
to those, ask what became of them instead.

Every builder takes `now` first (the client's clock; `PaidAt` defaults to it), then the
operation's fields as keyword arguments: the clients expose exactly these signatures.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel

from bank_adapter.core.messages import (
    OPERATIONS,
    ActivationResponse,
    BillInquiryResponse,
    Operation,
    PartnerRequest,
    PaymentAck,
    Statement,
)
from bank_adapter.core.money import parse_amount

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Call(Generic[R]):
    operation: Operation[Any]
    result: type[R]
    fields: Mapping[str, Any]
    retryable: bool

    def message(self, message_id: UUID, timestamp: datetime) -> PartnerRequest:
        """The request message for one send of this call."""
        message: PartnerRequest = self.operation.request_model(
            message_id=message_id, timestamp=timestamp, **self.fields
        )
        return message


def _call(path: str, result: type[R], retryable: bool, **fields: Any) -> Call[R]:
    return Call(OPERATIONS[path], result, fields, retryable)


def activation(
    now: datetime,
    /,
    *,
    id_number: str,
    mobile: str,
    channel: str,
    bank_customer_ref: str,
    terminal_id: str | None = None,
) -> Call[ActivationResponse]:
    """Start activating a pending account: `OTP_SENT` (or `ACTIVATED` on a strong channel)."""
    return _call(
        "/v1/activations", ActivationResponse, False,
        channel=channel, terminal_id=terminal_id, id_number=id_number, mobile=mobile,
        bank_customer_ref=bank_customer_ref,
    )  # fmt: skip


def confirmation(
    now: datetime,
    /,
    *,
    activation_id: str | UUID,
    otp: str,
    channel: str,
    terminal_id: str | None = None,
) -> Call[ActivationResponse]:
    """Finish an activation with the OTP the customer received: `ACTIVATED`."""
    return _call(
        "/v1/activations/confirm", ActivationResponse, False,
        channel=channel, terminal_id=terminal_id, activation_id=activation_id, otp=otp,
    )  # fmt: skip


def bill_inquiry(
    now: datetime,
    /,
    *,
    channel: str,
    id_number: str | None = None,
    bill_number: str | None = None,
) -> Call[BillInquiryResponse]:
    """A person's open bills (`id_number`) or one bill (`bill_number`)."""
    return _call(
        "/v1/bills/inquiry", BillInquiryResponse, True,
        channel=channel, id_number=id_number, bill_number=bill_number,
    )  # fmt: skip


def fee_quote(
    now: datetime, /, *, id_number: str, service_code: str, periods: int, channel: str
) -> Call[BillInquiryResponse]:
    """Price a service for a person and issue its bill (asking again gives the same bill)."""
    return _call(
        "/v1/fees/quote", BillInquiryResponse, True,
        channel=channel, id_number=id_number, service_code=service_code, periods=periods,
    )  # fmt: skip


def payment(
    now: datetime,
    /,
    *,
    bank_payment_ref: str,
    bill_number: str,
    amount: Decimal | str,
    channel: str,
    paid_at: datetime | None = None,
    terminal_id: str | None = None,
) -> Call[PaymentAck]:
    """Notify a payment the bank has taken: `POSTED` with its `PaymentId`."""
    return _call(
        "/v1/payments", PaymentAck, True,
        channel=channel, terminal_id=terminal_id, bank_payment_ref=bank_payment_ref,
        bill_number=bill_number, currency="SAR", paid_at=paid_at or now,
        amount=parse_amount(amount) if isinstance(amount, str) else amount,
    )  # fmt: skip


def reversal(
    now: datetime, /, *, bank_payment_ref: str, reason: str, channel: str
) -> Call[PaymentAck]:
    """Undo a payment on its business date: `REVERSED`."""
    return _call(
        "/v1/payments/reversal", PaymentAck, False,
        channel=channel, bank_payment_ref=bank_payment_ref, reason=reason,
    )  # fmt: skip


def payment_status(now: datetime, /, *, bank_payment_ref: str, channel: str) -> Call[PaymentAck]:
    """What became of a payment: `POSTED` or `REVERSED` (`NotFoundError` if never posted)."""
    return _call(
        "/v1/payments/status", PaymentAck, True, channel=channel, bank_payment_ref=bank_payment_ref
    )


def statement(
    now: datetime,
    /,
    *,
    business_date: date,
    channel: str = "WEB",
    page_size: int | None = None,
    page_token: str | None = None,
) -> Call[Statement]:
    """One page of the partner's statement of `business_date`."""
    return _call(
        "/v1/reconciliation/statement", Statement, True,
        channel=channel, business_date=business_date, page_size=page_size, page_token=page_token,
    )  # fmt: skip
