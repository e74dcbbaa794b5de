"""Outcome-based contracts: the Koto-SIB design on a hand-made table (known difference × share, the cap), the
Employment SIB design (paid only above the model's prediction, percentages by group), reproducibility (the same
data gives the identical payment and evidence; a changed row changes the data hash), and the command."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from polku.clients.models import BenefitPeriod, EmploymentStatusPeriod
from polku.impact.contracts import (
    DEFAULT_RATES,
    ContractError,
    Terms,
    compute,
    participants_from_db,
    rate_of,
)
from polku.impact.models import ContractPayment, OutcomeContract
from polku.referrals.models import ReferralStatus

from .. import factories as f


def koto_table() -> pd.DataFrame:
    """Programme: 4 persons, tax − benefits = 1000, 2000, 3000, 2000 (mean 2000); control: 4 persons, mean 500."""
    return pd.DataFrame({
        "person": [f"p{i}" for i in range(8)],
        "group": ["programme"] * 4 + ["control"] * 4,
        "benefits_paid_eur": [5000, 4000, 3000, 4000, 6000, 5500, 5000, 5500],
        "earned_income_tax_eur": [6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000],
    })


def test_koto_pays_the_share_of_the_difference_and_the_cap() -> None:
    result = compute(koto_table(), Terms(design="koto"))
    outcome = result["evidence"]["public_finance_outcome"]
    assert outcome["programme_mean_eur"] == 2000 and outcome["control_mean_eur"] == 500
    assert outcome["difference_eur"] == 1500
    assert result["payment_eur"] == 0.5 * 1500 * 4 == 3000 and not result["capped"]
    assert result["evidence"]["components"]["benefits_paid_eur"]["difference_eur"] == -1500
    capped = compute(koto_table(), Terms(design="koto", share=0.4, cap_eur=2000))
    assert capped["uncapped_eur"] == 0.4 * 1500 * 4 and capped["payment_eur"] == 2000 and capped["capped"]
    # No improvement, no payment.
    worse = koto_table().assign(group=["control"] * 4 + ["programme"] * 4)
    assert compute(worse, Terms(design="koto"))["payment_eur"] == 0


def sib_table(seed: int = 0, uplift: float = 3000.0) -> pd.DataFrame:
    """Comparison wages follow a known rule of age and unemployment; the programme earns ``uplift`` more."""
    rng = np.random.default_rng(seed)
    n = 400
    age = rng.integers(20, 64, n)
    education = rng.choice(["isced_0_2", "isced_3_4", "isced_5_8"], n)
    days = rng.integers(0, 1500, n)
    base = 20000 - 8 * days + 100 * (age < 30) + np.where(education == "isced_5_8", 4000, 0)
    group = np.where(np.arange(n) % 2 == 0, "programme", "control")
    wage = np.maximum(base + rng.normal(0, 500, n) + np.where(group == "programme", uplift, 0), 0).round(2)
    return pd.DataFrame({"person": [f"s{i:03d}" for i in range(n)], "group": group, "wage_sum_eur": wage,
                         "age": age, "education": education, "unemployed_days_before": days})


def test_sib_pays_only_above_the_prediction_with_percentages_by_group() -> None:
    table = sib_table()
    result = compute(table, Terms(design="sib", rates=DEFAULT_RATES))
    evidence = result["evidence"]
    fit = evidence["wage_model"]
    assert fit["rows"] == 200 and fit["r2_cross_validated"] > 0.8  # the rule is learnable
    programme = table[table["group"] == "programme"]
    assert evidence["excess_eur"] == pytest.approx(3000 * 200, rel=0.15)
    rates = rate_of(programme.sort_values("person").reset_index(drop=True), DEFAULT_RATES)
    assert set(np.unique(rates)) <= {0.2, 0.25, 0.3, 0.35, 0.4}
    # The percentages by group: older, basic education, long unemployment each add to the base 20 %.
    person = pd.DataFrame({"age": [30, 55, 55, 55], "education": ["isced_5_8", "isced_5_8", "isced_0_2", "isced_0_2"],
                           "unemployed_days_before": [0, 0, 0, 900]})
    assert list(rate_of(person, DEFAULT_RATES)) == [0.2, 0.3, 0.35, 0.4]
    expected = float((rates * programme.sort_values("person")["wage_sum_eur"].to_numpy()).sum())
    assert result["payment_eur"] == pytest.approx(expected, abs=0.05)
    assert sum(g["payment_eur"] for g in evidence["by_rate"]) == pytest.approx(result["payment_eur"], abs=0.05)
    assert sum(g["persons"] for g in evidence["by_rate"]) == 200
    # Excess basis: the percentage of each participant's wage above their prediction only.
    excess = compute(table, Terms(design="sib", rates=DEFAULT_RATES, basis="excess"))
    assert 0 < excess["payment_eur"] < result["payment_eur"]
    # Programme wages at or below the prediction: nothing is owed.
    none = compute(sib_table(uplift=-2000), Terms(design="sib", rates=DEFAULT_RATES))
    assert none["evidence"]["excess_eur"] < 0 and none["payment_eur"] == 0 and not none["evidence"]["owed"]
    capped = compute(table, Terms(design="sib", rates=DEFAULT_RATES, cap_eur=1000))
    assert capped["payment_eur"] == 1000 and capped["capped"]


def test_a_payment_recomputed_from_the_same_data_is_identical(tmp_path: Path) -> None:
    table = sib_table(seed=4)
    terms = Terms(design="sib", rates=DEFAULT_RATES, seed=7)
    first = compute(table, terms)
    again = compute(table.sample(frac=1, random_state=1), terms)  # another row order
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    from polku.impact.contracts import read_participants

    from_csv = compute(read_participants(path), terms)
    parquet = tmp_path / "t.parquet"
    table.to_parquet(parquet)
    from_parquet = compute(read_participants(parquet), terms)
    for other in (again, from_csv, from_parquet):
        assert other["payment_eur"] == first["payment_eur"]
        assert json.dumps(other["evidence"], sort_keys=True) == json.dumps(first["evidence"], sort_keys=True)
    changed = table.copy()
    changed.loc[3, "wage_sum_eur"] += 1
    assert compute(changed, terms)["data_hash"] != first["data_hash"]
    koto = compute(koto_table(), Terms(design="koto"))
    assert json.dumps(compute(koto_table(), Terms(design="koto")), sort_keys=True) == json.dumps(koto, sort_keys=True)


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns=["benefits_paid_eur"]), "benefits_paid_eur"),
    (lambda t: t.assign(earned_income_tax_eur=["x"] + [1] * 7), "not a number"),
    (lambda t: t.assign(group="programme"), "control group has no rows"),
    (lambda t: t.assign(group=["programme", "treated"] + ["control"] * 6), "treated"),
    (lambda t: t.assign(person="same"), "more than one row"),
])
def test_bad_tables_are_clear_errors(change: Any, message: str) -> None:
    with translation.override("en"), pytest.raises(ContractError, match=message):
        compute(change(koto_table()), Terms(design="koto"))


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("contracts", *args, stdout=out, language="en")
    return out.getvalue()


@pytest.mark.django_db
def test_command_define_compute_list_show(tmp_path: Path) -> None:
    data = tmp_path / "koto.csv"
    koto_table().rename(columns={"group": "arm"}).to_csv(data, index=False)
    _run("define", "koto-demo", "--design", "koto", "--cap", "2500", "--title", "Koto demo")
    printed = json.loads(_run("compute", "koto-demo", "--data", str(data), "--column", "group=arm",
                              "--format", "json"))
    assert printed["payment_eur"] == 2500 and printed["uncapped_eur"] == 3000 and printed["capped"]
    assert printed["evidence"]["columns"]["group"] == "arm" and len(printed["data_hash"]) == 64
    stored = ContractPayment.objects.get(contract__name="koto-demo", number=1)
    assert float(stored.amount_eur) == 2500 and stored.data_hash == printed["data_hash"]
    again = json.loads(_run("compute", "koto-demo", "--data", str(data), "--column", "group=arm",
                            "--format", "json"))
    assert again["number"] == 2 and again["evidence"] == printed["evidence"]
    listed = json.loads(_run("list", "--format", "json"))
    assert listed[0]["name"] == "koto-demo" and listed[0]["payments"] == 2
    assert listed[0]["latest_payment_eur"] == 2500
    shown = json.loads(_run("show", "koto-demo", "--format", "json"))
    assert [p["number"] for p in shown["payments"]] == [1, 2]
    assert "owes 2,500.00 €" in _run("compute", "koto-demo", "--data", str(data), "--column", "group=arm",
                                     "--dry-run")
    assert ContractPayment.objects.count() == 2
    assert "Payment 2" in _run("show", "koto-demo")
    _run("define", "sib-demo", "--design", "sib", "--seed", "3")
    sib = tmp_path / "sib.parquet"
    sib_table().to_parquet(sib)
    result = json.loads(_run("compute", "sib-demo", "--data", str(sib), "--format", "json"))
    assert result["payment_eur"] > 0 and result["evidence"]["wage_model"]["parameters"]["random_state"] == 3


@pytest.mark.django_db
@pytest.mark.parametrize("args, message", [
    (["compute", "nope", "--data", "x.csv"], "No contract"),
    (["define", "bad", "--design", "lottery"], "Unknown design"),
    (["define", "bad", "--design", "koto", "--share", "1.5"], "share"),
    (["define", "bad name", "--design", "koto"], "letters"),
])
def test_command_bad_definitions_write_nothing(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)
    assert not OutcomeContract.objects.exists()


@pytest.mark.django_db
def test_command_bad_data_writes_nothing(tmp_path: Path) -> None:
    _run("define", "k", "--design", "koto")
    cases = {
        "missing.csv": koto_table().drop(columns=["earned_income_tax_eur"]),
        "text.csv": koto_table().assign(benefits_paid_eur=["lots"] + [1] * 7),
        "nogroup.csv": koto_table().assign(group="control"),
    }
    for name, table in cases.items():
        path = tmp_path / name
        table.to_csv(path, index=False)
        with pytest.raises(CommandError):
            _run("compute", "k", "--data", str(path))
    with pytest.raises(CommandError, match="No such file"):
        _run("compute", "k", "--data", str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match="--from-db needs"):
        _run("compute", "k", "--from-db")
    assert not ContractPayment.objects.exists()


@pytest.mark.django_db
def test_participants_from_the_registers(joint: Any) -> None:
    """Two clients of one cohort: one started a wage subsidy (programme), one did not (control); their benefits
    and employment in the follow-up turn into euros with the documented parameters."""
    from polku.catalogue.models import ServiceClass
    from polku.impact.costs import PublicFinanceParameters

    start, end = dt.date(2024, 1, 1), dt.date(2024, 3, 31)
    treated, control = f.client(education_level="isced_0_2"), f.client()
    for client in (treated, control):
        f.episode(client, (joint.employment, joint.coordinator), start=dt.date(2024, 2, 1))
    svc = f.service(joint.provider, service_class=ServiceClass.WAGE_SUBSIDY)
    referral = f.referral(treated, svc, joint.employment, joint.coordinator, status=ReferralStatus.STARTED)
    referral.started_at = dt.datetime(2024, 2, 15, 10, tzinfo=dt.UTC)
    referral.save()
    # Follow-up 2024-04-01 … 2024-09-30 (183 days). Treated: employed 92 days (July–September); 60 paid days.
    EmploymentStatusPeriod.objects.create(client=treated, status="unemployed", start_date=dt.date(2023, 1, 1),
                                          end_date=dt.date(2024, 6, 30))
    EmploymentStatusPeriod.objects.create(client=treated, status="employed_open_market",
                                          start_date=dt.date(2024, 7, 1))
    BenefitPeriod.objects.create(client=treated, benefit="labour_market_subsidy", start_date=dt.date(2024, 4, 1),
                                 end_date=dt.date(2024, 6, 30), paid_days=60)
    # Control: a benefit period partly inside the follow-up (pro rata: 46 of its 91 days).
    BenefitPeriod.objects.create(client=control, benefit="labour_market_subsidy", start_date=dt.date(2024, 8, 16),
                                 end_date=dt.date(2024, 11, 14), paid_days=80)
    table = participants_from_db(start, end, programme_classes=["wage_subsidy"], follow_up_months=6,
                                 parameters=PublicFinanceParameters())
    assert len(table) == 2 and set(table["group"]) == {"programme", "control"}
    rows = table.set_index("group")
    wage = 92 / (365.25 / 12) * 2477
    assert rows.loc["programme", "wage_sum_eur"] == pytest.approx(wage, abs=0.01)
    assert rows.loc["programme", "earned_income_tax_eur"] == pytest.approx(wage * 0.296, abs=0.01)
    assert rows.loc["programme", "benefits_paid_eur"] == pytest.approx(60 * 37.21)
    assert rows.loc["programme", "unemployed_days_before"] == 456  # 2023-01-01 … 2024-03-31
    assert rows.loc["programme", "education"] == "isced_0_2"
    assert rows.loc["control", "benefits_paid_eur"] == pytest.approx(80 * 46 / 91 * 37.21, abs=0.01)
    assert rows.loc["control", "wage_sum_eur"] == 0
