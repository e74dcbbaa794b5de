"""The referrals part of the API: lists by side, reads with transitions, drafting, and every state change as an
action, refused by the state machine (409), by the side of the referral (403/404) or by a stale ETag (412)."""

from __future__ import annotations

from typing import Any

import pytest

from polku.audit.models import AccessAction, AccessLog
from polku.clients.models import Consent
from polku.referrals.models import Referral, ReferralStatus, ReferralTransition
from polku.referrals.services import referral_create, referral_transition
from tests import factories as f

S = ReferralStatus
PATH = {
    S.DRAFT: [], S.SENT: [S.SENT], S.RECEIVED: [S.SENT, S.RECEIVED], S.ACCEPTED: [S.SENT, S.RECEIVED, S.ACCEPTED],
    S.STARTED: [S.SENT, S.RECEIVED, S.ACCEPTED, S.STARTED],
}
SENDER_MOVES = {S.SENT, S.CANCELLED}


def referral_in(joint: Any, status: str) -> Referral:
    """A referral from the employment services to the provider's service, moved to ``status`` by the services."""
    referral = referral_create(actor=joint.coordinator, client_id=joint.client.pk, service_id=joint.service.pk,
                               reason_for_referral="Needs a work trial")
    for step in PATH[status]:
        by = joint.coordinator if step in SENDER_MOVES else joint.provider_worker
        referral = referral_transition(actor=by, referral_id=referral.pk, to_status=step)
    return referral


def snapshot(referral: Referral) -> tuple[Any, ...]:
    referral.refresh_from_db()
    return referral.status, referral.version, ReferralTransition.objects.filter(referral=referral).count()


def refusals(user: Any) -> int:
    return AccessLog.objects.filter(actor=user, allowed=False).count()


# -- Drafting ---------------------------------------------------------------------------------------------------


def test_create__the_sender_drafts_a_referral_with_an_etag_and_the_write_is_logged(joint: Any, api_as: Any) -> None:
    r = api_as(joint.coordinator).post("/referrals", {"client_id": joint.client.pk, "service_id": joint.service.pk,
                                                       "reason_for_referral": "Työkokeilu"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "draft" and body["version"] == 1
    assert body["sending_organisation_id"] == joint.employment.pk
    assert body["receiving_organisation_id"] == joint.provider.pk
    assert r["ETag"] == f'"referral-{body["id"]}-v1"'
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, action=AccessAction.CREATE,
                                    allowed=True).count() == 1


def test_create__outsider_and_no_consent_get_404_and_nothing_is_written(joint: Any, api_as: Any) -> None:
    body = {"client_id": joint.client.pk, "service_id": joint.service.pk}
    before = Referral.objects.count()
    r = api_as(joint.outsider).post("/referrals", body)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert refusals(joint.outsider) == 1
    Consent.objects.filter(client=joint.client, organisation=joint.employment).delete()
    assert api_as(joint.coordinator).post("/referrals", body).status_code == 404
    assert Referral.objects.count() == before


@pytest.mark.parametrize(("change", "field"), [
    ({"service_id": 0}, "service_id"),
    ({"client_id": "x"}, "client_id"),
    ({"service_id": 2**63}, "service_id"),
    ({"reason_for_referral": "x" * 4001}, "reason_for_referral"),
    ({"colour": "red"}, "colour"),
    ({"episode_id": -1}, "episode_id"),
])
def test_create__invalid_input_is_422_with_field_errors(joint: Any, api_as: Any, change: dict[str, Any],
                                                        field: str) -> None:
    body = {"client_id": joint.client.pk, "service_id": joint.service.pk, **change}
    r = api_as(joint.coordinator).post("/referrals", body)
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert field in r.json()["errors"]
    assert not Referral.objects.exists()
    assert not AccessLog.objects.filter(actor=joint.coordinator).exists()


def test_create__unknown_service_or_another_clients_episode_is_422(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    r = api.post("/referrals", {"client_id": joint.client.pk, "service_id": 987654321})
    assert r.status_code == 422 and "service" in r.json()["errors"]
    other_episode = f.episode(f.client(), (joint.employment, joint.coordinator))
    r = api.post("/referrals", {"client_id": joint.client.pk, "service_id": joint.service.pk,
                                "episode_id": other_episode.pk})
    assert r.status_code == 422 and "episode" in r.json()["errors"]
    nul = api.post("/referrals", {"client_id": joint.client.pk, "service_id": joint.service.pk,
                                  "reason_for_referral": "a\x00b"})
    assert nul.status_code == 422
    assert not Referral.objects.exists()


# -- Reading ----------------------------------------------------------------------------------------------------


def test_list__each_side_sees_its_own_and_each_client_shown_is_logged(joint: Any, api_as: Any) -> None:
    draft = referral_in(joint, S.DRAFT)
    sent = referral_in(joint, S.SENT)
    coordinator, provider = api_as(joint.coordinator), api_as(joint.provider_worker)
    r = coordinator.get("/referrals")
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["items"]] == [sent.pk, draft.pk]  # newest first
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, object_type="list").count() == 1
    assert [i["id"] for i in coordinator.get("/referrals", direction="received").json()["items"]] == []
    assert [i["id"] for i in coordinator.get("/referrals", status="sent").json()["items"]] == [sent.pk]
    assert len(coordinator.get("/referrals", client_id=joint.client.pk).json()["items"]) == 2
    assert coordinator.get("/referrals", client_id=f.client().pk).json()["items"] == []
    assert len(coordinator.get("/referrals", service_id=joint.service.pk).json()["items"]) == 2
    # The provider receives the sent one; a draft is the sender's until it is sent.
    assert [i["id"] for i in provider.get("/referrals", direction="received").json()["items"]] == [sent.pk]
    assert [i["id"] for i in provider.get("/referrals").json()["items"]] == [sent.pk]
    assert provider.get("/referrals", direction="sent").json()["items"] == []
    assert provider.get(f"/referrals/{draft.pk}").status_code == 403
    # Nobody else sees any of them, and the social services (in the episode, but no party) neither.
    assert api_as(joint.outsider).get("/referrals").json()["items"] == []
    assert api_as(joint.social_worker).get("/referrals").json()["items"] == []
    assert not AccessLog.objects.filter(actor__in=[joint.outsider, joint.social_worker]).exists()


def test_list__a_receiver_without_a_relationship_any_more_sees_nothing(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.SENT)
    referral_transition(actor=joint.coordinator, referral_id=referral.pk, to_status=S.CANCELLED, reason="moved")
    assert api_as(joint.provider_worker).get("/referrals").json()["items"] == []
    assert api_as(joint.provider_worker).get(f"/referrals/{referral.pk}").status_code == 404


def test_list__paged_by_cursor_and_bad_filters_are_422(joint: Any, api_as: Any) -> None:
    ids = {referral_in(joint, S.DRAFT).pk for _ in range(3)}
    api = api_as(joint.coordinator)
    first = api.get("/referrals", limit=2).json()
    second = api.get("/referrals", limit=2, cursor=first["next_cursor"]).json()
    assert second["next_cursor"] is None
    assert {i["id"] for i in first["items"] + second["items"]} == ids
    for bad in ({"status": "lost"}, {"direction": "sideways"}, {"client_id": 0}, {"limit": 500},
                {"cursor": "!!"}):
        r = api.get("/referrals", **bad)
        assert r.status_code == 422, bad
        assert set(r.json()["errors"]) == {next(iter(bad))}


def test_get__with_transitions_and_etag_and_logged(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.RECEIVED)
    r = api_as(joint.provider_worker).get(f"/referrals/{referral.pk}")
    assert r.status_code == 200
    body = r.json()
    assert [(t["from_status"], t["to_status"]) for t in body["transitions"]] == [
        ("", "draft"), ("draft", "sent"), ("sent", "received")]
    assert all(t["by"] for t in body["transitions"])
    assert r["ETag"] == f'"referral-{referral.pk}-v3"' and body["version"] == 3
    assert AccessLog.objects.filter(actor=joint.provider_worker, object_type="Referral", object_id=str(referral.pk),
                                    action=AccessAction.VIEW, allowed=True).count() == 1


def test_get__outsider_404_like_missing_and_a_non_party_403(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.SENT)
    hidden = api_as(joint.outsider).get(f"/referrals/{referral.pk}")
    missing = api_as(joint.outsider).get("/referrals/987654321")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    assert refusals(joint.outsider) == 1
    # The social services see the client (same episode) but are neither side of the referral.
    r = api_as(joint.social_worker).get(f"/referrals/{referral.pk}")
    assert r.status_code == 403 and r.json()["code"] == "not_party"
    assert AccessLog.objects.filter(actor=joint.social_worker).values_list("allowed", flat=True).get() is False
    assert api_as(joint.coordinator).get("/referrals/0").status_code == 422


# -- State changes ----------------------------------------------------------------------------------------------


def test_actions__the_whole_path_by_the_right_sides_each_logged(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.DRAFT)
    coordinator, provider = api_as(joint.coordinator), api_as(joint.provider_worker)
    steps = [(coordinator, "send", "sent"), (provider, "receive", "received"), (provider, "accept", "accepted"),
             (provider, "start", "started"), (provider, "complete", "completed")]
    for number, (api, action, status) in enumerate(steps, start=2):
        r = api.post(f"/referrals/{referral.pk}/{action}")
        assert r.status_code == 200, (action, r.content)
        assert r.json()["status"] == status and r.json()["version"] == number
        assert r["ETag"] == f'"referral-{referral.pk}-v{number}"'
    referral.refresh_from_db()
    assert referral.status == S.COMPLETED and referral.ended_at is not None
    updates = AccessLog.objects.filter(client=joint.client, object_type="Referral", action=AccessAction.UPDATE,
                                       allowed=True)
    assert updates.filter(actor=joint.coordinator).count() == 1
    assert updates.filter(actor=joint.provider_worker).count() == 4


def test_actions__waitlist_then_decline_with_reasons(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.RECEIVED)
    provider = api_as(joint.provider_worker)
    r = provider.post(f"/referrals/{referral.pk}/waitlist", {})
    assert r.status_code == 200 and r.json()["status"] == "waitlisted" and r.json()["status_reason"] == ""
    before = snapshot(referral)
    missing = provider.post(f"/referrals/{referral.pk}/decline", {})
    assert missing.status_code == 422 and "reason" in missing.json()["errors"]
    blank = provider.post(f"/referrals/{referral.pk}/decline", {"reason": "   "})
    assert blank.status_code == 422 and "reason" in blank.json()["errors"]
    too_long = provider.post(f"/referrals/{referral.pk}/decline", {"reason": "x" * 2001})
    assert too_long.status_code == 422 and "reason" in too_long.json()["errors"]
    assert snapshot(referral) == before
    ok = provider.post(f"/referrals/{referral.pk}/decline", {"reason": "Ei tilaa"})
    assert ok.status_code == 200 and ok.json()["status"] == "declined" and ok.json()["status_reason"] == "Ei tilaa"


@pytest.mark.parametrize(("status", "action", "by"), [
    (S.STARTED, "interrupt", "provider"), (S.ACCEPTED, "cancel", "coordinator"),
])
def test_actions__reason_required(joint: Any, api_as: Any, status: str, action: str, by: str) -> None:
    referral = referral_in(joint, status)
    api = api_as(joint.provider_worker if by == "provider" else joint.coordinator)
    before = snapshot(referral)
    r = api.post(f"/referrals/{referral.pk}/{action}", {})
    assert r.status_code == 422 and "reason" in r.json()["errors"]
    assert snapshot(referral) == before
    ok = api.post(f"/referrals/{referral.pk}/{action}", {"reason": "Asiakas muutti"})
    assert ok.status_code == 200 and ok.json()["status"] == ("interrupted" if action == "interrupt" else "cancelled")


@pytest.mark.parametrize(("status", "action"), [
    (S.DRAFT, "accept"), (S.DRAFT, "complete"), (S.SENT, "send"), (S.ACCEPTED, "waitlist"),
    (S.STARTED, "cancel"), (S.STARTED, "receive"),
])
def test_actions__an_illegal_transition_is_409_and_changes_nothing(joint: Any, api_as: Any, status: str,
                                                                    action: str) -> None:
    referral = referral_in(joint, status)
    before, logged = snapshot(referral), AccessLog.objects.count()
    body = {"reason": "r"} if action in {"waitlist", "cancel"} else {}
    r = api_as(joint.coordinator).post(f"/referrals/{referral.pk}/{action}", body)
    assert r.status_code == 409 and r.json()["code"] == "illegal_transition"
    assert snapshot(referral) == before
    assert AccessLog.objects.count() == logged  # the allowed row is rolled back with the refused change


def test_actions__the_wrong_side_is_403_and_logged_as_refused(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.SENT)
    before, logged = snapshot(referral), AccessLog.objects.count()
    r = api_as(joint.coordinator).post(f"/referrals/{referral.pk}/receive")
    assert r.status_code == 403 and r.json()["code"] == "wrong_side"
    r = api_as(joint.provider_worker).post(f"/referrals/{referral.pk}/cancel", {"reason": "no"})
    assert r.status_code == 403 and r.json()["code"] == "wrong_side"
    assert snapshot(referral) == before
    new_rows = AccessLog.objects.order_by("pk")[logged:]
    assert [(row.actor, row.allowed, row.reason) for row in new_rows] == [
        (joint.coordinator, False, "wrong_side"), (joint.provider_worker, False, "wrong_side")]


def test_actions__outsider_and_receiver_without_consent_get_404(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.SENT)
    before = snapshot(referral)
    assert api_as(joint.outsider).post(f"/referrals/{referral.pk}/receive").status_code == 404
    assert api_as(joint.outsider).post(f"/referrals/{referral.pk}/cancel", {"reason": "x"}).status_code == 404
    assert api_as(joint.outsider).post("/referrals/987654321/receive").status_code == 404
    assert refusals(joint.outsider) == 2
    Consent.objects.filter(client=joint.client, organisation=joint.provider).delete()
    assert api_as(joint.provider_worker).post(f"/referrals/{referral.pk}/receive").status_code == 404
    assert snapshot(referral) == before


def test_send__without_the_receivers_consent_for_the_category_is_422(joint: Any, api_as: Any) -> None:
    health = f.service(joint.provider, "health")
    api = api_as(joint.coordinator)
    draft = api.post("/referrals", {"client_id": joint.client.pk, "service_id": health.pk}).json()
    r = api.post(f"/referrals/{draft['id']}/send")
    assert r.status_code == 422 and r.json()["code"] == "no_consent_for_receiver"
    assert Referral.objects.get(pk=draft["id"]).status == S.DRAFT


def test_actions__if_match_optional_stale_is_412(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.SENT)
    provider = api_as(joint.provider_worker)
    tag = provider.get(f"/referrals/{referral.pk}")["ETag"]
    ok = provider.post(f"/referrals/{referral.pk}/receive", **{"If-Match": tag})
    assert ok.status_code == 200 and ok["ETag"] != tag
    before = snapshot(referral)
    stale = provider.post(f"/referrals/{referral.pk}/accept", **{"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["code"] == "version_conflict"
    other = provider.post(f"/referrals/{referral.pk}/accept", **{"If-Match": '"client-1-v1"'})
    assert other.status_code == 412
    assert snapshot(referral) == before
    fresh = provider.post(f"/referrals/{referral.pk}/accept", **{"If-Match": ok["ETag"]})
    assert fresh.status_code == 200 and fresh.json()["status"] == "accepted"
    assert provider.post(f"/referrals/{referral.pk}/start").status_code == 200  # If-Match is optional


def test_actions__bad_path_and_body_are_422(joint: Any, api_as: Any) -> None:
    referral = referral_in(joint, S.RECEIVED)
    provider = api_as(joint.provider_worker)
    before = snapshot(referral)
    assert provider.post("/referrals/0/accept").status_code == 422
    assert provider.post(f"/referrals/{2**63}/accept").status_code == 422
    extra = provider.post(f"/referrals/{referral.pk}/waitlist", {"reason": "full", "priority": 1})
    assert extra.status_code == 422 and "priority" in extra.json()["errors"]
    nul = provider.post(f"/referrals/{referral.pk}/decline", {"reason": "a\x00"})
    assert nul.status_code == 422
    assert snapshot(referral) == before
