#!/usr/bin/env python3
"""Benchmark matching: Polku's ranking against a naive baseline, on the synthetic region's known fit.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB polku synth --clients 20000 --truth-out var/truth
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/DB python bench/matching_bench.py --truth var/truth

On the configured database, for a sample of clients with job preferences (default 300), compares
``matching.rank_openings(profile, limit=10)`` with ``matching.naive_baseline(profile)`` (open openings in the
client's municipality, most recent first) by the generator's true fit (``polku.synth.partners.true_fit``, read
from the truth files): the mean true fit of the ten suggestions, the share of them with a true fit of 0.5 or more,
the share breaking a hard constraint (``matching.violations``) and the share of clients with no suggestion; and
the same for the "ideal" ten (the feasible openings with the highest true fit: what a perfect ranking would give). Also
times ``rank_openings`` per client (median, p95). "Today" is the window's last day (``summary.json``'s ``end``).
Prints a table, and the figures as one JSON line with ``--json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timing_only(args: Any) -> int:
    """Time ``rank_openings`` for a sample of clients with job preferences, as of today."""
    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from polku.clients.models import Client
    from polku.partners import matching
    from polku.partners.models import JobPreferences, Opening

    ids = list(JobPreferences.objects.values_list("client_id", flat=True))
    rng = np.random.default_rng(args.seed)
    sample = sorted(rng.choice(ids, size=min(args.clients, len(ids)), replace=False).tolist())
    timings, found = [], []
    for client in Client.objects.filter(pk__in=sample).order_by("pk"):
        profile = matching.profile_of(client)
        started = time.perf_counter()
        ranked = matching.rank_openings(profile, limit=10)
        timings.append(time.perf_counter() - started)
        found.append(len(ranked))
    print(f"{connection.vendor}: {Client.objects.count():,} clients, {len(ids):,} with job preferences, "
          f"{Opening.objects.count():,} openings ({Opening.objects.filter(status='open').count():,} open); "
          f"{len(sample)} clients timed")
    print(f"rank_openings (ten best): median {statistics.median(timings) * 1000:.1f} ms, "
          f"p95 {_percentile(timings, 0.95) * 1000:.1f} ms, max {max(timings) * 1000:.1f} ms; "
          f"mean suggestions {statistics.fmean(found):.1f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=300, help="clients in the sample (default 300)")
    parser.add_argument("--truth", type=Path, default=None, help="the generator's --truth-out directory")
    parser.add_argument("--timing-only", action="store_true",
                        help="only time rank_openings (no truth needed: for the 1,000,000-client region)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args()

    import django

    django.setup()
    import numpy as np
    from django.db import connection

    from polku.clients.models import Client
    from polku.partners import matching
    from polku.partners.models import JobPreferences, Opening
    from polku.synth.partners import centre_distance_km, read_truth, true_fit

    if args.timing_only:
        return _timing_only(args)
    if args.truth is None:
        parser.error("--truth DIR is needed unless --timing-only")
    truth_clients, truth_openings = read_truth(args.truth)
    summary = json.loads((args.truth / "summary.json").read_text(encoding="utf-8"))
    today = dt.date.fromisoformat(summary["parameters"]["end"])
    ids = sorted(set(JobPreferences.objects.values_list("client_id", flat=True)) & set(truth_clients))
    if not ids:
        print("no client with job preferences and a truth row: generate with --truth-out first", file=sys.stderr)
        return 1
    rng = np.random.default_rng(args.seed)
    sample = sorted(rng.choice(ids, size=min(args.clients, len(ids)), replace=False).tolist())
    skills_of: dict[int, frozenset[int]] = {}
    for opening_id, skill_id in Opening.skills.through.objects.values_list("opening_id", "skill_id"):
        skills_of[opening_id] = skills_of.get(opening_id, frozenset()) | {skill_id}
    facts = {o.pk: matching.OpeningFacts.of(o, skills_of.get(o.pk, ())) for o in Opening.objects.all()}

    def fit(client_id: int, opening_id: int) -> float:
        c, o = truth_clients[client_id], truth_openings[opening_id]
        return true_fit(c, o, centre_distance_km(c["municipality_code"], o["municipality_code"]))

    def ideal(client_id: int, opening_ids: list[int]) -> list[int]:
        return sorted(opening_ids, key=lambda o: (-fit(client_id, o), o))[:10]

    results: dict[str, dict[str, list[float]]] = {
        name: {"fit": [], "good": [], "broken": [], "empty": []} for name in ("polku", "baseline", "ideal")
    }
    timings: list[float] = []
    for client in Client.objects.filter(pk__in=sample).order_by("pk"):
        profile = matching.profile_of(client)
        started = time.perf_counter()
        ranked = matching.rank_openings(profile, limit=10, today=today)
        timings.append(time.perf_counter() - started)
        suggestions = {
            "polku": [m.opening.pk for m in ranked],
            "baseline": matching.naive_baseline(profile, limit=10),
            # the upper bound: the ten feasible openings with the highest true fit
            "ideal": ideal(client.pk, list(matching.feasible_openings(profile, today).values_list("id", flat=True))),
        }
        for name, opening_ids in suggestions.items():
            r = results[name]
            r["empty"].append(float(not opening_ids))
            for opening_id in opening_ids:
                f = fit(client.pk, opening_id)
                r["fit"].append(f)
                r["good"].append(float(f >= 0.5))
                r["broken"].append(float(bool(matching.violations(profile, facts[opening_id], today))))

    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 4) if values else None

    figures: dict[str, Any] = {
        "benchmark": "matching",
        "database": connection.vendor,
        "clients_sampled": len(sample),
        "clients_with_preferences": len(ids),
        "openings": Opening.objects.count(),
        "open_openings": Opening.objects.filter(status="open").count(),
        "today": today.isoformat(),
        "rank_ms_median": round(statistics.median(timings) * 1000, 1),
        "rank_ms_p95": round(_percentile(timings, 0.95) * 1000, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    for name, r in results.items():
        figures[name] = {
            "suggestions": len(r["fit"]),
            "mean_true_fit": mean(r["fit"]),
            "share_fit_0_5": mean(r["good"]),
            "share_breaking_constraint": mean(r["broken"]),
            "share_clients_without_suggestion": mean(r["empty"]),
        }
    p, b = figures["polku"], figures["baseline"]
    if p["mean_true_fit"] is not None and b["mean_true_fit"] is not None:
        figures["margin_mean_true_fit"] = round(p["mean_true_fit"] - b["mean_true_fit"], 4)
    print(f"Matching on {figures['database']}: {figures['openings']} openings ({figures['open_openings']} open), "
          f"{len(sample)} of {len(ids)} clients with job preferences, as of {today}")
    i = figures["ideal"]
    print(f"{'':<36}{'Polku':>12}{'baseline':>12}{'ideal':>12}")
    for label, key in (("suggestions", "suggestions"), ("mean true fit of the top 10", "mean_true_fit"),
                       ("share with true fit >= 0.5", "share_fit_0_5"),
                       ("share breaking a hard constraint", "share_breaking_constraint"),
                       ("share of clients without any", "share_clients_without_suggestion")):
        print(f"{label:<36}{_fmt(p[key]):>12}{_fmt(b[key]):>12}{_fmt(i[key]):>12}")
    print(f"rank_openings per client: median {figures['rank_ms_median']} ms, p95 {figures['rank_ms_p95']} ms")
    if args.json:
        print(json.dumps(figures))
    return 0


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    sys.exit(main())
