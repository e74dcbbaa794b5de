"""``polku audit``: the tamper-evident access log.

    polku audit verify [--no-seal] [--expect-head POSITION:HASH] [--format table|json] [--quiet]
    polku audit seal [--full]
    polku audit head
    polku audit schedule

See docs/security.md, "Tamper-evident access log".
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from polku.audit import chain
from polku.audit.models import ChainHead
from polku.core.progress import Progress


def _describe(kind: str) -> str:
    return {
        "edited": _("edited: the entry differs from what was sealed"),
        "deleted": _("deleted: the sealed entry is no longer in the log"),
        "missing": _("missing: links of the chain have been removed"),
        "chain": _("broken link: the chain's own record was altered or inserted"),
        "backdated": _("backdated: the entry is dated long before it was sealed (inserted afterwards?)"),
        "truncated": _("truncated: entries at the end of the chain are gone"),
        "anchor": _("anchor mismatch: the chain differs from the head you recorded"),
        "unsealed_backdated": _("backdated, not yet sealed: entries dated long before the last seal"),
        "guard": _("guard off: the database no longer refuses changes to this table"),
    }.get(kind, kind)


class Command(BaseCommand):
    help = "The tamper-evident access log: seal new entries into the hash chain and verify the chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "seal", "head", "schedule"],
                            help="verify the whole log (sealing first), seal new entries, print the head, or "
                            "schedule regular sealing for polku worker")
        parser.add_argument("--no-seal", action="store_true", help="verify only: do not seal new entries first")
        parser.add_argument("--expect-head", default="", metavar="POSITION:HASH",
                            help="a head printed by an earlier verify and kept outside the database: the chain "
                            "must still contain it (detects a removed or rewritten tail)")
        parser.add_argument("--full", action="store_true", help="seal: look at every entry, not only recent ones")
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "schedule":
            from polku.audit.tasks import schedule_next

            when = schedule_next()
            self.stdout.write(_("New access-log entries are sealed every minute; next %(when)s (when `polku "
                                "worker` runs).") % {"when": f"{timezone.localtime(when):%Y-%m-%d %H:%M}"})
            return
        if action == "head":
            head = ChainHead.objects.filter(pk=1).first()
            position, digest = (head.position, bytes(head.chain_hash)) if head else (0, chain.GENESIS)
            self._emit(options, {"position": position, "hash": digest.hex()}, f"{position}:{digest.hex()}")
            return
        if action == "seal":
            result = chain.seal(full=options["full"])
            self._emit(options, {"sealed": result.sealed, "position": result.position,
                                 "hash": result.chain_hash.hex(), "full": result.full},
                       ngettext("Sealed %(n)d new entry. Head: %(head)s", "Sealed %(n)d new entries. Head: %(head)s",
                                result.sealed)
                       % {"n": result.sealed, "head": f"{result.position}:{result.chain_hash.hex()}"})
            return
        self._verify(options)

    def _emit(self, options: dict[str, Any], data: dict[str, Any], text: str) -> None:
        self.stdout.write(json.dumps(data) if options["format"] == "json" else text)

    def _verify(self, options: dict[str, Any]) -> None:
        expect = None
        if options["expect_head"]:
            try:
                expect = chain.parse_anchor(options["expect_head"])
            except ValueError:
                raise CommandError(_("--expect-head must be POSITION:HASH as verify prints it, not %(value)r.")
                                   % {"value": options["expect_head"]}) from None
        bar: Progress | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if options["quiet"] or not sys.stderr.isatty():
                return
            if bar is None:
                bar = Progress(max(total, 1), label="audit verify", unit=_("entries"))
            bar.update(done - bar.done)

        sealed = 0
        if not options["no_seal"]:
            show = not options["quiet"] and sys.stderr.isatty()
            sealing = Progress(max(chain.unsealed_estimate(), 1), label="audit seal", unit=_("entries"),
                               enabled=show)
            try:
                sealed = chain.seal(full=True, progress=sealing.update).sealed
            except IntegrityError:
                self.stderr.write(_("New entries could not be sealed: the chain holds links beyond its recorded "
                                    "head (see the report)."))
            sealing.finish()
        result = chain.verify(do_seal=False, expect_head=expect, progress=progress)
        result.sealed_now = sealed
        if bar is not None:
            bar.finish()
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self._table(result)
        if not result.ok:
            problems = sum(result.counts.values())
            raise CommandError(ngettext("The access log failed verification: %(n)d problem (see above).",
                                        "The access log failed verification: %(n)d problems (see above).",
                                        problems) % {"n": problems}, returncode=1)

    def _table(self, result: chain.Verification) -> None:
        out = self.stdout.write
        if result.sealed_now:
            out(ngettext("Sealed %(n)d new entry.", "Sealed %(n)d new entries.", result.sealed_now)
                % {"n": result.sealed_now})
        if result.checkpoint_position:
            out(_("Entries up to position %(n)d were removed under the retention rule (checkpoint).")
                % {"n": result.checkpoint_position})
        out(ngettext("Checked %(n)d link, positions %(first)d to %(last)d.",
                     "Checked %(n)d links, positions %(first)d to %(last)d.", result.checked)
            % {"n": result.checked, "first": result.first_position, "last": result.head_position})
        out(_("Head: %(head)s") % {"head": result.head})
        out(_("Keep the head outside the database; a later `polku audit verify --expect-head HEAD` shows whether "
              "anything up to it was removed or rewritten."))
        if result.unsealed:
            out(ngettext("%(n)d entry arrived after sealing and is not yet in the chain.",
                         "%(n)d entries arrived after sealing and are not yet in the chain.", result.unsealed)
                % {"n": result.unsealed})
        if result.ok:
            out(_("OK: the access log is intact."))
            return
        out(_("BROKEN:"))
        for kind, count in sorted(result.counts.items()):
            out(f"  {count:>8}  {_describe(kind)}")
        for item in result.breaks:
            where = (_("position %(n)d") % {"n": item.first} if item.first == item.last
                     else _("positions %(first)d to %(last)d") % {"first": item.first, "last": item.last})
            if not item.first:
                where = "-"
            entries = (" " + _("(entries %(ids)s)") % {"ids": ", ".join(map(str, item.entries))}
                       if item.entries else "")
            detail = f" [{item.detail}]" if item.detail else ""
            out(f"  {where}: {_describe(item.kind)}{entries}{detail}")
        if len(result.breaks) >= chain.MAX_LISTED:
            out(_("(only the first %(n)d ranges are listed)") % {"n": chain.MAX_LISTED})
