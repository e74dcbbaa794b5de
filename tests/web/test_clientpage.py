"""The client search, registering a client and the client page (the client's whole path on one screen)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from polku.assessments.models import Instrument
from polku.assessments.services import assessment_record
from polku.audit.models import AccessLog
from polku.clients.models import Client, ClientContact, Consent, EmploymentStatusPeriod
from polku.core.choices import DataCategory
from polku.core.identity import make_hetu
from polku.episodes.models import JointServiceEpisode
from polku.organisations.models import StaffRole
from polku.plans.services import GoalInput, StepInput, plan_add_version
from polku.referrals.models import ReferralStatus
from tests import factories as f


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def page_of(joint: Any, who: str = "coordinator") -> tuple[Any, str]:
    response = login(getattr(joint, who)).get(f"/clients/{joint.client.pk}/")
    return response, response.content.decode()


# --- the client page: who sees it --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "social_worker"])
def test_client_page__participants_see_it_and_each_read_is_logged(joint: Any, who: str) -> None:
    user = getattr(joint, who)
    response, text = page_of(joint, who)
    assert response.status_code == 200
    assert joint.client.first_name in text
    rows = AccessLog.objects.filter(actor=user, client_id=joint.client.pk)
    assert not rows.filter(allowed=False).exists()
    assert rows.filter(category=DataCategory.BASIC, purpose="View client details").exists()
    assert rows.filter(category=DataCategory.EMPLOYMENT).exists()  # employment history and plan
    # Each read is one row; the page makes a handful of reads, never one per record shown.
    assert rows.count() <= 6


def test_client_page__every_anchor_that_other_pages_link_to_exists(joint: Any) -> None:
    _response, text = page_of(joint)
    for anchor in ["summary", "episodes", "plan", "referrals", "contacts", "consents", "assessments", "employment",
                   "access-log"]:
        assert f'<h2 id="{anchor}">' in text, anchor
        assert f'href="#{anchor}"' in text, anchor  # the in-page navigation
    assert text.count("<h1") == 1


@pytest.mark.parametrize("who", ["outsider", "provider_worker"])
def test_client_page__others_get_not_found_and_the_attempt_is_logged(joint: Any, who: str) -> None:
    user = getattr(joint, who)
    response = login(user).get(f"/clients/{joint.client.pk}/")
    assert response.status_code == 404
    assert joint.client.last_name not in response.content.decode()
    assert AccessLog.objects.filter(actor=user, client_id=joint.client.pk, allowed=False).count() == 1
    assert not AccessLog.objects.filter(actor=user, client_id=joint.client.pk, allowed=True).exists()


def test_client_page__nonexistent_client__same_404(joint: Any) -> None:
    assert login(joint.coordinator).get("/clients/999999/").status_code == 404


def test_client_page__provider_with_an_open_referral_sees_basics_but_not_employment(joint: Any) -> None:
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator, status=ReferralStatus.SENT)
    EmploymentStatusPeriod.objects.create(client=joint.client, status="unemployed",
                                          start_date=dt.date(2024, 1, 1), source="register")
    response, text = page_of(joint, "provider_worker")
    assert response.status_code == 200
    assert joint.client.last_name in text
    assert "register" not in text  # the employment period's source: employment data
    assert text.count("You may not see this part.") >= 3  # current status, plan, employment history
    assert not AccessLog.objects.filter(actor=joint.provider_worker, category=DataCategory.EMPLOYMENT).exists()


# --- sections by data category -----------------------------------------------------------------------------------


def _life_situation(joint: Any, values: list[int]) -> None:
    items = list(Instrument.objects.get(code="life-situation").items.values_list("code", flat=True))
    for n, value in enumerate(values):
        assessment_record(actor=joint.social_worker, client_id=joint.client.pk, instrument_code="life-situation",
                          answers=dict.fromkeys(items, value),
                          assessed_on=timezone.localdate() - dt.timedelta(days=30 * (len(values) - n)))


def test_assessments__social_worker_sees_the_social_instrument_chart_the_coordinator_does_not(joint: Any) -> None:
    _life_situation(joint, [3, 2, 1])
    _response, social = page_of(joint, "social_worker")
    assert "assessment-chart-" in social and "<svg" in social
    assert 'id="hidden-categories"' in social  # health stays hidden from the social worker
    rows = AccessLog.objects.filter(actor=joint.social_worker, client_id=joint.client.pk)
    assert rows.filter(category=DataCategory.SOCIAL, action="view", allowed=True).count() == 1

    _response, coordinator = page_of(joint, "coordinator")
    assert "assessment-chart-" not in coordinator
    assert "Social welfare" in coordinator  # named as hidden, nothing of it shown
    assert not AccessLog.objects.filter(actor=joint.coordinator, category__in=["social", "health"]).exists()


def test_employment__history_and_current_status(joint: Any) -> None:
    EmploymentStatusPeriod.objects.create(client=joint.client, status="employed_open_market",
                                          start_date=dt.date(2020, 1, 1), end_date=dt.date(2022, 12, 31),
                                          source="old job")
    EmploymentStatusPeriod.objects.create(client=joint.client, status="unemployed", start_date=dt.date(2023, 1, 1))
    _response, text = page_of(joint)
    assert "old job" in text
    assert "Unemployed" in text and "Employed on the open market" in text


def test_plan__steps_grouped_by_responsible_organisation(joint: Any) -> None:
    today = timezone.localdate()
    plan_add_version(
        actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0, employment_goal="Work in logistics",
        goals=[GoalInput(area="employment", title="Forklift licence", steps=[
            StepInput(description="Book the course", owner_organisation_id=joint.employment.pk,
                      due_date=today - dt.timedelta(days=3)),
            StepInput(description="Debt counselling", owner_organisation_id=joint.social.pk),
            StepInput(description="Update the CV", owned_by_client=True),
        ])],
    )
    _response, text = page_of(joint)
    assert "Work in logistics" in text and "Forklift licence" in text
    plan_part = text[text.index('id="plan"'):text.index('id="referrals"')]
    assert plan_part.count("<table") == 3  # two organisations and the client's own steps
    assert "Overdue" in plan_part


def test_plan__social_worker_sees_it_too_and_queries_do_not_grow_with_steps(joint: Any) -> None:
    def add(version: int, steps: int) -> None:
        plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=version,
                         employment_goal="Goal", goals=[GoalInput(area="employment", title="G", steps=[
                             StepInput(description=f"S{n}", owner_organisation_id=joint.employment.pk)
                             for n in range(steps)])])

    add(0, 1)
    browser = login(joint.social_worker)
    with CaptureQueriesContext(connection) as few:
        assert browser.get(f"/clients/{joint.client.pk}/").status_code == 200
    add(1, 12)
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator)
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator)
    with CaptureQueriesContext(connection) as many:
        assert browser.get(f"/clients/{joint.client.pk}/").status_code == 200
    assert len(many.captured_queries) <= len(few.captured_queries) + 1


def test_referrals__listed_with_waiting_time(joint: Any) -> None:
    referral = f.referral(joint.client, joint.service, joint.employment, joint.coordinator)
    referral.sent_at = timezone.now() - dt.timedelta(days=9)
    referral.save()
    _response, text = page_of(joint)
    part = text[text.index('id="referrals"'):text.index('id="employment"')]
    assert str(joint.service) in part and "Kuntoutus Oy" in part
    assert '<td class="number">9</td>' in part


def test_contacts__latest_first(joint: Any) -> None:
    now = timezone.now()
    ClientContact.objects.create(client=joint.client, organisation=joint.employment, channel="phone",
                                 at=now - dt.timedelta(days=10), summary="First call")
    ClientContact.objects.create(client=joint.client, organisation=joint.social, channel="meeting",
                                 at=now - dt.timedelta(days=1), summary="Second meeting")
    _response, text = page_of(joint)
    assert text.index("Second meeting") < text.index("First call")


def test_episodes__timeline_with_participants(joint: Any) -> None:
    _response, text = page_of(joint)
    part = text[text.index('id="episodes"'):text.index('id="consents"')]
    assert 'class="timeline"' in part
    assert "Työllisyyspalvelut" in part and "Sosiaalipalvelut" in part


def test_access_log__staff_see_their_own_actions_and_a_paged_list(joint: Any) -> None:
    browser = login(joint.coordinator)
    from polku.access.policy import log_access

    for _ in range(55):  # earlier reads (one page view logs each category it reads once)
        log_access(user=joint.coordinator, client_id=joint.client.pk, category="basic", action="view",
                   purpose="View client details", allowed=True, reason="relationship_consent_role")
    text = browser.get(f"/clients/{joint.client.pk}/").content.decode()
    assert f'/clients/{joint.client.pk}/access-log/' in text  # more than 50 of one's own entries
    page = browser.get(f"/clients/{joint.client.pk}/access-log/?page=2")
    assert page.status_code == 200 and "View client details" in page.content.decode()
    assert login(joint.outsider).get(f"/clients/{joint.client.pk}/access-log/").status_code == 404


def test_one_page_view_logs_each_category_and_purpose_once(joint: Any) -> None:
    browser = login(joint.coordinator)
    before = AccessLog.objects.count()
    browser.get(f"/clients/{joint.client.pk}/")
    rows = list(AccessLog.objects.order_by("pk")[before:].values_list("client_id", "category", "action", "allowed",
                                                                      "purpose"))
    assert rows and len(rows) == len(set(rows)), rows  # several reads of one category for one purpose: one row
    assert {r[1] for r in rows} == {"basic", "employment"}
    again = AccessLog.objects.count()
    browser.get(f"/clients/{joint.client.pk}/")  # a new request is a new read: logged again
    assert AccessLog.objects.count() - again == len(rows)


def test_links_to_pages_of_other_parts_only_when_they_exist(joint: Any) -> None:
    from django.urls import NoReverseMatch, reverse

    _response, text = page_of(joint)
    try:
        url = reverse("web:referral_new", args=[joint.client.pk])
    except NoReverseMatch:
        assert "Refer to a service</a>" not in text
    else:
        assert url in text


# --- consents -----------------------------------------------------------------------------------------------------


def test_consent_record__coordinator_records_one_and_it_is_logged(joint: Any) -> None:
    other = f.organisation(name="Kela")
    browser = login(joint.coordinator)
    response = browser.post(f"/clients/{joint.client.pk}/consents/", {
        "consent-organisation": other.pk, "consent-category": "benefits", "consent-purpose": "Benefits check",
        "consent-valid_to": "", "consent-method": "signed_form"})
    assert response.status_code == 302 and response["Location"].endswith("#consents")
    consent = Consent.objects.get(client=joint.client, organisation=other)
    assert consent.category == "benefits" and consent.method == "signed_form" and consent.valid_to is None
    assert AccessLog.objects.filter(actor=joint.coordinator, action="manage_consent", allowed=True).count() == 1
    assert "The consent is recorded." in browser.get(response["Location"]).content.decode()


def test_consent_record__bad_input_writes_nothing_and_shows_the_error(joint: Any) -> None:
    before = Consent.objects.count()
    response = login(joint.coordinator).post(f"/clients/{joint.client.pk}/consents/", {
        "consent-organisation": joint.social.pk, "consent-category": "basic", "consent-purpose": "Kept text",
        "consent-valid_to": "2001-01-01", "consent-method": "in_person"})
    assert response.status_code == 200
    text = response.content.decode()
    assert Consent.objects.count() == before
    assert 'id="id_consent-category_error"' in text and 'id="id_consent-valid_to_error"' in text
    assert 'aria-invalid="true"' in text and 'aria-describedby="id_consent-category_error"' in text
    assert 'value="Kept text"' in text


def test_consent_record__provider_worker_may_not(joint: Any) -> None:
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator)
    browser = login(joint.provider_worker)
    assert 'id="record-consent"' not in browser.get(f"/clients/{joint.client.pk}/").content.decode()
    before = Consent.objects.count()
    response = browser.post(f"/clients/{joint.client.pk}/consents/", {
        "consent-organisation": joint.provider.pk, "consent-category": "health", "consent-purpose": "x",
        "consent-method": "in_person"})
    assert response.status_code == 404
    assert Consent.objects.count() == before
    assert AccessLog.objects.filter(actor=joint.provider_worker, action="manage_consent", allowed=False).count() == 1


def test_consent_revoke__with_a_reason_cuts_access_at_once(joint: Any) -> None:
    consent = Consent.objects.get(client=joint.client, organisation=joint.social, category="social")
    browser = login(joint.coordinator)
    response = browser.post(f"/clients/{joint.client.pk}/consents/{consent.pk}/revoke/",
                            {f"revoke-{consent.pk}-reason": "The client asked"})
    assert response.status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoke_reason == "The client asked"
    assert consent.revoked_by == joint.coordinator
    _response, text = page_of(joint, "social_worker")
    assert 'id="hidden-categories"' in text and "Social welfare" in text


def test_consent_revoke__without_a_reason_writes_nothing(joint: Any) -> None:
    consent = Consent.objects.get(client=joint.client, organisation=joint.social, category="social")
    response = login(joint.coordinator).post(f"/clients/{joint.client.pk}/consents/{consent.pk}/revoke/",
                                             {f"revoke-{consent.pk}-reason": "  "})
    assert response.status_code == 200
    consent.refresh_from_db()
    assert consent.revoked_at is None
    assert f'id="id_revoke-{consent.pk}-reason_error"' in response.content.decode()


def test_consent_revoke__already_revoked_is_a_message_not_an_error(joint: Any) -> None:
    consent = f.consent(joint.client, joint.employment, "health", revoked=True)
    browser = login(joint.coordinator)
    response = browser.post(f"/clients/{joint.client.pk}/consents/{consent.pk}/revoke/",
                            {f"revoke-{consent.pk}-reason": "again"}, follow=True)
    assert response.status_code == 200
    assert "already been revoked" in response.content.decode()


# --- search -------------------------------------------------------------------------------------------------------


def test_search__finds_only_visible_clients_and_logs_the_names_shown(joint: Any) -> None:
    hidden = f.client(last_name=joint.client.last_name + "x")  # no relationship with anyone
    browser = login(joint.coordinator)
    before = AccessLog.objects.count()
    text = browser.get("/clients/", {"q": joint.client.last_name[:6]}).content.decode()
    assert f"/clients/{joint.client.pk}/" in text
    assert f"/clients/{hidden.pk}/" not in text
    assert AccessLog.objects.count() == before + 1
    assert AccessLog.objects.filter(actor=joint.coordinator, client_id=joint.client.pk, reason="list").exists()
    text = login(joint.outsider).get("/clients/", {"q": joint.client.last_name}).content.decode()
    assert f"/clients/{joint.client.pk}/" not in text


def test_search__by_identity_code_and_municipality(joint: Any) -> None:
    browser = login(joint.coordinator)
    text = browser.get("/clients/", {"q": joint.client.personal_identity_code}).content.decode()
    assert f"/clients/{joint.client.pk}/" in text
    text = browser.get("/clients/", {"q": "", "municipality": "049"}).content.decode()
    assert f"/clients/{joint.client.pk}/" not in text
    response = browser.get("/clients/", {"municipality": "x"})
    assert response.status_code == 200 and 'id="id_municipality_error"' in response.content.decode()


def test_search__paged_with_next_and_previous(joint: Any) -> None:
    for n in range(27):
        client = f.client(last_name=f"Pagetest{n:02d}")
        f.episode(client, (joint.employment, joint.coordinator))
        f.consent(client, joint.employment)
    browser = login(joint.coordinator)
    first = browser.get("/clients/", {"q": "Pagetest"}).content.decode()
    assert "Pagetest00" in first and "Pagetest25" not in first
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = browser.get("/clients/", {"q": "Pagetest", "page": "2"}).content.decode()
    assert "Pagetest25" in second and "Pagetest26" in second and 'rel="prev"' in second and 'rel="next"' not in second


def test_search__htmx_gets_the_results_only(joint: Any) -> None:
    response = login(joint.coordinator).get("/clients/", {"q": joint.client.last_name}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and 'id="client-results"' in text and "<html" not in text


def test_search__clients_are_sent_to_their_own_page(joint: Any) -> None:
    joint.client.user = f.user()
    joint.client.save()
    assert login(joint.client.user).get("/clients/")["Location"] == "/"


# --- registering ----------------------------------------------------------------------------------------------------


def _registration(**changes: Any) -> dict[str, Any]:
    data = {"personal_identity_code": make_hetu(dt.date(1990, 5, 17), 934), "first_name": "Rekka",
            "last_name": "Rekisteröity", "municipality_code": "091", "gender": "not_stated",
            "preferred_language": "fi", "start_date": "", "categories": ["employment", "benefits"],
            "purpose": "Joint service", "consent_method": "in_person"}
    data.update(changes)
    return data


def test_register__coordinator_registers_and_lands_on_the_page(joint: Any) -> None:
    browser = login(joint.coordinator)
    assert 'href="/clients/new/"' in browser.get("/clients/").content.decode()
    response = browser.post("/clients/new/", _registration())
    client = Client.objects.get(last_name="Rekisteröity")
    assert response.status_code == 302 and response["Location"] == f"/clients/{client.pk}/"
    assert JointServiceEpisode.objects.filter(client=client, status="mapping").exists()
    assert set(Consent.objects.filter(client=client).values_list("category", flat=True)) == {"employment", "benefits"}
    assert browser.get(response["Location"]).status_code == 200


def test_register__bad_input_writes_nothing_and_keeps_the_input(joint: Any) -> None:
    before = Client.objects.count()
    response = login(joint.coordinator).post("/clients/new/", _registration(personal_identity_code="010190-9000",
                                                                            categories=[]))
    text = response.content.decode()
    assert response.status_code == 200 and Client.objects.count() == before
    assert 'id="id_categories_error"' in text
    assert 'value="Rekisteröity"' in text


def test_register__already_registered_is_a_field_error(joint: Any) -> None:
    before = Client.objects.count()
    response = login(joint.coordinator).post(
        "/clients/new/", _registration(personal_identity_code=joint.client.personal_identity_code))
    assert response.status_code == 200 and Client.objects.count() == before
    assert 'id="id_personal_identity_code_error"' in response.content.decode()


@pytest.mark.parametrize("role", [StaffRole.PROVIDER_WORKER, StaffRole.MANAGER])
def test_register__other_roles_neither_see_nor_use_it(joint: Any, role: str) -> None:
    user = f.staff(joint.provider, role)
    browser = login(user)
    assert 'href="/clients/new/"' not in browser.get("/clients/").content.decode()
    assert browser.get("/clients/new/").status_code == 403
    before = Client.objects.count()
    assert browser.post("/clients/new/", _registration()).status_code == 403
    assert Client.objects.count() == before
