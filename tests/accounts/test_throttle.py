"""Sign-in throttling per account as well as per address (the web form serves staff and clients alike)."""

from __future__ import annotations

from typing import Any

from django.test import Client as Browser

from tests import factories as f

from .conftest import PASSWORD, with_password


def test_login__one_account_guessed_from_many_addresses_is_throttled(db: Any, settings: Any,
                                                                      coordinator: Any) -> None:
    settings.POLKU_AUTH_FAILURES = 3
    for n in range(3):
        guess = Browser(REMOTE_ADDR=f"10.0.0.{n + 1}").post("/login/", {"username": coordinator.username,
                                                                         "password": f"guess {n}"})
        assert guess.status_code == 200
    refused = Browser(REMOTE_ADDR="10.0.0.99").post("/login/", {"username": coordinator.username,
                                                                "password": PASSWORD})
    assert refused.status_code == 429 and refused["Retry-After"] == str(settings.POLKU_AUTH_WINDOW)
    # Another account from a fresh address is not affected.
    other = with_password(f.staff())
    assert Browser(REMOTE_ADDR="10.0.0.98").post("/login/", {"username": other.username,
                                                             "password": PASSWORD}).status_code == 302


def test_login__success_forgets_the_account_failures(db: Any, settings: Any, coordinator: Any) -> None:
    settings.POLKU_AUTH_FAILURES = 3
    for n in range(2):
        Browser(REMOTE_ADDR=f"10.0.1.{n}").post("/login/", {"username": coordinator.username, "password": "x"})
    assert Browser(REMOTE_ADDR="10.0.1.50").post("/login/", {"username": coordinator.username,
                                                             "password": PASSWORD}).status_code == 302
    Browser(REMOTE_ADDR="10.0.1.51").post("/login/", {"username": coordinator.username, "password": "x"})
    assert Browser(REMOTE_ADDR="10.0.1.52").post("/login/", {"username": coordinator.username,
                                                             "password": PASSWORD}).status_code == 302


def test_portal_client__same_form_same_throttle(joint: Any, settings: Any) -> None:
    settings.POLKU_AUTH_FAILURES = 2
    portal_user = with_password(f.user())
    joint.client.user = portal_user
    joint.client.save()
    browser = Browser()
    for _attempt in range(2):
        browser.post("/login/", {"username": portal_user.username, "password": "nope"})
    assert browser.post("/login/", {"username": portal_user.username, "password": PASSWORD}).status_code == 429
