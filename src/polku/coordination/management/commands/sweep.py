import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count
from django.utils import translation
from django.utils.translation import gettext as _

from polku.coordination.models import Alert
from polku.coordination.rules import RULES
from polku.coordination.services import sweep
from polku.coordination.tasks import daily_sweep, schedule_next
from polku.core.errors import DomainError
from polku.core.tables import format_table
from polku.organisations.models import Organisation


def parse_day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(_("--as-of must be a date as YYYY-MM-DD, not %(value)r.") % {"value": text}) from None


class Command(BaseCommand):
    help = (
        "Evaluate every coordination rule over the whole client base and bring the alerts up to date: who is "
        "falling between services, which deadlines are coming due or overdue."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD",
                            help="evaluate as of this day (default today)")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--language", choices=["fi", "sv", "en"], default=None, help="language of the output")
        parser.add_argument("--schedule", action="store_true",
                            help="queue the nightly sweep as a background task (run by polku worker) instead")
        parser.add_argument("--enqueue", action="store_true", help="queue one sweep now for the worker")
        parser.add_argument("--no-progress", action="store_true", help="do not show progress on stderr")
        parser.add_argument("--full", action="store_true",
                            help="evaluate every client, not only those whose data changed or whose next threshold "
                                 "came due (PostgreSQL sweeps incrementally when it can)")

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts["language"] or translation.get_language() or "fi"):
            self._handle(opts)

    def _handle(self, opts: dict[str, Any]) -> None:
        as_of = parse_day(opts["as_of"])
        if opts["schedule"]:
            when = schedule_next()
            self.stdout.write(_("The nightly sweep is queued for %(when)s; polku worker runs it.")
                              % {"when": when.isoformat(timespec="minutes")})
            return
        if opts["enqueue"]:
            queued = daily_sweep.enqueue(as_of.isoformat() if as_of else None, False)
            self.stdout.write(_("Sweep queued (task %(id)s); polku worker runs it.") % {"id": queued.id})
            return
        progress = None if opts["no_progress"] or opts["format"] == "json" else self.stderr.write
        try:
            result = sweep(as_of=as_of, triggered_by="command", progress=progress, full=opts["full"])
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        run = result.run
        by_org = (
            Alert.objects.filter(resolved_at__isnull=True)
            .order_by()
            .values_list("responsible_organisation_id")
            .annotate(n=Count("pk"))
        )
        names = {o.pk: str(o) for o in Organisation.objects.all()}
        organisations = {names.get(org, _("(none)")) if org else _("(none)"): n for org, n in by_org}
        if opts["format"] == "json":
            self.stdout.write(json.dumps({
                "as_of": run.as_of.isoformat(), "opened": run.opened, "resolved": run.resolved,
                "open": run.open_total, "by_rule": run.counts, "by_organisation": organisations,
                "seconds": round(result.seconds, 3), "incremental": run.incremental,
                "clients_evaluated": run.clients_evaluated,
                "rule_seconds": {k: round(v, 3) for k, v in result.rule_seconds.items()},
            }, ensure_ascii=False, indent=2))
            return
        rows = [[RULES[code].code, str(RULES[code].title), run.counts.get(code, 0)] for code in RULES]
        self.stdout.write(_("Sweep as of %(day)s: %(open)s open alerts (%(opened)s new, %(resolved)s resolved) "
                            "in %(seconds).1f s.") % {"day": run.as_of.isoformat(), "open": run.open_total,
                                                      "opened": run.opened, "resolved": run.resolved,
                                                      "seconds": result.seconds})
        if run.incremental:
            self.stdout.write(_("Incremental: clients evaluated %(n)s (their data changed, or their next threshold "
                                "came due); nobody else's alerts can have changed.")
                              % {"n": run.clients_evaluated})
        else:
            self.stdout.write(_("Full: every client evaluated."))
        self.stdout.write("")
        self.stdout.write(format_table([_("rule"), _("what"), _("open")], rows))
        self.stdout.write("")
        self.stdout.write(format_table([_("responsible organisation"), _("open")],
                                       sorted(organisations.items(), key=lambda kv: -kv[1])))
        self.stdout.write("")
        self.stdout.write(_("Each coordinator's list: polku worklist --user USERNAME"))
