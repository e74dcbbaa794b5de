"""Turn a simulated chunk into database rows (column arrays per table) and its truth.

Rows get explicit ids from per-table counters, so the same seed gives the same rows in SQLite and PostgreSQL,
and the truth can name the records it speaks of.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from polku.assessments.models import Assessment, AssessmentAnswer
from polku.clients.models import BenefitPeriod, Client, ClientContact, Consent, EmploymentStatusPeriod, ResidenceChange
from polku.episodes.models import EpisodeParticipant, JointServiceEpisode
from polku.plans.models import Goal, Plan, PlanReview, PlanSignoff, PlanVersion, Step
from polku.referrals.models import Referral, ReferralTransition

from . import params as P
from .names import NameBook
from .simulate import (
    END_CANCELLED,
    END_COMPLETED,
    END_INTERRUPTED,
    SLOTS,
    ST_UNEMPLOYED,
    STATUS_CODES,
    History,
)

MODELS = [
    Client,
    JointServiceEpisode,
    EpisodeParticipant,
    Consent,
    EmploymentStatusPeriod,
    Referral,
    ReferralTransition,
    Plan,
    PlanVersion,
    Goal,
    Step,
    PlanSignoff,
    PlanReview,
    Assessment,
    AssessmentAnswer,
    ClientContact,
    ResidenceChange,
    BenefitPeriod,
]
EDUCATION = np.array(["isced_0_2", "isced_3_4", "isced_5_8"], dtype=object)
CENTURY_SIGNS = {1900: "-YXWVU", 2000: "ABCDEF"}
CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
UTC_OFFSET_HOURS = 2
SERVICE_CATEGORY = np.array(
    [st.data_category for st in P.SERVICE_TYPES], dtype=object
)  # times of day are drawn in Finnish office hours and stored in UTC


@dataclass
class Rows:
    """Column arrays for one table."""

    model: Any
    columns: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


@dataclass
class Context:
    """What the chunk needs from the region and the counters that hand out ids."""

    window: Any
    next_id: dict[str, int]
    birth_counts: dict[tuple[int, bool], int]  # (day ordinal, male) → identity codes handed out for it
    existing_codes: set[str]  # identity codes already in the database (appending)
    employment_org: int
    social_org: int
    health_org: int
    kela_org: int
    coordinators: np.ndarray  # (staff id, user id) rows
    social_workers: np.ndarray
    health_professionals: np.ndarray
    kela_experts: np.ndarray
    receivers: dict[int, np.ndarray]  # provider organisation id → user ids of its workers
    service_table: np.ndarray  # (types, variants, 2): service id and provider id; variants padded by repetition
    instruments: dict[str, tuple[int, list[int]]]  # code → (instrument id, item ids)
    names: NameBook

    def ids(self, model: Any, count: int) -> np.ndarray:
        start = self.next_id[model._meta.db_table]
        self.next_id[model._meta.db_table] = start + count
        return np.arange(start, start + count, dtype=np.int64)


def _dates(ctx: Context, days: np.ndarray) -> np.ndarray:
    return ctx.window.date(days).astype(object)


def _stamps(ctx: Context, days: np.ndarray, rng: np.random.Generator, hour: int | None = None) -> np.ndarray:
    """Times on the given days: random office hours, or within the given hour (to keep a sequence in order)."""
    if hour is None:
        seconds = (8 - UTC_OFFSET_HOURS) * 3600 + rng.integers(0, 8 * 3600, len(days))
    else:
        seconds = (hour - UTC_OFFSET_HOURS) * 3600 + rng.integers(0, 3000, len(days))
    base = ctx.window.date(days).astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    return base


def _none_where(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[missing] = None
    return out


def identity_codes(ctx: Context, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """Valid henkilötunnus codes from the test range 900–999 only, unique per birth date across chunks: the k-th
    person born on a day gets individual number 900 + k mod 100 (odd for men, even for women) and the k // 50-th
    century sign of their century (the 2023 additional signs make room for 600 per day)."""
    ordinals = birth.astype("datetime64[D]").astype(np.int64)
    order = np.lexsort((np.arange(len(ordinals)), male, ordinals))
    codes = np.empty(len(birth), dtype=object)
    run_key: tuple[int, bool] | None = None
    k = 0
    for i in order:
        key = (int(ordinals[i]), bool(male[i]))
        if key != run_key:
            run_key = key
            k = ctx.birth_counts.get(key, 0)
        day = birth[i].astype(object)
        date_part = f"{day.day:02d}{day.month:02d}{day.year % 100:02d}"
        while True:
            if k >= 300:
                raise ValueError(f"more than 300 synthetic people of one sex born on {day}")
            sign = CENTURY_SIGNS[day.year // 100 * 100][k // 50]
            number = 900 + 2 * (k % 50) + (1 if male[i] else 0)
            code = f"{date_part}{sign}{number:03d}{CHECK[int(date_part + str(number)) % 31]}"
            k += 1
            if code not in ctx.existing_codes:
                break
        ctx.birth_counts[key] = k
        codes[i] = code
    return codes


def build(
    ctx: Context, h: History, rng: np.random.Generator, aux: np.random.Generator
) -> tuple[list[Rows], dict[str, Any]]:
    """All rows of the chunk, and the chunk's truth (client keys, gaps). ``rng`` continues the simulation's
    stream; ``aux`` (the moves' stream) draws what was added later (contacts, moves, benefits, requested reviews,
    steps in progress, renewed consents), so that adding it left the rest as it was."""
    w = ctx.window
    pop = h.pop
    n = len(pop.segment)
    end_day = w.end_day
    rows_out: list[Rows] = []

    # Clients ----------------------------------------------------------------------------------------------
    client_ids = ctx.ids(Client, n)
    birth = w.date(pop.entry_day) - np.round(pop.age_at_entry * 365.25).astype(np.int64) * np.timedelta64(1, "D")
    hetu = identity_codes(ctx, birth, pop.male)
    gender = np.where(pop.male, "man", "woman").astype(object)
    u = rng.random(n)
    gender[u < 0.03] = "not_stated"
    gender[(u >= 0.03) & (u < 0.04)] = "non_binary"
    first, last = ctx.names.draw(rng, pop.male, pop.swedish, pop.foreign)
    language = np.where(pop.swedish, "sv", "fi").astype(object)
    language[pop.foreign & (rng.random(n) < 0.45)] = "en"
    language[pop.foreign & (language == "fi") & (rng.random(n) < 0.3)] = "other"
    yes_no = lambda mask, stated=0.92: np.where(rng.random(n) < stated, np.where(mask, "yes", "no"), "not_stated")  # noqa: E731
    created = _stamps(ctx, pop.entry_day, rng)
    moved = h.move_day >= 0
    codes = np.array(P.MUNICIPALITY_CODES, dtype=object)
    municipality = codes[np.where(moved, h.move_to, pop.municipality)]  # where the client lives now
    homeless = pop.severity[:, P.B["housing"]] == 3
    rows_out.append(
        Rows(
            Client,
            {
                "id": client_ids,
                "personal_identity_code": hetu,
                "birth_date": birth.astype(object),
                "legal_sex": np.where(pop.male, "male", "female").astype(object),
                "gender": gender,
                "first_name": first,
                "last_name": last,
                "preferred_language": language,
                "municipality_code": municipality,
                "phone": np.full(n, "", dtype=object),
                "email": np.full(n, "", dtype=object),
                "address": np.full(n, "", dtype=object),
                "education_level": np.where(rng.random(n) < 0.95, EDUCATION[pop.education], "not_stated"),
                "foreign_background": yes_no(pop.foreign, 0.97),
                "third_country_national": yes_no(pop.third_country, 0.9),
                "minority": yes_no(rng.random(n) < 0.01, 0.6),
                "disability": yes_no(pop.disability, 0.8),
                "homeless": yes_no(homeless, 0.85),
                "user_id": np.full(n, None, dtype=object),
                "created_at": created,
                "updated_at": created,
                "version": np.ones(n, np.int64),
            },
        )
    )

    # Episodes and participants ----------------------------------------------------------------------------
    episode_ids = ctx.ids(JointServiceEpisode, n)
    start = pop.entry_day
    start_dates = w.date(start)
    mapping_end = _add_months(start_dates, 3)
    closed = h.episode_end >= 0
    plan_day = start + np.where(rng.random(n) < P.PLAN_LATE, rng.integers(95, 220, n), rng.integers(20, 85, n))
    has_plan = (plan_day <= end_day) & (~closed | (plan_day < h.episode_end))
    status = np.where(closed, "closed", np.where(has_plan, "active", "mapping")).astype(object)
    coordinator = ctx.coordinators[rng.integers(0, len(ctx.coordinators), n)]
    rows_out.append(
        Rows(
            JointServiceEpisode,
            {
                "id": episode_ids,
                "client_id": client_ids,
                "status": status,
                "start_date": start_dates.astype(object),
                "mapping_period_end": mapping_end.astype(object),
                "end_date": _none_where(_dates(ctx, np.maximum(h.episode_end, 0)), ~closed),
                "end_reason": np.where(closed, h.end_reason, "").astype(object),
                "end_notes": np.full(n, "", dtype=object),
                "opened_by_id": coordinator[:, 1],
                "created_at": created,
                "version": np.where(closed, 2, 1),
            },
        )
    )
    sev = pop.severity
    with_social = (
        sev[:, [P.B["mental_health"], P.B["substance_use"], P.B["housing"], P.B["debt"], P.B["motivation"]]] >= 2
    ).any(axis=1)
    with_health = (sev[:, [P.B["physical_health"], P.B["mental_health"]]] >= 2).any(axis=1)
    with_kela = (sev[:, P.B["physical_health"]] >= 2) & (rng.random(n) < 0.6)
    parts: list[tuple[Any, int, np.ndarray]] = [(np.ones(n, bool), ctx.employment_org, coordinator)]
    for mask, org, pool in (
        (with_social, ctx.social_org, ctx.social_workers),
        (with_health, ctx.health_org, ctx.health_professionals),
        (with_kela, ctx.kela_org, ctx.kela_experts),
    ):
        parts.append((mask, org, pool[rng.integers(0, len(pool), n)]))
    social_worker, health_worker = parts[1][2], parts[2][2]
    p_episode, p_org, p_staff, p_user = [], [], [], []
    for mask, org, people in parts:
        p_episode.append(np.nonzero(mask)[0])
        p_org.append(np.full(mask.sum(), org))
        p_staff.append(people[mask, 0])
        p_user.append(people[mask, 1])
    part_client = np.concatenate(p_episode)
    part_org = np.concatenate(p_org)
    rows_out.append(
        Rows(
            EpisodeParticipant,
            {
                "id": ctx.ids(EpisodeParticipant, len(part_client)),
                "episode_id": episode_ids[part_client],
                "organisation_id": part_org,
                "responsible_person_id": np.concatenate(p_staff),
                "joined_on": start_dates[part_client].astype(object),
                "left_on": np.full(len(part_client), None, dtype=object),
            },
        )
    )

    # Consents: each participant for its categories; each provider a referral goes to, for its category.
    org_categories = {
        ctx.employment_org: ("employment", "benefits"),
        ctx.social_org: ("social",),
        ctx.health_org: ("health",),
        ctx.kela_org: ("benefits", "rehabilitation"),
    }
    c_client, c_org, c_cat, c_from = [], [], [], []
    for org, categories in org_categories.items():
        sel = part_client[part_org == org]
        for category in categories:
            c_client.append(sel)
            c_org.append(np.full(len(sel), org))
            c_cat.append(np.full(len(sel), category, dtype=object))
            c_from.append(start[sel])
    for s in range(SLOTS):
        t = h.ref_type[:, s]
        sel = np.nonzero(t >= 0)[0]
        if sel.size:
            c_client.append(sel)
            c_org.append(ctx.service_table[t[sel], h.ref_service[sel, s], 1])
            c_cat.append(SERVICE_CATEGORY[t[sel]])
            c_from.append(h.ref_sent[sel, s] - 1)
    cc = np.concatenate(c_client)
    co = np.concatenate(c_org)
    ccat = np.concatenate(c_cat)
    # One consent per client, organisation and category (the earliest).
    key = np.rec.fromarrays([cc, co, ccat.astype(str)])
    cfrom = np.concatenate(c_from)
    order = np.lexsort((cfrom, key.f2, key.f1, key.f0))
    cc, co, ccat, cfrom = cc[order], co[order], ccat[order], cfrom[order]
    first_of = np.ones(len(cc), bool)
    first_of[1:] = (cc[1:] != cc[:-1]) | (co[1:] != co[:-1]) | (ccat[1:] != ccat[:-1])
    # The consent must stay in force until the last referral that needs it has been sent.
    group = np.cumsum(first_of) - 1
    needed_until = np.zeros(first_of.sum(), dtype=np.int64)
    np.maximum.at(needed_until, group, cfrom + 1)
    cc, co, ccat, cfrom = cc[first_of], co[first_of], ccat[first_of], cfrom[first_of]
    m = len(cc)
    limited = rng.random(m) < P.CONSENT_TIME_LIMITED
    valid_to_day = np.maximum(cfrom + rng.integers(180, 800, m), needed_until + 30)
    revoked = rng.random(m) < P.CONSENT_REVOKED
    revoked_day = np.maximum(cfrom + rng.integers(10, 400, m), needed_until + 1)
    revoked &= (revoked_day <= end_day) & (~limited | (revoked_day < valid_to_day))
    from_stamp = _stamps(ctx, cfrom, rng)
    recorder = coordinator[cc, 1]
    consent_ids = ctx.ids(Consent, m)
    consent_columns = {
        "id": consent_ids,
        "client_id": client_ids[cc],
        "organisation_id": co,
        "category": ccat,
        "purpose": np.full(m, "Monialainen yhteispalvelu", dtype=object),
        "valid_from": from_stamp,
        "valid_to": _none_where(_stamps(ctx, valid_to_day, rng), ~limited),
        "method": np.where(rng.random(m) < 0.7, "in_person", "signed_form").astype(object),
        "recorded_by_id": recorder,
        "recorded_at": from_stamp,
        "revoked_at": _none_where(_stamps(ctx, revoked_day, rng), ~revoked),
        "revoked_by_id": _none_where(recorder, ~revoked),
        "revoke_reason": np.where(revoked, "Asiakkaan pyynnöstä", "").astype(object),
    }
    # Some time-limited consents of open episodes are renewed before they end: a new consent of the same
    # organisation and category, without an end, continues after the old one.
    renewal_day = valid_to_day - aux.integers(1, 60, m)
    renewed = (
        limited
        & ~revoked
        & (status[cc] != "closed")
        & (aux.random(m) < P.CONSENT_RENEWED)
        & (renewal_day <= end_day)
        & (renewal_day > cfrom)
    )
    r = np.nonzero(renewed)[0]
    renewal_stamp = _stamps(ctx, renewal_day[r], aux)
    renewal_columns = {
        "id": ctx.ids(Consent, r.size),
        "client_id": client_ids[cc[r]],
        "organisation_id": co[r],
        "category": ccat[r],
        "purpose": np.full(r.size, "Monialainen yhteispalvelu", dtype=object),
        "valid_from": renewal_stamp,
        "valid_to": np.full(r.size, None, dtype=object),
        "method": np.full(r.size, "in_person", dtype=object),
        "recorded_by_id": recorder[r],
        "recorded_at": renewal_stamp,
        "revoked_at": np.full(r.size, None, dtype=object),
        "revoked_by_id": np.full(r.size, None, dtype=object),
        "revoke_reason": np.full(r.size, "", dtype=object),
    }
    rows_out.append(Rows(Consent, {k: np.concatenate([v, renewal_columns[k]]) for k, v in consent_columns.items()}))
    consent_truth = {
        "client": cc,
        "id": consent_ids,
        # The day each consent in force stops being so without anything after it (-1: never, or revoked).
        "valid_to_day": np.where(limited & ~revoked & ~renewed, valid_to_day, -1),
    }

    # Employment-status periods from the monthly statuses, and the benefits paid for unemployment ---------
    period_rows, periods = _periods(ctx, h, client_ids, rng)
    rows_out.append(period_rows)
    rows_out.append(_benefits(ctx, client_ids, periods, aux, P.BENEFIT_SHARES, np.zeros(n, bool)))

    # Referrals and transitions ----------------------------------------------------------------------------
    referral_rows, transition_rows, referral_truth = _referrals(ctx, h, client_ids, episode_ids, coordinator, rng)
    rows_out += [referral_rows, transition_rows]

    # Plans ------------------------------------------------------------------------------------------------
    plan_rows, plan_truth = _plans(
        ctx, h, episode_ids, coordinator, plan_day, has_plan, part_client, part_org, np.concatenate(p_user), rng, aux
    )
    rows_out += plan_rows

    # Assessments ------------------------------------------------------------------------------------------
    assessment_rows, assessed = _assessments(ctx, h, client_ids, episode_ids, rng)
    rows_out += assessment_rows

    # Contacts with the client, and moves ------------------------------------------------------------------
    last_day = np.where(closed, h.episode_end, end_day)
    contact_rows, last_contact = _contacts(
        ctx,
        client_ids,
        episode_ids,
        start,
        last_day,
        np.asarray(with_social),
        np.asarray(with_health),
        coordinator,
        social_worker,
        health_worker,
        aux,
    )
    rows_out.append(contact_rows)
    mi = np.nonzero(moved)[0]
    recorded = np.minimum(h.move_day[mi] + aux.integers(0, 10, mi.size), end_day)
    rows_out.append(
        Rows(
            ResidenceChange,
            {
                "id": ctx.ids(ResidenceChange, mi.size),
                "client_id": client_ids[mi],
                "from_municipality": codes[pop.municipality[mi]],
                "to_municipality": codes[h.move_to[mi]],
                "moved_on": _dates(ctx, h.move_day[mi]),
                "recorded_at": _stamps(ctx, recorded, aux),
                "source": np.full(mi.size, "Väestötietojärjestelmä", dtype=object),
            },
        )
    )

    truth = {
        "client_ids": client_ids,
        "hetu": hetu,
        "episode_ids": episode_ids,
        "status": status,
        "start_day": start,
        "episode_end": h.episode_end,
        "mapping_end_day": (mapping_end - np.datetime64(w.start, "D")).astype(np.int64),
        "has_plan": has_plan,
        "consents": consent_truth,
        "referrals": referral_truth,
        "plans": plan_truth,
        "last_contact_day": last_contact,
        "move_day": h.move_day,
        "lives_outside": moved & (h.move_to >= len(P.MUNICIPALITIES)),
        "screening": _screening_inputs(birth, periods, assessed),
    }
    return rows_out, truth


def _contacts(
    ctx: Context,
    client_ids: np.ndarray,
    episode_ids: np.ndarray,
    first_day: np.ndarray,
    last_day: np.ndarray,
    with_social: np.ndarray,
    with_health: np.ndarray,
    coordinator: np.ndarray,
    social_worker: np.ndarray,
    health_worker: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Rows, np.ndarray]:
    """Contacts with each client from the episode's first day to its last (or the window's end), at irregular
    intervals of P.CONTACT_MEAN_DAYS on average (at least a week apart; the first meeting mostly on the first
    day); some clients drop out of touch on a day of their episode and are not reached after it. Returns the
    rows and each client's latest contact day (-1: none)."""
    n = len(client_ids)
    lost = rng.random(n) < P.CONTACT_LOST_TOUCH
    lost_day = first_day + (rng.random(n) * (last_day - first_day + 1)).astype(np.int64)
    stop = np.where(lost, lost_day, last_day)
    first_meeting = rng.random(n) < 0.9
    columns = int((stop - first_day).max(initial=0)) // 7 + 2
    shape = 3.0
    gaps = 7 + np.round(rng.gamma(shape, (P.CONTACT_MEAN_DAYS - 7) / shape, (n, columns))).astype(np.int64)
    gaps[:, 0] = np.where(first_meeting, 0, gaps[:, 0])
    days = first_day[:, None] + np.cumsum(gaps, axis=1)
    ci, k = np.nonzero(days <= stop[:, None])
    day = days[ci, k]
    last_contact = np.full(n, -1, np.int64)
    np.maximum.at(last_contact, ci, day)
    count = ci.size
    u = rng.random(count)
    by_social = with_social[ci] & (u < 0.12)
    by_health = with_health[ci] & ~by_social & (u > 0.92)
    organisation = np.where(by_social, ctx.social_org, np.where(by_health, ctx.health_org, ctx.employment_org))
    recorder = np.where(by_social, social_worker[ci, 1], np.where(by_health, health_worker[ci, 1], coordinator[ci, 1]))
    names = np.array([c for c, _ in P.CONTACT_CHANNELS], dtype=object)
    weights = np.array([w for _, w in P.CONTACT_CHANNELS])
    pick = rng.choice(len(names), size=count, p=weights / weights.sum())
    channel = names[pick]
    summary = np.array([CONTACT_SUMMARIES[c] for c in names], dtype=object)[pick]
    rows = Rows(
        ClientContact,
        {
            "id": ctx.ids(ClientContact, count),
            "client_id": client_ids[ci],
            "episode_id": episode_ids[ci],
            "organisation_id": organisation,
            "recorded_by_id": recorder,
            "at": _stamps(ctx, day, rng),
            "channel": channel,
            "summary": summary,
        },
    )
    return rows, last_contact


NEVER = -(10**9)  # a day offset for "none" (real ones may be negative: before the window)


def _latest(count: int, client: np.ndarray, day: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per client, the day and value of the latest record (NEVER, -1: none). Records of a client fall on
    different days."""
    order = np.lexsort((day, client))
    last = np.ones(order.size, bool)
    last[:-1] = client[order][1:] != client[order][:-1]
    pick = order[last]
    latest_day = np.full(count, NEVER, np.int64)
    latest_value = np.full(count, -1, np.int64)
    latest_day[client[pick]] = day[pick]
    latest_value[client[pick]] = value[pick]
    return latest_day, latest_value


def _screening_inputs(
    birth: np.ndarray, periods: dict[str, np.ndarray], assessed: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """What the screening criteria read, per client, as the generator made it: date of birth, the employment
    status covering the window's last day and since when, labour market subsidy days paid, and the latest
    work-ability score and life-situation mapping (day and value)."""
    n = len(birth)
    # Each client's periods are in order and the last one goes on: it covers the window's last day.
    position = np.arange(len(periods["client_index"]))
    _last, current = _latest(n, periods["client_index"], position, position)
    status_now = np.where(current >= 0, periods["status"][current], -1)
    status_day = np.where(current >= 0, periods["start"][current], NEVER)
    was, life = assessed["was"], ~assessed["was"]
    was_day, was_value = _latest(n, assessed["client"][was], assessed["day"][was], assessed["signal"][was])
    life_day, life_areas = _latest(n, assessed["client"][life], assessed["day"][life], assessed["signal"][life])
    return {
        "birth": birth.astype("datetime64[D]"),
        "status": status_now,
        "status_since": status_day,
        "subsidy_days": periods["subsidy_days"],
        "was_day": was_day,
        "was": was_value,
        "life_day": life_day,
        "life_areas": life_areas,
    }


CONTACT_SUMMARIES = {
    "meeting": "Tapaaminen: tilanne ja seuraavat askeleet",
    "phone": "Puhelu: kuulumiset ja sovitut asiat",
    "message": "Viesti: muistutus sovituista asioista",
    "video": "Etätapaaminen: tilanne ja seuraavat askeleet",
    "home_visit": "Kotikäynti",
}


def _add_months(dates: np.ndarray, months: int) -> np.ndarray:
    """Same day ``months`` later, clamped to the month's last day (as polku.core.dates.add_months)."""
    month = dates.astype("datetime64[M]")
    day = (dates - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1) * np.timedelta64(1, "D")


def _periods(
    ctx: Context, h: History, client_ids: np.ndarray, rng: np.random.Generator
) -> tuple[Rows, dict[str, np.ndarray]]:
    """Employment-status periods (runs of the monthly statuses) and, as arrays, each period's client index,
    status code, first and last day, and whether it goes on (the last one; -1 as its last day)."""
    w = ctx.window
    n, months = h.status.shape
    # Status runs from the entry month on; the unemployment before entry starts the first run early.
    entry_month = w.month_of(h.pop.entry_day)
    status = h.status.astype(np.int16)
    cols = np.arange(months)
    masked = np.where(cols[None, :] >= entry_month[:, None], status, -1)
    change = np.ones((n, months), bool)
    change[:, 1:] = masked[:, 1:] != masked[:, :-1]
    change &= masked >= 0
    ci, mi = np.nonzero(change)
    codes = masked[ci, mi]
    start_day = w.month_start[mi].copy()
    first = mi == entry_month[ci]
    before = h.pop.entry_day[ci] - np.round(h.pop.unemployed_months[ci] * 30.4).astype(np.int64)
    sixteenth_birthday = h.pop.entry_day[ci] - np.round((h.pop.age_at_entry[ci] - 16) * 365.25).astype(np.int64)
    before = np.maximum(before, sixteenth_birthday)  # nobody is an unemployed job seeker before 16
    start_day = np.where(first & (codes == 0), before, np.where(first, h.pop.entry_day[ci], start_day))
    employed_first = (
        (codes == 1) & (h.employed_day[ci] >= w.month_start[mi]) & (h.employed_day[ci] < w.month_start[mi + 1])
    )
    start_day = np.where(employed_first, h.employed_day[ci], start_day)
    # Each run ends the day before the next one starts; the last stays open.
    nxt_same_client = np.append(ci[1:] == ci[:-1], False)
    end_day = np.where(nxt_same_client, np.append(start_day[1:], 0) - 1, -1)
    end_day = np.where(nxt_same_client & (end_day < start_day), start_day, end_day)
    # A period before entry that is followed by another status on the entry day itself.
    k = len(ci)
    rows = Rows(
        EmploymentStatusPeriod,
        {
            "id": ctx.ids(EmploymentStatusPeriod, k),
            "client_id": client_ids[ci],
            "status": np.array(STATUS_CODES, dtype=object)[codes],
            "start_date": _dates(ctx, start_day),
            "end_date": _none_where(_dates(ctx, np.maximum(end_day, 0)), end_day < 0),
            "source": np.full(k, "register", dtype=object),
        },
    )
    return rows, {"client_index": ci, "status": codes, "start": start_day, "end": end_day, "open": end_day < 0}


def _benefits(
    ctx: Context,
    client_ids: np.ndarray,
    periods: dict[str, np.ndarray],
    rng: np.random.Generator,
    shares: tuple[tuple[str, float], ...],
    young: np.ndarray,
) -> Rows:
    """A benefit period for each unemployment period (paid to its end, or to the window's last day when it
    goes on), the benefit drawn by ``shares`` (the ``young``, without a work history, mostly labour market
    subsidy). Paid five days a week, less a few days (waiting days, breaks); never more than the period's days.
    The per-client total of labour market subsidy days goes into ``periods["subsidy_days"]``."""
    end_day = ctx.window.end_day
    sel = np.nonzero(periods["status"] == ST_UNEMPLOYED)[0]
    ci = periods["client_index"][sel]
    start = periods["start"][sel]
    end = np.where(periods["open"][sel], end_day, periods["end"][sel])
    names = np.array([name for name, _ in shares], dtype=object)
    weights = np.array([w for _, w in shares])
    benefit = names[rng.choice(len(names), size=sel.size, p=weights / weights.sum())]
    benefit = np.where(young[ci] & (rng.random(sel.size) < 0.8), "labour_market_subsidy", benefit).astype(object)
    days = end - start + 1
    paid = np.clip((days * 5) // 7 - rng.integers(0, 7, sel.size), 0, days)
    subsidy = np.zeros(len(client_ids), np.int64)
    np.add.at(subsidy, ci, np.where(benefit == "labour_market_subsidy", paid, 0))
    periods["subsidy_days"] = subsidy
    return Rows(
        BenefitPeriod,
        {
            "id": ctx.ids(BenefitPeriod, sel.size),
            "client_id": client_ids[ci],
            "benefit": benefit,
            "start_date": _dates(ctx, start),
            "end_date": _dates(ctx, end),
            "paid_days": paid.astype(np.int64),
            "source": np.where(benefit == "earnings_related", "Työttömyyskassa", "Kela").astype(object),
        },
    )


def _referrals(
    ctx: Context,
    h: History,
    client_ids: np.ndarray,
    episode_ids: np.ndarray,
    coordinator: np.ndarray,
    rng: np.random.Generator,
) -> tuple[Rows, Rows, dict[str, Any]]:
    end_day = ctx.window.end_day
    ci, si = np.nonzero(h.ref_type >= 0)
    k = len(ci)
    types = h.ref_type[ci, si]
    chosen = ctx.service_table[types, h.ref_service[ci, si]]  # (service id, provider id)
    sent, received, decided = h.ref_sent[ci, si], h.ref_received[ci, si], h.ref_decided[ci, si]
    start, end, end_kind = h.ref_start[ci, si], h.ref_end[ci, si], h.ref_end_kind[ci, si]
    declined, waitlisted = h.ref_declined[ci, si], h.ref_waitlisted[ci, si]
    vis = lambda day: (day >= 0) & (day <= end_day)  # noqa: E731 - happened within the window
    # The state at the end of the window, and the path that led there.
    status = np.full(k, "sent", dtype=object)
    status[vis(received)] = "received"
    decision = np.where(declined, "declined", np.where(waitlisted, "waitlisted", "accepted")).astype(object)
    status = np.where(vis(decided), decision, status)
    waitlist_then_accept = waitlisted & vis(start)
    status = np.where(vis(start), "started", status)
    ended = vis(end) & (end_kind != 0)
    status = np.where(ended & (end_kind == END_COMPLETED), "completed", status)
    status = np.where(ended & (end_kind == END_INTERRUPTED), "interrupted", status)
    status = np.where(ended & (end_kind == END_CANCELLED), "cancelled", status)
    ids = ctx.ids(Referral, k)
    sender_user = coordinator[ci, 1]
    receiver_user = sender_user.copy()
    pick = rng.random(k)
    for org in np.unique(chosen[:, 1]):
        pool = ctx.receivers.get(int(org))
        if pool is not None and len(pool):
            sel = chosen[:, 1] == org
            receiver_user[sel] = pool[(pick[sel] * len(pool)).astype(np.int64)]
    # Each stage in its own hour, so that stages on the same day stay in order.
    stamp = lambda days, hour: _stamps(ctx, np.maximum(days, 0), rng, hour)  # noqa: E731
    created_stamp = stamp(sent - 1, 8)
    sent_s, received_s, decided_s = stamp(sent, 9), stamp(received, 10), stamp(decided, 11)
    accepted_after_wait_s, start_s, end_s = stamp(start, 12), stamp(start, 13), stamp(end, 14)
    reason = np.where(status == "declined", "Ei tilaa tai ei sopiva palvelu", "").astype(object)
    reason = np.where(status == "interrupted", "Palvelu keskeytyi", reason)
    reason = np.where(status == "cancelled", "Lähete peruttiin", reason)
    last_change = np.where(
        ended,
        end_s,
        np.where(vis(start), start_s, np.where(vis(decided), decided_s, np.where(vis(received), received_s, sent_s))),
    )
    rows = Rows(
        Referral,
        {
            "id": ids,
            "client_id": client_ids[ci],
            "episode_id": episode_ids[ci],
            "service_id": chosen[:, 0],
            "sending_organisation_id": np.full(k, ctx.employment_org),
            "receiving_organisation_id": chosen[:, 1],
            "created_by_id": sender_user,
            "status": status,
            "reason_for_referral": np.full(k, "Tuki työllistymiseen", dtype=object),
            "status_reason": reason,
            "created_at": created_stamp,
            "sent_at": sent_s,
            "received_at": _none_where(received_s, ~vis(received)),
            "decided_at": _none_where(decided_s, ~vis(decided)),
            "started_at": _none_where(start_s, ~vis(start)),
            "ended_at": _none_where(end_s, ~ended),
            "status_changed_at": last_change,
            "version": np.ones(k, np.int64),
        },
    )
    # Transitions: every step on the way, with its time and its actor.
    steps: list[tuple[np.ndarray, str, str, np.ndarray, np.ndarray, np.ndarray]] = [
        (np.ones(k, bool), "", "draft", created_stamp, sender_user, np.full(k, "", dtype=object)),
        (np.ones(k, bool), "draft", "sent", sent_s, sender_user, np.full(k, "", dtype=object)),
        (vis(received), "sent", "received", received_s, receiver_user, np.full(k, "", dtype=object)),
    ]
    for name in ("accepted", "waitlisted", "declined"):
        steps.append((vis(decided) & (decision == name), "received", name, decided_s, receiver_user, reason))
    steps.append(
        (
            waitlist_then_accept,
            "waitlisted",
            "accepted",
            accepted_after_wait_s,
            receiver_user,
            np.full(k, "", dtype=object),
        )
    )
    steps.append((vis(start), "accepted", "started", start_s, receiver_user, np.full(k, "", dtype=object)))
    for kind, name in ((END_COMPLETED, "completed"), (END_INTERRUPTED, "interrupted")):
        steps.append((ended & (end_kind == kind), "started", name, end_s, receiver_user, reason))
    cancelled = ended & (end_kind == END_CANCELLED)
    before_cancel = np.where(
        vis(decided) & ~declined,
        np.where(waitlisted, "waitlisted", "accepted"),
        np.where(vis(received), "received", "sent"),
    ).astype(object)
    t_ref, t_from, t_to, t_at, t_by, t_reason = [], [], [], [], [], []
    for mask, frm, to, at, by, why in steps:
        idx = np.nonzero(mask)[0]
        t_ref.append(ids[idx])
        t_from.append(np.full(idx.size, frm, dtype=object))
        t_to.append(np.full(idx.size, to, dtype=object))
        t_at.append(at[idx])
        t_by.append(by[idx])
        t_reason.append(why[idx])
    idx = np.nonzero(cancelled)[0]
    t_ref.append(ids[idx])
    t_from.append(before_cancel[idx])
    t_to.append(np.full(idx.size, "cancelled", dtype=object))
    t_at.append(end_s[idx])
    t_by.append(sender_user[idx])
    t_reason.append(reason[idx])
    total = sum(len(x) for x in t_ref)
    transitions = Rows(
        ReferralTransition,
        {
            "id": ctx.ids(ReferralTransition, total),
            "referral_id": np.concatenate(t_ref),
            "from_status": np.concatenate(t_from),
            "to_status": np.concatenate(t_to),
            "at": np.concatenate(t_at),
            "by_id": np.concatenate(t_by),
            "reason": np.concatenate(t_reason),
        },
    )
    truth = {
        "client_index": ci,
        "slot": si,
        "id": ids,
        "status": status,
        "sent": sent,
        "decided": decided,
        "end": np.where(ended, end, -1),
        "type": types,
    }
    return rows, transitions, truth


def _plans(
    ctx: Context,
    h: History,
    episode_ids: np.ndarray,
    coordinator: np.ndarray,
    plan_day: np.ndarray,
    has_plan: np.ndarray,
    part_client: np.ndarray,
    part_org: np.ndarray,
    part_user: np.ndarray,
    rng: np.random.Generator,
    aux: np.random.Generator,
) -> tuple[list[Rows], dict[str, Any]]:
    w = ctx.window
    end_day = w.end_day
    idx = np.nonzero(has_plan)[0]
    k = len(idx)
    plan_ids = ctx.ids(Plan, k)
    last_day = np.where(h.episode_end[idx] >= 0, h.episode_end[idx], end_day)
    # Reviews every six months; a missed one stops the cycle (the plan is then overdue).
    due = plan_day[idx] + 182
    alive = np.ones(k, bool)
    reviewed_plan, reviewed_day = [], []
    for _ in range(6):
        within = alive & (due <= last_day)
        missed = within & (rng.random(k) < P.REVIEW_MISSED)
        held = within & ~missed
        held_day = np.minimum(due + rng.integers(-20, 15, k), last_day)  # never after the episode ended
        reviewed_plan.append(np.nonzero(held)[0])
        reviewed_day.append(held_day[held])
        alive &= held
        due = np.where(held, held_day + 182, due)
    next_due = due
    rv_plan = np.concatenate(reviewed_plan)
    rv_day = np.concatenate(reviewed_day)
    new_version = rng.random(len(rv_plan)) < 0.4
    versions_per_plan = 1 + np.bincount(rv_plan[new_version], minlength=k)
    created = _stamps(ctx, plan_day[idx], rng)
    # Versions: the first at the plan day, later ones at reviews that changed the plan.
    v_plan = np.concatenate([np.arange(k), rv_plan[new_version]])
    v_day = np.concatenate([plan_day[idx], rv_day[new_version]])
    order = np.lexsort((v_day, v_plan))
    v_plan, v_day = v_plan[order], v_day[order]
    group_start = np.searchsorted(v_plan, v_plan, side="left")
    v_number = np.arange(len(v_plan)) - group_start + 1
    version_ids = ctx.ids(PlanVersion, len(v_plan))
    user = coordinator[idx, 1]
    rehab = np.zeros(k, bool)
    for s in range(SLOTS):
        rehab |= h.ref_type[idx, s] == [st.code for st in P.SERVICE_TYPES].index("rehabilitative_work")
    plans = Rows(
        Plan,
        {
            "id": plan_ids,
            "episode_id": episode_ids[idx],
            "current_version": versions_per_plan,
            "next_review_due": _dates(ctx, next_due),
            "created_at": created,
        },
    )
    versions = Rows(
        PlanVersion,
        {
            "id": version_ids,
            "plan_id": plan_ids[v_plan],
            "number": v_number,
            "employment_goal": np.full(len(v_plan), "Työllistyminen avoimille työmarkkinoille", dtype=object),
            "rehabilitative_work_goal": np.where(rehab[v_plan], "Arjen rytmi ja työelämävalmiudet", "").astype(object),
            "follow_up": np.full(len(v_plan), "Seurantatapaaminen kuukausittain", dtype=object),
            "change_summary": np.where(v_number > 1, "Tarkistettu suunnitelmaa", "").astype(object),
            "created_by_id": user[v_plan],
            "created_at": _stamps(ctx, v_day, rng),
        },
    )
    # Two goals per version, each with steps: the client's own step and the coordinator's follow-up.
    nv = len(v_plan)
    goal_ids = ctx.ids(Goal, 2 * nv)
    goals = Rows(
        Goal,
        {
            "id": goal_ids,
            "plan_version_id": np.repeat(version_ids, 2),
            "position": np.tile([0, 1], nv),
            "area": np.tile(np.array(["employment", "health"], dtype=object), nv),
            "title": np.tile(np.array(["Polku työhön", "Työkyvyn tukeminen"], dtype=object), nv),
            "description": np.full(2 * nv, "", dtype=object),
        },
    )
    is_current = v_number == versions_per_plan[v_plan]
    step_due = v_day + rng.integers(14, 120, nv)
    done = is_current & (step_due < end_day) & (rng.random(nv) < 0.7)
    step_status = np.where(~is_current, "done", np.where(done, "done", "planned")).astype(object)
    # Each of a version's two steps: some of the planned ones are under way (since a day after the version).
    status_of_step = np.repeat(step_status, 2)
    in_progress = (status_of_step == "planned") & (aux.random(2 * nv) < P.STEP_IN_PROGRESS)
    status_of_step[in_progress] = "in_progress"
    started = np.minimum(np.repeat(v_day, 2) + aux.integers(1, 30, 2 * nv), np.repeat(last_day[v_plan], 2))
    changed = np.where(in_progress, started, np.repeat(np.minimum(step_due, end_day), 2))
    step_ids = ctx.ids(Step, 2 * nv)
    steps = Rows(
        Step,
        {
            "id": step_ids,
            "goal_id": goal_ids,
            "position": np.zeros(2 * nv, np.int64),
            "kind": np.full(2 * nv, "action", dtype=object),
            "description": np.tile(
                np.array(["Päivitä ansioluettelo ja hae töitä", "Seurantatapaaminen"], dtype=object), nv
            ),
            "service_id": np.full(2 * nv, None, dtype=object),
            "owner_organisation_id": np.tile(np.array([None, ctx.employment_org], dtype=object), nv),
            "owned_by_client": np.tile([True, False], nv),
            "due_date": _dates(ctx, np.repeat(step_due, 2)),
            "status": status_of_step,
            "status_changed_at": _none_where(_stamps(ctx, changed, rng), status_of_step == "planned"),
        },
    )
    # Sign-offs of the first version: each participant's responsible person (mostly) and the client.
    first_version = version_ids[v_number == 1]  # plans are numbered 0..k-1 in order, so this is per plan
    plan_of_client = np.full(len(h.pop.segment), -1)
    plan_of_client[idx] = np.arange(k)
    part_plan = plan_of_client[part_client]
    signed = (part_plan >= 0) & (rng.random(len(part_plan)) < 0.9)
    by_client = rng.random(k) < 0.85
    s_plan = np.concatenate([part_plan[signed], np.nonzero(by_client)[0]])
    s_count = len(s_plan)
    signoffs = Rows(
        PlanSignoff,
        {
            "id": ctx.ids(PlanSignoff, s_count),
            "plan_version_id": first_version[s_plan],
            "party": np.concatenate(
                [np.full(signed.sum(), "organisation", dtype=object), np.full(by_client.sum(), "client", dtype=object)]
            ),
            "organisation_id": np.concatenate(
                [part_org[signed].astype(object), np.full(by_client.sum(), None, dtype=object)]
            ),
            "signed_by_id": np.concatenate([part_user[signed], user[by_client]]),
            "signed_at": _stamps(ctx, plan_day[idx][s_plan], rng),
        },
    )
    # Reviews that were held.
    result_version = version_ids[np.searchsorted(v_plan, rv_plan, side="right") - 1]
    reviews = Rows(
        PlanReview,
        {
            "id": ctx.ids(PlanReview, len(rv_plan)),
            "plan_id": plan_ids[rv_plan],
            "trigger": np.full(len(rv_plan), "scheduled", dtype=object),
            "requested_at": _stamps(ctx, rv_day - 7, rng),
            "held_on": _dates(ctx, rv_day),
            "reviewed_by_id": user[rv_plan],
            "notes": np.full(len(rv_plan), "Suunnitelma käyty läpi", dtype=object),
            "resulting_version_id": result_version,
        },
    )
    # Reviews the client asked for: on a day after the plan was made while the episode ran; most are held
    # within a few weeks, some are forgotten. One still pending when the episode closes is held at the close.
    ask_day = plan_day[idx] + 1 + (aux.random(k) * (last_day - plan_day[idx])).astype(np.int64)
    asked = (aux.random(k) < P.CLIENT_REQUESTED_REVIEW) & (ask_day <= last_day)
    held_day = ask_day + 1 + np.round(aux.gamma(1.5, 7.0, k)).astype(np.int64)
    held_day = np.where(aux.random(k) < P.REQUESTED_REVIEW_FORGOTTEN, end_day + 1, held_day)
    closed = h.episode_end[idx] >= 0
    held_day = np.where(closed, np.minimum(held_day, last_day), held_day)
    held = held_day <= end_day
    q = np.nonzero(asked)[0]
    q_held = held[q]
    requested_ids = ctx.ids(PlanReview, q.size)
    requested = Rows(
        PlanReview,
        {
            "id": requested_ids,
            "plan_id": plan_ids[q],
            "trigger": np.full(q.size, "client_request", dtype=object),
            "requested_at": _stamps(ctx, ask_day[q], aux),
            "held_on": _none_where(_dates(ctx, np.minimum(held_day[q], end_day)), ~q_held),
            "reviewed_by_id": _none_where(user[q], ~q_held),
            "notes": np.where(q_held, "Asiakkaan pyytämä tarkistus pidetty", "").astype(object),
            "resulting_version_id": np.full(q.size, None, dtype=object),
        },
    )
    step_version = np.repeat(np.arange(nv), 2)
    truth = {
        "client_index": idx,
        "plan_id": plan_ids,
        "next_review_day": next_due,
        "steps": {
            "client_index": idx[v_plan[step_version]],
            "id": step_ids,
            "due": np.repeat(step_due, 2),
            "current": is_current[step_version],
            "status": status_of_step,
        },
        "requested": {
            "client_index": idx[q],
            "id": requested_ids,
            "asked": ask_day[q],
            "pending": ~q_held,
        },
    }
    return [plans, versions, goals, steps, signoffs, reviews, requested], truth


def _assessments(
    ctx: Context, h: History, client_ids: np.ndarray, episode_ids: np.ndarray, rng: np.random.Generator
) -> tuple[list[Rows], dict[str, np.ndarray]]:
    w = ctx.window
    end_day = w.end_day
    pop = h.pop
    n = len(pop.segment)
    last = np.where(h.episode_end >= 0, h.episode_end, end_day)
    was_id, (was_item,) = ctx.instruments["work-ability-score"]
    life_id, life_items = ctx.instruments["life-situation"]
    a_client, a_day, a_instr, a_score, a_band, a_org, a_user, answers = [], [], [], [], [], [], [], []
    a_signal = []  # the work-ability score, or the life-situation areas scored 2 or more
    health_staff = ctx.health_professionals[rng.integers(0, len(ctx.health_professionals), n)]
    social_staff = ctx.social_workers[rng.integers(0, len(ctx.social_workers), n)]
    completed = np.zeros(n)
    for s in range(SLOTS):
        completed += h.ref_end_kind[:, s] == END_COMPLETED
    # Work ability every six months while the episode runs, drifting up with completed services.
    for round_ in range(7):
        day = pop.entry_day + 7 + round_ * 182
        sel = np.nonzero(day <= last)[0]
        if not sel.size:
            break
        value = np.clip(pop.was[sel] + np.round(rng.normal(0.25 * completed[sel] * round_ / 2, 0.8)), 0, 10).astype(
            np.int64
        )
        a_client.append(sel)
        a_day.append(day[sel])
        a_instr.append(np.full(sel.size, was_id))
        a_score.append(value.astype(float))
        a_band.append(np.where(value <= 5, "poor", np.where(value <= 7, "moderate", "good")).astype(object))
        a_org.append(np.full(sel.size, ctx.health_org))
        a_user.append(health_staff[sel, 1])
        a_signal.append(value)
        answers.append([(was_item, value)])
    # Life situation at entry and a year later.
    for round_ in range(2):
        day = pop.entry_day + 5 + round_ * 365
        sel = np.nonzero(day <= last)[0]
        if not sel.size:
            break
        improve = (rng.random((sel.size, len(P.BARRIERS))) < 0.25 * completed[sel, None]) if round_ else 0
        values = np.clip(pop.severity[sel] - improve, 0, 3).astype(np.int64)
        total = values.sum(axis=1)
        a_client.append(sel)
        a_day.append(day[sel])
        a_instr.append(np.full(sel.size, life_id))
        a_score.append(total.astype(float))
        a_band.append(np.where(total <= 4, "low", np.where(total <= 10, "moderate", "high")).astype(object))
        a_org.append(np.full(sel.size, ctx.social_org))
        a_user.append(social_staff[sel, 1])
        a_signal.append((values >= 2).sum(axis=1))
        answers.append([(item, values[:, j]) for j, item in enumerate(life_items)])
    sizes = [len(x) for x in a_client]
    ids = ctx.ids(Assessment, sum(sizes))
    cl = np.concatenate(a_client)
    days = np.concatenate(a_day)
    assessments = Rows(
        Assessment,
        {
            "id": ids,
            "client_id": client_ids[cl],
            "instrument_id": np.concatenate(a_instr),
            "episode_id": episode_ids[cl],
            "joint_assessment_id": np.full(len(ids), None, dtype=object),
            "respondent": np.full(len(ids), "professional", dtype=object),
            "assessed_by_id": np.concatenate(a_user),
            "organisation_id": np.concatenate(a_org),
            "assessed_on": _dates(ctx, days),
            "score": np.concatenate(a_score),
            "band": np.concatenate(a_band),
            "notes": np.full(len(ids), "", dtype=object),
            "created_at": _stamps(ctx, days, rng),
        },
    )
    ans_assessment, ans_item, ans_value = [], [], []
    offset = 0
    for size, group in zip(sizes, answers, strict=True):
        for item, value in group:
            ans_assessment.append(ids[offset : offset + size])
            ans_item.append(np.full(size, item))
            ans_value.append(np.asarray(value, dtype=np.int64))
        offset += size
    answer_ids = ctx.ids(AssessmentAnswer, sum(len(x) for x in ans_assessment))
    answer_rows = Rows(
        AssessmentAnswer,
        {
            "id": answer_ids,
            "assessment_id": np.concatenate(ans_assessment),
            "item_id": np.concatenate(ans_item),
            "value": np.concatenate(ans_value),
        },
    )
    assessed = {
        "client": cl,
        "day": days,
        "was": np.concatenate(a_instr) == was_id,
        "signal": np.concatenate(a_signal).astype(np.int64),
    }
    return [assessments, answer_rows], assessed
