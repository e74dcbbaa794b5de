"""The pseudonymised analysis table: one row per joint-service client and reference date.

Each row describes a client whose joint-service episode was open on the reference date *D* with what Polku
knew **on D** (demographics, unemployment history, the latest and previous assessments, services received,
referrals still waiting) and the outcomes that followed (employed on the open market 6 and 12 months later,
days employed in the 12 months after *D*). Outcomes whose window reaches past ``observed_until`` (the register
data's end, by default today) are empty. Nothing dated after *D* is a feature: that is what keeps a model
trained on the table from seeing its own future.

The person is a keyed pseudonym (HMAC-SHA-256 of the identity code with ``POLKU["PSEUDONYM_KEY"]``); no name,
identity code, date of birth, address or contact detail is in the table. The columns are listed in
:data:`COLUMNS` and documented in ``docs/analysis-table.md``, so analysts can bring their own table in the same
format.

The table is built set-based: a handful of queries read the whole client base once, and every reference date is
then computed with NumPy and pandas over all clients at once (no per-client loop, no query per client).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import F
from django.db.models.functions import TruncDate
from django.utils import timezone

from polku.core.dates import add_months

#: Open-ended periods end far in the future (day numbers since 1970-01-01).
FUTURE = 10**7
MISSING = -(10**7)

#: Age bands of the fairness audit and the indicators (ESF+ uses under 30 and 55+ as well).
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("under_25", 0, 24),
    ("25_29", 25, 29),
    ("30_49", 30, 49),
    ("50_54", 50, 54),
    ("55_plus", 55, 200),
)

SERVICE_CLASSES = (
    "employment", "work_trial", "wage_subsidy", "training", "rehabilitative_work", "social_rehabilitation",
    "vocational_rehabilitation", "health", "mental_health_substance", "social_work", "debt_housing",
    "low_threshold", "other",
)
#: Instruments whose total score is a column (``<code with _>_latest`` and ``_previous``).
SCORED_INSTRUMENTS = ("work-ability-score", "work-ability-index", "life-situation")
#: The life-situation mapping's areas (its items): each a barrier column 0–3.
BARRIER_AREAS = (
    "physical_health", "mental_health", "substance_use", "housing", "debt", "skills_language", "caring_duties",
    "motivation",
)
OUTCOMES = ("employed_6m", "employed_12m", "days_employed_12m")
#: Days after D in which a started service counts as the row's treatment (``service_started_3m``).
TREATMENT_WINDOW_DAYS = 31
#: What happened after D that is a treatment, not a feature: never a model feature, like the outcomes.
TREATMENTS = ("service_started_1m",)


def _instrument_columns() -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for code in SCORED_INSTRUMENTS:
        slug = code.replace("-", "_")
        out[f"{slug}_latest"] = ("number",
                                 f"total score of the latest '{code}' assessment on or before D (empty: none)")
        out[f"{slug}_previous"] = ("number", f"total score of the '{code}' assessment before the latest (empty: none)")
        out[f"{slug}_days_since"] = ("integer", f"days from the latest '{code}' assessment to D (empty: none)")
        out[f"{slug}_first"] = ("number", f"total score of the first '{code}' assessment (empty: none)")
        out[f"{slug}_mean"] = ("number", f"mean total score of all '{code}' assessments on or before D (empty: none)")
    return out


#: Every column: name → (type, meaning). The order is the table's column order.
COLUMNS: dict[str, tuple[str, str]] = {
    "person": ("text", "keyed pseudonym of the person (HMAC-SHA-256, 32 hex digits); the same person has the same "
                       "pseudonym on every reference date and in every export made with the same key"),
    "reference_date": ("date", "the reference date D (YYYY-MM-DD)"),
    "cohort": ("text", "the quarter the client's joint-service episode began, e.g. 2024Q1"),
    "days_in_service": ("integer", "days from the episode's start to D"),
    "sex": ("category", "legal sex: female, male"),
    "gender": ("category", "gender as the client states it: woman, man, non_binary, not_stated"),
    "age": ("integer", "age in whole years on D"),
    "age_band": ("category", "under_25, 25_29, 30_49, 50_54, 55_plus"),
    "foreign_background": ("category", "yes, no, not_stated"),
    "third_country_national": ("category", "yes, no, not_stated"),
    "language": ("category", "preferred language: fi, sv, en, other"),
    "education": ("category", "highest education, ISCED groups: isced_0_2, isced_3_4, isced_5_8, not_stated"),
    "disability": ("category", "yes, no, not_stated"),
    "homeless": ("category", "yes, no, not_stated"),
    "municipality_code": ("category", "municipality of residence (Statistics Finland code) now"),
    "status_now": ("category", "employment status on D (employed_open_market, subsidised_work, education, "
                               "rehabilitation, unemployed, outside_labour_force, pension, unknown)"),
    "employed_now": ("integer", "1 if employed on the open market on D"),
    "unemployed_days_now": ("integer", "days of the unemployment period covering D (0 if not unemployed)"),
    "unemployed_days_36m": ("integer", "days unemployed in the 3 years up to D"),
    "employed_days_36m": ("integer", "days employed on the open market in the 3 years up to D"),
    "days_since_first_registered": ("integer", "days from the start of the earliest employment-status period to D"),
    "unemployed_days_before_service": ("integer", "days unemployed before the episode began (all periods on record)"),
    "subsidy_days": ("number", "labour market subsidy days paid up to D (a period running over D counts pro rata)"),
    "benefit_days": ("number", "unemployment benefit days of any kind paid up to D (pro rata as above)"),
    **_instrument_columns(),
    **{f"barrier_{area}": ("integer", f"'{area}' in the latest life-situation mapping on or before D, 0–3 "
                                      "(empty: no mapping)") for area in BARRIER_AREAS},
    "barrier_areas_2plus": ("integer", "life-situation areas scored 2 or more in the latest mapping"),
    **{f"services_{cls}": ("integer", f"services of class '{cls}' started on or before D") for cls in SERVICE_CLASSES},
    "services_running": ("integer", "services started and not ended on D"),
    "services_completed": ("integer", "services completed on or before D"),
    "services_interrupted": ("integer", "services interrupted on or before D"),
    "referrals_sent": ("integer", "referrals sent on or before D"),
    "referrals_waiting": ("integer", "referrals sent and not yet started, declined or ended on D"),
    "referrals_declined": ("integer", "referrals declined on or before D"),
    "service_started_1m": ("category", "treatment: the class of the first service started in the 31 days after D "
                                       "('none' if none started; empty: the 31 days are not yet observed)"),
    "employed_6m": ("integer", "outcome: 1 if employed on the open market 6 months after D (empty: not yet known)"),
    "employed_12m": ("integer", "outcome: 1 if employed on the open market 12 months after D (empty: not yet known)"),
    "days_employed_12m": ("integer", "outcome: days employed on the open market in the 12 months after D (empty: "
                                     "not yet known)"),
}

#: Columns that name or describe the row rather than the client (never model features).
KEY_COLUMNS = ("person", "reference_date", "cohort")
#: Group columns of the fairness audit.
GROUP_COLUMNS = ("sex", "age_band", "foreign_background", "language")
#: The categories of client data the table reads (for the access log).
CATEGORIES = ("basic", "employment", "benefits", "social", "health", "rehabilitation")


def pseudonym_key() -> bytes:
    key = settings.POLKU.get("PSEUDONYM_KEY") or ""
    if not key:  # development: derived from the secret key, never the secret key itself
        key = hmac.new(settings.SECRET_KEY.encode(), b"polku-pseudonym", hashlib.sha256).hexdigest()
    return str(key).encode()


def pseudonym(identity_code: str, key: bytes | None = None) -> str:
    """The keyed pseudonym of a person: HMAC-SHA-256 of the identity code, the first 32 hex digits."""
    return hmac.new(key or pseudonym_key(), identity_code.encode(), hashlib.sha256).hexdigest()[:32]


def _day(value: dt.date) -> int:
    return (value - dt.date(1970, 1, 1)).days


def _days(values: Iterable[dt.date | None], missing: int) -> np.ndarray:
    arr = np.array([v if v is not None else np.datetime64("NaT") for v in values], dtype="datetime64[D]")
    out = arr.astype(np.int64)
    out[np.isnat(arr)] = missing
    return out


@dataclass
class Sources:
    """What the table is computed from, read once: one DataFrame per record type, dates as day numbers."""

    clients: pd.DataFrame
    episodes: pd.DataFrame
    periods: pd.DataFrame
    benefits: pd.DataFrame
    assessments: pd.DataFrame
    barriers: pd.DataFrame
    referrals: pd.DataFrame

    @property
    def client_ids(self) -> np.ndarray:
        return self.clients.index.to_numpy()


def _frame(rows: Sequence[tuple[Any, ...]], names: Sequence[str], dates: dict[str, int]) -> pd.DataFrame:
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    data: dict[str, Any] = {}
    for name, values in zip(names, columns, strict=True):
        data[name] = _days(values, dates[name]) if name in dates else np.asarray(values)
    return pd.DataFrame(data, columns=list(names))


def load_sources(client_ids: Iterable[int] | None = None) -> Sources:
    """Read what the table needs for every client who has ever had a joint-service episode (or only ``client_ids``),
    in seven set-based queries."""
    from polku.assessments.models import Assessment, AssessmentAnswer
    from polku.clients.models import BenefitPeriod, Client, EmploymentStatusPeriod
    from polku.episodes.models import JointServiceEpisode
    from polku.referrals.models import Referral

    episodes_qs = JointServiceEpisode.objects.all()
    if client_ids is not None:
        episodes_qs = episodes_qs.filter(client_id__in=list(client_ids))
    ids = episodes_qs.values("client_id")
    episodes = _frame(
        list(episodes_qs.values_list("client_id", "start_date", "end_date")),
        ("client", "start", "end"), {"start": MISSING, "end": FUTURE},
    )
    client_fields = ("id", "personal_identity_code", "birth_date", "legal_sex", "gender", "preferred_language",
                     "municipality_code", "education_level", "foreign_background", "third_country_national",
                     "disability", "homeless")
    clients = _frame(list(Client.objects.filter(id__in=ids).values_list(*client_fields)),
                     ("client", "identity_code", "birth", *client_fields[3:]), {"birth": MISSING})
    clients = clients.set_index("client").sort_index()
    periods = _frame(
        list(EmploymentStatusPeriod.objects.filter(client_id__in=ids)
             .values_list("client_id", "status", "start_date", "end_date")),
        ("client", "status", "start", "end"), {"start": MISSING, "end": FUTURE},
    )
    benefits = _frame(
        list(BenefitPeriod.objects.filter(client_id__in=ids)
             .values_list("client_id", "benefit", "start_date", "end_date", "paid_days")),
        ("client", "benefit", "start", "end", "paid_days"), {"start": MISSING, "end": FUTURE},
    )
    assessments = _frame(
        list(Assessment.objects.filter(client_id__in=ids, instrument__code__in=SCORED_INSTRUMENTS,
                                       score__isnull=False)
             .values_list("id", "client_id", "instrument__code", "assessed_on", "score")),
        ("id", "client", "instrument", "day", "score"), {"day": MISSING},
    )
    answers = _frame(
        list(AssessmentAnswer.objects.filter(assessment__client_id__in=ids,
                                             assessment__instrument__code="life-situation",
                                             item__code__in=BARRIER_AREAS)
             .values_list("assessment_id", "assessment__client_id", "assessment__assessed_on", "item__code",
                          "value")),
        ("assessment", "client", "day", "item", "value"), {"day": MISSING},
    )
    if len(answers):
        barriers = answers.pivot_table(index=["assessment", "client", "day"], columns="item", values="value",
                                       aggfunc="max").reset_index()
    else:
        barriers = pd.DataFrame(columns=["assessment", "client", "day"])
    for area in BARRIER_AREAS:
        if area not in barriers:
            barriers[area] = np.nan
    tz = timezone.get_current_timezone()
    referrals = _frame(
        list(Referral.objects.filter(client_id__in=ids, sent_at__isnull=False)
             .annotate(sent=TruncDate("sent_at", tzinfo=tz), decided=TruncDate("decided_at", tzinfo=tz),
                       started=TruncDate("started_at", tzinfo=tz), ended=TruncDate("ended_at", tzinfo=tz),
                       cls=F("service__service_class"))
             .values_list("client_id", "cls", "status", "sent", "decided", "started", "ended")),
        ("client", "cls", "status", "sent", "decided", "started", "ended"),
        {"sent": MISSING, "decided": FUTURE, "started": FUTURE, "ended": FUTURE},
    )
    return Sources(clients, episodes, periods, benefits, assessments, barriers, referrals)


def _latest_by_client(frame: pd.DataFrame, day: int, columns: list[str], key: str = "day") -> pd.DataFrame:
    """Each client's latest row dated on or before ``day`` (ties: the later row)."""
    sel = frame[frame[key] <= day]
    return sel.sort_values(["client", key], kind="stable").drop_duplicates("client", keep="last").set_index(
        "client")[columns]


def _overlap(start: np.ndarray, end: np.ndarray, low: int, high: int) -> np.ndarray:
    """Days of [start, end] within [low, high]."""
    return np.clip(np.minimum(end, high) - np.maximum(start, low) + 1, 0, None)


def _age(birth: np.ndarray, day: dt.date) -> np.ndarray:
    born = birth.astype("datetime64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (born - born.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    before = (day.month < month) | ((day.month == month) & (day.day < dom))
    return day.year - year - before


def age_band(age: np.ndarray | pd.Series) -> np.ndarray:
    values = np.asarray(age)
    out = np.full(values.shape, AGE_BANDS[-1][0], dtype=object)
    for name, low, high in reversed(AGE_BANDS):
        out[(values >= low) & (values <= high)] = name
    return out


def _cohort(days: np.ndarray) -> np.ndarray:
    dates = days.astype("datetime64[D]")
    years = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    quarters = (dates.astype("datetime64[M]").astype(np.int64) % 12) // 3 + 1
    return np.char.add(np.char.add(years.astype(str), "Q"), quarters.astype(str)).astype(object)


def _status_at(periods: pd.DataFrame, day: int) -> pd.DataFrame:
    covering = periods[(periods["start"] <= day) & (periods["end"] >= day)]
    return covering.sort_values(["client", "start"], kind="stable").drop_duplicates("client", keep="last").set_index(
        "client")[["status", "start"]]


def rows_at(src: Sources, day_date: dt.date, observed_until: dt.date, key: bytes) -> pd.DataFrame:
    """The table's rows for one reference date (every client whose episode was open on it)."""
    d = _day(day_date)
    ep = src.episodes
    open_ep = ep[(ep["start"] <= d) & (ep["end"] > d)].drop_duplicates("client", keep="last").set_index("client")
    clients = src.clients.loc[src.clients.index.intersection(open_ep.index)]
    idx = clients.index
    n = len(idx)
    out = pd.DataFrame(index=idx)
    out["person"] = (clients["person"].to_numpy() if "person" in clients
                     else [pseudonym(code, key) for code in clients["identity_code"]])
    out["reference_date"] = day_date.isoformat()
    start = open_ep.loc[idx, "start"].to_numpy()
    out["cohort"] = _cohort(start)
    out["days_in_service"] = d - start
    out["sex"] = clients["legal_sex"].to_numpy()
    out["gender"] = clients["gender"].to_numpy()
    ages = _age(clients["birth"].to_numpy(), day_date)
    out["age"] = ages
    out["age_band"] = age_band(ages)
    for column in ("foreign_background", "third_country_national", "disability", "homeless"):
        out[column] = clients[column].to_numpy()
    language = clients["preferred_language"].to_numpy().astype(object)
    out["language"] = np.where(np.isin(language, ["fi", "sv", "en"]), language, "other")
    out["education"] = clients["education_level"].to_numpy()
    out["municipality_code"] = clients["municipality_code"].to_numpy()

    periods = src.periods[src.periods["client"].isin(idx) & (src.periods["start"] <= d)]
    now = _status_at(periods, d).reindex(idx)
    status = now["status"].astype(object).where(now["status"].notna(), "unknown").to_numpy(dtype=object)
    out["status_now"] = status
    out["employed_now"] = (status == "employed_open_market").astype(int)
    out["unemployed_days_now"] = np.where(status == "unemployed", d - now["start"].fillna(d).to_numpy() + 1, 0)
    low = _day(add_months(day_date, -36)) + 1
    overlap = _overlap(periods["start"].to_numpy(), periods["end"].to_numpy(), low, d)
    for column, code in (("unemployed_days_36m", "unemployed"), ("employed_days_36m", "employed_open_market")):
        sums = pd.Series(np.where(periods["status"].to_numpy() == code, overlap, 0)).groupby(
            periods["client"].to_numpy()).sum()
        out[column] = sums.reindex(idx, fill_value=0).to_numpy()
    first = periods.groupby("client")["start"].min().reindex(idx)
    out["days_since_first_registered"] = (d - first).to_numpy()
    ep_start = pd.Series(start, index=idx).reindex(periods["client"].to_numpy()).to_numpy()
    before = _overlap(periods["start"].to_numpy(), np.minimum(periods["end"].to_numpy(), ep_start - 1), MISSING, d)
    sums = pd.Series(np.where(periods["status"].to_numpy() == "unemployed", before, 0)).groupby(
        periods["client"].to_numpy()).sum()
    out["unemployed_days_before_service"] = sums.reindex(idx, fill_value=0).to_numpy()

    ben = src.benefits[src.benefits["client"].isin(idx) & (src.benefits["start"] <= d)]
    length = (np.minimum(ben["end"], FUTURE // 2) - ben["start"] + 1).clip(lower=1)
    open_ended = ben["end"].to_numpy() >= FUTURE
    share = np.where(open_ended, 1.0, _overlap(ben["start"].to_numpy(), ben["end"].to_numpy(), MISSING, d) / length)
    paid = ben["paid_days"].to_numpy() * share
    for column, mask in (("subsidy_days", ben["benefit"].to_numpy() == "labour_market_subsidy"),
                         ("benefit_days", np.ones(len(ben), bool))):
        sums = pd.Series(np.where(mask, paid, 0.0)).groupby(ben["client"].to_numpy()).sum()
        out[column] = np.round(sums.reindex(idx, fill_value=0.0).to_numpy(), 1)

    assessed = src.assessments[src.assessments["client"].isin(idx) & (src.assessments["day"] <= d)]
    assessed = assessed.sort_values(["client", "instrument", "day", "id"], kind="stable")
    for code in SCORED_INSTRUMENTS:
        slug = code.replace("-", "_")
        one = assessed[assessed["instrument"] == code]
        last_two = one.groupby("client").tail(2)
        latest = last_two.drop_duplicates("client", keep="last").set_index("client").reindex(idx)
        previous = last_two[last_two.duplicated("client", keep="last")].set_index("client").reindex(idx)
        out[f"{slug}_latest"] = latest["score"].to_numpy(dtype=float)
        out[f"{slug}_previous"] = previous["score"].to_numpy(dtype=float)
        out[f"{slug}_days_since"] = (d - latest["day"]).to_numpy(dtype=float)
        grouped = one.groupby("client")["score"]
        out[f"{slug}_first"] = grouped.first().reindex(idx).to_numpy(dtype=float)
        out[f"{slug}_mean"] = grouped.mean().reindex(idx).to_numpy(dtype=float)
    barriers = src.barriers[src.barriers["client"].isin(idx)]
    latest_map = _latest_by_client(barriers, d, list(BARRIER_AREAS)).reindex(idx)
    for area in BARRIER_AREAS:
        out[f"barrier_{area}"] = latest_map[area].to_numpy(dtype=float)
    values = latest_map[list(BARRIER_AREAS)].to_numpy(dtype=float)
    out["barrier_areas_2plus"] = np.where(np.isnan(values).all(axis=1), np.nan, (values >= 2).sum(axis=1))

    ref = src.referrals[src.referrals["client"].isin(idx) & (src.referrals["sent"] <= d)]
    started = ref["started"].to_numpy() <= d
    ended = ref["ended"].to_numpy() <= d
    status_final = ref["status"].to_numpy()
    declined = (status_final == "declined") & (ref["decided"].to_numpy() <= d)
    flags = {
        "services_running": started & ~ended,
        "services_completed": ended & (status_final == "completed"),
        "services_interrupted": ended & (status_final == "interrupted"),
        "referrals_sent": np.ones(len(ref), bool),
        "referrals_waiting": ~started & ~ended & ~declined,
        "referrals_declined": declined,
    }
    cls = ref["cls"].to_numpy()
    for name in SERVICE_CLASSES:
        flags[f"services_{name}"] = started & (cls == name)
    by_client = pd.DataFrame({k: v.astype(int) for k, v in flags.items()}).groupby(ref["client"].to_numpy()).sum()
    by_client = by_client.reindex(idx, fill_value=0)
    for name in SERVICE_CLASSES:
        out[f"services_{name}"] = by_client[f"services_{name}"].to_numpy()
    for name in ("services_running", "services_completed", "services_interrupted", "referrals_sent",
                 "referrals_waiting", "referrals_declined"):
        out[name] = by_client[name].to_numpy()

    # Treatment: the first service started in the window after D.
    if _day(day_date) + TREATMENT_WINDOW_DAYS > _day(observed_until):
        out["service_started_1m"] = None
    else:
        after = src.referrals[src.referrals["client"].isin(idx) & (src.referrals["started"] > d)
                              & (src.referrals["started"] <= d + TREATMENT_WINDOW_DAYS)]
        first_started = after.sort_values(["client", "started"], kind="stable").drop_duplicates("client")
        out["service_started_1m"] = first_started.set_index("client")["cls"].reindex(idx).fillna("none").to_numpy(
            dtype=object)

    # Outcomes: from the register's periods after D, only where their window is observed.
    all_periods = src.periods[src.periods["client"].isin(idx)]
    for months, column in ((6, "employed_6m"), (12, "employed_12m")):
        target = add_months(day_date, months)
        if target > observed_until:
            out[column] = np.nan
            continue
        later = _status_at(all_periods, _day(target)).reindex(idx)
        out[column] = (later["status"] == "employed_open_market").astype(float).to_numpy()
    target = add_months(day_date, 12)
    if target > observed_until:
        out["days_employed_12m"] = np.nan
    else:
        employed = all_periods[all_periods["status"] == "employed_open_market"]
        days = _overlap(employed["start"].to_numpy(), employed["end"].to_numpy(), d + 1, _day(target))
        sums = pd.Series(days).groupby(employed["client"].to_numpy()).sum()
        out["days_employed_12m"] = sums.reindex(idx, fill_value=0).to_numpy(dtype=float)
    assert n == len(out)
    return out[list(COLUMNS)]


def build_table(
    reference_dates: Sequence[dt.date],
    *,
    observed_until: dt.date | None = None,
    client_ids: Iterable[int] | None = None,
    sources: Sources | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_client_id: bool = False,
) -> pd.DataFrame:
    """The analysis table for ``reference_dates`` (rows of every date, in date order).

    ``keep_client_id`` adds the internal ``client_id`` column: only for in-process use where the caller already
    has the right to the client (scoring one client for their page); exports never carry it.
    """
    src = sources if sources is not None else load_sources(client_ids)
    until = observed_until or timezone.localdate()
    key = pseudonym_key()
    if "person" not in src.clients:
        src.clients["person"] = [pseudonym(code, key) for code in src.clients["identity_code"]]
    parts = []
    for i, day in enumerate(sorted(set(reference_dates)), start=1):
        part = rows_at(src, day, until, key)
        if keep_client_id:
            part.insert(0, "client_id", part.index.to_numpy())
        parts.append(part)
        if progress:
            progress(i, len(reference_dates))
    if not parts:
        return empty_table(keep_client_id)
    table = pd.concat(parts, ignore_index=True)
    return table


def empty_table(keep_client_id: bool = False) -> pd.DataFrame:
    columns = (["client_id"] if keep_client_id else []) + list(COLUMNS)
    return pd.DataFrame(columns=columns)


def month_ends(first: dt.date, last: dt.date, step_months: int = 1) -> list[dt.date]:
    """Month-end reference dates from the month of ``first`` to that of ``last``, every ``step_months``."""
    out = []
    month = dt.date(first.year, first.month, 1)
    while month <= last:
        end = add_months(month, 1) - dt.timedelta(days=1)
        if end <= last:
            out.append(end)
        month = add_months(month, step_months)
    return out
