"""Load and fault benchmark: many professionals and clients using Polku at once over a large synthetic region,
optionally with PostgreSQL restarted in the middle (issue 11: "Load" and "Concurrency and faults").

Needs the ``load`` extra (locust): ``.venv/bin/pip install -e '.[dev,load]'``. Steps (docs/BENCHMARKS.md, "Load"):

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/polku_big
    polku migrate && polku synth --clients 1000000 --seed 1 && polku sweep      # the region (once)
    python bench/load_bench.py prepare                  # passwords for 150 professionals, 50 client logins
    python bench/load_bench.py run -u 200 --minutes 10 --out var/load/steady
    python bench/load_bench.py run -u 200 --minutes 3 --restart-db-at 60 --out var/load/restart

``run`` serves Polku with gunicorn on 127.0.0.1 (3 processes × 4 threads unless told otherwise), runs locust
headless against it and writes ``summary.json``, ``summary.md`` and ``timeline.svg`` (requests a second, p95
latency and errors in 10-second buckets) to ``--out``. With ``--restart-db-at S`` it restarts the PostgreSQL
cluster S seconds into the run and reports what happened to the requests meanwhile: completed, failed cleanly
(an HTTP error answer such as 503), or failed without an answer; how long after the database accepted connections
again the last failure came (the recovery time); and whether every message a client was told was sent (302) is in
the database afterwards (nothing committed is lost).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PASSWORD = "polku-load-2026"  # noqa: S105 - a benchmark database's generated logins only
STAFF_MIX = {"coordinator": 80, "social_worker": 30, "health_professional": 15, "kela_expert": 10,
             "provider_worker": 15}
CLIENT_LOGINS = 50


def _django() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> None:
    """Give a known password to professionals of each role with clients of their own, and sign-ins to clients
    with a plan; write who they are (and which clients each professional may open) to ``--users``."""
    _django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from polku.clients.models import Client
    from polku.episodes.models import EpisodeParticipant
    from polku.organisations.models import StaffMember
    from polku.referrals.models import Referral

    user_model = get_user_model()
    hashed = make_password(PASSWORD)
    staff: list[dict[str, Any]] = []
    with transaction.atomic():
        for role, wanted in STAFF_MIX.items():
            members = list(StaffMember.objects.filter(role=role, active=True, user__username__startswith="synth-")
                           .select_related("user").order_by("pk")[:wanted * 4])
            ids = [m.pk for m in members]
            clients: dict[int, list[int]] = defaultdict(list)
            if role == "provider_worker":
                orgs = {m.organisation_id for m in members}
                rows = (Referral.objects.filter(receiving_organisation_id__in=orgs,
                                                status__in=["received", "accepted", "waitlisted", "started"])
                        .values_list("receiving_organisation_id", "client_id").order_by("-pk")[:50_000])
                by_org: dict[int, list[int]] = defaultdict(list)
                for org, client in rows:
                    by_org[org].append(client)
                for m in members:
                    clients[m.pk] = by_org.get(m.organisation_id, [])[:20]
            else:
                for member_id, client in (EpisodeParticipant.objects
                                          .filter(responsible_person_id__in=ids,
                                                  episode__status__in=["mapping", "active"])
                                          .values_list("responsible_person_id", "episode__client_id")):
                    clients[member_id].append(client)
            # Only clients the professional may open now (relationship and consent): a 404 is the right answer
            # for the others, not a load error.
            from polku.access.policy import visible_client_ids

            for m in members:
                allowed = visible_client_ids(m.user, "basic", clients[m.pk][:60])
                clients[m.pk] = [c for c in clients[m.pk][:60] if c in allowed]
            chosen = [m for m in members if len(clients[m.pk]) >= 3][:wanted]
            names = dict(Client.objects.filter(pk__in={c for m in chosen for c in clients[m.pk][:20]})
                         .values_list("pk", "last_name"))
            user_model.objects.filter(pk__in=[m.user_id for m in chosen]).update(password=hashed)
            for m in chosen:
                mine = clients[m.pk][:20]
                staff.append({"username": m.user.username, "role": role, "clients": mine,
                              "search": sorted({names[c] for c in mine if c in names})[:5] or ["a"]})
        existing = set(user_model.objects.filter(username__startswith="load-client-").values_list("username",
                                                                                                  flat=True))
        portal = list(Client.objects.filter(user__isnull=True, episodes__status="active",
                                            episodes__plan__isnull=False)
                      .order_by("pk")[:max(0, CLIENT_LOGINS - len(existing))])  # a second prepare adds none
        new = [user_model(username=f"load-client-{c.pk}", password=hashed) for c in portal
               if f"load-client-{c.pk}" not in existing]
        user_model.objects.bulk_create(new)
        by_name = dict(user_model.objects.filter(username__startswith="load-client-").values_list("username", "pk"))
        for c in portal:
            c.user_id = by_name[f"load-client-{c.pk}"]
        Client.objects.bulk_update(portal, ["user"])
        client_logins = [{"username": u} for u in sorted(by_name)[:CLIENT_LOGINS]]
    out = Path(args.users)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"password": PASSWORD, "staff": staff, "clients": client_logins}, indent=1))
    counts = defaultdict(int)
    for s in staff:
        counts[s["role"]] += 1
    print(f"prepared {len(staff)} professionals ({dict(counts)}) and {len(client_logins)} client logins → {out}")


def _wait_for(url: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not answer at {url}")


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode == 0


def _restart_postgres(after: float, events: dict[str, float], down: float = 0.0) -> None:
    """Restart the cluster ``after`` seconds in (fast shutdown: sessions cut, open transactions rolled back);
    with ``down`` > 0, stop it and start it again that many seconds later (a longer outage)."""
    time.sleep(after)
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    events["restart_started"] = time.time()
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    if down > 0:
        subprocess.run([*cluster, "stop", "-m", "fast"], check=True)
        time.sleep(down)
        subprocess.run([*cluster, "start"], check=True)
    else:
        subprocess.run([*cluster, "restart", "-m", "fast"], check=True)
    while not _pg_ready():
        time.sleep(0.1)
    events["database_back"] = time.time()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[index]


def _timeline_svg(buckets: list[dict[str, float]], events: dict[str, float], start: float, title: str) -> str:
    """A small SVG chart: requests a second and p95 latency (ms) per 10-second bucket, errors as red marks."""
    width, height, left, right, top, bottom = 720, 300, 60, 60, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    span = max((b["t"] for b in buckets), default=10) + 10
    max_rps = max((b["rps"] for b in buckets), default=1) * 1.1 or 1
    max_p95 = max(max((b["p95"] for b in buckets), default=1) * 1.1, 300)

    def x(t: float) -> float:
        return left + plot_w * t / span

    def line(key: str, top_value: float) -> str:
        return " ".join(f"{x(b['t'] + 5):.1f},{top + plot_h * (1 - b[key] / top_value):.1f}" for b in buckets)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{title}" font-family="sans-serif" font-size="12">',
             f'<text x="{left}" y="18" font-weight="bold">{title}</text>',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>']
    y300 = top + plot_h * (1 - 300 / max_p95)
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y300:.1f}" y2="{y300:.1f}" stroke="#b00" '
                 f'stroke-dasharray="4 3"/><text x="{left + plot_w + 4}" y="{y300 + 4:.1f}" fill="#b00">300 ms</text>')
    parts.append(f'<polyline fill="none" stroke="#0b5394" stroke-width="2" points="{line("rps", max_rps)}"/>')
    parts.append(f'<polyline fill="none" stroke="#e69138" stroke-width="2" points="{line("p95", max_p95)}"/>')
    for b in buckets:
        if b["errors"]:
            parts.append(f'<circle cx="{x(b["t"] + 5):.1f}" cy="{top + plot_h - 4}" r="4" fill="#b00"/>')
    for name, label in (("restart_started", "PostgreSQL restart"), ("database_back", "accepting again")):
        if name in events:
            ex = x(events[name] - start)
            parts.append(f'<line x1="{ex:.1f}" x2="{ex:.1f}" y1="{top}" y2="{top + plot_h}" stroke="#444"/>'
                         f'<text x="{ex + 3:.1f}" y="{top + 12}">{label}</text>')
    for i in range(0, int(span) + 1, max(10, int(span / 60) * 10 or 10) * (6 if span > 200 else 1)):
        parts.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle">{i}s</text>')
    parts.append(f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" fill="#0b5394">{max_rps:.0f}/s</text>')
    parts.append(f'<text x="{left + plot_w + 4}" y="{top + 10}" fill="#e69138">{max_p95:.0f} ms</text>')
    parts.append(f'<text x="{left}" y="{height - 6}"><tspan fill="#0b5394">■ requests a second</tspan>  '
                 f'<tspan fill="#e69138">■ p95 latency</tspan>  <tspan fill="#b00">● errors in the bucket</tspan>'
                 f'</text></svg>')
    return "\n".join(parts)


def _acknowledged_messages_missing(tokens: set[str], since: float) -> int:
    _django()
    from polku.portal.models import ClientMessage

    bodies = ClientMessage.objects.filter(
        created_at__gte=dt.datetime.fromtimestamp(since - 60, tz=dt.UTC)).values_list("body", flat=True)
    stored = {body.rsplit(" ", 1)[-1] for body in bodies}
    return len(tokens - stored)


def run(args: argparse.Namespace) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "requests.csv"
    log_path.unlink(missing_ok=True)
    env = {**os.environ, "POLKU_DEBUG": "0", "POLKU_ALLOWED_HOSTS": "127.0.0.1",
           "POLKU_LOAD_USERS": str(Path(args.users).resolve()), "POLKU_LOAD_LOG": str(log_path.resolve()),
           "POLKU_LOG_LEVEL": "ERROR", "POLKU_LOAD_THINK": f"{args.think[0]},{args.think[1]}"}
    host = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "polku.wsgi:application", "-b", f"127.0.0.1:{args.port}", "-w",
         str(args.workers), "--threads", str(args.threads), "-k", "gthread", "--timeout", "60",
         "--graceful-timeout", "5"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(out / "server.log", "w"))  # noqa: SIM115
    events: dict[str, float] = {}
    try:
        _wait_for(f"{host}/healthz", 60)
        start = time.time()
        if args.restart_db_at is not None:
            threading.Thread(target=_restart_postgres, args=(args.restart_db_at, events, args.down_seconds),
                             daemon=True).start()
        print(f"load: {args.users_count} users for {args.minutes} min against {host} "
              f"({args.workers} processes × {args.threads} threads)", flush=True)
        subprocess.run(
            [str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u",
             str(args.users_count), "-r", str(args.spawn_rate), "-t", f"{int(args.minutes * 60)}s", "--host", host,
             "--csv", str(out / "locust"), "--only-summary", "--stop-timeout", "10"],
            env=env, cwd=ROOT, check=False)
        end = time.time()
    finally:
        server.terminate()
        server.wait(timeout=30)
    summarise(out, start, end, events, args)


def summarise(out: Path, start: float, end: float, events: dict[str, float], args: argparse.Namespace) -> None:
    rows = []
    with open(out / "requests.csv", newline="", encoding="utf-8") as handle:
        for t, _method, name, status, ms, outcome, token, *error in csv.reader(handle):
            rows.append({"t": float(t), "name": name, "status": int(status), "ms": float(ms), "ok": outcome == "ok",
                         "token": token, "error": error[0] if error else ""})
    failed = [r for r in rows if not r["ok"]]
    # Steady state: after every user has signed in (spawning plus 10 s), the sign-in itself left out (a person
    # signs in once a day; 200 at once only happen in a benchmark, each costing a deliberately slow hash).
    ramp_end = start + args.users_count / args.spawn_rate + 10
    steady = [r for r in rows if r["t"] >= ramp_end and r["name"] not in ("sign in", "sign-in form")]
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_name[r["name"]].append(r)
    by_name_steady: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in steady:
        by_name_steady[r["name"]].append(r)
    per_endpoint = [{"name": name, "requests": len(rs), "errors": sum(not r["ok"] for r in rs),
                     "steady_p95_ms": _percentile([r["ms"] for r in by_name_steady.get(name, [])], 95),
                     "p50_ms": _percentile([r["ms"] for r in rs], 50), "p95_ms": _percentile([r["ms"] for r in rs], 95),
                     "max_ms": max(r["ms"] for r in rs)} for name, rs in sorted(by_name.items())]
    buckets = []
    for i in range(0, int(end - start) + 10, 10):
        inside = [r for r in rows if start + i <= r["t"] < start + i + 10]
        if inside:
            buckets.append({"t": i, "rps": len(inside) / 10, "p95": _percentile([r["ms"] for r in inside], 95),
                            "errors": sum(not r["ok"] for r in inside)})
    acknowledged = {r["token"] for r in rows if r["token"] and r["ok"] and r["status"] == 302}
    summary: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "users": args.users_count, "minutes": args.minutes, "server": f"gunicorn {args.workers}×{args.threads}",
        "think_seconds": list(args.think),
        "requests": len(rows), "errors": len(failed), "requests_per_second": round(len(rows) / (end - start), 1),
        "p50_ms": _percentile([r["ms"] for r in rows], 50), "p95_ms": _percentile([r["ms"] for r in rows], 95),
        "p99_ms": _percentile([r["ms"] for r in rows], 99), "max_ms": max((r["ms"] for r in rows), default=0),
        "steady_state": {
            "from_second": round(ramp_end - start, 1), "requests": len(steady),
            "errors": sum(not r["ok"] for r in steady),
            "requests_per_second": round(len(steady) / max(1.0, end - ramp_end), 1),
            "p50_ms": _percentile([r["ms"] for r in steady], 50), "p95_ms": _percentile([r["ms"] for r in steady], 95),
            "p99_ms": _percentile([r["ms"] for r in steady], 99),
            "max_ms": max((r["ms"] for r in steady), default=0),
        },
        "sign_in_p95_ms": _percentile([r["ms"] for r in rows if r["name"] == "sign in"], 95),
        "messages_acknowledged": len(acknowledged),
        "messages_acknowledged_but_missing": _acknowledged_messages_missing(acknowledged, start),
        "per_endpoint": per_endpoint,
    }
    if "restart_started" in events:
        back = events.get("database_back", end)
        window = [r for r in rows if events["restart_started"] - 1 <= r["t"] <= back + 30]
        after = [r for r in failed if r["t"] >= events["restart_started"] - 1]
        summary["restart"] = {
            "database_down_seconds": round(back - events["restart_started"], 2),
            "requests_in_window": len(window),
            "completed": sum(r["ok"] for r in window),
            "failed_cleanly": sum((not r["ok"]) and r["status"] >= 400 for r in window),
            "failed_without_answer": sum((not r["ok"]) and r["status"] == 0 for r in window),
            "statuses_of_failures": {str(k): v for k, v in sorted(Counter(r["status"] for r in after).items())},
            "failures_without_answer": dict(Counter(r["error"][:100] for r in after if r["status"] == 0)),
            "recovered_seconds_after_database_back": round(max(0.0, max((r["t"] + r["ms"] / 1000 for r in after),
                                                                        default=back) - back), 2),
        }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    title = (f"{args.users_count} users, {args.minutes} min, pauses {args.think[0]:g}–{args.think[1]:g} s" +
             (", PostgreSQL restarted" if "restart_started" in events else ""))
    (out / "timeline.svg").write_text(_timeline_svg(buckets, events, start, title))
    lines = ["| endpoint | requests | errors | p50 ms | p95 ms | steady p95 ms | max ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {e['name']} | {e['requests']:,} | {e['errors']} | {e['p50_ms']:.0f} | {e['p95_ms']:.0f} | "
              f"{e['steady_p95_ms']:.0f} | {e['max_ms']:.0f} |" for e in per_endpoint]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "per_endpoint"}, indent=2))
    print("\n".join(lines))
    print(f"median of the per-bucket p95: {statistics.median([b['p95'] for b in buckets]) if buckets else 0:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("prepare")
    p.add_argument("--users", default=str(ROOT / "var" / "load" / "users.json"))
    r = commands.add_parser("run")
    r.add_argument("--users", default=str(ROOT / "var" / "load" / "users.json"))
    r.add_argument("--users-count", "-u", type=int, default=200, dest="users_count")
    r.add_argument("--spawn-rate", type=float, default=2, help="users started a second (each signs in)")
    r.add_argument("--minutes", type=float, default=10)
    r.add_argument("--think", type=float, nargs=2, default=(10.0, 30.0), metavar=("MIN", "MAX"),
                   help="each person's pause between actions, drawn evenly from MIN to MAX seconds (default 10 30)")
    r.add_argument("--port", type=int, default=8099)
    r.add_argument("--workers", type=int, default=3)
    r.add_argument("--threads", type=int, default=4)
    r.add_argument("--restart-db-at", type=float, default=None, help="restart PostgreSQL this many seconds in")
    r.add_argument("--down-seconds", type=float, default=0.0,
                   help="with --restart-db-at: keep PostgreSQL stopped this long before starting it again")
    r.add_argument("--out", default=str(ROOT / "var" / "load" / "run"))
    args = parser.parse_args()
    prepare(args) if args.command == "prepare" else run(args)


if __name__ == "__main__":
    main()
