"""The shape of a published indicator report, shared by every output (command, UI, API, CSV, XLSX, PDF, JSON).

A :class:`Report` is built once by :func:`polku.indicators.services.build_report`, *after* small-cell protection
(:mod:`polku.indicators.protection`) has been applied: every output renders the same protected cells, so no output
can show what another hides. A cell carries its value (``None`` when it is not published) and the text to show.

Cell ``status`` values:

* ``""``: published;
* ``"primary"``: a count of 1 to k − 1 people (shown as "<k");
* ``"secondary"``: hidden so that a primary cell cannot be recovered from the totals (shown as "x");
* ``"denominator"``: a rate or median resting on fewer than k people (shown as "–");
* ``"not_observed"``: the period needed for the figure has not passed yet (shown as "..").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

PUBLISHED = ""
PRIMARY = "primary"
SECONDARY = "secondary"
DENOMINATOR = "denominator"
NOT_OBSERVED = "not_observed"
STATUSES = (PUBLISHED, PRIMARY, SECONDARY, DENOMINATOR, NOT_OBSERVED)


@dataclass(frozen=True)
class Cell:
    """One published figure. ``value`` is None unless ``status`` is published."""

    value: float | int | None
    text: str
    status: str = PUBLISHED


@dataclass
class Table:
    """One indicator broken down by one or more dimensions (rows) and by gender (columns).

    ``rows`` are the row labels, one tuple per row (one label per dimension of ``row_dimensions``; the last row of
    each dimension group is its total); ``columns`` the column labels (gender categories, then the total);
    ``cells[i][j]`` the figure of row i, column j. ``kind`` is ``count`` (people), ``rate`` (a percentage; its
    ``denominator`` names the indicator it is a share of), ``median`` (days) or ``mean``.
    """

    indicator: str
    code: str
    title: str
    definition: str
    kind: str
    unit: str
    row_dimensions: list[str]
    row_dimension_labels: list[str]
    rows: list[tuple[str, ...]]
    columns: list[str]
    cells: list[list[Cell]]
    denominator: str = ""
    notes: list[str] = field(default_factory=list)
    #: Stable identifiers of the rows (category codes, or indicator keys in a summary), parallel to ``rows``.
    row_keys: list[tuple[str, ...]] = field(default_factory=list)

    def total(self) -> Cell:
        """The grand total (last row, last column)."""
        return self.cells[-1][-1]


@dataclass
class Section:
    key: str
    title: str
    intro: str
    tables: list[Table]


@dataclass
class Report:
    """A protected report: title, period, the sections with their tables, and when its figures were computed."""

    key: str
    title: str
    period_label: str
    period_start: dt.date
    period_end: dt.date
    region_label: str
    threshold: int
    computed_at: dt.datetime
    language: str
    sections: list[Section]
    legend: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def tables(self) -> list[Table]:
        return [table for section in self.sections for table in section.tables]

    def table(self, indicator: str) -> Table:
        for table in self.tables():
            if table.indicator == indicator:
                return table
        raise KeyError(indicator)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: dates as ISO strings, cells as {value, text, status}."""
        data = asdict(self)
        data["period_start"] = self.period_start.isoformat()
        data["period_end"] = self.period_end.isoformat()
        data["computed_at"] = self.computed_at.isoformat()
        for section in data["sections"]:
            for table in section["tables"]:
                table["rows"] = [list(row) for row in table["rows"]]
                table["row_keys"] = [list(row) for row in table["row_keys"]]
        data["legend"] = [{"mark": mark, "meaning": meaning} for mark, meaning in self.legend]
        return data
