"""The fee schedule (`fees.toml`) and fee quotes: which service applies to whom, at what price.

Theory of operation. `load_fee_schedule` reads the file once, at start-up, into a frozen
`FeeSchedule`; every problem stops start-up with a message naming the file and the field.
`FeeSchedule.quote` answers a FeeQuote for a person: it prices the service for the
requested months and returns a `Quote` from which the shell issues the UNPAID bill
(`Quote.issue`). Finding an open bill for the same person, service and periods first is
the shell's job (it needs storage); `Bill.periods` is what it matches on.

Pricing, exact in integer halalas. A service is quoted for `periods` months where
`min_periods <= periods <= max_periods` and `periods - min_periods` is a multiple of
`period_step`; the amount is `base_amount + (periods - min_periods) // period_step *
step_amount`. One rule covers the three shapes of the sample schedule: per quarter
(iqama renewal: 162.50 per 3 months, so a year is 650.00 exactly, where 650/12 per month
is not a whole number of halalas), flat (resident ID: 1 month only, the schema requires
`Periods`), and "base plus per extra month" (exit/re-entry visa). Amounts are TOML
strings ("650.00"); a TOML float is refused, since it is binary floating point.

Choices the contract leaves open, checked in this order:
1. A service absent from the file cannot be quoted: SERVICE_NOT_APPLICABLE. The sample
   leaves out TRAFFIC_VIOLATION and OTHER, whose bills only the platform issues.
2. Periods the service does not offer: 400 SCHEMA_INVALID naming `periods` (a request
   problem, like any out-of-range field, and checked before anything about the person).
3. The person: ID type not listed in `id_types`, a blocked ID (always), or an expired
   ID where `requires_valid_id` (not for a renewal, which is how an expired iqama is
   cured): SERVICE_NOT_APPLICABLE. An ID is valid through its expiry date, as in
   activation. An inactive e-services account does not prevent quoting or paying.
4. The bill is due `valid_days` days after the quote's date and expires at the end of
   its due date (midnight Asia/Riyadh), so a quoted price does not stay open for ever.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeGuard

from bank_adapter.clock import RIYADH
from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.core.money import MAX_AMOUNT, parse_amount, to_halalas
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill
from bank_adapter.domain.ids import IdType
from bank_adapter.errors import AdapterError, Code

MAX_PERIODS: Final = 120  # what the FeeQuote schema lets through
MAX_DESCRIPTION: Final = 256  # the wire's Description length
DEFAULT_VALID_DAYS: Final = 7

_TOP_FIELDS: Final = frozenset({"valid_days", "services"})
_SERVICE_FIELDS: Final = frozenset(
    {
        "id_types", "requires_valid_id", "min_periods", "max_periods", "period_step",
        "base_amount", "step_amount", "description_ar", "description_en",
    }
)  # fmt: skip
_OPTIONAL: Final = {"period_step": 1, "step_amount": "0.00"}
_MAX_HALALAS: Final = to_halalas(MAX_AMOUNT)


class FeeScheduleError(ValueError):
    """A fee schedule that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class ServiceFee:
    """One service of the schedule: who it applies to and how it is priced."""

    id_types: frozenset[IdType]
    requires_valid_id: bool
    min_periods: int
    max_periods: int
    period_step: int
    base_halalas: int
    step_halalas: int
    description_ar: str  # templates: "{periods}" is the only placeholder
    description_en: str

    def offers(self, periods: int) -> bool:
        return (
            self.min_periods <= periods <= self.max_periods
            and (periods - self.min_periods) % self.period_step == 0
        )

    def price(self, periods: int) -> int:
        """Halalas for `periods` months; `periods` must be one the service `offers`."""
        steps = (periods - self.min_periods) // self.period_step
        return self.base_halalas + steps * self.step_halalas

    def refusal(self, account: Account, today: date) -> str | None:
        """Why the service does not apply to the account's holder, or None."""
        if account.id_type not in self.id_types:
            return f"the service does not apply to {account.id_type} holders"
        if account.blocked:
            return "the ID is blocked"
        expired = account.id_expiry is not None and account.id_expiry < today
        if self.requires_valid_id and expired:
            return "the service requires a valid ID"
        return None


@dataclass(frozen=True, slots=True)
class Quote:
    """A priced service, ready to become an UNPAID bill."""

    service_code: ServiceCode
    periods: int
    amount_halalas: int
    description_ar: str
    description_en: str
    due_date: date
    expires_at: datetime | None

    def issue(self, bill_number: str, id_number: str) -> Bill:
        """The UNPAID bill of this quote (the shell draws `bill_number` and stores it)."""
        return Bill(
            bill_number=bill_number,
            id_number=id_number,
            service_code=self.service_code,
            description_ar=self.description_ar,
            description_en=self.description_en,
            amount_halalas=self.amount_halalas,
            due_date=self.due_date,
            expires_at=self.expires_at,
            status=BillStatus.UNPAID,
            periods=self.periods,
        )


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """The quotable services; see the module docstring for the rules and their order."""

    services: Mapping[ServiceCode, ServiceFee]
    valid_days: int = DEFAULT_VALID_DAYS

    def quote(
        self, account: Account, service_code: ServiceCode, periods: int, today: date
    ) -> Quote:
        """Price `service_code` for `periods` months for the account's holder, on `today`
        (the Asia/Riyadh date), or raise SERVICE_NOT_APPLICABLE / SCHEMA_INVALID."""
        fee = self.services.get(service_code)
        if fee is None:
            raise AdapterError(
                Code.SERVICE_NOT_APPLICABLE, f"{service_code} is billed by the platform only"
            )
        if not fee.offers(periods):
            raise AdapterError(Code.SCHEMA_INVALID, f"periods: {_offered(fee)}")
        refusal = fee.refusal(account, today)
        if refusal is not None:
            raise AdapterError(Code.SERVICE_NOT_APPLICABLE, f"{service_code}: {refusal}")
        due_date = today + timedelta(days=self.valid_days)
        return Quote(
            service_code=service_code,
            periods=periods,
            amount_halalas=fee.price(periods),
            description_ar=fee.description_ar.format(periods=periods),
            description_en=fee.description_en.format(periods=periods),
            due_date=due_date,
            expires_at=datetime.combine(due_date + timedelta(days=1), time(0), RIYADH),
        )


def _offered(fee: ServiceFee) -> str:
    if fee.min_periods == fee.max_periods:
        return f"must be {fee.min_periods} for this service"
    return (
        f"must be {fee.min_periods} to {fee.max_periods}"
        f" in steps of {fee.period_step} for this service"
    )


def load_fee_schedule(path: Path) -> FeeSchedule:
    """The schedule in `path`, or FeeScheduleError naming the file and the field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FeeScheduleError(f"{path}: cannot read: {exc}") from exc
    return _Reader(path).schedule(data)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, message: str) -> FeeScheduleError:
        return FeeScheduleError(f"{self.path}: field `{field}`: {message}")

    def schedule(self, data: dict[str, Any]) -> FeeSchedule:
        self.known(data, _TOP_FIELDS, "")
        valid_days = data.get("valid_days", DEFAULT_VALID_DAYS)
        if not _is_int(valid_days) or not 1 <= valid_days <= 366:
            raise self.fail("valid_days", "an integer from 1 to 366 is required")
        services = data.get("services", {})
        if not isinstance(services, dict):
            raise self.fail("services", "a table of [services.<ServiceCode>] is required")
        parsed = {
            self.service_code(name): self.service(name, raw) for name, raw in services.items()
        }
        return FeeSchedule(MappingProxyType(parsed), valid_days)

    def known(self, table: Mapping[str, Any], fields: frozenset[str], prefix: str) -> None:
        unknown = sorted(set(table) - fields)
        if unknown:
            raise self.fail(prefix + unknown[0], "unknown field")

    def service_code(self, name: str) -> ServiceCode:
        if name not in ServiceCode.__members__:
            raise self.fail(f"services.{name}", f"not one of {sorted(ServiceCode)}")
        return ServiceCode(name)

    def service(self, name: str, raw: object) -> ServiceFee:
        field = _Fields(self, f"services.{name}", raw)
        fee = ServiceFee(
            id_types=field.id_types("id_types"),
            requires_valid_id=field.boolean("requires_valid_id"),
            min_periods=field.periods("min_periods"),
            max_periods=field.periods("max_periods"),
            period_step=field.periods("period_step"),
            base_halalas=field.halalas("base_amount"),
            step_halalas=field.halalas("step_amount"),
            description_ar=field.template("description_ar"),
            description_en=field.template("description_en"),
        )
        field.check_consistent(fee)
        return fee


class _Fields:
    """The fields of one `[services.<ServiceCode>]` table."""

    def __init__(self, reader: _Reader, prefix: str, raw: object) -> None:
        if not isinstance(raw, dict):
            raise reader.fail(prefix, "a table is required")
        reader.known(raw, _SERVICE_FIELDS, prefix + ".")
        self.reader = reader
        self.prefix = prefix
        self.raw: dict[str, Any] = {**_OPTIONAL, **raw}

    def fail(self, name: str, message: str) -> FeeScheduleError:
        return self.reader.fail(f"{self.prefix}.{name}", message)

    def get(self, name: str) -> object:
        if name not in self.raw:
            raise self.fail(name, "missing")
        return self.raw[name]

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false is required")
        return value

    def periods(self, name: str) -> int:
        value = self.get(name)
        if not _is_int(value) or not 1 <= value <= MAX_PERIODS:
            raise self.fail(name, f"an integer from 1 to {MAX_PERIODS} is required")
        return value

    def halalas(self, name: str) -> int:
        value = self.get(name)
        if not isinstance(value, str):
            raise self.fail(name, 'a string with two decimals is required, e.g. "650.00"')
        try:
            return to_halalas(parse_amount(value))
        except ValueError as exc:
            raise self.fail(name, str(exc)) from None

    def id_types(self, name: str) -> frozenset[IdType]:
        value = self.get(name)
        if not isinstance(value, list) or not value or not all(map(_is_id_type, value)):
            raise self.fail(name, f"a non-empty list of {sorted(IdType)} is required")
        return frozenset(IdType(item) for item in value)

    def template(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "a non-empty string is required")
        if not _only_periods_placeholder(value):
            raise self.fail(name, '"{periods}" is the only placeholder allowed')
        return value

    def check_consistent(self, fee: ServiceFee) -> None:
        if fee.max_periods < fee.min_periods:
            raise self.fail("max_periods", "must not be less than min_periods")
        if (fee.max_periods - fee.min_periods) % fee.period_step:
            raise self.fail("period_step", "must divide max_periods - min_periods")
        if fee.base_halalas <= 0:
            raise self.fail("base_amount", "must be more than 0.00")
        if fee.price(fee.max_periods) > _MAX_HALALAS:
            raise self.fail("step_amount", "the price of max_periods is too large")
        for name in ("description_ar", "description_en"):
            text = getattr(fee, name).format(periods=fee.max_periods)
            if len(text) > MAX_DESCRIPTION:
                raise self.fail(name, f"longer than {MAX_DESCRIPTION} characters")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id_type(value: object) -> bool:
    return isinstance(value, str) and value in IdType.__members__


def _only_periods_placeholder(template: str) -> bool:
    # Only a bare {periods}: no other names, attributes, indexes, conversions or specs.
    try:
        fields = [part[1:] for part in string.Formatter().parse(template) if part[1] is not None]
    except ValueError:  # unbalanced braces
        return False
    return all(field == ("periods", "", None) for field in fields)
