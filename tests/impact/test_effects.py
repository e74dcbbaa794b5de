"""Causal effects (issue 8): the National Supported Work benchmark (a real experiment), a placebo treatment, the
synthetic region's true effects, and ``polku impact effects`` from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from polku.impact import effects as fx
from polku.impact.models import EffectRun
from polku.synth import params as P

NSW_COVARIATES = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
EXPERIMENTAL_ATT = 1794.0


@pytest.fixture(scope="module")
def nsw() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the experimental sample, its treated with the 15,992 CPS controls), from PyPI's causaldata."""
    from causaldata import cps_mixtape, nsw_mixtape

    experiment = nsw_mixtape.load_pandas().data
    controls = cps_mixtape.load_pandas().data
    observational = pd.concat([experiment[experiment["treat"] == 1], controls]).reset_index(drop=True)
    return experiment, observational


@pytest.mark.model_metrics
def test_nsw_att_against_cps_controls_recovers_the_experiment(nsw: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """LaLonde's question with default settings: the treated of the experiment against CPS controls. The ATT is
    within $350 of the experimental $1,794 and its 95 % interval contains it."""
    _experiment, observational = nsw
    report = fx.estimate_effects(observational, "treat", "re78", NSW_COVARIATES, estimands=("ATT",))
    (att,) = report.estimates
    assert att.treatment_level == "1" and att.control_level == "0"
    assert att.n_treated + att.n_trimmed == 185 and att.n_control == 15992
    assert abs(att.estimate - EXPERIMENTAL_ATT) <= 350, att
    assert att.ci_low <= EXPERIMENTAL_ATT <= att.ci_high
    # The raw groups are far apart; the weights bring them close.
    balance = report.balance["1"]
    assert fx.max_abs_smd(balance, "smd_before") > 1.5
    assert fx.max_abs_smd(balance, "smd_after_ATT") < 0.25
    assert att.robustness_value is not None and 0 < att.robustness_value < 1


@pytest.mark.model_metrics
def test_nsw_experimental_sample(nsw: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    experiment, _ = nsw
    report = fx.estimate_effects(experiment, "treat", "re78", NSW_COVARIATES)
    by = {e.estimand: e for e in report.estimates}
    assert by["ATT"].ci_low <= EXPERIMENTAL_ATT <= by["ATT"].ci_high
    assert abs(by["ATT"].estimate - EXPERIMENTAL_ATT) <= 500
    assert by["ATE"].ci_low <= EXPERIMENTAL_ATT <= by["ATE"].ci_high


@pytest.mark.model_metrics
def test_a_placebo_treatment_gets_an_interval_containing_zero(nsw: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    """A treatment drawn at random (so its true effect is zero) on the observational sample."""
    _, observational = nsw
    frame = observational.copy()
    frame["placebo"] = np.random.default_rng(11).random(len(frame)) < 0.2
    report = fx.estimate_effects(frame, "placebo", "re78", NSW_COVARIATES, settings=fx.EffectSettings(repetitions=1))
    assert len(report.estimates) == 2
    for estimate in report.estimates:
        assert estimate.ci_low <= 0 <= estimate.ci_high, estimate
        assert estimate.ci_high - estimate.ci_low < 1000  # informative, not a vacuous interval


def _design(region: Any) -> pd.DataFrame:
    table = region.table
    return table[(table["days_in_service"] < 31) & (table["employed_now"] == 0)
                 & table["service_started_1m"].notna() & table["employed_12m"].notna()].reset_index(drop=True)


@pytest.mark.django_db
@pytest.mark.model_metrics
def test_synthetic_region_effects_beat_the_naive_comparison(impact_region: Any) -> None:
    """On the region's truth (effects.csv: each client's effect of starting each service versus none), the
    adjusted ATEs are closer to the truth than the naive treated-minus-untreated differences, their intervals
    contain the truth for most services, and a service with no effect is not found to help. (Larger-region
    figures: docs/BENCHMARKS.md.)"""
    from polku.impact.potential import default_features
    from polku.impact.table import pseudonym, pseudonym_key

    rows = _design(impact_region)
    truth = pd.read_csv(impact_region.truth_dir / "effects.csv", dtype={"personal_identity_code": str})
    key = pseudonym_key()
    classes = {st.code: st.service_class for st in P.SERVICE_TYPES}
    truth["person"] = [pseudonym(code, key) for code in truth["personal_identity_code"]]
    truth["service_class"] = truth["service_type"].map(classes)
    per_person = truth.pivot(index="person", columns="service_class", values="effect_12m").reindex(rows["person"])
    covariates = [c for c in default_features(rows) if c not in ("employed_6m", "days_employed_12m")]
    report = fx.estimate_effects(rows, "service_started_1m", "employed_12m", covariates, control="none",
                                 estimands=("ATE",), settings=fx.EffectSettings(repetitions=1))
    errors, naive_errors, covered = [], [], []
    control = rows["service_started_1m"] == "none"
    for estimate in report.estimates:
        true_ate = float(per_person[estimate.treatment_level].mean())
        treated = rows["service_started_1m"] == estimate.treatment_level
        naive = rows.loc[treated, "employed_12m"].mean() - rows.loc[control, "employed_12m"].mean()
        errors.append(abs(estimate.estimate - true_ate))
        covered.append(estimate.ci_low <= true_ate <= estimate.ci_high)
        naive_errors.append(abs(naive - true_ate))
        if estimate.treatment_level in ("low_threshold", "debt_housing"):  # no true effect
            assert estimate.ci_low < 0.02, estimate
    assert len(errors) >= 7
    assert np.mean(errors) < np.mean(naive_errors), (np.mean(errors), np.mean(naive_errors))
    assert np.mean(errors) < 0.05
    assert np.mean(covered) >= 2 / 3, covered


# --- the command ------------------------------------------------------------------------------------------------


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("impact", "effects", *args, stdout=out, language="en")
    return out.getvalue()


@pytest.fixture
def multi_valued(tmp_path: Path) -> Path:
    """An analyst's table: a three-level treatment assigned by need, a known effect of each level."""
    rng = np.random.default_rng(4)
    n = 3000
    need = rng.normal(size=n)
    age = rng.integers(20, 60, n)
    region = rng.choice(["north", "south"], n)
    logits = np.stack([np.zeros(n), 0.8 * need, -0.8 * need], axis=1)
    choice = (logits + rng.gumbel(size=logits.shape)).argmax(axis=1)
    level = np.array(["none", "coaching", "training"])[choice]
    effect = np.array([0.0, 0.15, 0.0])[choice]
    outcome = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 - 0.8 * need + 0.01 * (age - 40)))) + effect).astype(int)
    path = tmp_path / "services.parquet"
    pd.DataFrame({"service": level, "employed": outcome, "need": need, "age": age, "region": region}).to_parquet(path)
    return path


@pytest.mark.django_db
def test_command_json_for_a_multi_valued_treatment(multi_valued: Path) -> None:
    printed = json.loads(_run("--data", str(multi_valued), "--treatment", "service", "--outcome", "employed",
                              "--covariates", "need,age,region", "--control", "none", "--repetitions", "1",
                              "--format", "json"))
    assert {(e["estimand"], e["treatment_level"]) for e in printed} == {
        ("ATE", "coaching"), ("ATT", "coaching"), ("ATE", "training"), ("ATT", "training")}
    for row in printed:
        assert set(fx_keys()) <= set(row)
        assert row["control_level"] == "none" and row["n_treated"] > 100 and row["n_control"] > 100
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"]
    coaching = next(e for e in printed if e["treatment_level"] == "coaching" and e["estimand"] == "ATT")
    training = next(e for e in printed if e["treatment_level"] == "training" and e["estimand"] == "ATT")
    assert coaching["ci_low"] > 0.03  # an effect of about +0.15 on the probability scale
    assert training["ci_low"] <= 0 <= training["ci_high"]
    assert not EffectRun.objects.exists()


def fx_keys() -> tuple[str, ...]:
    return ("estimand", "treatment_level", "control_level", "estimate", "ci_low", "ci_high", "n_treated",
            "n_control", "n_trimmed", "estimator")


@pytest.mark.django_db
def test_command_by_group_report_and_store(multi_valued: Path) -> None:
    text = _run("--data", str(multi_valued), "--treatment", "service", "--outcome", "employed", "--covariates",
                "need,age", "--by", "region", "--repetitions", "1", "--estimands", "ATT", "--store")
    assert "ATT coaching [region=north]" in text and "ATT coaching [region=south]" in text
    assert "largest standardised mean difference" in text
    run = EffectRun.objects.get()
    assert run.treatment == "service" and run.control_level == "none" and len(run.data_hash) == 64
    estimates = run.results["estimates"]
    assert {e["group"] for e in estimates} == {None, "north", "south"}
    overlap = run.results["overlap"]["coaching"]
    assert len(overlap["bins"]) == 21 and len(overlap["treated"]) == len(overlap["control"]) == 20
    overall = next(e for e in estimates if e["estimand"] == "ATT" and e["treatment_level"] == "coaching"
                   and e["group"] is None)
    assert sum(overlap["treated"]) == overall["n_treated"] + overall["n_trimmed"]
    assert {row["covariate"] for row in run.results["balance"]["training"]} == {"need", "age"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--treatment", "service", "--outcome", "employed"], "name --treatment, --outcome and --covariates"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "need,salary"], "salary"),
        (["--treatment", "service", "--outcome", "region", "--covariates", "need"], "must be numeric"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "need", "--control", "nothing"],
         "is not a value of service"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "service"], "cannot be covariates"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "need", "--where", "age >>> 3"],
         "--where"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "need", "--folds", "1"], "--folds"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "need", "--estimands", "ITT"],
         "--estimands"),
        (["--treatment", "service", "--outcome", "employed", "--covariates", "need", "--where", "age > 100"],
         "only one value"),
    ],
)
def test_command_bad_input_is_a_clear_error_and_stores_nothing(multi_valued: Path, args: list[str],
                                                                 message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run("--data", str(multi_valued), *args, "--store")
    assert not EffectRun.objects.exists()


@pytest.mark.django_db
def test_command_needs_a_control_level_for_many_levels(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"t": ["a", "b", "c"] * 20, "y": [0, 1] * 30, "x": range(60)}).to_csv(path, index=False)
    with pytest.raises(CommandError, match="--control"):
        _run("--data", str(path), "--treatment", "t", "--outcome", "y", "--covariates", "x")


@pytest.mark.django_db
def test_command_from_the_database_stores_costs_and_logs_reads(settings: Any) -> None:
    """``--from-db``: the entry rows of a small region, the default treatment and outcome, costs from the catalogue,
    the run stored, and every client's read in the access log."""
    import datetime as dt

    from polku.audit.models import AccessLog
    from polku.synth.generate import Options, generate

    generate(Options(clients=1500, seed=8, months=36, start=dt.date(2022, 1, 1)))
    before = AccessLog.objects.count()
    text = _run("--from-db", "--observed-until", "2024-12-31", "--repetitions", "1", "--estimands", "ATT",
                "--store")
    assert "Effect of service_started_1m on employed_12m against none" in text
    assert AccessLog.objects.count() > before
    run = EffectRun.objects.get()
    assert run.results["estimates"] and run.results["costs"]
    assert any(row["mean_cost_eur"] for row in run.results["costs"])
    assert "Costs (per person who got the service)" in text

    # By segment: the costs of each segment's clients, the segment found through the design's pseudonyms.
    from polku.clients.models import Client
    from polku.impact.costs import client_groups, service_costs
    from polku.impact.table import pseudonym, pseudonym_key

    call_command("impact", "segments", "--max-segments", "4", stdout=io.StringIO(), language="en")
    text = _run("--from-db", "--observed-until", "2024-12-31", "--repetitions", "1", "--estimands", "ATT",
                "--by", "segment", "--store")
    assert "[segment=" in text.split("Costs (per person who got the service)")[1]
    costs = EffectRun.objects.latest("id").results["costs"]
    overall = {r["treatment_level"]: r for r in costs if r["segment"] is None}
    by_segment = [r for r in costs if r["segment"] is not None]
    assert by_segment and any(r["mean_cost_eur"] for r in by_segment)
    for level, row in overall.items():
        parts = [r for r in by_segment if r["treatment_level"] == level and not r["suppressed"]]
        assert sum(r["treated_with_costs"] for r in parts) <= (row["treated_with_costs"] or 0)
        assert sum(r["total_cost_eur"] for r in parts) <= (row["total_cost_eur"] or 0) + 0.01

    # client_groups: a client's group is that of the latest row with the client's keyed pseudonym.
    clients = list(Client.objects.order_by("pk").values_list("pk", "personal_identity_code")[:3])
    key = pseudonym_key()
    table = pd.DataFrame({"person": [pseudonym(clients[0][1], key), pseudonym(clients[0][1], key),
                                     pseudonym(clients[1][1], key)],
                          "reference_date": ["2023-01-31", "2023-06-30", "2023-01-31"],
                          "segment": ["1", "2", "3"]})
    logged = AccessLog.objects.filter(category="basic", client_id=clients[2][0]).count()
    groups = client_groups(table, "segment", [pk for pk, _code in clients], chunk=2)
    assert groups.to_dict() == {clients[0][0]: "2", clients[1][0]: "3"}
    assert AccessLog.objects.filter(category="basic", client_id=clients[2][0]).count() == logged + 1
    assert service_costs(log=False).empty is False


@pytest.mark.django_db
def test_policy_rule_finds_who_each_service_helps(tmp_path: Path) -> None:
    """Coaching helps those with a high need score, training those with a low one: the learnt rule splits on need
    near zero, names the right service on each side, and is worth more than any one service for everyone."""
    rng = np.random.default_rng(9)
    n = 6000
    need = rng.normal(size=n)
    age = rng.integers(20, 60, n)
    choice = rng.choice(3, n, p=[0.4, 0.3, 0.3])
    effect = np.where(choice == 1, np.where(need > 0, 0.3, -0.1), np.where(choice == 2, np.where(need < 0, 0.3, -0.1),
                                                                             0.0))
    p = np.clip(0.35 + effect + 0.05 * rng.normal(size=n), 0, 1)
    frame = pd.DataFrame({"service": np.array(["none", "coaching", "training"])[choice],
                          "employed": (rng.random(n) < p).astype(int), "need": need, "age": age})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    _run("--data", str(path), "--treatment", "service", "--outcome", "employed", "--covariates", "need,age",
         "--repetitions", "1", "--estimands", "ATT", "--policy", "--store")
    policy = EffectRun.objects.get().results["policy"]
    by_side = {}
    for leaf in policy["rule"]:
        assert leaf["conditions"] and all(c.startswith(("need", "age")) for c in leaf["conditions"])
        top = leaf["conditions"][0]
        assert top.startswith("need") and abs(float(top.split()[-1])) < 0.3
        by_side.setdefault(">" in top, set()).add(leaf["service"])
    assert by_side == {True: {"coaching"}, False: {"training"}}
    assert policy["value"]["value"] > policy["best_single_service"]["value"] + 0.05
    assert policy["value"]["ci_low"] > policy["current_allocation"]["value"]


def test_crump_rule_trims_thin_tails_only() -> None:
    """Everyone with a small but similar propensity: nothing is trimmed. A few units near 0 or 1: they are."""
    similar = np.full(1000, 0.03) + np.linspace(-0.01, 0.01, 1000)
    assert fx.crump_alpha(similar) == 0.0
    tails = np.concatenate([np.random.default_rng(1).uniform(0.3, 0.7, 990), [0.001] * 5, [0.999] * 5])
    alpha = fx.crump_alpha(tails)
    assert 0.001 < alpha < 0.3
    assert ((tails < alpha) | (tails > 1 - alpha)).sum() == 10
