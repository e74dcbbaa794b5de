"""The managers' indicator dashboard (``/indicators/``): the protected report as tables and charts, its downloads
(CSV, XLSX, PDF, JSON), the form's errors and the "not computed yet" message; managers and administrators only."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest
from django.db import transaction
from django.test import Client as Browser
from django.utils import timezone, translation

from polku.audit.models import AccessLog
from polku.indicators.facts import refresh
from polku.indicators.models import FactRefresh
from polku.organisations.models import StaffRole
from polku.synth.generate import Options, generate
from polku.web.indicator_views import default_period
from tests import factories as f

URL = "/indicators/"
DOWNLOAD = "/indicators/download/"


@pytest.fixture(scope="module")
def facts(django_db_setup: Any, django_db_blocker: Any) -> Iterator[None]:
    """A small synthetic region (300 clients, three years) with its indicator facts computed, once for the module,
    inside a transaction rolled back afterwards (each test's own transaction nests inside it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        generate(Options(clients=300, months=36, seed=5))
        refresh(timezone.localdate())
        yield
        transaction.set_rollback(True)


def login(user: Any, language: str = "en") -> Browser:
    browser = Browser(HTTP_ACCEPT_LANGUAGE=language)
    browser.force_login(user)
    return browser


@pytest.fixture
def manager(joint: Any) -> Any:
    return f.staff(joint.employment, StaffRole.MANAGER)


class Tables(HTMLParser):
    """The indicator tables of a page: for each, its kind and the text of every data cell (``<td>``)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "table" and "indicator-table" in (attributes.get("class") or ""):
            self.tables.append({"id": attributes.get("id"), "kind": attributes.get("data-kind"), "cells": [],
                                "headers": []})
            self._depth = 1
        elif tag == "table" and self._depth:
            self._depth += 1
        elif tag in ("td", "th") and self._depth == 1:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._depth:
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None and self._depth == 1:
            text = "".join(self._cell).strip()
            self.tables[-1]["cells" if tag == "td" else "headers"].append(text)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> list[dict[str, Any]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def _number(text: str) -> float | None:
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".").replace("%", "")
    try:
        return float(cleaned)
    except ValueError:
        return None


# --- the page --------------------------------------------------------------------------------------------------


def test_manager_sees_the_report_with_its_tables_and_freshness(facts: None, manager: Any) -> None:
    response = login(manager).get(URL, {"period": default_period(), "report": "all"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "ESF+ participant and result report" in html  # the report select and the quick link
    assert "Indicator report" in html
    assert "Figures computed" in html and "from the records up to" in html
    assert 'id="indicators-legend"' in html and "fewer than 5 people" in html
    tables = tables_of(html)
    assert len(tables) >= 10
    assert any(t["kind"] == "rate" for t in tables) and any(t["kind"] == "count" for t in tables)
    assert '<th scope="col"' in html and '<th scope="row"' in html
    assert "EECO01" in html and "Total number of participants" in html
    assert "Participants entering in the period." in html  # a definition under its table
    assert "<svg" in html and 'class="chart"' in html  # the bar charts
    assert f'href="/indicators/download/?period={default_period()}&amp;report=all&amp;format=pdf"' in html
    # the navigation names the page for a manager
    assert 'href="/indicators/"' in html


def test_the_default_is_last_years_esf_report_with_two_click_pdf_links(facts: None, manager: Any) -> None:
    html = login(manager).get(URL).content.decode()
    year = str(timezone.localdate().year - 1)
    assert f'value="{year}"' in html
    assert "ESF+ participant and result report" in html
    assert f'id="quick-esf-pdf" href="/indicators/download/?period={year}&amp;report=esf&amp;format=pdf"' in html
    assert f'id="quick-joint-pdf" href="/indicators/download/?period={year}&amp;report=joint&amp;format=pdf"' in html
    assert "ESF+ report (PDF)" in html and "Joint-service report by gender (PDF)" in html


def test_no_count_from_1_to_4_is_shown(facts: None, manager: Any) -> None:
    for by in ("", "age_band", "language"):
        html = login(manager).get(URL, {"period": default_period(), "report": "all", "by": by}).content.decode()
        counts = [t for t in tables_of(html) if t["kind"] == "count"]
        assert counts
        for table in counts:
            for text in table["cells"]:
                value = _number(text)
                assert value is None or value == 0 or value >= 5, (table["id"], text)


def test_two_breakdowns_and_a_region(facts: None, manager: Any) -> None:
    response = login(manager).get(URL, {"period": default_period(), "report": "esf", "by": "age_band",
                                        "by2": "language", "region": "179"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "179" in html
    assert any("Age" in t["headers"] and "Language" in t["headers"] for t in tables_of(html))


def test_coordinator_gets_403_and_a_client_account_404(facts: None, joint: Any) -> None:
    response = login(joint.coordinator).get(URL)
    assert response.status_code == 403
    assert "for managers and administrators" in response.content.decode()
    assert login(joint.coordinator).get(DOWNLOAD, {"format": "pdf"}).status_code == 403
    account = f.user()
    joint.client.user = account
    joint.client.save()
    assert login(account).get(URL).status_code == 404
    assert Browser().get(URL).status_code == 302  # sign in first


def test_coordinator_has_no_navigation_link(facts: None, joint: Any, manager: Any) -> None:
    assert 'href="/indicators/"' not in login(joint.coordinator).get("/").content.decode()
    assert 'href="/indicators/"' in login(manager).get("/").content.decode()


def test_a_bad_period_shows_the_message_with_the_form_and_writes_nothing(facts: None, manager: Any) -> None:
    logs, refreshes = AccessLog.objects.count(), FactRefresh.objects.count()
    response = login(manager).get(URL, {"period": "last year", "report": "esf"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not a period: give a year (2025)" in html
    assert 'id="indicators-form"' in html and 'aria-invalid="true"' in html
    assert not tables_of(html)
    response = login(manager, "fi").get(URL, {"period": "2025-13"})
    assert response.status_code == 400
    with translation.override("fi"):
        from django.utils.translation import gettext

        message = gettext("“%(value)s” is not a period: give a year (2025), a quarter (2025-Q2), a month (2025-03) "
                          "or two dates (2025-01-01..2025-06-30).") % {"value": "2025-13"}
    assert message in response.content.decode()
    assert (AccessLog.objects.count(), FactRefresh.objects.count()) == (logs, refreshes)


def test_bad_region_and_breakdown_are_400(facts: None, manager: Any) -> None:
    browser = login(manager)
    response = browser.get(URL, {"period": "2024", "region": "Helsinki"})
    assert response.status_code == 400 and "is not a municipality code" in response.content.decode()
    response = browser.get(URL, {"period": "2024", "by": "age_band", "by2": "age_band"})
    assert response.status_code == 400 and "at most 2 different breakdowns" in response.content.decode()
    response = browser.get(URL, {"period": "2024", "report": "everything"})
    assert response.status_code == 400


# --- downloads -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("csv", "text/csv; charset=utf-8"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("pdf", "application/pdf"),
    ("json", "application/json"),
])
def test_downloads(facts: None, manager: Any, fmt: str, content_type: str) -> None:
    period = default_period()
    response = login(manager).get(DOWNLOAD, {"period": period, "report": "esf", "format": fmt})
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == f'attachment; filename="polku-esf-{period}.{fmt}"'
    body = response.content
    assert body
    if fmt == "pdf":
        assert body.startswith(b"%PDF")
    elif fmt == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(body))
        assert workbook.sheetnames
    elif fmt == "json":
        data = json.loads(body)
        assert data["key"] == "esf" and data["sections"]
    else:
        assert body.decode("utf-8").strip().count("\n") > 5


def test_download_of_the_joint_report_for_a_quarter(facts: None, manager: Any) -> None:
    year = default_period()
    response = login(manager).get(DOWNLOAD, {"period": f"{year}-Q2", "report": "joint", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="polku-joint-{year}-Q2.csv"'


def test_download_with_a_bad_format_is_400(facts: None, manager: Any) -> None:
    response = login(manager).get(DOWNLOAD, {"period": default_period(), "format": "docx"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown format “docx”" in html
    assert login(manager).get(DOWNLOAD, {"period": "x", "format": "pdf"}).status_code == 400


def test_the_download_links_name_the_same_report(facts: None, manager: Any) -> None:
    html = login(manager).get(URL, {"period": "2024-Q1", "report": "joint", "by": "age_band"}).content.decode()
    links = re.findall(r'href="(/indicators/download/\?[^"]+)"', html)
    assert "/indicators/download/?period=2024-Q1&amp;report=joint&amp;by=age_band&amp;format=xlsx" in links


# --- before the facts are computed -----------------------------------------------------------------------------


def test_before_the_first_refresh_the_page_says_what_to_run(manager: Any) -> None:
    FactRefresh.objects.all().delete()  # the module's facts, if another test made them (rolled back after)
    response = login(manager).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="indicators-no-facts"' in html
    assert "The indicators have not been computed yet" in html and "polku indicators refresh" in html
    assert not tables_of(html)
    response = login(manager).get(DOWNLOAD, {"period": default_period(), "format": "pdf"})
    assert response.status_code == 200 and "have not been computed yet" in response.content.decode()


def test_the_page_in_finnish(facts: None, manager: Any) -> None:
    html = login(manager, "fi").get(URL).content.decode()
    assert 'lang="fi"' in html
    assert tables_of(html)


# --- the chart of a table (no database) ------------------------------------------------------------------------


def _table(cells: list[list[Any]]) -> Any:
    from polku.indicators.report import Table

    return Table(indicator="t", code="", title="People by age", definition="", kind="count", unit="",
                 row_dimensions=["age_band"], row_dimension_labels=["Age"],
                 rows=[("Young",), ("Old",), ("All",)], columns=["Women", "Men", "Total"], cells=cells,
                 row_keys=[("young",), ("old",), ("total",)])


def test_a_chart_draws_published_figures_and_its_table_shows_the_cells_text() -> None:
    from polku.indicators.report import PRIMARY, SECONDARY, Cell
    from polku.web.indicator_views import chartable, table_chart

    table = _table([[Cell(12, "12"), Cell(None, "<5", PRIMARY), Cell(None, "x", SECONDARY)],
                    [Cell(7, "7"), Cell(0, "0"), Cell(9, "9")],
                    [Cell(19, "19"), Cell(None, "x", SECONDARY), Cell(22, "22")]])
    assert chartable(table)
    with translation.override("en"):
        chart = table_chart(table, "c")
    assert chart is not None
    assert chart.columns == ["Age", "Women"]  # men have no figure above zero: no bars for them
    assert chart.rows == [["Young", "12"], ["Old", "7"]]  # the total row is left out
    assert "<svg" in chart.svg


def test_no_chart_when_nothing_is_published() -> None:
    from polku.indicators.report import PRIMARY, Cell
    from polku.web.indicator_views import table_chart

    hidden = Cell(None, "<5", PRIMARY)
    assert table_chart(_table([[hidden, Cell(0, "0"), hidden]] * 3), "c") is None
