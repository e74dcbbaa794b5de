"""The ``polku`` command."""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from polku.accounts.models import ApiToken
from polku.accounts.services import token_authenticate
from tests import factories as f

POLKU = shutil.which("polku") or str(Path(sys.executable).parent / "polku")


def test_polku_help__lists_the_commands() -> None:
    out = subprocess.run([POLKU, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "migrate", "createsuperuser", "token create", "worker"):
        assert command in out


def test_polku__passes_through_to_django(tmp_path: Path) -> None:
    env = {**os.environ, "POLKU_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([POLKU, "check"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_token_create__prints_a_working_token_once_and_stores_only_its_hash(db: Any) -> None:
    user = f.user("analyst")
    out, err = io.StringIO(), io.StringIO()
    call_command("token", "create", "analyst", "--expires", "30", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert secret not in token.key_hash and secret.startswith(token.prefix)
    assert token_authenticate(secret) == token
    assert token.expires_at is not None and token.expires_at > timezone.now() + dt.timedelta(days=29)
    assert token_authenticate(secret + "x") is None


def test_token__revoked_or_expired__refused(db: Any) -> None:
    f.user("analyst")
    out = io.StringIO()
    call_command("token", "create", "analyst", stdout=out, stderr=io.StringIO())
    secret = out.getvalue().strip()
    call_command("token", "revoke", secret[:12], stdout=io.StringIO())
    assert token_authenticate(secret) is None
    out = io.StringIO()
    call_command("token", "create", "analyst", stdout=out, stderr=io.StringIO())
    second = out.getvalue().strip()
    ApiToken.objects.filter(prefix=second[:12]).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert token_authenticate(second) is None


@pytest.mark.parametrize("args", [["nobody"], ["analyst", "--expires", "0"], ["analyst", "--expires", "-3"]])
def test_token_create__bad_input__clear_error_and_nothing_written(db: Any, args: list[str]) -> None:
    f.user("analyst")
    with pytest.raises(CommandError):
        call_command("token", "create", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker__runs_a_queued_task() -> None:
    from django_tasks import TaskResultStatus, task_backends

    from tests.cli.tasks import add_numbers

    assert type(task_backends["default"]).__name__ == "DatabaseBackend"
    result = add_numbers.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY
    call_command("db_worker", batch=True, verbosity=0)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
