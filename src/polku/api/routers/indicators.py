"""Indicator reports (docs/indicators.md): the protected ESF+, joint-service and service-chain reports of
:func:`polku.indicators.services.build_report`, for managers and administrators, and the indicators' definitions.

The report is the same one every output renders (small cells already hidden): a cell that is not published has
``value`` null and only its ``text`` ("<5", "x", "–", "..").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from polku.core.errors import InvalidInput
from polku.indicators import definitions
from polku.indicators.facts import latest_refresh
from polku.indicators.services import REPORTS, build_report, parse_breakdown, parse_period, parse_region
from polku.web.indicator_views import may_see_indicators

from ..deps import actor
from ..problems import error_responses, problem_response

router = Router()


class CellOut(Schema):
    value: int | float | None = Field(description="The figure; null when it is not published")
    text: str = Field(description="The figure as shown: the number, or <k, x, – or ..")
    status: str = Field(description="'' published, primary, secondary, denominator or not_observed")


class TableOut(Schema):
    indicator: str
    code: str = Field(description="The Commission's ESF+ code (EECO…/EECR…), empty for Polku's own indicators")
    title: str
    definition: str
    kind: str = Field(description="count, rate, median or mean")
    unit: str
    row_dimensions: list[str]
    row_dimension_labels: list[str]
    rows: list[list[str]] = Field(description="Row labels, one per row dimension; the last row of a group is its "
                                              "total")
    columns: list[str] = Field(description="Gender categories, then the total")
    cells: list[list[CellOut]] = Field(description="cells[i][j]: row i, column j")
    denominator: str = ""
    notes: list[str] = []


class SectionOut(Schema):
    key: str
    title: str
    intro: str
    tables: list[TableOut]


class LegendOut(Schema):
    mark: str
    meaning: str


class ReportOut(Schema):
    """A protected indicator report, in the language of Accept-Language."""

    key: str
    title: str
    period_label: str
    period_start: dt.date
    period_end: dt.date
    region_label: str
    threshold: int = Field(description="Counts below this are not published")
    computed_at: dt.datetime = Field(description="When the facts behind the figures were computed")
    language: str
    sections: list[SectionOut]
    legend: list[LegendOut]
    notes: list[str]


class ReportQuery(Schema):
    period: str = Field(description="2025, 2025-Q2, 2025-03 or 2025-01-01..2025-06-30", max_length=40)
    report: str = Field("esf", description="esf, joint, chain or all", max_length=10)
    region: str = Field("", description="Municipality codes, comma-separated (default: all)", max_length=200)
    by: str = Field("", description="Up to two breakdowns, comma-separated: " + ", ".join(definitions.BREAKDOWNS),
                    max_length=100)


class IndicatorDefinitionOut(Schema):
    key: str
    code: str = Field(description="The Commission's ESF+ code")
    name: str
    definition: str
    population: str = Field(description="Who is counted (docs/indicators.md): entrants, leavers, leavers_6m …")
    kind: str


def _language() -> str:
    language = (get_language() or settings.LANGUAGE_CODE)[:2]
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


def _forbidden(request: HttpRequest) -> HttpResponse:
    return problem_response(request, 403, "forbidden", _("The indicator reports are for managers and "
                                                        "administrators."))


def _report(request: HttpRequest, filters: ReportQuery) -> Any:
    if not may_see_indicators(actor(request)):
        return _forbidden(request)
    try:
        if filters.report not in REPORTS:
            raise InvalidInput(_("Unknown report “%(name)s”. Choose from: %(choices)s.")
                               % {"name": filters.report, "choices": ", ".join(REPORTS)})
        period = parse_period(filters.period)
        parse_region(filters.region)
        parse_breakdown(filters.by)
    except InvalidInput as exc:
        return problem_response(request, 400, exc.code, str(exc))
    try:
        report = build_report(filters.report, period=period, region=filters.region, by=filters.by,
                              language=_language())
    except InvalidInput as exc:
        if latest_refresh() is None:
            return problem_response(request, 409, "not_computed", str(exc))
        return problem_response(request, 400, exc.code, str(exc))
    return report.as_dict()


@router.get("", response={200: ReportOut, **error_responses(400, 401, 403, 409, 422)},
            summary="An indicator report (managers and administrators)")
def indicator_report(request: HttpRequest, filters: Query[ReportQuery]) -> Any:
    """The protected report for the period: its sections, each with its tables of cells (small cells hidden),
    the legend of the marks and when the figures were computed. Bad input (period, report, region, breakdown)
    is a 400 with the reason in the language of Accept-Language; 409 if the indicators have not been computed
    yet (``polku indicators refresh``); other roles than managers and administrators get 403."""
    return _report(request, filters)


@router.get("/", response={200: ReportOut, **error_responses(400, 401, 403, 409, 422)}, include_in_schema=False,
            url_name="indicator_report_slash")
def indicator_report_slash(request: HttpRequest, filters: Query[ReportQuery]) -> Any:
    """The same as ``GET /indicators`` (with a trailing slash)."""
    return _report(request, filters)


@router.get("/definitions", response={200: list[IndicatorDefinitionOut], **error_responses(401)},
            summary="The ESF+ indicators and their definitions")
def indicator_definitions(request: HttpRequest) -> Any:
    """Every ESF+ output and result indicator: its key, the Commission's code, its name and definition (in the
    language of Accept-Language) and the population it counts."""
    codes = definitions.esf_codes()
    return [{"key": ind.key, "code": codes.get(ind.key, ""), "name": str(ind.name), "definition": str(ind.definition),
             "population": ind.population, "kind": ind.kind}
            for ind in (*definitions.ESF_OUTPUTS, *definitions.ESF_RESULTS)]
