"""Rebuilding the indicator facts from the client records, set-based (docs/indicators.md, "How figures are made").

Seven queries read what is needed for every joint-service episode; NumPy and pandas then derive, per episode,
the characteristics at its start and the situation on leaving and after it. The result replaces the facts in one
transaction, and each client whose records were read gets one system row in the access log per data category.

Definitions (day numbers are days since 1970-01-01):

* **status at start**: the employment-status period covering the start day (the latest-starting one if several);
  none → "" (not known);
* **long-term unemployed**: unemployed at the start, for at least 12 months (25 or over) or 6 months (under 25)
  by then — the ESF+ and Finnish definition (docs/domain.md, section 8);
* **on leaving**: within four weeks (28 days) of the end day: employed (open market or subsidised work), in
  education, job searching (registered unemployed after having been inactive at the start, not employed), a
  qualification gained (a training service completed between the start and four weeks after the end);
* **six / twelve months after**: the status covering the end day + 182 / + 365 days, only when that day is on or
  before ``as_of``; "unknown" when no period covers it;
* **better situation six months after**: for those employed at the start, from subsidised work to the open market
  (ESF+: a better labour-market situation); empty for everyone else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

#: Statuses counted as employed (including subsidised work) and inactive (outside the labour force in ESF+ terms).
EMPLOYED = ("employed_open_market", "subsidised_work")
INACTIVE = ("outside_labour_force", "education", "rehabilitation", "pension")
ON_LEAVING_DAYS = 28
SIX_MONTHS_DAYS = 182
TWELVE_MONTHS_DAYS = 365
LONG_TERM_DAYS_ADULT = 365
LONG_TERM_DAYS_YOUNG = 183
#: Service classes whose completion counts as gaining a qualification.
QUALIFYING_CLASSES = ("training",)
NONE_DAY = 10**7
EPOCH = dt.date(1970, 1, 1)

ProgressFn = Callable[[str], None]
#: The purpose written to the access log when the facts are rebuilt.
INDICATOR_PURPOSE = gettext_lazy("Statistics: pseudonymised indicator facts")
#: The data categories read (identity and background, employment status, assessments).
CATEGORIES_READ = ("basic", "employment", "social", "health")
#: Also read when the segments are computed (the analysis table reads benefits and rehabilitation as well).
SEGMENT_CATEGORIES = ("benefits", "rehabilitation")


def _day(value: dt.date) -> int:
    return (value - EPOCH).days


def _days(values: Any, missing: int) -> np.ndarray:
    return np.array([missing if v is None else (v - EPOCH).days for v in values], dtype=np.int64)


def _date_objects(days: np.ndarray, missing: int | None = None) -> np.ndarray:
    out = np.empty(len(days), dtype=object)
    for i, d in enumerate(days.tolist()):
        out[i] = None if (missing is not None and d == missing) else EPOCH + dt.timedelta(days=int(d))
    return out


def _ints_or_none(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if v == NONE_DAY else int(v)
    return out


def _nullable_ints(values: pd.Series) -> np.ndarray:
    """Whole numbers as Python ints, missing ones (None or NaN, as pandas may turn them) as None."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if v is None or v != v else int(v)
    return out


def person_key() -> bytes:
    from polku.impact.table import pseudonym_key

    return hmac.new(pseudonym_key(), b"polku-indicators", hashlib.sha256).digest()


def persons(client_ids: np.ndarray) -> np.ndarray:
    """The keyed pseudonym of each client as a 60-bit integer (only to count distinct people)."""
    key = person_key()
    return np.array([int(hmac.new(key, str(int(c)).encode(), hashlib.sha256).hexdigest()[:15], 16)
                     for c in client_ids], dtype=np.int64)


def _age(birth: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whole years between two arrays of day numbers."""
    b = birth.astype("datetime64[D]")
    d = day.astype("datetime64[D]")
    by, bm = b.astype("datetime64[Y]").astype(int) + 1970, b.astype("datetime64[M]").astype(int) % 12
    dy, dm = d.astype("datetime64[Y]").astype(int) + 1970, d.astype("datetime64[M]").astype(int) % 12
    bd = (b - b.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    dd = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
    before = (dm < bm) | ((dm == bm) & (dd < bd))
    return np.clip(dy - by - before.astype(int), 0, 150)


@dataclass
class FactFrames:
    participations: pd.DataFrame
    assessments: pd.DataFrame
    referrals: pd.DataFrame
    client_ids: np.ndarray


def _status_covering(episodes: pd.DataFrame, periods: pd.DataFrame, day_col: str) -> pd.DataFrame:
    """For each episode row, the status (and its start) of the period covering ``episodes[day_col]``."""
    days = episodes[["episode", "client", day_col]].rename(columns={day_col: "_on"})
    merged = days.merge(periods, on="client", how="inner")
    merged = merged[(merged["start"] <= merged["_on"]) & (merged["end"] >= merged["_on"])]
    merged = merged.sort_values(["episode", "start"], kind="stable").drop_duplicates("episode", keep="last")
    return merged.set_index("episode")[["status", "start"]]


def _any_overlap(episodes: pd.DataFrame, periods: pd.DataFrame, statuses: tuple[str, ...], low: str,
                 high: str) -> pd.Series:
    """Per episode: does a period with one of ``statuses`` overlap [low, high]?"""
    sel = periods[periods["status"].isin(statuses)]
    window = episodes[["episode", "client", low, high]].rename(columns={low: "_low", high: "_high"})
    merged = window.merge(sel, on="client", how="inner")
    hit = merged[(merged["start"] <= merged["_high"]) & (merged["end"] >= merged["_low"])]
    return episodes["episode"].isin(hit["episode"].unique())


def episode_segments(ep: pd.DataFrame, as_of: dt.date, say: ProgressFn) -> Any:
    """Each episode's segment (the impact model's latest segment model, docs/impact.md) as it stood at the first
    month end of the episode; "" when no segment model is stored or the episode had no month end yet."""
    from polku.impact.models import ModelKind
    from polku.impact.selectors import usable_latest

    found = usable_latest(ModelKind.SEGMENTS)
    if found is None or not len(ep):
        return ""
    from polku.impact import segments as seg
    from polku.impact.table import build_table, month_ends

    first = EPOCH + dt.timedelta(days=int(ep["start"].min()))
    dates = month_ends(first, as_of)
    if not dates:
        return ""
    say(f"segments: the analysis table at {len(dates)} month ends")
    table = build_table(dates, observed_until=as_of, keep_client_id=True)
    rows = table[table["days_in_service"] < 31]
    if not len(rows):
        return ""
    segment = seg.assign(found[1], rows)["segment"].astype(str)
    start = (pd.to_datetime(rows["reference_date"]) - pd.to_timedelta(rows["days_in_service"], unit="D"))
    start_day = ((start - pd.Timestamp("1970-01-01")).dt.days).to_numpy(np.int64)
    lookup = dict(zip(zip(rows["client_id"].to_numpy(np.int64).tolist(), start_day.tolist(), strict=True),
                      segment.tolist(), strict=True))
    return np.array([lookup.get((c, s), "") for c, s in zip(ep["client"].tolist(), ep["start"].tolist(),
                                                             strict=True)], dtype=object)


def load_frames(as_of: dt.date, progress: ProgressFn | None = None, *, segments: bool = True) -> FactFrames:
    """Read the records and derive the facts (no writing)."""
    from polku.assessments.models import Assessment
    from polku.clients.models import Client, EmploymentStatusPeriod, ResidenceChange
    from polku.episodes.models import JointServiceEpisode
    from polku.plans.models import PlanVersion
    from polku.referrals.models import Referral

    say = progress or (lambda message: None)
    today = _day(as_of)
    episode_rows = list(JointServiceEpisode.objects.filter(start_date__lte=as_of).values_list(
        "id", "client_id", "start_date", "mapping_period_end", "end_date", "end_reason"))
    say(f"{len(episode_rows):,} episodes")
    ep = pd.DataFrame(episode_rows, columns=["episode", "client", "start_d", "mapping_d", "end_d", "end_reason"])
    ep["start"] = _days(ep["start_d"], 0)
    ep["mapping_end"] = _days(ep["mapping_d"], 0)
    ends = [e if e is not None and e <= as_of else None for e in ep["end_d"]]
    ep["end"] = _days(ends, NONE_DAY)
    ep["end_reason"] = np.where(ep["end"] < NONE_DAY, ep["end_reason"].fillna(""), "")
    ids = JointServiceEpisode.objects.filter(start_date__lte=as_of).values("client_id")

    client_fields = ("id", "birth_date", "gender", "preferred_language", "education_level", "foreign_background",
                     "third_country_national", "minority", "disability", "homeless", "municipality_code")
    clients = pd.DataFrame(list(Client.objects.filter(id__in=ids).values_list(*client_fields)),
                           columns=["client", "birth_d", "gender", "language", "education", "foreign_background",
                                    "third_country", "minority", "disability", "homeless", "municipality_now"])
    clients["birth"] = _days(clients["birth_d"], 0)
    say(f"{len(clients):,} clients")
    ep = ep.merge(clients.drop(columns=["birth_d"]), on="client", how="left")

    moves = pd.DataFrame(list(ResidenceChange.objects.filter(client_id__in=ids).values_list(
        "client_id", "from_municipality", "moved_on")), columns=["client", "from_municipality", "moved_d"])
    ep["municipality"] = ep["municipality_now"]
    if len(moves):
        moves["moved"] = _days(moves["moved_d"], 0)
        later = ep[["episode", "client", "start"]].merge(moves, on="client")
        later = later[later["moved"] > later["start"]].sort_values(["episode", "moved"], kind="stable")
        first_after = later.drop_duplicates("episode", keep="first").set_index("episode")["from_municipality"]
        ep["municipality"] = ep["episode"].map(first_after).fillna(ep["municipality_now"])

    periods = pd.DataFrame(list(EmploymentStatusPeriod.objects.filter(client_id__in=ids).values_list(
        "client_id", "status", "start_date", "end_date")), columns=["client", "status", "start_d", "end_d"])
    periods["start"] = _days(periods["start_d"], 0)
    periods["end"] = _days(periods["end_d"], NONE_DAY)
    periods = periods[periods["start"] <= today].drop(columns=["start_d", "end_d"])
    say(f"{len(periods):,} employment-status periods")

    at_start = _status_covering(ep, periods, "start")
    ep["status_at_start"] = ep["episode"].map(at_start["status"]).fillna("")
    since = ep["episode"].map(at_start["start"]).fillna(0).to_numpy(np.int64)
    ep["age"] = _age(ep["birth"].to_numpy(), ep["start"].to_numpy())
    needed = np.where(ep["age"].to_numpy() >= 25, LONG_TERM_DAYS_ADULT, LONG_TERM_DAYS_YOUNG)
    ep["long_term_unemployed"] = (ep["status_at_start"] == "unemployed").to_numpy() & (
        ep["start"].to_numpy() - since >= needed)

    left = ep["end"] < NONE_DAY
    ep["leave_to"] = np.minimum(ep["end"] + ON_LEAVING_DAYS, today)
    employed = _any_overlap(ep, periods, EMPLOYED, "end", "leave_to")
    education = _any_overlap(ep, periods, ("education",), "end", "leave_to")
    searching = _any_overlap(ep, periods, ("unemployed",), "end", "leave_to")
    inactive_start = ep["status_at_start"].isin(INACTIVE)

    tz = timezone.get_current_timezone()
    qualified = pd.DataFrame(list(
        Referral.objects.filter(client_id__in=ids, status="completed", ended_at__isnull=False,
                                service__service_class__in=QUALIFYING_CLASSES)
        .annotate(ended_day=TruncDate("ended_at", tzinfo=tz)).values_list("client_id", "ended_day")),
        columns=["client", "ended_d"])
    qualified["ended"] = _days(qualified["ended_d"], 0)
    q = ep[["episode", "client", "start", "leave_to"]].merge(qualified, on="client")
    q = q[(q["ended"] >= q["start"]) & (q["ended"] <= q["leave_to"])]
    qualification = ep["episode"].isin(q["episode"].unique())

    def on_leaving(mask: pd.Series) -> np.ndarray:
        out = np.full(len(ep), None, dtype=object)
        values = mask.to_numpy()
        out[left.to_numpy()] = values[left.to_numpy()]
        return out

    ep["employed_on_leaving"] = on_leaving(employed)
    ep["education_on_leaving"] = on_leaving(education)
    ep["job_searching_on_leaving"] = on_leaving(searching & inactive_start & ~employed)
    ep["qualification_on_leaving"] = on_leaving(qualification)

    for column, offset in (("status_6m", SIX_MONTHS_DAYS), ("status_12m", TWELVE_MONTHS_DAYS)):
        ep["_day"] = ep["end"] + offset
        observed = left & (ep["_day"] <= today)
        covering = _status_covering(ep[observed], periods, "_day")
        ep[column] = np.where(observed, ep["episode"].map(covering["status"]).fillna("unknown"), "")
    ep = ep.drop(columns=["_day"])
    better = np.full(len(ep), None, dtype=object)
    employed_start = ep["status_at_start"].isin(EMPLOYED).to_numpy() & (ep["status_6m"] != "").to_numpy()
    better[employed_start] = ((ep["status_at_start"] == "subsidised_work")
                              & (ep["status_6m"] == "employed_open_market")).to_numpy()[employed_start]
    ep["better_situation_6m"] = better

    first_plan = dict(PlanVersion.objects.filter(plan__episode__start_date__lte=as_of)
                      .values("plan__episode_id").annotate(first=Min(TruncDate("created_at", tzinfo=tz)))
                      .values_list("plan__episode_id", "first"))
    plan_days = np.array([_day(first_plan[e]) if e in first_plan and first_plan[e] <= as_of else NONE_DAY
                          for e in ep["episode"].tolist()], dtype=np.int64)
    ep["plan"] = plan_days
    ep["days_to_plan"] = np.where(plan_days < NONE_DAY, plan_days - ep["start"].to_numpy(), NONE_DAY)
    mapping_ended = np.minimum(np.minimum(plan_days, ep["mapping_end"].to_numpy()), ep["end"].to_numpy())
    ep["mapping_ended"] = np.where(mapping_ended <= today, mapping_ended, NONE_DAY)
    ep["mapping_days"] = np.where(ep["mapping_ended"] < NONE_DAY, ep["mapping_ended"] - ep["start"], NONE_DAY)

    groups = municipality_groups()
    ep["area"] = ep["municipality"].map(lambda code: groups.get(code, "unknown"))
    ep["person"] = persons(ep["client"].to_numpy())
    ep["segment"] = episode_segments(ep, as_of, say) if segments else ""
    say("participations derived")

    scored = pd.DataFrame(list(
        Assessment.objects.filter(client_id__in=ids, score__isnull=False, assessed_on__lte=as_of)
        .values_list("client_id", "instrument__code", "instrument__higher_is_better", "assessed_on", "score")),
        columns=["client", "instrument", "higher_is_better", "assessed_d", "score"])
    scored["day"] = _days(scored["assessed_d"], 0)
    scored["score"] = scored["score"].astype(float)
    changes = _assessment_changes(ep, scored)
    say(f"{len(changes):,} assessment changes")

    referrals = pd.DataFrame(list(
        Referral.objects.filter(client_id__in=ids, sent_at__isnull=False)
        .annotate(sent=TruncDate("sent_at", tzinfo=tz), received=TruncDate("received_at", tzinfo=tz),
                  decided=TruncDate("decided_at", tzinfo=tz), started=TruncDate("started_at", tzinfo=tz))
        .values_list("id", "client_id", "client__gender", "service_id", "service__provider_id", "sent", "received",
                     "decided", "started", "status")),
        columns=["referral", "client", "gender", "service", "provider", "sent", "received", "decided", "started",
                 "status"])
    referrals = referrals[[s is not None and s <= as_of for s in referrals["sent"]]]
    answered = [min([d for d in (r, c) if d is not None and d <= as_of], default=None)
                for r, c in zip(referrals["received"], referrals["decided"], strict=True)]
    started_ok = [s if s is not None and s <= as_of else None for s in referrals["started"]]
    referrals = referrals.assign(
        waiting_days=[None if s is None else (s - t).days for s, t in zip(started_ok, referrals["sent"], strict=True)],
        answer_days=[None if a is None else (a - t).days for a, t in zip(answered, referrals["sent"], strict=True)],
        answered=answered,
        started=[s if s is not None and s <= as_of else None for s in referrals["started"]],
        person=persons(referrals["client"].to_numpy()) if len(referrals) else np.zeros(0, np.int64),
    )
    say(f"{len(referrals):,} referrals")
    return FactFrames(ep, changes, referrals, clients["client"].to_numpy())


def _assessment_changes(ep: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    columns = ["person", "episode", "instrument", "gender", "first", "last", "first_score", "last_score",
               "improved"]
    if not len(scored):
        return pd.DataFrame(columns=columns)
    merged = ep[["episode", "client", "person", "gender", "start", "end"]].merge(scored, on="client")
    merged = merged[(merged["day"] >= merged["start"]) & (merged["day"] <= merged["end"])]
    merged = merged.sort_values(["episode", "instrument", "day"], kind="stable")
    grouped = merged.groupby(["episode", "instrument"], sort=False)
    first = grouped.first()
    last = grouped.last()
    days = grouped["day"].nunique()
    keep = days >= 2
    first, last = first[keep], last[keep]
    higher = first["higher_is_better"].astype(bool)
    improved = np.where(higher, last["score"] > first["score"], last["score"] < first["score"])
    out = pd.DataFrame({
        "person": first["person"], "gender": first["gender"], "first": first["day"], "last": last["day"],
        "first_score": first["score"], "last_score": last["score"], "improved": improved,
    }).reset_index()
    return out[columns]


def municipality_groups() -> dict[str, str]:
    """Municipality code → ``urban``, ``semi_urban`` or ``rural`` (src/polku/indicators/data/municipality_groups.csv,
    overridable with ``POLKU["MUNICIPALITY_GROUPS"]``)."""
    configured = settings.POLKU.get("MUNICIPALITY_GROUPS")
    if configured:
        return dict(configured)
    from .definitions import load_municipality_groups

    return load_municipality_groups()


def refresh(as_of: dt.date | None = None, *, triggered_by: str = "polku indicators refresh", user: Any = None,
            progress: ProgressFn | None = None, segments: bool = True) -> Any:
    """Rebuild every fact from the records up to ``as_of`` (default today) in one transaction; log the reads."""
    from polku.audit.models import AccessAction
    from polku.audit.services import log_system_access
    from polku.synth.tables import Rows
    from polku.synth.writer import write

    from .models import AssessmentChangeFact, FactRefresh, ParticipationFact, ReferralFact

    as_of = as_of or timezone.localdate()
    started = timezone.now()
    frames = load_frames(as_of, progress, segments=segments)
    ep, changes = frames.participations, frames.assessments
    say = progress or (lambda message: None)
    with transaction.atomic():
        ParticipationFact.objects.all().delete()
        AssessmentChangeFact.objects.all().delete()
        ReferralFact.objects.all().delete()
        write(Rows(ParticipationFact, {
            "person": ep["person"].to_numpy(np.int64),
            "episode": ep["episode"].to_numpy(np.int64),
            "start_date": _date_objects(ep["start"].to_numpy()),
            "mapping_end": _date_objects(ep["mapping_end"].to_numpy()),
            "plan_date": _date_objects(ep["plan"].to_numpy(), NONE_DAY),
            "days_to_plan": _ints_or_none(ep["days_to_plan"].to_numpy()),
            "mapping_ended_on": _date_objects(ep["mapping_ended"].to_numpy(), NONE_DAY),
            "mapping_days": _ints_or_none(ep["mapping_days"].to_numpy()),
            "end_date": _date_objects(ep["end"].to_numpy(), NONE_DAY),
            **{name: ep[name].astype(str).to_numpy(object) for name in (
                "end_reason", "gender", "language", "education", "foreign_background", "third_country", "minority",
                "disability", "homeless", "municipality", "area", "segment", "status_at_start", "status_6m",
                "status_12m")},
            "age": ep["age"].to_numpy(np.int64),
            "long_term_unemployed": ep["long_term_unemployed"].to_numpy(bool),
            **{name: ep[name].to_numpy(object) for name in (
                "employed_on_leaving", "education_on_leaving", "job_searching_on_leaving",
                "qualification_on_leaving", "better_situation_6m")},
        }))
        if len(changes):
            write(Rows(AssessmentChangeFact, {
                "person": changes["person"].to_numpy(np.int64),
                "episode": changes["episode"].to_numpy(np.int64),
                "instrument": changes["instrument"].to_numpy(object),
                "gender": changes["gender"].to_numpy(object),
                "first_on": _date_objects(changes["first"].to_numpy(np.int64)),
                "last_on": _date_objects(changes["last"].to_numpy(np.int64)),
                "first_score": changes["first_score"].to_numpy(float),
                "last_score": changes["last_score"].to_numpy(float),
                "improved": changes["improved"].to_numpy(bool),
            }))
        refs = frames.referrals
        if len(refs):
            write(Rows(ReferralFact, {
                "referral": refs["referral"].to_numpy(np.int64),
                "person": refs["person"].to_numpy(np.int64),
                "gender": refs["gender"].to_numpy(object),
                "service": refs["service"].to_numpy(np.int64),
                "provider": refs["provider"].to_numpy(np.int64),
                "sent_on": refs["sent"].to_numpy(object),
                "answered_on": refs["answered"].to_numpy(object),
                "started_on": refs["started"].to_numpy(object),
                "status": refs["status"].to_numpy(object),
                "waiting_days": _nullable_ints(refs["waiting_days"]),
                "answer_days": _nullable_ints(refs["answer_days"]),
            }))
        say("facts written")
        with_segments = bool((ep["segment"] != "").any()) if len(ep) else False
        for category in (*CATEGORIES_READ, *(SEGMENT_CATEGORIES if with_segments else ())):
            log_system_access(client_ids=frames.client_ids.tolist(), category=category, action=AccessAction.EXPORT,
                              purpose=INDICATOR_PURPOSE, actor_name=triggered_by, user=user)
        say("reads logged")
        if connection.vendor == "postgresql":  # fresh planner statistics for the reports' grouped queries
            with connection.cursor() as cursor:
                for model in (ParticipationFact, ReferralFact, AssessmentChangeFact):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        run = FactRefresh.objects.create(started_at=started, finished_at=timezone.now(), as_of=as_of,
                                         participations=len(ep), assessments=len(changes),
                                         referrals=len(frames.referrals),
                                         triggered_by=triggered_by[:100])
    return run


def latest_refresh() -> Any:
    from .models import FactRefresh

    return FactRefresh.objects.filter(finished_at__isnull=False).order_by("-finished_at", "-id").first()
