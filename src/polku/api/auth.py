"""How API callers prove who they are: a bearer token (``polku token create``) or the web session.

Failed attempts are throttled per client address (``polku.accounts.throttle``): too many, and further
attempts are refused with 429 for a while, whether the token is right or not.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from polku.accounts.services import token_authenticate
from polku.accounts.throttle import check_not_throttled, record_failure
from polku.accounts.twofactor import needs_second_factor


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
        request.polku_bearer_token = True  # type: ignore[attr-defined]  # exempt from re-authentication
        return found.user


class WebSession(SessionAuth):
    """The signed-in web session (the UI's own calls). Unsafe methods also need the CSRF token. A session still
    waiting for its second factor (``polku.accounts.twofactor``) is refused."""

    csrf = True

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            if needs_second_factor(request):
                return None
            return user
        return None
