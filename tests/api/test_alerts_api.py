"""The alerts part of the API: the alerts that concern the caller, the worklist, one alert with its history, and
acknowledging, commenting and resolving: each checked, logged, and worded so that nothing the reader may not see
is named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from polku.audit.models import AccessAction, AccessLog
from polku.coordination.models import Alert, AlertEvent
from polku.coordination.services import sweep
from polku.organisations.models import StaffRole
from polku.referrals.models import ReferralStatus
from tests import factories as f
from tests.coordination.test_rules import TODAY, ago, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def swept(joint: Any) -> Any:
    """Unanswered referrals to the provider's rehabilitation service and to its health service (health data,
    which the coordinator's role never covers), then a sweep."""
    joint.episode.start_date = ago(20)
    joint.episode.save()
    joint.client.consents.update(valid_from=at(ago(100)))
    joint.health_service = f.service(joint.provider, "health", name_fi="Terapia")
    for svc in (joint.service, joint.health_service):
        r = f.referral(joint.client, svc, joint.employment, joint.coordinator, status=ReferralStatus.SENT)
        r.sent_at = at(ago(20))
        r.save()
    joint.manager = f.staff(joint.employment, StaffRole.MANAGER)
    sweep(as_of=TODAY)
    joint.rehab_alert = Alert.objects.get(rule="referral_unanswered", service=joint.service)
    joint.health_alert = Alert.objects.get(rule="referral_unanswered", service=joint.health_service)
    return joint


def state(alert: Alert) -> tuple[Any, ...]:
    alert.refresh_from_db()
    return alert.acknowledged_at, alert.resolved_at, alert.events.count()


def list_reads(user: Any) -> int:
    return AccessLog.objects.filter(actor=user, object_type="list", allowed=True).count()


# -- Reading ----------------------------------------------------------------------------------------------------


def test_list__the_alerts_that_concern_the_caller_worded_for_them_and_logged(swept: Any, api_as: Any) -> None:
    r = api_as(swept.coordinator).get("/alerts", rule="referral_unanswered")
    assert r.status_code == 200
    items = {i["id"]: i for i in r.json()["items"]}
    assert set(items) == {swept.rehab_alert.pk, swept.health_alert.pk}
    rehab, health = items[swept.rehab_alert.pk], items[swept.health_alert.pk]
    assert rehab["service_id"] == swept.service.pk and rehab["category"] == "rehabilitation"
    assert rehab["counterpart_organisation_id"] == swept.provider.pk
    assert str(swept.service) in rehab["text"]
    # Health data: neither the service, the provider, the category nor the record is named.
    assert health["service_id"] is None and health["category"] is None
    assert health["counterpart_organisation_id"] is None and health["object_id"] is None
    assert "Terapia" not in json.dumps(health, ensure_ascii=False)
    assert swept.provider.name_fi not in health["text"]
    assert rehab["is_open"] and rehab["action_code"] == "chase_referral"
    assert "vulnerability" not in rehab  # made of social and health data
    assert rehab["action_url"].startswith(f"/clients/{swept.client.pk}/")
    assert list_reads(swept.coordinator) == 1


def test_list__filters_and_bad_filters(swept: Any, api_as: Any) -> None:
    api = api_as(swept.coordinator)
    everything = api.get("/alerts").json()["items"]
    assert everything and all(i["client_id"] == swept.client.pk for i in everything)
    assert api.get("/alerts", open="false").json()["items"] == []
    assert len(api.get("/alerts", open="true").json()["items"]) == len(everything)
    assert len(api.get("/alerts", client_id=swept.client.pk).json()["items"]) == len(everything)
    assert api.get("/alerts", client_id=f.client().pk).json()["items"] == []
    two = api.get("/alerts", severity=2, rule="referral_unanswered").json()["items"]
    assert {i["id"] for i in two} == {swept.rehab_alert.pk, swept.health_alert.pk}
    assert api.get("/alerts", severity=1, rule="referral_unanswered").json()["items"] == []
    for bad in ({"rule": "no_such_rule"}, {"severity": 9}, {"open": "perhaps"}, {"client_id": 0},
                {"limit": 0}, {"cursor": "??"}):
        r = api.get("/alerts", **bad)
        assert r.status_code == 422, bad
        assert set(r.json()["errors"]) == {next(iter(bad))}


def test_list__others_see_nothing_and_nothing_is_logged(swept: Any, api_as: Any) -> None:
    for user in (swept.outsider, swept.social_worker, swept.manager):
        r = api_as(user).get("/alerts")
        assert r.status_code == 200 and r.json()["items"] == []
        assert not AccessLog.objects.filter(actor=user).exists()
    # The provider is the other party of the unanswered referrals: it sees them, without the health details.
    items = api_as(swept.provider_worker).get("/alerts").json()["items"]
    assert {i["id"] for i in items} == {swept.rehab_alert.pk, swept.health_alert.pk}
    assert next(i for i in items if i["id"] == swept.health_alert.pk)["service_id"] is None


def test_worklist__prioritised_with_action_and_history_and_logged(swept: Any, api_as: Any) -> None:
    api = api_as(swept.coordinator)
    r = api.get("/alerts/worklist")
    assert r.status_code == 200
    body = r.json()
    assert body["limit"] == 50 and body["items"]
    first = body["items"][0]
    assert first["mine"] is True and first["client_name"] == swept.client.full_name
    assert first["action"] and first["action_code"] and first["action_url"]
    assert first["history"][0]["by"] and isinstance(first["days_overdue"], int)
    severities = [i["severity"] for i in body["items"]]
    assert severities == sorted(severities, reverse=True)
    health = next(i for i in body["items"] if i["id"] == swept.health_alert.pk)
    assert health["service_id"] is None and "Terapia" not in json.dumps(health, ensure_ascii=False)
    assert list_reads(swept.coordinator) == 1
    assert len(api.get("/alerts/worklist", limit=1).json()["items"]) == 1
    bad = api.get("/alerts/worklist", limit=0)
    assert bad.status_code == 422 and "limit" in bad.json()["errors"]


def test_worklist__managers_get_counts_not_lists_and_outsiders_nothing(swept: Any, api_as: Any) -> None:
    assert api_as(swept.manager).get("/alerts/worklist").status_code == 404
    r = api_as(swept.outsider).get("/alerts/worklist")
    assert r.status_code == 200 and r.json()["items"] == []
    assert not AccessLog.objects.filter(actor__in=[swept.manager, swept.outsider]).exists()


def test_get__with_history_and_logged(swept: Any, api_as: Any) -> None:
    r = api_as(swept.coordinator).get(f"/alerts/{swept.rehab_alert.pk}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == swept.rehab_alert.pk and len(body["history"]) == 1 and body["history"][0]["what"]
    assert AccessLog.objects.filter(actor=swept.coordinator, object_type="Alert", action=AccessAction.VIEW,
                                    object_id=str(swept.rehab_alert.pk), allowed=True).count() == 1
    health = api_as(swept.coordinator).get(f"/alerts/{swept.health_alert.pk}").json()
    assert health["service_id"] is None and "Terapia" not in json.dumps(health, ensure_ascii=False)


def test_get__outsider_404_like_missing_and_an_unconcerned_organisation_403(swept: Any, api_as: Any) -> None:
    hidden = api_as(swept.outsider).get(f"/alerts/{swept.rehab_alert.pk}")
    missing = api_as(swept.outsider).get("/alerts/987654321")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    assert AccessLog.objects.filter(actor=swept.outsider).values_list("allowed", flat=True).get() is False
    r = api_as(swept.social_worker).get(f"/alerts/{swept.rehab_alert.pk}")
    assert r.status_code == 403 and r.json()["code"] == "not_concerned"
    assert AccessLog.objects.filter(actor=swept.social_worker).values_list("allowed", flat=True).get() is False
    assert api_as(swept.coordinator).get("/alerts/0").status_code == 422


# -- Acting on an alert -----------------------------------------------------------------------------------------


def test_acknowledge__names_who_took_it_up_and_is_logged(swept: Any, api_as: Any) -> None:
    r = api_as(swept.coordinator).post(f"/alerts/{swept.rehab_alert.pk}/acknowledge", {"note": "Soitan"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["acknowledged_at"] and body["acknowledged_by"]
    assert [h["note"] for h in body["history"]] == ["", "Soitan"]
    assert AccessLog.objects.filter(actor=swept.coordinator, object_type="Alert", action=AccessAction.UPDATE,
                                    allowed=True).count() == 1
    again = api_as(swept.provider_worker).post(f"/alerts/{swept.rehab_alert.pk}/acknowledge")
    assert again.status_code == 200 and again.json()["acknowledged_by"] == body["acknowledged_by"]


def test_acknowledge__outsider_404_bad_input_422_nothing_changes(swept: Any, api_as: Any) -> None:
    before = state(swept.rehab_alert)
    r = api_as(swept.outsider).post(f"/alerts/{swept.rehab_alert.pk}/acknowledge", {})
    assert r.status_code == 404
    assert AccessLog.objects.filter(actor=swept.outsider, allowed=False).count() == 1
    api = api_as(swept.coordinator)
    for bad, field in (({"note": "x" * 2001}, "note"), ({"note": "ok", "urgent": True}, "urgent")):
        r = api.post(f"/alerts/{swept.rehab_alert.pk}/acknowledge", bad)
        assert r.status_code == 422 and field in r.json()["errors"]
    assert api.post(f"/alerts/{swept.rehab_alert.pk}/acknowledge", {"note": "\x00"}).status_code == 422
    assert api.post("/alerts/987654321/acknowledge", {}).status_code == 404
    assert state(swept.rehab_alert) == before
    assert not AccessLog.objects.filter(actor=swept.coordinator).exists()


def test_comment__adds_to_the_history_and_blank_is_422(swept: Any, api_as: Any) -> None:
    api = api_as(swept.coordinator)
    r = api.post(f"/alerts/{swept.rehab_alert.pk}/comment", {"note": "Ei vastannut"})
    assert r.status_code == 201
    assert r.json()["history"][-1]["note"] == "Ei vastannut" and r.json()["acknowledged_at"] is None
    before = state(swept.rehab_alert)
    for bad in ({}, {"note": ""}, {"note": "   "}, {"note": "x" * 2001}):
        r = api.post(f"/alerts/{swept.rehab_alert.pk}/comment", bad)
        assert r.status_code == 422 and "note" in r.json()["errors"], bad
    assert api_as(swept.outsider).post(f"/alerts/{swept.rehab_alert.pk}/comment", {"note": "x"}).status_code == 404
    assert api_as(swept.social_worker).post(
        f"/alerts/{swept.rehab_alert.pk}/comment", {"note": "x"}).status_code == 403
    assert state(swept.rehab_alert) == before
    assert AccessLog.objects.filter(actor=swept.coordinator, action=AccessAction.UPDATE).count() == 1


def test_resolve__by_hand_then_the_sweep_reopens_the_gap_as_a_new_alert(swept: Any, api_as: Any) -> None:
    api = api_as(swept.coordinator)
    r = api.post(f"/alerts/{swept.rehab_alert.pk}/resolve", {"note": "Sovittu puhelimessa"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["is_open"] is False and body["resolved_by"] and body["resolved_at"]
    assert [h["note"] for h in body["history"]] == ["", "Sovittu puhelimessa"]
    assert AccessLog.objects.filter(actor=swept.coordinator, object_type="Alert", action=AccessAction.UPDATE,
                                    allowed=True).count() == 1
    assert swept.rehab_alert.pk not in [i["id"] for i in api.get("/alerts/worklist").json()["items"]]
    assert [i["id"] for i in api.get("/alerts", open="false").json()["items"]] == [swept.rehab_alert.pk]
    again = api.post(f"/alerts/{swept.rehab_alert.pk}/resolve", {"note": "again"})
    assert again.status_code == 403 and again.json()["code"] == "alert_resolved"
    assert api.post(f"/alerts/{swept.rehab_alert.pk}/acknowledge", {}).status_code == 403
    sweep(as_of=TODAY)
    reopened = Alert.objects.get(rule="referral_unanswered", service=swept.service, resolved_at__isnull=True)
    assert reopened.pk != swept.rehab_alert.pk


def test_resolve__outsider_404_missing_note_422_nothing_changes(swept: Any, api_as: Any) -> None:
    before = state(swept.rehab_alert)
    assert api_as(swept.outsider).post(f"/alerts/{swept.rehab_alert.pk}/resolve", {"note": "x"}).status_code == 404
    r = api_as(swept.social_worker).post(f"/alerts/{swept.rehab_alert.pk}/resolve", {"note": "x"})
    assert r.status_code == 403 and r.json()["code"] == "not_concerned"
    api = api_as(swept.coordinator)
    for bad in ({}, {"note": ""}, {"note": " "}, {"note": "x", "when": "now"}):
        r = api.post(f"/alerts/{swept.rehab_alert.pk}/resolve", bad)
        assert r.status_code == 422 and r.json()["errors"], bad
    assert state(swept.rehab_alert) == before
    assert not AlertEvent.objects.exists()
    assert not AccessLog.objects.filter(actor=swept.coordinator).exists()
