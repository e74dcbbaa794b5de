"""Creating, checking and revoking API tokens. Only a SHA-256 hash of a token is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.core.errors import InvalidInput

from .models import ApiToken

#: How exactly a token's "last used" time is kept (it is written at most once per this interval).
LAST_USED_PRECISION = dt.timedelta(minutes=1)
TOKEN_PREFIX = "polku_"  # noqa: S105 - a marker, not a secret


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_create(*, username: str, expires_in_days: int | None = None, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``username``; returns the row and the token text, which is shown only once."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(_("No active user with this username."), errors={"username": [str(_("Unknown user."))]})
    if expires_in_days is not None and expires_in_days <= 0:
        raise InvalidInput(_("The validity must be a positive number of days."),
                           errors={"expires": [str(_("Must be positive."))]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken.objects.create(user=user, name=name, prefix=secret[:12], key_hash=_hash(secret),
                                    expires_at=expires)
    return token, secret


def token_authenticate(secret: str) -> ApiToken | None:
    """The valid token with this text, or ``None``."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = (ApiToken.objects.select_related("user", "user__staff", "user__client")  # the access policy asks
             .filter(key_hash=_hash(secret)).first())
    if token is None or not token.is_valid() or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # to the minute: not a write per request
    return token


@transaction.atomic
def token_revoke(*, prefix: str) -> int:
    """Revoke every token with this prefix; returns how many were revoked."""
    return ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True).update(revoked_at=timezone.now())
