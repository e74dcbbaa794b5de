import datetime as dt
import getpass
import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from polku.core.errors import DomainError
from polku.core.progress import Progress
from polku.core.tables import format_table
from polku.retention.models import RetentionRun
from polku.retention.rules import effective_rules
from polku.retention.services import run_retention
from polku.retention.tasks import nightly_retention, schedule_next


def parse_day(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("--as-of must be a date as YYYY-MM-DD, not %(value)r.") % {"value": text}) from None


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this user id (a container)
        return ""


class Command(BaseCommand):
    help = (
        "Enforce the retention rules: anonymise or delete the records whose retention period has ended "
        "(run), show the rules in force (rules), queue the nightly run for the worker (schedule), or list the "
        "past runs (history). See var/security/retention.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", default="run", choices=["run", "rules", "schedule", "history"])
        parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                            help="count the periods up to this day (default today)")
        parser.add_argument("--dry-run", action="store_true",
                            help="count what has expired and what would change; write nothing")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--user", default="", help="the administrator running it (recorded in the log)")
        parser.add_argument("--enqueue", action="store_true", help="run: queue one run now for the worker")
        parser.add_argument("--language", choices=["fi", "sv", "en"], default=None, help="language of the output")
        parser.add_argument("--no-progress", action="store_true", help="do not show progress on stderr")

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts["language"] or translation.get_language() or "fi"):
            try:
                getattr(self, f"_{opts['action']}")(opts)
            except DomainError as exc:
                raise CommandError(str(exc)) from exc

    def _rules(self, opts: dict[str, Any]) -> None:
        rules = effective_rules()
        if opts["format"] == "json":
            self.stdout.write(json.dumps([
                {"rule": r.code, "title": str(r.title), "anchor": str(r.anchor), "years": r.years,
                 "action": r.action, "enabled": r.enabled, "confirmed": r.confirmed, "source": r.source}
                for r in rules.values()], ensure_ascii=False, indent=2))
            return
        rows = [[r.code, str(r.title), r.years, r.action, _("yes") if r.enabled else _("no"),
                 _("confirmed") if r.confirmed else _("unconfirmed")] for r in rules.values()]
        self.stdout.write(format_table([_("rule"), _("record type"), _("years"), _("action"), _("enabled"),
                                        _("period")], rows))

    def _schedule(self, opts: dict[str, Any]) -> None:
        when = schedule_next()
        self.stdout.write(_("The nightly retention run is queued for %(when)s; polku worker runs it.")
                          % {"when": when.isoformat(timespec="minutes")})

    def _history(self, opts: dict[str, Any]) -> None:
        runs = list(RetentionRun.objects.prefetch_related("results")[:20])
        if opts["format"] == "json":
            self.stdout.write(json.dumps([
                {"id": run.pk, "as_of": run.as_of.isoformat(), "started_at": run.started_at.isoformat(),
                 "triggered_by": run.triggered_by, "user": run.user.get_username() if run.user else None,
                 "rules": {r.rule: {"expired": r.expired, "changed": r.changed, "rows": r.rows}
                           for r in run.results.all()}}
                for run in runs], ensure_ascii=False, indent=2))
            return
        rows = [[run.pk, run.as_of.isoformat(), f"{run.started_at:%Y-%m-%d %H:%M}", run.triggered_by,
                 run.expired, run.changed] for run in runs]
        self.stdout.write(format_table(["#", _("as of"), _("started"), _("triggered by"), _("expired"),
                                        _("changed")], rows))

    def _run(self, opts: dict[str, Any]) -> None:
        as_of = parse_day(opts["as_of"])
        if opts["enqueue"]:
            queued = nightly_retention.enqueue(as_of.isoformat() if as_of else None, False)
            self.stdout.write(_("Retention run queued (task %(id)s); polku worker runs it.") % {"id": queued.id})
            return
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(_("No user %(name)s.") % {"name": opts["user"]})
        bars: dict[str, Progress] = {}

        def progress(code: str, done: int, total: int) -> None:
            bar = bars.get(code)
            if bar is None:
                bar = bars[code] = Progress(total, self.stderr, label=f"retention {code}", unit=_("records"))
            bar.update(done - bar.done)

        show = not opts["no_progress"] and opts["format"] == "table"
        who = opts["user"] or _who()
        result = run_retention(as_of, dry_run=opts["dry_run"], user=user, progress=progress if show else None,
                               triggered_by=f"command ({who})" if who else "command")
        if opts["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        if result.dry_run:
            self.stdout.write(_("Dry run as of %(day)s: nothing was changed.") % {"day": result.as_of.isoformat()})
        else:
            self.stdout.write(_("Retention run %(run)s as of %(day)s in %(seconds).1f s.")
                              % {"run": result.run.pk if result.run else "", "day": result.as_of.isoformat(),
                                 "seconds": result.seconds})
        self.stdout.write("")
        rows = [[o.rule.code, o.rule.action, o.rule.years, o.cutoff.isoformat(), o.expired, o.changed]
                for o in result.outcomes]
        self.stdout.write(format_table([_("rule"), _("action"), _("years"), _("anchor before"), _("expired"),
                                        _("rows changed") if not result.dry_run else _("rows to change")], rows))
        details = [[o.rule.code, label, n] for o in result.outcomes for label, n in sorted(o.rows.items())]
        if details:
            self.stdout.write("")
            self.stdout.write(format_table([_("rule"), _("table"), _("rows")], details))
        if any(o.rule.code == "access_log" and o.expired for o in result.outcomes):
            self.stdout.write("")
            self.stdout.write(_("Access-log entries past their period are counted only; the access log is pruned "
                                "by its own component (polku.audit), never by this job."))
