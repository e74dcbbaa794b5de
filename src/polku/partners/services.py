"""Employment partners' business rules: job preferences, suggestions, proposals, placements (docs/partners.md).

Every read and write of a client's data is authorised (employment data) and logged by the access policy; a
proposal needs the client's agreement; a placement becomes an employment-status period of the client.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import authorize, client_data_service, staff_of
from polku.audit.models import AccessAction
from polku.clients.models import Client, EmploymentStatus, EmploymentStatusPeriod
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput, VersionConflict
from polku.core.validation import require, validated

from . import matching
from .models import (
    PROPOSAL_TRANSITIONS,
    Accommodation,
    JobPreferences,
    Opening,
    OpeningKind,
    OpeningStatus,
    Placement,
    Proposal,
    ProposalStatus,
    PublicContract,
    Skill,
    TargetGroup,
    WorkLanguage,
)

CATEGORY = DataCategory.EMPLOYMENT
SKILLS_FILE = Path(__file__).parent / "data" / "skills.json"
#: The employment status a placement of each kind is recorded as.
PLACEMENT_STATUS = {
    OpeningKind.SUPPORTED: EmploymentStatus.SUBSIDISED_WORK,
    OpeningKind.SUBSIDISED: EmploymentStatus.SUBSIDISED_WORK,
    OpeningKind.OPEN_MARKET: EmploymentStatus.EMPLOYED_OPEN_MARKET,
}


def ensure_skills() -> int:
    """Load the skills vocabulary (data/skills.json) into the database; returns how many were added."""
    if not SKILLS_FILE.exists():
        return 0
    rows = json.loads(SKILLS_FILE.read_text(encoding="utf-8"))
    known = set(Skill.objects.values_list("code", flat=True))
    new = [Skill(code=r["code"], label_fi=r["label_fi"], label_sv=r["label_sv"], label_en=r["label_en"],
                 esco_uri=r.get("esco_uri", "")) for r in rows if r["code"] not in known]
    Skill.objects.bulk_create(new)
    return len(new)


def _client(client_id: int) -> Client:
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    return client


@client_data_service
def suggest_openings(*, actor: Any, client_id: int, limit: int = 10) -> tuple[matching.ClientProfile,
                                                                                list[matching.Match]]:
    """The best openings for the client, with reasons — decision support, never applied by itself."""
    require(1 <= limit <= 100, "limit", _("Ask for 1 to 100 suggestions."))
    client = _client(client_id)
    authorize(actor, client, CATEGORY, AccessAction.VIEW, purpose=_("Suggest suitable job openings"))
    profile = matching.profile_of(client)
    return profile, matching.rank_openings(profile, limit=limit)


@client_data_service
def set_job_preferences(*, actor: Any, client_id: int, expected_version: int, hours_min: int, hours_max: int,
                        max_commute_km: int, kinds: Sequence[str] = (), languages: Sequence[str] = (),
                        accommodations: Sequence[int] = (), skill_codes: Sequence[str] = (),
                        notes: str = "") -> JobPreferences:
    """Record the client's wishes and needs for work (optimistic concurrency: ``expected_version`` is the version
    the form was opened with, 0 for none)."""
    client = _client(client_id)
    authorize(actor, client, CATEGORY, AccessAction.UPDATE, purpose=_("Record the client's job preferences"))
    errors: dict[str, list[str]] = {}

    def check(ok: bool, field: str, message: Any) -> None:
        if not ok:
            errors.setdefault(field, []).append(str(message))

    check(0 <= hours_min <= 60 and 1 <= hours_max <= 60, "hours_max", _("Hours a week must be between 0 and 60."))
    check(hours_min <= hours_max, "hours_min", _("The least hours cannot be more than the most hours."))
    check(0 <= max_commute_km <= 500, "max_commute_km", _("The longest commute must be 0–500 km."))
    check(set(kinds) <= set(OpeningKind.values), "kinds", _("Unknown kind of job."))
    check(set(languages) <= set(WorkLanguage.values) - {"any"}, "languages", _("Unknown working language."))
    check(set(accommodations) <= set(Accommodation.values), "accommodations", _("Unknown accommodation."))
    skills = list(Skill.objects.filter(code__in=list(skill_codes)))
    check(len(skills) == len(set(skill_codes)), "skills", _("Unknown skill."))
    if errors:
        raise InvalidInput(_("Check the job preferences."), errors=errors)
    prefs = JobPreferences.objects.select_for_update().filter(client=client).first()
    current = prefs.version if prefs else 0
    if current != expected_version:
        raise VersionConflict(_("Someone else changed the job preferences. Reload them and make your changes "
                                "again."), current_version=current)
    mask = 0
    for flag in accommodations:
        mask |= int(flag)
    values = {"hours_min": hours_min, "hours_max": hours_max, "max_commute_km": max_commute_km,
              "kinds": sorted(set(kinds)), "languages": sorted(set(languages)), "accommodations_needed": mask,
              "notes": notes.strip(), "updated_at": timezone.now(), "updated_by": actor}
    if prefs is None:
        prefs = JobPreferences(client=client, version=1, **values)
        validated(prefs)
        prefs.save()
    else:
        if JobPreferences.objects.filter(pk=prefs.pk, version=expected_version).update(
                version=expected_version + 1, **values) != 1:
            raise VersionConflict(_("Someone else changed the job preferences. Reload them and make your changes "
                                    "again."), current_version=expected_version + 1)
        prefs.refresh_from_db()
    prefs.skills.set(skills)
    return prefs


@client_data_service
def propose(*, actor: Any, client_id: int, opening_id: int, client_agreed: bool) -> Proposal:
    """Propose the client to an opening. Only with the client's agreement, only an opening the client may be
    suggested (no hard constraint broken), once per opening."""
    staff = staff_of(actor)
    client = _client(client_id)
    authorize(actor, client, CATEGORY, AccessAction.UPDATE, purpose=_("Propose the client to a job opening"))
    if staff is None:
        raise AccessDenied(_("Only professionals propose clients to openings."), code="role")
    require(client_agreed, "client_agreed",
            _("Ask the client first: a client is proposed to an employer only with their agreement."))
    opening = Opening.objects.select_for_update().filter(pk=opening_id).first()
    if opening is None:
        raise InvalidInput(_("No such opening."), errors={"opening": [str(_("No such opening."))]})
    profile = matching.profile_of(client)
    broken = matching.violations(profile, matching.OpeningFacts.of(opening), timezone.localdate())
    if broken:
        raise IllegalTransition(_("This opening does not suit the client: %(reasons)s.")
                                % {"reasons": ", ".join(constraint_text(b) for b in broken)}, code="constraint")
    if Proposal.objects.filter(client=client, opening=opening).exists():
        raise IllegalTransition(_("The client has already been proposed to this opening."), code="duplicate")
    parts, _d = matching.score_parts(profile, matching.OpeningFacts.of(opening))
    return Proposal.objects.create(client=client, opening=opening, proposed_by=actor,
                                   organisation_id=staff.organisation_id, client_agreed_on=timezone.localdate(),
                                   score=matching.score(parts))


@client_data_service
def set_proposal_status(*, actor: Any, proposal_id: int, status: str, expected_status: str | None = None
                        ) -> Proposal:
    """Record the employer's answer to a proposal (invited to an interview, accepted, declined) or withdraw it.

    The proposal's client must be one whose employment data ``actor`` may change (the access policy decides and
    logs it); a proposal the actor may not see is answered as one that does not exist. Only the moves in
    :data:`PROPOSAL_TRANSITIONS` are allowed. With ``expected_status`` (the status the person saw), a proposal
    someone else changed in the meantime is refused with a conflict rather than overwritten."""
    proposal = Proposal.objects.select_for_update().filter(pk=proposal_id).first()
    if proposal is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, proposal.client, CATEGORY, AccessAction.UPDATE,
              purpose=_("Record the employer's answer to a job proposal"))
    if staff_of(actor) is None:
        raise AccessDenied(_("Only professionals record the answers to proposals."), code="role")
    require(status in ProposalStatus.values, "status", _("Choose a status from the list."))
    if expected_status is not None and expected_status != proposal.status:
        raise IllegalTransition(_("Someone else changed this proposal. Reload the page and check its status."),
                                code="changed")
    if status not in PROPOSAL_TRANSITIONS[proposal.status]:
        raise IllegalTransition(
            _("A proposal that is “%(now)s” cannot become “%(next)s”.")
            % {"now": proposal.get_status_display(), "next": ProposalStatus(status).label}, code="transition")
    proposal.status = status
    proposal.status_changed_at = timezone.now()
    proposal.status_changed_by = actor
    proposal.save(update_fields=["status", "status_changed_at", "status_changed_by"])
    return proposal


@client_data_service
def client_proposals(*, actor: Any, client_id: int) -> list[Proposal]:
    """The client's proposals to employers, newest first (a read of their employment data, logged)."""
    client = _client(client_id)
    authorize(actor, client, CATEGORY, AccessAction.VIEW, purpose=_("See the client's job proposals"))
    return list(Proposal.objects.filter(client=client).order_by("-created_at", "-pk"))


def constraint_text(code: str) -> str:
    texts = {
        "not_open": _("it is no longer open"), "starts_too_late": _("it starts too late"),
        "language": _("its working language"), "hours": _("its hours"), "commute": _("the commute"),
        "physical": _("its physical demands"), "cognitive": _("its cognitive demands"),
        "accommodations": _("the adjustments the client needs"), "kind": _("the kind of job"),
    }
    return str(texts.get(code, code))


@client_data_service
def record_placement(*, actor: Any, client_id: int, employer_id: int, kind: str, start_date: dt.date,
                     hours_per_week: int, end_date: dt.date | None = None, opening_id: int | None = None,
                     contract_id: int | None = None, target_groups: Sequence[str] = ()) -> Placement:
    """Record that the client starts work. The placement is also an employment-status period (subsidised work or
    open-market employment), and the client's open period before it ends the day before."""
    client = _client(client_id)
    authorize(actor, client, CATEGORY, AccessAction.UPDATE, purpose=_("Record a job placement"))
    errors: dict[str, list[str]] = {}
    if kind not in OpeningKind.values:
        errors["kind"] = [str(_("Unknown kind of job."))]
    if end_date is not None and end_date < start_date:
        errors["end_date"] = [str(_("The end cannot be before the start."))]
    if not 1 <= hours_per_week <= 60:
        errors["hours_per_week"] = [str(_("Hours a week must be between 1 and 60."))]
    if not set(target_groups) <= set(TargetGroup.values):
        errors["target_groups"] = [str(_("Unknown target group."))]
    contract = PublicContract.objects.filter(pk=contract_id).first() if contract_id else None
    if contract_id and contract is None:
        errors["contract"] = [str(_("No such contract."))]
    elif contract is not None and contract.supplier_id != employer_id:
        errors["contract"] = [str(_("The contract's supplier is another employer."))]
    elif contract is not None and not contract.start_date <= start_date <= contract.end_date:
        errors["start_date"] = [str(_("The placement must start during the contract."))]
    opening = Opening.objects.select_for_update().filter(pk=opening_id).first() if opening_id else None
    if opening_id and opening is None:
        errors["opening"] = [str(_("No such opening."))]
    elif opening is not None and opening.employer_id != employer_id:
        errors["opening"] = [str(_("The opening is another employer's."))]
    if errors:
        raise InvalidInput(_("Check the placement."), errors=errors)
    if opening is not None:
        if opening.status != OpeningStatus.OPEN or opening.places_taken >= opening.places:
            raise IllegalTransition(_("The opening has no places left."), code="full")
        Opening.objects.filter(pk=opening.pk).update(places_taken=F("places_taken") + 1, version=F("version") + 1)
        opening.refresh_from_db()
        if opening.places_taken >= opening.places:
            Opening.objects.filter(pk=opening.pk).update(status=OpeningStatus.FILLED)
    status = PLACEMENT_STATUS[OpeningKind(kind)]
    if EmploymentStatusPeriod.objects.filter(client=client, status=status, start_date=start_date).exists():
        raise IllegalTransition(_("The client already has this status from that day."), code="duplicate")
    with transaction.atomic():
        EmploymentStatusPeriod.objects.filter(client=client, start_date__lt=start_date, end_date__isnull=True).update(
            end_date=start_date - dt.timedelta(days=1))
        period = EmploymentStatusPeriod.objects.create(client=client, status=status, start_date=start_date,
                                                       end_date=end_date, source="placement")
        placement = Placement(client=client, employer_id=employer_id, opening=opening, contract=contract, kind=kind,
                              start_date=start_date, end_date=end_date, hours_per_week=hours_per_week,
                              target_groups=sorted(set(target_groups)), status_period=period, recorded_by=actor)
        validated(placement)
        placement.save()
    return placement


@client_data_service
def end_placement(*, actor: Any, placement_id: int, end_date: dt.date, expected_version: int) -> Placement:
    """The placement ended: so does its employment-status period."""
    placement = Placement.objects.select_for_update().filter(pk=placement_id).first()
    if placement is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, placement.client_id, CATEGORY, AccessAction.UPDATE, purpose=_("Record a job placement"))
    if placement.version != expected_version:
        raise VersionConflict(_("Someone else changed this placement. Reload it."), current_version=placement.version)
    require(end_date >= placement.start_date, "end_date", _("The end cannot be before the start."))
    Placement.objects.filter(pk=placement.pk).update(end_date=end_date, version=F("version") + 1)
    if placement.status_period_id:
        EmploymentStatusPeriod.objects.filter(pk=placement.status_period_id).update(end_date=end_date)
    placement.refresh_from_db()
    return placement


# --- added for the web UI and the API (issue 10) ----------------------------------------------------------------


def skill_label(skill: Skill) -> str:
    """The skill's name in the active language (Finnish when the language is none of the three)."""
    from django.utils.translation import get_language

    language = (get_language() or "fi")[:2]
    return str(getattr(skill, f"label_{language}", "") or skill.label_fi)


@client_data_service
def add_training_step(*, actor: Any, client_id: int, opening_id: int,
                      expected_version: int | None = None) -> Any:
    """Add a training step that would close the client's skills gap for an opening to the client's plan, as a new
    plan version (``polku.plans.services.plan_add_version``): the current version's goals and steps are copied and
    one step, owned by the actor's organisation, is added under the plan's first employment goal (a new employment
    goal when there is none). ``expected_version`` is the plan version the user saw (default: the current one), so
    a version saved meanwhile by someone else is a conflict. The episode must already have a plan."""
    from polku.episodes.models import EpisodeStatus, JointServiceEpisode
    from polku.plans import services as plan_services
    from polku.plans.models import GoalArea, Plan, PlanVersion

    client = _client(client_id)
    purpose = _("Add a training step to the plan")
    authorize(actor, client, CATEGORY, AccessAction.VIEW, purpose=purpose)
    staff = staff_of(actor)
    if staff is None:
        raise AccessDenied(_("Only professionals edit the plan."), code="role")
    opening = Opening.objects.filter(pk=opening_id).first()
    if opening is None:
        raise InvalidInput(_("No such opening."), errors={"opening": [str(_("No such opening."))]})
    episode = (JointServiceEpisode.objects.filter(client=client).exclude(status=EpisodeStatus.CLOSED)
               .order_by("-start_date", "-pk").first())
    plan = Plan.objects.filter(episode=episode).first() if episode is not None else None
    if episode is None or plan is None or plan.current_version == 0:
        raise IllegalTransition(_("The client has no plan yet. Draw up the plan first; then the training step can "
                                  "be added to it."), code="no_plan")
    if expected_version is not None and expected_version != plan.current_version:
        raise VersionConflict(_("Someone else saved a newer version of this plan. Reload it and make your changes "
                                "again."), current_version=plan.current_version)
    profile = matching.profile_of(client)
    missing = list(opening.skills.exclude(pk__in=list(profile.skills)).order_by("code"))
    if not missing:
        raise IllegalTransition(_("The client already has every skill this job needs."), code="no_gap")
    description = str(_("Training: %(skills)s (for %(title)s)") % {
        "skills": ", ".join(skill_label(s) for s in missing), "title": opening.title})[:500]
    current = (PlanVersion.objects.filter(plan=plan, number=plan.current_version)
               .prefetch_related("goals__steps").get())
    goals: list[plan_services.GoalInput] = []
    added = False
    for goal in current.goals.all():
        steps = [plan_services.StepInput(description=s.description, owner_organisation_id=s.owner_organisation_id,
                                         owned_by_client=s.owned_by_client, kind=s.kind, service_id=s.service_id,
                                         due_date=s.due_date, status=s.status) for s in goal.steps.all()]
        if any(s.description == description for s in steps):
            raise IllegalTransition(_("This training step is already in the plan."), code="duplicate")
        if goal.area == GoalArea.EMPLOYMENT and not added:
            steps.append(plan_services.StepInput(description=description,
                                                 owner_organisation_id=staff.organisation_id))
            added = True
        goals.append(plan_services.GoalInput(area=goal.area, title=goal.title, description=goal.description,
                                             steps=tuple(steps)))
    if not added:
        goals.append(plan_services.GoalInput(
            area=GoalArea.EMPLOYMENT, title=str(_("Find suitable work")),
            steps=(plan_services.StepInput(description=description, owner_organisation_id=staff.organisation_id),)))
    review = plan.next_review_due if plan.next_review_due and plan.next_review_due >= timezone.localdate() else None
    return plan_services.plan_add_version(
        actor=actor, episode_id=episode.pk,
        expected_version=plan.current_version if expected_version is None else expected_version,
        employment_goal=current.employment_goal, goals=goals,
        rehabilitative_work_goal=current.rehabilitative_work_goal, follow_up=current.follow_up,
        change_summary=str(_("Added a training step for the job opening %(title)s.") % {"title": opening.title}),
        next_review_due=review)
