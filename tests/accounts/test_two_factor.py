"""Two-step verification (TOTP) for staff of every role and Django admin users; not for clients."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.test import Client as Browser
from django_otp.plugins.otp_totp.models import TOTPDevice

from polku.accounts import services as token_services
from polku.accounts import twofactor
from polku.cli import HELP as POLKU_HELP
from polku.organisations.models import StaffRole
from tests import factories as f

from .conftest import PASSWORD, code, enrolled, sign_in, with_password, wrong


def test_enrolment__qr_code_secret_and_confirmation_with_a_real_code(require_2fa: Any, coordinator: Any) -> None:
    browser = sign_in(coordinator)
    page = browser.get("/clients/")
    assert page.status_code == 302 and page["Location"].startswith("/account/two-factor/?next=")
    page = browser.get(page["Location"])
    assert page.status_code == 302 and page["Location"].startswith("/account/two-factor/setup/")
    setup = browser.get(page["Location"])
    html = setup.content.decode()
    assert setup.status_code == 200
    assert '<svg role="img" aria-label="QR code for the authenticator app"' in html
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    assert '<label for="id_token">' in html
    device = TOTPDevice.objects.get(user=coordinator, confirmed=False)
    import base64

    shown_secret = html.split('id="secret-key">', 1)[1].split("<", 1)[0].replace(" ", "")
    assert base64.b32decode(shown_secret + "=" * (-len(shown_secret) % 8)) == device.bin_key
    # A reload keeps the same secret (the app may already hold it).
    browser.get("/account/two-factor/setup/")
    assert TOTPDevice.objects.filter(user=coordinator).count() == 1

    refused = browser.post("/account/two-factor/setup/", {"token": wrong(code(device)), "next": "/clients/"})
    assert refused.status_code == 400 and "The code is wrong or has expired." in refused.content.decode()
    assert browser.get("/clients/").status_code == 302
    accepted = browser.post("/account/two-factor/setup/", {"token": code(device), "next": "/clients/"})
    assert accepted.status_code == 302 and accepted["Location"] == "/clients/"
    device.refresh_from_db()
    assert device.confirmed
    assert browser.get("/clients/").status_code == 200


def test_sign_in__code_needed_every_time_and_wrong_codes_refused(require_2fa: Any, coordinator: Any) -> None:
    device = enrolled(coordinator)
    browser = sign_in(coordinator)
    page = browser.get("/")
    assert page.status_code == 302 and page["Location"] == "/account/two-factor/"
    form = browser.get("/account/two-factor/")
    assert form.status_code == 200 and 'autocomplete="one-time-code"' in form.content.decode()
    assert browser.post("/account/two-factor/", {"token": wrong(code(device))}).status_code == 400
    assert browser.post("/account/two-factor/", {"token": "12ab56"}).status_code == 400
    assert browser.get("/").status_code == 302
    assert browser.post("/account/two-factor/", {"token": code(device), "next": "/clients/"})["Location"] == "/clients/"
    assert browser.get("/").status_code == 200

    # A new sign-in needs a new code; the one already used is refused (no replay).
    used = code(device)
    browser = sign_in(coordinator)
    assert browser.get("/").status_code == 302
    assert browser.post("/account/two-factor/", {"token": used}).status_code == 400
    assert browser.post("/account/two-factor/", {"token": code(device, steps_ahead=1)}).status_code == 302
    assert browser.get("/").status_code == 200


def test_client_data_page__unreachable_before_second_factor_reachable_when_not_required(
        joint: Any, settings: Any) -> None:
    settings.POLKU_REQUIRE_2FA = True
    user = with_password(joint.coordinator)
    client_page = f"/clients/{joint.client.pk}/"
    browser = sign_in(user)
    page = browser.get(client_page)
    assert page.status_code == 302 and "/account/two-factor/" in page["Location"]
    assert joint.client.last_name not in page.content.decode()
    assert browser.get("/admin/").status_code == 302  # every page, the admin's too

    settings.POLKU_REQUIRE_2FA = False
    page = sign_in(user).get(client_page)
    assert page.status_code == 200 and joint.client.last_name in page.content.decode()


def test_administrative_roles_need_a_second_factor_clients_do_not(require_2fa: Any, manager: Any, joint: Any) -> None:
    # ASVS 4.3.1: managers, administrators, procurement officers and Django admin users too, not only the roles
    # that see client data.
    page = sign_in(manager).get("/")
    assert page.status_code == 302 and "/account/two-factor/" in page["Location"]
    for role in (StaffRole.ADMINISTRATOR, StaffRole.PROCUREMENT_OFFICER):
        staff_user = with_password(f.staff(role=role))
        assert twofactor.required_for(staff_user)
        assert sign_in(staff_user).get("/").status_code == 302
    superuser = with_password(f.user(is_staff=True, is_superuser=True))
    assert twofactor.required_for(superuser)
    assert sign_in(superuser).get("/admin/").status_code == 302
    portal_user = with_password(f.user())
    joint.client.user = portal_user
    joint.client.save()
    page = sign_in(portal_user).get("/me/")
    assert page.status_code == 200


def test_api__session_refused_until_verified_bearer_token_unaffected(require_2fa: Any, coordinator: Any) -> None:
    device = enrolled(coordinator)
    browser = sign_in(coordinator)
    assert browser.get("/api/v1/me").status_code == 401
    _token, secret = token_services.token_create(username=coordinator.username)
    assert Browser().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    browser.post("/account/two-factor/", {"token": code(device)})
    assert browser.get("/api/v1/me").status_code == 200


def test_codes_are_throttled_per_account(require_2fa: Any, coordinator: Any) -> None:
    require_2fa.POLKU_2FA_FAILURES = 3
    device = enrolled(coordinator)
    browser = sign_in(coordinator)
    for _attempt in range(3):
        assert browser.post("/account/two-factor/", {"token": wrong(code(device))}).status_code == 400
    # From another address too, and with the right code: refused until the window passes.
    other = sign_in(coordinator, Browser(REMOTE_ADDR="10.9.8.7", HTTP_ACCEPT_LANGUAGE="en"))
    refused = other.post("/account/two-factor/", {"token": code(device)})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert "Too many wrong codes" in refused.content.decode()
    assert other.get("/").status_code == 302


def test_reset__command_and_cli_remove_the_device(require_2fa: Any, coordinator: Any, capsys: Any) -> None:
    enrolled(coordinator)
    call_command("accounts", "reset-2fa", coordinator.username)
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    enrolled(coordinator)
    call_command("accounts", "reset-2fa", coordinator.username)
    assert "Removed 1 two-factor device" in capsys.readouterr().out
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert "accounts reset-2fa USERNAME" in POLKU_HELP  # `polku accounts …` passes through to this command
    # After a reset the next sign-in goes to enrolment.
    browser = sign_in(coordinator)
    assert browser.get("/account/two-factor/")["Location"].startswith("/account/two-factor/setup/")


def test_reset__admin_action(db: Any, coordinator: Any) -> None:
    enrolled(coordinator)
    admin_user = f.user(is_staff=True, is_superuser=True)
    browser = Browser(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(admin_user)
    response = browser.post("/admin/auth/user/", {"action": "reset_two_factor", "_selected_action": [coordinator.pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=coordinator).exists()


def test_admin_login__goes_to_the_throttled_sign_in(db: Any) -> None:
    response = Browser().get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/admin/"


def test_password_still_needed(require_2fa: Any, coordinator: Any) -> None:
    response = Browser().post("/login/", {"username": coordinator.username, "password": PASSWORD + "x"})
    assert response.status_code == 200
    assert Browser().get("/account/two-factor/").status_code == 302  # to the sign-in page
