"""The multi-sector plan: new versions (with a version check), sign-offs, reviews and step progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import authorize, client_data_service, client_of, deny, staff_of
from polku.audit.models import AccessAction
from polku.catalogue.models import Service
from polku.core.choices import DataCategory
from polku.core.dates import add_months
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput, VersionConflict
from polku.core.validation import require, require_date, validated
from polku.episodes.models import EpisodeParticipant, EpisodeStatus, JointServiceEpisode

from .models import (
    Goal,
    GoalArea,
    Plan,
    PlanReview,
    PlanSignoff,
    PlanVersion,
    ReviewTrigger,
    SignoffParty,
    Step,
    StepKind,
    StepStatus,
)

PLAN_CATEGORY = DataCategory.EMPLOYMENT  # the multi-sector *employment* plan


@dataclass(frozen=True)
class StepInput:
    description: str
    owner_organisation_id: int | None = None
    owned_by_client: bool = False
    kind: str = StepKind.ACTION
    service_id: int | None = None
    due_date: dt.date | None = None
    status: str = StepStatus.PLANNED


@dataclass(frozen=True)
class GoalInput:
    area: str
    title: str
    description: str = ""
    steps: Sequence[StepInput] = field(default_factory=tuple)


def _denied() -> AccessDenied:
    return AccessDenied(_("You do not have access to this client's data."), code="not_found")


def _validate_content(episode: JointServiceEpisode, employment_goal: str, goals: Sequence[GoalInput]) -> None:
    require(bool(employment_goal.strip()), "employment_goal", _("Write the employment goal."))
    require(len(goals) > 0, "goals", _("A plan needs at least one goal."))
    participants = set(
        EpisodeParticipant.objects.filter(episode=episode, left_on__isnull=True).values_list(
            "organisation_id", flat=True
        )
    )
    service_ids = {s.service_id for g in goals for s in g.steps if s.service_id}
    providers = dict(Service.objects.filter(pk__in=service_ids, active=True).values_list("pk", "provider_id"))
    for gi, goal in enumerate(goals):
        prefix = f"goals[{gi}]"
        require(goal.area in GoalArea.values, f"{prefix}.area", _("Choose the area of the goal."))
        require(bool(goal.title.strip()), f"{prefix}.title", _("Write the goal."))
        for si, step in enumerate(goal.steps):
            sp = f"{prefix}.steps[{si}]"
            require(bool(step.description.strip()), f"{sp}.description", _("Describe the step."))
            require(step.kind in StepKind.values, f"{sp}.kind", _("Choose whether the step is an action or a service."))
            require(step.status in StepStatus.values, f"{sp}.status", _("Choose the status of the step."))
            if step.kind == StepKind.SERVICE:
                require(step.service_id in providers, f"{sp}.service", _("Choose an active service."))
            allowed_owners = set(participants)
            if step.service_id in providers:
                allowed_owners.add(providers[step.service_id])
            require(
                step.owned_by_client or step.owner_organisation_id in allowed_owners,
                f"{sp}.owner_organisation",
                _("A step is owned by the client, a participating organisation or the service's provider."),
            )


@client_data_service
def plan_add_version(
    *,
    actor: Any,
    episode_id: int,
    expected_version: int,
    employment_goal: str,
    goals: Sequence[GoalInput],
    rehabilitative_work_goal: str = "",
    follow_up: str = "",
    change_summary: str = "",
    next_review_due: dt.date | None = None,
) -> PlanVersion:
    """Save a new version of the episode's plan.

    ``expected_version`` is the version the editor started from (0 for the first). If someone saved another
    version meanwhile, :class:`VersionConflict` is raised and nothing is written: no edit is silently lost.
    """
    episode = JointServiceEpisode.objects.select_for_update().filter(pk=episode_id).first()
    if episode is None:
        raise _denied()
    purpose = _("Edit the multi-sector plan")
    authorize(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=episode)
    if staff_of(actor) is None:
        raise deny(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=episode,
                   message=_("Only the participating professionals edit the plan; clients propose changes."),
                   code="role")
    if not episode.is_open:
        raise IllegalTransition(_("The episode is closed; its plan can no longer change."), code="episode_closed")
    plan, _created = Plan.objects.get_or_create(episode=episode)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.current_version != expected_version:
        raise VersionConflict(
            _("Someone else saved a newer version of this plan. Reload it and make your changes again."),
            current_version=plan.current_version,
        )
    _validate_content(episode, employment_goal, goals)
    today = timezone.localdate()
    review_due = next_review_due or add_months(today, settings.POLKU["PLAN_REVIEW_MONTHS"])
    require(review_due >= today, "next_review_due", _("The next review cannot be in the past."))
    version = PlanVersion(
        plan=plan, number=expected_version + 1, employment_goal=employment_goal.strip(),
        rehabilitative_work_goal=rehabilitative_work_goal.strip(), follow_up=follow_up.strip(),
        change_summary=change_summary.strip(), created_by=actor, created_at=timezone.now(),
    )
    validated(version)
    goal_rows, step_rows = _content_rows(goals)
    # The conditional update is the guard even where row locks are not available (SQLite).
    if Plan.objects.filter(pk=plan.pk, current_version=expected_version).update(
        current_version=expected_version + 1, next_review_due=review_due
    ) != 1:
        raise VersionConflict(_("Someone else saved a newer version of this plan. Reload it and make your "
                                "changes again."), current_version=expected_version + 1)
    version.save()
    for goal_row, steps in zip(goal_rows, step_rows, strict=True):
        goal_row.plan_version = version
        goal_row.save()
        for step in steps:
            step.goal = goal_row
        Step.objects.bulk_create(steps)
    if episode.status == EpisodeStatus.MAPPING:
        episode.status = EpisodeStatus.ACTIVE
        episode.save(update_fields=["status"])
    return version


def _content_rows(goals: Sequence[GoalInput]) -> tuple[list[Goal], list[list[Step]]]:
    """Goal and step rows for the content, each validated by the model (lengths, choices, dates)."""
    goal_rows, step_rows = [], []
    for gi, goal in enumerate(goals):
        goal_row = Goal(position=gi, area=goal.area, title=goal.title.strip(), description=goal.description.strip())
        _validated_as(goal_row, f"goals[{gi}]", exclude=["plan_version"])
        steps = []
        for si, s in enumerate(goal.steps):
            if s.due_date is not None:
                require_date(s.due_date, f"goals[{gi}].steps[{si}].due_date")
            step = Step(position=si, kind=s.kind, description=s.description.strip(), service_id=s.service_id,
                        owner_organisation_id=s.owner_organisation_id, owned_by_client=s.owned_by_client,
                        due_date=s.due_date, status=s.status)
            _validated_as(step, f"goals[{gi}].steps[{si}]", exclude=["goal"])
            steps.append(step)
        goal_rows.append(goal_row)
        step_rows.append(steps)
    return goal_rows, step_rows


def _validated_as(obj: Any, prefix: str, *, exclude: list[str]) -> None:
    try:
        validated(obj, exclude=exclude)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, errors={f"{prefix}.{k}": v for k, v in exc.errors.items()}) from exc


def _current_version(plan_version_id: int) -> PlanVersion:
    version = PlanVersion.objects.select_related("plan__episode").filter(pk=plan_version_id).first()
    if version is None:
        raise _denied()
    return version


@client_data_service
def plan_sign(*, actor: Any, plan_version_id: int, client_agreed_in_person: bool = False) -> PlanSignoff:
    """Sign off a plan version: the client (in the portal, or recorded in person by staff) or the responsible
    person of a participating organisation. Only the current version can be signed."""
    version = _current_version(plan_version_id)
    episode = version.plan.episode
    purpose = _("Agree the multi-sector plan")
    authorize(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=version)
    plan = Plan.objects.select_for_update().get(pk=version.plan_id)  # no new version may slip in meanwhile
    if version.number != plan.current_version:
        raise IllegalTransition(_("Only the current version of the plan can be agreed."), code="stale_version")
    if not episode.is_open:
        raise IllegalTransition(_("The episode is closed."), code="episode_closed")
    staff = staff_of(actor)
    if client_of(actor) is not None or client_agreed_in_person:
        party, organisation_id = SignoffParty.CLIENT, None
        existing = version.signoffs.filter(party=SignoffParty.CLIENT)
    else:
        assert staff is not None
        if not EpisodeParticipant.objects.filter(
            episode=episode, organisation_id=staff.organisation_id, responsible_person=staff, left_on__isnull=True
        ).exists():
            raise deny(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=version,
                       message=_("Only the organisation's named responsible person can agree the plan."),
                       code="not_responsible")
        party, organisation_id = SignoffParty.ORGANISATION, staff.organisation_id
        existing = version.signoffs.filter(party=party, organisation_id=organisation_id)
    if existing.exists():
        raise InvalidInput(_("This version has already been agreed by this party."), code="already_signed")
    return PlanSignoff.objects.create(plan_version=version, party=party, organisation_id=organisation_id,
                                      signed_by=actor, signed_at=timezone.now())


@client_data_service
def plan_request_review(*, actor: Any, plan_id: int, trigger: str = ReviewTrigger.CLIENT_REQUEST,
                        notes: str = "") -> PlanReview:
    """Ask for a review of the plan; a client may always ask."""
    plan = Plan.objects.select_related("episode").filter(pk=plan_id).first()
    if plan is None:
        raise _denied()
    authorize(actor, plan.episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE,
              purpose=_("Request a plan review"), obj=plan)
    require(trigger in ReviewTrigger.values, "trigger", _("Choose why the plan is reviewed."))
    if client_of(actor) is not None:
        trigger = ReviewTrigger.CLIENT_REQUEST
    return PlanReview.objects.create(plan=plan, trigger=trigger, requested_at=timezone.now(), notes=notes.strip())


@client_data_service
def plan_record_review(*, actor: Any, plan_id: int, held_on: dt.date, notes: str = "",
                       review_id: int | None = None, next_review_due: dt.date | None = None) -> PlanReview:
    """Record that the plan was reviewed (answering a request, or a scheduled review) and set the next one."""
    plan = Plan.objects.select_for_update().select_related("episode").filter(pk=plan_id).first()
    if plan is None:
        raise _denied()
    purpose = _("Review the multi-sector plan")
    authorize(actor, plan.episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=plan)
    if staff_of(actor) is None:
        raise deny(actor, plan.episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=plan,
                   message=_("Only staff record a review."), code="role")
    require_date(held_on, "held_on")
    require(held_on <= timezone.localdate(), "held_on", _("A review cannot be recorded in the future."))
    if review_id is not None:
        review = PlanReview.objects.filter(pk=review_id, plan=plan, held_on__isnull=True).first()
        require(review is not None, "review", _("No open review request with this number."))
        assert review is not None
    else:
        review = PlanReview(plan=plan, trigger=ReviewTrigger.SCHEDULED, requested_at=timezone.now())
    review.held_on = held_on
    review.reviewed_by = actor
    review.notes = "\n".join(filter(None, [review.notes, notes.strip()]))
    current = plan.versions.filter(number=plan.current_version).first()
    review.resulting_version = current
    review.save()
    plan.next_review_due = next_review_due or add_months(held_on, settings.POLKU["PLAN_REVIEW_MONTHS"])
    plan.save(update_fields=["next_review_due"])
    return review


@client_data_service
def step_set_status(*, actor: Any, step_id: int, status: str) -> Step:
    """Mark progress on a step of the current plan version: its owning organisation, or the client for the
    client's own steps (which a participating professional may also mark on the client's behalf)."""
    step = Step.objects.select_related("goal__plan_version__plan__episode").filter(pk=step_id).first()
    if step is None:
        raise _denied()
    version = step.goal.plan_version
    episode = version.plan.episode
    purpose = _("Update progress of a plan step")
    authorize(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=step)
    require(status in StepStatus.values, "status", _("Choose the status of the step."))
    plan = Plan.objects.select_for_update().get(pk=version.plan_id)
    if version.number != plan.current_version or not episode.is_open:
        raise IllegalTransition(_("Only steps of the current plan can change."), code="stale_version")
    staff = staff_of(actor)
    if staff is None and not step.owned_by_client:
        raise deny(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=step,
                   message=_("You can mark only your own steps done."), code="not_owner")
    if staff is not None and step.owner_organisation_id not in (staff.organisation_id, None):
        raise deny(actor, episode.client_id, PLAN_CATEGORY, AccessAction.UPDATE, purpose=purpose, obj=step,
                   message=_("Only the step's responsible organisation can update it."), code="not_owner")
    step.status = status
    step.status_changed_at = timezone.now()
    step.save(update_fields=["status", "status_changed_at"])
    return step
