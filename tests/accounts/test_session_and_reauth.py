"""Idle and absolute session expiry; a recent password before exports and consent changes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.test import Client as Browser
from django.utils import timezone

from polku.accounts import reauth
from polku.accounts import services as token_services
from polku.clients.models import Consent
from tests import factories as f

from .conftest import PASSWORD, code, enrolled, sign_in, with_password


def _age(browser: Browser, key: str, seconds: int) -> None:
    session = browser.session
    session[key] = reauth.now() - seconds
    session.save()


def test_idle_session__signed_out_with_a_message_and_back_after_sign_in(db: Any, settings: Any,
                                                                        coordinator: Any) -> None:
    settings.POLKU_IDLE_MINUTES = 30
    browser = sign_in(coordinator)
    assert browser.get("/clients/").status_code == 200
    _age(browser, reauth.SEEN_AT, 29 * 60)
    assert browser.get("/clients/").status_code == 200  # still within the idle time, and the stamp moves on
    assert reauth.now() - browser.session[reauth.SEEN_AT] < 5
    _age(browser, reauth.SEEN_AT, 31 * 60)
    page = browser.get("/clients/")
    assert page.status_code == 302 and page["Location"] == "/login/?next=%2Fclients%2F"
    login = browser.get(page["Location"])
    assert "inactive for 30 minutes" in login.content.decode()
    assert browser.get("/clients/").status_code == 302  # signed out
    assert browser.post("/login/?next=/clients/", {"username": coordinator.username, "password": PASSWORD,
                                                   "next": "/clients/"})["Location"] == "/clients/"


def test_absolute_lifetime__ends_even_an_active_session(db: Any, settings: Any, coordinator: Any) -> None:
    settings.SESSION_COOKIE_AGE = 3600
    browser = sign_in(coordinator)
    _age(browser, reauth.LOGIN_AT, 3601)
    page = browser.get("/clients/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert "Your session has ended" in browser.get(page["Location"]).content.decode()


def test_idle_api_session__unauthenticated(db: Any, coordinator: Any) -> None:
    browser = sign_in(coordinator)
    assert browser.get("/api/v1/me").status_code == 200
    _age(browser, reauth.SEEN_AT, 3 * 3600)
    assert browser.get("/api/v1/me").status_code == 401


def test_export__needs_a_recent_password_then_allowed(db: Any, settings: Any, manager: Any) -> None:
    settings.POLKU_REAUTH_MINUTES = 10
    browser = sign_in(manager)
    download = "/indicators/download/?format=csv"
    assert "/account/confirm/" not in browser.get(download).get("Location", "")  # just signed in: recent enough
    _age(browser, reauth.AUTH_AT, 11 * 60)
    page = browser.get(download)
    assert page.status_code == 302
    assert page["Location"] == "/account/confirm/?next=%2Findicators%2Fdownload%2F%3Fformat%3Dcsv"
    form = browser.get(page["Location"])
    assert form.status_code == 200 and 'autocomplete="current-password"' in form.content.decode()
    wrong = browser.post("/account/confirm/", {"password": "nope", "next": download})
    assert wrong.status_code == 400 and "The password is wrong." in wrong.content.decode()
    assert browser.get(download).status_code == 302
    done = browser.post("/account/confirm/", {"password": PASSWORD, "next": download})
    assert done.status_code == 302 and done["Location"] == download
    assert "/account/confirm/" not in browser.get(download).get("Location", "")


def test_consent_change__needs_a_recent_password_then_allowed(joint: Any, settings: Any) -> None:
    user = with_password(joint.coordinator)
    consent = Consent.objects.filter(client=joint.client, organisation=joint.employment).first()
    assert consent is not None and consent.revoked_at is None
    client_page = f"/clients/{joint.client.pk}/"
    revoke = f"/clients/{joint.client.pk}/consents/{consent.pk}/revoke/"
    browser = sign_in(user)
    _age(browser, reauth.AUTH_AT, 60 * 60)
    page = browser.post(revoke, {f"revoke-{consent.pk}-reason": "The client asked for it."}, HTTP_REFERER=f"http://testserver{client_page}")
    assert page.status_code == 302 and page["Location"] == "/account/confirm/?next=%2Fclients%2F" + \
        f"{joint.client.pk}%2F"
    consent.refresh_from_db()
    assert consent.revoked_at is None
    assert "send the form again" in browser.get(page["Location"]).content.decode()
    back = browser.post("/account/confirm/", {"password": PASSWORD, "next": client_page})
    assert back["Location"] == client_page
    done = browser.post(revoke, {f"revoke-{consent.pk}-reason": "The client asked for it."})
    assert done.status_code == 302 and "/account/confirm/" not in done["Location"]
    consent.refresh_from_db()
    assert consent.revoked_at is not None


def test_consent_record__also_needs_it(joint: Any) -> None:
    browser = Browser()
    browser.force_login(joint.coordinator)
    _age(browser, reauth.AUTH_AT, 60 * 60)
    page = browser.post(f"/clients/{joint.client.pk}/consents/", {})
    assert page.status_code == 302 and page["Location"].startswith("/account/confirm/")


def test_confirm__with_second_factor_needs_the_code_too(require_2fa: Any, coordinator: Any) -> None:
    device = enrolled(coordinator)
    browser = sign_in(coordinator)
    browser.post("/account/two-factor/", {"token": code(device)})
    _age(browser, reauth.AUTH_AT, 60 * 60)
    form = browser.get("/account/confirm/?next=/")
    assert 'name="token"' in form.content.decode() and 'name="password"' in form.content.decode()
    assert browser.post("/account/confirm/", {"password": PASSWORD, "token": "000000"}).status_code == 400
    assert not reauth.now() - browser.session[reauth.AUTH_AT] < 60
    ok = browser.post("/account/confirm/", {"password": PASSWORD, "token": code(device, steps_ahead=1)})
    assert ok.status_code == 302 and reauth.now() - browser.session[reauth.AUTH_AT] < 60


def test_confirm__next_must_be_local(db: Any, manager: Any) -> None:
    for attack in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                   "http://testserver.evil.example/"):
        browser = sign_in(manager)
        response = browser.post("/account/confirm/", {"password": PASSWORD, "next": attack})
        assert response.status_code == 302 and response["Location"] == "/", attack
        assert 'name="next" value="/"' in browser.get("/account/confirm/", {"next": attack}).content.decode()


def test_confirm__password_guessing_is_throttled(db: Any, settings: Any, manager: Any) -> None:
    settings.POLKU_AUTH_FAILURES = 3
    browser = sign_in(manager)
    for _attempt in range(3):
        assert browser.post("/account/confirm/", {"password": "guess"}).status_code == 400
    assert browser.post("/account/confirm/", {"password": PASSWORD}).status_code == 429


def test_api__web_session_needs_recent_auth_bearer_token_exempt(joint: Any) -> None:
    url = f"/api/v1/clients/{joint.client.pk}/consents"
    payload = {"organisation_id": joint.provider.pk, "category": "rehabilitation", "purpose": "joint_service",
               "valid_to": (timezone.now() + dt.timedelta(days=30)).isoformat()}
    browser = Browser(enforce_csrf_checks=False)
    browser.force_login(joint.coordinator)
    _age(browser, reauth.AUTH_AT, 60 * 60)
    refused = browser.post(url, payload, content_type="application/json")
    assert refused.status_code == 403 and "/account/confirm/" in refused.json()["detail"]
    _token, secret = token_services.token_create(username=joint.coordinator.username)
    allowed = Browser().post(url, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert allowed.status_code != 403, allowed.content


def test_portal_export__client_confirms_too(joint: Any) -> None:
    portal_user = with_password(f.user())
    joint.client.user = portal_user
    joint.client.save()
    browser = sign_in(portal_user)
    assert browser.post("/me/export/").status_code == 200
    _age(browser, reauth.AUTH_AT, 60 * 60)
    page = browser.get("/me/export/")
    assert page["Location"] == "/account/confirm/?next=%2Fme%2Fexport%2F"
    browser.post("/account/confirm/", {"password": PASSWORD, "next": "/me/export/"})
    assert browser.post("/me/export/")["Content-Disposition"].startswith("attachment")
