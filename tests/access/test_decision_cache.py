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


def test_cached_caseload_page_is_the_same_set_as_visible_clients(db: Any) -> None:
    from polku.access.policy import visible_clients, visible_clients_page

    org = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES)
    ServiceArea.objects.create(organisation=org, municipality_code="091")
    coordinator = f.staff(org, StaffRole.COORDINATOR)
    people = []
    for n, (municipality, name) in enumerate([("091", "Virtanen"), ("049", "Vir%tanen"), ("091", "Korhonen"),
                                              ("091", "Ni_eminen"), ("049", "Mäkinen"), ("091", "Virta")]):
        person = f.client(municipality_code=municipality, last_name=name)
        if n % 3 != 2:  # in the joint service with this organisation
            f.episode(person, (org, coordinator))
        if n % 2 == 0:  # consents
            f.consent(person, org, DataCategory.EMPLOYMENT)
        people.append(person)
    outsider = f.client(last_name="Virtanen")  # no relationship at all
    f.consent(outsider, org, DataCategory.EMPLOYMENT)

    every = sorted(visible_clients(coordinator).values_list("pk", flat=True))
    assert every and outsider.pk not in every
    assert [c.pk for c in visible_clients_page(coordinator, limit=100)] == every
    first = visible_clients_page(coordinator, limit=1)
    rest = visible_clients_page(coordinator, after=first[0].pk, limit=100)
    assert [c.pk for c in first + rest] == every
    for term in ("virta", "VIR%", "ni_e", "_", "%", "\\", "mäki"):
        expected = sorted(visible_clients(coordinator).filter(last_name__icontains=term).values_list("pk", flat=True))
        assert [c.pk for c in visible_clients_page(coordinator, search=term, limit=100)] == expected, term
    in_091 = sorted(visible_clients(coordinator).filter(municipality_code="091").values_list("pk", flat=True))
    assert [c.pk for c in visible_clients_page(coordinator, municipality_code="091", limit=100)] == in_091
    manager = f.staff(org, StaffRole.MANAGER)
    assert visible_clients_page(manager, limit=100) == []
