"""Which records have expired under a retention rule: one set-based query per rule (``NOT EXISTS`` sub-queries
over the client's records), never a loop over clients."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from polku.assessments.models import Assessment
from polku.audit.models import AccessLog
from polku.clients.models import Client, ClientContact, Consent
from polku.coordination.models import Alert
from polku.episodes.models import EpisodeStatus, JointServiceEpisode
from polku.partners.models import Placement, Proposal
from polku.portal.models import ClientMessage
from polku.referrals.models import OPEN_STATUSES, Referral

from .rules import ANONYMISE, ANONYMISED_PREFIX, Rule


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in Finnish time, as an aware datetime."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def client_activity_since(cutoff: dt.date) -> dict[str, Any]:
    """Sub-queries, one per kind of record, that find a client's open work or any activity on or after
    ``cutoff``: each keeps the client's record (``Exists`` over the rows of the outer client)."""
    since = local_midnight(cutoff)
    client = OuterRef("pk")
    return {
        # An open episode, or one that closed (or started) on or after the cut-off.
        "episode": JointServiceEpisode.objects.filter(client=client).filter(
            ~Q(status=EpisodeStatus.CLOSED) | Q(end_date__isnull=True) | Q(end_date__gte=cutoff)
            | Q(start_date__gte=cutoff)),
        # An open referral (consent-based work in progress with a provider), or one that changed since.
        "referral": Referral.objects.filter(client=client).filter(
            Q(status__in=OPEN_STATUSES) | Q(status_changed_at__gte=since) | Q(created_at__gte=since)),
        "contact": ClientContact.objects.filter(client=client, at__gte=since),
        "message": ClientMessage.objects.filter(client=client, created_at__gte=since),
        # A consent given, revoked or ending since the cut-off; a time-limited consent still in force ends after
        # it, so it keeps the record too. (A consent without an end date counts from when it was given.)
        "consent": Consent.objects.filter(client=client).filter(
            Q(recorded_at__gte=since) | Q(valid_from__gte=since) | Q(revoked_at__gte=since)
            | Q(valid_to__gte=since)),
        "assessment": Assessment.objects.filter(client=client).filter(
            Q(assessed_on__gte=cutoff) | Q(created_at__gte=since)),
        # A job placement still running or ended since, a job proposal made or changed since.
        "placement": Placement.objects.filter(client=client).filter(
            Q(end_date__isnull=True) | Q(end_date__gte=cutoff) | Q(start_date__gte=cutoff)),
        "proposal": Proposal.objects.filter(client=client).filter(
            Q(created_at__gte=since) | Q(status_changed_at__gte=since)),
    }


def expired_clients(rule: Rule, as_of: dt.date) -> QuerySet[Client]:
    """Clients whose whole record has expired under ``rule`` on ``as_of`` and who are still to be anonymised
    (or, when the rule deletes, still there: a region that moves from anonymising to deleting deletes the records
    it anonymised before).

    Never a client with an open episode, an open referral, a running placement, a time-limited consent still in
    force, or any activity after the cut-off (``rule.cutoff(as_of)``)."""
    cutoff = rule.cutoff(as_of)
    queryset = Client.objects.filter(created_at__lt=local_midnight(cutoff))
    if rule.action == ANONYMISE:
        queryset = queryset.exclude(personal_identity_code__startswith=ANONYMISED_PREFIX)
    for sub in client_activity_since(cutoff).values():
        queryset = queryset.exclude(Exists(sub))
    return queryset.order_by()


def anonymised_clients() -> QuerySet[Client]:
    return Client.objects.filter(personal_identity_code__startswith=ANONYMISED_PREFIX)


def expired_alerts(rule: Rule, as_of: dt.date) -> QuerySet[Alert]:
    return Alert.objects.filter(resolved_at__lt=local_midnight(rule.cutoff(as_of))).order_by()


def expired_access_log(rule: Rule, as_of: dt.date) -> QuerySet[AccessLog]:
    return AccessLog.objects.filter(at__lt=local_midnight(rule.cutoff(as_of))).order_by()
