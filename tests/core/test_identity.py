import contextlib
import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from polku.core.identity import (
    CHECK_CHARACTERS,
    business_id_check_digit,
    make_business_id,
    make_hetu,
    parse_hetu,
    validate_business_id,
    validate_hetu,
)

# DVV's published examples and test codes, including the 2023 century signs (docs/domain.md §1).
VALID_HETUS = [
    ("131052-308T", dt.date(1952, 10, 13), "female"),
    ("010594Y9032", dt.date(1994, 5, 1), "male"),
    ("020594X903P", dt.date(1994, 5, 2), "male"),
    ("030594W903B", dt.date(1994, 5, 3), "male"),
    ("040594V9030", dt.date(1994, 5, 4), "male"),
    ("050594U903M", dt.date(1994, 5, 5), "male"),
    ("010516B903X", dt.date(2016, 5, 1), "male"),
    ("020516C903K", dt.date(2016, 5, 2), "male"),
    ("030516D9037", dt.date(2016, 5, 3), "male"),
    ("010501E9032", dt.date(2001, 5, 1), "male"),
    ("020503F9037", dt.date(2003, 5, 2), "male"),
    ("020504A902E", dt.date(2004, 5, 2), "female"),
    ("100190-999P", dt.date(1990, 1, 10), "male"),
    ("100190Y999P", dt.date(1990, 1, 10), "male"),
    ("311280-999J", dt.date(1980, 12, 31), "male"),
]

INVALID_HETUS = [
    "",  # empty
    "131052-308U",  # wrong check character
    "010190-999K",  # a wrongly computed example seen in the wild (the right one is W)
    "310252-308T",  # 31 February
    "131052G308T",  # unknown century sign
    "131052-001R",  # individual number 001 is never issued
    "131052-30T",  # too short
    "131052-308TT",  # too long
    "13105-2308T",
    "13 1052-308T",
    "abcdef-ghij",
]


@pytest.mark.parametrize(("code", "birth", "sex"), VALID_HETUS)
def test_hetu__valid_codes__parse_with_birth_date_and_legal_sex(code: str, birth: dt.date, sex: str) -> None:
    parsed = parse_hetu(code)
    assert parsed.birth_date == birth
    assert parsed.legal_sex == sex


@pytest.mark.parametrize("code", INVALID_HETUS)
def test_hetu__invalid_codes__are_refused(code: str) -> None:
    with pytest.raises(ValidationError):
        validate_hetu(code)


def test_hetu__lowercase_and_spaces__are_normalised() -> None:
    assert parse_hetu(" 010594y9032 ").code == "010594Y9032"


def test_hetu__test_range__is_recognised() -> None:
    assert parse_hetu("131052-308T").is_temporary_or_test is False
    assert parse_hetu("100190-999P").is_temporary_or_test is True


dates = st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2099, 12, 31))


@given(birth=dates, number=st.integers(min_value=2, max_value=999), variant=st.integers(0, 5))
def test_hetu__property__every_made_code_parses_back(birth: dt.date, number: int, variant: int) -> None:
    code = make_hetu(birth, number, variant=variant)
    parsed = parse_hetu(code)
    assert parsed.birth_date == birth
    assert parsed.individual_number == number
    assert parsed.legal_sex == ("male" if number % 2 else "female")


@given(birth=dates, number=st.integers(min_value=2, max_value=999), wrong=st.sampled_from(CHECK_CHARACTERS))
def test_hetu__property__any_other_check_character_is_refused(birth: dt.date, number: int, wrong: str) -> None:
    code = make_hetu(birth, number)
    if code[-1] == wrong:
        return
    with pytest.raises(ValidationError):
        parse_hetu(code[:-1] + wrong)


@given(st.text(max_size=20))
def test_hetu__property__arbitrary_text_never_crashes(text: str) -> None:
    with contextlib.suppress(ValidationError):
        parse_hetu(text)


# Published examples (docs/domain.md §2).
VALID_BUSINESS_IDS = ["0246246-0", "2077474-0", "1572860-0", "1234567-1"]
INVALID_BUSINESS_IDS = ["0246246-1", "0246246", "246246-0", "0246246-00", "A246246-0", "02462460", "",
                        "2077474-1", "1572860-9"]


@pytest.mark.parametrize("value", VALID_BUSINESS_IDS)
def test_business_id__valid(value: str) -> None:
    validate_business_id(value)


@pytest.mark.parametrize("value", INVALID_BUSINESS_IDS)
def test_business_id__invalid(value: str) -> None:
    with pytest.raises(ValidationError):
        validate_business_id(value)


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_business_id__property__check_digit_rule(digits: str) -> None:
    weights = (7, 9, 10, 5, 8, 4, 2)
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    made = make_business_id(digits)
    if remainder == 1:
        assert made is None and business_id_check_digit(digits) is None
        for check in range(10):
            with pytest.raises(ValidationError):
                validate_business_id(f"{digits}-{check}")
    else:
        assert made == f"{digits}-{0 if remainder == 0 else 11 - remainder}"
        validate_business_id(made)
        wrong = (int(made[-1]) + 1) % 10
        with pytest.raises(ValidationError):
            validate_business_id(f"{digits}-{wrong}")
