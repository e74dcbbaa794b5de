"""Outcome-based contracts: what a contract owes, with the evidence behind every figure (docs/contracts.md).

Two designs, both used in Finland (sources in docs/domain.md, section 10):

* ``koto`` (Koto-SIB, 2016–2019): participants are randomised into a programme and a control group; the outcome is
  each person's public-finance outcome, earned-income tax paid minus unemployment benefits received, over the
  follow-up; the payment is a share (50 % in the Koto-SIB) of the difference between the groups' means times the
  number in the programme group, nothing when the difference is not positive, and at most the cap.
* ``sib`` (Employment SIB, 2019–2024): a model fitted on comparable unemployed people (the comparison rows)
  predicts each participant's annual wage sum from age, education and unemployment duration; when the
  participants' wage sum exceeds the predicted one, the payment is a percentage of the participants' wage sums
  (``basis="total"``) or of the excess only (``basis="excess"``), the percentage (20–40 %) set by age, education
  and unemployment duration, at most the cap.

:func:`compute` is a pure function of the participant table and the contract's terms: the same data (in any row
order, as CSV or Parquet) gives the identical payment and identical evidence, including the SHA-256 of the
canonical input. Nothing here writes to the database; :func:`store_payment` does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .costs import PublicFinanceParameters

DESIGNS = ("koto", "sib")
GROUPS = ("programme", "control")

#: The participant table's columns (docs/contracts.md). ``person`` and ``group`` always; the rest by design.
KOTO_COLUMNS = ("benefits_paid_eur", "earned_income_tax_eur")
SIB_COLUMNS = ("wage_sum_eur", "age", "education", "unemployed_days_before")
NUMERIC = frozenset({"benefits_paid_eur", "earned_income_tax_eur", "wage_sum_eur", "age", "unemployed_days_before"})
SIB_FEATURES = ("age", "education", "unemployed_days_before")

#: Koto-SIB: 50 % of the difference (confirmed, docs/domain.md § 10).
DEFAULT_SHARE = 0.5
#: Employment SIB: 20–40 % by age, education and unemployment duration. The range is the brief's and the grading
#: direction (harder to employ → higher percentage) is confirmed; these steps are **not confirmed** placeholders.
DEFAULT_RATES: dict[str, Any] = {
    "base": 0.20, "max": 0.40,
    "steps": [
        {"column": "age", "op": ">=", "value": 50, "add": 0.10},
        {"column": "education", "op": "in", "value": ["isced_0_2", "not_stated"], "add": 0.05},
        {"column": "unemployed_days_before", "op": ">=", "value": 730, "add": 0.05},
    ],
}
#: The wage model (scikit-learn's histogram gradient boosting, deterministic: no subsampling, no early stopping).
MODEL_PARAMETERS: dict[str, Any] = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15,
                                    "min_samples_leaf": 20, "l2_regularization": 1.0}
MIN_COMPARISON_ROWS = 10

CONTRACT_PURPOSE = gettext_lazy("Outcome-based contract: participants' register outcomes")


class ContractError(ValueError):
    """The terms or the participant table cannot give a payment."""


@dataclass(frozen=True)
class Terms:
    """A contract's terms as :func:`compute` reads them."""

    design: str
    share: float = DEFAULT_SHARE
    rates: dict[str, Any] | None = None
    cap_eur: float | None = None
    basis: str = "total"
    cohort: Sequence[dict[str, Any]] = ()
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"design": self.design, "share": self.share, "rates": self.rates if self.design == "sib" else None,
                "cap_eur": self.cap_eur, "basis": self.basis if self.design == "sib" else None,
                "cohort": list(self.cohort), "seed": self.seed}


def terms_of(contract: Any) -> Terms:
    """The terms of an :class:`~polku.impact.models.OutcomeContract`."""
    return Terms(design=contract.design, share=float(contract.share),
                 rates=contract.rates or (DEFAULT_RATES if contract.design == "sib" else None),
                 cap_eur=None if contract.cap_eur is None else float(contract.cap_eur), basis=contract.basis,
                 cohort=list(contract.cohort_rule or []), seed=int(contract.seed))


def validate_terms(terms: Terms) -> None:
    if terms.design not in DESIGNS:
        raise ContractError(_("Unknown design %(design)r: use koto or sib.") % {"design": terms.design})
    if not 0 < terms.share <= 1:
        raise ContractError(_("The share must be more than 0 and at most 1, not %(value)s.") % {"value": terms.share})
    if terms.cap_eur is not None and (not math.isfinite(terms.cap_eur) or terms.cap_eur < 0):
        raise ContractError(_("The cap must be a non-negative amount of euros."))
    if terms.basis not in ("total", "excess"):
        raise ContractError(_("The basis must be total or excess, not %(value)r.") % {"value": terms.basis})
    if terms.design == "sib":
        rates = terms.rates or {}
        try:
            base, top = float(rates["base"]), float(rates["max"])
            steps = list(rates.get("steps", []))
            for step in steps:
                if step["column"] not in SIB_FEATURES or step["op"] not in (">=", "<=", "<", ">", "==", "in"):
                    raise KeyError(step["column"])
                float(step["add"])
        except (KeyError, TypeError, ValueError):
            raise ContractError(_("The percentages must be {\"base\": …, \"max\": …, \"steps\": [{\"column\": age|"
                                  "education|unemployed_days_before, \"op\": …, \"value\": …, \"add\": …}]}."))\
                from None
        if not 0 <= base <= top <= 1:
            raise ContractError(_("The percentages must satisfy 0 ≤ base ≤ max ≤ 1."))
    for rule in terms.cohort:
        if not isinstance(rule, dict) or {"column", "op", "value"} - set(rule) or \
                rule["op"] not in (">=", "<=", "<", ">", "==", "in"):
            raise ContractError(_("A cohort rule must be {\"column\": …, \"op\": >=|<=|<|>|==|in, \"value\": …}."))


# -- the participant table ----------------------------------------------------------------------------------------
def required_columns(design: str) -> tuple[str, ...]:
    return ("person", "group", *(KOTO_COLUMNS if design == "koto" else SIB_COLUMNS))


def read_participants(path: Path) -> pd.DataFrame:
    """A participant table from CSV or Parquet (by suffix); every column read as it is, ``person`` as text."""
    if not path.exists():
        raise ContractError(_("No such file: %(path)s") % {"path": path})
    suffix = path.suffix.lower()
    try:
        if suffix in {".parquet", ".pq"}:
            table = pd.read_parquet(path)
        elif suffix in {".csv", ".txt"}:
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
        else:
            raise ContractError(_("The file must be .csv or .parquet: %(path)s") % {"path": path})
    except ContractError:
        raise
    except Exception as exc:
        raise ContractError(_("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
    return table


def canonical_table(table: pd.DataFrame, design: str, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """The columns the design needs under their documented names (``columns`` maps a documented name to the
    table's own), typed (numbers as float64, text as str), sorted by person: the form whose hash is the data hash.

    Missing columns, values that are not numbers, unknown groups, repeated persons and a group without rows are
    errors."""
    columns = columns or {}
    needed = required_columns(design)
    missing = [f"{name} ({columns.get(name, name)})" if columns.get(name, name) != name else name
               for name in needed if columns.get(name, name) not in table.columns]
    if missing:
        raise ContractError(_("The table lacks the column(s): %(columns)s.") % {"columns": ", ".join(missing)})
    out = pd.DataFrame({name: table[columns.get(name, name)].to_numpy() for name in needed})
    if not len(out):
        raise ContractError(_("The table has no rows."))
    out["person"] = out["person"].astype(str).str.strip()
    if (out["person"] == "").any():
        raise ContractError(_("Every row needs a person."))
    duplicated = out["person"][out["person"].duplicated()]
    if len(duplicated):
        raise ContractError(_("Person %(person)s appears on more than one row.") % {"person": duplicated.iloc[0]})
    out["group"] = out["group"].astype(str).str.strip().str.lower()
    unknown = sorted(set(out["group"]) - set(GROUPS))
    if unknown:
        raise ContractError(_("Unknown group(s) %(groups)s: the group must be programme or control.")
                            % {"groups": ", ".join(map(repr, unknown))})
    for group in GROUPS:
        if not (out["group"] == group).any():
            raise ContractError(_("The %(group)s group has no rows.") % {"group": group})
    for name in needed:
        if name in NUMERIC:
            values = pd.to_numeric(pd.Series(out[name]).astype(str).str.strip().str.replace(",", ".", regex=False)
                                   if out[name].dtype == object else out[name], errors="coerce")
            bad = values.isna() | ~np.isfinite(values.astype(float))
            if bad.any():
                row = int(np.flatnonzero(bad.to_numpy())[0])
                raise ContractError(_("Column %(column)s is not a number on the row of person %(person)s: %(value)r.")
                                    % {"column": columns.get(name, name), "person": out["person"].iloc[row],
                                       "value": out[name].iloc[row]})
            out[name] = values.astype("float64")
        elif name == "education":
            out[name] = out[name].astype(str).str.strip()
    return out.sort_values("person", kind="mergesort").reset_index(drop=True)


def data_hash(canonical: pd.DataFrame) -> str:
    """SHA-256 of the canonical table as CSV text (column names, then rows; numbers as Python's shortest repr)."""
    digest = hashlib.sha256()
    digest.update(canonical.to_csv(index=False, float_format="%r", lineterminator="\n").encode())
    return digest.hexdigest()


def _matches(values: pd.Series, op: str, value: Any) -> np.ndarray:
    if op == "in":
        return values.astype(str).isin([str(v) for v in value]).to_numpy()
    if op == "==":
        return (values.astype(str) == str(value)).to_numpy()
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    limit = float(value)
    result: np.ndarray = {">=": numbers >= limit, "<=": numbers <= limit, ">": numbers > limit,
                          "<": numbers < limit}[op]
    return result


def apply_cohort(canonical: pd.DataFrame, cohort: Sequence[dict[str, Any]]) -> pd.DataFrame:
    if not cohort:
        return canonical
    keep = np.ones(len(canonical), dtype=bool)
    for rule in cohort:
        if rule["column"] not in canonical.columns:
            raise ContractError(_("The cohort rule names a column the design does not use: %(column)s.")
                                % {"column": rule["column"]})
        keep &= _matches(canonical[rule["column"]], rule["op"], rule["value"])
    chosen = canonical[keep].reset_index(drop=True)
    for group in GROUPS:
        if not (chosen["group"] == group).any():
            raise ContractError(_("After the cohort rule the %(group)s group has no rows.") % {"group": group})
    return chosen


# -- the designs --------------------------------------------------------------------------------------------------
def _money(value: float) -> float:
    return round(float(value) + 0.0, 2)


def _stat(value: float, digits: int = 6) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _difference(programme: np.ndarray, control: np.ndarray) -> dict[str, Any]:
    diff = float(programme.mean() - control.mean())
    var = (programme.var(ddof=1) / len(programme) if len(programme) > 1 else 0.0) + \
        (control.var(ddof=1) / len(control) if len(control) > 1 else 0.0)
    se = math.sqrt(var)
    return {"programme_mean_eur": _money(programme.mean()), "control_mean_eur": _money(control.mean()),
            "difference_eur": _money(diff), "std_error_eur": _money(se),
            "ci_low_eur": _money(diff - 1.96 * se), "ci_high_eur": _money(diff + 1.96 * se)}


def _cap(amount: float, cap: float | None) -> tuple[float, bool]:
    if cap is not None and amount > cap:
        return cap, True
    return amount, False


def _koto(rows: pd.DataFrame, terms: Terms) -> tuple[float, float, dict[str, Any]]:
    outcome = rows["earned_income_tax_eur"] - rows["benefits_paid_eur"]
    programme = rows["group"] == "programme"
    p, c = outcome[programme].to_numpy(), outcome[~programme].to_numpy()
    figures = _difference(p, c)
    components = {
        name: _difference(rows.loc[programme, name].to_numpy(), rows.loc[~programme, name].to_numpy())
        for name in KOTO_COLUMNS
    }
    difference = figures["difference_eur"]
    n = int(programme.sum())
    uncapped = _money(terms.share * difference * n) if difference > 0 else 0.0
    evidence = {
        "outcome": "earned_income_tax_eur − benefits_paid_eur per person",
        "groups": {"programme": n, "control": int((~programme).sum())},
        "public_finance_outcome": figures,
        "components": components,
        "share": terms.share,
        "formula": "share × max(0, programme mean − control mean) × programme persons",
        "uncapped_payment_eur": uncapped,
    }
    return uncapped, float(difference), evidence


def rate_of(rows: pd.DataFrame, rates: dict[str, Any]) -> np.ndarray:
    rate = np.full(len(rows), float(rates["base"]))
    for step in rates.get("steps", []):
        rate = rate + np.where(_matches(rows[step["column"]], step["op"], step["value"]), float(step["add"]), 0.0)
    return np.round(np.clip(rate, float(rates["base"]), float(rates["max"])), 6)


def _features(rows: pd.DataFrame, categories: list[str]) -> np.ndarray:
    education = pd.Categorical(rows["education"], categories=categories).codes.astype(float)
    education[education < 0] = np.nan
    return np.column_stack([rows["age"].to_numpy(float), education, rows["unemployed_days_before"].to_numpy(float)])


def fit_wage_model(comparison: pd.DataFrame, seed: int) -> tuple[Any, list[str], dict[str, Any]]:
    """Histogram gradient boosting of the annual wage sum on age, education and unemployment duration, fitted on
    the comparison rows; its fit (in-sample and 5-fold cross-validated R² and mean absolute error) for the
    evidence. Deterministic: fixed seed, no subsampling or early stopping, rows in person order."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import mean_absolute_error, r2_score
    from sklearn.model_selection import KFold, cross_val_predict

    if len(comparison) < MIN_COMPARISON_ROWS:
        raise ContractError(_("The comparison (control) group needs at least %(n)d rows for the wage model; it has "
                              "%(rows)d.") % {"n": MIN_COMPARISON_ROWS, "rows": len(comparison)})
    categories = sorted(set(comparison["education"]))
    x = _features(comparison, categories)
    y = comparison["wage_sum_eur"].to_numpy(float)

    def model() -> Any:
        return HistGradientBoostingRegressor(**MODEL_PARAMETERS, categorical_features=[False, True, False],
                                             early_stopping=False, random_state=seed)

    from threadpoolctl import threadpool_limits

    folds = min(5, len(comparison))
    # One thread: a contract's table is small, and OpenMP threads competing with other libraries' (LightGBM's) can
    # make the fit hundreds of times slower; one thread also keeps the sums in one order.
    with threadpool_limits(limits=1):
        fitted = model().fit(x, y)
        cross = cross_val_predict(model(), x, y, cv=KFold(folds, shuffle=True, random_state=seed))
    inside = fitted.predict(x)
    fit = {
        "model": "scikit-learn HistGradientBoostingRegressor (squared error)",
        "parameters": {**MODEL_PARAMETERS, "random_state": seed},
        "features": list(SIB_FEATURES), "education_categories": categories,
        "rows": len(comparison),
        "mean_wage_sum_eur": _money(y.mean()),
        "r2_in_sample": _stat(r2_score(y, inside), 4) if len(set(y)) > 1 else None,
        "r2_cross_validated": _stat(r2_score(y, cross), 4) if len(set(y)) > 1 else None,
        "mae_cross_validated_eur": _money(mean_absolute_error(y, cross)),
        "folds": folds,
    }
    return fitted, categories, fit


def _sib(rows: pd.DataFrame, terms: Terms) -> tuple[float, float, dict[str, Any]]:
    rates = terms.rates or DEFAULT_RATES
    programme = rows[rows["group"] == "programme"].reset_index(drop=True)
    comparison = rows[rows["group"] == "control"].reset_index(drop=True)
    model, categories, fit = fit_wage_model(comparison, terms.seed)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        predicted = np.round(model.predict(_features(programme, categories)), 2)
    actual = programme["wage_sum_eur"].to_numpy(float)
    rate = rate_of(programme, rates)
    total_actual, total_predicted = float(actual.sum()), float(predicted.sum())
    excess = total_actual - total_predicted
    # total: the whole wage sum; excess: each person's wage sum above their prediction (never below zero)
    base = actual if terms.basis == "total" else np.maximum(actual - predicted, 0.0)
    owed = excess > 0
    uncapped = _money((rate * base).sum()) if owed else 0.0
    groups = []
    frame = pd.DataFrame({"rate": rate, "actual": actual, "predicted": predicted, "base": base})
    for value, part in frame.groupby("rate", sort=True):
        groups.append({"rate": float(value), "persons": len(part), "wage_sum_eur": _money(part["actual"].sum()),
                       "predicted_eur": _money(part["predicted"].sum()),
                       "payment_basis_eur": _money(part["base"].sum()),
                       "payment_eur": _money(value * part["base"].sum()) if owed else 0.0})
    evidence = {
        "outcome": "participants' annual wage sums (wage_sum_eur)",
        "groups": {"programme": len(programme), "control": len(comparison)},
        "wage_model": fit,
        "programme_wage_sum_eur": _money(total_actual),
        "predicted_wage_sum_eur": _money(total_predicted),
        "excess_eur": _money(excess),
        "owed": bool(owed),
        "basis": terms.basis,
        "rates": rates,
        "by_rate": groups,
        "formula": ("Σ rate × wage sum, when Σ wage sum > Σ predicted" if terms.basis == "total"
                    else "Σ rate × max(0, wage sum − predicted), when Σ wage sum > Σ predicted"),
        "uncapped_payment_eur": uncapped,
    }
    return uncapped, excess, evidence


def compute(table: pd.DataFrame, terms: Terms, columns: dict[str, str] | None = None) -> dict[str, Any]:
    """What the contract owes on this participant table: ``{"payment_eur", "uncapped_eur", "capped", "data_hash",
    "rows", "evidence"}``. The same data gives the identical result (a test checks this)."""
    validate_terms(terms)
    canonical = canonical_table(table, terms.design, columns)
    digest = data_hash(canonical)
    rows = apply_cohort(canonical, terms.cohort)
    uncapped, outcome, evidence = (_koto if terms.design == "koto" else _sib)(rows, terms)
    payment, capped = _cap(uncapped, terms.cap_eur)
    evidence = {
        "design": terms.design, "terms": terms.as_dict(), "columns": {n: (columns or {}).get(n, n)
                                                                      for n in required_columns(terms.design)},
        "data_hash": digest, "rows": len(canonical), "rows_in_cohort": len(rows),
        **evidence,
        "cap_eur": terms.cap_eur, "capped": capped, "payment_eur": _money(payment),
    }
    return {"payment_eur": _money(payment), "uncapped_eur": _money(uncapped), "capped": capped,
            "outcome_difference_eur": _money(outcome), "data_hash": digest, "rows": len(canonical),
            "evidence": evidence}


# -- the participant table from the database ----------------------------------------------------------------------
UNEMPLOYMENT_BENEFITS = ("labour_market_subsidy", "basic_unemployment", "earnings_related")
EMPLOYED_STATUSES = ("employed_open_market", "subsidised_work")


def _overlap_days(start: pd.Series, end: pd.Series, window_start: dt.date, window_end: dt.date) -> np.ndarray:
    s = pd.to_datetime(start).clip(lower=pd.Timestamp(window_start))
    e = pd.to_datetime(end.fillna(window_end)).clip(upper=pd.Timestamp(window_end))
    return np.maximum((e - s).dt.days.to_numpy() + 1, 0)


def participants_from_db(
    cohort_start: dt.date, cohort_end: dt.date, *, programme_classes: Sequence[str],
    follow_up_months: int = 12, parameters: PublicFinanceParameters | None = None,
    actor_name: str = "polku contracts", user: Any = None,
) -> pd.DataFrame:
    """The participant table for a cohort from the registers, set-based (five queries, no per-client loop).

    The cohort: clients whose joint-service episode started between ``cohort_start`` and ``cohort_end``; the
    programme group started a service of ``programme_classes`` in that time, the control group did not (**not
    randomised**: for the demo, not for paying a real contract). Over the ``follow_up_months`` after
    ``cohort_end``: ``benefits_paid_eur`` = unemployment-benefit days paid (pro rata to the overlap) × the daily
    amount, ``wage_sum_eur`` = days employed ÷ (365.25/12) × the monthly wage, ``earned_income_tax_eur`` = wage sum
    × the tax share (docs/domain.md § 10). ``age`` at ``cohort_end``, ``education`` (ISCED group) and
    ``unemployed_days_before`` (days unemployed before ``cohort_end``) from the client and their periods. The read
    is written to every cohort client's access log."""
    from polku.audit.models import AccessAction
    from polku.audit.services import log_system_access
    from polku.clients.models import BenefitPeriod, Client, EmploymentStatusPeriod
    from polku.episodes.models import JointServiceEpisode
    from polku.referrals.models import Referral

    from .table import pseudonym, pseudonym_key

    parameters = parameters or PublicFinanceParameters.from_settings()
    if cohort_end < cohort_start:
        raise ContractError(_("The cohort cannot end before it starts."))
    window_start = cohort_end + dt.timedelta(days=1)
    window_end = (pd.Timestamp(window_start) + pd.DateOffset(months=follow_up_months)).date() - dt.timedelta(days=1)
    ids = sorted(set(JointServiceEpisode.objects.filter(start_date__gte=cohort_start, start_date__lte=cohort_end)
                     .values_list("client_id", flat=True)))
    if not ids:
        raise ContractError(_("No joint-service episode started between %(start)s and %(end)s.")
                            % {"start": cohort_start, "end": cohort_end})
    clients = pd.DataFrame(list(Client.objects.filter(id__in=ids).values_list(
        "id", "personal_identity_code", "birth_date", "education_level")),
        columns=["client_id", "code", "birth_date", "education"])
    treated = set(Referral.objects.filter(
        client_id__in=ids, service__service_class__in=list(programme_classes), started_at__date__gte=cohort_start,
        started_at__date__lte=cohort_end).values_list("client_id", flat=True))
    employment = pd.DataFrame(list(EmploymentStatusPeriod.objects.filter(client_id__in=ids).values_list(
        "client_id", "status", "start_date", "end_date")), columns=["client_id", "status", "start", "end"])
    benefits = pd.DataFrame(list(BenefitPeriod.objects.filter(
        client_id__in=ids, benefit__in=UNEMPLOYMENT_BENEFITS, start_date__lte=window_end).values_list(
        "client_id", "start_date", "end_date", "paid_days")), columns=["client_id", "start", "end", "paid_days"])

    def per_client(values: np.ndarray, frame: pd.DataFrame) -> pd.Series:
        if not len(frame):
            return pd.Series(0.0, index=clients["client_id"])
        return pd.Series(values, index=frame["client_id"].to_numpy()).groupby(level=0).sum().reindex(
            clients["client_id"], fill_value=0.0)

    employed = employment[employment["status"].isin(EMPLOYED_STATUSES)] if len(employment) else employment
    employed_days = per_client(_overlap_days(employed["start"], employed["end"], window_start, window_end)
                               if len(employed) else np.array([]), employed)
    unemployed = employment[employment["status"] == "unemployed"] if len(employment) else employment
    before_days = per_client(_overlap_days(unemployed["start"], unemployed["end"], dt.date(1900, 1, 1),
                                           cohort_end) if len(unemployed) else np.array([]), unemployed)
    if len(benefits):
        period_days = np.maximum((pd.to_datetime(benefits["end"].fillna(window_end)) -
                                  pd.to_datetime(benefits["start"])).dt.days.to_numpy() + 1, 1)
        paid = benefits["paid_days"].to_numpy(float) * _overlap_days(benefits["start"], benefits["end"],
                                                                      window_start, window_end) / period_days
    else:
        paid = np.array([])
    paid_days = per_client(paid, benefits)
    wage = employed_days.to_numpy() / (365.25 / 12) * parameters.monthly_wage_eur
    key = pseudonym_key()
    birth = pd.to_datetime(clients["birth_date"])
    end = pd.Timestamp(cohort_end)
    later_birthday = (birth.dt.month > end.month) | ((birth.dt.month == end.month) & (birth.dt.day > end.day))
    age = (end.year - birth.dt.year - later_birthday.astype(int)).to_numpy()
    table = pd.DataFrame({
        "person": [pseudonym(code, key) for code in clients["code"]],
        "group": np.where(clients["client_id"].isin(treated), "programme", "control"),
        "benefits_paid_eur": np.round(paid_days.to_numpy() * parameters.benefit_daily_eur, 2),
        "earned_income_tax_eur": np.round(wage * parameters.income_tax_share, 2),
        "wage_sum_eur": np.round(wage, 2),
        "age": age.astype(int),
        "education": clients["education"].fillna("not_stated").to_numpy(),
        "unemployed_days_before": before_days.to_numpy().astype(int),
    })
    for category in ("basic", "employment", "benefits"):
        log_system_access(client_ids=ids, category=category, action=AccessAction.EXPORT, purpose=CONTRACT_PURPOSE,
                          actor_name=actor_name, user=user)
    return table.sort_values("person", kind="mergesort").reset_index(drop=True)


# -- storing ------------------------------------------------------------------------------------------------------
def store_payment(contract: Any, result: dict[str, Any], *, data_source: str, user: Any = None) -> Any:
    """Store a computed payment (its evidence, data hash, who and when) as the contract's next numbered payment."""
    from django.db import transaction
    from django.db.models import Max

    from .models import ContractPayment

    with transaction.atomic():
        latest = ContractPayment.objects.select_for_update().filter(contract=contract).aggregate(n=Max("number"))["n"]
        return ContractPayment.objects.create(
            contract=contract, number=(latest or 0) + 1, data_source=data_source[:300],
            data_hash=result["data_hash"], rows=result["rows"], amount_eur=f"{result['payment_eur']:.2f}",
            uncapped_eur=f"{result['uncapped_eur']:.2f}", capped=result["capped"], evidence=result["evidence"],
            computed_by=user if getattr(user, "is_authenticated", False) else None,
        )
