#!/usr/bin/env python3
"""Benchmark the coordination sweep against a plain sequential scan of the tables it reads.

    python bench/sweep_bench.py --clients 1000000            # generates the region into a new PostgreSQL database
    python bench/sweep_bench.py --database-url postgresql://postgres@127.0.0.1:5432/polku_big   # an existing one

In one run, on the same database: (1) a plain sequential scan of every table the sweep reads (``SELECT count(*)``
with index scans switched off, after a warm-up read), (2) the first sweep (opens every alert), (3) a second sweep
of the same day (the steady daily case: compares and refreshes), (4) a sweep a week later (some resolve, some
open). Prints one JSON line for docs/BENCHMARKS.md. Needs the project's .venv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLKU = ROOT / ".venv" / "bin" / "polku"

TABLES = [
    "clients_client", "clients_employmentstatusperiod", "clients_benefitperiod", "clients_clientcontact",
    "clients_residencechange", "clients_consent", "episodes_jointserviceepisode", "episodes_episodeparticipant",
    "organisations_organisation", "organisations_servicearea", "plans_plan", "plans_planversion", "plans_goal",
    "plans_step", "plans_planreview", "referrals_referral", "catalogue_service", "assessments_assessment",
    "assessments_assessmentanswer", "assessments_instrument", "coordination_alert",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="use this database (already generated) as is")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    args = parser.parse_args()
    env = dict(os.environ)
    created = None
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        created = f"polku_sweep_bench_{os.getpid()}"
        subprocess.run(["psql", f"{args.postgres}/postgres", "-qc", f"CREATE DATABASE {created}"], check=True)
        env["DATABASE_URL"] = f"{args.postgres}/{created}"
        subprocess.run([str(POLKU), "migrate", "-v0"], env=env, check=True)
        subprocess.run([str(POLKU), "synth", "--clients", str(args.clients), "--format", "json"], env=env,
                       check=True, stdout=subprocess.DEVNULL)
    try:
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
        import django

        django.setup()
        print(json.dumps(measure()))
    finally:
        if created and not args.keep:
            subprocess.run(["psql", f"{args.postgres}/postgres", "-qc", f"DROP DATABASE IF EXISTS {created}"])
    return 0


def measure() -> dict[str, object]:
    from django.db import connection

    from polku.clients.models import Client
    from polku.coordination.models import Alert
    from polku.coordination.services import sweep

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh planner statistics, as autovacuum would leave them after a load
    clients = Client.objects.count()
    as_of = _window_end()

    def scan() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off")
            started = time.perf_counter()
            for table in TABLES:
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
                cursor.fetchone()
            elapsed = time.perf_counter() - started
            cursor.execute("RESET enable_indexscan; RESET enable_indexonlyscan; RESET enable_bitmapscan")
        return elapsed

    scan()  # warm the cache the same way for both
    scan_seconds = scan()
    first = sweep(as_of=as_of, triggered_by="bench")
    second = sweep(as_of=as_of, triggered_by="bench")
    week_later = sweep(as_of=as_of + dt.timedelta(days=7), triggered_by="bench")
    scan_after = scan()
    return {
        "benchmark": "polku sweep", "clients": clients, "database": f"PostgreSQL {connection.pg_version // 10000}",
        "as_of": as_of.isoformat(),
        "sequential_scan_seconds": round(scan_seconds, 2), "sequential_scan_after_seconds": round(scan_after, 2),
        "first_sweep_seconds": round(first.seconds, 2), "first_sweep_opened": first.run.opened,
        "same_day_sweep_seconds": round(second.seconds, 2),
        "week_later_sweep_seconds": round(week_later.seconds, 2), "week_later_opened": week_later.run.opened,
        "week_later_resolved": week_later.run.resolved,
        "ratio_to_scan": round(second.seconds / scan_seconds, 2),
        "open_alerts": Alert.objects.filter(resolved_at__isnull=True).count(),
        "rule_seconds_same_day": {k: round(v, 2) for k, v in second.rule_seconds.items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
    }


def _window_end() -> dt.date:
    """The generated history's last day (the end of last month), the truth's as-of."""
    first_of_month = dt.date.today().replace(day=1)
    return first_of_month - dt.timedelta(days=1)


if __name__ == "__main__":
    sys.exit(main())
