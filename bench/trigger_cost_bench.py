#!/usr/bin/env python3
"""What the incremental sweep's triggers cost the people who write: single-row writes with and without them.

    python bench/trigger_cost_bench.py --database-url postgresql://postgres@127.0.0.1:5432/polku_big

On an existing (generated) database: N times each, every write its own transaction, as a page or the API does
it: insert a contact, change a referral's status, mark a plan step done (the step's client is found through four
joins). Then the same with the tables' change triggers disabled, then enabled again (the two "with" runs show the
noise). The contacts inserted are deleted again; the updates set a column to its own value. The clients the
triggers record stay recorded (the next sweep evaluates them once more). Prints one JSON line for
docs/BENCHMARKS.md.
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

TABLES = ("clients_clientcontact", "referrals_referral", "plans_step")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, client_id FROM episodes_jointserviceepisode WHERE status <> 'closed' "
                       "ORDER BY random() LIMIT %s", [args.writes])
        episodes = cursor.fetchall()
        cursor.execute("SELECT organisation_id FROM episodes_episodeparticipant LIMIT 1")
        organisation = cursor.fetchone()[0]
        cursor.execute("SELECT id, status FROM referrals_referral ORDER BY random() LIMIT %s", [args.writes])
        referrals = cursor.fetchall()
        cursor.execute("SELECT id, status FROM plans_step ORDER BY random() LIMIT %s", [args.writes])
        steps = cursor.fetchall()

    def run() -> dict[str, dict[str, float]]:
        timings: dict[str, list[float]] = {"insert contact": [], "update referral": [], "update step": []}
        inserted = []
        with connection.cursor() as cursor:
            for (episode, client), (referral, _status), (step, _step_status) in zip(episodes, referrals, steps,
                                                                                     strict=False):
                t0 = time.perf_counter()
                cursor.execute("INSERT INTO clients_clientcontact (at, channel, summary, client_id, episode_id, "
                               "organisation_id) VALUES (now(), 'phone', 'bench', %s, %s, %s) RETURNING id",
                               [client, episode, organisation])
                inserted.append(cursor.fetchone()[0])
                timings["insert contact"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                cursor.execute("UPDATE referrals_referral SET status = status WHERE id = %s", [referral])
                timings["update referral"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                cursor.execute("UPDATE plans_step SET status = status WHERE id = %s", [step])
                timings["update step"].append(time.perf_counter() - t0)
            cursor.execute("DELETE FROM clients_clientcontact WHERE id = ANY(%s)", [inserted])
        return {k: {"median_ms": round(statistics.median(v) * 1000, 3),
                    "p95_ms": round(sorted(v)[int(len(v) * 0.95)] * 1000, 3)} for k, v in timings.items()}

    def triggers(enable: bool) -> None:
        with connection.cursor() as cursor:
            for table in TABLES:
                for name in ("polku_changed_ins", "polku_changed_upd", "polku_changed_del"):
                    cursor.execute(f"ALTER TABLE {table} {'ENABLE' if enable else 'DISABLE'} TRIGGER {name}")

    run()  # warm-up
    with_1 = run()
    triggers(False)
    try:
        without = run()
    finally:
        triggers(True)
    with_2 = run()
    print(json.dumps({
        "benchmark": "change triggers' cost per write", "writes": len(episodes),
        "with_triggers": with_1, "without_triggers": without, "with_triggers_again": with_2,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "date": dt.date.today().isoformat(),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
