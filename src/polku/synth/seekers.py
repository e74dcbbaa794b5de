"""Registered job seekers who are not in the joint service: the population the screening rule looks at.

Each has a client record, up to three employment-status periods ending in the one that covers the window's last
day (most are unemployed then, for widely varying times; some are working or studying), the unemployment
benefits paid for their unemployment, a consent in force for the employment-services organisation (whose
statutory job seekers they are) and, for some, a recent work-ability score and life-situation mapping. They have
no episode. Durations, benefit days, scores and barrier counts are spread across the screening thresholds, so
the criteria have clear positives, clear negatives and near misses on either side.

Vectorised like the rest of the generator; the chunk's job seekers have a random stream of their own.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from polku.assessments.models import Assessment, AssessmentAnswer
from polku.clients.models import Client, Consent, EmploymentStatusPeriod

from . import params as P
from .simulate import STATUS_CODES
from .tables import EDUCATION, Context, Rows, _benefits, _dates, _none_where, _screening_inputs, _stamps, identity_codes

# Status codes (simulate.STATUS_CODES) of the period covering the window's last day, by P.JOB_SEEKER_STATUS.
NOW_CODES = np.array([0, 1, 3])
UNEMPLOYED, EMPLOYED = 0, 1


def job_seekers_between(start: int, stop: int) -> int:
    """How many job seekers come with the joint-service clients ``start``..``stop - 1`` of a region: the chunks'
    counts add up to ``round(clients × P.JOB_SEEKER_SHARE)`` whatever the chunk size."""
    return round(stop * P.JOB_SEEKER_SHARE) - round(start * P.JOB_SEEKER_SHARE)


def _log_uniform(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    return np.round(np.exp(rng.uniform(np.log(low), np.log(high), size))).astype(np.int64)


def build_job_seekers(ctx: Context, count: int, rng: np.random.Generator) -> tuple[list[Rows], dict[str, Any]]:
    """The rows of ``count`` job seekers, and their truth (identity codes, ids, what screening reads)."""
    w = ctx.window
    end_day = w.end_day
    m = count
    rows_out: list[Rows] = []

    # People -----------------------------------------------------------------------------------------------
    under_25 = rng.random(m) < P.JOB_SEEKER_UNDER_25
    adult = rng.normal(44, 11, m)
    # Outside 25–65 draw again uniformly (clipping would pile people onto one birth date, and identity codes
    # allow at most 300 people of one sex per date).
    adult = np.where((adult < 25) | (adult >= 64.9), rng.uniform(25, 64.9, m), adult)
    age = np.where(under_25, rng.uniform(18, 25, m), adult)
    birth = w.date(end_day) - np.round(age * 365.25).astype(np.int64) * np.timedelta64(1, "D")
    birth_day = (birth - np.datetime64(w.start, "D")).astype(np.int64)
    sixteen = birth_day + 5844  # 16 × 365.25 days
    male = rng.random(m) < 0.55
    foreign = rng.random(m) < 0.09
    third_country = foreign & (rng.random(m) < 0.6)
    swedish = ~foreign & (rng.random(m) < P.SWEDISH_SPEAKERS)
    weights = np.array([x[2] for x in P.MUNICIPALITIES])
    municipality = rng.choice(len(P.MUNICIPALITIES), size=m, p=weights / weights.sum())

    # Employment-status periods: [an earlier unemployment] [a previous status] the status now -------------------
    now = NOW_CODES[rng.choice(3, size=m, p=np.array(P.JOB_SEEKER_STATUS) / sum(P.JOB_SEEKER_STATUS))]
    unemployed_now = now == UNEMPLOYED
    current_length = np.where(unemployed_now, _log_uniform(rng, 14, 2400, m), _log_uniform(rng, 14, 1200, m))
    current_start = np.maximum(end_day - current_length, sixteen)
    has_previous = rng.random(m) < 0.75
    previous = np.where(unemployed_now, EMPLOYED, UNEMPLOYED)
    previous_start = current_start - _log_uniform(rng, 30, 1500, m)
    has_earlier = has_previous & unemployed_now & (rng.random(m) < 0.5)
    earlier_start = previous_start - _log_uniform(rng, 30, 900, m)
    starts = np.stack([earlier_start, previous_start, current_start], axis=1)
    codes = np.stack([np.full(m, UNEMPLOYED), previous, now], axis=1)
    valid = np.stack([has_earlier, has_previous, np.ones(m, bool)], axis=1)
    # Nobody is a job seeker before 16: a period that would start earlier starts then, or is left out. Each
    # period ends the day before the next starts; the current one goes on (its last day is the window's).
    starts = np.maximum(starts, sixteen[:, None])
    ends = np.stack([starts[:, 1] - 1, starts[:, 2] - 1, np.full(m, end_day)], axis=1)
    valid &= ends >= starts
    valid[:, 0] &= valid[:, 1]
    ci, slot = np.nonzero(valid)  # row-major: each client's periods in order, the current one last
    p_start, p_end, p_code = starts[ci, slot], ends[ci, slot], codes[ci, slot]
    p_open = slot == 2
    first_start = np.full(m, end_day)
    np.minimum.at(first_start, ci, p_start)

    # Clients ----------------------------------------------------------------------------------------------
    client_ids = ctx.ids(Client, m)
    hetu = identity_codes(ctx, birth, male)
    first, last = ctx.names.draw(rng, male, swedish, foreign)
    language = np.where(swedish, "sv", "fi").astype(object)
    language[foreign & (rng.random(m) < 0.45)] = "en"
    gender = np.where(male, "man", "woman").astype(object)
    gender[rng.random(m) < 0.03] = "not_stated"
    education = rng.choice(3, size=m, p=[0.28, 0.50, 0.22])
    yes_no = lambda mask, stated: np.where(rng.random(m) < stated, np.where(mask, "yes", "no"), "not_stated")  # noqa: E731
    registered = _stamps(ctx, first_start, rng)
    rows_out.append(
        Rows(
            Client,
            {
                "id": client_ids,
                "personal_identity_code": hetu,
                "birth_date": birth.astype(object),
                "legal_sex": np.where(male, "male", "female").astype(object),
                "gender": gender,
                "first_name": first,
                "last_name": last,
                "preferred_language": language,
                "municipality_code": np.array([x[0] for x in P.MUNICIPALITIES], dtype=object)[municipality],
                "phone": np.full(m, "", dtype=object),
                "email": np.full(m, "", dtype=object),
                "address": np.full(m, "", dtype=object),
                "education_level": np.where(rng.random(m) < 0.9, EDUCATION[education], "not_stated"),
                "foreign_background": yes_no(foreign, 0.97),
                "third_country_national": yes_no(third_country, 0.9),
                "minority": yes_no(rng.random(m) < 0.01, 0.6),
                "disability": yes_no(rng.random(m) < 0.05, 0.8),
                "homeless": yes_no(rng.random(m) < 0.01, 0.85),
                "user_id": np.full(m, None, dtype=object),
                "created_at": registered,
                "updated_at": registered,
                "version": np.ones(m, np.int64),
            },
        )
    )
    k = ci.size
    rows_out.append(
        Rows(
            EmploymentStatusPeriod,
            {
                "id": ctx.ids(EmploymentStatusPeriod, k),
                "client_id": client_ids[ci],
                "status": np.array(STATUS_CODES, dtype=object)[p_code],
                "start_date": _dates(ctx, p_start),
                "end_date": _none_where(_dates(ctx, p_end), p_open),
                "source": np.full(k, "register", dtype=object),
            },
        )
    )
    periods = {"client_index": ci, "status": p_code, "start": p_start, "end": p_end, "open": p_open}
    rows_out.append(_benefits(ctx, client_ids, periods, rng, P.JOB_SEEKER_BENEFIT_SHARES, under_25))

    # The employment-services organisation may see its job seekers: a consent from registration, no end.
    recorder = ctx.coordinators[rng.integers(0, len(ctx.coordinators), m)]
    rows_out.append(
        Rows(
            Consent,
            {
                "id": ctx.ids(Consent, m),
                "client_id": client_ids,
                "organisation_id": np.full(m, ctx.employment_org),
                "category": np.full(m, "employment", dtype=object),
                "purpose": np.full(m, "Työnhaku ja työllisyyspalvelut", dtype=object),
                "valid_from": registered,
                "valid_to": np.full(m, None, dtype=object),
                "method": np.full(m, "electronic", dtype=object),
                "recorded_by_id": recorder[:, 1],
                "recorded_at": registered,
                "revoked_at": np.full(m, None, dtype=object),
                "revoked_by_id": np.full(m, None, dtype=object),
                "revoke_reason": np.full(m, "", dtype=object),
            },
        )
    )

    # Assessments: a recent work-ability score (and sometimes an older one), a life-situation mapping --------
    assessment_rows, assessed = _assessments(ctx, m, client_ids, birth_day, recorder, rng)
    rows_out += assessment_rows

    truth = {
        "client_ids": client_ids,
        "hetu": hetu,
        "screening": _screening_inputs(birth, periods, assessed),
    }
    return rows_out, truth


def _assessments(
    ctx: Context,
    m: int,
    client_ids: np.ndarray,
    birth_day: np.ndarray,
    coordinator: np.ndarray,
    rng: np.random.Generator,
) -> tuple[list[Rows], dict[str, np.ndarray]]:
    end_day = ctx.window.end_day
    was_id, (was_item,) = ctx.instruments["work-ability-score"]
    life_id, life_items = ctx.instruments["life-situation"]
    health = ctx.health_professionals[rng.integers(0, len(ctx.health_professionals), m)]
    # Work ability: the latest within about a year and a half of the window's end, sometimes an earlier one
    # (on another day) that may differ.
    has_was = rng.random(m) < P.JOB_SEEKER_WAS
    was_day = end_day - rng.integers(0, 540, m)
    was_value = np.clip(np.round(rng.normal(6.3, 2.0, m)), 0, 10).astype(np.int64)
    has_older = has_was & (rng.random(m) < 0.4)
    older_day = was_day - rng.integers(90, 400, m)
    older_value = np.clip(was_value + np.round(rng.normal(-0.5, 1.5, m)), 0, 10).astype(np.int64)
    # Life situation: each area present with probability 0.3, scored 1–3.
    has_life = rng.random(m) < P.JOB_SEEKER_LIFE
    life_day = end_day - rng.integers(0, 540, m)
    present = rng.random((m, len(life_items))) < 0.3
    life_values = np.where(present, rng.choice([1, 2, 3], size=(m, len(life_items)), p=[0.4, 0.4, 0.2]), 0)

    groups = []  # (clients, days, instrument, score, band, organisation, user, answers)
    for mask, day, value in ((has_was, was_day, was_value), (has_older, older_day, older_value)):
        sel = np.nonzero(mask & (day > birth_day + 5844))[0]
        band = np.where(value[sel] <= 5, "poor", np.where(value[sel] <= 7, "moderate", "good")).astype(object)
        groups.append(
            (sel, day[sel], was_id, value[sel], band, ctx.health_org, health[sel, 1], [(was_item, value[sel])])
        )
    sel = np.nonzero(has_life)[0]
    values = life_values[sel]
    total = values.sum(axis=1)
    band = np.where(total <= 4, "low", np.where(total <= 10, "moderate", "high")).astype(object)
    groups.append(
        (
            sel,
            life_day[sel],
            life_id,
            total,
            band,
            ctx.employment_org,
            coordinator[sel, 1],
            [(item, values[:, j]) for j, item in enumerate(life_items)],
        )
    )
    sizes = [g[0].size for g in groups]
    ids = ctx.ids(Assessment, sum(sizes))
    cl = np.concatenate([g[0] for g in groups])
    days = np.concatenate([g[1] for g in groups])
    instrument = np.concatenate([np.full(g[0].size, g[2]) for g in groups])
    count = len(ids)
    assessments = Rows(
        Assessment,
        {
            "id": ids,
            "client_id": client_ids[cl],
            "instrument_id": instrument,
            "episode_id": np.full(count, None, dtype=object),
            "joint_assessment_id": np.full(count, None, dtype=object),
            "respondent": np.full(count, "professional", dtype=object),
            "assessed_by_id": np.concatenate([g[6] for g in groups]),
            "organisation_id": np.concatenate([np.full(g[0].size, g[5]) for g in groups]),
            "assessed_on": _dates(ctx, days),
            "score": np.concatenate([g[3] for g in groups]).astype(float),
            "band": np.concatenate([g[4] for g in groups]),
            "notes": np.full(count, "", dtype=object),
            "created_at": _stamps(ctx, days, rng),
        },
    )
    ans_assessment, ans_item, ans_value = [], [], []
    offset = 0
    for size, group in zip(sizes, groups, strict=True):
        for item, value in group[7]:
            ans_assessment.append(ids[offset : offset + size])
            ans_item.append(np.full(size, item))
            ans_value.append(np.asarray(value, dtype=np.int64))
        offset += size
    answers = Rows(
        AssessmentAnswer,
        {
            "id": ctx.ids(AssessmentAnswer, sum(len(x) for x in ans_assessment)),
            "assessment_id": np.concatenate(ans_assessment),
            "item_id": np.concatenate(ans_item),
            "value": np.concatenate(ans_value),
        },
    )
    signal = np.concatenate([groups[0][3], groups[1][3], (values >= 2).sum(axis=1)]).astype(np.int64)
    assessed = {"client": cl, "day": days, "was": instrument == was_id, "signal": signal}
    return [assessments, answers], assessed
