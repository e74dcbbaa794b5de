"""Two-step verification pages (axe, keyboard) and the Content-Security-Policy: no violations on the main pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.accounts.conftest import code

from .conftest import axe_violations, describe, screenshot


@pytest.fixture
def two_factor_on(settings: Any) -> Iterator[Any]:
    """2FA required (the live server runs in this process and reads these settings); devices removed afterwards
    from the shared demo region."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.POLKU_REQUIRE_2FA = True
    yield settings
    TOTPDevice.objects.filter(user__username__in=["coordinator", "socialworker"]).delete()


def test_enrolment_and_verification_pages__accessible_and_keyboard(visit: Any, region: Any, two_factor_on: Any) -> None:
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    for language in ("fi", "sv", "en"):
        tab = visit("coordinator", language)
        tab.open("/clients/")
        assert "/account/two-factor/setup/" in tab.page.url
        assert tab.page.locator("svg.qr-code").count() == 1
        violations = axe_violations(tab.page)
        screenshot(tab.page, f"two-factor-setup-{language}")
        assert not violations, f"setup in {language}:\n{describe(violations)}"
        tab.page.context.close()

    device = TOTPDevice.objects.create(user=get_user_model().objects.get(username="socialworker"), name="Polku",
                                       confirmed=True)
    tab = visit("socialworker", "en")
    tab.open("/clients/")
    assert "/account/two-factor/" in tab.page.url
    violations = axe_violations(tab.page)
    screenshot(tab.page, "two-factor-verify-en")
    assert not violations, describe(violations)
    # Keyboard only: the code field is reachable with Tab, and Enter sends the form.
    field = tab.page.get_by_label("Code from the authenticator app")
    for _ in range(30):
        tab.page.keyboard.press("Tab")
        if field.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("the code field is not reachable with the keyboard")
    tab.page.keyboard.type(code(device))
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_url("**/clients/")
    assert tab.page.locator("h1").count() == 1


def test_confirm_page__accessible(visit: Any, region: Any) -> None:
    tab = visit("manager", "en")
    response = tab.open("/account/confirm/?next=/indicators/")
    assert response.status == 200
    violations = axe_violations(tab.page)
    screenshot(tab.page, "confirm-en")
    assert not violations, describe(violations)


PAGES = [
    (None, "/login/"),
    ("coordinator", "/"),
    ("coordinator", "/clients/"),
    ("coordinator", "/clients/{client}/"),
    ("coordinator", "/referrals/"),
    ("coordinator", "/services/"),
    ("manager", "/"),
    ("manager", "/indicators/"),
    ("manager", "/impact/"),
    ("admin", "/administration/"),
    ("admin", "/admin/"),
    ("client", "/me/"),
    ("client", "/me/progress/"),
    ("coordinator", "/api/v1/docs"),
]


def test_csp__no_violations_or_console_errors_on_the_main_pages(visit: Any, region: Any) -> None:
    problems: list[str] = []
    for username, path in PAGES:
        tab = visit(username, "en")
        page = tab.page

        def on_console(message: Any, path: str = path) -> None:
            url = str(message.location.get("url", ""))
            if message.type == "error" and "favicon.ico" not in url:  # no icon: not a policy matter
                problems.append(f"{path}: console: {message.text} at {url}")

        page.on("console", on_console)
        page.on("pageerror", lambda error, path=path: problems.append(f"{path}: page error: {error}"))
        page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                             "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
        response = tab.open(path.format(client=region.portal_client.pk))
        assert response is not None and response.status < 400, (path, response and response.status)
        assert response.headers.get("content-security-policy"), path
        page.wait_for_load_state("networkidle")
        if path == "/api/v1/docs":  # Swagger UI draws the operations with its own scripts
            try:
                page.wait_for_selector(".swagger-ui .opblock", timeout=15000)
            except Exception:  # reported with what the console said
                problems.append(f"{path}: Swagger UI did not draw the operations")
        page.context.close()
    assert not problems, "\n".join(problems)
