import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.utils.translation import gettext as _

from polku.core.tables import format_table
from polku.retention.checksum import checksums, digest


class Command(BaseCommand):
    help = (
        "Database maintenance. checksum: every table's row count and an order-independent checksum, and one "
        "digest of them all; a restored backup must print the same (var/security/retention.md, 'Backup and "
        "restore')."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["checksum"])
        parser.add_argument("--format", choices=["table", "json"], default="table")
        parser.add_argument("--tables", default="", help="only these tables, comma-separated")
        parser.add_argument("--no-progress", action="store_true", help="do not show progress on stderr")

    def handle(self, *args: Any, **opts: Any) -> None:
        only = [t.strip() for t in opts["tables"].split(",") if t.strip()] or None

        def progress(name: str) -> None:
            self.stderr.write(f"\rdb checksum: {name:<60}", ending="")
            self.stderr.flush()

        show = opts["format"] == "table" and not opts["no_progress"]
        per_table = checksums(only=only, progress=progress if show else None)
        if show:
            self.stderr.write("")
        total = digest(per_table)
        if opts["format"] == "json":
            self.stdout.write(json.dumps({"database": connection.vendor, "digest": total, "tables": per_table},
                                         indent=2))
            return
        rows = [[name, v["rows"], v["checksum"]] for name, v in per_table.items()]
        self.stdout.write(format_table([_("table"), _("rows"), _("checksum")], rows))
        self.stdout.write("")
        self.stdout.write(_("%(tables)s tables, %(rows)s rows; digest %(digest)s")
                          % {"tables": len(per_table), "rows": sum(v["rows"] for v in per_table.values()),
                             "digest": total})
