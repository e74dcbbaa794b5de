"""Hostile input to the parsers (issue 11, item 2): the identity-code and Business ID validators, the register CSV
import (``polku import register``) and the service-catalogue import (``polku import services``).

Properties: no exception other than the documented one (``ValidationError`` for the validators, ``CommandError``
for the commands, a report with errors for the catalogue); whatever a validator accepts is the canonical ASCII
form; a file that is refused writes nothing (row counts and rows unchanged); a report file never carries a cell
that a spreadsheet would run as a formula. These extend tests/core/test_identity.py,
tests/clients/test_register_import.py and tests/catalogue/test_interchange.py, which fuzz the validator and the
JSON structure; here the input is raw bytes, broken encodings, byte-order marks, delimiters, huge fields and
spreadsheet formulas, through the whole command.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from polku.catalogue.interchange import import_services
from polku.catalogue.models import Service
from polku.clients.models import BenefitPeriod, Client, EmploymentStatusPeriod, municipality_code_validator
from polku.core.identity import (
    CHECK_CHARACTERS,
    make_hetu,
    parse_hetu,
    validate_business_id,
    validate_hetu,
)
from polku.organisations.models import Organisation
from tests import factories as f

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# Digits of other scripts that Python's ``\d`` and ``int()`` accept (Arabic-Indic, Devanagari, full-width).
FOREIGN_DIGITS = "٠١٢٣٤٥٦٧٨٩०१२३४५६७८९０１２３４５６７８９"
HETU_ALPHABET = "0123456789-+ABCDEFUVWXY" + CHECK_CHARACTERS + FOREIGN_DIGITS + " \t\n\x00ßİıﬀ"


def _ascii_hetu(code: str) -> bool:
    return len(code) == 11 and code.isascii() and code == code.strip().upper()


# ------------------------------------------------------------------------------------------- identity codes


@FUZZ
@given(st.one_of(st.text(max_size=40), st.text(alphabet=HETU_ALPHABET, min_size=9, max_size=13),
                 st.text(min_size=1000, max_size=5000)))
@example("١٣١٠٥٢-٣٠٨T")  # 131052-308T in Arabic-Indic digits
@example("１３１０５２-３０８T")  # ... in full-width digits
@example("131052-308T\n")
@example("131052-308T\x00")
def test_hetu__any_text__valid_canonical_code_or_validation_error(text: str) -> None:
    try:
        parsed = parse_hetu(text)
    except ValidationError as error:
        assert error.messages and all(isinstance(m, str) and m for m in error.messages)
        return
    # Accepted: exactly the 11 ASCII characters of a code that make_hetu gives for the same person.
    assert _ascii_hetu(parsed.code), repr(parsed.code)
    remade = make_hetu(parsed.birth_date, parsed.individual_number)
    assert (remade[:6], remade[7:]) == (parsed.code[:6], parsed.code[7:])


@pytest.mark.parametrize("value", [None, 131052308, b"131052-308T", ["131052-308T"], 1.5, object()])
def test_hetu__not_text__validation_error(value: Any) -> None:
    with pytest.raises(ValidationError):
        validate_hetu(value)


@FUZZ
@given(st.one_of(st.text(max_size=20), st.text(alphabet="0123456789-" + FOREIGN_DIGITS + " \n", max_size=12)))
@example("٠٢٤٦٢٤٦-٠")  # 0246246-0 in Arabic-Indic digits
@example("0246246-0\n")
def test_business_id__any_text__valid_ascii_or_validation_error(text: str) -> None:
    try:
        validate_business_id(text)
    except ValidationError as error:
        assert error.messages
        return
    stripped = text.strip()
    assert stripped.isascii() and len(stripped) == 9 and stripped[7] == "-", repr(text)


# ------------------------------------------------------------------------------------------- municipality codes


@FUZZ
@given(st.one_of(st.text(max_size=6), st.text(alphabet="0123456789" + FOREIGN_DIGITS + " \n", max_size=5)))
@example("٠٩١")  # 091 in Arabic-Indic digits
@example("０９１")  # ... in full-width digits
@example("091\n")
def test_municipality_code__any_text__three_ascii_digits_or_validation_error(text: str) -> None:
    try:
        municipality_code_validator(text)
    except ValidationError as error:
        assert error.messages
        return
    assert len(text) == 3 and text.isascii() and text.isdigit(), repr(text)


@pytest.mark.parametrize("code", ["٠٩١", "０９１", "09١"])
def test_municipality_code__other_scripts_digits__refused_by_the_api(db: Any, code: str) -> None:
    from django.test import Client as Browser

    from polku.accounts import services as token_services
    from polku.organisations.models import StaffRole

    user = f.staff(role=StaffRole.COORDINATOR)
    _token, secret = token_services.token_create(username=user.username)
    answer = Browser().get("/api/v1/clients", {"municipality_code": code}, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert answer.status_code == 422, answer.content
    assert answer["Content-Type"].startswith("application/problem+json")


# ------------------------------------------------------------------------------------------- register CSV

HEADER = "record_type,personal_identity_code,code,start_date,end_date,paid_days,source"
FORMULAS = ["=1+1", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1", "-1", "@SUM(A1)", "=cmd|' /C calc'!A0",
            "\t=1", "\r=1"]
BOMS = [b"", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\xef\xbb\xbf"]


def _snapshot() -> tuple[Any, ...]:
    return (
        sorted(EmploymentStatusPeriod.objects.values_list("id", "client_id", "status", "start_date", "end_date",
                                                          "source")),
        sorted(BenefitPeriod.objects.values_list("id", "client_id", "benefit", "start_date", "end_date", "paid_days",
                                                 "source")),
        Client.objects.count(),
    )


def _import(path: Path, *args: str) -> tuple[bool, str]:
    """Run ``polku import register``; ``(refused, stdout)``. Any exception but CommandError fails the test."""
    out = io.StringIO()
    try:
        call_command("import", "register", str(path), "--no-progress", *args, stdout=out, stderr=io.StringIO())
    except CommandError:
        return True, out.getvalue()
    return False, out.getvalue()


def _assert_report_is_inert(report: Path) -> None:
    """No cell of the problem report would run as a spreadsheet formula (OWASP CSV injection)."""
    if not report.exists():
        return
    with report.open(encoding="utf-8", newline="") as stream:
        for row in csv.reader(stream):
            for cell in row:
                assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"formula-like cell in the report: {cell!r}"


@pytest.fixture
def known(db: Any) -> list[str]:
    return [f.client().personal_identity_code for _ in range(2)]


cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["status", "benefit", "unemployed", "sickness", "2024-01-01", "2024-12-31", "", "10",
                     "٢٠٢٤-٠١-٠١", "١٠", *FORMULAS]),
)


@st.composite
def register_files(draw: Any, codes: list[str]) -> bytes:
    """Something like a register extract, or not at all: random bytes, a broken encoding, byte-order marks, odd
    delimiters, quotes, huge fields, formulas, known clients' identity codes."""
    kind = draw(st.sampled_from(["bytes", "csv", "csv", "csv"]))
    if kind == "bytes":
        return draw(st.binary(max_size=400))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", "\x00"]))
    header = draw(st.sampled_from([HEADER, HEADER.upper(), HEADER + ",extra", "=1+1," + HEADER, "", "a\"b,c"]))
    rows = draw(st.lists(st.lists(st.one_of(cell, st.sampled_from(codes)), min_size=0, max_size=8), max_size=6))
    text = "\n".join([header.replace(",", delimiter), *(delimiter.join(r) for r in rows)])
    if draw(st.booleans()):
        text += "\n" + draw(st.sampled_from(['"unclosed', "x" * 200_000, "\r\r\n", "\u2028", "a,\"b\"c\"\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "latin-1", "cp1252"]))
    data = text.encode(encoding, errors="replace")
    return draw(st.sampled_from(BOMS)) + data


@FUZZ
@given(data=st.data(), mode=st.sampled_from([(), ("--skip-invalid",), ("--dry-run",)]))
def test_register_import__hostile_files__refused_cleanly_and_nothing_partial(
    known: list[str], tmp_path_factory: Any, data: Any, mode: tuple[str, ...]
) -> None:
    folder = tmp_path_factory.mktemp("register")
    path, report = folder / "in.csv", folder / "report.csv"
    path.write_bytes(data.draw(register_files(known)))
    before = _snapshot()

    refused, _out = _import(path, "--report", str(report), *mode)

    if refused or "--dry-run" in mode:
        assert _snapshot() == before
    _assert_report_is_inert(report)


def test_register_import__huge_field__refused_nothing_written(known: list[str], tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + "\n" + f'status,{known[0]},unemployed,2024-01-01,,,"{"x" * 300_000}"\n'
                    + f"status,{known[1]},unemployed,2024-01-01,,,KEHA\n", encoding="utf-8")
    before = _snapshot()
    assert _import(path, "--skip-invalid")[0] is True
    assert _snapshot() == before


@pytest.mark.parametrize("formula", FORMULAS)
def test_register_import__formulas__not_accepted_and_not_replayed_in_the_report(
    known: list[str], tmp_path: Path, formula: str
) -> None:
    """A formula in any column is invalid data, and the problem report carries no formula (the header's unknown
    column name and the values are written as inert text)."""
    path, report = tmp_path / "formula.csv", tmp_path / "report.csv"
    quoted = '"' + formula.replace('"', '""') + '"'
    path.write_text(f"{HEADER},{quoted}\nstatus,{known[0]},unemployed,2024-01-01,,,{quoted},x\n"
                    f"{quoted},{quoted},{quoted},{quoted},{quoted},{quoted},{quoted},x\n", encoding="utf-8")
    before = _snapshot()
    refused, _out = _import(path, "--report", str(report))
    assert refused
    assert _snapshot() == before
    assert report.exists()
    _assert_report_is_inert(report)


def test_register_import__foreign_digits_in_identity_code__not_a_client(known: list[str], tmp_path: Path) -> None:
    ascii_digits = "0123456789"
    arabic = known[0].translate(str.maketrans(ascii_digits, "٠١٢٣٤٥٦٧٨٩"))
    path, report = tmp_path / "digits.csv", tmp_path / "report.csv"
    path.write_text(f"{HEADER}\nstatus,{arabic},unemployed,2024-01-01,,,KEHA\n", encoding="utf-8")
    refused, _out = _import(path, "--report", str(report))
    assert refused
    with report.open(encoding="utf-8", newline="") as stream:
        codes = {row["code"] for row in csv.DictReader(stream)}
    assert codes == {"invalid_identity_code"}


# ------------------------------------------------------------------------------------------- service catalogue


def _catalogue_snapshot() -> tuple[Any, ...]:
    return (sorted(Service.objects.values_list("id", "name_fi", "provider_id", "active")),
            sorted(Organisation.objects.values_list("id", "name_fi", "business_id")))


catalogue_garbage = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.sampled_from([b"\xef\xbb\xbf{}", b"\xef\xbb\xbf" + b'{"services": []}', b'{"services": [' * 5000,
                     b'{"services": [], "organizations": [{"businessCode": "\\u0000"}]}',
                     b'{"services": [{"serviceNames": [{"language": "fi", "value": "' + b"x" * 100_000 + b'"}]}]}',
                     b'{"a": 1e999999}', b'{"a": -Infinity}', b"\x00" * 100,
                     json.dumps({"services": [{"serviceNames": [{"language": "fi",
                                                                 "value": "=cmd|' /C calc'!A0"}]}]}).encode()]),
    st.text(max_size=80).map(lambda t: json.dumps({"services": [{"serviceNames": [{"language": "fi", "value": t}],
                                                                 "organizations": [{"businessCode": t}]}]}).encode()),
)


@FUZZ
@given(content=catalogue_garbage, dry_run=st.booleans(), encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_catalogue_import__hostile_files__errors_and_nothing_written(
    db: Any, tmp_path_factory: Any, content: bytes, dry_run: bool, encoding: str
) -> None:
    path = tmp_path_factory.mktemp("catalogue") / "in.json"
    with contextlib.suppress(UnicodeDecodeError, UnicodeEncodeError):
        content = content.decode("utf-8").encode(encoding)
    path.write_bytes(content)
    before = _catalogue_snapshot()

    report = import_services(path, dry_run=dry_run)

    str(report)
    if report.errors or dry_run:
        assert _catalogue_snapshot() == before


@FUZZ
@given(content=catalogue_garbage)
def test_catalogue_import_command__hostile_files__command_error_only(db: Any, tmp_path_factory: Any,
                                                                   content: bytes) -> None:
    path = tmp_path_factory.mktemp("catalogue-cli") / "in.json"
    path.write_bytes(content)
    before = _catalogue_snapshot()
    try:
        call_command("import", "services", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    except CommandError:
        assert _catalogue_snapshot() == before

