"""The pseudonymised analysis table: no direct identifiers, keyed pseudonyms, nothing from after the reference date
among the features, the same table from SQLite and PostgreSQL, and the export command's errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from polku.assessments.models import Assessment
from polku.audit.models import AccessLog
from polku.clients.models import BenefitPeriod, Client, EmploymentStatusPeriod
from polku.episodes.models import JointServiceEpisode
from polku.impact import table as T
from polku.impact.registry import data_hash
from polku.referrals.models import Referral
from polku.synth.generate import Options, generate

pytestmark = pytest.mark.django_db

START = dt.date(2022, 1, 1)
END = dt.date(2024, 12, 31)
D = dt.date(2023, 9, 30)


@pytest.fixture
def region(settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "PSEUDONYM_KEY": "test-key-1"}
    generate(Options(clients=400, seed=21, months=36, start=START))


def _local_day(value: Any) -> dt.date:
    from django.utils import timezone

    return timezone.localtime(value).date()


def test_no_direct_identifier_in_the_export(region: None, tmp_path: Path) -> None:
    out = tmp_path / "table.csv"
    call_command("export", "analysis-table", "--as-of", "2024-06-30", "--history", "3", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    table = pd.read_csv(out, dtype=str)
    assert len(table) > 100
    assert list(table.columns) == list(T.COLUMNS)
    forbidden = {"personal_identity_code", "first_name", "last_name", "birth_date", "phone", "email", "address",
                 "client_id", "id"}
    assert not forbidden & set(table.columns)
    for code, first, last in Client.objects.values_list("personal_identity_code", "first_name", "last_name"):
        assert code not in text
        assert f",{last}," not in text and f",{first}," not in text
    # Keyed pseudonyms: HMAC-SHA-256 of the identity code with the configured key, the same on every date.
    code = Client.objects.filter(episodes__isnull=False).values_list("personal_identity_code", flat=True).first()
    expected = hmac.new(b"test-key-1", code.encode(), hashlib.sha256).hexdigest()[:32]
    assert T.pseudonym(code) == expected
    assert table.groupby("person")["reference_date"].nunique().max() > 1


def test_the_export_is_logged_per_client_and_category(region: None, tmp_path: Path) -> None:
    before = AccessLog.objects.count()
    call_command("export", "analysis-table", "--as-of", "2024-06-30", "--out", str(tmp_path / "t.parquet"))
    clients = JointServiceEpisode.objects.values("client_id").distinct().count()
    rows = AccessLog.objects.filter(action="export", reason="system")
    assert AccessLog.objects.count() - before == clients * len(T.CATEGORIES)
    assert set(rows.values_list("category", flat=True)) == set(T.CATEGORIES)
    assert rows.first().actor_name == "polku export analysis-table"


def test_another_key_gives_other_pseudonyms(region: None, settings: Any) -> None:
    first = T.build_table([D], observed_until=END)
    settings.POLKU = {**settings.POLKU, "PSEUDONYM_KEY": "another-key"}
    second = T.build_table([D], observed_until=END)
    assert len(first) == len(second) > 0
    assert not set(first["person"]) & set(second["person"])


def _truncate_after(day: dt.date) -> None:
    """Make the database look as it did at the end of ``day``: remove or cut back everything dated later, the way
    a register extract taken that day would have it (a benefit period running over the day keeps the days paid
    up to it, in proportion)."""
    EmploymentStatusPeriod.objects.filter(start_date__gt=day).delete()
    EmploymentStatusPeriod.objects.filter(end_date__gt=day).update(end_date=None)
    for period in BenefitPeriod.objects.filter(start_date__gt=day):
        period.delete()
    for period in BenefitPeriod.objects.filter(end_date__gt=day):
        length = (period.end_date - period.start_date).days + 1
        kept = (day - period.start_date).days + 1
        period.paid_days = round(period.paid_days * kept / length)  # what was paid by the day
        period.end_date = None  # still running on the day: the extract does not know its end
        period.save(update_fields=["end_date", "paid_days"])
    Assessment.objects.filter(assessed_on__gt=day).delete()
    JointServiceEpisode.objects.filter(end_date__gt=day).update(end_date=None, end_reason="", status="active")
    for referral in Referral.objects.filter(sent_at__isnull=False):
        sent = _local_day(referral.sent_at)
        if sent > day:
            referral.delete()
            continue
        changed = []
        for name in ("received_at", "decided_at", "started_at", "ended_at"):
            value = getattr(referral, name)
            if value is not None and _local_day(value) > day:
                setattr(referral, name, None)
                changed.append(name)
        if changed:
            referral.status = "started" if referral.started_at else ("accepted" if referral.decided_at else "sent")
            referral.save(update_fields=[*changed, "status"])


def test_nothing_after_the_reference_date_is_a_feature(region: None) -> None:
    """The table at D from the full history equals the table at D from a database that ends on D, except for
    the outcomes (which come from after D); benefit days of a period running over D agree up to rounding."""
    full = T.build_table([D], observed_until=END).set_index("person").sort_index()
    assert full["employed_12m"].notna().all()
    _truncate_after(D)
    cut = T.build_table([D], observed_until=D).set_index("person").sort_index()
    assert list(full.index) == list(cut.index)
    assert cut[list(T.OUTCOMES)].isna().all().all()
    assert cut[list(T.TREATMENTS)].isna().all().all()
    features = [c for c in T.COLUMNS if c not in (*T.OUTCOMES, *T.TREATMENTS, "person", "subsidy_days", "benefit_days")]
    pd.testing.assert_frame_equal(full[features], cut[features], check_dtype=False)
    for column in ("subsidy_days", "benefit_days"):
        assert (full[column] - cut[column]).abs().max() <= 1.0


def test_outcomes_come_from_the_periods_after_the_reference_date(region: None) -> None:
    table = T.build_table([D], observed_until=END, keep_client_id=True)
    six, twelve = dt.date(2024, 3, 30), dt.date(2024, 9, 30)
    employed = EmploymentStatusPeriod.objects.filter(status="employed_open_market")
    for target, column in ((six, "employed_6m"), (twelve, "employed_12m")):
        working = set(employed.filter(start_date__lte=target).exclude(end_date__lt=target).values_list(
            "client_id", flat=True))
        expected = table["client_id"].isin(working).astype(float)
        assert (table[column] == expected).all()
        assert 0 < table[column].sum() < len(table)
    # Not yet observed: empty.
    later = T.build_table([D], observed_until=dt.date(2024, 6, 30))
    assert later["employed_6m"].notna().all() and later["employed_12m"].isna().all()
    assert later["days_employed_12m"].isna().all()


def test_features_agree_with_the_records(region: None) -> None:
    table = T.build_table([D], observed_until=END, keep_client_id=True).set_index("client_id")
    open_episodes = set(JointServiceEpisode.objects.filter(start_date__lte=D).exclude(end_date__lte=D).values_list(
        "client_id", flat=True))
    assert set(table.index) == open_episodes
    client = Client.objects.get(pk=table.index[0])
    row = table.loc[client.pk]
    age = D.year - client.birth_date.year - ((D.month, D.day) < (client.birth_date.month, client.birth_date.day))
    assert row["age"] == age
    was = list(Assessment.objects.filter(client=client, instrument__code="work-ability-score", assessed_on__lte=D)
               .order_by("assessed_on", "id").values_list("score", flat=True))
    if was:
        assert row["work_ability_score_latest"] == was[-1]
        assert row["work_ability_score_first"] == was[0]
        assert row["work_ability_score_mean"] == pytest.approx(sum(was) / len(was))
    started = Referral.objects.filter(client=client, started_at__isnull=False)
    assert row["referrals_sent"] == sum(1 for r in Referral.objects.filter(client=client, sent_at__isnull=False)
                                        if _local_day(r.sent_at) <= D)
    assert sum(row[f"services_{c}"] for c in T.SERVICE_CLASSES) == sum(
        1 for r in started if _local_day(r.started_at) <= D)


def test_the_same_table_on_sqlite_and_postgresql(region: None) -> None:
    """A fixed fingerprint that both databases must reproduce (update it when the table's definition changes)."""
    table = T.build_table([dt.date(2023, 3, 31), D, dt.date(2024, 3, 31)], observed_until=END)
    assert len(table) > 300
    assert data_hash(table) == TABLE_FINGERPRINT, connection.vendor


TABLE_FINGERPRINT = "b94a73ef48fbbc39d4df068b4dd7190d7cde057c4614256ce168ed9e56f1d7e3"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2024-02-30", "--out", "x.csv"], "--as-of must be a date"),
        (["--as-of", "2024-06-30", "--out", "x.xlsx"], ".csv or .parquet"),
        (["--as-of", "2024-06-30", "--history", "-1", "--out", "x.csv"], "--history"),
        (["--as-of", "2024-06-30", "--step-months", "0", "--out", "x.csv"], "--step-months"),
        (["--as-of", "2024-06-30", "--observed-until", "soon", "--out", "x.csv"], "--observed-until"),
    ],
)
def test_bad_export_options_write_nothing(args: list[str], message: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    before = AccessLog.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("export", "analysis-table", *args, language="en")
    assert not list(tmp_path.iterdir())
    assert AccessLog.objects.count() == before


def test_an_unwritable_output_writes_nothing(region: None, tmp_path: Path) -> None:
    before = AccessLog.objects.count()
    with pytest.raises(CommandError):
        call_command("export", "analysis-table", "--as-of", "2024-06-30", "--out", str(tmp_path / "no" / "t.csv"))
    assert AccessLog.objects.count() == before


def test_every_column_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "analysis-table.md").read_text(encoding="utf-8")
    for name, (kind, _meaning) in T.COLUMNS.items():
        assert f"| `{name}` | {kind} |" in text, name
