"""The plan: versions, the version check against concurrent edits, sign-offs and reviews."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput, VersionConflict
from polku.plans.models import GoalArea, Plan, PlanVersion, SignoffParty, StepStatus
from polku.plans.services import (
    GoalInput,
    StepInput,
    plan_add_version,
    plan_record_review,
    plan_request_review,
    plan_sign,
    step_set_status,
)


def content(joint: Any, goal: str = "Find work") -> dict[str, Any]:
    return {
        "employment_goal": "Work in logistics",
        "goals": [GoalInput(area=GoalArea.EMPLOYMENT, title=goal, steps=[
            StepInput(description="Update CV", owned_by_client=True),
            StepInput(description="Debt advice", owner_organisation_id=joint.social.pk),
        ])],
    }


def test_plan__first_version__activates_episode(joint: Any) -> None:
    version = plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
                               **content(joint))
    assert version.number == 1
    joint.episode.refresh_from_db()
    assert joint.episode.status == "active"
    assert Plan.objects.get(episode=joint.episode).next_review_due is not None


def test_plan__two_editors__second_gets_conflict_and_nothing_is_lost(joint: Any) -> None:
    plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0, **content(joint))
    # Both open version 1; the coordinator saves first.
    plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=1,
                     **content(joint, "Coordinator's goal"))
    with pytest.raises(VersionConflict) as excinfo:
        plan_add_version(actor=joint.social_worker, episode_id=joint.episode.pk, expected_version=1,
                         **content(joint, "Social worker's goal"))
    assert excinfo.value.current_version == 2
    versions = PlanVersion.objects.filter(plan__episode=joint.episode).order_by("number")
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].goals.get().title == "Coordinator's goal"
    # The social worker reloads and saves on top: both edits are kept as versions.
    plan_add_version(actor=joint.social_worker, episode_id=joint.episode.pk, expected_version=2,
                     **content(joint, "Social worker's goal"))
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 3


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_plan__concurrent_saves_in_parallel__exactly_one_wins(joint: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are tested on PostgreSQL; SQLite serialises writers")
    plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0, **content(joint))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def edit(actor: Any, title: str) -> None:
        barrier.wait()
        try:
            plan_add_version(actor=actor, episode_id=joint.episode.pk, expected_version=1, **content(joint, title))
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(actor, f"goal {i}"))
               for i, actor in enumerate([joint.coordinator, joint.social_worker] * 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "saved"]
    assert PlanVersion.objects.filter(plan__episode=joint.episode).count() == 2


def test_plan__invalid_content__refused_and_nothing_written(joint: Any) -> None:
    bad = [
        {"employment_goal": " ", "goals": content(joint)["goals"]},
        {"employment_goal": "Work", "goals": []},
        {"employment_goal": "Work", "goals": [GoalInput(area="nonsense", title="x")]},
        {"employment_goal": "Work", "goals": [GoalInput(area=GoalArea.HEALTH, title="x", steps=[
            StepInput(description="Owned by an organisation outside the episode",
                      owner_organisation_id=joint.provider.pk)])]},
    ]
    for case in bad:
        with pytest.raises(InvalidInput):
            plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0, **case)
    assert not PlanVersion.objects.exists()
    joint.episode.refresh_from_db()
    assert joint.episode.status == "mapping"


def test_plan__signoff_by_responsible_persons_and_client(joint: Any) -> None:
    version = plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
                               **content(joint))
    plan_sign(actor=joint.coordinator, plan_version_id=version.pk)
    plan_sign(actor=joint.social_worker, plan_version_id=version.pk)
    plan_sign(actor=joint.coordinator, plan_version_id=version.pk, client_agreed_in_person=True)
    parties = sorted((s.party, s.organisation_id or 0) for s in version.signoffs.all())
    assert parties == sorted([(SignoffParty.ORGANISATION, joint.employment.pk),
                              (SignoffParty.ORGANISATION, joint.social.pk), (SignoffParty.CLIENT, 0)])
    with pytest.raises(InvalidInput):
        plan_sign(actor=joint.coordinator, plan_version_id=version.pk)
    with pytest.raises(AccessDenied):
        plan_sign(actor=joint.outsider, plan_version_id=version.pk)
    newer = plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=1,
                             **content(joint))
    with pytest.raises(IllegalTransition):
        plan_sign(actor=joint.social_worker, plan_version_id=version.pk)
    assert newer.signoffs.count() == 0


def test_plan__client_requests_review_and_marks_own_step(joint: Any) -> None:
    from tests import factories as f

    joint.client.user = f.user()
    joint.client.save()
    version = plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
                               **content(joint))
    review = plan_request_review(actor=joint.client.user, plan_id=version.plan_id, trigger="scheduled")
    assert review.trigger == "client_request"
    held = plan_record_review(actor=joint.coordinator, plan_id=version.plan_id, held_on=review.requested_at.date(),
                              review_id=review.pk, notes="Reviewed together")
    assert held.held_on is not None and held.resulting_version_id == version.pk
    own_step, org_step = version.goals.get().steps.order_by("position")
    step_set_status(actor=joint.client.user, step_id=own_step.pk, status=StepStatus.DONE)
    with pytest.raises(AccessDenied):
        step_set_status(actor=joint.client.user, step_id=org_step.pk, status=StepStatus.DONE)
    with pytest.raises(AccessDenied):
        step_set_status(actor=joint.coordinator, step_id=org_step.pk, status=StepStatus.DONE)
    step_set_status(actor=joint.social_worker, step_id=org_step.pk, status=StepStatus.IN_PROGRESS)


@pytest.mark.parametrize("goal", [
    GoalInput(area=GoalArea.EMPLOYMENT, title="x" * 301),
    GoalInput(area=GoalArea.EMPLOYMENT, title="ok", steps=[StepInput(description="y" * 501, owned_by_client=True)]),
    GoalInput(area=GoalArea.EMPLOYMENT, title="ok", steps=[StepInput(description="z", owned_by_client=True,
                                                                     due_date="2026-01-01")]),  # type: ignore[arg-type]
])
def test_plan__goal_and_step_fields_validated_before_anything_is_written(joint: Any, goal: GoalInput) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
                         employment_goal="Work", goals=[goal])
    assert any(key.startswith("goals[0]") for key in excinfo.value.errors)
    assert not PlanVersion.objects.exists() and not Plan.objects.filter(current_version__gt=0).exists()
