#!/usr/bin/env python3
"""Benchmark ``polku synth``: wall time, peak memory and rows for N clients into a fresh database.

    python bench/synth_bench.py --clients 1000000 --database postgres   # needs PostgreSQL on 127.0.0.1:5432
    python bench/synth_bench.py --clients 5000 --database sqlite

Runs ``polku synth`` in a child process (with its progress bar) and prints one JSON line with the figures, for
docs/BENCHMARKS.md. Uses the project's .venv.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLKU = ROOT / ".venv" / "bin" / "polku"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--truth-out", default=None)
    args = parser.parse_args()
    env = dict(os.environ)
    scratch = tempfile.mkdtemp(prefix="polku-bench-")
    if args.database == "postgres":
        name = f"polku_bench_{os.getpid()}"
        subprocess.run(["psql", f"{args.postgres}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
        env["DATABASE_URL"] = f"{args.postgres}/{name}"
    else:
        env.pop("DATABASE_URL", None)
        env["POLKU_DATA_DIR"] = scratch
    try:
        subprocess.run([str(POLKU), "migrate", "-v0"], env=env, check=True)
        command = [str(POLKU), "synth", "--clients", str(args.clients), "--format", "json"]
        if args.truth_out:
            command += ["--truth-out", args.truth_out]
        started = time.monotonic()
        result = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
        wall = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        summary = json.loads(result.stdout)
        print(json.dumps({
            "benchmark": "polku synth", "clients": args.clients, "database": args.database,
            "wall_seconds": round(wall, 1), "peak_memory_mb": round(peak_mb), "rows": sum(summary["rows"].values()),
            "rows_by_table": summary["rows"], "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}", "date": dt.date.today().isoformat(),
        }))
    finally:
        if args.database == "postgres":
            subprocess.run(["psql", f"{args.postgres}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
