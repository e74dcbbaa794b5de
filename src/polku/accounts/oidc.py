"""Staff single sign-on through OpenID Connect (mozilla-django-oidc), off unless ``POLKU_OIDC_CLIENT_ID`` is set.

Only staff already provisioned in Polku (with an organisation and a role) can sign in this way: the identity
provider's account is matched to a Polku user by e-mail address (or by the claim ``POLKU_OIDC_USERNAME_CLAIM``
against the username), and no account is ever created from a sign-in, because what a person may see depends
on the organisation and role that an administrator gives them. Clients do not sign in this way.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class StaffOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[Any]:
        claim = getattr(settings, "POLKU_OIDC_USERNAME_CLAIM", "")
        users = self.UserModel.objects.filter(is_active=True, staff__active=True)
        if claim:
            value = claims.get(claim)
            return users.filter(username=value) if isinstance(value, str) and value else users.none()
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            return users.none()
        return users.filter(email__iexact=email)

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        claim = getattr(settings, "POLKU_OIDC_USERNAME_CLAIM", "") or "email"
        return bool(claims.get(claim))

    def create_user(self, claims: dict[str, Any]) -> Any:  # never: staff are provisioned by an administrator
        return None
