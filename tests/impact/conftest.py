"""A seeded synthetic region for the impact model's tests: generated once per test session, its analysis table
and truth kept in memory, and the database rolled back to empty afterwards (so other tests never see it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.db import transaction

from polku.impact import table as T
from polku.synth.generate import Options, generate

#: 10,000 clients over five years: enough cohorts to train on earlier ones and test on later ones.
CLIENTS = 10_000
MONTHS = 60
SEED = 3
START = dt.date(2021, 1, 1)


class _Rollback(Exception):
    pass


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests marked ``model_metrics`` measure the models on tables in memory: they do not touch the database, so
    they run once, in the SQLite run, and are skipped in the PostgreSQL run (whose table, registry, command and
    page tests cover what depends on the database)."""
    from django.conf import settings

    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="database-independent model metrics run once, in the SQLite run")
    for item in items:
        if item.get_closest_marker("model_metrics") is not None:
            item.add_marker(skip)


@dataclass
class ImpactRegion:
    """The analysis table (monthly reference dates, with ``client_id``) and the generator's truth."""

    table: pd.DataFrame
    truth_clients: pd.DataFrame  # clients.csv with a ``person`` column (the table's pseudonym)
    truth_probabilities: pd.DataFrame  # probabilities.csv with ``person`` and ``reference_date``
    observed_until: dt.date
    truth_dir: Path


@pytest.fixture(scope="session")
def impact_region(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    truth_dir = tmp_path_factory.mktemp("impact-truth")
    end = dt.date(START.year + MONTHS // 12, 1, 1) - dt.timedelta(days=1)
    with django_db_blocker.unblock():
        try:
            with transaction.atomic():
                generate(Options(clients=CLIENTS, seed=SEED, months=MONTHS, start=START, truth_out=truth_dir))
                table = T.build_table(T.month_ends(START, end), observed_until=end, keep_client_id=True)
                raise _Rollback
        except _Rollback:
            pass
    key = T.pseudonym_key()
    clients = pd.read_csv(truth_dir / "clients.csv", dtype={"personal_identity_code": str})
    clients["person"] = [T.pseudonym(code, key) for code in clients["personal_identity_code"]]
    probabilities = pd.read_csv(truth_dir / "probabilities.csv", dtype={"personal_identity_code": str})
    probabilities["person"] = [T.pseudonym(code, key) for code in probabilities["personal_identity_code"]]
    probabilities = probabilities.rename(columns={"as_of": "reference_date"})
    yield ImpactRegion(table, clients, probabilities, end, truth_dir)
