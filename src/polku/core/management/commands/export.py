"""``polku export client IDENTITY_CODE --out FILE.json`` and ``polku export services --format ptv|hsds``."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from polku.core.errors import DomainError
from polku.core.identity import parse_hetu
from polku.core.management.common import add_operator_arguments, operator

#: The access log's name for this command as the one who processed the data.
ACTOR_NAME = "polku export client"
EXPORT_PURPOSE = gettext_lazy("Right of access: a copy of all the client's data (GDPR Article 15)")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, through a temporary file beside it, so that a
    failure never leaves half a file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Command(BaseCommand):
    help = (
        "Export data. 'client IDENTITY_CODE --out FILE.json' writes everything Polku holds about a person (the "
        "right of access, GDPR Article 15) and records the export in the access log; 'services --format ptv|hsds' "
        "writes the service catalogue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="what", required=True, metavar="{client,services,analysis-table}")
        client = commands.add_parser(
            "client", help="everything Polku holds about one person (GDPR Article 15), as JSON",
            description="Write everything Polku holds about a person to a JSON file readable by its owner only: "
            "the client record, consents, employment and benefit periods, contacts, moves, episodes, plans, "
            "assessments, referrals, coordination alerts and the access log. The export itself is recorded in "
            "the client's access log.",
        )
        client.add_argument("identity_code", metavar="IDENTITY_CODE", help="the person's personal identity code")
        client.add_argument("--out", type=Path, required=True, metavar="FILE.json", help="where to write it")
        add_operator_arguments(client)
        services = commands.add_parser(
            "services", help="the service catalogue in an interchange format",
            description="Write the service catalogue as JSON in the national service catalogue's (ptv) or the "
            "Human Services Data Specification's (hsds) format.",
        )
        services.add_argument("--format", choices=["ptv", "hsds"], required=True, help="interchange format")
        services.add_argument("--out", type=Path, default=None, metavar="FILE",
                              help="where to write it (default: standard output)")
        table = commands.add_parser(
            "analysis-table", help="the pseudonymised analysis table (docs/analysis-table.md), CSV or Parquet",
            description="Write one row per joint-service client and reference date: what Polku knew on that date "
            "and the outcomes that followed. Persons are keyed pseudonyms; no direct identifiers. Each client's "
            "access log records the processing.",
        )
        table.add_argument("--as-of", nargs="+", required=True, metavar="DATE",
                           help="reference date(s), YYYY-MM-DD")
        table.add_argument("--history", type=int, default=0, metavar="N",
                           help="also N earlier reference dates, each --step-months before the first --as-of")
        table.add_argument("--step-months", type=int, default=3, metavar="M", help="months between --history dates")
        table.add_argument("--observed-until", default=None, metavar="DATE",
                           help="the register data's last day: later outcomes are left empty (default: today)")
        table.add_argument("--out", type=Path, required=True, metavar="FILE.parquet|FILE.csv",
                           help="where to write it (the format by the suffix)")
        add_operator_arguments(table)

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts.get("language") or translation.get_language() or "fi"):
            if opts["what"] == "client":
                self._client(opts)
            elif opts["what"] == "analysis-table":
                self._analysis_table(opts)
            else:
                self._services(opts)

    def _client(self, opts: dict[str, Any]) -> None:
        from polku.audit.models import AccessAction
        from polku.audit.services import log_system_access
        from polku.clients.export import client_data_export
        from polku.clients.models import Client
        from polku.core.choices import DataCategory

        try:
            code = parse_hetu(opts["identity_code"]).code
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from exc
        out: Path = opts["out"]
        if not out.parent.is_dir():
            raise CommandError(_("No such directory: %(path)s") % {"path": out.parent})
        user = operator(opts["user"])
        client = Client.objects.filter(personal_identity_code=code).first()
        if client is None:
            raise CommandError(_("No client has this identity code."))
        with transaction.atomic():
            # Logged first, so that the copy shows its own export; a failure to write the file rolls it back.
            log_system_access(client_ids=[client.pk], category=DataCategory.BASIC, action=AccessAction.EXPORT,
                              purpose=EXPORT_PURPOSE, actor_name=ACTOR_NAME, user=user, object_type="Client",
                              object_id=str(client.pk))
            data = client_data_export(client)
            try:
                write_private(out, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
            except OSError as exc:
                raise CommandError(_("Cannot write %(path)s: %(error)s") % {"path": out, "error": exc.strerror}
                                   ) from exc
        self.stdout.write(_("The client's data was written to %(path)s.") % {"path": out})

    def _services(self, opts: dict[str, Any]) -> None:
        try:
            from polku.catalogue.interchange import export_services
        except ModuleNotFoundError as exc:
            if exc.name != "polku.catalogue.interchange":
                raise
            raise CommandError(_("Exporting services is not available in this version of Polku.")) from exc
        try:
            data = export_services(opts["format"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        out: Path | None = opts["out"]
        if out is None:
            self.stdout.write(text, ending="")
            return
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(_("Cannot write %(path)s: %(error)s") % {"path": out, "error": exc.strerror}) from exc

    def _analysis_table(self, opts: dict[str, Any]) -> None:
        import sys
        import time

        from polku.core.dates import add_months
        from polku.impact.services import DataError, database_table, write_table

        dates = [_parse_date(text, "--as-of") for text in opts["as_of"]]
        if not 0 <= opts["history"] <= 240:
            raise CommandError(_("--history must be between 0 and 240."))
        if not 1 <= opts["step_months"] <= 24:
            raise CommandError(_("--step-months must be between 1 and 24."))
        first = min(dates)
        dates += [add_months(first, -opts["step_months"] * i) for i in range(1, opts["history"] + 1)]
        until = _parse_date(opts["observed_until"], "--observed-until") if opts["observed_until"] else None
        out: Path = opts["out"]
        if out.suffix.lower() not in {".csv", ".parquet", ".pq"}:
            raise CommandError(_("The output must be .csv or .parquet: %(path)s") % {"path": out})
        if not out.parent.is_dir():
            raise CommandError(_("No such directory: %(path)s") % {"path": out.parent})
        user = operator(opts["user"])
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\ranalysis table: {done}/{total} reference dates, {time.monotonic() - started:.0f}s")
            sys.stderr.flush()

        with transaction.atomic():
            table = database_table(sorted(set(dates)), observed_until=until, actor_name="polku export analysis-table",
                                   user=user, progress=progress)
            sys.stderr.write("\n")
            try:
                write_table(table, out)
            except (DataError, OSError) as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(_("%(rows)d rows (%(persons)d persons, %(dates)d reference dates) were written to "
                            "%(path)s.") % {"rows": len(table), "persons": table["person"].nunique(),
                                            "dates": len(set(dates)), "path": out})


def _parse_date(text: str, option: str) -> Any:
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("%(option)s must be a date as YYYY-MM-DD, not %(value)r.")
                           % {"option": option, "value": text}) from None
