"""The compiled access-decision query is cached per organisation and category; it must never cache a person,
a day or a moment: the same check gives a new answer when the clock or the data move on."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from polku.access import policy
from polku.access.policy import decide
from polku.audit.models import AccessAction
from polku.clients.models import EmploymentStatus, EmploymentStatusPeriod
from polku.core.choices import DataCategory
from polku.organisations.models import OrganisationKind, ServiceArea, StaffRole
from tests import factories as f


def test_consent_lapsing_between_two_checks_is_seen(db: Any, monkeypatch: Any) -> None:
    org = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES)
    coordinator = f.staff(org, StaffRole.COORDINATOR)
    client = f.client()
    f.episode(client, (org, coordinator))
    f.consent(client, org, DataCategory.EMPLOYMENT, valid_to=timezone.now() + dt.timedelta(hours=1))
    assert decide(coordinator, client.pk, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    later = timezone.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(policy.timezone, "now", lambda: later)
    refused = decide(coordinator, client.pk, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    assert not refused and refused.reason == "no_consent"


def test_job_seeker_relationship_ends_with_the_unemployment_period(db: Any, monkeypatch: Any) -> None:
    org = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES)
    ServiceArea.objects.create(organisation=org, municipality_code="091")
    coordinator = f.staff(org, StaffRole.COORDINATOR)
    client = f.client(municipality_code="091")
    today = timezone.localdate()
    EmploymentStatusPeriod.objects.create(client=client, status=EmploymentStatus.UNEMPLOYED,
                                          start_date=today - dt.timedelta(days=100), end_date=today)
    f.consent(client, org, DataCategory.EMPLOYMENT)
    assert decide(coordinator, client.pk, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    monkeypatch.setattr(policy.timezone, "localdate", lambda: today + dt.timedelta(days=1))
    refused = decide(coordinator, client.pk, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    assert not refused and refused.reason == "no_relationship"


def test_the_cached_query_answers_for_each_client_separately(db: Any) -> None:
    org = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES)
    coordinator = f.staff(org, StaffRole.COORDINATOR)
    mine, other = f.client(), f.client()
    f.episode(mine, (org, coordinator))
    f.consent(mine, org, DataCategory.EMPLOYMENT)
    assert decide(coordinator, mine.pk, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    assert not decide(coordinator, other.pk, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    assert not decide(coordinator, 10**12, DataCategory.EMPLOYMENT, AccessAction.VIEW)
    assert policy._decision_query.cache_info().hits >= 1
