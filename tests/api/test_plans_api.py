"""The plans part of the API: reads with an ETag, versions guarded by If-Match (428 without, 412 when stale and
the stored plan unchanged), sign-offs, reviews and step progress; outsiders 404, callers who see the client but
not the plan 403, bad input 422, and nothing written but the refusal's access-log row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from polku.audit.guards import unguarded
from polku.audit.models import AccessAction, AccessLog
from polku.clients.models import Consent
from polku.plans.models import Goal, Plan, PlanReview, PlanSignoff, PlanVersion, Step
from tests import factories as f


def refusals(user: Any) -> int:
    return AccessLog.objects.filter(actor=user, allowed=False).count()


def allowed(user: Any, action: str) -> int:
    return AccessLog.objects.filter(actor=user, action=action, allowed=True).count()


def assert_invalid(r: Any, *fields: str) -> None:
    assert r.status_code == 422, r.content
    assert r["Content-Type"] == "application/problem+json"
    errors = r.json()["errors"]
    for name in fields:
        assert any(key == name or key.startswith((name + ".", name + "[")) for key in errors), errors


def content(joint: Any, title: str = "Löytää työtä") -> dict[str, Any]:
    return {
        "employment_goal": "Työ logistiikassa",
        "goals": [{"area": "employment", "title": title, "steps": [
            {"description": "Päivitä CV", "owned_by_client": True},
            {"description": "Velkaneuvonta", "owner_organisation_id": joint.social.pk},
            {"description": "Työhakemukset", "owner_organisation_id": joint.employment.pk, "status": "in_progress"},
        ]}],
    }


@pytest.fixture
def plan(joint: Any, api_as: Any) -> Plan:
    """The episode's plan at version 1, written through the API."""
    r = api_as(joint.coordinator).post("/plans", {"episode_id": joint.episode.pk, **content(joint)})
    assert r.status_code == 201, r.content
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.all().delete()  # each test counts its own rows
    return Plan.objects.get(pk=r.json()["plan_id"])


def stored(plan: Plan) -> tuple[Any, ...]:
    plan.refresh_from_db()
    return (plan.current_version, PlanVersion.objects.count(), list(Goal.objects.values_list("title", flat=True)),
            Step.objects.count(), PlanReview.objects.count(), PlanSignoff.objects.count(),
            list(Step.objects.order_by("pk").values_list("status", flat=True)))


def provider_sees_client(joint: Any) -> None:
    """The provider receives a referral of the client: it sees the client's basic data but its role does not
    cover the plan (employment data)."""
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator)


# -- The first version ------------------------------------------------------------------------------------------


def test_create__first_version_with_an_etag_and_the_write_is_logged(joint: Any, api_as: Any) -> None:
    r = api_as(joint.coordinator).post("/plans", {"episode_id": joint.episode.pk, **content(joint)})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["number"] == 1 and len(body["goals"][0]["steps"]) == 3
    assert r["ETag"] == f'"plan-{body["plan_id"]}-v1"'
    assert Plan.objects.get(episode=joint.episode).current_version == 1
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, category="employment",
                                    action=AccessAction.UPDATE, allowed=True).count() == 1
    # A second "first version" is stale: the plan has one already.
    again = api_as(joint.social_worker).post("/plans", {"episode_id": joint.episode.pk, **content(joint)})
    assert again.status_code == 412 and again.json()["code"] == "version_conflict"
    assert PlanVersion.objects.count() == 1


def test_create__outsider_404_provider_403_and_nothing_written(joint: Any, api_as: Any) -> None:
    provider_sees_client(joint)
    body = {"episode_id": joint.episode.pk, **content(joint)}
    assert api_as(joint.outsider).post("/plans", body).status_code == 404
    assert api_as(joint.outsider).post("/plans", {**body, "episode_id": 987654321}).status_code == 404
    provider = api_as(joint.provider_worker).post("/plans", body)
    assert provider.status_code == 403 and provider.json()["code"] == "role"
    Consent.objects.filter(client=joint.client, organisation=joint.employment, category="employment").delete()
    assert api_as(joint.coordinator).post("/plans", body).status_code == 403  # sees the client, no consent
    assert not Plan.objects.exists() and not PlanVersion.objects.exists()
    assert refusals(joint.outsider) == 1 and refusals(joint.provider_worker) == 1
    assert refusals(joint.coordinator) == 1
    assert not AccessLog.objects.filter(allowed=True).exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"goals": []}, "goals"),
    ({"employment_goal": ""}, "employment_goal"),
    ({"employment_goal": " "}, "employment_goal"),
    ({"employment_goal": "x" * 5001}, "employment_goal"),
    ({"goals": [{"area": "astrology", "title": "x"}]}, "goals"),
    ({"goals": [{"area": "employment", "title": "x" * 301}]}, "goals"),
    ({"goals": [{"area": "employment", "title": "x", "steps": [{"description": "y"}]}]}, "goals"),
    ({"goals": [{"area": "employment", "title": "x", "steps": [{"description": "y", "owned_by_client": True,
                                                                 "kind": "service"}]}]}, "goals"),
    ({"goals": [{"area": "employment", "title": "x", "steps": [{"description": "y", "owned_by_client": True,
                                                                 "status": "maybe"}]}]}, "goals"),
    ({"next_review_due": "2001-01-01"}, "next_review_due"),
    ({"surprise": True}, "surprise"),
    ({"employment_goal": "Työ\x00"}, "__all__"),
])
def test_create__bad_input__422_with_field_errors_and_nothing_written(
    joint: Any, api_as: Any, change: dict[str, Any], field: str
) -> None:
    r = api_as(joint.coordinator).post("/plans", {"episode_id": joint.episode.pk, **content(joint), **change})
    assert_invalid(r, field)
    assert not Plan.objects.exists() and not PlanVersion.objects.exists()
    joint.episode.refresh_from_db()
    assert joint.episode.status == "mapping"


# -- Reads ------------------------------------------------------------------------------------------------------


def test_get__plan_with_current_content_and_etag_and_the_read_is_logged(joint: Any, api_as: Any, plan: Plan) -> None:
    r = api_as(joint.social_worker).get(f"/plans/{plan.pk}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert r["ETag"] == body["etag"] == f'"plan-{plan.pk}-v1"'
    assert body["current_version"] == 1 and body["client_id"] == joint.client.pk
    assert body["current"]["number"] == 1
    assert [s["description"] for s in body["current"]["goals"][0]["steps"]] == [
        "Päivitä CV", "Velkaneuvonta", "Työhakemukset"]
    assert AccessLog.objects.filter(actor=joint.social_worker, client=joint.client, category="employment",
                                    action=AccessAction.VIEW, allowed=True, object_type="Plan").count() == 1


def test_get__outsider_404_like_a_missing_plan_provider_403(joint: Any, api_as: Any, plan: Plan) -> None:
    hidden = api_as(joint.outsider).get(f"/plans/{plan.pk}")
    missing = api_as(joint.outsider).get("/plans/987654321")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"] and "ETag" not in hidden
    provider_sees_client(joint)
    assert api_as(joint.provider_worker).get(f"/plans/{plan.pk}").status_code == 403
    for path in (f"/plans/{plan.pk}/versions", f"/plans/{plan.pk}/versions/1"):
        assert api_as(joint.outsider).get(path).status_code == 404
        assert api_as(joint.provider_worker).get(path).status_code == 403
    assert api_as(joint.outsider).get("/plans", episode_id=joint.episode.pk).status_code == 404
    assert api_as(joint.outsider).get("/plans", client_id=joint.client.pk).status_code == 404
    assert refusals(joint.outsider) == 5 and refusals(joint.provider_worker) == 3
    assert not AccessLog.objects.filter(allowed=True).exists()


def test_list__by_episode_by_client_and_all_visible(joint: Any, api_as: Any, plan: Plan) -> None:
    api = api_as(joint.coordinator)
    for params in ({"episode_id": joint.episode.pk}, {"client_id": joint.client.pk}):
        r = api.get("/plans", **params)
        assert r.status_code == 200, r.content
        assert [p["id"] for p in r.json()["items"]] == [plan.pk]
        assert r.json()["items"][0]["current"]["goals"][0]["title"] == "Löytää työtä"
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, category="employment",
                                    allowed=True).count() == 2
    other = f.client()
    other_episode = f.episode(other, (joint.employment, joint.coordinator))
    f.consent_all(other, joint.employment)
    everything = api.get("/plans")
    assert [p["id"] for p in everything.json()["items"]] == [plan.pk]
    assert everything.json()["items"][0]["etag"] == f'"plan-{plan.pk}-v1"'
    assert AccessLog.objects.filter(actor=joint.coordinator, client=joint.client, object_type="list",
                                    category="employment").count() == 1
    assert api.get("/plans", episode_id=other_episode.pk).json()["items"] == []
    assert api.get("/plans", episode_id=other_episode.pk, client_id=joint.client.pk).json()["items"] == []
    assert_invalid(api.get("/plans", episode_id=0), "episode_id")
    assert_invalid(api.get("/plans", client_id="x"), "client_id")
    assert api_as(joint.outsider).get("/plans").json()["items"] == []


def test_versions__list_and_one_by_number(joint: Any, api_as: Any, plan: Plan) -> None:
    api = api_as(joint.coordinator)
    tag = api.get(f"/plans/{plan.pk}")["ETag"]
    assert api.post(f"/plans/{plan.pk}/versions", content(joint, "Uusi"), **{"If-Match": tag}).status_code == 201
    versions = api.get(f"/plans/{plan.pk}/versions")
    assert versions.status_code == 200
    assert [(v["number"], v["goals"][0]["title"]) for v in versions.json()["items"]] == [
        (1, "Löytää työtä"), (2, "Uusi")]
    one = api.get(f"/plans/{plan.pk}/versions/1")
    assert one.status_code == 200 and one.json()["goals"][0]["title"] == "Löytää työtä"
    assert AccessLog.objects.filter(actor=joint.coordinator, object_type="PlanVersion", allowed=True).count() == 1
    assert api.get(f"/plans/{plan.pk}/versions/3").status_code == 404
    assert_invalid(api.get(f"/plans/{plan.pk}/versions/0"), "number")
    assert_invalid(api.get(f"/plans/{plan.pk}/versions", limit=0), "limit")


# -- New versions: If-Match -------------------------------------------------------------------------------------


def test_add_version__fresh_etag_saves_and_returns_the_new_etag(joint: Any, api_as: Any, plan: Plan) -> None:
    api = api_as(joint.social_worker)
    tag = api.get(f"/plans/{plan.pk}")["ETag"]
    r = api.post(f"/plans/{plan.pk}/versions", {**content(joint, "Sosiaalityön tavoite"), "change_summary": "x"},
                 **{"If-Match": tag})
    assert r.status_code == 201, r.content
    assert r.json()["number"] == 2
    assert r["ETag"] == f'"plan-{plan.pk}-v2"' != tag
    assert api.get(f"/plans/{plan.pk}")["ETag"] == r["ETag"]
    plan.refresh_from_db()
    assert plan.current_version == 2
    assert AccessLog.objects.filter(actor=joint.social_worker, client=joint.client, action=AccessAction.UPDATE,
                                    allowed=True).count() == 1
    # The weak form of the same tag is accepted too.
    again = api.post(f"/plans/{plan.pk}/versions", content(joint), **{"If-Match": "W/" + r["ETag"]})
    assert again.status_code == 201 and again["ETag"] == f'"plan-{plan.pk}-v3"'


def test_add_version__missing_if_match_428_and_nothing_written(joint: Any, api_as: Any, plan: Plan) -> None:
    before = stored(plan)
    r = api_as(joint.coordinator).post(f"/plans/{plan.pk}/versions", content(joint, "Ilman"))
    assert r.status_code == 428 and r["Content-Type"] == "application/problem+json"
    assert r.json()["code"] == "if_match_required"
    assert stored(plan) == before
    assert not AccessLog.objects.exists()


def test_add_version__stale_if_match_412_and_the_stored_plan_is_unchanged(joint: Any, api_as: Any, plan: Plan) -> None:
    coordinator, social_worker = api_as(joint.coordinator), api_as(joint.social_worker)
    # Both read version 1; the coordinator saves first.
    tag = coordinator.get(f"/plans/{plan.pk}")["ETag"]
    assert social_worker.get(f"/plans/{plan.pk}")["ETag"] == tag
    assert coordinator.post(f"/plans/{plan.pk}/versions", content(joint, "Koordinaattorin"),
                            **{"If-Match": tag}).status_code == 201
    before = stored(plan)
    stale = social_worker.post(f"/plans/{plan.pk}/versions", content(joint, "Sosiaalityön"), **{"If-Match": tag})
    assert stale.status_code == 412 and stale["Content-Type"] == "application/problem+json"
    assert stale.json()["code"] == "version_conflict"
    assert stored(plan) == before
    assert plan.current_version == 2
    assert list(PlanVersion.objects.get(plan=plan, number=2).goals.values_list("title", flat=True)) == [
        "Koordinaattorin"]
    for wrong in ('"plan-999-v2"', '"client-1-v2"', "garbage", "*", f'"plan-{plan.pk}-v99999999999999999999"'):
        r = social_worker.post(f"/plans/{plan.pk}/versions", content(joint, "Sosiaalityön"), **{"If-Match": wrong})
        assert r.status_code == 412, (wrong, r.content)
    assert stored(plan) == before
    # Reload and save on top: both edits are kept as versions.
    fresh = social_worker.get(f"/plans/{plan.pk}")["ETag"]
    assert social_worker.post(f"/plans/{plan.pk}/versions", content(joint, "Sosiaalityön"),
                              **{"If-Match": fresh}).status_code == 201
    assert PlanVersion.objects.filter(plan=plan).count() == 3


def test_add_version__outsider_404_provider_403_bad_input_422_nothing_written(
    joint: Any, api_as: Any, plan: Plan
) -> None:
    provider_sees_client(joint)
    tag = {"If-Match": f'"plan-{plan.pk}-v1"'}
    before = stored(plan)
    assert api_as(joint.outsider).post(f"/plans/{plan.pk}/versions", content(joint), **tag).status_code == 404
    assert api_as(joint.outsider).post("/plans/987654321/versions", content(joint),
                                       **{"If-Match": '"plan-987654321-v1"'}).status_code == 404
    assert api_as(joint.provider_worker).post(f"/plans/{plan.pk}/versions", content(joint), **tag).status_code == 403
    api = api_as(joint.coordinator)
    assert_invalid(api.post(f"/plans/{plan.pk}/versions", {**content(joint), "goals": []}, **tag), "goals")
    assert_invalid(api.post(f"/plans/{plan.pk}/versions", {**content(joint), "episode_id": 1}, **tag), "episode_id")
    assert_invalid(api.post(f"/plans/{plan.pk}/versions", content(joint), **{"If-Match": "x" * 201}), "If-Match")
    outside_owner = {**content(joint), "goals": [{"area": "health", "title": "x", "steps": [
        {"description": "y", "owner_organisation_id": joint.provider.pk}]}]}
    assert_invalid(api.post(f"/plans/{plan.pk}/versions", outside_owner, **tag), "goals[0].steps[0].owner_organisation")
    assert stored(plan) == before
    assert refusals(joint.outsider) == 1 and refusals(joint.provider_worker) == 1
    assert not AccessLog.objects.filter(action=AccessAction.UPDATE, allowed=True).exists()


# -- Sign-offs, reviews, steps ----------------------------------------------------------------------------------


def test_sign__responsible_persons_and_the_client_in_person(joint: Any, api_as: Any, plan: Plan) -> None:
    r = api_as(joint.coordinator).post(f"/plans/{plan.pk}/versions/1/sign")
    assert r.status_code == 201, r.content
    assert r.json()["party"] == "organisation" and r.json()["organisation_id"] == joint.employment.pk
    client = api_as(joint.coordinator).post(f"/plans/{plan.pk}/versions/1/sign", {"client_agreed_in_person": True})
    assert client.status_code == 201 and client.json()["party"] == "client"
    assert allowed(joint.coordinator, AccessAction.UPDATE) == 2
    twice = api_as(joint.coordinator).post(f"/plans/{plan.pk}/versions/1/sign")
    assert twice.status_code == 422 and twice.json()["code"] == "already_signed"
    assert PlanSignoff.objects.count() == 2
    tag = api_as(joint.social_worker).get(f"/plans/{plan.pk}")["ETag"]
    api_as(joint.social_worker).post(f"/plans/{plan.pk}/versions", content(joint), **{"If-Match": tag})
    old = api_as(joint.social_worker).post(f"/plans/{plan.pk}/versions/1/sign")
    assert old.status_code == 409 and old.json()["code"] == "stale_version"


def test_sign__refusals_and_bad_input_write_nothing(joint: Any, api_as: Any, plan: Plan) -> None:
    provider_sees_client(joint)
    assert api_as(joint.outsider).post(f"/plans/{plan.pk}/versions/1/sign").status_code == 404
    assert api_as(joint.provider_worker).post(f"/plans/{plan.pk}/versions/1/sign").status_code == 403
    # A coordinator of the same organisation who is not its named responsible person.
    colleague = f.staff(joint.employment)
    r = api_as(colleague).post(f"/plans/{plan.pk}/versions/1/sign")
    assert r.status_code == 403 and r.json()["code"] == "not_responsible"
    api = api_as(joint.coordinator)
    assert api.post(f"/plans/{plan.pk}/versions/7/sign").status_code == 404
    assert_invalid(api.post(f"/plans/{plan.pk}/versions/1/sign", {"client_agreed_in_person": "perhaps"}),
                   "client_agreed_in_person")
    assert_invalid(api.post(f"/plans/{plan.pk}/versions/1/sign", {"party": "client"}), "party")
    assert not PlanSignoff.objects.exists()
    assert refusals(joint.outsider) == 1 and refusals(joint.provider_worker) == 1 and refusals(colleague) == 1
    assert not AccessLog.objects.filter(allowed=True).exists()


def test_reviews__request_and_record(joint: Any, api_as: Any, plan: Plan) -> None:
    api = api_as(joint.social_worker)
    requested = api.post(f"/plans/{plan.pk}/review-requests", {"trigger": "changed_needs", "notes": "Muutto"})
    assert requested.status_code == 201, requested.content
    assert requested.json()["trigger"] == "changed_needs" and requested.json()["held_on"] is None
    today = str(timezone.localdate())
    held = api.post(f"/plans/{plan.pk}/reviews", {"held_on": today, "review_id": requested.json()["id"],
                                                   "notes": "Käyty läpi"})
    assert held.status_code == 201, held.content
    assert held.json()["id"] == requested.json()["id"] and held.json()["held_on"] == today
    assert held.json()["resulting_version_id"] == PlanVersion.objects.get(plan=plan).pk
    scheduled = api.post(f"/plans/{plan.pk}/reviews", {"held_on": today, "next_review_due": "2099-01-01"})
    assert scheduled.status_code == 201 and scheduled.json()["trigger"] == "scheduled"
    plan.refresh_from_db()
    assert plan.next_review_due == dt.date(2099, 1, 1)
    assert allowed(joint.social_worker, AccessAction.UPDATE) == 3
    reviews = api.get(f"/plans/{plan.pk}").json()["reviews"]
    assert len(reviews) == 2


def test_reviews__refusals_and_bad_input_write_nothing(joint: Any, api_as: Any, plan: Plan) -> None:
    provider_sees_client(joint)
    before = stored(plan)
    today = str(timezone.localdate())
    for path, body in ((f"/plans/{plan.pk}/review-requests", {}), (f"/plans/{plan.pk}/reviews", {"held_on": today})):
        assert api_as(joint.outsider).post(path, body).status_code == 404
        assert api_as(joint.provider_worker).post(path, body).status_code == 403
    api = api_as(joint.coordinator)
    assert_invalid(api.post(f"/plans/{plan.pk}/review-requests", {"trigger": "whim"}), "trigger")
    assert_invalid(api.post(f"/plans/{plan.pk}/review-requests", {"notes": "x" * 5001}), "notes")
    assert_invalid(api.post(f"/plans/{plan.pk}/reviews", {}), "held_on")
    future = str(timezone.localdate() + dt.timedelta(days=1))
    assert_invalid(api.post(f"/plans/{plan.pk}/reviews", {"held_on": future}), "held_on")
    assert_invalid(api.post(f"/plans/{plan.pk}/reviews", {"held_on": today, "review_id": 987654321}), "review")
    assert stored(plan) == before
    assert refusals(joint.outsider) == 2 and refusals(joint.provider_worker) == 2
    assert not AccessLog.objects.filter(allowed=True).exists()


def test_step_status__the_owner_marks_progress(joint: Any, api_as: Any, plan: Plan) -> None:
    own, social, _employment = Step.objects.order_by("position")
    r = api_as(joint.social_worker).post(f"/plans/steps/{social.pk}/status", {"status": "done"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "done" and r.json()["status_changed_at"]
    social.refresh_from_db()
    assert social.status == "done"
    # The client's own step may be marked by a participating professional on the client's behalf.
    assert api_as(joint.coordinator).post(f"/plans/steps/{own.pk}/status", {"status": "in_progress"}).status_code == 200
    assert allowed(joint.social_worker, AccessAction.UPDATE) == 1
    assert allowed(joint.coordinator, AccessAction.UPDATE) == 1


def test_step_status__refusals_and_bad_input_write_nothing(joint: Any, api_as: Any, plan: Plan) -> None:
    provider_sees_client(joint)
    _own, social, _employment = Step.objects.order_by("position")
    before = stored(plan)
    assert api_as(joint.outsider).post(f"/plans/steps/{social.pk}/status", {"status": "done"}).status_code == 404
    assert api_as(joint.outsider).post("/plans/steps/987654321/status", {"status": "done"}).status_code == 404
    assert api_as(joint.provider_worker).post(f"/plans/steps/{social.pk}/status",
                                              {"status": "done"}).status_code == 403
    not_owner = api_as(joint.coordinator).post(f"/plans/steps/{social.pk}/status", {"status": "done"})
    assert not_owner.status_code == 403 and not_owner.json()["code"] == "not_owner"
    api = api_as(joint.social_worker)
    assert_invalid(api.post(f"/plans/steps/{social.pk}/status", {"status": "finished"}), "status")
    assert_invalid(api.post(f"/plans/steps/{social.pk}/status", {}), "status")
    assert_invalid(api.post("/plans/steps/0/status", {"status": "done"}), "step_id")
    assert stored(plan) == before
    assert refusals(joint.outsider) == 1 and refusals(joint.provider_worker) == 1 and refusals(joint.coordinator) == 1
    assert not AccessLog.objects.filter(allowed=True).exists()


def test_the_client__reads_their_plan_asks_for_a_review_marks_own_steps_but_does_not_edit(
    joint: Any, api_as: Any, plan: Plan
) -> None:
    joint.client.user = f.user()
    joint.client.save()
    me = api_as(joint.client.user)
    r = me.get(f"/plans/{plan.pk}")
    assert r.status_code == 200 and r.json()["current"]["goals"][0]["steps"]
    assert [p["id"] for p in me.get("/plans").json()["items"]] == [plan.pk]
    requested = me.post(f"/plans/{plan.pk}/review-requests", {"trigger": "scheduled"})
    assert requested.status_code == 201 and requested.json()["trigger"] == "client_request"
    own, social, _employment = Step.objects.order_by("position")
    assert me.post(f"/plans/steps/{own.pk}/status", {"status": "done"}).status_code == 200
    theirs = me.post(f"/plans/steps/{social.pk}/status", {"status": "done"})
    assert theirs.status_code == 403 and theirs.json()["code"] == "not_owner"
    edit = me.post(f"/plans/{plan.pk}/versions", content(joint), **{"If-Match": r["ETag"]})
    assert edit.status_code == 403 and edit.json()["code"] == "role"
    plan.refresh_from_db()
    assert plan.current_version == 1
    assert refusals(joint.client.user) == 2
