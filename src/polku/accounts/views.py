"""The second-factor step (enrolment and verification) and the "confirm it's you" page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache

from polku.access.policy import client_of

from . import reauth, twofactor
from .forms import CodeForm, ConfirmForm
from .throttle import (
    TooManyFailures,
    check_code_attempts,
    check_not_throttled,
    clear_code_failures,
    record_code_failure,
    record_failure,
)


def _next(request: HttpRequest) -> str:
    return reauth.safe_next(request, request.POST.get("next") or request.GET.get("next")) or reverse("web:home")


def _with_next(url_name: str, next_url: str) -> str:
    return reverse(url_name) + "?" + urlencode({"next": next_url})


def _throttled(request: HttpRequest, template: str, context: dict[str, Any], exc: TooManyFailures) -> HttpResponse:
    response = render(request, template, {**context, "throttled": True}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@never_cache
@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """``/account/two-factor/``: enter the code from the authenticator app after the password."""
    next_url = _next(request)
    if not twofactor.needs_second_factor(request):
        return HttpResponseRedirect(next_url)
    if twofactor.confirmed_device(request.user) is None:
        return HttpResponseRedirect(_with_next("accounts:two_factor_setup", next_url))
    form = CodeForm(request.POST or None)
    context = {"form": form, "next": next_url}
    if request.method == "POST":
        try:
            check_code_attempts(request, request.user.pk)
        except TooManyFailures as exc:
            return _throttled(request, "accounts/two_factor.html", context, exc)
        if form.is_valid() and twofactor.verify(request, form.cleaned_data["token"]):
            clear_code_failures(request.user.pk)
            return HttpResponseRedirect(next_url)
        record_code_failure(request, request.user.pk)
        if form.is_valid():
            form.add_error("token", gettext("The code is wrong or has expired. Enter the code the app shows now."))
    return render(request, "accounts/two_factor.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """``/account/two-factor/setup/``: enrol an authenticator app (QR code or the secret typed in), confirmed with
    a code. Only for a user who needs a second factor and has no device yet (an administrator resets a lost one)."""
    next_url = _next(request)
    if not twofactor.needs_second_factor(request):
        return HttpResponseRedirect(next_url)
    if twofactor.confirmed_device(request.user) is not None:
        return HttpResponseRedirect(_with_next("accounts:two_factor", next_url))
    device = twofactor.pending_device(request.user)
    form = CodeForm(request.POST or None)
    context = {"form": form, "next": next_url, "secret": twofactor.secret_text(device),
               "qr": twofactor.qr_svg(device, gettext("QR code for the authenticator app")),
               "issuer": settings.OTP_TOTP_ISSUER, "account": request.user.get_username()}
    if request.method == "POST":
        try:
            check_code_attempts(request, request.user.pk)
        except TooManyFailures as exc:
            return _throttled(request, "accounts/two_factor_setup.html", context, exc)
        if form.is_valid() and twofactor.confirm_enrolment(request, device, form.cleaned_data["token"]):
            clear_code_failures(request.user.pk)
            from django.contrib import messages

            messages.success(request, gettext("Two-step verification is on. From now on you enter a code from the "
                                              "app each time you sign in."))
            return HttpResponseRedirect(next_url)
        record_code_failure(request, request.user.pk)
        if form.is_valid():
            form.add_error("token", gettext("The code is wrong or has expired. Enter the code the app shows now."))
    return render(request, "accounts/two_factor_setup.html", context, status=400 if form.errors else 200)


@never_cache
@login_required
def confirm(request: HttpRequest) -> HttpResponse:
    """``/account/confirm/?next=…``: confirm the password (and a code, where the role needs one) before an export
    or a consent change; then back to ``next`` (a local address only)."""
    user: Any = request.user
    next_url = _next(request)
    with_password = user.has_usable_password()
    with_code = twofactor.required_for(user) and twofactor.confirmed_device(user) is not None
    form = ConfirmForm(request.POST or None, with_password=with_password, with_code=with_code)
    sign_in_again = ""
    if not with_password and not with_code:  # single sign-on only: signing in again is the confirmation
        if client_of(user) is not None and settings.POLKU_CLIENT_OIDC_ENABLED:
            sign_in_again = _with_next("portal:oidc_authenticate", next_url)
        elif settings.OIDC_ENABLED:
            sign_in_again = _with_next("oidc_authentication_init", next_url)
    context = {"form": form, "next": next_url, "sign_in_again": sign_in_again, "minutes": settings.POLKU_REAUTH_MINUTES}
    if request.method == "POST" and form.fields:
        account = user.get_username()
        try:
            check_not_throttled(request, account=account)
            if with_code:
                check_code_attempts(request, user.pk)
        except TooManyFailures as exc:
            return _throttled(request, "accounts/confirm.html", context, exc)
        if form.is_valid():
            password_ok = not with_password or user.check_password(form.cleaned_data["password"])
            code_ok = not with_code or (password_ok and twofactor.check_code(user, form.cleaned_data["token"]))
            if password_ok and code_ok:
                reauth.mark_reauthenticated(request)
                if with_code:
                    clear_code_failures(user.pk)
                return HttpResponseRedirect(next_url)
            if not password_ok:
                record_failure(request, account=account)
                form.add_error("password", gettext("The password is wrong."))
            else:
                record_code_failure(request, user.pk)
                form.add_error("token", gettext("The code is wrong or has expired. Enter the code the app shows now."))
        return render(request, "accounts/confirm.html", context, status=400)
    return render(request, "accounts/confirm.html", context)
