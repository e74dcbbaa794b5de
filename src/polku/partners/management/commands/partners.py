"""``polku partners``: suggested openings for a client, contract fulfilment, the skills vocabulary.

    polku partners suggest --client ID --user USERNAME [--limit 10] [--format table|json]
    polku partners contracts [--as-of DATE] [--by contract|procurer|supplier] [--format table|json]
    polku partners contracts --contract REFERENCE [--as-of DATE] [--format table|json]
    polku partners skills

See docs/partners.md.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from polku.core.errors import DomainError
from polku.core.management.common import add_operator_arguments, operator
from polku.partners import selectors, services
from polku.partners.models import Skill


class Command(BaseCommand):
    help = "Employment partners: suggested openings, contract fulfilment, skills (docs/partners.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="what", required=True, metavar="{suggest,contracts,skills}")
        suggest = commands.add_parser("suggest", help="the best openings for a client, with reasons")
        suggest.add_argument("--client", type=int, required=True, help="the client's id")
        suggest.add_argument("--limit", type=int, default=10)
        suggest.add_argument("--format", choices=["table", "json"], default="table")
        add_operator_arguments(suggest)
        contracts = commands.add_parser("contracts", help="employment clauses of public contracts and their "
                                        "fulfilment")
        contracts.add_argument("--as-of", default=None, help="YYYY-MM-DD (default today)")
        contracts.add_argument("--by", choices=["contract", "procurer", "supplier"], default="contract")
        contracts.add_argument("--format", choices=["table", "json"], default="table")
        contracts.add_argument("--language", choices=["fi", "sv", "en"], default=None)
        contracts.add_argument("--contract", default=None, metavar="REFERENCE",
                               help="one contract's fulfilment at the end of every month so far")
        commands.add_parser("skills", help="load the skills vocabulary and list it")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(options.get("language") or translation.get_language()):
            getattr(self, f"_{options['what']}")(options)

    def _suggest(self, options: dict[str, Any]) -> None:
        user = operator(options["user"])
        if user is None:
            raise CommandError(_("Name the professional who asks with --user: suggestions read the client's "
                                 "employment data, and the read is logged."))
        try:
            _profile, matches = services.suggest_openings(actor=user, client_id=options["client"],
                                                          limit=options["limit"])
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps([{
                "opening": m.opening.pk, "title": m.opening.title, "employer": m.opening.employer.name,
                "kind": m.opening.kind, "municipality": m.opening.municipality_code,
                "distance_km": None if m.distance_km is None else round(m.distance_km, 1), "score": m.score,
                "parts": {k: round(v, 3) for k, v in m.parts.items()}, "reasons": m.reasons,
                "missing_skills": list(Skill.objects.filter(pk__in=m.missing_skills).values_list("code", flat=True)),
            } for m in matches], ensure_ascii=False, indent=2))
            return
        if not matches:
            self.stdout.write(_("No open job fits the client's limits and wishes now."))
            return
        for i, m in enumerate(matches, start=1):
            self.stdout.write(f"{i:>2}. {m.opening.title} – {m.opening.employer.name} "
                              f"({m.opening.get_kind_display()}, {m.opening.hours_per_week} h) "
                              f"{_('fit')} {m.score:.2f}")
            for reason in m.reasons:
                self.stdout.write(f"      + {reason}")
            if m.missing_skills:
                labels = ", ".join(str(s) for s in Skill.objects.filter(pk__in=m.missing_skills))
                self.stdout.write("      − " + _("Missing skills: %(skills)s (a training step could give them)")
                                  % {"skills": labels})

    def _contracts(self, options: dict[str, Any]) -> None:
        from polku.impact.management.commands.impact import _date

        day = _date(options["as_of"], "--as-of") if options["as_of"] else None
        if options.get("contract"):
            self._contract_over_time(options["contract"], day, options["format"])
            return
        rows = selectors.fulfilment(as_of=day)
        if options["by"] != "contract":
            summary = selectors.report_by(rows, options["by"])
            if options["format"] == "json":
                self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
                return
            for r in summary:
                name = r["name"] or _("All")
                percent = f"{r['percent']:.0f} %" if r["percent"] is not None else "–"
                self.stdout.write(f"{name:<50} {r['contracts']:>3} {r['hires_text']:>6} / {r['required_hires']:<4} "
                                  f"{percent:>6}")
            return
        data = [{
            "reference": f.contract.reference, "title": f.contract.title, "procurer": str(f.contract.procurer),
            "supplier": f.contract.supplier.name, "start": f.contract.start_date.isoformat(),
            "end": f.contract.end_date.isoformat(), "required_hires": f.contract.required_hires,
            "required_months": float(f.contract.required_months), "hires": f.hires, "months": f.months,
            "expected_hires": f.expected_hires, "expected_months": f.expected_months, "status": f.status,
        } for f in rows]
        if options["format"] == "json":
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        for d in data:
            self.stdout.write(f"{d['reference']:<14} {d['supplier']:<36} {_('hires')} {d['hires']}/"
                              f"{d['required_hires']} ({_('expected by now')} {d['expected_hires']}), "
                              f"{_('months')} {d['months']}/{d['required_months']}: {d['status']}")

    def _contract_over_time(self, reference: str, day: Any, output: str) -> None:
        from django.core.management.base import CommandError

        from polku.partners.models import PublicContract

        contract = PublicContract.objects.filter(reference=reference).first()
        if contract is None:
            raise CommandError(_("No contract with the reference %(ref)s.") % {"ref": reference})
        points = selectors.fulfilment_over_time(contract, as_of=day)
        if output == "json":
            self.stdout.write(json.dumps([{"day": p.day.isoformat(), "hires": p.hires, "months": p.months,
                                           "expected_hires": p.expected_hires, "expected_months": p.expected_months}
                                          for p in points], indent=2))
            return
        self.stdout.write(f"{contract.reference}: {contract.title}")
        self.stdout.write(f"{_('Date'):<12} {_('hires'):>8} {_('expected'):>9} {_('months'):>8} {_('expected'):>9}")
        for p in points:
            self.stdout.write(f"{p.day.isoformat():<12} {p.hires:>8} {p.expected_hires:>9} {p.months:>8} "
                              f"{p.expected_months:>9}")

    def _skills(self, options: dict[str, Any]) -> None:
        added = services.ensure_skills()
        self.stdout.write(_("%(n)d skills added.") % {"n": added})
        lang = (translation.get_language() or "fi")[:2]
        for skill in Skill.objects.order_by("code"):
            self.stdout.write(f"{skill.code:<32} {getattr(skill, f'label_{lang}', skill.label_en)}")
