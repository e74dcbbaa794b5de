"""The employment partners' part of the API: openings (filters, cursor pages), a client's suitable jobs, job
preferences guarded by ETag / If-Match (428 without, 412 stale), proposals only with the client's agreement,
placements, contracts for managers; other organisations' clients 404, bad input 422."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from polku.core.identity import make_business_id
from polku.organisations.models import StaffRole
from polku.partners import services
from polku.partners.models import (
    Employer,
    EmployerKind,
    JobPreferences,
    Opening,
    OpeningKind,
    Placement,
    Proposal,
    PublicContract,
)
from tests import factories as f

pytestmark = pytest.mark.django_db


def _business_id(n: int) -> str:
    while make_business_id(f"{n:07d}") is None:
        n += 1
    return str(make_business_id(f"{n:07d}"))


@pytest.fixture
def world(joint: Any) -> dict[str, Any]:
    services.ensure_skills()
    client = joint.client
    client.municipality_code = "179"
    client.preferred_language = "fi"
    client.save()
    employer = Employer.objects.create(name="Kierto Oy", business_id=_business_id(3_300_000),
                                       kind=EmployerKind.SOCIAL_ENTERPRISE, municipality_code="179",
                                       social_enterprise_mark=True)
    today = timezone.localdate()
    near = Opening.objects.create(employer=employer, title="Recycling worker", kind=OpeningKind.SUPPORTED,
                                  hours_per_week=25, municipality_code="179", physical_demand=1, cognitive_demand=1,
                                  language="fi", start_date=today, places=2)
    near.skills.set(services.Skill.objects.filter(code="cleaning"))
    far = Opening.objects.create(employer=employer, title="Cook in Oulu", kind=OpeningKind.OPEN_MARKET,
                                 hours_per_week=37, municipality_code="564", physical_demand=1, cognitive_demand=1,
                                 language="any", start_date=today, places=1)
    return {"joint": joint, "client": client, "employer": employer, "near": near, "far": far}


def assert_problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


def test_openings_filter_and_page(world: dict[str, Any], api_as: Any) -> None:
    api = api_as(world["joint"].coordinator)
    r = api.get("/partners/openings")
    assert r.status_code == 200, r.content
    assert {o["title"] for o in r.json()["items"]} == {"Recycling worker", "Cook in Oulu"}
    r = api.get("/partners/openings", kind="supported", municipality="179", open_only="true")
    items = r.json()["items"]
    assert [o["id"] for o in items] == [world["near"].pk] and items[0]["skills"] == ["cleaning"]
    assert items[0]["employer"]["social_enterprise_mark"] is True
    r = api.get("/partners/openings", language="sv")  # only the one open to any language
    assert [o["id"] for o in r.json()["items"]] == [world["far"].pk]
    first = api.get("/partners/openings", limit=1).json()
    assert first["next_cursor"] and len(first["items"]) == 1
    second = api.get("/partners/openings", limit=1, cursor=first["next_cursor"]).json()
    assert second["items"][0]["id"] != first["items"][0]["id"] and second["next_cursor"] is None
    assert api.get(f"/partners/openings/{world['near'].pk}").json()["title"] == "Recycling worker"
    assert_problem(api.get("/partners/openings/99999999"), 404)
    assert_problem(api.get("/partners/openings", kind="astronaut"), 422)
    assert_problem(api.get("/partners/openings", municipality="12"), 422)
    assert_problem(api.get("/partners/openings", cursor="nonsense"), 422)


def test_suggestions_for_own_client_404_for_another_organisations(world: dict[str, Any], api_as: Any) -> None:
    joint = world["joint"]
    r = api_as(joint.coordinator).get(f"/partners/job-suggestions/{world['client'].pk}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert [s["opening"]["id"] for s in body] == [world["near"].pk]  # Oulu is too far
    assert body[0]["missing_skills"] == ["cleaning"] and 0 < body[0]["score"] <= 1 and body[0]["reasons"]
    assert_problem(api_as(joint.outsider).get(f"/partners/job-suggestions/{world['client'].pk}"), 404)
    assert_problem(api_as(joint.outsider).get(f"/partners/job-preferences/{world['client'].pk}"), 404)
    assert_problem(api_as(joint.coordinator).get("/partners/job-suggestions/99999999"), 404)
    assert_problem(api_as(joint.coordinator).get(f"/partners/job-suggestions/{world['client'].pk}", limit=0), 422)


def test_job_preferences_etag_if_match(world: dict[str, Any], api_as: Any) -> None:
    joint, client = world["joint"], world["client"]
    api = api_as(joint.coordinator)
    url = f"/partners/job-preferences/{client.pk}"
    r = api.get(url)
    assert r.status_code == 200 and r.json()["version"] == 0
    tag = r["ETag"]
    assert tag == f'"job-preferences-{client.pk}-v0"'
    body = {"hours_min": 10, "hours_max": 30, "max_commute_km": 25, "kinds": ["supported"], "languages": ["fi"],
            "accommodations": [8], "skills": ["cleaning"], "notes": "Mornings"}
    assert_problem(api.put(url, body), 428)
    r = api.put(url, body, **{"If-Match": tag})
    assert r.status_code == 200, r.content
    assert r.json()["version"] == 1 and r["ETag"] == f'"job-preferences-{client.pk}-v1"'
    assert r.json()["skills"] == ["cleaning"] and r.json()["accommodations"] == [8]
    # The same stale ETag again: 412, nothing written.
    assert_problem(api.put(url, {**body, "hours_min": 0}, **{"If-Match": tag}), 412)
    assert JobPreferences.objects.get(client=client).hours_min == 10
    # Bad input: 422 with the fields.
    errors = assert_problem(api.put(url, {**body, "hours_min": 35}, **{"If-Match": r["ETag"]}), 422)["errors"]
    assert "hours_min" in errors
    errors = assert_problem(api.put(url, {**body, "skills": ["no-such"]}, **{"If-Match": r["ETag"]}), 422)["errors"]
    assert "skills" in errors
    assert_problem(api.put(url, {**body, "kinds": ["astronaut"]}, **{"If-Match": r["ETag"]}), 422)
    assert_problem(api.put(url, {**body, "surprise": 1}, **{"If-Match": r["ETag"]}), 422)
    assert JobPreferences.objects.get(client=client).version == 1
    # Another organisation's coordinator: 404, nothing written.
    assert_problem(api_as(joint.outsider).put(url, body, **{"If-Match": r["ETag"]}), 404)


def test_problem_details_are_translated(world: dict[str, Any], api_as: Any) -> None:
    api = api_as(world["joint"].coordinator, language="en")
    url = f"/partners/job-preferences/{world['client'].pk}"
    body = {"hours_min": 0, "hours_max": 40, "max_commute_km": 30}
    detail = assert_problem(api.put(url, body, **{"If-Match": f'"job-preferences-{world["client"].pk}-v7"'}),
                            412)["detail"]
    assert "Someone else changed the job preferences" in detail


def test_proposal_needs_agreement_and_a_suitable_opening(world: dict[str, Any], api_as: Any) -> None:
    joint, client = world["joint"], world["client"]
    api = api_as(joint.coordinator)
    body = {"client_id": client.pk, "opening_id": world["near"].pk}
    assert "client_agreed" in assert_problem(api.post("/partners/proposals", body), 422)["errors"]
    errors = assert_problem(api.post("/partners/proposals", {**body, "client_agreed": False}), 422)["errors"]
    assert "client_agreed" in errors
    assert not Proposal.objects.exists()
    assert_problem(api.post("/partners/proposals", {**body, "opening_id": world["far"].pk, "client_agreed": True}),
                   409)
    r = api.post("/partners/proposals", {**body, "client_agreed": True})
    assert r.status_code == 201, r.content
    assert r.json()["client_agreed_on"] == timezone.localdate().isoformat() and r.json()["status"] == "proposed"
    assert_problem(api.post("/partners/proposals", {**body, "client_agreed": True}), 409)  # once per opening
    assert_problem(api_as(joint.outsider).post("/partners/proposals", {**body, "client_agreed": True}), 404)
    assert Proposal.objects.count() == 1
    r = api_as(joint.coordinator).http.post("/api/v1/partners/proposals", "{not json",
                                            content_type="application/json")
    assert_problem(r, 400)


def test_placement_and_contracts(world: dict[str, Any], api_as: Any) -> None:
    joint, client = world["joint"], world["client"]
    today = timezone.localdate()
    contract = PublicContract.objects.create(
        reference="JKL-1", title="Cleaning", procurer=joint.employment, supplier=world["employer"],
        start_date=today - dt.timedelta(days=60), end_date=today + dt.timedelta(days=300), value_eur=50000,
        required_hires=2, required_months=12, target_groups=["long_term_unemployed"])
    api = api_as(joint.coordinator)
    body = {"client_id": client.pk, "employer_id": world["employer"].pk, "kind": "supported",
            "start_date": (today - dt.timedelta(days=10)).isoformat(), "hours_per_week": 25,
            "opening_id": world["near"].pk, "contract_id": contract.pk, "target_groups": ["long_term_unemployed"]}
    errors = assert_problem(api.post("/partners/placements", {**body, "end_date": "2000-01-01"}), 422)["errors"]
    assert "end_date" in errors
    assert_problem(api.post("/partners/placements", {**body, "hours_per_week": 0}), 422)
    assert_problem(api_as(joint.outsider).post("/partners/placements", body), 404)
    r = api.post("/partners/placements", body)
    assert r.status_code == 201, r.content
    assert Placement.objects.get().contract_id == contract.pk
    world["near"].refresh_from_db()
    assert world["near"].places_taken == 1
    assert_problem(api.get("/partners/contracts"), 403)
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    r = api_as(manager).get("/partners/contracts")
    assert r.status_code == 200, r.content
    [row] = r.json()
    assert (row["reference"], row["hires"], row["required_hires"]) == ("JKL-1", 1, 2)
    assert row["status"] in {"on_track", "behind", "met"}


def test_contract_totals_and_month_by_month_for_a_procurement_officer(world: dict[str, Any], api_as: Any) -> None:
    joint = world["joint"]
    today = timezone.localdate()
    own = PublicContract.objects.create(
        reference="OWN-1", title="Cleaning", procurer=joint.employment, supplier=world["employer"],
        start_date=today - dt.timedelta(days=70), end_date=today + dt.timedelta(days=300), value_eur=50000,
        required_hires=2, required_months=12)
    other = PublicContract.objects.create(
        reference="OTHER-1", title="Catering", procurer=joint.social, supplier=world["employer"],
        start_date=today - dt.timedelta(days=70), end_date=today + dt.timedelta(days=300), value_eur=50000,
        required_hires=2, required_months=12)
    services.record_placement(actor=joint.coordinator, client_id=world["client"].pk,
                              employer_id=world["employer"].pk, kind=OpeningKind.SUPPORTED,
                              start_date=today - dt.timedelta(days=20), hours_per_week=25, contract_id=own.pk)
    officer = api_as(f.staff(joint.employment, StaffRole.PROCUREMENT_OFFICER))
    assert [c["reference"] for c in officer.get("/partners/contracts").json()] == ["OWN-1"]
    assert_problem(officer.get(f"/partners/contracts/{other.pk}"), 404)
    r = officer.get(f"/partners/contracts/{own.pk}")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["value_eur"] == 50000 and body["over_time"][-1]["day"] == today.isoformat()
    assert len(body["over_time"]) in (3, 4) and body["over_time"][0]["expected_months"] > 0
    assert body["hires"] == 1 and body["over_time"][-1]["hires"] == 1 and body["over_time"][0]["hires"] == 0
    totals = officer.get("/partners/contracts/totals", by="procurer").json()
    assert [t["name"] for t in totals] == [str(joint.employment), None]
    assert totals[0]["hires"] is None and totals[0]["hires_text"].startswith("<")  # 1 hire: a small cell
    manager = api_as(f.staff(joint.employment, StaffRole.MANAGER))
    assert {c["reference"] for c in manager.get("/partners/contracts").json()} == {"OWN-1", "OTHER-1"}
    assert len(manager.get("/partners/contracts/totals", by="supplier").json()) == 2  # the supplier and the total
    assert_problem(manager.get("/partners/contracts/totals", by="nobody"), 422)
    assert_problem(api_as(joint.coordinator).get(f"/partners/contracts/{own.pk}"), 403)


def test_proposal_answers_follow_the_state_machine(world: dict[str, Any], api_as: Any) -> None:
    joint, client = world["joint"], world["client"]
    api = api_as(joint.coordinator)
    proposal = api.post("/partners/proposals", {"client_id": client.pk, "opening_id": world["near"].pk,
                                                "client_agreed": True}).json()
    pid = proposal["id"]
    assert_problem(api_as(joint.outsider).post(f"/partners/proposals/{pid}/interview", {}), 404)
    assert_problem(api_as(joint.outsider).get(f"/partners/job-proposals/{client.pk}"), 404)
    r = api.post(f"/partners/proposals/{pid}/interview", {"expected_status": "proposed"})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "interview" and r.json()["status_changed_at"]
    assert_problem(api.post(f"/partners/proposals/{pid}/withdraw", {"expected_status": "proposed"}), 409)  # stale
    assert api.post(f"/partners/proposals/{pid}/decline", {}).json()["status"] == "declined"
    assert_problem(api.post(f"/partners/proposals/{pid}/accept", {}), 409)  # declined is final
    assert Proposal.objects.get(pk=pid).status == "declined"
    assert [p["status"] for p in api.get(f"/partners/job-proposals/{client.pk}").json()] == ["declined"]
