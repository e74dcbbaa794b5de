"""The fairness audit of an employment-potential model: how well it ranks (AUC), how well its probabilities match
what happened (calibration), and whom it would single out at a threshold (true and false positive rates,
predicted-positive rates), by sex, age band, migrant background, language and their intersections.

The figures come from fairlearn's :class:`~fairlearn.metrics.MetricFrame`, one per grouping. The largest
between-group differences are fairlearn's, as it defines them (``MetricFrame.difference()``: largest minus smallest
group value; the equalized-odds difference: the larger of the TPR and FPR differences; the demographic-parity
difference: the selection-rate difference), taken over the groups whose figures are shown.

**Small cells.** A group (a *cell*: one value of a grouping, e.g. women with a foreign background) is protected
in two steps, both with *complementary suppression* (see :func:`_complement`):

* its **count** is hidden when it is below ``POLKU["SMALL_CELL_THRESHOLD"]`` (*k*, default 5): such a count never
  appears, neither directly nor as the difference of the overall count and the other cells' counts;
* its **figures** (every rate, AUC and ECE) are hidden when it has fewer than ``min_cell`` rows (default
  :data:`MIN_CELL`, never less than *k*): a rate computed on a handful of clients is mostly chance, and a rate on
  fewer than *k* clients would reveal them. Such a cell is marked ``suppressed: true`` and left out of the
  largest-difference figures and of the flags.

When exactly one cell of a row or column of a table would be hidden, the next smallest is hidden as well, so that
the hidden one cannot be worked out from the margin (the overall figure, or the single-attribute table).

**Overrides.** Professionals can record that they disagree with an estimate (``EstimateOverride``); the audit
counts them by group and direction and as a rate per 1,000 scored clients, with the same suppression.

The model is decision support: the audit tells whether its estimates serve every group equally well, and the
professional's judgement always decides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils import formats
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from fairlearn.metrics import MetricFrame
from sklearn.metrics import roc_auc_score

from polku.impact.table import AGE_BANDS

if TYPE_CHECKING:
    from polku.impact.models import FairnessReport, ModelVersion
    from polku.web.charts import Chart

K = TypeVar("K", bound=Hashable)

#: Calibration target: expected calibration error at most this, overall and in every group of
#: :data:`TARGET_GROUPINGS` (issue 7). A group whose ECE is above it is flagged.
ECE_LIMIT = 0.02
#: A grouping whose AUC differs by more than this between its best- and worst-ranked groups is flagged: the model
#: sorts the clients of one group noticeably less well than those of another.
AUC_GAP_LIMIT = 0.05
#: A grouping whose true-positive rate (or false-positive rate) differs by more than this between two groups is
#: flagged: at the threshold, clients who go on to find work (or who do not) are singled out more often in one
#: group than in another (the two halves of equalized odds).
RATE_GAP_LIMIT = 0.10
#: The default least number of rows behind a group's figures (never less than ``SMALL_CELL_THRESHOLD``).
MIN_CELL = 50
#: A flag is marked "within chance" when the figure is at most this many times its chance level: for ECE, what a
#: perfectly calibrated model would show on a group of that size (:func:`ece_noise`); for a difference between two
#: groups, the standard error of that difference (AUC: Hanley and McNeil 1982; rates: binomial).
NOISE_FACTOR = 2.0
#: The groupings the calibration target names: sex and migrant background.
TARGET_GROUPINGS = ("sex", "foreign_background")

DEFAULT_GROUPS = ("sex", "age_band", "foreign_background", "language")
DEFAULT_INTERSECTIONS = (("sex", "foreign_background"), ("sex", "age_band"), ("foreign_background", "age_band"),
                         ("sex", "language"))
#: The figures of every cell, in order. ``n`` is the number of rows with a known outcome.
METRICS = ("n", "base_rate", "mean_predicted", "auc", "ece", "ece_noise", "tpr", "fpr", "selection_rate", "auc_se",
           "tpr_se", "fpr_se")
#: The figures compared between groups (the largest difference of each is reported).
COMPARED = ("base_rate", "mean_predicted", "auc", "ece", "tpr", "fpr", "selection_rate")
#: A group value that is missing in the data.
UNKNOWN = "unknown"

ATTRIBUTE_LABELS = {
    "sex": gettext_lazy("Sex"),
    "age_band": gettext_lazy("Age band"),
    "foreign_background": gettext_lazy("Migrant background"),
    "language": gettext_lazy("Language"),
}
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "sex": {"female": gettext_lazy("Female"), "male": gettext_lazy("Male")},
    "age_band": {"under_25": gettext_lazy("Under 25"), "25_29": "25–29", "30_49": "30–49", "50_54": "50–54",
                 "55_plus": gettext_lazy("55 and over")},
    "foreign_background": {"no": gettext_lazy("Finnish background"), "yes": gettext_lazy("Foreign background"),
                           "not_stated": gettext_lazy("Not stated")},
    "language": {"fi": gettext_lazy("Finnish"), "sv": gettext_lazy("Swedish"), "en": gettext_lazy("English"),
                 "other": gettext_lazy("Other language")},
}
#: Group values in reading order (others follow alphabetically).
VALUE_ORDER = {
    "sex": ["female", "male"],
    "age_band": [name for name, _low, _high in AGE_BANDS],
    "foreign_background": ["no", "yes", "not_stated"],
    "language": ["fi", "sv", "en", "other"],
}


# --- Calibration ---------------------------------------------------------------------------------------------


def _as_array(values: Iterable[float]) -> np.ndarray:
    if isinstance(values, (np.ndarray, pd.Series, list, tuple)):
        return np.asarray(values, dtype=float)
    return np.asarray(list(values), dtype=float)


def _arrays(y: Iterable[float], p: Iterable[float]) -> tuple[np.ndarray, np.ndarray]:
    y_arr, p_arr = _as_array(y), _as_array(p)
    if y_arr.shape != p_arr.shape or y_arr.ndim != 1:
        raise ValueError("y and p must be one-dimensional and of the same length")
    if np.isnan(y_arr).any() or np.isnan(p_arr).any():
        raise ValueError("y and p must not be missing")
    if ((p_arr < 0) | (p_arr > 1)).any():
        raise ValueError("probabilities must be within [0, 1]")
    if not np.isin(y_arr, (0.0, 1.0)).all():
        raise ValueError("outcomes must be 0 or 1")
    return y_arr, p_arr


def _bin_index(p: np.ndarray, bins: int) -> np.ndarray:
    """Equal-width bins over [0, 1]: bin *i* holds ``i/bins <= p < (i+1)/bins``; the last bin also holds 1."""
    if bins < 1:
        raise ValueError("bins must be at least 1")
    return np.minimum(np.floor(p * bins).astype(int), bins - 1)


def expected_calibration_error(y: Iterable[float], p: Iterable[float], bins: int = 10) -> float:
    """Expected calibration error: how far, on average, the predicted probabilities are from what happened.

    The probabilities are put into ``bins`` equal-width bins over [0, 1] (the first ``[0, 0.1)``, ..., the last
    ``[0.9, 1]``). In each bin *b* with *n_b* of the *n* rows, the gap is the absolute difference of the observed
    rate (share of outcomes 1) and the mean predicted probability; ECE is the gaps' mean weighted by bin size::

        ECE = Σ_b (n_b / n) · |observed_b − predicted_b|

    It is 0 when every bin's mean prediction equals its observed rate and at most 1. Empty bins count for nothing.
    With no rows it is NaN. ECE is biased upwards in small groups (see :func:`ece_noise`).
    """
    y_arr, p_arr = _arrays(y, p)
    if not len(y_arr):
        return float("nan")
    index = _bin_index(p_arr, bins)
    observed = np.bincount(index, weights=y_arr, minlength=bins)
    predicted = np.bincount(index, weights=p_arr, minlength=bins)
    # Σ_b (n_b/n)·|ȳ_b − p̄_b| = Σ_b |Σy − Σp| / n: exact, no division by empty bins.
    return float(min(np.abs(observed - predicted).sum() / len(y_arr), 1.0))


def ece_noise(p: Iterable[float], bins: int = 10) -> float:
    """About the ECE a *perfectly calibrated* model would show on these predictions, from chance alone.

    If the outcomes really had the predicted probabilities, a bin's observed rate would scatter around its mean
    prediction with standard deviation σ_b = √(Σ p_i(1 − p_i)) / n_b, and its absolute gap would average σ_b·√(2/π)
    (normal approximation). The sum over bins weighted as in ECE is this figure: about 0.04 for 1,000 rows spread
    over ten bins, 0.01 for 10,000. An ECE not clearly above it says little about the model.
    """
    p_arr = _as_array(p)
    if not len(p_arr):
        return float("nan")
    index = _bin_index(p_arr, bins)
    variance = np.bincount(index, weights=p_arr * (1 - p_arr), minlength=bins)
    return float(math.sqrt(2 / math.pi) * np.sqrt(variance).sum() / len(p_arr))


def calibration_table(y: Iterable[float], p: Iterable[float], bins: int = 10) -> pd.DataFrame:
    """The calibration curve's figures: one row per equal-width bin (as in :func:`expected_calibration_error`)
    with its bounds (``low``, ``high``), number of rows ``n``, ``mean_predicted`` and ``observed_rate`` (both NaN
    for an empty bin)."""
    y_arr, p_arr = _arrays(y, p)
    index = _bin_index(p_arr, bins)
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted = np.bincount(index, weights=p_arr, minlength=bins) / counts
        observed = np.bincount(index, weights=y_arr, minlength=bins) / counts
    return pd.DataFrame({
        "low": np.arange(bins) / bins,
        "high": np.arange(1, bins + 1) / bins,
        "n": counts.astype(int),
        "mean_predicted": predicted,
        "observed_rate": observed,
    })


# --- The audit -----------------------------------------------------------------------------------------------


def small_cell_threshold() -> int:
    return int(settings.POLKU["SMALL_CELL_THRESHOLD"])


def _float(value: Any) -> float | None:
    """A plain float for JSON, None for missing or not-a-number."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _metric_functions(threshold: float, bins: int) -> dict[str, Callable[[Any, Any], float]]:
    """The cell figures as MetricFrame metrics of (outcome, probability). Predicted positive: probability above
    ``threshold``. A rate with no rows to divide by is NaN (reported as None)."""

    def n(y: Any, p: Any) -> float:
        return float(len(y))

    def base_rate(y: Any, p: Any) -> float:
        return float(np.mean(y)) if len(y) else math.nan

    def mean_predicted(y: Any, p: Any) -> float:
        return float(np.mean(p)) if len(p) else math.nan

    def auc(y: Any, p: Any) -> float:
        y_arr = np.asarray(y)
        if len(np.unique(y_arr)) < 2:
            return math.nan
        return float(roc_auc_score(y_arr, np.asarray(p)))

    def ece(y: Any, p: Any) -> float:
        return expected_calibration_error(np.asarray(y), np.asarray(p), bins)

    def noise(y: Any, p: Any) -> float:
        return ece_noise(np.asarray(p), bins)

    def tpr(y: Any, p: Any) -> float:
        positive = np.asarray(y) == 1
        return float(np.mean(np.asarray(p)[positive] > threshold)) if positive.any() else math.nan

    def fpr(y: Any, p: Any) -> float:
        negative = np.asarray(y) == 0
        return float(np.mean(np.asarray(p)[negative] > threshold)) if negative.any() else math.nan

    def selection_rate(y: Any, p: Any) -> float:
        return float(np.mean(np.asarray(p) > threshold)) if len(p) else math.nan

    def auc_se(y: Any, p: Any) -> float:
        value = auc(y, p)
        if math.isnan(value):
            return math.nan
        positives = float(np.sum(np.asarray(y) == 1))
        negatives = float(len(y) - positives)
        q1, q2 = value / (2 - value), 2 * value**2 / (1 + value)
        variance = (value * (1 - value) + (positives - 1) * (q1 - value**2)
                    + (negatives - 1) * (q2 - value**2)) / (positives * negatives)
        return math.sqrt(max(variance, 0.0))

    def rate_se(rate: Callable[[Any, Any], float], label: int) -> Callable[[Any, Any], float]:
        def se(y: Any, p: Any) -> float:
            value, rows = rate(y, p), float(np.sum(np.asarray(y) == label))
            return math.nan if math.isnan(value) else math.sqrt(value * (1 - value) / rows)

        return se

    return {"n": n, "base_rate": base_rate, "mean_predicted": mean_predicted, "auc": auc, "ece": ece,
            "ece_noise": noise, "tpr": tpr, "fpr": fpr, "selection_rate": selection_rate, "auc_se": auc_se,
            "tpr_se": rate_se(tpr, 1), "fpr_se": rate_se(fpr, 0)}


def _complement(sizes: Mapping[K, int], primary: Iterable[K], lines: Iterable[Sequence[K]]) -> set[K]:
    """Complementary suppression: the cells to hide, given those that must be hidden (``primary``).

    A *line* is a set of cells whose total is published elsewhere (a table's row or column, whose margin is the
    overall figure or the single-attribute table). If exactly one cell of a line is hidden, it could be worked out
    from the total and the others, so the smallest other cell of the line is hidden too; repeated until no line
    has exactly one hidden cell.
    """
    hidden = {cell for cell in primary if cell in sizes}
    lines = [[cell for cell in line if cell in sizes] for line in lines]
    changed = True
    while changed:
        changed = False
        for line in lines:
            shown = [cell for cell in line if cell not in hidden]
            if len(line) - len(shown) == 1 and shown:
                hidden.add(min(shown, key=lambda cell: (sizes[cell], str(cell))))
                changed = True
    return hidden


def _lines(keys: Sequence[tuple[str, ...]]) -> list[list[tuple[str, ...]]]:
    """A table's lines: for each attribute, the cells that agree on every other attribute (a single-attribute
    table is one line)."""
    out: list[list[tuple[str, ...]]] = []
    width = len(keys[0]) if keys else 0
    for position in range(width):
        by_rest: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for key in keys:
            by_rest.setdefault(key[:position] + key[position + 1:], []).append(key)
        out.extend(by_rest.values())
    return out


def _order(attributes: Sequence[str], key: tuple[str, ...]) -> tuple[Any, ...]:
    out: list[Any] = []
    for attribute, value in zip(attributes, key, strict=True):
        known = VALUE_ORDER.get(attribute, [])
        out.append((known.index(value) if value in known else len(known), value))
    return tuple(out)


def grouping_name(attributes: Sequence[str]) -> str:
    """The key of a grouping in the result: its attributes joined with ``+`` (``sex+age_band``)."""
    return "+".join(attributes)


def grouping_label(attributes: Sequence[str]) -> str:
    """A grouping's name for readers, e.g. "Sex × Migrant background"."""
    return " × ".join(str(ATTRIBUTE_LABELS.get(a, a)) for a in attributes)


def value_label(attribute: str, value: str) -> str:
    if value == UNKNOWN:
        return _("Unknown")
    return str(VALUE_LABELS.get(attribute, {}).get(value, value))


def cell_label(attributes: Sequence[str], values: Sequence[str]) -> str:
    """A cell's name for readers, e.g. "Female / Foreign background"."""
    return " / ".join(value_label(a, v) for a, v in zip(attributes, values, strict=True))


def _features(frame: pd.DataFrame, attributes: Sequence[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for attribute in attributes:
        column = frame[attribute]
        out[attribute] = column.astype(object).where(column.notna(), UNKNOWN).astype(str)
    return out


def _keys(index: pd.Index) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in key) if isinstance(key, tuple) else (str(key),) for key in index]


def _grouping(y: np.ndarray, p: np.ndarray, features: pd.DataFrame, attributes: tuple[str, ...],
              functions: dict[str, Callable[[Any, Any], float]], k: int, min_cell: int) -> dict[str, Any]:
    """One grouping's cells, their suppression, the largest differences and fairlearn's parity figures."""
    sensitive = features[list(attributes)] if len(attributes) > 1 else features[attributes[0]]

    def figures(y_true: Any, y_pred: Any) -> dict[str, float]:
        return {name: function(y_true, y_pred) for name, function in functions.items()}

    # One packed metric: fairlearn converts every row for every metric it evaluates, so one call per group that
    # returns all the figures keeps a region-sized audit to seconds.
    frame = MetricFrame(metrics={"figures": figures}, y_true=y, y_pred=p, sensitive_features=sensitive)
    packed = frame.by_group["figures"].dropna()
    by = pd.DataFrame(list(packed), index=packed.index)
    by = by[by["n"].notna() & (by["n"] > 0)]
    keys = _keys(by.index)
    sizes = {key: int(n) for key, n in zip(keys, by["n"], strict=True)}
    lines = _lines(keys)
    count_hidden = _complement(sizes, [key for key in keys if sizes[key] < k], lines)
    rates_hidden = _complement(sizes, [key for key in keys if sizes[key] < min_cell] + list(count_hidden), lines)
    cells = []
    for key, (_index, row) in sorted(zip(keys, by.iterrows(), strict=True), key=lambda kr: _order(attributes, kr[0])):
        suppressed = key in rates_hidden
        cell: dict[str, Any] = {
            "group": dict(zip(attributes, key, strict=True)),
            "key": "|".join(key),
            "n": None if key in count_hidden else sizes[key],
            "count_suppressed": key in count_hidden,
            "suppressed": suppressed,
        }
        for metric in METRICS[1:]:
            cell[metric] = None if suppressed else _float(row[metric])
        cells.append(cell)

    # fairlearn's between-groups difference (MetricFrame.difference(): largest minus smallest group value, groups
    # without a value skipped), its equalized-odds difference (the larger of the TPR and FPR differences) and its
    # demographic-parity difference (the selection-rate difference), over the cells shown. They are taken from the
    # cells already computed rather than from a second pass of fairlearn over the rows; the tests check them
    # against fairlearn's own functions.
    shown = [cell for cell in cells if not cell["suppressed"]]
    differences: dict[str, float | None] = dict.fromkeys(COMPARED)
    if len(shown) >= 2:
        for metric in COMPARED:
            values = [cell[metric] for cell in shown if cell[metric] is not None]
            differences[metric] = float(max(values) - min(values)) if values else None
    equalized_odds = (max(differences["tpr"], differences["fpr"])
                      if differences["tpr"] is not None and differences["fpr"] is not None else None)
    parity = differences["selection_rate"]
    return {
        "attributes": list(attributes),
        "cells": cells,
        "suppressed_cells": len(rates_hidden),
        "differences": differences,
        "equalized_odds_difference": equalized_odds,
        "demographic_parity_difference": parity,
    }


def _flags(overall: dict[str, Any], groupings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """What the report points out: ECE above :data:`ECE_LIMIT` overall or in a group; AUC differences above
    :data:`AUC_GAP_LIMIT` and TPR or FPR differences above :data:`RATE_GAP_LIMIT` within a grouping."""
    flags: list[dict[str, Any]] = []
    if overall.get("ece") is not None and overall["ece"] > ECE_LIMIT:
        flags.append({"kind": "ece", "grouping": None, "cell": None, "value": overall["ece"], "limit": ECE_LIMIT,
                      "within_noise": overall["ece"] <= NOISE_FACTOR * (overall.get("ece_noise") or 0)})
    for name, grouping in groupings.items():
        for cell in grouping["cells"]:
            if cell["suppressed"] or cell["ece"] is None or cell["ece"] <= ECE_LIMIT:
                continue
            flags.append({"kind": "ece", "grouping": name, "cell": cell["key"], "value": cell["ece"],
                          "limit": ECE_LIMIT,
                          "within_noise": cell["ece"] <= NOISE_FACTOR * (cell["ece_noise"] or 0)})
        for metric, kind, limit in (("auc", "auc_gap", AUC_GAP_LIMIT), ("tpr", "tpr_gap", RATE_GAP_LIMIT),
                                    ("fpr", "fpr_gap", RATE_GAP_LIMIT)):
            gap = grouping["differences"].get(metric)
            if gap is None or gap <= limit:
                continue
            shown = [cell for cell in grouping["cells"] if cell[metric] is not None]
            high = max(shown, key=lambda cell: cell[metric])
            low = min(shown, key=lambda cell: cell[metric])
            se = math.sqrt((high[f"{metric}_se"] or 0) ** 2 + (low[f"{metric}_se"] or 0) ** 2)
            flags.append({"kind": kind, "grouping": name, "cell": None, "value": gap, "limit": limit,
                          "highest": high["key"], "lowest": low["key"], "within_noise": gap <= NOISE_FACTOR * se})
    return flags


def _target(overall: dict[str, Any], groupings: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's calibration target: ECE ≤ :data:`ECE_LIMIT` overall and in every group of
    :data:`TARGET_GROUPINGS`. ``met`` is None when a group's ECE could not be measured (suppressed)."""
    failing, unmeasured = [], []
    if overall.get("ece") is None:
        unmeasured.append("overall")
    elif overall["ece"] > ECE_LIMIT:
        failing.append("overall")
    for name in TARGET_GROUPINGS:
        if name not in groupings:
            unmeasured.append(name)
            continue
        for cell in groupings[name]["cells"]:
            label = f"{name}:{cell['key']}"
            if cell["ece"] is None:
                unmeasured.append(label)
            elif cell["ece"] > ECE_LIMIT:
                failing.append(label)
    met = False if failing else (None if unmeasured else True)
    return {"ece_limit": ECE_LIMIT, "groupings": list(TARGET_GROUPINGS), "met": met, "failing": failing,
            "unmeasured": unmeasured}


def _overrides(overrides: pd.DataFrame, scored: pd.DataFrame, groupings: Sequence[tuple[str, ...]], k: int,
               min_cell: int) -> dict[str, Any]:
    """Recorded disagreements by group and direction, and per 1,000 scored clients (rows of the audited frame,
    also those whose outcome is not yet known). Counts of 1 to k − 1 are hidden (with complementary suppression
    along each group's directions and each direction's groups); a rate needs its count and at least ``min_cell``
    scored clients."""
    from polku.impact.models import OverrideDirection

    directions = list(OverrideDirection.values)
    directions += sorted({str(d) for d in overrides["direction"].dropna().unique()} - set(directions))

    def table(attributes: tuple[str, ...]) -> dict[str, Any]:
        ov = _features(overrides, attributes)
        ov["direction"] = overrides["direction"].astype(str).to_numpy()
        sc = _features(scored, attributes)
        scored_n = {tuple(str(v) for v in (key if isinstance(key, tuple) else (key,))): int(n)
                    for key, n in sc.groupby(list(attributes)).size().items()}
        counts = {tuple(str(v) for v in key): int(n)
                  for key, n in ov.groupby([*attributes, "direction"]).size().items()}
        keys = sorted(set(scored_n) | {key[:-1] for key in counts}, key=lambda key: _order(attributes, key))
        sizes: dict[Hashable, int] = {}
        for key in keys:
            for direction in directions:
                sizes[(key, direction)] = counts.get((*key, direction), 0)
            sizes[(key, "total")] = sum(counts.get((*key, d), 0) for d in directions)
        lines: list[list[Hashable]] = [[(key, d) for d in directions] for key in keys]
        for direction in [*directions, "total"]:
            lines.extend([(key, direction) for key in line] for line in _lines(keys))
        hidden = _complement(sizes, [cell for cell, n in sizes.items() if 0 < n < k], lines)
        scored_hidden = _complement(dict(scored_n.items()), [key for key, n in scored_n.items() if n < k],
                                    _lines(keys))
        cells = []
        for key in keys:
            n_scored = scored_n.get(key, 0)
            total_hidden = (key, "total") in hidden
            rate_shown = not total_hidden and key not in scored_hidden and n_scored >= min_cell
            cells.append({
                "group": dict(zip(attributes, key, strict=True)),
                "key": "|".join(key),
                "scored": None if key in scored_hidden else n_scored,
                "counts": {d: None if (key, d) in hidden else sizes[(key, d)] for d in directions},
                "total": None if total_hidden else sizes[(key, "total")],
                "per_1000": _float(1000 * sizes[(key, "total")] / n_scored) if rate_shown and n_scored else None,
                "suppressed": total_hidden or not rate_shown or any((key, d) in hidden for d in directions),
            })
        return {"attributes": list(attributes), "cells": cells}

    total = len(overrides)
    n_scored = len(scored)
    by_direction = overrides["direction"].astype(str).value_counts()
    overall_counts = {d: int(by_direction.get(d, 0)) for d in directions}
    small = [d for d, n in {**overall_counts, "total": total}.items() if 0 < n < k]
    overall_hidden = _complement({**overall_counts, "total": total}, small, [[*directions, "total"]])
    return {
        "directions": directions,
        "overall": {
            "scored": n_scored if n_scored >= k else None,
            "counts": {d: None if d in overall_hidden else n for d, n in overall_counts.items()},
            "total": None if "total" in overall_hidden else total,
            "per_1000": (_float(1000 * total / n_scored) if "total" not in overall_hidden and n_scored >= min_cell
                         else None),
        },
        "groupings": {grouping_name(attributes): table(attributes) for attributes in groupings},
    }


def audit(
    frame: pd.DataFrame,
    *,
    outcome: str,
    probability: str = "probability",
    threshold: float | None = None,
    groups: Sequence[str] = DEFAULT_GROUPS,
    intersections: Sequence[tuple[str, str]] = DEFAULT_INTERSECTIONS,
    min_cell: int | None = None,
    overrides: pd.DataFrame | None = None,
    bins: int = 10,
) -> dict[str, Any]:
    """Audit the estimates in ``frame`` (one row per scored client, the ``probability`` column the model's
    estimate, ``outcome`` what happened: 1, 0 or missing) by each of ``groups`` and ``intersections``.

    Rows whose outcome is missing (not yet known) are left out of every figure except the overrides' scored-client
    counts. ``threshold``: a client counts as *predicted positive* when the estimate is above it; by default the
    outcome's base rate among the audited rows ("predicted more likely than average").

    ``min_cell``: the least number of rows behind a group's figures, default :data:`MIN_CELL`, raised to
    ``POLKU["SMALL_CELL_THRESHOLD"]`` when given lower (see the module's notes on small cells).

    ``overrides``: recorded disagreements, a frame with the group attributes and ``direction``
    (``EstimateOverride.direction``) per disagreement.

    Returns plain JSON-serialisable data: ``overall`` figures, ``groupings`` (name → cells, differences,
    equalized-odds and demographic-parity differences), ``flags``, ``target``, ``calibration`` (the overall
    calibration table, small bins suppressed) and ``overrides`` (None when not given).
    """
    k = small_cell_threshold()
    least = max(MIN_CELL if min_cell is None else int(min_cell), k)
    groupings: list[tuple[str, ...]] = list(dict.fromkeys([(g,) for g in groups] + [tuple(i) for i in intersections]))
    attributes = list(dict.fromkeys(a for grouping in groupings for a in grouping))
    missing = [c for c in [outcome, probability, *attributes] if c not in frame.columns]
    if missing:
        raise ValueError(f"columns missing from the frame: {', '.join(missing)}")
    scored = frame[frame[probability].notna()]
    known = scored[scored[outcome].notna()]
    if not len(known):
        raise ValueError("no rows with both an estimate and a known outcome")
    y = known[outcome].to_numpy(dtype=float)
    p = known[probability].to_numpy(dtype=float)
    _arrays(y, p)  # validates
    y = y.astype(int)
    rule = "given" if threshold is not None else "base_rate"
    cut = float(threshold) if threshold is not None else float(y.mean())
    functions = _metric_functions(cut, bins)
    features = _features(known, attributes)

    n_all = len(y)
    overall: dict[str, Any] = {"n": n_all if n_all >= k else None, "suppressed": n_all < least}
    for metric in METRICS[1:]:
        overall[metric] = None if n_all < least else _float(functions[metric](y, p))

    calibration = calibration_table(y, p, bins)
    bin_sizes: dict[Hashable, int] = {int(i): int(n) for i, n in enumerate(calibration["n"]) if n > 0}
    bin_counts_hidden = _complement(bin_sizes, [i for i, n in bin_sizes.items() if n < k], [list(bin_sizes)])
    bin_rates_hidden = _complement(bin_sizes, [i for i, n in bin_sizes.items() if n < least] + list(
        bin_counts_hidden), [list(bin_sizes)])
    calibration_rows = [{
        "low": _float(row.low), "high": _float(row.high),
        "n": None if i in bin_counts_hidden else int(row.n),
        "mean_predicted": None if i in bin_rates_hidden or not row.n else _float(row.mean_predicted),
        "observed_rate": None if i in bin_rates_hidden or not row.n else _float(row.observed_rate),
        "suppressed": i in bin_rates_hidden,
    } for i, row in enumerate(calibration.itertuples())]

    audited = {grouping_name(g): _grouping(y, p, features, g, functions, k, least) for g in groupings}
    return {
        "outcome": outcome,
        "probability": probability,
        "threshold": cut,
        "threshold_rule": rule,
        "bins": bins,
        "small_cell_threshold": k,
        "min_cell": least,
        "rows": overall["n"],
        "excluded_missing_outcome": int(len(scored) - len(known)),
        "overall": overall,
        "calibration": calibration_rows,
        "groupings": audited,
        "flags": _flags(overall, audited),
        "target": _target(overall, audited),
        "overrides": (None if overrides is None
                      else _overrides(overrides, scored, groupings, k, least)),
        "limits": {"ece": ECE_LIMIT, "auc_gap": AUC_GAP_LIMIT, "rate_gap": RATE_GAP_LIMIT,
                   "noise_factor": NOISE_FACTOR},
    }


# --- The written report --------------------------------------------------------------------------------------


def _num(value: float | None, places: int = 3) -> str:
    if value is None:
        return "–"
    return formats.number_format(round(value, places), decimal_pos=places, use_l10n=True)


def _count(value: int | None) -> str:
    if value is None:
        return "–"
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def _cell_from_key(result: dict[str, Any], grouping: str | None, key: str | None) -> str:
    if grouping is None or key is None:
        return _("all clients")
    attributes = result["groupings"][grouping]["attributes"]
    return cell_label(attributes, key.split("|"))


def _flag_text(result: dict[str, Any], flag: dict[str, Any]) -> str:
    limits = {"value": _num(flag["value"]), "limit": _num(flag["limit"], 2)}
    if flag["kind"] == "ece":
        where = _cell_from_key(result, flag["grouping"], flag["cell"])
        if flag["grouping"] is not None:
            where = f"{grouping_label(result['groupings'][flag['grouping']]['attributes'])}: {where}"
        return _("Calibration error %(value)s is above %(limit)s for %(group)s.") % {**limits, "group": where}
    label = grouping_label(result["groupings"][flag["grouping"]]["attributes"])
    names = {"auc_gap": _("AUC"), "tpr_gap": _("true positive rate"), "fpr_gap": _("false positive rate")}
    return _("%(grouping)s: the %(metric)s differs by %(value)s between groups (limit %(limit)s), highest for "
             "%(highest)s and lowest for %(lowest)s.") % {
        **limits, "grouping": label, "metric": names[flag["kind"]],
        "highest": _cell_from_key(result, flag["grouping"], flag["highest"]),
        "lowest": _cell_from_key(result, flag["grouping"], flag["lowest"])}


def report_markdown(result: dict[str, Any], *, model_label: str) -> str:
    """The audit as a written report (Markdown, in the active language): what was audited and how, the overall
    figures, the calibration target, the flags, a table per grouping, the suppressed cells, the recorded
    disagreements, and what the model is for."""
    overall = result["overall"]
    k, least = result["small_cell_threshold"], result["min_cell"]
    title = _("Fairness audit: %(model)s") % {"model": model_label}
    out = ["# " + title, ""]
    threshold_rule = (_("the share of clients with the outcome among the audited rows, so a client counts as "
                        "selected when the estimate is above average")
                      if result["threshold_rule"] == "base_rate" else _("set for this audit"))
    out += [
        _("The audit compares the model's estimates of the outcome “%(outcome)s” with what happened, for "
          "%(rows)s rows whose outcome is known (%(excluded)s rows whose outcome is not yet known were left out).")
        % {"outcome": result["outcome"], "rows": _count(result["rows"]),
           "excluded": _count(result["excluded_missing_outcome"])},
        "",
        _("Threshold: %(threshold)s (%(rule)s). True and false positive rates and the selection rate count the "
          "clients whose estimate is above it.") % {"threshold": _num(result["threshold"]), "rule": threshold_rule},
        "",
        f"## {_('All clients')}",
        "",
        f"- {_('AUC (how well the model ranks; 0.5 is chance, 1 is perfect)')}: {_num(overall['auc'])}",
        f"- {_('Expected calibration error (ECE)')}: {_num(overall['ece'])}",
        f"- {_('Share with the outcome')}: {_num(overall['base_rate'])}",
        f"- {_('Mean estimate')}: {_num(overall['mean_predicted'])}",
        f"- {_('True positive rate')}: {_num(overall['tpr'])}",
        f"- {_('False positive rate')}: {_num(overall['fpr'])}",
        f"- {_('Selection rate')}: {_num(overall['selection_rate'])}",
        "",
        "## " + _("Calibration target"),
        "",
    ]
    target = result["target"]
    goal = _("Target: expected calibration error at most %(limit)s overall and in every group by sex and by "
             "migrant background.") % {"limit": _num(target["ece_limit"], 2)}
    if target["met"] is True:
        verdict = _("The target is met.")
    elif target["met"] is False:
        verdict = _("The target is not met.")
    else:
        verdict = _("The target could not be checked for every group (some groups are too small).")
    out += [f"{goal} {verdict}", ""]

    out += [f"## {_('Flags')}", ""]
    firm = [flag for flag in result["flags"] if not flag.get("within_noise")]
    chance = [flag for flag in result["flags"] if flag.get("within_noise")]
    if firm:
        out += [f"- {_flag_text(result, flag)}" for flag in firm]
    else:
        out.append(_("Nothing was flagged."))
    if chance:
        out += ["", _("Also over a limit, but in groups so small that chance alone could explain it:"), ""]
        out += [f"- {_flag_text(result, flag)}" for flag in chance]
    out += ["", _("Flags are raised when the calibration error is above %(ece)s in a group, when the AUC differs "
                  "by more than %(auc)s between groups, or when the true or false positive rate differs by more "
                  "than %(rate)s. A flag counts as chance when the figure is at most twice what chance alone "
                  "would typically give in groups of that size.")
            % {"ece": _num(ECE_LIMIT, 2), "auc": _num(AUC_GAP_LIMIT, 2), "rate": _num(RATE_GAP_LIMIT, 2)}, ""]

    headers = [_("Group"), _("Clients"), _("AUC"), _("ECE"), _("True positive rate"), _("False positive rate"),
               _("Selection rate"), _("Share with the outcome"), _("Mean estimate")]
    for grouping in result["groupings"].values():
        attributes = grouping["attributes"]
        out += [f"## {grouping_label(attributes)}", "", "| " + " | ".join(headers) + " |",
                "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
        for cell in grouping["cells"]:
            values = [cell_label(attributes, list(cell["group"].values())), _count(cell["n"])]
            values += [_num(cell[m]) for m in ("auc", "ece", "tpr", "fpr", "selection_rate", "base_rate",
                                               "mean_predicted")]
            out.append("| " + " | ".join(values) + " |")
        differences = grouping["differences"]
        out += ["", _("Largest differences between the groups shown: AUC %(auc)s, ECE %(ece)s, true positive rate "
                      "%(tpr)s, false positive rate %(fpr)s, selection rate %(selection)s. Equalized odds "
                      "difference %(odds)s, demographic parity difference %(parity)s.")
                % {"auc": _num(differences["auc"]), "ece": _num(differences["ece"]), "tpr": _num(differences["tpr"]),
                   "fpr": _num(differences["fpr"]), "selection": _num(differences["selection_rate"]),
                   "odds": _num(grouping["equalized_odds_difference"]),
                   "parity": _num(grouping["demographic_parity_difference"])}]
        if grouping["suppressed_cells"]:
            out += ["", _("Figures not shown for %(count)s groups (too few clients).")
                    % {"count": grouping["suppressed_cells"]}]
        out.append("")

    out += ["## " + _("Small groups"), "",
            _("A group's figures are shown only when at least %(least)s clients are behind them, and a count below "
              "%(k)s is never shown. When hiding one group would let it be worked out from the totals, another "
              "group is hidden as well. Hidden figures are marked “–” and are left out of the largest differences "
              "and the flags.") % {"least": least, "k": k}, ""]

    out += [f"## {_('Disagreements recorded by professionals')}", ""]
    overrides = result.get("overrides")
    if overrides is None:
        out += [_("Disagreements were not included in this audit."), ""]
    else:
        from polku.impact.models import OverrideDirection

        direction_labels = [str(OverrideDirection(d).label) if d in OverrideDirection.values else d
                            for d in overrides["directions"]]
        out += [_("Professionals recorded %(total)s disagreements with an estimate, %(rate)s per 1,000 scored "
                  "clients. They change nothing by themselves; many disagreements in one group are a reason to "
                  "look at the model for that group.")
                % {"total": _count(overrides["overall"]["total"]), "rate": _num(overrides["overall"]["per_1000"], 1)},
                ""]
        override_headers = [_("Group"), _("Scored clients"), *direction_labels, _("All disagreements"),
                            _("Per 1,000 scored clients")]
        for grouping in overrides["groupings"].values():
            attributes = grouping["attributes"]
            out += [f"### {grouping_label(attributes)}", "", "| " + " | ".join(override_headers) + " |",
                    "|" + "|".join(["---"] + ["---:"] * (len(override_headers) - 1)) + "|"]
            for cell in grouping["cells"]:
                values = [cell_label(attributes, list(cell["group"].values())), _count(cell["scored"]),
                          *[_count(cell["counts"][d]) for d in overrides["directions"]], _count(cell["total"]),
                          _num(cell["per_1000"], 1)]
                out.append("| " + " | ".join(values) + " |")
            out.append("")

    out += ["## " + _("What the model is for"), "",
            _("The estimate is decision support. It describes how often clients in similar situations have found "
              "work, not what this client will do, and it decides nothing: the professional and the client "
              "decide together, and the professional can record a disagreement with the estimate."), ""]
    return "\n".join(out)


def fairness_chart(result: dict[str, Any], grouping: str = "sex") -> Chart:
    """A bar chart of one grouping: AUC, true and false positive rate and ECE for each group, as an accessible
    server-side SVG with a text summary and the figures as a table (``web/_chart.html``)."""
    from polku.web.charts import BarSeries, bar_chart

    data = result["groupings"][grouping]
    attributes = data["attributes"]
    cells = data["cells"]
    categories = [cell_label(attributes, list(cell["group"].values())) for cell in cells]
    series = [BarSeries(name, [cell[metric] for cell in cells])
              for name, metric in ((_("AUC"), "auc"), (_("True positive rate"), "tpr"),
                                   (_("False positive rate"), "fpr"), (_("ECE"), "ece"))]
    hidden = [label for label, cell in zip(categories, cells, strict=True) if cell["suppressed"]]
    note = (_("Figures not shown (too few clients): %(groups)s.") % {"groups": ", ".join(hidden)}) if hidden else ""
    key = "fairness-" + "".join(c if c.isalnum() else "-" for c in grouping)
    return bar_chart(categories, series, key=key,
                     title=_("Model fairness by %(grouping)s") % {"grouping": grouping_label(attributes).lower()},
                     y_label=_("Value (0–1)"), y_min=0.0, y_max=1.0, decimals=3, category_label=_("Group"),
                     note=note)


def store_report(version: ModelVersion, result: dict[str, Any], text: str) -> FairnessReport:
    """Save the audit of ``version``: its figures (with the report's language) and its written text."""
    from polku.impact.models import FairnessReport

    return FairnessReport.objects.create(model_version=version, report={**result, "language": get_language()},
                                         text=text)
