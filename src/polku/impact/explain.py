"""The main reasons behind an employment-potential estimate, in plain language.

A reason is one feature's SHAP value (its push on the estimate's log-odds, relative to the average client):
what the feature is called, the client's value in words, whether it raises or lowers the estimate, and which
category of client data it comes from, so that a reader who may not see that category is told only that a
reason exists, not what it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from polku.core.choices import DataCategory

from .table import SERVICE_CLASSES

#: A reason must move the log-odds at least this much to be shown (smaller pushes are noise to a reader).
MIN_CONTRIBUTION = 0.05

_LABELS: dict[str, Promise] = {
    "days_in_service": gettext_lazy("Time in the joint service"),
    "sex": gettext_lazy("Sex"),
    "age": gettext_lazy("Age"),
    "age_band": gettext_lazy("Age group"),
    "foreign_background": gettext_lazy("Foreign background"),
    "language": gettext_lazy("Language"),
    "education": gettext_lazy("Education"),
    "disability": gettext_lazy("Disability"),
    "homeless": gettext_lazy("Homelessness"),
    "status_now": gettext_lazy("Situation now"),
    "employed_now": gettext_lazy("Working now"),
    "unemployed_days_now": gettext_lazy("Length of the current unemployment"),
    "unemployed_days_36m": gettext_lazy("Time unemployed in the last three years"),
    "employed_days_36m": gettext_lazy("Time in work in the last three years"),
    "days_since_first_registered": gettext_lazy("Time since first registered as a job seeker"),
    "unemployed_days_before_service": gettext_lazy("Unemployment before the joint service"),
    "subsidy_days": gettext_lazy("Labour market subsidy days paid"),
    "benefit_days": gettext_lazy("Unemployment benefit days paid"),
    "work_ability_score_latest": gettext_lazy("Work ability score, latest"),
    "work_ability_score_previous": gettext_lazy("Work ability score, previous"),
    "work_ability_score_first": gettext_lazy("Work ability score, first"),
    "work_ability_score_mean": gettext_lazy("Work ability score, average"),
    "work_ability_score_days_since": gettext_lazy("Time since the work ability score"),
    "work_ability_index_latest": gettext_lazy("Work ability index, latest"),
    "work_ability_index_previous": gettext_lazy("Work ability index, previous"),
    "work_ability_index_first": gettext_lazy("Work ability index, first"),
    "work_ability_index_mean": gettext_lazy("Work ability index, average"),
    "work_ability_index_days_since": gettext_lazy("Time since the work ability index"),
    "life_situation_latest": gettext_lazy("Obstacles in the life-situation mapping, latest total"),
    "life_situation_previous": gettext_lazy("Obstacles in the life-situation mapping, previous total"),
    "life_situation_first": gettext_lazy("Obstacles in the life-situation mapping, first total"),
    "life_situation_mean": gettext_lazy("Obstacles in the life-situation mapping, average total"),
    "life_situation_days_since": gettext_lazy("Time since the life-situation mapping"),
    "barrier_physical_health": gettext_lazy("Physical health as an obstacle"),
    "barrier_mental_health": gettext_lazy("Mental health as an obstacle"),
    "barrier_substance_use": gettext_lazy("Substance use as an obstacle"),
    "barrier_housing": gettext_lazy("Housing as an obstacle"),
    "barrier_debt": gettext_lazy("Money and debts as an obstacle"),
    "barrier_skills_language": gettext_lazy("Skills and language as an obstacle"),
    "barrier_caring_duties": gettext_lazy("Caring duties as an obstacle"),
    "barrier_motivation": gettext_lazy("Resources and motivation as an obstacle"),
    "barrier_areas_2plus": gettext_lazy("Areas of life that clearly stand in the way"),
    "services_running": gettext_lazy("Services going on now"),
    "services_completed": gettext_lazy("Services completed"),
    "services_interrupted": gettext_lazy("Services interrupted"),
    "referrals_sent": gettext_lazy("Referrals made"),
    "referrals_waiting": gettext_lazy("Referrals waiting to start"),
    "referrals_declined": gettext_lazy("Referrals declined"),
    "services_employment": gettext_lazy("Employment services received"),
    "services_work_trial": gettext_lazy("Work trials received"),
    "services_wage_subsidy": gettext_lazy("Wage-subsidised work received"),
    "services_training": gettext_lazy("Training received"),
    "services_rehabilitative_work": gettext_lazy("Rehabilitative work activity received"),
    "services_social_rehabilitation": gettext_lazy("Social rehabilitation received"),
    "services_vocational_rehabilitation": gettext_lazy("Vocational rehabilitation received"),
    "services_health": gettext_lazy("Health services received"),
    "services_mental_health_substance": gettext_lazy("Mental health or substance abuse services received"),
    "services_social_work": gettext_lazy("Social work received"),
    "services_debt_housing": gettext_lazy("Debt or housing advice received"),
    "services_low_threshold": gettext_lazy("Low-threshold activities received"),
    "services_other": gettext_lazy("Other services received"),
}

_VALUES: dict[str, Promise] = {
    "yes": gettext_lazy("yes"),
    "no": gettext_lazy("no"),
    "not_stated": gettext_lazy("not stated"),
    "female": gettext_lazy("female"),
    "male": gettext_lazy("male"),
    "isced_0_2": gettext_lazy("basic education"),
    "isced_3_4": gettext_lazy("upper secondary"),
    "isced_5_8": gettext_lazy("higher education"),
    "under_25": gettext_lazy("under 25"),
    "25_29": gettext_lazy("25–29"),
    "30_49": gettext_lazy("30–49"),
    "50_54": gettext_lazy("50–54"),
    "55_plus": gettext_lazy("55 or over"),
    "unemployed": gettext_lazy("unemployed"),
    "employed_open_market": gettext_lazy("in work"),
    "subsidised_work": gettext_lazy("in subsidised work"),
    "education": gettext_lazy("studying"),
    "rehabilitation": gettext_lazy("in rehabilitation"),
    "outside_labour_force": gettext_lazy("outside the labour force"),
    "pension": gettext_lazy("on a pension"),
    "unknown": gettext_lazy("not known"),
    "fi": gettext_lazy("Finnish"),
    "sv": gettext_lazy("Swedish"),
    "en": gettext_lazy("English"),
    "other": gettext_lazy("other"),
}

_BARRIER_SCALE: dict[int, Promise] = {
    0: gettext_lazy("not at all"),
    1: gettext_lazy("a little"),
    2: gettext_lazy("clearly"),
    3: gettext_lazy("very much"),
}

_SOCIAL_SERVICES = {"social_rehabilitation", "social_work", "debt_housing", "low_threshold"}
_HEALTH_SERVICES = {"health", "mental_health_substance"}
_REHABILITATION_SERVICES = {"vocational_rehabilitation", "rehabilitative_work"}


def category_of(feature: str) -> str:
    """The category of client data a feature comes from (what a reader must be allowed to see to be told it)."""
    if feature.startswith(("barrier_", "life_situation_")):
        return DataCategory.SOCIAL
    if feature.startswith("work_ability_"):
        return DataCategory.HEALTH
    if feature in {"subsidy_days", "benefit_days"}:
        return DataCategory.BENEFITS
    if feature.startswith("services_") and feature[len("services_"):] in SERVICE_CLASSES:
        cls = feature[len("services_"):]
        if cls in _SOCIAL_SERVICES:
            return DataCategory.SOCIAL
        if cls in _HEALTH_SERVICES:
            return DataCategory.HEALTH
        if cls in _REHABILITATION_SERVICES:
            return DataCategory.REHABILITATION
        return DataCategory.EMPLOYMENT
    if feature in {"sex", "age", "age_band", "foreign_background", "language", "education", "homeless",
                   "days_in_service", "gender", "third_country_national", "municipality_code"}:
        return DataCategory.BASIC
    if feature == "disability":
        return DataCategory.HEALTH
    return DataCategory.EMPLOYMENT


def label(feature: str) -> str:
    found = _LABELS.get(feature)
    return str(found) if found is not None else feature.replace("_", " ")


def _duration(days: float) -> str:
    days = round(days)
    if days >= 365:
        years = days / 365.25
        return _("%(years).1f years") % {"years": years}
    if days >= 60:
        months = round(days / 30.44)
        return ngettext("%(count)d month", "%(count)d months", months) % {"count": months}
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


def value_text(feature: str, value: Any) -> str:
    """The client's value of ``feature`` in words."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return _("not recorded")
    if isinstance(value, str):
        found = _VALUES.get(value)
        return str(found) if found is not None else value
    number = float(value)
    if feature.startswith("barrier_") and feature != "barrier_areas_2plus":
        return str(_BARRIER_SCALE.get(round(number), round(number)))
    if "days" in feature and feature not in {"subsidy_days", "benefit_days"}:
        return _duration(number)
    if feature == "employed_now":
        return str(_VALUES["yes"] if number else _VALUES["no"])
    if feature == "age":
        return _("%(age)d years") % {"age": int(number)}
    if number == int(number):
        return str(int(number))
    return f"{number:.1f}"


@dataclass
class Reason:
    feature: str
    category: str
    contribution: float  # on the log-odds scale; > 0 raises the estimate
    label: str
    value: str

    @property
    def raises(self) -> bool:
        return self.contribution > 0

    @property
    def direction(self) -> str:
        return _("raises the estimate") if self.raises else _("lowers the estimate")


def reasons(contributions: pd.Series, row: pd.Series, *, top: int = 4,
            minimum: float = MIN_CONTRIBUTION) -> list[Reason]:
    """The ``top`` features that move this client's estimate most (by at least ``minimum``, on the scale of
    ``contributions``; default :data:`MIN_CONTRIBUTION` on the log-odds scale)."""
    values = contributions.drop(labels=["_base"], errors="ignore")
    order = values.abs().sort_values(ascending=False)
    out: list[Reason] = []
    for feature in order.index:
        contribution = float(values[feature])
        if abs(contribution) < minimum or len(out) >= top:
            break
        out.append(Reason(feature, category_of(feature), contribution, label(feature),
                          value_text(feature, row.get(feature))))
    return out

