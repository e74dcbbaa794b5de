"""Reads of the client portal: the client's own path, plan, progress, consents and access log.

Each read goes through the selectors of the app that owns the data, which check it with the access policy and
write it to the access log; these only gather what a page shows. Anyone but a client is refused (shown as "not
found")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import client_of
from polku.audit.models import AccessLog
from polku.clients.models import Client, Consent
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied
from polku.episodes.models import OPEN_STATUSES, EpisodeParticipant, JointServiceEpisode
from polku.organisations.models import Organisation
from polku.plans.models import Goal, Plan, PlanVersion, Step, StepStatus
from polku.referrals.models import Referral, ReferralStatus

#: The instrument a client fills in as their self-assessment: Polku's own life-situation mapping, written for
#: the client to answer (docs/portal.md).
SELF_ASSESSMENT_INSTRUMENT = "life-situation"

OPEN_STEP_STATUSES = (StepStatus.PLANNED, StepStatus.IN_PROGRESS)
#: Referrals that are an appointment to the client: the provider has taken them on.
APPOINTMENT_REFERRAL_STATUSES = (ReferralStatus.ACCEPTED, ReferralStatus.WAITLISTED, ReferralStatus.STARTED)


def own_client(actor: Any) -> Client:
    """The client whose portal account ``actor`` is; anyone else is refused (shown as "not found")."""
    own = client_of(actor)
    if own is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_own_data")
    return own


@dataclass
class StepView:
    """A step of the plan as the client sees it: who is responsible (the client or an organisation and its
    named person) and whether the client can mark it done."""

    step: Step
    goal: Goal
    organisation: Organisation | None
    person: str
    today: dt.date

    @property
    def is_mine(self) -> bool:
        return bool(self.step.owned_by_client)

    @property
    def is_open(self) -> bool:
        return self.step.status in OPEN_STEP_STATUSES

    @property
    def can_mark_done(self) -> bool:
        return self.is_mine and self.is_open

    @property
    def overdue(self) -> bool:
        return self.is_open and self.step.due_date is not None and self.step.due_date < self.today


@dataclass
class GoalView:
    goal: Goal
    steps: list[StepView] = field(default_factory=list)


@dataclass
class Contact:
    name: str
    title: str
    organisation: Organisation


@dataclass
class PlanView:
    plan: Plan | None
    version: PlanVersion | None
    goals: list[GoalView] = field(default_factory=list)

    @property
    def steps(self) -> list[StepView]:
        return [s for g in self.goals for s in g.steps]

    @property
    def open_steps(self) -> list[StepView]:
        return [s for s in self.steps if s.is_open]

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.step.status == StepStatus.DONE)

    @property
    def next_step(self) -> StepView | None:
        """The earliest open step: the one due first (steps without a date last), in the plan's order."""
        candidates = self.open_steps
        if not candidates:
            return None
        return min(candidates, key=lambda s: (s.step.due_date is None, s.step.due_date or dt.date.max,
                                              s.goal.position, s.step.position, s.step.pk))

    @property
    def client_signed(self) -> bool:
        return self.version is not None and any(s.party == "client" for s in self.version.signoffs.all())

    @property
    def open_review_requests(self) -> list[Any]:
        return [] if self.plan is None else [r for r in self.plan.reviews.all() if r.held_on is None]


@dataclass
class Appointment:
    day: dt.date | None
    what: str
    where: str
    status: str


@dataclass
class PathView:
    client: Client
    episode: JointServiceEpisode | None
    plan: PlanView
    contacts: list[Contact]
    appointments: list[Appointment]


def _current_episode(episodes: list[JointServiceEpisode]) -> JointServiceEpisode | None:
    """The open episode, else the latest."""
    open_ones = [e for e in episodes if e.status in OPEN_STATUSES]
    if open_ones:
        return open_ones[0]
    return max(episodes, key=lambda e: (e.start_date, e.pk)) if episodes else None


def _contacts(episode: JointServiceEpisode | None) -> list[Contact]:
    if episode is None or episode.status not in OPEN_STATUSES:
        return []
    people = []
    for participant in episode.participants.all():
        if participant.left_on is not None:
            continue
        member = participant.responsible_person
        people.append(Contact(name=member.user.get_full_name() or member.user.get_username(), title=member.title,
                              organisation=participant.organisation))
    return people


def _plan_view(actor: Any, client_id: int, episode: JointServiceEpisode | None,
               purpose: Any) -> PlanView:
    from polku.plans.selectors import plans_visible_to

    if episode is None:
        return PlanView(plan=None, version=None)
    plan = plans_visible_to(actor, client_id=client_id, purpose=purpose).filter(episode=episode).first()
    current = getattr(plan, "current_versions", []) if plan is not None else []
    if plan is None or not current:
        return PlanView(plan=plan, version=None)
    version = current[0]
    goals = list(version.goals.all())
    steps = [s for g in goals for s in g.steps.all()]
    organisations = Organisation.objects.in_bulk({s.owner_organisation_id for s in steps if s.owner_organisation_id})
    people = {p.organisation_id: p.responsible_person for p in episode.participants.all() if p.left_on is None}
    today = timezone.localdate()
    views = []
    for goal in goals:
        goal_view = GoalView(goal=goal)
        for step in goal.steps.all():
            member = people.get(step.owner_organisation_id) if step.owner_organisation_id else None
            person = (member.user.get_full_name() or member.user.get_username()) if member else ""
            goal_view.steps.append(StepView(step=step, goal=goal, organisation=organisations.get(
                step.owner_organisation_id) if step.owner_organisation_id else None, person=person, today=today))
        views.append(goal_view)
    return PlanView(plan=plan, version=version, goals=views)


def _episodes(actor: Any, client_id: int, purpose: Any) -> list[JointServiceEpisode]:
    from polku.episodes.selectors import episodes_visible_to

    return list(episodes_visible_to(actor, client_id=client_id, purpose=purpose).order_by("-start_date", "-pk"))


def my_path(*, actor: Any) -> PathView:
    """The portal's front page: the client's next step, plan summary, appointments and contacts (two logged reads:
    the episode as basic data, the plan as employment data)."""
    from polku.referrals.selectors import referrals_visible_to

    own = own_client(actor)
    purpose = _("The client's own portal: my path")
    episode = _current_episode(_episodes(actor, own.pk, purpose))
    plan = _plan_view(actor, own.pk, episode, purpose)
    today = timezone.localdate()
    appointments = [
        Appointment(day=s.step.due_date, what=s.step.description,
                    where=str(_("You")) if s.is_mine else str(s.organisation or ""), status=s.step.get_status_display())
        for s in plan.open_steps if s.step.due_date is not None and s.step.due_date >= today
    ]
    referrals = (referrals_visible_to(actor, client_id=own.pk).filter(status__in=APPOINTMENT_REFERRAL_STATUSES)
                 .select_related("service", "receiving_organisation"))
    for referral in referrals:
        appointments.append(_referral_appointment(referral))
    appointments.sort(key=lambda a: (a.day is None, a.day or dt.date.max))
    return PathView(client=own, episode=episode, plan=plan, contacts=_contacts(episode), appointments=appointments)


def _referral_appointment(referral: Referral) -> Appointment:
    started = referral.started_at or referral.decided_at
    return Appointment(day=timezone.localtime(started).date() if started else None, what=str(referral.service),
                       where=str(referral.receiving_organisation), status=referral.get_status_display())


@dataclass
class MyPlan:
    client: Client
    episode: JointServiceEpisode | None
    plan: PlanView


def my_plan(*, actor: Any) -> MyPlan:
    """The client's current plan with every step and who is responsible for it (two logged reads)."""
    own = own_client(actor)
    purpose = _("The client's own portal: my plan")
    episode = _current_episode(_episodes(actor, own.pk, purpose))
    return MyPlan(client=own, episode=episode, plan=_plan_view(actor, own.pk, episode, purpose))


#: What each kind of information means, in plain words.
CATEGORY_MEANING: dict[str, Any] = {
    DataCategory.BASIC: _("Your name, identity code and contact details, and who takes part in your joint service."),
    DataCategory.EMPLOYMENT: _("Your work and job seeking, your plan and how it is going."),
    DataCategory.SOCIAL: _("What the social services know about your life situation."),
    DataCategory.HEALTH: _("Your health and your ability to work."),
    DataCategory.BENEFITS: _("The benefits Kela pays you."),
    DataCategory.REHABILITATION: _("Your rehabilitation and the services for it."),
}


@dataclass
class ConsentView:
    consent: Consent
    in_force: bool

    @property
    def meaning(self) -> str:
        return str(CATEGORY_MEANING.get(self.consent.category, ""))


@dataclass
class MyConsents:
    client: Client
    consents: list[ConsentView]
    organisations: list[Organisation]  # those a consent can be given to: taking part in the open episode

    @property
    def active(self) -> list[ConsentView]:
        return [c for c in self.consents if c.in_force]

    @property
    def earlier(self) -> list[ConsentView]:
        return [c for c in self.consents if not c.in_force]


def my_consents(*, actor: Any) -> MyConsents:
    from polku.clients.selectors import consents_for_client

    own = own_client(actor)
    now = timezone.now()
    consents = [ConsentView(c, c.is_active(now)) for c in consents_for_client(actor=actor, client_id=own.pk)]
    consents.sort(key=lambda v: (not v.in_force, str(v.consent.organisation), v.consent.category))
    organisations = list(Organisation.objects.filter(
        pk__in=EpisodeParticipant.objects.filter(episode__client=own, episode__status__in=OPEN_STATUSES,
                                                 left_on__isnull=True).values("organisation_id"),
        active=True,
    ))
    organisations.sort(key=str)
    return MyConsents(client=own, consents=consents, organisations=organisations)


def my_consent(*, actor: Any, consent_id: int) -> Consent:
    """One of the client's own consents (logged as a read of the consents); another's is "not found"."""
    from polku.clients.selectors import consents_for_client

    own = own_client(actor)
    consent = consents_for_client(actor=actor, client_id=own.pk).filter(pk=consent_id).first()
    if consent is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    return consent


def my_access_log(*, actor: Any, include_own: bool = False) -> QuerySet[AccessLog]:
    """Who has processed the client's data, newest first; without ``include_own`` the client's own visits to the
    portal are left out (they are in the log all the same)."""
    from polku.clients.selectors import access_log_for_client

    own = own_client(actor)
    qs = access_log_for_client(actor=actor, client_id=own.pk)
    if not include_own:
        qs = qs.exclude(actor=actor)
    return qs


@dataclass
class MyProgress:
    client: Client
    instrument: Any
    assessments: list[Any]
    episode_id: int | None


def my_progress(*, actor: Any, instrument_code: str = SELF_ASSESSMENT_INSTRUMENT) -> MyProgress:
    """The self-assessment instrument and the client's assessments with it (the client's own answers and the
    professionals'), oldest first; logged as reads of the client's data."""
    from polku.assessments.selectors import assessments_for_client, instrument_get, log_assessments_shown

    own = own_client(actor)
    instrument = instrument_get(code=instrument_code)
    purpose = _("The client's own portal: my progress")
    assessments = list(assessments_for_client(actor=actor, client_id=own.pk, instrument_code=instrument_code,
                                              purpose=purpose).order_by("assessed_on", "pk"))
    log_assessments_shown(actor=actor, client_id=own.pk, assessments=assessments, purpose=purpose)
    episode_id = (JointServiceEpisode.objects.filter(client=own, status__in=OPEN_STATUSES)
                  .values_list("pk", flat=True).first())
    return MyProgress(client=own, instrument=instrument, assessments=assessments, episode_id=episode_id)


def unread_replies(*, actor: Any) -> int:
    """How many professionals' messages the client has not yet read (for the navigation; not client data of
    anyone else, so not logged)."""
    from .models import ClientMessage

    own = client_of(actor)
    if own is None:
        return 0
    return ClientMessage.objects.filter(client=own, from_client=False, read_at__isnull=True).count()


__all__ = [
    "SELF_ASSESSMENT_INSTRUMENT",
    "my_access_log",
    "my_consent",
    "my_consents",
    "my_path",
    "my_plan",
    "my_progress",
    "own_client",
    "unread_replies",
]
