"""When the database is briefly unreachable (a restart, a fail-over, a dropped connection), a request fails
cleanly: ``503 Service Unavailable`` with ``Retry-After``, a translated page (or problem+json in the API), and
nothing half-written (each request's writes are one transaction, which the database rolled back).

Persistent connections are checked before each request reuses them (``CONN_HEALTH_CHECKS``), so once the database
is back the next request opens a new connection and succeeds: the service recovers on its own.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.utils.translation import gettext
from django.views import defaults

#: Seconds a client is asked to wait before trying again.
RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """True for the errors a lost database connection raises (not for bad data: DataError, IntegrityError)."""
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response() -> HttpResponse:
    """The 503 page. Rendered without the request, so no context processor touches the database."""
    html = loader.render_to_string("web/unavailable.html", {
        "title": gettext("Polku is briefly unavailable"),
        "text": gettext("Nothing you had saved is lost. Wait a moment and try again."),
    })
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    """``handler500``: Django calls it while handling the uncaught exception, so ``sys.exc_info()`` names it; a
    lost database connection is answered 503, anything else with Django's plain 500 page."""
    if database_unavailable(sys.exc_info()[1]):
        return unavailable_response()
    return defaults.server_error(request)
