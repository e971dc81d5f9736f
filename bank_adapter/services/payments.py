"""Payments: `/v1/payments`, `/v1/payments/reversal`, `/v1/payments/status`.

A notification, in one unit of work: the payment row (unique per partner and reference,
and at most one POSTED per bill: both enforced by the database), the bill's move to
PAID, the day's running figures and the PAYMENT_POSTED event. Units of work run one at
a time against committed state (see `bank_adapter.store.batch`), so a concurrent twin
finds the winner's payment (same reference: the original PaymentId) or a paid bill; if
it ever loses on a constraint instead, it is rolled back and decided again.

`ctx.now` is read when the unit of work starts, with the writer held: a decision made
before a day's cut-off commits before any decision made after it, so a statement that
says Final has every payment of its day.
"""

from __future__ import annotations

from bank_adapter.core import messages as wire
from bank_adapter.core.messages import BillStatus
from bank_adapter.core.money import from_halalas, to_halalas
from bank_adapter.domain.bills import check_payable
from bank_adapter.domain.payments import (
    NewPayment,
    Payment,
    PaymentTerms,
    business_date,
    check_retry,
    check_reversible,
)
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services.billing import find_bill
from bank_adapter.services.context import CallContext
from bank_adapter.services.storage import DecideAgain, Tx


async def notify(ctx: CallContext, tx: Tx, msg: wire.PaymentNotification) -> wire.PaymentAck:
    amount = to_halalas(msg.amount)
    existing = await tx.payment(ctx.partner.id, msg.bank_payment_ref)
    if existing is not None:
        # A retry: the payment as it stands now, never a second posting.
        check_retry(
            PaymentTerms(existing.bill_number, existing.amount_halalas),
            PaymentTerms(msg.bill_number, amount),
        )
        return ack(ctx, existing)
    check_payable(await find_bill(tx, msg.bill_number), amount, ctx.now)
    day = business_date(ctx.now, ctx.partner.cutoff)
    payment = await tx.add_payment(
        NewPayment(
            partner_id=ctx.partner.id,
            bank_payment_ref=msg.bank_payment_ref,
            bill_number=msg.bill_number,
            amount_halalas=amount,
            paid_at=msg.paid_at,
            channel=msg.channel.value,
            terminal_id=msg.terminal_id,
            business_date=day,
        ),
        ctx.now,
    )
    if not await tx.move_bill(msg.bill_number, BillStatus.UNPAID, BillStatus.PAID, ctx.now):
        raise DecideAgain("the bill changed under this unit of work")
    tx.post_to_day(ctx.partner.id, day, payment.entry)
    tx.add_event("PAYMENT_POSTED", event_data(payment), ctx.now)
    return ack(ctx, payment)


async def reverse(ctx: CallContext, tx: Tx, msg: wire.PaymentReversal) -> wire.PaymentAck:
    payment = await find_payment(ctx, tx, msg.bank_payment_ref)
    check_reversible(payment.status, payment.business_date, ctx.partner.cutoff, ctx.now)
    if not await tx.reverse_payment(payment.seq, msg.reason, ctx.now):
        raise DecideAgain("the payment changed under this unit of work")
    if not await tx.move_bill(payment.bill_number, BillStatus.PAID, BillStatus.UNPAID, ctx.now):
        raise DecideAgain("the bill changed under this unit of work")
    tx.reverse_in_day(ctx.partner.id, payment.business_date, payment.entry)
    reversed_payment = payment.reversed()
    tx.add_event("PAYMENT_REVERSED", event_data(reversed_payment), ctx.now)
    return ack(ctx, reversed_payment)


async def status(ctx: CallContext, tx: Tx, msg: wire.PaymentStatusQuery) -> wire.PaymentAck:
    return ack(ctx, await find_payment(ctx, tx, msg.bank_payment_ref))


async def find_payment(ctx: CallContext, tx: Tx, bank_payment_ref: str) -> Payment:
    payment = await tx.payment(ctx.partner.id, bank_payment_ref)
    if payment is None:
        raise AdapterError(Code.PAYMENT_NOT_FOUND, "no payment with this BankPaymentRef")
    return payment


def ack(ctx: CallContext, payment: Payment) -> wire.PaymentAck:
    return wire.PaymentAck(
        bank_payment_ref=payment.bank_payment_ref,
        status=payment.status,
        payment_id=payment.payment_id,
        business_date=payment.business_date,
        **ctx.reply_fields(),
    )


def event_data(payment: Payment) -> dict[str, str]:
    return {
        "partnerId": payment.partner_id,
        "bankPaymentRef": payment.bank_payment_ref,
        "paymentId": payment.payment_id,
        "billNumber": payment.bill_number,
        "amount": str(from_halalas(payment.amount_halalas)),
        "businessDate": payment.business_date.isoformat(),
    }
