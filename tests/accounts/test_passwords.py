"""Password rules (ASVS 2.1.1, 2.1.2, 2.1.7): at least 12 characters, long passphrases with spaces and any
Unicode allowed, common passwords refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


@pytest.mark.parametrize("password", ["Kissa-2026x", "password1234", "123456789012"])
def test_short_or_common_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize("password", ["vihreä kettu hyppää aidan yli", "x" * 3 + "Ö" * 9 + "🙂" * 60,
                                      "Kesäpäivä-2026-Polku"])
def test_passphrases_and_unicode_are_allowed(password: str) -> None:
    validate_password(password)
