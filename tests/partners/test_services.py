"""Job preferences, suggestions, proposals and placements: access, consent, agreement, concurrency, and the
placement's employment-status period; contract fulfilment."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from polku.audit.models import AccessLog
from polku.clients.models import EmploymentStatusPeriod
from polku.core.choices import DataCategory
from polku.core.errors import AccessDenied, IllegalTransition, InvalidInput, VersionConflict
from polku.core.identity import make_business_id
from polku.partners import selectors, services
from polku.partners.models import (
    Employer,
    EmployerKind,
    JobPreferences,
    Opening,
    OpeningKind,
    OpeningStatus,
    Placement,
    Proposal,
    PublicContract,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


def _business_id(n: int) -> str:
    digits = n
    while make_business_id(f"{digits:07d}") is None:
        digits += 1
    return str(make_business_id(f"{digits:07d}"))


@pytest.fixture
def world() -> dict[str, Any]:
    org = f.organisation()
    other = f.organisation()
    coordinator = f.staff(org)
    outsider = f.staff(other)
    client = f.client(municipality_code="179", preferred_language="fi")
    f.episode(client, (org, coordinator))
    f.consent(client, org, DataCategory.EMPLOYMENT)
    employer = Employer.objects.create(name="Kierto Oy", business_id=_business_id(3_100_000),
                                       kind=EmployerKind.SOCIAL_ENTERPRISE, municipality_code="179",
                                       social_enterprise_mark=True)
    today = timezone.localdate()
    near = Opening.objects.create(employer=employer, title="Recycling worker", kind=OpeningKind.SUPPORTED,
                                  hours_per_week=25, municipality_code="179", physical_demand=1,
                                  cognitive_demand=1, language="fi", start_date=today, places=1)
    far = Opening.objects.create(employer=employer, title="Cook", kind=OpeningKind.OPEN_MARKET, hours_per_week=37,
                                 municipality_code="564", physical_demand=2, cognitive_demand=1, language="fi",
                                 start_date=today, places=2)
    return {"org": org, "coordinator": coordinator, "outsider": outsider, "client": client, "employer": employer,
            "near": near, "far": far}


def test_preferences_then_suggestions_with_reasons_and_logged_reads(world: dict[str, Any]) -> None:
    services.ensure_skills()
    prefs = services.set_job_preferences(actor=world["coordinator"], client_id=world["client"].pk,
                                         expected_version=0, hours_min=20, hours_max=30, max_commute_km=30,
                                         languages=["fi"])
    assert prefs.version == 1
    with translation.override("en"):
        _profile, matches = services.suggest_openings(actor=world["coordinator"], client_id=world["client"].pk)
    assert [m.opening.pk for m in matches] == [world["near"].pk]  # the cook's job is 250 km away and 37 h
    assert "In the client's own municipality" in matches[0].reasons
    assert AccessLog.objects.filter(client=world["client"], category=DataCategory.EMPLOYMENT, allowed=True,
                                    actor=world["coordinator"]).count() >= 2


def test_other_organisation_cannot_read_or_write(world: dict[str, Any]) -> None:
    with pytest.raises(AccessDenied):
        services.suggest_openings(actor=world["outsider"], client_id=world["client"].pk)
    with pytest.raises(AccessDenied):
        services.set_job_preferences(actor=world["outsider"], client_id=world["client"].pk, expected_version=0,
                                     hours_min=0, hours_max=40, max_commute_km=30)
    assert not JobPreferences.objects.exists()
    assert AccessLog.objects.filter(client=world["client"], allowed=False, actor=world["outsider"]).count() == 2


def test_bad_preferences_write_nothing_and_stale_versions_conflict(world: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as exc:
        services.set_job_preferences(actor=world["coordinator"], client_id=world["client"].pk, expected_version=0,
                                     hours_min=35, hours_max=20, max_commute_km=-1, kinds=["astronaut"],
                                     skill_codes=["no-such-skill"])
    assert {"hours_min", "max_commute_km", "kinds", "skills"} <= set(exc.value.errors)
    assert not JobPreferences.objects.exists()
    services.set_job_preferences(actor=world["coordinator"], client_id=world["client"].pk, expected_version=0,
                                 hours_min=0, hours_max=40, max_commute_km=30)
    services.set_job_preferences(actor=world["coordinator"], client_id=world["client"].pk, expected_version=1,
                                 hours_min=10, hours_max=40, max_commute_km=30)
    with pytest.raises(VersionConflict):  # a second editor who started from version 1
        services.set_job_preferences(actor=world["coordinator"], client_id=world["client"].pk, expected_version=1,
                                     hours_min=20, hours_max=25, max_commute_km=5)
    assert JobPreferences.objects.get().hours_min == 10


def test_proposal_needs_the_clients_agreement_and_a_suitable_opening(world: dict[str, Any]) -> None:
    client, coordinator = world["client"], world["coordinator"]
    with pytest.raises(InvalidInput):
        services.propose(actor=coordinator, client_id=client.pk, opening_id=world["near"].pk, client_agreed=False)
    with pytest.raises(IllegalTransition):  # too far away
        services.propose(actor=coordinator, client_id=client.pk, opening_id=world["far"].pk, client_agreed=True)
    assert not Proposal.objects.exists()
    proposal = services.propose(actor=coordinator, client_id=client.pk, opening_id=world["near"].pk,
                                client_agreed=True)
    assert proposal.client_agreed_on == timezone.localdate() and proposal.score is not None
    with pytest.raises(IllegalTransition):
        services.propose(actor=coordinator, client_id=client.pk, opening_id=world["near"].pk, client_agreed=True)


def test_placement_becomes_an_employment_status_period_and_fills_the_opening(world: dict[str, Any]) -> None:
    client, coordinator = world["client"], world["coordinator"]
    start = timezone.localdate() - dt.timedelta(days=10)
    before = EmploymentStatusPeriod.objects.create(client=client, status="unemployed",
                                                   start_date=start - dt.timedelta(days=400))
    contract = PublicContract.objects.create(
        reference="HANK-1", title="Cleaning services", procurer=world["org"], supplier=world["employer"],
        start_date=start - dt.timedelta(days=100), end_date=start + dt.timedelta(days=265), value_eur=250000,
        required_hires=2, required_months=12, target_groups=["long_term_unemployed"])
    placement = services.record_placement(
        actor=coordinator, client_id=client.pk, employer_id=world["employer"].pk, kind=OpeningKind.SUPPORTED,
        start_date=start, hours_per_week=25, opening_id=world["near"].pk, contract_id=contract.pk,
        target_groups=["long_term_unemployed"])
    period = placement.status_period
    assert period is not None and period.status == "subsidised_work" and period.start_date == start
    before.refresh_from_db()
    assert before.end_date == start - dt.timedelta(days=1)
    world["near"].refresh_from_db()
    assert world["near"].places_taken == 1 and world["near"].status == OpeningStatus.FILLED
    with pytest.raises(IllegalTransition):  # no place left
        services.record_placement(actor=coordinator, client_id=client.pk, employer_id=world["employer"].pk,
                                  kind=OpeningKind.SUPPORTED, start_date=start + dt.timedelta(days=1),
                                  hours_per_week=25, opening_id=world["near"].pk)
    row = selectors.fulfilment(as_of=timezone.localdate())[0]
    assert row.hires == 1 and row.target_group_hires == 1
    assert row.months == round(11 / selectors.DAYS_PER_MONTH, 1)
    assert row.status == "behind"  # 1 hire where 2 × (110/366) ≈ 0.6 are expected, but months far behind
    ended = services.end_placement(actor=coordinator, placement_id=placement.pk,
                                   end_date=start + dt.timedelta(days=5), expected_version=1)
    assert ended.status_period is not None and ended.status_period.end_date == start + dt.timedelta(days=5)
    with pytest.raises(VersionConflict):
        services.end_placement(actor=coordinator, placement_id=placement.pk, end_date=start, expected_version=1)


def test_placement_bad_input_writes_nothing(world: dict[str, Any]) -> None:
    start = timezone.localdate()
    with pytest.raises(InvalidInput) as exc:
        services.record_placement(actor=world["coordinator"], client_id=world["client"].pk,
                                  employer_id=world["employer"].pk, kind="gig", start_date=start,
                                  end_date=start - dt.timedelta(days=3), hours_per_week=90,
                                  target_groups=["martians"])
    assert {"kind", "end_date", "hours_per_week", "target_groups"} <= set(exc.value.errors)
    assert not Placement.objects.exists() and not EmploymentStatusPeriod.objects.exists()


def test_reports_by_procurer_hide_small_counts(world: dict[str, Any]) -> None:
    start = timezone.localdate() - dt.timedelta(days=30)
    contract = PublicContract.objects.create(
        reference="HANK-2", title="Kitchen", procurer=world["org"], supplier=world["employer"],
        start_date=start, end_date=start + dt.timedelta(days=365), value_eur=1000, required_hires=5)
    for _ in range(3):
        client = f.client()
        Placement.objects.create(client=client, employer=world["employer"], contract=contract,
                                 kind=OpeningKind.SUBSIDISED, start_date=start + dt.timedelta(days=1),
                                 hours_per_week=30, recorded_by=world["coordinator"])
    report = selectors.report_by(selectors.fulfilment(), "procurer", threshold=5)
    assert report[0]["hires"] is None and report[0]["hires_text"] == "<5" and report[0]["percent"] is None
    assert report[-1]["name"] is None and report[-1]["hires"] is None  # the total is small too


def test_command(world: dict[str, Any], capsys: Any) -> None:
    call_command("partners", "skills")
    call_command("partners", "suggest", "--client", str(world["client"].pk), "--user",
                 world["coordinator"].username, "--format", "json")
    out = capsys.readouterr().out
    assert '"title": "Recycling worker"' in out
    call_command("partners", "contracts", "--format", "json")
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("partners", "suggest", "--client", str(world["client"].pk))
    with pytest.raises(CommandError):
        call_command("partners", "suggest", "--client", str(world["client"].pk), "--user",
                     world["outsider"].username)


def test_command_contract_month_by_month(world: dict[str, Any], capsys: Any) -> None:
    import json

    from django.core.management.base import CommandError

    start = dt.date(2026, 1, 10)
    contract = PublicContract.objects.create(
        reference="HANK-9", title="Laundry", procurer=world["org"], supplier=world["employer"],
        start_date=start, end_date=dt.date(2026, 12, 31), value_eur=1000, required_hires=2, required_months=10)
    Placement.objects.create(client=f.client(), employer=world["employer"], contract=contract,
                             kind=OpeningKind.SUBSIDISED, start_date=dt.date(2026, 2, 1),
                             end_date=dt.date(2026, 3, 31), hours_per_week=30, recorded_by=world["coordinator"])
    call_command("partners", "contracts", "--contract", "HANK-9", "--as-of", "2026-04-15", "--format", "json")
    points = json.loads(capsys.readouterr().out)
    assert [p["day"] for p in points] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-15"]
    assert [p["hires"] for p in points] == [0, 1, 1, 1]
    assert points[1]["months"] == round(28 / 30.4375, 1) and points[3]["months"] == round(59 / 30.4375, 1)
    assert points[-1]["expected_hires"] == round(2 * 96 / 356, 1)
    with pytest.raises(CommandError):
        call_command("partners", "contracts", "--contract", "NOPE")
