"""The service catalogue and referrals in a browser: every page passes axe-core in fi, sv and en, and the provider
handles a referral from its inbox with the keyboard alone."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from polku.catalogue.models import Service
from polku.clients.selectors import caseload
from polku.core.choices import DataCategory
from polku.referrals.models import Referral, ReferralStatus
from polku.referrals.selectors import referrals_visible_to
from polku.referrals.services import referral_create_and_send
from tests import factories as f


def demo_user(username: str) -> Any:
    return get_user_model().objects.select_related("staff__organisation").get(username=username)


def fresh_referral_to_provider() -> Referral:
    """A referral from the demo coordinator's organisation to a new service of the demo provider's organisation,
    of a new client in the coordinator's joint service who consents to that provider for rehabilitation."""
    coordinator, provider = demo_user("coordinator"), demo_user("provider")
    employment, rehab = coordinator.staff.organisation, provider.staff.organisation
    client = f.client(municipality_code="179")
    f.episode(client, (employment, coordinator))
    f.consent_all(client, employment)
    f.consent(client, rehab, DataCategory.REHABILITATION)
    service = f.service(rehab, DataCategory.REHABILITATION, name_fi="Näppäimistötesti: työkykyarvio",
                        name_sv="Tangentbordstest: arbetsförmågebedömning", name_en="Keyboard test: work ability")
    return referral_create_and_send(actor=coordinator, client_id=client.pk, service_id=service.pk,
                                    reason_for_referral="Työkyvyn arvio")


def a_provider_service() -> Service:
    provider = demo_user("provider").staff.organisation
    service = Service.objects.filter(provider=provider, active=True).order_by("pk").first()
    assert service is not None
    return service


def test_services_page(assert_accessible: Any) -> None:
    assert_accessible("coordinator", "/services/", "services")
    assert_accessible("coordinator", "/services/?language=sv&sort=waiting_time", "services-filtered", ["en"])


def test_service_detail_and_refer_pages(assert_accessible: Any) -> None:
    service = a_provider_service()
    assert_accessible("coordinator", f"/services/{service.pk}/", "service-detail")
    assert_accessible("coordinator", f"/services/{service.pk}/refer/", "service-refer")


def test_referral_lists(assert_accessible: Any) -> None:
    assert_accessible("coordinator", "/referrals/", "referrals-coordinator")
    assert_accessible("provider", "/referrals/", "referrals-provider")


def test_referral_detail__provider(assert_accessible: Any) -> None:
    referral = referrals_visible_to(demo_user("provider"), direction="received").order_by("pk").first()
    if referral is None:
        referral = fresh_referral_to_provider()
    assert_accessible("provider", f"/referrals/{referral.pk}/", "referral-detail-provider")


def test_referral_form__coordinator(assert_accessible: Any) -> None:
    client = caseload(actor=demo_user("coordinator")).first()
    assert client is not None
    service = a_provider_service()
    assert_accessible("coordinator", f"/clients/{client.pk}/referrals/new/?service={service.pk}", "referral-new")


def tab_to(page: Any, element_id: str, limit: int = 80) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"#{element_id} was not reached with Tab")


def test_provider_accepts_a_referral_with_the_keyboard_only(visit: Any) -> None:
    referral = fresh_referral_to_provider()
    tab = visit("provider", "en")
    tab.open("/referrals/")
    page = tab.page
    # from the inbox to the referral, then mark it received and accept it, all with the keyboard
    link = page.locator(f'a[href="/referrals/{referral.pk}/"]')
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/referrals/{referral.pk}/")
    tab_to(page, "button-receive")
    page.keyboard.press("Enter")
    page.locator("#button-accept").wait_for()
    assert "Received" in page.locator("#referral-status").inner_text()
    tab_to(page, "button-accept")
    page.keyboard.press("Enter")
    page.locator("#referral-status", has_text="Accepted").wait_for()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED
    assert page.locator("[role=status]", has_text="The referral was accepted.").count() == 1
