"""Assessments: scoring, validation, repeated measurement, and the joint assessment by profession."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from polku.assessments.models import Assessment, Instrument
from polku.assessments.scoring import band_for, score
from polku.assessments.services import (
    assessment_record,
    disagreement_record,
    joint_assessment_add_section,
    joint_assessment_open,
)
from polku.core.errors import AccessDenied, InvalidInput
from polku.organisations.models import OrganisationKind, StaffRole
from tests import factories as f

WAI_ANSWERS = {"wai1": 7, "wai2": 8, "wai3": 5, "wai4": 5, "wai5": 4, "wai6": 4, "wai7": 3}


@pytest.fixture
def nurse(joint: Any) -> Any:
    health = f.organisation(OrganisationKind.HEALTH_SERVICES)
    nurse = f.staff(health, StaffRole.HEALTH_PROFESSIONAL)
    f.consent(joint.client, health, "health")
    from polku.episodes.models import EpisodeParticipant

    EpisodeParticipant.objects.create(episode=joint.episode, organisation=health, responsible_person=nurse.staff)
    return nurse


def test_shipped_instruments__score_ranges_match_their_bands(db: Any) -> None:
    for instrument in Instrument.objects.prefetch_related("items"):
        items = list(instrument.items.all())
        low = score(instrument.scoring_rule, [i.scale_min for i in items], [(i.scale_min, i.scale_max) for i in items])
        high = score(instrument.scoring_rule, [i.scale_max for i in items], [(i.scale_min, i.scale_max) for i in items])
        assert band_for(low, instrument.bands) and band_for(high, instrument.bands), instrument.code
    wai = Instrument.objects.get(code="work-ability-index")
    assert wai.placeholder and wai.items.count() == 7


def test_scoring_rules() -> None:
    bounds = [(1, 5)] * 10
    assert score("scaled_0_100", [1] * 10, bounds) == Decimal("0.00")
    assert score("scaled_0_100", [5] * 10, bounds) == Decimal("100.00")
    assert score("scaled_0_100", [3] * 10, bounds) == Decimal("50.00")
    assert score("mean", [1, 2], [(0, 10)] * 2) == Decimal("1.50")
    assert score("none", [1], [(0, 1)]) is None


def test_assessment__repeated_assessments_show_change(joint: Any, nurse: Any) -> None:
    today = timezone.localdate()
    first = assessment_record(actor=nurse, client_id=joint.client.pk, instrument_code="work-ability-index",
                              answers=WAI_ANSWERS, assessed_on=today - dt.timedelta(days=180))
    second = assessment_record(actor=nurse, client_id=joint.client.pk, instrument_code="work-ability-index",
                               answers={**WAI_ANSWERS, "wai1": 9, "wai7": 4}, assessed_on=today)
    assert (first.score, first.band) == (Decimal(36), "moderate")
    assert (second.score, second.band) == (Decimal(39), "good")
    series = Assessment.objects.filter(client=joint.client).order_by("assessed_on").values_list("score", flat=True)
    assert list(series) == [Decimal(36), Decimal(39)]


@pytest.mark.parametrize("answers", [
    {**WAI_ANSWERS, "wai1": 11}, {k: v for k, v in WAI_ANSWERS.items() if k != "wai3"},
    {**WAI_ANSWERS, "wai9": 1}, {**WAI_ANSWERS, "wai2": "8"}, {**WAI_ANSWERS, "wai2": True},
])
def test_assessment__bad_answers__refused_with_item_errors(joint: Any, nurse: Any, answers: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        assessment_record(actor=nurse, client_id=joint.client.pk, instrument_code="work-ability-index",
                          answers=answers)
    assert excinfo.value.errors
    assert not Assessment.objects.exists()


def test_assessment__health_instrument__not_for_a_coordinator(joint: Any) -> None:
    with pytest.raises(AccessDenied):
        assessment_record(actor=joint.coordinator, client_id=joint.client.pk, instrument_code="work-ability-score",
                          answers={"was": 5})


def test_assessment__self_assessment_by_the_client(joint: Any) -> None:
    joint.client.user = f.user()
    joint.client.save()
    own = assessment_record(actor=joint.client.user, client_id=joint.client.pk,
                            instrument_code="work-ability-score", answers={"was": 6})
    assert own.respondent == "client" and own.band == "moderate"


def test_joint_assessment__sections_by_profession_and_disagreement(joint: Any, nurse: Any) -> None:
    meeting = joint_assessment_open(actor=joint.coordinator, episode_id=joint.episode.pk,
                                    held_on=timezone.localdate(), client_view="I want to work in a kitchen")
    joint_assessment_add_section(actor=joint.coordinator, joint_assessment_id=meeting.pk, area="employment",
                                 findings="Long unemployment, kitchen experience")
    joint_assessment_add_section(actor=joint.social_worker, joint_assessment_id=meeting.pk, area="social",
                                 findings="Debts")
    joint_assessment_add_section(actor=nurse, joint_assessment_id=meeting.pk, area="health",
                                 findings="Back pain limits standing work")
    with pytest.raises(AccessDenied):  # a coordinator may not write health findings
        joint_assessment_add_section(actor=joint.coordinator, joint_assessment_id=meeting.pk, area="health",
                                     findings="x")
    with pytest.raises(InvalidInput):
        joint_assessment_add_section(actor=joint.social_worker, joint_assessment_id=meeting.pk, area="social",
                                     findings="again")
    disagreement = disagreement_record(actor=joint.coordinator, joint_assessment_id=meeting.pk,
                                       topic="Kitchen work", positions="Client: ready now. Health: not yet.",
                                       areas=["health"], involves_client=True)
    assert disagreement.involves_client
    assert {s.area: s.assessor_id for s in meeting.sections.all()} == {
        "employment": joint.coordinator.staff.pk, "social": joint.social_worker.staff.pk,
        "health": nurse.staff.pk}
    with pytest.raises(InvalidInput):
        disagreement_record(actor=joint.coordinator, joint_assessment_id=meeting.pk, topic="x", positions="y",
                            areas=["health"])


def test_assessment__cannot_attach_to_another_clients_joint_assessment(joint: Any, nurse: Any) -> None:
    other = f.client()
    other_episode = f.episode(other, (joint.employment, joint.coordinator))
    from polku.assessments.models import JointAssessment

    foreign = JointAssessment.objects.create(episode=other_episode, held_on=timezone.localdate(),
                                             created_by=joint.coordinator)
    for joint_id in (foreign.pk, 999_999):
        with pytest.raises(InvalidInput):
            assessment_record(actor=nurse, client_id=joint.client.pk, instrument_code="work-ability-score",
                              answers={"was": 5}, joint_assessment_id=joint_id)
    assert not Assessment.objects.exists()


@pytest.mark.parametrize("day", ["2025-01-01", dt.datetime(2025, 1, 1), 20250101])
def test_assessment__date_must_be_a_date(joint: Any, nurse: Any, day: Any) -> None:
    with pytest.raises(InvalidInput):
        assessment_record(actor=nurse, client_id=joint.client.pk, instrument_code="work-ability-score",
                          answers={"was": 5}, assessed_on=day)
