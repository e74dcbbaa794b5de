"""A small region for the retention tests: clients whose record has expired, and clients it must never touch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from polku.assessments.models import Assessment, Disagreement, Instrument, JointAssessment, JointAssessmentSection
from polku.clients.models import Client, ClientContact, Consent
from polku.coordination.models import Alert, AlertEvent
from polku.episodes.models import EpisodeStatus, JointServiceEpisode
from polku.organisations.models import OrganisationKind, StaffRole
from polku.partners.models import JobPreferences
from polku.plans.models import Goal, GoalArea, Plan, PlanReview, PlanVersion, ReviewTrigger, Step
from polku.portal.models import ClientMessage
from polku.referrals.models import Referral, ReferralStatus, ReferralTransition
from polku.retention.checksum import tables

from .. import factories as f

TODAY = timezone.localdate()


def years_ago(years: int, days: int = 0) -> dt.date:
    return TODAY.replace(year=TODAY.year - years) - dt.timedelta(days=days)


def at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


@dataclass
class Person:
    client: Client
    secret: str  # written into every free-text field of the record
    episode: JointServiceEpisode

    @property
    def identifiers(self) -> list[str]:
        c = self.client
        return [c.personal_identity_code, c.first_name, c.last_name, c.phone, c.email, c.address, self.secret]


@dataclass
class Region:
    expired: Person  # episode closed 11 years ago, nothing since: anonymised
    expired_plain: Person  # closed 10 years and 3 days ago, a thin record: anonymised
    recent: Person  # closed 5 years ago: kept
    open_episode: Person  # started 12 years ago and still open: kept
    open_referral: Person  # closed 11 years ago but a referral is still open: kept
    consent_in_force: Person  # closed 11 years ago, a time-limited consent still in force: kept
    staff: Any
    org: Any
    provider: Any
    service: Any

    @property
    def expired_people(self) -> list[Person]:
        return [self.expired, self.expired_plain]

    @property
    def kept_people(self) -> list[Person]:
        return [self.recent, self.open_episode, self.open_referral, self.consent_in_force]


def _person(n: int, region: dict[str, Any], *, closed: dt.date | None, started: dt.date, full: bool = True) -> Person:
    secret = f"Salaisuus{n}xq"
    org, staff = region["org"], region["staff"]
    portal_user = f.user(f"portal{n}-{secret}", email=f"{secret.lower()}@example.fi") if full else None
    client = f.client(first_name=f"Etunimi{n}", last_name=f"Sukunimi{n}", phone=f"+358 40 123 45{n:02d}",
                      email=f"person{n}@example.fi", address=f"Kotikatu {n} A 1, 00100 Helsinki",
                      user=portal_user)
    status = EpisodeStatus.CLOSED if closed else EpisodeStatus.ACTIVE
    episode = f.episode(client, (org, staff), status=status, start=started)
    JointServiceEpisode.objects.filter(pk=episode.pk).update(end_date=closed, end_notes=f"end {secret}")
    consent = f.consent(client, org, valid_from=at(started), recorded_by=staff)
    Consent.objects.filter(pk=consent.pk).update(recorded_at=at(started), purpose=f"Joint service {secret}")
    if full:
        last = closed or started
        ClientContact.objects.create(client=client, episode=episode, organisation=org, recorded_by=staff,
                                     at=at(started), channel="meeting", summary=f"met {secret}")
        ClientMessage.objects.create(client=client, episode=episode, sender=portal_user,  # type: ignore[misc]
                                     from_client=True,
                                     body=f"hello {secret}", created_at=at(started))
        plan = Plan.objects.create(episode=episode, current_version=1)
        version = PlanVersion.objects.create(plan=plan, number=1, employment_goal=f"goal {secret}",
                                             follow_up=f"follow {secret}", created_by=staff, created_at=at(started))
        goal = Goal.objects.create(plan_version=version, area=GoalArea.EMPLOYMENT, title=f"title {secret}",
                                   description=f"desc {secret}")
        Step.objects.create(goal=goal, description=f"step {secret}", owned_by_client=True)
        PlanReview.objects.create(plan=plan, trigger=ReviewTrigger.SCHEDULED, requested_at=at(started),
                                  notes=f"review {secret}", resulting_version=version)
        referral = f.referral(client, region["service"], org, staff, status=ReferralStatus.COMPLETED)
        Referral.objects.filter(pk=referral.pk).update(reason_for_referral=f"why {secret}",
                                                       status_reason=f"done {secret}", created_at=at(started),
                                                       status_changed_at=at(last))
        ReferralTransition.objects.create(referral=referral, to_status="sent", at=at(started), by=staff,
                                          reason=f"sent {secret}")
        instrument = Instrument.objects.first() or Instrument.objects.create(  # flushed by a transactional test
            code="retention-test", name_fi="Testi", data_category="employment", scoring_rule="sum")
        Assessment.objects.create(client=client, instrument=instrument, episode=episode, respondent="client",
                                  assessed_by=staff, assessed_on=started, score=3, notes=f"notes {secret}",
                                  created_at=at(started))
        joint = JointAssessment.objects.create(episode=episode, held_on=started, client_view=f"view {secret}",
                                               summary=f"summary {secret}", created_by=staff)
        JointAssessmentSection.objects.create(joint_assessment=joint, area="employment", assessor=staff.staff,
                                              findings=f"findings {secret}", service_needs=f"needs {secret}")
        Disagreement.objects.create(joint_assessment=joint, topic=f"topic {secret}", areas=["employment"],
                                    positions=f"positions {secret}", resolution=f"resolved {secret}")
        JobPreferences.objects.create(client=client, notes=f"prefers {secret}", updated_at=at(started))
        alert = Alert.objects.create(rule="not_contacted", client=client, episode=episode, object_type="episode",
                                     object_id=episode.pk, since=started, due_on=started, severity=1,
                                     category="employment", opened_as_of=started, opened_at=at(started),
                                     resolved_at=at(closed) if closed else None,
                                     resolved_as_of=closed)
        AlertEvent.objects.create(alert=alert, kind="comment", at=at(started), by=staff, note=f"note {secret}")
    Client.objects.filter(pk=client.pk).update(created_at=at(started), updated_at=at(started))
    client.refresh_from_db()
    episode.refresh_from_db()
    return Person(client, secret, episode)


@pytest.fixture
def region(db: Any) -> Region:
    org = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES, "Työllisyyspalvelut")
    provider = f.organisation(OrganisationKind.REHABILITATION_PROVIDER, "Kuntoutus Oy")
    staff = f.staff(org, StaffRole.COORDINATOR)
    ctx = {"org": org, "staff": staff, "service": f.service(provider)}
    expired = _person(1, ctx, closed=years_ago(11), started=years_ago(12))
    plain = _person(2, ctx, closed=years_ago(10, days=3), started=years_ago(11), full=False)
    recent = _person(3, ctx, closed=years_ago(5), started=years_ago(6))
    open_episode = _person(4, ctx, closed=None, started=years_ago(12))
    open_referral = _person(5, ctx, closed=years_ago(11), started=years_ago(12), full=False)
    f.referral(open_referral.client, ctx["service"], org, staff, status=ReferralStatus.WAITLISTED)
    Referral.objects.filter(client=open_referral.client).update(created_at=at(years_ago(12)),
                                                                 status_changed_at=at(years_ago(12)))
    in_force = _person(6, ctx, closed=years_ago(11), started=years_ago(12), full=False)
    Consent.objects.filter(client=in_force.client).update(valid_to=at(TODAY + dt.timedelta(days=30)),
                                                          valid_from=at(years_ago(12)))
    # The valid_to above is after the cut-off, which alone keeps the record; so is its being in force.
    return Region(expired, plain, recent, open_episode, open_referral, in_force, staff, org, provider,
                  ctx["service"])


def database_text() -> str:
    """Every value of every table, as text (to search for identifiers that should be gone)."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for name in tables():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(name)}")  # noqa: S608
            parts.extend("|".join(str(v) for v in row) for row in cursor.fetchall())
    return "\n".join(parts)
