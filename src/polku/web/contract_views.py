"""Managers' pages of outcome-based contracts (``/impact/contracts/`` and ``/impact/contracts/<name>/``): what each
contract would pay and the evidence behind every figure, from the payments ``polku contracts compute`` stored
(docs/contracts.md). Nothing is computed here and nothing is written.

Aggregates only: a group or a percentage's row with fewer persons than ``POLKU["SMALL_CELL_THRESHOLD"]`` shows
"fewer than k" instead of its person count, in the tables and in the evidence shown as JSON; money sums are shown,
since the contract pays on them. The same access as the What works page (``effects_views.effects``): managers and
administrators; other staff are told the pages are for managers (403), anyone else gets "not found".
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import formats
from django.utils.translation import gettext, ngettext

from polku.access.policy import staff_of
from polku.catalogue.models import ServiceClass
from polku.clients.models import EducationLevel
from polku.impact import selectors as impact_selectors
from polku.web.effects_views import _number, _threshold

# --- formatting ----------------------------------------------------------------------------------------------


def _decimal(value: float, places: int) -> str:
    return formats.number_format(round(value, places), decimal_pos=places, use_l10n=True, force_grouping=True)


def _euros(value: Any, *, signed: bool = False) -> str:
    """An amount to the cent, grouped, with the euro sign as the What works page writes it: 3000 → "3,000.00 €"."""
    number = _number(value)
    if number is None:
        return "–"
    text = _decimal(number, 2).replace("-", "\u2212")
    if signed and round(number, 2) > 0:
        text = "+" + text
    return gettext("%(amount)s €") % {"amount": text}


def _count(value: Any, k: int) -> str:
    """A count of persons as shown: under ``k`` (but not 0) as "fewer than k"."""
    number = _number(value)
    if number is None:
        return "–"
    if 0 < number < k:
        return gettext("fewer than %(n)s") % {"n": k}
    return formats.number_format(int(number), use_l10n=True, force_grouping=True)


def _percent(value: Any) -> str:
    """A share as a percentage: 0.5 → "50 %", 0.325 → "32.5 %"."""
    number = _number(value)
    if number is None:
        return "–"
    percent = round(100 * number, 2)
    places = 0 if percent == round(percent) else 1 if round(percent, 1) == percent else 2
    return gettext("%(percent)s %%") % {"percent": _decimal(percent, places)}


def _signed_percent(value: Any) -> str:
    number = _number(value) or 0.0
    text = _percent(abs(number))
    return ("+" if number >= 0 else "\u2212") + text


def _yes_no(value: Any) -> str:
    return gettext("yes") if value else gettext("no")


def _date(value: Any) -> str:
    return formats.date_format(value, "SHORT_DATE_FORMAT") if value else ""


# --- the terms in plain words --------------------------------------------------------------------------------


def _column_names() -> dict[str, str]:
    return {
        "age": gettext("age"),
        "education": gettext("education"),
        "unemployed_days_before": gettext("days unemployed before the programme"),
        "wage_sum_eur": gettext("wage sum for the year (€)"),
        "benefits_paid_eur": gettext("unemployment benefits paid over the follow-up (€)"),
        "earned_income_tax_eur": gettext("tax on earned income paid over the follow-up (€)"),
        "group": gettext("group"),
    }


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    if isinstance(value, str):
        return str(EducationLevel(value).label) if value in EducationLevel.values else value
    number = _number(value)
    if number is None:
        return str(value)
    return formats.number_format(int(number) if number == int(number) else number, use_l10n=True)


def condition_text(rule: Any) -> str:
    """A condition on a column of the participant table in words: {"column": "age", "op": ">=", "value": 50} →
    "age is at least 50"."""
    if not isinstance(rule, dict):
        return str(rule)
    column = str(rule.get("column", ""))
    values = {"column": _column_names().get(column, column), "value": _value_text(rule.get("value"))}
    texts = {
        ">=": gettext("%(column)s is at least %(value)s"),
        "<=": gettext("%(column)s is at most %(value)s"),
        ">": gettext("%(column)s is more than %(value)s"),
        "<": gettext("%(column)s is less than %(value)s"),
        "==": gettext("%(column)s is %(value)s"),
        "in": gettext("%(column)s is one of: %(value)s"),
    }
    text = texts.get(str(rule.get("op")))
    if text is None:
        return f"{values['column']} {rule.get('op')} {values['value']}"
    return text % values


def rates_terms(rates: Any) -> dict[str, Any]:
    """The Employment SIB design's percentages: where they start, what each condition adds, the most."""
    rates = rates if isinstance(rates, dict) else {}
    steps = [gettext("%(add)s when %(condition)s") % {"add": _signed_percent(step.get("add")),
                                                       "condition": condition_text(step)}
             for step in rates.get("steps") or [] if isinstance(step, dict)]
    return {"base": _percent(rates.get("base")), "max": _percent(rates.get("max")), "steps": steps}


def contract_terms(contract: Any) -> dict[str, Any]:
    from polku.impact.contracts import DEFAULT_RATES

    design = contract.design
    terms: dict[str, Any] = {
        "design": design,
        "design_text": contract.get_design_display(),
        "cap": _euros(contract.cap_eur) if contract.cap_eur is not None else gettext("no cap"),
        "cohort_rule": [condition_text(rule) for rule in contract.cohort_rule or []],
        "cohort_period": _cohort_period(contract),
        "programme": [str(ServiceClass(c).label) if c in ServiceClass.values else str(c)
                      for c in contract.programme_classes or []],
        "follow_up": ngettext("%(n)s month", "%(n)s months", contract.follow_up_months) % {
            "n": contract.follow_up_months},
        "description": contract.description,
    }
    if design == "koto":
        terms["share"] = _percent(contract.share)
    elif design == "sib":
        terms["rates"] = rates_terms(contract.rates or DEFAULT_RATES)
        terms["basis"] = contract.basis
    return terms


def _cohort_period(contract: Any) -> str:
    if not contract.cohort_start and not contract.cohort_end:
        return ""
    return gettext("%(start)s to %(end)s") % {"start": _date(contract.cohort_start) or "…",
                                              "end": _date(contract.cohort_end) or "…"}


# --- the evidence ---------------------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def koto_evidence(evidence: dict[str, Any], k: int) -> dict[str, Any]:
    """The Koto design's figures: both groups' sizes and means per person (the public-finance outcome and its two
    parts), their differences with 95 % intervals, the share and the payment before the cap."""
    groups = _dict(evidence.get("groups"))
    outcome = _dict(evidence.get("public_finance_outcome"))
    components = _dict(evidence.get("components"))
    figures = [outcome, _dict(components.get("earned_income_tax_eur")), _dict(components.get("benefits_paid_eur"))]

    def interval(f: dict[str, Any]) -> str:
        if _number(f.get("ci_low_eur")) is None or _number(f.get("ci_high_eur")) is None:
            return "–"
        return gettext("%(low)s to %(high)s") % {"low": _euros(f.get("ci_low_eur"), signed=True),
                                                 "high": _euros(f.get("ci_high_eur"), signed=True)}

    # A group of fewer than k persons: neither group's means are shown (the other's mean and the difference would
    # give it away); the difference, which the contract pays on, is.
    hidden = _small(groups.get("programme"), k) or _small(groups.get("control"), k)
    not_shown = [gettext("not shown")] * len(figures)
    rows = [
        {"name": gettext("Programme group"), "persons": _count(groups.get("programme"), k),
         "values": not_shown if hidden else [_euros(f.get("programme_mean_eur")) for f in figures]},
        {"name": gettext("Control group"), "persons": _count(groups.get("control"), k),
         "values": not_shown if hidden else [_euros(f.get("control_mean_eur")) for f in figures]},
        {"name": gettext("Difference"), "persons": "–",
         "values": [_euros(f.get("difference_eur"), signed=True) for f in figures]},
        {"name": gettext("Interval of the difference (95 %)"), "persons": "–",
         "values": [interval(f) for f in figures]},
        {"name": gettext("Standard error of the difference"), "persons": "–",
         "values": [_euros(f.get("std_error_eur")) for f in figures]},
    ]
    return {
        "rows": rows,
        "difference": _euros(outcome.get("difference_eur"), signed=True),
        "share": _percent(evidence.get("share")),
        "programme": _count(groups.get("programme"), k),
        "uncapped": _euros(evidence.get("uncapped_payment_eur")),
    }


def sib_evidence(evidence: dict[str, Any], k: int) -> dict[str, Any]:
    """The Employment SIB design's figures: the groups' sizes, the participants' actual and predicted wage sums, the
    excess, whether anything is owed, the wage model's fit, and the payment by percentage."""
    groups = _dict(evidence.get("groups"))
    fit = _dict(evidence.get("wage_model"))
    r2 = _number(fit.get("r2_cross_validated"))
    stored = [row for row in evidence.get("by_rate") or [] if isinstance(row, dict)]
    hidden = suppressed_rates(stored, k)
    not_shown = gettext("not shown")
    by_rate = [{"rate": _percent(row.get("rate")), "persons": _count(row.get("persons"), k),
                **(dict.fromkeys(("wage_sum", "predicted", "basis", "payment"), not_shown) if i in hidden else {
                    "wage_sum": _euros(row.get("wage_sum_eur")), "predicted": _euros(row.get("predicted_eur")),
                    "basis": _euros(row.get("payment_basis_eur")), "payment": _euros(row.get("payment_eur"))})}
               for i, row in enumerate(stored)]
    small_programme = _small(groups.get("programme"), k)
    return {
        "programme": _count(groups.get("programme"), k),
        "control": _count(groups.get("control"), k),
        "wage_sum": not_shown if small_programme else _euros(evidence.get("programme_wage_sum_eur")),
        "predicted": not_shown if small_programme else _euros(evidence.get("predicted_wage_sum_eur")),
        "excess": not_shown if small_programme else _euros(evidence.get("excess_eur"), signed=True),
        "owed": _yes_no(evidence.get("owed")),
        "basis": evidence.get("basis"),
        "r2": _decimal(r2, 3).replace("-", "\u2212") if r2 is not None else "–",
        "mae": _euros(fit.get("mae_cross_validated_eur")),
        "folds": fit.get("folds") or "–",
        "by_rate": by_rate,
        "uncapped": _euros(evidence.get("uncapped_payment_eur")),
    }


def _small(value: Any, k: int) -> bool:
    number = _number(value)
    return number is not None and 0 < number < k


def suppressed_rates(rows: list[dict[str, Any]], k: int) -> set[int]:
    """The percentages' rows whose money sums are not shown: those of fewer than ``k`` persons (a sum over one or
    two persons is their wages), and when exactly one such row would be hidden, also the shown row with the fewest
    persons (a row of nobody protects nothing), so that the hidden one cannot be worked out from the totals
    (secondary suppression)."""
    hidden = {i for i, row in enumerate(rows) if _small(row.get("persons"), k)}
    if len(hidden) == 1 and len(rows) > 1:
        others = [i for i in range(len(rows)) if i not in hidden and (_number(rows[i].get("persons")) or 0.0) > 0]
        if others:
            hidden.add(min(others, key=lambda i: (_number(rows[i].get("persons")) or 0.0, i)))
    return hidden


def has_small_cells(evidence: Any, k: int) -> bool:
    """Whether any person count in the stored evidence (rows, groups, the wage model's rows, the percentages'
    rows) is under ``k``."""
    if not isinstance(evidence, dict):
        return False
    counts = [evidence.get("rows"), evidence.get("rows_in_cohort"), _dict(evidence.get("wage_model")).get("rows"),
              *_dict(evidence.get("groups")).values(),
              *(row.get("persons") for row in evidence.get("by_rate") or [] if isinstance(row, dict))]
    return any(_small(value, k) for value in counts)


def shown_evidence(evidence: Any, k: int) -> str | None:
    """The stored evidence as pretty-printed JSON, exactly as stored; ``None`` when it has a person count under
    ``k``: its sums over those few persons could identify them (the tables show what can be shown, and an
    administrator prints the whole with ``polku contracts show NAME --format json``)."""
    if has_small_cells(evidence, k):
        return None
    return json.dumps(evidence, indent=2, ensure_ascii=False)


def payment_context(payment: Any, design: str, k: int) -> dict[str, Any]:
    evidence = _dict(payment.evidence)
    kind = evidence.get("design", design)
    return {
        "payment": payment,
        "amount": _euros(payment.amount_eur),
        "uncapped": _euros(payment.uncapped_eur),
        "capped": _yes_no(payment.capped),
        "computed_by": payment.computed_by.get_username() if payment.computed_by else gettext("command line"),
        "rows": _count(payment.rows, k),
        "koto": koto_evidence(evidence, k) if kind == "koto" and evidence else None,
        "sib": sib_evidence(evidence, k) if kind == "sib" and evidence else None,
        "json": shown_evidence(payment.evidence, k),
    }


def list_rows(summaries: list[Any]) -> list[dict[str, Any]]:
    return [{"contract": s.contract, "design": s.contract.get_design_display(),
             "cohort_period": _cohort_period(s.contract), "latest": s.latest,
             "amount": _euros(s.latest.amount_eur) if s.latest else ""}
            for s in summaries]


# --- the pages -----------------------------------------------------------------------------------------------


def _denied(request: HttpRequest) -> HttpResponse | None:
    """``None`` for managers and administrators; other staff are told the pages are for managers (403), anyone
    else gets "not found", as on the What works page."""
    if impact_selectors.may_see_overview(request.user):
        return None
    if staff_of(request.user) is None:
        raise Http404
    return render(request, "web/outcome_contracts.html", {"denied": True}, status=403)


@login_required
def contracts(request: HttpRequest) -> HttpResponse:
    """``/impact/contracts/``: every outcome-based contract with its latest payment."""
    denied = _denied(request)
    if denied is not None:
        return denied
    summaries = impact_selectors.outcome_contracts(actor=request.user)
    return render(request, "web/outcome_contracts.html", {"threshold": _threshold(), "rows": list_rows(summaries)})


@login_required
def contract(request: HttpRequest, name: str) -> HttpResponse:
    """``/impact/contracts/<name>/``: one contract's terms in plain words and each payment with its evidence."""
    denied = _denied(request)
    if denied is not None:
        return denied
    detail = impact_selectors.outcome_contract(actor=request.user, name=name)
    if detail is None:
        raise Http404
    k = _threshold()
    return render(request, "web/outcome_contract.html", {
        "threshold": k,
        "contract": detail.contract,
        "terms": contract_terms(detail.contract),
        "payments": [payment_context(p, detail.contract.design, k) for p in detail.payments],
    })


urlpatterns: list[URLPattern | Any] = [
    path("impact/contracts/", contracts, name="outcome_contracts"),
    path("impact/contracts/<slug:name>/", contract, name="outcome_contract"),
]
