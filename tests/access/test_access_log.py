"""Every read and write of a client's data writes exactly one access-log row; refusals are logged too and
write nothing else; revoking consent cuts access at once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from polku.audit.models import AccessLog
from polku.clients import selectors
from polku.clients.models import Client, Consent, EmploymentStatusPeriod
from polku.clients.services import ConsentGrant, client_update, consent_record, consent_revoke, employment_period_record
from polku.core.errors import AccessDenied
from polku.episodes.services import episode_close
from polku.plans.models import GoalArea
from polku.plans.services import GoalInput, StepInput, plan_add_version
from polku.referrals.services import referral_create


def _plan(joint: Any, actor: Any) -> Any:
    return plan_add_version(
        actor=actor, episode_id=joint.episode.pk, expected_version=0, employment_goal="Work",
        goals=[GoalInput(area=GoalArea.EMPLOYMENT, title="Find work",
                         steps=[StepInput(description="CV", owner_organisation_id=joint.employment.pk)])],
    )


OPERATIONS: dict[str, tuple[str, str, Callable[[Any, Any], Any]]] = {
    # name: (category, action, call(joint, actor))
    "client_get": ("basic", "view", lambda j, a: selectors.client_get(actor=a, client_id=j.client.pk)),
    "consents_view": ("basic", "view", lambda j, a: selectors.consents_for_client(actor=a, client_id=j.client.pk)),
    "employment_history": ("employment", "view",
                           lambda j, a: selectors.employment_history(actor=a, client_id=j.client.pk)),
    "client_update": ("basic", "update", lambda j, a: client_update(actor=a, client_id=j.client.pk,
                                                                     expected_version=1, phone="0401234567")),
    "employment_period": ("employment", "create", lambda j, a: employment_period_record(
        actor=a, client_id=j.client.pk, status="unemployed", start_date=dt.date(2024, 1, 1))),
    "consent_record": ("basic", "manage_consent", lambda j, a: consent_record(
        actor=a, client_id=j.client.pk, grant=ConsentGrant(j.provider.pk, "employment", "Work trial"))),
    "plan_add_version": ("employment", "update", _plan),
    "referral_create": ("basic", "create", lambda j, a: referral_create(actor=a, client_id=j.client.pk,
                                                                         service_id=j.service.pk)),
    "episode_close": ("basic", "update", lambda j, a: episode_close(
        actor=a, episode_id=j.episode.pk, end_date=timezone.localdate(), end_reason="employed")),
}


def _data_rows() -> tuple[int, ...]:
    from polku.plans.models import PlanVersion
    from polku.referrals.models import Referral

    return (Client.objects.filter(phone="0401234567").count(), EmploymentStatusPeriod.objects.count(),
            Consent.objects.count(), PlanVersion.objects.count(), Referral.objects.count())


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_access_log__allowed_operation__writes_exactly_one_row(joint: Any, name: str) -> None:
    category, action, call = OPERATIONS[name]
    before = AccessLog.objects.count()
    call(joint, joint.coordinator)
    rows = list(AccessLog.objects.order_by("id")[before:])
    assert len(rows) == 1
    row = rows[0]
    assert (row.actor_id, row.client_id, row.category, row.action, row.allowed) == (
        joint.coordinator.pk, joint.client.pk, category, action, True)
    assert row.actor_organisation_id == joint.employment.pk
    assert row.purpose


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_access_log__refused_operation__writes_one_refusal_and_nothing_else(joint: Any, name: str) -> None:
    _category, _action, call = OPERATIONS[name]
    before, data_before = AccessLog.objects.count(), _data_rows()
    with pytest.raises(AccessDenied):
        call(joint, joint.outsider)
    rows = list(AccessLog.objects.order_by("id")[before:])
    assert len(rows) == 1
    assert rows[0].allowed is False and rows[0].actor_id == joint.outsider.pk
    assert rows[0].client_id == joint.client.pk
    assert _data_rows() == data_before


def test_consent_revoke__cuts_access_at_once(joint: Any) -> None:
    selectors.client_get(actor=joint.social_worker, client_id=joint.client.pk)
    consents = Consent.objects.filter(client=joint.client, organisation=joint.social)
    for consent in consents:
        consent_revoke(actor=joint.coordinator, consent_id=consent.pk, reason="Client asked")
    with pytest.raises(AccessDenied):
        selectors.client_get(actor=joint.social_worker, client_id=joint.client.pk)
    assert not selectors.caseload(actor=joint.social_worker).filter(pk=joint.client.pk).exists()
    last = AccessLog.objects.latest("id")
    assert (last.actor_id, last.allowed, last.reason) == (joint.social_worker.pk, False, "no_consent")


def test_consent_revoke__by_the_client_themself(joint: Any) -> None:
    joint.client.user = __import__("tests.factories", fromlist=["user"]).user()
    joint.client.save()
    consent = Consent.objects.filter(client=joint.client, organisation=joint.social, category="social").get()
    consent_revoke(actor=joint.client.user, consent_id=consent.pk)
    consent.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoked_by_id == joint.client.user.pk
    from polku.access.policy import decide

    assert not decide(joint.social_worker, joint.client, "social", "view").allowed


def test_caseload_page__logs_one_row_per_client_shown(joint: Any) -> None:
    before = AccessLog.objects.count()
    shown = selectors.caseload_page(actor=joint.coordinator)
    assert [c.pk for c in shown] == [joint.client.pk]
    assert AccessLog.objects.count() == before + 1


def test_access_log__client_sees_own_log_and_nobody_elses(joint: Any) -> None:
    from tests import factories as f

    joint.client.user = f.user()
    joint.client.save()
    selectors.client_get(actor=joint.coordinator, client_id=joint.client.pk)
    log = list(selectors.access_log_for_client(actor=joint.client.user, client_id=joint.client.pk))
    assert any(e.actor_id == joint.coordinator.pk for e in log)
    other = f.client()
    with pytest.raises(AccessDenied):
        selectors.access_log_for_client(actor=joint.client.user, client_id=other.pk)
    with pytest.raises(AccessDenied):
        selectors.access_log_for_client(actor=joint.coordinator, client_id=joint.client.pk)


def _sent_referral(joint: Any) -> Any:
    from polku.referrals.services import referral_transition

    referral = referral_create(actor=joint.coordinator, client_id=joint.client.pk, service_id=joint.service.pk)
    return referral_transition(actor=joint.coordinator, referral_id=referral.pk, to_status="sent")


def _refusal_cases() -> dict[str, Callable[[Any], Any]]:
    from polku.episodes.services import episode_add_participant
    from polku.plans.services import plan_sign
    from polku.referrals.services import referral_transition
    from tests import factories as f

    def wrong_side(j: Any) -> Any:
        referral = _sent_referral(j)
        return lambda: referral_transition(actor=j.social_worker, referral_id=referral.pk, to_status="received")

    def not_responsible(j: Any) -> Any:
        version = _plan(j, j.coordinator)
        colleague = f.staff(j.employment, "coordinator")
        return lambda: plan_sign(actor=colleague, plan_version_id=version.pk)

    def provider_adds_itself(j: Any) -> Any:
        _sent_referral(j)
        return lambda: episode_add_participant(actor=j.provider_worker, episode_id=j.episode.pk,
                                               responsible_person_id=j.provider_worker.staff.pk)

    def client_edits_plan(j: Any) -> Any:
        j.client.user = f.user()
        j.client.save()
        return lambda: _plan(j, j.client.user)

    return {"wrong_side": wrong_side, "not_responsible": not_responsible,
            "provider_adds_itself": provider_adds_itself, "client_edits_plan": client_edits_plan}


@pytest.mark.parametrize("case", list(_refusal_cases()))
def test_access_log__refused_by_a_service_rule_after_the_policy_allowed__one_refusal_row(joint: Any,
                                                                                        case: str) -> None:
    attempt = _refusal_cases()[case](joint)
    before = AccessLog.objects.count()
    data_before = _data_rows()
    with pytest.raises(AccessDenied):
        attempt()
    rows = list(AccessLog.objects.order_by("id")[before:])
    assert [(r.allowed, r.client_id) for r in rows] == [(False, joint.client.pk)], [r.reason for r in rows]
    assert _data_rows() == data_before


def test_add_participant__a_referred_provider_cannot_add_itself_and_keep_access(joint: Any) -> None:
    from polku.access.policy import decide
    from polku.episodes.models import EpisodeParticipant

    attempt = _refusal_cases()["provider_adds_itself"](joint)
    with pytest.raises(AccessDenied):
        attempt()
    assert not EpisodeParticipant.objects.filter(episode=joint.episode, organisation=joint.provider).exists()
    assert decide(joint.provider_worker, joint.client, "basic", "view")  # only while the referral is open
