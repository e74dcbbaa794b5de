#!/usr/bin/env python3
"""Benchmark the causal effects (issue 8): the National Supported Work benchmark, and the synthetic region's truth.

    # NSW only (a few minutes):
    .venv/bin/python bench/effects_bench.py --nsw
    # a region and its monthly analysis table, then the truth comparison:
    POLKU_DATA_DIR=/tmp/r20 .venv/bin/polku synth --clients 20000 --months 60 --start 2021-01-01 --seed 5 \\
        --truth-out /tmp/r20/truth
    POLKU_DATA_DIR=/tmp/r20 .venv/bin/polku export analysis-table --as-of 2025-12-31 --history 59 \\
        --step-months 1 --observed-until 2025-12-31 --out /tmp/r20/table.parquet
    POLKU_DATA_DIR=/tmp/r20 .venv/bin/python bench/effects_bench.py --table /tmp/r20/table.parquet \\
        --truth /tmp/r20/truth

The region's rows are the ``--from-db`` design (docs/effects.md): each client at the first month end of the joint
service, not employed then. POLKU_DATA_DIR must be the region's (the pseudonym key). Prints one JSON object.
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def nsw() -> dict[str, Any]:
    import pandas as pd
    from causaldata import cps_mixtape, nsw_mixtape

    from polku.impact.effects import estimate_effects, max_abs_smd

    experiment = nsw_mixtape.load_pandas().data
    observational = pd.concat([experiment[experiment["treat"] == 1], cps_mixtape.load_pandas().data])
    covariates = ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]
    out: dict[str, Any] = {}
    started = time.monotonic()
    report = estimate_effects(observational.reset_index(drop=True), "treat", "re78", covariates)
    out["seconds"] = round(time.monotonic() - started, 1)
    out["cps"] = [e.as_dict() for e in report.estimates]
    out["balance_max_smd"] = {key: max_abs_smd(report.balance["1"], key)
                              for key in ("smd_before", "smd_after_ATE", "smd_after_ATT")}
    placebo = estimate_effects(observational.reset_index(drop=True), "treat", "re75",
                               [c for c in covariates if c != "re75"], estimands=("ATT",))
    out["placebo_re75"] = placebo.estimates[0].as_dict()
    out["experiment"] = [e.as_dict() for e in estimate_effects(experiment, "treat", "re78", covariates).estimates]
    return out


def region(table_path: Path, truth: Path, repetitions: int | None) -> dict[str, Any]:
    import django
    import numpy as np
    import pandas as pd

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    django.setup()
    from polku.impact.effects import EffectSettings, estimate_effects
    from polku.impact.potential import default_features
    from polku.impact.table import OUTCOMES, pseudonym, pseudonym_key
    from polku.synth import params as P

    table = pd.read_parquet(table_path)
    rows = table[(table["days_in_service"] < 31) & (table["employed_now"] == 0)
                 & table["service_started_1m"].notna() & table["employed_12m"].notna()].reset_index(drop=True)
    effects = pd.read_csv(truth / "effects.csv", dtype={"personal_identity_code": str})
    key = pseudonym_key()
    codes = effects["personal_identity_code"].unique()
    persons = dict(zip(codes, (pseudonym(c, key) for c in codes), strict=True))
    effects["person"] = effects["personal_identity_code"].map(persons)
    effects["level"] = effects["service_type"].map({st.code: st.service_class for st in P.SERVICE_TYPES})
    per_person = effects.pivot(index="person", columns="level", values="effect_12m").reindex(rows["person"])
    covariates = [c for c in default_features(rows) if c not in OUTCOMES]
    started = time.monotonic()
    report = estimate_effects(rows, "service_started_1m", "employed_12m", covariates, control="none",
                              settings=EffectSettings(repetitions=repetitions))
    seconds = time.monotonic() - started
    t_used = report.encoded[0]
    used = rows.loc[t_used.index].reset_index(drop=True)
    truth_used = per_person.iloc[t_used.index.to_numpy()].reset_index(drop=True)
    treatment = used["service_started_1m"].to_numpy()
    control = treatment == "none"
    services: list[dict[str, Any]] = []
    for e in report.estimates:
        kept = report.kept[(e.treatment_level, e.estimand)]
        true_effects = truth_used[e.treatment_level].to_numpy()
        population = kept if e.estimand == "ATE" else kept[treatment[kept] == e.treatment_level]
        truth_value = float(np.nanmean(true_effects[population]))
        treated = treatment == e.treatment_level
        naive = float(used.loc[treated, "employed_12m"].mean() - used.loc[control, "employed_12m"].mean())
        services.append({"estimand": e.estimand, "level": e.treatment_level, "estimate": round(e.estimate, 4),
                         "ci": [round(e.ci_low, 4), round(e.ci_high, 4)], "truth": round(truth_value, 4),
                         "truth_all_rows": round(float(np.nanmean(
                             true_effects if e.estimand == "ATE" else true_effects[treated])), 4),
                         "naive": round(naive, 4), "covered": bool(e.ci_low <= truth_value <= e.ci_high),
                         "n_treated": e.n_treated, "n_trimmed": e.n_trimmed})
    summary = {}
    for estimand in ("ATE", "ATT"):
        chosen = [s for s in services if s["estimand"] == estimand]
        summary[estimand] = {
            "mae": round(float(np.mean([abs(s["estimate"] - s["truth"]) for s in chosen])), 4),
            "naive_mae": round(float(np.mean([abs(s["naive"] - s["truth"]) for s in chosen])), 4),
            "coverage": round(float(np.mean([s["covered"] for s in chosen])), 3),
            "mean_error": round(float(np.mean([s["estimate"] - s["truth"] for s in chosen])), 4),
        }
    return {"rows": len(rows), "seconds": round(seconds, 1), "repetitions": report.settings.repetitions,
            "summary": summary, "services": services,
            "per_client": per_client(report, covariates, used, truth_used, truth / "clients.csv", persons),
            "allocation": allocation(report, truth_used)}


def per_client(report: Any, covariates: list[str], used: Any, truth_used: Any, clients_csv: Path,
               persons: dict[str, str]) -> dict[str, Any]:
    """Root mean squared error of each client's estimated effect (PEHE) of the DR-learner, against the naive
    difference in means within each true segment."""
    import numpy as np
    import pandas as pd

    from polku.impact.heterogeneity import fit_client_effects

    started = time.monotonic()
    model = fit_client_effects(report, covariates, used)
    predicted = model.predict(used)
    seconds = time.monotonic() - started
    clients = pd.read_csv(clients_csv, dtype={"personal_identity_code": str})
    segment = clients.assign(person=clients["personal_identity_code"].map(persons)).set_index("person")[
        "segment"].reindex(used["person"]).to_numpy()
    treatment, outcome = used["service_started_1m"].to_numpy(), used["employed_12m"].to_numpy(float)
    out: dict[str, Any] = {"seconds": round(seconds, 1), "services": []}
    for m in model.levels:
        truth = truth_used[m.level].to_numpy()
        estimate = predicted.loc[predicted["level"] == m.level].sort_values("row")
        naive = np.full(len(used), np.nan)
        for value in np.unique(segment.astype(str)):
            sel = segment.astype(str) == value
            a, b = outcome[sel & (treatment == m.level)], outcome[sel & (treatment == "none")]
            if len(a) and len(b):
                naive[sel] = a.mean() - b.mean()
        covered = (estimate["low"].to_numpy() <= truth) & (truth <= estimate["high"].to_numpy())
        out["services"].append({
            "level": m.level, "truth_sd": round(float(np.nanstd(truth)), 4),
            "pehe": round(float(np.sqrt(np.nanmean((estimate["effect"].to_numpy() - truth) ** 2))), 4),
            "naive_by_segment_pehe": round(float(np.sqrt(np.nanmean((naive - truth) ** 2))), 4),
            "interval_coverage": round(float(np.nanmean(covered)), 3)})
    for key in ("pehe", "naive_by_segment_pehe", "interval_coverage"):
        out["mean_" + key] = round(float(np.mean([s[key] for s in out["services"]])), 4)
    return out


def allocation(report: Any, truth_used: Any) -> dict[str, Any]:
    """The allocation rule's true value (the mean true effect of the services it names, each row named by the
    tree learnt on the other half) against the oracle's (each client's truly best service, or none)."""
    import numpy as np

    from polku.impact.policy import learn_policy

    started = time.monotonic()
    result = learn_policy(report)
    levels = result.levels
    effects = np.column_stack([np.zeros(len(truth_used)) if lv == result.control_level
                               else truth_used[lv].to_numpy() for lv in levels])
    effects = np.nan_to_num(effects)
    rows = np.arange(len(effects))
    oracle = float(np.maximum(effects.max(axis=1), 0).mean())
    rule = float(effects[rows, result.out_of_sample].mean())
    return {"seconds": round(time.monotonic() - started, 1), "rule": round(rule, 4), "oracle": round(oracle, 4),
            "share_of_oracle": round(rule / oracle, 3) if oracle else None,
            "best_single": round(float(effects.mean(axis=0).max()), 4),
            "rule_leaves": result.rule}




def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nsw", action="store_true")
    parser.add_argument("--table", type=Path)
    parser.add_argument("--truth", type=Path)
    parser.add_argument("--repetitions", type=int, default=None)
    args = parser.parse_args()
    out: dict[str, Any] = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, "
                           f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    if args.nsw:
        out["nsw"] = nsw()
    if args.table and args.truth:
        out["region"] = region(args.table, args.truth, args.repetitions)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
