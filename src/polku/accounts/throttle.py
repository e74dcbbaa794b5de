"""Throttling of failed sign-ins (web form and API tokens) per client address.

After ``POLKU_AUTH_FAILURES`` failures (default 20) within ``POLKU_AUTH_WINDOW`` seconds (default 300) further
attempts from that address are refused until the window passes, whether the password or token is right or
not, so guessing is slow. Counts live in Django's cache: configure a shared cache when several server processes
run, or each counts on its own.
"""

from __future__ import annotations

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


def _limits() -> tuple[int, int]:
    return int(settings.POLKU_AUTH_FAILURES), int(settings.POLKU_AUTH_WINDOW)


def check_not_throttled(request: HttpRequest) -> None:
    limit, window = _limits()
    if int(cache.get(_key(request), 0)) >= limit:
        raise TooManyFailures(window)


def record_failure(request: HttpRequest) -> None:
    _limit, window = _limits()
    key = _key(request)
    if not cache.add(key, 1, timeout=window):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=window)
