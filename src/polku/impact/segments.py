"""Client segments: a latent-class (mixture) model over barriers, assessments and history.

Who are the joint service's clients, in a few recognisable situations? The answer is a **latent class model**
(a finite mixture, fitted with StepMix by expectation–maximisation): each person belongs to one of *k* unobserved
segments, and within a segment the features are independent, each with its own distribution per segment. The
model is fitted to **one row per person** and gives every row a probability of belonging to each segment.

Features (:data:`SEGMENT_FEATURES`, the analysis table's columns; how each is modelled):

* the eight life-situation areas ``barrier_*`` as *present or not* (scored 1 or more), each a Bernoulli per
  segment. The score's level (1–3) adds parameters but no information about the segment: how severe a barrier is,
  once present, varies about as much within segments as between them. The value used is the **highest level
  recorded for the person up to the row's reference date** (a running maximum over the person's rows when the
  table has several). The table holds only the latest mapping, and a follow-up mapping made after services often
  scores lower: the segment describes the situation the person came with, which an eased barrier is still part of.
  On the synthetic region this raises the agreement with the generator's segments (adjusted Rand index, ARI) from
  0.58 to 0.61;
* work ability: the mean of the latest and the previous work-ability score (0–10; two measurements average out the
  day-to-day noise) in four bands (≤3.5, ≤5.5, ≤7.5, above), modelled **jointly with the physical health barrier**
  as one categorical feature of eight values. Within a segment work ability is lower for those with a health
  barrier; modelled separately, that dependence breaks the model's assumption that features are independent within
  a segment, and with more persons BIC then adds a spurious segment of "older, with health problems" (20,000
  persons: seven segments and ARI 0.56 separately, six and 0.62 jointly);
* ``age`` as a normal distribution per segment;
* ``foreign_background`` and ``disability`` (yes/no) as Bernoulli, ``education`` (three ISCED groups) as
  categorical; ``not_stated`` counts as missing;
* unemployment history: ``benefit_days`` (unemployment benefit days paid up to D) in four bands (under 365, under
  730, under 1,095, more), categorical. The benefit days reach back as far as the person's history does;
  ``unemployed_days_36m`` stops at three years, where a third of the clients already are (ARI 0.60 instead of
  0.61), and using both again breaks the independence within segments.

A missing value (not assessed, not stated) is left out of that person's likelihood rather than imputed (full
information maximum likelihood: StepMix's ``*_nan`` measurement models; the joint work-ability feature is missing
when either of its parts is), so a person with no assessment at all is still assigned, by age, background and
history. StepMix's M-step for these models is replaced by a vectorised one with the same estimates
(:class:`FastBernoulliNan`, :class:`FastMultinoulliNan`), which halves the fitting time.

Why each person's **latest** row: it carries the most complete information (the most assessments, the longest
history, the running maximum of the barriers) and every person counts once, so segment shares are shares of
persons, not of person-months (a long episode would otherwise weigh more than a short one).

The **number of segments** is chosen by BIC (the lowest) over ``min_segments``–``max_segments``, fitted with two
random starts each (at most :data:`BIC_SAMPLE` persons, a random sample beyond that, so that 200,000 persons take
minutes, not hours). The chosen *k* is then refitted with each seed (:data:`SEED_STARTS` random starts each, on at
most :data:`FIT_SAMPLE` persons; a mixture of about 150 parameters loses nothing measurable on a larger
sample) and the **stability** is the mean pairwise adjusted Rand index between the seeds' assignments; the fit
with the best likelihood is kept. Segments are numbered by size, largest first, so the numbers do not depend on
the order EM happened to find them in.

Measured on the synthetic region (10,000 clients, seed 3; the generator has six segments): BIC lowest at six
segments, ARI 0.61 against the generator's segments, stability 0.996, about 25 seconds on two cores; on a second
region (seed 4) six segments and ARI 0.62; on 20,000 persons six segments and ARI 0.62. The ceiling with these
features is not much higher: the same model with its distributions estimated from the generator's true segments
(instead of found by EM) gives ARI 0.63, since the segments overlap (an older job seeker with a health barrier
looks like a person with partial work ability).

Each segment has a **profile** (size, age, background, education, work ability, barrier prevalences, unemployment,
the observed employment rate 12 months later) and a plain-language **description** built from the profile by
rules (:func:`describe`): what the situation typically is and what typically helps, never a label of the person.
The same description, in the second person, is what a client sees about their own group.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from sklearn.metrics import adjusted_rand_score
from stepmix.emission.build_emission import EMISSION_DICT
from stepmix.emission.categorical import BernoulliNan, MultinoulliNan
from stepmix.stepmix import StepMix

from .table import BARRIER_AREAS

BARRIER_COLUMNS = tuple(f"barrier_{area}" for area in BARRIER_AREAS)
#: The analysis table's columns the segments are built from (``person`` and ``reference_date`` as well, when the
#: table has them, for the barriers' running maximum and the one row per person).
SEGMENT_FEATURES: tuple[str, ...] = (
    *BARRIER_COLUMNS,
    "age",
    "foreign_background",
    "disability",
    "education",
    "work_ability_score_latest",
    "work_ability_score_previous",
    "benefit_days",
)
EDUCATION_GROUPS = ("isced_0_2", "isced_3_4", "isced_5_8")
#: Upper limits of the work-ability bands (mean of the latest two scores, 0–10); above the last is the top band.
WORK_ABILITY_BANDS = (3.5, 5.5, 7.5)
#: Lower limits of the unemployment bands (unemployment benefit days paid up to D) above the first.
UNEMPLOYMENT_BANDS = (365, 730, 1095)
#: Persons at most in the BIC search (a random sample beyond).
BIC_SAMPLE = 20_000
#: Persons at most in the final fits (a random sample beyond; every person is then assigned).
FIT_SAMPLE = 50_000
#: Random starts per k in the BIC search, and per seed in the final fits.
BIC_STARTS = 2
SEED_STARTS = 6
MAX_ITER = 500
TOLERANCE = 1e-5  # change in the mean log-likelihood per person that stops EM

_BINARY = (*(c for c in BARRIER_COLUMNS if c != "barrier_physical_health"), "foreign_background", "disability")
_CATEGORICAL = ("education", "unemployment_band", "health_work_ability")
_CONTINUOUS = ("age",)
#: The model's inputs, in the estimator's column order.
MODEL_INPUTS = (*_BINARY, *_CATEGORICAL, *_CONTINUOUS)
_WORK_ABILITY_LEVELS = len(WORK_ABILITY_BANDS) + 1
_MAX_OUTCOMES = 2 * _WORK_ABILITY_LEVELS
_TOTAL_OUTCOMES = len(EDUCATION_GROUPS) + len(UNEMPLOYMENT_BANDS) + 1 + 2 * _WORK_ABILITY_LEVELS


@dataclass
class SegmentModel:
    """A fitted segmentation: plain data and the StepMix estimator, picklable (stored with the model registry).

    ``order[i]`` is the estimator's class of segment ``i + 1``; ``profiles[i]`` is segment ``i + 1``'s profile.
    """

    k: int
    features: list[str]
    estimator: Any
    order: list[int]
    bic: dict[int, float]
    stability_ari: float
    profiles: list[dict[str, Any]]
    seeds: list[int]
    seed_log_likelihoods: dict[int, float]
    best_seed: int
    log_likelihood: float  # mean per person, of the kept fit
    n_persons: int
    n_bic_sample: int
    n_fit_sample: int
    seconds: float
    encoding: dict[str, Any] = field(default_factory=dict)


# --- features ------------------------------------------------------------------------------------------------


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    """The column, or an all-missing one when the table does not have it (an analyst's own table may not)."""
    if name in table:
        return table[name]
    return pd.Series(np.nan, index=table.index)


def _barrier_history(table: pd.DataFrame) -> pd.DataFrame:
    """Each barrier's highest level recorded for the person up to the row's reference date (the row's own value
    when the table has no ``person`` and ``reference_date``); missing where no mapping has been made yet."""
    values = pd.DataFrame({c: pd.to_numeric(_column(table, c), errors="coerce") for c in BARRIER_COLUMNS},
                          index=table.index).astype(float)
    if "person" not in table or "reference_date" not in table or not table["person"].duplicated().any():
        return values
    position = np.arange(len(table))
    keys = pd.DataFrame({"person": table["person"].to_numpy(), "date": table["reference_date"].astype(str).to_numpy(),
                         "position": position})
    ordered = keys.sort_values(["person", "date", "position"], kind="stable")["position"].to_numpy()
    frame = values.iloc[ordered].reset_index(drop=True)
    frame["person"] = keys["person"].to_numpy()[ordered]
    running = frame.groupby("person", sort=False)[list(BARRIER_COLUMNS)].cummax()
    running = running.groupby(frame["person"], sort=False).ffill()
    out = np.empty((len(table), len(BARRIER_COLUMNS)))
    out[ordered] = running.to_numpy(dtype=float)
    return pd.DataFrame(out, index=table.index, columns=list(BARRIER_COLUMNS))


def _yes_no(values: pd.Series) -> np.ndarray:
    return values.astype(object).map({"yes": 1.0, "no": 0.0}).to_numpy(dtype=float)


def _bands(values: np.ndarray, limits: Sequence[float], *, right: bool) -> np.ndarray:
    out = np.digitize(np.nan_to_num(values, nan=0.0), limits, right=right).astype(float)
    out[np.isnan(values)] = np.nan
    return out


def work_ability(table: pd.DataFrame) -> np.ndarray:
    """Mean of the latest and the previous work-ability score (the latest alone when there is no previous)."""
    latest = pd.to_numeric(_column(table, "work_ability_score_latest"), errors="coerce").to_numpy(dtype=float)
    previous = pd.to_numeric(_column(table, "work_ability_score_previous"), errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(previous), latest, (latest + np.where(np.isnan(latest), np.nan, previous)) / 2)


def model_inputs(table: pd.DataFrame, barriers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The model's inputs (:data:`MODEL_INPUTS`) for each row: barriers present (0/1), yes/no as 0/1, categories as
    0-based codes (``health_work_ability``: physical health barrier present × 4 + work-ability band), age in years;
    NaN where unknown."""
    barriers = _barrier_history(table) if barriers is None else barriers
    out = pd.DataFrame(index=table.index)
    for column in BARRIER_COLUMNS:
        level = barriers[column].to_numpy(dtype=float)
        out[column] = np.where(np.isnan(level), np.nan, (level >= 1).astype(float))
    out["foreign_background"] = _yes_no(_column(table, "foreign_background"))
    out["disability"] = _yes_no(_column(table, "disability"))
    codes = {group: float(i) for i, group in enumerate(EDUCATION_GROUPS)}
    out["education"] = _column(table, "education").astype(object).map(codes).to_numpy(dtype=float)
    days = pd.to_numeric(_column(table, "benefit_days"), errors="coerce").to_numpy(dtype=float)
    out["unemployment_band"] = _bands(days, UNEMPLOYMENT_BANDS, right=False)
    band = _bands(work_ability(table), WORK_ABILITY_BANDS, right=True)
    out["health_work_ability"] = out["barrier_physical_health"].to_numpy() * _WORK_ABILITY_LEVELS + band
    out["age"] = pd.to_numeric(_column(table, "age"), errors="coerce").to_numpy(dtype=float)
    return out[list(MODEL_INPUTS)]


def latest_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Each person's latest row (by reference date), with the barriers replaced by their running maximum; sorted
    by person, so the result does not depend on the table's row order. A table without ``person`` is returned as
    is (each row a person)."""
    barriers = _barrier_history(table)
    if "person" in table:
        date = table["reference_date"].astype(str) if "reference_date" in table else pd.Series("", index=table.index)
        order = pd.DataFrame({"person": table["person"].to_numpy(), "date": date.to_numpy(),
                              "i": np.arange(len(table))})
        keep = order.sort_values(["person", "date", "i"], kind="stable").drop_duplicates("person", keep="last")["i"]
        positions = keep.to_numpy()
    else:
        positions = np.arange(len(table))
    rows = table.iloc[positions].copy()
    for column in BARRIER_COLUMNS:
        rows[column] = barriers[column].to_numpy()[positions]
    return rows


# --- fitting -------------------------------------------------------------------------------------------------


def _observed_share(x: np.ndarray, resp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Σ resp·x and Σ resp over the persons for whom each column is observed, for every class at once."""
    observed = ~np.isnan(x)
    return np.nan_to_num(x, nan=0.0).T @ resp, observed.T.astype(float) @ resp


class FastBernoulliNan(BernoulliNan):
    """StepMix's Bernoulli model with missing values, its M-step vectorised (StepMix loops over the columns,
    copying the responsibilities for each: most of the fitting time). The same estimates."""

    def m_step(self, x: np.ndarray, resp: np.ndarray) -> None:
        total, observed = _observed_share(x, resp)
        self.parameters["pis"] = (total / np.maximum(observed, 1e-300)).T


class FastMultinoulliNan(MultinoulliNan):
    """StepMix's categorical model with missing values, its M-step vectorised as :class:`FastBernoulliNan`'s."""

    def m_step(self, x: np.ndarray, resp: np.ndarray) -> None:
        total, observed = _observed_share(self.encode_features(x), resp)
        self.parameters["pis"] = (total / np.maximum(observed, 1e-300)).T


EMISSION_DICT.setdefault("polku_binary_nan", FastBernoulliNan)
EMISSION_DICT.setdefault("polku_categorical_nan", FastMultinoulliNan)


def _estimator(k: int, seed: int, starts: int) -> Any:
    descriptor = {
        "binary": {"model": "polku_binary_nan", "n_columns": len(_BINARY)},
        "categorical": {"model": "polku_categorical_nan", "n_columns": len(_CATEGORICAL), "integer_codes": True,
                        "max_n_outcomes": _MAX_OUTCOMES, "total_outcomes": _TOTAL_OUTCOMES},
        "continuous": {"model": "continuous_nan", "n_columns": len(_CONTINUOUS)},
    }
    return StepMix(n_components=k, measurement=descriptor, n_init=starts, init_params="random", random_state=seed,
                   max_iter=MAX_ITER, abs_tol=TOLERANCE, progress_bar=0, verbose=0)


def _fit(x: np.ndarray, k: int, seed: int, starts: int) -> Any:
    estimator = _estimator(k, seed, starts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings: a start that stops at max_iter is simply worse
        estimator.fit(x)
    return estimator


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= size else np.sort(rng.choice(n, size=size, replace=False))


def fit_segments(
    table: pd.DataFrame,
    *,
    min_segments: int = 2,
    max_segments: int = 9,
    seeds: Sequence[int] = (0, 1, 2),
    progress: Callable[[str], None] | None = None,
) -> SegmentModel:
    """Fit the segments to the analysis table (see the module's docstring for the method)."""
    if min_segments < 1 or max_segments < min_segments:
        raise ValueError("need 1 <= min_segments <= max_segments")
    if not seeds:
        raise ValueError("need at least one seed")
    say = progress or (lambda message: None)
    started = time.monotonic()
    persons = latest_rows(table)
    x = model_inputs(persons, persons[list(BARRIER_COLUMNS)]).to_numpy(dtype=float)
    n = len(x)
    if n < max_segments * 10:
        raise ValueError(f"too few persons ({n}) for up to {max_segments} segments")
    rng = np.random.default_rng(seeds[0])
    bic_rows = _sample(n, BIC_SAMPLE, rng)
    fit_rows = _sample(n, FIT_SAMPLE, rng)
    x_bic, x_fit = x[bic_rows], x[fit_rows]

    bic: dict[int, float] = {}
    for k in range(min_segments, max_segments + 1):
        estimator = _fit(x_bic, k, seeds[0], BIC_STARTS)
        bic[k] = float(estimator.bic(x_bic))
        say(f"k={k}: BIC {bic[k]:.1f}")
    k = min(bic, key=lambda key: (bic[key], key))
    say(f"chosen k={k}")

    fits: dict[int, Any] = {}
    labels: dict[int, np.ndarray] = {}
    scores: dict[int, float] = {}
    for seed in seeds:
        fits[seed] = _fit(x_fit, k, seed, SEED_STARTS)
        labels[seed] = fits[seed].predict(x_fit)
        scores[seed] = float(fits[seed].score(x_fit))
        say(f"seed {seed}: mean log-likelihood {scores[seed]:.5f}")
    pairs = list(itertools.combinations(seeds, 2))
    stability = float(np.mean([adjusted_rand_score(labels[a], labels[b]) for a, b in pairs])) if pairs else 1.0
    best = max(seeds, key=lambda seed: (scores[seed], -list(seeds).index(seed)))
    estimator = fits[best]
    if len(bic_rows) == len(fit_rows):  # same persons: the refits may have found a better optimum than the search
        bic[k] = min(bic[k], float(estimator.bic(x_fit)))
    say(f"stability (mean pairwise adjusted Rand index) {stability:.3f}")

    classes = estimator.predict(x)
    counts = np.bincount(classes, minlength=k)
    order = sorted(range(k), key=lambda c: (-counts[c], c))
    model = SegmentModel(
        k=k, features=list(SEGMENT_FEATURES), estimator=estimator, order=order, bic=bic, stability_ari=stability,
        profiles=[], seeds=list(seeds), seed_log_likelihoods=scores, best_seed=best, log_likelihood=scores[best],
        n_persons=n, n_bic_sample=len(bic_rows), n_fit_sample=len(fit_rows), seconds=0.0,
        encoding={"model_inputs": list(MODEL_INPUTS), "education": list(EDUCATION_GROUPS),
                  "work_ability_bands": list(WORK_ABILITY_BANDS), "unemployment_bands": list(UNEMPLOYMENT_BANDS)},
    )
    segment = _segments_of(model, x)[0]
    model.profiles = _profiles(model, persons, segment, _known_outcome(table, persons))
    model.seconds = time.monotonic() - started
    return model


def _segments_of(model: SegmentModel, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segment numbers (1..k) and the posterior probability of each row's segment."""
    proba = model.estimator.predict_proba(x)[:, model.order]
    best = proba.argmax(axis=1)
    return best + 1, proba[np.arange(len(best)), best]


def assign(model: SegmentModel, table: pd.DataFrame) -> pd.DataFrame:
    """Each row's segment (1..k, the most probable) and that segment's posterior probability; index aligned with
    ``table``. Barriers count at their highest level recorded for the person up to the row's date (when the table
    has ``person`` and ``reference_date``); missing features are left out of the row's likelihood."""
    if not len(table):
        return pd.DataFrame({"segment": pd.Series(dtype="int64"), "segment_probability": pd.Series(dtype=float)},
                            index=table.index)
    x = model_inputs(table).to_numpy(dtype=float)
    segment, probability = _segments_of(model, x)
    return pd.DataFrame({"segment": segment.astype(np.int64), "segment_probability": probability},
                        index=table.index)


# --- profiles ------------------------------------------------------------------------------------------------


def _known_outcome(table: pd.DataFrame, persons: pd.DataFrame) -> pd.Series:
    """``employed_12m`` of each person's latest row where it is known (NaN: never known), aligned with
    ``persons``. The latest row's own outcome is usually not yet known (its year has not passed)."""
    if "employed_12m" not in table:
        return pd.Series(np.nan, index=persons.index)
    if "person" not in table:
        return pd.to_numeric(persons["employed_12m"], errors="coerce")
    known = table[table["employed_12m"].notna()]
    if "reference_date" in known:
        known = known.sort_values(["person", "reference_date"], kind="stable")
    last = known.drop_duplicates("person", keep="last").set_index("person")["employed_12m"].astype(float)
    return pd.Series(persons["person"].map(last).to_numpy(dtype=float), index=persons.index)


def _mean(values: pd.Series | np.ndarray) -> float | None:
    array = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce").dropna()
    return float(array.mean()) if len(array) else None


def _share(values: pd.Series, value: str) -> float | None:
    stated = values.astype(object)[values.astype(object).isin(["yes", "no"])]
    return float((stated == value).mean()) if len(stated) else None


def _profiles(model: SegmentModel, persons: pd.DataFrame, segment: np.ndarray,
              outcome: pd.Series) -> list[dict[str, Any]]:
    n_all = len(persons)
    was = work_ability(persons)
    out = []
    for number in range(1, model.k + 1):
        mask = segment == number
        rows = persons[mask]
        education = _column(rows, "education").astype(object)
        stated = education[education.isin(EDUCATION_GROUPS)]
        known = outcome[mask].dropna()
        barriers = rows[list(BARRIER_COLUMNS)].astype(float)
        assessed = barriers.notna().all(axis=1)
        out.append({
            "segment": number,
            "n": int(mask.sum()),
            "share": float(mask.sum() / n_all) if n_all else 0.0,
            "mean_age": _mean(_column(rows, "age")),
            "share_foreign_background": _share(_column(rows, "foreign_background"), "yes"),
            "share_disability": _share(_column(rows, "disability"), "yes"),
            "education": {g: (float((stated == g).mean()) if len(stated) else None) for g in EDUCATION_GROUPS},
            "mean_work_ability": _mean(was[mask]),
            "barrier_1plus": {a: (float((barriers.loc[assessed, f"barrier_{a}"] >= 1).mean()) if assessed.any()
                                  else None) for a in BARRIER_AREAS},
            "barrier_2plus": {a: (float((barriers.loc[assessed, f"barrier_{a}"] >= 2).mean()) if assessed.any()
                                  else None) for a in BARRIER_AREAS},
            "share_assessed": float(assessed.mean()) if len(rows) else 0.0,
            "mean_benefit_days": _mean(_column(rows, "benefit_days")),
            "mean_unemployed_days_36m": _mean(_column(rows, "unemployed_days_36m")),
            "mean_unemployed_days_now": _mean(_column(rows, "unemployed_days_now")),
            "employed_12m_rate": float(known.mean()) if len(known) else None,
            "employed_12m_known": len(known),
        })
    return out


# --- descriptions --------------------------------------------------------------------------------------------

#: Barriers as noun phrases that fit a sentence ("Things that often make working harder: …").
BARRIER_PHRASES: dict[str, Promise] = {
    "physical_health": gettext_lazy("physical health problems"),
    "mental_health": gettext_lazy("mental health concerns"),
    "substance_use": gettext_lazy("alcohol or drug use"),
    "housing": gettext_lazy("housing problems"),
    "debt": gettext_lazy("money worries or debt"),
    "skills_language": gettext_lazy("gaps in work or language skills"),
    "caring_duties": gettext_lazy("caring responsibilities at home"),
    "motivation": gettext_lazy("finding direction and motivation"),
}
#: What typically helps with each barrier.
BARRIER_NEEDS: dict[str, Promise] = {
    "physical_health": gettext_lazy("Health care and a work ability assessment"),
    "mental_health": gettext_lazy("Support for mental wellbeing, such as talking with a professional"),
    "substance_use": gettext_lazy("Support for cutting down on alcohol or drugs"),
    "housing": gettext_lazy("Help in finding a stable home"),
    "debt": gettext_lazy("Debt and money advice"),
    "skills_language": gettext_lazy("Training to update work skills"),
    "caring_duties": gettext_lazy("Help in arranging childcare or care for a family member"),
    "motivation": gettext_lazy("Coaching to find a direction and take small steps towards it"),
}
NEED_LANGUAGE = gettext_lazy("Finnish or Swedish language courses")
NEED_WORKING_LIFE = gettext_lazy("Information about Finnish working life and contacts with employers")
NEED_YOUNG = gettext_lazy("Guidance on studies and a first job")
NEED_OLDER = gettext_lazy("Job search that makes use of long experience, for example a work trial or wage subsidy")
NEED_WORK_ABILITY = gettext_lazy("Work or rehabilitation that suits each person's work ability")
NEED_JOB_SEARCH = gettext_lazy("Job search support and contacts with employers")

#: A barrier is *typical* of a segment when at least this share of its persons have it; when none is, the
#: most common ones from :data:`COMMON` up are mentioned.
TYPICAL = 0.5
COMMON = 0.35
YOUNG_AGE = 30
OLDER_AGE = 55
LOW_WORK_ABILITY = 5.5
GOOD_WORK_ABILITY = 7.0
FOREIGN_MAJORITY = 0.5


def _join(items: Sequence[str]) -> str:
    """"a, b and c" in the active language."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return _("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _typical_barriers(profile: dict[str, Any]) -> tuple[list[str], bool]:
    """The segment's typical barriers (areas), most common first, and whether they are typical (at least
    :data:`TYPICAL`) or only the most common ones (at least :data:`COMMON`, at most two)."""
    prevalence = {a: p for a, p in profile["barrier_1plus"].items() if p is not None}
    ranked = sorted(prevalence, key=lambda a: (-prevalence[a], BARRIER_AREAS.index(a)))
    typical = [a for a in ranked if prevalence[a] >= TYPICAL]
    if typical:
        return typical, True
    return [a for a in ranked if prevalence[a] >= COMMON][:2], False


def _title(profile: dict[str, Any], barriers: list[str], typical: bool) -> str:
    age = profile["mean_age"] or 0.0
    foreign = profile["share_foreign_background"] or 0.0
    was = profile["mean_work_ability"]
    if foreign >= FOREIGN_MAJORITY:
        return _("Building a working life in a new home country")
    if age < YOUNG_AGE:
        return _("Young adults finding their path")
    if typical and ("mental_health" in barriers or "substance_use" in barriers):
        return _("Wellbeing and coping in everyday life")
    if typical and "physical_health" in barriers:
        return _("Health and work ability")
    if age >= OLDER_AGE:
        return _("Experienced job seekers aged 55 or over")
    if not typical and was is not None and was >= GOOD_WORK_ABILITY:
        return _("Ready for work, looking for the right job")
    return _("Varied situations, support that fits each person")


def _needs(profile: dict[str, Any], barriers: list[str], typical: bool) -> list[str]:
    age = profile["mean_age"] or 0.0
    foreign = profile["share_foreign_background"] or 0.0
    was = profile["mean_work_ability"]
    needs: list[Promise] = []
    if foreign >= FOREIGN_MAJORITY:
        needs += [NEED_LANGUAGE, NEED_WORKING_LIFE]
    if age < YOUNG_AGE:
        needs.append(NEED_YOUNG)
    for area in barriers:
        if area == "skills_language" and foreign >= FOREIGN_MAJORITY:
            continue  # the language courses above
        needs.append(BARRIER_NEEDS[area])
    if was is not None and was < LOW_WORK_ABILITY:
        needs.append(NEED_WORK_ABILITY)
    if age >= OLDER_AGE:
        needs.append(NEED_OLDER)
    if not typical or not needs:
        needs.append(NEED_JOB_SEARCH)
    unique: list[str] = []
    for need in needs:
        if str(need) not in unique:
            unique.append(str(need))
    return unique[:5]


def _summary(profile: dict[str, Any], barriers: list[str], typical: bool, for_client: bool) -> str:
    age = round(profile["mean_age"] or 0.0)
    phrases = _join([str(BARRIER_PHRASES[a]) for a in barriers])
    if for_client:
        if barriers and typical:
            return _("People in your group are on average %(age)s years old. Things they often deal with include "
                     "%(barriers)s. There is support for each of these.") % {"age": age, "barriers": phrases}
        if barriers:
            return _("People in your group are on average %(age)s years old. Some of them are dealing with "
                     "%(barriers)s; many have no single big obstacle to working.") % {"age": age, "barriers": phrases}
        return _("People in your group are on average %(age)s years old and often have no single big obstacle to "
                 "working: the main thing is finding a job that suits them.") % {"age": age}
    if barriers and typical:
        return _("On average %(age)s years old. Things that often make working harder: %(barriers)s.") % {
            "age": age, "barriers": phrases}
    if barriers:
        return _("On average %(age)s years old. No single obstacle is shared by most; the most common are "
                 "%(barriers)s.") % {"age": age, "barriers": phrases}
    return _("On average %(age)s years old, mostly without a big obstacle to working: the main need is finding a "
             "suitable job.") % {"age": age}


def describe(model: SegmentModel, segment: int, *, for_client: bool = False) -> dict[str, Any]:
    """A plain-language description of ``segment`` (1..k) in the active language: ``title``, ``summary`` (for
    staff, or in the second person for the client: "People in your group …"), ``barriers`` (the typical ones) and
    ``needs`` (what typically helps). Built from the segment's profile by rules; describes situations and needs,
    never the person."""
    if not 1 <= segment <= model.k:
        raise ValueError(f"segment must be 1..{model.k}")
    profile = model.profiles[segment - 1]
    barriers, typical = _typical_barriers(profile)
    title = _title(profile, barriers, typical)
    same = [s for s in range(1, model.k + 1) if _title(model.profiles[s - 1], *_typical_barriers(model.profiles[s - 1]))
            == title]
    if len(same) > 1:  # two segments with the same situation: tell them apart by number
        title = _("%(title)s (group %(number)s)") % {"title": title, "number": same.index(segment) + 1}
    return {
        "segment": segment,
        "title": title,
        "summary": _summary(profile, barriers, typical, for_client),
        "barriers": [_capitalise(str(BARRIER_PHRASES[a])) for a in barriers],
        "needs": _needs(profile, barriers, typical),
    }


def segment_summary(model: SegmentModel, table: pd.DataFrame,
                    predictions: pd.Series | None = None) -> list[dict[str, Any]]:
    """Per segment, for the manager's page: persons (each person's latest row), their share, the observed rate of
    employment 12 months later (each person's latest row where it is known), the mean predicted potential when
    ``predictions`` (aligned with ``table``'s index) is given, and the description. Counts below
    ``POLKU["SMALL_CELL_THRESHOLD"]`` are suppressed (``None``), and so is everything computed from them."""
    threshold = int(settings.POLKU["SMALL_CELL_THRESHOLD"])
    persons = latest_rows(table)
    segment = assign(model, persons)["segment"].to_numpy() if len(persons) else np.array([], dtype=np.int64)
    outcome = _known_outcome(table, persons)
    predicted = (pd.Series(predictions, index=table.index).reindex(persons.index) if predictions is not None
                 else None)
    total = len(persons)
    out = []
    for number in range(1, model.k + 1):
        mask = segment == number
        n = int(mask.sum())
        small = n < threshold
        known = outcome[mask].dropna()
        row: dict[str, Any] = {
            "segment": number,
            "n": None if small else n,
            "share": None if small or not total else n / total,
            "employed_12m_rate": (float(known.mean()) if not small and len(known) >= threshold else None),
            "employed_12m_known": None if small or len(known) < threshold else len(known),
            "mean_predicted": None,
            "description": describe(model, number),
        }
        if predicted is not None and not small:
            values = pd.to_numeric(predicted[mask], errors="coerce").dropna()
            row["mean_predicted"] = float(values.mean()) if len(values) >= threshold else None
        out.append(row)
    return out
