"""Backup and restore on PostgreSQL: pg_dump -Fc of a database with data, pg_restore into a fresh database, and
the copy is identical (every table's row count and checksum, ``polku db checksum``) and its access log passes
``polku audit verify`` against the head recorded from the source."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.management import call_command, get_commands
from django.db import connection

from polku.audit.models import AccessLog
from polku.retention.checksum import checksums, digest
from polku.retention.services import run_retention

from .conftest import TODAY, Region, at, years_ago

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _url(name: str) -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "postgres") + (f":{quote(s['PASSWORD'])}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"


def _polku(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    # --skip-checks: the system checks import every URL module (seconds) and are not what is tested here.
    return subprocess.run([sys.executable, "-m", "polku", *args, "--skip-checks"], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_a_restored_backup_is_identical_and_passes_the_audit_check(region: Region, tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore need PostgreSQL")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore are not installed")
    for when in (years_ago(13), years_ago(1), TODAY):
        AccessLog.objects.create(at=at(when), client=region.recent.client, category="employment", action="view",
                                 purpose="test", allowed=True, reason="consent", actor=region.staff)
    run_retention(TODAY, triggered_by="test")  # the retention log and anonymised rows are in the backup too
    source = connection.settings_dict["NAME"]
    target = f"{source}_restored"
    audit = "audit" in get_commands()
    head = ""
    if audit:
        verified = StringIO()
        call_command("audit", "verify", "--format", "json", "--quiet", stdout=verified)
        data = json.loads(verified.getvalue())
        assert data["ok"] is True
        head = f"{data['head']['position']}:{data['head']['hash']}" if isinstance(data.get("head"), dict) else ""
    out = StringIO()
    call_command("db", "checksum", "--format", "json", stdout=out)
    before = json.loads(out.getvalue())
    assert before["tables"]["clients_client"]["rows"] == 6
    assert before["tables"]["audit_accesslog"]["rows"] == 3

    dump = tmp_path / "polku.dump"
    dump_cmd = ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _url(source)]
    subprocess.run(dump_cmd, check=True, timeout=300)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
        cursor.execute(f'CREATE DATABASE "{target}"')
    try:
        restore_cmd = ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_url(target)}", str(dump)]
        subprocess.run(restore_cmd, check=True, timeout=300)
        restored = _polku(_url(target), "db", "checksum", "--format", "json")
        assert restored.returncode == 0, restored.stderr
        after = json.loads(restored.stdout)
        assert after["tables"] == before["tables"]
        assert after["digest"] == before["digest"] == digest(checksums())
        if audit:
            args = ["audit", "verify", "--no-seal", "--format", "json", "--quiet"]
            checked = _polku(_url(target), *args, *(["--expect-head", head] if head else []))
            assert checked.returncode == 0, checked.stdout + checked.stderr
            assert json.loads(checked.stdout)["ok"] is True
        else:
            warnings.warn("polku audit verify does not exist yet: the restored access log was not verified",
                          stacklevel=1)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')

