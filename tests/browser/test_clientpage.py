"""The client search, registering a client and the client page in a real browser: accessible in every language,
and usable with the keyboard alone."""

from __future__ import annotations

from typing import Any

from .conftest import axe_violations, describe, screenshot


def _first_of_caseload(username: str) -> Any:
    from django.contrib.auth import get_user_model

    from polku.clients.selectors import caseload_page

    return caseload_page(actor=get_user_model().objects.get(username=username))[0]


def test_client_search__accessible(assert_accessible: Any) -> None:
    assert_accessible("coordinator", "/clients/", "client-search")
    client = _first_of_caseload("coordinator")
    assert_accessible("coordinator", f"/clients/?q={client.last_name[:3]}", "client-search-results", ["en"])


def test_client_register__accessible_with_and_without_errors(assert_accessible: Any, visit: Any) -> None:
    assert_accessible("coordinator", "/clients/new/", "client-register")
    tab = visit("coordinator", "en")
    tab.open("/clients/new/")
    tab.page.fill("#id_personal_identity_code", "not a code")
    tab.page.locator("form.form button[type=submit]").click()
    tab.page.wait_for_load_state()
    assert tab.page.locator("#id_personal_identity_code_error").is_visible()
    assert tab.page.locator("#id_personal_identity_code").get_attribute("aria-invalid") == "true"
    violations = axe_violations(tab.page)
    screenshot(tab.page, "client-register-errors-en")
    assert not violations, describe(violations)


def test_client_page__coordinator(assert_accessible: Any) -> None:
    client = _first_of_caseload("coordinator")
    assert_accessible("coordinator", f"/clients/{client.pk}/", "client-page-coordinator")


def test_client_page__social_worker(assert_accessible: Any) -> None:
    client = _first_of_caseload("socialworker")
    assert_accessible("socialworker", f"/clients/{client.pk}/", "client-page-socialworker")


def test_client_access_log__accessible(assert_accessible: Any) -> None:
    client = _first_of_caseload("coordinator")
    assert_accessible("coordinator", f"/clients/{client.pk}/access-log/", "client-access-log", ["en"])


def _tab_until(page: Any, test: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(test):
            return
    raise AssertionError(f"never reached {test!r} with Tab")


def test_keyboard__find_a_client_and_open_the_page(visit: Any) -> None:
    client = _first_of_caseload("coordinator")
    tab = visit("coordinator", "en")
    page = tab.page
    tab.open("/")
    _tab_until(page, "document.activeElement.getAttribute('href') === '/clients/'")
    page.keyboard.press("Enter")
    page.wait_for_url("**/clients/")
    _tab_until(page, "document.activeElement.id === 'id_q'")
    page.keyboard.type(client.last_name)
    page.keyboard.press("Enter")
    target = f"/clients/{client.pk}/"
    page.wait_for_selector(f"#client-results a[href='{target}']")
    _tab_until(page, f"document.activeElement.getAttribute('href') === '{target}'")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")
    assert page.locator("h1").inner_text().strip() == client.full_name
