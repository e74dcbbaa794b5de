"""The assessments part of the API: instruments (not client data), assessments shown only of the categories the
caller may see, and the joint assessment by profession; outsiders 404, callers who see the client but lack the
category 403, bad input 422, and nothing written but the refusal's access-log row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from polku.assessments.models import Assessment, AssessmentAnswer, Disagreement, JointAssessment, JointAssessmentSection
from polku.assessments.services import assessment_record, joint_assessment_open
from polku.audit.guards import unguarded
from polku.audit.models import AccessAction, AccessLog
from polku.episodes.models import EpisodeParticipant
from polku.organisations.models import OrganisationKind, StaffRole
from tests import factories as f

WAI_ANSWERS = {"wai1": 7, "wai2": 8, "wai3": 5, "wai4": 5, "wai5": 4, "wai6": 4, "wai7": 3}


def refusals(user: Any) -> int:
    return AccessLog.objects.filter(actor=user, allowed=False).count()


def assert_invalid(r: Any, *fields: str) -> None:
    assert r.status_code == 422, r.content
    assert r["Content-Type"] == "application/problem+json"
    errors = r.json()["errors"]
    for name in fields:
        assert any(key == name or key.startswith(name + ".") for key in errors), errors


def rows() -> tuple[int, ...]:
    return (Assessment.objects.count(), AssessmentAnswer.objects.count(), JointAssessment.objects.count(),
            JointAssessmentSection.objects.count(), Disagreement.objects.count())


@pytest.fixture
def nurse(joint: Any) -> Any:
    """A health professional whose organisation takes part in the episode, with the client's health consent."""
    health = f.organisation(OrganisationKind.HEALTH_SERVICES)
    nurse = f.staff(health, StaffRole.HEALTH_PROFESSIONAL)
    f.consent(joint.client, health, "health")
    EpisodeParticipant.objects.create(episode=joint.episode, organisation=health, responsible_person=nurse.staff)
    return nurse


def life_situation_answers(value: int = 1) -> dict[str, int]:
    from polku.assessments.models import Instrument

    return dict.fromkeys(Instrument.objects.get(code="life-situation").items.values_list("code", flat=True), value)


# -- Instruments ------------------------------------------------------------------------------------------------


def test_instruments__any_signed_in_user_reads_them_with_items_and_nothing_is_logged(joint: Any, api_as: Any) -> None:
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    for user in (joint.coordinator, joint.outsider, manager):
        r = api_as(user).get("/assessments/instruments")
        assert r.status_code == 200, r.content
        by_code = {i["code"]: i for i in r.json()["items"]}
        assert {"work-ability-score", "work-ability-index", "life-situation"} <= set(by_code)
        wai = by_code["work-ability-index"]
        assert wai["data_category"] == "health" and wai["placeholder"] is True and len(wai["items"]) == 7
        assert set(wai["name"]) == {"fi", "sv", "en"} and wai["items"][0]["text"]["fi"]
    one = api_as(joint.outsider).get("/assessments/instruments/life-situation")
    assert one.status_code == 200 and one.json()["data_category"] == "social" and one.json()["items"]
    assert not AccessLog.objects.exists()


def test_instruments__missing_is_404_bad_code_422_paging_works(joint: Any, api_as: Any) -> None:
    api = api_as(joint.coordinator)
    assert api.get("/assessments/instruments/no-such-thing").status_code == 404
    assert_invalid(api.get("/assessments/instruments/bad code!"), "code")
    assert_invalid(api.get("/assessments/instruments/" + "x" * 65), "code")
    first = api.get("/assessments/instruments", limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = api.get("/assessments/instruments", limit=2, cursor=first["next_cursor"]).json()
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in rest["items"]}


def test_unauthenticated__401(joint: Any, client: Any) -> None:
    assert client.get("/api/v1/assessments/instruments").status_code == 401


# -- Recording --------------------------------------------------------------------------------------------------


def test_record__a_health_professional_records_and_the_write_is_logged(joint: Any, nurse: Any, api_as: Any) -> None:
    r = api_as(nurse).post("/assessments", {"client_id": joint.client.pk, "instrument_code": "work-ability-index",
                                            "answers": WAI_ANSWERS, "episode_id": joint.episode.pk, "notes": "Hyvä"})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["score"] == "36.00" and body["band"] == "moderate" and body["respondent"] == "professional"
    assert body["data_category"] == "health" and len(body["answers"]) == 7
    assert Assessment.objects.filter(client=joint.client).count() == 1
    assert AccessLog.objects.filter(actor=nurse, client=joint.client, category="health", action=AccessAction.CREATE,
                                    allowed=True).count() == 1


def test_record__outsider_404_other_roles_403_and_nothing_written(joint: Any, nurse: Any, api_as: Any) -> None:
    body = {"client_id": joint.client.pk, "instrument_code": "work-ability-index", "answers": WAI_ANSWERS}
    assert api_as(joint.outsider).post("/assessments", body).status_code == 404
    assert api_as(joint.outsider).post("/assessments", {**body, "client_id": 987654321}).status_code == 404
    # The coordinator sees the client, but health data is not for their role.
    coordinator = api_as(joint.coordinator).post("/assessments", body)
    assert coordinator.status_code == 403 and coordinator.json()["code"] == "role"
    assert api_as(joint.social_worker).post("/assessments", body).status_code == 403
    assert rows() == (0, 0, 0, 0, 0)
    assert refusals(joint.outsider) == 2 and refusals(joint.coordinator) == 1 and refusals(joint.social_worker) == 1
    assert not AccessLog.objects.filter(allowed=True).exists()


@pytest.mark.parametrize(("change", "field"), [
    ({"answers": {**WAI_ANSWERS, "wai1": 11}}, "wai1"),
    ({"answers": {k: v for k, v in WAI_ANSWERS.items() if k != "wai3"}}, "wai3"),
    ({"answers": {**WAI_ANSWERS, "wai9": 1}}, "wai9"),
    ({"answers": {**WAI_ANSWERS, "wai2": "8"}}, "answers"),
    ({"answers": {**WAI_ANSWERS, "wai2": True}}, "answers"),
    ({"answers": {**WAI_ANSWERS, "wai2": 7.5}}, "answers"),
    ({"answers": {**WAI_ANSWERS, "wai2": 10**30}}, "answers"),
    ({"answers": {**WAI_ANSWERS, "x" * 33: 1}}, "answers"),
    ({"answers": "all good"}, "answers"),
    ({"instrument_code": "no-such-instrument"}, "instrument"),
    ({"instrument_code": "Ö?"}, "instrument_code"),
    ({"client_id": 0}, "client_id"),
    ({"assessed_on": "2999-01-01"}, "assessed_on"),
    ({"assessed_on": "yesterday"}, "assessed_on"),
    ({"episode_id": 987654321}, "episode"),
    ({"joint_assessment_id": 987654321}, "joint_assessment"),
    ({"notes": "x" * 10_001}, "notes"),
    ({"score": 49}, "score"),
])
def test_record__bad_input__422_with_field_errors_and_nothing_written(
    joint: Any, nurse: Any, api_as: Any, change: dict[str, Any], field: str
) -> None:
    body = {"client_id": joint.client.pk, "instrument_code": "work-ability-index", "answers": WAI_ANSWERS, **change}
    assert_invalid(api_as(nurse).post("/assessments", body), field)
    assert rows() == (0, 0, 0, 0, 0)
    assert not AccessLog.objects.filter(allowed=True, action=AccessAction.CREATE).exists()


# -- Reading ----------------------------------------------------------------------------------------------------


@pytest.fixture
def recorded(joint: Any, nurse: Any) -> dict[str, Assessment]:
    """A health assessment by the nurse and a social one by the social worker; the log starts empty."""
    health = assessment_record(actor=nurse, client_id=joint.client.pk, instrument_code="work-ability-index",
                               answers=WAI_ANSWERS)
    social = assessment_record(actor=joint.social_worker, client_id=joint.client.pk,
                               instrument_code="life-situation", answers=life_situation_answers())
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.all().delete()
    return {"health": health, "social": social}


def test_list__each_caller_sees_only_the_categories_they_may_and_each_category_shown_is_logged(
    joint: Any, nurse: Any, api_as: Any, recorded: dict[str, Assessment]
) -> None:
    expected = {nurse: ["health"], joint.social_worker: ["social"], joint.coordinator: []}
    for user, categories in expected.items():
        r = api_as(user).get("/assessments", client_id=joint.client.pk)
        assert r.status_code == 200, r.content
        assert [a["data_category"] for a in r.json()["items"]] == categories
        logged = AccessLog.objects.filter(actor=user, client=joint.client, allowed=True)
        assert sorted(logged.values_list("category", flat=True)) == sorted(["basic", *categories])
    only = api_as(nurse).get("/assessments", client_id=joint.client.pk, instrument="life-situation")
    assert only.json()["items"] == []
    answers = api_as(nurse).get("/assessments", client_id=joint.client.pk).json()["items"][0]["answers"]
    assert {a["item_code"]: a["value"] for a in answers} == WAI_ANSWERS


def test_list__outsider_404_bad_filters_422(joint: Any, api_as: Any, recorded: dict[str, Assessment]) -> None:
    assert api_as(joint.outsider).get("/assessments", client_id=joint.client.pk).status_code == 404
    assert refusals(joint.outsider) == 1
    api = api_as(joint.social_worker)
    assert_invalid(api.get("/assessments"), "client_id")
    assert_invalid(api.get("/assessments", client_id="abc"), "client_id")
    assert_invalid(api.get("/assessments", client_id=joint.client.pk, instrument="bad code"), "instrument")
    assert not AccessLog.objects.filter(allowed=True).exists()


def test_get__with_answers_logged_403_for_another_category_404_for_outsider(
    joint: Any, nurse: Any, api_as: Any, recorded: dict[str, Assessment]
) -> None:
    health = recorded["health"]
    r = api_as(nurse).get(f"/assessments/{health.pk}")
    assert r.status_code == 200, r.content
    assert r.json()["instrument_code"] == "work-ability-index" and len(r.json()["answers"]) == 7
    assert AccessLog.objects.filter(actor=nurse, client=joint.client, category="health", action=AccessAction.VIEW,
                                    object_type="Assessment", allowed=True).count() == 1
    denied = api_as(joint.coordinator).get(f"/assessments/{health.pk}")
    assert denied.status_code == 403 and denied.json()["code"] == "role"
    hidden = api_as(joint.outsider).get(f"/assessments/{health.pk}")
    missing = api_as(joint.outsider).get("/assessments/987654321")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]
    assert refusals(joint.coordinator) == 1 and refusals(joint.outsider) == 1
    assert_invalid(api_as(nurse).get("/assessments/0"), "assessment_id")


# -- The joint assessment ---------------------------------------------------------------------------------------


def test_joint__open_sections_by_profession_disagreement_and_read(joint: Any, nurse: Any, api_as: Any) -> None:
    # The frame of the joint assessment is employment data: the health services need that consent to read it.
    f.consent(joint.client, nurse.staff.organisation, "employment")
    today = str(timezone.localdate())
    opened = api_as(joint.coordinator).post("/assessments/joint", {"episode_id": joint.episode.pk, "held_on": today,
                                                                   "client_view": "Haluan töihin"})
    assert opened.status_code == 201, opened.content
    joint_id = opened.json()["id"]
    assert opened.json()["client_id"] == joint.client.pk and opened.json()["sections"] == []
    sections = {
        joint.coordinator: ("employment", "Työkokemusta on"),
        joint.social_worker: ("social", "Asunto puuttuu"),
        nurse: ("health", "Selkävaiva"),
    }
    for user, (area, findings) in sections.items():
        r = api_as(user).post(f"/assessments/joint/{joint_id}/sections", {"area": area, "findings": findings})
        assert r.status_code == 201, r.content
        assert r.json()["data_category"] == area and r.json()["assessor_id"] == user.staff.pk
    d = api_as(joint.social_worker).post(f"/assessments/joint/{joint_id}/disagreements", {
        "topic": "Työkyky", "positions": "Eri näkemykset", "areas": ["social", "health"]})
    assert d.status_code == 201, d.content
    assert d.json()["areas"] == ["social", "health"]
    assert AccessLog.objects.filter(action=AccessAction.CREATE, allowed=True).count() == 5
    # Each reader sees the frame, the disagreements and the sections of their own categories.
    seen = {}
    for user in (joint.coordinator, joint.social_worker, nurse):
        r = api_as(user).get(f"/assessments/joint/{joint_id}")
        assert r.status_code == 200, r.content
        assert len(r.json()["disagreements"]) == 1
        seen[user] = sorted(s["area"] for s in r.json()["sections"])
    assert seen == {joint.coordinator: ["employment"], joint.social_worker: ["employment", "social"],
                    nurse: ["employment", "health"]}
    logged = AccessLog.objects.filter(actor=nurse, action=AccessAction.VIEW, allowed=True)
    assert sorted(logged.values_list("category", flat=True)) == ["employment", "health"]


@pytest.fixture
def joint_assessment(joint: Any) -> JointAssessment:
    held = joint_assessment_open(actor=joint.coordinator, episode_id=joint.episode.pk,
                                 held_on=timezone.localdate() - dt.timedelta(days=1))
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.all().delete()
    return held


def test_joint__refusals_write_nothing(joint: Any, api_as: Any, joint_assessment: JointAssessment) -> None:
    f.referral(joint.client, joint.service, joint.employment, joint.coordinator)  # the provider sees the client
    before = rows()
    today = str(timezone.localdate())
    jid = joint_assessment.pk
    assert api_as(joint.outsider).post("/assessments/joint", {"episode_id": joint.episode.pk,
                                                              "held_on": today}).status_code == 404
    assert api_as(joint.outsider).post("/assessments/joint", {"episode_id": 987654321,
                                                              "held_on": today}).status_code == 404
    assert api_as(joint.provider_worker).post("/assessments/joint", {"episode_id": joint.episode.pk,
                                                                     "held_on": today}).status_code == 403
    assert api_as(joint.outsider).get(f"/assessments/joint/{jid}").status_code == 404
    assert api_as(joint.outsider).get("/assessments/joint/987654321").status_code == 404
    assert api_as(joint.provider_worker).get(f"/assessments/joint/{jid}").status_code == 403
    section = {"area": "health", "findings": "x"}
    assert api_as(joint.outsider).post(f"/assessments/joint/{jid}/sections", section).status_code == 404
    social_writes_health = api_as(joint.social_worker).post(f"/assessments/joint/{jid}/sections", section)
    assert social_writes_health.status_code == 403 and social_writes_health.json()["code"] == "role"
    disagreement = {"topic": "x", "positions": "y", "involves_client": True}
    assert api_as(joint.outsider).post(f"/assessments/joint/{jid}/disagreements", disagreement).status_code == 404
    assert api_as(joint.provider_worker).post(f"/assessments/joint/{jid}/disagreements",
                                              disagreement).status_code == 403
    assert rows() == before
    assert refusals(joint.outsider) == 4 and refusals(joint.provider_worker) == 3 and refusals(joint.social_worker) == 1
    assert not AccessLog.objects.filter(allowed=True).exists()


def test_joint__bad_input_422_and_nothing_written(joint: Any, api_as: Any, joint_assessment: JointAssessment) -> None:
    before = rows()
    api = api_as(joint.coordinator)
    jid = joint_assessment.pk
    future = str(timezone.localdate() + dt.timedelta(days=1))
    assert_invalid(api.post("/assessments/joint", {"episode_id": joint.episode.pk}), "held_on")
    assert_invalid(api.post("/assessments/joint", {"episode_id": joint.episode.pk, "held_on": future}), "held_on")
    assert_invalid(api.post("/assessments/joint", {"episode_id": joint.episode.pk, "held_on": "2024-01-01",
                                                   "summary": "x" * 10_001}), "summary")
    assert_invalid(api.post(f"/assessments/joint/{jid}/sections", {"area": "astrology", "findings": "x"}), "area")
    assert_invalid(api.post(f"/assessments/joint/{jid}/sections", {"area": "employment", "findings": ""}), "findings")
    assert_invalid(api.post(f"/assessments/joint/{jid}/sections", {"area": "employment", "findings": " "}),
                   "findings")
    assert_invalid(api.post(f"/assessments/joint/{jid}/disagreements", {"topic": "x", "positions": "y",
                                                                        "areas": ["employment"]}), "areas")
    assert_invalid(api.post(f"/assessments/joint/{jid}/disagreements", {"topic": "x", "positions": "y",
                                                                        "areas": ["employment", "magic"]}), "areas")
    assert_invalid(api.post(f"/assessments/joint/{jid}/disagreements", {"topic": "x" * 301, "positions": "y",
                                                                        "involves_client": True}), "topic")
    assert_invalid(api.post("/assessments/joint/0/sections", {"area": "employment", "findings": "x"}),
                   "joint_assessment_id")
    assert rows() == before
    assert not AccessLog.objects.filter(allowed=True, action=AccessAction.CREATE).exists()
    api.post(f"/assessments/joint/{jid}/sections", {"area": "employment", "findings": "x"})
    twice = api.post(f"/assessments/joint/{jid}/sections", {"area": "employment", "findings": "y"})
    assert_invalid(twice, "area")
    assert JointAssessmentSection.objects.count() == 1


def test_the_client__self_assessment_and_reading_their_own(joint: Any, api_as: Any,
                                                           recorded: dict[str, Assessment]) -> None:
    joint.client.user = f.user()
    joint.client.save()
    me = api_as(joint.client.user)
    r = me.post("/assessments", {"client_id": joint.client.pk, "instrument_code": "work-ability-score",
                                 "answers": {"was": 6}})
    assert r.status_code == 201, r.content
    assert r.json()["respondent"] == "client" and r.json()["band"] == "moderate"
    mine = me.get("/assessments", client_id=joint.client.pk).json()["items"]
    assert sorted(a["instrument_code"] for a in mine) == ["life-situation", "work-ability-index",
                                                          "work-ability-score"]
    other = f.client()
    assert me.get("/assessments", client_id=other.pk).status_code == 404
    assert me.post("/assessments", {"client_id": other.pk, "instrument_code": "work-ability-score",
                                    "answers": {"was": 6}}).status_code == 404
    assert Assessment.objects.filter(client=other).count() == 0
