"""Thin views: parse the request, call a selector or service, render. Access is decided by the policy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from polku.access.policy import client_of
from polku.accounts.throttle import TooManyFailures, check_not_throttled, clear_account, record_failure


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The front page: clients go to their own pages; staff get their worklist and caseload, or (managers,
    administrators) a summary (``worklist_views.front_page``)."""
    if client_of(request.user) is not None:
        return redirect("portal:home")
    from .worklist_views import front_page

    return front_page(request)


class ThrottledLoginView(auth_views.LoginView):
    """The sign-in form; too many failures from one address and it refuses for a while (429), right password
    or not (``polku.accounts.throttle``). With single sign-on configured it also offers that."""

    template_name = "web/login.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            check_not_throttled(request, account=str(request.POST.get("username", ""))[:150])
        except TooManyFailures as exc:
            response = render(request, "web/login.html",
                              {"form": self.get_form(), "throttled": True, "sso": settings.OIDC_ENABLED}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        record_failure(self.request, account=str(self.request.POST.get("username", ""))[:150])
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        clear_account(form.get_user().get_username())
        return super().form_valid(form)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "sso": settings.OIDC_ENABLED,
                "client_sso": settings.POLKU_CLIENT_OIDC_ENABLED}


def health(request: HttpRequest) -> HttpResponse:
    """``/healthz``: the process answers (for load balancers; touches no database and no client data)."""
    return HttpResponse("ok", content_type="text/plain")
