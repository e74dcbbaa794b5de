"""``polku indicators``: refresh, report formats, bad input, scheduling, the access log."""

from __future__ import annotations

import csv
import datetime as dt
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from polku.audit.models import AccessLog
from polku.indicators.models import FactRefresh, ParticipationFact, ReferralFact
from polku.synth.generate import Options, generate

pytestmark = pytest.mark.django_db

START = dt.date(2022, 1, 1)


@pytest.fixture
def region() -> None:
    generate(Options(clients=250, seed=12, months=36, start=START))


def _run(*args: str) -> str:
    out = StringIO()
    call_command("indicators", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_report_before_any_refresh_says_what_to_do(region: None) -> None:
    with translation.override("en"), pytest.raises(CommandError, match="polku indicators refresh"):
        _run("--period", "2023", "--language", "en")


def test_refresh_builds_facts_and_logs_every_client_read(region: None) -> None:
    _run("refresh", "--as-of", "2024-12-31")
    run = FactRefresh.objects.get()
    assert run.as_of == dt.date(2024, 12, 31) and run.participations == ParticipationFact.objects.count() > 200
    assert ReferralFact.objects.count() == run.referrals > 0
    logged = AccessLog.objects.filter(reason="system", purpose="Statistics: pseudonymised indicator facts")
    clients = set(ParticipationFact.objects.values_list("person", flat=True))
    assert logged.filter(category="basic").values("client").distinct().count() == len(clients)
    assert not ParticipationFact.objects.filter(start_date__gt=dt.date(2024, 12, 31)).exists()
    # a second refresh replaces the facts instead of adding to them
    _run("refresh", "--as-of", "2024-12-31")
    assert ParticipationFact.objects.count() == run.participations


@pytest.mark.parametrize("args, message", [
    (["--period", "2023-13"], "is not a period"),
    (["--period", "last year"], "is not a period"),
    (["--period", "2024-06-30..2024-01-01"], "is not a period"),
    (["--period", "2023", "--report", "everything"], "Unknown report"),
    (["--period", "2023", "--by", "shoe_size"], "Unknown breakdown"),
    (["--period", "2023", "--by", "language,education,area"], "at most 2"),
    (["--period", "2023", "--region", "Helsinki"], "not a municipality code"),
    (["--period", "2023", "--format", "docx"], "Unknown format"),
    (["--period", "2023", "--format", "pdf"], "needs --out"),
    ([], "Give the period"),
])
def test_bad_input_gets_a_clear_error_and_writes_nothing(region: None, args: list[str], message: str,
                                                         tmp_path: Path) -> None:
    _run("refresh", "--as-of", "2024-12-31")
    before = (FactRefresh.objects.count(), AccessLog.objects.count())
    with translation.override("en"), pytest.raises(CommandError, match=message):
        _run(*args, "--language", "en")
    assert (FactRefresh.objects.count(), AccessLog.objects.count()) == before
    assert not list(tmp_path.iterdir())


def test_every_format(region: None, tmp_path: Path) -> None:
    _run("refresh", "--as-of", "2024-12-31")
    table = _run("--period", "2023", "--report", "esf", "--language", "en")
    assert "EECO01" in table and "Total number of participants" in table and "Women" in table
    data = json.loads(_run("--period", "2023", "--format", "json", "--language", "sv"))
    assert data["language"] == "sv" and data["period_start"] == "2023-01-01"
    keys = {t["indicator"] for s in data["sections"] for t in s["tables"]}
    assert {"esf_summary", "joint_clients", "joint_time_to_plan", "chain_waiting_by_service"} <= keys
    for fmt, magic in (("xlsx", b"PK"), ("pdf", b"%PDF")):
        out = tmp_path / f"r.{fmt}"
        _run("--period", "2023", "--report", "joint", "--by", "age_band", "--format", fmt, "--out", str(out))
        assert out.read_bytes().startswith(magic)
    csv_text = _run("--period", "2023-Q2", "--report", "chain", "--format", "csv", "--language", "fi")
    rows = list(csv.reader(csv_text.splitlines()))
    assert len(rows) > 5 and all(len(row) == len(rows[0]) == 15 for row in rows)


def test_list_and_schedule(region: None) -> None:
    listing = _run("list", "--language", "en")
    assert "EECO01" in listing and "esf_employed_6m" in listing
    from polku.indicators.tasks import queued_refreshes

    _run("schedule")
    _run("schedule")
    assert queued_refreshes().count() == 1


def test_region_and_breakdown_narrow_the_counts(region: None) -> None:
    _run("refresh", "--as-of", "2024-12-31")
    from polku.indicators.services import build_report

    everyone = build_report("esf", period="2023", language="en").table("esf_summary").cells[0][-1]
    jkl = build_report("esf", period="2023", region="179", language="en").table("esf_summary").cells[0][-1]
    assert everyone.value is not None and jkl.value is not None and 0 < jkl.value < everyone.value
    by_age: Any = build_report("esf", period="2023", by="age_band", language="en").table("esf_total")
    assert by_age.row_keys[-1] == ("total",) and by_age.cells[-1][-1].value == everyone.value
