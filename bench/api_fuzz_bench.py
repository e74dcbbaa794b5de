#!/usr/bin/env python3
"""Fuzz the whole REST API with schemathesis, with a large budget: a benchmark run, not a CI test.

    .venv/bin/python bench/api_fuzz_bench.py --database-url postgres://postgres@127.0.0.1:5432/hostile_bench \
        --clients 200 --max-examples 300 --out var/security

Creates the database afresh (it must not be one you need: it is dropped first), migrates it, seeds a demo region
(``polku.demo``: a synthetic region plus one login per role) and then, in this process through the WSGI
application (no network, the same code path as a live server behind gunicorn), calls every operation of
``/api/v1/openapi.json`` with generated requests as the demo coordinator (a bearer token):

- ``positive``: requests that match the document (bodies, query parameters, path ids);
- ``negative``: requests that break it (wrong types, missing fields, out-of-range values, unknown values);
- ``real-ids``: valid requests whose path ids are those of real records the coordinator can see (clients,
  episodes, plans, referrals, alerts, assessments, ...), so that reads and writes reach the services instead of a
  404.

Each request is checked: no 5xx (``not_a_server_error``), the status code, content type and body schema are the
documented ones. Failures do not stop the run; every distinct one (operation, check, status) is kept with the
server's exception when there was one. Writes a summary (operations, examples, failures, elapsed) as
``api_fuzz_bench.json`` and ``api_fuzz_bench.md`` in ``--out``. ``--seconds`` bounds the whole run: operations
not reached in time are listed as skipped.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import sys
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

MODES = ("positive", "negative", "real-ids")


def _recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database named in ``url`` (SQLite: remove the file)."""
    import dj_database_url

    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        Path(config["NAME"]).unlink(missing_ok=True)
        return
    import psycopg

    name = config["NAME"]
    if name in {"polku", "postgres", "test", "template0", "template1"}:
        raise SystemExit(f"refusing to drop database {name!r}: name a database of the benchmark's own")
    admin = psycopg.connect(host=config["HOST"] or "127.0.0.1", port=config["PORT"] or 5432,
                            user=config["USER"] or "postgres", password=config["PASSWORD"] or None,
                            dbname="postgres", autocommit=True)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def _real_ids(user: Any) -> dict[str, list[Any]]:
    """Ids of records the user can see, by the name the API's paths give them."""
    from polku.assessments.models import Assessment, JointAssessment
    from polku.catalogue.models import Service
    from polku.clients.models import Consent
    from polku.clients.selectors import caseload
    from polku.coordination.models import Alert
    from polku.episodes.models import JointServiceEpisode
    from polku.organisations.models import Organisation
    from polku.partners.models import Opening
    from polku.plans.models import Plan, Step
    from polku.referrals.models import Referral

    clients = list(caseload(actor=user).values_list("pk", flat=True)[:20])
    ids: dict[str, list[Any]] = {
        "client_id": clients,
        "consent_id": list(Consent.objects.filter(client_id__in=clients).values_list("pk", flat=True)[:20]),
        "episode_id": list(JointServiceEpisode.objects.filter(client_id__in=clients).values_list("pk", flat=True)[:20]),
        "plan_id": list(Plan.objects.filter(episode__client_id__in=clients).values_list("pk", flat=True)[:20]),
        "step_id": list(Step.objects.filter(goal__plan_version__plan__episode__client_id__in=clients)
                        .values_list("pk", flat=True)[:20]),
        "referral_id": list(Referral.objects.filter(client_id__in=clients).values_list("pk", flat=True)[:20]),
        "alert_id": list(Alert.objects.filter(client_id__in=clients).values_list("pk", flat=True)[:20]),
        "assessment_id": list(Assessment.objects.filter(client_id__in=clients).values_list("pk", flat=True)[:20]),
        "joint_assessment_id": list(JointAssessment.objects.filter(episode__client_id__in=clients)
                                    .values_list("pk", flat=True)[:20]),
        "service_id": list(Service.objects.values_list("pk", flat=True)[:20]),
        "organisation_id": list(Organisation.objects.values_list("pk", flat=True)[:20]),
        "opening_id": list(Opening.objects.values_list("pk", flat=True)[:20]),
        "number": [1, 2],
    }
    return {name: values for name, values in ids.items() if values}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/hostile_bench")
    parser.add_argument("--clients", type=int, default=200, help="size of the seeded demo region")
    parser.add_argument("--max-examples", type=int, default=300, help="examples per operation and mode")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--seconds", type=float, default=20 * 60, help="time box for the fuzzing itself")
    parser.add_argument("--only", default="", help="fuzz only operations whose label contains this text")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "security")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "polku.settings"
    os.environ.setdefault("POLKU_DATA_DIR", "/tmp/polku-api-fuzz")  # noqa: S108 - scratch directory of a benchmark
    os.environ["POLKU_AUTH_FAILURES"] = "1000000"
    _recreate_database(args.database_url)

    import django

    django.setup()
    import schemathesis
    from django.core import signals
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.result import Ok
    from schemathesis.generation import GenerationMode
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    from polku.accounts.services import token_create
    from polku.demo.region import load_demo_region
    from polku.wsgi import application

    logging.getLogger("django.request").setLevel(logging.ERROR)  # 4xx answers are expected by the thousand
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    region = load_demo_region(clients=args.clients, seed=11)
    seeded_s = time.perf_counter() - started
    user = region.staff["coordinator"]
    _token, secret = token_create(username=user.get_username())
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "fi"}
    real_ids = _real_ids(user)
    print(f"seeded {args.clients} clients in {seeded_s:.0f} s; real ids: "
          f"{ {k: len(v) for k, v in real_ids.items()} }", file=sys.stderr)

    # One connection for the whole run (the WSGI handler would close it after each request).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    server_errors: list[str] = []

    def _on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
        server_errors.append(traceback.format_exc(limit=-6))

    signals.got_request_exception.connect(_on_exception)

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = []
    invalid: list[str] = []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:  # an operation schemathesis cannot read is itself a finding
            invalid.append(repr(result.err())[:300])
    if args.only:
        operations = [op for op in operations if args.only in op.label]

    per_operation: list[dict[str, Any]] = []
    failures: dict[tuple[str, str, str], dict[str, Any]] = {}
    statuses: Counter[int] = Counter()
    skipped: list[str] = []  # kept in the summary for older readers: the time is now shared out instead
    deadline = time.perf_counter() + args.seconds
    fuzz_started = time.perf_counter()
    pairs = [(operation, mode) for operation in operations for mode in modes
             if mode != "real-ids" or (operation.path_parameters and all(
                 p.name in real_ids for p in operation.path_parameters))]
    for index, (operation, mode) in enumerate(pairs):
        # A fair share of the time left for each (operation, mode), so that every one is reached.
        share = max(0.0, deadline - time.perf_counter()) / (len(pairs) - index)
        pair_deadline = time.perf_counter() + share
        done = sum(p["examples"] for p in per_operation)
        rate = done / (time.perf_counter() - fuzz_started) if done else 50.0  # requests per second so far
        budget = max(5, min(args.max_examples, int(rate * share)))
        names = [p.name for p in operation.path_parameters]
        if mode == "real-ids":
            strategy = st.one_of(*[
                operation.as_strategy(GenerationMode.POSITIVE,
                                      path_parameters={n: real_ids[n][i % len(real_ids[n])] for n in names})
                for i in range(5)
            ])
        else:
            strategy = operation.as_strategy(GenerationMode(mode))
        counts: Counter[int] = Counter()
        op_failures = 0
        op_started = time.perf_counter()

        @settings(max_examples=budget, deadline=None, database=None, derandomize=False,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def fuzz(case: Any) -> None:
            nonlocal op_failures
            if time.perf_counter() > pair_deadline:  # this pair's share of the time is spent  # noqa: B023
                return
            del server_errors[:]
            try:
                response = case.call(headers=headers)
            except Exception as exc:  # the transport itself failed: an unhandled exception in the app
                key = (case.operation.label, "exception", type(exc).__name__)
                op_failures += 1
                failures.setdefault(key, {"mode": mode, "count": 0, "example": case.as_curl_command(headers),  # noqa: B023
                                          "detail": "".join(traceback.format_exception(exc, limit=-6))[-3000:]})
                failures[key]["count"] += 1
                return
            counts[response.status_code] += 1  # noqa: B023 - fuzz() runs within this iteration
            try:
                case.validate_response(response, checks=checks, headers=headers)
            except BaseException as exc:  # FailureGroup or a single Failure
                parts = list(getattr(exc, "exceptions", [exc]))
                op_failures += 1
                for part in parts:
                    key = (case.operation.label, type(part).__name__, str(response.status_code))
                    entry = failures.setdefault(key, {
                        "mode": mode, "count": 0, "example": case.as_curl_command(headers),  # noqa: B023
                        "message": str(getattr(part, "title", "")) + ": " + str(part)[:800],
                        "response": response.text[:500],
                        "server_exception": server_errors[-1][-3000:] if server_errors else "",
                    })
                    entry["count"] += 1
            if connection.needs_rollback or (connection.in_atomic_block and not connection.get_autocommit()):
                connection.close()

        try:
            fuzz()
        except Exception as exc:  # hypothesis itself gave up (unsatisfiable strategy and the like)
            failures.setdefault((operation.label, "generation", type(exc).__name__),
                                {"mode": mode, "count": 1, "message": repr(exc)[:800]})
        examples = sum(counts.values())
        statuses.update(counts)
        per_operation.append({
            "operation": operation.label, "mode": mode, "examples": examples, "failing_examples": op_failures,
            "statuses": dict(sorted(counts.items())), "elapsed_s": round(time.perf_counter() - op_started, 2),
        })
        print(f"{operation.label} [{mode}]: {examples} examples, {op_failures} failing, "
              f"{dict(sorted(counts.items()))}", file=sys.stderr)
    fuzz_s = time.perf_counter() - fuzz_started

    summary = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "database": connection.vendor,
        "region_clients": args.clients,
        "caller": "demo coordinator, bearer token",
        "max_examples_per_operation_and_mode": args.max_examples,
        "modes": modes,
        "operations_in_document": len(operations) + len(invalid),
        "operations_fuzzed": len({p["operation"] for p in per_operation}),
        "operations_schemathesis_could_not_read": invalid,
        "examples": sum(p["examples"] for p in per_operation),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors_5xx": sum(v for k, v in statuses.items() if k >= 500),
        "distinct_failures": len(failures),
        "failures": [{"operation": k[0], "check": k[1], "status": k[2], **v} for k, v in sorted(failures.items())],
        "skipped_for_time": skipped,
        "seed_s": round(seeded_s, 1),
        "fuzz_s": round(fuzz_s, 1),
        "per_operation": per_operation,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "api_fuzz_bench.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    (args.out / "api_fuzz_bench.md").write_text(_markdown(summary))
    print(json.dumps({k: v for k, v in summary.items() if k not in ("per_operation", "failures")}))
    return 1 if failures or invalid else 0


def _markdown(s: dict[str, Any]) -> str:
    lines = [
        "# API fuzzing benchmark (schemathesis)", "",
        f"- date: {s['date']}; machine: {s['machine']}; database: {s['database']}",
        f"- region: demo, {s['region_clients']} clients; caller: {s['caller']}",
        f"- budget: {s['max_examples_per_operation_and_mode']} examples per operation and mode; "
        f"modes: {', '.join(s['modes'])}",
        f"- operations: {s['operations_fuzzed']} fuzzed of {s['operations_in_document']} in the document",
        f"- examples (requests): {s['examples']}; 5xx answers: {s['server_errors_5xx']}; "
        f"distinct failures: {s['distinct_failures']}",
        f"- statuses: {s['statuses']}",
        f"- elapsed: seeding {s['seed_s']} s, fuzzing {s['fuzz_s']} s",
        f"- skipped for time: {len(s['skipped_for_time'])}", "",
    ]
    if s["failures"]:
        lines += ["## Failures", "", "| operation | check | status | mode | count |", "|---|---|---|---|---|"]
        lines += [f"| {f['operation']} | {f['check']} | {f['status']} | {f['mode']} | {f['count']} |"
                  for f in s["failures"]]
        lines.append("")
    by_op: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in s["per_operation"]:
        by_op[row["operation"]].append(row)
    lines += ["## Per operation", "", "| operation | mode | examples | failing | statuses |", "|---|---|---|---|---|"]
    for op, rows in by_op.items():
        lines += [f"| {op} | {r['mode']} | {r['examples']} | {r['failing_examples']} | {r['statuses']} |"
                  for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
