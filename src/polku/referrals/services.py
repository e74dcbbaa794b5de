"""Referrals as a state machine: every transition checked, timestamped and logged.

::

    draft ─send→ sent ─receive→ received ─accept→ accepted ─start→ started ─complete→ completed
                                   │  └─waitlist→ waitlisted ─accept/decline┘         └─interrupt→ interrupted
                                   └─decline→ declined
    draft, sent, received, waitlisted, accepted ─cancel→ cancelled   (by the sender)
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import authorize, client_data_service, deny, has_consent, staff_of
from polku.audit.models import AccessAction
from polku.catalogue.models import Service
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput, VersionConflict
from polku.core.validation import require
from polku.episodes.models import EpisodeStatus, JointServiceEpisode

from .models import Referral, ReferralStatus, ReferralTransition

S = ReferralStatus
SENDER, RECEIVER = "sender", "receiver"

#: from-state → {to-state: which side may make the transition}
TRANSITIONS: dict[str, dict[str, str]] = {
    S.DRAFT: {S.SENT: SENDER, S.CANCELLED: SENDER},
    S.SENT: {S.RECEIVED: RECEIVER, S.CANCELLED: SENDER},
    S.RECEIVED: {S.ACCEPTED: RECEIVER, S.WAITLISTED: RECEIVER, S.DECLINED: RECEIVER, S.CANCELLED: SENDER},
    S.WAITLISTED: {S.ACCEPTED: RECEIVER, S.DECLINED: RECEIVER, S.CANCELLED: SENDER},
    S.ACCEPTED: {S.STARTED: RECEIVER, S.CANCELLED: SENDER},
    S.STARTED: {S.COMPLETED: RECEIVER, S.INTERRUPTED: RECEIVER},
}
#: Transitions that need a reason.
REASON_REQUIRED = frozenset({S.DECLINED, S.INTERRUPTED, S.CANCELLED})
#: Which timestamp field each target state sets.
TIMESTAMP_FIELD: dict[str, str] = {
    S.SENT: "sent_at", S.RECEIVED: "received_at", S.ACCEPTED: "decided_at", S.WAITLISTED: "decided_at",
    S.DECLINED: "decided_at", S.STARTED: "started_at", S.COMPLETED: "ended_at", S.INTERRUPTED: "ended_at",
    S.CANCELLED: "ended_at",
}


def _denied() -> AccessDenied:
    return AccessDenied(_("You do not have access to this client's data."), code="not_found")


@client_data_service
def referral_create(
    *, actor: Any, client_id: int, service_id: int, reason_for_referral: str = "", episode_id: int | None = None
) -> Referral:
    """Draft a referral of the client to a service, from the actor's organisation."""
    authorize(actor, client_id, DataCategory.BASIC, AccessAction.CREATE, purpose=_("Draft a referral"))
    staff = staff_of(actor)
    if staff is None:
        raise deny(actor, client_id, DataCategory.BASIC, AccessAction.CREATE, purpose=_("Draft a referral"),
                   message=_("Only staff can refer a client."), code="role")
    service = Service.objects.filter(pk=service_id, active=True).first()
    require(service is not None, "service", _("Choose an active service."))
    assert service is not None
    if episode_id is not None:
        require(JointServiceEpisode.objects.filter(pk=episode_id, client_id=client_id).exists(), "episode",
                _("The episode is not this client's."))
    now = timezone.now()
    referral = Referral.objects.create(
        client_id=client_id, service=service, episode_id=episode_id, sending_organisation_id=staff.organisation_id,
        receiving_organisation_id=service.provider_id, created_by=actor, status=S.DRAFT,
        reason_for_referral=reason_for_referral.strip(), created_at=now, status_changed_at=now,
    )
    ReferralTransition.objects.create(referral=referral, from_status="", to_status=S.DRAFT, at=now, by=actor)
    return referral


@client_data_service
def referral_transition(
    *, actor: Any, referral_id: int, to_status: str, reason: str = "", expected_version: int | None = None
) -> Referral:
    """Move a referral to ``to_status`` if the state machine and the actor's side allow it."""
    referral = Referral.objects.select_for_update().select_related("service").filter(pk=referral_id).first()
    if referral is None:
        raise _denied()
    purpose = _("Handle a referral")
    authorize(actor, referral.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=referral)
    staff = staff_of(actor)
    if staff is None:
        raise deny(actor, referral.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=referral,
                   message=_("Only staff handle referrals."), code="role")
    if expected_version is not None and referral.version != expected_version:
        raise VersionConflict(_("Someone else changed this referral. Reload and try again."),
                              current_version=referral.version)
    allowed = TRANSITIONS.get(referral.status, {})
    if to_status not in allowed:
        raise IllegalTransition(
            _("A referral that is %(current)s cannot become %(target)s."),
            params={"current": S(referral.status).label, "target": _status_label(to_status)},
        )
    side = allowed[to_status]
    side_org = referral.sending_organisation_id if side == SENDER else referral.receiving_organisation_id
    if staff.organisation_id != side_org:
        raise deny(
            actor, referral.client_id, DataCategory.BASIC, AccessAction.UPDATE, purpose=purpose, obj=referral,
            message=_("Only the sending organisation can do this.") if side == SENDER
            else _("Only the receiving organisation can do this."), code="wrong_side",
        )
    reason = reason.strip()
    if to_status in REASON_REQUIRED and not reason:
        raise InvalidInput(_("Give a reason."), errors={"reason": [str(_("A reason is required."))]})
    if to_status == S.SENT and not has_consent(referral.receiving_organisation_id, referral.client_id,
                                               referral.service.data_category):
        raise InvalidInput(
            _("The client has not consented to sharing this data with the service provider. Record the consent "
              "first."), code="no_consent_for_receiver",
        )
    now = timezone.now()
    previous = referral.status
    referral.status = to_status
    referral.status_reason = reason
    referral.status_changed_at = now
    setattr(referral, TIMESTAMP_FIELD[to_status], now)
    referral.version += 1
    referral.save()
    ReferralTransition.objects.create(referral=referral, from_status=previous, to_status=to_status, at=now,
                                      by=actor, reason=reason)
    return referral


def _status_label(value: str) -> Any:
    return S(value).label if value in S.values else value


def referral_send(
    *, actor: Any, referral_id: int, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.SENT,
                               expected_version=expected_version)


def referral_receive(
    *, actor: Any, referral_id: int, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.RECEIVED,
                               expected_version=expected_version)


def referral_accept(
    *, actor: Any, referral_id: int, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.ACCEPTED,
                               expected_version=expected_version)


def referral_waitlist(
    *, actor: Any, referral_id: int, reason: str = "", expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.WAITLISTED, reason=reason,
                               expected_version=expected_version)


def referral_decline(
    *, actor: Any, referral_id: int, reason: str, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.DECLINED, reason=reason,
                               expected_version=expected_version)


def referral_start(
    *, actor: Any, referral_id: int, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.STARTED,
                               expected_version=expected_version)


def referral_complete(
    *, actor: Any, referral_id: int, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.COMPLETED,
                               expected_version=expected_version)


def referral_interrupt(
    *, actor: Any, referral_id: int, reason: str, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.INTERRUPTED, reason=reason,
                               expected_version=expected_version)


def referral_cancel(
    *, actor: Any, referral_id: int, reason: str, expected_version: int | None = None
) -> Referral:
    return referral_transition(actor=actor, referral_id=referral_id, to_status=S.CANCELLED, reason=reason,
                               expected_version=expected_version)


@client_data_service
def referral_create_and_send(
    *, actor: Any, client_id: int, service_id: int, reason_for_referral: str = "", episode_id: int | None = None
) -> Referral:
    """Draft a referral and send it at once, in one transaction: either both happen or neither (a refusal of the
    send, such as a missing consent for the receiver, leaves no draft behind). Without ``episode_id`` the referral
    belongs to the client's open joint-service episode, if there is one."""
    if episode_id is None:
        episode_id = JointServiceEpisode.objects.filter(client_id=client_id).exclude(
            status=EpisodeStatus.CLOSED).values_list("pk", flat=True).first()
    referral = referral_create(actor=actor, client_id=client_id, service_id=service_id,
                               reason_for_referral=reason_for_referral, episode_id=episode_id)
    return referral_send(actor=actor, referral_id=referral.pk)


def transitions_for(referral: Referral, organisation_id: int | None) -> list[str]:
    """The states this organisation's side may move the referral to now (for showing the right buttons; the
    transition itself is checked again by :func:`referral_transition`)."""
    sides = set()
    if organisation_id is not None and organisation_id == referral.sending_organisation_id:
        sides.add(SENDER)
    if organisation_id is not None and organisation_id == referral.receiving_organisation_id:
        sides.add(RECEIVER)
    return [target for target, side in TRANSITIONS.get(referral.status, {}).items() if side in sides]
