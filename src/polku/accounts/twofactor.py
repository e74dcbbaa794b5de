"""Staff two-factor authentication: a TOTP device (django-otp) besides the password.

Required, when ``POLKU_REQUIRE_2FA`` is on (by default in production), for every staff member of every role and
for every user who may open the Django admin (``is_staff`` or ``is_superuser``): roles that see client data, and
administrators, managers and procurement officers too, because administrative interfaces need a second factor
(OWASP ASVS 4.0.3, 4.3.1). Clients (the portal) sign in with a password (or single sign-on) alone.

A user who must and has no confirmed device enrols (a QR code and the secret as text, confirmed with a code);
one who has a device enters a code. Until then the session is "not verified": the middleware
(:class:`polku.accounts.middleware.SecondFactorMiddleware`) sends every page to the verification step and the
API refuses the session (bearer tokens, issued by administrators, are unaffected). An administrator resets a
lost device (``polku accounts reset-2fa USERNAME`` or the admin action), and the user enrols again.
"""

from __future__ import annotations

import base64
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.html import escape
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Polku"


def required_for(user: Any) -> bool:
    """Whether this user must use a second factor: 2FA is required and they are staff of any role, or may open
    the Django admin. Clients do not."""
    if not getattr(settings, "POLKU_REQUIRE_2FA", False) or not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_staff", False) or getattr(user, "is_superuser", False):
        return True
    from polku.access.policy import staff_of

    return staff_of(user) is not None


def is_verified(request: HttpRequest) -> bool:
    user = request.user
    checker = getattr(user, "is_verified", None)
    return bool(checker and checker())


def needs_second_factor(request: HttpRequest) -> bool:
    """Signed in with a password, but the second factor this user needs is not entered yet in this session."""
    return required_for(request.user) and not is_verified(request)


def confirmed_device(user: Any) -> TOTPDevice | None:
    return next((d for d in devices_for_user(user, confirmed=True) if isinstance(d, TOTPDevice)), None)


@transaction.atomic
def pending_device(user: Any) -> TOTPDevice:
    """The unconfirmed device being enrolled (made once, so that reloading the page keeps the same secret)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an authenticator app."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def qr_svg(device: TOTPDevice, title: str) -> str:
    """The device's ``otpauth://`` address as an inline SVG QR code (no inline styles: the CSP allows none)."""
    svg: str = segno.make(device.config_url, error="m").svg_inline(scale=5, title=title, dark="#000", light="#fff",
                                                                  svgclass="qr-code", lineclass=None)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(title)}" ', 1)


def confirm_enrolment(request: HttpRequest, device: TOTPDevice, token: str) -> bool:
    """Confirm the pending device with a code from the app; on success the session is verified with it."""
    if not device.verify_token(token):
        return False
    with transaction.atomic():
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    otp_login(request, device)
    return True


def verify(request: HttpRequest, token: str) -> bool:
    """Check a code against the user's confirmed device; on success the session is verified."""
    device = confirmed_device(request.user)
    if device is None or not device.verify_token(token):
        return False
    otp_login(request, device)
    return True


def check_code(user: Any, token: str) -> bool:
    """A code for re-authentication (the session is already verified)."""
    device = confirmed_device(user)
    return device is not None and bool(device.verify_token(token))


@transaction.atomic
def reset(username: str) -> int:
    """Remove the user's TOTP devices (lost phone); they enrol again at their next sign-in. Returns how many were
    removed. Raises ``LookupError`` for an unknown username."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise LookupError(username)
    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return int(deleted)
