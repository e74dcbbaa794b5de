import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from polku.coordination.rules import GROUPS, effective_rules
from polku.coordination.services import rule_setting_reset, rule_setting_set
from polku.core.errors import DomainError
from polku.core.tables import format_table


class Command(BaseCommand):
    help = (
        "The coordination rules and this region's thresholds. rules set RULE KEY=VALUE ... changes them "
        "(also severity=1..3, enabled=yes|no); rules reset RULE returns to the defaults."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "set", "reset"], default="list")
        parser.add_argument("rule", nargs="?")
        parser.add_argument("values", nargs="*", metavar="KEY=VALUE")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--language", choices=["fi", "sv", "en"], default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(opts["language"] or translation.get_language() or "fi"):
            self._handle(opts)

    def _handle(self, opts: dict[str, Any]) -> None:
        try:
            if opts["action"] == "set":
                self._set(opts)
            elif opts["action"] == "reset":
                if not opts["rule"]:
                    raise CommandError(_("Name the rule to reset."))
                rule_setting_reset(rule=opts["rule"])
                self.stdout.write(_("Rule %(rule)s is back to its defaults.") % {"rule": opts["rule"]})
            else:
                self._list(opts)
        except DomainError as exc:
            raise CommandError(str(exc)) from exc

    def _set(self, opts: dict[str, Any]) -> None:
        if not opts["rule"] or not opts["values"]:
            raise CommandError(_("Usage: polku rules set RULE KEY=VALUE [KEY=VALUE ...]"))
        params: dict[str, Any] = {}
        severity = enabled = None
        for item in opts["values"]:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(_("Give each setting as KEY=VALUE, not %(item)r.") % {"item": item})
            if key == "severity":
                severity = value
            elif key == "enabled":
                if value.lower() not in {"yes", "no", "true", "false", "1", "0"}:
                    raise CommandError(_("enabled is yes or no."))
                enabled = value.lower() in {"yes", "true", "1"}
            else:
                params[key] = value
        setting = rule_setting_set(actor=None, rule=opts["rule"], params=params, severity=severity, enabled=enabled)
        self.stdout.write(_("Saved %(rule)s: %(params)s")
                          % {"rule": setting.rule, "params": json.dumps(setting.params)})

    def _list(self, opts: dict[str, Any]) -> None:
        rules = effective_rules()
        if opts["format"] == "json":
            self.stdout.write(json.dumps([
                {"rule": r.rule.code, "group": r.rule.group, "title": str(r.rule.title),
                 "description": str(r.rule.description), "enabled": r.enabled, "severity": r.severity,
                 "params": dict(r.params), "defaults": dict(r.rule.params)} for r in rules
            ], ensure_ascii=False, indent=2))
            return
        rows = [
            [r.rule.code, str(GROUPS[r.rule.group]), _("yes") if r.enabled else _("no"), r.severity,
             ", ".join(f"{k}={v}" + ("" if v == r.rule.params[k] else "*") for k, v in r.params.items()) or "—"]
            for r in rules
        ]
        self.stdout.write(format_table([_("rule"), _("group"), _("in use"), _("severity"), _("thresholds")], rows))
        self.stdout.write(_("* differs from the default. Change: polku rules set RULE KEY=VALUE"))
