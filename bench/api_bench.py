#!/usr/bin/env python3
"""Benchmark the REST API under concurrent load: latency percentiles and requests per second.

    python bench/api_bench.py --database-url postgresql://postgres@127.0.0.1:5432/polku_big

Serves Polku with gunicorn (``--workers`` processes × ``--threads`` threads) on 127.0.0.1 against the given
database (generate one with ``polku synth --clients 1000000``), then, from this second process, keeps
``--concurrency`` simulated users busy for ``--seconds`` per scenario, each sending its next request as soon
as the last one is answered (closed loop, the default) or after a pause of about ``--think`` seconds (users who
read what they got, as people at a screen do):

- ``trivial``: ``GET /healthz`` (a plain Django view: the server's ceiling);
- ``caseload``: ``GET /api/v1/clients?limit=50`` as a coordinator (checked, 50 access-log rows written);
- ``client``: ``GET /api/v1/clients/{id}`` for clients of the caseload (checked, one access-log row each).

Prints one JSON line for docs/BENCHMARKS.md. Needs the project's .venv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv" / "bin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds each simulated user waits between requests (0: closed loop, flat out)")
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "polku.settings",
           "POLKU_AUTH_FAILURES": "1000000"}
    os.environ.update(env)
    import django

    django.setup()
    username, secret, client_ids = _caller()
    server = subprocess.Popen(
        [str(VENV / "gunicorn"), "polku.wsgi:application", "-b", f"127.0.0.1:{args.port}", "-w", str(args.workers),
         "-k", "gthread", "--threads", str(args.threads), "--log-level", "warning"],
        env=env, cwd=ROOT, start_new_session=True,
    )
    try:
        _wait_for(args.port)
        headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "fi"}
        scenarios = {
            "trivial": lambda _r: ("/healthz", {}),
            "caseload": lambda _r: ("/api/v1/clients?limit=50", headers),
            "client": lambda r: (f"/api/v1/clients/{r.choice(client_ids)}", headers),
        }
        results: dict[str, Any] = {}
        for name, request in scenarios.items():
            _run(args.port, request, 2.0, min(args.concurrency, 10), 0.0)  # warm up
            results[name] = _run(args.port, request, args.seconds, args.concurrency, args.think)
            print(f"{name}: {results[name]}", file=sys.stderr)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    from polku.clients.models import Client

    print(json.dumps({
        "benchmark": "api", "date": dt.date.today().isoformat(), "machine": f"{platform.node()} "
        f"({os.cpu_count()} CPUs, {platform.machine()})", "python": platform.python_version(),
        "clients": Client.objects.count(), "caller": username, "concurrency": args.concurrency,
        "seconds_per_scenario": args.seconds, "think_seconds": args.think,
        "server": f"gunicorn {args.workers} workers x {args.threads} threads",
        "results": results,
        "api_to_trivial_rps": {k: round(results[k]["rps"] / results["trivial"]["rps"], 3)
                               for k in ("caseload", "client")},
    }))
    return 0


def _caller() -> tuple[str, str, list[int]]:
    """A coordinator of the organisation with the most clients, a fresh token, and clients they may see."""
    from django.db.models import Count

    from polku.accounts.services import token_create
    from polku.clients.selectors import caseload
    from polku.episodes.models import EpisodeParticipant
    from polku.organisations.models import StaffMember, StaffRole

    biggest = (EpisodeParticipant.objects.filter(left_on__isnull=True).values("organisation_id")
               .annotate(n=Count("pk")).order_by("-n").first())
    if biggest is None:
        raise SystemExit("the database has no clients in the joint service; run polku synth first")
    staff = StaffMember.objects.filter(organisation_id=biggest["organisation_id"], role=StaffRole.COORDINATOR,
                                       active=True).select_related("user").order_by("pk").first()
    if staff is None:
        raise SystemExit("no coordinator in the biggest organisation")
    _token, secret = token_create(username=staff.user.get_username(), expires_in_days=1, name="api benchmark")
    ids = list(caseload(actor=staff.user).order_by("pk").values_list("pk", flat=True)[:5000])
    if not ids:
        raise SystemExit("the coordinator sees no clients")
    return staff.user.get_username(), secret, ids


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def _run(port: int, request: Any, seconds: float, concurrency: int, think: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        codes: dict[int, int] = {}
        while time.monotonic() < stop:
            path, headers = request(rng)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                code = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                code = 0
            mine.append(time.perf_counter() - t0)
            codes[code] = codes.get(code, 0) + 1
            if think:
                time.sleep(rng.uniform(0.5 * think, 1.5 * think))
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p * len(ms)))], 1) if ms else 0.0

    return {"requests": len(ms), "rps": round(len(ms) / elapsed, 1), "p50_ms": pct(0.50), "p95_ms": pct(0.95),
            "p99_ms": pct(0.99), "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


if __name__ == "__main__":
    sys.exit(main())
