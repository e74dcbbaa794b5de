"""``polku indicators``: indicator reports (ESF+, joint service, service chain) and rebuilding their facts.

    polku indicators --period 2025 [--report esf|joint|chain|all] [--region 179,182] [--by age_band[,language]]
                     [--format table|csv|xlsx|pdf|json] [--out FILE] [--language fi|sv|en] [--refresh]
    polku indicators refresh [--as-of DATE]
    polku indicators list
    polku indicators schedule

See docs/indicators.md.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from polku.core.errors import InvalidInput
from polku.indicators import definitions as defs
from polku.indicators.exports import render
from polku.indicators.facts import refresh
from polku.indicators.services import REPORTS, build_report

FORMATS = ("table", "csv", "xlsx", "pdf", "json")


class Command(BaseCommand):
    help = "Indicator reports (ESF+, joint service, service chain) with small-cell protection (docs/indicators.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", default="report", choices=["report", "refresh", "list", "schedule"],
                            help="report (default), refresh the facts, schedule the nightly refresh, or list the "
                            "indicator definitions")
        parser.add_argument("--period", help="2025, 2025-Q2, 2025-03 or 2025-01-01..2025-06-30")
        parser.add_argument("--report", default="all", help="esf, joint, chain or all (default)")
        parser.add_argument("--region", default="", help="municipality codes, comma-separated (default: all)")
        parser.add_argument("--by", default="", help="breakdown(s), comma-separated: " + ", ".join(defs.BREAKDOWNS))
        parser.add_argument("--format", default="table", help="table, csv, xlsx, pdf or json")
        parser.add_argument("--out", default="", help="write to this file (required for xlsx and pdf)")
        parser.add_argument("--language", default="", help="fi, sv or en (default: the site's language)")
        parser.add_argument("--refresh", action="store_true", help="rebuild the facts first")
        parser.add_argument("--as-of", default="", help="refresh: read the records up to this day (default today)")

    def handle(self, *args: Any, **options: Any) -> None:
        language = options["language"] or settings.LANGUAGE_CODE
        if language not in {code for code, _name in settings.LANGUAGES}:
            raise CommandError(f"--language must be one of: {', '.join(c for c, _n in settings.LANGUAGES)}")
        with translation.override(language):
            self._handle(language, options)

    def _progress(self, message: str) -> None:
        self.stderr.write(f"indicators: {message}")

    def _handle(self, language: str, options: dict[str, Any]) -> None:
        action = options["action"]
        if action == "list":
            self._list()
            return
        if action == "schedule":
            from polku.indicators.tasks import schedule_next

            when = schedule_next()
            self.stdout.write(_("The indicator facts are rebuilt nightly; next %(when)s (when `polku worker` runs).")
                              % {"when": f"{timezone.localtime(when):%Y-%m-%d %H:%M}"})
            return
        if action == "refresh" or options["refresh"]:
            as_of: dt.date = timezone.localdate()
            if options["as_of"]:
                from polku.impact.management.commands.impact import _date

                as_of = _date(options["as_of"], "--as-of") or as_of
            run = refresh(as_of, progress=self._progress)
            self.stderr.write(_("Facts rebuilt from the records up to %(as_of)s: %(n)d participations, %(r)d "
                                "referrals.") % {"as_of": run.as_of, "n": run.participations, "r": run.referrals})
            if action == "refresh":
                return
        fmt = options["format"]
        if fmt not in FORMATS:
            raise CommandError(_("Unknown format “%(name)s”. Choose from: %(choices)s.")
                               % {"name": fmt, "choices": ", ".join(FORMATS)})
        if not options["period"]:
            raise CommandError(_("Give the period with --period (e.g. --period 2025)."))
        if options["report"] not in REPORTS:
            raise CommandError(_("Unknown report “%(name)s”. Choose from: %(choices)s.")
                               % {"name": options["report"], "choices": ", ".join(REPORTS)})
        if fmt in ("xlsx", "pdf") and not options["out"]:
            raise CommandError(_("The %(format)s format needs --out FILE.") % {"format": fmt})
        try:
            report = build_report(options["report"], period=options["period"], region=options["region"],
                                  by=options["by"], language=language)
        except InvalidInput as exc:
            raise CommandError(str(exc)) from None
        data = render(report, fmt)
        if options["out"]:
            path = Path(options["out"])
            try:
                path.write_bytes(data)
            except OSError as exc:
                raise CommandError(_("Cannot write %(path)s: %(error)s") % {"path": path, "error": exc}) from None
            self.stderr.write(_("Report written to %(path)s.") % {"path": path})
        else:
            sys.stdout.flush()
            self.stdout.write(data.decode("utf-8"), ending="")

    def _list(self) -> None:
        codes = defs.esf_codes()
        for ind in (*defs.ESF_OUTPUTS, *defs.ESF_RESULTS):
            self.stdout.write(f"{ind.key:32} {codes.get(ind.key, ''):7} {ind.name}\n    {ind.definition}")
        self.stdout.write(_("Joint-service, service-chain and assessment indicators: see docs/indicators.md."))
