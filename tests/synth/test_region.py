"""The synthetic region of 5,000 clients: realistic within stated tolerances, confounded as intended, lively,
and its truth agrees with its data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.apps import apps
from django.db import transaction

from polku.assessments.models import Assessment, AssessmentAnswer
from polku.clients.models import BenefitPeriod, Client, ClientContact, Consent, EmploymentStatusPeriod, ResidenceChange
from polku.core.identity import parse_hetu
from polku.episodes.models import JointServiceEpisode
from polku.organisations.models import Organisation, OrganisationKind, ServiceArea
from polku.referrals.models import Referral, ReferralTransition
from polku.referrals.services import TRANSITIONS
from polku.synth import params as P
from polku.synth.generate import Options, generate
from polku.synth.truth import GAP_KINDS

from .situations import HELSINKI, age_on, local, situations
from .support import START, Rollback, read_csv

# The documented default thresholds (docs/coordination.md), to check that each kind happens past them.
SITUATION_DAYS = {
    "referral_unanswered": 14,
    "referral_waitlisted": 30,
    "service_ended_no_next_step": 30,
    "declined_no_alternative": 14,
    "no_active_service": 30,
    "client_not_contacted": 60,
    "moved_without_handover": 14,
    "review_requested": 14,
}
DEADLINE_WITHIN = {"mapping_period_ending": 14, "plan_review_due": 30, "consent_lapsing": 30}

# The tests read the module's region; the mark makes pytest-django create the test database.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def region(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    """A 5,000-client region with its truth, generated once for the module and rolled back afterwards."""
    truth_dir = tmp_path_factory.mktemp("truth")
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                summary = generate(Options(clients=5000, seed=42, start=START, truth_out=truth_dir))
                yield {"summary": summary, "truth": truth_dir}
                raise Rollback
        except Rollback:
            pass


def measured_marginals() -> dict[str, float]:
    clients = list(  # the joint-service clients (not the job seekers outside it)
        Client.objects.filter(episodes__isnull=False).values_list(
            "pk", "legal_sex", "education_level", "foreign_background", "preferred_language", "birth_date"
        )
    )
    entry = dict(JointServiceEpisode.objects.values_list("client_id", "start_date"))
    n = len(clients)
    ages = [(entry[pk] - birth).days / 365.25 for pk, _s, _e, _f, _l, birth in clients]
    education = Counter(e for _pk, _s, e, _f, _l, _b in clients if e != "not_stated")
    stated_edu = sum(education.values())
    foreign = Counter(f for _pk, _s, _e, f, _l, _b in clients if f != "not_stated")
    out = {
        "men": sum(s == "male" for _pk, s, *_ in clients) / n,
        "age_under_25": sum(a < 25 for a in ages) / n,
        "age_25_29": sum(25 <= a < 30 for a in ages) / n,
        "age_30_49": sum(30 <= a < 50 for a in ages) / n,
        "age_50_54": sum(50 <= a < 55 for a in ages) / n,
        "age_55_64": sum(a >= 55 for a in ages) / n,
        "education_basic": education["isced_0_2"] / stated_edu,
        "education_upper_secondary": education["isced_3_4"] / stated_edu,
        "education_tertiary": education["isced_5_8"] / stated_edu,
        "foreign_background": foreign["yes"] / sum(foreign.values()),
        "swedish_speaking": sum(lang == "sv" for _pk, _s, _e, _f, lang, _b in clients) / n,
    }
    # Unemployment before entry: the first period (unemployed) up to the episode start.
    first_period: dict[int, dt.date] = {}
    for client_id, start in EmploymentStatusPeriod.objects.filter(client__episodes__isnull=False).order_by(
        "client_id", "start_date"
    ).values_list("client_id", "start_date"):
        first_period.setdefault(client_id, start)
    out["unemployed_over_2_years"] = sum((entry[c] - s).days > 730 for c, s in first_period.items()) / n
    # Barriers from the first life-situation mapping.
    first: dict[int, int] = {}
    for assessment_id, client_id in (
        Assessment.objects.filter(instrument__code="life-situation", episode__isnull=False)
        .order_by("assessed_on", "pk")
        .values_list("pk", "client_id")
    ):
        first.setdefault(client_id, assessment_id)
    answers: dict[int, dict[str, int]] = {}
    for assessment_id, item, value in AssessmentAnswer.objects.filter(assessment_id__in=first.values()).values_list(
        "assessment_id", "item__code", "value"
    ):
        answers.setdefault(assessment_id, {})[item] = value
    for barrier in ("substance_use", "debt", "housing", "skills_language", "caring_duties", "motivation"):
        out[barrier] = sum(a[barrier] > 0 for a in answers.values()) / len(answers)
    out["reduced_work_ability"] = sum(
        a["physical_health"] > 0 or a["mental_health"] > 0 for a in answers.values()
    ) / len(answers)
    return out


@pytest.mark.parametrize("name", [k for k in P.TARGETS if k != "employed_12_months_after_entry"])
def test_region__marginals_within_documented_tolerance(region: Any, name: str) -> None:
    target, tolerance = P.TARGETS[name]
    value = measured_marginals()[name]
    assert abs(value - target) <= tolerance, f"{name}: {value:.3f}, target {target} ± {tolerance}"


def test_region__employment_after_12_months_matches_target_and_truth(region: Any) -> None:
    """The data's employment 12 months after entry is near the target, and the truth's probabilities at entry
    predict it (they are calibrated: truth and data agree)."""
    periods: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    for client_id, start, end in EmploymentStatusPeriod.objects.filter(status="employed_open_market").values_list(
        "client_id", "start_date", "end_date"
    ):
        periods.setdefault(client_id, []).append((start, end))
    by_code = dict(Client.objects.values_list("personal_identity_code", "pk"))
    entry = dict(JointServiceEpisode.objects.values_list("client_id", "start_date"))
    end_of_data = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    first_probability: dict[str, float] = {}
    for row in read_csv(region["truth"] / "probabilities.csv"):
        first_probability.setdefault(row["personal_identity_code"], float(row["p_employed_12m"]))
    employed, predicted = [], []
    for code, probability in first_probability.items():
        pk = by_code[code]
        at = entry[pk] + dt.timedelta(days=365)
        if at > end_of_data:
            continue
        employed.append(any(s <= at and (e is None or e >= at) for s, e in periods.get(pk, [])))
        predicted.append(probability)
    rate = sum(employed) / len(employed)
    target, tolerance = P.TARGETS["employed_12_months_after_entry"]
    assert abs(rate - target) <= tolerance
    assert abs(rate - sum(predicted) / len(predicted)) < 0.03


def test_region__naive_comparisons_are_confounded(region: Any) -> None:
    """For several services the naive treated-minus-untreated difference is far from the true effect on the
    treated (the margin stated in docs/synthetic-region.md: 0.05)."""
    services = region["summary"]["services"]
    biased = [
        code
        for code, s in services.items()
        if s["att_12m"] is not None and abs(s["naive_difference_12m"] - s["att_12m"]) > 0.05
    ]
    assert len(biased) >= 4, services
    assert services["rehabilitative_work"]["ate_12m"] < 0  # the lock-in
    assert abs(services["low_threshold"]["ate_12m"]) < 0.005 and abs(services["debt_advice"]["ate_12m"]) < 0.005
    assert services["wage_subsidy"]["ate_12m"] > 0.02


def test_region__effects_are_heterogeneous(region: Any) -> None:
    segment = {r["personal_identity_code"]: r["segment"] for r in read_csv(region["truth"] / "clients.csv")}
    by_segment: dict[str, list[float]] = {}
    for row in read_csv(region["truth"] / "effects.csv"):
        if row["service_type"] == "vocational_rehabilitation":
            by_segment.setdefault(segment[row["personal_identity_code"]], []).append(float(row["effect_12m"]))
    means = {k: sum(v) / len(v) for k, v in by_segment.items()}
    assert means["partial_work_ability"] > 2 * means["job_ready"] > 0


def test_region__every_rule_has_true_gaps(region: Any) -> None:
    """Every kind of docs/coordination.md happens in the region, past its default threshold."""
    end = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    past: Counter[str] = Counter()
    for gap in read_csv(region["truth"] / "gaps.csv"):
        kind, age = gap["kind"], (end - dt.date.fromisoformat(gap["since"])).days
        if kind in SITUATION_DAYS:
            past[kind] += age >= SITUATION_DAYS[kind]
        elif kind in DEADLINE_WITHIN:
            past[kind] += -age <= DEADLINE_WITHIN[kind]
        else:
            past[kind] += age > 0 or kind == "screening_due"
    assert set(past) == set(GAP_KINDS) and all(past[k] > 0 for k in GAP_KINDS), past
    assert region["summary"]["gaps"] == {k: sum(1 for g in read_csv(region["truth"] / "gaps.csv") if g["kind"] == k)
                                         for k in GAP_KINDS}


def test_region__the_truth_says_what_the_data_says(region: Any) -> None:
    """gaps.csv lists exactly the situations that the stored rows show on the window's last day, kind by kind,
    with the same client, record and since-day (read back from the database with the documented definitions)."""
    end = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    truth: dict[str, set[tuple[int, str, int, dt.date]]] = {k: set() for k in GAP_KINDS}
    for gap in read_csv(region["truth"] / "gaps.csv"):
        truth[gap["kind"]].add(
            (int(gap["client_id"]), gap["object_type"], int(gap["object_id"]), dt.date.fromisoformat(gap["since"]))
        )
    data = situations(end)
    for kind in GAP_KINDS:
        missing, extra = sorted(data[kind] - truth[kind])[:5], sorted(truth[kind] - data[kind])[:5]
        assert not missing and not extra, f"{kind}: in the data only {missing}, in the truth only {extra}"
    assert sum(len(v) for v in truth.values()) == len(read_csv(region["truth"] / "gaps.csv"))  # no duplicates


def test_region__screening_criteria_have_near_misses_on_both_sides(region: Any) -> None:
    """Among unemployed job seekers: unemployment of 11 and 13 months at 25 or over, 5 and 7 months under 25,
    290–299 and 300–310 days of labour market subsidy, work-ability scores of 5 and 6, three and two barrier
    areas."""
    end = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    seekers = dict(Client.objects.filter(episodes__isnull=True).values_list("pk", "birth_date"))
    since = dict(
        EmploymentStatusPeriod.objects.filter(client_id__in=seekers, status="unemployed", end_date__isnull=True)
        .values_list("client_id", "start_date")
    )
    months: Counter[tuple[bool, int]] = Counter()
    for client, start in since.items():
        young = age_on(seekers[client], end) < 25
        length = (end.year - start.year) * 12 + end.month - start.month
        months[(young, length)] += 1
    assert months[(False, 11)] and months[(False, 13)] and months[(True, 5)] and months[(True, 7)], months
    subsidy: Counter[int] = Counter()
    for client, days in BenefitPeriod.objects.filter(client_id__in=since, benefit="labour_market_subsidy").values_list(
        "client_id", "paid_days"
    ):
        subsidy[client] += days
    assert any(290 <= d < 300 for d in subsidy.values()) and any(300 <= d <= 310 for d in subsidy.values())
    scores = Counter(
        int(s or 0)
        for s in Assessment.objects.filter(
            client_id__in=since, instrument__code="work-ability-score", assessed_on__gte=end - dt.timedelta(days=365)
        ).values_list("score", flat=True)
    )
    assert scores[5] and scores[6]
    areas: Counter[int] = Counter()
    for assessment, value in AssessmentAnswer.objects.filter(
        assessment__client_id__in=since, assessment__instrument__code="life-situation"
    ).values_list("assessment_id", "value"):
        areas[assessment] += value >= 2
    assert 2 in areas.values() and 3 in areas.values()


def test_region__job_seekers_outside_the_joint_service(region: Any) -> None:
    """round(clients × JOB_SEEKER_SHARE) registered job seekers without an episode, each with an employment-status
    history, a consent in force for the employment-services organisation, and benefit periods only for their
    unemployment."""
    employment = Organisation.objects.get(kind=OrganisationKind.EMPLOYMENT_SERVICES)
    seekers = set(Client.objects.filter(episodes__isnull=True).values_list("pk", flat=True))
    assert len(seekers) == round(5000 * P.JOB_SEEKER_SHARE) == region["summary"]["job_seekers"]
    with_periods = EmploymentStatusPeriod.objects.filter(client_id__in=seekers).values_list("client_id", flat=True)
    assert set(with_periods) == seekers
    assert set(
        Consent.objects.active_on()
        .filter(client_id__in=seekers, organisation=employment, category="employment")
        .values_list("client_id", flat=True)
    ) == seekers
    assert not Referral.objects.filter(client_id__in=seekers).exists()
    assert not ClientContact.objects.filter(client_id__in=seekers).exists()
    statuses = Counter(
        EmploymentStatusPeriod.objects.filter(client_id__in=seekers, end_date__isnull=True).values_list(
            "status", flat=True
        )
    )
    assert statuses["unemployed"] > statuses["employed_open_market"] > 0


def test_region__contacts_within_episodes(region: Any) -> None:
    end = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    episodes = {
        pk: (client, start, end_date or end)
        for pk, client, start, end_date in JointServiceEpisode.objects.values_list(
            "pk", "client_id", "start_date", "end_date"
        )
    }
    contacts = list(ClientContact.objects.values_list("client_id", "episode_id", "at"))
    assert 5 * len(episodes) < len(contacts) < 15 * len(episodes)
    for client, episode, at in contacts:
        owner, start, last = episodes[episode]
        assert owner == client and start <= local(at) <= last
        assert 8 <= at.astimezone(HELSINKI).hour < 18  # office hours, local
    days = sorted(local(at) for _c, _e, at in contacts)
    assert days[0] >= dt.date.fromisoformat(region["summary"]["parameters"]["start"]) and days[-1] <= end


def test_region__moves_agree_with_residence(region: Any) -> None:
    """A client's municipality is where the latest move took them (or the region's, without a move); every move
    happened during the client's episode; who left the region and was handed over has the episode closed as
    moved away, and the region's employment-services organisation serves exactly the region's municipalities."""
    end = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    region_codes = {m[0] for m in P.MUNICIPALITIES}
    employment = Organisation.objects.get(kind=OrganisationKind.EMPLOYMENT_SERVICES)
    assert set(ServiceArea.objects.filter(organisation=employment).values_list("municipality_code", flat=True)) == (
        region_codes
    )
    moves = {
        client: (frm, to, day)
        for client, frm, to, day in ResidenceChange.objects.order_by("moved_on").values_list(
            "client_id", "from_municipality", "to_municipality", "moved_on"
        )
    }
    episodes = {
        client: (start, end_date, reason)
        for client, start, end_date, reason in JointServiceEpisode.objects.values_list(
            "client_id", "start_date", "end_date", "end_reason"
        )
    }
    outside = inside = 0
    for client, municipality in Client.objects.values_list("pk", "municipality_code"):
        if client not in moves:
            assert municipality in region_codes
            assert client not in episodes or episodes[client][2] != "moved_away"
            continue
        frm, to, day = moves[client]
        start, end_date, reason = episodes[client]
        assert municipality == to != frm and frm in region_codes
        assert start <= day <= (end_date or end)
        assert reason != "moved_away" or end_date is not None
        if to in region_codes:
            inside += 1
        else:
            outside += 1
            assert to in P.MUNICIPALITY_CODES
        if reason == "moved_away":
            assert to not in region_codes
    assert inside > 20 and outside > 20


def test_region__benefits_paid_for_unemployment(region: Any) -> None:
    """Benefit periods lie within unemployment periods, pay at most every day of the period (about five days a
    week), and labour market subsidy is the most common."""
    periods: dict[int, list[tuple[dt.date, dt.date | None]]] = {}
    for client, start, end in EmploymentStatusPeriod.objects.filter(status="unemployed").values_list(
        "client_id", "start_date", "end_date"
    ):
        periods.setdefault(client, []).append((start, end))
    end_of_data = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    kinds: Counter[str] = Counter()
    for client, benefit, start, end, paid in BenefitPeriod.objects.values_list(
        "client_id", "benefit", "start_date", "end_date", "paid_days"
    ):
        assert end is not None  # paid up to a day
        days = (end - start).days + 1
        assert 0 <= paid <= days and (days < 14 or paid >= days * 5 // 7 - 7)
        assert any(s == start and (e or end_of_data) == end for s, e in periods[client])
        kinds[benefit] += 1
    assert kinds.most_common(1)[0][0] == "labour_market_subsidy" and len(kinds) == 3


def test_region__client_requested_reviews_and_steps_in_progress(region: Any) -> None:
    from polku.plans.models import PlanReview, Step

    end = dt.date.fromisoformat(region["summary"]["parameters"]["end"])
    asked = list(PlanReview.objects.filter(trigger="client_request").values_list("requested_at", "held_on"))
    held = [(held_on - local(at)).days for at, held_on in asked if held_on is not None]
    assert held and all(d >= 0 for d in held) and sum(d <= 30 for d in held) > 0.8 * len(held)
    assert any(held_on is None and (end - local(at)).days >= 14 for at, held_on in asked)
    assert any(held_on is None and (end - local(at)).days < 14 for at, held_on in asked)
    assert Step.objects.filter(status="in_progress", status_changed_at__isnull=False).exists()


def test_region__referral_histories_follow_the_state_machine(region: Any) -> None:
    chains: dict[int, list[tuple[str, str]]] = {}
    for referral_id, frm, to in ReferralTransition.objects.order_by("referral_id", "at", "id").values_list(
        "referral_id", "from_status", "to_status"
    ):
        chains.setdefault(referral_id, []).append((frm, to))
    final = dict(Referral.objects.values_list("pk", "status"))
    for referral_id, chain in chains.items():
        previous = ""
        for frm, to in chain:
            assert frm == previous and (to == "draft" if frm == "" else to in TRANSITIONS[frm]), chain
            previous = to
        assert previous == final[referral_id]


def test_region__identity_codes_valid_unique_and_from_the_test_range(region: Any) -> None:
    codes = list(Client.objects.values_list("personal_identity_code", "birth_date", "legal_sex"))
    assert len({c for c, _b, _s in codes}) == len(codes) == 5000 + round(5000 * P.JOB_SEEKER_SHARE)
    for code, birth, sex in codes:
        parsed = parse_hetu(code)
        assert parsed.is_temporary_or_test and parsed.birth_date == birth and parsed.legal_sex == sex


def test_region__lively_enough_for_a_demo(region: Any) -> None:
    summary = region["summary"]
    assert 15 <= Organisation.objects.count() <= 25
    assert 50 <= sum(1 for _ in apps.get_model("catalogue", "Service").objects.all()) <= 80
    assert Counter(JointServiceEpisode.objects.values_list("status", flat=True))["active"] > 1000
    assert summary["rows"]["clients_client"] == 5000 + summary["job_seekers"] and summary["clients"] == 5000


def test_region__rules_across_records_hold(region: Any) -> None:
    """What the services would refuse never appears in generated history: a referral sent without the client's
    consent in force for the receiving organisation, a review, plan version or decision after the episode ended,
    a job-seeker period before the age of 16."""
    from django.db.models import Exists, F, OuterRef, Q

    from polku.clients.models import Consent
    from polku.plans.models import PlanReview, PlanVersion

    consent_in_force = Consent.objects.filter(
        client_id=OuterRef("client_id"), organisation_id=OuterRef("receiving_organisation_id"),
        category=OuterRef("service__data_category"), valid_from__lte=OuterRef("sent_at"),
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=OuterRef("sent_at")))
    consent_in_force = consent_in_force.filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=OuterRef("sent_at")))
    assert not Referral.objects.filter(sent_at__isnull=False).exclude(Exists(consent_in_force)).exists()
    closed = JointServiceEpisode.objects.filter(status="closed")
    assert not PlanReview.objects.filter(plan__episode__in=closed, held_on__gt=F("plan__episode__end_date")).exists()
    assert not PlanVersion.objects.filter(plan__episode__in=closed,
                                          created_at__date__gt=F("plan__episode__end_date")).exists()
    assert not Referral.objects.filter(episode__in=closed, decided_at__date__gt=F("episode__end_date")).exists()
    for birth, start in EmploymentStatusPeriod.objects.values_list("client__birth_date", "start_date"):
        assert (start - birth).days >= 16 * 365
