"""Employment partners in the web UI: suitable jobs on the client page (proposing with the client's agreement, a
training step for a skills gap), job preferences (saved, stale, bad input), openings with the clients who may fit
(only visible ones), and contracts for managers."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.test import Client as Browser
from django.utils import timezone

from polku.audit.guards import unguarded
from polku.audit.models import AccessLog
from polku.core.choices import DataCategory
from polku.core.identity import make_business_id
from polku.organisations.models import StaffRole
from polku.partners import selectors as partner_selectors
from polku.partners import services
from polku.partners.models import (
    Employer,
    EmployerKind,
    JobPreferences,
    Opening,
    OpeningKind,
    Proposal,
    PublicContract,
    Skill,
)
from polku.plans.models import GoalArea, Plan, Step
from polku.plans.services import GoalInput, StepInput, plan_add_version
from tests import factories as f

pytestmark = pytest.mark.django_db


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def _business_id(n: int) -> str:
    while make_business_id(f"{n:07d}") is None:
        n += 1
    return str(make_business_id(f"{n:07d}"))


@pytest.fixture
def world(joint: Any) -> dict[str, Any]:
    """The joint service's client in Jyväskylä (179) with job preferences; a social enterprise with a supported job
    there (needing a skill the client lacks) and an open-market job in Oulu (564), too far away."""
    services.ensure_skills()
    client = joint.client
    client.municipality_code = "179"
    client.preferred_language = "fi"
    client.save()
    services.set_job_preferences(actor=joint.coordinator, client_id=client.pk, expected_version=0, hours_min=10,
                                 hours_max=30, max_commute_km=40, languages=["fi"], skill_codes=["cleaning"])
    employer = Employer.objects.create(name="Kierto Oy", business_id=_business_id(3_200_000),
                                       kind=EmployerKind.SOCIAL_ENTERPRISE, municipality_code="179",
                                       mission="Jobs for people far from the labour market",
                                       social_enterprise_mark=True)
    today = timezone.localdate()
    near = Opening.objects.create(employer=employer, title="Recycling worker", kind=OpeningKind.SUPPORTED,
                                  hours_per_week=25, municipality_code="179", physical_demand=1, cognitive_demand=1,
                                  language="fi", start_date=today, places=2)
    skills = list(Skill.objects.order_by("code")[:2])
    near.skills.set(skills)
    far = Opening.objects.create(employer=employer, title="Cook in Oulu", kind=OpeningKind.OPEN_MARKET,
                                 hours_per_week=25, municipality_code="564", physical_demand=1, cognitive_demand=1,
                                 language="fi", start_date=today, places=1)
    return {"joint": joint, "client": client, "employer": employer, "near": near, "far": far}


def _plan(joint: Any) -> Plan:
    plan_add_version(actor=joint.coordinator, episode_id=joint.episode.pk, expected_version=0,
                     employment_goal="Work in recycling",
                     goals=[GoalInput(area=GoalArea.EMPLOYMENT, title="Find work",
                                      steps=(StepInput(description="Update the CV", owned_by_client=True),)),
                            GoalInput(area=GoalArea.HEALTH, title="Sleep better",
                                      steps=(StepInput(description="Doctor", owner_organisation_id=joint.social.pk),))])
    return Plan.objects.get(episode=joint.episode)


# --- suitable jobs on the client page --------------------------------------------------------------------------


def test_coordinator_sees_suitable_jobs_with_fit_reasons_and_missing_skills(world: dict[str, Any]) -> None:
    joint = world["joint"]
    r = login(joint.coordinator).get(f"/clients/{world['client'].pk}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "Suitable jobs" in page and f'id="suggestion-{world["near"].pk}"' in page
    assert f'id="suggestion-{world["far"].pk}"' not in page  # 250 km away: a hard constraint
    assert "Recycling worker" in page and "Kierto Oy" in page and " / 100" in page
    assert "In the client&#x27;s own municipality" in page
    assert f'id="suggestion-{world["near"].pk}-missing"' in page  # two skills, the client has at most one
    assert "The client agrees to be proposed" in page and "Add a training step to the plan" not in page
    assert "A training step can be added once the client has a plan." in page
    assert f"/clients/{world['client'].pk}/job-preferences/" in page
    assert AccessLog.objects.filter(actor=joint.coordinator, client=world["client"], allowed=True,
                                    category=DataCategory.EMPLOYMENT,
                                    purpose="Suggest suitable job openings").exists()


def test_propose_needs_the_clients_agreement(world: dict[str, Any]) -> None:
    joint, near = world["joint"], world["near"]
    browser = login(joint.coordinator)
    url = f"/clients/{world['client'].pk}/jobs/propose/"
    r = browser.post(url, {f"propose-{near.pk}-opening": near.pk})
    assert r.status_code == 200
    assert "a client is proposed to an employer only with their agreement" in r.content.decode()
    assert not Proposal.objects.exists()
    r = browser.post(url, {f"propose-{near.pk}-opening": near.pk, f"propose-{near.pk}-client_agreed": "on"})
    assert r.status_code == 302 and r["Location"].endswith("#suitable-jobs")
    proposal = Proposal.objects.get()
    assert (proposal.client_id, proposal.opening_id, proposal.proposed_by) == (world["client"].pk, near.pk,
                                                                               joint.coordinator)
    page = browser.get(f"/clients/{world['client'].pk}/").content.decode()
    assert "Proposed to the employer" in page
    # A second proposal to the same opening is refused and shown in the page.
    r = browser.post(url, {f"propose-{near.pk}-opening": near.pk, f"propose-{near.pk}-client_agreed": "on"})
    assert r.status_code == 200 and Proposal.objects.count() == 1


def test_propose_to_an_unsuitable_opening_is_refused(world: dict[str, Any]) -> None:
    far = world["far"]
    r = login(world["joint"].coordinator).post(f"/clients/{world['client'].pk}/jobs/propose/", {
        f"propose-{far.pk}-opening": far.pk, f"propose-{far.pk}-client_agreed": "on"})
    assert r.status_code == 200 and not Proposal.objects.exists()


def test_outsider_sees_no_client_and_cannot_propose(world: dict[str, Any]) -> None:
    joint, near = world["joint"], world["near"]
    browser = login(joint.outsider)
    assert browser.get(f"/clients/{world['client'].pk}/").status_code == 404
    r = browser.post(f"/clients/{world['client'].pk}/jobs/propose/",
                     {f"propose-{near.pk}-opening": near.pk, f"propose-{near.pk}-client_agreed": "on"})
    assert r.status_code == 404 and not Proposal.objects.exists()
    assert browser.get(f"/clients/{world['client'].pk}/job-preferences/").status_code == 404


def test_reader_without_employment_data_sees_no_suggestions(world: dict[str, Any]) -> None:
    """The client revokes the employment consent: the page shows, the section says it is not for the reader."""
    joint = world["joint"]
    from polku.clients.models import Consent

    Consent.objects.filter(client=world["client"], organisation=joint.employment,
                           category=DataCategory.EMPLOYMENT).update(revoked_at=timezone.now())
    r = login(joint.coordinator).get(f"/clients/{world['client'].pk}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "Suitable jobs" in page and f'id="suggestion-{world["near"].pk}"' not in page


# --- training step ---------------------------------------------------------------------------------------------


def test_add_training_step_saves_a_new_plan_version_with_the_step(world: dict[str, Any]) -> None:
    joint, near = world["joint"], world["near"]
    plan = _plan(joint)
    browser = login(joint.coordinator)
    page = browser.get(f"/clients/{world['client'].pk}/").content.decode()
    assert "Add a training step to the plan" in page
    r = browser.post(f"/clients/{world['client'].pk}/jobs/training-step/", {"opening": near.pk, "plan_version": 1})
    assert r.status_code == 302
    plan.refresh_from_db()
    assert plan.current_version == 2
    steps = list(Step.objects.filter(goal__plan_version__plan=plan, goal__plan_version__number=2)
                 .values_list("goal__area", "description"))
    assert ("employment", "Update the CV") in steps and ("health", "Doctor") in steps
    training = [d for area, d in steps if d.startswith("Training:")]
    assert len(training) == 1 and "(for Recycling worker)" in training[0]
    # Stale: the page still says version 1 → a conflict, nothing written.
    r = browser.post(f"/clients/{world['client'].pk}/jobs/training-step/", {"opening": near.pk, "plan_version": 1},
                     follow=True)
    assert "Someone else saved a newer version" in r.content.decode()
    plan.refresh_from_db()
    assert plan.current_version == 2


def test_training_step_without_a_plan_is_explained(world: dict[str, Any]) -> None:
    r = login(world["joint"].coordinator).post(f"/clients/{world['client'].pk}/jobs/training-step/",
                                               {"opening": world["near"].pk}, follow=True)
    assert "The client has no plan yet" in r.content.decode()
    assert not Plan.objects.exists()


# --- job preferences -------------------------------------------------------------------------------------------


def test_job_preferences_save_conflict_and_bad_input(world: dict[str, Any]) -> None:
    joint, client = world["joint"], world["client"]
    browser = login(joint.coordinator)
    url = f"/clients/{client.pk}/job-preferences/"
    r = browser.get(url)
    assert r.status_code == 200
    page = r.content.decode()
    assert "Longest commute (km)" in page and "Quiet workspace" in page and 'name="version" value="1"' in page
    form = {"version": 1, "hours_min": 15, "hours_max": 25, "max_commute_km": 20, "kinds": ["supported"],
            "languages": ["fi", "en"], "accommodations": ["8", "16"], "skills": ["cleaning"], "notes": "Mornings"}
    r = browser.post(url, form)
    assert r.status_code == 302
    prefs = JobPreferences.objects.get(client=client)
    assert (prefs.version, prefs.hours_min, prefs.accommodations_needed, prefs.kinds) == (2, 15, 24, ["supported"])
    assert list(prefs.skills.values_list("code", flat=True)) == ["cleaning"]
    # Someone else saved version 2 meanwhile: this form was opened at version 1.
    r = browser.post(url, {**form, "hours_min": 5, "notes": "My own edit"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "Someone else changed the job preferences" in page and "My own edit" in page
    prefs.refresh_from_db()
    assert (prefs.version, prefs.hours_min) == (2, 15)
    # Bad input: field errors, nothing saved.
    r = browser.post(url, {**form, "version": 2, "hours_min": 30, "hours_max": 20, "max_commute_km": "far"})
    assert r.status_code == 200
    page = r.content.decode()
    assert "The least hours cannot be more than the most hours." in page and 'aria-invalid="true"' in page
    prefs.refresh_from_db()
    assert (prefs.version, prefs.hours_min) == (2, 15)


def test_job_preferences_page_in_finnish(world: dict[str, Any]) -> None:
    r = login(world["joint"].coordinator, "fi").get(f"/clients/{world['client'].pk}/job-preferences/")
    assert r.status_code == 200 and 'lang="fi"' in r.content.decode()


# --- openings --------------------------------------------------------------------------------------------------


def test_openings_list_filters_and_pages(world: dict[str, Any]) -> None:
    browser = login(world["joint"].coordinator)
    page = browser.get("/partners/openings/").content.decode()
    assert "Recycling worker" in page and "Cook in Oulu" in page
    page = browser.get("/partners/openings/", {"kind": "supported", "open_only": "on"}).content.decode()
    assert "Recycling worker" in page and "Cook in Oulu" not in page
    page = browser.get("/partners/openings/", {"municipality": "564"}).content.decode()
    assert "Recycling worker" not in page and "Cook in Oulu" in page
    r = browser.get("/partners/openings/", {"municipality": "x"})
    assert r.status_code == 200 and "Recycling worker" not in r.content.decode()
    for n in range(30):
        Opening.objects.create(employer=world["employer"], title=f"Extra {n}", kind=OpeningKind.SUBSIDISED,
                               hours_per_week=20, municipality_code="182", physical_demand=0, cognitive_demand=0,
                               language="any", start_date=timezone.localdate())
    page = browser.get("/partners/openings/").content.decode()
    assert 'rel="next"' in page
    assert 'rel="prev"' in browser.get("/partners/openings/", {"page": 2}).content.decode()
    assert Browser().get("/partners/openings/").status_code == 302  # sign in first


def test_opening_detail_lists_only_visible_fitting_clients(world: dict[str, Any]) -> None:
    joint, near = world["joint"], world["near"]
    # Another organisation's client, who would fit just as well: never listed for the coordinator.
    other_client = f.client(municipality_code="179", preferred_language="fi")
    other_org = joint.outsider.staff.organisation
    f.episode(other_client, (other_org, joint.outsider))
    f.consent(other_client, other_org, DataCategory.EMPLOYMENT)
    services.set_job_preferences(actor=joint.outsider, client_id=other_client.pk, expected_version=0, hours_min=0,
                                 hours_max=40, max_commute_km=30, languages=["fi"])
    # A visible client whose hours do not fit.
    busy = f.client(municipality_code="179", preferred_language="fi")
    f.episode(busy, (joint.employment, joint.coordinator))
    f.consent(busy, joint.employment, DataCategory.EMPLOYMENT)
    services.set_job_preferences(actor=joint.coordinator, client_id=busy.pk, expected_version=0, hours_min=35,
                                 hours_max=40, max_commute_km=30, languages=["fi"])
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.all().delete()
    r = login(joint.coordinator).get(f"/partners/openings/{near.pk}/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "Kierto Oy" in page and "Jobs for people far from the labour market" in page
    assert f'id="candidate-{world["client"].pk}"' in page
    assert f'id="candidate-{other_client.pk}"' not in page and f'id="candidate-{busy.pk}"' not in page
    assert list(AccessLog.objects.filter(actor=joint.coordinator, object_type="list").values_list(
        "client_id", flat=True)) == [world["client"].pk]
    # The outsider sees their own client only.
    page = login(joint.outsider).get(f"/partners/openings/{near.pk}/").content.decode()
    assert f'id="candidate-{other_client.pk}"' in page and f'id="candidate-{world["client"].pk}"' not in page
    # Nobody fits an opening in Oulu; an unknown opening is not found.
    page = login(joint.coordinator).get(f"/partners/openings/{world['far'].pk}/").content.decode()
    assert "None of the clients you may see fits this job now." in page
    assert login(joint.coordinator).get("/partners/openings/999999/").status_code == 404


# --- contracts -------------------------------------------------------------------------------------------------


def test_contracts_for_managers_only(world: dict[str, Any]) -> None:
    joint = world["joint"]
    today = timezone.localdate()
    contract = PublicContract.objects.create(
        reference="JKL-2026-7", title="Property maintenance", procurer=joint.employment, supplier=world["employer"],
        start_date=today - dt.timedelta(days=100), end_date=today + dt.timedelta(days=265), value_eur=100000,
        required_hires=4, required_months=24, target_groups=["long_term_unemployed"])
    services.record_placement(actor=joint.coordinator, client_id=world["client"].pk,
                              employer_id=world["employer"].pk, kind=OpeningKind.SUPPORTED,
                              start_date=today - dt.timedelta(days=30), hours_per_week=25,
                              contract_id=contract.pk, target_groups=["long_term_unemployed"])
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    r = login(manager).get("/partners/contracts/")
    assert r.status_code == 200
    page = r.content.decode()
    assert "JKL-2026-7" in page and "1 / 4" in page and "Behind" in page and "Long-term unemployed" in page
    assert "&lt;5" in page  # one hire in the totals: a small cell
    assert "Employment clauses" in page
    assert login(joint.coordinator).get("/partners/contracts/").status_code == 403
    assert Browser().get("/partners/contracts/").status_code == 302


def test_navigation_shows_openings_to_coordinators_and_clauses_to_managers(world: dict[str, Any]) -> None:
    joint = world["joint"]
    page = login(joint.coordinator).get("/").content.decode()
    assert 'href="/partners/openings/"' in page and 'href="/partners/contracts/"' not in page
    page = login(f.staff(joint.employment, StaffRole.MANAGER)).get("/").content.decode()
    assert 'href="/partners/contracts/"' in page


# --- procurement officers and a contract month by month (issue 10) ----------------------------------------------


def _contract(world: dict[str, Any], procurer: Any, reference: str) -> PublicContract:
    today = timezone.localdate()
    return PublicContract.objects.create(
        reference=reference, title="Cleaning of schools", procurer=procurer, supplier=world["employer"],
        start_date=today - dt.timedelta(days=95), end_date=today + dt.timedelta(days=270), value_eur=250000,
        required_hires=3, required_months=18, target_groups=["partial_work_ability"])


def test_procurement_officer_follows_own_organisations_contracts_only(world: dict[str, Any]) -> None:
    joint = world["joint"]
    own = _contract(world, joint.employment, "OWN-1")
    other = _contract(world, joint.social, "OTHER-1")
    officer = f.staff(joint.employment, StaffRole.PROCUREMENT_OFFICER)
    browser = login(officer)
    r = browser.get("/")
    assert r.status_code == 302 and r["Location"] == "/partners/contracts/"
    page = browser.get("/partners/contracts/").content.decode()
    assert "OWN-1" in page and "OTHER-1" not in page
    assert f'href="/partners/contracts/{own.pk}/"' in page
    assert 'href="/partners/contracts/"' in page and 'href="/clients/"' not in page  # navigation: no client work
    assert browser.get(f"/partners/contracts/{other.pk}/").status_code == 404
    assert browser.get(f"/clients/{world['client'].pk}/").status_code in (403, 404)
    # A manager sees both; a coordinator neither.
    manager = login(f.staff(joint.employment, StaffRole.MANAGER))
    page = manager.get("/partners/contracts/").content.decode()
    assert "OWN-1" in page and "OTHER-1" in page
    assert manager.get(f"/partners/contracts/{other.pk}/").status_code == 200
    assert login(joint.coordinator).get(f"/partners/contracts/{own.pk}/").status_code == 403


def test_contract_page_shows_fulfilment_month_by_month(world: dict[str, Any]) -> None:
    joint = world["joint"]
    contract = _contract(world, joint.employment, "JKL-CLEAN")
    today = timezone.localdate()
    services.record_placement(actor=joint.coordinator, client_id=world["client"].pk,
                              employer_id=world["employer"].pk, kind=OpeningKind.SUPPORTED,
                              start_date=today - dt.timedelta(days=40), hours_per_week=25,
                              contract_id=contract.pk, target_groups=["partial_work_ability"])
    officer = f.staff(joint.employment, StaffRole.PROCUREMENT_OFFICER)
    page = login(officer).get(f"/partners/contracts/{contract.pk}/").content.decode()
    assert "JKL-CLEAN" in page and "Cleaning of schools" in page and "Fulfilment over time" in page
    assert "Employment months, month by month" in page and "Hires, month by month" in page
    assert "<svg" in page and "Show the figures as a table" in page
    assert "1 hire and" in page and "3 hires and 18.0 employment months" in page
    assert world["client"].last_name not in page  # counts only, nobody named
    points = partner_selectors.fulfilment_over_time(contract)
    assert points[-1].day == today and points[-1].hires == 1
    assert points[0].hires == 0 and points[0].months == 0  # the placement started later
    assert 1.2 < points[-1].months < 1.4  # 41 days
    assert all(a.expected_months <= b.expected_months for a, b in itertools.pairwise(points))


def test_month_ends_cover_the_period() -> None:
    days = partner_selectors.month_ends(dt.date(2026, 1, 15), dt.date(2026, 4, 10))
    assert days == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31), dt.date(2026, 4, 10)]
    assert partner_selectors.month_ends(dt.date(2026, 12, 5), dt.date(2027, 1, 31)) == [
        dt.date(2026, 12, 31), dt.date(2027, 1, 31)]


# --- the employer's answers to proposals ------------------------------------------------------------------------


def test_record_the_employers_answer_to_a_proposal(world: dict[str, Any]) -> None:
    joint, near = world["joint"], world["near"]
    client_id = world["client"].pk
    proposal = services.propose(actor=joint.coordinator, client_id=client_id, opening_id=near.pk,
                                client_agreed=True)
    browser = login(joint.coordinator)
    page = browser.get(f"/clients/{client_id}/").content.decode()
    assert f'id="proposal-{proposal.pk}"' in page and "Proposals to employers" in page
    assert '<option value="interview">' in page and '<option value="proposed">' not in page
    url = f"/clients/{client_id}/jobs/proposals/{proposal.pk}/status/"
    r = browser.post(url, {"status": "interview", "expected_status": "proposed"})
    assert r.status_code == 302 and r["Location"].endswith("#job-proposals")
    proposal.refresh_from_db()
    assert proposal.status == "interview" and proposal.status_changed_by == joint.coordinator
    # Someone else's form from before the change: refused, nothing overwritten.
    r = browser.post(url, {"status": "withdrawn", "expected_status": "proposed"}, follow=True)
    assert "Someone else changed this proposal" in r.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "interview"
    browser.post(url, {"status": "accepted", "expected_status": "interview"})
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    # Accepted is final.
    r = browser.post(url, {"status": "declined", "expected_status": "accepted"}, follow=True)
    assert "cannot become" in r.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    page = browser.get(f"/clients/{client_id}/").content.decode()
    assert "Final" in page
    # An outsider cannot change it and learns nothing.
    assert login(joint.outsider).post(url, {"status": "withdrawn"}).status_code == 404
    # Bad input: an unknown status writes nothing.
    r = browser.post(url, {"status": "hired!!"}, follow=True)
    assert r.status_code == 200
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
