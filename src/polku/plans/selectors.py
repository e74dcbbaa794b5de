"""Reads of the multi-sector plan. Each read is checked by the access policy and written to the access log.

The plan is employment data (``services.PLAN_CATEGORY``): whoever may see the client's employment data sees the
plan, its versions, goals, steps, sign-offs and reviews.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from polku.access.policy import Purpose, authorize, visible_clients
from polku.audit.models import AccessAction
from polku.core.errors import AccessDenied
from polku.episodes.models import JointServiceEpisode

from .models import Plan, PlanVersion
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


__all__ = [
    "plan_episode_id",
    "plan_get",
    "plan_version_get",
    "plan_version_id",
    "plan_versions",
    "plans_visible_to",
]
