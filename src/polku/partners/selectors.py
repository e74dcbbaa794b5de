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
        # an organisation's name in the active language, an employer's own name
        groups.setdefault(str(party), []).append(f)
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


# --- added for the web UI and the API (issue 10) ----------------------------------------------------------------

#: Roles that see contracts and their fulfilment (aggregates, like the impact and indicator pages).
CONTRACT_ROLES = frozenset({"manager", "administrator", "procurement_officer"})
#: Roles that see every organisation's contracts; a procurement officer sees those their organisation procured.
ALL_CONTRACTS_ROLES = frozenset({"manager", "administrator"})
#: The most clients a candidate search checks with the plain rules after the SQL pre-filter (profiles in bulk).
CANDIDATE_POOL = 20_000


def may_see_contracts(actor: Any) -> bool:
    """Managers, administrators, procurement officers (and superusers) see public contracts and how their
    clauses are met."""
    from polku.access.policy import staff_of

    staff = staff_of(actor)
    return (staff is not None and staff.role in CONTRACT_ROLES) or bool(getattr(actor, "is_superuser", False))


def contracts_visible_to(actor: Any) -> QuerySet[PublicContract]:
    """The contracts ``actor`` may follow: all of them for managers, administrators and superusers; the ones
    their own organisation procured for a procurement officer; none for anyone else."""
    from polku.access.policy import staff_of

    staff = staff_of(actor)
    if getattr(actor, "is_superuser", False) or (staff is not None and staff.role in ALL_CONTRACTS_ROLES):
        return PublicContract.objects.all()
    if staff is not None and staff.role in CONTRACT_ROLES:
        return PublicContract.objects.filter(procurer_id=staff.organisation_id)
    return PublicContract.objects.none()


@dataclass(frozen=True)
class FulfilmentPoint:
    """A contract's fulfilment at the end of one month of its period (or on ``as_of`` for the running month)."""

    day: dt.date
    hires: int
    months: float
    expected_hires: float
    expected_months: float


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """The last day of every month from ``start``'s month to ``end``'s, the last one replaced by ``end``."""
    days: list[dt.date] = []
    year, month = start.year, start.month
    while True:
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        last = following - dt.timedelta(days=1)
        if last >= end:
            days.append(end)
            return days
        days.append(last)
        year, month = following.year, following.month


def fulfilment_over_time(contract: PublicContract, as_of: dt.date | None = None) -> list[FulfilmentPoint]:
    """The clause's fulfilment month by month, from the contract's start to ``as_of`` (default today) or the
    contract's end, whichever is first: the hires and employment months accrued by each month's end against what
    was expected by then (pro rata). The same rules as :func:`fulfilment`, applied at every month's end, from one
    query over the contract's placements."""
    day = min(as_of or timezone.localdate(), contract.end_date)
    if day < contract.start_date:
        return []
    rows = list(Placement.objects.filter(contract=contract).values_list("start_date", "end_date"))
    starts = np.array([start.toordinal() for start, _end in rows], dtype=np.int64)
    ends = np.array([(end or dt.date.max).toordinal() for _start, end in rows], dtype=np.int64)
    first, length = contract.start_date.toordinal(), (contract.end_date - contract.start_date).days + 1
    points = []
    for month_end in month_ends(contract.start_date, day):
        until = month_end.toordinal()
        counted = (starts >= first) & (starts <= until)
        days = np.clip(np.minimum(ends, until) - np.maximum(starts, first) + 1, 0, None)
        elapsed = min(1.0, (until - first + 1) / length)
        points.append(FulfilmentPoint(
            day=month_end, hires=int(counted.sum()), months=round(float(days[counted].sum()) / DAYS_PER_MONTH, 1),
            expected_hires=round(contract.required_hires * elapsed, 1),
            expected_months=round(float(contract.required_months) * elapsed, 1)))
    return points


def openings(*, kind: str = "", municipality: str = "", language: str = "", open_only: bool = False,
             employer_id: int | None = None) -> QuerySet[Any]:
    """Openings filtered by kind, municipality, working language (an opening in any language matches every one)
    and whether they still have places; newest first. Openings are no client's data: any professional sees them."""
    from django.db.models import F, Q

    from .models import Opening, OpeningStatus

    qs = Opening.objects.select_related("employer")
    if kind:
        qs = qs.filter(kind=kind)
    if municipality:
        qs = qs.filter(municipality_code=municipality)
    if language:
        qs = qs.filter(Q(language=language) | Q(language="any"))
    if open_only:
        qs = qs.filter(status=OpeningStatus.OPEN, places_taken__lt=F("places"))
    if employer_id is not None:
        qs = qs.filter(employer_id=employer_id)
    return qs


def job_preferences_get(*, actor: Any, client_id: int, purpose: Any = None) -> Any:
    """The client's job preferences (``None`` when none are recorded), the read authorised and logged."""
    from django.utils.translation import gettext_lazy as _

    from polku.access.policy import authorize
    from polku.audit.models import AccessAction
    from polku.clients.models import Client
    from polku.core.choices import DataCategory
    from polku.core.errors import AccessDenied

    from .models import JobPreferences

    if not Client.objects.filter(pk=client_id).exists():
        raise AccessDenied(_("You do not have access to this client's data."), code="not_found")
    authorize(actor, client_id, DataCategory.EMPLOYMENT, AccessAction.VIEW,
              purpose=purpose or _("View the client's job preferences"))
    return JobPreferences.objects.filter(client_id=client_id).prefetch_related("skills").first()


@dataclass(frozen=True)
class Candidate:
    """A client who may fit an opening: no hard constraint broken, with the fit score and the skills missing."""

    client: Any
    score: float
    distance_km: float | None
    parts: dict[str, float]
    missing_skills: list[int]


def _json_list_has(field: str, value: str) -> Any:
    """``Q``: the JSON list ``field`` holds ``value`` (containment on PostgreSQL, the JSON text elsewhere)."""
    from django.db import connection
    from django.db.models import Q

    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [value]})
    return Q(**{f"{field}__icontains": f'"{value}"'})


def candidates_for_opening(user: Any, opening: Any, limit: int = 20, today: dt.date | None = None) -> list[Candidate]:
    """The clients whose employment data ``user`` may see, with job preferences, for whom ``opening`` breaks no
    hard constraint (``matching.violations``), best fit first (``matching.score``; ties by client id).

    Set-based first: the visible clients are pre-filtered in SQL on their job preferences (hours, working
    language, accommodations the employer can make, kinds of job wanted, the municipalities within reach); only
    those left (at most ``CANDIDATE_POOL``) get their profiles in four queries and are checked with the plain
    rules. The list read is logged, one row per client shown."""
    from django.db.models import F, Q
    from django.utils.translation import gettext_lazy as _

    from polku.access.policy import log_list_access, visible_clients
    from polku.core.choices import DataCategory

    from . import matching

    day = today or timezone.localdate()
    facts = matching.OpeningFacts.of(opening)
    if (facts.status != "open" or facts.places_taken >= facts.places
            or facts.start_date > day + dt.timedelta(days=matching.START_WITHIN_DAYS)):
        return []  # closed, full or starting too late: nobody can be proposed
    hours = facts.hours_per_week
    qs = (visible_clients(user, DataCategory.EMPLOYMENT)
          .filter(job_preferences__isnull=False, job_preferences__hours_min__lte=hours,
                  job_preferences__hours_max__gte=hours)
          .annotate(acc_offered=F("job_preferences__accommodations_needed").bitand(facts.accommodations))
          .filter(acc_offered=F("job_preferences__accommodations_needed"))
          .filter(Q(job_preferences__kinds=[]) | _json_list_has("job_preferences__kinds", facts.kind)))
    if facts.language != matching.ANY_LANGUAGE:
        qs = qs.filter(_json_list_has("job_preferences__languages", facts.language)
                       | Q(job_preferences__languages=[], preferred_language=facts.language))
    place = Q(municipality_code__in=list(matching.reachable(facts.municipality_code, 500)))
    if facts.accommodations & matching.REMOTE:
        place |= Q(acc_remote=matching.REMOTE)
        qs = qs.annotate(acc_remote=F("job_preferences__accommodations_needed").bitand(matching.REMOTE))
    qs = qs.filter(place).order_by("pk")
    found = []
    pool = list(qs[:CANDIDATE_POOL])
    profiles = matching.profiles_of(pool)
    for client in pool:
        profile = profiles[client.pk]
        if matching.violations(profile, facts, day):
            continue
        parts, distance = matching.score_parts(profile, facts)
        found.append(Candidate(client, matching.score(parts), distance, parts,
                               sorted(facts.skills - profile.skills)))
    found.sort(key=lambda c: (-c.score, c.client.pk))
    shown = found[:limit]
    if shown:
        log_list_access(user=user, client_ids=[c.client.pk for c in shown], category=DataCategory.EMPLOYMENT,
                        purpose=_("Clients who may fit a job opening"))
    return shown
