"""Matching never breaks a hard constraint: the SQL filter and the plain rules agree on random clients and
openings, every suggestion passes the plain rules, and the ranking is ordered and explained."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polku.core.identity import make_business_id
from polku.partners import matching
from polku.partners.models import (
    Accommodation,
    Employer,
    EmployerKind,
    Opening,
    OpeningKind,
    OpeningStatus,
    Skill,
)
from polku.partners.services import ensure_skills

pytestmark = pytest.mark.django_db

MUNICIPALITIES = ["179", "182", "992", "410", "249", "729", "500", "931", "077", "091", "564", "999"]
LANGUAGES = ["fi", "sv", "en", "any"]
FLAGS = [int(a) for a in Accommodation]


@pytest.fixture
def openings(django_db_blocker: Any) -> list[matching.OpeningFacts]:
    """300 random openings (seeded), with skills; returns their facts as the plain rules see them."""
    ensure_skills()
    if not Skill.objects.exists():
        for code in ("cleaning", "warehouse", "customer-service", "cooking", "it-basics", "driving-b"):
            Skill.objects.create(code=code, label_fi=code, label_sv=code, label_en=code)
    skills = list(Skill.objects.values_list("pk", flat=True))
    rng = np.random.default_rng(7)
    employers = []
    for i in range(5):
        employers.append(Employer.objects.create(
            name=f"Employer {i}", business_id=make_business_id(f"{2_300_000 + i * 17:07d}") or
            make_business_id(f"{2_300_001 + i * 17:07d}"), kind=list(EmployerKind.values)[i % 5],
            municipality_code="179"))
    today = timezone.localdate()
    out = []
    for i in range(300):
        places = int(rng.integers(1, 4))
        o = Opening.objects.create(
            employer=employers[i % 5], title=f"Job {i}", kind=str(rng.choice(OpeningKind.values)),
            hours_per_week=int(rng.integers(4, 41)), municipality_code=str(rng.choice(MUNICIPALITIES)),
            physical_demand=int(rng.integers(0, 4)), cognitive_demand=int(rng.integers(0, 4)),
            accommodations=int(sum(f for f in FLAGS if rng.random() < 0.35)), language=str(rng.choice(LANGUAGES)),
            start_date=today + dt.timedelta(days=int(rng.integers(-30, 200))), places=places,
            places_taken=int(rng.integers(0, places + 1)),
            status=str(rng.choice([OpeningStatus.OPEN] * 4 + [OpeningStatus.CLOSED, OpeningStatus.FILLED])))
        chosen = [int(s) for s in rng.choice(skills, size=int(rng.integers(0, 4)), replace=False)]
        o.skills.set(chosen)
        out.append(matching.OpeningFacts.of(o, chosen))
    return out


profiles = st.builds(
    matching.ClientProfile,
    client_id=st.just(1),
    municipality=st.sampled_from(MUNICIPALITIES),
    hours_min=st.integers(0, 30),
    hours_max=st.integers(30, 60),
    max_commute_km=st.integers(0, 150),
    kinds=st.lists(st.sampled_from(OpeningKind.values), unique=True, max_size=2).map(tuple),
    languages=st.lists(st.sampled_from(["fi", "sv", "en"]), unique=True, max_size=2).map(tuple),
    accommodations_needed=st.lists(st.sampled_from(FLAGS), unique=True, max_size=2).map(sum),
    skills=st.frozensets(st.integers(1, 80), max_size=5),
    work_ability=st.one_of(st.none(), st.floats(0, 10).map(lambda x: round(x))),
    mental_health=st.one_of(st.none(), st.integers(0, 3)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profile=profiles)
def test_sql_filter_and_plain_rules_agree_and_no_suggestion_breaks_a_rule(
        openings: list[matching.OpeningFacts], profile: matching.ClientProfile) -> None:
    today = timezone.localdate()
    by_rules = {o.id for o in openings if not matching.violations(profile, o, today)}
    by_sql = set(matching.feasible_openings(profile, today).values_list("id", flat=True))
    assert by_sql == by_rules
    facts = {o.id: o for o in openings}
    ranked = matching.rank_openings(profile, limit=10, today=today)
    assert len(ranked) == min(10, len(by_rules))
    for match in ranked:
        assert matching.violations(profile, facts[match.opening.pk], today) == []
        assert match.reasons
    scores = [m.score for m in ranked]
    assert scores == sorted(scores, reverse=True)
    if ranked and len(by_rules) > 10:  # nothing left out scores higher than the last suggestion
        left_out = by_rules - {m.opening.pk for m in ranked}
        best_left = max(matching.score(matching.score_parts(profile, facts[i])[0]) for i in left_out)
        assert best_left <= scores[-1]


def test_constraints_each_exclude(openings: list[matching.OpeningFacts]) -> None:
    """Each rule alone removes openings (the random set exercises every rule)."""
    today = timezone.localdate()
    open_profile = matching.ClientProfile(client_id=1, municipality="179", hours_min=0, hours_max=60,
                                          max_commute_km=500, languages=("fi", "sv", "en"))
    strict = matching.ClientProfile(client_id=1, municipality="179", hours_min=20, hours_max=30, max_commute_km=20,
                                    languages=("fi",), kinds=(OpeningKind.SUPPORTED,), work_ability=3,
                                    mental_health=3, accommodations_needed=int(Accommodation.JOB_COACH))
    seen: set[str] = set()
    for o in openings:
        seen.update(matching.violations(strict, o, today))
    assert {"not_open", "starts_too_late", "language", "hours", "commute", "physical", "cognitive",
            "accommodations", "kind"} <= seen
    loose = {o.id for o in openings if not matching.violations(open_profile, o, today)}
    tight = {o.id for o in openings if not matching.violations(strict, o, today)}
    assert tight < loose


def test_distance_is_symmetric_and_unknown_municipalities_only_match_at_home() -> None:
    assert matching.distance_km("179", "179") == 0.0
    d = matching.distance_km("179", "182")
    assert d is not None and 20 < d < 120 and d == matching.distance_km("182", "179")
    assert matching.distance_km("179", "999") is None
    assert matching.reachable("999", 300) == {"999": 0.0}
