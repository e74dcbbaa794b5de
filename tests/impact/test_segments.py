"""The client segments: recovery of the generator's latent segments, BIC choice, stability across seeds, assignment
with missing data, plain trilingual descriptions and small-cell suppression.

The segmentation is fitted once per module on the shared synthetic region (10,000 clients, seed 3).
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.conf import settings
from django.utils.translation import override
from sklearn.metrics import adjusted_rand_score

from polku.impact import segments as seg

pytestmark = [pytest.mark.django_db, pytest.mark.model_metrics]

#: Issue 7's target for recovering the generator's segments.
TARGET_ARI = 0.6
#: Measured 0.994–0.998 on two regions (seeds 3 and 4); a fit that lands in a different optimum per seed is ~0.8.
STABILITY = 0.9
#: Words that label a person instead of describing a situation.
LABELS = ("hard to employ", "unemployable", "difficult", "problem client", "addict", "alcoholic", "lazy", "weak",
          "low-skilled", "vaikeasti työllistyv")


@pytest.fixture(scope="module")
def fitted(impact_region: Any) -> tuple[seg.SegmentModel, pd.DataFrame]:
    messages: list[str] = []
    model = seg.fit_segments(impact_region.table, progress=messages.append)
    assert any("chosen k" in m for m in messages)
    return model, seg.latest_rows(impact_region.table)


def _truth(impact_region: Any, persons: pd.DataFrame) -> np.ndarray:
    truth = impact_region.truth_clients.set_index("person")["segment"]
    return truth.loc[persons["person"]].to_numpy()


def test_recovers_the_generators_segments(impact_region: Any, fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, persons = fitted
    assigned = seg.assign(model, persons)
    truth = _truth(impact_region, persons)
    ari = adjusted_rand_score(truth, assigned["segment"])
    assert ari >= TARGET_ARI, ari
    # Every generator segment is mostly in one segment of the model (the majority segment holds over half of it).
    table = pd.crosstab(truth, assigned["segment"].to_numpy())
    assert (table.max(axis=1) / table.sum(axis=1)).min() > 0.5


def test_bic_chooses_k(fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, persons = fitted
    assert sorted(model.bic) == list(range(2, 10))
    assert model.k == min(model.bic, key=model.bic.__getitem__)
    assert 4 <= model.k <= 8  # the generator has six segments
    assert model.bic[2] > model.bic[model.k]
    assert model.n_persons == len(persons) == persons["person"].nunique()
    assert len(model.profiles) == model.k and len(model.order) == model.k


def test_stable_across_seeds(fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, _ = fitted
    assert model.stability_ari >= STABILITY
    assert model.seeds == [0, 1, 2]
    assert model.log_likelihood == max(model.seed_log_likelihoods.values())


def test_profiles(fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, persons = fitted
    profiles = model.profiles
    sizes = [p["n"] for p in profiles]
    assert sizes == sorted(sizes, reverse=True)  # numbered by size, largest first
    assert sum(sizes) == len(persons)
    assert sum(p["share"] for p in profiles) == pytest.approx(1.0)
    # A profile agrees with the persons assigned to its segment.
    assigned = seg.assign(model, persons)["segment"].to_numpy()
    for profile in profiles:
        rows = persons[assigned == profile["segment"]]
        assert profile["n"] == len(rows)
        assert profile["mean_age"] == pytest.approx(rows["age"].mean())
        barrier = rows["barrier_mental_health"].dropna()
        assert profile["barrier_1plus"]["mental_health"] == pytest.approx((barrier >= 1).mean())
        assert profile["barrier_2plus"]["mental_health"] == pytest.approx((barrier >= 2).mean())
        assert 0 <= profile["employed_12m_rate"] <= 1
    # The generator's migrant segment (97 % foreign background) and young segment (18–29) are found.
    assert max(p["share_foreign_background"] for p in profiles) > 0.9
    assert min(p["mean_age"] for p in profiles) < 30


def test_barriers_count_at_their_highest_level_so_far() -> None:
    table = pd.DataFrame({
        "person": ["a", "a", "a", "b"],
        "reference_date": ["2024-03-31", "2024-01-31", "2024-02-29", "2024-01-31"],
        "barrier_physical_health": [0.0, np.nan, 2.0, 0.0],
        "barrier_debt": [1.0, np.nan, 0.0, np.nan],
        "age": [40, 40, 40, 30],
        "work_ability_score_latest": [6.0, 8.0, 5.0, 9.0],
        "work_ability_score_previous": [7.0, np.nan, np.nan, 8.0],
    })
    inputs = seg.model_inputs(table)
    assert list(inputs.columns) == list(seg.MODEL_INPUTS)
    # Physical health jointly with the work-ability band (mean of the latest two scores: ≤3.5, ≤5.5, ≤7.5, above).
    # January: no mapping yet; February: physical health 2; March: eased to 0 but counted as present.
    assert np.isnan(inputs.loc[1, "health_work_ability"])
    assert inputs.loc[2, "health_work_ability"] == 1 * 4 + 1  # present, score 5
    assert inputs.loc[0, "health_work_ability"] == 1 * 4 + 2  # present, mean score 6.5
    assert inputs.loc[3, "health_work_ability"] == 0 * 4 + 3  # absent, mean score 8.5
    assert inputs.loc[0, "barrier_debt"] == 1.0 and inputs.loc[2, "barrier_debt"] == 0.0
    assert np.isnan(inputs.loc[3, "barrier_debt"])
    latest = seg.latest_rows(table)
    assert list(latest["person"]) == ["a", "b"]
    assert latest["reference_date"].tolist() == ["2024-03-31", "2024-01-31"]
    assert latest["barrier_physical_health"].tolist() == [2.0, 0.0]


def test_assign_handles_missing_features(fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, persons = fitted
    rows = persons.head(50).copy()
    rows.index = pd.RangeIndex(1000, 1050)
    missing = rows.copy()
    missing[list(seg.BARRIER_COLUMNS)] = np.nan
    missing[["work_ability_score_latest", "work_ability_score_previous"]] = np.nan
    missing["education"] = "not_stated"
    missing["foreign_background"] = "not_stated"
    nothing = rows.drop(columns=[c for c in seg.SEGMENT_FEATURES if c != "age"])
    nothing["age"] = np.nan
    for frame in (rows, missing, nothing):
        out = seg.assign(model, frame)
        assert list(out.columns) == ["segment", "segment_probability"]
        assert out.index.equals(frame.index)
        assert out["segment"].between(1, model.k).all()
        assert ((out["segment_probability"] > 0) & (out["segment_probability"] <= 1)).all()
        assert (out["segment_probability"].to_numpy() >= 1 / model.k - 1e-9).all()
    # With nothing known the posterior is the prior: every row goes to the largest segment.
    out = seg.assign(model, nothing)
    assert (out["segment"] == 1).all()
    prior = model.estimator.weights_[model.order[0]]
    assert prior == max(model.estimator.weights_)
    assert out["segment_probability"].to_numpy() == pytest.approx(np.full(len(out), prior))
    # Knowing less makes the assignment less certain, on average.
    certainty = {name: seg.assign(model, frame)["segment_probability"].mean()
                 for name, frame in (("all", rows), ("missing", missing))}
    assert certainty["missing"] < certainty["all"]
    assert seg.assign(model, rows.iloc[:0]).empty


def test_describe_in_three_languages(fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, _ = fitted
    shapes: dict[str, list[tuple[int, int]]] = {}
    for language in ("en", "fi", "sv"):
        with override(language):
            shapes[language] = []
            for segment in range(1, model.k + 1):
                staff = seg.describe(model, segment)
                client = seg.describe(model, segment, for_client=True)
                assert set(staff) == {"segment", "title", "summary", "barriers", "needs"}
                for text in (staff["title"], staff["summary"], client["summary"], *staff["needs"],
                             *staff["barriers"]):
                    assert isinstance(text, str) and text.strip()
                    assert not any(label in text.lower() for label in LABELS)
                assert staff["needs"] and client["needs"] == staff["needs"]
                assert client["title"] == staff["title"] and client["summary"] != staff["summary"]
                shapes[language].append((len(staff["barriers"]), len(staff["needs"])))
    assert shapes["fi"] == shapes["en"] == shapes["sv"]
    with override("en"):
        titles = [seg.describe(model, s)["title"] for s in range(1, model.k + 1)]
        assert len(set(titles)) == model.k
        for segment, profile in enumerate(model.profiles, start=1):
            staff = seg.describe(model, segment)
            client = seg.describe(model, segment, for_client=True)
            assert client["summary"].startswith("People in your group")
            assert str(round(profile["mean_age"])) in staff["summary"]
            typical = [a for a, p in profile["barrier_1plus"].items() if p >= seg.TYPICAL]
            if typical:
                assert len(staff["barriers"]) == len(typical)
                assert all(str(seg.BARRIER_PHRASES[a]) in staff["summary"] for a in typical)
            else:
                assert len(staff["barriers"]) <= 2
            if profile["share_foreign_background"] > 0.9:
                assert "new home country" in staff["title"]
                assert "Finnish or Swedish language courses" in staff["needs"]
            if profile["mean_age"] < 30:
                assert "Guidance on studies and a first job" in staff["needs"]
    with pytest.raises(ValueError):
        seg.describe(model, model.k + 1)


def test_segment_summary_suppresses_small_cells(
    impact_region: Any, fitted: tuple[seg.SegmentModel, pd.DataFrame]
) -> None:
    model, persons = fitted
    threshold = settings.POLKU["SMALL_CELL_THRESHOLD"]
    table = impact_region.table
    segment_of = pd.Series(seg.assign(model, persons)["segment"].to_numpy(), index=persons["person"].to_numpy())
    big = segment_of[segment_of == 1].index[:300]
    few = segment_of[segment_of == model.k].index[: threshold - 1]
    subset = table[table["person"].isin(big.union(few))]
    predictions = pd.Series(np.linspace(0, 1, len(subset)), index=subset.index)
    summary = seg.segment_summary(model, subset, predictions)
    assert [row["segment"] for row in summary] == list(range(1, model.k + 1))
    first, last = summary[0], summary[-1]
    assert first["n"] == 300 and first["share"] == pytest.approx(300 / (300 + len(few)))
    assert last["n"] is None and last["share"] is None and last["employed_12m_rate"] is None
    assert last["mean_predicted"] is None
    assert all(row["n"] is None for row in summary[1:-1])  # empty segments are small cells too
    # The observed rate: each person's latest row with a known outcome; the prediction: each person's latest row.
    rows = subset[subset["person"].isin(big)].sort_values(["person", "reference_date"])
    known = rows[rows["employed_12m"].notna()].drop_duplicates("person", keep="last")
    assert first["employed_12m_rate"] == pytest.approx(known["employed_12m"].mean())
    latest = rows.drop_duplicates("person", keep="last")
    assert first["mean_predicted"] == pytest.approx(predictions.loc[latest.index].mean())
    assert first["description"]["title"] == seg.describe(model, 1)["title"]
    assert seg.segment_summary(model, subset)[0]["mean_predicted"] is None


def test_deterministic_given_the_seeds(impact_region: Any, fitted: tuple[seg.SegmentModel, pd.DataFrame]) -> None:
    model, persons = fitted
    sample = impact_region.table[impact_region.table["person"].isin(persons["person"].iloc[:1500])]
    shuffled = sample.sample(frac=1.0, random_state=7)
    one = seg.fit_segments(sample, min_segments=2, max_segments=3, seeds=(5, 6))
    two = seg.fit_segments(shuffled, min_segments=2, max_segments=3, seeds=(5, 6))
    assert one.bic == pytest.approx(two.bic)
    assert one.k == two.k
    assert one.profiles == two.profiles
    pd.testing.assert_frame_equal(seg.assign(one, sample), seg.assign(two, sample))
    # The model survives pickling (the registry stores it so).
    restored = pickle.loads(pickle.dumps(model))  # noqa: S301 (our own object)
    pd.testing.assert_frame_equal(seg.assign(restored, persons.head(200)), seg.assign(model, persons.head(200)))


def test_rejects_bad_arguments(impact_region: Any) -> None:
    with pytest.raises(ValueError):
        seg.fit_segments(impact_region.table, min_segments=5, max_segments=4)
    with pytest.raises(ValueError):
        seg.fit_segments(impact_region.table, seeds=())
    with pytest.raises(ValueError):
        seg.fit_segments(impact_region.table.head(30))


def test_fast_m_steps_match_stepmix() -> None:
    from stepmix.emission.categorical import BernoulliNan, MultinoulliNan

    rng = np.random.default_rng(0)
    resp = rng.dirichlet(np.ones(4), size=300)
    binary = rng.integers(0, 2, size=(300, 5)).astype(float)
    categorical = rng.integers(0, 6, size=(300, 3)).astype(float)
    for x in (binary, categorical):
        x[rng.random(x.shape) < 0.2] = np.nan
    for fast, slow, x in ((seg.FastBernoulliNan, BernoulliNan, binary),
                          (seg.FastMultinoulliNan, MultinoulliNan, categorical)):
        a, b = fast(n_components=4, random_state=0), slow(n_components=4, random_state=0)
        a.m_step(x, resp)
        b.m_step(x, resp)
        np.testing.assert_allclose(a.parameters["pis"], b.parameters["pis"])
        np.testing.assert_allclose(a.log_likelihood(x), b.log_likelihood(x))
