"""Managers' indicator dashboard (``/indicators/``): the ESF+, joint-service and service-chain reports of
:func:`polku.indicators.services.build_report` as accessible HTML tables with bar charts, and the same report as a
CSV, XLSX, PDF or JSON file (``/indicators/download/``).

Nothing is computed here: every figure is a cell of the protected report (small cells already hidden), shown as
its own text. The page only turns the report into a view-model for the template.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from polku.access.policy import staff_of
from polku.accounts.reauth import recent_auth_required
from polku.coordination.selectors import AGGREGATE_ROLES
from polku.core.errors import InvalidInput
from polku.indicators import definitions, exports
from polku.indicators.facts import latest_refresh
from polku.indicators.report import PUBLISHED, Cell, Report, Table
from polku.indicators.services import REPORTS, build_report, parse_breakdown, parse_period, parse_region
from polku.web.charts import BarSeries, Chart, bar_chart

#: Download formats: content type and file extension.
DOWNLOADS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pdf": ("application/pdf", "pdf"),
    "json": ("application/json", "json"),
}


def may_see_indicators(actor: Any) -> bool:
    """Managers and administrators (and superusers) see the indicator reports."""
    staff = staff_of(actor)
    return (staff is not None and staff.role in AGGREGATE_ROLES) or bool(getattr(actor, "is_superuser", False))


def default_period() -> str:
    """The previous calendar year, e.g. "2025" during 2026."""
    return str(timezone.localdate().year - 1)


def _report_names() -> dict[str, str]:
    return {"esf": _("ESF+ participant and result report"), "joint": _("Joint-service report by gender"),
            "chain": _("Service-chain report"), "all": _("All indicators")}


def _breakdown_choices() -> list[tuple[str, Any]]:
    return [("", gettext_lazy("None")), *((key, definitions.DIMENSIONS[key].label) for key in definitions.BREAKDOWNS)]


class IndicatorForm(forms.Form):
    """The report to show: period, report, up to two breakdowns and the municipalities (a GET form)."""

    period = forms.CharField(
        label=gettext_lazy("Period"), max_length=40,
        help_text=gettext_lazy("A year (2025), a quarter (2025-Q2), a month (2025-03) or two dates "
                               "(2025-01-01..2025-06-30)."))
    report = forms.ChoiceField(label=gettext_lazy("Report"), choices=())
    by = forms.ChoiceField(label=gettext_lazy("Breakdown"), required=False, choices=(),
                           help_text=gettext_lazy("Rows by this group, besides gender in the columns."))
    by2 = forms.ChoiceField(label=gettext_lazy("Second breakdown"), required=False, choices=(),
                            help_text=gettext_lazy("Optional: rows by a second group within the first."))
    region = forms.CharField(
        label=gettext_lazy("Municipalities"), required=False, max_length=200,
        help_text=gettext_lazy("Municipality codes separated by commas, e.g. 179, 182. Empty: all municipalities."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = _report_names()
        self.fields["report"].choices = [(key, names[key]) for key in REPORTS]  # type: ignore[attr-defined]
        self.fields["by"].choices = _breakdown_choices()  # type: ignore[attr-defined]
        self.fields["by2"].choices = _breakdown_choices()  # type: ignore[attr-defined]

    def clean_period(self) -> str:
        value = str(self.cleaned_data.get("period") or "").strip()
        try:
            parse_period(value)
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from None
        return value

    def clean_region(self) -> str:
        value = str(self.cleaned_data.get("region") or "")
        try:
            return ",".join(parse_region(value))
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            parse_breakdown(self.breakdown(data))
        except InvalidInput as exc:
            self.add_error("by2", str(exc))
        return data

    @staticmethod
    def breakdown(data: dict[str, Any]) -> list[str]:
        return [value for value in (data.get("by"), data.get("by2")) if value]


def bind_form(request: HttpRequest) -> IndicatorForm:
    """The form bound to the query, with the defaults (the previous year's ESF+ report) for what it leaves out."""
    data = {"period": default_period(), "report": "esf", "by": "", "by2": "", "region": ""}
    for name in data:
        if name in request.GET:
            data[name] = request.GET[name]
    return IndicatorForm(data)


def _language() -> str:
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def query(cleaned: dict[str, Any], **extra: str) -> str:
    """The query string naming the same report (empty values left out)."""
    names = ("period", "report", "by", "by2", "region")
    values = {name: cleaned.get(name) or "" for name in names} | extra
    return urlencode({name: value for name, value in values.items() if value})


# --- the view-model ------------------------------------------------------------------------------------------


def _nice_max(value: float) -> float:
    """An axis end at or above ``value``: 1, 2 or 5 times a power of ten (at least 5)."""
    if value <= 5:
        return 5.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover


def is_total(table: Table, index: int) -> bool:
    """Whether row ``index`` is a total (of its dimension group): its key says so (or, without keys, its label)."""
    keys = getattr(table, "row_keys", None) or []
    if index < len(keys):
        return "total" in keys[index]
    return any(label in (_("All"), _("Total")) for label in table.rows[index])


def chartable(table: Table) -> bool:
    """A count table broken down by a single dimension (at least two categories) gets a bar chart."""
    return (table.kind == "count" and len(table.row_dimensions) == 1
            and sum(not is_total(table, i) for i in range(len(table.rows))) > 1)


def _published(cell: Cell) -> float | None:
    return float(cell.value) if cell.status == PUBLISHED and cell.value is not None else None


def table_chart(table: Table, key: str) -> Chart | None:
    """A grouped bar chart of a count table: one group of bars per category (totals left out), one bar per gender
    that has a figure above zero; a figure that is not published draws no bar, and the chart's own table shows the
    cells' text as the report does. None when no figure above zero is published (nothing to draw)."""
    rows = [(row, cells) for i, (row, cells) in enumerate(zip(table.rows, table.cells, strict=True))
            if not is_total(table, i)]
    categories = [" / ".join(row) for row, _cells in rows]
    genders = [j for j in range(len(table.columns) - 1) if any(_published(cells[j]) for _row, cells in rows)]
    series = [BarSeries(table.columns[j], [_published(cells[j]) for _row, cells in rows]) for j in genders]
    if not series:
        return None
    top = max((value for one in series for value in one.values if value is not None), default=0.0)
    chart = bar_chart(categories, series, key=key, title=table.title, y_label=table.unit or _("People"),
                      y_min=0.0, y_max=_nice_max(top), decimals=0,
                      category_label=table.row_dimension_labels[0] if table.row_dimension_labels else "",
                      note=_("Figures that are not shown, to protect small groups, have no bar."))
    shown = [[label, *[cells[j].text for j in genders]] for label, (_row, cells) in zip(categories, rows,
                                                                                      strict=True)]
    return dataclasses.replace(chart, rows=shown)


def _status_labels(report: Report) -> dict[str, str]:
    return {"primary": report.legend[0][1] if report.legend else "", "secondary": report.legend[1][1]
            if len(report.legend) > 1 else "", "denominator": report.legend[2][1] if len(report.legend) > 2 else "",
            "not_observed": report.legend[3][1] if len(report.legend) > 3 else ""}


def table_view(table: Table, report: Report, number: int) -> dict[str, Any]:
    """One table as the template shows it: caption, headers, rows (row headers and cells) and its chart."""
    key = "indicator-" + re.sub(r"[^0-9A-Za-z]+", "-", table.indicator).strip("-") + f"-{number}"
    meanings = _status_labels(report)
    groups = len(table.row_dimension_labels)
    rows = []
    for index, (labels, cells) in enumerate(zip(table.rows, table.cells, strict=True)):
        padded = list(labels) + [""] * (groups - len(labels))
        rows.append({
            "labels": padded[:groups] if groups else list(labels),
            "total": is_total(table, index),
            "cells": [{"text": cell.text, "status": cell.status, "meaning": meanings.get(cell.status, "")}
                      for cell in cells],
        })
    return {
        "key": key,
        "code": table.code,
        "title": table.title,
        "caption": f"{table.code} {table.title}".strip(),
        "unit": table.unit,
        "kind": table.kind,
        "definition": table.definition,
        "notes": list(table.notes),
        "dimension_labels": list(table.row_dimension_labels),
        "columns": list(table.columns),
        "rows": rows,
        "chart": table_chart(table, f"{key}-chart") if chartable(table) else None,
    }


def report_view(report: Report) -> dict[str, Any]:
    """The whole report for the template: its heading figures, sections with their tables, and the legend."""
    number = 0
    sections = []
    for section in report.sections:
        tables = []
        for table in section.tables:
            number += 1
            tables.append(table_view(table, report, number))
        sections.append({"key": f"section-{section.key}", "title": section.title, "intro": section.intro,
                         "tables": tables})
    return {
        "title": report.title,
        "period": report.period_label,
        "period_start": report.period_start,
        "period_end": report.period_end,
        "region": report.region_label,
        "threshold": report.threshold,
        "notes": list(report.notes),
        "legend": [{"mark": mark, "meaning": meaning} for mark, meaning in report.legend],
        "sections": sections,
    }


def _downloads(cleaned: dict[str, Any]) -> list[dict[str, str]]:
    base = reverse("web:indicators_download")
    labels = {"csv": _("CSV"), "xlsx": _("Excel (XLSX)"), "pdf": _("PDF"), "json": _("JSON")}
    return [{"format": fmt, "label": labels[fmt], "url": f"{base}?{query(cleaned, format=fmt)}"} for fmt in DOWNLOADS]


def _quick_links() -> list[dict[str, str]]:
    """The two reports asked for most: the previous year's ESF+ and joint-service reports as PDF, one click."""
    base = reverse("web:indicators_download")
    period = default_period()
    return [
        {"key": "esf-pdf", "label": _("ESF+ report (PDF)"),
         "url": f"{base}?{urlencode({'period': period, 'report': 'esf', 'format': 'pdf'})}"},
        {"key": "joint-pdf", "label": _("Joint-service report by gender (PDF)"),
         "url": f"{base}?{urlencode({'period': period, 'report': 'joint', 'format': 'pdf'})}"},
    ]


def _page(request: HttpRequest, form: IndicatorForm, *, status: int = 200, **context: Any) -> HttpResponse:
    cleaned = form.cleaned_data if form.is_bound and not form.errors else {}
    return render(request, "web/indicators.html", {
        "form": form,
        "quick_links": _quick_links(),
        "default_period": default_period(),
        "downloads": _downloads(cleaned) if cleaned else [],
        "report": None,
        "message": "",
        **context,
    }, status=status)


def _denied(request: HttpRequest) -> HttpResponse | None:
    """None for managers and administrators; other staff get the "not for you" page (403), anyone else 404."""
    if may_see_indicators(request.user):
        return None
    if staff_of(request.user) is None:
        raise Http404
    return render(request, "web/indicators_denied.html", status=403)


def _build(form: IndicatorForm) -> Report:
    data = form.cleaned_data
    return build_report(data["report"], period=data["period"], region=data["region"],
                        by=form.breakdown(data), language=_language())


@login_required
def indicators(request: HttpRequest) -> HttpResponse:
    """``/indicators/``: the chosen report as tables and charts, with its downloads. For managers and
    administrators; other staff are told it is not for them (403), anyone else gets "not found"."""
    denied = _denied(request)
    if denied is not None:
        return denied
    form = bind_form(request)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        report = _build(form)
    except InvalidInput as exc:
        if latest_refresh() is None:
            return _page(request, form, message=str(exc), downloads=[])
        form.add_error(None, str(exc))
        return _page(request, form, status=400)
    return _page(request, form, report=report_view(report))


def filename(report: Report, fmt: str) -> str:
    """E.g. ``polku-esf-2025.pdf`` (the period's label made safe for a file name)."""
    period = re.sub(r"[^0-9A-Za-z-]+", "_", report.period_label).strip("_") or "period"
    return f"polku-{report.key}-{period}.{DOWNLOADS[fmt][1]}"


@login_required
@recent_auth_required  # an export: a recent password (polku.accounts.reauth)
def download(request: HttpRequest) -> HttpResponse:
    """``/indicators/download/?period=…&report=…&format=csv|xlsx|pdf|json``: the same report as a file."""
    denied = _denied(request)
    if denied is not None:
        return denied
    form = bind_form(request)
    fmt = request.GET.get("format", "")
    if fmt not in DOWNLOADS:
        message = _("Unknown format “%(name)s”. Choose from: %(choices)s.") % {
            "name": fmt, "choices": ", ".join(DOWNLOADS)}
        form.is_valid()
        return _page(request, form, status=400, format_error=message)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        report = _build(form)
    except InvalidInput as exc:
        if latest_refresh() is None:
            return _page(request, form, message=str(exc), downloads=[])
        form.add_error(None, str(exc))
        return _page(request, form, status=400)
    response = HttpResponse(exports.render(report, fmt), content_type=DOWNLOADS[fmt][0])
    response["Content-Disposition"] = f'attachment; filename="{filename(report, fmt)}"'
    return response


urlpatterns: list[URLPattern | Any] = [
    path("indicators/", indicators, name="indicators"),
    path("indicators/download/", download, name="indicators_download"),
]
