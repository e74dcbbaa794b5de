"""The generator's truth, written apart from the database (``--truth-out DIR``) as CSV files.

Nothing in Polku reads these except evaluation code (tests, benchmarks): they are what the coordination engine
and the impact model must discover on their own.

Files (one row per …):

- ``clients.csv``: client — identity code, database id, latent segment, hidden confounder, barriers, baseline;
- ``probabilities.csv``: client and as-of date (entry, then every three months) — the true probability of
  open-market employment 6 and 12 months later, given the situation and the services referred by then;
- ``effects.csv``: client and service type — the true effect of starting that service a month after entry
  (versus no service) on employment 6 and 12 months after entry;
- ``gaps.csv``: true gap in a client's service chain at the end of the window, with the record it concerns;
- ``summary.json``: the parameters, counts, and per service type the true average effect and the naive
  treated-minus-untreated difference (how biased a naive comparison is).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from . import params as P
from .simulate import ST_EMPLOYED, History, observed_employed_after, true_service_effects, truth_probabilities

OPEN_REFERRAL = {"sent", "received", "accepted", "waitlisted", "started"}
GAP_KINDS = (
    "referral_unanswered",
    "referral_waitlisted",
    "service_ended_no_next_step",
    "declined_no_alternative",
    "plan_review_overdue",
    "plan_missing_after_mapping",
    "consent_lapsing",
    "no_active_service",
)


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
            }
            for name, header in headers.items():
                handle = (directory / f"{name}.csv").open("w", newline="", encoding="utf-8")
                self.files[name] = handle
                self.writers[name] = csv.writer(handle)
                self.writers[name].writerow(header)

    def add(self, h: History, truth: dict[str, Any]) -> None:
        w = self.window
        n = len(h.pop.segment)
        self.clients += n
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
        gaps = find_gaps(h, truth, w.end_day)
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
        for kind, idx, since, object_type, object_id in gaps:
            self.writers["gaps"].writerows(
                zip(
                    hetu[idx],
                    truth["client_ids"][idx],
                    [kind] * len(idx),
                    dates(since),
                    [object_type] * len(idx),
                    object_id,
                    strict=True,
                )
            )

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
        return {"parameters": parameters, "clients": self.clients, "gaps": self.gap_counts, "services": services}

    def close(self, parameters: dict[str, Any]) -> dict[str, Any]:
        summary = self.summary(parameters)
        for handle in self.files.values():
            handle.close()
        if self.directory is not None:
            (self.directory / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
        return summary


def find_gaps(h: History, truth: dict[str, Any], end_day: int) -> list[tuple[str, np.ndarray, np.ndarray, str, Any]]:
    """Every true gap at the end of the window: (kind, client indexes, since-day, record type, record ids)."""
    n = len(h.pop.segment)
    open_episode = truth["status"] != "closed"
    employed_end = h.status[:, -1] == ST_EMPLOYED
    ref = truth["referrals"]
    ci, status = ref["client_index"], ref["status"]
    out: list[tuple[str, np.ndarray, np.ndarray, str, Any]] = []
    for kind, name, day in (
        ("referral_unanswered", "sent", ref["sent"]),
        ("referral_waitlisted", "waitlisted", ref["decided"]),
    ):
        sel = (status == name) & open_episode[ci]
        out.append((kind, ci[sel], day[sel], "referral", ref["id"][sel]))
    # The client's last referral decides what happened after the latest service.
    last = np.full(n, -1)
    order = np.lexsort((ref["sent"], ci))
    last[ci[order]] = order
    has_ref = last >= 0
    li = last[has_ref]
    client_with = np.nonzero(has_ref)[0]
    last_status = status[li]
    no_next = h.next_ref_never[client_with] & open_episode[client_with] & ~employed_end[client_with]
    for kind, states, day in (
        ("service_ended_no_next_step", ("completed", "interrupted"), ref["end"][li]),
        ("declined_no_alternative", ("declined",), ref["decided"][li]),
    ):
        sel = no_next & np.isin(last_status, states)
        out.append((kind, client_with[sel], day[sel], "referral", ref["id"][li][sel]))
    plans = truth["plans"]
    pi = plans["client_index"]
    sel = open_episode[pi] & (plans["next_review_day"] < end_day)
    out.append(("plan_review_overdue", pi[sel], plans["next_review_day"][sel], "plan", plans["plan_id"][sel]))
    sel = open_episode & ~truth["has_plan"] & (truth["mapping_end_day"] < end_day)
    idx = np.nonzero(sel)[0]
    out.append(("plan_missing_after_mapping", idx, truth["mapping_end_day"][idx], "episode", truth["episode_ids"][idx]))
    consents = truth["consents"]
    valid_to = consents["valid_to_day"]
    sel = (valid_to > end_day) & (valid_to <= end_day + 30) & open_episode[consents["client"]]
    out.append(
        ("consent_lapsing", consents["client"][sel], valid_to[sel] - 30, "organisation", consents["organisation"][sel])
    )
    # No open referral at all, while the episode is open and the client is not working.
    has_open = np.zeros(n, bool)
    np.logical_or.at(has_open, ci, np.isin(status, list(OPEN_REFERRAL)))
    last_activity = h.pop.entry_day.copy()
    for days in (ref["sent"], ref["decided"], ref["end"]):
        np.maximum.at(last_activity, ci, np.where(days <= end_day, days, -1))
    sel = open_episode & ~employed_end & ~has_open
    idx = np.nonzero(sel)[0]
    out.append(("no_active_service", idx, last_activity[idx], "episode", truth["episode_ids"][idx]))
    return out
