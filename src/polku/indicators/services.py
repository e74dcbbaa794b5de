"""Building protected indicator reports from the facts (docs/indicators.md).

Every figure is counted from the pre-aggregated facts (:mod:`polku.indicators.facts`) with a few grouped queries
per population, shaped into arrays (breakdown × partition × gender) and protected by
:func:`polku.indicators.protection.protect` before anything is shown; the tables that share a population are
protected together (:func:`_protect_family`) so that a total hidden in one table is hidden in all of them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from polku.core.dates import add_months
from polku.core.errors import InvalidInput

from . import definitions as defs
from .facts import EMPLOYED, INACTIVE, latest_refresh
from .models import AssessmentChangeFact, ParticipationFact, ReferralFact
from .protection import Protected, cell_text, protect, protect_median
from .report import DENOMINATOR, PRIMARY, PUBLISHED, SECONDARY, Cell, Report, Section, Table

REPORTS = ("esf", "joint", "chain", "all")
#: PostgreSQL's memory for one grouping step while a report is built (its default of 4 MB spills to disk).
REPORT_WORK_MEM = "128MB"
MAX_BREAKDOWN = 2

LM_STATUS = (("long_term_unemployed", "Long-term unemployed"), ("other_unemployed", "Other unemployed"),
             ("inactive", "Inactive (outside the labour force)"), ("employed", "Employed"),
             ("not_known", "Not known"))
ESF_AGE = (("under_18", "Under 18"), ("18_29", "18–29"), ("30_54", "30–54"), ("55_plus", "55 or over"))
YES_NO_ONLY = (("yes", "Yes"), ("no", "No"))
STATUS_AFTER = ("employed_open_market", "subsidised_work", "education", "rehabilitation", "unemployed",
                "outside_labour_force", "pension", "unknown")
END_REASONS = ("employed", "ordinary_services", "education", "retired", "moved_away", "not_reached",
               "client_choice", "no_change", "other")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    label: str


def parse_period(text: str) -> Period:
    """``2025``, ``2025-Q2``, ``2025-03`` or ``2025-01-01..2025-06-30``; a clear error otherwise."""
    value = (text or "").strip()
    try:
        if m := re.fullmatch(r"(\d{4})", value):
            year = int(m[1])
            return Period(dt.date(year, 1, 1), dt.date(year, 12, 31), value)
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value):
            year, quarter = int(m[1]), int(m[2])
            start = dt.date(year, 3 * quarter - 2, 1)
            return Period(start, add_months(start, 3) - dt.timedelta(days=1), f"{year}-Q{quarter}")
        if m := re.fullmatch(r"(\d{4})-(\d{2})", value):
            start = dt.date(int(m[1]), int(m[2]), 1)
            return Period(start, add_months(start, 1) - dt.timedelta(days=1), value)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value):
            start, end = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
            if end >= start:
                return Period(start, end, value)
    except ValueError:
        pass
    raise InvalidInput(_("“%(value)s” is not a period: give a year (2025), a quarter (2025-Q2), a month (2025-03) "
                         "or two dates (2025-01-01..2025-06-30).") % {"value": text})


def parse_breakdown(text: str | Sequence[str] | None) -> list[str]:
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else (text or [])) if t.strip()]
    unknown = [t for t in items if t not in defs.BREAKDOWNS]
    if unknown:
        raise InvalidInput(_("Unknown breakdown “%(name)s”. Choose from: %(choices)s.")
                           % {"name": unknown[0], "choices": ", ".join(defs.BREAKDOWNS)})
    if len(set(items)) != len(items) or len(items) > MAX_BREAKDOWN:
        raise InvalidInput(_("Give at most %(n)d different breakdowns.") % {"n": MAX_BREAKDOWN})
    return items


def parse_region(text: str | Sequence[str] | None) -> list[str]:
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else (text or [])) if t.strip()]
    for item in items:
        if not re.fullmatch(r"[0-9]{3}", item):
            raise InvalidInput(_("“%(value)s” is not a municipality code (three digits, e.g. 179).")
                               % {"value": item})
    return items


def threshold() -> int:
    return int(settings.POLKU["SMALL_CELL_THRESHOLD"])


# --- grids ------------------------------------------------------------------------------------------------------

def _age_band_expr() -> Case:
    whens = [When(age__lte=high, then=Value(name)) for name, _low, high in _generic_bands()]
    return Case(*whens, default=Value("55_plus"), output_field=CharField())


def _generic_bands() -> list[tuple[str, int, int]]:
    from polku.impact.table import AGE_BANDS

    return list(AGE_BANDS)


def _esf_age_expr() -> Case:
    return Case(When(age__lt=18, then=Value("under_18")), When(age__lte=29, then=Value("18_29")),
                When(age__lte=54, then=Value("30_54")), default=Value("55_plus"), output_field=CharField())


def _lm_status_expr() -> Case:
    return Case(
        When(status_at_start="unemployed", long_term_unemployed=True, then=Value("long_term_unemployed")),
        When(status_at_start="unemployed", then=Value("other_unemployed")),
        When(status_at_start__in=INACTIVE, then=Value("inactive")),
        When(status_at_start__in=EMPLOYED, then=Value("employed")),
        default=Value("not_known"), output_field=CharField())


def _flag_expr(field: str) -> Case:
    return Case(When(**{field: True}, then=Value("yes")), default=Value("no"), output_field=CharField())


DIM_EXPRESSIONS: dict[str, Any] = {
    "age_band": _age_band_expr, "esf_age": _esf_age_expr, "lm_status": _lm_status_expr,
    "region": lambda: F("municipality"),
    "job_searching_on_leaving": lambda: _flag_expr("job_searching_on_leaving"),
    "education_on_leaving": lambda: _flag_expr("education_on_leaving"),
    "qualification_on_leaving": lambda: _flag_expr("qualification_on_leaving"),
    "employed_on_leaving": lambda: _flag_expr("employed_on_leaving"),
    "employed_6m": lambda: Case(When(status_6m__in=EMPLOYED, then=Value("yes")), default=Value("no"),
                                output_field=CharField()),
    "better_situation_6m": lambda: _flag_expr("better_situation_6m"),
    "third_country": lambda: F("third_country"),
}


def _population_q(population: str, period: Period, region: list[str]) -> Q:
    a, b = period.start, period.end
    q = {
        "entrants": Q(start_date__gte=a, start_date__lte=b),
        "leavers": Q(end_date__gte=a, end_date__lte=b),
        "leavers_6m": Q(end_date__gte=a, end_date__lte=b) & ~Q(status_6m=""),
        "leavers_12m": Q(end_date__gte=a, end_date__lte=b) & ~Q(status_12m=""),
        "open": Q(start_date__lte=b) & (Q(end_date__isnull=True) | Q(end_date__gte=a)),
        "plan_due": Q(start_date__lte=b, mapping_end__lte=b) & (Q(end_date__isnull=True) | Q(end_date__gte=a)),
    }[population]
    if region:
        q &= Q(municipality__in=region)
    return q


def _dim(d: str, period: Period | None = None) -> Any:
    if d == "has_plan" and period is not None:
        return Case(When(plan_date__lte=period.end, then=Value("yes")), default=Value("no"), output_field=CharField())
    return DIM_EXPRESSIONS[d]() if d in DIM_EXPRESSIONS else F(d)


def fact_grid(population: str, period: Period, region: list[str], dims: Sequence[str]) -> pd.DataFrame:
    """Counts of facts in ``population`` grouped by ``dims`` (plus gender): one grouped query."""
    annotations = {f"d_{d}": _dim(d, period) for d in dims}
    names = [*annotations, "gender"]
    qs = (ParticipationFact.objects.filter(_population_q(population, period, region)).annotate(**annotations)
          .values(*names).annotate(n=Count("id")).order_by())
    frame = pd.DataFrame(list(qs.values_list(*names, "n")), columns=[*names, "n"])
    frame.columns = [c[2:] if c.startswith("d_") else c for c in frame.columns]
    return frame


def _categories(dim: str, frame: pd.DataFrame | None = None) -> list[tuple[str, str]]:
    if dim == "region":
        names = defs.municipality_names()
        codes = sorted(set(frame["region"])) if frame is not None and "region" in frame else []
        return [(c, f"{c} {names.get(c, '')}".strip()) for c in codes]
    if dim == "segment":
        return _segment_categories(frame)
    if dim in defs.DIMENSIONS:
        return [(code, str(label)) for code, label in defs.DIMENSIONS[dim].categories]
    local = {"lm_status": LM_STATUS, "esf_age": ESF_AGE, "education": defs.DIMENSIONS["education"].categories,
             "area": defs.DIMENSIONS["area"].categories, "end_reason": None, "status_6m": None, "status_12m": None}
    if dim in local and local[dim] is not None:
        return [(code, _(str(label))) for code, label in local[dim]]  # type: ignore[union-attr]
    if dim == "end_reason":
        from polku.episodes.models import EndReason

        return [(code, str(EndReason(code).label)) for code in END_REASONS]
    if dim in ("status_6m", "status_12m"):
        from polku.clients.models import EmploymentStatus

        return [(code, str(EmploymentStatus(code).label) if code != "unknown" else _("Not known"))
                for code in STATUS_AFTER]
    if dim in ("disability", "third_country", "foreign_background", "minority", "homeless"):
        return [(code, str(label)) for code, label in defs.YES_NO]
    return [(code, _(label)) for code, label in YES_NO_ONLY]


def _segment_categories(frame: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Segments 1..k of the latest segment model, described in plain words, then "not assigned"."""
    from polku.impact.models import ModelKind
    from polku.impact.selectors import usable_latest

    codes = sorted({c for c in (frame["segment"] if frame is not None and "segment" in frame else []) if c},
                   key=lambda c: (len(c), c))
    found = usable_latest(ModelKind.SEGMENTS)
    labels: dict[str, str] = {}
    if found is not None:
        from polku.impact import segments as seg

        k = int(found[1].k)
        codes = sorted(set(codes) | {str(i) for i in range(1, k + 1)}, key=lambda c: (len(c), c))
        for code in codes:
            try:
                labels[code] = f"{code} {seg.describe(found[1], int(code))['title']}"
            except (ValueError, KeyError, IndexError):
                labels[code] = code
    return [(c, labels.get(c, _("Segment %(n)s") % {"n": c})) for c in codes] + [("", _("Not assigned"))]


def _array(frame: pd.DataFrame, axes: list[tuple[str, list[str]]], value: str = "n") -> np.ndarray:
    """Sum ``value`` into an array over the axes' categories (a value outside them goes to the last one)."""
    shape = tuple(len(cats) for _name, cats in axes)
    out = np.zeros(shape, dtype=np.int64)
    if not len(frame):
        return out
    index = []
    for name, cats in axes:
        lookup = {c: i for i, c in enumerate(cats)}
        last = len(cats) - 1
        index.append(np.array([lookup.get(v, last) for v in frame[name].tolist()], dtype=np.int64))
    np.add.at(out, tuple(index), frame[value].to_numpy(np.int64))
    return out


GENDER_CODES = [code for code, _label in defs.GENDERS]


# --- protection of tables sharing a population ------------------------------------------------------------------

def _protect_family(base: np.ndarray, parts: dict[str, np.ndarray],
                    k: int) -> tuple[Protected, dict[str, Protected]]:
    """Protect a population table (axes: breakdown…, gender) and its partition tables (axes: breakdown…, part,
    gender) so that the population's cells, which are every partition table's margin over the part axis, are
    suppressed alike everywhere; repeated until no table hides a population cell the others show."""
    forced = np.zeros(tuple(s + 1 for s in base.shape), dtype=bool)
    part_axis = base.ndim - 1
    # ``forced`` only grows, so this settles within as many rounds as the population table has cells
    for _round in range(forced.size + 1):
        base_p = protect(base, k, force=forced)
        shared = base_p.status != PUBLISHED
        results: dict[str, Protected] = {}
        grew = False
        for name, counts in parts.items():
            force = np.zeros(tuple(s + 1 for s in counts.shape), dtype=bool)
            margin = [slice(None)] * counts.ndim
            margin[part_axis] = slice(-1, None)
            force[tuple(margin)] = np.expand_dims(shared, part_axis)
            result = protect(counts, k, force=force)
            results[name] = result
            hidden = np.take(result.status != PUBLISHED, -1, axis=part_axis)
            if (hidden & ~shared).any():
                forced |= hidden
                grew = True
        if not grew:
            return base_p, results
    raise RuntimeError("protection did not settle")  # pragma: no cover


# --- building tables ---------------------------------------------------------------------------------------------

def _row_labels(by_cats: list[list[tuple[str, str]]],
                part_cats: list[tuple[str, str]] | None) -> list[tuple[str, ...]]:
    axes = [[label for _c, label in cats] + [_("All")] for cats in by_cats]
    if part_cats is not None:
        axes.append([label for _c, label in part_cats] + [_("Total")])
    return [tuple(combo) for combo in itertools.product(*axes)] if axes else [(_("All"),)]


def _count_cells(p: Protected, k: int) -> list[list[Cell]]:
    values = p.values.reshape(-1, p.values.shape[-1])
    status = p.status.reshape(-1, p.status.shape[-1])
    return [[Cell(int(v) if s == PUBLISHED else None, cell_text(int(v), s, k, kind="count"), s)
             for v, s in zip(row_v, row_s, strict=True)] for row_v, row_s in zip(values, status, strict=True)]


def _rate_cells(num: np.ndarray, den: np.ndarray, status: np.ndarray, k: int) -> list[list[Cell]]:
    num2, den2 = num.reshape(-1, num.shape[-1]), den.reshape(-1, den.shape[-1])
    st2 = status.reshape(-1, status.shape[-1])
    rows = []
    for nr, dr, sr in zip(num2, den2, st2, strict=True):
        row = []
        for n, d, s in zip(nr, dr, sr, strict=True):
            value = round(100.0 * n / d, 1) if s == PUBLISHED and d else None
            row.append(Cell(value, cell_text(value, s, k, kind="rate"), s if value is not None or s else DENOMINATOR))
        rows.append(row)
    return rows


def _columns() -> list[str]:
    return [str(label) for _c, label in defs.GENDERS] + [_("Total")]


def _table(indicator: str, title: str, definition: str, kind: str, by: list[str],
           by_cats: list[list[tuple[str, str]]], part: str | None, part_cats: list[tuple[str, str]] | None,
           cells: list[list[Cell]], *, code: str = "", unit: str = "", denominator: str = "",
           notes: list[str] | None = None) -> Table:
    dims = list(by) + ([part] if part else [])
    labels = [str(defs.DIMENSIONS[d].label) if d in defs.DIMENSIONS else _("Category") for d in by]
    if part:
        labels.append(title if kind == "count" else _("Category"))
    key_axes = [[c for c, _l in cats] + ["total"] for cats in by_cats]
    if part_cats is not None:
        key_axes.append([c for c, _l in part_cats] + ["total"])
    keys = [tuple(k) for k in itertools.product(*key_axes)] if key_axes else [("total",)]
    return Table(indicator=indicator, code=code, title=title, definition=definition, kind=kind, unit=unit,
                 row_dimensions=dims or ["all"], row_dimension_labels=labels or [_("Group")],
                 rows=_row_labels(by_cats, part_cats), columns=_columns(), cells=cells, denominator=denominator,
                 notes=notes or [], row_keys=keys)


@dataclass
class Family:
    """A population's table and its partition tables, protected together."""

    population: Protected
    parts: dict[str, Protected]
    part_cats: dict[str, list[tuple[str, str]]]
    by_cats: list[list[tuple[str, str]]]


def family(population: str, period: Period, region: list[str], by: list[str], parts: Sequence[str],
           k: int) -> Family:
    grid = fact_grid(population, period, region, [*by, *parts])
    by_cats = [_categories(d, grid) for d in by]
    axes = [(d, [c for c, _l in cats]) for d, cats in zip(by, by_cats, strict=True)]
    base = _array(grid, [*axes, ("gender", GENDER_CODES)])
    arrays, part_cats = {}, {}
    for part in parts:
        cats = _categories(part, grid)
        part_cats[part] = cats
        arrays[part] = _array(grid, [*axes, (part, [c for c, _l in cats]), ("gender", GENDER_CODES)])
    base_p, protected = _protect_family(base, arrays, k)
    return Family(base_p, protected, part_cats, by_cats)


def _part_slice(fam: Family, part: str, counted: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The counted categories' values and status (summed over several categories: published only when all are)."""
    p = fam.parts[part]
    codes = [c for c, _l in fam.part_cats[part]]
    axis = len(fam.by_cats)
    idx = [codes.index(c) for c in counted]
    values = np.take(p.values, idx, axis=axis).sum(axis=axis)
    statuses = np.take(p.status, idx, axis=axis)
    hidden = (statuses != PUBLISHED).any(axis=axis)
    status = np.where(hidden, np.where((statuses == PRIMARY).any(axis=axis), PRIMARY, SECONDARY), PUBLISHED)
    if len(idx) == 1:
        status = statuses.take(0, axis=axis)
    return values, status


def _indicator_cells(values: np.ndarray, status: np.ndarray, k: int) -> list[list[Cell]]:
    v2, s2 = values.reshape(-1, values.shape[-1]), status.reshape(-1, status.shape[-1])
    return [[Cell(int(v) if s == PUBLISHED else None, cell_text(int(v), s, k, kind="count"), str(s))
             for v, s in zip(rv, rs, strict=True)] for rv, rs in zip(v2, s2, strict=True)]


def _rate_from(fam: Family, part: str, counted: Sequence[str], k: int) -> list[list[Cell]]:
    values, status = _part_slice(fam, part, counted)
    den = fam.population
    st = np.where(den.values < k, DENOMINATOR, np.where(den.status != PUBLISHED, den.status, status))
    return _rate_cells(values, den.values, st, k)


def esf_section(period: Period, region: list[str], by: list[str], k: int) -> list[Section]:
    codes = defs.esf_codes()
    out_parts = sorted({ind.part for ind in defs.ESF_OUTPUTS if ind.part})
    entrants = family("entrants", period, region, by, out_parts, k)
    leavers = family("leavers", period, region, by, ["job_searching_on_leaving", "education_on_leaving",
                                                      "qualification_on_leaving", "employed_on_leaving"], k)
    later = family("leavers_6m", period, region, by, ["employed_6m", "better_situation_6m"], k)
    fams = {"entrants": entrants, "leavers": leavers, "leavers_6m": later}
    summary_rows: list[tuple[str, ...]] = []
    summary_cells: list[list[Cell]] = []
    summary_keys: list[tuple[str, ...]] = []
    detail: list[Table] = []
    for ind in (*defs.ESF_OUTPUTS, *defs.ESF_RESULTS):
        fam = fams[ind.population]
        if ind.part:
            values, status = _part_slice(fam, ind.part, ind.counted)
        else:
            values, status = fam.population.values, fam.population.status
        cells = _indicator_cells(values, status, k)
        total_row = cells[-1]
        summary_rows.append((codes.get(ind.key, ""), str(ind.name)))
        summary_keys.append((ind.key,))
        summary_cells.append(total_row)
        if by:  # without a breakdown the summary holds each indicator's row already
            detail.append(_table(ind.key, str(ind.name), str(ind.definition), "count", by, fam.by_cats, None, None,
                                 cells, code=codes.get(ind.key, "")))
    summary = Table(indicator="esf_summary", code="", title=_("ESF+ common indicators for participants"),
                    definition=_("Participants entering in the period (outputs) and leaving in it (results), by "
                                 "gender."), kind="count", unit="", row_dimensions=["code", "indicator"],
                    row_dimension_labels=[_("Code"), _("Indicator")], rows=summary_rows, columns=_columns(),
                    cells=summary_cells, row_keys=summary_keys)
    partitions = []
    for part, fam_key, title in (("lm_status", "entrants", _("Labour-market status at the start")),
                                 ("esf_age", "entrants", _("Age at the start")),
                                 ("education", "entrants", _("Education"))):
        fam = fams[fam_key]
        partitions.append(_table(f"esf_by_{part}", title, _("Participants entering in the period."), "count", by,
                                 fam.by_cats, part, fam.part_cats[part], _count_cells(fam.parts[part], k)))
    not_observed = ParticipationFact.objects.filter(_population_q("leavers", period, region), status_6m="").count()
    notes = []
    if not_observed:
        notes.append(_("%(n)s participants who left in the period have not yet been followed for six months; "
                       "they are not in the six-month results.")
                     % {"n": cell_text(not_observed, _small(not_observed, k), k)})
    return [
        Section("esf_summary", _("ESF+ common indicators"), _("The Commission's common indicators, by gender."),
                [summary]),
        Section("esf_outputs", _("Participants entering (outputs)"),
                _("Characteristics on the day the joint-service episode started."),
                [*detail[:len(defs.ESF_OUTPUTS) if by else 0], *partitions]),
        Section("esf_results", _("Results on leaving and six months after"), " ".join(notes),
                detail[len(defs.ESF_OUTPUTS):]),
    ]


def _small(value: int, k: int) -> str:
    return PRIMARY if 0 < value < k else PUBLISHED


def weighted_median(values: np.ndarray, counts: np.ndarray) -> float:
    """The median of ``values`` each repeated ``counts`` times (the mean of the two middle ones when even)."""
    order = np.argsort(values, kind="stable")
    v, c = values[order], counts[order]
    total = int(c.sum())
    cum = np.cumsum(c)
    low = v[np.searchsorted(cum, (total - 1) // 2 + 1)]
    high = v[np.searchsorted(cum, total // 2 + 1)]
    return float(low + high) / 2.0


def _median_table(frame: pd.DataFrame, by: list[str], by_cats: list[list[tuple[str, str]]], value: str,
                  k: int) -> list[list[Cell]]:
    """Medians over every combination of the breakdowns and gender (margins included), hidden under k people.
    ``frame`` is a histogram: the breakdowns, gender, ``value`` and how many people (``n``) had it."""
    axes = [(d, [c for c, _l in cats]) for d, cats in zip(by, by_cats, strict=True)] + [("gender", GENDER_CODES)]
    shape = tuple(len(c) + 1 for _n, c in axes)
    medians = np.full(shape, np.nan)
    persons = np.zeros(shape, dtype=np.int64)
    values = frame[value].to_numpy(float) if len(frame) else np.zeros(0)
    counts = frame["n"].to_numpy(np.int64) if len(frame) else np.zeros(0, np.int64)
    codes = {name: frame[name].to_numpy(object) if len(frame) else np.zeros(0, object) for name, _c in axes}
    for combo in itertools.product(*[[*cats, None] for _n, cats in axes]):
        sel = np.ones(len(frame), dtype=bool)
        for (name, _cats), code in zip(axes, combo, strict=True):
            if code is not None:
                sel &= codes[name] == code
        index = tuple(cats.index(code) if code is not None else len(cats)
                      for (_n, cats), code in zip(axes, combo, strict=True))
        persons[index] = int(counts[sel].sum())
        if persons[index]:
            medians[index] = weighted_median(values[sel], counts[sel])
    status = protect_median(persons, k)
    flat_m, flat_s = medians.reshape(-1, shape[-1]), status.reshape(-1, shape[-1])
    return [[Cell(round(m, 1) if s == PUBLISHED and not np.isnan(m) else None,
                  cell_text(None if np.isnan(m) else m, s if not np.isnan(m) else DENOMINATOR, k, kind="median"),
                  s if not np.isnan(m) else DENOMINATOR)
             for m, s in zip(rm, rs, strict=True)] for rm, rs in zip(flat_m, flat_s, strict=True)]


def _grouped(model: Any, q: Q, dims: list[str], value: str | None = None,
             expressions: dict[str, Any] | None = None) -> pd.DataFrame:
    """One grouped query: how many rows of ``model`` matching ``q`` have each combination of ``dims``, gender and
    (when given) ``value`` — a histogram from which counts and medians are taken. ``expressions`` gives dimensions
    of the caller's own (name → expression)."""
    own = expressions or {}
    annotations = {f"d_{d}": own[d] if d in own else DIM_EXPRESSIONS[d]() if d in DIM_EXPRESSIONS else F(d)
                   for d in dims}
    names = [*annotations, "gender", *([value] if value else [])]
    qs = model.objects.filter(q).annotate(**annotations).values(*names).annotate(n=Count("id")).order_by()
    frame = pd.DataFrame(list(qs.values_list(*names, "n")), columns=[*names, "n"])
    frame.columns = [c[2:] if c.startswith("d_") else c for c in frame.columns]
    return frame


def joint_section(period: Period, region: list[str], by: list[str], k: int) -> list[Section]:
    tables: list[Table] = []
    # clients: people with an episode open in the period, each counted once (their latest episode)
    open_q = _population_q("open", period, region)
    later = ParticipationFact.objects.filter(open_q, person=OuterRef("person")).filter(
        Q(start_date__gt=OuterRef("start_date"))
        | Q(start_date=OuterRef("start_date"), episode__gt=OuterRef("episode")))
    open_rows = _grouped(ParticipationFact, open_q & ~Q(Exists(later)), by)
    by_cats = [_categories(d, open_rows) for d in by]
    axes = [(d, [c for c, _l in cats]) for d, cats in zip(by, by_cats, strict=True)]
    clients = protect(_array(open_rows, [*axes, ("gender", GENDER_CODES)]), k)
    tables.append(_table("joint_clients", _("Clients in joint service"),
                         _("People with a joint-service episode open on at least one day of the period, each "
                           "counted once."), "count", by, by_cats, None, None, _count_cells(clients, k)))
    entrants = family("entrants", period, region, by, [], k)
    tables.append(_table("joint_new_episodes", _("New joint-service episodes"),
                         _("Episodes that started in the period."), "count", by, entrants.by_cats, None, None,
                         _count_cells(entrants.population, k)))
    due = family("plan_due", period, region, by, ["has_plan"], k)
    tables.append(_table("joint_plan_share", _("Share with a multi-sector plan"),
                         _("Of the episodes open in the period whose mapping period had ended, the share with a "
                           "plan drawn up by the end of the period."), "rate", by, due.by_cats, None, None,
                         _rate_from(due, "has_plan", ["yes"], k), unit="%"))
    a, b = period.start, period.end
    planned = _grouped(ParticipationFact, Q(plan_date__gte=a, plan_date__lte=b) & _region_q(region), by,
                       "days_to_plan").rename(columns={"days_to_plan": "days"})
    tables.append(_table("joint_time_to_plan", _("Time to plan"),
                         _("Days from the start of the episode to its first plan, for plans drawn up in the "
                           "period."), "median", by, [_categories(d, planned) for d in by], None, None,
                         _median_table(planned, by, [_categories(d, planned) for d in by], "days", k),
                         unit=_("median, days")))
    mapped = _grouped(ParticipationFact, Q(mapping_ended_on__gte=a, mapping_ended_on__lte=b) & _region_q(region),
                      by, "mapping_days").rename(columns={"mapping_days": "days"})
    tables.append(_table("joint_time_in_mapping", _("Time in the mapping period"),
                         _("Days from the start to the end of the mapping period (the first plan, the deadline or "
                           "the end of the episode, whichever came first), for mapping periods that ended in the "
                           "period."), "median", by, [_categories(d, mapped) for d in by], None, None,
                         _median_table(mapped, by, [_categories(d, mapped) for d in by], "days", k),
                         unit=_("median, days")))
    leavers = family("leavers", period, region, by, ["end_reason"], k)
    tables.append(_table("joint_ends_by_reason", _("Episodes ended, by reason"),
                         _("Episodes that ended in the period, by the reason recorded."), "count", by,
                         leavers.by_cats, "end_reason", leavers.part_cats["end_reason"],
                         _count_cells(leavers.parts["end_reason"], k)))
    for months, population in ((6, "leavers_6m"), (12, "leavers_12m")):
        col = f"status_{months}m"
        fam = family(population, period, region, by, [col], k)
        waiting = ParticipationFact.objects.filter(_population_q("leavers", period, region),
                                                   **{col: ""}).count()
        notes = [_("%(n)s episodes that ended in the period have not yet been followed this long.")
                 % {"n": cell_text(waiting, _small(waiting, k), k)}] if waiting else []
        title = _("Status %(months)d months after the end") % {"months": months}
        tables.append(_table(f"joint_status_{months}m", title,
                             _("Labour-market status of the people whose episode ended in the period, %(months)d "
                               "months after the end.") % {"months": months}, "count", by, fam.by_cats, col,
                             fam.part_cats[col], _count_cells(fam.parts[col], k), notes=notes))
    assessed = _assessment_table(period, k)
    return [Section("joint", _("Joint service"), _("Clients, episodes, plans and what followed them."), tables),
            Section("assessment", _("Change in assessments"),
                    _("Share of clients whose score improved between their first and latest assessment in the "
                      "episode."), assessed)]


def _region_q(region: list[str]) -> Q:
    return Q(municipality__in=region) if region else Q()


def _assessment_table(period: Period, k: int) -> list[Table]:
    rows = pd.DataFrame(list(AssessmentChangeFact.objects.filter(last_on__gte=period.start, last_on__lte=period.end)
                             .values("instrument", "gender", "improved").annotate(n=Count("id"))
                             .values_list("instrument", "gender", "improved", "n")),
                        columns=["instrument", "gender", "improved", "n"])
    from polku.assessments.models import Instrument

    names = {i.code: i for i in Instrument.objects.all()}
    tables = []
    for code in sorted(set(rows["instrument"])):
        sel = rows[rows["instrument"] == code].copy()
        sel["part"] = np.where(sel["improved"].astype(bool), "yes", "no")
        base = _array(sel, [("gender", GENDER_CODES)])
        part = _array(sel, [("part", ["yes", "no"]), ("gender", GENDER_CODES)])
        base_p, parts = _protect_family(base, {"improved": part}, k)
        fam = Family(base_p, parts, {"improved": [("yes", _("Yes")), ("no", _("No"))]}, [])
        instrument = names.get(code)
        label = instrument_name(instrument) if instrument else code
        tables.append(_table(f"assessment_improved_{code}", _("Improved: %(instrument)s") % {"instrument": label},
                             _("Of the clients assessed at least twice in the episode, with the latest in the "
                               "period, the share whose latest score was better than the first."), "rate", [], [],
                             None, None, _rate_from(fam, "improved", ["yes"], k), unit="%"))
    return tables


def instrument_name(instrument: Any) -> str:
    from django.utils.translation import get_language

    lang = (get_language() or "fi")[:2]
    return getattr(instrument, f"name_{lang}", "") or instrument.name_fi


def chain_section(period: Period, k: int, unanswered_days: int | None = None) -> list[Section]:
    from polku.catalogue.models import Service
    from polku.organisations.models import Organisation

    a, b = period.start, period.end
    started = _grouped(ReferralFact, Q(started_on__gte=a, started_on__lte=b), ["service", "provider"],
                       "waiting_days").rename(columns={"waiting_days": "days"})
    services = {s.id: s for s in Service.objects.filter(id__in=set(started["service"])).select_related("provider")}
    orgs = {o.id: o for o in Organisation.objects.filter(id__in=set(started["provider"]))}
    lang_name = _name_getter()
    started["service"] = started["service"].astype(str)
    started["provider"] = started["provider"].astype(str)
    svc_cats = sorted(((str(i), f"{lang_name(s)} – {lang_name(s.provider)}") for i, s in services.items()),
                      key=lambda c: c[1])
    org_cats = sorted(((str(i), lang_name(o)) for i, o in orgs.items()), key=lambda c: c[1])
    tables = [
        _table("chain_waiting_by_service", _("Waiting time from referral to start, by service"),
               _("Days from sending the referral to the start of the service, for services started in the "
                 "period."), "median", ["service"], [svc_cats], None, None,
               _median_table(started, ["service"], [svc_cats], "days", k), unit=_("median, days")),
        _table("chain_waiting_by_provider", _("Waiting time from referral to start, by provider"),
               _("Days from sending the referral to the start of the service, for services started in the "
                 "period."), "median", ["provider"], [org_cats], None, None,
               _median_table(started, ["provider"], [org_cats], "days", k), unit=_("median, days")),
    ]
    days = unanswered_days if unanswered_days is not None else _unanswered_days()
    refreshed = latest_refresh()
    as_of = refreshed.as_of if refreshed else timezone.localdate()
    late = Q(answer_days__gt=days) | Q(answer_days__isnull=True, sent_on__lt=as_of - dt.timedelta(days=days))
    late_expr = Case(When(late, then=Value("yes")), default=Value("no"), output_field=CharField())
    sent = _grouped(ReferralFact, Q(sent_on__gte=a, sent_on__lte=b), ["part"], expressions={"part": late_expr})
    base = _array(sent, [("gender", GENDER_CODES)])
    part = _array(sent, [("part", ["yes", "no"]), ("gender", GENDER_CODES)])
    base_p, parts = _protect_family(base, {"part": part}, k)
    fam = Family(base_p, parts, {"part": [("yes", _("Yes")), ("no", _("No"))]}, [])
    values, status = _part_slice(fam, "part", ["yes"])
    tables.append(_table("chain_unanswered", _("Referrals not answered in time"),
                         _("Referrals sent in the period that were not received or decided within %(days)d days.")
                         % {"days": days}, "count", [], [], None, None, _indicator_cells(values, status, k)))
    tables.append(_gaps_table(period, k))
    return [Section("chain", _("Service chain"), _("Waiting times, unanswered referrals and gaps."), tables)]


def _name_getter() -> Any:
    from django.utils.translation import get_language

    lang = (get_language() or "fi")[:2]
    return lambda obj: getattr(obj, f"name_{lang}", "") or obj.name_fi


def _unanswered_days() -> int:
    from polku.coordination.models import RuleSetting

    setting = RuleSetting.objects.filter(rule="referral_unanswered").first()
    return int((setting.params or {}).get("days", 14)) if setting else 14


def _gaps_table(period: Period, k: int) -> Table:
    """People with a coordination alert that arose in the period, by rule (each rule protected on its own)."""
    from polku.coordination.models import Alert
    from polku.coordination.rules import RULES

    rows = pd.DataFrame(list(Alert.objects.filter(due_on__gte=period.start, due_on__lte=period.end)
                             .values("rule", "client__gender").annotate(n=Count("client", distinct=True))
                             .values_list("rule", "client__gender", "n")), columns=["rule", "gender", "n"])
    labels = {code: str(rule.title) for code, rule in RULES.items()}
    cells: list[list[Cell]] = []
    names: list[tuple[str, ...]] = []
    rule_keys: list[tuple[str, ...]] = []
    for rule in sorted(set(rows["rule"])):
        counts = _array(rows[rows["rule"] == rule], [("gender", GENDER_CODES)])
        p = protect(counts, k)
        cells.extend(_count_cells(p, k))
        names.append((labels.get(rule, rule),))
        rule_keys.append((rule,))
    notes = [] if names else [_("No gaps arose in the period (or the coordination sweep has not run).")]
    return Table(indicator="chain_gaps_by_rule", code="", title=_("Gaps found, by rule"),
                 definition=_("People for whom the coordination engine found the situation in the period (each "
                              "rule counted on its own; a person can be in several)."), kind="count", unit="",
                 row_dimensions=["rule"], row_dimension_labels=[_("Rule")], rows=names, columns=_columns(),
                 cells=cells, notes=notes, row_keys=rule_keys)


def build_report(report: str = "esf", *, period: str | Period, region: str | Sequence[str] | None = None,
                 by: str | Sequence[str] | None = None, language: str | None = None) -> Report:
    """The protected report ``report`` (esf, joint, chain or all) for ``period``; raises InvalidInput on bad input."""
    if report not in REPORTS:
        raise InvalidInput(_("Unknown report “%(name)s”. Choose from: %(choices)s.")
                           % {"name": report, "choices": ", ".join(REPORTS)})
    per = period if isinstance(period, Period) else parse_period(period)
    regions = parse_region(region)
    breakdown = parse_breakdown(by)
    lang = language or settings.LANGUAGE_CODE
    refresh = latest_refresh()
    if refresh is None:
        raise InvalidInput(_("The indicators have not been computed yet: run “polku indicators refresh”."))
    k = threshold()
    with override(lang), transaction.atomic():
        if connection.vendor == "postgresql":  # grouping in memory, not in sort files on disk; no JIT warm-up
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
                cursor.execute("SELECT set_config('work_mem', %s, true)", [REPORT_WORK_MEM])
        sections: list[Section] = []
        if report in ("esf", "all"):
            sections += esf_section(per, regions, breakdown, k)
        if report in ("joint", "all"):
            sections += joint_section(per, regions, breakdown, k)
        if report in ("chain", "all"):
            sections += chain_section(per, k)
        titles = {"esf": _("ESF+ participant and result report"), "joint": _("Joint-service report by gender"),
                  "chain": _("Service-chain report"), "all": _("Indicator report")}
        names = defs.municipality_names()
        region_label = ", ".join(f"{c} {names.get(c, '')}".strip() for c in regions) if regions else _("All")
        return Report(
            key=report, title=str(titles[report]), period_label=per.label, period_start=per.start,
            period_end=per.end, region_label=region_label, threshold=k, computed_at=refresh.finished_at,
            language=lang, sections=sections,
            legend=[(f"<{k}", _("fewer than %(k)d people") % {"k": k}),
                    ("x", _("hidden so that a small figure cannot be worked out from the totals")),
                    ("–", _("not shown: fewer than %(k)d people behind the figure") % {"k": k}),
                    ("..", _("not yet observed"))],
            notes=[_("Figures computed %(when)s from the records up to %(as_of)s.")
                   % {"when": date_format(timezone.localtime(refresh.finished_at), "DATETIME_FORMAT"),
                      "as_of": date_format(refresh.as_of, "DATE_FORMAT")}],
        )
