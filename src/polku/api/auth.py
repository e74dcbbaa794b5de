"""How API callers prove who they are: a bearer token (``polku token create``) or the web session.

Failed attempts are throttled per client address: after ``POLKU_API_AUTH_FAILURES`` failures (default 20)
within ``POLKU_API_AUTH_WINDOW`` seconds (default 300) further attempts are refused with 429 until the
window passes, whether the token is right or not, so guessing tokens is slow.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from polku.accounts.services import token_authenticate


class TooManyFailures(Exception):
    """The caller's address has failed to authenticate too often; it must wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed authentication attempts")
        self.retry_after = retry_after


def _address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", "") or "unknown")


def _key(request: HttpRequest) -> str:
    return f"polku:api-auth-failures:{_address(request)}"


def _limits() -> tuple[int, int]:
    config: dict[str, Any] = settings.POLKU
    return int(config.get("API_AUTH_FAILURES", 20)), int(config.get("API_AUTH_WINDOW", 300))


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


class BearerToken(HttpBearer):
    """``Authorization: Bearer polku_…``: an API token, stored hashed, revocable and expiring."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if header:
            check_not_throttled(request)
        result = super().__call__(request)
        if header and result is None:
            record_failure(request)
        return result

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = token_authenticate(token)
        if found is None:
            return None
        request.user = found.user
        return found.user


class WebSession(SessionAuth):
    """The signed-in web session (the UI's own calls). Unsafe methods also need the CSRF token."""

    csrf = True

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None
