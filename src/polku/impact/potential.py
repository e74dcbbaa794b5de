"""Employment potential: the calibrated probability of open-market employment 6 or 12 months after a reference
date, validated out of time, with its uncertainty and its main reasons.

**Method.**

1. *Out-of-time split.* Rows are ordered by ``reference_date``. The latest dates that hold about a fifth of the
   rows with a known outcome are the **test** cohort (``test_from`` onwards). The model is trained only on rows
   whose outcome was already known on ``test_from`` (reference date at least the horizon before it), so it never
   sees the test cohort or anything that happened after it. Of those, the rows of a fifth of the persons are
   held out for early stopping and calibration (whole persons, so that the model is not rewarded for memorising
   people who have a row on many reference dates).
2. *Gradient boosting* (LightGBM) with shallow trees, a large minimum leaf and row and column subsampling: the
   table holds many rows per person (one per reference date), so strong regularisation keeps it from learning
   people instead of patterns.
3. *Calibration*: isotonic regression of the boosted score on the held-out rows, so that "30 %" means that about
   30 of 100 such clients found work.
4. *Uncertainty*: a bootstrap over persons (``members`` models, each trained on a resample of the persons); the
   interval is the 90 % interval of their calibrated estimates (mean ± 1.645 sd on the log-odds scale). It says how
   much the estimate depends on the particular clients the model learned from, not how uncertain the person's
   future is (the probability itself says that).
5. *Reasons*: LightGBM's own SHAP values (``pred_contrib``, exact TreeSHAP): each feature's push up or down on
   the log-odds for this client, relative to the average client. ``explain.py`` turns the largest into plain
   language.
6. *Production model*: after validation the same procedure runs again on every row with a known outcome, so the
   stored model uses the newest cohorts; its metrics are the out-of-time ones.

**Group attributes.** Sex, foreign background and preferred language *are* features by default: without them the
estimates cannot be equally calibrated in every group (measured on the synthetic region: leaving them out made
the model over-estimate clients with a foreign background by 7 points, calibration error 0.073 in that group
against 0.024 for the others). With them, "30 %" means the same for everyone, which is what the fairness audit
checks. Self-stated gender, third-country nationality and the municipality are not features. ``--features`` can
name any columns of an analyst's own table instead.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from polku.core.dates import add_months

from .fairness import expected_calibration_error
from .table import KEY_COLUMNS, OUTCOMES, TREATMENTS

HORIZONS = {"employed_6m": 6, "employed_12m": 12}
#: Never features unless named explicitly: keys, outcomes, internal ids, protected attributes, municipality.
NOT_FEATURES = (*KEY_COLUMNS, *OUTCOMES, *TREATMENTS, "client_id", "probability", "probability_low", "probability_high")
#: Not features by default (see the module's docstring on group attributes).
NOT_DEFAULT = ("gender", "third_country_national", "municipality_code")
TEST_SHARE = 0.2
VALIDATION_SHARE = 0.2
Z90 = 1.645

DEFAULT_PARAMETERS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 8,
    "min_child_samples": 500,
    "subsample": 0.7,
    "subsample_freq": 1,
    "colsample_bytree": 0.7,
    "reg_lambda": 10.0,
    "n_estimators": 1000,
    "early_stopping_rounds": 50,
    "num_threads": 0,
    "verbose": -1,
}


class TrainingError(ValueError):
    """The table cannot train this model (a clear message for the command line and the API)."""


def default_features(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in NOT_FEATURES and c not in NOT_DEFAULT]


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


@dataclass
class PotentialModel:
    """A trained employment-potential model: picklable, with everything needed to score a table."""

    outcome: str
    features: list[str]
    categories: dict[str, list[str]]
    booster: lgb.Booster
    calibrator: Any
    members: list[tuple[lgb.Booster, Any]] = field(default_factory=list)
    threshold: float = 0.5

    def design(self, table: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in table.columns]
        if missing:
            raise TrainingError(f"the table lacks the model's columns: {', '.join(missing)}")
        return design_matrix(table, self.features, self.categories)

    def raw(self, table: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.booster.predict(self.design(table), raw_score=True))

    def predict(self, table: pd.DataFrame, *, interval: bool = True) -> pd.DataFrame:
        """``probability`` and, with ``interval``, its 90 % bootstrap interval (``probability_low``/``_high``)."""
        x = self.design(table)
        p = _clip(self.calibrator.predict(np.asarray(self.booster.predict(x, raw_score=True))))
        out = pd.DataFrame({"probability": p}, index=table.index)
        if interval and self.members:
            logits = np.column_stack([
                _logit(_clip(cal.predict(np.asarray(b.predict(x, raw_score=True))))) for b, cal in self.members
            ])
            spread = logits.std(axis=1, ddof=1) if logits.shape[1] > 1 else np.zeros(len(x))
            centre = _logit(p)
            out["probability_low"] = _sigmoid(centre - Z90 * spread)
            out["probability_high"] = _sigmoid(centre + Z90 * spread)
        return out

    def contributions(self, table: pd.DataFrame) -> pd.DataFrame:
        """SHAP values on the log-odds scale, one column per feature (plus ``_base``)."""
        values = np.asarray(self.booster.predict(self.design(table), pred_contrib=True))
        return pd.DataFrame(values, columns=[*self.features, "_base"], index=table.index)


def design_matrix(table: pd.DataFrame, features: Sequence[str], categories: dict[str, list[str]]) -> pd.DataFrame:
    """The model's input: numbers as floats, categories as pandas categoricals with the training's categories (a
    value the model never saw counts as missing). Built column by column in NumPy (a million rows in about a
    second)."""
    columns: dict[str, Any] = {}
    for column in features:
        values = table[column]
        if column in categories:
            codes = pd.Index(categories[column]).get_indexer(values.astype(object).to_numpy())
            columns[column] = pd.Categorical.from_codes(codes, categories=categories[column])
        elif pd.api.types.is_numeric_dtype(values):
            columns[column] = values.to_numpy(dtype=float, na_value=np.nan)
        else:
            columns[column] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame(columns, index=table.index)


def _clip(p: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(p, dtype=float), 1e-4, 1 - 1e-4)


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def _dates(table: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(table["reference_date"]).dt.date


@dataclass
class Split:
    train: pd.DataFrame
    test: pd.DataFrame
    test_from: dt.date | None
    validation: str  # "out_of_time" or "random"


def out_of_time_split(labelled: pd.DataFrame, outcome: str, test_from: dt.date | None = None) -> Split:
    """Test on the latest cohort; train only on rows whose outcome was known when the test cohort began."""
    horizon = HORIZONS.get(outcome, 12)
    if "reference_date" not in labelled.columns:
        persons = (labelled["person"] if "person" in labelled.columns
                   else pd.Series(labelled.index, index=labelled.index))
        unique = np.sort(persons.unique())
        rng = np.random.default_rng(0)
        test_persons = set(rng.choice(unique, size=max(1, int(len(unique) * TEST_SHARE)), replace=False))
        mask = persons.isin(test_persons).to_numpy()
        return Split(labelled[~mask], labelled[mask], None, "random")
    dates = _dates(labelled)
    if test_from is None:
        counts = dates.value_counts().sort_index(ascending=False)
        cumulative = counts.cumsum() / counts.sum()
        test_from = counts.index[int(np.searchsorted(cumulative.to_numpy(), TEST_SHARE))]
    assert test_from is not None
    train_until = add_months(test_from, -horizon)
    train = labelled[(dates <= train_until).to_numpy()]
    test = labelled[(dates >= test_from).to_numpy()]
    return Split(train, test, test_from, "out_of_time")


def _validation_cut(rows: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """True for the rows of a fifth of the persons (early stopping and calibration). Whole persons are held out:
    the table has a row per person and reference date, and rows of a person the model trained on would reward it
    for memorising people rather than learning patterns."""
    persons = rows["person"].astype(str).to_numpy() if "person" in rows.columns else np.arange(len(rows)).astype(str)
    unique, codes = np.unique(persons, return_inverse=True)
    rng = np.random.default_rng(seed + 7)
    held = rng.random(len(unique)) < VALIDATION_SHARE
    return held[codes]


def _fit_one(x: pd.DataFrame, y: np.ndarray, xv: pd.DataFrame, yv: np.ndarray, params: dict[str, Any],
             rounds: int | None = None, seed: int = 0, weight: np.ndarray | None = None) -> lgb.Booster:
    p = {k: v for k, v in params.items() if k not in {"n_estimators", "early_stopping_rounds"}}
    p["seed"] = seed
    train = lgb.Dataset(x, label=y, weight=weight, free_raw_data=True)
    if rounds is not None:
        return lgb.train(p, train, num_boost_round=rounds)
    valid = lgb.Dataset(xv, label=yv, reference=train)
    return lgb.train(p, train, num_boost_round=int(params["n_estimators"]), valid_sets=[valid],
                     callbacks=[lgb.early_stopping(int(params["early_stopping_rounds"]), verbose=False)])


def _calibrator(raw: np.ndarray, y: np.ndarray) -> IsotonicRegression:
    return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)


def fit_procedure(
    rows: pd.DataFrame, outcome: str, features: list[str], categories: dict[str, list[str]],
    params: dict[str, Any], *, members: int = 0, seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[PotentialModel, dict[str, Any]]:
    """Boost on the older rows, stop early and calibrate on the latest fifth, bootstrap ``members`` more."""
    say = progress or (lambda _m: None)
    held = _validation_cut(rows, seed)
    fit_rows, val_rows = rows[~held], rows[held]
    if len(fit_rows) < 50 or len(val_rows) < 20:
        raise TrainingError(f"too few rows with a known outcome to train on ({len(rows)})")
    y_fit = fit_rows[outcome].to_numpy(dtype=float)
    y_val = val_rows[outcome].to_numpy(dtype=float)
    if len(np.unique(y_fit)) < 2 or len(np.unique(y_val)) < 2:
        raise TrainingError("the outcome must have both values (0 and 1) among the training rows")
    x_fit = design_matrix(fit_rows, features, categories)
    x_val = design_matrix(val_rows, features, categories)
    say(f"boosting on {len(fit_rows):,} rows, validating on {len(val_rows):,}")
    booster = _fit_one(x_fit, y_fit, x_val, y_val, params, seed=seed)
    rounds = max(int(booster.best_iteration or booster.current_iteration()), 1)
    calibrator = _calibrator(np.asarray(booster.predict(x_val, raw_score=True)), y_val)
    model = PotentialModel(outcome, list(features), categories, booster, calibrator,
                           threshold=float(np.mean(np.concatenate([y_fit, y_val]))))
    persons = fit_rows["person"].to_numpy() if "person" in fit_rows.columns else np.arange(len(fit_rows))
    unique = np.unique(persons)
    rng = np.random.default_rng(seed + 1)
    codes = pd.Index(unique).get_indexer(persons)
    for member in range(members):
        say(f"uncertainty: bootstrap model {member + 1} of {members}")
        draws = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
        b = _fit_one(x_fit, y_fit, x_val, y_val, params, rounds=rounds, seed=seed + 2 + member,
                     weight=draws[codes].astype(float))
        model.members.append((b, _calibrator(np.asarray(b.predict(x_val, raw_score=True)), y_val)))
    details = {"best_iteration": rounds, "fit_rows": len(fit_rows), "validation_rows": len(val_rows)}
    return model, details


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    both = len(np.unique(y)) == 2
    return {
        "n": len(y),
        "base_rate": float(np.mean(y)) if len(y) else None,
        "mean_predicted": float(np.mean(p)) if len(p) else None,
        "auc": float(roc_auc_score(y, p)) if both else None,
        "ece": float(expected_calibration_error(y, p)) if len(y) else None,
        "brier": float(brier_score_loss(y, p)) if len(y) else None,
    }


def train_potential(
    table: pd.DataFrame,
    outcome: str = "employed_12m",
    *,
    features: Sequence[str] | None = None,
    test_from: dt.date | None = None,
    parameters: dict[str, Any] | None = None,
    members: int = 5,
    refit: bool = True,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[PotentialModel, dict[str, Any], PotentialModel]:
    """Validate out of time, then (``refit``) train the production model on every row with a known outcome.

    Returns (production model, metrics, evaluation model). The evaluation model never saw the test cohort; its
    figures are the metrics."""
    say = progress or (lambda _m: None)
    if outcome not in table.columns:
        raise TrainingError(f"the table has no outcome column {outcome!r}")
    chosen = list(features) if features else default_features(table)
    unknown = [c for c in chosen if c not in table.columns]
    if unknown:
        raise TrainingError(f"no such columns: {', '.join(unknown)}")
    if outcome in chosen or any(c in OUTCOMES for c in chosen):
        raise TrainingError("an outcome cannot be a feature")
    if any(c in TREATMENTS for c in chosen):
        raise TrainingError("a later treatment cannot be a feature")
    if not chosen:
        raise TrainingError("no feature columns")
    labelled = table[table[outcome].notna()]
    y_all = pd.to_numeric(labelled[outcome], errors="coerce")
    if y_all.isna().any() or not set(np.unique(y_all)).issubset({0, 1}):
        raise TrainingError(f"the outcome {outcome!r} must be 0 or 1 (or empty)")
    labelled = labelled.assign(**{outcome: y_all.astype(float)})
    categories = {c: sorted(map(str, table[c].dropna().unique())) for c in chosen if _is_categorical(table[c])}
    params = {**DEFAULT_PARAMETERS, **(parameters or {})}
    split = out_of_time_split(labelled, outcome, test_from)
    if split.validation == "out_of_time" and (len(split.train) == 0 or len(split.test) == 0):
        raise TrainingError("not enough history for an out-of-time test: the table needs reference dates at least "
                            f"{HORIZONS.get(outcome, 12)} months before the latest ones with a known outcome")
    say(f"out-of-time validation: training on {len(split.train):,} rows, testing on {len(split.test):,}")
    evaluation, details = fit_procedure(split.train, outcome, chosen, categories, params, members=0, seed=seed,
                                        progress=progress)
    y_test = split.test[outcome].to_numpy(dtype=float)
    p_test = evaluation.predict(split.test, interval=False)["probability"].to_numpy()
    metrics: dict[str, Any] = {
        "outcome": outcome,
        "validation": split.validation,
        "test_from": split.test_from.isoformat() if split.test_from else None,
        "train_rows": len(split.train),
        "train_persons": int(split.train["person"].nunique()) if "person" in split.train else None,
        "test_rows": len(split.test),
        "train_reference_dates": _span(split.train),
        "test_reference_dates": _span(split.test),
        "test": _metrics(y_test, p_test),
        "groups": _group_figures(split.test, y_test, p_test),
        **details,
    }
    if refit:
        say("production model: the same procedure on every row with a known outcome")
        model, _details = fit_procedure(labelled, outcome, chosen, categories, params, members=members, seed=seed,
                                        progress=progress)
    else:
        model = evaluation
    metrics["threshold"] = model.threshold
    return model, metrics, evaluation


def _span(rows: pd.DataFrame) -> list[str] | None:
    if "reference_date" not in rows.columns or not len(rows):
        return None
    dates = _dates(rows)
    return [dates.min().isoformat(), dates.max().isoformat()]


def _group_figures(rows: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """AUC and calibration error per sex and migrant background on the test cohort (the full audit is
    ``fairness.audit``)."""
    out: dict[str, Any] = {}
    for column in ("sex", "foreign_background"):
        if column not in rows.columns:
            continue
        values = rows[column].astype("object").fillna("missing").to_numpy()
        out[column] = {str(v): _metrics(y[values == v], p[values == v]) for v in sorted(set(values))}
    return out


def nan_to_none(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    return value
