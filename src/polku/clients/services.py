"""Writes to a client's basic data, consent and employment history. Each is one transaction, checked by the
access policy and written to the access log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import JOINT_SERVICE_ROLES, authorize, client_data_service, staff_of
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, InvalidInput, VersionConflict
from polku.core.identity import parse_hetu
from polku.core.validation import require, require_date, validated
from polku.organisations.models import Organisation

from .models import Client, Consent, ConsentMethod, EmploymentStatusPeriod

#: Fields of the client's own record that staff may change with ``client_update``.
CLIENT_EDITABLE_FIELDS = frozenset(
    {"first_name", "last_name", "gender", "preferred_language", "municipality_code", "phone", "email",
     "address", "education_level", "foreign_background", "third_country_national", "minority", "disability",
     "homeless"}
)


@dataclass(frozen=True)
class ConsentGrant:
    """A consent the client gives: ``organisation_id`` may process ``category`` for ``purpose``."""

    organisation_id: int
    category: str
    purpose: str
    valid_to: dt.datetime | None = None


def _clean_hetu(value: str) -> Any:
    from django.core.exceptions import ValidationError

    try:
        return parse_hetu(value)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], errors={"personal_identity_code": exc.messages}) from exc


@client_data_service
def client_register(
    *,
    actor: Any,
    personal_identity_code: str,
    first_name: str,
    last_name: str,
    municipality_code: str,
    start_date: dt.date | None = None,
    consents: Sequence[ConsentGrant] = (),
    consent_method: str = ConsentMethod.IN_PERSON,
    **background: Any,
) -> Client:
    """Register a person in the joint service: create the client, open a joint-service episode with the
    actor's organisation as participant and the actor as responsible person, and record the consents given.

    A person already registered is not registered twice; the actor is told to ask the client's current
    coordinator to add their organisation, and nothing of the stored client is shown or changed.
    """
    from polku.episodes.services import _episode_create

    staff = staff_of(actor)
    if staff is None or staff.role not in JOINT_SERVICE_ROLES:
        raise AccessDenied(_("Only the professionals of the joint service's parties can register clients."),
                           code="role")
    unknown = set(background) - CLIENT_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown fields."), errors={name: [str(_("Unknown field."))] for name in unknown})
    hetu = _clean_hetu(personal_identity_code)
    require(any(grant.organisation_id == staff.organisation_id for grant in consents), "consents",
            _("Record the client's consent for your own organisation: without it you could not see the client."))
    existing = Client.objects.filter(personal_identity_code=hetu.code).first()
    if existing is not None:
        raise InvalidInput(
            _("A client with this personal identity code is already registered. Ask the client's coordinator "
              "to add your organisation to the joint service."),
            errors={"personal_identity_code": [str(_("Already registered."))]},
            code="already_registered",
        )
    now = timezone.now()
    client = Client(
        personal_identity_code=hetu.code,
        birth_date=hetu.birth_date,
        legal_sex=hetu.legal_sex,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        municipality_code=municipality_code.strip(),
        created_at=now,
        updated_at=now,
        **background,
    )
    validated(client, exclude=["user"])
    try:
        client.save()
    except IntegrityError as exc:  # registered by someone else a moment ago
        raise InvalidInput(_("A client with this personal identity code is already registered."),
                           errors={"personal_identity_code": [str(_("Already registered."))]},
                           code="already_registered") from exc
    _episode_create(actor=actor, staff=staff, client=client, start_date=start_date or timezone.localdate())
    for grant in consents:
        _consent_create(actor=actor, client=client, grant=grant, method=consent_method)
    authorize(actor, client, DataCategory.BASIC, AccessAction.CREATE, purpose=_("Client registration"),
              obj=client)
    return client


@client_data_service
def client_update(*, actor: Any, client_id: int, expected_version: int, **changes: Any) -> Client:
    """Change the client's basic and background details; a stale ``expected_version`` is refused."""
    client = Client.objects.select_for_update().filter(pk=client_id).first()
    if client is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, client, DataCategory.BASIC, AccessAction.UPDATE, purpose=_("Update client details"),
              obj=client)
    unknown = set(changes) - CLIENT_EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown fields."), errors={name: [str(_("Unknown field."))] for name in unknown})
    if client.version != expected_version:
        raise VersionConflict(_("Someone else changed this client's details. Reload and try again."),
                              current_version=client.version)
    for name, value in changes.items():
        setattr(client, name, value.strip() if isinstance(value, str) else value)
    validated(client, exclude=["user"])
    client.version += 1
    client.updated_at = timezone.now()
    updated = Client.objects.filter(pk=client.pk, version=expected_version).update(
        version=client.version, updated_at=client.updated_at, **{k: getattr(client, k) for k in changes}
    )
    if updated != 1:
        raise VersionConflict(_("Someone else changed this client's details. Reload and try again."),
                              current_version=expected_version + 1)
    return client


def _consent_create(*, actor: Any, client: Client, grant: ConsentGrant, method: str) -> Consent:
    require(grant.category in DataCategory.values and grant.category != DataCategory.BASIC, "category",
            _("Choose a data category: employment, social welfare, health, benefits or rehabilitation."))
    require(bool(grant.purpose and grant.purpose.strip()), "purpose", _("Say what the consent is for."))
    organisation = Organisation.objects.filter(pk=grant.organisation_id, active=True).first()
    require(organisation is not None, "organisation", _("Choose an active organisation."))
    require(method in ConsentMethod.values, "method", _("Say how the consent was given."))
    now = timezone.now()
    consent = Consent(
        client=client, organisation=organisation, category=grant.category, purpose=grant.purpose.strip(),
        valid_from=now, valid_to=grant.valid_to, method=method, recorded_by=actor, recorded_at=now,
    )
    validated(consent)
    consent.save()
    return consent


@client_data_service
def consent_record(
    *, actor: Any, client_id: int, grant: ConsentGrant, method: str = ConsentMethod.IN_PERSON
) -> Consent:
    """Record the client's consent for one organisation and data category.

    Staff record it on the client's behalf (their organisation needs a client relationship); a client records
    their own, electronically.
    """
    client = Client.objects.filter(pk=client_id).first()
    if client is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, client, DataCategory.BASIC, AccessAction.MANAGE_CONSENT,
              purpose=_("Record consent"), obj=client)
    if getattr(actor, "client", None) is not None and staff_of(actor) is None:
        method = ConsentMethod.ELECTRONIC
    return _consent_create(actor=actor, client=client, grant=grant, method=method)


@client_data_service
def consent_revoke(*, actor: Any, consent_id: int, reason: str = "") -> Consent:
    """Revoke a consent. It takes effect at once: the next access check no longer finds it."""
    consent = Consent.objects.select_for_update().filter(pk=consent_id).first()
    if consent is None:
        raise InvalidInput(_("No such consent."), errors={"consent": [str(_("No such consent."))]})
    authorize(actor, consent.client_id, DataCategory.BASIC, AccessAction.MANAGE_CONSENT,
              purpose=_("Revoke consent"), obj=consent)
    if consent.revoked_at is not None:
        raise InvalidInput(_("This consent has already been revoked."), code="already_revoked")
    consent.revoked_at = timezone.now()
    consent.revoked_by = actor
    consent.revoke_reason = reason.strip()[:300]
    consent.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    return consent


@client_data_service
def employment_period_record(
    *, actor: Any, client_id: int, status: str, start_date: dt.date, end_date: dt.date | None = None,
    source: str = "",
) -> EmploymentStatusPeriod:
    """Record a period of labour-market status (employment data)."""
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.CREATE,
              purpose=_("Record employment status"))
    require_date(start_date, "start_date")
    if end_date is not None:
        require_date(end_date, "end_date")
    require(start_date <= timezone.localdate(), "start_date", _("A period cannot start in the future."))
    period = EmploymentStatusPeriod(client_id=client_id, status=status, start_date=start_date,
                                    end_date=end_date, source=source)
    duplicate = EmploymentStatusPeriod.objects.filter(client_id=client_id, status=status, start_date=start_date)
    if duplicate.exists():  # the period's natural key, which register imports match on
        message = _("A period of this status starting on this day is already recorded.")
        raise InvalidInput(message, errors={"start_date": [str(message)]}, code="already_recorded")
    validated(period)
    period.save()
    return period
