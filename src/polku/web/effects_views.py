"""Managers' "What works" page (``/impact/effects/``): which services lead to work, for whom, with what certainty,
and at what cost, from the latest stored effect run (``EffectRun``, written by ``polku impact effects --store``).

Nothing is computed here: the page presents the stored aggregates (docs/impact.md). No client is named; a count
below ``POLKU["SMALL_CELL_THRESHOLD"]`` is shown as "fewer than k", and an estimate resting on fewer than k treated
or compared persons is not shown. Treatment levels are service class codes, shown by the catalogue's names; effects
by segment are described by the segments model that was current when the run was stored (otherwise "Segment N").
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils import formats
from django.utils.translation import gettext

from polku.access.policy import staff_of
from polku.catalogue.models import ServiceClass
from polku.impact import selectors as impact_selectors
from polku.impact.models import EffectRun, ModelKind, ModelVersion
from polku.web.charts import Chart, ForestSeries, Interval, forest_plot

logger = logging.getLogger(__name__)

ESTIMANDS = ("ATT", "ATE")
#: Standardised mean differences up to this are usually read as good balance.
SMD_LIMIT = 0.1


def _threshold() -> int:
    return int(settings.POLKU["SMALL_CELL_THRESHOLD"])


# --- formatting ----------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _decimal(value: float, places: int = 1) -> str:
    return formats.number_format(round(value, places), decimal_pos=places, use_l10n=True)


def _signed(value: float, places: int = 1) -> str:
    text = _decimal(value, places)
    if round(value, places) > 0:
        return "+" + text
    return text.replace("-", "\u2212")


def _points(value: float) -> str:
    """A probability difference in percentage points, signed: 0.061 → "+6.1"."""
    return _signed(100 * value)


def _interval(low: float, high: float) -> str:
    return gettext("%(low)s to %(high)s") % {"low": _points(low), "high": _points(high)}


def _euros(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "–"
    text = formats.number_format(round(number), use_l10n=True, force_grouping=True).replace("-", "\u2212")
    return gettext("%(amount)s €") % {"amount": text}


def _count(value: Any, k: int) -> str:
    if value is None or 0 < int(value) < k:
        return gettext("fewer than %(n)s") % {"n": k}
    return formats.number_format(int(value), use_l10n=True, force_grouping=True)


def _percent(value: float) -> str:
    return gettext("%(percent)s %%") % {"percent": _decimal(100 * value, 0 if abs(value) >= 0.01 else 1)}


# --- names ---------------------------------------------------------------------------------------------------


def service_name(level: Any) -> str:
    """A treatment level (a service class code) as the catalogue names it; "none" is no service."""
    if level in (None, "", "none"):
        return gettext("no service started")
    if str(level) in ServiceClass.values:
        return str(ServiceClass(str(level)).label)
    return str(level)


def outcome_name(outcome: Any) -> str:
    names = {
        "employed_12m": gettext("in work on the open market 12 months later"),
        "employed_6m": gettext("in work on the open market 6 months later"),
    }
    return names.get(str(outcome), str(outcome))


def treatment_name(treatment: Any) -> str:
    names = {"service_started_1m": gettext(
        "the first service a client started in the month after their first month in joint service")}
    return names.get(str(treatment), str(treatment))


def segment_labels(run: EffectRun, groups: set[str]) -> dict[str, dict[str, str]]:
    """Each segment number (as stored, text) → its title and summary from the segments model that was current when
    the run was stored; "Segment N" (no summary) when there is none or it cannot be loaded."""
    from polku.impact import segments

    labels = {group: {"title": gettext("Segment %(n)s") % {"n": group} if group else gettext("No segment"),
                      "summary": ""} for group in groups}
    version = (ModelVersion.objects.defer("artifact").filter(kind=ModelKind.SEGMENTS, created_at__lte=run.created_at)
               .order_by("-created_at", "-version").first())
    if version is None:
        return labels
    try:
        model = impact_selectors.loaded(ModelVersion.objects.get(pk=version.pk))
    except Exception:  # a refused or unreadable artifact: the page shows the numbers instead
        logger.warning("segments model %s could not be loaded for the effects page", version.pk, exc_info=True)
        return labels
    for group in groups:
        try:
            text = segments.describe(model, int(group))
        except (TypeError, ValueError):
            continue
        labels[group] = {"title": str(text["title"]), "summary": str(text["summary"])}
    return labels


def group_label(by: Any, group: Any, segment_texts: dict[str, dict[str, str]]) -> str:
    if by == "segment":
        return segment_texts.get(str(group), {}).get("title") or gettext("Segment %(n)s") % {"n": group}
    return f"{by}: {group}"


# --- estimates -----------------------------------------------------------------------------------------------


def _shown(row: dict[str, Any] | None, k: int) -> Interval | None:
    """An estimate's interval, unless it is missing or rests on fewer than ``k`` treated or compared persons."""
    if row is None:
        return None
    estimate, low, high = _number(row.get("estimate")), _number(row.get("ci_low")), _number(row.get("ci_high"))
    if estimate is None or low is None or high is None:
        return None
    if int(row.get("n_treated") or 0) < k or int(row.get("n_control") or 0) < k:
        return None
    return Interval(estimate, low, high)


def _cell(row: dict[str, Any] | None, k: int) -> dict[str, Any]:
    value = _shown(row, k)
    if row is None:
        return {"known": False, "text": "–", "interval": "–", "n_treated": "–", "n_control": "–"}
    return {
        "known": value is not None,
        "text": _points(value.estimate) if value else gettext("not shown"),
        "interval": _interval(value.low, value.high) if value else "–",
        "n_treated": _count(row.get("n_treated"), k),
        "n_control": _count(row.get("n_control"), k),
        "clear": value is not None and (value.low > 0 or value.high < 0),
    }


def _estimand_names() -> dict[str, str]:
    return {"ATT": gettext("Effect on those who got the service (ATT)"),
            "ATE": gettext("Effect if all comparable clients got it (ATE)")}


def _level_order(by_level: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Services by their effect on those who got them, largest first (then by the ATE, then by name)."""
    def key(level: str) -> tuple[float, str]:
        rows = by_level[level]
        value = _number((rows.get("ATT") or rows.get("ATE") or {}).get("estimate"))
        return (-(value if value is not None else float("-inf")), service_name(level))
    return sorted(by_level, key=key)


def overall_effects(estimates: list[dict[str, Any]], k: int) -> tuple[list[dict[str, Any]], Chart | None]:
    """One row per service (ATT and ATE) and the forest plot of them."""
    by_level: dict[str, dict[str, dict[str, Any]]] = {}
    for row in estimates:
        if row.get("by") or row.get("estimand") not in ESTIMANDS or not row.get("treatment_level"):
            continue
        by_level.setdefault(str(row["treatment_level"]), {})[str(row["estimand"])] = row
    if not by_level:
        return [], None
    levels = _level_order(by_level)
    names = [service_name(level) for level in levels]
    rows = [{"level": level, "name": name, **{e.lower(): _cell(by_level[level].get(e), k) for e in ESTIMANDS}}
            for level, name in zip(levels, names, strict=True)]
    labels = _estimand_names()
    series = [ForestSeries(labels[e], [_shown(by_level[level].get(e), k) for level in levels]) for e in ESTIMANDS]
    chart = forest_plot(names, series, key="effects-forest", scale=100, decimals=1, unit=gettext("percentage points"),
                        title=gettext("Effect of each service on the chance of being in work, with %(level)s intervals")
                        % {"level": "95 %"},
                        x_label=gettext("Difference in the share in work, percentage points"),
                        category_label=gettext("Service"),
                        note=gettext("Zero means no effect. An interval that does not cross zero is a clear effect."))
    return rows, chart


def group_effects(estimates: list[dict[str, Any]], run: EffectRun, k: int) -> dict[str, Any] | None:
    """Effects by group (e.g. by segment): a forest plot of the ATT and ATE of each service in each group, the
    groups' descriptions and a table."""
    grouped = [row for row in estimates if row.get("by") and row.get("estimand") in ESTIMANDS
               and row.get("treatment_level")]
    if not grouped:
        return None
    groups = {str(row.get("group") or "") for row in grouped if row.get("by") == "segment"}
    texts = segment_labels(run, groups) if groups else {}
    cells: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for row in grouped:
        cells.setdefault((str(row["by"]), str(row["treatment_level"]), str(row.get("group") or "")), {})[
            str(row["estimand"])] = row
    overall_order = {level: i for i, level in enumerate(_level_order(
        {str(r["treatment_level"]): {str(r["estimand"]): r} for r in estimates if not r.get("by")
         and r.get("estimand") == "ATT" and r.get("treatment_level")}))}

    def order(key: tuple[str, str, str]) -> tuple[str, int, str, float, str]:
        by, level, group = key
        number = _number(group)
        return (by, overall_order.get(level, len(overall_order)), service_name(level),
                number if number is not None else float("inf"), group)

    keys = sorted(cells, key=order)
    labels = [f"{service_name(level)} · {group_label(by, group, texts)}" for by, level, group in keys]
    names = _estimand_names()
    series = [ForestSeries(names[e], [_shown(cells[key].get(e), k) for key in keys]) for e in ESTIMANDS]
    chart = forest_plot(labels, series, key="effects-by-group-forest", scale=100, decimals=1,
                        unit=gettext("percentage points"),
                        title=gettext("Effect of each service by client group, with %(level)s intervals")
                        % {"level": "95 %"},
                        x_label=gettext("Difference in the share in work, percentage points"),
                        category_label=gettext("Service and client group"),
                        note=gettext("Groups are smaller than all clients together, so their intervals are wider."))
    rows = [{"service": service_name(level), "group": group_label(by, group, texts),
             "summary": texts.get(group, {}).get("summary", "") if by == "segment" else "",
             **{e.lower(): _cell(cells[(by, level, group)].get(e), k) for e in ESTIMANDS}}
            for by, level, group in keys]
    described = [{"title": texts[g]["title"], "summary": texts[g]["summary"]}
                 for g in sorted(groups, key=lambda g: (_number(g) or float("inf"), g)) if texts[g]["summary"]]
    return {"chart": chart, "rows": rows, "segments": described}


# --- cost-effectiveness --------------------------------------------------------------------------------------


def _per_100(att: Any, low: Any, high: Any) -> dict[str, str]:
    a, lo, hi = _number(att), _number(low), _number(high)
    return {"value": _signed(100 * a) if a is not None else "–",
            "interval": (gettext("%(low)s to %(high)s") % {"low": _signed(100 * lo), "high": _signed(100 * hi)}
                         if lo is not None and hi is not None else "–")}


def _cost_per_employed(row: dict[str, Any]) -> dict[str, str]:
    point = _number(row.get("cost_per_employed_eur"))
    if point is None:
        return {"value": gettext("no additional employment shown"), "interval": "–"}
    low = _euros(row.get("cost_per_employed_low_eur"))
    high = _euros(row.get("cost_per_employed_high_eur")) if row.get("cost_per_employed_bounded") else \
        gettext("not bounded")
    return {"value": _euros(point), "interval": gettext("%(low)s to %(high)s") % {"low": low, "high": high}}


def cost_rows(costs: list[dict[str, Any]], run: EffectRun, k: int) -> list[dict[str, Any]]:
    groups = {str(row["segment"]) for row in costs if row.get("segment") is not None}
    texts = segment_labels(run, groups) if groups else {}
    # Services by their overall effect (best first); within a service, all its clients first, then its segments.
    overall = {r.get("treatment_level"): _number(r.get("att")) or 0.0 for r in costs if r.get("segment") is None}
    out = []
    for row in sorted(costs, key=lambda r: (
            -overall.get(r.get("treatment_level"), _number(r.get("att")) or 0.0),
            service_name(r.get("treatment_level")), r.get("segment") is not None, -(_number(r.get("att")) or 0.0),
            str(r.get("segment") or ""))):
        segment = row.get("segment")
        suppressed = bool(row.get("suppressed")) or row.get("mean_cost_eur") is None
        low, high = row.get("return_low_eur"), row.get("return_high_eur")
        out.append({
            "name": service_name(row.get("treatment_level")),
            "group": group_label("segment", segment, texts) if segment is not None else gettext("All clients"),
            "suppressed": suppressed,
            "persons": _count(row.get("treated_with_costs"), k),
            "mean_cost": _euros(row.get("mean_cost_eur")),
            "per_100": _per_100(row.get("att"), row.get("att_ci_low"), row.get("att_ci_high")),
            "cost_per_employed": _cost_per_employed(row),
            "return": _euros(row.get("return_per_treated_eur")),
            "return_interval": (gettext("%(low)s to %(high)s") % {"low": _euros(low), "high": _euros(high)}
                                if _number(low) is not None and _number(high) is not None else "–"),
        })
    return out


def cost_parameters(costs: list[dict[str, Any]]) -> dict[str, str] | None:
    """The public-finance figures the return was computed with (the same for every row)."""
    for row in costs:
        parameters = row.get("parameters") or {}
        gain = _number(row.get("gain_per_employed_eur", parameters.get("gain_per_employed_eur")))
        if gain is None:
            continue
        months = _number(parameters.get("horizon_months"))
        return {
            "gain": _euros(gain),
            "months": _decimal(months, 0) if months is not None else "–",
            "benefit": _euros(parameters.get("monthly_benefit_eur")),
            "taxes": _euros(parameters.get("monthly_tax_income_eur")),
            "wage": _euros(parameters.get("monthly_wage_eur")),
        }
    return None


# --- overlap, balance and sensitivity --------------------------------------------------------------------------


def _largest(balance: list[dict[str, Any]], key: str) -> tuple[float, str] | None:
    values = [(abs(v), str(row.get("covariate", ""))) for row in balance
              if (v := _number(row.get(key))) is not None]
    return max(values) if values else None


def _trimmed_text(overlap: dict[str, Any], estimand: str, k: int) -> str | None:
    trimmed = (overlap.get("trimmed") or {}).get(estimand)
    if not trimmed:
        return None
    below, above = int(trimmed.get("propensity_below") or 0), int(trimmed.get("propensity_above") or 0)
    alpha = _number(overlap.get("alpha")) or 0.05
    name = _estimand_names()[estimand]
    if below + above == 0:
        return gettext("%(estimand)s: nobody was left out; everyone had comparable clients in the other group.") % {
            "estimand": name}
    return gettext("%(estimand)s: %(total)s left out because there was nobody comparable in the other group: "
                   "%(below)s who almost never get this service (estimated chance below %(alpha)s) and %(above)s "
                   "who almost always get it (above %(high)s).") % {
        "estimand": name, "total": _count(below + above, k), "below": _count(below, k), "above": _count(above, k),
        "alpha": _percent(alpha), "high": _percent(1 - alpha)}


def _balance_text(balance: list[dict[str, Any]]) -> list[str]:
    before = _largest(balance, "smd_before")
    if before is None:
        return []
    texts = [gettext("Before the comparison was adjusted, the largest difference between those who got the service "
                     "and the others was in %(covariate)s: a standardised mean difference of %(smd)s.") % {
        "covariate": before[1], "smd": _decimal(before[0], 2)}]
    for estimand in ESTIMANDS:
        after = _largest(balance, f"smd_after_{estimand}")
        if after is None:
            continue
        verdict = gettext("good balance") if after[0] <= SMD_LIMIT else gettext("some difference remains")
        texts.append(gettext("%(estimand)s, after adjusting: largest difference %(smd)s (%(covariate)s): "
                             "%(verdict)s.") % {"estimand": _estimand_names()[estimand], "smd": _decimal(after[0], 2),
                                                "covariate": after[1], "verdict": verdict})
    return texts


def _robustness_text(row: dict[str, Any] | None) -> str | None:
    if row is None:
        return None
    value, ci = _number(row.get("robustness_value")), _number(row.get("robustness_value_ci"))
    if value is None:
        return None
    name = _estimand_names()[str(row["estimand"])]
    text = gettext("%(estimand)s: unmeasured confounding explaining %(value)s of the remaining variation in both "
                   "getting the service and being in work would erase the effect.") % {
        "estimand": name, "value": _percent(value)}
    if ci is not None:
        if ci <= 0:
            text += " " + gettext("The interval already includes zero.")
        else:
            text += " " + gettext("Confounding of %(value)s would make the interval include zero.") % {
                "value": _percent(ci)}
    return text


def quality_rows(results: dict[str, Any], levels: list[str], k: int) -> list[dict[str, Any]]:
    """Per service, in plain words: who was left out and why, how balanced the comparison is, how robust the
    estimate is to confounding that was not measured."""
    overlap, balance = results.get("overlap") or {}, results.get("balance") or {}
    overall = {(str(r.get("treatment_level")), str(r.get("estimand"))): r for r in results.get("estimates") or []
               if not r.get("by")}
    out = []
    for level in levels:
        trimmed = [t for e in ESTIMANDS if (t := _trimmed_text(overlap.get(level) or {}, e, k))]
        robust = [t for e in ESTIMANDS if (t := _robustness_text(overall.get((level, e))))]
        out.append({"name": service_name(level), "trimmed": trimmed, "balance": _balance_text(balance.get(level) or []),
                    "robustness": robust})
    return out


def skipped_rows(results: dict[str, Any], k: int) -> list[str]:
    out = []
    for row in results.get("skipped") or []:
        name = service_name(row.get("treatment_level"))
        if row.get("by"):
            name = f"{name} · {row.get('by')} {row.get('group')}"
        if row.get("reason") == "no_overlap":
            out.append(gettext("%(service)s (%(estimand)s): not estimated, too few comparable clients after "
                               "leaving out those without a match.") % {"service": name,
                                                                         "estimand": row.get("estimand", "")})
        else:
            out.append(gettext("%(service)s: not estimated, too few clients (got it: %(treated)s, compared: "
                               "%(control)s).") % {"service": name, "treated": _count(row.get("n_treated"), k)
                                                   if row.get("n_treated") is not None else "–",
                                                   "control": _count(row.get("n_control"), k)
                                                   if row.get("n_control") is not None else "–"})
    return out


# --- the page ------------------------------------------------------------------------------------------------


# --- the allocation rule ------------------------------------------------------------------------------------------

_CONDITION = re.compile(r"^(?P<name>.+) (?P<op><=|>) (?P<cut>-?[0-9.]+(?:e[+-]?[0-9]+)?)$")


def condition_text(condition: str) -> str:
    """One of the rule's conditions ("age <= 42.5", "education=isced_0_2 > 0.5") in words. Indicator columns
    (``column=level``) read as "is" / "is not"; a numeric threshold as "at most" / "more than" (the tree sends a
    value not recorded below every threshold: the page says so once, under the table)."""
    from polku.impact.explain import label, value_text

    found = _CONDITION.match(condition.strip())
    if found is None:
        return condition
    name, op, cut = found["name"], found["op"], float(found["cut"])
    if "=" in name:
        column, level = name.split("=", 1)
        words = {"label": label(column), "value": value_text(column, level)}
        return (gettext("%(label)s is %(value)s") if op == ">" else gettext("%(label)s is not %(value)s")) % words
    words = {"label": label(name), "value": value_text(name, cut)}
    if op == ">":
        return gettext("%(label)s more than %(value)s") % words
    return gettext("%(label)s at most %(value)s") % words


def policy_context(policy: Any, k: int) -> dict[str, Any] | None:
    """The stored allocation rule (``polku impact effects --policy``) for the page: each leaf's clients in words,
    the service it names and its mean estimated effect, and the value of following the rule against the current
    allocation and the best single service, all against no service."""
    if not isinstance(policy, dict) or not isinstance(policy.get("rule"), list):
        return None

    def value(item: Any) -> dict[str, str] | None:
        if not isinstance(item, dict) or _number(item.get("value")) is None:
            return None
        low, high = _number(item.get("ci_low")), _number(item.get("ci_high"))
        return {"value": _points(float(item["value"])),
                "interval": _interval(low, high) if low is not None and high is not None else "–",
                "service": service_name(item["service"]) if item.get("service") else ""}

    leaves = []
    for leaf in policy["rule"]:
        if not isinstance(leaf, dict):
            continue
        conditions = [condition_text(str(c)) for c in leaf.get("conditions") or []]
        persons = leaf.get("persons")
        leaves.append({
            "conditions": conditions or [gettext("All clients")],
            "service": service_name(leaf.get("service")),
            "effect": _points(float(leaf["mean_reward"])) if _number(leaf.get("mean_reward")) is not None else "–",
            "persons": _count(persons, k),
        })
    return {"leaves": leaves, "depth": policy.get("depth"), "control": service_name(policy.get("control_level")),
            "rule": value(policy.get("value")), "current": value(policy.get("current_allocation")),
            "best_single": value(policy.get("best_single_service"))}


def page_context(run: EffectRun, k: int) -> dict[str, Any]:
    results = run.results or {}
    estimates = [row for row in results.get("estimates") or [] if isinstance(row, dict)]
    rows, chart = overall_effects(estimates, k)
    costs = [row for row in results.get("costs") or [] if isinstance(row, dict)]
    return {
        "run": run,
        "rows_used": _count(results.get("rows_used", run.rows), k),
        "rows_all": _count(results.get("rows", run.rows), k),
        "outcome": outcome_name(results.get("outcome", run.outcome)),
        "treatment": treatment_name(results.get("treatment", run.treatment)),
        "control": service_name(results.get("control_level", run.control_level)),
        "estimator": results.get("estimator", ""),
        "effects": rows,
        "forest": chart,
        "by_group": group_effects(estimates, run, k),
        "costs": cost_rows(costs, run, k),
        "costs_grouped": any(row.get("segment") is not None for row in costs),
        "parameters": cost_parameters(costs),
        "quality": quality_rows(results, [row["level"] for row in rows], k),
        "skipped": skipped_rows(results, k),
        "policy": policy_context(results.get("policy"), k),
    }


@login_required
def effects(request: HttpRequest) -> HttpResponse:
    """``/impact/effects/``: the latest stored effect run. For managers and administrators; other staff are told
    it is not for them (403), anyone else gets "not found"."""
    if not impact_selectors.may_see_overview(request.user):
        if staff_of(request.user) is None:
            raise Http404
        return render(request, "web/effects_denied.html", status=403)
    k = _threshold()
    run = EffectRun.objects.first()
    context: dict[str, Any] = {"threshold": k, "run": None, "smd_limit": _decimal(SMD_LIMIT, 1)}
    if run is not None:
        context.update(page_context(run, k))
    return render(request, "web/effects.html", context)


urlpatterns: list[URLPattern | Any] = [
    path("impact/effects/", effects, name="effects"),
]
