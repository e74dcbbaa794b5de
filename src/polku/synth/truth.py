"""The generator's truth, written apart from the database (``--truth-out DIR``) as CSV files.

Nothing in Polku reads these except evaluation code (tests, benchmarks): they are what the coordination engine
and the impact model must discover on their own.

Files (one row per …):

- ``clients.csv``: joint-service client — identity code, database id, latent segment, hidden confounder,
  barriers, baseline (the registered job seekers outside the joint service are not in it);
- ``probabilities.csv``: client and as-of date (entry, then every three months) — the true probability of
  open-market employment 6 and 12 months later, given the situation and the services referred by then;
- ``effects.csv``: client and service type — the true effect of starting that service a month after entry
  (versus no service) on employment 6 and 12 months after entry;
- ``gaps.csv``: situation of docs/coordination.md on the window's last day, with the record it concerns and
  since when (every situation whatever its age, every deadline still ahead: the rules' thresholds pick from
  them; see docs/synthetic-region.md);
- ``job_clients.csv``: joint-service client whose episode is open at the window's end — the true job family,
  true skills, capacity and needs behind the recorded job preferences (``polku.synth.partners``);
- ``openings.csv``: opening — its job family and the facts the true fit looks at (``partners.true_fit``);
- ``summary.json``: the parameters, counts (clients, job seekers, gaps per kind), and per service type the true
  average effect and the naive treated-minus-untreated difference (how biased a naive comparison is).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from polku.core.dates import add_months

from . import params as P
from .partners import JOB_CLIENT_COLUMNS, OPENING_COLUMNS
from .simulate import (
    ST_EMPLOYED,
    ST_UNEMPLOYED,
    History,
    observed_employed_after,
    true_service_effects,
    truth_probabilities,
)
from .tables import NEVER

OPEN_REFERRAL = {"sent", "received", "accepted", "waitlisted", "started"}
GAP_KINDS = (
    "screening_due",
    "mapping_period_ending",
    "plan_missing_after_mapping",
    "plan_review_due",
    "plan_review_overdue",
    "review_requested",
    "referral_unanswered",
    "referral_waitlisted",
    "service_ended_no_next_step",
    "declined_no_alternative",
    "no_active_service",
    "plan_step_overdue",
    "client_not_contacted",
    "consent_lapsing",
    "moved_without_handover",
)
#: The documented default screening criteria (docs/coordination.md), which the truth applies. The severity
#: threshold of a life-situation area (2) is applied where the areas are counted (tables.py).
SCREENING = {
    "subsidy_days": 300,
    "unemployed_months_25_plus": 12,
    "unemployed_months_under_25": 6,
    "work_ability_max": 5,
    "barrier_areas_min": 3,
    "barrier_severity_min": 2,
    "assessment_max_age_days": 365,
    "reassess_after_days": 365,
}


class TruthWriter:
    def __init__(self, directory: Path | None, window: Any) -> None:
        self.directory = directory
        self.window = window
        self.files: dict[str, Any] = {}
        self.writers: dict[str, Any] = {}
        self.naive: dict[str, list[float]] = {st.code: [0, 0, 0, 0] for st in P.SERVICE_TYPES}  # y1, n1, y0, n0
        self.ate: dict[str, list[float]] = {st.code: [0.0, 0.0, 0] for st in P.SERVICE_TYPES}  # sum ate, sum att, n_t
        self.gap_counts = dict.fromkeys(GAP_KINDS, 0)
        self.clients = 0
        self.job_seekers = 0
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            headers = {
                "clients": [
                    "personal_identity_code",
                    "client_id",
                    "segment",
                    "hidden_u",
                    "entry_date",
                    *[f"barrier_{b}" for b in P.BARRIERS],
                    "work_ability_score",
                    "unemployed_months_at_entry",
                    "base_monthly_logodds",
                ],
                "probabilities": ["personal_identity_code", "as_of", "employed_now", "p_employed_6m", "p_employed_12m"],
                "effects": ["personal_identity_code", "service_type", "effect_6m", "effect_12m"],
                "gaps": ["personal_identity_code", "client_id", "kind", "since", "object_type", "object_id"],
                "job_clients": list(JOB_CLIENT_COLUMNS),
                "openings": list(OPENING_COLUMNS),
            }
            for name, header in headers.items():
                handle = (directory / f"{name}.csv").open("w", newline="", encoding="utf-8")
                self.files[name] = handle
                self.writers[name] = csv.writer(handle)
                self.writers[name].writerow(header)

    def add(self, h: History, truth: dict[str, Any], seekers: dict[str, Any]) -> None:
        w = self.window
        n = len(h.pop.segment)
        self.clients += n
        self.job_seekers += len(seekers["client_ids"])
        hetu = truth["hetu"]
        entry_month = w.month_of(h.pop.entry_day)
        effects = true_service_effects(h)
        y12, observed = observed_employed_after(h, 12)
        for j, st in enumerate(P.SERVICE_TYPES):
            treated = (h.ref_type == j).any(axis=1)
            started = treated & (h.ref_start >= 0).any(axis=1)
            acc = self.naive[st.code]
            acc[0] += float(y12[observed & started].sum())
            acc[1] += float((observed & started).sum())
            acc[2] += float(y12[observed & ~treated].sum())
            acc[3] += float((observed & ~treated).sum())
            self.ate[st.code][0] += float(effects[12][:, j].sum())
            self.ate[st.code][1] += float(effects[12][started, j].sum())
            self.ate[st.code][2] += int(started.sum())
        gaps = find_gaps(h, truth, seekers, w)
        for kind, idx, *_record in gaps:
            self.gap_counts[kind] += len(idx)
        if self.directory is None:
            return
        dates = lambda days: w.date(days).astype(str)  # noqa: E731
        self.writers["clients"].writerows(
            zip(
                hetu,
                truth["client_ids"],
                np.array(P.SEGMENT_CODES)[h.pop.segment],
                np.round(h.pop.hidden, 4),
                dates(h.pop.entry_day),
                *h.pop.severity.T,
                h.pop.was,
                h.pop.unemployed_months.astype(int),
                np.round(h.pop.base_logodds, 4),
                strict=True,
            )
        )
        for offset in range(0, w.months, 3):
            as_of = entry_month + offset
            sel = as_of < w.months
            if not sel.any():
                break
            probs = truth_probabilities(h, np.minimum(as_of, w.months - 1))
            as_of_day = w.month_start[np.minimum(as_of + 1, w.months)] - 1
            employed_now = h.status[np.arange(n), np.minimum(as_of, w.months - 1)] == ST_EMPLOYED
            self.writers["probabilities"].writerows(
                zip(
                    hetu[sel],
                    dates(as_of_day[sel]),
                    employed_now[sel].astype(int),
                    np.round(probs[6][sel], 5),
                    np.round(probs[12][sel], 5),
                    strict=True,
                )
            )
        for j, st in enumerate(P.SERVICE_TYPES):
            self.writers["effects"].writerows(
                zip(hetu, [st.code] * n, np.round(effects[6][:, j], 5), np.round(effects[12][:, j], 5), strict=True)
            )
        all_hetu = np.concatenate([hetu, seekers["hetu"]])
        all_ids = np.concatenate([truth["client_ids"], seekers["client_ids"]])
        for kind, idx, since, object_type, object_id in gaps:
            self.writers["gaps"].writerows(
                zip(
                    all_hetu[idx],
                    all_ids[idx],
                    [kind] * len(idx),
                    dates(since),
                    [object_type] * len(idx),
                    object_id,
                    strict=True,
                )
            )

    def add_job_clients(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of job_clients.csv (columns ``partners.JOB_CLIENT_COLUMNS``)."""
        if self.directory is not None:
            self.writers["job_clients"].writerows(rows)

    def add_openings(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Rows of openings.csv (columns ``partners.OPENING_COLUMNS``)."""
        if self.directory is not None:
            self.writers["openings"].writerows(rows)

    def summary(self, parameters: dict[str, Any]) -> dict[str, Any]:
        services = {}
        for code, (y1, n1, y0, n0) in self.naive.items():
            total, treated_sum, n_treated = self.ate[code]
            services[code] = {
                "ate_12m": round(total / max(self.clients, 1), 5),
                "att_12m": round(treated_sum / n_treated, 5) if n_treated else None,
                "naive_difference_12m": round(y1 / n1 - y0 / n0, 5) if n1 and n0 else None,
                "n_started": n_treated,
            }
        return {
            "parameters": parameters,
            "clients": self.clients,
            "job_seekers": self.job_seekers,
            "gaps": self.gap_counts,
            "services": services,
        }

    def close(self, parameters: dict[str, Any]) -> dict[str, Any]:
        summary = self.summary(parameters)
        for handle in self.files.values():
            handle.close()
        if self.directory is not None:
            (self.directory / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        return summary


def _age_on(birth: np.ndarray, day: Any) -> np.ndarray:
    """Age in whole years on ``day`` (a date): a birthday counts from its own day."""
    born = birth.astype("datetime64[D]")
    month = born.astype("datetime64[M]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month_number = month.astype(np.int64) % 12 + 1
    day_number = (born - month.astype("datetime64[D]")).astype(np.int64) + 1
    before_birthday = (day.month < month_number) | ((day.month == month_number) & (day.day < day_number))
    return day.year - year - before_birthday


def screening(inputs: dict[str, np.ndarray], eligible: np.ndarray, window: Any) -> tuple[np.ndarray, np.ndarray]:
    """``screening_due`` with the documented default criteria: the clients (indexes) who are eligible (no open
    episode, none closed within ``reassess_after_days``, living in the service area of an employment-services
    organisation), unemployed on the window's last day and meet a criterion; and since when they have been
    unemployed."""
    c = SCREENING
    end_day = window.end_day
    as_of = window.date(end_day).astype(object)
    start = np.datetime64(window.start, "D")
    cutoff = {
        months: (np.datetime64(add_months(as_of, -months), "D") - start).astype(np.int64)
        for months in (c["unemployed_months_25_plus"], c["unemployed_months_under_25"])
    }
    unemployed = inputs["status"] == ST_UNEMPLOYED
    since = inputs["status_since"]
    young = _age_on(inputs["birth"], as_of) < 25
    long_unemployed = np.where(
        young, since <= cutoff[c["unemployed_months_under_25"]], since <= cutoff[c["unemployed_months_25_plus"]]
    )
    # "Within N days": assessed on or after E - N.
    recent = lambda day: (day > NEVER) & (end_day - day <= c["assessment_max_age_days"])  # noqa: E731
    meets = (
        (inputs["subsidy_days"] >= c["subsidy_days"])
        | long_unemployed
        | (recent(inputs["was_day"]) & (inputs["was"] <= c["work_ability_max"]))
        | (recent(inputs["life_day"]) & (inputs["life_areas"] >= c["barrier_areas_min"]))
    )
    idx = np.nonzero(eligible & unemployed & meets)[0]
    return idx, since[idx]


def find_gaps(
    h: History, truth: dict[str, Any], seekers: dict[str, Any], window: Any
) -> list[tuple[str, np.ndarray, np.ndarray, str, Any]]:
    """Every situation of docs/coordination.md at the window's last day ``E``: (kind, client indexes, since-day,
    record type, record ids). Client indexes run over the chunk's joint-service clients, then its job seekers.

    Situations that become a gap after some days are written whatever their age (the rule's threshold applies
    ``E - since >= days``); deadlines on or after ``E`` are written with the deadline as ``since`` (the rule's
    ``days_before`` applies); overdue deadlines and overdue steps have ``since`` before ``E``."""
    end_day = window.end_day
    n = len(h.pop.segment)
    open_episode = truth["status"] != "closed"
    employed_end = h.status[:, -1] == ST_EMPLOYED
    active = open_episode & ~employed_end  # open episode, not employed
    episode_ids = truth["episode_ids"]
    ref = truth["referrals"]
    ci, status = ref["client_index"], ref["status"]
    out: list[tuple[str, np.ndarray, np.ndarray, str, Any]] = []

    # Screening: job seekers, and clients whose episode closed at least reassess_after_days ago ("none closed in
    # the last N days": the close is on or before E - N) and who still live in the region, the service area of
    # its employment-services organisation (who moved away is another area's job seeker). Job seekers live in
    # the region.
    closed_long_ago = (truth["episode_end"] >= 0) & (truth["episode_end"] <= end_day - SCREENING["reassess_after_days"])
    inputs = {k: np.concatenate([v, seekers["screening"][k]]) for k, v in truth["screening"].items()}
    joint = ~open_episode & closed_long_ago & ~truth["lives_outside"]
    eligible = np.concatenate([joint, np.ones(len(seekers["client_ids"]), bool)])
    idx, since = screening(inputs, eligible, window)
    all_ids = np.concatenate([truth["client_ids"], seekers["client_ids"]])
    out.append(("screening_due", idx, since, "client", all_ids[idx]))

    # Deadlines of the episode and its plan.
    no_plan = open_episode & ~truth["has_plan"]
    mapping_end = truth["mapping_end_day"]
    for kind, sel in (
        ("mapping_period_ending", no_plan & (mapping_end >= end_day)),
        ("plan_missing_after_mapping", no_plan & (mapping_end < end_day)),
    ):
        idx = np.nonzero(sel)[0]
        out.append((kind, idx, mapping_end[idx], "episode", episode_ids[idx]))
    plans = truth["plans"]
    pi, due = plans["client_index"], plans["next_review_day"]
    for kind, sel in (
        ("plan_review_due", open_episode[pi] & (due >= end_day)),
        ("plan_review_overdue", open_episode[pi] & (due < end_day)),
    ):
        out.append((kind, pi[sel], due[sel], "plan", plans["plan_id"][sel]))
    asked = plans["requested"]
    sel = asked["pending"]
    out.append(("review_requested", asked["client_index"][sel], asked["asked"][sel], "review", asked["id"][sel]))

    # Referrals waiting for an answer or for a place.
    for kind, states, day in (
        ("referral_unanswered", ("sent", "received"), ref["sent"]),
        ("referral_waitlisted", ("waitlisted",), ref["decided"]),
    ):
        sel = np.isin(status, states)
        out.append((kind, ci[sel], day[sel], "referral", ref["id"][sel]))
    # The client's latest referral (by sending day, then id) decides what happened after the latest service.
    order = np.lexsort((ref["id"], ref["sent"], ci))
    latest = np.ones(order.size, bool)
    latest[:-1] = ci[order][1:] != ci[order][:-1]
    li = order[latest]
    for kind, states, day in (
        ("service_ended_no_next_step", ("completed", "interrupted"), ref["end"]),
        ("declined_no_alternative", ("declined",), ref["decided"]),
    ):
        sel = li[np.isin(status[li], states) & active[ci[li]]]
        out.append((kind, ci[sel], day[sel], "referral", ref["id"][sel]))

    # Nothing going on: no open referral, no step in progress; since the latest activity.
    steps = plans["steps"]
    has_open = np.zeros(n, bool)
    np.logical_or.at(has_open, ci, np.isin(status, list(OPEN_REFERRAL)))
    np.logical_or.at(has_open, steps["client_index"], steps["status"] == "in_progress")
    last_activity = truth["start_day"].copy()
    for days in (ref["sent"], ref["decided"], ref["end"]):
        np.maximum.at(last_activity, ci, np.where(days <= end_day, days, -1))
    idx = np.nonzero(active & ~has_open)[0]
    out.append(("no_active_service", idx, last_activity[idx], "episode", episode_ids[idx]))

    # Steps of the plan's current version past their due date.
    sel = (
        steps["current"]
        & np.isin(steps["status"], ["planned", "in_progress"])
        & (steps["due"] < end_day)
        & open_episode[steps["client_index"]]
    )
    out.append(("plan_step_overdue", steps["client_index"][sel], steps["due"][sel], "step", steps["id"][sel]))

    # Contacts: since the latest one, or the episode's start.
    idx = np.nonzero(open_episode)[0]
    since = np.maximum(truth["last_contact_day"][idx], truth["start_day"][idx])
    out.append(("client_not_contacted", idx, since, "episode", episode_ids[idx]))

    # Consents in force that end after E with nothing continuing after them.
    consents = truth["consents"]
    valid_to = consents["valid_to_day"]
    sel = (valid_to > end_day) & open_episode[consents["client"]]
    out.append(("consent_lapsing", consents["client"][sel], valid_to[sel], "consent", consents["id"][sel]))

    # Moved out of every participating employment-services organisation's area, not handed over.
    idx = np.nonzero(open_episode & truth["lives_outside"])[0]
    out.append(("moved_without_handover", idx, truth["move_day"][idx], "episode", episode_ids[idx]))
    return out
