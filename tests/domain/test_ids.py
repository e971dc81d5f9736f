"""ID numbers: Luhn, parsing, default types, masking."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.domain.ids import (
    IdType,
    default_id_type,
    luhn_complete,
    luhn_valid,
    mask_id,
    mask_ids_in_text,
    parse_id_number,
)
from bank_adapter.errors import AdapterError, Code

VALID_IDS = ("1234567897", "2345678904", "3000000004", "4123456784", "1000000008")

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)
id_numbers = st.builds(
    lambda first, rest: luhn_complete(first + rest),
    st.sampled_from("1234"),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


def has_id_like_run(text: str) -> bool:
    """Independent oracle: ten consecutive decimal digits (any script), the first 1-4."""
    return any(
        all(char.isdecimal() for char in text[i : i + 10]) and 1 <= int(text[i]) <= 4
        for i in range(len(text) - 9)
    )


# -- Luhn ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("79927398713", True),  # the textbook example, independent of this code
        ("79927398710", False),
        ("0", True),
        ("1234567897", True),
        ("1234567890", False),
        ("1234567879", False),  # adjacent transposition of the last two
        ("", False),
        ("12345678a7", False),
        ("١٢٣٤٥٦٧٨٩٧", False),  # Arabic-Indic digits are not ASCII digits
        (" 1234567897", False),
    ],
)
def test_luhn_valid(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@given(nine_digits)
def test_every_luhn_complete_output_is_valid(payload: str) -> None:
    number = luhn_complete(payload)
    assert len(number) == 10
    assert number.startswith(payload)
    assert luhn_valid(number)


@given(id_numbers, st.integers(0, 9), st.integers(1, 9))
def test_changing_any_single_digit_breaks_luhn(number: str, index: int, shift: int) -> None:
    changed = str((int(number[index]) + shift) % 10)
    mutated = number[:index] + changed + number[index + 1 :]
    assert not luhn_valid(mutated)


@pytest.mark.parametrize("payload", ["12345678", "1234567890", "12345678a", "١٢٣٤٥٦٧٨٩", ""])
def test_luhn_complete_refuses_anything_but_nine_ascii_digits(payload: str) -> None:
    with pytest.raises(ValueError, match="9 ASCII digits"):
        luhn_complete(payload)


# -- parse_id_number ----------------------------------------------------------------


@pytest.mark.parametrize("number", VALID_IDS)
def test_parse_accepts_valid_numbers(number: str) -> None:
    assert parse_id_number(number) == number


@pytest.mark.parametrize(
    "raw", [" 1234567897", "1234567897 ", "\t1234567897\r\n", "\u00a01234567897"]
)
def test_parse_strips_surrounding_whitespace_only(raw: str) -> None:
    assert parse_id_number(raw) == "1234567897"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("123456789", "10 digits"),
        ("12345678970", "10 digits"),
        ("", "10 digits"),
        ("   ", "10 digits"),
        ("1234 567897", "10 digits"),
        ("1234-567897", "10 digits"),
        ("123456789X", "10 digits"),
        ("١٢٣٤٥٦٧٨٩٧", "10 digits"),
        ("１２３４５６７８９７", "10 digits"),  # full-width
        ("1234567897\x00", "10 digits"),
        ("5123456781", "start with"),  # Luhn-valid, but no such first digit
        ("0123456782", "start with"),
        ("1234567890", "check digit"),
        ("2345678900", "check digit"),
    ],
)
def test_parse_refuses(raw: str, reason: str) -> None:
    with pytest.raises(AdapterError) as caught:
        parse_id_number(raw)
    assert caught.value.code is Code.INVALID_ID_NUMBER
    assert reason in caught.value.detail


@given(id_numbers, st.integers(0, 9), st.integers(1, 9))
def test_parse_details_never_echo_the_number(number: str, index: int, shift: int) -> None:
    mutated = number[:index] + str((int(number[index]) + shift) % 10) + number[index + 1 :]
    with pytest.raises(AdapterError) as caught:
        parse_id_number(mutated)
    assert mutated not in str(caught.value)


# -- default_id_type ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("1234567897", IdType.NATIONAL_ID),
        ("2345678904", IdType.IQAMA),
        ("3000000004", IdType.BORDER_NUMBER),
        ("4123456784", IdType.BORDER_NUMBER),
    ],
)
def test_default_id_type_follows_the_first_digit(number: str, expected: IdType) -> None:
    assert default_id_type(number) is expected


@given(id_numbers)
def test_gcc_id_is_never_inferred(number: str) -> None:
    assert default_id_type(number) is not IdType.GCC_ID


@pytest.mark.parametrize("number", ["5123456781", "1234567890", "12345"])
def test_default_id_type_refuses_invalid_numbers(number: str) -> None:
    with pytest.raises(AdapterError) as caught:
        default_id_type(number)
    assert caught.value.code is Code.INVALID_ID_NUMBER


def test_id_type_values_are_the_contract_names() -> None:
    assert [t.value for t in IdType] == ["NATIONAL_ID", "IQAMA", "BORDER_NUMBER", "GCC_ID"]


# -- mask_id ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("1234567834", "1*******34"),
        ("2345678904", "2*******04"),
        ("12345", "1**45"),
        ("1234", "1*34"),
        ("123", "***"),
        ("", ""),
    ],
)
def test_mask_id(value: str, masked: str) -> None:
    assert mask_id(value) == masked


@given(id_numbers)
def test_mask_id_keeps_first_and_last_two_digits(number: str) -> None:
    masked = mask_id(number)
    assert re.fullmatch(r"[1-4]\*{7}[0-9]{2}", masked)
    assert masked[0] == number[0]
    assert masked[-2:] == number[-2:]


@given(st.text())
def test_mask_id_never_shows_more_than_three_original_characters(value: str) -> None:
    masked = mask_id(value)
    assert len(masked) == len(value)
    assert sum(1 for char in masked if char != "*") <= 3


# -- mask_ids_in_text ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("GET /internal/v1/accounts/1234567897", "GET /internal/v1/accounts/1*******97"),
        ("/v1/x?idNumber=2345678904&x=1", "/v1/x?idNumber=2*******04&x=1"),
        ('{"idNumber": "3000000004"}', '{"idNumber": "3*******04"}'),
        ("1234567897 and 4123456784", "1*******97 and 4*******84"),
        ("id1234567897x", "id1*******97x"),
        ("51234567897", "5********97"),  # an ID glued to another digit
        ("123456783412345678", "1***************78"),
        ("١٢٣٤٥٦٧٨٩٧", "١*******٩٧"),  # Arabic-Indic digits
        ("1234567890", "1*******90"),  # ID-shaped is enough: logs mask invalid ones too
        # Safety over readability: a UUID group of 12 decimal digits is masked as well.
        ("a456-426614174000", "a456-4*********00"),
    ],
)
def test_mask_ids_in_text_masks(text: str, masked: str) -> None:
    assert mask_ids_in_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no digits here",
        "+966512345678",  # a mobile holds no window starting with 1-4
        "966512345678",
        "0512345678",
        "5123456781",
        "123456789",  # nine digits
        "123456789.7",
        "amount 650.00 on 2026-01-31",
        "3f2b8c1e-9d4a-4b7e-8c21-5a6f0e9d1b34",  # an ordinary UUID
    ],
)
def test_mask_ids_in_text_leaves_other_numbers_alone(text: str) -> None:
    assert mask_ids_in_text(text) == text


digit_heavy_text = st.text(
    alphabet=st.sampled_from("0123456789١٢٣٤٥٦٧٨٩٠ a/-?+*") | st.characters(), max_size=60
)


@given(digit_heavy_text)
def test_mask_ids_in_text_leaves_no_id_like_run(text: str) -> None:
    assert not has_id_like_run(mask_ids_in_text(text))


@given(digit_heavy_text)
def test_mask_ids_in_text_changes_nothing_without_an_id_like_run(text: str) -> None:
    if not has_id_like_run(text):
        assert mask_ids_in_text(text) == text


@given(st.text(max_size=20), id_numbers, st.text(max_size=20))
def test_mask_ids_in_text_hides_an_embedded_id(before: str, number: str, after: str) -> None:
    assert number not in mask_ids_in_text(before + number + after)
