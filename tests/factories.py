"""Builders for test data. Plain functions with keyword arguments and sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from polku.catalogue.models import Service, ServiceClass
from polku.clients.models import Client, Consent, ConsentMethod
from polku.core.choices import DataCategory
from polku.core.identity import make_business_id, make_hetu
from polku.episodes.models import EpisodeParticipant, EpisodeStatus, JointServiceEpisode
from polku.organisations.models import Organisation, OrganisationKind, StaffMember, StaffRole
from polku.referrals.models import Referral, ReferralStatus

_seq = itertools.count(1)


def organisation(kind: str = OrganisationKind.EMPLOYMENT_SERVICES, name: str = "") -> Organisation:
    n = next(_seq)
    digits = n
    while make_business_id(f"{digits:07d}") is None:
        digits += 100_000
    return Organisation.objects.create(name_fi=name or f"Org {n}", kind=kind,
                                       business_id=make_business_id(f"{digits:07d}"), municipality_code="091")


def user(username: str = "", **extra: Any) -> Any:
    return get_user_model().objects.create_user(username=username or f"user{next(_seq)}", password=None,
                                                first_name="Test", last_name="Person", **extra)


def staff(org: Organisation | None = None, role: str = StaffRole.COORDINATOR) -> Any:
    """A user who is an active staff member; returns the user."""
    account = user()
    StaffMember.objects.create(user=account, organisation=org or organisation(), role=role)
    return account


def client(**fields: Any) -> Client:
    n = next(_seq)
    birth = dt.date(1960, 1, 1) + dt.timedelta(days=(n * 37) % 15000)
    hetu = make_hetu(birth, 900 + n % 100, variant=n)
    while Client.objects.filter(personal_identity_code=hetu).exists():
        n = next(_seq)
        birth = dt.date(1960, 1, 1) + dt.timedelta(days=(n * 37) % 15000)
        hetu = make_hetu(birth, 900 + n % 100, variant=n)
    defaults: dict[str, Any] = {"first_name": "Testi", "last_name": f"Asiakas{n}", "municipality_code": "091"}
    defaults.update(fields)
    return Client.objects.create(personal_identity_code=hetu, birth_date=birth,
                                 legal_sex="male" if (900 + n % 100) % 2 else "female", **defaults)


def episode(client_obj: Client, *orgs_and_staff: tuple[Organisation, Any], status: str = EpisodeStatus.MAPPING,
            start: dt.date | None = None) -> JointServiceEpisode:
    start = start or timezone.localdate() - dt.timedelta(days=30)
    opener = orgs_and_staff[0][1] if orgs_and_staff else user()
    ep = JointServiceEpisode.objects.create(
        client=client_obj, status=status, start_date=start, mapping_period_end=start + dt.timedelta(days=90),
        opened_by=opener, end_date=timezone.localdate() if status == EpisodeStatus.CLOSED else None,
        end_reason="employed" if status == EpisodeStatus.CLOSED else "",
    )
    for org, account in orgs_and_staff:
        EpisodeParticipant.objects.create(episode=ep, organisation=org, responsible_person=account.staff,
                                          joined_on=start)
    return ep


def consent(client_obj: Client, org: Organisation, category: str = DataCategory.EMPLOYMENT, *,
            valid_from: dt.datetime | None = None, valid_to: dt.datetime | None = None,
            revoked: bool = False, recorded_by: Any = None) -> Consent:
    now = timezone.now()
    return Consent.objects.create(
        client=client_obj, organisation=org, category=category, purpose="Joint service",
        valid_from=valid_from or now - dt.timedelta(days=1), valid_to=valid_to, method=ConsentMethod.IN_PERSON,
        recorded_by=recorded_by or user(), revoked_at=now if revoked else None,
    )


def consent_all(client_obj: Client, org: Organisation) -> None:
    for category in DataCategory.values:
        if category != DataCategory.BASIC:
            consent(client_obj, org, category)


def service(provider: Organisation | None = None, data_category: str = DataCategory.REHABILITATION,
            **fields: Any) -> Service:
    defaults: dict[str, Any] = {"name_fi": f"Palvelu {next(_seq)}", "service_class": ServiceClass.WORK_TRIAL,
                                "unit_cost": 100}
    defaults.update(fields)
    return Service.objects.create(provider=provider or organisation(OrganisationKind.REHABILITATION_PROVIDER),
                                  data_category=data_category, **defaults)


def referral(client_obj: Client, svc: Service, sender_org: Organisation, creator: Any,
             status: str = ReferralStatus.SENT) -> Referral:
    return Referral.objects.create(client=client_obj, service=svc, sending_organisation=sender_org,
                                   receiving_organisation=svc.provider, created_by=creator, status=status)
