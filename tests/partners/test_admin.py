"""Administrators add employers, openings and contracts in /admin/; accommodations are checkboxes stored as
flags, and client data (preferences, proposals, placements) is not in the admin at all."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client as WebClient

from polku.core.identity import make_business_id
from polku.partners.models import Accommodation, Employer, Opening, PublicContract, Skill
from tests import factories as f

pytestmark = pytest.mark.django_db


def _admin() -> WebClient:
    user = get_user_model().objects.create_user("root", password="x", is_staff=True, is_superuser=True)
    web = WebClient()
    web.force_login(user)
    return web


def _business_id() -> str:
    digits = 4_200_000
    while make_business_id(f"{digits:07d}") is None:
        digits += 1
    return str(make_business_id(f"{digits:07d}"))


def test_opening_with_accommodations_and_skills_through_the_admin() -> None:
    web = _admin()
    employer = Employer.objects.create(name="Työkeskus", business_id=_business_id(), kind="social_enterprise",
                                       municipality_code="179")
    skill = Skill.objects.create(code="cleaning", label_fi="Siivous", label_sv="Städning", label_en="Cleaning")
    response = web.post("/admin/partners/opening/add/", {
        "employer": employer.pk, "title": "Siivooja", "kind": "supported", "tasks": "", "hours_per_week": 25,
        "municipality_code": "179", "physical_demand": 1, "cognitive_demand": 1, "language": "fi",
        "skills": [skill.pk], "start_date": "2026-12-01", "places": 2, "places_taken": 0, "status": "open",
        "created_at_0": "2026-11-24", "created_at_1": "10:00:00",
        "accommodation_flags": [int(Accommodation.JOB_COACH), int(Accommodation.FLEXIBLE_HOURS)],
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    opening = Opening.objects.get()
    assert opening.accommodations == int(Accommodation.JOB_COACH) | int(Accommodation.FLEXIBLE_HOURS)
    assert list(opening.skills.values_list("code", flat=True)) == ["cleaning"]
    page = web.get(f"/admin/partners/opening/{opening.pk}/change/").content.decode()
    assert re.search(r'value="16"[^>]*checked', page) and re.search(r'value="1"[^>]*checked', page)
    assert not re.search(r'value="64"[^>]*checked', page)


def test_contract_with_target_groups_and_no_client_data_in_the_admin() -> None:
    web = _admin()
    org = f.organisation()
    employer = Employer.objects.create(name="Lähde Oy", business_id=_business_id(), kind="private",
                                       municipality_code="179")
    response = web.post("/admin/partners/publiccontract/add/", {
        "reference": "HANK-9", "title": "Siivous", "procurer": org.pk, "supplier": employer.pk,
        "start_date": "2026-01-01", "end_date": "2027-12-31", "value_eur": "120000", "required_hires": 3,
        "required_months": "0", "target_groups": ["long_term_unemployed", "young"],
        "created_at_0": "2026-11-24", "created_at_1": "10:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    contract = PublicContract.objects.get()
    assert contract.target_groups == ["long_term_unemployed", "young"]
    assert contract.end_date == dt.date(2027, 12, 31)
    for path in ("jobpreferences", "proposal", "placement"):
        assert web.get(f"/admin/partners/{path}/").status_code == 404
