"""The managers' outcome-based contract pages (``/impact/contracts/`` and ``/impact/contracts/<name>/``): every
contract with its latest payment, and one contract's terms in plain words with each payment and the evidence
behind it, from payments computed and stored as ``polku contracts compute`` stores them. Managers and
administrators only; aggregates only (small person counts as "fewer than k"); reading them writes nothing."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as Browser
from django.test.utils import CaptureQueriesContext
from django.utils import formats, translation

from polku.audit.models import AccessLog
from polku.impact.contracts import DEFAULT_RATES, compute, store_payment, terms_of
from polku.impact.models import ContractPayment, OutcomeContract
from polku.organisations.models import StaffRole
from tests import factories as f

LIST = "/impact/contracts/"


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


def _text(html: str) -> str:
    """The page's visible text, tags removed, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def _element(html: str, element_id: str, end: str) -> str:
    """The element's inner markup up to ``end`` (its opening tag left out)."""
    start = html.index(">", html.index(f'id="{element_id}"')) + 1
    return html[start:html.index(end, start)]


def _table(html: str, table_id: str) -> str:
    return _text(_element(html, table_id, "</table>"))


def euros(value: float, signed: bool = False) -> str:
    text = f"{value:,.2f}".replace("-", "\u2212")
    return f"{'+' if signed and value > 0 else ''}{text} €"


def k() -> int:
    return int(settings.POLKU["SMALL_CELL_THRESHOLD"])


# --- the contracts and their payments ----------------------------------------------------------------------------


def koto_table(control_benefits: float = 5500) -> pd.DataFrame:
    """Programme: 6 persons, tax − benefits = 2000, 3000, 1000, 2000, 3000, 1000 (mean 2000); control: 3 persons
    (fewer than the small-cell threshold), tax − benefits = 6000 − ``control_benefits`` each."""
    return pd.DataFrame({
        "person": [f"k{i}" for i in range(9)],
        "group": ["programme"] * 6 + ["control"] * 3,
        "benefits_paid_eur": [4000, 3000, 5000, 4000, 3000, 5000] + [control_benefits] * 3,
        "earned_income_tax_eur": [6000] * 9,
    })


def sib_table() -> pd.DataFrame:
    """40 comparison persons and 26 participants: 17 participants at the base 20 % (under 50, tertiary education,
    not long unemployed), 6 at 30 % (50 or older) and 3 at 40 % (50 or older, basic education, two years
    unemployed): a small cell. The participants earn more than the comparison group."""
    rng = np.random.default_rng(3)
    control = pd.DataFrame({
        "person": [f"c{i:02d}" for i in range(40)], "group": "control",
        "wage_sum_eur": (18000 + rng.normal(0, 1500, 40)).round(2),
        "age": rng.integers(25, 60, 40), "education": rng.choice(["isced_0_2", "isced_3_4", "isced_5_8"], 40),
        "unemployed_days_before": rng.integers(0, 1200, 40)})
    programme = pd.DataFrame({
        "person": [f"p{i:02d}" for i in range(26)], "group": "programme",
        "wage_sum_eur": (24000 + rng.normal(0, 1500, 26)).round(2),
        "age": [30] * 17 + [55] * 9, "education": ["isced_5_8"] * 23 + ["isced_0_2"] * 3,
        "unemployed_days_before": [100] * 23 + [800] * 3})
    return pd.concat([control, programme], ignore_index=True)


@pytest.fixture
def manager(joint: Any) -> Any:
    return f.staff(joint.employment, StaffRole.MANAGER)


@pytest.fixture
def contracts(manager: Any) -> dict[str, Any]:
    """A koto contract with two payments (the latest capped, computed by the manager), a sib contract with one
    (from the command line, no user) and a contract without payments."""
    koto = OutcomeContract.objects.create(
        name="koto-2026", title="Integration SIB", design="koto", share=0.5, cap_eur=4000,
        cohort_rule=[{"column": "earned_income_tax_eur", "op": ">=", "value": 0}],
        cohort_start=dt.date(2024, 1, 1), cohort_end=dt.date(2024, 6, 30),
        programme_classes=["wage_subsidy", "training"], follow_up_months=18,
        description="Integration programme for the demo.")
    first = compute(koto_table(control_benefits=5000), terms_of(koto))
    store_payment(koto, first, data_source="participants-2025.csv")
    second = compute(koto_table(), terms_of(koto))
    store_payment(koto, second, data_source="participants-2026.csv", user=manager)
    sib = OutcomeContract.objects.create(name="tyo-sib", title="Employment SIB", design="sib", rates=DEFAULT_RATES,
                                         basis="excess", follow_up_months=12)
    third = compute(sib_table(), terms_of(sib))
    store_payment(sib, third, data_source="sib.parquet")
    empty = OutcomeContract.objects.create(name="later", title="", design="koto")
    return {"koto": koto, "koto_first": first, "koto_latest": second, "sib": sib, "sib_result": third,
            "empty": empty}


# --- the list ----------------------------------------------------------------------------------------------------


def test_the_list_shows_every_contract_with_its_latest_payment(manager: Any, contracts: dict[str, Any]) -> None:
    koto, latest, sib = contracts["koto"], contracts["koto_latest"], contracts["sib_result"]
    assert latest["payment_eur"] == 4000 and contracts["koto_first"]["payment_eur"] == 3000  # as the tables say
    response = login(manager).get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    table = _table(html, "contracts-table")
    with translation.override("en"):
        period = f"{formats.date_format(dt.date(2024, 1, 1), 'SHORT_DATE_FORMAT')} to " \
                 f"{formats.date_format(dt.date(2024, 6, 30), 'SHORT_DATE_FORMAT')}"
        koto_design, sib_design = koto.get_design_display(), contracts["sib"].get_design_display()
    # By name: koto-2026, later, tyo-sib; the title links to the contract's page.
    assert table.index("Integration SIB") < table.index("later") < table.index("Employment SIB")
    assert f"Integration SIB koto-2026 {koto_design} {period} 18 {euros(4000)}" in table
    assert euros(3000) not in table  # the earlier payment is not the latest
    assert f"Employment SIB tyo-sib {sib_design} – 12 {euros(sib['payment_eur'])}" in table
    assert "later later" in table and "not computed yet" in table
    assert 'href="/impact/contracts/koto-2026/"' in html and 'href="/impact/contracts/tyo-sib/"' in html
    # The plain-language intro and the commands.
    assert "pays for results" in _text(html)
    assert "polku contracts define NAME --design koto|sib" in html and "polku contracts compute NAME" in html


def test_the_list_without_contracts_says_so(manager: Any) -> None:
    html = login(manager).get(LIST).content.decode()
    assert 'id="contracts-none"' in html and 'id="contracts-table"' not in html


# --- a koto contract ---------------------------------------------------------------------------------------------


def test_a_koto_contract_shows_its_terms(manager: Any, contracts: dict[str, Any]) -> None:
    html = login(manager).get("/impact/contracts/koto-2026/").content.decode()
    terms = _text(_element(html, "contract-terms", "</dl>"))
    assert "50 % of the difference in the public-finance outcome per person" in terms
    assert "randomised control group" in terms
    assert f"Cap at most {euros(4000)}" in terms
    assert "tax on earned income paid over the follow-up (€) is at least 0" in terms
    assert "Wage subsidy" in terms and "Training" in terms
    assert "18 months" in terms and "Integration programme for the demo." in terms


def test_a_koto_payment_shows_its_figures_and_evidence(manager: Any, contracts: dict[str, Any]) -> None:
    latest = contracts["koto_latest"]
    evidence = latest["evidence"]
    outcome = evidence["public_finance_outcome"]
    assert (outcome["programme_mean_eur"], outcome["control_mean_eur"], outcome["difference_eur"]) == (2000, 500, 1500)
    html = login(manager).get("/impact/contracts/koto-2026/").content.decode()
    # Newest first.
    assert html.index('id="payment-2"') < html.index('id="payment-1"')
    summary = _text(_element(html, "payment-2-summary", "</dl>"))
    assert f"Amount {euros(4000)} Before the cap {euros(4500)} Capped yes" in summary
    assert f"by {manager.get_username()}" in summary
    assert "Data participants-2026.csv Rows in the data 9" in summary
    assert latest["data_hash"] in summary and len(latest["data_hash"]) == 64
    first = _text(_element(html, "payment-1-summary", "</dl>"))
    assert f"Amount {euros(3000)} Before the cap {euros(3000)} Capped no" in first and "by command line" in first
    assert contracts["koto_first"]["data_hash"] in first
    groups = _table(html, "payment-2-groups")
    # The control group has fewer than k persons: neither group's means are shown (the other's mean and the
    # difference would give the small group's away), the difference the contract pays on is.
    assert "Programme group 6 not shown not shown not shown" in groups
    assert f"Control group fewer than {k()} not shown not shown not shown" in groups
    assert f"Difference – {euros(1500, signed=True)} {euros(0)} {euros(-1500)}" in groups
    low, high = outcome["ci_low_eur"], outcome["ci_high_eur"]
    assert f"{euros(low, signed=True)} to {euros(high, signed=True)}" in groups
    figures = _text(_element(html, "payment-2-figures", "</dl>"))
    assert f"Difference per person {euros(1500, signed=True)}" in figures
    assert "Share paid of the difference 50 %" in figures and "Persons in the programme group 6" in figures
    assert f"Payment before the cap {euros(evidence['uncapped_payment_eur'])}" in figures


def test_the_evidence_json_is_shown_as_stored_only_without_small_cells(manager: Any,
                                                                       contracts: dict[str, Any]) -> None:
    """With a group of fewer than k persons the stored evidence (sums over those few) is not shown, only why; a
    payment without small cells shows it exactly as stored."""
    html = login(manager).get("/impact/contracts/koto-2026/").content.decode()
    details = _element(html, "payment-2-evidence", "</details>")
    assert "<pre>" not in details and "fewer than" in _text(details)
    assert "polku contracts show koto-2026 --format json" in _text(details)
    assert '"control_mean_eur"' not in html and "control_mean_eur" not in html

    large = OutcomeContract.objects.create(name="koto-large", title="Larger", design="koto", share=0.5)
    table = pd.concat([koto_table(), koto_table().assign(person=lambda t: t["person"] + "b")], ignore_index=True)
    table = table[table["group"] == "programme"]
    table = pd.concat([table, koto_table().iloc[6:].assign(person=[f"x{i}" for i in range(3)]),
                       koto_table().iloc[6:].assign(person=[f"y{i}" for i in range(3)])], ignore_index=True)
    result = compute(table, terms_of(large))
    assert result["evidence"]["groups"] == {"programme": 12, "control": 6}
    store_payment(large, result, data_source="large.csv")
    html = login(manager).get("/impact/contracts/koto-large/").content.decode()
    details = _element(html, "payment-1-evidence", "</details>")
    shown = json.loads(html_lib.unescape(details[details.index("<pre>") + 5:details.index("</pre>")]))
    assert shown == json.loads(json.dumps(result["evidence"]))
    groups = _table(html, "payment-1-groups")
    assert f"Programme group 12 {euros(2000)}" in groups and f"Control group 6 {euros(500)}" in groups
    stored = ContractPayment.objects.get(contract=contracts["koto"], number=2)
    assert stored.evidence["groups"]["control"] == 3  # what is stored is not changed


# --- a sib contract ----------------------------------------------------------------------------------------------


def test_a_sib_contract_shows_its_percentages_in_words(manager: Any, contracts: dict[str, Any]) -> None:
    html = login(manager).get("/impact/contracts/tyo-sib/").content.decode()
    rates = _text(_element(html, "contract-rates", "</ul>"))
    assert rates.startswith("20 % to start with")
    assert "+10 % when age is at least 50" in rates
    assert ("+5 % when education is one of: Primary or lower secondary (ISCED 0–2), Not stated") in rates
    assert "+5 % when days unemployed before the programme is at least 730" in rates
    assert rates.endswith("at most 40 % in all")
    assert "part of each participant's wage sum above their prediction (basis: excess)" in html
    terms = _text(_element(html, "contract-terms", "</dl>"))
    assert "Cap no cap" in terms and "everyone in the participant table" in terms and "12 months" in terms


def test_a_sib_payment_shows_the_excess_and_the_payment_by_percentage(manager: Any,
                                                                      contracts: dict[str, Any]) -> None:
    result = contracts["sib_result"]
    evidence = result["evidence"]
    assert evidence["owed"] and evidence["excess_eur"] > 0
    assert [(g["rate"], g["persons"]) for g in evidence["by_rate"]] == [(0.2, 17), (0.3, 6), (0.4, 3)]
    html = login(manager).get("/impact/contracts/tyo-sib/").content.decode()
    summary = _text(_element(html, "payment-1-summary", "</dl>"))
    assert f"Amount {euros(result['payment_eur'])}" in summary and "Capped no" in summary
    assert "by command line" in summary and result["data_hash"] in summary and "Rows in the data 66" in summary
    figures = _text(_element(html, "payment-1-figures", "</dl>"))
    assert "Persons in the programme group 26 Persons in the comparison group 40" in figures
    assert f"Participants' wage sum {euros(evidence['programme_wage_sum_eur'])}" in figures
    assert f"Predicted wage sum {euros(evidence['predicted_wage_sum_eur'])}" in figures
    assert f"Above the prediction {euros(evidence['excess_eur'], signed=True)}" in figures
    assert "Anything owed yes" in figures and "the part of each wage sum above its prediction" in figures
    table = _table(html, "payment-1-by-rate")
    # 17 persons at 20 %: shown. 3 at 40 %: fewer than k, its sums not shown (they are three persons' wages);
    # and then the 6 at 30 % neither, or the 40 % row would follow from the totals.
    shown = evidence["by_rate"][0]
    assert (f"20 % 17 {euros(shown['wage_sum_eur'])} {euros(shown['predicted_eur'])} "
            f"{euros(shown['payment_basis_eur'])} {euros(shown['payment_eur'])}") in table
    assert "30 % 6 not shown not shown not shown not shown" in table
    assert f"40 % fewer than {k()} not shown not shown not shown not shown" in table
    for row in evidence["by_rate"][1:]:
        assert euros(row["wage_sum_eur"]) not in html and euros(row["payment_eur"]) not in html
    details = _element(html, "payment-1-evidence", "</details>")
    assert "<pre>" not in details


def test_secondary_suppression_of_the_percentages() -> None:
    from polku.web.contract_views import suppressed_rates

    rows = [{"persons": 17}, {"persons": 6}, {"persons": 3}]
    assert suppressed_rates(rows, 5) == {1, 2}
    assert suppressed_rates([{"persons": 17}, {"persons": 2}, {"persons": 3}], 5) == {1, 2}
    assert suppressed_rates([{"persons": 17}, {"persons": 9}], 5) == set()
    assert suppressed_rates([{"persons": 1}], 5) == {0}
    assert suppressed_rates([{"persons": 9}, {"persons": 4}, {"persons": 0}], 5) == {0, 1}


# --- access --------------------------------------------------------------------------------------------------------


def test_reading_the_pages_writes_nothing(manager: Any, contracts: dict[str, Any]) -> None:
    browser = login(manager)
    logged = AccessLog.objects.count()
    with CaptureQueriesContext(connection) as queries:
        for path in (LIST, "/impact/contracts/koto-2026/", "/impact/contracts/tyo-sib/"):
            assert browser.get(path).status_code == 200
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == [] and AccessLog.objects.count() == logged


def test_an_unknown_contract_is_not_found(manager: Any, contracts: dict[str, Any]) -> None:
    assert login(manager).get("/impact/contracts/no-such-contract/").status_code == 404


def test_administrators_see_them_and_the_impact_page_links_to_the_list(joint: Any, contracts: dict[str, Any]) -> None:
    admin = login(f.staff(joint.employment, StaffRole.ADMINISTRATOR))
    assert admin.get(LIST).status_code == 200
    assert admin.get("/impact/contracts/tyo-sib/").status_code == 200
    overview = admin.get("/impact/").content.decode()
    assert 'id="impact-contracts-link"' in overview and 'href="/impact/contracts/"' in overview


@pytest.mark.parametrize("who", ["coordinator", "provider_worker", "social_worker"])
@pytest.mark.parametrize("path", [LIST, "/impact/contracts/koto-2026/"])
def test_other_staff_are_told_it_is_for_managers(joint: Any, contracts: dict[str, Any], who: str, path: str) -> None:
    response = login(getattr(joint, who)).get(path)
    html = response.content.decode()
    assert response.status_code == 403
    assert "for managers and administrators" in html
    assert "Integration SIB" not in html and euros(4000) not in html and "contracts-table" not in html


@pytest.mark.parametrize("path", [LIST, "/impact/contracts/koto-2026/"])
def test_someone_without_a_staff_role_gets_not_found(contracts: dict[str, Any], path: str) -> None:
    assert login(f.user()).get(path).status_code == 404


@pytest.mark.parametrize("path", [LIST, "/impact/contracts/koto-2026/"])
def test_anonymous_is_sent_to_log_in(contracts: dict[str, Any], path: str) -> None:
    response = Browser().get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
