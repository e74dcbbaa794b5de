"""``polku impact`` from the command line: an analyst's own table in the documented format trains and scores,
any table whose columns are named works, bad input is a clear error that stores nothing, the registry lists the
versions, and retraining is scheduled through the tasks API."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from polku.impact.models import FairnessReport, ModelVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def analyst_csv(impact_region: Any, tmp_path_factory: Any) -> Path:
    """A quarter of the region's persons in the documented format, as an analyst would bring it (CSV)."""
    table = impact_region.table.drop(columns=["client_id"])
    persons = table["person"].drop_duplicates().sample(frac=0.25, random_state=5)
    path = tmp_path_factory.mktemp("analyst") / "table.csv"
    table[table["person"].isin(persons)].to_csv(path, index=False)
    return path


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("impact", *args, stdout=out, language="en")
    return out.getvalue()


def test_an_analysts_csv_trains_and_scores(analyst_csv: Path, tmp_path: Path) -> None:
    printed = json.loads(_run("train", "--data", str(analyst_csv), "--members", "2", "--format", "json"))
    assert printed["version"] == 1 and printed["outcome"] == "employed_12m"
    assert printed["metrics"]["validation"] == "out_of_time"
    assert printed["metrics"]["test"]["auc"] > 0.68
    version = ModelVersion.objects.get(kind="potential", version=1)
    assert version.data_hash == printed["data_hash"] and version.rows == len(pd.read_csv(analyst_csv))
    assert FairnessReport.objects.filter(model_version=version).exists()
    # The same table as Parquet has the same data hash.
    parquet = tmp_path / "t.parquet"
    pd.read_csv(analyst_csv, dtype={"person": str, "reference_date": str, "municipality_code": str}).to_parquet(
        parquet)
    second = json.loads(_run("train", "--data", str(parquet), "--members", "0", "--format", "json"))
    assert second["data_hash"] == printed["data_hash"] and second["version"] == 2
    out = tmp_path / "scores.csv"
    text = _run("score", "--data", str(analyst_csv), "--out", str(out), "--interval", "--version", "1")
    scores = pd.read_csv(out)
    source = pd.read_csv(analyst_csv)
    assert len(scores) == len(source) and "rows/s" in text
    assert list(scores["person"]) == list(source["person"])
    assert scores["probability"].between(0, 1).all() and scores["probability"].nunique() > 50
    assert (scores["probability_low"] <= scores["probability"] + 1e-9).all()
    assert (scores["probability"] <= scores["probability_high"] + 1e-9).all()


def test_any_table_with_named_columns(tmp_path: Path) -> None:
    """Not Polku's format at all: two features of the analyst's own and an outcome, no dates."""
    rng = np.random.default_rng(0)
    n = 6000
    x1, x2 = rng.normal(size=n), rng.integers(0, 3, n)
    p = 1 / (1 + np.exp(-(-1.5 + 1.2 * x1 + 0.5 * x2)))
    table = pd.DataFrame({"person": [f"p{i}" for i in range(n)], "score_a": x1, "level": x2,
                          "found_work": (rng.random(n) < p).astype(int)})
    path = tmp_path / "own.csv"
    table.to_csv(path, index=False)
    printed = json.loads(_run("train", "--data", str(path), "--outcome", "found_work", "--features",
                              "score_a,level", "--members", "0", "--format", "json"))
    assert printed["metrics"]["validation"] == "random"
    assert printed["metrics"]["test"]["auc"] > 0.682  # the truth's own AUC is about 0.77
    out = tmp_path / "s.parquet"
    _run("score", "--data", str(path), "--out", str(out), "--outcome", "found_work")
    written = pd.read_parquet(out)
    assert len(written) == n and list(written.columns) == ["person", "probability"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "missing.csv"], "No such file"),
        (["train", "--data", "{table}", "--outcome", "hired"], "no outcome column"),
        (["train", "--data", "{table}", "--features", "age,shoe_size"], "no such columns"),
        (["train", "--data", "{table}", "--features", "employed_6m"], "outcome cannot be a feature"),
        (["train", "--data", "{table}", "--test-from", "soon"], "--test-from must be a date"),
        (["train", "--data", "{table}", "--members", "-1"], "--members"),
        (["score", "--data", "{table}", "--out", "x.csv"], "No trained model"),
        (["train", "--data", "{excel}"], ".csv or .parquet"),
        (["train"], "no joint-service episodes"),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(args: list[str], message: str, tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    pd.DataFrame({"person": ["a", "b"], "reference_date": ["2024-01-31"] * 2, "age": [30, 40],
                  "employed_12m": [0, 1], "employed_6m": [0, 1]}).to_csv(table, index=False)
    excel = tmp_path / "t.xlsx"
    excel.write_bytes(b"PK")
    args = [a.replace("{table}", str(table)).replace("{excel}", str(excel)) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("impact", *args, language="en")
    assert not ModelVersion.objects.exists()


def test_too_little_history_is_explained(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    pd.DataFrame({"person": [f"p{i}" for i in range(400)], "reference_date": ["2024-01-31"] * 400,
                  "age": np.arange(400) % 50 + 20, "employed_12m": np.arange(400) % 2}).to_csv(table, index=False)
    with pytest.raises(CommandError, match="not enough history"):
        call_command("impact", "train", "--data", str(table), language="en")
    assert not ModelVersion.objects.exists()


def test_models_and_fairness_and_schedule(analyst_csv: Path, tmp_path: Path) -> None:
    assert "No models yet" in _run("models")
    _run("train", "--data", str(analyst_csv), "--members", "0")
    listed = json.loads(_run("models", "--format", "json"))
    assert [(m["kind"], m["version"]) for m in listed] == [("potential", 1)]
    report = tmp_path / "report.md"
    text = _run("fairness", "--data", str(analyst_csv), "--out", str(report))
    written = report.read_text(encoding="utf-8")
    assert written.strip() == text.strip() and "sex" in json.dumps(FairnessReport.objects.first().report)
    assert FairnessReport.objects.count() == 2  # one written at training, one now
    figures = json.loads(_run("fairness", "--data", str(analyst_csv), "--format", "json"))
    assert figures["overall"]["auc"] > 0.7 and figures["rows"] == pd.read_csv(analyst_csv)["employed_12m"].notna().sum()
    assert {"sex", "age_band", "foreign_background", "language"} <= set(figures["groupings"])

    from polku.impact.tasks import queued

    first = _run("schedule")
    assert "Retraining is queued" in first
    _run("schedule")
    assert queued().count() == 1  # scheduling twice does not queue two


def test_segments_from_an_analysts_table(analyst_csv: Path) -> None:
    text = _run("segments", "--data", str(analyst_csv), "--max-segments", "7")
    version = ModelVersion.objects.get(kind="segments")
    k = version.metrics["k"]
    assert 2 <= k <= 7 and f"{k} segments chosen by BIC" in text
    assert set(version.metrics["bic"]) == {str(n) for n in range(2, 8)}
    assert min(version.metrics["bic"], key=lambda n: version.metrics["bic"][n]) == str(k)
    assert sum(1 for line in text.splitlines() if line.startswith("  ") and ". " in line[:6]) == k
    printed = json.loads(_run("segments", "--data", str(analyst_csv), "--max-segments", "3", "--format", "json"))
    assert printed["version"] == 2 and len(printed["segments"]) == printed["metrics"]["k"]
    with pytest.raises(CommandError, match="--max-segments"):
        call_command("impact", "segments", "--data", str(analyst_csv), "--max-segments", "1", language="en")
