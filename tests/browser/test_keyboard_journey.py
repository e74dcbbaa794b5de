"""The whole path with the keyboard alone, across three people and three organisations.

A coordinator opens a client, adds a plan step and sends a referral; the provider accepts it; the client then
withdraws the social services' consent, and the social worker can no longer open the client. Every move is
Tab, Shift+Tab, typing, arrow keys or Enter: nothing is clicked. Reaching an element with Tab proves it is in
the tab order."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from polku.catalogue.models import Service
from polku.core.choices import DataCategory
from polku.plans import services as plan_services
from polku.plans.models import PlanVersion, Step
from polku.referrals.models import Referral, ReferralStatus
from tests import factories as f

MAX_TABS = 150


def tab_until(page: Any, condition: str, what: str) -> None:
    """Press Tab until the focused element satisfies ``condition`` (JavaScript over ``el``)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return !!el && ({condition}); }})()"):
            return
    raise AssertionError(f"{what} was not reached with Tab")


def tab_to_id(page: Any, element_id: str) -> None:
    tab_until(page, f"el.id === {element_id!r}", f"#{element_id}")


def tab_to_link(page: Any, href: str) -> None:
    tab_until(page, f"el.tagName === 'A' && el.getAttribute('href') === {href!r}", f"the link to {href}")


def enter_and_wait(page: Any) -> None:
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_coordinator_provider_and_client_with_the_keyboard_only(visit: Any, region: Any) -> None:
    users = get_user_model().objects
    coordinator, social_worker, provider = (users.get(username=name)
                                            for name in ("coordinator", "socialworker", "provider"))
    employment, social = coordinator.staff.organisation, social_worker.staff.organisation
    provider_org = provider.staff.organisation
    service = Service.objects.filter(provider=provider_org, active=True, data_category=DataCategory.REHABILITATION
                                     ).order_by("pk").first() or f.service(provider_org)
    client = f.client(first_name="Valtteri", last_name="Näppäinpolku")
    client.user = users.create_user(username=f"journey-{client.pk}", password=None)
    client.save()
    episode = f.episode(client, (employment, coordinator), (social, social_worker))
    f.consent_all(client, employment)
    social_consent = f.consent(client, social, DataCategory.SOCIAL)
    f.consent(client, provider_org, DataCategory.REHABILITATION)
    plan_services.plan_add_version(
        actor=coordinator, episode_id=episode.pk, expected_version=0, employment_goal="Work in a warehouse",
        goals=[plan_services.GoalInput(area="employment", title="Get ready for work", steps=(
            plan_services.StepInput(description="Update the CV", owner_organisation_id=employment.pk),))])

    # 1. The coordinator finds the client from the front page.
    tab = visit("coordinator", "en")
    page = tab.page
    assert tab.open("/").status == 200
    tab_to_link(page, "/clients/")
    enter_and_wait(page)
    tab_to_id(page, "id_q")
    page.keyboard.type(client.last_name)
    enter_and_wait(page)
    tab_to_link(page, f"/clients/{client.pk}/")
    enter_and_wait(page)
    assert client.last_name in page.locator("h1").inner_text()

    # 2. ... opens the plan editor from the client page and adds a step.
    tab_to_link(page, f"/episodes/{episode.pk}/plan/")
    enter_and_wait(page)
    page.wait_for_function("() => window.htmx !== undefined")  # a function: a string needs eval (CSP)
    tab_to_id(page, "add-step")
    page.keyboard.press("Enter")  # htmx adds an empty row and puts the focus in it
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_steps-2-description'")
    page.keyboard.type("Visit the work trial place")
    tab_to_id(page, "id_steps-2-owner")
    # The owner is a select: choose the coordinator's organisation with the arrow keys.
    for _ in range(20):
        if page.evaluate("document.activeElement.value") == f"org-{employment.pk}":
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == f"org-{employment.pk}"
    tab_to_id(page, "save-plan")
    enter_and_wait(page)
    version = PlanVersion.objects.get(plan__episode=episode, number=2)
    assert list(Step.objects.filter(goal__plan_version=version).order_by("position")
                .values_list("description", flat=True)) == ["Update the CV", "Visit the work trial place"]

    # 3. ... and sends a referral from the client page.
    assert tab.open(f"/clients/{client.pk}/").status == 200
    tab_to_link(page, f"/clients/{client.pk}/referrals/new/")
    enter_and_wait(page)
    tab_to_id(page, "id_service")
    for _ in range(200):
        if page.evaluate("document.activeElement.value") == str(service.pk):
            break
        page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.value") == str(service.pk)
    tab_to_id(page, "id_reason_for_referral")
    page.keyboard.type("Needs a work trial before the next step.")
    tab_to_id(page, "send-referral")
    enter_and_wait(page)
    referral = Referral.objects.get(client=client, service=service)
    assert referral.status == ReferralStatus.SENT

    # 4. The provider accepts it from the inbox.
    tab = visit("provider", "en")
    page = tab.page
    assert tab.open("/referrals/").status == 200
    tab_to_link(page, f"/referrals/{referral.pk}/")
    enter_and_wait(page)
    tab_to_id(page, "button-receive")
    page.keyboard.press("Enter")
    page.locator("#button-accept").wait_for()
    page.keyboard.press("Shift+Tab")  # back to the top of the swapped part, then forward to "accept"
    tab_to_id(page, "button-accept")
    page.keyboard.press("Enter")
    page.locator("#referral-status", has_text="Accepted").wait_for()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.ACCEPTED

    # 5. The client withdraws the social services' consent in the portal.
    assert visit("socialworker", "en").open(f"/clients/{client.pk}/").status == 200
    tab = visit(client.user.username, "en")
    page = tab.page
    assert tab.open("/me/consents/").status == 200
    tab_to_id(page, f"withdraw-{social_consent.pk}")
    enter_and_wait(page)
    tab_to_id(page, "id_reason")
    page.keyboard.type("I no longer want this.")
    tab_to_id(page, "confirm-withdraw")
    enter_and_wait(page)
    social_consent.refresh_from_db()
    assert social_consent.revoked_at is not None

    # 6. The social services can no longer open the client; the coordinator still can.
    assert visit("socialworker", "en").open(f"/clients/{client.pk}/").status == 404
    assert visit("coordinator", "en").open(f"/clients/{client.pk}/").status == 200
