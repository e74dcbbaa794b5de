from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client as Browser
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from polku.organisations.models import StaffRole
from tests import factories as f

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Failure counts live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def require_2fa(settings: Any) -> Any:
    settings.POLKU_REQUIRE_2FA = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # the device's own back-off would refuse a right code just after a wrong one
    return settings


def with_password(user: Any) -> Any:
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def coordinator(db: Any) -> Any:
    return with_password(f.staff(role=StaffRole.COORDINATOR))


@pytest.fixture
def manager(db: Any) -> Any:
    return with_password(f.staff(role=StaffRole.MANAGER))


def code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` 30-second steps later: a code is accepted once
    only, so a second sign-in in the same step uses the next one, which the device's tolerance accepts)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong(right: str) -> str:
    return f"{(int(right) + 1) % 1_000_000:06d}"


def sign_in(user: Any, browser: Browser | None = None) -> Browser:
    browser = browser or Browser(HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return browser


def enrolled(user: Any) -> TOTPDevice:
    device: TOTPDevice = TOTPDevice.objects.create(user=user, name="Polku", confirmed=True)
    return device
