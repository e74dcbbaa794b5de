from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from polku.demo.region import DEMO_PASSWORD, STAFF, load_demo_region
from polku.organisations.models import Organisation


class Command(BaseCommand):
    help = "Migrate the database, load the demo region if it is empty, print the demo logins and serve Polku."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=5000, help="number of synthetic clients (default 5000)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-server", action="store_true", help="load the data and print logins only")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["clients"] < 1:
            self.stderr.write("--clients must be at least 1")
            raise SystemExit(2)
        call_command("migrate", interactive=False, verbosity=0)
        if Organisation.objects.exists():
            self.stdout.write("The database already has data; the demo region is not loaded again.")
        else:
            self.stdout.write(f"Generating the synthetic demo region ({options['clients']:,} clients)...")
            region = load_demo_region(clients=options["clients"], seed=options["seed"])
            self.stdout.write(f"Done in {region.summary['seconds']:.1f} s.")
            self._train_impact_model()
            self._estimate_effects()
            self._compute_indicators()
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for username, _org, role, _first, _last in STAFF:
            self.stdout.write(f"  {username:<14} {role}")
        self.stdout.write(f"  {'client':<14} client (the client portal)")
        from polku.coordination.tasks import schedule_next

        when = schedule_next()
        self.stdout.write(f"\nThe coordination sweep runs nightly ({when:%Y-%m-%d %H:%M}) when `polku worker` runs; "
                          "now: polku sweep, polku worklist --user coordinator, polku gaps --user manager")
        self.stdout.write("The impact model: polku impact models; retraining monthly with polku impact schedule.")
        from polku.indicators.tasks import schedule_next as schedule_indicators

        schedule_indicators()
        self.stdout.write("Indicators: /indicators/ as manager, or polku indicators --period LAST_YEAR --report esf "
                          "--format pdf --out esf.pdf; the facts are rebuilt nightly.")
        from polku.audit.tasks import schedule_next as schedule_sealing

        schedule_sealing()
        self.stdout.write("The access log is sealed into a hash chain every minute; check it with polku audit verify.")
        if options["no_server"]:
            return
        self.stdout.write(f"\nPolku is at http://127.0.0.1:{options['port']}/  (Ctrl+C stops it)\n")
        call_command("runserver", f"127.0.0.1:{options['port']}", "--noreload", "--insecure")

    def _compute_indicators(self) -> None:
        """Build the indicator facts, so /indicators/ and `polku indicators` have figures at once."""
        from polku.indicators.facts import refresh

        self.stdout.write("Computing the indicator facts (ESF+, joint service, service chain)...")
        run = refresh(triggered_by="polku demo")
        self.stdout.write(f"  {run.participations:,} participations, {run.referrals:,} referrals")

    def _train_impact_model(self) -> None:
        """Train the employment-potential model and the segments on the demo region, so the client page, the
        portal and the managers' /impact/ page have something to show. Too small a region is told, not fatal."""
        import time

        from django.db import transaction

        from polku.impact.potential import TrainingError
        from polku.impact.services import (
            database_table,
            default_reference_dates,
            train_and_store,
            train_segments_and_store,
        )

        started = time.monotonic()
        self.stdout.write("Training the impact model (employment potential, segments, fairness audit)...")
        dates = default_reference_dates(1)
        if not dates:
            return
        with transaction.atomic():
            table = database_table(dates, actor_name="polku demo (impact model)")
        source = f"database ({len(dates)} reference dates {dates[0]}–{dates[-1]})"
        try:
            version, metrics = train_and_store(table, outcome="employed_12m", features=None, data_source=source,
                                               trained_by="polku demo", members=3)
            segments, _model = train_segments_and_store(table, data_source=source, trained_by="polku demo")
        except (TrainingError, ValueError) as exc:
            self.stdout.write(f"  not trained: {exc}")
            return
        self.stdout.write(f"  {version}: out-of-time AUC {metrics['test']['auc']:.3f}, calibration error "
                          f"{metrics['test']['ece']:.3f}; {segments.metrics.get('k')} segments "
                          f"({time.monotonic() - started:.0f} s)")

    def _estimate_effects(self) -> None:
        """Which services work for which segments, their costs and an example outcome-based contract, for the
        managers' What works page (/impact/effects/) and `polku contracts show demo-sib`."""
        import io
        import time

        from django.core.management.base import CommandError
        from django.utils import timezone

        from polku.core.dates import add_months

        started = time.monotonic()
        self.stdout.write("Estimating the effects of services (what works, costs, an outcome-based contract)...")
        quiet = io.StringIO()
        try:
            call_command("impact", "effects", "--from-db", "--by", "segment", "--policy", "--repetitions", "3",
                         "--store", stdout=quiet, stderr=quiet)
            today = timezone.localdate()
            call_command("contracts", "define", "demo-sib", "--design", "sib", "--programme",
                         "wage_subsidy,training", "--title", "Demo: employment SIB",
                         "--cohort-from", add_months(today, -30).isoformat(),
                         "--cohort-to", add_months(today, -18).isoformat(), stdout=quiet, stderr=quiet)
            call_command("contracts", "compute", "demo-sib", "--from-db", stdout=quiet, stderr=quiet)
        except CommandError as exc:
            self.stdout.write(f"  not estimated: {exc}")
            return
        self.stdout.write(f"  stored for /impact/effects/ and `polku contracts show demo-sib` "
                          f"({time.monotonic() - started:.0f} s)")
