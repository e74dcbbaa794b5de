"""Average causal effects of services: which services lead to work, with honest uncertainty (issue 8).

A comparison of those who got a service with those who did not is biased, because services go to people by need.
This module estimates average effects with **double machine learning** (the doubly robust AIPW score with
cross-fitting) through the DoubleML library's interactive regression model (``DoubleMLIRM``):

1. **Nuisance models, cross-fitted.** The rows are split into ``folds`` (stratified by treatment level). For each
   fold, a multinomial LightGBM model of the treatment level (the generalised propensity score) and, for each level,
   a LightGBM model of the outcome are fitted on the other folds and predict the fold. Each model stops early on
   an inner tenth of its training rows, so its size follows the data. This is repeated ``repetitions`` times with
   new splits (DoubleML aggregates the repetitions by the median, with their spread in the standard error).
2. **Each level against the comparison level.** For a multi-valued treatment each level ``k`` is compared with the
   control level ``c`` on the rows that have ``k`` or ``c``; the pairwise propensity is
   ``P(k | x) / (P(k | x) + P(c | x))`` (Cattaneo 2010).
3. **Overlap.** Units without comparable units in the other group are trimmed before estimating and counted by
   reason: for the ATE, pairwise propensity below ``alpha`` or above ``1 - alpha``, ``alpha`` chosen from the data by
   Crump et al.'s (2009) rule unless given; for the ATT, treated units above ``1 - alpha`` (0.05 unless given;
   controls with a small propensity get a small weight and are kept).
4. **Estimates.** DoubleML's ATE and ATTE scores on the kept rows with the external (cross-fitted) predictions,
   95 % intervals, and DoubleML's sensitivity analysis (Chernozhukov et al. 2022): the *robustness value* is the
   strength of unmeasured confounding (the share of the residual variation of both the outcome and the treatment
   it would explain) that would bring the estimate (``robustness_value``) or its interval (``robustness_value_ci``)
   to zero.
5. **Balance.** Standardised mean differences of every covariate before weighting and after the estimand's
   inverse-propensity weights, on the same rows.

Nothing here reads the database: it works on any table (pandas DataFrame) whose columns are named by the caller.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

#: Treatment values read as "no" for a binary treatment when no control level is named.
BINARY_CONTROLS = ("0", "0.0", "false", "False", "no", "none", "None")
MAX_CATEGORY_LEVELS = 50
ESTIMANDS = ("ATE", "ATT")
ESTIMATOR_NAME = "DoubleML IRM (doubly robust AIPW, cross-fitted LightGBM)"


class EffectError(ValueError):
    """The data or the options cannot give an effect estimate; the message says why (translated by the caller)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class EffectSettings:
    """The estimator's settings. The defaults are fixed in advance and are not tuned to any data set."""

    folds: int = 5
    #: Repeated cross-fitting; ``None``: 11 up to ``SMALL_DATA`` rows, 3 up to ``LARGE_DATA``, 1 above (see
    #: :meth:`repetitions_for`).
    repetitions: int | None = None
    #: Overlap trimming. ``None``: for the ATE, Crump et al.'s (2009) data-driven threshold (see
    #: :func:`crump_alpha`), for the ATT 0.05; a number: that threshold for both.
    alpha: float | None = None
    learning_rate: float = 0.05
    max_trees: int = 1000
    leaves: int = 15
    min_child_samples: int = 20
    level: float = 0.95
    min_group: int = 10
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def repetitions_for(self, rows: int) -> int:
        if self.repetitions is not None:
            return self.repetitions
        if rows <= SMALL_DATA:
            return 11
        return 3 if rows <= LARGE_DATA else 1


#: Up to this many rows, more repetitions of the cross-fitting (cheap there) remove the dependence on one split.
SMALL_DATA = 50_000
#: Above this many rows one cross-fitting suffices (DoubleML's own default): the estimate's dependence on one random
#: split shrinks with the data, while each repetition costs the whole fit again (at 1,000,000 rows about 7 minutes
#: on 2 cores, docs/BENCHMARKS.md).
LARGE_DATA = 250_000


@dataclass
class Estimate:
    estimand: str
    treatment_level: str
    control_level: str
    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    p_value: float
    n_treated: int
    n_control: int
    n_trimmed: int
    estimator: str = ESTIMATOR_NAME
    robustness_value: float | None = None
    robustness_value_ci: float | None = None
    by: str | None = None
    group: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                out[key] = None
        return out


@dataclass
class Nuisances:
    """Cross-fitted predictions for every row and repetition: ``propensity`` (n, K, R), ``outcome`` (n, K, R)."""

    levels: list[str]
    propensity: np.ndarray
    outcome: np.ndarray


@dataclass
class EffectReport:
    treatment: str
    outcome: str
    control_level: str
    covariates: list[str]
    rows: int
    rows_used: int
    settings: EffectSettings
    estimates: list[Estimate] = field(default_factory=list)
    overlap: dict[str, dict[str, Any]] = field(default_factory=dict)
    balance: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    #: The cross-fitted nuisance models and the prepared (treatment, outcome, encoded covariates), for the
    #: allocation rule (polku.impact.policy). Not stored.
    nuisances: Nuisances | None = None
    encoded: tuple[pd.Series, pd.Series, pd.DataFrame] | None = None
    #: For each (treatment level, estimand): the positions, among the rows used, of the rows the estimate describes
    #: (the level's and the control's rows left after trimming), so that a benchmark can average the truth over the
    #: same population. Not stored.
    kept: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    policy: dict[str, Any] | None = None
    #: The per-client effects (polku.impact.heterogeneity): ``{"summary": [...], "model": {...}}``.
    client_effects: dict[str, Any] | None = None

    def results(self) -> dict[str, Any]:
        """The JSON-serialisable results (what ``EffectRun.results`` stores)."""
        extra: dict[str, Any] = {"policy": self.policy} if self.policy else {}
        if self.client_effects:
            extra["client_effects"] = self.client_effects
        return extra | {
            "treatment": self.treatment,
            "outcome": self.outcome,
            "control_level": self.control_level,
            "covariates": self.covariates,
            "rows": self.rows,
            "rows_used": self.rows_used,
            "estimator": ESTIMATOR_NAME,
            "settings": self.settings.as_dict(),
            "estimates": [e.as_dict() for e in self.estimates],
            "overlap": self.overlap,
            "balance": self.balance,
            "skipped": self.skipped,
        }


# --- preparing the data -----------------------------------------------------------------------------------------


def _text(values: pd.Series) -> pd.Series:
    """Treatment values as text: 1.0 → "1", True → "true" is not wanted, so booleans become 0/1 first."""
    if pd.api.types.is_bool_dtype(values):
        values = values.astype(int)
    if pd.api.types.is_float_dtype(values):
        whole = values.dropna()
        if len(whole) and (whole == whole.round()).all():
            return values.map(lambda v: "" if pd.isna(v) else str(int(v)))
    return values.map(lambda v: "" if pd.isna(v) else str(v))


def encode_covariates(frame: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """The covariates as numbers: numeric and boolean columns as they are (missing values stay missing), text and
    category columns as one indicator column per level (``column=level``)."""
    parts: list[pd.DataFrame] = []
    for name in covariates:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column):
            parts.append(column.astype(float).to_frame(name))
        elif pd.api.types.is_numeric_dtype(column):
            parts.append(pd.to_numeric(column, errors="coerce").astype(float).to_frame(name))
        else:
            levels = sorted(column.dropna().astype(str).unique())
            if len(levels) > MAX_CATEGORY_LEVELS:
                raise EffectError("too_many_levels", column=name, levels=len(levels), limit=MAX_CATEGORY_LEVELS)
            text = column.astype(object).where(column.notna(), None)
            parts.append(pd.DataFrame({f"{name}={level}": (text == level).astype(float) for level in levels},
                                      index=frame.index))
    if not parts:
        return pd.DataFrame(index=frame.index)
    return pd.concat(parts, axis=1)


def prepare(frame: pd.DataFrame, treatment: str, outcome: str, covariates: Sequence[str],
            control: str | None = None) -> tuple[pd.Series, pd.Series, pd.DataFrame, str, list[str]]:
    """Check the columns and return (treatment as text, outcome as numbers, encoded covariates, control level,
    treated levels). Rows with a missing treatment or outcome are left out (the caller reports how many)."""
    missing = [c for c in (treatment, outcome, *covariates) if c not in frame.columns]
    if missing:
        raise EffectError("missing_columns", columns=", ".join(missing))
    if not covariates:
        raise EffectError("no_covariates")
    if treatment in covariates or outcome in covariates:
        raise EffectError("treatment_in_covariates")
    if treatment == outcome:
        raise EffectError("treatment_is_outcome")
    y = pd.to_numeric(frame[outcome], errors="coerce")
    bad = frame[outcome].notna() & y.isna()
    if bad.any():
        raise EffectError("outcome_not_numeric", column=outcome, value=str(frame[outcome][bad].iloc[0]))
    t = _text(frame[treatment])
    keep = (t != "") & y.notna()
    t, y = t[keep], y[keep].astype(float)
    levels = sorted(t.unique())
    if len(levels) < 2:
        raise EffectError("one_level", column=treatment)
    if control is None:
        if len(levels) == 2:
            candidates = [lv for lv in levels if lv in BINARY_CONTROLS]
            if len(candidates) != 1:
                raise EffectError("control_needed", column=treatment, levels=", ".join(levels))
            control = candidates[0]
        elif "none" in levels:
            control = "none"
        else:
            raise EffectError("control_needed", column=treatment, levels=", ".join(levels[:20]))
    if control not in levels:
        raise EffectError("unknown_control", column=treatment, control=control, levels=", ".join(levels[:20]))
    x = encode_covariates(frame.loc[keep], covariates)
    return t, y, x, control, [lv for lv in levels if lv != control]


# --- nuisance models --------------------------------------------------------------------------------------------


def _lgbm_params(settings: EffectSettings, seed: int) -> dict[str, Any]:
    return {
        "learning_rate": settings.learning_rate,
        "num_leaves": settings.leaves,
        "min_child_samples": settings.min_child_samples,
        "n_estimators": settings.max_trees,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "random_state": seed,
        "verbose": -1,
        "n_jobs": 2,
    }


def _fit_predict(x_train: np.ndarray, target: np.ndarray, x_pred: np.ndarray, kind: str, settings: EffectSettings,
                 seed: int) -> np.ndarray:
    """Fit one LightGBM model with early stopping on an inner tenth of its rows and predict ``x_pred``:
    probabilities for 'binary' and 'multiclass', values for 'regression'."""
    import lightgbm as lgb

    rng = np.random.default_rng(seed)
    n = len(target)
    if kind == "binary" and len(np.unique(target)) < 2:  # one outcome value in this arm and fold
        # the Jeffreys estimate (k + 1/2) / (n + 1), never exactly 0 or 1: a few rows that all failed (or all
        # succeeded) do not prove that nobody (everybody) in this arm ever succeeds
        return np.full(len(x_pred), (float(target.sum()) + 0.5) / (n + 1) if n else 0.5)
    order = rng.permutation(n)
    n_val = max(int(n * 0.1), 1) if n >= 50 else 0
    val, fit = order[:n_val], order[n_val:]
    params = _lgbm_params(settings, seed)
    model: Any = lgb.LGBMRegressor(**params) if kind == "regression" else lgb.LGBMClassifier(**params)
    kwargs: dict[str, Any] = {}
    if n_val:
        kwargs = {"eval_set": [(x_train[val], target[val])],
                  "callbacks": [lgb.early_stopping(50, verbose=False)]}
    else:
        model.set_params(n_estimators=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x_train[fit], target[fit], **kwargs)
        if kind == "regression":
            return np.asarray(model.predict(x_pred), dtype=float)
        proba = np.asarray(model.predict_proba(x_pred), dtype=float)
    if kind == "binary":
        return proba[:, 1]
    # multiclass: the model saw only the classes present in its rows; put them back in place
    out = np.zeros((len(x_pred), int(target.max()) + 1 if n else 1))
    out[:, model.classes_.astype(int)] = proba
    return out


def cross_fit(t: pd.Series, y: pd.Series, x: pd.DataFrame, settings: EffectSettings,
              progress: Callable[[str], None] | None = None) -> Nuisances:
    """The generalised propensity and the outcome model of every level, cross-fitted (see the module's text)."""
    from sklearn.model_selection import StratifiedKFold

    levels = sorted(t.unique())
    codes = pd.Categorical(t, categories=levels).codes.astype(int)
    xv = x.to_numpy(dtype=float)
    yv = y.to_numpy(dtype=float)
    binary = bool(np.isin(yv, (0.0, 1.0)).all())
    n, k = len(yv), len(levels)
    reps = settings.repetitions_for(n)
    propensity = np.zeros((n, k, reps))
    outcome = np.zeros((n, k, reps))
    counts = np.bincount(codes, minlength=k)
    folds = max(2, min(settings.folds, int(counts.min())))
    for rep in range(reps):
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=settings.seed + rep)
        for fold, (train, test) in enumerate(splitter.split(xv, codes)):
            seed = settings.seed + 1000 * rep + fold
            if progress:
                progress(f"cross-fitting repetition {rep + 1}/{reps}, fold {fold + 1}/{folds}")
            p = _fit_predict(xv[train], codes[train], xv[test], "multiclass", settings, seed)
            propensity[test, : p.shape[1], rep] = p
            for j in range(k):
                arm = train[codes[train] == j]
                outcome[test, j, rep] = _fit_predict(xv[arm], yv[arm], xv[test],
                                                     "binary" if binary else "regression", settings, seed + 17 * j)
    return Nuisances(levels, propensity, outcome)


# --- estimation -------------------------------------------------------------------------------------------------


def _smd(values: np.ndarray, treated: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Standardised mean differences of each column (treated minus control, over the unweighted pooled SD)."""
    out = np.full(values.shape[1], np.nan)
    for j in range(values.shape[1]):
        v = values[:, j]
        ok = ~np.isnan(v)
        a, b = v[ok & treated], v[ok & ~treated]
        if len(a) < 2 or len(b) < 2:
            continue
        sd = math.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
        if sd == 0:
            out[j] = 0.0
            continue
        if weights is None:
            out[j] = (a.mean() - b.mean()) / sd
        else:
            wa, wb = weights[ok & treated], weights[ok & ~treated]
            out[j] = (np.average(a, weights=wa) - np.average(b, weights=wb)) / sd
    return out


ATT_ALPHA = 0.05


def crump_alpha(propensity: np.ndarray) -> float:
    """Crump, Hotz, Imbens & Mitnik (2009): the trimming threshold α that minimises the variance of the ATE on
    the kept population. With g = 1 / (e (1 − e)): no trimming when max g ≤ 2 E[g]; otherwise γ solves
    γ = 2 E[g | g ≤ γ] and α = 1/2 − sqrt(1/4 − 1/γ). So a design where everyone has a small but similar
    propensity is not trimmed away, while units in thin tails are."""
    e = np.clip(propensity, 1e-9, 1 - 1e-9)
    g = np.sort(1.0 / (e * (1 - e)))
    if g[-1] <= 2 * g.mean():
        return 0.0
    running = np.cumsum(g) / np.arange(1, len(g) + 1)
    ok = np.flatnonzero(g <= 2 * running)
    gamma = 2 * running[ok[-1]] if len(ok) else 4.0
    return float(0.5 - math.sqrt(max(0.25 - 1.0 / max(gamma, 4.0), 0.0)))


def _round(value: float, digits: int = 4) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None


def _doubleml_fit(y: np.ndarray, d: np.ndarray, x: np.ndarray, g0: np.ndarray, g1: np.ndarray, m: np.ndarray,
                  score: str, settings: EffectSettings, sensitivity: bool = True) -> dict[str, float]:
    """DoubleML's IRM with the cross-fitted predictions given from outside: estimate, interval, p-value and the
    robustness values of its sensitivity analysis."""
    import doubleml as dml
    from sklearn.dummy import DummyClassifier, DummyRegressor

    data = pd.DataFrame(np.nan_to_num(x, nan=0.0), columns=[f"x{i}" for i in range(x.shape[1])])
    data["y"] = y
    data["d"] = d
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    ml_g = DummyClassifier() if binary else DummyRegressor()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dml_data = dml.DoubleMLData(data, "y", "d", [c for c in data.columns if c.startswith("x")])
        model = dml.DoubleMLIRM(dml_data, ml_g, DummyClassifier(), n_folds=2, n_rep=m.shape[1], score=score,
                                trimming_threshold=1e-3)
        model.fit(external_predictions={"d": {"ml_g0": g0, "ml_g1": g1, "ml_m": m}})
        ci = model.confint(level=settings.level).to_numpy()[0]
        out = {"estimate": float(model.coef[0]), "ci_low": float(ci[0]), "ci_high": float(ci[1]),
               "std_error": float(model.se[0]), "p_value": float(model.pval[0])}
        out["robustness_value"] = out["robustness_value_ci"] = math.nan
        if sensitivity:
            try:
                model.sensitivity_analysis(cf_y=0.03, cf_d=0.03, level=settings.level)
                params = model.sensitivity_params
                out["robustness_value"] = float(np.asarray(params["rv"]).ravel()[0])
                out["robustness_value_ci"] = float(np.asarray(params["rva"]).ravel()[0])
            except (ValueError, FloatingPointError, KeyError):  # e.g. a degenerate variance
                pass
    return out


def estimate_effects(
    frame: pd.DataFrame,
    treatment: str,
    outcome: str,
    covariates: Sequence[str],
    control: str | None = None,
    by: str | None = None,
    estimands: Sequence[str] = ESTIMANDS,
    settings: EffectSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> EffectReport:
    """Average effects of every treatment level against the control level (see the module's text)."""
    settings = settings or EffectSettings()
    for estimand in estimands:
        if estimand not in ESTIMANDS:
            raise EffectError("unknown_estimand", estimand=estimand)
    if by is not None and by not in frame.columns:
        raise EffectError("missing_columns", columns=by)
    t, y, x, control_level, treated_levels = prepare(frame, treatment, outcome, covariates, control)
    groups = None if by is None else frame.loc[t.index, by].map(lambda v: "" if pd.isna(v) else str(v))
    if settings.repetitions is None:
        settings = replace(settings, repetitions=settings.repetitions_for(len(t)))
    report = EffectReport(treatment, outcome, control_level, list(covariates), len(frame), len(t), settings)
    nuis = cross_fit(t, y, x, settings, progress)
    cidx = nuis.levels.index(control_level)
    yv, tv, xv = y.to_numpy(float), t.to_numpy(), x.to_numpy(float)
    bins = np.linspace(0, 1, 21)
    for level in treated_levels:
        if progress:
            progress(f"estimating {level} against {control_level}")
        kidx = nuis.levels.index(level)
        rows = np.flatnonzero((tv == level) | (tv == control_level))
        d = (tv[rows] == level).astype(float)
        n_treated, n_control = int(d.sum()), int(len(d) - d.sum())
        if n_treated < settings.min_group or n_control < settings.min_group:
            report.skipped.append({"treatment_level": level, "reason": "too_few", "n_treated": n_treated,
                                   "n_control": n_control})
            continue
        pk, pc = nuis.propensity[rows, kidx, :], nuis.propensity[rows, cidx, :]
        m = np.clip(pk / np.maximum(pk + pc, 1e-12), 1e-6, 1 - 1e-6)
        g0, g1 = nuis.outcome[rows, cidx, :], nuis.outcome[rows, kidx, :]
        m_mean = m.mean(axis=1)
        alpha = crump_alpha(m_mean) if settings.alpha is None else settings.alpha
        att_alpha = ATT_ALPHA if settings.alpha is None else settings.alpha
        below = m_mean < alpha
        above = m_mean > 1 - alpha
        treated = d == 1
        above_att = (m_mean > 1 - att_alpha) & treated
        report.overlap[level] = {
            "alpha": round(alpha, 5),
            "alpha_att": att_alpha,
            "bins": [round(float(b), 2) for b in bins],
            "treated": np.histogram(m_mean[treated], bins)[0].tolist(),
            "control": np.histogram(m_mean[~treated], bins)[0].tolist(),
            "trimmed": {
                "ATE": {"propensity_below": int(below.sum()), "propensity_above": int(above.sum())},
                "ATT": {"propensity_below": 0, "propensity_above": int(above_att.sum())},
            },
        }
        balance_before = _smd(xv[rows], treated)
        balance_after: dict[str, np.ndarray] = {}
        for estimand in estimands:
            keep = ~(below | above) if estimand == "ATE" else ~above_att
            if int(d[keep].sum()) < settings.min_group or int((1 - d[keep]).sum()) < settings.min_group:
                report.skipped.append({"treatment_level": level, "estimand": estimand, "reason": "no_overlap"})
                continue
            score = "ATE" if estimand == "ATE" else "ATTE"
            report.kept[(level, estimand)] = rows[keep]
            fit = _doubleml_fit(yv[rows][keep], d[keep], xv[rows][keep], g0[keep], g1[keep], m[keep], score,
                                settings)
            report.estimates.append(Estimate(
                estimand, level, control_level, fit["estimate"], fit["ci_low"], fit["ci_high"], fit["std_error"],
                fit["p_value"], int(d[keep].sum()), int((1 - d[keep]).sum()), int((~keep).sum()),
                robustness_value=fit["robustness_value"], robustness_value_ci=fit["robustness_value_ci"],
            ))
            mk = m_mean[keep]
            w = np.where(d[keep] == 1, 1 / mk, 1 / (1 - mk)) if estimand == "ATE" else np.where(
                d[keep] == 1, 1.0, mk / (1 - mk))
            balance_after[estimand] = _smd(xv[rows][keep], treated[keep], w)
            if groups is not None:
                g = groups.to_numpy()[rows][keep]
                for value in sorted(set(g)):
                    sel = g == value
                    dd = d[keep][sel]
                    if dd.sum() < settings.min_group or (1 - dd).sum() < settings.min_group:
                        report.skipped.append({"treatment_level": level, "estimand": estimand, "by": by,
                                               "group": value, "reason": "too_few"})
                        continue
                    gfit = _doubleml_fit(yv[rows][keep][sel], dd, xv[rows][keep][sel], g0[keep][sel],
                                         g1[keep][sel], m[keep][sel], score, settings, sensitivity=False)
                    report.estimates.append(Estimate(
                        estimand, level, control_level, gfit["estimate"], gfit["ci_low"], gfit["ci_high"],
                        gfit["std_error"], gfit["p_value"], int(dd.sum()), int((1 - dd).sum()), 0, by=by,
                        group=value,
                    ))
        report.balance[level] = [
            {"covariate": name, "smd_before": _round(balance_before[j]),
             **{f"smd_after_{e}": _round(balance_after[e][j]) for e in balance_after}}
            for j, name in enumerate(x.columns)
        ]
    report.nuisances = nuis
    report.encoded = (t, y, x)
    return report


def max_abs_smd(balance: list[dict[str, Any]], key: str) -> float:
    """The largest absolute standardised mean difference in one balance list (``smd_before`` or
    ``smd_after_ATE`` / ``smd_after_ATT``)."""
    values = [abs(row[key]) for row in balance if row.get(key) is not None]
    return max(values) if values else math.nan
