"""Saudi mobile numbers: the four input forms of the contract, one stored form (E.164).

Surrounding whitespace is stripped, as for ID numbers; anything else that is not one of
`05XXXXXXXX`, `5XXXXXXXX`, `9665XXXXXXXX`, `+9665XXXXXXXX` in ASCII digits is refused.
Operator prefixes after the 5 are not checked: the contract only asks for a Saudi mobile,
and new ranges should not need a release.
"""

from __future__ import annotations

import re
from typing import Final

from bank_adapter.errors import AdapterError, Code

_MOBILE: Final = re.compile(r"(?:\+966|966|0)?(5[0-9]{8})")
_E164_PREFIX: Final = "+966"


def normalize_mobile(raw: str) -> str:
    """E.164 `+9665XXXXXXXX`, or INVALID_MOBILE; idempotent."""
    match = _MOBILE.fullmatch(raw.strip())
    if match is None:
        raise AdapterError(
            Code.INVALID_MOBILE, "Mobile must be a Saudi mobile: 05XXXXXXXX or +9665XXXXXXXX"
        )
    return _E164_PREFIX + match.group(1)


def mask_mobile(e164: str) -> str:
    """The contract's MaskedMobile: '+966512345678' -> '+9665*****678'."""
    mobile = normalize_mobile(e164)
    return mobile[:5] + "*****" + mobile[-3:]
