"""Registering clients, updating them, consent and employment history."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone, translation

from polku.access.policy import decide
from polku.audit.models import AccessLog
from polku.clients.models import Client, Consent
from polku.clients.services import (
    ConsentGrant,
    client_register,
    client_update,
    consent_record,
    employment_period_record,
)
from polku.core.dates import add_months
from polku.core.errors import AccessDenied, InvalidInput, VersionConflict
from polku.episodes.models import JointServiceEpisode
from polku.organisations.models import StaffRole
from tests import factories as f


def register(joint: Any, actor: Any = None, **overrides: Any) -> Client:
    fields: dict[str, Any] = {
        "personal_identity_code": "010594Y9032", "first_name": "Aino", "last_name": "Virtanen",
        "municipality_code": "179",
        "consents": [ConsentGrant(joint.employment.pk, "employment", "Joint service")],
    }
    fields.update(overrides)
    return client_register(actor=actor or joint.coordinator, **fields)


def test_client_register__creates_client_episode_and_consents(joint: Any) -> None:
    client = register(joint, gender="woman", preferred_language="sv", education_level="isced_3_4")
    assert (client.birth_date, client.legal_sex) == (dt.date(1994, 5, 1), "male")  # derived from the code
    episode = JointServiceEpisode.objects.get(client=client)
    assert episode.status == "mapping"
    assert episode.mapping_period_end == add_months(episode.start_date, 3)
    assert episode.participants.get().responsible_person == joint.coordinator.staff
    assert decide(joint.coordinator, client, "employment", "view").allowed
    assert not decide(joint.social_worker, client, "basic", "view").allowed
    assert AccessLog.objects.filter(client_id=client.pk, action="create", allowed=True).count() == 1


@pytest.mark.parametrize(("field", "value"), [
    ("personal_identity_code", "010594Y9033"),
    ("personal_identity_code", "nonsense"),
    ("municipality_code", "Helsinki"),
    ("first_name", ""),
    ("gender", "unknown"),
    ("email", "not-an-email"),
    ("consents", [ConsentGrant(0, "employment", "x")]),
    ("consents", [ConsentGrant(1, "employment", " ")]),
    ("start_date", timezone.localdate() + dt.timedelta(days=3)),
])
def test_client_register__bad_input__clear_error_and_nothing_written(joint: Any, field: str, value: Any) -> None:
    if field == "consents" and value[0].organisation_id == 1:
        value = [ConsentGrant(joint.employment.pk, "employment", " ")]
    clients, episodes, consents = Client.objects.count(), JointServiceEpisode.objects.count(), Consent.objects.count()
    with pytest.raises(InvalidInput) as excinfo:
        register(joint, **{field: value})
    assert str(excinfo.value)
    assert (Client.objects.count(), JointServiceEpisode.objects.count(), Consent.objects.count()) == (
        clients, episodes, consents)


def test_client_register__without_consent_for_own_organisation__refused_before_writing(joint: Any) -> None:
    from polku.audit.models import AccessLog

    before = AccessLog.objects.count()
    with pytest.raises(InvalidInput) as excinfo:
        register(joint, consents=[ConsentGrant(joint.social.pk, "social", "Joint service")])
    assert "consents" in excinfo.value.errors
    assert not Client.objects.filter(personal_identity_code="010594Y9032").exists()
    assert AccessLog.objects.count() == before


def test_client_register__error_is_translated(joint: Any) -> None:
    with translation.override("fi"), pytest.raises(InvalidInput) as excinfo:
        register(joint, personal_identity_code="010594Y9033")
    assert "tarkistusmerkki" in excinfo.value.errors["personal_identity_code"][0].lower()
    with translation.override("sv"), pytest.raises(InvalidInput) as excinfo:
        register(joint, personal_identity_code="010594Y9033")
    assert "kontrolltecken" in excinfo.value.errors["personal_identity_code"][0].lower()


def test_client_register__already_registered__refused_without_revealing_data(joint: Any) -> None:
    register(joint)
    with pytest.raises(InvalidInput) as excinfo:
        register(joint, actor=joint.outsider, first_name="Other",
                 consents=[ConsentGrant(joint.outsider.staff.organisation_id, "employment", "Joint service")])
    assert excinfo.value.code == "already_registered"
    assert "Aino" not in str(excinfo.value)
    assert Client.objects.filter(personal_identity_code="010594Y9032").get().first_name == "Aino"


@pytest.mark.parametrize("role", [StaffRole.PROVIDER_WORKER, StaffRole.MANAGER, StaffRole.ADMINISTRATOR])
def test_client_register__roles_outside_the_joint_service__denied(joint: Any, role: str) -> None:
    with pytest.raises(AccessDenied):
        register(joint, actor=f.staff(joint.employment, role))
    assert not Client.objects.filter(personal_identity_code="010594Y9032").exists()


def test_client_update__version_check(joint: Any) -> None:
    updated = client_update(actor=joint.coordinator, client_id=joint.client.pk, expected_version=1,
                            phone="0401234567")
    assert updated.version == 2
    with pytest.raises(VersionConflict):
        client_update(actor=joint.social_worker, client_id=joint.client.pk, expected_version=1, phone="050")
    joint.client.refresh_from_db()
    assert joint.client.phone == "0401234567"


@pytest.mark.parametrize("changes", [{"personal_identity_code": "131052-308T"}, {"municipality_code": "1"},
                                     {"email": "x"}, {"version": 9}])
def test_client_update__bad_or_forbidden_fields__refused(joint: Any, changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        client_update(actor=joint.coordinator, client_id=joint.client.pk, expected_version=1, **changes)
    joint.client.refresh_from_db()
    assert joint.client.version == 1


def test_consent_record__by_staff_and_time_bounds(joint: Any) -> None:
    later = timezone.now() + dt.timedelta(days=90)
    consent = consent_record(actor=joint.coordinator, client_id=joint.client.pk,
                             grant=ConsentGrant(joint.provider.pk, "employment", "Work trial", valid_to=later))
    assert consent.is_active() and not consent.is_active(later + dt.timedelta(seconds=1))
    with pytest.raises(InvalidInput):
        consent_record(actor=joint.coordinator, client_id=joint.client.pk,
                       grant=ConsentGrant(joint.provider.pk, "employment", "x",
                                          valid_to=timezone.now() - dt.timedelta(days=1)))
    with pytest.raises(InvalidInput):
        consent_record(actor=joint.coordinator, client_id=joint.client.pk,
                       grant=ConsentGrant(joint.provider.pk, "basic", "x"))


def test_consent_record__by_the_client_is_electronic(joint: Any) -> None:
    joint.client.user = f.user()
    joint.client.save()
    consent = consent_record(actor=joint.client.user, client_id=joint.client.pk,
                             grant=ConsentGrant(joint.provider.pk, "employment", "Work trial"))
    assert consent.method == "electronic"


def test_employment_period__end_before_start__refused(joint: Any) -> None:
    with pytest.raises(InvalidInput):
        employment_period_record(actor=joint.coordinator, client_id=joint.client.pk, status="unemployed",
                                 start_date=dt.date(2024, 5, 1), end_date=dt.date(2024, 4, 1))
    with pytest.raises(InvalidInput):
        employment_period_record(actor=joint.coordinator, client_id=joint.client.pk, status="dreaming",
                                 start_date=dt.date(2024, 5, 1))


def test_employment_period__same_status_and_start_twice__refused(joint: Any) -> None:
    """(client, status, start date) is a period's natural key, which register imports match on."""
    employment_period_record(actor=joint.coordinator, client_id=joint.client.pk, status="unemployed",
                             start_date=dt.date(2024, 5, 1))
    with pytest.raises(InvalidInput) as excinfo:
        employment_period_record(actor=joint.coordinator, client_id=joint.client.pk, status="unemployed",
                                 start_date=dt.date(2024, 5, 1), end_date=dt.date(2024, 6, 1))
    assert excinfo.value.code == "already_recorded"
    assert joint.client.employment_periods.count() == 1
