import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polku.core.progress import Progress
from polku.synth.generate import Options, SynthError, generate, parse_start


class Command(BaseCommand):
    help = (
        "Fill the database with a synthetic region (organisations, services, staff and clients with years of "
        "history) whose truth is known; write that truth apart with --truth-out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=5000, help="number of clients (default 5000)")
        parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same region")
        parser.add_argument("--months", type=int, default=36, help="months of history (default 36)")
        parser.add_argument(
            "--start",
            default=None,
            metavar="YYYY-MM-DD",
            help="first month of the history (default: --months before this month)",
        )
        parser.add_argument(
            "--hidden-confounding",
            type=float,
            default=0.0,
            metavar="STRENGTH",
            help="strength of a cause of both service assignment and outcome that is recorded "
            "nowhere (default 0: every confounder is in the data)",
        )
        parser.add_argument(
            "--truth-out",
            type=Path,
            default=None,
            metavar="DIR",
            help="write the truth (CSV files and summary.json) to DIR",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--append", action="store_true", help="add the clients to a database that has data")
        mode.add_argument("--replace", action="store_true", help="remove all existing data first")
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            options = Options(
                clients=opts["clients"],
                seed=opts["seed"],
                months=opts["months"],
                start=parse_start(opts["start"]),
                hidden_confounding=opts["hidden_confounding"],
                truth_out=opts["truth_out"],
                mode="append" if opts["append"] else "replace" if opts["replace"] else "new",
            )
            progress = Progress(options.clients, self.stderr, enabled=not opts["no_progress"])
            summary = generate(options, progress=progress.update, notify=progress.note)
        except SynthError as exc:
            raise CommandError(str(exc)) from exc
        if opts["format"] == "json":
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        rows = sum(summary["rows"].values())
        self.stdout.write(
            f"Synthetic region: {summary['clients']:,} clients, {rows:,} rows in "
            f"{summary['seconds']:.1f} s ({summary['parameters']['start']} – "
            f"{summary['parameters']['end']})."
        )
        self.stdout.write("True gaps at the end: " + ", ".join(f"{k} {v}" for k, v in summary["gaps"].items()))
        if options.truth_out:
            self.stdout.write(f"Truth written to {options.truth_out}")
