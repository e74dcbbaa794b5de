"""Managers' overview of the impact model (``/impact/``): which client segments the region serves, how likely
clients in each are to find work, how well the employment-potential model holds up on later clients, and whether
it serves every group equally well (the fairness audit).

Aggregates only, like the gap overview: no client is named, counts below ``POLKU["SMALL_CELL_THRESHOLD"]`` are
shown as "fewer than k" and a suppressed group's figures as "not shown". Everything comes from what was stored when
the models were trained (``ModelVersion.metrics`` and the ``FairnessReport``), so the page reads no client data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import formats
from django.utils.translation import gettext

from polku.access.policy import staff_of
from polku.core.errors import AccessDenied
from polku.impact import fairness
from polku.impact import selectors as impact_selectors
from polku.impact.models import ModelKind, ModelVersion, OverrideDirection

#: The single-attribute groupings, each with a chart (the intersections have tables only).
CHART_GROUPINGS = ("sex", "age_band", "foreign_background", "language")


def _threshold() -> int:
    return int(settings.POLKU["SMALL_CELL_THRESHOLD"])


def _decimal(value: Any, places: int = 3) -> str:
    if value is None:
        return gettext("not shown")
    return formats.number_format(round(float(value), places), decimal_pos=places, use_l10n=True)


def _percent(value: Any) -> str:
    if value is None:
        return gettext("not shown")
    return gettext("%(percent)s %%") % {"percent": formats.number_format(round(100 * float(value)), use_l10n=True)}


def _count(value: Any, k: int) -> str:
    """A count as shown: a count under ``k`` (or one the audit already hid) as "fewer than k"; 0 as it is (nobody
    can be recognised from it)."""
    if value is None or 0 < int(value) < k:
        return gettext("fewer than %(n)s") % {"n": k}
    return formats.number_format(int(value), use_l10n=True, force_grouping=True)


def _date(text: Any) -> str:
    if not text:
        return "–"
    try:
        day = dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return str(text)
    return formats.date_format(day, "SHORT_DATE_FORMAT", use_l10n=True)


def _span(pair: Any) -> str:
    if not pair or len(pair) != 2:
        return "–"
    return f"{_date(pair[0])}–{_date(pair[1])}"


# --- the employment-potential model --------------------------------------------------------------------------


def _validation(version: ModelVersion, k: int) -> dict[str, Any]:
    """The model's out-of-time figures as shown: how well it ranks and how close its estimates were."""
    metrics = version.metrics or {}
    test = metrics.get("test") or {}
    return {
        "version": version,
        "auc": _decimal(test.get("auc")),
        "ece": _decimal(test.get("ece")),
        "brier": _decimal(test.get("brier")),
        "base_rate": _percent(test.get("base_rate")),
        "mean_predicted": _percent(test.get("mean_predicted")),
        "test_rows": _count(test.get("n", metrics.get("test_rows")), k),
        "train_rows": _count(metrics.get("train_rows"), k),
        "rows": _count(version.rows, k),
        "test_period": _span(metrics.get("test_reference_dates")),
        "train_period": _span(metrics.get("train_reference_dates")),
        "test_from": _date(metrics.get("test_from")),
        "ece_limit": _decimal(fairness.ECE_LIMIT, 2),
        "ece_met": test.get("ece") is not None and float(test["ece"]) <= fairness.ECE_LIMIT,
    }


# --- segments ------------------------------------------------------------------------------------------------


def _segment_rows(version: ModelVersion, k: int) -> list[dict[str, Any]]:
    """One row per segment from the profiles stored when the segments were fitted, described in plain words by
    ``segments.describe``. A segment smaller than ``k`` shows "fewer than k" and neither its share nor its
    employment rate; a rate known for fewer than ``k`` persons is not shown either."""
    from polku.impact import registry, segments

    try:
        model = impact_selectors.loaded(version)
    except registry.ArtifactRefused:
        return []
    rows = []
    for profile in (version.metrics or {}).get("profiles") or []:
        number = int(profile["segment"])
        text = segments.describe(model, number)
        n = profile.get("n")
        small = n is None or int(n) < k
        known = profile.get("employed_12m_known")
        rate = None if small or known is None or int(known) < k else profile.get("employed_12m_rate")
        rows.append({
            "number": number,
            "title": text["title"],
            "summary": text["summary"],
            "barriers": [str(b) for b in text.get("barriers") or []],
            "size": _count(n, k),
            "share": gettext("not shown") if small else _percent(profile.get("share")),
            "employed": _percent(rate),
        })
    return sorted(rows, key=lambda row: row["number"])


# --- the fairness report -------------------------------------------------------------------------------------


def _ordered(groupings: dict[str, Any]) -> list[tuple[str, Any]]:
    """The groupings in reading order: the single attributes, then their combinations (a JSON column need not
    keep the order the audit wrote them in: PostgreSQL's jsonb sorts the keys)."""
    known = [*CHART_GROUPINGS, *(fairness.grouping_name(pair) for pair in fairness.DEFAULT_INTERSECTIONS)]
    return sorted(groupings.items(), key=lambda item: (known.index(item[0]) if item[0] in known else len(known),
                                                       item[0]))


def _fairness_groupings(report: dict[str, Any], k: int) -> list[dict[str, Any]]:
    """Each grouping's table: every group's size and figures, a hidden size as "fewer than k", hidden figures as
    "not shown"; the single-attribute groupings also get their chart, the combinations come after them."""
    out = []
    for name, grouping in _ordered(report.get("groupings") or {}):
        attributes = grouping["attributes"]
        cells = [{
            "label": fairness.cell_label(attributes, list(cell["group"].values())),
            "n": _count(cell.get("n"), k),
            "suppressed": bool(cell.get("suppressed")),
            **{metric: _decimal(cell.get(metric)) for metric in ("auc", "ece", "tpr", "fpr", "selection_rate")},
        } for cell in grouping["cells"]]
        differences = grouping.get("differences") or {}
        out.append({
            "name": name,
            "key": "fairness-table-" + "".join(c if c.isalnum() else "-" for c in name),
            "label": fairness.grouping_label(attributes),
            "cells": cells,
            "suppressed_cells": grouping.get("suppressed_cells", 0),
            "auc_difference": _decimal(differences.get("auc")),
            "odds_difference": _decimal(grouping.get("equalized_odds_difference")),
            "parity_difference": _decimal(grouping.get("demographic_parity_difference")),
            "chart": fairness.fairness_chart(report, name) if name in CHART_GROUPINGS else None,
            "first_combined": False,
        })
    combined = [grouping for grouping in out if grouping["chart"] is None]
    if combined:
        combined[0]["first_combined"] = True
    return out


def _flags(report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The audit's flags in its own words (the written report's sentences): those beyond chance, and those in
    groups so small that chance alone could explain them."""
    flags = report.get("flags") or []
    firm = [fairness._flag_text(report, flag) for flag in flags if not flag.get("within_noise")]
    chance = [fairness._flag_text(report, flag) for flag in flags if flag.get("within_noise")]
    return firm, chance


def _override_tables(report: dict[str, Any], k: int) -> dict[str, Any] | None:
    """Recorded disagreements by direction, overall and for each single-attribute grouping."""
    overrides = report.get("overrides")
    if overrides is None:
        return None
    directions = overrides["directions"]
    labels = [str(OverrideDirection(d).label) if d in OverrideDirection.values else d for d in directions]

    def cells(counts: dict[str, Any], total: Any) -> list[str]:
        return [_count(counts.get(d), k) for d in directions] + [_count(total, k)]

    overall = overrides["overall"]
    tables = []
    for name, grouping in _ordered(overrides.get("groupings") or {}):
        if name not in CHART_GROUPINGS:
            continue
        attributes = grouping["attributes"]
        tables.append({
            "label": fairness.grouping_label(attributes),
            "rows": [{"label": fairness.cell_label(attributes, list(cell["group"].values())),
                      "scored": _count(cell.get("scored"), k),
                      "counts": cells(cell["counts"], cell.get("total")),
                      "per_1000": _decimal(cell.get("per_1000"), 1)} for cell in grouping["cells"]],
        })
    return {
        "directions": labels,
        "overall": {"scored": _count(overall.get("scored"), k), "counts": cells(overall["counts"], overall["total"]),
                    "per_1000": _decimal(overall.get("per_1000"), 1)},
        "tables": tables,
    }


def _fairness(report: Any, k: int) -> dict[str, Any] | None:
    if report is None:
        return None
    data = report.report or {}
    overall = data.get("overall") or {}
    target = data.get("target") or {}
    firm, chance = _flags(data)
    return {
        "report": report,
        "rows": _count(data.get("rows"), k),
        "threshold": _decimal(data.get("threshold")),
        "min_cell": data.get("min_cell", k),
        "overall": {metric: _decimal(overall.get(metric)) for metric in ("auc", "ece", "tpr", "fpr",
                                                                          "selection_rate")},
        "target_met": target.get("met"),
        "ece_limit": _decimal(target.get("ece_limit", fairness.ECE_LIMIT), 2),
        "flags": firm,
        "chance_flags": chance,
        "groupings": _fairness_groupings(data, k),
        "overrides": _override_tables(data, k),
    }


# --- versions ------------------------------------------------------------------------------------------------


def _version_rows(versions: list[ModelVersion], k: int) -> list[dict[str, Any]]:
    rows = []
    for version in versions:
        metrics = version.metrics or {}
        if version.kind == ModelKind.POTENTIAL:
            figure = gettext("AUC %(auc)s, calibration error %(ece)s") % {
                "auc": _decimal((metrics.get("test") or {}).get("auc")),
                "ece": _decimal((metrics.get("test") or {}).get("ece"))}
        else:
            figure = gettext("%(k)s segments") % {"k": metrics.get("k", "–")}
        rows.append({"version": version, "kind": version.get_kind_display(), "figure": figure,
                     "rows": _count(version.rows, k)})
    return rows


@login_required
def impact(request: HttpRequest) -> HttpResponse:
    """``/impact/``: the segments served, their chance of finding work, and whether the model is fair. For
    managers and administrators; other staff are told it is not for them, anyone else gets "not found"."""
    try:
        overview = impact_selectors.impact_overview(actor=request.user)
    except AccessDenied:
        if staff_of(request.user) is None:
            raise Http404 from None
        return render(request, "web/impact_denied.html", status=403)
    k = _threshold()
    return render(request, "web/impact.html", {
        "overview": overview,
        "threshold": k,
        "validation": _validation(overview.potential, k) if overview.potential is not None else None,
        "segment_rows": _segment_rows(overview.segments, k) if overview.segments is not None else None,
        "segments_version": overview.segments,
        "fairness": _fairness(overview.fairness, k),
        "versions": _version_rows(overview.versions, k),
    })


urlpatterns: list[URLPattern | Any] = [
    path("impact/", impact, name="impact"),
]
