"""Indicator speed on the configured database (docs/BENCHMARKS.md, "Indicators").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/polku_big \
        .venv/bin/python bench/indicators_bench.py --period 2025 [--refresh] [--repeat 3]

Times the facts rebuild (with --refresh), the full annual ESF+ report (build + PDF/XLSX render) and the
dashboard page as a manager sees it (Django test client, the server's own time).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--period", default="2025")
    parser.add_argument("--refresh", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    django.setup()
    from django.db import connection
    from django.test import Client as WebClient
    from django.test.utils import setup_test_environment

    from polku.indicators import exports
    from polku.indicators.facts import refresh
    from polku.indicators.models import ParticipationFact
    from polku.indicators.services import build_report

    print(f"database {connection.vendor} {connection.settings_dict['NAME']}, {platform.machine()}, "
          f"{os.cpu_count()} cores", flush=True)
    if args.refresh:
        started = time.perf_counter()
        run = refresh(progress=lambda m: print("  " + m, flush=True), triggered_by="bench")
        print(f"refresh: {time.perf_counter() - started:.1f} s, {run.participations:,} participations, "
              f"{run.referrals:,} referrals", flush=True)
    print(f"facts: {ParticipationFact.objects.count():,} participations", flush=True)
    timings: dict[str, list[float]] = {"esf report (build)": [], "esf report + pdf": [], "esf report + xlsx": [],
                                       "all reports (build)": [], "dashboard page": []}
    setup_test_environment()
    from django.contrib.auth import get_user_model

    manager = get_user_model().objects.filter(staff__role="manager").first()
    web = WebClient()
    if manager is not None:
        web.force_login(manager)
    for _ in range(args.repeat):
        t = time.perf_counter()
        report = build_report("esf", period=args.period)
        timings["esf report (build)"].append(time.perf_counter() - t)
        t2 = time.perf_counter()
        exports.to_pdf(report)
        timings["esf report + pdf"].append(time.perf_counter() - t)
        t3 = time.perf_counter()
        exports.to_xlsx(report)
        timings["esf report + xlsx"].append(timings["esf report (build)"][-1] + time.perf_counter() - t3)
        del t2
        t = time.perf_counter()
        build_report("all", period=args.period)
        timings["all reports (build)"].append(time.perf_counter() - t)
        if manager is not None:
            t = time.perf_counter()
            response = web.get("/indicators/", {"period": args.period, "report": "esf"})
            timings["dashboard page"].append(time.perf_counter() - t)
            assert response.status_code == 200, response.status_code
    for name, values in timings.items():
        if values:
            print(f"{name}: median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, "
                  f"n={len(values)})", flush=True)


if __name__ == "__main__":
    main()
