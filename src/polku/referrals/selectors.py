"""Reads of referrals: the ones a person's organisation sent or receives, checked by the access policy and logged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.access.policy import (
    Purpose,
    authorize,
    client_data_service,
    client_of,
    deny,
    staff_of,
    visibility_filter,
    visible_client_ids,
)
from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied
from polku.core.paging import VisibleRows

from .models import Referral, ReferralStatus

SENT, RECEIVED = "sent", "received"


def _sides(organisation_id: int, direction: str | None) -> Q:
    """Referrals the organisation sent (``"sent"``), receives (``"received"``; a draft is the sender's until it is
    sent), or either (any other ``direction``)."""
    sent = Q(sending_organisation_id=organisation_id)
    received = Q(receiving_organisation_id=organisation_id) & ~Q(status=ReferralStatus.DRAFT)
    return {SENT: sent, RECEIVED: received}.get(direction or "", sent | received)


def referrals_visible_to(
    actor: Any, *, client_id: int | None = None, status: str | None = None, direction: str | None = None,
    service_id: int | None = None,
) -> QuerySet[Referral]:
    """The referrals the actor may see: sent or received (once sent) by their organisation, of clients whose
    basic data the organisation may see now (relationship and consent, the access policy's own filters); for a
    client, their own. ``direction`` keeps those the organisation sent (``"sent"``) or receives
    (``"received"``). Not logged: callers log the rows they show (``log_list_access``)."""
    own = client_of(actor)
    staff = staff_of(actor)
    if own is not None:
        qs = Referral.objects.none() if direction else Referral.objects.filter(client_id=own.pk)
    elif staff is None:
        return Referral.objects.none()
    else:
        qs = Referral.objects.filter(_sides(staff.organisation_id, direction), visibility_filter(actor))
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if status is not None:
        qs = qs.filter(status=status)
    if service_id is not None:
        qs = qs.filter(service_id=service_id)
    return qs


def referral_rows(actor: Any, *, direction: str, status: str | None = None, chunk: int = 50) -> VisibleRows:
    """The referrals a staff member's organisation sent (``direction="sent"``) or receives, newest first, as
    :func:`referrals_visible_to` gives them, but walked along the ``referral_*_order`` index with the clients
    checked a chunk at a time (:class:`polku.core.paging.VisibleRows`): a page of a list of hundreds of thousands
    costs what the page costs. Rows come with their client, service and organisations."""
    staff = staff_of(actor)
    ordered = ("-sent_at", "-created_at", "-pk")
    rows = Referral.objects.select_related("client", "service", "sending_organisation", "receiving_organisation")
    if staff is None or client_of(actor) is not None or DataCategory.BASIC not in staff.data_categories:
        return VisibleRows(Referral.objects.none().order_by(*ordered), lambda ids: set(), rows=rows)
    walk = Referral.objects.filter(_sides(staff.organisation_id, direction))
    if status is not None:
        walk = walk.filter(status=status)
    walk = walk.order_by(*ordered)
    return VisibleRows(walk, lambda ids: visible_client_ids(actor, DataCategory.BASIC, ids),
                       filtered=walk.filter(visibility_filter(actor)), rows=rows, chunk=chunk)


@client_data_service
def referral_get(*, actor: Any, referral_id: int, purpose: Purpose | None = None) -> Referral:
    """One referral with its transitions, checked and logged as one read. A referral that does not exist, or of a
    client the actor may not see, is refused alike (shown as "not found"); one of a client the actor sees but that
    their organisation neither sent nor receives is refused as not theirs."""
    referral = Referral.objects.filter(pk=referral_id).first()
    if referral is None:
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    purpose = purpose or _("View a referral")
    authorize(actor, referral.client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=purpose, obj=referral)
    if not referrals_visible_to(actor).filter(pk=referral.pk).exists():
        raise deny(actor, referral.client_id, DataCategory.BASIC, AccessAction.VIEW, purpose=purpose, obj=referral,
                   message=_("Only the sending and the receiving organisation see a referral."), code="not_party")
    return referral


#: Statuses after the receiving organisation accepted the referral (``decided_at`` is then the acceptance).
_ACCEPTED_PATH = frozenset({ReferralStatus.ACCEPTED, ReferralStatus.STARTED, ReferralStatus.COMPLETED,
                            ReferralStatus.INTERRUPTED})
#: Statuses in which the client still waits for the referral to be accepted.
_WAITING = frozenset({ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.WAITLISTED})


def referral_waiting_days(referral: Referral, today: dt.date | None = None) -> int | None:
    """Days the client waited from sending to acceptance (or to the start), or until ``today`` while still
    waiting; ``None`` for a draft, a declined or a cancelled referral."""
    if referral.sent_at is None:
        return None
    sent = timezone.localdate(referral.sent_at)
    if referral.status in _WAITING:
        return max(((today or timezone.localdate()) - sent).days, 0)
    if referral.status in _ACCEPTED_PATH:
        end = referral.decided_at or referral.started_at
        return max((timezone.localdate(end) - sent).days, 0) if end is not None else None
    return None


def referral_transitions(referral: Referral) -> list[Any]:
    """A referral's state changes in time order (the caller has checked and logged the read of the referral)."""
    return list(referral.transitions.select_related("by").order_by("at", "pk"))
