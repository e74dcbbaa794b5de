"""Finnish identifiers: the personal identity code (*henkilötunnus*) and the Business ID (*Y-tunnus*).

The rules are cited in ``docs/domain.md``:

* henkilötunnus ``DDMMYYCZZZQ``: date of birth, century sign ``C`` (``+`` 1800s; ``-`` and, since 2023,
  ``Y X W V U`` 1900s; ``A`` and, since 2023, ``B C D E F`` 2000s), individual number ``ZZZ`` (002–899 for
  people, 900–999 for temporary and test use), check character ``Q`` = ``DDMMYYZZZ mod 31`` looked up in
  ``0123456789ABCDEFHJKLMNPRSTUVWXY``. An odd individual number means male, an even one female.
* Y-tunnus ``NNNNNNN-T``: seven digits weighted 7, 9, 10, 5, 8, 4, 2; sum mod 11; remainder 0 → ``T`` = 0,
  remainder 1 → no valid code, otherwise ``T`` = 11 − remainder.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY_SIGNS: dict[str, int] = {
    "+": 1800,
    "-": 1900,
    "Y": 1900,
    "X": 1900,
    "W": 1900,
    "V": 1900,
    "U": 1900,
    "A": 2000,
    "B": 2000,
    "C": 2000,
    "D": 2000,
    "E": 2000,
    "F": 2000,
}
TEST_RANGE = range(900, 1000)
# re.ASCII: ``\d`` must not match the digits of other scripts ("١٣١٠٥٢-٣٠٨T"), which int() would read as the same
# number, letting one person be stored under two codes. \Z, not $: no trailing newline either.
_HETU_RE = re.compile(r"^(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])\Z", re.ASCII)
_BUSINESS_ID_RE = re.compile(r"^(\d{7})-(\d)\Z", re.ASCII)
_BUSINESS_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class PersonalIdentityCode:
    """A parsed, valid henkilötunnus."""

    code: str
    birth_date: dt.date
    individual_number: int

    @property
    def legal_sex(self) -> str:
        """``"male"`` for an odd individual number, ``"female"`` for an even one."""
        return "male" if self.individual_number % 2 else "female"

    @property
    def is_temporary_or_test(self) -> bool:
        """Individual numbers 900–999 are for temporary and test use: never a real person's code."""
        return self.individual_number in TEST_RANGE


def hetu_check_character(date_part: str, individual_number: str) -> str:
    """The check character for ``DDMMYY`` + ``ZZZ``."""
    return CHECK_CHARACTERS[int(date_part + individual_number) % 31]


def parse_hetu(value: str) -> PersonalIdentityCode:
    """Parse and validate a personal identity code; raise :class:`ValidationError` if it is not one."""
    if not isinstance(value, str):
        raise ValidationError(_("Enter a personal identity code as text."), code="hetu_type")
    code = value.strip().upper()
    match = _HETU_RE.match(code)
    if match is None:
        raise ValidationError(
            _("A personal identity code has the form DDMMYYCZZZQ, for example 010190-900P."),
            code="hetu_format",
        )
    day, month, year, sign, number, check = match.groups()
    century = CENTURY_SIGNS[sign]
    try:
        birth_date = dt.date(century + int(year), int(month), int(day))
    except ValueError:
        raise ValidationError(
            _("The personal identity code does not contain a valid date of birth."), code="hetu_date"
        ) from None
    individual = int(number)
    if individual < 2:
        raise ValidationError(
            _("The individual number of a personal identity code is between 002 and 999."),
            code="hetu_individual_number",
        )
    if hetu_check_character(day + month + year, number) != check:
        raise ValidationError(
            _("The check character of the personal identity code is wrong."), code="hetu_check"
        )
    return PersonalIdentityCode(code=code, birth_date=birth_date, individual_number=individual)


def validate_hetu(value: str) -> None:
    """Django field validator for a henkilötunnus."""
    parse_hetu(value)


def make_hetu(birth_date: dt.date, individual_number: int, *, variant: int = 0) -> str:
    """Build a valid code; ``variant`` picks among the century's signs (0 = the classic sign).

    Used by the synthetic region and the tests; always pass an individual number of 900–999 for fake people.
    """
    if not 2 <= individual_number <= 999:
        raise ValueError("individual number must be 002–999")
    signs = [s for s, c in CENTURY_SIGNS.items() if c == birth_date.year // 100 * 100]
    if not signs:
        raise ValueError("year out of range for a henkilötunnus")
    sign = signs[variant % len(signs)]
    date_part = birth_date.strftime("%d%m") + f"{birth_date.year % 100:02d}"
    number = f"{individual_number:03d}"
    return f"{date_part}{sign}{number}{hetu_check_character(date_part, number)}"


def business_id_check_digit(digits: str) -> int | None:
    """The check digit for seven digits, or ``None`` when no valid code exists (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, _BUSINESS_ID_WEIGHTS, strict=True)) % 11
    if remainder == 0:
        return 0
    if remainder == 1:
        return None
    return 11 - remainder


def validate_business_id(value: str) -> None:
    """Django field validator for a Y-tunnus (``1234567-8``)."""
    if not isinstance(value, str):
        raise ValidationError(_("Enter a business ID as text."), code="business_id_type")
    match = _BUSINESS_ID_RE.match(value.strip())
    if match is None:
        raise ValidationError(
            _("A business ID has seven digits, a hyphen and a check digit, for example 0246246-0."),
            code="business_id_format",
        )
    digits, check = match.groups()
    if business_id_check_digit(digits) != int(check):
        raise ValidationError(_("The check digit of the business ID is wrong."), code="business_id_check")


def make_business_id(digits: str) -> str | None:
    """Complete seven digits with their check digit; ``None`` if no valid code has these digits."""
    check = business_id_check_digit(digits)
    return None if check is None else f"{digits}-{check}"
