"""Activation of a pending account: the decisions, without storage, SMS or clock.

Theory of operation. `decide_activation` answers an ActivationRequest: it raises the
first failing rule in the contract's order, else says whether the partner's channel
activates at once (strong authentication) or needs an OTP. `decide_confirmation` answers
an ActivationConfirm. A wrong OTP both changes state (the try counter) and is an error,
and the shell must store the one and answer the other in the same transaction, so it
returns a `ConfirmOutcome` instead of raising.

Choices the contract leaves open:
- An ID is valid through its expiry date: ID_EXPIRED only when `id_expiry < today`.
  No expiry date on record means the ID does not expire.
- The account passed in must be the one registered under the parsed ID number; any other
  (or none) is ACCOUNT_NOT_FOUND.
- `Account.mobile` is stored in E.164; the request's mobile is normalised before the
  comparison, so `05…`, `5…`, `9665…` and `+9665…` of the same number all match.
- Confirmation checks, first failing wins:
  1. no attempt, one started by another partner, or one a newer start for the account
     ended (SUPERSEDED): ACTIVATION_NOT_FOUND (an attempt of another bank is not revealed
     to exist);
  2. attempt already ACTIVATED: ACCOUNT_ALREADY_ACTIVE (a replayed confirmation);
  3. the account is re-read, since minutes may have passed: gone -> ACCOUNT_NOT_FOUND,
     blocked meanwhile -> ID_BLOCKED, activated meanwhile (another bank) ->
     ACCOUNT_ALREADY_ACTIVE;
  4. attempt FAILED, or its tries used up: OTP_ATTEMPTS_EXCEEDED;
  5. `now >= expires_at`: OTP_EXPIRED; the OTP is valid for exactly OTP_TTL, and an
     expired attempt does not reveal whether the OTP was right nor consume a try;
  6. wrong OTP: a try is used; OTP_INVALID while tries remain, and the third wrong one
     answers OTP_ATTEMPTS_EXCEEDED and leaves the attempt FAILED for good;
  7. right OTP: the attempt becomes ACTIVATED and the account is to be activated.
  Only 6 and 7 change the attempt. A malformed OTP (not 6 digits) is a wrong one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal, TypeAlias

from bank_adapter.domain.ids import IdType, parse_id_number
from bank_adapter.domain.mobile import normalize_mobile
from bank_adapter.domain.otp import OTP_MAX_TRIES, OTP_TTL, otp_hash, otp_matches
from bank_adapter.errors import AdapterError, Code

AccountStatus: TypeAlias = Literal["PENDING", "ACTIVE"]
# SUPERSEDED: a newer start for the same account ended it (one pending per account).
AttemptState: TypeAlias = Literal["OTP_SENT", "ACTIVATED", "FAILED", "SUPERSEDED"]
ActivationDecision: TypeAlias = Literal["ACTIVATE_NOW", "SEND_OTP"]


@dataclass(frozen=True, slots=True)
class Account:
    id_number: str
    id_type: IdType
    mobile: str  # E.164
    biometric_enrolled: bool
    id_expiry: date | None
    blocked: bool
    status: AccountStatus
    full_name_ar: str | None = None
    full_name_en: str | None = None


@dataclass(frozen=True, slots=True)
class ActivationAttempt:
    activation_id: str
    partner_id: str
    id_number: str
    otp_hash: str
    expires_at: datetime
    tries: int  # wrong OTPs submitted so far
    state: AttemptState

    def __post_init__(self) -> None:
        # A naive time (e.g. read back from SQLite) would only fail later, at a comparison.
        if self.expires_at.utcoffset() is None:
            raise ValueError("ActivationAttempt.expires_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ConfirmOutcome:
    """What to answer, and the attempt to write back (None: it did not change)."""

    error: Code | None
    updated: ActivationAttempt | None
    detail: str = ""

    @property
    def activate(self) -> bool:
        return self.error is None


def start_attempt(
    *,
    activation_id: str,
    partner_id: str,
    id_number: str,
    otp: str,
    otp_key: bytes,
    now: datetime,
) -> ActivationAttempt:
    """The attempt to store when an OTP is sent: hash only, OTP_TTL from `now`."""
    return ActivationAttempt(
        activation_id=activation_id,
        partner_id=partner_id,
        id_number=id_number,
        otp_hash=otp_hash(otp_key, activation_id, otp),
        expires_at=now + OTP_TTL,
        tries=0,
        state="OTP_SENT",
    )


def decide_activation(
    *,
    channel: str,
    allowed_channels: frozenset[str],
    strong_auth_channels: frozenset[str],
    id_number_raw: str,
    mobile_raw: str,
    account: Account | None,
    today: date,
) -> ActivationDecision:
    """Raise the first failing rule in the contract's order, else how to activate."""
    if channel not in allowed_channels:
        raise AdapterError(Code.CHANNEL_NOT_ALLOWED, f"Channel {channel} is not allowed")
    id_number = parse_id_number(id_number_raw)
    mobile = normalize_mobile(mobile_raw)
    if account is None or account.id_number != id_number:
        raise AdapterError(Code.ACCOUNT_NOT_FOUND)
    failure = _standing_failure(account) or _eligibility_failure(account, mobile, today)
    if failure is not None:
        raise AdapterError(failure)
    return "ACTIVATE_NOW" if channel in strong_auth_channels else "SEND_OTP"


def _standing_failure(account: Account) -> Code | None:
    # Rules re-checked at confirmation too: the account may have changed in the meantime.
    if account.blocked:
        return Code.ID_BLOCKED
    if account.status == "ACTIVE":
        return Code.ACCOUNT_ALREADY_ACTIVE
    return None


def _eligibility_failure(account: Account, mobile: str, today: date) -> Code | None:
    if account.id_expiry is not None and account.id_expiry < today:
        return Code.ID_EXPIRED
    if not account.biometric_enrolled:
        return Code.BIOMETRIC_NOT_ENROLLED
    if mobile != account.mobile:
        return Code.MOBILE_MISMATCH
    return None


def decide_confirmation(
    *,
    attempt: ActivationAttempt | None,
    partner_id: str,
    account: Account | None,
    otp: str,
    otp_key: bytes,
    now: datetime,
) -> ConfirmOutcome:
    """What an ActivationConfirm leads to; see the module docstring for the order."""
    if attempt is None or attempt.partner_id != partner_id or attempt.state == "SUPERSEDED":
        return ConfirmOutcome(Code.ACTIVATION_NOT_FOUND, None)
    if attempt.state == "ACTIVATED":
        return ConfirmOutcome(Code.ACCOUNT_ALREADY_ACTIVE, None)
    if account is None or account.id_number != attempt.id_number:
        return ConfirmOutcome(Code.ACCOUNT_NOT_FOUND, None)
    failure = _standing_failure(account) or _closed_failure(attempt, now)
    if failure is not None:
        return ConfirmOutcome(failure, None)
    if otp_matches(otp_key, attempt.activation_id, otp, attempt.otp_hash):
        return ConfirmOutcome(None, replace(attempt, state="ACTIVATED"))
    return _wrong_otp(attempt)


def _closed_failure(attempt: ActivationAttempt, now: datetime) -> Code | None:
    if attempt.state == "FAILED" or attempt.tries >= OTP_MAX_TRIES:
        return Code.OTP_ATTEMPTS_EXCEEDED
    if now >= attempt.expires_at:
        return Code.OTP_EXPIRED
    return None


def _wrong_otp(attempt: ActivationAttempt) -> ConfirmOutcome:
    tries = attempt.tries + 1
    left = OTP_MAX_TRIES - tries
    if left > 0:
        detail = f"Wrong OTP; {left} {'try' if left == 1 else 'tries'} left"
        return ConfirmOutcome(Code.OTP_INVALID, replace(attempt, tries=tries), detail)
    return ConfirmOutcome(Code.OTP_ATTEMPTS_EXCEEDED, replace(attempt, tries=tries, state="FAILED"))
