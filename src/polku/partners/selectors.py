"""Reads of employment partners' data: contract fulfilment and reports by procurer and supplier.

Fulfilment of a contract's employment clause on a day (``as_of``):

* **hires**: placements under the contract that started in the contract period by ``as_of``;
* **employment months**: the days of those placements inside the contract period up to ``as_of`` (or the
  placement's end), divided by 30.4375;
* **expected by now**: the required hires and months pro rata to the share of the contract period passed;
* **status**: ``met`` (both requirements reached), ``on_track`` (at least what is expected by now), ``behind``,
  or ``not_started``.

Reports by procurer and supplier are aggregates: hires are counts of people, protected with the indicators'
small-cell protection (:func:`polku.indicators.protection.protect`); months and percentages are hidden where the
hires behind them are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from polku.indicators.protection import cell_text, protect
from polku.indicators.report import PUBLISHED

from .models import Placement, PublicContract

DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class Fulfilment:
    contract: PublicContract
    as_of: dt.date
    hires: int
    months: float
    target_group_hires: int
    expected_hires: float
    expected_months: float
    share_elapsed: float
    status: str

    @property
    def hires_percent(self) -> float | None:
        return round(100 * self.hires / self.contract.required_hires, 1) if self.contract.required_hires else None

    @property
    def months_percent(self) -> float | None:
        required = float(self.contract.required_months)
        return round(100 * self.months / required, 1) if required else None


def fulfilment(contracts: QuerySet[PublicContract] | None = None, as_of: dt.date | None = None) -> list[Fulfilment]:
    """Each contract's fulfilment on ``as_of`` (default today), from one query over its placements."""
    day = as_of or timezone.localdate()
    contract_list = list((contracts if contracts is not None else PublicContract.objects.all())
                         .select_related("procurer", "supplier").order_by("reference"))
    placements: dict[int, list[tuple[dt.date, dt.date | None, list[str]]]] = {}
    for cid, start, end, groups in Placement.objects.filter(contract__in=[c.pk for c in contract_list]).values_list(
            "contract_id", "start_date", "end_date", "target_groups"):
        placements.setdefault(cid, []).append((start, end, groups or []))
    out = []
    for c in contract_list:
        until = min(day, c.end_date)
        hires = months_days = groups = 0
        for start, end, target_groups in placements.get(c.pk, []):
            if not c.start_date <= start <= until:
                continue
            hires += 1
            groups += bool(set(target_groups) & set(c.target_groups)) if c.target_groups else 1
            stop = min(end or until, until)
            months_days += max(0, (stop - max(start, c.start_date)).days + 1)
        length = (c.end_date - c.start_date).days + 1
        elapsed = min(1.0, max(0.0, ((until - c.start_date).days + 1) / length)) if day >= c.start_date else 0.0
        months = months_days / DAYS_PER_MONTH
        exp_h, exp_m = c.required_hires * elapsed, float(c.required_months) * elapsed
        if day < c.start_date:
            status = "not_started"
        elif hires >= c.required_hires and months >= float(c.required_months):
            status = "met"
        elif hires >= exp_h - 1e-9 and months >= exp_m - 1e-9:
            status = "on_track"
        else:
            status = "behind"
        out.append(Fulfilment(c, day, hires, round(months, 1), groups, round(exp_h, 1), round(exp_m, 1),
                              round(elapsed, 3), status))
    return out


def report_by(rows: list[Fulfilment], key: str, threshold: int | None = None) -> list[dict[str, Any]]:
    """Fulfilment summed by ``procurer`` or ``supplier``, hires protected against small cells (with a total)."""
    groups: dict[str, list[Fulfilment]] = {}
    for f in rows:
        party = f.contract.procurer if key == "procurer" else f.contract.supplier
        name = getattr(party, "name_fi", None) or getattr(party, "name", str(party))
        groups.setdefault(str(name), []).append(f)
    names = sorted(groups)
    hires = np.array([sum(f.hires for f in groups[n]) for n in names], dtype=np.int64)
    protected = protect(hires, threshold) if len(names) else None
    out = []
    for i, name in enumerate([*names, None]):
        members = groups[name] if name is not None else rows
        if protected is None:
            break
        value, status = int(protected.values[i]), str(protected.status[i])
        required = sum(f.contract.required_hires for f in members)
        months = sum(f.months for f in members)
        shown = status == PUBLISHED
        out.append({
            "name": name, "contracts": len(members), "required_hires": required,
            "hires": value if shown else None, "hires_text": cell_text(value, status, protected.threshold),
            "months": round(months, 1) if shown else None,
            "percent": round(100 * value / required, 1) if shown and required else None,
            "behind": sum(f.status == "behind" for f in members),
        })
    return out
