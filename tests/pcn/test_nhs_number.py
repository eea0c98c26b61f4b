"""The NHS number rule (DOMAIN.md): modulus 11 over digits 1-9 with weights 10..2; 11 → 0; 10 → invalid."""

import itertools
import random
from datetime import datetime

import nhs_number
import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcn.nhs_number import (
    NHSNumberField,
    NHSNumberFormField,
    check_digit,
    format_nhs_number,
    is_valid,
    normalise,
    synthetic,
    synthetic_sequence,
    validate_nhs_number,
)

# Worked by hand: 9990000018 → 9x10 + 9x9 + 9x8 + 1x2 = 245; 245 mod 11 = 3; 11 - 3 = 8.
# Only test-range numbers in this repository. 9990000050 → 253 mod 11 = 0 → 11 → 0.
VALID = ["9990000018", "9990000026", "9990000050", "9990000069", "9996000001"]


@pytest.mark.parametrize("number", VALID)
def test_known_valid_numbers(number):
    assert is_valid(number) is True
    assert check_digit(number[:9]) == int(number[9])
    validate_nhs_number(number)  # no error


def test_check_value_11_becomes_0():
    # 999000005: 9x10 + 9x9 + 9x8 + 5x2 = 253 = 11 x 23, so 11 - 0 = 11, written as 0.
    assert check_digit("999000005") == 0
    assert is_valid("9990000050") is True
    assert [d for d in "0123456789" if is_valid(f"999000005{d}")] == ["0"]


def test_check_value_10_makes_every_tenth_digit_invalid():
    # 999000000: 9x10 + 9x9 + 9x8 = 243; 243 mod 11 = 1; 11 - 1 = 10: no number starts like this.
    assert check_digit("999000000") is None
    assert [d for d in "0123456789" if is_valid(f"999000000{d}")] == []
    with pytest.raises(ValidationError) as error:
        validate_nhs_number("9990000000")
    assert error.value.error_list[0].code == "check_digit"


def test_exactly_one_tenth_digit_is_valid_otherwise():
    assert [d for d in "0123456789" if is_valid(f"999000001{d}")] == ["8"]


@pytest.mark.parametrize("number", ["999000001", "99900000180", "", "9", "99900000181234"])
def test_wrong_lengths_are_invalid(number):
    assert is_valid(number) is False


@pytest.mark.parametrize("number", ["999000001A", "ABCDEFGHIJ", "999O000018", "9990000018x", "+9990000018"])
def test_letters_and_other_characters_are_invalid(number):
    assert is_valid(number) is False


def test_non_ascii_digits_are_invalid():
    # Arabic-Indic digits pass str.isdigit(); a stored NHS number is ASCII only.
    assert is_valid("٩٩٩٠٠٠٠٠١٨") is False


@pytest.mark.parametrize(
    "typed", ["999 000 0018", "999-000-0018", " 9990000018 ", "999 000-0018", "9990000018"]
)
def test_spaces_and_hyphens_are_ignored(typed):
    assert normalise(typed) == "9990000018"
    assert is_valid(typed) is True


def test_display_is_3_3_4():
    assert format_nhs_number("9990000018") == "999 000 0018"
    assert format_nhs_number("999-000-0018") == "999 000 0018"
    # Anything that is not ten digits is shown as it was given.
    assert format_nhs_number("12345") == "12345"
    assert format_nhs_number("ABCDEFGHIJ") == "ABCDEFGHIJ"


@pytest.mark.parametrize(
    "typed", ["999 000 0018", "999-000-0018", " 9990000018 ", "9990000018", "999 000 001 8"]
)
def test_form_field_cleans_to_ten_digits(typed):
    assert NHSNumberFormField().clean(typed) == "9990000018"


@pytest.mark.parametrize(
    ("typed", "messages"),
    [
        (
            "999 000 0019",
            ["This is not a valid NHS number: the check digit does not match. Check it for typing errors."],
        ),
        ("999 000 001", ["An NHS number has 10 digits."]),
        ("999 000 0018 0", ["An NHS number has 10 digits."]),
        ("999 OOO OO18", ["Enter an NHS number using digits only, like 999 000 0018."]),
        ("", ["This field is required."]),
    ],
)
def test_form_field_messages(typed, messages):
    with pytest.raises(ValidationError) as error:
        NHSNumberFormField().clean(typed)
    assert error.value.messages == messages


def test_form_field_shows_a_stored_number_3_3_4_and_asks_for_digits():
    field = NHSNumberFormField()
    assert field.prepare_value("9990000018") == "999 000 0018"
    assert field.widget.attrs == {
        "maxlength": "14",
        "inputmode": "numeric",
        "autocomplete": "off",
        "spellcheck": "false",
    }


@pytest.mark.parametrize(
    ("value", "codes", "messages"),
    [
        (
            "9990000019",
            ["check_digit"],
            ["This is not a valid NHS number: the check digit does not match. Check it for typing errors."],
        ),
        ("999000001", ["length"], ["An NHS number has 10 digits."]),
        ("999000001a", ["not_digits"], ["Enter an NHS number using digits only, like 999 000 0018."]),
        (
            "12345678901",
            ["length", "max_length"],
            ["An NHS number has 10 digits.", "Ensure this value has at most 10 characters (it has 11)."],
        ),
    ],
)
def test_model_field_validator_messages(value, codes, messages):
    with pytest.raises(ValidationError) as error:
        NHSNumberField().clean(value, None)
    assert [e.code for e in error.value.error_list] == codes
    assert error.value.messages == messages


def test_model_field_stores_digits_only():
    field = NHSNumberField()
    assert field.clean("999 000 0018", None) == "9990000018"
    assert field.get_prep_value("999-000-0018") == "9990000018"
    assert field.max_length == 10


def test_synthetic_is_deterministic_for_a_seed():
    assert synthetic(random.Random(1)) == synthetic(random.Random(1)) == "9991408916"
    rng = random.Random(7)
    first = [synthetic(rng) for _ in range(5)]
    rng = random.Random(7)
    assert [synthetic(rng) for _ in range(5)] == first


def test_synthetic_is_always_a_valid_test_range_number():
    rng = random.Random(2024)
    numbers = [synthetic(rng) for _ in range(5_000)]
    assert all(n.startswith("999") and len(n) == 10 and is_valid(n) for n in numbers)


def test_synthetic_sequence_is_unique_valid_and_in_order():
    numbers = list(itertools.islice(synthetic_sequence(), 20_000))
    assert numbers[:5] == ["9990000018", "9990000026", "9990000034", "9990000042", "9990000050"]
    assert len(set(numbers)) == 20_000
    assert numbers == sorted(numbers)
    assert all(n.startswith("999") and is_valid(n) for n in numbers)
    # 9990000000 (check value 10) and 9990000010 … are skipped, never emitted with a wrong digit.
    assert "9990000000" not in numbers


def test_synthetic_sequence_start_and_end():
    assert next(synthetic_sequence(600_000)) == "9996000001"
    assert list(synthetic_sequence(999_998)) == ["9999999980", "9999999999"]


# --- Agreement with the PyPI package `nhs-number` ----------------------------------------------------

_TEN_DIGITS = 10**10


_KINDS = 4
# Hypothesis draws small integers far more often than large ones; multiplying by a number coprime
# to the range (odd, not a multiple of 5) permutes the range, so every digit position varies.
_SPREAD = 6_364_136_223


def _number(drawn: int) -> str:
    """One drawn integer → a ten-digit string of one of four kinds (one draw each keeps 100,000 fast).

    Kind 0: any ten digits (about 1 in 11 valid). Kind 1: any nine digits plus the right check digit.
    Kind 2: a 999 test-range number with the right check digit. Kind 3: a test-range number with any
    last digit. A nine-digit prefix whose check value is 10 has no right digit and stays invalid.
    So about half the numbers are valid and half are not.
    """
    kind, rest = divmod(drawn * _SPREAD % (_KINDS * _TEN_DIGITS), _TEN_DIGITS)
    if kind == 0:
        return f"{rest:010d}"
    if kind == 3:
        return f"999{rest % 10**7:07d}"
    prefix = f"{rest // 10:09d}" if kind == 1 else f"999{rest // 10 % 10**6:06d}"
    check = nhs_number.calculate_checksum(prefix)
    return prefix + (str(check) if check != 10 else str(rest % 10))


def _is_chi_with_impossible_date(number: str) -> bool:
    """The package also rejects Scottish CHI-range numbers whose first six digits are not a DDMMYY date."""
    if not nhs_number.REGION_SCOTLAND.contains_number(number):
        return False
    try:
        datetime.strptime(number[:6], "%d%m%y")  # noqa: DTZ007 — a calendar check, not a moment in time
    except ValueError:
        return True
    return False


_numbers = st.lists(st.integers(0, _KINDS * _TEN_DIGITS - 1).map(_number), min_size=100, max_size=100)


def test_is_valid_agrees_with_the_nhs_number_package():
    seen = {"checked": 0, "valid": 0, "invalid": 0, "chi_impossible_date": 0}

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_numbers)
    def agree(numbers: list[str]) -> None:
        for number in numbers:
            ours = is_valid(number)
            assert ours is nhs_number.is_valid(number), number
            if _is_chi_with_impossible_date(number):
                seen["chi_impossible_date"] += 1
            seen["checked"] += 1
            seen["valid" if ours else "invalid"] += 1

    agree()

    assert seen["checked"] >= 100_000
    # Both outcomes are well covered: about half of the numbers are valid.
    assert seen["valid"] >= 40_000
    assert seen["invalid"] >= 40_000
    # The CHI-range date rule was exercised, not just assumed.
    assert seen["chi_impossible_date"] >= 1_000


@pytest.mark.parametrize(
    "number",
    [
        "0000000000", "9999999999", "0099999999", "0100000000", "3112999999", "3113000000",
        "3999999999", "4000000000", "7999999999", "8599999999", "9000000000",
        "9990000018", "999 000 0018", "999-000-0018", " 9990000018 ",
    ],
)  # fmt: skip
def test_agrees_with_the_package_at_range_edges_and_typed_forms(number):
    assert is_valid(number) is nhs_number.is_valid(number)


def test_chi_range_numbers_must_start_with_a_real_date():
    """As `nhs-number` 2.2 does: in the Scottish CHI range (0100000000-3112999999) the first six
    digits are a DDMMYY date of birth, so a right check digit is not enough there."""
    impossible = "011300000" + str(check_digit("011300000"))  # 01/13/00: no 13th month
    dated = "010190000" + str(check_digit("010190000"))  # 01/01/90: a real date
    assert (is_valid(impossible), nhs_number.is_valid(impossible)) == (False, False)
    assert (is_valid(dated), nhs_number.is_valid(dated)) == (True, True)
    with pytest.raises(ValidationError) as error:
        validate_nhs_number(impossible)
    assert error.value.code == "chi_date"
