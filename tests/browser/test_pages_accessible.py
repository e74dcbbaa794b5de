"""Every page, in each of the three languages: it answers, it is in that language, and axe-core finds no
WCAG 2.1 A/AA violation. Screenshots land in var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
    """The What works page with a stored run (the shape of ``EffectRun.results``, effects by segment, costs and the
    allocation rule included): forest plots, the cost-effectiveness table, the rule and the quality summary."""
    from polku.impact.models import EffectRun
    from tests.web.test_effects_page import _results

    with django_db_blocker.unblock():
        run = EffectRun.objects.create(data_source="browser tests", data_hash="0" * 64, rows=12345,
                                       treatment="service_started_1m", outcome="employed_12m", control_level="none",
                                       results=_results(policy=True))
    try:
        assert_accessible("manager", "/impact/effects/", "effects")
    finally:
        with django_db_blocker.unblock():
            run.delete()


def test_outcome_contract_pages__manager(assert_accessible: Any, django_db_blocker: Any) -> None:
    """The outcome-based contracts: the list, and a Koto and an Employment SIB contract with payments computed and
    stored as ``polku contracts compute`` stores them (evidence tables, small cells, the JSON in a disclosure)."""
    from polku.impact.contracts import DEFAULT_RATES, compute, store_payment, terms_of
    from polku.impact.models import ContractPayment, OutcomeContract
    from tests.web.test_contract_pages import koto_table, sib_table

    with django_db_blocker.unblock():
        koto = OutcomeContract.objects.create(name="browser-koto", title="Integration SIB", design="koto", cap_eur=4000,
                                              description="Browser tests.")
        store_payment(koto, compute(koto_table(), terms_of(koto)), data_source="participants.csv")
        sib = OutcomeContract.objects.create(name="browser-sib", title="Employment SIB", design="sib",
                                             rates=DEFAULT_RATES)
        store_payment(sib, compute(sib_table(), terms_of(sib)), data_source="participants.parquet")
    try:
        assert_accessible("manager", "/impact/contracts/", "outcome-contracts")
        assert_accessible("manager", "/impact/contracts/browser-koto/", "outcome-contract-koto")
        assert_accessible("manager", "/impact/contracts/browser-sib/", "outcome-contract-sib")
    finally:
        with django_db_blocker.unblock():
            ContractPayment.objects.filter(contract__in=[koto, sib]).delete()
            OutcomeContract.objects.filter(pk__in=[koto.pk, sib.pk]).delete()


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
    from polku.core.errors import AccessDenied

    def has_estimate(client_id: int) -> bool:  # an estimate the coordinator may see (consent for the data)
        try:
            return client_estimate(actor=coordinator, client_id=client_id) is not None
        except AccessDenied:
            return False

    client = next(c for c in caseload_page(actor=coordinator) if has_estimate(c.pk))
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


def test_client_page_with_suggested_services__coordinator(assert_accessible: Any, django_db_blocker: Any) -> None:
    """The "Services that may help" section with a stored per-client effect model (a small hand-made one: the page's
    shape, not the model, is under test): the table of service kinds with intervals and reasons, the services."""
    import numpy as np
    from django.contrib.auth import get_user_model

    from polku.clients.selectors import caseload_page
    from polku.impact.heterogeneity import ClientEffectModel, LevelModel
    from polku.impact.models import EffectRun
    from polku.impact.selectors import service_suggestions

    columns = ["age", "barrier_mental_health"]
    levels = [LevelModel(level, 10.0, np.array(coefficients), np.diag([1e-4, 1e-5, 1e-5]), 100)
              for level, coefficients in (("wage_subsidy", [0.06, -0.02, -0.01]), ("training", [0.04, 0.01, 0.0]),
                                          ("work_trial", [0.02, 0.0, 0.02]), ("rehabilitative_work", [-0.03, 0, 0]))]
    model = ClientEffectModel("none", columns, columns, np.array([40.0, 1.0]), np.array([10.0, 1.0]), [], levels,
                              1000)
    with django_db_blocker.unblock():
        run = EffectRun.objects.create(data_source="browser tests", data_hash="0" * 64, rows=1000,
                                       treatment="service_started_1m", outcome="employed_12m", control_level="none",
                                       results={"client_effects": {"summary": [], "model": model.as_dict()}})
        coordinator = get_user_model().objects.get(username="coordinator")
        client = next(c for c in caseload_page(actor=coordinator)
                      if _suggested(service_suggestions, coordinator, c.pk))
    try:
        assert_accessible("coordinator", f"/clients/{client.pk}/#suggested-services", "client-page-suggestions")
    finally:
        with django_db_blocker.unblock():
            run.delete()


def _suggested(read: Any, actor: Any, client_id: int) -> bool:
    from polku.core.errors import AccessDenied

    try:
        found = read(actor=actor, client_id=client_id)
    except AccessDenied:
        return False
    return found is not None and bool(found.services)


def test_impact_portal_home_with_my_group(assert_accessible: Any, impact_models: Any) -> None:
    assert_accessible("client", "/me/", "impact-portal-home", ["en"])


@pytest.fixture
def partner_world(region: Any, django_db_blocker: Any) -> Iterator[dict[str, Any]]:
    """An employer with an opening in the municipality of one of the demo coordinator's clients (needing skills,
    so that the training step shows) and a public contract with an employment clause; removed afterwards."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from polku.clients.selectors import caseload_page
    from polku.core.identity import make_business_id
    from polku.organisations.models import Organisation
    from polku.partners.models import Employer, Opening, PublicContract, Skill
    from polku.partners.services import ensure_skills

    with django_db_blocker.unblock():
        ensure_skills()
        coordinator = get_user_model().objects.get(username="coordinator")
        client = next(iter(caseload_page(actor=coordinator)))
        n = 9_100_000
        while make_business_id(f"{n:07d}") is None or Employer.objects.filter(
                business_id=make_business_id(f"{n:07d}")).exists():
            n += 1
        employer = Employer.objects.create(name="Browser Kierto Oy", business_id=str(make_business_id(f"{n:07d}")),
                                           kind="social_enterprise", municipality_code=client.municipality_code,
                                           mission="Work for people far from the labour market",
                                           social_enterprise_mark=True)
        today = timezone.localdate()
        opening = Opening.objects.create(employer=employer, title="Browser recycling worker", kind="supported",
                                         hours_per_week=20, municipality_code=client.municipality_code,
                                         physical_demand=0, cognitive_demand=0, language="any", start_date=today,
                                         places=3, accommodations=255)
        opening.skills.set(Skill.objects.order_by("code")[:3])
        contract = PublicContract.objects.create(
            reference="BROWSER-1", title="Property maintenance", procurer=Organisation.objects.order_by("pk")[0],
            supplier=employer, start_date=today - dt.timedelta(days=90), end_date=today + dt.timedelta(days=270),
            value_eur=100000, required_hires=3, required_months=18, target_groups=["long_term_unemployed"])
    try:
        yield {"client": client, "opening": opening, "contract": contract}
    finally:
        with django_db_blocker.unblock():
            contract.delete()
            opening.proposals.all().delete()
            opening.delete()
            employer.delete()


def test_partner_pages__coordinator(assert_accessible: Any, partner_world: dict[str, Any], visit: Any) -> None:
    client, opening = partner_world["client"], partner_world["opening"]
    assert_accessible("coordinator", f"/clients/{client.pk}/#suitable-jobs", "partner-client-page")
    assert_accessible("coordinator", f"/clients/{client.pk}/job-preferences/", "partner-job-preferences")
    assert_accessible("coordinator", "/partners/openings/", "partner-openings")
    assert_accessible("coordinator", f"/partners/openings/{opening.pk}/", "partner-opening")
    # Proposing without the client's agreement: the error in the page is accessible too, and reached by keyboard.
    tab = visit("coordinator", "en")
    tab.open(f"/clients/{client.pk}/#suitable-jobs")
    form = tab.page.locator(f"#suggestion-{opening.pk} form").first
    form.locator("button[type=submit]").focus()
    tab.page.keyboard.press("Enter")
    tab.page.wait_for_load_state()
    tab.page.locator(f"#id_propose-{opening.pk}-client_agreed_error").wait_for()
    violations = axe_violations(tab.page)
    screenshot(tab.page, "partner-propose-error-en")
    assert not violations, describe(violations)


    # With the agreement ticked: proposed, and the proposals table (with its status form) is accessible.
    tab.page.locator(f"#id_propose-{opening.pk}-client_agreed").check()
    tab.page.locator(f"#suggestion-{opening.pk} form button[type=submit]").first.click()
    tab.page.wait_for_load_state()
    tab.page.locator("#job-proposals").wait_for()
    violations = axe_violations(tab.page)
    screenshot(tab.page, "partner-proposals-en")
    assert not violations, describe(violations)


def test_partner_contracts__manager(assert_accessible: Any, partner_world: dict[str, Any]) -> None:
    assert_accessible("manager", "/partners/contracts/", "partner-contracts")
    assert_accessible("manager", f"/partners/contracts/{partner_world['contract'].pk}/", "partner-contract")


def test_partner_contracts__procurement_officer(assert_accessible: Any, partner_world: dict[str, Any]) -> None:
    assert_accessible("procurement", "/partners/contracts/", "partner-contracts-procurement", ["fi"])
