"""A page never shows data the access policy denies: the foundation's table of cases (role × relationship ×
consent state × data category, ``tests/access/test_policy_table.py``) replayed through the client page over the
live server.

Every case's client carries marker data in three categories (an employment period, a health assessment and a
social assessment, each on a date nothing else on the page has). For every role the page must answer 404 exactly
when the policy denies the client's basic data, and each marker must be on the page exactly when the policy allows
its category. The expectation is written out here from the rules, not taken from the code."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.conf import settings
from django.test import Client as DjangoClient
from django.utils import formats, translation

from polku.assessments.models import Assessment, Instrument
from polku.clients.models import EmploymentStatusPeriod
from tests.access.test_policy_table import (
    CATEGORIES,
    CONSENTS,
    OTHER_CATEGORY,
    RELATIONSHIPS,
    ROLE_CATEGORIES,
    build_case,
)

# category -> the day of its marker record
MARKERS = {"employment": dt.date(2003, 1, 29), "health": dt.date(2004, 2, 27), "social": dt.date(2005, 3, 26)}
INSTRUMENTS = {"health": "work-ability-score", "social": "life-situation"}


def allowed(role: str, relationship: str, consent: str, case_category: str, shown: str) -> bool:
    """May ``role`` see category ``shown`` of a client built for (relationship, consent, case_category)?"""
    if relationship not in {"episode_open", "referral_open"}:
        return False
    consented = "employment" if case_category == "basic" else case_category
    if shown == "basic":
        in_force = consent in {"active", "other_category"}
    else:
        in_force = (consent == "active" and shown == consented) or (
            consent == "other_category" and shown == OTHER_CATEGORY[case_category])
    return in_force and shown in ROLE_CATEGORIES[role]


def plant_markers(client: Any, assessor: Any) -> None:
    EmploymentStatusPeriod.objects.create(client=client, status="unemployed", start_date=MARKERS["employment"],
                                          end_date=MARKERS["employment"] + dt.timedelta(days=1))
    for category, code in INSTRUMENTS.items():
        Assessment.objects.create(client=client, instrument=Instrument.objects.get(code=code),
                                  respondent="professional", assessed_by=assessor,
                                  assessed_on=MARKERS[category], score=3)


def test_client_page_shows_exactly_what_the_policy_allows(region: Any, server: str, chromium: Any) -> None:
    cases = []
    for relationship, consent, category in itertools.product(RELATIONSHIPS, CONSENTS, CATEGORIES):
        client, people = build_case(relationship, consent, category)
        plant_markers(client, people["coordinator"])
        cases.append((relationship, consent, category, client, people))
    with translation.override("fi"):
        shown_as = {name: formats.date_format(day, "SHORT_DATE_FORMAT") for name, day in MARKERS.items()}
    request = chromium.new_context().request
    sessions: dict[int, str] = {}
    checked = failures = 0
    problems: list[str] = []
    for relationship, consent, category, client, people in cases:
        for role, user in people.items():
            if user.pk not in sessions:
                browser = DjangoClient()
                browser.force_login(user)
                sessions[user.pk] = browser.cookies[settings.SESSION_COOKIE_NAME].value
            response = request.get(f"{server}/clients/{client.pk}/",
                                   headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={sessions[user.pk]}; "
                                                      f"{settings.LANGUAGE_COOKIE_NAME}=fi"})
            html = response.text()
            checked += 1
            case = (role, relationship, consent, category)
            if not allowed(role, relationship, consent, category, "basic"):
                if response.status != 404 or client.last_name in html:
                    problems.append(f"{case}: basic denied but the page answered {response.status}")
                continue
            if response.status != 200:
                problems.append(f"{case}: basic allowed but the page answered {response.status}")
                continue
            for shown, text in shown_as.items():
                want = allowed(role, relationship, consent, category, shown)
                if (text in html) is not want:
                    problems.append(f"{case}: {shown} marker {'missing' if want else 'SHOWN'}")
    failures = len(problems)
    assert checked == len(cases) * len(ROLE_CATEGORIES) == 294 * 7
    assert failures == 0, "\n".join(problems[:20])
