"""The plan editor and the assessment pages in a real browser: accessible in fi, sv and en (axe-core), and a plan
step added with the keyboard alone. Tests that write work on a client and episode of their own."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from polku.assessments import selectors as assessment_selectors
from polku.assessments import services as assessment_services
from polku.episodes.models import EpisodeParticipant, JointServiceEpisode
from polku.plans import services as plan_services
from polku.plans.models import PlanVersion, Step
from tests import factories as f


def fresh_episode(username: str = "coordinator") -> JointServiceEpisode:
    """A new client in a new episode of the demo user's organisation, with that user responsible and the
    client's consent to every category: no other test reads or writes it."""
    account = get_user_model().objects.get(username=username)
    client = f.client()
    episode = f.episode(client, (account.staff.organisation, account))
    f.consent_all(client, account.staff.organisation)
    return episode


def coordinator_episode() -> JointServiceEpisode:
    participant = EpisodeParticipant.objects.filter(
        responsible_person__user__username="coordinator", episode__status="active", left_on__isnull=True,
    ).select_related("episode").order_by("pk").first()
    assert participant is not None
    return participant.episode


def test_plan_editor_is_accessible(assert_accessible: Any) -> None:
    episode = coordinator_episode()
    assert_accessible("coordinator", f"/episodes/{episode.pk}/plan/", "plan-editor")


def test_plan_editor_without_a_plan_is_accessible(assert_accessible: Any) -> None:
    episode = fresh_episode()
    assert_accessible("coordinator", f"/episodes/{episode.pk}/plan/", "plan-editor-first")


def test_assessment_form_is_accessible(assert_accessible: Any) -> None:
    account = get_user_model().objects.get(username="socialworker")
    candidates = EpisodeParticipant.objects.filter(
        responsible_person__user=account, episode__status__in=["mapping", "active"], left_on__isnull=True,
    ).values_list("episode__client_id", flat=True).order_by("episode__client_id")[:50]
    client_id = next((c for c in candidates
                      if "social" in assessment_selectors.visible_categories(account, c)), None)
    if client_id is None:  # the region gave none: a client of the test's own
        client_id = fresh_episode("socialworker").client_id
    assert_accessible("socialworker", f"/clients/{client_id}/assessments/new/?instrument=life-situation",
                      "assessment-new")


def test_assessment_form_of_the_coordinator_is_accessible(assert_accessible: Any) -> None:
    episode = coordinator_episode()
    assert_accessible("coordinator", f"/clients/{episode.client_id}/assessments/new/", "assessment-new-coordinator")


def test_joint_assessment_page_is_accessible(assert_accessible: Any) -> None:
    episode = fresh_episode()
    coordinator = get_user_model().objects.get(username="coordinator")
    joint = assessment_services.joint_assessment_open(actor=coordinator, episode_id=episode.pk,
                                                      held_on=timezone.localdate(), client_view="Wants to work",
                                                      summary="Needs a work trial")
    assessment_services.joint_assessment_add_section(actor=coordinator, joint_assessment_id=joint.pk,
                                                     area="employment", findings="Ready for a work trial")
    assessment_services.disagreement_record(actor=coordinator, joint_assessment_id=joint.pk, topic="Timing",
                                            positions="The client wants to start later", involves_client=True)
    assert_accessible("coordinator", f"/joint-assessments/{joint.pk}/", "joint-assessment")


def test_keyboard_only__add_a_plan_step(visit: Any) -> None:
    episode = fresh_episode()
    coordinator = get_user_model().objects.get(username="coordinator")
    plan_services.plan_add_version(
        actor=coordinator, episode_id=episode.pk, expected_version=0, employment_goal="Work in logistics",
        goals=[plan_services.GoalInput(area="employment", title="Find work", steps=(
            plan_services.StepInput(description="Update the CV",
                                    owner_organisation_id=coordinator.staff.organisation_id),
        ))],
    )
    tab = visit("coordinator", "en")
    page = tab.page
    assert tab.open(f"/episodes/{episode.pk}/plan/").status == 200
    page.wait_for_function("() => window.htmx !== undefined")  # a function: a string needs eval (CSP)

    page.locator("#add-step").focus()
    page.keyboard.press("Enter")  # htmx adds an empty row and moves the focus to its description
    page.wait_for_selector("#id_steps-2-description")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_steps-2-description'")
    page.keyboard.type("Apply for three jobs")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_steps-2-goal"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_steps-2-owner"
    assert page.locator("#id_steps-TOTAL_FORMS").get_attribute("value") == "3"

    page.locator("#id_plan-change_summary").focus()
    page.keyboard.type("Added a step with the keyboard")
    page.locator("#save-plan").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "version 2" in page.content()

    version = PlanVersion.objects.get(plan__episode=episode, number=2)
    steps = list(Step.objects.filter(goal__plan_version=version).order_by("position"))
    assert [s.description for s in steps] == ["Update the CV", "Apply for three jobs"]
    assert steps[1].owner_organisation_id == coordinator.staff.organisation_id
    assert version.change_summary == "Added a step with the keyboard"
