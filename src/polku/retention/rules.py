"""The retention rules: per record type, what the period is counted from (the anchor), for how many years the
record is kept, and what happens when it has expired (docs in var/security/retention.md, "Rules").

The defaults follow the Client Data Act 703/2023 as the National Archives summarise it; a region changes them
with ``POLKU_RETENTION`` (JSON), for example ``{"client_record": {"years": 12, "action": "delete"}}``. Unknown
rules, actions a rule does not support, or periods under one year are refused at start-up (``polku check``) and
by every run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from polku.core.errors import InvalidInput

ANONYMISE = "anonymise"
DELETE = "delete"
REPORT = "report"  # counted and logged; removed by another component (the access log's own pruning hook)

#: The placeholder written over a direct identifier that may not be empty (the client's last name).
PLACEHOLDER = "—"
#: Prefix of the identity code an anonymised client is given: ``#`` and the client's id. No real identity code
#: starts with it, so the person's own code is free again and an anonymised client is recognised by it.
ANONYMISED_PREFIX = "#"


@dataclass(frozen=True)
class Rule:
    code: str
    title: Any
    anchor: Any
    years: int
    action: str
    actions: tuple[str, ...]
    source: str
    confirmed: bool
    enabled: bool = True
    #: client_record only: also replace the date of birth by 1 January of the birth year when anonymising
    #: (ages in the statistics then shift by up to a year; off by default so that the statistics stay intact).
    coarsen_birth_date: bool = False

    def cutoff(self, as_of: dt.date) -> dt.date:
        """Records whose anchor is before this day have expired on ``as_of`` (kept ``years`` full years)."""
        return years_before(as_of, self.years)


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


KANSALLISARKISTO = ("Kansallisarkisto, Sosiaalihuollon asiakirjojen säilytysaikojen määrittely (Client Data Act "
                    "703/2023): työikäisten palvelutehtävä 10 vuotta asian sulkemisesta")

DEFAULT_RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            code="client_record",
            title=_("Joint-service client record (working-age services)"),
            anchor=_("the client's latest activity: end of the last episode (case closed), last change of a "
                     "referral, contact, message or consent, or the record's creation"),
            years=10, action=ANONYMISE, actions=(ANONYMISE, DELETE), source=KANSALLISARKISTO, confirmed=True,
        ),
        Rule(
            code="resolved_alert",
            title=_("Resolved coordination alert"),
            anchor=_("the day the alert was resolved"),
            years=2, action=DELETE, actions=(DELETE,),
            source="Local decision (working notes derived from the client record, not a client document)",
            confirmed=False,
        ),
        Rule(
            code="access_log",
            title=_("Access-log entry"),
            anchor=_("the time of the entry"),
            years=12, action=REPORT, actions=(REPORT,),
            source="Log data of client-data processing: 12 years is the period commonly applied; not confirmed "
                   "from the stored sources",
            confirmed=False,
        ),
    )
}

_KEYS = {"years", "action", "enabled", "coarsen_birth_date"}


def configured_overrides() -> Any:
    return settings.POLKU.get("RETENTION", {})


def apply_overrides(overrides: Any, base: dict[str, Rule] | None = None) -> dict[str, Rule]:
    """The rules with ``overrides`` (rule code to ``{"years", "action", "enabled"}``) applied; raises
    :class:`InvalidInput` naming every problem."""
    rules = dict(base or DEFAULT_RULES)
    if isinstance(overrides, str):  # settings could not parse the environment variable
        raise InvalidInput(_("POLKU_RETENTION is not valid JSON: %(value)s") % {"value": overrides})
    if not isinstance(overrides, dict):
        raise InvalidInput(_("POLKU_RETENTION must be a JSON object of rule codes to settings."))
    errors: dict[str, list[str]] = {}
    for code, values in overrides.items():
        problems = errors.setdefault(str(code), [])
        if code not in rules:
            problems.append(str(_("unknown retention rule; the rules are: %(rules)s")
                                % {"rules": ", ".join(rules)}))
            continue
        if not isinstance(values, dict):
            problems.append(str(_("must be an object such as {\"years\": 10}")))
            continue
        rule = rules[code]
        unknown = sorted(set(values) - _KEYS)
        if unknown:
            problems.append(str(_("unknown settings: %(keys)s") % {"keys": ", ".join(unknown)}))
        changes: dict[str, Any] = {}
        if "years" in values:
            years = values["years"]
            if isinstance(years, bool) or not isinstance(years, int) or not 1 <= years <= 200:
                problems.append(str(_("years must be a whole number from 1 to 200")))
            else:
                changes["years"] = years
        if "action" in values:
            if values["action"] not in rule.actions:
                problems.append(str(_("action must be one of: %(actions)s") % {"actions": ", ".join(rule.actions)}))
            else:
                changes["action"] = values["action"]
        for flag in ("enabled", "coarsen_birth_date"):
            if flag in values:
                if not isinstance(values[flag], bool):
                    problems.append(str(_("%(key)s must be true or false") % {"key": flag}))
                else:
                    changes[flag] = values[flag]
        if not problems:
            rules[code] = dataclasses.replace(rule, **changes)
    errors = {code: msgs for code, msgs in errors.items() if msgs}
    if errors:
        detail = "; ".join(f"{code}: {', '.join(msgs)}" for code, msgs in errors.items())
        raise InvalidInput(_("The retention settings are not valid: %(detail)s") % {"detail": detail},
                           errors=errors)
    return rules


def effective_rules(overrides: Any = None) -> dict[str, Rule]:
    """The rules in force: the defaults with ``POLKU["RETENTION"]`` (or ``overrides``) applied."""
    return apply_overrides(configured_overrides() if overrides is None else overrides)
