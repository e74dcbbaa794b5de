"""The plan editor and the assessment pages as a professional meets them: who may open them, that saving writes
and is access-logged, that bad or stale input writes nothing and shows why, and that htmx gets partials."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from polku.assessments.models import Assessment, Disagreement, Instrument, JointAssessment, JointAssessmentSection
from polku.audit.models import AccessLog
from polku.core.choices import DataCategory
from polku.organisations.models import StaffRole
from polku.plans import services as plan_services
from polku.plans.models import Plan, PlanReview, PlanSignoff, PlanVersion, Step, StepStatus
from tests import factories as f


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def editor_url(joint: Any) -> str:
    return reverse("web:plan_edit", args=[joint.episode.pk])


def first_version(joint: Any, **extra: Any) -> PlanVersion:
    return plan_services.plan_add_version(
        actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0, employment_goal="Work in logistics",
        goals=[plan_services.GoalInput(area="employment", title="Find work", steps=(
            plan_services.StepInput(description="Update the CV", owner_organisation_id=joint.employment.pk,
                                    due_date=timezone.localdate() + dt.timedelta(days=10)),
            plan_services.StepInput(description="Meet the social worker", owner_organisation_id=joint.social.pk),
        ))], **extra,
    )


def editor_post(joint: Any, *, expected: int, steps: list[dict[str, Any]], initial_steps: int = 0,
                goal_title: str = "Find work", employment_goal: str = "Work in logistics", **extra: Any
                ) -> dict[str, Any]:
    """The editor form's fields: one goal and the given step rows."""
    data: dict[str, Any] = {
        "plan-expected_version": str(expected), "plan-employment_goal": employment_goal,
        "plan-rehabilitative_work_goal": "", "plan-follow_up": "", "plan-next_review_due": "",
        "plan-change_summary": "Edited in a test",
        "goals-TOTAL_FORMS": "1", "goals-INITIAL_FORMS": "1" if expected else "0", "goals-MIN_NUM_FORMS": "0",
        "goals-MAX_NUM_FORMS": "50", "goals-0-area": "employment", "goals-0-title": goal_title,
        "goals-0-description": "",
        "steps-TOTAL_FORMS": str(len(steps)), "steps-INITIAL_FORMS": str(initial_steps),
        "steps-MIN_NUM_FORMS": "0", "steps-MAX_NUM_FORMS": "50", "save": "1",
    }
    for i, step in enumerate(steps):
        row = {"goal": "0", "description": "", "owner": f"org-{joint.employment.pk}", "due_date": "",
               "status": "planned", "kind": "action", "service": ""}
        row.update(step)
        for key, value in row.items():
            if value is not None:
                data[f"steps-{i}-{key}"] = value
    data.update(extra)
    return data


# --- who may open the editor --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "social_worker"])
def test_editor__participants_open_it_and_the_read_is_logged_once(joint: Any, who: str) -> None:
    first_version(joint)
    user = getattr(joint, who)
    page = login(user).get(editor_url(joint))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Update the CV" in html and "Current plan, version 1" in html
    assert 'name="plan-expected_version"' in html and 'value="1"' in html
    assert AccessLog.objects.filter(actor=user, client_id=joint.client.pk, allowed=True, action="view").count() == 1


@pytest.mark.parametrize("who", ["outsider", "provider_worker"])
def test_editor__others_get_not_found_and_the_attempt_is_logged(joint: Any, who: str) -> None:
    first_version(joint)
    user = getattr(joint, who)
    page = login(user).get(editor_url(joint))
    assert page.status_code == 404
    assert "Update the CV" not in page.content.decode()
    assert AccessLog.objects.filter(actor=user, client_id=joint.client.pk, allowed=False).count() == 1


def test_editor__missing_episode_is_the_same_404(joint: Any) -> None:
    assert login(joint.coordinator).get(reverse("web:plan_edit", args=[999999])).status_code == 404


def test_editor__the_client_account_gets_404(joint: Any) -> None:
    account = f.user()
    joint.client.user = account
    joint.client.save()
    assert login(account).get(editor_url(joint)).status_code == 404


def test_editor__requires_login(joint: Any) -> None:
    assert Browser().get(editor_url(joint)).status_code == 302


def test_editor__no_plan_yet_offers_the_first_version(joint: Any) -> None:
    page = login(joint.coordinator).get(editor_url(joint))
    html = page.content.decode()
    assert page.status_code == 200 and "Write the plan" in html
    assert 'name="goals-0-title"' in html and 'name="steps-0-description"' in html
    assert 'name="plan-expected_version" value="0"' in html


# --- saving -------------------------------------------------------------------------------------------------


def test_save__first_version_is_created_and_logged(joint: Any) -> None:
    browser = login(joint.coordinator)
    due = (timezone.localdate() + dt.timedelta(days=20)).isoformat()
    data = editor_post(joint, expected=0, steps=[{"description": "Apply for a work trial", "due_date": due},
                                                  {"description": ""}])
    before = AccessLog.objects.filter(actor=joint.coordinator, allowed=True, action="update").count()
    page = browser.post(editor_url(joint), data)
    assert page.status_code == 302 and page["Location"].endswith("#current")
    plan = Plan.objects.get(episode=joint.episode)
    assert plan.current_version == 1
    step = Step.objects.get(goal__plan_version__plan=plan)
    assert step.description == "Apply for a work trial" and str(step.due_date) == due
    assert step.owner_organisation_id == joint.employment.pk
    assert AccessLog.objects.filter(actor=joint.coordinator, allowed=True, action="update").count() == before + 1
    assert "version 1" in browser.get(page["Location"]).content.decode()


def test_save__edit_adds_a_step_removes_one_and_changes_a_due_date(joint: Any) -> None:
    first_version(joint)
    new_due = (timezone.localdate() + dt.timedelta(days=45)).isoformat()
    data = editor_post(joint, expected=1, initial_steps=2, steps=[
        {"description": "Update the CV", "due_date": new_due},
        {"description": "Meet the social worker", "owner": f"org-{joint.social.pk}", "DELETE": "on"},
        {"description": "Visit a job fair", "owner": "client"},
    ])
    page = login(joint.coordinator).post(editor_url(joint), data)
    assert page.status_code == 302
    version = PlanVersion.objects.get(plan__episode=joint.episode, number=2)
    steps = list(Step.objects.filter(goal__plan_version=version).order_by("position"))
    assert [s.description for s in steps] == ["Update the CV", "Visit a job fair"]
    assert str(steps[0].due_date) == new_due
    assert steps[1].owned_by_client and steps[1].owner_organisation_id is None
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 2  # version 1 kept


def test_save__stale_version_shows_the_conflict_keeps_input_and_writes_nothing(joint: Any) -> None:
    first_version(joint)
    plan_services.plan_add_version(  # someone else saves version 2 meanwhile
        actor=joint.social_worker, episode_id=joint.episode.pk, expected_version=1, employment_goal="Other",
        goals=[plan_services.GoalInput(area="social", title="Housing")],
    )
    data = editor_post(joint, expected=1, steps=[{"description": "My unsaved step"}], employment_goal="Mine")
    page = login(joint.coordinator).post(editor_url(joint), data)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="plan-conflict"' in html and "Someone else saved a newer version" in html
    assert "My unsaved step" in html and "Mine</textarea>" in html
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 2
    assert Plan.objects.get(episode=joint.episode).current_version == 2


def test_save__empty_step_text_is_a_field_error_and_nothing_is_written(joint: Any) -> None:
    first_version(joint)
    data = editor_post(joint, expected=1, initial_steps=1, steps=[{"description": ""}])
    page = login(joint.coordinator).post(editor_url(joint), data)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="id_steps-0-description_error"' in html
    assert 'aria-describedby="id_steps-0-description_error"' in html and 'aria-invalid="true"' in html
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 1


def test_save__bad_due_date_is_a_field_error_and_nothing_is_written(joint: Any) -> None:
    data = editor_post(joint, expected=0, steps=[{"description": "Apply", "due_date": "2026-13-45"}])
    page = login(joint.coordinator).post(editor_url(joint), data)
    html = page.content.decode()
    assert page.status_code == 200 and 'id="id_steps-0-due_date_error"' in html
    assert 'value="Apply"' in html  # the input is kept
    assert not Plan.objects.filter(episode=joint.episode, current_version__gt=0).exists()


def test_save__owner_outside_the_episode_is_refused_by_the_service_next_to_the_field(joint: Any) -> None:
    data = editor_post(joint, expected=0, steps=[{"description": "Apply", "owner": f"org-{joint.provider.pk}"}])
    page = login(joint.coordinator).post(editor_url(joint), data)
    assert page.status_code == 200
    assert 'id="id_steps-0-owner_error"' in page.content.decode()
    assert not PlanVersion.objects.filter(plan__episode=joint.episode).exists()


def test_save__service_error_on_the_plan_field_is_shown_next_to_it(joint: Any) -> None:
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    data = editor_post(joint, expected=0, steps=[{"description": "Apply"}])
    data["plan-next_review_due"] = yesterday
    page = login(joint.coordinator).post(editor_url(joint), data)
    assert page.status_code == 200 and 'id="id_plan-next_review_due_error"' in page.content.decode()
    assert not PlanVersion.objects.filter(plan__episode=joint.episode).exists()


def test_save__outsider_posting_gets_404_and_nothing_is_written(joint: Any) -> None:
    data = editor_post(joint, expected=0, steps=[{"description": "Apply"}])
    assert login(joint.outsider).post(editor_url(joint), data).status_code == 404
    assert not PlanVersion.objects.filter(plan__episode=joint.episode).exists()


def test_add_step_without_javascript_shows_one_more_row_and_saves_nothing(joint: Any) -> None:
    first_version(joint)
    data = editor_post(joint, expected=1, initial_steps=2, steps=[{"description": "Update the CV"},
                                                                  {"description": "Meet the social worker"}])
    data.pop("save")
    data["add_step"] = "1"
    page = login(joint.coordinator).post(editor_url(joint), data)
    html = page.content.decode()
    assert page.status_code == 200 and 'name="steps-2-description"' in html
    assert 'name="steps-TOTAL_FORMS" value="3"' in html
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 1


def test_add_step_with_htmx_returns_one_row_and_the_new_count(joint: Any) -> None:
    first_version(joint)
    url = reverse("web:plan_step_row", args=[joint.episode.pk])
    page = login(joint.coordinator).get(url, {"steps-TOTAL_FORMS": "3"}, HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" not in html
    assert 'name="steps-3-description"' in html and "autofocus" in html
    assert 'id="id_steps-TOTAL_FORMS"' in html and 'value="4"' in html and 'hx-swap-oob="true"' in html


def test_add_step_row__outsider_gets_404(joint: Any) -> None:
    url = reverse("web:plan_step_row", args=[joint.episode.pk])
    assert login(joint.outsider).get(url, HTTP_HX_REQUEST="true").status_code == 404


def test_closed_episode__editor_is_read_only(joint: Any) -> None:
    first_version(joint)
    client = f.client()
    episode = f.episode(client, (joint.employment, joint.coordinator))
    f.consent_all(client, joint.employment)
    episode.status = "closed"
    episode.end_date = timezone.localdate()
    episode.end_reason = "employed"
    episode.save()
    page = login(joint.coordinator).get(reverse("web:plan_edit", args=[episode.pk]))
    # A closed episode gives no relationship (docs/access-control.md): not found, like any other client.
    assert page.status_code == 404


# --- agreement, reviews, step progress --------------------------------------------------------------------


def test_sign__responsible_person_agrees_for_the_organisation(joint: Any) -> None:
    version = first_version(joint)
    page = login(joint.coordinator).post(reverse("web:plan_sign", args=[joint.episode.pk]),
                                         {"sign-plan_version_id": str(version.pk)})
    assert page.status_code == 302 and page["Location"].endswith("#agreement")
    assert PlanSignoff.objects.filter(plan_version=version, party="organisation",
                                      organisation=joint.employment).exists()


def test_sign__client_agreed_in_person(joint: Any) -> None:
    version = first_version(joint)
    browser = login(joint.coordinator)
    page = browser.post(reverse("web:plan_sign", args=[joint.episode.pk]),
                        {"sign-plan_version_id": str(version.pk), "sign-client_agreed_in_person": "on"})
    assert page.status_code == 302
    assert PlanSignoff.objects.filter(plan_version=version, party="client").exists()
    html = browser.get(editor_url(joint)).content.decode()
    assert "The client agreed" in html and "Yes" in html
    again = browser.post(reverse("web:plan_sign", args=[joint.episode.pk]),
                         {"sign-plan_version_id": str(version.pk), "sign-client_agreed_in_person": "on"},
                         follow=True)
    assert "already been agreed" in again.content.decode()
    assert PlanSignoff.objects.filter(plan_version=version).count() == 1


def test_sign__not_the_responsible_person_gets_a_message_and_nothing_is_written(joint: Any) -> None:
    version = first_version(joint)
    colleague = f.staff(joint.employment, StaffRole.COORDINATOR)
    page = login(colleague).post(reverse("web:plan_sign", args=[joint.episode.pk]),
                                 {"sign-plan_version_id": str(version.pk)}, follow=True)
    assert page.status_code == 200 and "named responsible person" in page.content.decode()
    assert not PlanSignoff.objects.filter(plan_version=version).exists()


def test_review__request_and_record(joint: Any) -> None:
    first_version(joint)
    browser = login(joint.coordinator)
    page = browser.post(reverse("web:plan_review_request", args=[joint.episode.pk]),
                        {"request-trigger": "changed_needs", "request-notes": "New health issue"})
    assert page.status_code == 302
    review = PlanReview.objects.get(plan__episode=joint.episode)
    assert review.trigger == "changed_needs" and review.held_on is None
    today = timezone.localdate()
    page = browser.post(reverse("web:plan_review_record", args=[joint.episode.pk]),
                        {"review-held_on": today.isoformat(), "review-review_id": str(review.pk),
                         "review-notes": "Went through the steps", "review-next_review_due": ""})
    assert page.status_code == 302
    review.refresh_from_db()
    assert review.held_on == today and "Went through the steps" in review.notes
    next_due = Plan.objects.get(episode=joint.episode).next_review_due
    assert next_due is not None and next_due > today


def test_review__future_date_is_a_field_error_and_nothing_is_written(joint: Any) -> None:
    first_version(joint)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    page = login(joint.coordinator).post(reverse("web:plan_review_record", args=[joint.episode.pk]),
                                         {"review-held_on": tomorrow, "review-notes": "x"})
    assert page.status_code == 200 and 'id="id_review-held_on_error"' in page.content.decode()
    assert not PlanReview.objects.filter(plan__episode=joint.episode).exists()


def test_step_status__htmx_gets_the_new_status_and_it_is_logged(joint: Any) -> None:
    version = first_version(joint)
    step = Step.objects.get(goal__plan_version=version, owner_organisation=joint.employment)
    url = reverse("web:plan_step_status", args=[joint.episode.pk, step.pk])
    before = AccessLog.objects.filter(actor=joint.coordinator, action="update", allowed=True).count()
    page = login(joint.coordinator).post(url, {f"step-{step.pk}-status": "in_progress"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and "<html" not in page.content.decode()
    assert "In progress" in page.content.decode()
    step.refresh_from_db()
    assert step.status == StepStatus.IN_PROGRESS
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 1  # no new version
    assert AccessLog.objects.filter(actor=joint.coordinator, action="update", allowed=True).count() == before + 1


def test_step_status__without_javascript_redirects(joint: Any) -> None:
    version = first_version(joint)
    step = Step.objects.get(goal__plan_version=version, owner_organisation=joint.employment)
    page = login(joint.coordinator).post(reverse("web:plan_step_status", args=[joint.episode.pk, step.pk]),
                                         {f"step-{step.pk}-status": "done"})
    assert page.status_code == 302
    step.refresh_from_db()
    assert step.status == StepStatus.DONE


def test_step_status__another_organisations_step_is_refused(joint: Any) -> None:
    version = first_version(joint)
    step = Step.objects.get(goal__plan_version=version, owner_organisation=joint.social)
    page = login(joint.coordinator).post(reverse("web:plan_step_status", args=[joint.episode.pk, step.pk]),
                                         {f"step-{step.pk}-status": "done"}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and "responsible organisation" in page.content.decode()
    step.refresh_from_db()
    assert step.status == StepStatus.PLANNED


# --- assessments ----------------------------------------------------------------------------------------------


def new_assessment_url(joint: Any) -> str:
    return reverse("web:assessment_new", args=[joint.client.pk])


def life_situation_post(instrument: Instrument, value: int = 1, skip: int = 0, **extra: Any) -> dict[str, Any]:
    items = list(instrument.items.order_by("position"))
    data = {"instrument": instrument.code, "assessment-assessed_on": timezone.localdate().isoformat(),
            "assessment-notes": "Discussed together", "assessment-joint_assessment": ""}
    for item in items[skip:]:
        data[f"assessment-item_{item.code}"] = str(value)
    data.update(extra)
    return data


def test_assessment_form__social_worker_sees_the_instrument_items_as_radios(joint: Any) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    page = login(joint.social_worker).get(new_assessment_url(joint), {"instrument": "life-situation"})
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count('type="radio"') == instrument.items.count() * 4
    assert html.count("<legend>") >= instrument.items.count()
    assert 'id="assessment-form"' in html


def test_assessment_form__htmx_gets_the_instrument_partial(joint: Any) -> None:
    page = login(joint.social_worker).get(new_assessment_url(joint), {"instrument": "life-situation"},
                                          HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" not in html and 'id="instrument-form"' in html


def test_assessment_form__coordinator_is_not_offered_health_or_social_instruments(joint: Any) -> None:
    page = login(joint.coordinator).get(new_assessment_url(joint), {"instrument": "life-situation"})
    assert page.status_code == 200
    assert 'id="assessment-form"' not in page.content.decode()


@pytest.mark.parametrize("who", ["outsider", "provider_worker"])
def test_assessment_form__others_get_404(joint: Any, who: str) -> None:
    user = getattr(joint, who)  # the provider has no relationship to the client without a referral
    assert login(user).get(new_assessment_url(joint)).status_code == 404
    assert AccessLog.objects.filter(actor=user, client_id=joint.client.pk, allowed=False).exists()


def test_assessment__saved_with_score_and_logged_then_redirects_to_the_client_page(joint: Any) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    before = AccessLog.objects.filter(actor=joint.social_worker, action="create", allowed=True,
                                      category=DataCategory.SOCIAL).count()
    page = login(joint.social_worker).post(new_assessment_url(joint), life_situation_post(instrument, value=2))
    assert page.status_code == 302
    assert page["Location"] == reverse("web:client_detail", args=[joint.client.pk]) + "#assessments"
    assessment = Assessment.objects.get(client=joint.client)
    assert assessment.score == 2 * instrument.items.count() and assessment.band
    assert assessment.answers.count() == instrument.items.count()
    assert AccessLog.objects.filter(actor=joint.social_worker, action="create", allowed=True,
                                    category=DataCategory.SOCIAL).count() == before + 1


def test_assessment__missing_answer_is_an_error_next_to_the_item_and_nothing_is_written(joint: Any) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    first = instrument.items.order_by("position").first()
    assert first is not None
    page = login(joint.social_worker).post(new_assessment_url(joint), life_situation_post(instrument, skip=1))
    html = page.content.decode()
    assert page.status_code == 200
    assert f'id="id_assessment-item_{first.code}_error"' in html
    assert 'value="Discussed together"' in html or "Discussed together</textarea>" in html
    assert not Assessment.objects.filter(client=joint.client).exists()


def test_assessment__future_date_is_refused_and_nothing_is_written(joint: Any) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    data = life_situation_post(instrument)
    data["assessment-assessed_on"] = tomorrow
    page = login(joint.social_worker).post(new_assessment_url(joint), data)
    assert page.status_code == 200 and 'id="id_assessment-assessed_on_error"' in page.content.decode()
    assert not Assessment.objects.filter(client=joint.client).exists()


def test_assessment__out_of_scale_value_is_refused(joint: Any) -> None:
    instrument = Instrument.objects.get(code="life-situation")
    page = login(joint.social_worker).post(new_assessment_url(joint), life_situation_post(instrument, value=9))
    assert page.status_code == 200 and "field-error" in page.content.decode()
    assert not Assessment.objects.filter(client=joint.client).exists()


def test_joint_assessment__open_add_sections_and_a_disagreement(joint: Any) -> None:
    coordinator = login(joint.coordinator)
    page = coordinator.post(reverse("web:joint_assessment_open", args=[joint.client.pk]),
                            {"joint-held_on": timezone.localdate().isoformat(), "joint-client_view": "Wants work",
                             "joint-summary": ""})
    joint_assessment = JointAssessment.objects.get(episode=joint.episode)
    assert page.status_code == 302 and page["Location"] == reverse("web:joint_assessment", args=[joint_assessment.pk])
    url = reverse("web:joint_assessment_section", args=[joint_assessment.pk])
    assert coordinator.post(url, {"section-area": "employment", "section-findings": "Ready for a work trial",
                                  "section-service_needs": ""}).status_code == 302
    social = login(joint.social_worker)
    assert social.post(url, {"section-area": "social", "section-findings": "Debt problems",
                             "section-service_needs": "Debt counselling"}).status_code == 302
    assert JointAssessmentSection.objects.filter(joint_assessment=joint_assessment).count() == 2
    page = social.post(reverse("web:joint_assessment_disagreement", args=[joint_assessment.pk]),
                       {"disagreement-topic": "Timing", "disagreement-positions": "Now vs later",
                        "disagreement-areas": ["employment", "social"]})
    assert page.status_code == 302
    assert Disagreement.objects.filter(joint_assessment=joint_assessment, topic="Timing").exists()
    # The coordinator sees the employment section, not the social one; the social worker sees both.
    coordinator_page = coordinator.get(reverse("web:joint_assessment", args=[joint_assessment.pk])).content.decode()
    assert "Ready for a work trial" in coordinator_page and "Debt problems" not in coordinator_page
    assert "Timing" in coordinator_page
    social_page = social.get(reverse("web:joint_assessment", args=[joint_assessment.pk])).content.decode()
    assert "Ready for a work trial" in social_page and "Debt problems" in social_page


def test_joint_assessment__section_of_a_category_the_role_may_not_see_is_refused(joint: Any) -> None:
    joint_assessment = JointAssessment.objects.create(episode=joint.episode, held_on=timezone.localdate(),
                                                      created_by=joint.coordinator)
    page = login(joint.coordinator).post(reverse("web:joint_assessment_section", args=[joint_assessment.pk]),
                                         {"section-area": "health", "section-findings": "x"})
    assert page.status_code == 200 and 'id="id_section-area_error"' in page.content.decode()
    assert not JointAssessmentSection.objects.exists()


def test_joint_assessment__empty_findings_and_one_area_disagreement_are_field_errors(joint: Any) -> None:
    joint_assessment = JointAssessment.objects.create(episode=joint.episode, held_on=timezone.localdate(),
                                                      created_by=joint.coordinator)
    browser = login(joint.coordinator)
    page = browser.post(reverse("web:joint_assessment_section", args=[joint_assessment.pk]),
                        {"section-area": "employment", "section-findings": ""})
    assert page.status_code == 200 and 'id="id_section-findings_error"' in page.content.decode()
    page = browser.post(reverse("web:joint_assessment_disagreement", args=[joint_assessment.pk]),
                        {"disagreement-topic": "Timing", "disagreement-positions": "x",
                         "disagreement-areas": ["employment"]})
    assert page.status_code == 200 and 'id="id_disagreement-areas_error"' in page.content.decode()
    assert not JointAssessmentSection.objects.exists() and not Disagreement.objects.exists()


def test_joint_assessment__future_date_is_a_field_error(joint: Any) -> None:
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    page = login(joint.coordinator).post(reverse("web:joint_assessment_open", args=[joint.client.pk]),
                                         {"joint-held_on": tomorrow})
    assert page.status_code == 200 and 'id="id_joint-held_on_error"' in page.content.decode()
    assert not JointAssessment.objects.exists()


def test_joint_assessment__outsider_gets_404(joint: Any) -> None:
    joint_assessment = JointAssessment.objects.create(episode=joint.episode, held_on=timezone.localdate(),
                                                      created_by=joint.coordinator)
    browser = login(joint.outsider)
    assert browser.get(reverse("web:joint_assessment", args=[joint_assessment.pk])).status_code == 404
    assert browser.get(reverse("web:joint_assessment", args=[999999])).status_code == 404
    page = browser.post(reverse("web:joint_assessment_disagreement", args=[joint_assessment.pk]),
                        {"disagreement-topic": "T", "disagreement-positions": "x",
                         "disagreement-involves_client": "on"})
    assert page.status_code == 404 and not Disagreement.objects.exists()


def test_editor__queries_do_not_grow_with_the_number_of_steps(joint: Any, django_assert_max_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first_version(joint)
    browser = login(joint.coordinator)
    with CaptureQueriesContext(connection) as small:
        assert browser.get(editor_url(joint)).status_code == 200
    many = tuple(plan_services.StepInput(description=f"Step {i}", owner_organisation_id=joint.employment.pk)
                 for i in range(12))
    plan_services.plan_add_version(
        actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=1, employment_goal="More",
        goals=[plan_services.GoalInput(area="employment", title="A", steps=many),
               plan_services.GoalInput(area="social", title="B", steps=many)],
    )
    with django_assert_max_num_queries(len(small.captured_queries) + 2):
        assert browser.get(editor_url(joint)).status_code == 200


def test_add_goal_without_javascript_shows_one_more_goal_and_saves_nothing(joint: Any) -> None:
    first_version(joint)
    data = editor_post(joint, expected=1, initial_steps=1, steps=[{"description": "Update the CV"}])
    data.pop("save")
    data["add_goal"] = "1"
    page = login(joint.coordinator).post(editor_url(joint), data)
    html = page.content.decode()
    assert page.status_code == 200 and 'name="goals-1-title"' in html
    assert "Goal 2 (new)" in html  # the steps may be put under the new goal
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 1


def test_save__a_step_under_a_removed_goal_is_an_error_and_nothing_is_written(joint: Any) -> None:
    first_version(joint)
    data = editor_post(joint, expected=1, initial_steps=1, steps=[{"description": "Update the CV"}])
    data.update({"goals-TOTAL_FORMS": "2", "goals-1-area": "social", "goals-1-title": "Housing",
                 "goals-0-DELETE": "on"})
    page = login(joint.coordinator).post(editor_url(joint), data)
    assert page.status_code == 200 and 'id="id_steps-0-goal_error"' in page.content.decode()
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 1
