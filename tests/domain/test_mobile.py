"""Saudi mobile numbers: the four input forms, E.164, the contract's MaskedMobile."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.domain.mobile import mask_mobile, normalize_mobile
from bank_adapter.errors import AdapterError, Code

subscriber = st.text(alphabet="0123456789", min_size=8, max_size=8).map(lambda s: "5" + s)


def input_forms(national: str) -> list[str]:
    """The contract's four spellings of one mobile, from its 9 national digits."""
    return ["0" + national, national, "966" + national, "+966" + national]


@pytest.mark.parametrize(
    "raw",
    [
        "0512345678",
        "512345678",
        "966512345678",
        "+966512345678",
        " 0512345678",
        "+966512345678\n",
        "\t512345678 ",
    ],
)
def test_normalize_accepts_the_four_forms(raw: str) -> None:
    assert normalize_mobile(raw) == "+966512345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0412345678",  # a landline area code
        "0012345678",
        "412345678",
        "05123456",
        "05123456789",
        "51234567",
        "5123456789",
        "9665123456789",
        "96605123456789",
        "966412345678",
        "+9665123456",
        "+0512345678",
        "+512345678",
        "00966512345678",  # international prefix: not one of the contract's forms
        "+966 51 234 5678",
        "051-234-5678",
        "(05)12345678",
        "0512345678\x00",
        "٠٥١٢٣٤٥٦٧٨",  # Arabic-Indic digits
        "０５１２３４５６７８",  # full-width digits
        "05l2345678",
        "++966512345678",
    ],
)
def test_normalize_refuses(raw: str) -> None:
    with pytest.raises(AdapterError) as caught:
        normalize_mobile(raw)
    assert caught.value.code is Code.INVALID_MOBILE
    assert raw.strip() == "" or raw not in str(caught.value)


@given(subscriber)
def test_all_four_forms_give_the_same_e164(national: str) -> None:
    assert {normalize_mobile(raw) for raw in input_forms(national)} == {"+966" + national}


@given(subscriber, st.sampled_from([0, 1, 2, 3]))
def test_normalize_is_idempotent(national: str, form: int) -> None:
    once = normalize_mobile(input_forms(national)[form])
    assert normalize_mobile(once) == once


@given(st.text(alphabet=st.sampled_from("+0123456789 ") | st.characters(), max_size=14))
def test_normalize_accepts_nothing_else(raw: str) -> None:
    national = raw.strip()[-9:]
    if re.fullmatch("5[0-9]{8}", national) and raw.strip() in input_forms(national):
        assert normalize_mobile(raw) == "+966" + national
    else:
        with pytest.raises(AdapterError) as caught:
            normalize_mobile(raw)
        assert caught.value.code is Code.INVALID_MOBILE


@pytest.mark.parametrize(
    ("mobile", "masked"),
    [
        ("+966512345678", "+9665*****678"),
        ("+966599999000", "+9665*****000"),
        ("0512345678", "+9665*****678"),  # any accepted form is normalised first
    ],
)
def test_mask_mobile(mobile: str, masked: str) -> None:
    assert mask_mobile(mobile) == masked


@given(subscriber)
def test_mask_mobile_stars_exactly_the_five_digits_after_9665(national: str) -> None:
    masked = mask_mobile("+966" + national)
    assert masked == "+9665*****" + national[-3:]


def test_mask_mobile_refuses_a_non_mobile() -> None:
    with pytest.raises(AdapterError) as caught:
        mask_mobile("12345")
    assert caught.value.code is Code.INVALID_MOBILE
