"""The client portal in a real browser: every page is accessible in fi, sv and en, and a client withdraws a
consent with the keyboard alone, after which that organisation's professional no longer finds the client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from polku.core.choices import DataCategory
from tests import factories as f


@pytest.mark.parametrize("path,name", [
    ("/me/", "portal-home"),
    ("/me/plan/", "portal-plan"),
    ("/me/messages/", "portal-messages"),
    ("/me/progress/", "portal-progress"),
    ("/me/consents/", "portal-consents"),
    ("/me/log/", "portal-access-log"),
    ("/me/log/?own=on", "portal-access-log-own"),
    ("/me/export/", "portal-export"),
])
def test_portal_pages_accessible(assert_accessible: Any, region: Any, path: str, name: str) -> None:
    assert_accessible("client", path, name)


def test_portal_withdraw_confirmation_accessible(assert_accessible: Any, region: Any) -> None:
    consent = region.portal_client.consents.filter(revoked_at__isnull=True).order_by("pk").first()
    assert consent is not None
    assert_accessible("client", f"/me/consents/{consent.pk}/withdraw/", "portal-consent-withdraw")


def test_portal_staff_thread_accessible(assert_accessible: Any, region: Any) -> None:
    from polku.clients.selectors import caseload
    from polku.portal.services import message_reply

    coordinator = region.staff["coordinator"]
    client = caseload(actor=coordinator).order_by("pk").last()
    assert client is not None
    message_reply(actor=coordinator, client_id=client.pk, body="Tervetuloa yhteispalveluun.")
    assert_accessible("coordinator", f"/me/staff/clients/{client.pk}/messages/", "portal-staff-thread")


def test_portal_after_a_form_error_accessible(visit: Any, region: Any) -> None:
    """The message form with its error shown (empty message): still no WCAG violation."""
    from tests.browser.conftest import axe_violations, describe

    tab = visit("client", "en")
    tab.open("/me/messages/")
    tab.page.locator("#id_body").focus()
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.tagName") == "BUTTON"
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_selector("#id_body_error")
    assert tab.page.locator("#id_body").get_attribute("aria-invalid") == "true"
    violations = axe_violations(tab.page)
    assert not violations, describe(violations)


def test_client_withdraws_consent_with_keyboard_only(visit: Any, region: Any) -> None:
    """A fresh client (the demo client stays as it is) withdraws the social services' only consent with the
    keyboard; the social worker then gets "not found" on the client's page."""
    coordinator, social_worker = region.staff["coordinator"], region.staff["socialworker"]
    employment, social = coordinator.staff.organisation, social_worker.staff.organisation
    client = f.client(first_name="Kaisu", last_name="Näppäimistö")
    client.user = get_user_model().objects.create_user(username=f"portal-keyboard-{client.pk}", password=None)
    client.save()
    f.episode(client, (employment, coordinator), (social, social_worker))
    f.consent_all(client, employment)
    consent = f.consent(client, social, DataCategory.SOCIAL)

    before = visit("socialworker", "en")
    assert before.open(f"/clients/{client.pk}/").status == 200

    tab = visit(client.user.username, "en")
    tab.open("/me/consents/")
    page = tab.page
    page.locator(f"#withdraw-{consent.pk}").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/me/consents/{consent.pk}/withdraw/")
    page.locator("#id_reason").focus()
    page.keyboard.type("En tarvitse tätä enää.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "confirm-withdraw"
    page.keyboard.press("Enter")
    page.wait_for_url("**/me/consents/")
    assert page.locator(f"#withdraw-{consent.pk}").count() == 0
    assert page.locator(".notification--success").count() == 1

    consent.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoke_reason == "En tarvitse tätä enää."
    after = visit("socialworker", "en")
    assert after.open(f"/clients/{client.pk}/").status == 404
    assert visit("coordinator", "en").open(f"/clients/{client.pk}/").status == 200
