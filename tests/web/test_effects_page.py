"""The managers' "What works" page (``/impact/effects/``): the latest stored effect run as a forest plot, a
cost-effectiveness table and the comparison's quality in plain words; managers and administrators only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
import pytest
from django.test import Client as Browser
from django.utils import timezone

from polku.audit.models import AccessLog
from polku.impact.costs import PublicFinanceParameters, cost_effectiveness
from polku.impact.models import EffectRun, ModelKind, ModelVersion
from polku.organisations.models import StaffRole
from tests import factories as f

URL = "/impact/effects/"


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def _estimate(estimand: str, level: str, estimate: float, low: float, high: float, n_treated: int, n_control: int,
              *, trimmed: int = 0, rv: float | None = None, rv_ci: float | None = None, by: str | None = None,
              group: str | None = None) -> dict[str, Any]:
    return {"estimand": estimand, "treatment_level": level, "control_level": "none", "estimate": estimate,
            "ci_low": low, "ci_high": high, "std_error": (high - low) / 3.92, "p_value": 0.01, "n_treated": n_treated,
            "n_control": n_control, "n_trimmed": trimmed, "estimator": "DoubleML IRM", "robustness_value": rv,
            "robustness_value_ci": rv_ci, "by": by, "group": group}


def _results(costs: bool = True, policy: bool = False) -> dict[str, Any]:
    """A run's results in the stored shape: three services overall (one with an interval across zero), wage subsidy
    by segment (one segment too small to show), overlap, balance, a skipped service and the costs from
    ``cost_effectiveness`` on known costs: 40 wage-subsidy users at 5,000 €, 30 work-trial users at 2,000 € and
    3 training users (too few to show)."""
    estimates = [
        _estimate("ATE", "wage_subsidy", 0.055, 0.035, 0.075, 812, 5012, trimmed=13, rv=0.06, rv_ci=0.025),
        _estimate("ATT", "wage_subsidy", 0.061, 0.04, 0.08, 811, 5012, trimmed=1, rv=0.07, rv_ci=0.03),
        _estimate("ATE", "work_trial", 0.015, -0.02, 0.05, 300, 5012, trimmed=4, rv=0.02, rv_ci=0.0),
        _estimate("ATT", "work_trial", 0.02, -0.01, 0.05, 300, 5012, rv=0.025, rv_ci=0.0),
        _estimate("ATE", "training", -0.03, -0.06, -0.005, 150, 5012, rv=0.04, rv_ci=0.004),
        _estimate("ATT", "training", -0.025, -0.055, -0.001, 150, 5012, rv=0.035, rv_ci=0.001),
        _estimate("ATT", "wage_subsidy", 0.09, 0.05, 0.13, 200, 1500, by="segment", group="1"),
        _estimate("ATE", "wage_subsidy", 0.08, 0.04, 0.12, 200, 1500, by="segment", group="1"),
        _estimate("ATT", "wage_subsidy", 0.03, -0.02, 0.08, 3, 900, by="segment", group="2"),
    ]
    overall = [e for e in estimates if not e["by"]]
    frame = pd.DataFrame(
        [(i, "wage_subsidy", 5000.0) for i in range(40)] + [(100 + i, "work_trial", 2000.0) for i in range(30)]
        + [(200 + i, "training", 900.0) for i in range(3)], columns=["client_id", "service_class", "cost_eur"])
    bins = [round(i / 20, 2) for i in range(21)]
    return {
        "treatment": "service_started_1m", "outcome": "employed_12m", "control_level": "none",
        "covariates": ["age", "unemployment_months"], "rows": 12345, "rows_used": 12000,
        "estimator": "DoubleML IRM (doubly robust AIPW, cross-fitted LightGBM)",
        "estimates": estimates,
        "overlap": {
            "wage_subsidy": {"alpha": 0.05, "bins": bins, "treated": [40] * 20, "control": [250] * 20,
                             "trimmed": {"ATE": {"propensity_below": 10, "propensity_above": 3},
                                         "ATT": {"propensity_below": 0, "propensity_above": 1}}},
            "work_trial": {"alpha": 0.05, "bins": bins, "treated": [15] * 20, "control": [250] * 20,
                           "trimmed": {"ATE": {"propensity_below": 2, "propensity_above": 2},
                                       "ATT": {"propensity_below": 0, "propensity_above": 0}}},
        },
        "balance": {"wage_subsidy": [
            {"covariate": "age", "smd_before": 0.31, "smd_after_ATE": 0.02, "smd_after_ATT": 0.03},
            {"covariate": "unemployment_months", "smd_before": -0.12, "smd_after_ATE": -0.01, "smd_after_ATT": 0.14},
        ]},
        "skipped": [{"treatment_level": "debt_housing", "reason": "too_few", "n_treated": 4, "n_control": 5012}],
        "costs": cost_effectiveness(overall, frame, PublicFinanceParameters(), small_cell=5) if costs else [],
        **({"policy": _policy()} if policy else {}),
    }


def _run(results: dict[str, Any] | None = None, **fields: Any) -> EffectRun:
    return EffectRun.objects.create(data_source="test", data_hash="0" * 64, rows=12345,
                                    treatment="service_started_1m", outcome="employed_12m", control_level="none",
                                    results=_results() if results is None else results, **fields)


def _text(html: str) -> str:
    """The page's visible text, tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _table(html: str, table_id: str) -> str:
    start = html.index(f'id="{table_id}"')
    return _text(html[start:html.index("</table>", start)])


@pytest.fixture
def manager(joint: Any) -> Any:
    return f.staff(joint.employment, StaffRole.MANAGER)


def test_manager_sees_the_effects_with_their_intervals(manager: Any) -> None:
    _run(created_at=timezone.now() - dt.timedelta(days=30),
         results={**_results(), "estimates": [_estimate("ATT", "wage_subsidy", 0.5, 0.4, 0.6, 800, 5000)]})
    _run()  # the latest: the one shown
    logged = AccessLog.objects.count()
    response = login(manager).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    table = _table(html, "effects-table")
    # Largest ATT first; the catalogue's names; percentage points with a sign; intervals; counts grouped.
    assert table.index("Wage subsidy") < table.index("Work trial") < table.index("Training")
    assert "Wage subsidy +6.1 +4.0 to +8.0 +5.5 +3.5 to +7.5 811 5,012" in table
    assert "Work trial +2.0 −1.0 to +5.0 +1.5 −2.0 to +5.0 300 5,012" in table
    assert "Training and education −2.5 −5.5 to −0.1 −3.0 −6.0 to −0.5 150 5,012" in table
    assert "+50.0" not in html  # the older run is not shown
    assert "12,000 of 12,345" in _text(html)
    assert "Debt and housing advice: not estimated" in _text(html)
    assert "too few clients (got it: fewer than 5, compared: 5,012)" in _text(html)
    assert AccessLog.objects.count() == logged  # aggregates only: no client's data was read


def test_the_forest_plot_is_svg_with_a_summary_and_its_figures_as_a_table(manager: Any) -> None:
    _run()
    html = login(manager).get(URL).content.decode()
    start = html.index('aria-labelledby="effects-forest-caption"')
    figure = html[start:html.index("</figure>", start)]
    svg = figure[figure.index("<svg"):figure.index("</svg>")]
    assert 'role="img"' in svg and 'id="effects-forest-title"' in svg and 'id="effects-forest-desc"' in svg
    # Three services, two intervals each (ATT solid with circles, ATE dashed with squares); a zero line.
    assert svg.count("<circle") == 3 + 1 and svg.count('width="8" height="8"') == 3 + 1  # + the legend's
    assert 'stroke-dasharray="8 4"' in svg
    assert ">0<" in svg and "Difference in the share in work, percentage points" in svg
    summary = _text(figure[figure.index("</svg>"):figure.index("<details>")])
    assert ("Effect on those who got the service (ATT): the interval is above zero for 1 of 3, below zero for 1 "
            "and includes zero for 1. Largest: Wage subsidy, +6.1 percentage points (+4.0 to +8.0).") in summary
    table = _text(figure[figure.index("<table>"):figure.index("</table>")])
    assert "Wage subsidy +6.1 +4.0 to +8.0 +5.5 +3.5 to +7.5" in table


def test_effects_by_segment_with_small_groups_not_shown(manager: Any) -> None:
    _run()
    html = login(manager).get(URL).content.decode()
    assert 'aria-labelledby="effects-by-group-forest-caption"' in html
    table = _table(html, "effects-by-group-table")
    assert "Wage subsidy Segment 1 +9.0 +5.0 to +13.0 +8.0 +4.0 to +12.0 200 1,500" in table
    # Three persons got wage subsidy in segment 2: neither the estimate nor the count is shown.
    assert "Wage subsidy Segment 2 not shown – – – fewer than 5 900" in table
    assert "+3.0" not in table


def test_segments_are_described_by_the_segments_model_of_the_run(manager: Any, monkeypatch: Any) -> None:
    from polku.impact import segments
    from polku.impact import selectors as impact_selectors

    ModelVersion.objects.create(kind=ModelKind.SEGMENTS, version=1, data_source="test", data_hash="0" * 64, rows=10,
                                artifact=b"x", signature="x", created_at=timezone.now() - dt.timedelta(days=1))
    monkeypatch.setattr(impact_selectors, "loaded", lambda version: "model")
    monkeypatch.setattr(segments, "describe", lambda model, number, **kw: {
        "title": f"Title {number}", "summary": f"Summary of group {number}.", "barriers": [], "needs": []})
    _run()
    html = login(manager).get(URL).content.decode()
    assert "Wage subsidy Title 1 +9.0" in _table(html, "effects-by-group-table")
    assert "Summary of group 1." in html and "Segment 1" not in html


def test_cost_effectiveness_table(manager: Any) -> None:
    _run()
    html = login(manager).get(URL).content.decode()
    table = _table(html, "costs-table")
    gain = PublicFinanceParameters().gain_per_employed_eur
    back = round(0.061 * gain - 5000)
    low, high = round(0.04 * gain - 5000), round(0.08 * gain - 5000)

    def euros(value: int) -> str:
        return f"{value:,} €".replace("-", "−")

    # 5,000 € ÷ 0.061 = 81,967 €; its interval 5,000 ÷ 0.08 … 5,000 ÷ 0.04.
    assert (f"Wage subsidy 40 5,000 € +6.1 +4.0 to +8.0 81,967 € 62,500 € to 125,000 € {euros(back)} "
            f"{euros(low)} to {euros(high)}") in table
    # The work trial's effect may be zero: the cost per person employed has no upper bound.
    assert "Work trial 30 2,000 € +2.0 −1.0 to +5.0 100,000 € 40,000 € to not bounded" in table
    # Three training users: costs not shown; its effect is negative, so no cost per person employed either way.
    assert "Training and education fewer than 5 not shown −2.5 −5.5 to −0.1 not shown – not shown –" in table
    explained = _text(html[html.index('id="costs-explained"'):])
    assert f"over 36 months that is {euros(round(gain))}" in explained
    assert "estimates to support decisions, not decisions" in _text(html)


def test_costs_by_segment_follow_their_service(manager: Any) -> None:
    """With segment rows (``--by segment``), each service's row for all its clients comes first and its segments
    follow it; services in the order of their overall effect."""
    from polku.impact.costs import group_rows

    results = _results()
    frame = pd.DataFrame([(i, "wage_subsidy", 5000.0) for i in range(40)]
                         + [(100 + i, "work_trial", 2000.0) for i in range(30)],
                         columns=["client_id", "service_class", "cost_eur"])
    segments = pd.Series({**dict.fromkeys(range(25), "1"), **dict.fromkeys(range(25, 40), "2")})
    rows = [e for e in results["estimates"] if not e["by"]] + group_rows(results["estimates"], "segment")
    results["costs"] = cost_effectiveness(rows, frame, PublicFinanceParameters(), segments=segments, small_cell=5)
    _run(results)
    table = _table(login(manager).get(URL).content.decode(), "costs-table")
    order = [table.index(text) for text in ("Wage subsidy All clients 40 5,000 €", "Wage subsidy Segment 1 25",
                                            "Wage subsidy Segment 2 15 5,000 €", "Work trial All clients 30")]
    assert order == sorted(order), table


def test_the_allocation_rule_in_plain_words_with_its_value(manager: Any) -> None:
    """A run stored with ``--policy``: each leaf's clients in words, the service it names, its mean effect, a leaf
    of fewer than k persons counted as such, and the rule's value against the current allocation and the best
    single service; a run without a rule has no such section."""
    results = _results(policy=True)
    _run(results)
    html = login(manager).get(URL).content.decode()
    table = _table(html, "policy-table")
    assert "Age at most 42 years Education is basic education Work trial" in table
    assert "Age at most 42 years Education is not basic education Wage subsidy" in table
    assert "Age more than 42 years Wage subsidy" in table
    assert "Work trial +3.1 1,200" in table
    assert "Wage subsidy +8.2 fewer than 5" in table
    values = _text(html[html.index('id="policy-values"'):html.index("</ul>", html.index('id="policy-values"'))])
    assert "following the rule: +5.8 (+3.1 to +8.4)" in values
    assert "the services the clients actually got: +2.1 (−0.4 to +4.6)" in values
    assert "the same service for everyone (Wage subsidy): +4.9 (+2.0 to +7.8)" in values
    assert 'href="#policy-heading"' in html

    EffectRun.objects.all().delete()
    _run()
    assert 'id="policy-table"' not in login(manager).get(URL).content.decode()


def _policy() -> dict[str, Any]:
    """An allocation rule in the stored shape (``polku impact effects --policy``)."""
    return {
        "levels": ["none", "wage_subsidy", "work_trial"], "control_level": "none", "depth": 2, "min_leaf": 50,
        "rule": [
            {"conditions": ["age <= 42.5", "education=isced_0_2 > 0.5"], "service": "work_trial",
             "mean_reward": 0.0312, "persons": 1200},
            {"conditions": ["age <= 42.5", "education=isced_0_2 <= 0.5"], "service": "wage_subsidy",
             "mean_reward": 0.0815, "persons": 3},
            {"conditions": ["age > 42.5"], "service": "wage_subsidy", "mean_reward": 0.05, "persons": 900},
        ],
        "value": {"value": 0.0577, "ci_low": 0.031, "ci_high": 0.0844},
        "current_allocation": {"value": 0.021, "ci_low": -0.004, "ci_high": 0.046},
        "best_single_service": {"service": "wage_subsidy", "value": 0.049, "ci_low": 0.02, "ci_high": 0.078},
        "assigned_shares": {"none": 0.0, "wage_subsidy": 0.6, "work_trial": 0.4},
    }


def test_rule_conditions_read_as_words() -> None:
    from django.utils import translation

    from polku.web.effects_views import condition_text

    with translation.override("en"):
        assert condition_text("age <= 42.5") == "Age at most 42 years"
        assert condition_text("age > 42.5") == "Age more than 42 years"
        assert condition_text("education=isced_0_2 > 0.5") == "Education is basic education"
        assert condition_text("education=isced_0_2 <= 0.5") == "Education is not basic education"
        assert condition_text("not a condition") == "not a condition"


def test_overlap_balance_and_robustness_in_plain_words(manager: Any) -> None:
    _run()
    text = _text(login(manager).get(URL).content.decode())
    assert ("Effect if all comparable clients got it (ATE): 13 left out because there was nobody comparable in the "
            "other group: 10 who almost never get this service (estimated chance below 5 %) and fewer than 5 who "
            "almost always get it (above 95 %).") in text
    assert "largest difference between those who got the service and the others was in age: a standardised mean " \
           "difference of 0.31" in text
    assert "Effect on those who got the service (ATT), after adjusting: largest difference 0.14 " \
           "(unemployment_months): some difference remains." in text
    assert "(ATE), after adjusting: largest difference 0.02 (age): good balance." in text
    assert ("Effect on those who got the service (ATT): unmeasured confounding explaining 7 % of the remaining "
            "variation in both getting the service and being in work would erase the effect. Confounding of 3 % "
            "would make the interval include zero.") in text
    assert "explaining 2 % of the remaining variation" in text and "The interval already includes zero." in text


def test_a_run_without_costs_says_so(manager: Any) -> None:
    _run(_results(costs=False))
    html = login(manager).get(URL).content.decode()
    assert 'id="costs-table"' not in html and "This run has no cost figures." in html


def test_without_a_run_it_names_the_command(manager: Any) -> None:
    EffectRun.objects.all().delete()
    response = login(manager).get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="effects-no-run"' in html and "polku impact effects --from-db --store" in html
    assert "<svg" not in html


def test_administrators_see_it_and_the_impact_page_links_to_it(joint: Any) -> None:
    _run()
    admin = login(f.staff(joint.employment, StaffRole.ADMINISTRATOR))
    assert admin.get(URL).status_code == 200
    assert 'href="/impact/effects/"' in admin.get("/impact/").content.decode()


@pytest.mark.parametrize("who", ["coordinator", "provider_worker", "social_worker"])
def test_other_staff_are_told_it_is_for_managers(joint: Any, who: str) -> None:
    _run()
    response = login(getattr(joint, who)).get(URL)
    html = response.content.decode()
    assert response.status_code == 403 and "+6.1" not in html and "<svg" not in html


def test_someone_without_a_staff_role_gets_not_found(db: Any) -> None:
    _run()
    assert login(f.user()).get(URL).status_code == 404


def test_anonymous_is_sent_to_log_in(db: Any) -> None:
    response = Browser().get(URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
