"""Per-client effects: how much each service is estimated to change *this* client's outcome (issue 8, item 2).

**Estimator: the DR-learner** (Kennedy 2023, "Towards optimal doubly robust estimation of heterogeneous causal
effects") with a ridge-regression final stage. The effect estimate's cross-fitted nuisance models give every
row a doubly robust pseudo-outcome for each treatment level ``k`` against the control level ``c``,
``φ_k = Γ(k) − Γ(c)`` (the AIPW score of :func:`polku.impact.policy.rewards`, propensities floored at
:data:`PSEUDO_OUTCOME_FLOOR`). Its conditional mean given the covariates is the conditional average treatment
effect, so a regression of ``φ_k`` on the covariates estimates each client's effect.

The regression is linear in the standardised covariates (a missing value is the column's mean plus an indicator
that it is missing), with a ridge penalty chosen among :data:`ALPHAS` by five-fold cross-validation with the
one-standard-error rule (:func:`choose_alpha`). The pseudo-outcomes are very noisy (they divide by small
propensities), so the penalty decides how much of the apparent heterogeneity is believed: where the data cannot
tell clients apart, every client gets about the average effect. A linear final stage keeps the result readable:
each client's effect is the average effect plus one contribution per covariate (``β_j (x_j − mean_j)``), and the
largest contributions are the reasons shown.

**Uncertainty.** The interval of a client's effect comes from the heteroskedasticity-robust (sandwich) covariance
of the ridge coefficients, ``A⁻¹ (Σ dᵢ dᵢᵀ rᵢ²) A⁻¹`` with ``A = DᵀD + Λ`` (the intercept unpenalised), so
``se(x) = sqrt(dᵀ V d)``. It describes the sampling variation of the fitted line, not the bias the penalty may
add; docs/effects.md says so.

The fitted model is a handful of numbers per level (means, scales, coefficients, covariance), stored with the
effect run as aggregates (never a row) and applied to one client's row on the client page.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .effects import EffectReport, encode_covariates
from .policy import rewards

#: The propensity floor of the pseudo-outcomes: the same as the average effects' score (DoubleML's trimming
#: threshold). Measured (docs/BENCHMARKS.md), mean per-client error over the services: 0.049 (20,000 clients) and
#: 0.035 (200,000) with this floor; 0.045 and 0.043 with 0.01; 0.077 and 0.057 with 0.05 (a floor above the
#: common propensities biases the pseudo-outcomes, and many services have propensities of 0.01 or less).
PSEUDO_OUTCOME_FLOOR = 1e-3
#: The ridge penalties tried (on standardised covariates; 1 is almost none, 10⁶ leaves only the average).
ALPHAS = tuple(float(a) for a in np.logspace(0, 6, 13))
Z95 = 1.959964


@dataclass
class LevelModel:
    """The final-stage regression of one treatment level: ``coefficients`` over ``[intercept, columns...]``."""

    level: str
    alpha: float
    coefficients: np.ndarray
    covariance: np.ndarray
    n_treated: int


@dataclass
class ClientEffectModel:
    """Everything needed to give a new row its per-level effects (see the module's text)."""

    control_level: str
    covariates: list[str]  # the table's columns, as named by the caller
    columns: list[str]  # the encoded columns (text columns as ``name=level``), then ``name:missing`` indicators
    means: np.ndarray
    scales: np.ndarray
    missing_columns: list[str]  # the encoded columns that get a missing-value indicator
    levels: list[LevelModel]
    rows: int

    # -- applying ------------------------------------------------------------------------------------------------
    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """The standardised design (without the intercept) of a table with the covariate columns."""
        encoded = encode_covariates(frame, self.covariates)
        base = [c for c in self.columns if not c.endswith(":missing")]
        values = encoded.reindex(columns=base).to_numpy(dtype=float)
        # a text level the model never saw is simply not that level: its indicator column is absent (0)
        for j, name in enumerate(base):
            if "=" in name and name not in encoded.columns:
                values[:, j] = 0.0
        indicators = np.column_stack([np.isnan(values[:, base.index(c)]) for c in self.missing_columns]) \
            if self.missing_columns else np.zeros((len(frame), 0))
        full = np.column_stack([values, indicators.astype(float)])
        full = np.where(np.isnan(full), self.means, full)
        return (full - self.means) / self.scales

    def predict(self, frame: pd.DataFrame, level: float = 0.95, *, interval: bool = True) -> pd.DataFrame:
        """For each row and level: ``effect``, ``low``, ``high`` (a long table: row, level, effect, low, high;
        without ``interval`` the limits are the effect itself)."""
        z = self.design(frame)
        d = np.column_stack([np.ones(len(z)), z])
        q = _z(level)
        parts = []
        for m in self.levels:
            effect = d @ m.coefficients
            se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, m.covariance, d), 0.0)) if interval else 0.0
            parts.append(pd.DataFrame({"row": np.arange(len(z)), "level": m.level, "effect": effect,
                                       "low": effect - q * se, "high": effect + q * se}))
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
            columns=["row", "level", "effect", "low", "high"])

    def contributions(self, frame: pd.DataFrame, level: str) -> pd.Series:
        """One row's contributions to its effect of ``level`` by covariate (the table's column names), besides the
        average effect (``_base``): an indicator's and a missing-value indicator's parts go to their column."""
        m = next(m for m in self.levels if m.level == level)
        z = self.design(frame.iloc[[0]])[0]
        parts = m.coefficients[1:] * z
        out: dict[str, float] = {"_base": float(m.coefficients[0])}
        for name, value in zip(self.columns, parts, strict=True):
            source = name.split(":missing")[0].split("=")[0]
            out[source] = out.get(source, 0.0) + float(value)
        return pd.Series(out)

    # -- storing -------------------------------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        return {
            "estimator": "DR-learner (doubly robust pseudo-outcomes, ridge final stage)",
            "control_level": self.control_level, "covariates": self.covariates, "columns": self.columns,
            "means": self.means.tolist(), "scales": self.scales.tolist(), "missing_columns": self.missing_columns,
            "rows": self.rows, "pseudo_outcome_floor": PSEUDO_OUTCOME_FLOOR,
            "levels": [{"level": m.level, "alpha": m.alpha, "coefficients": m.coefficients.tolist(),
                        "covariance": m.covariance.tolist(), "n_treated": m.n_treated} for m in self.levels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClientEffectModel:
        return cls(
            control_level=data["control_level"], covariates=list(data["covariates"]), columns=list(data["columns"]),
            means=np.asarray(data["means"], dtype=float), scales=np.asarray(data["scales"], dtype=float),
            missing_columns=list(data["missing_columns"]), rows=int(data["rows"]),
            levels=[LevelModel(m["level"], float(m["alpha"]), np.asarray(m["coefficients"], dtype=float),
                               np.asarray(m["covariance"], dtype=float), int(m["n_treated"]))
                    for m in data["levels"]],
        )


def _z(level: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2)) if level != 0.95 else Z95


def choose_alpha(design: np.ndarray, target: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """The ridge penalty by ``folds``-fold cross-validation with a one-standard-error rule: the largest penalty whose
    cross-validated error is within one standard error of the smallest (Hastie, Tibshirani & Friedman, *Elements of
    Statistical Learning*, 7.10). The standard error is that of the paired, row-by-row difference between the two
    penalties' squared errors, so that the noise common to both (large: the pseudo-outcomes are heavy-tailed)
    cancels. The rule keeps a few extreme rows from buying heterogeneity that the data do not support."""
    n = len(target)
    if n < 2 * folds:
        return ALPHAS[-1]
    fold = np.random.default_rng(seed).permutation(n) % folds
    predicted = np.zeros((n, len(ALPHAS)))
    for f in range(folds):
        train, test = fold != f, fold == f
        x, y = design[train], target[train]
        mean_x, mean_y = x.mean(axis=0), y.mean()
        xc = x - mean_x
        gram, cross = xc.T @ xc, xc.T @ (y - mean_y)
        for i, alpha in enumerate(ALPHAS):
            beta = np.linalg.solve(gram + alpha * np.eye(len(gram)), cross)
            predicted[test, i] = mean_y + (design[test] - mean_x) @ beta
    errors = (target[:, None] - predicted) ** 2
    best = int(np.argmin(errors.mean(axis=0)))
    difference = errors - errors[:, [best]]
    se = difference.std(axis=0, ddof=1) / math.sqrt(n)
    within = np.flatnonzero(difference.mean(axis=0) <= se)
    return float(ALPHAS[int(within.max())])


def _ridge(design: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(alpha, coefficients over [intercept, columns], sandwich covariance) of the ridge regression."""
    alpha = choose_alpha(design, target)
    d = np.column_stack([np.ones(len(design)), design])
    penalty = np.full(d.shape[1], alpha)
    penalty[0] = 0.0
    a_inv = np.linalg.pinv(d.T @ d + np.diag(penalty))
    beta = a_inv @ (d.T @ target)
    resid = target - d @ beta
    meat = (d * resid[:, None] ** 2).T @ d
    return alpha, beta, a_inv @ meat @ a_inv


#: A level is given per-client effects only when at least this many rows have overlap for it.
MIN_ROWS = 50


def _population(report: EffectReport, level: str, n: int) -> np.ndarray:
    """The rows the per-client regression of ``level`` learns from: those the average effect describes (the level's
    and the control's rows with overlap, after the ATE's trimming, see polku.impact.effects), so that a client's
    effect is learnt where there are comparable clients both with and without the service; else every row."""
    for estimand in ("ATE", "ATT"):
        kept = report.kept.get((level, estimand))
        if kept is not None:
            return np.asarray(kept)
    return np.arange(n)


def fit_client_effects(report: EffectReport, covariates: Sequence[str], frame: pd.DataFrame) -> ClientEffectModel:
    """The DR-learner of every treated level, from an effect estimate's cross-fitted nuisances (the rows the
    estimate used; ``frame`` is the table it was given, ``covariates`` its covariate columns)."""
    if report.nuisances is None or report.encoded is None:
        raise ValueError("the effect report keeps no nuisance models")
    nuis, (t, y, x) = report.nuisances, report.encoded
    phi = rewards(nuis, t, y, report.control_level, floor=PSEUDO_OUTCOME_FLOOR)
    raw = x.to_numpy(dtype=float)
    base = list(x.columns)
    missing = [c for j, c in enumerate(base) if np.isnan(raw[:, j]).any()]
    indicators = np.column_stack([np.isnan(raw[:, base.index(c)]) for c in missing]).astype(float) \
        if missing else np.zeros((len(raw), 0))
    full = np.column_stack([raw, indicators])
    with warnings.catch_warnings():  # a column missing on every row has no mean: it becomes 0 below
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(full, axis=0)
    means = np.where(np.isnan(means), 0.0, means)
    full = np.where(np.isnan(full), means, full)
    scales = full.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    design = (full - means) / scales
    codes = t.to_numpy()
    levels: list[LevelModel] = []
    for k, level in enumerate(nuis.levels):
        if level == report.control_level:
            continue
        rows = _population(report, level, len(raw))
        if len(rows) < MIN_ROWS:
            continue
        alpha, beta, cov = _ridge(design[rows], phi[rows, k])
        levels.append(LevelModel(level, alpha, beta, cov, int((codes[rows] == level).sum())))
    return ClientEffectModel(
        control_level=report.control_level, covariates=[c for c in covariates if c in frame.columns],
        columns=base + [f"{c}:missing" for c in missing], means=means, scales=scales, missing_columns=missing,
        levels=levels, rows=len(raw),
    )


def summary(model: ClientEffectModel, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Per level: the spread of the estimated per-client effects over ``frame``'s rows and the penalty chosen (what
    the command prints and the run stores)."""
    predicted = model.predict(frame, interval=False)
    out = []
    for m in model.levels:
        rows = predicted[predicted["level"] == m.level]
        effect = rows["effect"].to_numpy()
        out.append({"level": m.level, "mean": _round(effect.mean()), "sd": _round(effect.std()),
                    "p10": _round(np.quantile(effect, 0.1)), "p90": _round(np.quantile(effect, 0.9)),
                    "ridge_alpha": m.alpha, "n_treated": m.n_treated})
    return out


def _round(value: float) -> float | None:
    return round(float(value), 5) if math.isfinite(value) else None
