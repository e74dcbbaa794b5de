"""The client portal (polku.portal): a client sees and acts on their own data only; staff get "not found"; every
read and write is checked by the access policy and written to the access log."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client as Browser
from django.utils import timezone

from polku.access.policy import decide
from polku.assessments.models import Assessment, Instrument, Respondent
from polku.audit.models import AccessAction, AccessLog
from polku.clients.models import Consent, ConsentMethod
from polku.core.choices import DataCategory
from polku.plans.models import PlanReview, ReviewTrigger, Step, StepStatus
from polku.plans.services import GoalInput, StepInput, plan_add_version
from polku.portal.models import ClientMessage, MessageKind
from polku.portal.services import message_reply, message_send
from polku.referrals.models import ReferralStatus
from tests import factories as f


def login(browser: Browser, user: Any) -> Browser:
    browser.force_login(user)
    return browser


@dataclass
class Portal:
    joint: Any
    user: Any
    mine: Step  # the client's own step
    theirs: Step  # the employment services' step


@pytest.fixture
def portal(joint: Any) -> Portal:
    joint.client.user = f.user()
    joint.client.save()
    joint.coordinator.first_name, joint.coordinator.last_name = "Kaisa", "Koordinaattori"
    joint.coordinator.save()
    today = timezone.localdate()
    plan_add_version(
        actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
        employment_goal="Työ kaupan alalla",
        goals=[GoalInput(area="employment", title="Työnhaku", steps=[
            StepInput(description="Päivitä CV", owned_by_client=True, due_date=today + dt.timedelta(days=7)),
            StepInput(description="Työkokeilun järjestäminen", owner_organisation_id=joint.employment.pk,
                      due_date=today + dt.timedelta(days=14)),
        ])],
    )
    steps = Step.objects.filter(goal__plan_version__plan__episode=joint.episode)
    return Portal(joint=joint, user=joint.client.user, mine=steps.get(owned_by_client=True),
                  theirs=steps.get(owned_by_client=False))


def other_client_with_user() -> Any:
    other = f.client()
    other.user = f.user()
    other.save()
    return other


PAGES = ["/me/", "/me/plan/", "/me/messages/", "/me/progress/", "/me/consents/", "/me/log/", "/me/export/"]


# --- who sees the portal -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PAGES)
def test_pages__client_gets_each_page(portal: Portal, path: str) -> None:
    page = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user).get(path)
    assert page.status_code == 200
    text = page.content.decode()
    assert '<body class="portal"' in text
    assert ('aria-current="page"' in text) == (path != "/me/export/")


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("who", ["coordinator", "social_worker", "outsider"])
def test_pages__staff_get_not_found(portal: Portal, path: str, who: str) -> None:
    assert login(Browser(), getattr(portal.joint, who)).get(path).status_code == 404


@pytest.mark.parametrize("path", PAGES)
def test_pages__anonymous_must_sign_in(db: Any, path: str) -> None:
    assert Browser().get(path).status_code == 302


def test_front_page__client_is_taken_to_the_portal(portal: Portal) -> None:
    page = login(Browser(), portal.user).get("/")
    assert page.status_code == 302 and page["Location"] == "/me/"


# --- My path -----------------------------------------------------------------------------------------------------

def test_home__next_step_plan_appointments_and_contacts(portal: Portal) -> None:
    joint = portal.joint
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator, status=ReferralStatus.STARTED)
    before = AccessLog.objects.filter(client_id=joint.client.pk, actor=portal.user).count()
    page = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user).get("/me/")
    text = page.content.decode()
    assert page.status_code == 200
    assert joint.client.first_name in text
    next_step = text.split('class="next-step"', 1)[1].split("</section>", 1)[0]
    assert "Päivitä CV" in next_step  # due first
    assert "Työ kaupan alalla" in text  # the plan's goal
    assert "Työkokeilun järjestäminen" in text and str(joint.service) in text and "Kuntoutus Oy" in text
    assert joint.coordinator.get_full_name() in text and "Sosiaalipalvelut" in text  # contacts
    rows = AccessLog.objects.filter(client_id=joint.client.pk, actor=portal.user)
    assert rows.count() == before + 2 and all(r.allowed for r in rows)
    assert set(rows.values_list("category", flat=True)) == {DataCategory.BASIC, DataCategory.EMPLOYMENT}


def test_home__client_without_plan_or_episode(db: Any) -> None:
    client = other_client_with_user()
    page = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), client.user).get("/me/")
    assert page.status_code == 200 and "You do not have a plan yet" in page.content.decode()


# --- My plan -----------------------------------------------------------------------------------------------------

def test_plan__client_marks_own_step_done_and_it_is_logged(portal: Portal) -> None:
    browser = login(Browser(), portal.user)
    assert f'id="done-{portal.mine.pk}"' in browser.get("/me/plan/").content.decode()
    assert f'id="done-{portal.theirs.pk}"' not in browser.get("/me/plan/").content.decode()
    response = browser.post(f"/me/plan/steps/{portal.mine.pk}/done/")
    assert response.status_code == 302 and response["Location"] == "/me/plan/"
    portal.mine.refresh_from_db()
    assert portal.mine.status == StepStatus.DONE
    entry = AccessLog.objects.filter(actor=portal.user, object_type="Step").latest("id")
    assert entry.allowed and entry.action == AccessAction.UPDATE


def test_plan__step_done_from_the_front_page_returns_there(portal: Portal) -> None:
    response = login(Browser(), portal.user).post(f"/me/plan/steps/{portal.mine.pk}/done/", {"next": "home"})
    assert response["Location"] == "/me/"


def test_plan__htmx_step_done_returns_the_partial(portal: Portal) -> None:
    response = login(Browser(), portal.user).post(f"/me/plan/steps/{portal.mine.pk}/done/", HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and 'id="plan-goals"' in text and "<html" not in text
    portal.mine.refresh_from_db()
    assert portal.mine.status == "done" and portal.mine.description in text


def test_plan__organisations_step_cannot_be_marked_by_client(portal: Portal) -> None:
    response = login(Browser(), portal.user).post(f"/me/plan/steps/{portal.theirs.pk}/done/", follow=True)
    assert response.status_code == 200
    portal.theirs.refresh_from_db()
    assert portal.theirs.status == StepStatus.PLANNED
    assert AccessLog.objects.filter(actor=portal.user, allowed=False, reason="not_owner").count() == 1


def test_plan__another_clients_step_is_not_found(portal: Portal) -> None:
    other = other_client_with_user()
    assert login(Browser(), other.user).post(f"/me/plan/steps/{portal.mine.pk}/done/").status_code == 404
    portal.mine.refresh_from_db()
    assert portal.mine.status == StepStatus.PLANNED
    assert AccessLog.objects.filter(actor=other.user, client_id=portal.joint.client.pk, allowed=False).count() == 1


def test_plan__propose_change_sends_message_and_asks_review(portal: Portal) -> None:
    response = login(Browser(), portal.user).post("/me/plan/propose/", {"body": "Haluaisin opiskella."})
    assert response.status_code == 302 and response["Location"] == "/me/plan/"
    message = ClientMessage.objects.get(client=portal.joint.client)
    assert message.kind == MessageKind.PLAN_CHANGE and message.from_client and message.body == "Haluaisin opiskella."
    assert message.episode_id == portal.joint.episode.pk
    review = PlanReview.objects.get(plan__episode=portal.joint.episode)
    assert review.trigger == ReviewTrigger.CLIENT_REQUEST and review.notes == "Haluaisin opiskella."


def test_plan__empty_proposal_writes_nothing_and_shows_the_error(portal: Portal) -> None:
    writes = AccessLog.objects.exclude(action=AccessAction.VIEW)
    before = writes.count()
    response = login(Browser(), portal.user).post("/me/plan/propose/", {"body": "   "})
    text = response.content.decode()
    assert response.status_code == 400
    assert 'aria-invalid="true"' in text and 'aria-describedby="id_body_helptext id_body_error"' in text
    assert 'id="id_body_error"' in text
    assert not ClientMessage.objects.exists() and not PlanReview.objects.exists()
    assert writes.count() == before


def test_plan__ask_for_review(portal: Portal) -> None:
    response = login(Browser(), portal.user).post("/me/plan/review/")
    assert response.status_code == 302
    assert PlanReview.objects.get(plan__episode=portal.joint.episode).trigger == ReviewTrigger.CLIENT_REQUEST


# --- Messages ----------------------------------------------------------------------------------------------------

def test_messages__client_sends_and_coordinator_replies(portal: Portal) -> None:
    joint = portal.joint
    browser = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user)
    response = browser.post("/me/messages/", {"body": "Milloin tavataan?"})
    assert response.status_code == 302 and response["Location"] == "/me/messages/"
    message = ClientMessage.objects.get()
    assert message.from_client and message.sender == portal.user and message.kind == MessageKind.MESSAGE
    assert AccessLog.objects.filter(actor=portal.user, action=AccessAction.CREATE, allowed=True).exists()

    staff = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), joint.coordinator)
    page = staff.get(f"/me/staff/clients/{joint.client.pk}/messages/")
    assert page.status_code == 200 and "Milloin tavataan?" in page.content.decode()
    message.refresh_from_db()
    assert message.read_at is not None
    assert staff.post(f"/me/staff/clients/{joint.client.pk}/messages/", {"body": "Ensi tiistaina."}).status_code == 302
    reply = ClientMessage.objects.get(from_client=False)
    assert reply.sender_organisation == joint.employment

    assert "1 new" in browser.get("/me/").content.decode()
    thread = browser.get("/me/messages/").content.decode()
    assert "Ensi tiistaina." in thread and joint.coordinator.get_full_name() in thread
    reply.refresh_from_db()
    assert reply.read_at is not None


def test_messages__empty_message_writes_nothing(portal: Portal) -> None:
    browser = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user)
    before = AccessLog.objects.filter(action=AccessAction.CREATE).count()
    response = browser.post("/me/messages/", {"body": "  "})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ClientMessage.objects.exists()
    assert AccessLog.objects.filter(action=AccessAction.CREATE).count() == before


def test_messages__too_long_message_keeps_input_and_writes_nothing(portal: Portal) -> None:
    text = "a" * 4001
    response = login(Browser(), portal.user).post("/me/messages/", {"body": text})
    assert response.status_code == 400 and text in response.content.decode()
    assert not ClientMessage.objects.exists()


def test_messages__htmx_send_returns_the_thread_partial(portal: Portal) -> None:
    response = login(Browser(), portal.user).post("/me/messages/", {"body": "Hei"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200 and 'id="thread-area"' in text and "<html" not in text and "Hei" in text


def test_messages__another_clients_thread_is_not_shown(portal: Portal) -> None:
    message_send(actor=portal.user, client_id=portal.joint.client.pk, body="Salainen viesti")
    other = other_client_with_user()
    assert "Salainen viesti" not in login(Browser(), other.user).get("/me/messages/").content.decode()


@pytest.mark.parametrize("who", ["outsider", "provider_worker"])
def test_staff_thread__staff_without_access_get_not_found(portal: Portal, who: str) -> None:
    user = getattr(portal.joint, who)  # the provider has no open referral: no relationship
    browser = login(Browser(), user)
    assert browser.get(f"/me/staff/clients/{portal.joint.client.pk}/messages/").status_code == 404
    assert browser.post(f"/me/staff/clients/{portal.joint.client.pk}/messages/", {"body": "x"}).status_code == 404
    assert not ClientMessage.objects.exists()
    assert AccessLog.objects.filter(actor=user, allowed=False).count() == 2


def test_staff_thread__client_gets_not_found(portal: Portal) -> None:
    browser = login(Browser(), portal.user)
    assert browser.get(f"/me/staff/clients/{portal.joint.client.pk}/messages/").status_code == 404


def test_message_services__staff_cannot_send_as_client_and_client_cannot_reply(portal: Portal) -> None:
    from polku.core.errors import AccessDenied

    with pytest.raises(AccessDenied):
        message_send(actor=portal.joint.coordinator, client_id=portal.joint.client.pk, body="x")
    with pytest.raises(AccessDenied):
        message_reply(actor=portal.user, client_id=portal.joint.client.pk, body="x")
    assert not ClientMessage.objects.exists()
    assert AccessLog.objects.filter(allowed=False, reason="role").count() == 2


# --- My progress -------------------------------------------------------------------------------------------------

def test_progress__client_fills_in_the_self_assessment(portal: Portal) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    codes = list(instrument.items.values_list("code", flat=True))
    browser = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user)
    page = browser.get("/me/progress/").content.decode()
    assert "<fieldset" in page and "<legend>" in page
    response = browser.post("/me/progress/", {f"self-{code}": "1" for code in codes})
    assert response.status_code == 302
    assessment = Assessment.objects.get(client=portal.joint.client)
    assert assessment.respondent == Respondent.CLIENT and assessment.score == len(codes)
    assert assessment.episode_id == portal.joint.episode.pk
    page = browser.get("/me/progress/").content.decode()
    assert "<svg" in page and "My own answers" in page and "<caption>All answers</caption>" in page


def test_progress__missing_answers_write_nothing(portal: Portal) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    first = instrument.items.first()
    assert first is not None
    response = login(Browser(), portal.user).post("/me/progress/", {f"self-{first.code}": "2"})
    assert response.status_code == 400 and 'aria-invalid="true"' in response.content.decode()
    assert 'value="2" aria-describedby' in response.content.decode() or "checked" in response.content.decode()
    assert not Assessment.objects.exists()


# --- My consents -------------------------------------------------------------------------------------------------

def test_consents__client_sees_consents_in_plain_words(portal: Portal) -> None:
    page = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user).get("/me/consents/")
    text = page.content.decode()
    assert "Sosiaalipalvelut may see your information: Social welfare" in text
    assert "What the social services know about your life situation." in text


def test_consents__client_grants_a_consent(portal: Portal) -> None:
    joint = portal.joint
    Consent.objects.filter(client=joint.client, organisation=joint.social, category="health").update(
        revoked_at=timezone.now())
    response = login(Browser(), portal.user).post("/me/consents/", {
        "grant-organisation": joint.social.pk, "grant-category": "health", "grant-purpose": "Yhteinen palvelu"})
    assert response.status_code == 302
    consent = Consent.objects.filter(client=joint.client, organisation=joint.social, category="health",
                                     revoked_at__isnull=True).get()
    assert consent.method == ConsentMethod.ELECTRONIC and consent.recorded_by == portal.user
    assert AccessLog.objects.filter(actor=portal.user, action=AccessAction.MANAGE_CONSENT, allowed=True).count() == 1


def test_consents__grant_to_an_organisation_not_in_the_episode_is_refused(portal: Portal) -> None:
    joint = portal.joint
    before = Consent.objects.count()
    response = login(Browser(), portal.user).post("/me/consents/", {
        "grant-organisation": joint.provider.pk, "grant-category": "health", "grant-purpose": "x"})
    assert response.status_code == 400 and 'aria-invalid="true"' in response.content.decode()
    assert Consent.objects.count() == before


def test_consents__grant_with_missing_fields_writes_nothing(portal: Portal) -> None:
    before = Consent.objects.count()
    response = login(Browser(), portal.user).post("/me/consents/", {"grant-purpose": "x"})
    assert response.status_code == 400 and 'id="id_grant-organisation_error"' in response.content.decode()
    assert Consent.objects.count() == before


def test_consents__revoking_asks_first_then_cuts_access_at_once(portal: Portal) -> None:
    joint = portal.joint
    browser = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user)
    social = list(Consent.objects.filter(client=joint.client, organisation=joint.social))
    assert decide(joint.social_worker, joint.client, DataCategory.BASIC, AccessAction.VIEW)
    assert login(Browser(), joint.social_worker).get(f"/clients/{joint.client.pk}/").status_code == 200
    for consent in social:
        confirm = browser.get(f"/me/consents/{consent.pk}/withdraw/")
        assert confirm.status_code == 200 and 'id="confirm-withdraw"' in confirm.content.decode()
        consent.refresh_from_db()
        assert consent.revoked_at is None  # asking is not withdrawing
        assert browser.post(f"/me/consents/{consent.pk}/withdraw/", {"reason": ""}).status_code == 302
        consent.refresh_from_db()
        assert consent.revoked_at is not None and consent.revoked_by == portal.user
    assert not decide(joint.social_worker, joint.client, DataCategory.BASIC, AccessAction.VIEW)
    assert login(Browser(), joint.social_worker).get(f"/clients/{joint.client.pk}/").status_code == 404
    assert decide(joint.coordinator, joint.client, DataCategory.BASIC, AccessAction.VIEW)  # others keep theirs


def test_consents__another_clients_consent_is_not_found(portal: Portal) -> None:
    other = other_client_with_user()
    consent = Consent.objects.filter(client=portal.joint.client).first()
    assert consent is not None
    browser = login(Browser(), other.user)
    assert browser.get(f"/me/consents/{consent.pk}/withdraw/").status_code == 404
    assert browser.post(f"/me/consents/{consent.pk}/withdraw/").status_code == 404
    consent.refresh_from_db()
    assert consent.revoked_at is None


def test_consents__withdrawn_consent_cannot_be_withdrawn_again(portal: Portal) -> None:
    consent = Consent.objects.filter(client=portal.joint.client).first()
    assert consent is not None
    Consent.objects.filter(pk=consent.pk).update(revoked_at=timezone.now())
    response = login(Browser(), portal.user).post(f"/me/consents/{consent.pk}/withdraw/")
    assert response.status_code == 302 and response["Location"] == "/me/consents/"


# --- Who has seen my data ----------------------------------------------------------------------------------------

def test_access_log__client_sees_who_looked(portal: Portal) -> None:
    joint = portal.joint
    login(Browser(), joint.coordinator).get(f"/clients/{joint.client.pk}/")
    browser = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user)
    browser.get("/me/")  # the client's own visits are left out unless asked for
    page = browser.get("/me/log/")
    text = page.content.decode()
    assert page.status_code == 200
    assert joint.coordinator.get_full_name() in text and "Työllisyyspalvelut" in text
    assert "The client&#x27;s own portal: my path" not in text
    assert "The client&#x27;s own portal: my path" in browser.get("/me/log/?own=on").content.decode()


def test_access_log__purposes_shown_in_the_readers_language(portal: Portal) -> None:
    joint = portal.joint
    login(Browser(HTTP_ACCEPT_LANGUAGE="fi"), joint.coordinator).get(f"/clients/{joint.client.pk}/")
    purposes = set(AccessLog.objects.filter(actor=joint.coordinator).values_list("purpose", flat=True))
    assert "View client details" in purposes  # stored as the source text (the page also logs other reads)
    page = login(Browser(HTTP_ACCEPT_LANGUAGE="sv"), portal.user).get("/me/log/").content.decode()
    assert "Visning av kunduppgifter" in page and "View client details" not in page


def test_access_log__is_paged(portal: Portal) -> None:
    joint = portal.joint
    AccessLog.objects.bulk_create(
        AccessLog(at=timezone.now(), actor=joint.coordinator, actor_name="Koordinaattori", client_id=joint.client.pk,
                  category="basic", action="view", purpose="View client details", allowed=True, reason="x")
        for _ in range(60)
    )
    browser = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), portal.user)
    first = browser.get("/me/log/").content.decode()
    assert "Page 1 of 2" in first and "?page=2" in first
    assert "Page 2 of 2" in browser.get("/me/log/?page=2").content.decode()


def test_access_log__only_own_rows(portal: Portal) -> None:
    other = other_client_with_user()
    login(Browser(), portal.joint.coordinator).get(f"/clients/{portal.joint.client.pk}/")
    text = login(Browser(HTTP_ACCEPT_LANGUAGE="en"), other.user).get("/me/log/").content.decode()
    assert "Kaisa Koordinaattori" not in text and "Työllisyyspalvelut" not in text


# --- Download my data --------------------------------------------------------------------------------------------

def test_export__download_is_the_clients_own_data_and_logged(portal: Portal) -> None:
    browser = login(Browser(), portal.user)
    assert browser.get("/me/export/").status_code == 200
    response = browser.post("/me/export/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="polku-my-data-')
    data = json.loads(response.content)
    assert data["client"]["id"] == portal.joint.client.pk
    assert AccessLog.objects.filter(actor=portal.user, action=AccessAction.EXPORT, allowed=True).count() == 1


def test_export__staff_get_not_found(portal: Portal) -> None:
    assert login(Browser(), portal.joint.coordinator).post("/me/export/").status_code == 404


# --- Sign-in with a Suomi.fi-style provider ----------------------------------------------------------------------

OIDC = {
    "OIDC_RP_CLIENT_ID": "polku-portal", "OIDC_RP_CLIENT_SECRET": "secret",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://idp.example/authorize", "OIDC_OP_TOKEN_ENDPOINT": "https://idp.example/token",
    "OIDC_OP_USER_ENDPOINT": "https://idp.example/userinfo", "OIDC_OP_JWKS_ENDPOINT": "https://idp.example/jwks",
}


@pytest.fixture
def client_oidc(settings: Any) -> Any:
    settings.POLKU_CLIENT_OIDC_ENABLED = True
    settings.POLKU_CLIENT_OIDC = dict(OIDC)
    settings.POLKU_CLIENT_OIDC_IDENTITY_CLAIM = "nationalIdentificationNumber"
    settings.AUTHENTICATION_BACKENDS = ["polku.portal.oidc.ClientOIDCBackend",
                                        "django.contrib.auth.backends.ModelBackend"]
    return settings


def test_oidc__off_by_default(db: Any) -> None:
    assert Browser().get("/me/oidc/authenticate/").status_code == 404
    assert Browser().get("/me/oidc/callback/?code=x&state=y").status_code == 404


def test_oidc__claim_matches_the_clients_identity_code(joint: Any, client_oidc: Any) -> None:
    from polku.portal.oidc import ClientOIDCBackend

    backend = ClientOIDCBackend()
    hetu = joint.client.personal_identity_code
    assert backend.verify_claims({"nationalIdentificationNumber": hetu})
    assert not backend.verify_claims({"email": "x@example.org"})
    assert not backend.filter_users_by_claims({"nationalIdentificationNumber": hetu}).exists()  # no account yet
    user = backend.create_user({"nationalIdentificationNumber": hetu.lower()})
    joint.client.refresh_from_db()
    assert user is not None and joint.client.user == user and not user.has_usable_password()
    assert list(backend.filter_users_by_claims({"nationalIdentificationNumber": hetu})) == [user]
    assert backend.create_user({"nationalIdentificationNumber": hetu}) is None  # never a second account
    assert backend.create_user({"nationalIdentificationNumber": "010101-0101"}) is None  # not a client
    client_oidc.POLKU_CLIENT_OIDC_IDENTITY_CLAIM = "hetu"
    assert list(backend.filter_users_by_claims({"hetu": hetu})) == [user]
    assert not backend.filter_users_by_claims({"nationalIdentificationNumber": hetu}).exists()


def test_oidc__sign_in_flow_links_the_client(joint: Any, client_oidc: Any, monkeypatch: Any) -> None:
    from urllib.parse import parse_qs, urlparse

    from polku.portal.oidc import ClientOIDCBackend

    hetu = joint.client.personal_identity_code
    monkeypatch.setattr(ClientOIDCBackend, "get_token", lambda self, payload: {"id_token": "i", "access_token": "a"})
    monkeypatch.setattr(ClientOIDCBackend, "verify_token", lambda self, token, **kw: {"sub": "abc"})
    monkeypatch.setattr(ClientOIDCBackend, "get_userinfo",
                        lambda self, access, idt, payload: {"sub": "abc", "nationalIdentificationNumber": hetu})
    browser = Browser()
    start = browser.get("/me/oidc/authenticate/")
    assert start.status_code == 302 and start["Location"].startswith("https://idp.example/authorize")
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["redirect_uri"][0].endswith("/me/oidc/callback/")
    back = browser.get("/me/oidc/callback/", {"code": "c", "state": query["state"][0]})
    assert back.status_code == 302 and back["Location"] == "/me/"
    joint.client.refresh_from_db()
    assert joint.client.user is not None
    assert browser.get("/me/").status_code == 200


def test_oidc__unknown_person_is_not_signed_in(joint: Any, client_oidc: Any, monkeypatch: Any) -> None:
    from urllib.parse import parse_qs, urlparse

    from polku.portal.oidc import ClientOIDCBackend

    monkeypatch.setattr(ClientOIDCBackend, "get_token", lambda self, payload: {"id_token": "i", "access_token": "a"})
    monkeypatch.setattr(ClientOIDCBackend, "verify_token", lambda self, token, **kw: {"sub": "abc"})
    monkeypatch.setattr(ClientOIDCBackend, "get_userinfo",
                        lambda self, access, idt, payload: {"nationalIdentificationNumber": "010101-0101"})
    browser = Browser()
    state = parse_qs(urlparse(browser.get("/me/oidc/authenticate/")["Location"]).query)["state"][0]
    back = browser.get("/me/oidc/callback/", {"code": "c", "state": state})
    assert back.status_code == 302 and "sso=failed" in back["Location"]
    assert browser.get("/me/").status_code == 302


def test_messages__htmx_empty_message_shows_the_error_in_the_partial(portal: Portal) -> None:
    response = login(Browser(), portal.user).post("/me/messages/", {"body": ""}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200  # htmx swaps in only successful answers
    assert 'id="id_body_error"' in text and "<html" not in text
    assert not ClientMessage.objects.exists()


def test_export__includes_the_clients_messages(portal: Portal) -> None:
    message_send(actor=portal.user, client_id=portal.joint.client.pk, body="Oma viesti")
    message_reply(actor=portal.joint.coordinator, client_id=portal.joint.client.pk, body="Vastaus")
    data = json.loads(login(Browser(), portal.user).post("/me/export/").content)
    assert [m["body"] for m in data["messages"]] == ["Oma viesti", "Vastaus"]
    assert data["messages"][1]["sender_organisation"]["name"] == "Työllisyyspalvelut"
