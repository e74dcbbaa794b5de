"""Reads of the multi-sector plan. Each read is checked by the access policy and written to the access log.

The plan is employment data (``services.PLAN_CATEGORY``): whoever may see the client's employment data sees the
plan, its versions, goals, steps, sign-offs and reviews.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from polku.access.policy import Purpose, authorize, visible_clients
from polku.audit.models import AccessAction
from polku.core.errors import AccessDenied
from polku.episodes.models import JointServiceEpisode

from .models import Plan, PlanReview, PlanVersion, Step
from .services import PLAN_CATEGORY


def _denied() -> AccessDenied:
    return AccessDenied(_("You do not have access to this client's data."), code="not_found")


def _version_content(qs: QuerySet[PlanVersion]) -> QuerySet[PlanVersion]:
    return qs.select_related("created_by").prefetch_related("goals__steps", "signoffs")


def _plan_content(qs: QuerySet[Plan]) -> QuerySet[Plan]:
    """Plans with their episode, reviews and current version (goals, steps, sign-offs) in a fixed number of
    queries however many plans: the current version is ``plan.current_versions`` (empty before the first)."""
    current = _version_content(PlanVersion.objects.filter(number=F("plan__current_version")))
    return qs.select_related("episode").prefetch_related(
        Prefetch("versions", queryset=current, to_attr="current_versions"), "reviews",
    )


def plans_visible_to(
    actor: Any, *, episode_id: int | None = None, client_id: int | None = None, purpose: Purpose | None = None,
) -> QuerySet[Plan]:
    """The plans of the clients whose employment data the actor may see, with their current content.

    With ``episode_id`` or ``client_id`` this is a read of that one client: checked and logged here (refused as
    "not found" when the episode does not exist or the actor may not see the client). Without either, the caller
    logs the rows it shows (``log_list_access``)."""
    purpose = purpose or _("View the multi-sector plan")
    qs = Plan.objects.all()
    if episode_id is not None:
        episode = JointServiceEpisode.objects.filter(pk=episode_id).first()
        if episode is None:
            raise _denied()
        authorize(actor, episode.client_id, PLAN_CATEGORY, AccessAction.VIEW, purpose=purpose, obj=episode)
        qs = qs.filter(episode_id=episode_id)
        if client_id is not None and client_id != episode.client_id:
            qs = qs.none()
    elif client_id is not None:
        authorize(actor, client_id, PLAN_CATEGORY, AccessAction.VIEW, purpose=purpose)
        qs = qs.filter(episode__client_id=client_id)
    else:
        qs = qs.filter(episode__client_id__in=visible_clients(actor, PLAN_CATEGORY).values("pk"))
    return _plan_content(qs)


def _plan_checked(actor: Any, plan_id: int, purpose: Purpose) -> Plan:
    plan = _plan_content(Plan.objects.filter(pk=plan_id)).first()
    if plan is None:
        raise _denied()
    authorize(actor, plan.episode.client_id, PLAN_CATEGORY, AccessAction.VIEW, purpose=purpose, obj=plan)
    return plan


def plan_get(*, actor: Any, plan_id: int, purpose: Purpose | None = None) -> Plan:
    """One plan with its current version's goals, steps and sign-offs and its reviews, checked and logged."""
    return _plan_checked(actor, plan_id, purpose or _("View the multi-sector plan"))


def plan_versions(*, actor: Any, plan_id: int, purpose: Purpose | None = None) -> QuerySet[PlanVersion]:
    """All versions of a plan with their content (the read of the plan is checked and logged once)."""
    plan = _plan_checked(actor, plan_id, purpose or _("View the versions of the multi-sector plan"))
    return _version_content(PlanVersion.objects.filter(plan=plan))


def plan_version_get(*, actor: Any, plan_id: int, number: int, purpose: Purpose | None = None) -> PlanVersion:
    """One version of a plan, by its number, with its content, checked and logged. A version that does not exist
    is "not found" like one of a plan the actor may not see."""
    version = _version_content(
        PlanVersion.objects.select_related("plan__episode").filter(plan_id=plan_id, number=number)
    ).first()
    if version is None:
        raise _denied()
    authorize(actor, version.plan.episode.client_id, PLAN_CATEGORY, AccessAction.VIEW,
              purpose=purpose or _("View a version of the multi-sector plan"), obj=version)
    return version


def plan_version_id(*, plan_id: int, number: int) -> int | None:
    """The id of a plan's version by number, or ``None``; not a read of its content (the service that is given
    the id checks and logs the access)."""
    return PlanVersion.objects.filter(plan_id=plan_id, number=number).values_list("pk", flat=True).first()


def plan_episode_id(*, plan_id: int) -> int | None:
    """The episode of a plan, or ``None``; not a read of its content (the service that is given the episode
    checks and logs the access)."""
    return Plan.objects.filter(pk=plan_id).values_list("episode_id", flat=True).first()


@dataclass
class PlanEditorData:
    """What the plan editor shows: the episode with its participants, the plan (``None`` before the first
    version), every version with its content (oldest first) and the reviews (newest first)."""

    episode: JointServiceEpisode
    plan: Plan | None
    versions: list[PlanVersion] = field(default_factory=list)
    reviews: list[PlanReview] = field(default_factory=list)

    @property
    def current(self) -> PlanVersion | None:
        return self.versions[-1] if self.versions else None


def plan_for_editor(*, actor: Any, episode_id: int, purpose: Purpose | None = None) -> PlanEditorData:
    """An episode's plan with all its versions and reviews, for the editor: checked and logged once as a read of
    the client's employment data (the plan); refused as "not found" like a missing episode."""
    episode = JointServiceEpisode.objects.filter(pk=episode_id).select_related("client").prefetch_related(
        "participants__organisation", "participants__responsible_person__user"
    ).first()
    if episode is None:
        raise _denied()
    authorize(actor, episode.client_id, PLAN_CATEGORY, AccessAction.VIEW,
              purpose=purpose or _("View the multi-sector plan"), obj=episode)
    plan = Plan.objects.filter(episode=episode).first()
    if plan is None:
        return PlanEditorData(episode=episode, plan=None)
    versions = list(_version_content(PlanVersion.objects.filter(plan=plan)).prefetch_related(
        "goals__steps__owner_organisation", "goals__steps__service", "signoffs__organisation", "signoffs__signed_by",
    ).order_by("number"))
    reviews = list(plan.reviews.select_related("reviewed_by", "resulting_version").order_by("-requested_at", "-pk"))
    return PlanEditorData(episode=episode, plan=plan, versions=versions, reviews=reviews)


@dataclass
class StepGroup:
    """The steps of a plan version that one organisation is responsible for (``organisation`` ``None``: the
    client's own steps)."""

    organisation: Any
    steps: list[Step] = field(default_factory=list)


def plan_steps_by_organisation(*, version: PlanVersion) -> list[StepGroup]:
    """The steps of ``version`` grouped by responsible organisation (organisations by name, the client's own
    steps last), each with its goal, owner and service, in one query. ``version`` comes from a selector above,
    which checked and logged the read of the plan."""
    steps = (Step.objects.filter(goal__plan_version=version)
             .select_related("goal", "owner_organisation", "service")
             .order_by("goal__position", "goal_id", "position", "pk"))
    groups: dict[Any, StepGroup] = {}
    for step in steps:
        key = None if step.owned_by_client and step.owner_organisation_id is None else step.owner_organisation_id
        if key not in groups:
            groups[key] = StepGroup(organisation=step.owner_organisation if key is not None else None)
        groups[key].steps.append(step)
    return sorted(groups.values(), key=lambda g: (g.organisation is None, str(g.organisation or "")))


__all__ = [
    "PlanEditorData",
    "StepGroup",
    "plan_episode_id",
    "plan_for_editor",
    "plan_get",
    "plan_steps_by_organisation",
    "plan_version_get",
    "plan_version_id",
    "plan_versions",
    "plans_visible_to",
]
