"""Render a protected :class:`~polku.indicators.report.Report` as CSV, XLSX, PDF and JSON.

Every output renders the same protected cells: a cell that is not published has ``value`` None and only its text
("<5", "x", "–", "..") is shown. Nothing here computes or un-suppresses a figure.
"""

from __future__ import annotations

import csv
import io
import json
import re

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext as _

from .report import PUBLISHED, Cell, Report, Table

#: Characters Excel does not allow in sheet names.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_MAX = 31


def _dimension_labels(table: Table) -> str:
    return " / ".join(table.row_dimension_labels)


def _row_label(row: tuple[str, ...]) -> str:
    return " / ".join(label for label in row if label)


def _csv_value(cell: Cell) -> str:
    if cell.status != PUBLISHED or cell.value is None:
        return ""
    return str(cell.value)


def csv_header() -> list[str]:
    """The CSV column names, translated."""
    return [
        _("Report"),
        _("Period"),
        _("Region"),
        _("Computed at"),
        _("Section"),
        _("Indicator"),
        _("Code"),
        _("Title"),
        _("Row dimensions"),
        _("Row"),
        _("Column"),
        _("Kind"),
        _("Value"),
        _("Shown as"),
        _("Status"),
    ]


def to_csv(report: Report) -> str:
    """Long-form CSV: one line per cell of every table, after one header line.

    ``Value`` is empty when the cell is not published; ``Shown as`` is the text every output shows ("<5", "x", …);
    period, region and computation time are repeated on every line so that each figure says when it was computed.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with translation.override(report.language or None):
        writer.writerow(csv_header())
    computed_at = report.computed_at.isoformat()
    for section in report.sections:
        for table in section.tables:
            dimensions = _dimension_labels(table)
            for row, cells in zip(table.rows, table.cells, strict=True):
                for column, cell in zip(table.columns, cells, strict=True):
                    writer.writerow(
                        [
                            report.title,
                            report.period_label,
                            report.region_label,
                            computed_at,
                            section.title,
                            table.indicator,
                            table.code,
                            table.title,
                            dimensions,
                            _row_label(row),
                            column,
                            table.kind,
                            _csv_value(cell),
                            cell.text,
                            cell.status,
                        ]
                    )
    return buffer.getvalue()


def to_json(report: Report) -> str:
    """The report as JSON (``Report.as_dict``), UTF-8 characters kept as they are."""
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2)


def sheet_name(title: str, used: set[str]) -> str:
    """An Excel sheet name from ``title``: forbidden characters removed, at most 31 characters, unique in ``used``.

    The chosen name is added to ``used``.
    """
    base = _SHEET_FORBIDDEN.sub(" ", title).strip().strip("'") or _("Sheet")
    base = re.sub(r"\s+", " ", base)[:_SHEET_MAX].strip()
    name = base
    counter = 2
    while name.lower() in {u.lower() for u in used}:
        suffix = f" ({counter})"
        name = base[: _SHEET_MAX - len(suffix)].rstrip() + suffix
        counter += 1
    used.add(name)
    return name


def to_xlsx(report: Report) -> bytes:
    """An Excel workbook: a "Report" sheet with the metadata, legend and notes, then one sheet per section.

    Published figures are written as numbers; unpublished cells hold their text ("<5", "x", "–", "..").
    """
    with translation.override(report.language or None):
        return _xlsx(report)


def _xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    bold = Font(bold=True)
    title_font = Font(bold=True, size=14)
    workbook = Workbook()
    info = workbook.active
    used: set[str] = set()
    info.title = sheet_name(_("Report"), used)
    info.append([report.title])
    info["A1"].font = title_font
    info.append([])
    for label, value in (
        (_("Period"), report.period_label),
        (_("Region"), report.region_label),
        (_("Computed at"), report.computed_at.isoformat(timespec="seconds")),
        (_("Smallest published count"), report.threshold),
    ):
        info.append([label, value])
        info.cell(row=info.max_row, column=1).font = bold
    if report.legend:
        info.append([])
        info.append([_("Legend")])
        info.cell(row=info.max_row, column=1).font = bold
        for mark, meaning in report.legend:
            info.append([mark, meaning])
    if report.notes:
        info.append([])
        info.append([_("Notes")])
        info.cell(row=info.max_row, column=1).font = bold
        for note in report.notes:
            info.append([note])
    info.column_dimensions["A"].width = 28
    info.column_dimensions["B"].width = 60

    for section in report.sections:
        sheet = workbook.create_sheet(sheet_name(section.title, used))
        sheet.append([section.title])
        sheet["A1"].font = title_font
        if section.intro:
            sheet.append([section.intro])
        first_header_row = 0
        for table in section.tables:
            sheet.append([])
            sheet.append([table.title])
            sheet.cell(row=sheet.max_row, column=1).font = bold
            sheet.append([_("Code"), table.code])
            sheet.append([_("Definition"), table.definition])
            sheet.cell(row=sheet.max_row, column=2).alignment = Alignment(wrap_text=True)
            sheet.append([*table.row_dimension_labels, *table.columns])
            header_row = sheet.max_row
            first_header_row = first_header_row or header_row
            for col in range(1, len(table.row_dimension_labels) + len(table.columns) + 1):
                sheet.cell(row=header_row, column=col).font = bold
            for row, cells in zip(table.rows, table.cells, strict=True):
                values: list[object] = list(row)
                for cell in cells:
                    published = cell.status == PUBLISHED and cell.value is not None
                    values.append(cell.value if published else cell.text)
                sheet.append(values)
                for offset, cell in enumerate(cells):
                    if cell.status != PUBLISHED:
                        target = sheet.cell(row=sheet.max_row, column=len(row) + offset + 1)
                        target.alignment = Alignment(horizontal="right")
            for note in table.notes:
                sheet.append([note])
        if first_header_row:
            sheet.freeze_panes = sheet.cell(row=first_header_row + 1, column=1)
        sheet.column_dimensions["A"].width = 32
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def chartable(table: Table) -> bool:
    """A count table broken down by a single dimension gets a bar chart."""
    return table.kind == "count" and len(table.row_dimensions) == 1 and len(table.rows) > 1


def svg_bar_chart(table: Table, width: int = 640) -> str:
    """A horizontal bar chart (inline SVG) of the total column, one bar per row except the last (the total).

    Unpublished cells get no bar, only their text. Every label is escaped.
    """
    rows = list(zip(table.rows, table.cells, strict=True))[:-1]
    bar_height = 18
    gap = 6
    label_width = 200
    value_width = 60
    top = 8
    plot_width = max(width - label_width - value_width, 40)
    values = [
        float(cells[-1].value) for _row, cells in rows if cells[-1].status == PUBLISHED and cells[-1].value is not None
    ]
    maximum = max(values) if values else 0.0
    height = top * 2 + len(rows) * (bar_height + gap)
    title = escape(_("%(title)s, %(column)s") % {"title": table.title, "column": table.columns[-1]})
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="11">',
        f"<title>{title}</title>",
    ]
    for index, (row, cells) in enumerate(rows):
        cell = cells[-1]
        y = top + index * (bar_height + gap)
        text_y = y + bar_height - 5
        label = escape(_row_label(row))
        parts.append(f'<text x="{label_width - 6}" y="{text_y}" text-anchor="end">{label}</text>')
        shown = escape(cell.text)
        if cell.status == PUBLISHED and cell.value is not None and maximum > 0:
            bar = max(round(float(cell.value) / maximum * plot_width, 1), 0.0)
            parts.append(
                f'<rect x="{label_width}" y="{y}" width="{bar}" height="{bar_height}" fill="#2f6f9f">'
                f"<title>{label}: {shown}</title></rect>"
            )
            parts.append(f'<text x="{label_width + bar + 4}" y="{text_y}">{shown}</text>')
        else:
            parts.append(f'<text x="{label_width + 4}" y="{text_y}" fill="#555">{shown}</text>')
    parts.append("</svg>")
    return "".join(parts)


def pdf_html(report: Report) -> str:
    """The HTML the PDF is made from (also useful for checking the layout in a browser)."""
    with translation.override(report.language or None):
        sections = [
            {
                "section": section,
                "tables": [
                    {
                        "table": table,
                        "chart": svg_bar_chart(table) if chartable(table) else "",
                        "rows": [
                            {"labels": row, "cells": cells, "total": index == len(table.rows) - 1}
                            for index, (row, cells) in enumerate(zip(table.rows, table.cells, strict=True))
                        ],
                    }
                    for table in section.tables
                ],
            }
            for section in report.sections
        ]
        return render_to_string(
            "indicators/report_pdf.html",
            {"report": report, "sections": sections, "tables": report.tables()},
        )


def to_pdf(report: Report) -> bytes:
    """An A4 PDF: a title page, the definitions, then each section with its charts and tables."""
    from weasyprint import HTML

    document = HTML(string=pdf_html(report))
    result = document.write_pdf()
    assert result is not None
    return bytes(result)


def render_table_text(report: Report) -> str:
    """A plain-text rendering: each table with aligned columns."""
    lines = [report.title, f"{report.period_label} · {report.region_label}", *report.notes, ""]
    for section in report.sections:
        lines += [f"== {section.title} ==", *([section.intro] if section.intro else []), ""]
        for table in section.tables:
            head = f"{table.code} " if table.code else ""
            lines.append(f"{head}{table.title}" + (f" ({table.unit})" if table.unit else ""))
            header = [" / ".join(table.row_dimension_labels), *table.columns]
            body = [[" · ".join(row), *[cell.text for cell in cells]]
                    for row, cells in zip(table.rows, table.cells, strict=True)]
            widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
            for r in [header, *body]:
                lines.append("  ".join([r[0].ljust(widths[0]), *[c.rjust(w) for c, w in
                                                                    zip(r[1:], widths[1:], strict=True)]]).rstrip())
            lines += [*table.notes, ""]
    lines += [f"{mark}  {meaning}" for mark, meaning in report.legend]
    return "\n".join(lines) + "\n"


def render(report: Report, fmt: str) -> bytes:
    """The report in ``fmt`` (table, csv, xlsx, pdf, json) as bytes."""
    if fmt == "table":
        return render_table_text(report).encode("utf-8")
    if fmt == "csv":
        return to_csv(report).encode("utf-8")
    if fmt == "json":
        return to_json(report).encode("utf-8")
    if fmt == "xlsx":
        return to_xlsx(report)
    return to_pdf(report)
