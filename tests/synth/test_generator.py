"""The generator on small regions: validation, determinism, the same rows on every database, the command."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from polku.clients.models import Client
from polku.organisations.models import Organisation
from polku.synth import params as P
from polku.synth.generate import Options, generate

from .support import START, Rollback, fingerprint, read_csv


def with_job_seekers(clients: int) -> int:
    """Client records of a region of ``clients`` joint-service clients: they and the registered job seekers."""
    return clients + round(clients * P.JOB_SEEKER_SHARE)


def test_small_region__every_record_passes_model_validation(db: Any) -> None:
    generate(Options(clients=300, seed=3, start=START))
    for model in apps.get_models():
        if model.__module__.startswith("polku."):
            for obj in model._default_manager.all():
                obj.full_clean()


def test_small_region__same_seed_same_data_and_truth(db: Any, tmp_path: Path) -> None:
    def run(seed: int, directory: Path) -> str:
        try:
            with transaction.atomic():
                generate(Options(clients=250, seed=seed, start=START, truth_out=directory))
                result = fingerprint()
                raise Rollback
        except Rollback:
            pass
        return result

    first = run(9, tmp_path / "a")
    assert run(9, tmp_path / "b") == first
    assert run(10, tmp_path / "c") != first
    for name in ("clients.csv", "probabilities.csv", "effects.csv", "gaps.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


# Recorded once; both databases must give it. Change it only with a deliberate change of the generator.
GOLDEN = "a6624a95b62010f68e9bb386b11096f6494f65c95cde9e96b05e84907e5305dc"


def test_small_region__same_on_every_database(db: Any) -> None:
    """The suite runs on PostgreSQL and on SQLite: the same seed must give the same rows on both."""
    generate(Options(clients=200, seed=77, start=START))
    assert fingerprint() == GOLDEN


def test_synth_command__bad_input__clear_error_and_nothing_written(db: Any, tmp_path: Path) -> None:
    for args in (
        ["--clients", "-5"],
        ["--clients", "0"],
        ["--start", "1.1.2024"],
        ["--start", "2024-13-01"],
        ["--months", "0"],
        ["--hidden-confounding", "-1"],
        ["--start", "2099-01-01"],
    ):
        with pytest.raises(CommandError):
            call_command("synth", *args, "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
        assert not Organisation.objects.exists() and not Client.objects.exists()


def test_synth_command__existing_data_needs_append_or_replace(db: Any, tmp_path: Path) -> None:
    out = io.StringIO()
    call_command(
        "synth",
        "--clients",
        "40",
        "--start",
        "2024-01-01",
        "--months",
        "12",
        "--no-progress",
        "--format",
        "json",
        stdout=out,
        stderr=io.StringIO(),
    )
    assert json.loads(out.getvalue())["clients"] == 40
    with pytest.raises(CommandError, match="--append"):
        call_command("synth", "--clients", "10", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    assert Client.objects.count() == with_job_seekers(40)
    call_command(
        "synth",
        "--clients",
        "30",
        "--start",
        "2024-01-01",
        "--months",
        "12",
        "--append",
        "--seed",
        "2",
        "--no-progress",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert Client.objects.count() == with_job_seekers(40) + with_job_seekers(30)
    assert Organisation.objects.count() == 40  # a second seed, a second set of organisations
    call_command(
        "synth",
        "--clients",
        "20",
        "--start",
        "2024-01-01",
        "--months",
        "12",
        "--replace",
        "--no-progress",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    assert Client.objects.count() == with_job_seekers(20) and Organisation.objects.count() == 20


def test_synth_command__hidden_confounding_is_recorded_only_in_the_truth(db: Any, tmp_path: Path) -> None:
    call_command(
        "synth",
        "--clients",
        "200",
        "--start",
        "2024-01-01",
        "--months",
        "12",
        "--hidden-confounding",
        "1.5",
        "--truth-out",
        str(tmp_path),
        "--no-progress",
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    hidden = [float(r["hidden_u"]) for r in read_csv(tmp_path / "clients.csv")]
    assert len(hidden) == 200 and sum(abs(h) for h in hidden) > 50
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["parameters"]["hidden_confounding"] == 1.5
