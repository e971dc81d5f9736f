"""Fee schedule: loading `fees.toml`, exact prices, who a service applies to, and the order."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.clock import RIYADH
from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.core.money import format_amount, from_halalas
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import new_bill_number
from bank_adapter.domain.fees import (
    FeeSchedule,
    FeeScheduleError,
    Quote,
    load_fee_schedule,
)
from bank_adapter.domain.ids import IdType
from bank_adapter.errors import AdapterError, Code

SAMPLE = Path(__file__).parents[2] / "fees.toml"
TODAY = date(2026, 3, 15)
RESIDENT = Account(
    id_number="2345678904",
    id_type=IdType.IQAMA,
    mobile="+966512345678",
    biometric_enrolled=True,
    id_expiry=date(2027, 1, 1),
    blocked=False,
    status="ACTIVE",
)
CITIZEN = replace(RESIDENT, id_number="1234567897", id_type=IdType.NATIONAL_ID)
EXPIRED_RESIDENT = replace(RESIDENT, id_expiry=TODAY - timedelta(days=1))

# The sample schedule, written out independently: months offered -> halalas.
IQAMA_PRICES = {months: 16250 * months // 3 for months in range(3, 25, 3)}
VISA_PRICES = {months: 20000 + 10000 * (months - 2) for months in range(2, 13)}
RESIDENT_ID_PRICES = {1: 50000}
SAMPLE_PRICES = {
    ServiceCode.IQAMA_RENEWAL: IQAMA_PRICES,
    ServiceCode.EXIT_REENTRY_VISA: VISA_PRICES,
    ServiceCode.RESIDENT_ID_ISSUE: RESIDENT_ID_PRICES,
}


@pytest.fixture(scope="module")
def schedule() -> FeeSchedule:
    return load_fee_schedule(SAMPLE)


def quote_error(
    schedule: FeeSchedule,
    service: ServiceCode,
    periods: int,
    account: Account = RESIDENT,
) -> AdapterError:
    with pytest.raises(AdapterError) as caught:
        schedule.quote(account, service, periods, TODAY)
    return caught.value


# -- the sample schedule: exact prices ------------------------------------------------


def test_a_year_of_iqama_is_650_00(schedule: FeeSchedule) -> None:
    assert schedule.quote(RESIDENT, ServiceCode.IQAMA_RENEWAL, 12, TODAY).amount_halalas == 65000


@pytest.mark.parametrize(
    ("service", "periods", "amount"),
    [
        (service, months, price)
        for service, prices in SAMPLE_PRICES.items()
        for months, price in prices.items()
    ],
)
def test_every_offered_period_is_priced_exactly(
    schedule: FeeSchedule, service: ServiceCode, periods: int, amount: int
) -> None:
    quote = schedule.quote(RESIDENT, service, periods, TODAY)
    assert quote.amount_halalas == amount
    assert isinstance(quote.amount_halalas, int)


@pytest.mark.parametrize("service", list(SAMPLE_PRICES))
def test_periods_not_offered_are_a_schema_error_naming_periods(
    schedule: FeeSchedule, service: ServiceCode
) -> None:
    for periods in set(range(1, 121)) - set(SAMPLE_PRICES[service]):
        error = quote_error(schedule, service, periods)
        assert error.code is Code.SCHEMA_INVALID
        assert error.detail.startswith("periods: must be ")


def test_quote_fields(schedule: FeeSchedule) -> None:
    quote = schedule.quote(RESIDENT, ServiceCode.EXIT_REENTRY_VISA, 5, TODAY)
    assert quote == Quote(
        service_code=ServiceCode.EXIT_REENTRY_VISA,
        periods=5,
        amount_halalas=50000,
        description_ar="تأشيرة خروج وعودة مفردة (المدة بالأشهر: 5)",
        description_en="Single exit/re-entry visa (5 months)",
        due_date=date(2026, 3, 22),
        expires_at=datetime(2026, 3, 23, 0, 0, tzinfo=RIYADH),
    )


def test_a_flat_fee_has_fixed_descriptions(schedule: FeeSchedule) -> None:
    quote = schedule.quote(RESIDENT, ServiceCode.RESIDENT_ID_ISSUE, 1, TODAY)
    assert (quote.description_ar, quote.description_en) == ("إصدار هوية مقيم", "Resident ID issue")


def test_a_quote_issues_an_unpaid_bill_carrying_its_periods(schedule: FeeSchedule) -> None:
    quote = schedule.quote(RESIDENT, ServiceCode.IQAMA_RENEWAL, 6, TODAY)
    number = new_bill_number()
    bill = quote.issue(number, RESIDENT.id_number)
    assert (bill.bill_number, bill.id_number, bill.status) == (
        number,
        RESIDENT.id_number,
        BillStatus.UNPAID,
    )
    assert (bill.service_code, bill.periods, bill.amount_halalas) == (
        ServiceCode.IQAMA_RENEWAL,
        6,
        32500,
    )
    assert (bill.due_date, bill.expires_at, bill.currency) == (
        quote.due_date,
        quote.expires_at,
        "SAR",
    )


# -- who a service applies to ---------------------------------------------------------


@pytest.mark.parametrize("service", [ServiceCode.TRAFFIC_VIOLATION, ServiceCode.OTHER])
def test_platform_billed_services_cannot_be_quoted(
    schedule: FeeSchedule, service: ServiceCode
) -> None:
    assert quote_error(schedule, service, 1).code is Code.SERVICE_NOT_APPLICABLE


@pytest.mark.parametrize("id_type", [IdType.NATIONAL_ID, IdType.BORDER_NUMBER, IdType.GCC_ID])
@pytest.mark.parametrize("service", list(SAMPLE_PRICES))
def test_sample_services_apply_to_iqama_holders_only(
    schedule: FeeSchedule, service: ServiceCode, id_type: IdType
) -> None:
    periods = min(SAMPLE_PRICES[service])
    error = quote_error(schedule, service, periods, replace(CITIZEN, id_type=id_type))
    assert error.code is Code.SERVICE_NOT_APPLICABLE
    assert id_type in error.detail


@pytest.mark.parametrize("service", list(SAMPLE_PRICES))
def test_a_blocked_id_is_never_quoted(schedule: FeeSchedule, service: ServiceCode) -> None:
    periods = min(SAMPLE_PRICES[service])
    error = quote_error(schedule, service, periods, replace(RESIDENT, blocked=True))
    assert error.code is Code.SERVICE_NOT_APPLICABLE


def test_an_expired_iqama_can_be_renewed(schedule: FeeSchedule) -> None:
    quote = schedule.quote(EXPIRED_RESIDENT, ServiceCode.IQAMA_RENEWAL, 12, TODAY)
    assert quote.amount_halalas == 65000


@pytest.mark.parametrize(
    ("service", "periods"), [(ServiceCode.EXIT_REENTRY_VISA, 2), (ServiceCode.RESIDENT_ID_ISSUE, 1)]
)
def test_other_services_need_a_valid_id(
    schedule: FeeSchedule, service: ServiceCode, periods: int
) -> None:
    assert (
        quote_error(schedule, service, periods, EXPIRED_RESIDENT).code
        is Code.SERVICE_NOT_APPLICABLE
    )
    expires_today = replace(RESIDENT, id_expiry=TODAY)  # valid through its expiry date
    assert schedule.quote(expires_today, service, periods, TODAY).amount_halalas > 0
    no_expiry = replace(RESIDENT, id_expiry=None)
    assert schedule.quote(no_expiry, service, periods, TODAY).amount_halalas > 0


def test_a_pending_e_services_account_can_be_quoted(schedule: FeeSchedule) -> None:
    pending = replace(RESIDENT, status="PENDING")
    assert schedule.quote(pending, ServiceCode.IQAMA_RENEWAL, 3, TODAY).amount_halalas == 16250


def test_order_service_then_periods_then_person(schedule: FeeSchedule) -> None:
    blocked_citizen = replace(CITIZEN, blocked=True)
    traffic = quote_error(schedule, ServiceCode.TRAFFIC_VIOLATION, 999, blocked_citizen)
    assert traffic.code is Code.SERVICE_NOT_APPLICABLE
    bad_periods = quote_error(schedule, ServiceCode.IQAMA_RENEWAL, 7, blocked_citizen)
    assert bad_periods.code is Code.SCHEMA_INVALID


# -- amounts never pass through float -------------------------------------------------

PENNY_SCHEDULE = """
[services.EXIT_REENTRY_VISA]
id_types = ["IQAMA"]
requires_valid_id = false
min_periods = 1
max_periods = 3
base_amount = "0.10"
step_amount = "0.20"
description_ar = "اختبار {periods}"
description_en = "Test {periods}"
"""


def write(directory: Path, text: str) -> Path:
    path = directory / "fees.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_point_one_plus_point_two_is_point_three(tmp_path: Path) -> None:
    schedule = load_fee_schedule(write(tmp_path, PENNY_SCHEDULE))
    quote = schedule.quote(RESIDENT, ServiceCode.EXIT_REENTRY_VISA, 2, TODAY)
    assert quote.amount_halalas == 30
    assert format_amount(from_halalas(quote.amount_halalas)) == "0.30"
    assert 0.1 + 0.2 != 0.3  # what a float would have made of it


@pytest.mark.parametrize("written", ["0.1", "0.10", "650.0", "650", "1e2"])
def test_amounts_must_be_strings_not_toml_numbers(tmp_path: Path, written: str) -> None:
    text = PENNY_SCHEDULE.replace('base_amount = "0.10"', f"base_amount = {written}")
    with pytest.raises(FeeScheduleError, match=r"services\.EXIT_REENTRY_VISA\.base_amount"):
        load_fee_schedule(write(tmp_path, text))


service_tables = st.tuples(
    st.integers(1, 10**9),  # base halalas
    st.integers(0, 10**9),  # step halalas
    st.integers(1, 60),  # min periods
    st.integers(1, 12),  # period step
    st.integers(0, 5),  # further steps offered
)


@given(service_tables, st.data())
def test_quotes_equal_decimal_arithmetic_on_the_written_amounts(
    tmp_path_factory: pytest.TempPathFactory,
    table: tuple[int, int, int, int, int],
    data: st.DataObject,
) -> None:
    base, step, low, period_step, steps = table
    base_text, step_text = format_amount(from_halalas(base)), format_amount(from_halalas(step))
    # Through placeholders: a base written "0.20" must not be taken for the step.
    text = (
        PENNY_SCHEDULE.replace('"0.10"', '"<base>"')
        .replace('"0.20"', '"<step>"')
        .replace("<base>", base_text)
        .replace("<step>", step_text)
        .replace("min_periods = 1", f"min_periods = {low}\nperiod_step = {period_step}")
        .replace("max_periods = 3", f"max_periods = {low + steps * period_step}")
    )
    schedule = load_fee_schedule(write(tmp_path_factory.mktemp("fees"), text))
    taken = data.draw(st.integers(0, steps))
    quote = schedule.quote(
        RESIDENT, ServiceCode.EXIT_REENTRY_VISA, low + taken * period_step, TODAY
    )
    expected = Decimal(base_text) + taken * Decimal(step_text)
    assert from_halalas(quote.amount_halalas) == expected


# -- loading: errors name the file and the field --------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("valid_days = 7", "valid_days = 0", "valid_days"),
        ("valid_days = 7", 'valid_days = "7"', "valid_days"),
        ("valid_days = 7", "valid_days = 7\ncolour = 1", "colour"),
        ("[services.IQAMA_RENEWAL]", "[services.PASSPORT]", "services.PASSPORT"),
        (
            'id_types = ["IQAMA"]\nrequires_valid_id = false',
            'id_types = ["VISA"]\nrequires_valid_id = false',
            "services.IQAMA_RENEWAL.id_types",
        ),
        (
            'id_types = ["IQAMA"]\nrequires_valid_id = false',
            "id_types = []\nrequires_valid_id = false",
            "services.IQAMA_RENEWAL.id_types",
        ),
        (
            "requires_valid_id = false",
            'requires_valid_id = "no"',
            "services.IQAMA_RENEWAL.requires_valid_id",
        ),
        ("requires_valid_id = false\n", "", "services.IQAMA_RENEWAL.requires_valid_id"),
        ("min_periods = 3", "min_periods = 0", "services.IQAMA_RENEWAL.min_periods"),
        ("max_periods = 24", "max_periods = 121", "services.IQAMA_RENEWAL.max_periods"),
        ("max_periods = 24", "max_periods = 2", "services.IQAMA_RENEWAL.max_periods"),
        ("max_periods = 24", "max_periods = 23", "services.IQAMA_RENEWAL.period_step"),
        ("period_step = 3", "period_step = 2.5", "services.IQAMA_RENEWAL.period_step"),
        ('base_amount = "162.50"', 'base_amount = "162.5"', "services.IQAMA_RENEWAL.base_amount"),
        ('base_amount = "162.50"', 'base_amount = "-1.00"', "services.IQAMA_RENEWAL.base_amount"),
        ('base_amount = "162.50"', 'base_amount = "0.00"', "services.IQAMA_RENEWAL.base_amount"),
        ('step_amount = "162.50"', 'step_amount = "1.005"', "services.IQAMA_RENEWAL.step_amount"),
        (
            'step_amount = "162.50"',
            'step_amount = "9999999999999.99"',
            "services.IQAMA_RENEWAL.step_amount",
        ),
        (
            'step_amount = "162.50"',
            'step_ammount = "162.50"',
            "services.IQAMA_RENEWAL.step_ammount",
        ),
        (
            '"Iqama renewal ({periods} months)"',
            '"Iqama renewal ({months})"',
            "services.IQAMA_RENEWAL.description_en",
        ),
        (
            '"Iqama renewal ({periods} months)"',
            '"Iqama renewal ({periods!r})"',
            "services.IQAMA_RENEWAL.description_en",
        ),
        (
            '"Iqama renewal ({periods} months)"',
            '"Iqama renewal ({periods.real})"',
            "services.IQAMA_RENEWAL.description_en",
        ),
        (
            '"Iqama renewal ({periods} months)"',
            '"Iqama renewal ({0})"',
            "services.IQAMA_RENEWAL.description_en",
        ),
        (
            '"Iqama renewal ({periods} months)"',
            '"Iqama renewal ({periods"',
            "services.IQAMA_RENEWAL.description_en",
        ),
        ('"Iqama renewal ({periods} months)"', '"  "', "services.IQAMA_RENEWAL.description_en"),
        (
            '"Iqama renewal ({periods} months)"',
            f'"{"x" * 257}"',
            "services.IQAMA_RENEWAL.description_en",
        ),
        ('description_ar = "إصدار هوية مقيم"\n', "", "services.RESIDENT_ID_ISSUE.description_ar"),
    ],
)
def test_a_bad_field_is_named_with_the_file(tmp_path: Path, old: str, new: str, field: str) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    path = write(tmp_path, text.replace(old, new, 1))
    with pytest.raises(FeeScheduleError) as caught:
        load_fee_schedule(path)
    assert str(caught.value).startswith(f"{path}: field `{field}`: ")


@pytest.mark.parametrize("text", ["services = 3", "[services]\nIQAMA_RENEWAL = 1"])
def test_services_must_be_tables(tmp_path: Path, text: str) -> None:
    with pytest.raises(FeeScheduleError, match="services"):
        load_fee_schedule(write(tmp_path, text))


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.toml", write(tmp_path, "valid_days = ")):
        with pytest.raises(FeeScheduleError, match=f"^{path}: cannot read"):
            load_fee_schedule(path)


def test_an_empty_file_quotes_nothing(tmp_path: Path) -> None:
    schedule = load_fee_schedule(write(tmp_path, ""))
    assert schedule.valid_days == 7
    assert quote_error(schedule, ServiceCode.IQAMA_RENEWAL, 12).code is Code.SERVICE_NOT_APPLICABLE


def test_valid_days_sets_due_date_and_expiry(tmp_path: Path) -> None:
    schedule = load_fee_schedule(write(tmp_path, "valid_days = 1\n" + PENNY_SCHEDULE))
    quote = schedule.quote(RESIDENT, ServiceCode.EXIT_REENTRY_VISA, 1, TODAY)
    assert quote.due_date == TODAY + timedelta(days=1)
    assert quote.expires_at == datetime.combine(TODAY + timedelta(days=2), time(0), RIYADH)


def test_the_schedule_cannot_be_changed_after_loading(schedule: FeeSchedule) -> None:
    with pytest.raises(TypeError):
        schedule.services[ServiceCode.OTHER] = schedule.services[ServiceCode.IQAMA_RENEWAL]  # type: ignore[index]
