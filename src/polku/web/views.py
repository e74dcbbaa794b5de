"""Thin views: parse the request, call a selector or service, render. Access is decided by the policy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from polku.access.policy import client_of, staff_of
from polku.accounts.throttle import TooManyFailures, check_not_throttled, record_failure
from polku.clients import selectors
from polku.core.errors import AccessDenied


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if client_of(request.user) is not None:
        return redirect("web:my_data")
    staff = staff_of(request.user)
    clients = selectors.caseload_page(actor=request.user) if staff else []
    return render(request, "web/home.html", {"staff": staff, "clients": clients})


@login_required
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    try:
        overview = selectors.client_overview(actor=request.user, client_id=client_id)
    except AccessDenied:
        raise Http404 from None
    return render(request, "web/client_detail.html",
                  {"client": overview.client, "consents": overview.consents, "episodes": overview.episodes})


@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    own = client_of(request.user)
    if own is None:
        raise Http404
    overview = selectors.client_overview(actor=request.user, client_id=own.pk)
    log = list(selectors.access_log_for_client(actor=request.user, client_id=own.pk)[:100])
    return render(request, "web/my_data.html", {"client": overview.client, "consents": overview.consents, "log": log})


class ThrottledLoginView(auth_views.LoginView):
    """The sign-in form; too many failures from one address and it refuses for a while (429), right password
    or not (``polku.accounts.throttle``). With single sign-on configured it also offers that."""

    template_name = "web/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            check_not_throttled(request)
        except TooManyFailures as exc:
            response = render(request, "web/login.html",
                              {"form": self.get_form(), "throttled": True, "sso": settings.OIDC_ENABLED}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        record_failure(self.request)
        return super().form_invalid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "sso": settings.OIDC_ENABLED}


def health(request: HttpRequest) -> HttpResponse:
    """``/healthz``: the process answers (for load balancers; touches no database and no client data)."""
    return HttpResponse("ok", content_type="text/plain")
