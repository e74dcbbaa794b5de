"""Cost-effectiveness of services: what each started service use cost, and what an additional person employed
costs and returns to the public sector (docs/impact.md, "Cost-effectiveness"; parameters and their sources in
docs/domain.md, section 10).

How a catalogue unit cost (``Service.unit_cost``, ``Service.cost_unit``) becomes euros for one service use that
started on day S and ended on day E (a running use ends on ``until``); ``days`` = E − S in calendar days, at least
1 (a use that started and ended on the same day counts one day):

* ``day``: ``unit_cost × days × SERVICE_DAYS_PER_WEEK / 7`` (a day-priced service is bought for working days,
  five a week as Kela pays benefits; not the weekend);
* ``month``: ``unit_cost × days / (365.25 / 12)`` (months of use, fractional);
* ``service``: ``unit_cost`` once, however long the use;
* ``hour``: ``unit_cost × HOURS_PER_USE`` (the catalogue has no hours per use; the default is a placeholder,
  **not confirmed**, documented as such).

Only referrals that started (``started_at`` set, on or before ``until``) count; ones that never started cost
nothing here.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext_lazy

from polku.audit.models import AccessAction
from polku.audit.services import log_system_access
from polku.core.choices import DataCategory

#: Working days a week for a day-priced service (Kela pays unemployment benefit five days a week).
SERVICE_DAYS_PER_WEEK = 5.0
#: Hours of an hour-priced service per use. **Not confirmed**: a placeholder until the catalogue records hours.
HOURS_PER_USE = 10.0
DAYS_PER_MONTH = 365.25 / 12

COSTS_PURPOSE = gettext_lazy("Statistics and the impact model: service costs")

COST_COLUMNS = ["referral_id", "client_id", "service_id", "service_class", "cost_unit", "unit_cost", "started_on",
                "ended_on", "running", "days", "cost_eur"]


@dataclass(frozen=True)
class PublicFinanceParameters:
    """Finnish public-finance figures for the return of an additional person employed. Defaults and their sources:
    docs/domain.md, section 10; override any of them with ``POLKU["PUBLIC_FINANCE"]`` (a dict, e.g. from the
    ``POLKU_PUBLIC_FINANCE`` environment variable as JSON)."""

    #: Labour market subsidy, full amount, € a day (Kela, 2024). Confirmed.
    benefit_daily_eur: float = 37.21
    #: Days a month it is paid: five a week ≈ 21.5 (Kela's own monthly average). Confirmed.
    paid_days_per_month: float = 21.5
    #: Gross monthly wage of a re-employed person, €: the lowest decile limit of full-time employees' total earnings
    #: in 2024 (Statistics Finland, 2,477). The figure is confirmed; using it for the re-employed is a choice.
    monthly_wage_eur: float = 2477.0
    #: Taxes paid per additional euro earned: 1,330 / 4,500 in the Koto-SIB evaluation. Derived from confirmed figures.
    income_tax_share: float = 0.296
    #: Employee's earnings-related pension contribution, 17–52-year-olds, 2024 (7.15 %). Confirmed.
    employee_contributions_share: float = 0.0715
    #: Employer's part of the average TyEL contribution 2024: 24.81 % − 7.15 %. Derived from confirmed figures; the
    #: employer's health insurance and unemployment insurance contributions are left out (not confirmed).
    employer_contributions_share: float = 0.1766
    #: Months over which an additional person employed is counted: the Koto-SIB's and Employment SIB's three years.
    horizon_months: float = 36.0

    @classmethod
    def from_settings(cls) -> PublicFinanceParameters:
        overrides = (getattr(settings, "POLKU", {}) or {}).get("PUBLIC_FINANCE") or {}
        if not isinstance(overrides, dict):
            raise ImproperlyConfigured("POLKU['PUBLIC_FINANCE'] must be a dict")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ImproperlyConfigured(f"Unknown POLKU['PUBLIC_FINANCE'] keys: {', '.join(unknown)}")
        values: dict[str, float] = {}
        for key, value in overrides.items():
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ImproperlyConfigured(f"POLKU['PUBLIC_FINANCE'][{key!r}] must be a number") from None
            if not math.isfinite(number) or number < 0:
                raise ImproperlyConfigured(f"POLKU['PUBLIC_FINANCE'][{key!r}] must be a non-negative number")
            values[key] = number
        return cls(**values)

    @property
    def monthly_benefit_eur(self) -> float:
        return self.benefit_daily_eur * self.paid_days_per_month

    @property
    def returned_share(self) -> float:
        return self.income_tax_share + self.employee_contributions_share + self.employer_contributions_share

    @property
    def monthly_tax_income_eur(self) -> float:
        return self.monthly_wage_eur * self.returned_share

    @property
    def gain_per_employed_eur(self) -> float:
        """Benefit saved plus taxes and contributions over the horizon for one additional person employed."""
        return (self.monthly_benefit_eur + self.monthly_tax_income_eur) * self.horizon_months

    def as_dict(self) -> dict[str, float]:
        values = asdict(self)
        values.update({
            "monthly_benefit_eur": round(self.monthly_benefit_eur, 2),
            "monthly_tax_income_eur": round(self.monthly_tax_income_eur, 2),
            "gain_per_employed_eur": round(self.gain_per_employed_eur, 2),
        })
        return values


def _date_of(value: Any) -> dt.date | None:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value  # type: ignore[no-any-return,unused-ignore]


def service_costs(
    client_ids: Iterable[int] | None = None, until: dt.date | None = None, *,
    hours_per_use: float = HOURS_PER_USE, days_per_week: float = SERVICE_DAYS_PER_WEEK,
    actor_name: str = "polku.impact.costs", user: Any = None, log: bool = True,
) -> pd.DataFrame:
    """The cost of every started service use (one row per referral), in one query.

    A running use (no ``ended_at``, or one after ``until``) costs up to ``until`` (default today). With ``log`` the
    read is written to each client's access log (category: the service's data category), as the analysis table's
    export is."""
    from polku.referrals.models import Referral

    until = until or timezone.localdate()
    query = Referral.objects.filter(started_at__isnull=False)
    if client_ids is not None:
        ids = [int(c) for c in client_ids]
        query = query.filter(client_id__in=ids)
    rows = list(query.values_list("id", "client_id", "service_id", "service__service_class", "service__cost_unit",
                                  "service__unit_cost", "started_at", "ended_at", "service__data_category"))
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COST_COLUMNS})
    frame = pd.DataFrame([(*row[:6], _date_of(row[6]), _date_of(row[7]), row[8]) for row in rows],
                         columns=["referral_id", "client_id", "service_id", "service_class", "cost_unit", "unit_cost",
                                  "started_on", "ended_on", "data_category"], dtype=object)
    frame = frame[frame["started_on"] <= until].copy()
    running = frame["ended_on"].isna() | (frame["ended_on"] > until)
    frame["running"] = running.to_numpy()
    frame.loc[running, "ended_on"] = until
    start = pd.to_datetime(frame["started_on"])
    end = pd.to_datetime(frame["ended_on"])
    days = np.maximum((end - start).dt.days.to_numpy(), 1)
    frame["days"] = days
    unit = frame["unit_cost"].astype(float).to_numpy()
    kind = frame["cost_unit"].to_numpy()
    cost = np.select(
        [kind == "day", kind == "month", kind == "service", kind == "hour"],
        [unit * days * days_per_week / 7.0, unit * days / DAYS_PER_MONTH, unit, unit * hours_per_use],
        default=unit,
    )
    frame["cost_eur"] = np.round(cost, 2)
    frame["unit_cost"] = unit
    if log and len(frame):
        for category, group in frame.groupby("data_category"):
            log_system_access(client_ids=sorted(set(group["client_id"].astype(int))), category=str(category),
                              action=AccessAction.VIEW, purpose=COSTS_PURPOSE, actor_name=actor_name, user=user)
    return frame[COST_COLUMNS].reset_index(drop=True)


def client_groups(table: pd.DataFrame, column: str, client_ids: Iterable[int], *, chunk: int = 20_000,
                  actor_name: str = "polku.impact.costs", user: Any = None) -> pd.Series:
    """Client id → the value of ``column`` in the client's latest row of a pseudonymised design ``table`` (matched
    through the keyed pseudonym ``person``, computed from the identity codes of the given clients only, a read
    written to their access logs), for the costs by segment. Clients without a row are left out."""
    from polku.clients.models import Client

    from .table import pseudonym, pseudonym_key

    if not len(table) or "person" not in table or column not in table:
        return pd.Series(dtype=object)
    order = ["reference_date"] if "reference_date" in table else []
    latest = (table.sort_values(order) if order else table).drop_duplicates("person", keep="last")
    by_person = latest.set_index("person")[column]
    key = pseudonym_key()
    wanted = sorted({int(c) for c in client_ids})
    ids: list[int] = []
    persons: list[str] = []
    for start in range(0, len(wanted), chunk):
        for pk, code in Client.objects.filter(pk__in=wanted[start:start + chunk]).values_list(
                "pk", "personal_identity_code"):
            ids.append(pk)
            persons.append(pseudonym(code, key))
    if ids:
        log_system_access(client_ids=sorted(ids), category=DataCategory.BASIC, action=AccessAction.VIEW,
                          purpose=COSTS_PURPOSE, actor_name=actor_name, user=user)
    found = pd.Series(by_person.reindex(persons).to_numpy(), index=ids, dtype=object)
    return found[found.notna()].astype(str)


def group_rows(estimates: Sequence[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    """The ATT rows of ``EffectRun.results["estimates"]`` estimated within each value of ``by`` as rows with a
    ``segment`` key, for :func:`cost_effectiveness`."""
    return [{"treatment_level": e["treatment_level"], "control_level": e.get("control_level"), "estimand": "ATT",
             "estimate": e.get("estimate"), "ci_low": e.get("ci_low"), "ci_high": e.get("ci_high"),
             "segment": e["group"]}
            for e in estimates if e.get("by") == by and e.get("estimand") == "ATT" and e.get("group") is not None]


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(float(value), digits)


def cost_per_employed(mean_cost: float, estimate: float | None, ci_low: float | None,
                      ci_high: float | None) -> dict[str, Any]:
    """Mean cost ÷ ATT, with the interval from the ATT's interval. A larger effect means a lower cost per person
    employed, so the interval's low end comes from ``ci_high`` and its high end from ``ci_low``; when ``ci_low`` ≤ 0
    the high end is not bounded (``None``): the data cannot rule out that the service employs no one extra."""
    point = mean_cost / estimate if estimate is not None and estimate > 0 else None
    low = mean_cost / ci_high if ci_high is not None and ci_high > 0 else None
    bounded = ci_low is not None and ci_low > 0
    high = mean_cost / ci_low if bounded and ci_low is not None else None
    return {"cost_per_employed_eur": _round(point), "cost_per_employed_low_eur": _round(low),
            "cost_per_employed_high_eur": _round(high), "cost_per_employed_bounded": bounded}


def _treated_costs(costs: pd.DataFrame) -> pd.DataFrame:
    """Total cost per client and service class."""
    if costs is None or not len(costs):
        return pd.DataFrame(columns=["client_id", "service_class", "cost_eur"])
    return costs.groupby(["client_id", "service_class"], as_index=False)["cost_eur"].sum()


def cost_effectiveness(
    estimates: Sequence[dict[str, Any]], costs: pd.DataFrame, parameters: PublicFinanceParameters | None = None,
    segments: pd.Series | None = None, *, small_cell: int | None = None,
) -> list[dict[str, Any]]:
    """For each service class (and segment) with an ATT: mean cost per treated person, the ATT with its interval,
    cost per additional person employed and the public-finance return per treated person over the horizon,
    ``ATT × (benefit savings + taxes and contributions) − mean cost``, with the parameter values used.

    ``estimates`` are rows shaped like ``EffectRun.results["estimates"]``: those with ``estimand == "ATT"`` count,
    and rows with a ``segment`` key (and a ``treatment_level``) give the effect within that segment. ``costs`` is
    :func:`service_costs`' frame; ``segments`` maps client id → segment. A group of fewer than the small-cell
    threshold of treated persons gets no cost figures (``"suppressed": true``). JSON-serialisable."""
    parameters = parameters or PublicFinanceParameters.from_settings()
    threshold = int(small_cell if small_cell is not None else settings.POLKU.get("SMALL_CELL_THRESHOLD", 5))
    per_client = _treated_costs(costs)
    if segments is not None and len(per_client):
        per_client = per_client.assign(segment=per_client["client_id"].map(segments))
    gain = parameters.gain_per_employed_eur
    results: list[dict[str, Any]] = []
    for row in estimates:
        level = row.get("treatment_level")
        has_segment = "segment" in row and row.get("segment") is not None
        if not level or (not has_segment and row.get("estimand") != "ATT"):
            continue
        if has_segment and row.get("estimand") not in (None, "ATT"):
            continue
        chosen = per_client[per_client["service_class"] == level] if len(per_client) else per_client
        if has_segment:
            chosen = chosen[chosen["segment"].astype(str) == str(row["segment"])] if "segment" in chosen else \
                chosen.iloc[0:0]
        persons = int(chosen["client_id"].nunique()) if len(chosen) else 0
        estimate, low, high = _number(row.get("estimate")), _number(row.get("ci_low")), _number(row.get("ci_high"))
        result: dict[str, Any] = {
            "treatment_level": str(level),
            "segment": str(row["segment"]) if has_segment else None,
            "control_level": row.get("control_level"),
            "att": _round(estimate, 4), "att_ci_low": _round(low, 4), "att_ci_high": _round(high, 4),
            "treated_with_costs": persons if persons >= threshold else None,
            "suppressed": persons < threshold,
            "mean_cost_eur": None, "total_cost_eur": None,
            "cost_per_employed_eur": None, "cost_per_employed_low_eur": None, "cost_per_employed_high_eur": None,
            "cost_per_employed_bounded": False,
            "return_per_treated_eur": None, "return_low_eur": None, "return_high_eur": None,
            "gain_per_employed_eur": round(gain, 2),
            "parameters": parameters.as_dict(),
        }
        if persons >= threshold:
            total = float(chosen["cost_eur"].sum())
            mean_cost = total / persons
            result.update({"mean_cost_eur": round(mean_cost, 2), "total_cost_eur": round(total, 2)})
            result.update(cost_per_employed(mean_cost, estimate, low, high))
            if estimate is not None:
                result["return_per_treated_eur"] = round(estimate * gain - mean_cost, 2)
            if low is not None:
                result["return_low_eur"] = round(low * gain - mean_cost, 2)
            if high is not None:
                result["return_high_eur"] = round(high * gain - mean_cost, 2)
        results.append(result)
    results.sort(key=lambda r: (r["treatment_level"], r["segment"] or ""))
    return results


def segment_rows(segments_result: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``EffectRun.results["segments"]`` ({level: [{segment, estimate, ci_low, ci_high, n}]}) as estimate rows with
    a ``segment`` key, for :func:`cost_effectiveness`."""
    return [{**row, "treatment_level": level} for level, rows in (segments_result or {}).items() for row in rows]
