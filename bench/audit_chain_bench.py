#!/usr/bin/env python3
"""Benchmark the tamper-evident access log: sealing and verifying throughput, and what it adds to a logged request.

    python bench/audit_chain_bench.py --database-url postgresql://postgres@127.0.0.1:5432/auditchain_bench \
        --rows 1000000

Works on its own database, which it migrates and EMPTIES first (the access-log tables only). It writes ``--rows``
access-log rows with one INSERT ... SELECT (the shapes of a page view's rows), then measures:

- ``seal``: sealing all of them from scratch (rows/s);
- ``seal_idle_full`` / ``seal_idle_regular``: a sealing pass with nothing new, over every id, and in the steady state
  (only the ids above the watermark, the runs before being older than the scan window);
- ``seal_incremental``: sealing 10,000 new rows on top of the sealed log (steady state);
- ``verify``: ``chain.verify(do_seal=False)`` over the whole chain (rows/s);
- ``insert_*``: the cost of one logged read (``log_access``'s INSERT, each in its own transaction) with and
  without the triggers, and while a large seal runs in another process: sealing takes no lock a writer waits for.

Prints one JSON line for docs/BENCHMARKS.md. Needs the project's .venv.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--inserts", type=int, default=3000, help="logged reads timed per insert scenario")
    args = parser.parse_args()
    os.environ.update({"DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "polku.settings"})
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from polku.audit import chain, guards
    from polku.audit.models import AccessLog, ChainHead

    call_command("migrate", verbosity=0)
    log = AccessLog._meta.db_table
    with guards.unguarded(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {log}, audit_accesslogseal, audit_sealrun, audit_chaincheckpoint RESTART IDENTITY")
    ChainHead.objects.update_or_create(pk=1, defaults={"position": 0, "chain_hash": chain.GENESIS,
                                                       "sealed_at": None, "full_sweep_at": None})
    results: dict[str, Any] = {"rows": args.rows, "vendor": connection.vendor, "python": platform.python_version(),
                               "cpus": os.cpu_count()}

    def fill(count: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {log} (at, actor_id, actor_name, actor_organisation_id, actor_role, client_id,
                        category, action, purpose, object_type, object_id, allowed, reason)
                    SELECT now() - (g || ' milliseconds')::interval, g %% 500, 'Koordinaattori ' || (g %% 500),
                           g %% 20, 'coordinator', g %% 100000, 'basic', 'view', 'View client details', 'Client',
                           (g %% 100000)::text, true, 'relationship_consent_role'
                    FROM generate_series(1, %s) AS g""",  # noqa: S608
                [count])

    started = time.perf_counter()
    fill(args.rows)
    results["fill_s"] = round(time.perf_counter() - started, 2)

    def timed(name: str, func: Any, rows: int | None = None) -> Any:
        began = time.perf_counter()
        out = func()
        took = time.perf_counter() - began
        results[f"{name}_s"] = round(took, 3)
        if rows:
            results[f"{name}_rows_per_s"] = round(rows / took)
        return out

    sealed = timed("seal", lambda: chain.seal(full=True), args.rows)
    assert sealed.sealed == args.rows, sealed
    timed("seal_idle_full", lambda: chain.seal(full=True))
    # The steady state: the runs that sealed the bulk are older than the scan window, so a regular pass only looks
    # at the ids written since (a fresh database has no such runs and every pass is a full sweep).
    with guards.unguarded(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_sealrun SET started_at = started_at - interval '1 hour', "
                       "sealed_at = sealed_at - interval '1 hour'")
    timed("seal_idle_regular", lambda: chain.seal())
    fill(10_000)
    timed("seal_incremental", lambda: chain.seal(), 10_000)
    report = timed("verify", lambda: chain.verify(do_seal=False), args.rows + 10_000)
    assert report.ok and report.checked == args.rows + 10_000, report.counts
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('audit_accesslogseal'), pg_total_relation_size(%s)", [log])
        seal_bytes, log_bytes = cursor.fetchone()
    results["seal_table_bytes_per_row"] = round(seal_bytes / (args.rows + 10_000))
    results["log_table_bytes_per_row"] = round(log_bytes / (args.rows + 10_000))

    # The cost of one logged read: the INSERT a page view makes, one transaction each (autocommit).
    def inserts(count: int) -> list[float]:
        times = []
        for i in range(count):
            began = time.perf_counter()
            AccessLog.objects.create(actor_name="bench", client_id=i, category="basic", action="view",
                                     purpose="View client details", allowed=True, reason="x")
            times.append(time.perf_counter() - began)
        return times

    def summary(times: list[float]) -> dict[str, float]:
        times = sorted(times)
        return {"median_ms": round(statistics.median(times) * 1000, 3),
                "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 3),
                "p99_ms": round(times[int(len(times) * 0.99)] * 1000, 3)}

    inserts(300)  # warm up
    results["insert_with_guard"] = summary(inserts(args.inserts))
    with connection.cursor() as cursor:
        for table in guards.TABLES:
            cursor.execute(f"DROP TRIGGER {guards.TRIGGER} ON {table}")
            cursor.execute(f"DROP TRIGGER {guards.TRUNCATE_TRIGGER} ON {table}")
    results["insert_without_guard"] = summary(inserts(args.inserts))
    with connection.schema_editor() as editor:
        guards.install(editor)
    results["insert_with_guard_again"] = summary(inserts(args.inserts))  # the spread between two equal runs
    chain.seal(full=True)

    # While a big seal runs in another process (as in production: the worker seals, the web server writes).
    fill(300_000)
    code = "import django, time; django.setup(); from polku.audit import chain; t = time.perf_counter(); " \
           "chain.seal(); print(time.perf_counter() - t)"
    sealer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    during: list[float] = []
    while sealer.poll() is None:
        during.extend(inserts(50))
    seal_took = float((sealer.stdout.read() if sealer.stdout else "0").strip() or 0)
    results["insert_during_seal"] = {**summary(during), "count": len(during), "seal_300k_s": round(seal_took, 2)}
    final = chain.verify(do_seal=True)
    results["final_ok"] = final.ok
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
