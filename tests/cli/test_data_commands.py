"""``polku import`` and ``polku export``: dispatchers with subcommands."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

POLKU = shutil.which("polku") or str(Path(sys.executable).parent / "polku")


def polku(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POLKU_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    return subprocess.run([POLKU, *args], capture_output=True, text=True, env=env)


def test_polku_help__lists_import_and_export() -> None:
    out = subprocess.run([POLKU, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("import register", "import services", "export client", "export services"):
        assert command in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["import", "--help"], ["register", "services"]),
        (["import", "register", "--help"], ["--skip-invalid", "--report", "--dry-run"]),
        (["import", "services", "--help"], ["--dry-run"]),
        (["export", "--help"], ["client", "services"]),
        (["export", "client", "--help"], ["IDENTITY_CODE", "--out"]),
        (["export", "services", "--help"], ["--format", "ptv", "hsds", "--out"]),
        (["help", "import"], ["register", "services"]),
    ],
)
def test_help__through_the_polku_command(tmp_path: Path, args: list[str], expected: list[str]) -> None:
    result = polku(*args, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    for text in expected:
        assert text in result.stdout


def test_import_register__missing_file__non_zero_exit(tmp_path: Path) -> None:
    result = polku("import", "register", str(tmp_path / "missing.csv"), tmp_path=tmp_path)
    assert result.returncode == 1
    assert "missing.csv" in result.stderr


def test_import__without_a_subcommand__usage_error(tmp_path: Path) -> None:
    result = polku("import", tmp_path=tmp_path)
    assert result.returncode != 0 and "register" in result.stderr


# The services subcommands call polku.catalogue.interchange, replaced here by a stand-in ---------------------------


@dataclass
class FakeReport:
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"report: {len(self.errors)} errors"


@pytest.fixture
def interchange(monkeypatch: Any) -> types.SimpleNamespace:
    calls = types.SimpleNamespace(imported=[], exported=[], errors=[])

    def import_services(path: Path, *, dry_run: bool = False) -> FakeReport:
        calls.imported.append((path, dry_run))
        return FakeReport(errors=list(calls.errors))

    def export_services(fmt: str) -> dict[str, Any] | list[Any]:
        calls.exported.append(fmt)
        return {"format": fmt, "services": [{"name": "Työkokeilu"}]}

    module = types.ModuleType("polku.catalogue.interchange")
    module.import_services = import_services  # type: ignore[attr-defined]
    module.export_services = export_services  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "polku.catalogue.interchange", module)
    return calls


def test_import_services__prints_the_report(interchange: Any, tmp_path: Path) -> None:
    path = tmp_path / "services.json"
    path.write_text("[]", encoding="utf-8")
    out = io.StringIO()
    call_command("import", "services", str(path), "--dry-run", stdout=out)
    assert interchange.imported == [(path, True)]
    assert "report: 0 errors" in out.getvalue()


def test_import_services__errors__non_zero_exit(interchange: Any, tmp_path: Path) -> None:
    path = tmp_path / "services.json"
    path.write_text("[]", encoding="utf-8")
    interchange.errors = ["bad"]
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import", "services", str(path), stdout=out)
    assert failure.value.returncode == 1
    assert interchange.imported == [(path, False)]
    assert "report: 1 errors" in out.getvalue()


def test_export_services__to_a_file_or_stdout(interchange: Any, tmp_path: Path) -> None:
    out_file = tmp_path / "ptv.json"
    call_command("export", "services", "--format", "ptv", "--out", str(out_file), stdout=io.StringIO())
    assert json.loads(out_file.read_text(encoding="utf-8"))["format"] == "ptv"
    out = io.StringIO()
    call_command("export", "services", "--format", "hsds", stdout=out)
    assert json.loads(out.getvalue()) == {"format": "hsds", "services": [{"name": "Työkokeilu"}]}
    assert interchange.exported == ["ptv", "hsds"]


def test_export_services__unknown_format__refused(interchange: Any) -> None:
    with pytest.raises(CommandError):
        call_command("export", "services", "--format", "csv", stdout=io.StringIO(), stderr=io.StringIO())
    assert interchange.exported == []


def test_services__interchange_missing__clear_error(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "polku.catalogue.interchange", None)
    path = tmp_path / "services.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import", "services", str(path), stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("export", "services", "--format", "ptv", stdout=io.StringIO())
