"""Episodes: adding participants, closing with a reason, reopening for a returning client."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from polku.access.policy import decide
from polku.core.dates import add_months
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput
from polku.episodes.services import episode_add_participant, episode_close, episode_open
from polku.organisations.models import OrganisationKind, StaffRole
from polku.referrals.models import ReferralStatus
from tests import factories as f


def test_add_participant__gives_the_new_organisation_a_relationship(joint: Any) -> None:
    health = f.organisation(OrganisationKind.HEALTH_SERVICES)
    nurse = f.staff(health, StaffRole.HEALTH_PROFESSIONAL)
    f.consent(joint.client, health, "health")
    assert not decide(nurse, joint.client, "health", "view")
    episode_add_participant(actor=joint.coordinator, episode_id=joint.episode.pk,
                            responsible_person_id=nurse.staff.pk)
    assert decide(nurse, joint.client, "health", "view")
    with pytest.raises(InvalidInput):
        episode_add_participant(actor=joint.coordinator, episode_id=joint.episode.pk,
                                responsible_person_id=nurse.staff.pk)


def test_add_participant__only_by_a_participant(joint: Any) -> None:
    with pytest.raises(AccessDenied):
        episode_add_participant(actor=joint.outsider, episode_id=joint.episode.pk,
                                responsible_person_id=joint.outsider.staff.pk)


def test_close__needs_a_reason_and_ends_the_relationship(joint: Any) -> None:
    today = timezone.localdate()
    with pytest.raises(InvalidInput):
        episode_close(actor=joint.coordinator, episode_id=joint.episode.pk, end_date=today, end_reason="")
    with pytest.raises(InvalidInput):
        episode_close(actor=joint.coordinator, episode_id=joint.episode.pk,
                      end_date=joint.episode.start_date - dt.timedelta(days=1), end_reason="employed")
    episode_close(actor=joint.coordinator, episode_id=joint.episode.pk, end_date=today, end_reason="employed")
    assert not decide(joint.coordinator, joint.client, "basic", "view")
    with pytest.raises(AccessDenied):
        episode_close(actor=joint.coordinator, episode_id=joint.episode.pk, end_date=today, end_reason="employed")


def test_closed_episode__cannot_close_again_by_someone_still_related(joint: Any) -> None:
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator, ReferralStatus.ACCEPTED)
    today = timezone.localdate()
    episode_close(actor=joint.coordinator, episode_id=joint.episode.pk, end_date=today, end_reason="education")
    with pytest.raises(IllegalTransition):
        episode_close(actor=joint.provider_worker, episode_id=joint.episode.pk, end_date=today,
                      end_reason="employed")


def test_open__returning_client_gets_a_new_episode_only_when_none_is_open(joint: Any) -> None:
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator, ReferralStatus.ACCEPTED)
    f.consent(joint.client, joint.provider, "employment")
    coordinator_at_provider = f.staff(joint.provider, StaffRole.COORDINATOR)
    with pytest.raises(InvalidInput):
        episode_open(actor=coordinator_at_provider, client_id=joint.client.pk)
    episode_close(actor=joint.coordinator, episode_id=joint.episode.pk, end_date=timezone.localdate(),
                  end_reason="no_change")
    episode = episode_open(actor=coordinator_at_provider, client_id=joint.client.pk)
    assert episode.mapping_period_end == add_months(episode.start_date, 3)


@pytest.mark.parametrize(("day", "months", "expected"), [
    (dt.date(2025, 1, 31), 1, dt.date(2025, 2, 28)), (dt.date(2024, 11, 30), 3, dt.date(2025, 2, 28)),
    (dt.date(2024, 1, 31), 1, dt.date(2024, 2, 29)), (dt.date(2025, 10, 15), 3, dt.date(2026, 1, 15)),
])
def test_add_months(day: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(day, months) == expected


@pytest.mark.parametrize("end_date", ["2026-01-01", None, dt.datetime(2026, 1, 1)])
def test_close__end_date_must_be_a_date(joint: Any, end_date: Any) -> None:
    with pytest.raises(InvalidInput):
        episode_close(actor=joint.coordinator, episode_id=joint.episode.pk, end_date=end_date, end_reason="employed")


def test_add_participant__joining_date_within_the_episode(joint: Any) -> None:
    health = f.organisation(OrganisationKind.HEALTH_SERVICES)
    nurse = f.staff(health, StaffRole.HEALTH_PROFESSIONAL)
    for day in (dt.date(1990, 1, 1), timezone.localdate() + dt.timedelta(days=5)):
        with pytest.raises(InvalidInput):
            episode_add_participant(actor=joint.coordinator, episode_id=joint.episode.pk,
                                    responsible_person_id=nurse.staff.pk, joined_on=day)
