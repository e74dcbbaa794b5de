"""Every page, in each of the three languages: it answers, it is in that language, and axe-core finds no
WCAG 2.1 A/AA violation. Screenshots land in var/screenshots/."""

from __future__ import annotations

from typing import Any

from .conftest import axe_violations, describe, screenshot


def test_login_page(assert_accessible: Any) -> None:
    assert_accessible(None, "/login/", "login")


def test_front_page__coordinator(assert_accessible: Any) -> None:
    assert_accessible("coordinator", "/", "front-coordinator")


def test_impact_overview__manager(assert_accessible: Any, impact_models: Any) -> None:
    assert_accessible("manager", "/impact/", "impact-overview")


def test_effects_page_without_a_run__manager(assert_accessible: Any) -> None:
    assert_accessible("manager", "/impact/effects/", "effects-empty", ["en"])


def test_effects_page__manager(assert_accessible: Any, django_db_blocker: Any) -> None:
    """The What works page with a stored run (the shape of ``EffectRun.results``, effects by segment and costs
    included): forest plots, the cost-effectiveness table and the plain-language quality summary."""
    from polku.impact.models import EffectRun
    from tests.web.test_effects_page import _results

    with django_db_blocker.unblock():
        run = EffectRun.objects.create(data_source="browser tests", data_hash="0" * 64, rows=12345,
                                       treatment="service_started_1m", outcome="employed_12m", control_level="none",
                                       results=_results())
    try:
        assert_accessible("manager", "/impact/effects/", "effects")
    finally:
        with django_db_blocker.unblock():
            run.delete()


def test_indicators_page__manager(assert_accessible: Any, django_db_blocker: Any) -> None:
    """The indicator dashboard: first before any facts are computed (the message), then with the demo region's
    facts: the report with its tables, bar charts and downloads."""
    from polku.indicators.facts import refresh
    from polku.indicators.models import AssessmentChangeFact, FactRefresh, ParticipationFact, ReferralFact

    def clear() -> None:
        for model in (ParticipationFact, AssessmentChangeFact, ReferralFact, FactRefresh):
            model.objects.all().delete()

    with django_db_blocker.unblock():
        clear()
    assert_accessible("manager", "/indicators/", "indicators-empty", ["en"])
    with django_db_blocker.unblock():
        refresh()
    try:
        assert_accessible("manager", "/indicators/?report=all&by=age_band", "indicators")
    finally:
        with django_db_blocker.unblock():
            clear()


def test_impact_client_page_with_the_estimate__coordinator(assert_accessible: Any, impact_models: Any,
                                                            visit: Any) -> None:
    from django.contrib.auth import get_user_model

    from polku.clients.selectors import caseload_page
    from polku.impact.selectors import client_estimate

    coordinator = get_user_model().objects.get(username="coordinator")
    client = next(c for c in caseload_page(actor=coordinator)
                  if client_estimate(actor=coordinator, client_id=c.pk) is not None)
    assert_accessible("coordinator", f"/clients/{client.pk}/", "impact-client-page")
    # The disagreement form with its errors shown (sent empty) is accessible too.
    tab = visit("coordinator", "en")
    tab.open(f"/clients/{client.pk}/#employment-potential")
    tab.page.locator("#employment-potential-section form button[type=submit]").click()
    tab.page.wait_for_load_state()
    tab.page.locator("#id_disagree-reason_error").wait_for()
    assert tab.page.locator("#id_disagree-reason").get_attribute("aria-invalid") == "true"
    violations = axe_violations(tab.page)
    screenshot(tab.page, "impact-client-page-errors-en")
    assert not violations, describe(violations)


def test_impact_portal_home_with_my_group(assert_accessible: Any, impact_models: Any) -> None:
    assert_accessible("client", "/me/", "impact-portal-home", ["en"])
