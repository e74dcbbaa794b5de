"""Open redirects (issue 11, item 2): every ``next`` (and the language switch's Referer) that points elsewhere —
another host by ``//``, a scheme, a backslash that browsers read as a slash, ``javascript:``, control characters —
ends on a local page of Polku: sign-in, sign-out, the language switch, the password confirmation before exports,
the second-factor step, the alert actions, and the sign-in page's own hidden ``next`` field."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as Browser
from django.utils import timezone

from polku.coordination.models import Alert

HOSTILE = [
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "http://evil.example/login/",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "//evil.example@testserver",
    "http://testserver@evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " //evil.example",
    "\x00//evil.example",
]
PASSWORD = "a-good-long-password-1"


def assert_local(location: str) -> None:
    """A redirect target that a browser resolves to this site: a path, no scheme, no host, nothing that a browser
    strips or turns into a slash before resolving it."""
    parts = urlsplit(location)
    assert parts.scheme == "" and parts.netloc == "", location
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert not any(ch in location for ch in "\t\r\n\x00\\"), location


def assert_next_fields_local(page: str) -> None:
    """Every ``next`` a page carries in a form (sign-in, language switch, confirmation) is a local address (it may
    carry the hostile text in its query string, as the page's own address does)."""
    values = re.findall(r'<input[^>]*name="next"[^>]*>', page)
    for tag in values:
        value = re.search(r'value="([^"]*)"', tag)
        if value and value.group(1):
            assert_local(html.unescape(value.group(1)))


@pytest.fixture
def coordinator(joint: Any) -> Any:
    joint.coordinator.set_password(PASSWORD)
    joint.coordinator.save()
    return joint.coordinator


@pytest.mark.parametrize("target", HOSTILE)
def test_login__next__lands_locally(coordinator: Any, target: str) -> None:
    browser = Browser()
    response = browser.post("/login/?next=" + _q(target), {"username": coordinator.get_username(),
                                                           "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert_local(response["Location"])


@pytest.mark.parametrize("target", HOSTILE)
def test_login_page__hidden_next__never_carries_the_hostile_target(db: Any, target: str) -> None:
    page = Browser().get("/login/", {"next": target}).content.decode()
    assert_next_fields_local(page)


@pytest.mark.parametrize("target", HOSTILE)
def test_logout__next__lands_locally(coordinator: Any, target: str) -> None:
    browser = Browser()
    browser.force_login(coordinator)
    response = browser.post("/logout/?next=" + _q(target), {"next": target})
    assert response.status_code == 302
    assert_local(response["Location"])


@pytest.mark.parametrize("target", HOSTILE)
@pytest.mark.parametrize("how", ["next", "referer"])
def test_language_switch__next_and_referer__land_locally(coordinator: Any, target: str, how: str) -> None:
    browser = Browser()
    browser.force_login(coordinator)
    if how == "next":
        response = browser.post("/i18n/setlang/", {"language": "sv", "next": target})
    else:
        response = browser.post("/i18n/setlang/", {"language": "sv"}, HTTP_REFERER=target)
    assert response.status_code == 302
    assert_local(response["Location"])


@pytest.mark.parametrize("target", HOSTILE)
def test_password_confirmation__next__lands_locally(coordinator: Any, target: str) -> None:
    browser = Browser()
    browser.force_login(coordinator)
    page = browser.get("/account/confirm/", {"next": target})
    assert page.status_code == 200
    assert_next_fields_local(page.content.decode())
    response = browser.post("/account/confirm/?next=" + _q(target), {"password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert_local(response["Location"])


@pytest.mark.parametrize("target", HOSTILE)
def test_alert_action__next__lands_locally(joint: Any, target: str) -> None:
    alert = Alert.objects.create(
        rule="consent_expiring", client=joint.client, episode=joint.episode, object_type="consent", object_id=1,
        since=timezone.localdate(), due_on=timezone.localdate(), severity=2, responsible_organisation=joint.employment,
        category="basic", opened_as_of=timezone.localdate(),
    )
    browser = Browser()
    browser.force_login(joint.coordinator)
    response = browser.post(f"/alerts/{alert.pk}/comment/", {"note": "soitettu", "next": target})
    assert response.status_code == 302, response.content[:300]
    assert_local(response["Location"])


def test_redirect_checks_can_fail() -> None:
    """The helper itself refuses each hostile target taken as a redirect."""
    for target in HOSTILE:
        if target.startswith("/%09"):  # a path on this site with an encoded tab in it: local, rightly
            continue
        with pytest.raises(AssertionError):
            assert_local(target)


def test_login_required__next__is_the_local_path(db: Any) -> None:
    get_user_model()
    response = Browser().get("/clients/?q=x")
    assert response.status_code == 302
    assert_local(response["Location"])


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
