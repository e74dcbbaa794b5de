"""The world and the oracle of the authorisation matrix (tests/security/test_authorisation_matrix.py).

The oracle is written from docs/access-control.md and docs/api.md, independently of ``polku.access.policy``: it
never calls the policy. The world is small: one organisation ("A") whose staff, one per role, ask; another ("B")
that holds the other-organisation client; a rehabilitation provider ("P") with a service; and one client in each
situation, each with the same records (episode, consents, plan, assessments, joint assessment, referral, alert,
job preferences, employment period, message), so every route that takes an object has a real one to fetch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from polku.assessments.models import Assessment, Instrument, JointAssessment, JointAssessmentSection, Respondent
from polku.clients.models import Client, Consent, EmploymentStatus, EmploymentStatusPeriod
from polku.coordination.models import Alert, Severity
from polku.core.choices import DataCategory
from polku.episodes.models import EpisodeStatus, JointServiceEpisode
from polku.impact.models import OutcomeContract
from polku.organisations.models import Organisation, OrganisationKind, StaffMember, StaffRole
from polku.partners.models import (
    Demand,
    Employer,
    EmployerKind,
    JobPreferences,
    Opening,
    OpeningKind,
    Proposal,
    PublicContract,
    WorkLanguage,
)
from polku.plans.models import Goal, GoalArea, Plan, PlanVersion, Step
from polku.portal.models import ClientMessage
from polku.referrals.models import Referral, ReferralStatus

from .. import factories as f

# --- the oracle -------------------------------------------------------------------------------------------------

#: docs/access-control.md, "The rule", table 3: the data categories each role's work task needs. Written out here,
#: not read from ROLE_DATA_CATEGORIES. A role missing from this table fails the matrix (classify it here).
EXPECTED_ROLE_CATEGORIES: dict[str, frozenset[str]] = {
    "coordinator": frozenset({"basic", "employment", "benefits", "rehabilitation"}),
    "social_worker": frozenset({"basic", "employment", "social", "benefits", "rehabilitation"}),
    "health_professional": frozenset({"basic", "employment", "health", "rehabilitation"}),
    "kela_expert": frozenset({"basic", "employment", "benefits", "rehabilitation"}),
    "provider_worker": frozenset({"basic", "rehabilitation"}),
    "manager": frozenset(),
    "administrator": frozenset(),
    # Announced by the lead (issue 11): a role for procurement, aggregates only.
    "procurement_officer": frozenset(),
}

#: "Recording or revoking consent ... needs the relationship and a joint-service role".
EXPECTED_JOINT_SERVICE_ROLES = frozenset({"coordinator", "social_worker", "health_professional", "kela_expert"})

#: Roles that see aggregates (indicators, impact, gaps counts): docs/indicators.md, docs/impact.md.
EXPECTED_AGGREGATE_ROLES = frozenset({"manager", "administrator"})
#: Public contracts and their fulfilment (docs/partners.md): managers, administrators, procurement officers.
EXPECTED_CONTRACT_ROLES = frozenset({"manager", "administrator", "procurement_officer"})

#: The outcome-based contract of the world (its page, ``web:outcome_contract``, is named by it).
OUTCOME_CONTRACT = "matrix-outcome"

CLIENT_OWN = "client_own"  # the situation's client, signed in to the portal
CLIENT_OTHER = "client_other"  # another client, signed in to the portal
ANONYMOUS = "anonymous"
PSEUDO_ROLES = (CLIENT_OWN, CLIENT_OTHER, ANONYMOUS)

OWN = "own_org_consent_open"
OTHER_ORG = "other_org"
NO_CONSENT = "no_consent"
REVOKED = "revoked_consent"
CLOSED = "closed_episode"
SITUATIONS = (OWN, OTHER_ORG, NO_CONSENT, REVOKED, CLOSED)

#: Organisation A's relationship to the client and the client's consent for A, in each situation, as the docs
#: define them: a closed episode gives no relationship; a revoked consent is not in force.
SITUATION_RELATIONSHIP = {OWN: True, OTHER_ORG: False, NO_CONSENT: True, REVOKED: True, CLOSED: False}
SITUATION_CONSENT = {OWN: True, OTHER_ORG: False, NO_CONSENT: False, REVOKED: False, CLOSED: True}


def staff_roles() -> list[str]:
    return [str(r) for r in StaffRole.values]


def all_roles() -> list[str]:
    return [*staff_roles(), *PSEUDO_ROLES]


def may_see(role: str, situation: str, category: str) -> bool:
    """May ``role`` (of organisation A, or a portal client) see ``category`` data of the situation's client?"""
    if role == ANONYMOUS:
        return False
    if role == CLIENT_OWN:
        return True  # a client sees all of their own data, whatever the episode or consents
    if role == CLIENT_OTHER:
        return False
    return (category in EXPECTED_ROLE_CATEGORIES[role] and SITUATION_RELATIONSHIP[situation]
            and SITUATION_CONSENT[situation])


def may_manage_consent(role: str, situation: str) -> bool:
    return role in EXPECTED_JOINT_SERVICE_ROLES and SITUATION_RELATIONSHIP[situation]


# --- the world --------------------------------------------------------------------------------------------------

@dataclass
class SituationObjects:
    situation: str
    client: Client
    portal_user: Any
    episode: JointServiceEpisode
    plan: Plan
    version: PlanVersion
    step: Step
    client_step: Step
    assessment_health: Assessment
    assessment_social: Assessment
    joint: JointAssessment
    referral: Referral
    alert: Alert
    consent: Consent
    proposal: Proposal
    markers: dict[str, list[str]] = field(default_factory=dict)  # category → strings that only that data holds


@dataclass
class World:
    org_a: Organisation
    org_b: Organisation
    provider: Organisation
    service: Any
    users: dict[str, Any]  # role → user (staff of A, or portal clients)
    stranger: Client  # the portal client of CLIENT_OTHER
    objects: dict[str, SituationObjects]
    staff_b: Any
    admin_staff: StaffMember
    employer: Employer
    opening: Opening
    contract: PublicContract

    def client_ids(self) -> dict[int, str]:
        return {o.client.pk: s for s, o in self.objects.items()}


def _marker(situation: str, what: str) -> str:
    return f"Zq{what}{situation.replace('_', '')}Xv"


def build_world() -> World:
    today = timezone.localdate()
    now = timezone.now()
    org_a = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES, "Matrix A")
    org_b = f.organisation(OrganisationKind.SOCIAL_SERVICES, "Matrix B")
    provider = f.organisation(OrganisationKind.REHABILITATION_PROVIDER, "Matrix P")
    service = f.service(provider, DataCategory.REHABILITATION)
    users: dict[str, Any] = {role: f.staff(org_a, role) for role in staff_roles()}
    coordinator_a = users[StaffRole.COORDINATOR]
    staff_b = f.staff(org_b, StaffRole.COORDINATOR)
    health = Instrument.objects.get(code="work-ability-score")
    social = Instrument.objects.get(code="life-situation")
    employer = Employer.objects.create(name="Matrix Oy", business_id=provider.business_id,
                                       kind=EmployerKind.SOCIAL_ENTERPRISE, municipality_code="091")
    opening = Opening.objects.create(employer=employer, title="Matrix opening", kind=OpeningKind.values[0],
                                     hours_per_week=20, municipality_code="091", physical_demand=Demand.values[0],
                                     cognitive_demand=Demand.values[0], language=WorkLanguage.values[0],
                                     start_date=today)
    contract = PublicContract.objects.create(reference="MATRIX-1", title="Matrix contract", procurer=org_a,
                                             supplier=employer, start_date=today - dt.timedelta(days=100),
                                             end_date=today + dt.timedelta(days=300), value_eur=1000)
    _outcome_contract()
    objects: dict[str, SituationObjects] = {}
    for situation in SITUATIONS:
        org, responsible = (org_b, staff_b) if situation == OTHER_ORG else (org_a, coordinator_a)
        last_name = _marker(situation, "Name")
        client = f.client(last_name=last_name, first_name="Matrix")
        portal_user = get_user_model().objects.create_user(username=f"matrix-{situation}", password=None,
                                                           first_name="Matrix", last_name=last_name)
        client.user = portal_user
        client.save(update_fields=["user"])
        status = EpisodeStatus.CLOSED if situation == CLOSED else EpisodeStatus.ACTIVE
        ep = f.episode(client, (org, responsible), status=status)
        consents = [f.consent(client, org, category, recorded_by=responsible)
                    for category in DataCategory.values if category != DataCategory.BASIC]
        if situation == NO_CONSENT:
            Consent.objects.filter(client=client).delete()
            consent = f.consent(client, org_b, DataCategory.EMPLOYMENT, recorded_by=staff_b)
        elif situation == REVOKED:
            Consent.objects.filter(client=client).update(revoked_at=now, revoked_by=coordinator_a)
            consent = consents[0]
        else:
            consent = consents[0]
        EmploymentStatusPeriod.objects.create(client=client, status=EmploymentStatus.UNEMPLOYED,
                                              start_date=today - dt.timedelta(days=400), source="matrix")
        plan = Plan.objects.create(episode=ep, current_version=1)
        version = PlanVersion.objects.create(plan=plan, number=1, employment_goal=_marker(situation, "Goal"),
                                             created_by=responsible)
        goal = Goal.objects.create(plan_version=version, area=GoalArea.values[0], title="Matrix goal")
        step = Step.objects.create(goal=goal, description="Matrix step", owner_organisation=org)
        client_step = Step.objects.create(goal=goal, description="Matrix own step", owned_by_client=True,
                                          position=1)
        notes: dict[str, str] = {DataCategory.HEALTH: _marker(situation, "Health"),
                                 DataCategory.SOCIAL: _marker(situation, "Social")}
        assessments: dict[str, Assessment] = {}
        for instrument in (health, social):
            assessments[instrument.data_category] = Assessment.objects.create(
                client=client, instrument=instrument, episode=ep, respondent=Respondent.PROFESSIONAL,
                assessed_by=responsible, organisation=org, assessed_on=today - dt.timedelta(days=3), score=5,
                band="", notes=notes[instrument.data_category])
        joint = JointAssessment.objects.create(episode=ep, held_on=today - dt.timedelta(days=2),
                                               summary=_marker(situation, "Joint"), created_by=responsible)
        JointAssessmentSection.objects.create(joint_assessment=joint, area="health", assessor=responsible.staff,
                                              findings=_marker(situation, "Section"))
        referral = f.referral(client, service, org, responsible, status=ReferralStatus.DRAFT)
        Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.SENT, sent_at=now)
        referral.refresh_from_db()
        if situation == CLOSED:  # an episode closed: its open referrals were cancelled with it
            Referral.objects.filter(pk=referral.pk).update(status=ReferralStatus.CANCELLED)
        alert = Alert.objects.create(
            rule="referral_unanswered", client=client, episode=ep, object_type="referral", object_id=referral.pk,
            since=today - dt.timedelta(days=20), due_on=today - dt.timedelta(days=6), severity=Severity.MEDIUM,
            responsible_organisation=org, responsible_person=responsible.staff, counterpart_organisation=provider,
            service=service, category=DataCategory.BASIC, opened_as_of=today)
        JobPreferences.objects.create(client=client, notes=_marker(situation, "Jobs"), updated_by=responsible)
        proposal = Proposal.objects.create(client=client, opening=opening, proposed_by=responsible, organisation=org,
                                           client_agreed_on=today)
        ClientMessage.objects.create(client=client, sender=portal_user, from_client=True,
                                     body=_marker(situation, "Message"))
        markers: dict[str, list[str]] = {
            DataCategory.BASIC: [last_name, client.personal_identity_code],
            DataCategory.EMPLOYMENT: [_marker(situation, "Goal"), _marker(situation, "Jobs"),
                                      _marker(situation, "Joint")],
            DataCategory.HEALTH: [notes[DataCategory.HEALTH], _marker(situation, "Section")],
            DataCategory.SOCIAL: [notes[DataCategory.SOCIAL]],
        }
        objects[situation] = SituationObjects(
            situation, client, portal_user, ep, plan, version, step, client_step, assessments[DataCategory.HEALTH],
            assessments[DataCategory.SOCIAL], joint, referral, alert, consent, proposal, markers)
    stranger = f.client(first_name="Matrix", last_name="Stranger")
    stranger.user = get_user_model().objects.create_user(username="matrix-stranger", password=None,
                                                         first_name="Matrix", last_name="Stranger")
    stranger.save(update_fields=["user"])
    users[CLIENT_OTHER] = stranger.user
    return World(org_a, org_b, provider, service, users, stranger, objects, staff_b,
                 users[StaffRole.ADMINISTRATOR].staff, employer, opening, contract)


def _outcome_contract() -> OutcomeContract:
    """An outcome-based contract (Koto design) with a payment computed and stored as ``polku contracts compute``
    does, on a participant table of pseudonyms: its page shows aggregates only."""
    import pandas as pd

    from polku.impact.contracts import compute, store_payment, terms_of

    contract = OutcomeContract.objects.create(name=OUTCOME_CONTRACT, title="Matrix outcome contract", design="koto",
                                              share=0.5, cap_eur=10_000)
    table = pd.DataFrame({"person": [f"m{i}" for i in range(12)], "group": ["programme"] * 6 + ["control"] * 6,
                          "benefits_paid_eur": [3000, 4000, 5000] * 2 + [5000, 6000, 7000] * 2,
                          "earned_income_tax_eur": [6000] * 12})
    store_payment(contract, compute(table, terms_of(contract)), data_source="matrix.csv")
    return contract
