#!/usr/bin/env python3
"""Benchmark the coordination sweep against a plain sequential scan of the tables it reads.

    python bench/sweep_bench.py --clients 1000000            # generates the region into a new PostgreSQL database
    python bench/sweep_bench.py --database-url postgresql://postgres@127.0.0.1:5432/polku_big   # an existing one

In one run, on the same database: (1) a plain sequential scan of every table the sweep reads (``SELECT count(*)``
with index scans switched off, after a warm-up read), (2) a full sweep (``--full``: every client evaluated; the
first one opens every alert), (3) a second full sweep of the same day (compares and refreshes everything),
(4) the daily case, ``--days`` times: a day's writes (``--daily-changes`` clients get a contact, and as many
referrals are answered, through ordinary statements that fire the triggers) and that day's incremental sweep.
The first of those days is the first of a month, when the synthetic region's monthly histories wake the most
clients. Prints one JSON line for docs/BENCHMARKS.md. Needs the .venv.
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
    parser.add_argument("--daily-changes", type=int, default=10_000,
                        help="clients whose data a simulated day changes (default 10,000: 1 %% of a million)")
    parser.add_argument("--days", type=int, default=7, help="daily sweeps to run after the full ones")
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
        print(json.dumps(measure(args.daily_changes, args.days)))
    finally:
        if created and not args.keep:
            subprocess.run(["psql", f"{args.postgres}/postgres", "-qc", f"DROP DATABASE IF EXISTS {created}"])
    return 0


def measure(daily_changes: int, days: int) -> dict[str, object]:
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
    first = sweep(as_of=as_of, triggered_by="bench", full=True)
    second = sweep(as_of=as_of, triggered_by="bench", full=True)
    daily = []
    for number in range(1, days + 1):
        day = as_of + dt.timedelta(days=number)
        write_started = time.perf_counter()
        _a_days_writes(day, daily_changes)
        write_seconds = time.perf_counter() - write_started
        result = sweep(as_of=day, triggered_by="bench")
        daily.append({"as_of": day.isoformat(), "seconds": round(result.seconds, 2),
                      "incremental": result.run.incremental, "clients_evaluated": result.run.clients_evaluated,
                      "opened": result.run.opened, "resolved": result.run.resolved,
                      "writes_seconds": round(write_seconds, 2),
                      "steps": {k: round(v, 2) for k, v in result.rule_seconds.items()}})
        print(json.dumps(daily[-1]), file=sys.stderr, flush=True)
    scan_after = scan()
    times = sorted(d["seconds"] for d in daily)
    median = times[len(times) // 2]
    return {
        "benchmark": "polku sweep", "clients": clients, "database": f"PostgreSQL {connection.pg_version // 10000}",
        "as_of": as_of.isoformat(),
        "sequential_scan_seconds": round(scan_seconds, 2), "sequential_scan_after_seconds": round(scan_after, 2),
        "first_sweep_seconds": round(first.seconds, 2), "first_sweep_opened": first.run.opened,
        "same_day_full_sweep_seconds": round(second.seconds, 2),
        "daily_changes": daily_changes, "daily_sweep_median_seconds": median, "daily_sweep_max_seconds": times[-1],
        "daily_ratio_to_scan_median": round(median / scan_seconds, 2),
        "daily_ratio_to_scan_max": round(times[-1] / scan_seconds, 2),
        "full_ratio_to_scan": round(second.seconds / scan_seconds, 2), "daily": daily,
        "open_alerts": Alert.objects.filter(resolved_at__isnull=True).count(),
        "steps_full_same_day": {k: round(v, 2) for k, v in second.rule_seconds.items()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
    }


def _a_days_writes(day: dt.date, clients: int) -> None:
    """What a working day writes, as ordinary SQL statements (the triggers see them as they see any write):
    a contact with ``clients`` random clients in the joint service, and as many of the oldest unanswered
    referrals accepted."""
    from django.db import connection, transaction
    from django.utils import timezone

    noon = timezone.make_aware(dt.datetime.combine(day, dt.time(12)))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO clients_clientcontact (at, channel, summary, client_id, episode_id, organisation_id)
               SELECT %s, 'phone', '', e.client_id, e.id, p.organisation_id
               FROM episodes_jointserviceepisode e
               JOIN LATERAL (SELECT organisation_id FROM episodes_episodeparticipant WHERE episode_id = e.id
                             ORDER BY id LIMIT 1) p ON true
               WHERE e.status <> 'closed' ORDER BY random() LIMIT %s""",
            [noon, clients],
        )
        cursor.execute(
            """UPDATE referrals_referral SET status = 'accepted', decided_at = %s, status_changed_at = %s
               WHERE id IN (SELECT id FROM referrals_referral WHERE status IN ('sent', 'received')
                            ORDER BY sent_at LIMIT %s)""",
            [noon, noon, clients],
        )


def _window_end() -> dt.date:
    """The generated history's last day (the end of last month), the truth's as-of."""
    first_of_month = dt.date.today().replace(day=1)
    return first_of_month - dt.timedelta(days=1)


if __name__ == "__main__":
    sys.exit(main())
