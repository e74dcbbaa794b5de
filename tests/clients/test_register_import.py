"""``polku import register``: register extracts of employment-status periods and benefit days (docs/imports.md)."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polku.audit.guards import unguarded
from polku.audit.models import AccessAction, AccessLog
from polku.clients.models import BenefitPeriod, Client, EmploymentStatusPeriod
from polku.clients.register_import import (
    COLUMNS,
    RegisterValidator,
    check_register,
    records,
)
from polku.core.choices import DataCategory
from polku.core.identity import make_hetu
from tests import factories as f

HEADER = "record_type,personal_identity_code,code,start_date,end_date,paid_days,source"
TODAY = dt.date(2025, 6, 30)


def write(tmp_path: Path, *lines: str, name: str = "register.csv", header: str = HEADER,
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding=encoding)
    return path


def run(path: Path, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import", "register", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_failing(path: Path, *args: str) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import", "register", str(path), *args, stdout=out, stderr=io.StringIO())
    assert failure.value.returncode == 1
    return out.getvalue()


def periods() -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    return (
        set(EmploymentStatusPeriod.objects.values_list("id", "client_id", "status", "start_date", "end_date",
                                                       "source")),
        set(BenefitPeriod.objects.values_list("id", "client_id", "benefit", "start_date", "end_date", "paid_days",
                                              "source")),
    )


def report_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@pytest.fixture
def people(db: Any) -> list[Client]:
    return [f.client(), f.client(), f.client()]


def good_lines(people: list[Client]) -> list[str]:
    a, b, c = (p.personal_identity_code for p in people)
    return [
        f"status,{a},unemployed,2024-01-01,2024-06-30,,KEHA",
        f"status,{a},subsidised_work,2024-07-01,,,KEHA",
        f"benefit,{a},labour_market_subsidy,2024-01-01,2024-06-30,120,Kela",
        f"status,{b},education,2023-09-01,2024-05-31,,",
        f"benefit,{c},earnings_related,2024-02-01,2024-03-31,40,Työttömyyskassa",
    ]


def test_import__valid_file__creates_the_periods(tmp_path: Path, people: list[Client]) -> None:
    a, b, c = people
    run(write(tmp_path, *good_lines(people)))
    assert set(EmploymentStatusPeriod.objects.values_list("client_id", "status", "start_date", "end_date",
                                                          "source")) == {
        (a.pk, "unemployed", dt.date(2024, 1, 1), dt.date(2024, 6, 30), "KEHA"),
        (a.pk, "subsidised_work", dt.date(2024, 7, 1), None, "KEHA"),
        (b.pk, "education", dt.date(2023, 9, 1), dt.date(2024, 5, 31), "register"),
    }
    assert set(BenefitPeriod.objects.values_list("client_id", "benefit", "start_date", "end_date", "paid_days",
                                                 "source")) == {
        (a.pk, "labour_market_subsidy", dt.date(2024, 1, 1), dt.date(2024, 6, 30), 120, "Kela"),
        (c.pk, "earnings_related", dt.date(2024, 2, 1), dt.date(2024, 3, 31), 40, "Työttömyyskassa"),
    }


def test_import__logs_one_system_row_per_client_and_category(tmp_path: Path, people: list[Client]) -> None:
    a, b, c = people
    run(write(tmp_path, *good_lines(people)))
    rows = set(AccessLog.objects.values_list("client_id", "category", "action", "allowed", "actor_id",
                                             "actor_role", "reason"))
    assert rows == {
        (a.pk, DataCategory.EMPLOYMENT, AccessAction.CREATE, True, None, "system", "system"),
        (a.pk, DataCategory.BENEFITS, AccessAction.CREATE, True, None, "system", "system"),
        (b.pk, DataCategory.EMPLOYMENT, AccessAction.CREATE, True, None, "system", "system"),
        (c.pk, DataCategory.BENEFITS, AccessAction.CREATE, True, None, "system", "system"),
    }
    assert AccessLog.objects.count() == 4
    entry = AccessLog.objects.filter(category=DataCategory.BENEFITS).first()
    assert entry is not None and entry.actor_name == "polku import register"
    assert entry.purpose == "Register import of benefit periods"  # stored as source text, shown translated


def test_import__with_user__logs_that_user(tmp_path: Path, people: list[Client]) -> None:
    org = f.organisation()
    operator = f.staff(org)
    run(write(tmp_path, *good_lines(people)), "--user", operator.username)
    assert set(AccessLog.objects.values_list("actor_id", "actor_organisation_id")) == {(operator.pk, org.pk)}
    with pytest.raises(CommandError):
        run(write(tmp_path, *good_lines(people)), "--user", "nobody")


def test_import__one_bad_row__writes_nothing_and_fails(tmp_path: Path, people: list[Client]) -> None:
    a = people[0].personal_identity_code
    path = write(tmp_path, *good_lines(people), f"benefit,{a},sickness,2024-03-01,2024-03-10,many,Kela")
    report = tmp_path / "report.csv"
    out = run_failing(path, "--report", str(report))
    assert periods() == (set(), set())
    assert not AccessLog.objects.exists()
    assert [(r["row"], r["column"], r["code"]) for r in report_rows(report)] == [
        ("7", "paid_days", "invalid_paid_days")
    ]
    assert "invalid_paid_days" in out and "paid_days" in out


def test_import__skip_invalid__writes_the_good_rows_and_reports_the_bad(tmp_path: Path, people: list[Client]) -> None:
    a = people[0].personal_identity_code
    path = write(tmp_path, *good_lines(people),
                 f"status,{a},retired,2024-03-01,,,",            # row 7: not a status
                 "status,010101-123X,unemployed,2024-03-01,,,",  # row 8: not a valid identity code
                 f"benefit,{a},sickness,2024-03-10,2024-03-01,5,")  # row 9: ends before it starts
    report = tmp_path / "report.csv"
    out, _ = run(path, "--skip-invalid", "--report", str(report))
    created = periods()
    assert len(created[0]) == 3 and len(created[1]) == 2
    problems = [(r["row"], r["column"], r["code"]) for r in report_rows(report)]
    assert problems == [
        ("7", "code", "invalid_status"),
        ("8", "personal_identity_code", "invalid_identity_code"),
        ("9", "end_date", "end_before_start"),
    ]
    assert all(r["problem"] for r in report_rows(report))
    for row, column, code in problems:
        assert code in out and column in out and row in out


def test_import__same_file_twice__same_database(tmp_path: Path, people: list[Client]) -> None:
    path = write(tmp_path, *good_lines(people))
    run(path)
    first, log_rows = periods(), AccessLog.objects.count()
    run(path)
    assert periods() == first
    assert AccessLog.objects.count() == log_rows  # nothing changed, nothing to log
    run(path, "--skip-invalid")
    assert periods() == first


def test_import__newer_extract__updates_the_changed_periods_only(tmp_path: Path, people: list[Client]) -> None:
    a = people[0]
    run(write(tmp_path, *good_lines(people)))
    before = periods()
    lines = good_lines(people)
    lines[1] = f"status,{a.personal_identity_code},subsidised_work,2024-07-01,2024-12-31,,KEHA"
    lines[2] = f"benefit,{a.personal_identity_code},labour_market_subsidy,2024-01-01,2024-06-30,125,Kela"
    with unguarded():  # the log is append-only; the test empties or ages its own rows
        AccessLog.objects.all().delete()
    run(write(tmp_path, *lines, name="newer.csv"))
    after = periods()
    assert len(after[0]) == 3 and len(after[1]) == 2
    assert {p[0] for p in after[0]} == {p[0] for p in before[0]}  # updated in place, not added
    assert EmploymentStatusPeriod.objects.get(client=a, status="subsidised_work").end_date == dt.date(2024, 12, 31)
    assert BenefitPeriod.objects.get(client=a).paid_days == 125
    assert set(AccessLog.objects.values_list("client_id", "category", "action")) == {
        (a.pk, DataCategory.EMPLOYMENT, AccessAction.UPDATE),
        (a.pk, DataCategory.BENEFITS, AccessAction.UPDATE),
    }


def test_import__matches_periods_recorded_otherwise(tmp_path: Path, people: list[Client]) -> None:
    a = people[0]
    existing = EmploymentStatusPeriod.objects.create(client=a, status="unemployed", start_date=dt.date(2024, 1, 1),
                                                     source="register")
    run(write(tmp_path, *good_lines(people)))
    existing.refresh_from_db()
    assert existing.end_date == dt.date(2024, 6, 30) and existing.source == "KEHA"
    assert EmploymentStatusPeriod.objects.filter(client=a).count() == 2


def test_import__dry_run__counts_and_writes_nothing(tmp_path: Path, people: list[Client]) -> None:
    out, _ = run(write(tmp_path, *good_lines(people)), "--dry-run")
    assert periods() == (set(), set())
    assert not AccessLog.objects.exists()
    assert "3" in out


def test_import__semicolons_and_a_byte_order_mark(tmp_path: Path, people: list[Client]) -> None:
    lines = [line.replace(",", ";") for line in good_lines(people)]
    path = write(tmp_path, *lines, header=HEADER.replace(",", ";"), encoding="utf-8-sig")
    run(path)
    assert len(periods()[0]) == 3


def test_import__columns_in_any_order_and_optional_ones_left_out(tmp_path: Path, people: list[Client]) -> None:
    a = people[0].personal_identity_code
    path = write(tmp_path, f"2024-01-01,{a},unemployed,STATUS", header="Start_Date,personal_identity_code,code,"
                 "record_type")
    run(path)
    assert EmploymentStatusPeriod.objects.get().end_date is None


def test_import__unknown_client__is_an_error(tmp_path: Path, people: list[Client]) -> None:
    stranger = f.client()
    code = stranger.personal_identity_code
    stranger.delete()
    report = tmp_path / "report.csv"
    run_failing(write(tmp_path, f"status,{code},unemployed,2024-01-01,,,"), "--report", str(report))
    assert [(r["row"], r["column"], r["code"]) for r in report_rows(report)] == [
        ("2", "personal_identity_code", "no_such_client")
    ]


def test_import__the_same_period_twice_in_a_file(tmp_path: Path, people: list[Client]) -> None:
    a = people[0].personal_identity_code
    same = f"status,{a},unemployed,2024-01-01,2024-06-30,,KEHA"
    report = tmp_path / "report.csv"
    run(write(tmp_path, same, f" STATUS ,{a.lower()}, Unemployed ,2024-01-01,2024-06-30,,KEHA",
              f"benefit,{a},sickness,2024-02-01,2024-02-10,5,", f"benefit,{a},sickness,2024-02-01,2024-02-10,6,"),
        "--skip-invalid", "--report", str(report))
    assert [(r["row"], r["column"], r["code"]) for r in report_rows(report)] == [
        ("3", "", "duplicate"),
        ("4", "", "conflicting_duplicate"),
        ("5", "", "duplicate"),
    ]
    # An identical repeat is dropped and the first kept; conflicting ones are both refused.
    assert EmploymentStatusPeriod.objects.count() == 1
    assert not BenefitPeriod.objects.exists()


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("record_type,personal_identity_code,code", "missing_column"),
        (HEADER + ",paid_day", "unknown_column"),
        (HEADER + ",code", "duplicate_column"),
    ],
)
def test_import__bad_header__nothing_written_even_with_skip_invalid(
    tmp_path: Path, people: list[Client], header: str, code: str
) -> None:
    report = tmp_path / "report.csv"
    run_failing(write(tmp_path, *good_lines(people), header=header), "--skip-invalid", "--report", str(report))
    assert code in {r["code"] for r in report_rows(report)}
    assert {r["row"] for r in report_rows(report)} == {"1"}
    assert periods() == (set(), set())


def test_import__not_utf8__nothing_written(tmp_path: Path, people: list[Client]) -> None:
    a = people[0].personal_identity_code
    path = write(tmp_path, f"status,{a},unemployed,2024-01-01,,,KEHA", f"status,{a},education,2024-09-01,,,Jyväskylä",
                 encoding="latin-1")
    report = tmp_path / "report.csv"
    run_failing(path, "--skip-invalid", "--report", str(report))
    assert [(r["row"], r["code"]) for r in report_rows(report)] == [("3", "not_utf8")]
    assert periods() == (set(), set())


def test_import__missing_file(tmp_path: Path, db: Any) -> None:
    with pytest.raises(CommandError):
        run(tmp_path / "nothing.csv")


def test_import__big_file__progress_on_stderr(tmp_path: Path, people: list[Client], monkeypatch: Any) -> None:
    command = importlib.import_module("polku.core.management.commands.import")
    monkeypatch.setattr(command, "PROGRESS_MIN_LINES", 2)
    _, err = run(write(tmp_path, *good_lines(people)))
    assert "5/5 rows" in err and "left" in err
    _, quiet = run(write(tmp_path, *good_lines(people)), "--no-progress")
    assert quiet == ""


def test_import__queries_do_not_grow_with_the_rows(tmp_path: Path, db: Any) -> None:
    def queries(count: int, name: str) -> int:
        lines = []
        for person in [f.client() for _ in range(count)]:
            code = person.personal_identity_code
            lines += [f"status,{code},unemployed,2024-01-01,,,", f"benefit,{code},sickness,2024-01-01,2024-01-10,5,"]
        path = write(tmp_path, *lines, name=name)
        with CaptureQueriesContext(connection) as captured:
            run(path, "--no-progress")
        return len(captured.captured_queries)

    assert queries(40, "large.csv") == queries(3, "small.csv")


# The validator on its own --------------------------------------------------------------------------------------

KNOWN = make_hetu(dt.date(1990, 1, 1), 900)
UNKNOWN = make_hetu(dt.date(1990, 1, 1), 902)
MISCHECKED = KNOWN[:-1] + ("X" if KNOWN[-1] != "X" else "Y")
CLIENTS = {KNOWN: 1}
GOOD = {"record_type": "benefit", "personal_identity_code": KNOWN, "code": "sickness", "start_date": "2025-01-01",
        "end_date": "2025-01-31", "paid_days": "20", "source": "Kela"}


@pytest.mark.parametrize(
    ("changes", "column", "code"),
    [
        ({"record_type": ""}, "record_type", "required"),
        ({"record_type": "period"}, "record_type", "invalid_record_type"),
        ({"personal_identity_code": ""}, "personal_identity_code", "required"),
        ({"personal_identity_code": MISCHECKED}, "personal_identity_code", "invalid_identity_code"),
        ({"personal_identity_code": UNKNOWN}, "personal_identity_code", "no_such_client"),
        ({"code": ""}, "code", "required"),
        ({"code": "unemployed"}, "code", "invalid_benefit"),
        ({"record_type": "status", "code": "sickness", "paid_days": ""}, "code", "invalid_status"),
        ({"start_date": ""}, "start_date", "required"),
        ({"start_date": "1.1.2025"}, "start_date", "invalid_date"),
        ({"start_date": "2025-02-30"}, "start_date", "invalid_date"),
        ({"start_date": "2025-07-01", "end_date": ""}, "start_date", "future_start"),
        ({"end_date": "2025-13-01"}, "end_date", "invalid_date"),
        ({"end_date": "2024-12-31"}, "end_date", "end_before_start"),
        ({"paid_days": ""}, "paid_days", "required"),
        ({"paid_days": "-1"}, "paid_days", "invalid_paid_days"),
        ({"paid_days": "2.5"}, "paid_days", "invalid_paid_days"),
        ({"paid_days": "32"}, "paid_days", "too_many_paid_days"),
        ({"record_type": "status", "code": "unemployed"}, "paid_days", "paid_days_for_status"),
        ({"source": "x" * 101}, "source", "too_long"),
    ],
)
def test_validator__each_rule(changes: dict[str, str], column: str, code: str) -> None:
    validator = RegisterValidator(CLIENTS, TODAY)
    assert validator.add(2, {**GOOD, **changes}) is None
    records_, problems = validator.result()
    assert [(p.row, p.column, p.code) for p in problems] == [(2, column, code)]
    assert records_ == [] and problems[0].text


def test_validator__a_good_row() -> None:
    validator = RegisterValidator(CLIENTS, TODAY)
    record = validator.add(2, GOOD)
    assert record is not None and record.client_id == 1 and record.paid_days == 20
    assert validator.result() == ([record], [])


garbage = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
cells = st.one_of(
    garbage,
    st.sampled_from(["status", "benefit", KNOWN, "unemployed", "sickness", "2025-01-01", "2024-12-31", "0", "31",
                     "", " ", "999999999999", "-", "2025-02-29"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from([*COLUMNS, "other"]), cells), max_size=8))
def test_validator__garbage_rows_only_make_problems(rows: list[dict[str, str]]) -> None:
    validator = RegisterValidator(CLIENTS, TODAY)
    for number, row in enumerate(rows, start=2):
        validator.add(number, row)
    valid, problems = validator.result()
    for problem in problems:
        assert 2 <= problem.row < 2 + len(rows)
        assert problem.column in ("", *COLUMNS)
        assert problem.code and isinstance(problem.text, str)
    assert {r.row for r in valid}.isdisjoint({p.row for p in problems})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(cells, max_size=9), max_size=8), st.sampled_from([",", ";", "\t"]),
       st.text(max_size=80))
def test_check_register__garbage_files_only_make_problems(rows: list[list[str]], delimiter: str, noise: str) -> None:
    text = "\n".join([HEADER, *(delimiter.join(row) for row in rows), noise])
    checked = check_register(records(io.StringIO(text, newline="")), clients=CLIENTS, today=TODAY)
    assert all(p.code and isinstance(p.text, str) and p.row >= 1 for p in checked.problems)
    assert len(checked.records) <= checked.rows
    if checked.fatal:
        assert checked.problems
