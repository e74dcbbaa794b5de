import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from polku.coordination.selectors import gap_overview
from polku.core.errors import DomainError
from polku.core.tables import format_table

from .sweep import parse_day


def shown(value: Any, threshold: int) -> str:
    return f"<{threshold}" if value is None else str(value)


class Command(BaseCommand):
    help = (
        "Managers' picture of people falling between services: open gaps by rule, provider and service, the "
        "weekly trend and referral waiting times. Counts only; small counts are suppressed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, metavar="USERNAME", help="a manager or administrator")
        parser.add_argument("--weeks", type=int, default=12, help="weeks of trend (default 12)")
        parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--language", choices=["fi", "sv", "en"], default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts["language"] or translation.get_language() or "fi"):
            self._handle(opts)

    def _handle(self, opts: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(_("No user %(name)r.") % {"name": opts["user"]})
        try:
            o = gap_overview(actor=user, weeks=opts["weeks"], as_of=parse_day(opts["as_of"]))
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        k = o.small_cell
        if opts["format"] == "json":
            self.stdout.write(json.dumps({
                "as_of": o.as_of.isoformat(), "open": o.total_open, "small_cell_threshold": k,
                "by_rule": o.by_rule, "by_provider": o.by_provider, "by_service": o.by_service,
                "trend": [{**t, "week_ending": t["week_ending"].isoformat()} for t in o.trend],
                "waiting": o.waiting,
                "last_sweep": o.last_sweep.as_of.isoformat() if o.last_sweep else None,
            }, ensure_ascii=False, indent=2))
            return
        last = o.last_sweep.as_of.isoformat() if o.last_sweep else _("never")
        self.stdout.write(_("Open gaps: %(n)s (latest sweep as of %(day)s). Counts under %(k)s are not shown.")
                          % {"n": o.total_open, "day": last, "k": k})
        sections = [
            (_("By rule"), [_("rule"), _("open")], [[r["title"], shown(r["open"], k)] for r in o.by_rule]),
            (_("By provider"), [_("organisation"), _("rule"), _("open")],
             [[r["organisation"], r["rule"], shown(r["open"], k)] for r in o.by_provider]),
            (_("By service"), [_("service"), _("rule"), _("open")],
             [[r["service"], r["rule"], shown(r["open"], k)] for r in o.by_service[:30]]),
            (_("Week by week"), [_("week ending"), _("open"), _("opened"), _("resolved")],
             [[t["week_ending"].isoformat(), shown(t["open"], k), shown(t["opened"], k), shown(t["resolved"], k)]
              for t in o.trend]),
            (_("Referrals waiting for an answer or a place"),
             [_("organisation"), _("waiting"), _("< 14 d"), _("14–30 d"), _("30–90 d"), _("> 90 d")],
             [[w["organisation"], shown(w["waiting"], k), shown(w["under_14_days"], k),
               shown(w["14_to_30_days"], k), shown(w["30_to_90_days"], k), shown(w["over_90_days"], k)]
              for w in o.waiting]),
        ]
        for title, headers, rows in sections:
            self.stdout.write("")
            self.stdout.write(str(title))
            self.stdout.write(format_table([str(h) for h in headers], rows))
