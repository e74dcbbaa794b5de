#!/usr/bin/env python3
"""Benchmark the impact model at scale: training, scoring and segments on an analysis table of about a million
rows, and how close the model comes to the synthetic region's truth.

    # once: a 200,000-client region (five years) and its quarterly analysis table (about 1.1 million rows)
    POLKU_DATA_DIR=/tmp/big .venv/bin/polku synth --clients 200000 --months 60 --start 2021-01-01 --seed 11 \\
        --truth-out /tmp/big/truth
    POLKU_DATA_DIR=/tmp/big .venv/bin/polku export analysis-table --as-of 2025-12-31 --history 19 \\
        --step-months 3 --observed-until 2025-12-31 --out /tmp/big/table.parquet
    # then
    .venv/bin/python bench/impact_bench.py --table /tmp/big/table.parquet --truth /tmp/big/truth

Prints one JSON object with the figures, for docs/BENCHMARKS.md. Uses the project's .venv; run on an otherwise
idle machine (the figures are wall-clock times).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", type=Path, required=True)
    parser.add_argument("--truth", type=Path, default=None, help="the region's --truth-out directory")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--segments", action="store_true", help="also time the segments' fit")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    os.environ.setdefault("POLKU_DATA_DIR", str(Path(args.table).parent))
    import django

    django.setup()
    import numpy as np
    import pandas as pd
    from sklearn.metrics import roc_auc_score

    from polku.impact import potential
    from polku.impact import table as T
    from polku.impact.fairness import expected_calibration_error

    def say(message: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - started:7.1f}s] {message}\n")

    started = time.monotonic()
    table = pd.read_parquet(args.table)
    if "client_id" in table.columns:
        table = table.drop(columns=["client_id"])
    result: dict[str, object] = {
        "date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "rows": len(table), "persons": int(table["person"].nunique()), "reference_dates": int(
            table["reference_date"].nunique()),
    }
    t0 = time.monotonic()
    model, metrics, evaluation = potential.train_potential(table, "employed_12m", members=args.members, progress=say)
    result["train_seconds"] = round(time.monotonic() - t0, 1)
    result["metrics"] = {k: metrics[k] for k in ("test_from", "train_rows", "test_rows", "best_iteration", "test",
                                                 "groups")}
    for interval in (False, True):
        t0 = time.monotonic()
        model.predict(table, interval=interval)
        seconds = time.monotonic() - t0
        result[f"score_rows_per_second{'_with_interval' if interval else ''}"] = round(len(table) / seconds)
    if args.truth is not None:
        key = T.pseudonym_key()
        truth = pd.read_csv(args.truth / "probabilities.csv", dtype={"personal_identity_code": str})
        truth["person"] = [T.pseudonym(code, key) for code in truth["personal_identity_code"]]
        truth = truth.rename(columns={"as_of": "reference_date"})
        rows = table[(table["reference_date"] >= metrics["test_from"]) & table["employed_12m"].notna()]
        rows = rows.merge(truth[["person", "reference_date", "p_employed_12m"]], on=["person", "reference_date"])
        p = evaluation.predict(rows, interval=False)["probability"].to_numpy()
        y = rows["employed_12m"].to_numpy()
        truth_figures: dict[str, object] = {
            "rows": len(rows), "model_auc": roc_auc_score(y, p), "bayes_auc": roc_auc_score(y, rows["p_employed_12m"]),
            "model_ece": expected_calibration_error(y, p),
            "truth_ece": expected_calibration_error(y, rows["p_employed_12m"]),
        }
        for column in ("sex", "foreign_background"):
            for value, group in rows.assign(p=p).groupby(column):
                gy = group["employed_12m"].to_numpy()
                truth_figures[f"ece_{column}_{value}"] = [
                    len(group), expected_calibration_error(gy, group["p"]),
                    expected_calibration_error(gy, group["p_employed_12m"])]
        result["truth"] = truth_figures
    if args.segments:
        from polku.impact import segments

        t0 = time.monotonic()
        fitted = segments.fit_segments(table, progress=say)
        result["segments"] = {"seconds": round(time.monotonic() - t0, 1), "k": fitted.k,
                              "stability_ari": fitted.stability_ari}
        if args.truth is not None:
            from sklearn.metrics import adjusted_rand_score

            clients = pd.read_csv(args.truth / "clients.csv", dtype={"personal_identity_code": str})
            key = T.pseudonym_key()
            clients["person"] = [T.pseudonym(code, key) for code in clients["personal_identity_code"]]
            latest = table.sort_values("reference_date").drop_duplicates("person", keep="last")
            assigned = segments.assign(fitted, latest).assign(person=latest["person"].to_numpy())
            joined = assigned.merge(clients[["person", "segment"]], on="person", suffixes=("", "_true"))
            result["segments"]["ari_vs_truth"] = adjusted_rand_score(joined["segment_true"], joined["segment"])
    print(json.dumps(result, indent=2, default=lambda v: v.item() if isinstance(v, np.generic) else str(v)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
