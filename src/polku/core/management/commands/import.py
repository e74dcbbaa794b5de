# ruff: noqa: N999 - the command is "polku import"; Django finds it by its module name
"""``polku import register FILE.csv`` and ``polku import services FILE.json`` (docs/imports.md)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from polku.core.errors import DomainError
from polku.core.management.common import add_operator_arguments, operator
from polku.core.progress import Progress
from polku.core.tables import format_table

#: Files with at least this many lines show a progress bar on stderr.
PROGRESS_MIN_LINES = 10_000
#: Problems shown on stdout; the report file (--report) has all of them.
SHOWN_PROBLEMS = 100


def _inert(cell: str) -> str:
    """A cell taken from the imported file (a header's column name) made inert for a spreadsheet: text that starts
    like a formula gets a leading apostrophe (OWASP "CSV injection")."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


class Command(BaseCommand):
    help = (
        "Import data. 'register FILE.csv' loads employment-status and benefit periods from a register extract "
        "(see docs/imports.md); 'services FILE.json' loads the service catalogue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="what", required=True, metavar="{register,services}")
        register = commands.add_parser(
            "register", help="employment-status and benefit periods from a register extract (CSV)",
            description="Load employment-status periods and benefit days from a register extract (CSV, UTF-8, "
            "',' or ';' between columns; docs/imports.md). Every row is validated first; by default nothing is "
            "written if any row is invalid. Importing the same file again changes nothing.",
        )
        register.add_argument("file", type=Path, metavar="FILE.csv")
        register.add_argument("--skip-invalid", action="store_true",
                              help="write the valid rows and report the invalid ones")
        register.add_argument("--report", type=Path, default=None, metavar="REPORT.csv",
                              help="write every problem found (row, column, code, problem) to this CSV file")
        register.add_argument("--dry-run", action="store_true", help="validate and count, write nothing")
        register.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        add_operator_arguments(register)
        services = commands.add_parser(
            "services", help="the service catalogue (JSON)",
            description="Load services into the service catalogue from a JSON file.",
        )
        services.add_argument("file", type=Path, metavar="FILE.json")
        services.add_argument("--dry-run", action="store_true", help="check the file, write nothing")

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts.get("language") or translation.get_language() or "fi"):
            if opts["what"] == "register":
                self._register(opts)
            else:
                self._services(opts)

    # register ----------------------------------------------------------------------------------------------------

    def _register(self, opts: dict[str, Any]) -> None:
        from polku.clients.register_import import import_register

        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        user = operator(opts["user"])
        bars: list[Progress] = []

        def progress(phase: str, total: int) -> Any:
            bar = Progress(total, self.stderr, enabled=total + 1 >= PROGRESS_MIN_LINES,
                           label=f"import register: {phase}", unit="rows")
            bars.append(bar)
            return bar.update

        try:
            result = import_register(path, skip_invalid=opts["skip_invalid"], dry_run=opts["dry_run"], user=user,
                                     progress=None if opts["no_progress"] else progress)
        except IntegrityError as exc:
            raise CommandError(_("Someone changed the same periods at the same time; nothing was written. Run the "
                                 "import again.")) from exc
        finally:
            for bar in bars:
                bar.finish()
        checked = result.checked
        if opts["report"] is not None:
            self._write_report(opts["report"], checked.problems)
        if checked.problems:
            shown = checked.problems[:SHOWN_PROBLEMS]
            self.stdout.write(format_table(
                [_("row"), _("column"), _("code"), _("problem")],
                [[p.row, p.column or _("(whole row)"), p.code, p.text] for p in shown],
            ))
            if len(checked.problems) > len(shown):
                more = len(checked.problems) - len(shown)
                self.stdout.write(ngettext("… and %(count)d more problem (all of them with --report).",
                                           "… and %(count)d more problems (all of them with --report).", more)
                                  % {"count": more})
            self.stdout.write("")
        if checked.fatal:
            raise CommandError(_("The file cannot be imported; nothing was written."), returncode=1)
        if checked.problems and not opts["skip_invalid"]:
            raise CommandError(
                ngettext("%(invalid)d of %(rows)d rows is invalid; nothing was written. Correct it, or import the "
                         "valid rows with --skip-invalid.",
                         "%(invalid)d of %(rows)d rows are invalid; nothing was written. Correct them, or import the "
                         "valid rows with --skip-invalid.", checked.invalid_rows)
                % {"invalid": checked.invalid_rows, "rows": checked.rows},
                returncode=1,
            )
        status, benefit = result.counts["status"], result.counts["benefit"]
        self.stdout.write(_("Employment-status periods: %(created)d new, %(updated)d changed, %(unchanged)d "
                            "unchanged.") % vars(status))
        self.stdout.write(_("Benefit periods: %(created)d new, %(updated)d changed, %(unchanged)d unchanged.")
                          % vars(benefit))
        if checked.problems:
            self.stdout.write(ngettext("%(invalid)d invalid row was skipped.", "%(invalid)d invalid rows were skipped.",
                                       checked.invalid_rows) % {"invalid": checked.invalid_rows})
        if opts["dry_run"]:
            self.stdout.write(_("Dry run: nothing was written."))

    def _write_report(self, path: Path, problems: list[Any]) -> None:
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(["row", "column", "code", "problem"])
                writer.writerows([p.row, _inert(p.column), p.code, _inert(p.text)] for p in problems)
        except OSError as exc:
            raise CommandError(_("Cannot write the report to %(path)s: %(error)s")
                               % {"path": path, "error": exc.strerror}) from exc

    # services ----------------------------------------------------------------------------------------------------

    def _services(self, opts: dict[str, Any]) -> None:
        path: Path = opts["file"]
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            from polku.catalogue.interchange import import_services
        except ModuleNotFoundError as exc:
            if exc.name != "polku.catalogue.interchange":
                raise
            raise CommandError(_("Importing services is not available in this version of Polku.")) from exc
        try:
            report = import_services(path, dry_run=opts["dry_run"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(str(report))
        if getattr(report, "errors", None):
            raise CommandError(_("The services file has errors (see above)."), returncode=1)
