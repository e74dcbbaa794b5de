"""The right-of-access export (GDPR Article 15): everything Polku holds about one person, and nobody else."""

from __future__ import annotations

import datetime as dt
import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from polku.access.policy import authorize
from polku.assessments.models import (
    Assessment,
    AssessmentAnswer,
    Disagreement,
    Instrument,
    JointAssessment,
    JointAssessmentSection,
)
from polku.audit.models import AccessAction, AccessLog
from polku.clients.export import client_data_export
from polku.clients.models import BenefitPeriod, Client, ClientContact, EmploymentStatusPeriod, ResidenceChange
from polku.coordination.models import Alert, AlertEvent
from polku.core.choices import DataCategory
from polku.episodes.models import EpisodeParticipant
from polku.organisations.models import OrganisationKind, StaffRole
from polku.plans.models import Goal, Plan, PlanReview, PlanSignoff, PlanVersion, Step
from polku.referrals.models import ReferralTransition
from tests import factories as f


def everything(client: Client, copies: int = 1) -> dict[str, set[int]]:
    """A row in every table about ``client`` (``copies`` of each): the ids by export section."""
    employment = f.organisation(OrganisationKind.EMPLOYMENT_SERVICES)
    provider = f.organisation(OrganisationKind.REHABILITATION_PROVIDER)
    coordinator = f.staff(employment, StaffRole.COORDINATOR)
    ids: dict[str, set[int]] = {}

    def add(section: str, obj: Any) -> Any:
        ids.setdefault(section, set()).add(obj.pk)
        return obj

    today = timezone.localdate()
    episode = add("episodes", f.episode(client, (employment, coordinator)))
    ids["participants"] = set(EpisodeParticipant.objects.filter(episode=episode).values_list("pk", flat=True))
    plan = add("plans", Plan.objects.create(episode=episode, current_version=copies))
    service = f.service(provider)
    instrument = Instrument.objects.prefetch_related("items").first()
    assert instrument is not None
    item = instrument.items.first()
    for n in range(copies):
        add("consents", f.consent(client, employment, DataCategory.EMPLOYMENT))
        add("employment_periods", EmploymentStatusPeriod.objects.create(
            client=client, status="unemployed", start_date=dt.date(2020, 1, 1) + dt.timedelta(days=n)))
        add("benefit_periods", BenefitPeriod.objects.create(
            client=client, benefit="sickness", start_date=dt.date(2020, 1, 1) + dt.timedelta(days=n), paid_days=3))
        add("contacts", ClientContact.objects.create(client=client, episode=episode, organisation=employment,
                                                     recorded_by=coordinator, channel="phone", summary="Call"))
        add("residence_changes", ResidenceChange.objects.create(client=client, from_municipality="091",
                                                                to_municipality="049", moved_on=today))
        version = add("versions", PlanVersion.objects.create(plan=plan, number=n + 1, employment_goal="Work",
                                                             created_by=coordinator))
        goal = add("goals", Goal.objects.create(plan_version=version, area="employment", title="Find work"))
        add("steps", Step.objects.create(goal=goal, description="CV", owned_by_client=True))
        add("steps", Step.objects.create(goal=goal, kind="service", description="Trial", service=service,
                                         owner_organisation=provider))
        add("signoffs", PlanSignoff.objects.create(plan_version=version, party="organisation",
                                                   organisation=employment, signed_by=coordinator))
        add("reviews", PlanReview.objects.create(plan=plan, trigger="scheduled", resulting_version=version))
        assessment = add("assessments", Assessment.objects.create(
            client=client, instrument=instrument, episode=episode, respondent="client", assessed_by=coordinator,
            assessed_on=today, score=12))
        if item is not None:
            add("answers", AssessmentAnswer.objects.create(assessment=assessment, item=item, value=1))
        joint = add("joint_assessments", JointAssessment.objects.create(episode=episode, held_on=today,
                                                                        created_by=coordinator))
        add("sections", JointAssessmentSection.objects.create(joint_assessment=joint, area="employment",
                                                              assessor=coordinator.staff, findings="Motivated"))
        add("disagreements", Disagreement.objects.create(joint_assessment=joint, topic="Pace", positions="Fast/slow"))
        referral = add("referrals", f.referral(client, service, employment, coordinator))
        add("transitions", ReferralTransition.objects.create(referral=referral, from_status="draft",
                                                             to_status="sent", by=coordinator))
        alert = add("alerts", Alert.objects.create(
            rule="client_not_contacted", client=client, episode=episode, object_type="episode",
            object_id=episode.pk + 1000 * n, since=today, due_on=today, severity=2, category="basic",
            responsible_organisation=employment, responsible_person=coordinator.staff, opened_as_of=today))
        add("events", AlertEvent.objects.create(alert=alert, kind="comment", by=coordinator, note="Calling"))
        authorize(coordinator, client, DataCategory.BASIC, AccessAction.VIEW, purpose="View client details")
    ids["access_log"] = set(AccessLog.objects.filter(client=client).values_list("pk", flat=True))
    return ids


def exported_ids(data: dict[str, Any]) -> dict[str, set[int]]:
    """The ids in each section of an export, nested sections included."""
    ids: dict[str, set[int]] = {}

    def take(section: str, rows: list[dict[str, Any]]) -> None:
        ids.setdefault(section, set()).update(row["id"] for row in rows)

    for section in ("consents", "employment_periods", "benefit_periods", "contacts", "residence_changes",
                    "episodes", "plans", "assessments", "joint_assessments", "referrals", "alerts", "access_log"):
        take(section, data[section])
    for episode in data["episodes"]:
        take("participants", episode["participants"])
    for plan in data["plans"]:
        take("versions", plan["versions"])
        take("reviews", plan["reviews"])
        for version in plan["versions"]:
            take("goals", version["goals"])
            take("signoffs", version["signoffs"])
            for goal in version["goals"]:
                take("steps", goal["steps"])
    for assessment in data["assessments"]:
        take("answers", assessment["answers"])
    for joint in data["joint_assessments"]:
        take("sections", joint["sections"])
        take("disagreements", joint["disagreements"])
    for referral in data["referrals"]:
        take("transitions", referral["transitions"])
    for alert in data["alerts"]:
        take("events", alert["events"])
    return ids


@pytest.fixture
def two(db: Any) -> tuple[Client, dict[str, set[int]], Client, dict[str, set[int]]]:
    mine, other = f.client(first_name="Aino"), f.client(first_name="Bertil")
    return mine, everything(mine), other, everything(other)


def test_export__has_every_table_and_nobody_elses_data(two: Any) -> None:
    mine, my_ids, other, other_ids = two
    data = client_data_export(mine)
    assert data["client"]["id"] == mine.pk
    assert data["client"]["personal_identity_code"] == mine.personal_identity_code
    got = exported_ids(data)
    assert set(got) == set(my_ids)
    for section, expected in my_ids.items():
        assert expected, section
        assert got[section] == expected, section
        assert got[section].isdisjoint(other_ids[section]), section
    text = json.dumps(data, ensure_ascii=False)
    assert other.personal_identity_code not in text and "Bertil" not in text and f"Asiakas{other.pk}" not in text


def test_export__names_and_labels_for_a_person_to_read(two: Any) -> None:
    mine = two[0]
    mine.user = f.user("aino", email="aino@example.org")
    mine.save()
    with translation.override("en"):
        data = client_data_export(mine)
    consent = data["consents"][0]
    assert consent["category"] == "employment" and consent["category_label"] == "Employment"
    assert set(consent["organisation"]) == {"id", "name"} and consent["organisation"]["name"]
    entry = data["access_log"][0]
    assert entry["actor"]["name"] == "Test Person" and entry["purpose_text"] == "View client details"
    assert data["alerts"][0]["responsible_person"]["name"].startswith("Test Person (")
    assert data["assessments"][0]["answers"][0]["item"]["name"]
    assert data["assessments"][0]["score"] == "12.00"
    assert data["portal_account"]["username"] == "aino" and data["portal_account"]["email"] == "aino@example.org"
    assert data["client"]["user"] == {"id": mine.user.pk, "name": "Test Person"}
    dt.date.fromisoformat(data["employment_periods"][0]["start_date"])


def test_export__one_query_per_table_however_much_data(db: Any) -> None:
    small, large = f.client(), f.client()
    everything(small, copies=1)
    everything(large, copies=4)

    def queries(client: Client) -> int:
        with CaptureQueriesContext(connection) as captured:
            client_data_export(client)
        return len(captured.captured_queries)

    assert queries(large) == queries(small)


def test_export_command__writes_the_file_and_logs_the_export(two: Any, tmp_path: Path) -> None:
    mine, my_ids, _, _ = two
    out = tmp_path / "export.json"
    before = AccessLog.objects.count()
    call_command("export", "client", mine.personal_identity_code, "--out", str(out), stdout=io.StringIO())
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["client"]["id"] == mine.pk
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert AccessLog.objects.count() == before + 1
    entry = AccessLog.objects.latest("id")
    assert (entry.client_id, entry.action, entry.category, entry.allowed, entry.actor_id, entry.actor_role,
            entry.reason) == (mine.pk, AccessAction.EXPORT, DataCategory.BASIC, True, None, "system", "system")
    assert entry.actor_name == "polku export client"
    assert entry.pk in {row["id"] for row in data["access_log"]}  # the copy shows its own export
    assert exported_ids(data)["access_log"] == my_ids["access_log"] | {entry.pk}


def test_export_command__with_user__logs_that_user(two: Any, tmp_path: Path) -> None:
    mine = two[0]
    dpo = f.user("dpo")
    call_command("export", "client", mine.personal_identity_code.lower(), "--out", str(tmp_path / "x.json"),
                 "--user", "dpo", stdout=io.StringIO())
    assert AccessLog.objects.latest("id").actor_id == dpo.pk


@pytest.mark.parametrize("code", ["010190-900X", "no code"])
def test_export_command__bad_or_unknown_code__nothing_written(db: Any, tmp_path: Path, code: str) -> None:
    out = tmp_path / "x.json"
    with pytest.raises(CommandError):
        call_command("export", "client", code, "--out", str(out), stdout=io.StringIO())
    stranger = f.client()
    unknown = stranger.personal_identity_code
    stranger.delete()
    with pytest.raises(CommandError):
        call_command("export", "client", unknown, "--out", str(out), stdout=io.StringIO())
    assert not out.exists() and not AccessLog.objects.exists()


def test_export_command__unwritable_file__no_log_row(two: Any, tmp_path: Path) -> None:
    mine = two[0]
    before = AccessLog.objects.count()
    with pytest.raises(CommandError):
        call_command("export", "client", mine.personal_identity_code, "--out", str(tmp_path / "no" / "x.json"),
                     stdout=io.StringIO())
    target = tmp_path / "dir.json"
    target.mkdir()
    with pytest.raises(CommandError):
        call_command("export", "client", mine.personal_identity_code, "--out", str(target), stdout=io.StringIO())
    assert AccessLog.objects.count() == before
