"""Middleware of the accounts: session lifetime, the second-factor step and the security headers Django lacks."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext

from . import reauth, twofactor

#: A request refreshes the "last seen" stamp only when it is older than this (seconds), so that every request
#: does not write the session.
SEEN_PRECISION = 30


def _api_path(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


class SessionLifetimeMiddleware:
    """Signs a user out after ``POLKU_IDLE_MINUTES`` without a request (default 30), and after
    ``SESSION_COOKIE_AGE`` from the sign-in however active they are (the cookie's own expiry moves with each write
    of the session, so it alone is no absolute limit). A page request then goes to the sign-in page, with a message
    and ``next`` back to the page; an API request goes on unauthenticated (401)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            expired = self._expired(request)
            if expired:
                logout(request)
                if not _api_path(request):
                    messages.info(request, expired)
                    if request.method in ("GET", "HEAD"):
                        target = reverse(settings.LOGIN_URL) + "?" + urlencode({"next": request.get_full_path()})
                    else:
                        target = reverse(settings.LOGIN_URL)
                    return HttpResponseRedirect(target)
        return self.get_response(request)

    @staticmethod
    def _expired(request: HttpRequest) -> str:
        session = request.session
        now = reauth.now()
        login_at = session.get(reauth.LOGIN_AT)
        seen_at = session.get(reauth.SEEN_AT)
        if not isinstance(login_at, int):  # a session from before these stamps: start the clocks now
            session[reauth.LOGIN_AT] = login_at = now
        idle = int(settings.POLKU_IDLE_MINUTES) * 60
        if idle and isinstance(seen_at, int) and now - seen_at > idle:
            return gettext("You were signed out because you had been inactive for %(minutes)d minutes. "
                           "Sign in again.") % {"minutes": int(settings.POLKU_IDLE_MINUTES)}
        if now - login_at > int(settings.SESSION_COOKIE_AGE):
            return gettext("Your session has ended. Sign in again.")
        if not isinstance(seen_at, int) or now - seen_at >= SEEN_PRECISION:
            session[reauth.SEEN_AT] = now
        return ""


def _exempt_paths() -> tuple[str, ...]:
    return (
        reverse("web:login"),
        reverse("web:logout"),
        reverse("web:health"),
        reverse("accounts:two_factor"),
        reverse("accounts:two_factor_setup"),
        reverse("set_language"),
        "/" + settings.STATIC_URL.lstrip("/"),
        "/api/",  # the API refuses an unverified session itself (401), see polku.api.auth.WebSession
        "/oidc/",  # single sign-on callbacks
        "/me/oidc/",
    )


class SecondFactorMiddleware:
    """While a user who needs a second factor has not entered it in this session, every page except sign-in,
    sign-out and the two-factor pages redirects to the two-factor step (enrolment if they have no device yet)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (getattr(settings, "POLKU_REQUIRE_2FA", False) and request.user.is_authenticated
                and not request.path_info.startswith(_exempt_paths()) and twofactor.needs_second_factor(request)):
            query = ""
            if request.method in ("GET", "HEAD") and request.path_info != "/":
                query = "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(reverse("accounts:two_factor") + query)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Headers Django's ``SecurityMiddleware`` does not set: ``Permissions-Policy`` (no camera, microphone,
    location, payment, USB or motion sensors for any page) and ``Cache-Control: no-store`` on pages for a signed-in
    user unless the view set its own (client data must not stay in shared caches or the back button's copy)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = getattr(settings, "POLKU_PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path_info.startswith(
                "/" + settings.STATIC_URL.lstrip("/")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
