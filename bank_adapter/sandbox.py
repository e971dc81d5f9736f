"""Sandbox helpers: demo accounts, and SDK configs for the sandbox partners' test keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bank_adapter.client import PartnerConfig
from bank_adapter.core.keys import SigningKey, load_private_pem
from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.core.money import parse_amount, to_halalas
from bank_adapter.core.profiles import key_kind_for
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill, damm_digit
from bank_adapter.domain.ids import default_id_type, luhn_complete
from bank_adapter.partners import load_partner
from bank_adapter.store.repository import Store


@dataclass(frozen=True, slots=True)
class DemoAccount:
    account: Account
    note: str


def _account(prefix: str, mobile: str, note: str, **changes: object) -> DemoAccount:
    id_number = luhn_complete(prefix)
    fields: dict[str, object] = {
        "id_number": id_number,
        "id_type": default_id_type(id_number),
        "mobile": mobile,
        "biometric_enrolled": True,
        "id_expiry": date(2030, 1, 1),
        "blocked": False,
        "status": "PENDING",
        "full_name_ar": "مستخدم تجريبي",
        "full_name_en": "Demo User",
    }
    fields.update(changes)
    return DemoAccount(Account(**fields), note)  # type: ignore[arg-type]


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    _account("100000001", "+966500000001", "pending citizen: activate with OTP"),
    _account("100000002", "+966500000002", "pending citizen: activate with OTP"),
    _account("200000003", "+966500000003", "pending resident (iqama): activate at an ATM"),
    _account("300000004", "+966500000004", "pending visitor (border number)"),
    _account("100000005", "+966500000005", "blocked ID", blocked=True),
    _account("200000006", "+966500000006", "expired iqama", id_expiry=date(2024, 1, 1)),
    _account("100000007", "+966500000007", "no fingerprint enrolled", biometric_enrolled=False),
)


def _bill(
    body: str, account: DemoAccount, service: ServiceCode, amount: str, en: str, ar: str
) -> Bill:
    return Bill(
        bill_number=body + str(damm_digit(body)),
        id_number=account.account.id_number,
        service_code=service,
        description_ar=ar,
        description_en=en,
        amount_halalas=to_halalas(parse_amount(amount)),
        due_date=date(2030, 12, 31),
        expires_at=None,
        status=BillStatus.UNPAID,
    )


DEMO_BILLS: tuple[Bill, ...] = (
    _bill("100000000001", DEMO_ACCOUNTS[0], ServiceCode.TRAFFIC_VIOLATION, "300.00",
          "Traffic violation: speeding", "مخالفة مرورية: تجاوز السرعة"),
    _bill("100000000002", DEMO_ACCOUNTS[0], ServiceCode.TRAFFIC_VIOLATION, "150.00",
          "Traffic violation: parking", "مخالفة مرورية: وقوف خاطئ"),
    _bill("100000000003", DEMO_ACCOUNTS[2], ServiceCode.IQAMA_RENEWAL, "650.00",
          "Iqama renewal (12 months)", "تجديد الإقامة (12 شهرا)"),
)  # fmt: skip


async def seed(store: Store, now: datetime) -> list[DemoAccount]:
    """Register the demo accounts and their bills (idempotent: re-running refreshes
    the accounts' data and leaves existing bills as they are)."""
    async with store.write() as tx:
        for demo in DEMO_ACCOUNTS:
            await tx.save_account(demo.account, now)
        for bill in DEMO_BILLS:
            if await tx.bill(bill.bill_number) is None:
                await tx.add_bill(bill, now)
    return list(DEMO_ACCOUNTS)


def partner_config(partners_dir: Path, partner_id: str, kid: str | None = None) -> PartnerConfig:
    """SDK settings for a sandbox partner, with its published test key."""
    partner = load_partner(partners_dir / f"{partner_id}.toml", sandbox=True)
    chosen = kid or next(iter(partner.keys))
    pem = (partners_dir / "sandbox-keys" / f"{chosen}.key.pem").read_bytes()
    key = SigningKey(chosen, load_private_pem(pem))
    algorithm = next(alg for alg in sorted(partner.algorithms) if _fits(alg, key))
    return PartnerConfig(partner.id, partner.format, partner.signature, key, algorithm)


def _fits(algorithm: str, key: SigningKey) -> bool:
    return key_kind_for(algorithm) == key.kind
