"""Bills: `/v1/bills/inquiry`, `/v1/fees/quote`, and issuing bills for the platform."""

from __future__ import annotations

from datetime import datetime

from bank_adapter.clock import riyadh_date
from bank_adapter.core import messages as wire
from bank_adapter.core.messages import BillStatus
from bank_adapter.core.money import from_halalas
from bank_adapter.domain.bills import Bill, bill_number_valid, effective_status, new_bill_number
from bank_adapter.domain.ids import parse_id_number
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services.context import CallContext
from bank_adapter.services.storage import Tx

# Descriptions of platform-issued bills when the platform gives none: (Arabic, English).
SERVICE_NAMES: dict[wire.ServiceCode, tuple[str, str]] = {
    wire.ServiceCode.IQAMA_RENEWAL: ("تجديد الإقامة", "Iqama renewal"),
    wire.ServiceCode.RESIDENT_ID_ISSUE: ("إصدار هوية مقيم", "Resident ID issue"),
    wire.ServiceCode.EXIT_REENTRY_VISA: ("تأشيرة خروج وعودة", "Exit/re-entry visa"),
    wire.ServiceCode.TRAFFIC_VIOLATION: ("مخالفة مرورية", "Traffic violation"),
    wire.ServiceCode.OTHER: ("رسوم حكومية", "Government fee"),
}


async def inquire(ctx: CallContext, tx: Tx, msg: wire.BillInquiry) -> wire.BillInquiryResponse:
    if msg.bill_number is not None:
        bills = [await find_bill(tx, msg.bill_number)]
    else:
        assert msg.id_number is not None
        unpaid = await tx.bills_of(parse_id_number(msg.id_number), BillStatus.UNPAID)
        bills = [bill for bill in unpaid if effective_status(bill, ctx.now) is BillStatus.UNPAID]
    return wire.BillInquiryResponse(
        bills=[wire_bill(bill, ctx.now) for bill in bills], **ctx.reply_fields()
    )


async def quote(ctx: CallContext, tx: Tx, msg: wire.FeeQuote) -> wire.BillInquiryResponse:
    id_number = parse_id_number(msg.id_number)
    account = await tx.account(id_number)
    if account is None:
        raise AdapterError(Code.ACCOUNT_NOT_FOUND, "no person with this ID number is registered")
    priced = ctx.fees.quote(account, msg.service_code, msg.periods, riyadh_date(ctx.now))
    key = f"{id_number}|{msg.service_code.value}|{msg.periods}"
    bill = await tx.open_quote(key)
    if bill is not None and effective_status(bill, ctx.now) is BillStatus.EXPIRED:
        # Frees the open-quote slot, so the person gets a fresh bill.
        await tx.move_bill(bill.bill_number, BillStatus.UNPAID, BillStatus.EXPIRED, ctx.now)
        bill = None
    if bill is None:
        bill = priced.issue(new_bill_number(), id_number)
        await tx.add_bill(bill, ctx.now, quote_key=key)
    return wire.BillInquiryResponse(bills=[wire_bill(bill, ctx.now)], **ctx.reply_fields())


async def find_bill(tx: Tx, bill_number: str) -> Bill:
    """The bill, or BILL_NOT_FOUND for unknown and malformed numbers alike."""
    bill = await tx.bill(bill_number) if bill_number_valid(bill_number) else None
    if bill is None:
        raise AdapterError(Code.BILL_NOT_FOUND, "no bill with this number")
    return bill


def wire_bill(bill: Bill, now: datetime) -> wire.Bill:
    return wire.Bill(
        bill_number=bill.bill_number,
        service_code=bill.service_code,
        description_ar=bill.description_ar,
        description_en=bill.description_en,
        amount=from_halalas(bill.amount_halalas),
        currency=wire.Currency.SAR,
        due_date=bill.due_date,
        expires_at=bill.expires_at,
        status=effective_status(bill, now),
    )
