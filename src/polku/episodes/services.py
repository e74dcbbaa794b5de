"""Opening, staffing and closing joint-service episodes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import JOINT_SERVICE_ROLES, authorize, client_data_service, deny, staff_of
from polku.audit.models import AccessAction
from polku.clients.models import Client
from polku.core.choices import DataCategory
from polku.core.dates import add_months
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput
from polku.core.validation import require, require_date
from polku.organisations.models import StaffMember

from .models import EndReason, EpisodeParticipant, EpisodeStatus, JointServiceEpisode


def _episode_create(*, actor: Any, staff: StaffMember, client: Client, start_date: dt.date) -> JointServiceEpisode:
    require_date(start_date, "start_date")
    require(start_date <= timezone.localdate(), "start_date", _("An episode cannot start in the future."))
    episode = JointServiceEpisode(
        client=client, status=EpisodeStatus.MAPPING, start_date=start_date,
        mapping_period_end=add_months(start_date, settings.POLKU["MAPPING_PERIOD_MONTHS"]), opened_by=actor,
    )
    try:
        episode.save()
    except IntegrityError as exc:
        raise InvalidInput(_("The client already has an open joint-service episode."),
                           code="episode_already_open") from exc
    EpisodeParticipant.objects.create(
        episode=episode, organisation_id=staff.organisation_id, responsible_person=staff, joined_on=start_date
    )
    return episode


def _get_episode(episode_id: int, *, lock: bool = False) -> JointServiceEpisode:
    qs = JointServiceEpisode.objects.select_related("client")
    if lock:
        qs = qs.select_for_update()
    episode = qs.filter(pk=episode_id).first()
    if episode is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    return episode


@client_data_service
def episode_open(*, actor: Any, client_id: int, start_date: dt.date | None = None) -> JointServiceEpisode:
    """Open a new episode for a returning client (whose previous one is closed).

    The actor's organisation needs a client relationship (e.g. an open referral) and consent.
    """
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.CREATE,
              purpose=_("Open a joint-service episode"))
    staff = staff_of(actor)
    if staff is None or staff.role not in JOINT_SERVICE_ROLES:
        raise deny(actor, client_id, DataCategory.BASIC, AccessAction.CREATE,
                   purpose=_("Open a joint-service episode"),
                   message=_("Only the professionals of the joint service's parties open an episode."), code="role")
    client = Client.objects.get(pk=client_id)
    return _episode_create(actor=actor, staff=staff, client=client, start_date=start_date or timezone.localdate())


@client_data_service
def episode_add_participant(
    *, actor: Any, episode_id: int, responsible_person_id: int, joined_on: dt.date | None = None
) -> EpisodeParticipant:
    """Add an organisation to the episode, with its named responsible person.

    Only a participating organisation can add another (it has the relationship and the consent to do so).
    """
    episode = _get_episode(episode_id, lock=True)
    purpose = _("Add an organisation to the joint service")
    authorize(actor, episode.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=episode)
    staff = staff_of(actor)
    if staff is None or staff.role not in JOINT_SERVICE_ROLES or not episode.participants.filter(
        organisation_id=staff.organisation_id, left_on__isnull=True
    ).exists():
        raise deny(actor, episode.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=episode,
                   message=_("Only a participating organisation's professionals can add another organisation."),
                   code="not_participant")
    if not episode.is_open:
        raise IllegalTransition(_("The episode is closed."), code="episode_closed")
    person = StaffMember.objects.select_related("organisation").filter(
        pk=responsible_person_id, active=True
    ).first()
    require(person is not None, "responsible_person", _("Choose an active staff member."))
    assert person is not None
    if episode.participants.filter(organisation_id=person.organisation_id, left_on__isnull=True).exists():
        raise InvalidInput(_("This organisation already takes part in the episode."),
                           errors={"responsible_person": [str(_("Already taking part."))]})
    day = require_date(joined_on or timezone.localdate(), "joined_on")
    require(episode.start_date <= day <= timezone.localdate(), "joined_on",
            _("The joining date must be between the start of the episode and today."))
    participant, _created = EpisodeParticipant.objects.update_or_create(
        episode=episode, organisation_id=person.organisation_id,
        defaults={"responsible_person": person, "joined_on": day, "left_on": None},
    )
    return participant


@client_data_service
def episode_close(
    *, actor: Any, episode_id: int, end_date: dt.date, end_reason: str, notes: str = ""
) -> JointServiceEpisode:
    """Close the joint service: coordination of several parties is no longer needed. A reason is required."""
    episode = _get_episode(episode_id, lock=True)
    purpose = _("Close the joint-service episode")
    authorize(actor, episode.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=episode)
    if staff_of(actor) is None:  # a client sees their episode but does not close it (the authorisation matrix)
        raise deny(actor, episode.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=episode,
                   message=_("Only the participating professionals close the joint service."), code="role")
    if not episode.is_open:
        raise IllegalTransition(_("The episode is already closed."), code="episode_closed")
    require_date(end_date, "end_date")
    require(end_reason in EndReason.values, "end_reason", _("Choose why the joint service ends."))
    require(end_date >= episode.start_date, "end_date", _("The end date cannot be before the start date."))
    require(end_date <= timezone.localdate(), "end_date", _("The end date cannot be in the future."))
    episode.status = EpisodeStatus.CLOSED
    episode.end_date = end_date
    episode.end_reason = end_reason
    episode.end_notes = notes.strip()
    episode.version += 1
    episode.save(update_fields=["status", "end_date", "end_reason", "end_notes", "version"])
    return episode
