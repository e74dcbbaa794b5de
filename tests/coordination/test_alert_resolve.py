"""Resolving an alert by hand: checked and logged like any write, one event in its history, and the next sweep
opens a new alert if the gap is still there."""

from __future__ import annotations

from typing import Any

import pytest

from polku.audit.models import AccessAction, AccessLog
from polku.coordination.models import Alert, AlertEvent, AlertEventKind
from polku.coordination.selectors import alert_history, worklist
from polku.coordination.services import alert_acknowledge, alert_resolve, sweep
from polku.core.errors import AccessDenied, InvalidInput
from polku.referrals.models import ReferralStatus
from polku.referrals.services import referral_transition
from tests import factories as f

from .test_rules import TODAY, ago, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def unanswered(joint: Any) -> Any:
    """A referral to the provider sent 20 days ago and unanswered, swept: one open ``referral_unanswered``."""
    joint.episode.start_date = ago(20)
    joint.episode.save()
    joint.client.consents.update(valid_from=at(ago(100)))
    joint.referral = f.referral(joint.client, joint.service, joint.employment, joint.coordinator,
                                status=ReferralStatus.SENT)
    joint.referral.sent_at = at(ago(20))
    joint.referral.save()
    sweep(as_of=TODAY)
    joint.alert = Alert.objects.get(rule="referral_unanswered", resolved_at__isnull=True)
    return joint


def test_resolve__closes_the_alert_with_one_event_and_one_log_row(unanswered: Any) -> None:
    before = AccessLog.objects.count()
    alert = alert_resolve(actor=unanswered.coordinator, alert_id=unanswered.alert.pk,
                          note="  Soitin palveluntuottajalle, aloittaa ensi viikolla  ")
    assert alert.resolved_at is not None and alert.resolved_as_of is not None
    assert alert.resolved_by == unanswered.coordinator and alert.resolved_run is None
    event = AlertEvent.objects.get(alert=alert)
    assert event.kind == AlertEventKind.RESOLVED and event.by == unanswered.coordinator
    assert event.note == "Soitin palveluntuottajalle, aloittaa ensi viikolla"
    row = AccessLog.objects.order_by("-pk").first()
    assert row is not None
    assert (row.allowed, row.action, row.object_type, row.object_id) == (
        True, AccessAction.UPDATE, "Alert", str(alert.pk))
    assert AccessLog.objects.count() == before + 1
    # Gone from the worklist; the history says who resolved it and how, not that the sweep did.
    assert alert.pk not in [i.alert.pk for i in worklist(actor=unanswered.coordinator, as_of=TODAY)]
    history = alert_history(alert)
    assert [h.note for h in history] == ["", "Soitin palveluntuottajalle, aloittaa ensi viikolla"]
    assert history[-1].by == (unanswered.coordinator.get_full_name() or unanswered.coordinator.get_username())


def test_resolve__the_next_sweep_opens_a_new_alert_while_the_gap_is_there(unanswered: Any) -> None:
    alert_resolve(actor=unanswered.coordinator, alert_id=unanswered.alert.pk, note="Hoidettu")
    sweep(as_of=TODAY)
    unanswered.alert.refresh_from_db()
    assert unanswered.alert.resolved_by == unanswered.coordinator and unanswered.alert.resolved_run is None
    reopened = Alert.objects.get(rule="referral_unanswered", resolved_at__isnull=True)
    assert reopened.pk != unanswered.alert.pk and reopened.object_id == unanswered.referral.pk
    assert not reopened.events.exists()
    # Once the gap is gone, the sweep resolves the new one itself and opens nothing.
    referral_transition(actor=unanswered.provider_worker, referral_id=unanswered.referral.pk,
                        to_status=ReferralStatus.RECEIVED)
    referral_transition(actor=unanswered.provider_worker, referral_id=unanswered.referral.pk,
                        to_status=ReferralStatus.ACCEPTED)
    sweep(as_of=TODAY)
    reopened.refresh_from_db()
    assert reopened.resolved_at is not None and reopened.resolved_by is None
    assert not Alert.objects.filter(rule="referral_unanswered", resolved_at__isnull=True).exists()


def test_resolve__needs_a_note_and_writes_nothing_without_one(unanswered: Any) -> None:
    before = AccessLog.objects.count()
    with pytest.raises(InvalidInput) as exc:
        alert_resolve(actor=unanswered.coordinator, alert_id=unanswered.alert.pk, note="   ")
    assert "note" in exc.value.errors
    unanswered.alert.refresh_from_db()
    assert unanswered.alert.resolved_at is None and not unanswered.alert.events.exists()
    assert AccessLog.objects.count() == before


def test_resolve__an_outsider_is_refused_logged_and_nothing_changes(unanswered: Any) -> None:
    with pytest.raises(AccessDenied):
        alert_resolve(actor=unanswered.outsider, alert_id=unanswered.alert.pk, note="Not mine")
    unanswered.alert.refresh_from_db()
    assert unanswered.alert.resolved_at is None and not unanswered.alert.events.exists()
    refused = AccessLog.objects.get(actor=unanswered.outsider)
    assert not refused.allowed and refused.client_id == unanswered.client.pk
    # The social services see the client but the alert is not theirs.
    with pytest.raises(AccessDenied) as exc:
        alert_resolve(actor=unanswered.social_worker, alert_id=unanswered.alert.pk, note="Not ours")
    assert exc.value.code == "not_concerned"
    assert list(AccessLog.objects.filter(actor=unanswered.social_worker).values_list("allowed", flat=True)) == [
        False]
    with pytest.raises(AccessDenied) as exc:
        alert_resolve(actor=unanswered.coordinator, alert_id=987654321, note="Missing")
    assert exc.value.code == "not_found"


def test_resolve__a_resolved_alert_cannot_be_resolved_or_acknowledged_again(unanswered: Any) -> None:
    alert_resolve(actor=unanswered.coordinator, alert_id=unanswered.alert.pk, note="Hoidettu")
    for again in (lambda: alert_resolve(actor=unanswered.provider_worker, alert_id=unanswered.alert.pk, note="x"),
                  lambda: alert_acknowledge(actor=unanswered.coordinator, alert_id=unanswered.alert.pk)):
        with pytest.raises(AccessDenied) as exc:
            again()
        assert exc.value.code == "alert_resolved"
    unanswered.alert.refresh_from_db()
    assert unanswered.alert.resolved_by == unanswered.coordinator
    assert unanswered.alert.events.count() == 1
