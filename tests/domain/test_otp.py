"""OTPs: uniform 6-digit draws, keyed hashes bound to the activation, constant-time match."""

from __future__ import annotations

import hmac
import re
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bank_adapter.domain.otp import (
    OTP_MAX_TRIES,
    OTP_TTL,
    new_otp,
    otp_cap_wait,
    otp_hash,
    otp_matches,
)

KEY = b"k" * 32
OTP = "042917"
ACTIVATION = "7c1f4b1e-0c5e-4a39-9f55-1f0b6e2d8a10"

otps = st.text(alphabet="0123456789", min_size=6, max_size=6)


def test_contract_constants() -> None:
    assert (timedelta(minutes=5), 3) == (OTP_TTL, OTP_MAX_TRIES)


def test_draws_are_six_ascii_digits_and_roughly_uniform() -> None:
    draws = [new_otp() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9]{6}", draw) for draw in draws)
    first_digits = Counter(draw[0] for draw in draws)
    # Expect 1,000 each with a standard deviation of 30: ±300 is ten sigmas, never flaky,
    # yet far tighter than any biased draw (e.g. no leading zeros) could meet.
    assert set(first_digits) == set("0123456789")
    assert all(700 <= count <= 1_300 for count in first_digits.values())


@pytest.mark.parametrize(
    ("drawn", "expected"), [(0, "000000"), (42, "000042"), (999_999, "999999")]
)
def test_draws_come_from_secrets_and_keep_leading_zeros(
    monkeypatch: pytest.MonkeyPatch, drawn: int, expected: str
) -> None:
    bounds: list[int] = []

    def randbelow(bound: int) -> int:
        bounds.append(bound)
        return drawn

    monkeypatch.setattr(secrets, "randbelow", randbelow)
    assert new_otp() == expected
    assert bounds == [1_000_000]


def test_hash_is_hex_sha256_and_hides_the_otp() -> None:
    digest = otp_hash(KEY, ACTIVATION, OTP)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert OTP not in digest
    assert digest == otp_hash(KEY, ACTIVATION, OTP)


@given(st.text(), st.text(), otps)
def test_hash_differs_across_activation_ids(first: str, second: str, otp: str) -> None:
    assume(first != second)
    assert otp_hash(KEY, first, otp) != otp_hash(KEY, second, otp)


@given(otps, otps)
def test_hash_differs_across_otps(first: str, second: str) -> None:
    assume(first != second)
    assert otp_hash(KEY, ACTIVATION, first) != otp_hash(KEY, ACTIVATION, second)


def test_hash_depends_on_the_key() -> None:
    assert otp_hash(KEY, ACTIVATION, OTP) != otp_hash(b"j" * 32, ACTIVATION, OTP)


def test_id_and_otp_cannot_trade_characters() -> None:
    # Without a length prefix, ("a1", "23456…") and ("a", "123456…") would hash alike.
    assert otp_hash(KEY, "a1", "234567") != otp_hash(KEY, "a", "1234567")


def test_matches_the_right_otp() -> None:
    assert otp_matches(KEY, ACTIVATION, OTP, otp_hash(KEY, ACTIVATION, OTP))


@pytest.mark.parametrize(
    ("key", "activation_id", "otp"),
    [
        (KEY, ACTIVATION, "042918"),
        (KEY, "another-activation", OTP),
        (b"j" * 32, ACTIVATION, OTP),
    ],
)
def test_refuses_a_wrong_otp_activation_or_key(key: bytes, activation_id: str, otp: str) -> None:
    assert not otp_matches(key, activation_id, otp, otp_hash(KEY, ACTIVATION, OTP))


@pytest.mark.parametrize(
    "otp",
    ["", "42917", "0429170", " 042917", "٠٤٢٩١٧", "04291\ud800", "04291x"],
)
def test_malformed_otps_are_wrong_not_errors(otp: str) -> None:
    assert not otp_matches(KEY, ACTIVATION, otp, otp_hash(KEY, ACTIVATION, OTP))


def test_match_uses_a_constant_time_compare(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(left: str, right: str) -> bool:
        calls.append((left, right))
        return real(left, right)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    stored = otp_hash(KEY, ACTIVATION, OTP)
    assert otp_matches(KEY, ACTIVATION, OTP, stored)
    assert not otp_matches(KEY, ACTIVATION, "000000", stored)
    assert calls == [(stored, stored), (otp_hash(KEY, ACTIVATION, "000000"), stored)]


# -- the cap of OTPs per account per rolling hour ---------------------------------------

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def minutes_ago(*minutes: float) -> list[datetime]:
    return [NOW - timedelta(minutes=m) for m in minutes]


def test_under_the_cap_an_otp_may_be_sent_now() -> None:
    assert otp_cap_wait([], NOW, 5) is None
    assert otp_cap_wait(minutes_ago(50, 40, 30, 20), NOW, 5) is None


def test_at_the_cap_the_wait_ends_when_the_oldest_send_leaves_the_hour() -> None:
    assert otp_cap_wait(minutes_ago(50, 40, 30, 20, 10), NOW, 5) == 10 * 60


def test_sends_older_than_an_hour_do_not_count() -> None:
    assert otp_cap_wait(minutes_ago(60, 70, 40, 30, 20, 10), NOW, 5) is None
    # exactly an hour old: out of the window (the window is the last 60 minutes)
    assert otp_cap_wait(minutes_ago(60, 40, 30, 20, 10), NOW, 5) is None


def test_over_the_cap_the_wait_lasts_until_only_cap_minus_one_remain() -> None:
    # A lower cap than the sends on record (the setting was lowered): wait for the third.
    assert otp_cap_wait(minutes_ago(50, 40, 30, 20), NOW, 2) == 30 * 60


def test_the_wait_is_whole_seconds_and_at_least_one() -> None:
    sent = [NOW - timedelta(minutes=60) + timedelta(milliseconds=200)]
    assert otp_cap_wait(sent, NOW, 1) == 1
    sent = [NOW - timedelta(minutes=59, seconds=58, milliseconds=500)]
    assert otp_cap_wait(sent, NOW, 1) == 2


@given(st.lists(st.integers(0, 3599), max_size=12), st.integers(1, 8))
def test_after_the_wait_one_more_fits(ages: list[int], cap: int) -> None:
    sent = sorted(NOW - timedelta(seconds=age) for age in ages)
    wait = otp_cap_wait(sent, NOW, cap)
    if wait is None:
        assert len(sent) < cap
    else:
        later = NOW + timedelta(seconds=wait)
        assert otp_cap_wait(sent, later, cap) is None
        assert otp_cap_wait(sent, later - timedelta(seconds=1), cap) is not None
