"""Each rule on hand-made cases at its threshold: one day short is no alert, the threshold day is."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from polku.assessments.models import Assessment, AssessmentAnswer, Instrument
from polku.clients.models import BenefitPeriod, ClientContact, EmploymentStatusPeriod, ResidenceChange
from polku.coordination.models import Alert
from polku.coordination.services import sweep
from polku.episodes.models import EpisodeParticipant, EpisodeStatus
from polku.organisations.models import OrganisationKind, ServiceArea, StaffRole
from polku.plans.models import Goal, Plan, PlanReview, PlanVersion, ReviewTrigger, Step, StepStatus
from polku.referrals.models import ReferralStatus
from tests import factories as f

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 6, 15)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)), timezone.get_default_timezone())


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def found(rule: str, as_of: dt.date = TODAY) -> set[int]:
    sweep(as_of=as_of)
    return set(Alert.objects.filter(rule=rule, resolved_at__isnull=True).values_list("object_id", flat=True))


def referral(joint: Any, status: str, **times: Any) -> Any:
    r = f.referral(joint.client, joint.service, joint.employment, joint.coordinator, status=status)
    for name, day in times.items():
        setattr(r, name, at(day))
    r.episode = joint.episode
    r.save()
    return r


def plan(joint: Any, *, next_review: dt.date | None = None, version: int = 1) -> Plan:
    p = Plan.objects.create(episode=joint.episode, current_version=version, next_review_due=next_review)
    for n in range(1, version + 1):
        PlanVersion.objects.create(plan=p, number=n, employment_goal="Työ", created_by=joint.coordinator)
    joint.episode.status = EpisodeStatus.ACTIVE
    joint.episode.save()
    return p


@pytest.fixture
def region(joint: Any) -> Any:
    """The joint fixture with its episode started 20 days before TODAY and a contact today, so that only the
    rule under test fires."""
    joint.episode.start_date = ago(20)
    joint.episode.mapping_period_end = ago(20) + dt.timedelta(days=92)
    joint.episode.save()
    joint.client.consents.update(valid_from=at(ago(100)))
    ClientContact.objects.create(client=joint.client, episode=joint.episode, organisation=joint.employment,
                                 at=at(TODAY), channel="phone")
    return joint


def test_referral_unanswered_from_the_threshold_day(region: Any) -> None:
    late = referral(region, ReferralStatus.SENT, sent_at=ago(14))
    received = referral(region, ReferralStatus.RECEIVED, sent_at=ago(20), received_at=ago(19))
    recent = referral(region, ReferralStatus.SENT, sent_at=ago(13))
    answered = referral(region, ReferralStatus.ACCEPTED, sent_at=ago(30), decided_at=ago(25))
    alerts = found("referral_unanswered")
    assert alerts == {late.pk, received.pk}
    assert recent.pk not in alerts and answered.pk not in alerts
    alert = Alert.objects.get(rule="referral_unanswered", object_id=late.pk)
    assert alert.since == ago(14) and alert.due_on == TODAY
    assert alert.counterpart_organisation_id == region.provider.pk
    assert alert.responsible_person_id == region.coordinator.staff.pk
    assert alert.service_id == region.service.pk


def test_referral_waitlisted(region: Any) -> None:
    long = referral(region, ReferralStatus.WAITLISTED, sent_at=ago(60), decided_at=ago(30))
    short = referral(region, ReferralStatus.WAITLISTED, sent_at=ago(60), decided_at=ago(29))
    assert found("referral_waitlisted") == {long.pk}
    assert short.pk not in found("referral_waitlisted")


def test_service_ended_with_no_next_step_until_something_follows(region: Any) -> None:
    ended = referral(region, ReferralStatus.COMPLETED, sent_at=ago(200), started_at=ago(150), ended_at=ago(30))
    assert found("service_ended_no_next_step") == {ended.pk}
    # Something referred after it: no longer a gap (and the alert resolves).
    referral(region, ReferralStatus.SENT, sent_at=ago(1))
    assert found("service_ended_no_next_step") == set()
    assert Alert.objects.get(rule="service_ended_no_next_step").resolved_as_of == TODAY


def test_service_ended_not_a_gap_for_someone_employed_or_too_recent(region: Any) -> None:
    recent = referral(region, ReferralStatus.INTERRUPTED, sent_at=ago(200), ended_at=ago(29))
    assert found("service_ended_no_next_step") == set()
    recent.ended_at = at(ago(45))
    recent.save()
    assert found("service_ended_no_next_step") == {recent.pk}
    EmploymentStatusPeriod.objects.create(client=region.client, status="employed_open_market", start_date=ago(10))
    assert found("service_ended_no_next_step") == set()


def test_declined_with_no_alternative(region: Any) -> None:
    declined = referral(region, ReferralStatus.DECLINED, sent_at=ago(40), decided_at=ago(14))
    assert found("declined_no_alternative") == {declined.pk}
    declined.decided_at = at(ago(13))
    declined.save()
    assert found("declined_no_alternative") == set()


def test_no_active_service(region: Any) -> None:
    region.episode.start_date = ago(30)
    region.episode.save()
    assert found("no_active_service") == {region.episode.pk}
    assert Alert.objects.get(rule="no_active_service", resolved_at__isnull=True).since == ago(30)
    pending = referral(region, ReferralStatus.ACCEPTED, sent_at=ago(40), decided_at=ago(35))
    assert found("no_active_service") == set()
    pending.status = ReferralStatus.CANCELLED
    pending.ended_at = at(ago(29))
    pending.save()
    assert found("no_active_service") == set(), "the latest activity (29 days ago) is too recent"
    pending.ended_at = at(ago(31))
    pending.save()
    assert found("no_active_service") == {region.episode.pk}


def test_a_step_in_progress_is_activity(region: Any) -> None:
    region.episode.start_date = ago(60)
    region.episode.save()
    p = plan(region, next_review=ago(-100))
    goal = Goal.objects.create(plan_version=p.versions.get(), area="employment", title="Työ")
    Step.objects.create(goal=goal, description="Työkokeilu", owned_by_client=True, status=StepStatus.IN_PROGRESS,
                        due_date=ago(-5))
    assert found("no_active_service") == set()


def test_plan_step_overdue_only_in_the_current_version(region: Any) -> None:
    p = plan(region, next_review=ago(-100), version=2)
    old_goal = Goal.objects.create(plan_version=p.versions.get(number=1), area="employment", title="Vanha")
    new_goal = Goal.objects.create(plan_version=p.versions.get(number=2), area="employment", title="Uusi")
    def step(goal: Goal, status: str, due: dt.date) -> Step:
        return Step.objects.create(goal=goal, description="x", owned_by_client=True, status=status, due_date=due)

    step(old_goal, StepStatus.PLANNED, ago(10))
    late = step(new_goal, StepStatus.PLANNED, ago(1))
    step(new_goal, StepStatus.PLANNED, TODAY)
    step(new_goal, StepStatus.DONE, ago(10))
    assert found("plan_step_overdue") == {late.pk}


def test_mapping_period_deadlines(region: Any) -> None:
    region.episode.mapping_period_end = TODAY + dt.timedelta(days=14)
    region.episode.save()
    assert found("mapping_period_ending") == {region.episode.pk}
    region.episode.mapping_period_end = TODAY + dt.timedelta(days=15)
    region.episode.save()
    assert found("mapping_period_ending") == set()
    region.episode.mapping_period_end = ago(1)
    region.episode.save()
    assert found("plan_missing_after_mapping") == {region.episode.pk}
    plan(region, next_review=ago(-100))
    assert found("plan_missing_after_mapping") == set()


def test_plan_review_due_overdue_and_requested(region: Any) -> None:
    p = plan(region, next_review=TODAY + dt.timedelta(days=30))
    assert found("plan_review_due") == {p.pk}
    p.next_review_due = ago(1)
    p.save()
    assert found("plan_review_overdue") == {p.pk} and found("plan_review_due") == set()
    p.next_review_due = TODAY + dt.timedelta(days=200)
    p.save()
    asked = PlanReview.objects.create(plan=p, trigger=ReviewTrigger.CLIENT_REQUEST, requested_at=at(ago(14)))
    PlanReview.objects.create(plan=p, trigger=ReviewTrigger.CLIENT_REQUEST, requested_at=at(ago(13)))
    held = PlanReview.objects.create(plan=p, trigger=ReviewTrigger.CLIENT_REQUEST, requested_at=at(ago(40)),
                                     held_on=ago(30))
    alerts = found("review_requested")
    assert alerts == {asked.pk} and held.pk not in alerts


def test_client_not_contacted(region: Any) -> None:
    region.episode.start_date = ago(100)
    region.episode.save()
    ClientContact.objects.all().delete()
    ClientContact.objects.create(client=region.client, organisation=region.employment, at=at(ago(59)),
                                 channel="meeting")
    assert found("client_not_contacted") == set()
    ClientContact.objects.all().update(at=at(ago(60)))
    assert found("client_not_contacted") == {region.episode.pk}
    assert Alert.objects.get(rule="client_not_contacted", resolved_at__isnull=True).since == ago(60)


def test_consent_lapsing_unless_renewed(region: Any) -> None:
    region.client.consents.filter(organisation=region.social, category="social").update(
        valid_to=at(TODAY + dt.timedelta(days=30), 23)
    )
    region.client.consents.filter(organisation=region.social, category="health").update(
        valid_to=at(TODAY + dt.timedelta(days=31), 1)
    )
    lapsing = region.client.consents.get(organisation=region.social, category="social")
    assert found("consent_lapsing") == {lapsing.pk}
    alert = Alert.objects.get(rule="consent_lapsing", resolved_at__isnull=True)
    assert alert.category == "social" and alert.counterpart_organisation_id == region.social.pk
    f.consent(region.client, region.social, "social", valid_from=at(TODAY + dt.timedelta(days=20)))
    assert found("consent_lapsing") == set()


def test_moved_without_handover(region: Any) -> None:
    ServiceArea.objects.create(organisation=region.employment, municipality_code="091")
    region.client.municipality_code = "837"
    region.client.save()
    ResidenceChange.objects.create(client=region.client, from_municipality="091", to_municipality="837",
                                   moved_on=ago(13))
    assert found("moved_without_handover") == set()
    ResidenceChange.objects.all().update(moved_on=ago(14))
    assert found("moved_without_handover") == {region.episode.pk}
    # The new area's employment services take over: the gap is gone.
    tampere = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES, "Tampereen työllisyysalue")
    ServiceArea.objects.create(organisation=tampere, municipality_code="837")
    EpisodeParticipant.objects.create(episode=region.episode, organisation=tampere,
                                      responsible_person=f.staff(tampere).staff)
    assert found("moved_without_handover") == set()


@pytest.fixture
def job_seeker(db: Any) -> Any:
    employment = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES, "Työllisyysalue")
    ServiceArea.objects.create(organisation=employment, municipality_code="179")
    person = f.client(municipality_code="179")
    person.birth_date = dt.date(1990, 1, 1)
    person.save()
    return employment, person


def unemployed(person: Any, since: dt.date) -> None:
    EmploymentStatusPeriod.objects.create(client=person, status="unemployed", start_date=since)


def test_screening_by_unemployment_duration_and_age(job_seeker: Any) -> None:
    employment, person = job_seeker
    unemployed(person, dt.date(2025, 6, 16))  # 11 months and 30 days on TODAY
    assert found("screening_due") == set()
    EmploymentStatusPeriod.objects.update(start_date=dt.date(2025, 6, 15))  # 12 months
    assert found("screening_due") == {person.pk}
    alert = Alert.objects.get(rule="screening_due", resolved_at__isnull=True)
    assert alert.responsible_organisation_id == employment.pk and alert.responsible_person_id is None
    # Under 25: six months suffice.
    person.birth_date = dt.date(2002, 1, 1)
    person.save()
    EmploymentStatusPeriod.objects.update(start_date=dt.date(2025, 12, 15))
    assert found("screening_due") == {person.pk}
    EmploymentStatusPeriod.objects.update(start_date=dt.date(2025, 12, 16))
    assert found("screening_due") == set()


def test_screening_by_subsidy_days_and_assessments(job_seeker: Any) -> None:
    _employment, person = job_seeker
    unemployed(person, ago(30))
    BenefitPeriod.objects.create(client=person, benefit="labour_market_subsidy", start_date=dt.date(2023, 1, 1),
                                 end_date=dt.date(2024, 1, 1), paid_days=299)
    assert found("screening_due") == set()
    BenefitPeriod.objects.update(paid_days=300)
    assert found("screening_due") == {person.pk}
    BenefitPeriod.objects.all().delete()
    user = f.user()
    was = Instrument.objects.get(code="work-ability-score")
    Assessment.objects.create(client=person, instrument=was, respondent="professional", assessed_by=user,
                              assessed_on=ago(10), score=6, band="moderate")
    assert found("screening_due") == set()
    Assessment.objects.create(client=person, instrument=was, respondent="professional", assessed_by=user,
                              assessed_on=ago(5), score=5, band="poor")
    assert found("screening_due") == {person.pk}
    Assessment.objects.all().delete()
    life = Instrument.objects.get(code="life-situation")
    mapping = Assessment.objects.create(client=person, instrument=life, respondent="professional",
                                        assessed_by=user, assessed_on=ago(5), score=6, band="moderate")
    items = list(life.items.order_by("position"))
    for item, value in zip(items, [2, 2, 1, 1, 0, 0, 0, 0], strict=False):
        AssessmentAnswer.objects.create(assessment=mapping, item=item, value=value)
    assert found("screening_due") == set()
    AssessmentAnswer.objects.filter(item=items[2]).update(value=3)
    assert found("screening_due") == {person.pk}


def test_screening_skips_clients_in_or_recently_out_of_the_joint_service(job_seeker: Any) -> None:
    employment, person = job_seeker
    unemployed(person, dt.date(2024, 1, 1))
    coordinator = f.staff(employment, StaffRole.COORDINATOR)
    ep = f.episode(person, (employment, coordinator), start=dt.date(2025, 1, 1))
    assert found("screening_due") == set()
    ep.status, ep.end_date, ep.end_reason = EpisodeStatus.CLOSED, ago(100), "no_change"
    ep.save()
    assert found("screening_due") == set(), "closed less than a year ago"
    ep.end_date = ago(366)
    ep.start_date = ago(500)
    ep.save()
    assert found("screening_due") == {person.pk}
    # Nobody serves the municipality: no alert (there is nobody to give it to).
    ServiceArea.objects.all().delete()
    assert found("screening_due") == set()


def test_each_alert_carries_its_clients_vulnerability_as_of_the_day(region: Any) -> None:
    """Under 25, homeless, a disability, the latest work-ability score poor, the latest life-situation mapping
    high: one point each, from the latest assessment of each kind dated on or before the day."""
    late = referral(region, ReferralStatus.SENT, sent_at=ago(20))
    type(region.client).objects.filter(pk=region.client.pk).update(
        birth_date=TODAY.replace(year=TODAY.year - 24), homeless="yes", disability="no")
    work, life = Instrument.objects.get(code="work-ability-score"), Instrument.objects.get(code="life-situation")

    def assessed(instrument: Instrument, day: dt.date, band: str) -> None:
        Assessment.objects.create(client=region.client, instrument=instrument, respondent="professional",
                                  assessed_by=region.coordinator, assessed_on=day, score=5, band=band)

    assessed(work, ago(100), "poor")  # replaced by a later one
    assessed(work, ago(10), "moderate")
    assessed(work, TODAY + dt.timedelta(days=3), "poor")  # not yet
    assessed(life, ago(5), "high")

    def vulnerability() -> int:
        found("referral_unanswered")
        return Alert.objects.get(rule="referral_unanswered", object_id=late.pk, resolved_at__isnull=True).vulnerability

    assert vulnerability() == 3  # under 25, homeless, life situation high
    assessed(work, ago(1), "poor")
    assert vulnerability() == 4  # refreshed on the open alert
    type(region.client).objects.filter(pk=region.client.pk).update(birth_date=TODAY.replace(year=TODAY.year - 55))
    assert vulnerability() == 4  # 55 or over instead of under 25
    type(region.client).objects.filter(pk=region.client.pk).update(homeless="no", disability="yes")
    assert vulnerability() == 4
    assert Alert.objects.filter(rule="referral_unanswered", object_id=late.pk).count() == 1
