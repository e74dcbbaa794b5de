"""Every referral transition: allowed ones succeed with a timestamp and a transition row, all others are refused
and write nothing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput
from polku.referrals.models import Referral, ReferralStatus, ReferralTransition
from polku.referrals.services import referral_create, referral_transition

S = ReferralStatus
# Written out independently of the code: (from, to) → who may do it.
ALLOWED = {
    (S.DRAFT, S.SENT): "sender", (S.DRAFT, S.CANCELLED): "sender",
    (S.SENT, S.RECEIVED): "receiver", (S.SENT, S.CANCELLED): "sender",
    (S.RECEIVED, S.ACCEPTED): "receiver", (S.RECEIVED, S.WAITLISTED): "receiver",
    (S.RECEIVED, S.DECLINED): "receiver", (S.RECEIVED, S.CANCELLED): "sender",
    (S.WAITLISTED, S.ACCEPTED): "receiver", (S.WAITLISTED, S.DECLINED): "receiver",
    (S.WAITLISTED, S.CANCELLED): "sender",
    (S.ACCEPTED, S.STARTED): "receiver", (S.ACCEPTED, S.CANCELLED): "sender",
    (S.STARTED, S.COMPLETED): "receiver", (S.STARTED, S.INTERRUPTED): "receiver",
}
NEEDS_REASON = {S.DECLINED, S.INTERRUPTED, S.CANCELLED}
TIMESTAMP = {S.SENT: "sent_at", S.RECEIVED: "received_at", S.ACCEPTED: "decided_at", S.WAITLISTED: "decided_at",
             S.DECLINED: "decided_at", S.STARTED: "started_at", S.COMPLETED: "ended_at",
             S.INTERRUPTED: "ended_at", S.CANCELLED: "ended_at"}
# A path from draft to each state, so a referral can be put in any state through the services themselves.
PATH = {
    S.DRAFT: [], S.SENT: [S.SENT], S.RECEIVED: [S.SENT, S.RECEIVED],
    S.ACCEPTED: [S.SENT, S.RECEIVED, S.ACCEPTED], S.WAITLISTED: [S.SENT, S.RECEIVED, S.WAITLISTED],
    S.DECLINED: [S.SENT, S.RECEIVED, S.DECLINED], S.STARTED: [S.SENT, S.RECEIVED, S.ACCEPTED, S.STARTED],
    S.COMPLETED: [S.SENT, S.RECEIVED, S.ACCEPTED, S.STARTED, S.COMPLETED],
    S.INTERRUPTED: [S.SENT, S.RECEIVED, S.ACCEPTED, S.STARTED, S.INTERRUPTED], S.CANCELLED: [S.CANCELLED],
}


def make_referral_in(joint: Any, status: str) -> Referral:
    referral = referral_create(actor=joint.coordinator, client_id=joint.client.pk, service_id=joint.service.pk,
                               reason_for_referral="Needs a work trial")
    for step in PATH[status]:
        side = next(side for (a, b), side in ALLOWED.items() if b == step and a == referral.status)
        actor = joint.coordinator if side == "sender" else joint.provider_worker
        referral = referral_transition(actor=actor, referral_id=referral.pk, to_status=step, reason="because")
    assert referral.status == status
    return referral


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S.values, S.values)))
def test_referral__transition(joint: Any, current: str, target: str) -> None:
    referral = make_referral_in(joint, current)
    before = ReferralTransition.objects.filter(referral=referral).count()
    side = ALLOWED.get((current, target))
    if side is None:
        # The sender always has access (it takes part in the episode), so it meets the state machine's refusal;
        # the receiver has access only while the referral is open to it.
        with pytest.raises(IllegalTransition):
            referral_transition(actor=joint.coordinator, referral_id=referral.pk, to_status=target, reason="r")
        with pytest.raises((IllegalTransition, AccessDenied)):
            referral_transition(actor=joint.provider_worker, referral_id=referral.pk, to_status=target, reason="r")
        referral.refresh_from_db()
        assert referral.status == current
        assert ReferralTransition.objects.filter(referral=referral).count() == before
        return
    right = joint.coordinator if side == "sender" else joint.provider_worker
    wrong = joint.provider_worker if side == "sender" else joint.coordinator
    with pytest.raises(AccessDenied):
        referral_transition(actor=wrong, referral_id=referral.pk, to_status=target, reason="r")
    if target in NEEDS_REASON:
        with pytest.raises(InvalidInput):
            referral_transition(actor=right, referral_id=referral.pk, to_status=target, reason="  ")
    referral.refresh_from_db()
    assert referral.status == current
    moved = referral_transition(actor=right, referral_id=referral.pk, to_status=target, reason="a reason")
    moved.refresh_from_db()
    assert moved.status == target
    assert getattr(moved, TIMESTAMP[target]) is not None
    last = ReferralTransition.objects.filter(referral=referral).latest("id")
    assert (last.from_status, last.to_status, last.by_id) == (current, target, right.pk)
    assert ReferralTransition.objects.filter(referral=referral).count() == before + 1


def test_referral__send__needs_client_consent_for_the_receiver(joint: Any) -> None:
    from polku.clients.models import Consent

    Consent.objects.filter(client=joint.client, organisation=joint.provider).delete()
    referral = referral_create(actor=joint.coordinator, client_id=joint.client.pk, service_id=joint.service.pk)
    with pytest.raises(InvalidInput) as excinfo:
        referral_transition(actor=joint.coordinator, referral_id=referral.pk, to_status=S.SENT)
    assert excinfo.value.code == "no_consent_for_receiver"
    referral.refresh_from_db()
    assert referral.status == S.DRAFT


def test_referral__outsider__cannot_create_or_move(joint: Any) -> None:
    with pytest.raises(AccessDenied):
        referral_create(actor=joint.outsider, client_id=joint.client.pk, service_id=joint.service.pk)
    referral = make_referral_in(joint, S.SENT)
    with pytest.raises(AccessDenied):
        referral_transition(actor=joint.outsider, referral_id=referral.pk, to_status=S.RECEIVED)


def test_referral__stale_version__conflict(joint: Any) -> None:
    from polku.core.errors import VersionConflict

    referral = make_referral_in(joint, S.SENT)
    referral_transition(actor=joint.provider_worker, referral_id=referral.pk, to_status=S.RECEIVED,
                        expected_version=referral.version)
    with pytest.raises(VersionConflict):
        referral_transition(actor=joint.provider_worker, referral_id=referral.pk, to_status=S.ACCEPTED,
                            expected_version=referral.version)
