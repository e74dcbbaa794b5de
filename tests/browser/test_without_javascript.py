"""The core reading pages and the language switch work with JavaScript turned off (htmx only enhances)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from polku.clients.selectors import caseload_page


def test_reading_pages_and_language_switch_without_javascript(visit: Any, region: Any) -> None:
    coordinator = get_user_model().objects.get(username="coordinator")
    client = caseload_page(actor=coordinator)[0]
    tab = visit("coordinator", "fi", javascript=False)
    page = tab.page
    for path in ("/", "/clients/", f"/clients/{client.pk}/", "/referrals/", "/services/"):
        assert tab.open(path).status == 200, path
        assert page.locator("h1").count() == 1, path
        if path == f"/clients/{client.pk}/":
            assert client.last_name in page.locator("h1").inner_text()
            assert page.locator("#plan").count() == 1 and page.locator("#referrals").count() == 1
    # The client search is a plain GET form without JavaScript.
    tab.open("/clients/")
    page.locator("#id_q").fill(client.last_name)
    with page.expect_navigation():
        page.locator("#id_q").press("Enter")
    assert f"/clients/{client.pk}/" in page.content()
    # The language switch is an ordinary form: choose Swedish and press the button.
    tab.open(f"/clients/{client.pk}/")
    page.locator("#language-select").select_option("sv")
    with page.expect_navigation():
        page.locator("form.language button").click()
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.url.endswith(f"/clients/{client.pk}/")

    portal = visit("client", "en", javascript=False)
    assert portal.open("/me/").status == 200
    assert portal.page.locator(".next-step, h2").count() >= 1
    assert portal.open("/me/plan/").status == 200
    assert portal.open("/me/log/").status == 200
