"""Throttling of failed sign-ins (web form, API tokens, two-factor codes, password confirmations).

After ``POLKU_AUTH_FAILURES`` failures (default 20) within ``POLKU_AUTH_WINDOW`` seconds (default 300) further
attempts from that address are refused until the window passes, whether the password or token is right or
not, so guessing is slow. Failures are also counted per account (``account=``: the username typed, or the
signed-in user), with the same limit, so that guessing one account's password from many addresses is slow too.
Wrong two-factor codes have a stricter limit of their own per account, ``POLKU_2FA_FAILURES`` (default 5).
Counts live in Django's cache: configure a shared cache when several server processes run, or each counts on
its own.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


class TooManyFailures(Exception):
    """The caller's address has failed to authenticate too often; it must wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed authentication attempts")
        self.retry_after = retry_after


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def _key(request: HttpRequest) -> str:
    return f"polku:auth-failures:{_address(request)}"


def _account_key(account: str, scope: str = "auth") -> str:
    digest = hashlib.sha256(account.strip().lower().encode()).hexdigest()[:32]  # any characters, fixed length
    return f"polku:{scope}-failures:account:{digest}"


def _limits() -> tuple[int, int]:
    return int(settings.POLKU_AUTH_FAILURES), int(settings.POLKU_AUTH_WINDOW)


def _count(key: str, window: int) -> None:
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)


def check_not_throttled(request: HttpRequest, account: str = "") -> None:
    """Raise :class:`TooManyFailures` if this address, or this account (when given), has failed too often."""
    limit, window = _limits()
    keys = [_key(request)] + ([_account_key(account)] if account else [])
    if any(int(cache.get(key, 0)) >= limit for key in keys):
        raise TooManyFailures(window)


def record_failure(request: HttpRequest, account: str = "") -> None:
    _limit, window = _limits()
    _count(_key(request), window)
    if account:
        _count(_account_key(account), window)


def clear_account(account: str) -> None:
    """A successful sign-in forgets the account's failures (not the address's)."""
    cache.delete(_account_key(account))


def check_code_attempts(request: HttpRequest, user_id: object) -> None:
    """Wrong two-factor codes: ``POLKU_2FA_FAILURES`` per account within the window, and the address limit."""
    check_not_throttled(request)
    if int(cache.get(_account_key(str(user_id), "otp"), 0)) >= int(settings.POLKU_2FA_FAILURES):
        raise TooManyFailures(_limits()[1])


def record_code_failure(request: HttpRequest, user_id: object) -> None:
    record_failure(request)
    _count(_account_key(str(user_id), "otp"), _limits()[1])


def clear_code_failures(user_id: object) -> None:
    cache.delete(_account_key(str(user_id), "otp"))
