"""Exports of a protected indicator report: CSV, XLSX, PDF (rendered to PNG pages) and JSON. No database needed."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from polku.indicators import exports
from polku.indicators.report import (
    DENOMINATOR,
    NOT_OBSERVED,
    PRIMARY,
    PUBLISHED,
    SECONDARY,
    Cell,
    Report,
    Section,
    Table,
)


def _count(value: int) -> Cell:
    return Cell(value, str(value), PUBLISHED)


def build_report() -> Report:
    """Two sections, three tables, cells of every status, Finnish and Swedish characters in labels."""
    columns = ["Naiset", "Miehet", "Muunsukupuoliset", "Yhteensä"]
    by_age = Table(
        indicator="esf_total",
        code="EECO01",
        title="Osallistujat yhteensä – ikäryhmittäin",
        definition="Kaikki osallistujat, jotka aloittivat jakson aikana (ålder, Jyväskylä).",
        kind="count",
        unit="henkilöä",
        row_dimensions=["age_group"],
        row_dimension_labels=["Ikäryhmä"],
        rows=[("alle 18",), ("18–29",), ("55 ja yli",), ("Yhteensä",)],
        columns=columns,
        cells=[
            [Cell(None, "<5", PRIMARY), Cell(None, "x", SECONDARY), Cell(None, "<5", PRIMARY), _count(7)],
            [_count(12), _count(15), Cell(None, "<5", PRIMARY), _count(29)],
            [_count(8), _count(9), Cell(None, "x", SECONDARY), _count(17)],
            [_count(23), _count(28), _count(5), _count(56)],
        ],
        notes=["Ålands kommuner ingår inte."],
    )
    by_status = Table(
        indicator="esf_unemployed",
        code="EECO02",
        title="Työttömät, myös pitkäaikaistyöttömät",
        definition="Työttömänä työnhakijana aloitushetkellä.",
        kind="count",
        unit="henkilöä",
        row_dimensions=["municipality", "age_group"],
        row_dimension_labels=["Kunta", "Ikäryhmä"],
        rows=[("Äänekoski", "18–29"), ("Jämsä", "55 ja yli"), ("Yhteensä", "")],
        columns=columns,
        cells=[
            [_count(6), _count(6), Cell(None, "<5", PRIMARY), _count(13)],
            [_count(5), _count(7), Cell(None, "x", SECONDARY), _count(12)],
            [_count(11), _count(13), _count(5), _count(29)],
        ],
    )
    employed_6m = Table(
        indicator="esf_employed_6m",
        code="EECR05",
        title="Työssä kuusi kuukautta osallistumisen jälkeen",
        definition="Osuus päättäneistä, joka on työssä kuuden kuukauden kuluttua.",
        kind="rate",
        unit="%",
        row_dimensions=["age_group"],
        row_dimension_labels=["Ikäryhmä"],
        rows=[("18–29",), ("Yhteensä",)],
        columns=columns,
        cells=[
            [Cell(42.5, "42,5", PUBLISHED), Cell(None, "–", DENOMINATOR), Cell(None, "..", NOT_OBSERVED), _count(40)],
            [Cell(41.0, "41,0", PUBLISHED), Cell(38.2, "38,2", PUBLISHED), Cell(None, "–", DENOMINATOR), _count(39)],
        ],
        denominator="esf_total",
    )
    return Report(
        key="esf",
        title="ESR+-indikaattorit – Keski-Suomi",
        period_label="2025",
        period_start=dt.date(2025, 1, 1),
        period_end=dt.date(2025, 12, 31),
        region_label="Keski-Suomi / Mellersta Finland",
        threshold=5,
        computed_at=dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC),
        language="fi",
        sections=[
            Section(key="outputs", title="Tuotosindikaattorit: osallistujat [ESR+]", intro="Ålder och kön.",
                    tables=[by_age, by_status]),
            Section(key="results", title="Tulosindikaattorit", intro="", tables=[employed_6m]),
        ],
        legend=[("<5", "alle 5 henkilöä"), ("x", "salattu toissijaisesti"), ("–", "liian pieni nimittäjä"),
                ("..", "ei vielä havaittavissa")],
        notes=["Luvut on suojattu pienten lukujen osalta."],
    )


def _cells(report: Report) -> list[tuple[Table, tuple[str, ...], str, Cell]]:
    return [
        (table, row, column, cell)
        for table in report.tables()
        for row, cells in zip(table.rows, table.cells, strict=True)
        for column, cell in zip(table.columns, cells, strict=True)
    ]


def test_csv_has_one_line_per_cell_with_text_and_status() -> None:
    report = build_report()
    text = exports.to_csv(report)
    lines = list(csv.reader(io.StringIO(text)))
    header, body = lines[0], lines[1:]
    expected = _cells(report)
    assert len(body) == len(expected)
    assert len(header) == len(body[0]) == 15
    for line, (table, _row, column, cell) in zip(body, expected, strict=True):
        assert line[1] == "2025"
        assert line[3] == "2026-01-15T09:30:00+00:00"
        assert line[5] == table.indicator
        assert line[10] == column
        assert line[13] == cell.text
        assert line[14] == cell.status
        if cell.status == PUBLISHED:
            assert float(line[12]) == cell.value
        else:
            assert line[12] == ""
    assert any(line[9] == "Äänekoski / 18–29" for line in body)
    with translation.override("en"):
        assert exports.csv_header()[0] == "Report"


def test_xlsx_numbers_are_numbers_and_suppressed_cells_are_text() -> None:
    from openpyxl import load_workbook

    report = build_report()
    workbook = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert len(workbook.sheetnames) == 3
    for name in workbook.sheetnames:
        assert len(name) <= 31
        assert not set(name) & set("[]:*?/\\")
    info = workbook[workbook.sheetnames[0]]
    assert info["A1"].value == report.title
    outputs = workbook[workbook.sheetnames[1]]
    values = [cell.value for row in outputs.iter_rows() for cell in row]
    assert "<5" in values and "x" in values
    assert 56 in values and 29 in values
    for row in outputs.iter_rows():
        for cell in row:
            if cell.value in ("<5", "x", "–", ".."):
                assert cell.data_type == "s"
    assert outputs.freeze_panes is not None
    results = workbook[workbook.sheetnames[2]]
    result_values = [cell.value for row in results.iter_rows() for cell in row]
    assert 42.5 in result_values and ".." in result_values and "–" in result_values


def test_sheet_names_are_unique_and_short() -> None:
    used: set[str] = set()
    first = exports.sheet_name("A very long section title: with / forbidden [chars]?", used)
    second = exports.sheet_name("A very long section title: with / forbidden [chars]?", used)
    assert first != second
    assert all(len(name) <= 31 for name in (first, second))


def test_json_round_trips() -> None:
    report = build_report()
    data = json.loads(exports.to_json(report))
    assert data == json.loads(json.dumps(report.as_dict()))
    assert "Äänekoski" in exports.to_json(report)
    assert data["sections"][0]["tables"][0]["cells"][0][0] == {"value": None, "text": "<5", "status": "primary"}


def test_svg_bar_chart_escapes_labels() -> None:
    report = build_report()
    table = report.table("esf_total")
    table.rows[0] = ("<script>alert(1)</script>",)
    svg = exports.svg_bar_chart(table)
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and "<title>" in svg
    # One bar per row except the total row.
    assert svg.count("<rect") == 3
    # A suppressed cell gets no bar, only its (escaped) text.
    table.cells[0][-1] = Cell(None, "<5", PRIMARY)
    svg = exports.svg_bar_chart(table)
    assert svg.count("<rect") == 2
    assert "&lt;5" in svg


def test_chart_only_for_one_dimension_counts() -> None:
    report = build_report()
    assert exports.chartable(report.table("esf_total"))
    assert not exports.chartable(report.table("esf_unemployed"))
    assert not exports.chartable(report.table("esf_employed_6m"))


def test_pdf_renders_to_non_blank_pages(tmp_path: Path) -> None:
    report = build_report()
    html = exports.pdf_html(report)
    assert "<svg" in html and "Äänekoski" in html
    pdf = exports.to_pdf(report)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pdftoppm (poppler-utils) is required in CI")
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    source = tmp_path / "report.pdf"
    source.write_bytes(pdf)
    pdftoppm = shutil.which("pdftoppm") or "pdftoppm"
    subprocess.run([pdftoppm, "-png", "-r", "50", str(source), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - PIL is normally present
        for page in pages:
            assert page.stat().st_size > 1024
        return
    for page in pages:
        assert page.stat().st_size > 0
        with Image.open(page) as image:
            extrema = image.convert("L").getextrema()
            assert isinstance(extrema[0], (int, float)) and isinstance(extrema[1], (int, float))
            assert extrema[0] < extrema[1], f"{page.name} is blank"
