"""The episodes part of the API: lists and reads (logged), opening, adding an organisation and closing, each
refused as 404 for an outsider, 403 for a caller who sees the client but may not do it, and 422 for bad input,
with nothing written but the refusal's access-log row."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from polku.audit.models import AccessAction, AccessLog
from polku.clients.models import Consent
from polku.episodes.models import EpisodeParticipant, EpisodeStatus, JointServiceEpisode
from polku.organisations.models import OrganisationKind, StaffRole
from tests import factories as f


def refusals(user: Any) -> int:
    return AccessLog.objects.filter(actor=user, allowed=False).count()


def assert_invalid(r: Any, *fields: str) -> None:
    assert r.status_code == 422, r.content
    assert r["Content-Type"] == "application/problem+json"
    errors = r.json()["errors"]
    for name in fields:
        assert any(key == name or key.startswith(name + ".") for key in errors), errors


def provider_sees_client(joint: Any) -> None:
    """The provider receives a referral of the client: it sees the client's basic data (it has a consent)."""
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator)


def episode_state(joint: Any) -> tuple[Any, ...]:
    joint.episode.refresh_from_db()
    return (joint.episode.status, joint.episode.end_date, joint.episode.version,
            JointServiceEpisode.objects.count(), EpisodeParticipant.objects.count())


# -- Reads ------------------------------------------------------------------------------------------------------


def test_list__own_clients_episodes_only_and_each_client_shown_is_logged(joint: Any, api_as: Any) -> None:
    stranger = f.client()
    f.episode(stranger, (joint.social, joint.social_worker))  # not the coordinator's organisation
    r = api_as(joint.coordinator).get("/episodes")
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    assert [e["id"] for e in items] == [joint.episode.pk]
    assert {p["organisation_id"] for p in items[0]["participants"]} == {joint.employment.pk, joint.social.pk}
    assert items[0]["participants"][0]["responsible_person_name"]
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, object_type="list",
                                    allowed=True).count() == 1
    assert not AccessLog.objects.filter(client=stranger, actor=joint.coordinator).exists()


def test_list__filters_and_bad_filters(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    assert api.get("/episodes", status="closed").json()["items"] == []
    assert [e["id"] for e in api.get("/episodes", status="mapping").json()["items"]] == [joint.episode.pk]
    one = api.get("/episodes", client_id=joint.client.pk)
    assert [e["id"] for e in one.json()["items"]] == [joint.episode.pk]
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, object_type="", allowed=True,
                                    action=AccessAction.VIEW).count() == 1
    assert_invalid(api.get("/episodes", status="nonsense"), "status")
    assert_invalid(api.get("/episodes", client_id=0), "client_id")
    assert_invalid(api.get("/episodes", limit=500), "limit")


def test_list__another_clients_episodes_by_client_id__404_and_logged(joint: Any, api_as: Any) -> None:
    r = api_as(joint.outsider).get("/episodes", client_id=joint.client.pk)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert AccessLog.objects.filter(actor=joint.outsider, client=joint.client, allowed=False).count() == 1
    assert api_as(joint.outsider).get("/episodes").json()["items"] == []


def test_get__allowed_read_is_logged_outsider_gets_the_404_of_a_missing_one(joint: Any, api_as: Any) -> None:
    r = api_as(joint.social_worker).get(f"/episodes/{joint.episode.pk}")
    assert r.status_code == 200, r.content
    assert r.json()["client_id"] == joint.client.pk and r.json()["status"] == "mapping"
    assert AccessLog.objects.filter(actor=joint.social_worker, client=joint.client, allowed=True,
                                    object_type="JointServiceEpisode", object_id=str(joint.episode.pk)).count() == 1
    hidden = api_as(joint.outsider).get(f"/episodes/{joint.episode.pk}")
    missing = api_as(joint.outsider).get("/episodes/987654321")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    assert hidden.json()["detail"] == missing.json()["detail"]
    assert refusals(joint.outsider) == 1


def test_get__without_consent_is_404(joint: Any, api_as: Any) -> None:
    Consent.objects.filter(client=joint.client, organisation=joint.employment).delete()
    assert api_as(joint.coordinator).get(f"/episodes/{joint.episode.pk}").status_code == 404
    assert refusals(joint.coordinator) == 1


def test_get__bad_id_is_422(joint: Any, api_as: Any) -> None:
    assert_invalid(api_as(joint.coordinator).get("/episodes/0"), "episode_id")
    assert api_as(joint.coordinator).get("/episodes/abc").status_code == 422


# -- Closing and opening ----------------------------------------------------------------------------------------


def test_close__the_participant_closes_and_the_write_is_logged(joint: Any, api_as: Any) -> None:
    today = str(timezone.localdate())
    r = api_as(joint.coordinator).post(f"/episodes/{joint.episode.pk}/close",
                                       {"end_date": today, "end_reason": "employed", "notes": "Töihin"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "closed" and r.json()["end_reason"] == "employed"
    joint.episode.refresh_from_db()
    assert joint.episode.status == EpisodeStatus.CLOSED and joint.episode.end_notes == "Töihin"
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, action=AccessAction.UPDATE,
                                    allowed=True).count() == 1
    # A closed episode gives no relationship: the client is gone from the coordinator's view ...
    again = api_as(joint.coordinator).post(f"/episodes/{joint.episode.pk}/close",
                                           {"end_date": today, "end_reason": "employed"})
    assert again.status_code == 404
    # ... unless the organisation has another, such as a referral it receives: then closing again is a conflict.
    f.referral(joint.client, f.service(joint.employment, "employment"), joint.social, joint.social_worker)
    again = api_as(joint.coordinator).post(f"/episodes/{joint.episode.pk}/close",
                                           {"end_date": today, "end_reason": "employed"})
    assert again.status_code == 409 and again.json()["code"] == "episode_closed"


def test_close__outsider_404_and_bad_input_422_and_nothing_changes(joint: Any, api_as: Any) -> None:
    before = episode_state(joint)
    today = str(timezone.localdate())
    body = {"end_date": today, "end_reason": "employed"}
    r = api_as(joint.outsider).post(f"/episodes/{joint.episode.pk}/close", body)
    assert r.status_code == 404
    assert refusals(joint.outsider) == 1
    api = api_as(joint.coordinator)
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/close", {"end_date": today, "end_reason": "bored"}),
                   "end_reason")
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/close", {"end_reason": "employed"}), "end_date")
    future = str(timezone.localdate() + dt.timedelta(days=3))
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/close", {"end_date": future, "end_reason": "employed"}),
                   "end_date")
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/close",
                            {"end_date": today, "end_reason": "employed", "notes": "x" * 2001}), "notes")
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/close",
                            {"end_date": today, "end_reason": "employed", "extra": 1}), "extra")
    assert episode_state(joint) == before
    assert not AccessLog.objects.filter(actor=joint.coordinator, action=AccessAction.UPDATE, allowed=True).exists()


def test_open__a_returning_client_gets_a_new_episode(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    # The client's episode is open: a second one is refused.
    f.referral(joint.client, f.service(joint.employment, "employment"), joint.social, joint.social_worker)
    already = api.post("/episodes", {"client_id": joint.client.pk})
    assert already.status_code == 422 and already.json()["code"] == "episode_already_open"
    today = str(timezone.localdate())
    closed = api.post(f"/episodes/{joint.episode.pk}/close", {"end_date": today, "end_reason": "other"})
    assert closed.status_code == 200
    # The employment services still receive a referral of the client, so they may open a new episode.
    r = api.post("/episodes", {"client_id": joint.client.pk})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "mapping" and body["start_date"] == today
    assert [p["organisation_id"] for p in body["participants"]] == [joint.employment.pk]
    assert JointServiceEpisode.objects.filter(client=joint.client).count() == 2
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, action=AccessAction.CREATE,
                                    allowed=True).count() == 1


def test_open__outsider_404_provider_403_bad_input_422_and_nothing_written(joint: Any, api_as: Any) -> None:
    provider_sees_client(joint)
    before = episode_state(joint)
    assert api_as(joint.outsider).post("/episodes", {"client_id": joint.client.pk}).status_code == 404
    assert api_as(joint.outsider).post("/episodes", {"client_id": 987654321}).status_code == 404
    provider = api_as(joint.provider_worker).post("/episodes", {"client_id": joint.client.pk})
    assert provider.status_code == 403 and provider.json()["code"] == "role"
    api = api_as(joint.coordinator)
    assert_invalid(api.post("/episodes", {}), "client_id")
    assert_invalid(api.post("/episodes", {"client_id": "x"}), "client_id")
    assert_invalid(api.post("/episodes", {"client_id": 2**63}), "client_id")
    assert_invalid(api.post("/episodes", {"client_id": joint.client.pk, "start_date": "2024-02-30"}), "start_date")
    assert episode_state(joint) == before
    assert refusals(joint.outsider) == 2 and refusals(joint.provider_worker) == 1
    assert not AccessLog.objects.filter(action=AccessAction.CREATE, allowed=True).exists()


# -- Participants -----------------------------------------------------------------------------------------------


def test_add_participant__a_participant_adds_an_organisation(joint: Any, api_as: Any) -> None:
    health = f.organisation(OrganisationKind.HEALTH_SERVICES)
    nurse = f.staff(health, StaffRole.HEALTH_PROFESSIONAL)
    r = api_as(joint.coordinator).post(f"/episodes/{joint.episode.pk}/participants",
                                       {"responsible_person_id": nurse.staff.pk})
    assert r.status_code == 201, r.content
    assert r.json()["organisation_id"] == health.pk and r.json()["responsible_person_id"] == nurse.staff.pk
    assert EpisodeParticipant.objects.filter(episode=joint.episode, organisation=health).exists()
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, action=AccessAction.UPDATE,
                                    allowed=True).count() == 1
    again = api_as(joint.coordinator).post(f"/episodes/{joint.episode.pk}/participants",
                                           {"responsible_person_id": nurse.staff.pk})
    assert_invalid(again, "responsible_person")


def test_add_participant__refusals_and_bad_input_write_nothing(joint: Any, api_as: Any) -> None:
    provider_sees_client(joint)
    health = f.organisation(OrganisationKind.HEALTH_SERVICES)
    nurse = f.staff(health, StaffRole.HEALTH_PROFESSIONAL)
    before = episode_state(joint)
    body = {"responsible_person_id": nurse.staff.pk}
    assert api_as(joint.outsider).post(f"/episodes/{joint.episode.pk}/participants", body).status_code == 404
    # The provider sees the client through its referral but does not take part in the episode.
    provider = api_as(joint.provider_worker).post(f"/episodes/{joint.episode.pk}/participants", body)
    assert provider.status_code == 403 and provider.json()["code"] == "not_participant"
    api = api_as(joint.coordinator)
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/participants", {"responsible_person_id": 0}),
                   "responsible_person_id")
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/participants", {"responsible_person_id": 987654321}),
                   "responsible_person")
    assert_invalid(api.post(f"/episodes/{joint.episode.pk}/participants",
                            {**body, "joined_on": str(timezone.localdate() + dt.timedelta(days=1))}), "joined_on")
    assert episode_state(joint) == before
    assert refusals(joint.outsider) == 1 and refusals(joint.provider_worker) == 1
    assert not AccessLog.objects.filter(action=AccessAction.UPDATE, allowed=True).exists()
