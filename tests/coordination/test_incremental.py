"""The incremental sweep (PostgreSQL) ends in exactly the alerts a full sweep would: as days pass with no
writes (the wake-up days), and after writes of every kind to every table the rules read (the triggers).

The oracle is a full sweep of the same day, run in a savepoint after each incremental one: it must find
nothing to open, resolve or change. A missed wake-up day or an unrecorded change makes it disagree."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from polku.assessments.models import Assessment, Instrument
from polku.clients.models import (
    Client,
    ClientContact,
    Consent,
    EmploymentStatus,
    EmploymentStatusPeriod,
    ResidenceChange,
)
from polku.coordination.models import Alert, ChangedClient, ClientWake, SweepState
from polku.coordination.services import rule_setting_set, sweep
from polku.episodes.models import EpisodeParticipant, EpisodeStatus, JointServiceEpisode
from polku.organisations.models import ServiceArea
from polku.plans.models import PlanReview, Step, StepStatus
from polku.referrals.models import Referral, ReferralStatus
from polku.synth.generate import Options, generate
from tests.synth.support import START, Rollback

pytestmark = pytest.mark.django_db

MONTHS = 30
AS_OF = START + dt.timedelta(days=MONTHS * 30)

# Rules whose alerts open or resolve by the passing of time alone somewhere in the 90 days walked below.
TIME_DRIVEN = {"screening_due", "mapping_period_ending", "plan_missing_after_mapping", "plan_review_due",
               "plan_review_overdue", "review_requested", "referral_unanswered", "referral_waitlisted",
               "service_ended_no_next_step", "declined_no_alternative", "no_active_service", "plan_step_overdue",
               "client_not_contacted", "consent_lapsing", "moved_without_handover"}

COLUMNS = ("rule", "client_id", "object_type", "object_id", "episode_id", "since", "due_on", "severity",
           "vulnerability", "responsible_organisation_id", "responsible_person_id", "counterpart_organisation_id",
           "service_id", "category")


@pytest.fixture(autouse=True)
def postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the incremental sweep needs PostgreSQL's triggers; on SQLite every sweep is a full one")


@pytest.fixture(scope="module")
def region(django_db_setup: Any, django_db_blocker: Any) -> Any:
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            yield None
            return
        try:
            with transaction.atomic():
                generate(Options(clients=1500, seed=11, start=START, months=MONTHS))
                yield None
                raise Rollback
        except Rollback:
            pass


def open_alerts() -> set[tuple[Any, ...]]:
    return set(Alert.objects.filter(resolved_at__isnull=True).values_list(*COLUMNS))


def assert_same_as_full(as_of: dt.date) -> None:
    """A full sweep of the same day, in a savepoint rolled back afterwards, changes nothing."""
    before = open_alerts()
    try:
        with transaction.atomic():
            full = sweep(as_of=as_of, full=True)
            after = open_alerts()
            raise Rollback
    except Rollback:
        pass
    assert not full.run.incremental
    missing, extra = sorted(after - before)[:3], sorted(before - after)[:3]
    assert (full.run.opened, full.run.resolved) == (0, 0) and not missing and not extra, (
        f"{as_of}: full sweep opened {full.run.opened}, resolved {full.run.resolved}; "
        f"incremental missed {missing}, kept {extra}"
    )


def test_days_passing_wake_exactly_the_clients_whose_alerts_change(region: Any) -> None:
    day = AS_OF - dt.timedelta(days=90)
    first = sweep(as_of=day)
    assert not first.run.incremental and first.run.opened > 100
    assert ClientWake.objects.exists() and not ChangedClient.objects.exists()
    rng = random.Random(3)
    evaluated, changes = [], 0
    while day < AS_OF:
        day = min(AS_OF, day + dt.timedelta(days=rng.choice([1, 1, 2, 3, 7, 11])))
        result = sweep(as_of=day)
        assert result.run.incremental
        evaluated.append(result.run.clients_evaluated)
        changes += result.run.opened + result.run.resolved
        assert_same_as_full(day)
    assert changes > 50, "the days passed must open and resolve alerts, or the test proves nothing"
    walked = set(Alert.objects.filter(opened_run__incremental=True).values_list("rule", flat=True)) | set(
        Alert.objects.filter(resolved_run__incremental=True).values_list("rule", flat=True))
    print(sorted(walked))
    assert walked >= TIME_DRIVEN, f"rules whose alerts the passing days never moved: {TIME_DRIVEN - walked}"
    assert max(evaluated) < 1500, "an incremental sweep evaluates only the clients due to wake"


def test_every_kind_of_write_is_seen(region: Any, admin_user: Any) -> None:
    sweep(as_of=AS_OF)
    rng = random.Random(5)
    now = timezone.make_aware(dt.datetime.combine(AS_OF, dt.time(12)))

    def some(qs: Any, n: int = 15) -> list[Any]:
        ids = list(qs.values_list("pk", flat=True))
        return rng.sample(ids, min(n, len(ids)))

    open_episodes = JointServiceEpisode.objects.exclude(status=EpisodeStatus.CLOSED)
    # Inserts through the ORM: contacts with long-silent clients, fresh poor assessments, moves.
    instrument = Instrument.objects.get(code="work-ability-score")
    for episode in open_episodes.filter(pk__in=some(open_episodes)).select_related("client"):
        ClientContact.objects.create(client=episode.client, episode=episode, at=now, channel="phone",
                                     organisation_id=episode.participants.values_list("organisation_id",
                                                                                      flat=True).first())
    some_clients = some(EmploymentStatusPeriod.objects.filter(status=EmploymentStatus.UNEMPLOYED,
                                                              end_date__isnull=True).values("client_id"), 10)
    for period in EmploymentStatusPeriod.objects.filter(pk__in=some_clients):
        Assessment.objects.create(client_id=period.client_id, instrument=instrument, assessed_on=AS_OF, score=2,
                                  band="poor", assessed_by=admin_user)
    # Updates as whole statements: referrals answered, steps done, consents revoked, reviews held, periods ended.
    Referral.objects.filter(pk__in=some(Referral.objects.filter(status=ReferralStatus.SENT))).update(
        status=ReferralStatus.ACCEPTED, decided_at=now)
    Referral.objects.filter(pk__in=some(Referral.objects.filter(status=ReferralStatus.COMPLETED))).update(
        ended_at=now - dt.timedelta(days=400))
    Step.objects.filter(pk__in=some(Step.objects.filter(status=StepStatus.PLANNED, due_date__lt=AS_OF))).update(
        status=StepStatus.DONE)
    Consent.objects.filter(pk__in=some(Consent.objects.filter(revoked_at__isnull=True))).update(revoked_at=now)
    PlanReview.objects.filter(pk__in=some(PlanReview.objects.filter(held_on__isnull=True))).update(held_on=AS_OF)
    EmploymentStatusPeriod.objects.filter(
        pk__in=some(EmploymentStatusPeriod.objects.filter(end_date__isnull=True, start_date__lt=AS_OF))
    ).update(end_date=AS_OF - dt.timedelta(days=1))
    EpisodeParticipant.objects.filter(pk__in=some(EpisodeParticipant.objects.filter(left_on__isnull=True), 8)).update(
        left_on=AS_OF)
    JointServiceEpisode.objects.filter(pk__in=some(open_episodes, 8)).update(
        status=EpisodeStatus.CLOSED, end_date=AS_OF, end_reason="other")
    for move in ResidenceChange.objects.filter(pk__in=some(ResidenceChange.objects.all(), 5)).select_related("client"):
        move.moved_on = AS_OF - dt.timedelta(days=30)
        move.save()
    # Deletes.
    Step.objects.filter(pk__in=some(Step.objects.filter(status=StepStatus.IN_PROGRESS), 10)).delete()
    Referral.objects.filter(pk__in=some(Referral.objects.filter(status=ReferralStatus.WAITLISTED), 10)).delete()
    changed = ChangedClient.objects.count()
    assert changed > 50
    for days in (0, 4):
        result = sweep(as_of=AS_OF + dt.timedelta(days=days))
        assert result.run.incremental
        assert result.run.opened + result.run.resolved > 0
        assert_same_as_full(AS_OF + dt.timedelta(days=days))


def test_what_every_client_depends_on_makes_the_next_sweep_full(region: Any, admin_user: Any) -> None:
    sweep(as_of=AS_OF)
    assert sweep(as_of=AS_OF).run.incremental
    area = ServiceArea.objects.first()
    area.save()
    assert SweepState.objects.get().full_needed
    assert not sweep(as_of=AS_OF).run.incremental
    assert sweep(as_of=AS_OF).run.incremental
    rule_setting_set(actor=admin_user, rule="client_not_contacted", params={"days": 45})
    assert not sweep(as_of=AS_OF).run.incremental
    assert not sweep(as_of=AS_OF - dt.timedelta(days=1)).run.incremental, "going back in time is a full sweep"
    assert not sweep(as_of=AS_OF, full=True).run.incremental


def test_too_many_clients_to_evaluate_make_a_full_sweep(region: Any, monkeypatch: Any) -> None:
    from polku.coordination import services

    sweep(as_of=AS_OF)
    monkeypatch.setattr(services, "INCREMENTAL_AT_MOST", 5)
    assert sweep(as_of=AS_OF).run.incremental, "nobody to evaluate: incremental"
    late = sweep(as_of=AS_OF + dt.timedelta(days=60))
    assert not late.run.incremental and late.run.clients_evaluated is None, "two months of wake-ups: full"
    assert not ChangedClient.objects.exists()
    assert sweep(as_of=AS_OF + dt.timedelta(days=60)).run.incremental


def test_a_referral_naming_another_clients_episode_gets_that_episodes_coordinator(region: Any) -> None:
    """The application keeps a referral's episode the client's own; the database does not. An alert about such a
    referral goes to the coordinator of the episode it names, in an incremental sweep as in a full one."""
    sweep(as_of=AS_OF)
    in_service = JointServiceEpisode.objects.exclude(status=EpisodeStatus.CLOSED).values("client_id")
    outside = Client.objects.exclude(pk__in=in_service).order_by("pk").first()
    stray = Referral.objects.filter(status=ReferralStatus.SENT, sent_at__lt=timezone.make_aware(
        dt.datetime.combine(AS_OF - dt.timedelta(days=30), dt.time(12)))).order_by("pk").first()
    assert outside is not None and stray is not None
    other = (JointServiceEpisode.objects.exclude(status=EpisodeStatus.CLOSED).exclude(client_id=stray.client_id)
             .filter(participants__left_on__isnull=True).order_by("pk").first())
    # A referral of a client outside the joint service that names an episode of somebody else's.
    Referral.objects.filter(pk=stray.pk).update(client=outside, episode=other)
    assert sweep(as_of=AS_OF).run.incremental
    alert = Alert.objects.get(rule="referral_unanswered", object_id=stray.pk, resolved_at__isnull=True)
    assert alert.episode_id == other.pk and alert.responsible_organisation_id is not None
    assert_same_as_full(AS_OF)
