"""``polku contracts``: define outcome-based contracts, compute and store what they owe with the evidence, list and
show them. See docs/contracts.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from polku.core.management.common import add_operator_arguments, operator

from .impact import Progress, _date


def _json(text: str | None, option: str) -> Any:
    if text is None:
        return None
    path = Path(text)
    try:
        raw = path.read_text(encoding="utf-8") if not text.lstrip().startswith(("{", "[")) and path.exists() else text
        return json.loads(raw)
    except (OSError, ValueError):
        raise CommandError(_("%(option)s must be JSON or a JSON file, not %(value)r.")
                           % {"option": option, "value": text}) from None


def _columns(pairs: list[str]) -> dict[str, str]:
    columns: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise CommandError(_("--column must be NAME=COLUMN, not %(value)r.") % {"value": pair})
        columns[name.strip()] = column.strip()
    return columns


class Command(BaseCommand):
    help = "Outcome-based contracts: define, list, compute, show (docs/contracts.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="what", required=True, metavar="{define,list,compute,show}")

        define = commands.add_parser("define", help="define a contract")
        define.add_argument("name", help="a short name (letters, digits, - and _)")
        define.add_argument("--design", required=True, metavar="koto|sib",
                            help="koto: a share of the public-finance difference against a randomised control "
                            "group; sib: a percentage of wage sums above a model's prediction")
        define.add_argument("--title", default="")
        define.add_argument("--share", type=float, default=None, help="koto: the share of the difference (default 0.5)")
        define.add_argument("--rates", default=None, metavar="JSON|FILE",
                            help="sib: the percentages by age, education and unemployment duration (docs/contracts.md)")
        define.add_argument("--basis", choices=["total", "excess"], default="total",
                            help="sib: percentage of the whole wage sum (default) or of the part above the prediction")
        define.add_argument("--cap", type=float, default=None, metavar="EUR", help="the most the contract pays")
        define.add_argument("--cohort", default=None, metavar="JSON|FILE",
                            help='rules on the table\'s columns, e.g. [{"column": "age", "op": ">=", "value": 25}]')
        define.add_argument("--cohort-from", default=None, metavar="DATE",
                            help="--from-db: first start date of the cohort's joint-service episodes")
        define.add_argument("--cohort-to", default=None, metavar="DATE")
        define.add_argument("--programme", default="", metavar="CLASS,CLASS",
                            help="--from-db: the service classes whose starters form the programme group")
        define.add_argument("--follow-up-months", type=int, default=12, metavar="N")
        define.add_argument("--seed", type=int, default=0)
        define.add_argument("--description", default="")
        define.add_argument("--format", choices=["table", "json"], default="table")
        add_operator_arguments(define)

        listing = commands.add_parser("list", help="the contracts and their latest payments")
        listing.add_argument("--format", choices=["table", "json"], default="table")
        listing.add_argument("--language", choices=["fi", "sv", "en"], default=None)

        compute = commands.add_parser("compute", help="compute and store what a contract owes")
        compute.add_argument("name")
        source = compute.add_mutually_exclusive_group(required=True)
        source.add_argument("--data", type=Path, default=None, metavar="FILE",
                            help="a participant table, CSV or Parquet (columns: docs/contracts.md)")
        source.add_argument("--from-db", action="store_true",
                            help="build the participant table from the registers for the contract's cohort")
        compute.add_argument("--column", action="append", default=[], metavar="NAME=COLUMN",
                             help="the table's own name for a documented column, e.g. group=arm (repeatable)")
        compute.add_argument("--dry-run", action="store_true", help="compute and print, store nothing")
        compute.add_argument("--format", choices=["table", "json"], default="table")
        add_operator_arguments(compute)

        show = commands.add_parser("show", help="a contract, its terms and its payments with the evidence")
        show.add_argument("name")
        show.add_argument("--payment", type=int, default=None, metavar="N", help="one payment (default: the latest)")
        show.add_argument("--format", choices=["table", "json"], default="table")
        show.add_argument("--language", choices=["fi", "sv", "en"], default=None)

    def handle(self, *args: Any, **opts: Any) -> None:
        from polku.impact.contracts import ContractError

        with translation.override(opts.get("language") or translation.get_language() or "fi"):
            try:
                getattr(self, "_" + opts["what"])(opts)
            except ContractError as exc:
                raise CommandError(str(exc)) from exc

    # -- helpers ----------------------------------------------------------------------------------------------
    def _contract(self, name: str) -> Any:
        from polku.impact.models import OutcomeContract

        contract = OutcomeContract.objects.filter(name=name).first()
        if contract is None:
            raise CommandError(_("No contract %(name)r: define it with polku contracts define.") % {"name": name})
        return contract

    @staticmethod
    def _describe(contract: Any) -> dict[str, Any]:
        return {"name": contract.name, "title": contract.title, "design": contract.design,
                "share": float(contract.share), "rates": contract.rates or None, "basis": contract.basis,
                "cap_eur": None if contract.cap_eur is None else float(contract.cap_eur),
                "cohort_rule": contract.cohort_rule,
                "cohort_from": str(contract.cohort_start) if contract.cohort_start else None,
                "cohort_to": str(contract.cohort_end) if contract.cohort_end else None,
                "programme_classes": contract.programme_classes, "follow_up_months": contract.follow_up_months,
                "seed": contract.seed, "description": contract.description,
                "created_at": contract.created_at.isoformat()}

    @staticmethod
    def _payment(payment: Any) -> dict[str, Any]:
        return {"contract": payment.contract.name, "number": payment.number,
                "computed_at": payment.computed_at.isoformat(),
                "computed_by": payment.computed_by.get_username() if payment.computed_by else None,
                "data_source": payment.data_source, "data_hash": payment.data_hash, "rows": payment.rows,
                "payment_eur": float(payment.amount_eur), "uncapped_eur": float(payment.uncapped_eur),
                "capped": payment.capped, "evidence": payment.evidence}

    # -- commands ---------------------------------------------------------------------------------------------
    def _define(self, opts: dict[str, Any]) -> None:
        from django.core.exceptions import ValidationError
        from django.core.validators import validate_slug

        from polku.catalogue.models import ServiceClass
        from polku.impact.contracts import DEFAULT_RATES, DEFAULT_SHARE, Terms, validate_terms
        from polku.impact.models import OutcomeContract

        name = opts["name"]
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError(_("The name may hold only letters, digits, - and _: %(name)r.") % {"name": name}) \
                from None
        if OutcomeContract.objects.filter(name=name).exists():
            raise CommandError(_("A contract %(name)r exists already; contracts are not changed once defined.")
                               % {"name": name})
        design = opts["design"]
        rates = _json(opts["rates"], "--rates")
        if design == "sib" and rates is None:
            rates = DEFAULT_RATES
        cohort = _json(opts["cohort"], "--cohort") or []
        if not isinstance(cohort, list):
            cohort = [cohort]
        share = DEFAULT_SHARE if opts["share"] is None else opts["share"]
        terms = Terms(design=design, share=share, rates=rates, cap_eur=opts["cap"], basis=opts["basis"],
                      cohort=cohort, seed=opts["seed"])
        validate_terms(terms)
        programme = [c.strip() for c in opts["programme"].split(",") if c.strip()]
        unknown = sorted(set(programme) - set(ServiceClass.values))
        if unknown:
            raise CommandError(_("Unknown service class(es): %(classes)s.") % {"classes": ", ".join(unknown)})
        start, end = _date(opts["cohort_from"], "--cohort-from"), _date(opts["cohort_to"], "--cohort-to")
        if start and end and end < start:
            raise CommandError(_("The cohort cannot end before it starts."))
        if not 1 <= opts["follow_up_months"] <= 120:
            raise CommandError(_("--follow-up-months must be between 1 and 120."))
        user = operator(opts.get("user"))
        contract = OutcomeContract.objects.create(
            name=name, title=opts["title"], design=design, share=share, rates=rates or {}, basis=opts["basis"],
            cap_eur=opts["cap"], cohort_rule=cohort, cohort_start=start, cohort_end=end, programme_classes=programme,
            follow_up_months=opts["follow_up_months"], seed=opts["seed"], description=opts["description"],
            created_by=user,
        )
        if opts["format"] == "json":
            self.stdout.write(json.dumps(self._describe(contract), indent=2, ensure_ascii=False))
            return
        self.stdout.write(_("Contract %(name)s defined (%(design)s).") % {"name": contract.name,
                                                                         "design": contract.get_design_display()})

    def _list(self, opts: dict[str, Any]) -> None:
        from polku.impact.models import OutcomeContract

        contracts = list(OutcomeContract.objects.prefetch_related("payments").order_by("name"))
        rows = []
        for contract in contracts:
            payments = sorted(contract.payments.all(), key=lambda p: p.number)
            latest = payments[-1] if payments else None
            rows.append({**self._describe(contract), "payments": len(payments),
                         "latest_payment_eur": float(latest.amount_eur) if latest else None,
                         "latest_data_hash": latest.data_hash if latest else None})
        if opts["format"] == "json":
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write(_("No contracts yet: define one with polku contracts define."))
        for row in rows:
            amount = "–" if row["latest_payment_eur"] is None else f"{row['latest_payment_eur']:,.2f} €"
            self.stdout.write(_("%(name)s  %(design)s  %(payments)d payment(s), latest %(latest)s") % {
                "name": row["name"], "design": row["design"], "payments": row["payments"], "latest": amount})

    def _compute(self, opts: dict[str, Any]) -> None:
        from polku.impact.contracts import compute, participants_from_db, read_participants, store_payment, terms_of

        contract = self._contract(opts["name"])
        columns = _columns(opts["column"])
        progress = Progress()
        user = operator(opts.get("user"))
        with transaction.atomic():
            if opts["data"] is not None:
                progress(_("reading %(path)s") % {"path": opts["data"]})
                table = read_participants(opts["data"])
                source = str(opts["data"])
            else:
                if not (contract.cohort_start and contract.cohort_end and contract.programme_classes):
                    raise CommandError(_("--from-db needs a contract defined with --cohort-from, --cohort-to and "
                                         "--programme."))
                if columns:
                    raise CommandError(_("--column applies to --data only."))
                progress(_("building the participant table from the registers"))
                table = participants_from_db(contract.cohort_start, contract.cohort_end,
                                             programme_classes=contract.programme_classes,
                                             follow_up_months=contract.follow_up_months,
                                             actor_name="polku contracts compute", user=user)
                source = _("database (cohort %(start)s–%(end)s, %(months)d months' follow-up)") % {
                    "start": contract.cohort_start, "end": contract.cohort_end, "months": contract.follow_up_months}
            progress(_("computing %(name)s on %(rows)d rows") % {"name": contract.name, "rows": len(table)})
            result = compute(table, terms_of(contract), columns)
            payment = None
            if not opts["dry_run"]:
                payment = store_payment(contract, result, data_source=source, user=user)
            elif opts["from_db"]:
                transaction.set_rollback(True)  # a dry run writes nothing, not even the access log
        if opts["format"] == "json":
            out = self._payment(payment) if payment is not None else {
                "contract": contract.name, "number": None, "data_source": source, "data_hash": result["data_hash"],
                "rows": result["rows"], "payment_eur": result["payment_eur"], "uncapped_eur": result["uncapped_eur"],
                "capped": result["capped"], "evidence": result["evidence"]}
            self.stdout.write(json.dumps(out, indent=2, ensure_ascii=False))
            return
        self._print_result(contract, result, payment)

    def _print_result(self, contract: Any, result: dict[str, Any], payment: Any) -> None:
        evidence = result["evidence"]
        self.stdout.write(_("%(name)s owes %(amount)s € (before the cap %(uncapped)s €%(capped)s).") % {
            "name": contract.name, "amount": f"{result['payment_eur']:,.2f}",
            "uncapped": f"{result['uncapped_eur']:,.2f}", "capped": _(", capped") if result["capped"] else ""})
        self.stdout.write(_("Data: %(rows)d rows, %(cohort)d in the cohort (programme %(p)d, control %(c)d), SHA-256 "
                            "%(hash)s.") % {"rows": result["rows"], "cohort": evidence["rows_in_cohort"],
                                            "p": evidence["groups"]["programme"], "c": evidence["groups"]["control"],
                                            "hash": result["data_hash"]})
        if evidence["design"] == "koto":
            figures = evidence["public_finance_outcome"]
            self.stdout.write(_("Public-finance outcome per person: programme %(p)s €, control %(c)s €, difference "
                                "%(d)s € (95 %% interval %(low)s … %(high)s €); share %(share)s.") % {
                "p": figures["programme_mean_eur"], "c": figures["control_mean_eur"], "d": figures["difference_eur"],
                "low": figures["ci_low_eur"], "high": figures["ci_high_eur"], "share": evidence["share"]})
        else:
            fit = evidence["wage_model"]
            self.stdout.write(_("Wage sums: participants %(actual)s €, predicted %(predicted)s €, excess %(excess)s €. "
                                "Wage model on %(n)d comparison rows: cross-validated R² %(r2)s, MAE %(mae)s €.") % {
                "actual": f"{evidence['programme_wage_sum_eur']:,.2f}",
                "predicted": f"{evidence['predicted_wage_sum_eur']:,.2f}",
                "excess": f"{evidence['excess_eur']:,.2f}", "n": fit["rows"],
                "r2": "–" if fit["r2_cross_validated"] is None else f"{fit['r2_cross_validated']:.3f}",
                "mae": f"{fit['mae_cross_validated_eur']:,.2f}"})
            for group in evidence["by_rate"]:
                self.stdout.write(f"  {group['rate']:.0%}: {group['persons']}  {group['wage_sum_eur']:,.2f} €  "
                                  f"→ {group['payment_eur']:,.2f} €")
        if payment is not None:
            self.stdout.write(_("Stored as payment %(number)d of %(name)s.") % {"number": payment.number,
                                                                              "name": contract.name})

    def _show(self, opts: dict[str, Any]) -> None:
        contract = self._contract(opts["name"])
        payments = list(contract.payments.select_related("computed_by").order_by("number"))
        if opts["payment"] is not None:
            payments = [p for p in payments if p.number == opts["payment"]]
            if not payments:
                raise CommandError(_("%(name)s has no payment %(number)d.") % {"name": contract.name,
                                                                               "number": opts["payment"]})
        if opts["format"] == "json":
            self.stdout.write(json.dumps({**self._describe(contract),
                                          "payments": [self._payment(p) for p in payments]},
                                         indent=2, ensure_ascii=False))
            return
        described = self._describe(contract)
        self.stdout.write(f"{contract.name} — {contract.title or contract.get_design_display()}")
        for key in ("design", "share", "basis", "cap_eur", "cohort_rule", "cohort_from", "cohort_to",
                    "programme_classes", "follow_up_months", "seed"):
            self.stdout.write(f"  {key}: {json.dumps(described[key], ensure_ascii=False)}")
        if not payments:
            self.stdout.write(_("No payments computed yet."))
            return
        for payment in payments:
            self.stdout.write(_("Payment %(number)d, %(when)s: %(amount)s € from %(source)s (%(rows)d rows, SHA-256 "
                                "%(hash)s)") % {"number": payment.number,
                                                "when": payment.computed_at.strftime("%Y-%m-%d %H:%M"),
                                                "amount": f"{float(payment.amount_eur):,.2f}",
                                                "source": payment.data_source, "rows": payment.rows,
                                                "hash": payment.data_hash})
        latest = payments[-1]
        self.stdout.write(json.dumps(latest.evidence, indent=2, ensure_ascii=False))
