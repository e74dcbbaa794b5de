"""Re-authentication before sensitive actions, and the session's time stamps.

A session remembers when its user last proved who they are (``AUTH_AT``: the sign-in, or a confirmation on the
"confirm it's you" page). Views decorated with :func:`recent_auth_required` (data exports, consent changes made
on a client's behalf) need that to be within ``POLKU_REAUTH_MINUTES`` (default 10); otherwise the user is sent to
``/account/confirm/?next=…``, enters their password (and a two-factor code, where their role needs one) and comes
back. A form sent with POST comes back to the page it was sent from (the ``Referer``, if it is this site's), to be
sent again.

Calls to the API with a bearer token are exempt: a token is issued by an administrator for a system, and has no
password to confirm. Calls to the API with the web session are not exempt: :func:`require_recent_auth_api`
refuses them with 403 until the user has confirmed on the web page.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlparse

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

#: Session keys: when the user signed in (absolute lifetime), was last seen (idle timeout), last proved who they are.
LOGIN_AT = "polku_login_at"
SEEN_AT = "polku_seen_at"
AUTH_AT = "polku_auth_at"


def now() -> int:
    return int(time.time())


def mark_signed_in(request: HttpRequest) -> None:
    """Called on every sign-in (``user_logged_in``): all three clocks start now."""
    moment = now()
    request.session[LOGIN_AT] = moment
    request.session[SEEN_AT] = moment
    request.session[AUTH_AT] = moment


def mark_reauthenticated(request: HttpRequest) -> None:
    request.session[AUTH_AT] = now()


def reauth_window() -> int:
    return int(settings.POLKU_REAUTH_MINUTES) * 60


def recently_authenticated(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    if session is None:
        return False
    stamp = session.get(AUTH_AT)
    return isinstance(stamp, int) and now() - stamp <= reauth_window()


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    """``candidate`` if it is a local address on this site (no other host, no other scheme), else ``None``."""
    if not candidate:
        return None
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        parsed = urlparse(candidate)
        return parsed.path + (f"?{parsed.query}" if parsed.query else "") or "/"
    return None


def confirm_url(request: HttpRequest) -> str:
    """Where to confirm, and the page to come back to afterwards."""
    if request.method in ("GET", "HEAD"):
        back = request.get_full_path()
    else:
        back = safe_next(request, request.headers.get("Referer")) or reverse("web:home")
    return reverse("accounts:confirm") + "?" + urlencode({"next": back})


def recent_auth_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view needs the user to have signed in or confirmed their password within ``POLKU_REAUTH_MINUTES``."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not recently_authenticated(request):
            if request.method not in ("GET", "HEAD"):
                from django.contrib import messages
                from django.utils.translation import gettext

                messages.info(request, gettext("For your security, confirm that it is you, then send the form "
                                               "again."))
            return HttpResponseRedirect(confirm_url(request))
        return view(request, *args, **kwargs)

    return wrapper


def require_recent_auth_api(request: HttpRequest) -> None:
    """In an API operation: a web session must have confirmed recently (403 otherwise); a bearer token is exempt."""
    if getattr(request, "polku_bearer_token", False):
        return
    if not recently_authenticated(request):
        from django.utils.translation import gettext
        from ninja.errors import HttpError

        raise HttpError(403, gettext("Confirm your password on the web page first (%(url)s), then try again.")
                        % {"url": reverse("accounts:confirm")})
