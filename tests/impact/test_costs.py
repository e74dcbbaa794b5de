"""Service costs from the catalogue's unit costs and actual use, checked against figures worked out by hand, and
the cost-effectiveness arithmetic (cost per additional person employed, the public-finance return)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from polku.audit.models import AccessLog
from polku.catalogue.models import ServiceClass
from polku.impact.costs import PublicFinanceParameters, cost_effectiveness, segment_rows, service_costs
from polku.referrals.models import ReferralStatus

from .. import factories as f


def _at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(10)))


def _use(joint: Any, svc: Any, start: dt.date | None, end: dt.date | None, client: Any = None) -> Any:
    referral = f.referral(client or joint.client, svc, joint.employment, joint.coordinator,
                          status=ReferralStatus.COMPLETED if end else ReferralStatus.STARTED)
    referral.started_at = _at(start) if start else None
    referral.ended_at = _at(end) if end else None
    referral.save()
    return referral


@pytest.mark.django_db
def test_service_costs_match_hand_computed_figures(joint: Any) -> None:
    provider = joint.provider
    daily = f.service(provider, service_class=ServiceClass.WORK_TRIAL, unit_cost=50, cost_unit="day")
    monthly = f.service(provider, service_class=ServiceClass.TRAINING, unit_cost="1000.00", cost_unit="month")
    once = f.service(provider, service_class=ServiceClass.HEALTH, unit_cost=300, cost_unit="service")
    hourly = f.service(provider, service_class=ServiceClass.SOCIAL_WORK, unit_cost=80, cost_unit="hour")
    until = dt.date(2025, 6, 30)
    a = _use(joint, daily, dt.date(2025, 1, 1), dt.date(2025, 1, 29))  # 28 days × 5/7 × 50 = 1000.00
    b = _use(joint, monthly, dt.date(2025, 3, 1), None)  # running: 121 days / 30.4375 × 1000 = 3975.36
    c = _use(joint, once, dt.date(2025, 2, 1), dt.date(2025, 2, 1))  # 300 once; one day
    d = _use(joint, hourly, dt.date(2025, 4, 1), dt.date(2025, 4, 20))  # 10 h × 80 = 800
    e = _use(joint, daily, dt.date(2025, 6, 1), dt.date(2025, 12, 31))  # ends after until: 29 d × 5/7 × 50 = 1035.71
    _use(joint, daily, None, None)  # never started: no cost
    _use(joint, daily, dt.date(2025, 7, 5), None)  # starts after until: no cost
    costs = service_costs(until=until, actor_name="test").set_index("referral_id")
    assert set(costs.index) == {a.id, b.id, c.id, d.id, e.id}
    assert costs.loc[a.id, "cost_eur"] == pytest.approx(1000.00)
    assert costs.loc[b.id, "cost_eur"] == pytest.approx(3975.36) and costs.loc[b.id, "running"]
    assert costs.loc[b.id, "days"] == 121
    assert costs.loc[c.id, "cost_eur"] == pytest.approx(300.0) and costs.loc[c.id, "days"] == 1
    assert costs.loc[d.id, "cost_eur"] == pytest.approx(800.0)
    assert costs.loc[e.id, "cost_eur"] == pytest.approx(1035.71) and costs.loc[e.id, "days"] == 29
    assert costs.loc[e.id, "ended_on"] == until
    assert set(costs.columns) >= {"client_id", "service_class", "cost_eur", "days"}
    # The read is in the client's access log, under the service's data category.
    assert AccessLog.objects.filter(client=joint.client, category="rehabilitation", actor_name="test").exists()
    # Restricted to clients: another client's use is left out.
    other = f.client()
    _use(joint, once, dt.date(2025, 2, 1), dt.date(2025, 2, 2), client=other)
    assert list(service_costs([other.id], until=until, log=False)["client_id"]) == [other.id]
    assert service_costs([], until=until, log=False).empty


@pytest.mark.django_db
def test_public_finance_parameters_defaults_and_settings(settings: Any) -> None:
    defaults = PublicFinanceParameters.from_settings()
    assert defaults.benefit_daily_eur == 37.21 and defaults.paid_days_per_month == 21.5
    assert defaults.monthly_benefit_eur == pytest.approx(800.015)  # Kela: "an average EUR 800.02 per month"
    settings.POLKU = {**settings.POLKU, "PUBLIC_FINANCE": {"monthly_wage_eur": 3000, "horizon_months": 12}}
    custom = PublicFinanceParameters.from_settings()
    assert custom.monthly_wage_eur == 3000 and custom.horizon_months == 12
    assert custom.gain_per_employed_eur == pytest.approx((800.015 + 3000 * (0.296 + 0.0715 + 0.1766)) * 12)
    settings.POLKU = {**settings.POLKU, "PUBLIC_FINANCE": {"wage": 1}}
    with pytest.raises(ImproperlyConfigured):
        PublicFinanceParameters.from_settings()


def _costs(level: str, amounts: list[float], first_id: int = 1) -> pd.DataFrame:
    return pd.DataFrame({"client_id": range(first_id, first_id + len(amounts)), "service_class": level,
                         "cost_eur": amounts})


def test_cost_effectiveness_arithmetic_and_the_unbounded_case() -> None:
    parameters = PublicFinanceParameters(benefit_daily_eur=40, paid_days_per_month=20, monthly_wage_eur=2000,
                                         income_tax_share=0.2, employee_contributions_share=0.05,
                                         employer_contributions_share=0.15, horizon_months=10)
    gain = (40 * 20 + 2000 * 0.4) * 10  # 16,000 € per additional person employed
    assert parameters.gain_per_employed_eur == pytest.approx(gain)
    costs = pd.concat([
        _costs("wage_subsidy", [1000, 2000, 3000, 4000, 5000]),  # mean 3,000
        _costs("training", [500] * 6, first_id=10),  # mean 500
        # two uses by one client count as one treated person
        pd.DataFrame({"client_id": [20, 20, 21, 22, 23, 24], "service_class": "low_threshold",
                      "cost_eur": [100, 100, 200, 200, 200, 200]}),
        _costs("health", [100, 100], first_id=30),  # fewer than 5 persons: suppressed
    ])
    estimates = [
        {"estimand": "ATE", "treatment_level": "wage_subsidy", "estimate": 0.9, "ci_low": 0.8, "ci_high": 1.0},
        {"estimand": "ATT", "treatment_level": "wage_subsidy", "control_level": "none", "estimate": 0.10,
         "ci_low": 0.05, "ci_high": 0.15},
        {"estimand": "ATT", "treatment_level": "training", "estimate": 0.02, "ci_low": -0.01, "ci_high": 0.05},
        {"estimand": "ATT", "treatment_level": "low_threshold", "estimate": -0.01, "ci_low": -0.03,
         "ci_high": 0.01},
        {"estimand": "ATT", "treatment_level": "health", "estimate": 0.05, "ci_low": 0.01, "ci_high": 0.09},
    ]
    rows = {r["treatment_level"]: r for r in cost_effectiveness(estimates, costs, parameters, small_cell=5)}
    assert len(rows) == 4  # the ATE row is not used
    wage = rows["wage_subsidy"]
    assert wage["mean_cost_eur"] == 3000 and wage["treated_with_costs"] == 5
    assert wage["cost_per_employed_eur"] == pytest.approx(30000)  # 3,000 / 0.10
    assert wage["cost_per_employed_low_eur"] == pytest.approx(20000)  # 3,000 / 0.15
    assert wage["cost_per_employed_high_eur"] == pytest.approx(60000) and wage["cost_per_employed_bounded"]
    assert wage["return_per_treated_eur"] == pytest.approx(0.10 * gain - 3000)  # −1,400
    assert wage["return_low_eur"] == pytest.approx(0.05 * gain - 3000)
    assert wage["return_high_eur"] == pytest.approx(0.15 * gain - 3000)
    assert wage["parameters"]["monthly_wage_eur"] == 2000 and wage["gain_per_employed_eur"] == gain
    training = rows["training"]  # the interval includes zero: the high end is not bounded
    assert training["cost_per_employed_eur"] == pytest.approx(25000)
    assert training["cost_per_employed_low_eur"] == pytest.approx(10000)
    assert training["cost_per_employed_high_eur"] is None and not training["cost_per_employed_bounded"]
    low = rows["low_threshold"]  # no positive effect: no cost per person employed at all
    assert low["mean_cost_eur"] == 200 and low["treated_with_costs"] == 5
    assert low["cost_per_employed_eur"] is None and low["cost_per_employed_high_eur"] is None
    assert low["cost_per_employed_low_eur"] == pytest.approx(20000)
    health = rows["health"]
    assert health["suppressed"] and health["mean_cost_eur"] is None and health["treated_with_costs"] is None
    json.dumps(list(rows.values()))  # stored in EffectRun.results["costs"]


def test_cost_effectiveness_by_segment() -> None:
    parameters = PublicFinanceParameters(horizon_months=12)
    costs = _costs("work_trial", [100] * 5 + [300] * 5)
    segments = pd.Series(["a"] * 5 + ["b"] * 5, index=range(1, 11))
    rows = cost_effectiveness(segment_rows({"work_trial": [
        {"segment": "a", "estimate": 0.05, "ci_low": 0.01, "ci_high": 0.09, "n": 5},
        {"segment": "b", "estimate": 0.10, "ci_low": 0.02, "ci_high": 0.18, "n": 5},
        {"segment": "c", "estimate": 0.10, "ci_low": 0.02, "ci_high": 0.18, "n": 0},
    ]}), costs, parameters, segments, small_cell=5)
    by = {r["segment"]: r for r in rows}
    assert by["a"]["mean_cost_eur"] == 100 and by["a"]["cost_per_employed_eur"] == pytest.approx(2000)
    assert by["b"]["mean_cost_eur"] == 300 and by["b"]["cost_per_employed_eur"] == pytest.approx(3000)
    assert by["c"]["suppressed"]
