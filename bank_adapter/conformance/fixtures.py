"""The conformance fixtures: exactly one account and two bills, fresh for every run.

The account (`activation`) is pending with a fingerprint enrolled, so a bank activates
it with the OTP the kit's SMS outbox shows; the bills are `payment` (pay it, then reverse
it) and `lost_answer` (its first posted payment loses its answer on the way back).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.core.money import format_amount, from_halalas
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill, new_bill_number
from bank_adapter.domain.ids import default_id_type, luhn_complete
from bank_adapter.domain.payments import business_date
from bank_adapter.partners import Partner
from bank_adapter.store.repository import Store

PAYMENT_HALALAS = 30_000
LOST_ANSWER_HALALAS = 15_000


@dataclass(frozen=True, slots=True)
class Fixtures:
    partner: str
    business_date: date
    account: Account
    payment_bill: Bill
    lost_answer_bill: Bill

    def document(self) -> dict[str, Any]:
        """The fixtures JSON of contract section 10."""
        return {
            "partner": self.partner,
            "businessDate": self.business_date.isoformat(),
            "accounts": [
                {
                    "idNumber": self.account.id_number,
                    "mobile": self.account.mobile,
                    "purpose": "activation",
                }
            ],
            "bills": [
                _bill(self.payment_bill, "payment"),
                _bill(self.lost_answer_bill, "lost_answer"),
            ],
        }


def _bill(bill: Bill, purpose: str) -> dict[str, str]:
    amount = format_amount(from_halalas(bill.amount_halalas))
    return {"billNumber": bill.bill_number, "amount": amount, "purpose": purpose}


def new_fixtures(partner: Partner, now: datetime) -> Fixtures:
    id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
    mobile = "+9665" + "".join(secrets.choice("0123456789") for _ in range(8))
    account = Account(
        id_number=id_number,
        id_type=default_id_type(id_number),
        mobile=mobile,
        biometric_enrolled=True,
        id_expiry=now.date() + timedelta(days=3 * 365),
        blocked=False,
        status="PENDING",
        full_name_ar="عميل اختبار المطابقة",
        full_name_en="Conformance Customer",
    )
    due = now.date() + timedelta(days=365)
    return Fixtures(
        partner=partner.id,
        business_date=business_date(now, partner.cutoff),
        account=account,
        payment_bill=_new_bill(id_number, PAYMENT_HALALAS, due, "speeding"),
        lost_answer_bill=_new_bill(id_number, LOST_ANSWER_HALALAS, due, "parking"),
    )


def _new_bill(id_number: str, halalas: int, due: date, what: str) -> Bill:
    return Bill(
        bill_number=new_bill_number(),
        id_number=id_number,
        service_code=ServiceCode.TRAFFIC_VIOLATION,
        description_ar="مخالفة مرورية",
        description_en=f"Traffic violation: {what}",
        amount_halalas=halalas,
        due_date=due,
        expires_at=None,
        status=BillStatus.UNPAID,
    )


async def seed(store: Store, fixtures: Fixtures, now: datetime) -> None:
    async with store.write() as tx:
        await tx.save_account(fixtures.account, now)
        await tx.add_bill(fixtures.payment_bill, now)
        await tx.add_bill(fixtures.lost_answer_bill, now)
