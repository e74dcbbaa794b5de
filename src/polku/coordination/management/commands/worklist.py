import json
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from polku.coordination.selectors import worklist
from polku.coordination.services import alert_acknowledge, alert_comment
from polku.core.errors import DomainError
from polku.core.tables import format_table

from .sweep import parse_day


class Command(BaseCommand):
    help = (
        "A staff member's worklist: the open coordination alerts they should act on, most urgent first, with "
        "the action that resolves each. --ack ALERT acknowledges one, --comment ALERT adds a note."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, metavar="USERNAME", help="whose worklist")
        parser.add_argument("--limit", type=int, default=20, help="how many items (default 20)")
        parser.add_argument("--as-of", default=None, metavar="YYYY-MM-DD", help="count days overdue from this day")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--language", choices=["fi", "sv", "en"], default=None, help="language of the output")
        parser.add_argument("--history", action="store_true", help="show each item's history")
        parser.add_argument("--ack", type=int, default=None, metavar="ALERT", help="acknowledge this alert")
        parser.add_argument("--comment", type=int, default=None, metavar="ALERT", help="comment on this alert")
        parser.add_argument("--note", default="", help="note for --ack or --comment")

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts["language"] or translation.get_language() or "fi"):
            self._handle(opts)

    def _handle(self, opts: dict[str, Any]) -> None:
        user = get_user_model().objects.filter(username=opts["user"]).first()
        if user is None:
            raise CommandError(_("No user %(name)r.") % {"name": opts["user"]})
        if not 1 <= opts["limit"] <= 1000:
            raise CommandError(_("--limit must be between 1 and 1000."))
        try:
            if opts["ack"] is not None:
                alert = alert_acknowledge(actor=user, alert_id=opts["ack"], note=opts["note"])
                self.stdout.write(_("Alert %(id)s acknowledged.") % {"id": alert.pk})
                return
            if opts["comment"] is not None:
                alert_comment(actor=user, alert_id=opts["comment"], note=opts["note"])
                self.stdout.write(_("Comment added to alert %(id)s.") % {"id": opts["comment"]})
                return
            items = worklist(actor=user, limit=opts["limit"], as_of=parse_day(opts["as_of"]))
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        if opts["format"] == "json":
            self.stdout.write(json.dumps([
                {"alert": i.alert.pk, "rule": i.alert.rule, "title": i.rule_title, "text": i.text,
                 "client": i.client_name, "client_id": i.alert.client_id, "severity": i.alert.severity,
                 "since": i.since.isoformat(), "days_overdue": i.days_overdue, "vulnerability": i.vulnerability,
                 "mine": i.mine, "action": i.action, "action_url": i.action_url,
                 "history": [{"at": h.at.isoformat(), "what": h.what, "by": h.by, "note": h.note} for h in i.history]}
                for i in items
            ], ensure_ascii=False, indent=2))
            return
        if not items:
            self.stdout.write(_("Nothing on the worklist."))
            return
        rows = [
            [i.alert.pk, i.severity, i.days_overdue, i.vulnerability, i.client_name, i.text, i.action, i.action_url]
            for i in items
        ]
        self.stdout.write(format_table(
            [_("alert"), _("severity"), _("days over"), _("vuln."), _("client"), _("what"), _("action"), _("where")],
            rows,
        ))
        if opts["history"]:
            for i in items:
                self.stdout.write("")
                self.stdout.write(f"#{i.alert.pk} {i.client_name}: {i.rule_title}")
                for h in i.history:
                    note = f" — {h.note}" if h.note else ""
                    self.stdout.write(f"  {h.at:%Y-%m-%d %H:%M}  {h.what} ({h.by}){note}")
