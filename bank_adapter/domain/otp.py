"""One-time passwords: drawn from `secrets`, stored only as a keyed hash.

The hash is HMAC-SHA256 under the service's OTP key over the activation id and the OTP,
so a leaked table cannot be brute-forced offline over the 10^6 codes without the key,
and a stored hash is only good for the activation it was made for. The id is
length-prefixed so that no other (id, otp) pair maps to the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

OTP_TTL: Final = timedelta(minutes=5)
OTP_MAX_TRIES: Final = 3
OTP_CAP_WINDOW: Final = timedelta(hours=1)
_OTP_SHAPE: Final = re.compile(r"[0-9]{6}")


def new_otp() -> str:
    """Six digits, uniform over 000000-999999 (leading zeros kept)."""
    return f"{secrets.randbelow(1_000_000):06d}"


def _message(activation_id: str, otp: str) -> bytes:
    activation = activation_id.encode()
    return len(activation).to_bytes(4, "big") + activation + otp.encode()


def otp_hash(key: bytes, activation_id: str, otp: str) -> str:
    return hmac.new(key, _message(activation_id, otp), hashlib.sha256).hexdigest()


def otp_matches(key: bytes, activation_id: str, otp: str, stored_hash: str) -> bool:
    """Constant-time check; anything not shaped like an OTP is simply a wrong one."""
    # The shape test only reveals the shape, which the sender already knows; it also keeps
    # unencodable text (lone surrogates from JSON) away from the hash.
    if _OTP_SHAPE.fullmatch(otp) is None:
        return False
    return hmac.compare_digest(otp_hash(key, activation_id, otp), stored_hash)


def otp_cap_wait(sent_at: Sequence[datetime], now: datetime, cap: int) -> int | None:
    """Whole seconds (>= 1) until one more OTP may be sent for an account, given when its
    OTPs of the last `OTP_CAP_WINDOW` were sent (oldest first); None: it may be now."""
    recent = [at for at in sent_at if now - at < OTP_CAP_WINDOW]
    if len(recent) < cap:
        return None
    # Once the oldest sends beyond cap - 1 leave the window, one more fits.
    frees_at = recent[len(recent) - cap] + OTP_CAP_WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))
