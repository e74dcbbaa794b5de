"""The web pages of the service catalogue and of referrals: search and filters (public catalogue data only), the
referral form, the sender's and the receiver's lists, and each state change from the referral's page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.utils import timezone

from polku.audit.models import AccessAction, AccessLog
from polku.catalogue.models import ServiceClass
from polku.organisations.models import StaffRole
from polku.referrals.models import Referral, ReferralStatus, ReferralTransition
from polku.referrals.services import referral_create_and_send, referral_receive
from tests import factories as f

S = ReferralStatus


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def sent_referral(joint: Any) -> Referral:
    return referral_create_and_send(actor=joint.coordinator, client_id=joint.client.pk,
                                    service_id=joint.service.pk, reason_for_referral="Needs a work trial")


def received_referral(joint: Any) -> Referral:
    referral = sent_referral(joint)
    return referral_receive(actor=joint.provider_worker, referral_id=referral.pk)


# --- the catalogue ----------------------------------------------------------------------------------------------

@pytest.fixture
def catalogue(joint: Any) -> dict[str, Any]:
    provider = joint.provider
    return {
        "swedish": f.service(provider, name_fi="Ruotsinkielinen työkokeilu", name_en="Work trial in Swedish",
                             languages=["sv"], municipality_codes=["179"], target_groups=["young_adrift"]),
        "ramp": f.service(provider, name_fi="Kuntouttava työtoiminta", service_class=ServiceClass.REHABILITATIVE_WORK,
                          languages=["fi"], municipality_codes=["992"], accessibility="Ramppi ja hissi"),
        "national": f.service(provider, name_fi="Etäohjaus koko maassa", languages=["fi", "en"],
                              municipality_codes=[]),
        "old": f.service(provider, name_fi="Lakkautettu palvelu", active=False),
    }


def names_in(page: Any) -> str:
    return page.content.decode()


def test_services__every_signed_in_user_sees_active_services_only(joint: Any, catalogue: dict[str, Any]) -> None:
    assert Browser().get("/services/").status_code == 302
    page = login(joint.coordinator).get("/services/")
    assert page.status_code == 200
    html = names_in(page)
    assert "Work trial in Swedish" in html and "Kuntouttava työtoiminta" in html
    assert "Lakkautettu palvelu" not in html
    assert 'id="service-table"' in html


@pytest.mark.parametrize(("query", "expected", "not_expected"), [
    ({"q": "kuntouttava"}, ["ramp"], ["swedish", "national"]),
    ({"service_class": ServiceClass.REHABILITATIVE_WORK}, ["ramp"], ["swedish", "national"]),
    ({"language": "sv"}, ["swedish"], ["ramp", "national"]),
    ({"municipality": "992"}, ["ramp", "national"], ["swedish"]),
    ({"target_group": "young_adrift"}, ["swedish"], ["ramp", "national"]),
    ({"accessibility": "hissi"}, ["ramp"], ["swedish", "national"]),
    ({"has_accessibility": "on"}, ["ramp"], ["swedish", "national"]),
])
def test_services__filters(joint: Any, catalogue: dict[str, Any], query: dict[str, str], expected: list[str],
                           not_expected: list[str]) -> None:
    html = names_in(login(joint.coordinator).get("/services/", query))
    for key in expected:
        assert f'href="/services/{catalogue[key].pk}/"' in html, key
    for key in not_expected:
        assert f'href="/services/{catalogue[key].pk}/"' not in html, key


def test_services__waiting_time_suppressed_below_threshold_and_no_client_shown(
    joint: Any, catalogue: dict[str, Any], settings: Any
) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 5}
    sent = timezone.now() - dt.timedelta(days=10)
    few, many = catalogue["swedish"], catalogue["ramp"]
    for svc, count in ((few, 2), (many, 5)):
        for _ in range(count):
            r = f.referral(joint.client, svc, joint.employment, joint.coordinator)
            Referral.objects.filter(pk=r.pk).update(sent_at=sent)
    browser = login(joint.coordinator)
    html = names_in(browser.get("/services/", {"sort": "waiting_time"}))
    assert joint.client.last_name not in html
    # the service with enough referrals comes first, with its figure; the other is not shown
    assert html.index(f"/services/{many.pk}/") < html.index(f"/services/{few.pk}/")
    assert "10 days" in html and "Not shown (too few referrals)" in html
    detail = names_in(browser.get(f"/services/{few.pk}/"))
    assert "Not shown (too few referrals)" in detail and joint.client.last_name not in detail
    assert "5 referrals" in names_in(browser.get(f"/services/{many.pk}/"))


def test_services__bad_filter__error_next_to_field(joint: Any, catalogue: dict[str, Any]) -> None:
    page = login(joint.coordinator).get("/services/", {"service_class": "nonsense"})
    assert page.status_code == 400
    html = names_in(page)
    assert 'aria-invalid="true"' in html and 'id="id_service_class_error"' in html
    assert 'aria-describedby="id_service_class_error"' in html


def test_services__htmx_gets_the_results_partial(joint: Any, catalogue: dict[str, Any]) -> None:
    page = login(joint.coordinator).get("/services/", {"q": "työ"}, HTTP_HX_REQUEST="true")
    html = names_in(page)
    assert page.status_code == 200 and "<html" not in html and 'id="service-results"' in html


def test_service_detail__refer_link_for_referring_staff_only(joint: Any, catalogue: dict[str, Any]) -> None:
    svc = catalogue["ramp"]
    html = names_in(login(joint.coordinator).get(f"/services/{svc.pk}/"))
    assert "Ramppi ja hissi" in html and f'href="/services/{svc.pk}/refer/"' in html
    html = names_in(login(joint.coordinator).get(f"/services/{svc.pk}/", {"client": joint.client.pk}))
    assert f'href="/clients/{joint.client.pk}/referrals/new/?service={svc.pk}"' in html
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    page = login(manager).get(f"/services/{svc.pk}/")
    assert page.status_code == 200 and 'id="refer-link"' not in names_in(page)
    assert 'id="refer-link"' not in names_in(login(joint.coordinator).get(f"/services/{catalogue['old'].pk}/"))
    assert login(joint.coordinator).get("/services/999999/").status_code == 404


def test_service_refer__choose_from_caseload_then_the_form(joint: Any, catalogue: dict[str, Any]) -> None:
    svc = catalogue["ramp"]
    browser = login(joint.coordinator)
    before = AccessLog.objects.filter(actor=joint.coordinator, reason="list").count()
    page = browser.get(f"/services/{svc.pk}/refer/")
    assert page.status_code == 200 and joint.client.last_name in names_in(page)
    assert AccessLog.objects.filter(actor=joint.coordinator, reason="list").count() == before + 1
    page = browser.get(f"/services/{svc.pk}/refer/", {"client": joint.client.pk})
    assert page.status_code == 302
    assert page["Location"] == f"/clients/{joint.client.pk}/referrals/new/?service={svc.pk}"
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    assert login(manager).get(f"/services/{svc.pk}/refer/").status_code == 404


# --- the referral form ------------------------------------------------------------------------------------------

def test_referral_new__form_with_the_service_preselected_and_logged(joint: Any) -> None:
    page = login(joint.coordinator).get(f"/clients/{joint.client.pk}/referrals/new/", {"service": joint.service.pk})
    assert page.status_code == 200
    html = names_in(page)
    assert f'<option value="{joint.service.pk}" selected>' in html
    assert joint.client.first_name in html
    assert AccessLog.objects.filter(actor=joint.coordinator, client_id=joint.client.pk, allowed=True,
                                    action=AccessAction.VIEW).count() == 1


@pytest.mark.parametrize("who", ["outsider", "provider_worker"])
def test_referral_new__client_not_visible__404_and_nothing_written(joint: Any, who: str) -> None:
    browser = login(getattr(joint, who))
    assert browser.get(f"/clients/{joint.client.pk}/referrals/new/").status_code == 404
    page = browser.post(f"/clients/{joint.client.pk}/referrals/new/",
                        {"service": joint.service.pk, "reason_for_referral": "x"})
    assert page.status_code == 404
    assert not Referral.objects.exists()
    assert login(joint.coordinator).get("/clients/999999/referrals/new/").status_code == 404


def test_referral_new__creates_sends_logs_and_redirects_to_the_client(joint: Any) -> None:
    browser = login(joint.coordinator)
    page = browser.post(f"/clients/{joint.client.pk}/referrals/new/",
                        {"service": joint.service.pk, "reason_for_referral": "Needs a work trial"})
    assert page.status_code == 302
    assert page["Location"] == f"/clients/{joint.client.pk}/#referrals"
    referral = Referral.objects.get()
    assert referral.status == S.SENT and referral.sent_at is not None
    assert referral.episode_id == joint.episode.pk
    assert referral.sending_organisation_id == joint.employment.pk
    assert referral.reason_for_referral == "Needs a work trial"
    logged = AccessLog.objects.filter(actor=joint.coordinator, client_id=joint.client.pk, allowed=True)
    assert set(logged.values_list("action", flat=True)) == {AccessAction.CREATE, AccessAction.UPDATE}
    followed = browser.get("/referrals/")  # the message waits for the next page (the client page is elsewhere)
    assert f"The referral was sent to {joint.provider}." in names_in(followed)


@pytest.mark.parametrize(("data", "field"), [
    ({"reason_for_referral": "Needs a work trial"}, "service"),
    ({"service": "999999", "reason_for_referral": "Needs a work trial"}, "service"),
    ({"service": "{service}", "reason_for_referral": "  "}, "reason_for_referral"),
])
def test_referral_new__bad_input__field_error_and_nothing_written(joint: Any, data: dict[str, str],
                                                                 field: str) -> None:
    data = {k: v.replace("{service}", str(joint.service.pk)) for k, v in data.items()}
    page = login(joint.coordinator).post(f"/clients/{joint.client.pk}/referrals/new/", data)
    assert page.status_code == 400
    html = names_in(page)
    assert f'id="id_{field}_error"' in html and 'aria-invalid="true"' in html
    assert not Referral.objects.exists() and not ReferralTransition.objects.exists()
    assert not AccessLog.objects.filter(action__in=[AccessAction.CREATE, AccessAction.UPDATE]).exists()


def test_referral_new__no_consent_for_the_provider__error_and_no_draft(joint: Any) -> None:
    other = f.service(joint.provider, "health")  # the client has not consented to health data for the provider
    page = login(joint.coordinator).post(f"/clients/{joint.client.pk}/referrals/new/",
                                         {"service": other.pk, "reason_for_referral": "Check-up"})
    assert page.status_code == 400
    assert 'id="referral-form-errors"' in names_in(page) and "Check-up" in names_in(page)
    assert not Referral.objects.exists()


def test_referral_new__inactive_service_refused(joint: Any) -> None:
    old = f.service(joint.provider, active=False)
    page = login(joint.coordinator).post(f"/clients/{joint.client.pk}/referrals/new/",
                                         {"service": old.pk, "reason_for_referral": "x"})
    assert page.status_code == 400 and not Referral.objects.exists()


# --- the lists --------------------------------------------------------------------------------------------------

def test_referrals__provider_sees_inbox_sender_sees_sent_both_logged(joint: Any) -> None:
    referral = sent_referral(joint)
    link = f'href="/referrals/{referral.pk}/"'
    html = names_in(login(joint.provider_worker).get("/referrals/"))
    inbox, sent = html.split('id="sent"')
    assert link in inbox and joint.client.last_name in inbox and link not in sent
    assert AccessLog.objects.filter(actor=joint.provider_worker, client_id=joint.client.pk, reason="list").count() == 1
    html = names_in(login(joint.coordinator).get("/referrals/"))
    inbox, sent = html.split('id="sent"')
    assert link in sent and link not in inbox
    assert link not in names_in(login(joint.outsider).get("/referrals/"))


def test_referrals__status_filter_and_htmx_partial(joint: Any) -> None:
    referral = sent_referral(joint)
    browser = login(joint.provider_worker)
    assert f"/referrals/{referral.pk}/" in names_in(browser.get("/referrals/", {"status": "sent"}))
    assert f"/referrals/{referral.pk}/" not in names_in(browser.get("/referrals/", {"status": "accepted"}))
    page = browser.get("/referrals/", {"status": "sent"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and "<html" not in names_in(page) and 'id="referral-lists"' in names_in(page)


def test_referrals__client_account_gets_404(joint: Any) -> None:
    account = f.user()
    joint.client.user = account
    joint.client.save()
    assert login(account).get("/referrals/").status_code == 404


# --- one referral and its actions -------------------------------------------------------------------------------

def test_referral_detail__parties_see_it_outsider_gets_404(joint: Any) -> None:
    referral = sent_referral(joint)
    page = login(joint.provider_worker).get(f"/referrals/{referral.pk}/")
    assert page.status_code == 200
    html = names_in(page)
    assert 'id="button-receive"' in html and 'id="button-cancel"' not in html and "Needs a work trial" in html
    html = names_in(login(joint.coordinator).get(f"/referrals/{referral.pk}/"))
    assert 'id="button-cancel"' in html and 'id="button-receive"' not in html
    for user in (joint.outsider, joint.social_worker):
        page = login(user).get(f"/referrals/{referral.pk}/")
        assert page.status_code == 404 and joint.client.last_name not in names_in(page)
    assert AccessLog.objects.filter(actor=joint.outsider, client_id=joint.client.pk, allowed=False).count() == 1
    assert login(joint.coordinator).get("/referrals/999999/").status_code == 404


def test_referral_actions__provider_receives_and_accepts(joint: Any) -> None:
    referral = sent_referral(joint)
    browser = login(joint.provider_worker)
    page = browser.post(f"/referrals/{referral.pk}/receive/", {"receive-version": referral.version})
    assert page.status_code == 302 and page["Location"] == f"/referrals/{referral.pk}/"
    referral.refresh_from_db()
    assert referral.status == S.RECEIVED
    page = browser.post(f"/referrals/{referral.pk}/accept/", {"accept-version": referral.version}, follow=True)
    assert "The referral was accepted." in names_in(page)
    referral.refresh_from_db()
    assert referral.status == S.ACCEPTED
    assert AccessLog.objects.filter(actor=joint.provider_worker, action=AccessAction.UPDATE,
                                    allowed=True).count() == 2


def test_referral_actions__decline_needs_a_reason(joint: Any) -> None:
    referral = received_referral(joint)
    browser = login(joint.provider_worker)
    page = browser.post(f"/referrals/{referral.pk}/decline/", {"decline-version": referral.version,
                                                               "decline-reason": "  "})
    assert page.status_code == 400
    html = names_in(page)
    assert 'id="id_decline-reason_error"' in html and 'aria-invalid="true"' in html
    referral.refresh_from_db()
    assert referral.status == S.RECEIVED and referral.transitions.count() == 3
    page = browser.post(f"/referrals/{referral.pk}/decline/", {"decline-version": referral.version,
                                                               "decline-reason": "No places this spring"})
    assert page.status_code == 302
    referral.refresh_from_db()
    assert referral.status == S.DECLINED and referral.status_reason == "No places this spring"


def test_referral_actions__sender_cannot_accept(joint: Any) -> None:
    referral = received_referral(joint)
    page = login(joint.coordinator).post(f"/referrals/{referral.pk}/accept/", {"accept-version": referral.version},
                                         follow=True)
    assert page.status_code == 200
    assert "Only the receiving organisation can do this." in names_in(page)
    referral.refresh_from_db()
    assert referral.status == S.RECEIVED
    assert AccessLog.objects.filter(actor=joint.coordinator, allowed=False, reason="wrong_side").count() == 1


def test_referral_actions__illegal_transition__message_not_500(joint: Any) -> None:
    referral = received_referral(joint)
    page = login(joint.provider_worker).post(f"/referrals/{referral.pk}/complete/",
                                             {"complete-version": referral.version}, follow=True)
    assert page.status_code == 200
    assert "cannot become" in names_in(page)
    referral.refresh_from_db()
    assert referral.status == S.RECEIVED


def test_referral_actions__stale_version__conflict_message(joint: Any) -> None:
    referral = received_referral(joint)
    page = login(joint.provider_worker).post(f"/referrals/{referral.pk}/accept/",
                                             {"accept-version": referral.version - 1}, follow=True)
    assert "Someone else changed this referral" in names_in(page)
    referral.refresh_from_db()
    assert referral.status == S.RECEIVED


def test_referral_actions__outsider_and_unknown_action_get_404(joint: Any) -> None:
    referral = received_referral(joint)
    page = login(joint.outsider).post(f"/referrals/{referral.pk}/accept/", {"accept-version": referral.version})
    assert page.status_code == 404
    assert login(joint.provider_worker).post(f"/referrals/{referral.pk}/explode/").status_code == 404
    assert login(joint.provider_worker).get(f"/referrals/{referral.pk}/accept/").status_code == 405
    referral.refresh_from_db()
    assert referral.status == S.RECEIVED


def test_referral_actions__sender_cancels_with_reason(joint: Any) -> None:
    referral = sent_referral(joint)
    page = login(joint.coordinator).post(f"/referrals/{referral.pk}/cancel/",
                                         {"cancel-version": referral.version, "cancel-reason": "Found work"})
    assert page.status_code == 302
    referral.refresh_from_db()
    assert referral.status == S.CANCELLED


def test_referral_actions__htmx_swaps_the_detail_partial(joint: Any) -> None:
    referral = sent_referral(joint)
    page = login(joint.provider_worker).post(f"/referrals/{referral.pk}/receive/",
                                             {"receive-version": referral.version}, HTTP_HX_REQUEST="true")
    html = names_in(page)
    assert page.status_code == 200 and "<html" not in html and 'id="referral-detail"' in html
    assert 'id="button-accept"' in html and "The referral was marked as received." in html
    page = login(joint.provider_worker).post(f"/referrals/{referral.pk}/decline/", {"decline-version": 2},
                                             HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and 'id="id_decline-reason_error"' in names_in(page)


def test_referral_same_organisation_on_both_sides(joint: Any) -> None:
    """A provider that refers a client to its own service sees both sides' actions."""
    own = f.service(joint.employment, "employment")
    referral = referral_create_and_send(actor=joint.coordinator, client_id=joint.client.pk, service_id=own.pk)
    html = names_in(login(joint.coordinator).get(f"/referrals/{referral.pk}/"))
    assert 'id="button-receive"' in html and 'id="button-cancel"' in html
