"""Import employment-status periods and benefit periods from a register extract (CSV); see docs/imports.md.

The file is read twice, row by row: the first pass collects the identity codes so that the clients are looked up
set-based (one query per :data:`LOOKUP_CHUNK` codes); the second validates every row into a report of problems
(row, column, code, message) and a list of valid records. Writing compares the records with the periods the
database holds under the same natural key (client, status or benefit, start date), creates what is new and updates
what changed, in batches and in one transaction, and writes one access-log row per client and data category whose
data changed. Importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from polku.audit.models import AccessAction
from polku.core.choices import DataCategory
from polku.core.identity import parse_hetu

from .models import Benefit, BenefitPeriod, Client, EmploymentStatus, EmploymentStatusPeriod

STATUS = "status"
BENEFIT = "benefit"
RECORD_TYPES = (STATUS, BENEFIT)

#: Every column a register file may have, in the order the documentation lists them.
COLUMNS = ("record_type", "personal_identity_code", "code", "start_date", "end_date", "paid_days", "source")
REQUIRED_COLUMNS = ("record_type", "personal_identity_code", "code", "start_date")

STATUS_CODES = tuple(EmploymentStatus.values)
BENEFIT_CODES = tuple(Benefit.values)
_STATUS_CODES, _BENEFIT_CODES = frozenset(STATUS_CODES), frozenset(BENEFIT_CODES)

#: ``source`` of a period when the row leaves it empty.
DEFAULT_SOURCE = "register"
SOURCE_MAX_LENGTH = 100
#: Identity codes (or client ids) per look-up query, below SQLite's and PostgreSQL's limits on parameters.
LOOKUP_CHUNK = 20_000
#: Rows per insert or update statement.
WRITE_BATCH = 1000
#: The name the access log gives to the import as the one who processed the data.
ACTOR_NAME = "polku import register"
#: PostgreSQL advisory lock that keeps two imports from interleaving (the sweep uses 4242001).
ADVISORY_LOCK = 4242005

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z", re.ASCII)  # ASCII digits only, as the format says
_DIGITS = re.compile(r"^\d{1,9}\Z", re.ASCII)

ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a register file: its row (the header is row 1, as a spreadsheet numbers rows), the
    column (``""`` for the whole row), a stable code and a translatable message."""

    row: int
    column: str
    code: str
    message: Any
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The message in the active language."""
        text = str(self.message)
        return text % dict(self.params) if self.params else text


class UnreadableFile(Exception):
    """The file cannot be read on from some row (not UTF-8, broken CSV): nothing of it may be written."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class RegisterRecord:
    """A valid row: one employment-status or benefit period of a known client."""

    row: int
    record_type: str
    client_id: int
    code: str
    start_date: dt.date
    end_date: dt.date | None
    paid_days: int | None
    source: str

    @property
    def key(self) -> tuple[int, str, dt.date]:
        return (self.client_id, self.code, self.start_date)


@dataclass
class Checked:
    """A validated file: the valid records and every problem found."""

    records: list[RegisterRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0  # data rows read (not counting the header and blank rows)
    fatal: bool = False  # the header or the file itself is broken: nothing may be written

    @property
    def invalid_rows(self) -> int:
        return len({p.row for p in self.problems})


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportResult:
    """What an import found and did."""

    checked: Checked
    counts: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in RECORD_TYPES})
    written: bool = False
    log_rows: int = 0

    @property
    def problems(self) -> list[Problem]:
        return self.checked.problems


# Reading ---------------------------------------------------------------------------------------------------------


def _decoded_lines(binary: Iterable[bytes]) -> Iterator[str]:
    for line_number, raw in enumerate(binary, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableFile(Problem(line_number, "", "not_utf8",
                                         _("The file is not UTF-8 text (line %(line)d)."),
                                         {"line": line_number})) from None
        if line_number == 1:
            text = text.removeprefix("\ufeff")
        yield text


def records(lines: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """``(row, cells)`` for every record of CSV text, the header being row 1. The delimiter is ``;`` if the
    header has more semicolons than commas, else ``,``. Raises :class:`UnreadableFile` when the CSV breaks."""
    rest = iter(lines)
    first = next(rest, "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], rest), delimiter=delimiter)
    row = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableFile(Problem(row + 1, "", "unreadable",
                                         _("The file cannot be read as CSV from this row on (%(error)s)."),
                                         {"error": str(exc)})) from None
        row += 1
        yield row, cells


def file_records(binary: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """:func:`records` of a UTF-8 file opened in binary mode."""
    return records(_decoded_lines(binary))


def check_header(cells: Sequence[str]) -> tuple[list[str], list[Problem]]:
    """The header's column names (trimmed, lower case) and its problems."""
    columns = [cell.strip().lower() for cell in cells]
    problems: list[Problem] = []
    if not any(columns):
        return columns, [Problem(1, "", "no_header", _("The first row must name the columns."))]
    seen: set[str] = set()
    for position, name in enumerate(columns, start=1):
        if not name:
            problems.append(Problem(1, "", "unnamed_column", _("Column %(position)d of the header has no name."),
                                    {"position": position}))
        elif name in seen:
            problems.append(Problem(1, name, "duplicate_column", _("The header names this column twice.")))
        elif name not in COLUMNS:
            problems.append(Problem(1, name, "unknown_column", _("Unknown column. The columns are: %(columns)s."),
                                    {"columns": ", ".join(COLUMNS)}))
        seen.add(name)
    problems += [
        Problem(1, name, "missing_column", _("The header lacks this required column."))
        for name in REQUIRED_COLUMNS if name not in seen
    ]
    return columns, problems


# Validating ------------------------------------------------------------------------------------------------------


def _parse_date(value: str) -> dt.date | None:
    if not _ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


class RegisterValidator:
    """Validates rows one at a time against the known clients (``{identity code: client id}``); collects the
    valid records and the problems, including periods that a file gives twice."""

    def __init__(self, clients: Mapping[str, int], today: dt.date) -> None:
        self.clients = clients
        self.today = today
        self._records: list[RegisterRecord] = []
        self.problems: list[Problem] = []
        # natural key → (first row, its values, whether a conflict with it was already reported)
        self._seen: dict[tuple[str, str, str, dt.date], tuple[int, tuple[Any, ...], bool]] = {}
        self._rejected: set[int] = set()

    def add(self, row: int, values: Mapping[str, str]) -> RegisterRecord | None:
        """Validate one row (column name → text). Returns its record, or ``None`` if the row has problems."""
        problems: list[Problem] = []

        def problem(column: str, code: str, message: Any, params: Mapping[str, Any] | None = None) -> None:
            problems.append(Problem(row, column, code, message, params or {}))

        def text(column: str) -> str:
            value = values.get(column)
            return value.strip() if isinstance(value, str) else ""

        record_type = text("record_type").lower()
        if not record_type:
            problem("record_type", "required", _("This column is required."))
        elif record_type not in RECORD_TYPES:
            problem("record_type", "invalid_record_type", _("Use status or benefit."))
            record_type = ""

        code_in_file = text("personal_identity_code").upper()
        identity_code = ""
        client_id: int | None = None
        if not code_in_file:
            problem("personal_identity_code", "required", _("This column is required."))
        else:
            try:
                identity_code = parse_hetu(code_in_file).code
            except ValidationError as exc:
                error = exc.error_list[0]
                problem("personal_identity_code", "invalid_identity_code", error.message, error.params)
            else:
                client_id = self.clients.get(identity_code)
                if client_id is None:
                    problem("personal_identity_code", "no_such_client",
                            _("No client has this identity code: register the client in Polku first."))

        code = text("code").lower()
        if not code:
            problem("code", "required", _("This column is required."))
        elif record_type == STATUS and code not in _STATUS_CODES:
            problem("code", "invalid_status", _("Not an employment-status code. The codes are: %(codes)s."),
                    {"codes": ", ".join(STATUS_CODES)})
            code = ""
        elif record_type == BENEFIT and code not in _BENEFIT_CODES:
            problem("code", "invalid_benefit", _("Not a benefit code. The codes are: %(codes)s."),
                    {"codes": ", ".join(BENEFIT_CODES)})
            code = ""

        start = end = None
        start_text, end_text = text("start_date"), text("end_date")
        if not start_text:
            problem("start_date", "required", _("This column is required."))
        else:
            start = _parse_date(start_text)
            if start is None:
                problem("start_date", "invalid_date", _("Give the date as YYYY-MM-DD, for example 2024-01-31."))
            elif start > self.today:
                problem("start_date", "future_start", _("A period cannot start in the future."))
        if end_text:
            end = _parse_date(end_text)
            if end is None:
                problem("end_date", "invalid_date", _("Give the date as YYYY-MM-DD, for example 2024-01-31."))
            elif start is not None and end < start:
                problem("end_date", "end_before_start", _("A period cannot end before it starts."))

        paid_days: int | None = None
        paid_text = text("paid_days")
        if record_type == STATUS and paid_text:
            problem("paid_days", "paid_days_for_status", _("Days paid are given for benefit rows only."))
        elif record_type == BENEFIT:
            if not paid_text:
                problem("paid_days", "required", _("This column is required."))
            elif not _DIGITS.match(paid_text):
                problem("paid_days", "invalid_paid_days", _("Give the days paid as a whole number, 0 or more."))
            else:
                paid_days = int(paid_text)
                if start is not None and start <= self.today and (end is None or end >= start):
                    length = ((end or self.today) - start).days + 1
                    if paid_days > length:
                        problem("paid_days", "too_many_paid_days",
                                _("More days paid (%(days)d) than the period has days (%(length)d)."),
                                {"days": paid_days, "length": length})

        source = text("source") or DEFAULT_SOURCE
        if len(source) > SOURCE_MAX_LENGTH:
            problem("source", "too_long", _("At most %(max)d characters."), {"max": SOURCE_MAX_LENGTH})

        if record_type and identity_code and code and start is not None:
            key = (record_type, identity_code, code, start)
            signature = (end_text, paid_text, source)
            first = self._seen.get(key)
            if first is None:
                self._seen[key] = (row, signature, False)
            else:
                first_row, first_signature, conflict_reported = first
                problem("", "duplicate", _("The same period as on row %(row)d."), {"row": first_row})
                if signature != first_signature and not conflict_reported:
                    self.problems.append(Problem(
                        first_row, "", "conflicting_duplicate",
                        _("The same period is given again on row %(row)d with other values."), {"row": row},
                    ))
                    self._rejected.add(first_row)
                    self._seen[key] = (first_row, first_signature, True)

        self.problems += problems
        if problems or client_id is None or start is None:
            return None
        record = RegisterRecord(row=row, record_type=record_type, client_id=client_id, code=code,
                                start_date=start, end_date=end, paid_days=paid_days, source=source)
        self._records.append(record)
        return record

    def result(self) -> tuple[list[RegisterRecord], list[Problem]]:
        """The valid records and the problems, in row order."""
        order = {name: i for i, name in enumerate(("", *COLUMNS))}
        problems = sorted(self.problems, key=lambda p: (p.row, order.get(p.column, len(order)), p.code))
        valid = [r for r in self._records if r.row not in self._rejected]
        return valid, problems


def check_register(
    rows: Iterable[tuple[int, list[str]]], *, clients: Mapping[str, int], today: dt.date | None = None,
    advance: Callable[[int], None] | None = None,
) -> Checked:
    """Validate a register file given as ``(row, cells)`` records, the header first. Never raises for bad input:
    everything wrong ends up in ``Checked.problems``."""
    checked = Checked()
    validator = RegisterValidator(clients, today or timezone.localdate())
    columns: list[str] | None = None
    pending = 0
    try:
        for row, cells in rows:
            if columns is None:
                columns, header_problems = check_header(cells)
                if header_problems:
                    checked.problems, checked.fatal = header_problems, True
                    return checked
                continue
            pending += 1
            if advance is not None and pending >= 10_000:
                advance(pending)
                pending = 0
            if not any(cell.strip() for cell in cells):
                continue  # a blank row
            checked.rows += 1
            if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns):]):
                validator.problems.append(Problem(
                    row, "", "too_many_values",
                    _("The row has %(values)d values but the header %(columns)d columns."),
                    {"values": len(cells), "columns": len(columns)},
                ))
                continue
            validator.add(row, dict(zip(columns, cells, strict=False)))
    except UnreadableFile as exc:
        validator.problems.append(exc.problem)
        checked.fatal = True
    if columns is None and not checked.fatal:
        checked.problems, checked.fatal = [Problem(1, "", "no_header", _("The first row must name the columns."))], True
        return checked
    if advance is not None and pending:
        advance(pending)
    checked.records, checked.problems = validator.result()
    return checked


def identity_codes(rows: Iterable[tuple[int, list[str]]]) -> set[str]:
    """The identity codes a file names (trimmed, upper case), for looking up its clients at once. Stops quietly
    at a broken header or row: validation reports those."""
    codes: set[str] = set()
    index: int | None = None
    try:
        for _row, cells in rows:
            if index is None:
                columns = [cell.strip().lower() for cell in cells]
                if "personal_identity_code" not in columns:
                    return codes
                index = columns.index("personal_identity_code")
            elif len(cells) > index:
                value = cells[index].strip().upper()
                if value:
                    codes.add(value)
    except UnreadableFile:
        pass
    return codes


def _chunk_size() -> int:
    if connection.vendor == "sqlite":
        import sqlite3

        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if connection.connection else 999
        return max(1, min(LOOKUP_CHUNK, limit - 10))
    return LOOKUP_CHUNK


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    connection.ensure_connection()
    size = _chunk_size()
    for start in range(0, len(values), size):
        yield values[start : start + size]


def clients_by_identity_code(codes: Iterable[str]) -> dict[str, int]:
    """``{identity code: client id}`` for the codes that belong to clients (one query per chunk of codes)."""
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(codes)):
        found.update(Client.objects.filter(personal_identity_code__in=chunk).values_list("personal_identity_code",
                                                                                           "pk"))
    return found


# Writing ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    model: type[EmploymentStatusPeriod] | type[BenefitPeriod]
    code_field: str
    compared: tuple[str, ...]
    category: str
    purpose: Any


KINDS = {
    STATUS: _Kind(EmploymentStatusPeriod, "status", ("end_date", "source"), DataCategory.EMPLOYMENT,
                  _("Register import of employment-status periods")),
    BENEFIT: _Kind(BenefitPeriod, "benefit", ("end_date", "paid_days", "source"), DataCategory.BENEFITS,
                   _("Register import of benefit periods")),
}


def _values(kind: _Kind, record: RegisterRecord) -> dict[str, Any]:
    values: dict[str, Any] = {"end_date": record.end_date, "source": record.source}
    if "paid_days" in kind.compared:
        values["paid_days"] = record.paid_days
    return values


def write_records(
    records: Sequence[RegisterRecord], *, dry_run: bool = False, user: Any = None,
    advance: Callable[[int], None] | None = None,
) -> tuple[dict[str, Counts], int]:
    """Create the new periods and update the changed ones, in batches, in one transaction, with one access-log
    row per client and data category whose data changed. ``dry_run`` only counts. Returns the counts by record
    type and the number of access-log rows written."""
    from polku.audit.services import log_system_access

    counts = {t: Counts() for t in RECORD_TYPES}
    log_rows = 0
    with transaction.atomic():
        if connection.vendor == "postgresql" and not dry_run:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        for record_type, kind in KINDS.items():
            mine = [r for r in records if r.record_type == record_type]
            if not mine:
                continue
            existing: dict[tuple[int, str, dt.date], Any] = {}
            client_ids = sorted({r.client_id for r in mine})
            for chunk in _chunks(client_ids):
                query = kind.model.objects.filter(client_id__in=chunk).only(
                    "pk", "client_id", kind.code_field, "start_date", *kind.compared)
                for stored in query:
                    existing[(stored.client_id, getattr(stored, kind.code_field), stored.start_date)] = stored
            new: list[Any] = []
            changed: list[Any] = []
            created_for: set[int] = set()
            updated_for: set[int] = set()
            for record in mine:
                values = _values(kind, record)
                period = existing.get(record.key)
                if period is None:
                    new.append(kind.model(client_id=record.client_id, start_date=record.start_date,
                                          **{kind.code_field: record.code}, **values))
                    created_for.add(record.client_id)
                elif any(getattr(period, name) != value for name, value in values.items()):
                    for name, value in values.items():
                        setattr(period, name, value)
                    changed.append(period)
                    updated_for.add(record.client_id)
            counts[record_type] = Counts(created=len(new), updated=len(changed),
                                         unchanged=len(mine) - len(new) - len(changed))
            if dry_run:
                if advance is not None:
                    advance(len(mine))
                continue
            if advance is not None:
                advance(counts[record_type].unchanged)
            for start in range(0, len(new), WRITE_BATCH):
                batch = new[start : start + WRITE_BATCH]
                kind.model.objects.bulk_create(batch, batch_size=WRITE_BATCH)
                if advance is not None:
                    advance(len(batch))
            for start in range(0, len(changed), WRITE_BATCH):
                batch = changed[start : start + WRITE_BATCH]
                kind.model.objects.bulk_update(batch, list(kind.compared), batch_size=WRITE_BATCH)
                if advance is not None:
                    advance(len(batch))
            object_type = kind.model.__name__
            log_rows += log_system_access(client_ids=sorted(created_for), category=kind.category,
                                          action=AccessAction.CREATE, purpose=kind.purpose, actor_name=ACTOR_NAME,
                                          user=user, object_type=object_type)
            log_rows += log_system_access(client_ids=sorted(updated_for - created_for), category=kind.category,
                                          action=AccessAction.UPDATE, purpose=kind.purpose, actor_name=ACTOR_NAME,
                                          user=user, object_type=object_type)
    return counts, log_rows


def import_register(
    path: Path, *, skip_invalid: bool = False, dry_run: bool = False, user: Any = None,
    progress: ProgressFactory | None = None,
) -> ImportResult:
    """Validate a register file and, unless a row is invalid (or with ``skip_invalid``, the file itself is
    broken), write its valid rows. ``progress(phase, total)`` returns a function that takes rows done."""
    with path.open("rb") as binary:
        codes = identity_codes(file_records(binary))
    clients = clients_by_identity_code(codes)
    with path.open("rb") as binary:
        total = sum(1 for _ in binary)
    with path.open("rb") as binary:
        advance = progress("validating", max(total - 1, 0)) if progress else None
        checked = check_register(file_records(binary), clients=clients, advance=advance)
    result = ImportResult(checked=checked)
    if checked.fatal or (checked.problems and not skip_invalid):
        return result
    advance = progress("writing", len(checked.records)) if progress and checked.records else None
    result.counts, result.log_rows = write_records(checked.records, dry_run=dry_run, user=user, advance=advance)
    result.written = not dry_run
    return result
