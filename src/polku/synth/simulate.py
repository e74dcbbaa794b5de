"""The synthetic population and its history, simulated month by month for a chunk of clients at once.

Everything is vectorised over the clients of a chunk (NumPy arrays), with a loop over months only. The
simulation knows the truth: each client's latent segment, hidden confounder, the monthly probability of
open-market employment and how each service changes it. :func:`simulate_chunk` returns plain arrays; turning
them into database rows is ``tables.py``'s job and writing the truth is ``truth.py``'s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import params as P

SLOTS = 4  # referrals a client can have in the window
DAY = np.timedelta64(1, "D")

# Referral outcomes drawn when a referral is sent.
ANSWERED, UNANSWERED, DECLINED = 0, 1, 2
# How a referral ended.
END_NONE, END_COMPLETED, END_INTERRUPTED, END_CANCELLED = 0, 1, 2, 3
# Employment-status codes per month.
STATUS_CODES = ("unemployed", "employed_open_market", "subsidised_work", "education", "rehabilitation")
ST_UNEMPLOYED, ST_EMPLOYED = 0, 1


@dataclass
class Window:
    """The simulated period: ``months`` whole months from ``start`` (the first day of a month)."""

    start: dt.date
    months: int
    month_start: np.ndarray = field(init=False)  # day offset of each month's first day, length months + 1

    def __post_init__(self) -> None:
        first = np.datetime64(self.start, "M")
        months = first + np.arange(self.months + 1)
        self.month_start = (months.astype("datetime64[D]") - np.datetime64(self.start, "D")).astype(np.int64)

    @property
    def end_day(self) -> int:
        """Offset of the last simulated day (the as-of date of the generated data)."""
        return int(self.month_start[-1]) - 1

    def date(self, days: np.ndarray | int) -> np.ndarray:
        return np.datetime64(self.start, "D") + np.asarray(days, dtype=np.int64) * DAY

    def month_of(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.month_start, days, side="right") - 1


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Population:
    segment: np.ndarray
    male: np.ndarray
    age_at_entry: np.ndarray
    education: np.ndarray  # 0: ISCED 0–2, 1: 3–4, 2: 5–8
    foreign: np.ndarray
    third_country: np.ndarray
    swedish: np.ndarray
    disability: np.ndarray
    severity: np.ndarray  # (n, 8) barrier severities 0–3
    was: np.ndarray  # work ability score 0–10 at entry
    unemployed_months: np.ndarray  # unemployment before entry
    municipality: np.ndarray  # index into P.MUNICIPALITIES
    hidden: np.ndarray  # the hidden confounder u (0 unless --hidden-confounding)
    entry_day: np.ndarray
    base_logodds: np.ndarray  # monthly employment log-odds without services


def draw_population(rng: np.random.Generator, n: int, window: Window, hidden_strength: float) -> Population:
    seg_share = np.array([s.share for s in P.SEGMENTS])
    segment = rng.choice(len(P.SEGMENTS), size=n, p=seg_share / seg_share.sum())
    col = lambda attr: np.array([getattr(s, attr) for s in P.SEGMENTS])[segment]  # noqa: E731
    male = rng.random(n) < col("male")
    age = np.clip(rng.normal(col("age_mean"), col("age_sd")), col("age_min"), col("age_max"))
    edu_p = np.array([s.education for s in P.SEGMENTS])[segment]
    education = (rng.random(n)[:, None] > np.cumsum(edu_p, axis=1)).sum(axis=1)
    foreign = rng.random(n) < col("foreign_background")
    third_country = foreign & (rng.random(n) < 0.6)
    swedish = ~foreign & (rng.random(n) < P.SWEDISH_SPEAKERS)
    disability = rng.random(n) < col("disability")
    barrier_p = np.array([[s.barrier_prob.get(b, 0.04) for b in P.BARRIERS] for s in P.SEGMENTS])[segment]
    present = rng.random((n, len(P.BARRIERS))) < barrier_p
    severity = np.where(present, rng.choice([1, 2, 3], size=(n, len(P.BARRIERS)), p=[0.35, 0.45, 0.20]), 0)
    health_load = severity[:, P.B["physical_health"]] + severity[:, P.B["mental_health"]]
    was = np.clip(np.round(rng.normal(col("was_mean") - 0.35 * health_load, 1.4)), 0, 10).astype(np.int64)
    unemployed_months = np.maximum(np.round(rng.lognormal(np.log(col("unemployed_months_median")), 0.6)), 3)
    weights = np.array([m[2] for m in P.MUNICIPALITIES])
    municipality = rng.choice(len(P.MUNICIPALITIES), size=n, p=weights / weights.sum())
    hidden = rng.normal(size=n) if hidden_strength > 0 else np.zeros(n)
    entry_month = rng.integers(0, window.months, size=n)
    month_len = np.diff(window.month_start)
    entry_day = window.month_start[entry_month] + (rng.random(n) * month_len[entry_month]).astype(np.int64)
    o = P.OUTCOME
    base = (
        col("base_logodds")
        + o["barrier_severity"] * severity.sum(axis=1)
        + o["work_ability"] * (was - 5)
        + o["age_over_50"] * np.maximum(age - 50, 0)
        + o["log_unemployment_years"] * np.log1p(unemployed_months / 12)
        + o["isced_5_8"] * (education == 2)
        + o["isced_0_2"] * (education == 0)
        + o["hidden"] * hidden_strength * hidden
    )
    return Population(
        segment,
        male,
        age,
        education,
        foreign,
        third_country,
        swedish,
        disability,
        severity,
        was,
        unemployed_months,
        municipality,
        hidden,
        entry_day,
        base,
    )


def effect_matrix(pop: Population) -> tuple[np.ndarray, np.ndarray]:
    """True effects of every service type for every client: (n, K) during and (n, K) after, in log-odds."""
    n, k = len(pop.segment), len(P.SERVICE_TYPES)
    during, after = np.zeros((n, k)), np.zeros((n, k))
    has = pop.severity > 0
    for j, st in enumerate(P.SERVICE_TYPES):
        extra = sum((has[:, P.B[b]] * v for b, v in st.effect_if.items()), start=np.zeros(n))
        seg_extra = np.array([st.segment_effect.get(s.code, 0.0) for s in P.SEGMENTS])[pop.segment]
        during[:, j] = st.effect_during
        after[:, j] = np.where(st.after_months > 0, st.effect_after + extra + seg_extra, 0.0)
    return during, after


def need_logits(pop: Population, habit: np.ndarray, hidden_strength: float) -> np.ndarray:
    """Log-odds of being referred to each service type (assignment by need, local habit and the hidden cause)."""
    n = len(pop.segment)
    logits = np.zeros((n, len(P.SERVICE_TYPES)))
    for j, st in enumerate(P.SERVICE_TYPES):
        need = sum((pop.severity[:, P.B[b]] * v for b, v in st.need.items()), start=np.zeros(n))
        seg = np.array([st.segment_need.get(s.code, 0.0) for s in P.SEGMENTS])[pop.segment]
        logits[:, j] = (
            st.base_need + need + seg + habit[pop.municipality, j] + st.hidden_need * hidden_strength * pop.hidden
        )
    return logits


@dataclass
class History:
    """What happened to each client of the chunk (day offsets from the window start; -1 = never)."""

    pop: Population
    window: Window
    ref_type: np.ndarray  # (n, SLOTS) service type index, -1 none
    ref_service: np.ndarray  # (n, SLOTS) index of the concrete service (provider) within its type
    ref_sent: np.ndarray
    ref_received: np.ndarray
    ref_decided: np.ndarray
    ref_waitlisted: np.ndarray  # bool
    ref_declined: np.ndarray  # bool
    ref_start: np.ndarray
    ref_end: np.ndarray
    ref_end_kind: np.ndarray
    status: np.ndarray  # (n, months) employment-status code
    employed_day: np.ndarray  # first open-market job start, -1
    episode_end: np.ndarray  # -1 open
    end_reason: np.ndarray  # object array of str ("" open)
    during: np.ndarray
    after: np.ndarray
    move_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # the client moved (-1 never)
    move_to: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # index into P.MUNICIPALITY_CODES


def _effects_at(month: int, h: History, mask_sent_before: np.ndarray | None = None) -> np.ndarray:
    """Total service effect on each client's log-odds in ``month``."""
    w = h.window
    total = np.zeros(len(h.pop.segment))
    if month < w.months:
        mid = (w.month_start[month] + w.month_start[month + 1]) // 2
    else:  # beyond the window (truth horizons): 30-day months
        mid = w.month_start[-1] + (month - w.months) * 30 + 15
    for s in range(SLOTS):
        t = h.ref_type[:, s]
        valid = (t >= 0) & (h.ref_start[:, s] >= 0)
        if mask_sent_before is not None:
            valid &= mask_sent_before[:, s]
        if not valid.any():
            continue
        tt = np.where(valid, t, 0)
        running = valid & (h.ref_start[:, s] <= mid) & ((h.ref_end[:, s] < 0) | (mid < h.ref_end[:, s]))
        after_months = np.array([st.after_months for st in P.SERVICE_TYPES])[tt]
        ended = valid & (h.ref_end[:, s] >= 0) & (h.ref_end[:, s] <= mid) & (mid < h.ref_end[:, s] + after_months * 30)
        rows = np.arange(len(tt))
        total += np.where(running, h.during[rows, tt], 0.0) + np.where(ended, h.after[rows, tt], 0.0)
    return total


def simulate_chunk(
    rng: np.random.Generator,
    n: int,
    window: Window,
    habit: np.ndarray,
    services_per_type: list[int],
    hidden_strength: float,
    aux: np.random.Generator | None = None,
) -> History:
    """Simulate ``n`` clients. ``rng`` drives the population and its history; ``aux`` (a stream of its own, so
    that adding to it leaves the rest of the history as it was) draws the moves."""
    pop = draw_population(rng, n, window, hidden_strength)
    moves = _draw_moves(aux if aux is not None else np.random.default_rng(0), pop)
    during, after = effect_matrix(pop)
    logits = need_logits(pop, habit, hidden_strength)
    months = window.months
    end_day = window.end_day
    full = lambda v, dtype=np.int64: np.full((n, SLOTS), v, dtype=dtype)  # noqa: E731
    h = History(
        pop,
        window,
        full(-1),
        full(0),
        full(-1),
        full(-1),
        full(-1),
        full(False, bool),
        full(False, bool),
        full(-1),
        full(-1),
        full(END_NONE),
        np.zeros((n, months), dtype=np.int8),
        np.full(n, -1, np.int64),
        np.full(n, -1, np.int64),
        np.full(n, "", dtype=object),
        during,
        after,
    )
    entry_month = window.month_of(pop.entry_day)
    # The first referral goes out during the mapping period.
    next_ref = pop.entry_day + rng.integers(10, 80, n)
    slot = np.zeros(n, np.int64)
    employed = np.zeros(n, bool)
    open_episode = np.zeros(n, bool)
    handed_over = np.zeros(n, bool)
    rows = np.arange(n)
    durations = np.array([st.duration_months for st in P.SERVICE_TYPES])
    waits = np.array([st.mean_wait_days for st in P.SERVICE_TYPES])
    status_during = np.array([STATUS_CODES.index(st.status_during) for st in P.SERVICE_TYPES])
    for m in range(months):
        m_lo, m_hi = window.month_start[m], window.month_start[m + 1]
        open_episode |= entry_month == m
        started_here = entry_month == m
        # 1. Referrals due this month.
        due = open_episode & ~employed & (next_ref >= 0) & (next_ref < m_hi) & (slot < SLOTS)
        idx = rows[due]
        if idx.size:
            s = slot[idx]
            sent = np.maximum(next_ref[idx], m_lo)
            taken = np.zeros((idx.size, len(P.SERVICE_TYPES)), bool)
            for prior in range(SLOTS):
                t_prior = h.ref_type[idx, prior]
                taken[np.arange(idx.size)[t_prior >= 0], t_prior[t_prior >= 0]] = True
            z = np.where(taken, -np.inf, logits[idx] + rng.gumbel(size=taken.shape))
            choice = np.argmax(z, axis=1)
            h.ref_type[idx, s] = choice
            h.ref_service[idx, s] = (rng.random(idx.size) * np.array(services_per_type)[choice]).astype(np.int64)
            h.ref_sent[idx, s] = sent
            u = rng.random(idx.size)
            outcome = np.where(
                u < P.REFERRAL_UNANSWERED,
                UNANSWERED,
                np.where(u < P.REFERRAL_UNANSWERED + P.REFERRAL_DECLINED, DECLINED, ANSWERED),
            )
            received = sent + rng.integers(0, 6, idx.size)
            decided = received + rng.integers(0, 10, idx.size)
            wait = np.round(rng.exponential(waits[choice])).astype(np.int64)
            start = np.maximum(decided, sent + wait)
            length = durations[choice] * 30 + rng.integers(-10, 11, idx.size)
            interrupted = rng.random(idx.size) < P.SERVICE_INTERRUPTED
            end = start + np.where(interrupted, (length * rng.uniform(0.1, 0.8, idx.size)).astype(np.int64), length)
            answered = outcome != UNANSWERED
            h.ref_received[idx, s] = np.where(answered, received, -1)
            h.ref_decided[idx, s] = np.where(answered, decided, -1)
            h.ref_declined[idx, s] = outcome == DECLINED
            ok = outcome == ANSWERED
            h.ref_waitlisted[idx, s] = ok & (wait > 30)
            h.ref_start[idx, s] = np.where(ok, start, -1)
            h.ref_end[idx, s] = np.where(ok, end, -1)
            h.ref_end_kind[idx, s] = np.where(ok, np.where(interrupted, END_INTERRUPTED, END_COMPLETED), END_NONE)
            # What comes next: after a service (or a refusal) usually a next step; an unanswered referral is
            # noticed only sometimes (then cancelled and a new one sent).
            gap = rng.integers(7, 60, idx.size)
            never = rng.random(idx.size) < P.NO_NEXT_STEP_AFTER_SERVICE
            nxt = np.where(ok, end + gap, np.where(outcome == DECLINED, decided + gap, -1))
            noticed = (outcome == UNANSWERED) & (rng.random(idx.size) < 0.5)
            cancel_day = sent + rng.integers(45, 120, idx.size)
            h.ref_end[idx, s] = np.where(noticed, cancel_day, h.ref_end[idx, s])
            h.ref_end_kind[idx, s] = np.where(noticed, END_CANCELLED, h.ref_end_kind[idx, s])
            nxt = np.where(noticed, cancel_day + 1, nxt)
            nxt = np.where(never & (outcome != UNANSWERED), -1, nxt)
            next_ref[idx] = nxt
            slot[idx] += 1
        # 2. Employment this month (from the entry month on).
        active = entry_month <= m
        effect = _effects_at(m, h)
        p_job = _sigmoid(pop.base_logodds + effect)
        got_job = active & ~employed & (rng.random(n) < p_job)
        lost_job = active & employed & (rng.random(n) < P.JOB_LOSS)
        job_day = m_lo + (rng.random(n) * (m_hi - m_lo)).astype(np.int64)
        job_day = np.where(started_here, np.maximum(job_day, pop.entry_day), job_day)
        first_job = got_job & (h.employed_day < 0)
        h.employed_day[first_job] = job_day[first_job]
        employed = (employed | got_job) & ~lost_job
        # 3. Monthly status: employed, else the status of a running service, else unemployed.
        mid = (m_lo + m_hi) // 2
        code = np.full(n, ST_UNEMPLOYED, np.int8)
        for s in range(SLOTS):
            t = h.ref_type[:, s]
            running = (t >= 0) & (h.ref_start[:, s] >= 0) & (h.ref_start[:, s] <= mid) & (mid < h.ref_end[:, s])
            code = np.where(running, status_during[np.maximum(t, 0)], code)
        code = np.where(employed, ST_EMPLOYED, code)
        h.status[:, m] = code
        # 4. Episodes end: a month after finding work, or for other reasons.
        closing_job = open_episode & got_job
        close_day = job_day + rng.integers(5, 40, n)
        other = open_episode & ~got_job & (m >= entry_month + 3) & (rng.random(n) < P.OTHER_END_MONTHLY)
        reasons = np.array([r for r, _ in P.OTHER_END_REASONS], dtype=object)
        weights = np.array([w for _, w in P.OTHER_END_REASONS])
        other_reason = reasons[rng.choice(len(reasons), size=n, p=weights / weights.sum())]
        other_reason = np.where((other_reason == "retired") & (pop.age_at_entry < 60), "no_change", other_reason)
        other_day = m_lo + (rng.random(n) * (m_hi - m_lo)).astype(np.int64)
        for mask, day, reason in ((closing_job, close_day, "employed"), (other, other_day, None)):
            day = np.maximum(day, pop.entry_day + 1)
            within = mask & (day <= end_day)
            h.episode_end[within] = day[within]
            h.end_reason[within] = reason if reason is not None else other_reason[within]
            open_episode &= ~within
            next_ref[within] = -1
            _close_referrals(h, within, day)
        # 5. Hand-overs: the episode of a client who moved out of the region closes (when it is still open).
        day = moves["handover_day"]
        within = open_episode & (day >= m_lo) & (day < m_hi) & (day <= end_day)
        h.episode_end[within] = day[within]
        h.end_reason[within] = "moved_away"
        handed_over[within] = True
        open_episode &= ~within
        next_ref[within] = -1
        _close_referrals(h, within, day)
    _settle_moves(h, moves, handed_over)
    return h


def _draw_moves(aux: np.random.Generator, pop: Population) -> dict[str, np.ndarray]:
    """Each client's possible move: a day (from a yearly rate, counted from entry), a destination within the
    region (another municipality, by population) or outside it, and for those who leave whether and when the
    episode is handed over. Whether the move happens depends on the episode still being open then."""
    n = len(pop.segment)
    regional = len(P.MUNICIPALITIES)
    day = pop.entry_day + 1 + np.round(aux.exponential(365.25 / P.MOVE_YEARLY, n)).astype(np.int64)
    out = aux.random(n) < P.MOVE_OUT_OF_REGION
    weights = np.array([m[2] for m in P.MUNICIPALITIES])
    first, second = aux.choice(regional, size=(2, n), p=weights / weights.sum())
    inside = np.where(first != pop.municipality, first, np.where(second != pop.municipality, second, 0))
    inside = np.where(inside == pop.municipality, (pop.municipality + 1) % regional, inside)
    away = np.array([m[2] for m in P.OUTSIDE_MUNICIPALITIES])
    outside = regional + aux.choice(len(away), size=n, p=away / away.sum())
    handover = out & (aux.random(n) < P.MOVE_HANDOVER)
    handover_day = np.where(handover, day + aux.integers(7, 43, n), -1)
    # Episodes closed as "moved_away" for other reasons: the move came shortly before.
    before_close = aux.integers(0, 31, n)
    other_outside = regional + aux.choice(len(away), size=n, p=away / away.sum())
    return {
        "day": day,
        "to": np.where(out, outside, inside),
        "handover_day": handover_day,
        "before_close": before_close,
        "other_to": other_outside,
    }


def _settle_moves(h: History, moves: dict[str, np.ndarray], handed_over: np.ndarray) -> None:
    """The moves that happened: while the episode was open (on or before its last day), within the window. An
    episode that closed as "moved_away" for another reason had its client move out of the region before."""
    end_day = h.window.end_day
    day, to = moves["day"].copy(), moves["to"].copy()
    other_moved = (h.end_reason == "moved_away") & ~handed_over
    day = np.where(other_moved, np.maximum(h.episode_end - moves["before_close"], h.pop.entry_day), day)
    to = np.where(other_moved, moves["other_to"], to)
    last = np.where(h.episode_end >= 0, h.episode_end, end_day)
    happened = day <= last
    h.move_day = np.where(happened, day, -1)
    h.move_to = np.where(happened, to, -1)


def _close_referrals(h: History, mask: np.ndarray, day: np.ndarray) -> None:
    """When an episode ends, referrals still open end with it: running services are interrupted, the rest cancelled."""
    for s in range(SLOTS):
        t = h.ref_type[:, s]
        # A refusal that would have come after the end never came: that referral is cancelled like the rest.
        late_decline = mask & h.ref_declined[:, s] & (h.ref_decided[:, s] > day)
        h.ref_declined[late_decline, s] = False
        ends_later = (h.ref_end[:, s] < 0) | (h.ref_end[:, s] > day)
        open_ref = mask & (t >= 0) & ~h.ref_declined[:, s] & ends_later & (h.ref_sent[:, s] <= day)
        running = open_ref & (h.ref_start[:, s] >= 0) & (h.ref_start[:, s] <= day)
        pending = open_ref & ~running
        h.ref_end[running, s] = day[running]
        h.ref_end_kind[running, s] = END_INTERRUPTED
        h.ref_end[pending, s] = day[pending]
        h.ref_end_kind[pending, s] = END_CANCELLED
        h.ref_start[pending, s] = -1
        # What would have happened after the cancellation did not.
        late_receipt = pending & (h.ref_received[:, s] > day)
        h.ref_received[late_receipt, s] = -1
        late_decision = pending & (h.ref_decided[:, s] > day)
        h.ref_decided[late_decision, s] = -1
        h.ref_waitlisted[late_decision, s] = False
        # Referrals that would have been sent after the end never happen.
        never = mask & (t >= 0) & (h.ref_sent[:, s] > day)
        h.ref_type[never, s] = -1


def truth_probabilities(
    h: History, as_of_month: np.ndarray, horizons: tuple[int, ...] = (6, 12)
) -> dict[int, np.ndarray]:
    """True P(employed on the open market ``k`` months after ``as_of_month``), given the situation then:
    employed or not, and the services already referred (with their planned schedule). A two-state Markov
    chain over months with the generator's own hazards."""
    n = len(h.pop.segment)
    rows = np.arange(n)
    state = h.status[rows, np.clip(as_of_month, 0, h.window.months - 1)] == ST_EMPLOYED
    as_of_day = h.window.month_start[np.clip(as_of_month + 1, 0, h.window.months)] - 1
    known = (h.ref_sent >= 0) & (h.ref_sent <= as_of_day[:, None])
    p = state.astype(float)
    out: dict[int, np.ndarray] = {}
    for step in range(1, max(horizons) + 1):
        # Effects are evaluated per client at its own month as_of + step.
        effect = np.zeros(n)
        for month in np.unique(as_of_month + step):
            sel = (as_of_month + step) == month
            effect[sel] = _effects_at(int(month), h, known)[sel]
        hazard = _sigmoid(h.pop.base_logodds + effect)
        p = p * (1 - P.JOB_LOSS) + (1 - p) * hazard
        if step in horizons:
            out[step] = p.copy()
    return out


def true_service_effects(h: History, horizons: tuple[int, ...] = (6, 12)) -> dict[int, np.ndarray]:
    """Each client's true effect of each service type on P(employed k months after entry): starting the service
    a month after entry (no waiting) versus no service at all. Returns {k: (n, K)}."""
    n, k_types = len(h.pop.segment), len(P.SERVICE_TYPES)
    results = {k: np.zeros((n, k_types)) for k in horizons}

    def propagate(effects_by_month: list[np.ndarray]) -> dict[int, np.ndarray]:
        p = np.zeros(n)
        out = {}
        for step, eff in enumerate(effects_by_month, start=1):
            p = p * (1 - P.JOB_LOSS) + (1 - p) * _sigmoid(h.pop.base_logodds + eff)
            if step in horizons:
                out[step] = p.copy()
        return out

    steps = max(horizons)
    base = propagate([np.zeros(n)] * steps)
    for j, st in enumerate(P.SERVICE_TYPES):
        effs = []
        for step in range(1, steps + 1):
            running = step - 1 < st.duration_months
            after = (not running) and (step - 1 - st.duration_months) < st.after_months
            effs.append(h.during[:, j] if running else (h.after[:, j] if after else np.zeros(n)))
        treated = propagate(effs)
        for k in horizons:
            results[k][:, j] = treated[k] - base[k]
    return results


def observed_employed_after(h: History, months_after_entry: int) -> tuple[np.ndarray, np.ndarray]:
    """Employed on the open market ``months_after_entry`` after entry (and whether that month is observed)."""
    entry_month = h.window.month_of(h.pop.entry_day)
    target = entry_month + months_after_entry
    observed = target < h.window.months
    status = h.status[np.arange(len(target)), np.clip(target, 0, h.window.months - 1)]
    return (status == ST_EMPLOYED) & observed, observed


def region_habits(rng: np.random.Generator) -> np.ndarray:
    """Each municipality's habit of using each service type (a random effect on referral log-odds)."""
    return rng.normal(0, 0.5, size=(len(P.MUNICIPALITIES), len(P.SERVICE_TYPES)))


__all__: list[Any] = [
    "History",
    "Population",
    "Window",
    "observed_employed_after",
    "region_habits",
    "simulate_chunk",
    "true_service_effects",
    "truth_probabilities",
]
