"""Employment potential measured against the synthetic region's truth: discrimination near the ceiling that the
recorded data allow, calibration overall and by group, no leakage from the test cohort, exact reasons, intervals,
and the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from polku.core.dates import add_months
from polku.impact import potential as PM
from polku.impact import registry
from polku.impact.fairness import expected_calibration_error
from polku.impact.models import FairnessReport, ModelKind
from polku.impact.services import train_and_store

pytestmark = pytest.mark.django_db

OUTCOME = "employed_12m"


@pytest.fixture(scope="module")
def trained(impact_region: Any) -> Any:
    table = impact_region.table.drop(columns=["client_id"])
    model, metrics, evaluation = PM.train_potential(table, OUTCOME, members=3)
    return table, model, metrics, evaluation


def _test_rows_with_truth(region: Any, metrics: dict[str, Any], table: pd.DataFrame) -> pd.DataFrame:
    """The out-of-time test cohort's rows for which the generator wrote the true probability (every client has
    one every three months from entry)."""
    rows = table[(table["reference_date"] >= metrics["test_from"]) & table[OUTCOME].notna()]
    truth = region.truth_probabilities[["person", "reference_date", "p_employed_12m"]]
    return rows.merge(truth, on=["person", "reference_date"], how="inner")


@pytest.mark.model_metrics
def test_out_of_time_auc_near_the_ceiling(impact_region: Any, trained: Any) -> None:
    """The Bayes-optimal AUC uses the true probabilities, which know each client's latent segment (never recorded).
    The model cannot know it, so it stays below; measured gap about 0.035. With the latent baseline given as a
    column (what a perfectly recorded segment would add), the same procedure comes within 0.01."""
    table, _model, metrics, evaluation = trained
    rows = _test_rows_with_truth(impact_region, metrics, table)
    assert len(rows) > 3000
    y = rows[OUTCOME].to_numpy()
    model_auc = roc_auc_score(y, evaluation.predict(rows, interval=False)["probability"])
    bayes_auc = roc_auc_score(y, rows["p_employed_12m"])
    assert 0.75 < model_auc <= bayes_auc + 0.005
    assert bayes_auc - model_auc < 0.05
    # The same procedure with the latent baseline as a column: the remaining gap is information, not method.
    base = impact_region.truth_clients.set_index("person")["base_monthly_logodds"]
    oracle_table = table.assign(latent_baseline=table["person"].map(base))
    features = [*PM.default_features(table), "latent_baseline"]
    _m, oracle_metrics, oracle = PM.train_potential(oracle_table, OUTCOME, features=features, members=0, refit=False)
    oracle_rows = _test_rows_with_truth(impact_region, oracle_metrics, oracle_table)
    oracle_auc = roc_auc_score(oracle_rows[OUTCOME], oracle.predict(oracle_rows, interval=False)["probability"])
    assert oracle_auc > model_auc + 0.01
    assert roc_auc_score(oracle_rows[OUTCOME], oracle_rows["p_employed_12m"]) - oracle_auc < 0.015


@pytest.mark.model_metrics
def test_calibrated_overall_and_by_group(impact_region: Any, trained: Any) -> None:
    """On this small region calibration is measured against what the true probabilities themselves show on the
    same rows (sampling noise: a group of a few hundred persons cannot show an ECE of 0.02 even with the truth):
    overall and in each sex and migrant-background group at most 0.015 above the truth's ECE. At a million rows
    the target of 0.02 is met outright (docs/impact.md, measured)."""
    table, _model, metrics, evaluation = trained
    assert metrics["test"]["ece"] <= 0.03
    rows = _test_rows_with_truth(impact_region, metrics, table)
    rows["p"] = evaluation.predict(rows, interval=False)["probability"].to_numpy()
    y = rows[OUTCOME].to_numpy()
    assert abs(rows["p"].mean() - y.mean()) < 0.02
    assert expected_calibration_error(y, rows["p"]) <= expected_calibration_error(y, rows["p_employed_12m"]) + 0.015
    for column in ("sex", "foreign_background"):
        for value, group in rows.groupby(column):
            if group["person"].nunique() < 300:
                continue
            gy = group[OUTCOME].to_numpy()
            model_ece = expected_calibration_error(gy, group["p"])
            truth_ece = expected_calibration_error(gy, group["p_employed_12m"])
            assert model_ece <= max(0.02, truth_ece + 0.015), (column, value, model_ece, truth_ece)


@pytest.mark.model_metrics
def test_never_trained_on_the_test_cohort(trained: Any) -> None:
    _table, _model, metrics, _evaluation = trained
    test_from = dt.date.fromisoformat(metrics["test_from"])
    last_train = dt.date.fromisoformat(metrics["train_reference_dates"][1])
    # Every training row's outcome window closed before the test cohort began.
    assert add_months(last_train, PM.HORIZONS[OUTCOME]) <= test_from
    assert metrics["test_reference_dates"][0] >= metrics["test_from"]
    assert metrics["validation"] == "out_of_time"


@pytest.mark.model_metrics
def test_outcomes_are_never_features(trained: Any) -> None:
    table = trained[0]
    with pytest.raises(PM.TrainingError, match="outcome"):
        PM.train_potential(table, OUTCOME, features=["age", "employed_6m"], members=0, refit=False)
    assert not set(PM.default_features(table)) & {"employed_6m", "employed_12m", "days_employed_12m", "person",
                                                   "reference_date", "cohort"}


@pytest.mark.model_metrics
def test_reasons_add_up_to_the_estimate(trained: Any) -> None:
    """TreeSHAP is exact: the contributions and the base value add up to the model's log-odds."""
    table, model, _metrics, _evaluation = trained
    sample = table.sample(200, random_state=1)
    contributions = model.contributions(sample)
    assert np.allclose(contributions.sum(axis=1).to_numpy(), model.raw(sample), atol=1e-6)
    # Worse work ability lowers the estimate on average (the generator's truth: +0.12 log-odds per point).
    low = contributions.loc[sample["work_ability_score_mean"] <= 3, "work_ability_score_mean"]
    high = contributions.loc[sample["work_ability_score_mean"] >= 8, "work_ability_score_mean"]
    assert low.mean() < 0 < high.mean()


@pytest.mark.model_metrics
def test_intervals_surround_the_estimate(trained: Any) -> None:
    table, model, _metrics, _evaluation = trained
    predicted = model.predict(table.sample(500, random_state=2))
    assert (predicted["probability_low"] <= predicted["probability"] + 1e-12).all()
    assert (predicted["probability"] <= predicted["probability_high"] + 1e-12).all()
    width = predicted["probability_high"] - predicted["probability_low"]
    assert (width > 0).mean() > 0.9 and width.median() < 0.2


@pytest.mark.model_metrics
def test_a_broken_outcome_is_refused(trained: Any) -> None:
    table = trained[0].copy()
    table["employed_12m"] = table["employed_12m"].replace({1.0: 2.0})
    with pytest.raises(PM.TrainingError, match="0 or 1"):
        PM.train_potential(table, OUTCOME, members=0)


def test_train_and_store_versions_and_audits(impact_region: Any) -> None:
    table = impact_region.table.drop(columns=["client_id"])
    small = table[table["person"].isin(table["person"].drop_duplicates().sample(4000, random_state=3))]
    first, _ = train_and_store(small, outcome=OUTCOME, features=None, data_source="test", trained_by="test",
                               members=1)
    second, metrics = train_and_store(small, outcome=OUTCOME, features=None, data_source="test", trained_by="test",
                                      members=1)
    assert (first.version, second.version) == (1, 2)
    assert first.data_hash == second.data_hash == registry.data_hash(small)
    assert registry.latest(ModelKind.POTENTIAL, OUTCOME) == second
    assert metrics["test"]["auc"] > 0.7
    report = FairnessReport.objects.get(model_version=second)
    assert {"sex", "foreign_background"} <= set(report.report["groupings"]) and len(report.text) > 500
    loaded = registry.load_model(second)
    assert loaded.features == second.features and loaded.outcome == OUTCOME
    probabilities = loaded.predict(small.head(500))["probability"]
    assert probabilities.between(0, 1).all() and probabilities.nunique() > 20
    # A changed artifact is refused.
    second.artifact = bytes(second.artifact)[:-1] + b"x"
    second.save(update_fields=["artifact"])
    with pytest.raises(registry.ArtifactRefused):
        registry.load_model(second)
