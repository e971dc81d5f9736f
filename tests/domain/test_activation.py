"""Activation decisions: one test per outcome and per code, and the contract's order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.domain.activation import (
    Account,
    ActivationAttempt,
    ActivationDecision,
    AttemptState,
    ConfirmOutcome,
    decide_activation,
    decide_confirmation,
    start_attempt,
)
from bank_adapter.domain.ids import IdType
from bank_adapter.domain.otp import OTP_MAX_TRIES, OTP_TTL, otp_matches
from bank_adapter.errors import AdapterError, Code

ID = "1234567897"
OTHER_ID = "2345678904"
MOBILE = "+966512345678"
TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
KEY = b"otp-key" * 4
OTP = "381204"
WRONG_OTP = "381205"
PARTNER = "RJHI"
ALLOWED = frozenset({"APP", "WEB", "IVR", "ATM"})
STRONG = frozenset({"ATM"})

ACCOUNT = Account(
    id_number=ID,
    id_type=IdType.NATIONAL_ID,
    mobile=MOBILE,
    biometric_enrolled=True,
    id_expiry=date(2030, 1, 1),
    blocked=False,
    status="PENDING",
    full_name_ar="محمد",
    full_name_en="Mohammed",
)
ATTEMPT = start_attempt(
    activation_id="0f8e7a52-2c1d-4a0e-b7f4-6f3c2d1e9a88",
    partner_id=PARTNER,
    id_number=ID,
    otp=OTP,
    otp_key=KEY,
    now=NOW,
)

# The contract's order (section 4, ActivationRequest).
ACTIVATION_ORDER = (
    Code.CHANNEL_NOT_ALLOWED,
    Code.INVALID_ID_NUMBER,
    Code.INVALID_MOBILE,
    Code.ACCOUNT_NOT_FOUND,
    Code.ID_BLOCKED,
    Code.ACCOUNT_ALREADY_ACTIVE,
    Code.ID_EXPIRED,
    Code.BIOMETRIC_NOT_ENROLLED,
    Code.MOBILE_MISMATCH,
)


def activate(
    *,
    channel: str = "APP",
    id_number_raw: str = ID,
    mobile_raw: str = MOBILE,
    account: Account | None = ACCOUNT,
) -> ActivationDecision:
    return decide_activation(
        channel=channel,
        allowed_channels=ALLOWED,
        strong_auth_channels=STRONG,
        id_number_raw=id_number_raw,
        mobile_raw=mobile_raw,
        account=account,
        today=TODAY,
    )


def activation_error(**request: Any) -> Code:
    with pytest.raises(AdapterError) as caught:
        activate(**request)
    return caught.value.code


def confirm(
    *,
    attempt: ActivationAttempt | None = ATTEMPT,
    partner_id: str = PARTNER,
    account: Account | None = ACCOUNT,
    otp: str = OTP,
    now: datetime = NOW,
) -> ConfirmOutcome:
    return decide_confirmation(
        attempt=attempt, partner_id=partner_id, account=account, otp=otp, otp_key=KEY, now=now
    )


# -- decide_activation: outcomes ----------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "decision"),
    [("APP", "SEND_OTP"), ("WEB", "SEND_OTP"), ("IVR", "SEND_OTP"), ("ATM", "ACTIVATE_NOW")],
)
def test_strong_auth_channels_activate_now_others_send_an_otp(
    channel: str, decision: ActivationDecision
) -> None:
    assert activate(channel=channel) == decision


@pytest.mark.parametrize(
    ("id_number_raw", "mobile_raw"),
    [(ID, "0512345678"), (ID, "512345678"), (ID, "966512345678"), (f" {ID}\n", f" {MOBILE} ")],
)
def test_ids_and_mobiles_are_compared_normalised(id_number_raw: str, mobile_raw: str) -> None:
    assert activate(id_number_raw=id_number_raw, mobile_raw=mobile_raw) == "SEND_OTP"


@pytest.mark.parametrize("expiry", [None, TODAY, TODAY + timedelta(days=1)])
def test_an_id_is_valid_through_its_expiry_date(expiry: date | None) -> None:
    assert activate(account=replace(ACCOUNT, id_expiry=expiry)) == "SEND_OTP"


def test_gcc_ids_activate_like_any_other() -> None:
    assert activate(account=replace(ACCOUNT, id_type=IdType.GCC_ID)) == "SEND_OTP"


# -- decide_activation: one test per code -------------------------------------------


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"channel": "KIOSK"}, Code.CHANNEL_NOT_ALLOWED),
        ({"channel": "atm"}, Code.CHANNEL_NOT_ALLOWED),
        ({"id_number_raw": "1234567890"}, Code.INVALID_ID_NUMBER),
        ({"id_number_raw": "5123456781"}, Code.INVALID_ID_NUMBER),
        ({"mobile_raw": "0412345678"}, Code.INVALID_MOBILE),
        ({"account": None}, Code.ACCOUNT_NOT_FOUND),
        ({"account": replace(ACCOUNT, id_number=OTHER_ID)}, Code.ACCOUNT_NOT_FOUND),
        ({"account": replace(ACCOUNT, blocked=True)}, Code.ID_BLOCKED),
        ({"account": replace(ACCOUNT, status="ACTIVE")}, Code.ACCOUNT_ALREADY_ACTIVE),
        (
            {"account": replace(ACCOUNT, id_expiry=TODAY - timedelta(days=1))},
            Code.ID_EXPIRED,
        ),
        ({"account": replace(ACCOUNT, biometric_enrolled=False)}, Code.BIOMETRIC_NOT_ENROLLED),
        ({"mobile_raw": "0512345679"}, Code.MOBILE_MISMATCH),
    ],
)
def test_each_rule_has_its_code(request_: dict[str, Any], code: Code) -> None:
    assert activation_error(**request_) is code


def test_a_strong_auth_channel_must_still_be_allowed() -> None:
    with pytest.raises(AdapterError) as caught:
        decide_activation(
            channel="KIOSK",
            allowed_channels=ALLOWED,
            strong_auth_channels=frozenset({"KIOSK"}),
            id_number_raw=ID,
            mobile_raw=MOBILE,
            account=ACCOUNT,
            today=TODAY,
        )
    assert caught.value.code is Code.CHANNEL_NOT_ALLOWED


@pytest.mark.parametrize("account", [ACCOUNT, None])
def test_activation_errors_never_echo_the_id_or_mobile(account: Account | None) -> None:
    with pytest.raises(AdapterError) as caught:
        activate(mobile_raw="0599999999", account=account)
    assert ID not in str(caught.value)
    assert "599999999" not in str(caught.value)


# -- decide_activation: order -------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        (
            {
                "mobile_raw": "0599999999",
                "account": replace(
                    ACCOUNT,
                    blocked=True,
                    id_expiry=TODAY - timedelta(days=1),
                    biometric_enrolled=False,
                ),
            },
            Code.ID_BLOCKED,
        ),
        ({"channel": "KIOSK", "id_number_raw": "123"}, Code.CHANNEL_NOT_ALLOWED),
        ({"id_number_raw": "123", "mobile_raw": "123", "account": None}, Code.INVALID_ID_NUMBER),
        ({"mobile_raw": "123", "account": None}, Code.INVALID_MOBILE),
        (
            {"account": replace(ACCOUNT, status="ACTIVE", id_expiry=date(2000, 1, 1))},
            Code.ACCOUNT_ALREADY_ACTIVE,
        ),
        (
            {"mobile_raw": "0599999999", "account": replace(ACCOUNT, biometric_enrolled=False)},
            Code.BIOMETRIC_NOT_ENROLLED,
        ),
    ],
)
def test_the_first_failing_rule_in_contract_order_is_reported(
    request_: dict[str, Any], code: Code
) -> None:
    assert activation_error(**request_) is code


def request_failing(rules: frozenset[Code]) -> dict[str, Any]:
    """An ActivationRequest that breaks exactly `rules` (those still reachable)."""
    account = replace(
        ACCOUNT,
        blocked=Code.ID_BLOCKED in rules,
        status="ACTIVE" if Code.ACCOUNT_ALREADY_ACTIVE in rules else "PENDING",
        id_expiry=TODAY - timedelta(days=1) if Code.ID_EXPIRED in rules else None,
        biometric_enrolled=Code.BIOMETRIC_NOT_ENROLLED not in rules,
    )
    return {
        "channel": "KIOSK" if Code.CHANNEL_NOT_ALLOWED in rules else "APP",
        "id_number_raw": "1234567890" if Code.INVALID_ID_NUMBER in rules else ID,
        "mobile_raw": (
            "12345"
            if Code.INVALID_MOBILE in rules
            else "0599999999"
            if Code.MOBILE_MISMATCH in rules
            else MOBILE
        ),
        "account": None if Code.ACCOUNT_NOT_FOUND in rules else account,
    }


@given(st.sets(st.sampled_from(ACTIVATION_ORDER), min_size=1))
def test_any_combination_reports_the_first_in_contract_order(rules: set[Code]) -> None:
    expected = next(code for code in ACTIVATION_ORDER if code in rules)
    assert activation_error(**request_failing(frozenset(rules))) is expected


def test_every_activation_code_of_the_contract_is_covered() -> None:
    assert {activation_error(**request_failing(frozenset({c}))) for c in ACTIVATION_ORDER} == set(
        ACTIVATION_ORDER
    )


# -- start_attempt ------------------------------------------------------------------


def test_start_attempt_stores_a_hash_valid_for_the_ttl() -> None:
    assert ATTEMPT.expires_at == NOW + OTP_TTL
    assert (ATTEMPT.tries, ATTEMPT.state) == (0, "OTP_SENT")
    assert OTP not in ATTEMPT.otp_hash
    assert otp_matches(KEY, ATTEMPT.activation_id, OTP, ATTEMPT.otp_hash)


def test_attempts_refuse_naive_expiry_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        replace(ATTEMPT, expires_at=datetime(2026, 3, 15, 9, 35))


# -- decide_confirmation: outcomes --------------------------------------------------


def test_right_otp_activates() -> None:
    outcome = confirm()
    assert outcome.activate
    assert outcome.error is None
    assert outcome.updated == replace(ATTEMPT, state="ACTIVATED")


@pytest.mark.parametrize("wrong_before", range(OTP_MAX_TRIES))
def test_right_otp_activates_while_tries_remain(wrong_before: int) -> None:
    outcome = confirm(attempt=replace(ATTEMPT, tries=wrong_before))
    assert outcome.activate
    assert outcome.updated == replace(ATTEMPT, tries=wrong_before, state="ACTIVATED")


def test_right_otp_activates_up_to_the_last_instant() -> None:
    assert confirm(now=ATTEMPT.expires_at - timedelta(microseconds=1)).activate


def test_right_otp_activates_with_another_time_zone() -> None:
    riyadh = ATTEMPT.expires_at.astimezone(timezone(timedelta(hours=3)))
    assert confirm(now=riyadh - timedelta(seconds=1)).activate


@pytest.mark.parametrize(
    ("tries", "code", "state", "detail"),
    [
        (0, Code.OTP_INVALID, "OTP_SENT", "Wrong OTP; 2 tries left"),
        (1, Code.OTP_INVALID, "OTP_SENT", "Wrong OTP; 1 try left"),
        (2, Code.OTP_ATTEMPTS_EXCEEDED, "FAILED", ""),
    ],
)
def test_wrong_otp_uses_a_try_and_the_third_fails_the_attempt(
    tries: int, code: Code, state: AttemptState, detail: str
) -> None:
    outcome = confirm(attempt=replace(ATTEMPT, tries=tries), otp=WRONG_OTP)
    assert not outcome.activate
    assert outcome.error is code
    assert outcome.updated == replace(ATTEMPT, tries=tries + 1, state=state)
    assert outcome.detail == detail
    assert WRONG_OTP not in outcome.detail


@pytest.mark.parametrize("otp", ["", "38120", "3812040", "abcdef", "٣٨١٢٠٤"])
def test_a_malformed_otp_is_a_wrong_one(otp: str) -> None:
    outcome = confirm(otp=otp)
    assert outcome.error is Code.OTP_INVALID
    assert outcome.updated == replace(ATTEMPT, tries=1)


# -- decide_confirmation: refusals that change nothing ------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"attempt": None}, Code.ACTIVATION_NOT_FOUND),
        ({"partner_id": "NCBK"}, Code.ACTIVATION_NOT_FOUND),
        ({"attempt": replace(ATTEMPT, state="SUPERSEDED")}, Code.ACTIVATION_NOT_FOUND),
        ({"attempt": replace(ATTEMPT, state="ACTIVATED")}, Code.ACCOUNT_ALREADY_ACTIVE),
        ({"account": None}, Code.ACCOUNT_NOT_FOUND),
        ({"account": replace(ACCOUNT, id_number=OTHER_ID)}, Code.ACCOUNT_NOT_FOUND),
        ({"account": replace(ACCOUNT, blocked=True)}, Code.ID_BLOCKED),
        ({"account": replace(ACCOUNT, status="ACTIVE")}, Code.ACCOUNT_ALREADY_ACTIVE),
        ({"attempt": replace(ATTEMPT, tries=3, state="FAILED")}, Code.OTP_ATTEMPTS_EXCEEDED),
        ({"attempt": replace(ATTEMPT, tries=3)}, Code.OTP_ATTEMPTS_EXCEEDED),
        ({"now": ATTEMPT.expires_at}, Code.OTP_EXPIRED),
        ({"now": ATTEMPT.expires_at + timedelta(hours=1)}, Code.OTP_EXPIRED),
    ],
)
@pytest.mark.parametrize("otp", [OTP, WRONG_OTP])
def test_refusals_that_change_nothing(changes: dict[str, Any], code: Code, otp: str) -> None:
    # Right or wrong, the OTP is not looked at: no try is used, nothing is revealed.
    outcome = confirm(otp=otp, **changes)
    assert outcome == ConfirmOutcome(code, None)
    assert not outcome.activate


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        (
            {"partner_id": "NCBK", "attempt": replace(ATTEMPT, state="ACTIVATED")},
            Code.ACTIVATION_NOT_FOUND,
        ),
        (
            {"attempt": replace(ATTEMPT, state="ACTIVATED"), "account": None},
            Code.ACCOUNT_ALREADY_ACTIVE,
        ),
        (
            {"account": replace(ACCOUNT, blocked=True, status="ACTIVE")},
            Code.ID_BLOCKED,
        ),
        (
            {"account": replace(ACCOUNT, status="ACTIVE"), "now": ATTEMPT.expires_at},
            Code.ACCOUNT_ALREADY_ACTIVE,
        ),
        (
            {"attempt": replace(ATTEMPT, state="FAILED"), "now": ATTEMPT.expires_at},
            Code.OTP_ATTEMPTS_EXCEEDED,
        ),
    ],
)
def test_confirmation_reports_the_first_failing_check(changes: dict[str, Any], code: Code) -> None:
    assert confirm(otp=WRONG_OTP, **changes).error is code


def test_an_attempt_is_bound_to_its_activation_id() -> None:
    moved = replace(ATTEMPT, activation_id="another-activation")
    assert confirm(attempt=moved).error is Code.OTP_INVALID


# -- decide_confirmation: whole sequences -------------------------------------------


def run(submissions: list[bool]) -> list[ConfirmOutcome]:
    """Confirm once per submission (True: the right OTP), storing what the shell would."""
    attempt, outcomes = ATTEMPT, []
    for right in submissions:
        outcome = confirm(attempt=attempt, otp=OTP if right else WRONG_OTP)
        attempt = outcome.updated or attempt
        outcomes.append(outcome)
    return outcomes


def test_three_wrong_tries_lock_out_even_the_right_otp() -> None:
    errors = [outcome.error for outcome in run([False, False, False, True])]
    assert errors == [
        Code.OTP_INVALID,
        Code.OTP_INVALID,
        Code.OTP_ATTEMPTS_EXCEEDED,
        Code.OTP_ATTEMPTS_EXCEEDED,
    ]


def test_a_confirmation_replayed_after_success_is_already_active() -> None:
    errors = [outcome.error for outcome in run([True, True])]
    assert errors == [None, Code.ACCOUNT_ALREADY_ACTIVE]


@given(st.lists(st.booleans(), max_size=8))
def test_activation_happens_once_and_only_within_three_tries(submissions: list[bool]) -> None:
    outcomes = run(submissions)
    first_right = submissions.index(True) if True in submissions else None
    activated = [i for i, outcome in enumerate(outcomes) if outcome.activate]
    expected = [first_right] if first_right is not None and first_right < OTP_MAX_TRIES else []
    assert activated == expected
    assert all(o.updated is None or o.updated.tries <= OTP_MAX_TRIES for o in outcomes)
