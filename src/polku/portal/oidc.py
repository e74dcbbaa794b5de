"""Clients' sign-in to the portal with a Suomi.fi-style OpenID Connect provider (mozilla-django-oidc), off unless
``POLKU_CLIENT_OIDC_CLIENT_ID`` is set (docs/portal.md).

The provider vouches for the person's identity code (the claim ``POLKU_CLIENT_OIDC_IDENTITY_CLAIM``, by default
``nationalIdentificationNumber``). The code is matched to a registered :class:`~polku.clients.models.Client`;
the client's portal account signs in, and a client without one gets a portal account linked to their record
(unless ``POLKU_CLIENT_OIDC_CREATE_USER`` is off). A person who is not a registered client cannot sign in, and no
client record is ever created from a sign-in.

It runs beside the staff single sign-on (``polku.accounts.oidc``), with a provider of its own: its views and
backend read the ``POLKU_CLIENT_OIDC`` settings instead of the ``OIDC_*`` ones, and the backend handles only a
callback whose ``state`` began at the portal's own sign-in view (and stops any other backend from trying that
provider's code).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from polku.clients.models import Client

#: The session key holding the ``state`` of a sign-in begun at the portal.
FLOW_KEY = "polku_client_oidc_state"
DEFAULT_IDENTITY_CLAIM = "nationalIdentificationNumber"

#: What the portal's flow uses instead of mozilla-django-oidc's own settings of the same names.
_FIXED = {
    "OIDC_AUTHENTICATION_CALLBACK_URL": "portal:oidc_callback",
    "LOGIN_REDIRECT_URL": "portal:home",
    "LOGIN_REDIRECT_URL_FAILURE": "/login/?sso=failed",
}
#: Settings that belong to one provider: never taken from the staff sign-on's ``OIDC_*`` settings.
_PROVIDER_KEYS = frozenset({
    "OIDC_RP_CLIENT_ID", "OIDC_RP_CLIENT_SECRET", "OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT", "OIDC_RP_SIGN_ALGO", "OIDC_RP_SCOPES", "OIDC_RP_IDP_SIGN_KEY",
    "OIDC_CREATE_USER", "OIDC_AUTH_REQUEST_EXTRA_PARAMS",
})
_DEFAULTS: dict[str, Any] = {"OIDC_RP_SIGN_ALGO": "RS256", "OIDC_RP_SCOPES": "openid profile",
                             "OIDC_RP_IDP_SIGN_KEY": None, "OIDC_OP_JWKS_ENDPOINT": None, "OIDC_CREATE_USER": True,
                             "OIDC_AUTH_REQUEST_EXTRA_PARAMS": {}}


def enabled() -> bool:
    return bool(getattr(settings, "POLKU_CLIENT_OIDC_ENABLED", False))


def client_oidc_setting(attr: str, *default: Any) -> Any:
    """A setting of the clients' provider: ``POLKU_CLIENT_OIDC[attr]``, else the portal's fixed value, else (for
    what is not about one provider, such as nonce and state sizes) mozilla-django-oidc's own setting."""
    configured = getattr(settings, "POLKU_CLIENT_OIDC", {}) or {}
    if attr in configured and configured[attr] not in ("", None):
        return configured[attr]
    if attr in _FIXED:
        return _FIXED[attr]
    if attr in _PROVIDER_KEYS:
        if attr in _DEFAULTS:
            return _DEFAULTS[attr]
        if default:
            return default[0]
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"POLKU_CLIENT_OIDC[{attr!r}] is not set")
    return import_from_settings(attr, *default)


def identity_claim() -> str:
    return str(getattr(settings, "POLKU_CLIENT_OIDC_IDENTITY_CLAIM", "") or DEFAULT_IDENTITY_CLAIM)


def client_for_claims(claims: dict[str, Any]) -> Client | None:
    """The registered client whose identity code the provider vouches for, or ``None``."""
    value = claims.get(identity_claim())
    if not isinstance(value, str) or not value.strip():
        return None
    return Client.objects.filter(personal_identity_code=value.strip().upper()).first()


class ClientOIDCBackend(OIDCAuthenticationBackend):
    """Signs a client in by the identity code the provider gives; links or creates the portal account."""

    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return client_oidc_setting(attr, *args)

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        if request is None or not _began_here(request):
            return None  # not the portal's sign-in: for another backend
        request.session.pop(FLOW_KEY, None)
        user = super().authenticate(request, **kwargs)
        if user is None:
            raise PermissionDenied  # no other backend may try this provider's code
        return user

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get(identity_claim()))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet[Any]:
        client = client_for_claims(claims)
        if client is None or client.user_id is None:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(pk=client.user_id, is_active=True, staff__isnull=True)

    def create_user(self, claims: dict[str, Any]) -> Any:
        """A portal account for a registered client who has none yet; nobody else gets an account."""
        with transaction.atomic():
            client = client_for_claims(claims)
            if client is None:
                return None
            client = Client.objects.select_for_update().get(pk=client.pk)
            if client.user_id is not None:  # linked meanwhile (or an inactive or staff account): not this way
                return None
            user = get_user_model().objects.create_user(
                username=f"client-{uuid.uuid4().hex[:12]}", first_name=client.first_name, last_name=client.last_name,
            )
            user.set_unusable_password()
            user.save(update_fields=["password"])
            Client.objects.filter(pk=client.pk, user__isnull=True).update(user=user)
            return user

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        return user


def _began_here(request: HttpRequest) -> bool:
    state = request.GET.get("state")
    return bool(state) and request.session.get(FLOW_KEY) == state


class ClientOIDCRequestView(OIDCAuthenticationRequestView):
    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return client_oidc_setting(attr, *args)

    def get(self, request: HttpRequest) -> HttpResponse:
        response = super().get(request)
        state = parse_qs(urlparse(response["Location"]).query).get("state", [""])[0]
        request.session[FLOW_KEY] = state
        return response


class ClientOIDCCallbackView(OIDCAuthenticationCallbackView):
    @staticmethod
    def get_settings(attr: str, *args: Any) -> Any:
        return client_oidc_setting(attr, *args)


def authenticate(request: HttpRequest) -> HttpResponse:
    """Start a client's sign-in at the provider ("not found" unless configured)."""
    if not enabled():
        raise Http404
    return ClientOIDCRequestView.as_view()(request)


def callback(request: HttpRequest) -> HttpResponse:
    """The provider returns here; the client is signed in and taken to their path."""
    if not enabled():
        raise Http404
    return ClientOIDCCallbackView.as_view()(request)
