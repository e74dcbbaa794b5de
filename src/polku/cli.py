"""The ``polku`` command: Polku's own commands plus a pass-through to Django's management commands."""

from __future__ import annotations

import os
import sys

HELP = """usage: polku COMMAND [ARGS...]

Polku: a shared system for the multi-sector joint service.

Commands:
  demo [--clients N] [--port PORT] [--no-server]
                        migrate the embedded database, load a demo region, print the demo logins
                        and serve Polku on http://127.0.0.1:8000/
  migrate               create or update the database tables
  createsuperuser       create an administrator account
  token create USERNAME [--expires DAYS] [--name NAME]
                        create an API token (printed once); token revoke PREFIX revokes it
  accounts reset-2fa USERNAME
                        remove a staff member's two-factor device (a lost phone); they set up the
                        authenticator app again at their next sign-in (docs/security.md)
  worker [--queue-name Q] [--batch]
                        run background tasks queued through Django's tasks API (django-tasks-db);
                        run several on several machines against the same database
  sweep [--as-of DATE] [--format table|json] [--schedule]
                        evaluate the coordination rules over the whole client base and update the alerts;
                        --schedule queues the nightly sweep for the worker
  worklist --user USERNAME [--limit N] [--ack ALERT] [--history]
                        what that staff member should do first, with the action that resolves each item
  gaps --user USERNAME [--weeks N]
                        managers: open gaps by rule, provider and service, weekly trend, waiting times
  rules [set RULE KEY=VALUE ... | reset RULE]
                        the coordination rules and this region's thresholds
  import register FILE.csv [--skip-invalid] [--report REPORT.csv] [--dry-run]
                        load employment-status and benefit periods from a register extract
                        (docs/imports.md); nothing is written if a row is invalid
  import services FILE.json [--dry-run]
                        load services into the service catalogue
  export client IDENTITY_CODE --out FILE.json
                        everything Polku holds about a person (GDPR Article 15), logged
  export services --format ptv|hsds [--out FILE]
                        the service catalogue in an interchange format
  export analysis-table --as-of DATE [--history N] --out FILE.parquet|FILE.csv
                        the pseudonymised analysis table (docs/analysis-table.md), logged
  impact train|score|segments|fairness|effects|models|schedule
                        the impact model: employment potential (validated out of time), client segments,
                        the fairness audit, causal effects of services with an allocation rule
                        (docs/effects.md), the model registry, periodic retraining (docs/impact.md)
  contracts define|list|compute|show
                        outcome-based contracts: define one, compute and store what it owes with the
                        evidence (docs/contracts.md)
  indicators [refresh|schedule|list] --period 2025 [--report esf|joint|chain|all] [--by DIM[,DIM]]
             [--region CODES] [--format table|csv|xlsx|pdf|json] [--out FILE]
                        indicator reports with small-cell protection: the ESF+ common indicators,
                        joint-service and service-chain indicators (docs/indicators.md)
  partners suggest|contracts|skills
                        employment partners: the best openings for a client (hard constraints never
                        broken, reasons), employment clauses and their fulfilment (docs/partners.md)
  audit verify [--no-seal] [--expect-head POSITION:HASH] [--format table|json]
                        seal new access-log entries into the hash chain and verify the whole log;
                        audit seal|head|schedule (docs/security.md)
  retention [run|rules|schedule|history] [--as-of DATE] [--dry-run] [--format table|json]
                        anonymise or delete what has passed its retention period (logged); the rules in
                        force; the nightly run (var/security/retention.md)
  db checksum [--format table|json]
                        every table's row count and checksum: compare a restored backup with its source
  help [COMMAND]        help on a command
  Any other Django management command (check, shell, dbshell, makemigrations, ...) is passed through.

Settings come from environment variables: DATABASE_URL (default: SQLite under ./var or the user's data
directory), POLKU_SECRET_KEY, POLKU_ALLOWED_HOSTS, POLKU_DEBUG. See README.md.
"""

ALIASES = {"worker": "db_worker"}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"}:
        sys.stdout.write(HELP)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "polku.settings")
    from django.core.management import execute_from_command_line

    if args[0] == "help" and len(args) > 1:
        args = [ALIASES.get(args[1], args[1]), "--help"]
    args[0] = ALIASES.get(args[0], args[0])
    execute_from_command_line(["polku", *args])


if __name__ == "__main__":
    main()
