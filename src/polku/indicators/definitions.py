"""Indicator definitions as code: identifier, ESF+ code, trilingual name and definition, population, period logic.

Names and definitions are gettext messages (Finnish and Swedish in the catalogues). The ESF+ codes are data
(``data/esf_codes.json``) so that they can be corrected against the Commission's list without touching code;
their sources are in docs/domain.md, section 8.

Populations (the period is [start, end], both days included):

* ``entrants``: joint-service episodes that started in the period (ESF+ "participants entering");
* ``leavers``: episodes that ended in the period (results on leaving);
* ``leavers_6m`` / ``leavers_12m``: leavers whose day six / twelve months after the end has passed when the
  facts were computed (the others are counted as not yet observed);
* ``open``: episodes open on at least one day of the period (persons counted once);
* ``plan_due``: episodes whose mapping period ended in the period or before, open on at least one day of it;
* ``planned``: episodes whose first plan was drawn up in the period;
* ``mapped``: episodes whose mapping period ended in the period (by a plan, its deadline or the end);
* ``referrals_started`` / ``referrals_sent``: referrals that started / were sent in the period;
* ``assessed``: episode × instrument whose latest score in the episode was in the period, assessed twice or more.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Dimension:
    """A breakdown: its identifier, label and categories (code, label) in display order."""

    key: str
    label: Promise
    categories: tuple[tuple[str, Promise | str], ...]


GENDERS: tuple[tuple[str, Promise], ...] = (
    ("woman", _("Women")), ("man", _("Men")), ("non_binary", _("Non-binary")),
    ("not_stated", _("Other or not stated")),
)
YES_NO = (("yes", _("Yes")), ("no", _("No")), ("not_stated", _("Not stated")))

DIMENSIONS: dict[str, Dimension] = {
    d.key: d for d in (
        Dimension("age_band", _("Age"), (
            ("under_25", _("Under 25")), ("25_29", _("25–29")), ("30_49", _("30–49")), ("50_54", _("50–54")),
            ("55_plus", _("55 or over")))),
        Dimension("foreign_background", _("Foreign background"), YES_NO),
        Dimension("language", _("Language"), (
            ("fi", _("Finnish")), ("sv", _("Swedish")), ("en", _("English")), ("other", _("Other")))),
        Dimension("education", _("Education"), (
            ("isced_0_2", _("ISCED 0–2")), ("isced_3_4", _("ISCED 3–4")), ("isced_5_8", _("ISCED 5–8")),
            ("not_stated", _("Not stated")))),
        Dimension("area", _("Urban or rural"), (
            ("urban", _("Urban")), ("semi_urban", _("Semi-urban")), ("rural", _("Rural")),
            ("unknown", _("Not known")))),
        Dimension("region", _("Municipality"), ()),
        Dimension("segment", _("Segment"), ()),
    )
}
#: Breakdowns a user may ask for (``--by``); ``region`` takes its categories from the data.
BREAKDOWNS = tuple(DIMENSIONS)


@dataclass(frozen=True)
class Indicator:
    """One indicator: ``key`` (stable identifier), its population and the partition it counts."""

    key: str
    name: Promise
    definition: Promise
    population: str
    kind: str = "count"  # count | rate | median
    part: str = ""  # the partition variable; the "yes" categories are what is counted
    counted: tuple[str, ...] = ()
    unit: Promise | str = ""
    notes: tuple[Promise, ...] = field(default_factory=tuple)


ESF_OUTPUTS: tuple[Indicator, ...] = (
    Indicator("esf_total", _("Total number of participants"),
              _("Joint-service episodes that started in the period (each start is one participant)."), "entrants"),
    Indicator("esf_unemployed", _("Unemployed, including long-term unemployed"),
              _("Registered as unemployed on the day the episode started."), "entrants", part="lm_status",
              counted=("long_term_unemployed", "other_unemployed")),
    Indicator("esf_long_term_unemployed", _("Long-term unemployed"),
              _("Unemployed on the start day for at least 12 months (6 months under 25)."), "entrants",
              part="lm_status", counted=("long_term_unemployed",)),
    Indicator("esf_inactive", _("Inactive (outside the labour force)"),
              _("Outside the labour force on the start day (in education, rehabilitation, on a pension or "
                "otherwise not seeking work)."), "entrants", part="lm_status", counted=("inactive",)),
    Indicator("esf_employed", _("Employed, including self-employed"),
              _("In work on the open market or subsidised work on the start day."), "entrants", part="lm_status",
              counted=("employed",)),
    Indicator("esf_under_18", _("Children below 18 years of age"), _("Aged under 18 on the start day."),
              "entrants", part="esf_age", counted=("under_18",)),
    Indicator("esf_age_18_29", _("Young people between 18 and 29 years of age"),
              _("Aged 18–29 on the start day."), "entrants", part="esf_age", counted=("18_29",)),
    Indicator("esf_age_55_plus", _("Participants of 55 years of age and above"),
              _("Aged 55 or over on the start day."), "entrants", part="esf_age", counted=("55_plus",)),
    Indicator("esf_isced_0_2", _("With lower secondary education or less (ISCED 0–2)"),
              _("Highest completed education ISCED 0–2."), "entrants", part="education", counted=("isced_0_2",)),
    Indicator("esf_isced_3_4", _("With upper secondary or post-secondary education (ISCED 3–4)"),
              _("Highest completed education ISCED 3–4."), "entrants", part="education", counted=("isced_3_4",)),
    Indicator("esf_isced_5_8", _("With tertiary education (ISCED 5–8)"),
              _("Highest completed education ISCED 5–8."), "entrants", part="education", counted=("isced_5_8",)),
    Indicator("esf_disability", _("Participants with disabilities"), _("Has stated a disability."), "entrants",
              part="disability", counted=("yes",)),
    Indicator("esf_third_country", _("Third-country nationals"), _("Not a citizen of an EU member state."),
              "entrants", part="third_country", counted=("yes",)),
    Indicator("esf_foreign_background", _("Participants with a foreign background"),
              _("Has stated a foreign background."), "entrants", part="foreign_background", counted=("yes",)),
    Indicator("esf_minority", _("Minorities (including marginalised communities such as the Roma)"),
              _("Has stated belonging to a minority."), "entrants", part="minority", counted=("yes",)),
    Indicator("esf_homeless", _("Homeless or affected by housing exclusion"),
              _("Has stated homelessness or housing exclusion."), "entrants", part="homeless", counted=("yes",)),
    Indicator("esf_rural", _("Participants from rural areas"),
              _("Lived in a rural municipality on the start day (Statistics Finland's grouping)."), "entrants",
              part="area", counted=("rural",)),
)
ESF_RESULTS: tuple[Indicator, ...] = (
    Indicator("esf_job_searching_on_leaving", _("Participants engaged in job searching upon leaving"),
              _("Inactive at the start and registered as a job seeker within four weeks of leaving."), "leavers",
              part="job_searching_on_leaving", counted=("yes",)),
    Indicator("esf_in_education_on_leaving", _("Participants in education or training upon leaving"),
              _("In education within four weeks of leaving."), "leavers", part="education_on_leaving",
              counted=("yes",)),
    Indicator("esf_qualification_on_leaving", _("Participants gaining a qualification upon leaving"),
              _("Completed a training service during the episode or within four weeks of leaving."), "leavers",
              part="qualification_on_leaving", counted=("yes",)),
    Indicator("esf_employed_on_leaving", _("Participants in employment, including self-employment, upon leaving"),
              _("In work (open market or subsidised) within four weeks of leaving."), "leavers",
              part="employed_on_leaving", counted=("yes",)),
    Indicator("esf_employed_6m", _("Participants in employment, including self-employment, six months after "
                                   "leaving"),
              _("In work (open market or subsidised) six months after leaving."), "leavers_6m",
              part="employed_6m", counted=("yes",)),
    Indicator("esf_better_situation_6m", _("Participants in a better labour market situation six months after "
                                           "leaving"),
              _("In subsidised work at the start and on the open market six months after leaving."), "leavers_6m",
              part="better_situation_6m", counted=("yes",)),
)


@cache
def esf_codes() -> dict[str, str]:
    """Indicator key → the Commission's code (EECO…/EECR…), from data/esf_codes.json."""
    path = DATA / "esf_codes.json"
    if not path.exists():
        return {}
    return {row["indicator"]: row["code"] for row in json.loads(path.read_text(encoding="utf-8"))}


@cache
def load_municipality_groups() -> dict[str, str]:
    """Municipality code → urban / semi_urban / rural (data/municipality_groups.csv; docs/domain.md)."""
    path = DATA / "municipality_groups.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row["group"] for row in csv.DictReader(handle) if row.get("group")}


@cache
def municipality_names() -> dict[str, str]:
    path = DATA / "municipality_groups.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {row["code"]: row.get("name", "") for row in csv.DictReader(handle)}
