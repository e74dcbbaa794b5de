"""The fairness audit: calibration error, metrics by group and intersection, small-cell suppression, recorded
disagreements, the written report and the chart, on small synthetic frames built here."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.conf import settings as django_settings
from django.template.loader import render_to_string
from django.test import override_settings
from django.utils import translation
from fairlearn.metrics import MetricFrame, demographic_parity_difference, equalized_odds_difference
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from polku.impact import fairness as F
from polku.impact.models import FairnessReport, ModelKind, ModelVersion


@pytest.fixture(autouse=True)
def small_cell(settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 5}


def _reference_ece(y: list[int], p: list[float], bins: int) -> float:
    """ECE written the slow, obvious way: bin by bin, weighted by the bin's share."""
    n = len(y)
    total = 0.0
    for b in range(bins):
        members = [i for i in range(n) if min(int(p[i] * bins), bins - 1) == b]
        if members:
            observed = sum(y[i] for i in members) / len(members)
            predicted = sum(p[i] for i in members) / len(members)
            total += len(members) / n * abs(observed - predicted)
    return total


# --- Calibration --------------------------------------------------------------------------------------------


def test_ece__hand_computed() -> None:
    # One row per bin (0, 1, 9, 5): gaps 0.05, 0.85, 0.05, 0.55, each weighing a quarter.
    assert F.expected_calibration_error([0, 1, 1, 0], [0.05, 0.15, 0.95, 0.55]) == pytest.approx(0.375)
    # Two rows in bin 3 (mean 0.325, observed 0.5: gap 0.175) and one in bin 8 (0.8 vs 0): (2·0.175 + 0.8)/3.
    assert F.expected_calibration_error([1, 0, 0], [0.3, 0.35, 0.8]) == pytest.approx((2 * 0.175 + 0.8) / 3)
    # 0.3 and 0.45 are in bins 3 and 4 of ten, but share [0, 0.5) of two (mean 0.375, observed 0.5).
    assert F.expected_calibration_error([1, 0, 0], [0.3, 0.45, 0.8]) == pytest.approx((0.7 + 0.45 + 0.8) / 3)
    assert F.expected_calibration_error([1, 0, 0], [0.3, 0.45, 0.8], bins=2) == pytest.approx((2 * 0.125 + 0.8) / 3)


def test_ece__zero_when_every_bin_is_calibrated() -> None:
    y = [1, 0, 0, 0, 1, 1, 1, 0, 1, 0]
    p = [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75, 0.5, 0.5]
    assert F.expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-12)
    # The same predictions with the outcomes shuffled between bins are no longer calibrated.
    assert F.expected_calibration_error([0, 0, 0, 0, 1, 1, 1, 1, 1, 0], p) == pytest.approx(
        (4 * 0.25 + 4 * 0.25) / 10)


def test_calibration_table__bins_counts_and_rates() -> None:
    table = F.calibration_table([1, 0, 1, 1], [0.1, 0.19, 0.95, 1.0])
    assert len(table) == 10
    assert table["n"].tolist() == [0, 2, 0, 0, 0, 0, 0, 0, 0, 2]  # 0.1 opens bin 1; 1.0 is in the last bin
    assert table.loc[1, "mean_predicted"] == pytest.approx(0.145)
    assert table.loc[1, "observed_rate"] == pytest.approx(0.5)
    assert table.loc[9, "mean_predicted"] == pytest.approx(0.975)
    assert np.isnan(table.loc[0, "observed_rate"])
    assert table.loc[3, "low"] == pytest.approx(0.3) and table.loc[3, "high"] == pytest.approx(0.4)


def test_ece__refuses_probabilities_outside_zero_one() -> None:
    with pytest.raises(ValueError):
        F.expected_calibration_error([1], [1.2])


pairs = st.lists(st.tuples(st.integers(0, 1), st.floats(0, 1, allow_nan=False)), min_size=1, max_size=60)


@hsettings(max_examples=80, deadline=None)
@given(pairs, st.integers(1, 20))
def test_ece__between_zero_and_one_and_matches_the_definition(rows: list[tuple[int, float]], bins: int) -> None:
    y, p = [r[0] for r in rows], [r[1] for r in rows]
    ece = F.expected_calibration_error(y, p, bins)
    assert 0.0 <= ece <= 1.0
    assert ece == pytest.approx(_reference_ece(y, p, bins), abs=1e-9)


@hsettings(max_examples=80, deadline=None)
@given(pairs, st.randoms(use_true_random=False))
def test_ece__invariant_to_row_order(rows: list[tuple[int, float]], rnd: Any) -> None:
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert F.expected_calibration_error([r[0] for r in shuffled], [r[1] for r in shuffled]) == pytest.approx(
        F.expected_calibration_error([r[0] for r in rows], [r[1] for r in rows]), abs=1e-12)


# --- The audit ----------------------------------------------------------------------------------------------


def _population(n: int = 60_000, seed: int = 7, shift: float = 0.1) -> pd.DataFrame:
    """Clients whose estimates are calibrated except for those with a foreign background (10 %), whose real chance
    is ``shift`` lower than estimated."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "sex": rng.choice(["female", "male"], n),
        "age_band": rng.choice(["under_25", "25_29", "30_49", "50_54", "55_plus"], n),
        "foreign_background": rng.choice(["no", "yes"], n, p=[0.9, 0.1]),
        "language": rng.choice(["fi", "sv", "en"], n, p=[0.8, 0.1, 0.1]),
    })
    p = rng.uniform(0.15, 0.9, n)
    truth = np.where(frame["foreign_background"] == "yes", p - shift, p)
    frame["probability"] = p
    frame["employed_6m"] = (rng.random(n) < truth).astype(float)
    return frame


@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    return _population()


@pytest.fixture(scope="module")
def population_result(population: pd.DataFrame) -> dict[str, Any]:
    with override_settings(POLKU={**django_settings.POLKU, "SMALL_CELL_THRESHOLD": 5}):
        return F.audit(population, outcome="employed_6m")


def _cell(result: dict[str, Any], grouping: str, key: str) -> dict[str, Any]:
    return next(c for c in result["groupings"][grouping]["cells"] if c["key"] == key)


def test_audit__miscalibrated_group_is_flagged_and_the_others_are_not(population_result: dict[str, Any]) -> None:
    result = population_result
    ece_flags = {(f["grouping"], f["cell"]): f for f in result["flags"] if f["kind"] == "ece"}
    flag = ece_flags[("foreign_background", "yes")]
    assert flag["value"] == pytest.approx(0.1, abs=0.02) and not flag["within_noise"]
    assert ("foreign_background", "no") not in ece_flags
    assert ("sex", "female") not in ece_flags and ("sex", "male") not in ece_flags
    assert (None, None) not in ece_flags  # overall
    assert _cell(result, "foreign_background", "no")["ece"] < F.ECE_LIMIT
    assert result["target"]["met"] is False
    assert result["target"]["failing"] == ["foreign_background:yes"]
    # Every intersection with a foreign background is flagged too, none without.
    for key in ("female|yes", "male|yes"):
        assert ("sex+foreign_background", key) in ece_flags
    assert not any(g == "sex+foreign_background" and c.endswith("|no") for g, c in ece_flags)


def test_audit__calibrated_model_meets_the_target(settings: Any) -> None:
    result = F.audit(_population(shift=0.0, n=40_000), outcome="employed_6m")
    assert result["target"] == {"ece_limit": 0.02, "groupings": ["sex", "foreign_background"], "met": True,
                                "failing": [], "unmeasured": []}
    assert not [f for f in result["flags"] if f["kind"] == "ece" and f["grouping"] in (None, "sex",
                                                                                       "foreign_background")]


def _hand_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "sex": ["female"] * 6 + ["male"] * 6,
        "employed_6m": [*[1, 1, 1, 0, 0, 0], *[1, 1, 0, 0, 0, 0]],
        "probability": [*[0.9, 0.6, 0.4, 0.7, 0.2, 0.1], *[0.8, 0.3, 0.6, 0.55, 0.2, 0.1]],
    })


def test_audit__rates_match_hand_computation() -> None:
    result = F.audit(_hand_frame(), outcome="employed_6m", threshold=0.5, groups=("sex",), intersections=(),
                     min_cell=5)
    female, male = _cell(result, "sex", "female"), _cell(result, "sex", "male")
    assert (female["n"], female["tpr"], female["fpr"], female["selection_rate"]) == (6, pytest.approx(2 / 3),
                                                                                     pytest.approx(1 / 3), 0.5)
    assert (male["n"], male["tpr"], male["fpr"], male["selection_rate"]) == (6, 0.5, 0.5, 0.5)
    assert female["auc"] == pytest.approx(7 / 9) and male["auc"] == pytest.approx(6 / 8)
    assert female["base_rate"] == 0.5 and male["base_rate"] == pytest.approx(1 / 3)
    assert female["mean_predicted"] == pytest.approx(2.9 / 6)
    sex = result["groupings"]["sex"]
    assert sex["differences"]["tpr"] == pytest.approx(1 / 6)
    assert sex["differences"]["fpr"] == pytest.approx(1 / 6)
    assert sex["differences"]["auc"] == pytest.approx(7 / 9 - 6 / 8)
    assert sex["equalized_odds_difference"] == pytest.approx(1 / 6)
    assert sex["demographic_parity_difference"] == pytest.approx(0.0)
    overall = result["overall"]
    assert (overall["tpr"], overall["fpr"], overall["selection_rate"]) == (pytest.approx(3 / 5), pytest.approx(3 / 7),
                                                                           0.5)
    assert result["threshold"] == 0.5 and result["threshold_rule"] == "given"


def test_audit__default_threshold_is_the_base_rate_and_above_it_counts() -> None:
    result = F.audit(_hand_frame(), outcome="employed_6m", groups=("sex",), intersections=(), min_cell=5)
    assert result["threshold"] == pytest.approx(5 / 12) and result["threshold_rule"] == "base_rate"
    # Above 5/12: female 0.9, 0.6, 0.7 (0.4 is not); male 0.8, 0.6, 0.55.
    assert _cell(result, "sex", "female")["selection_rate"] == 0.5
    assert _cell(result, "sex", "female")["tpr"] == pytest.approx(2 / 3)
    assert _cell(result, "sex", "male")["fpr"] == 0.5


def test_audit__rows_without_an_outcome_are_left_out() -> None:
    frame = pd.concat([_hand_frame(), pd.DataFrame({"sex": ["male"] * 3, "employed_6m": [np.nan] * 3,
                                                    "probability": [0.99] * 3})], ignore_index=True)
    result = F.audit(frame, outcome="employed_6m", threshold=0.5, groups=("sex",), intersections=(), min_cell=5)
    assert result["rows"] == 12 and result["excluded_missing_outcome"] == 3
    assert _cell(result, "sex", "male")["n"] == 6 and _cell(result, "sex", "male")["selection_rate"] == 0.5


def test_audit__min_cell_is_never_below_the_small_cell_threshold(settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 7}
    result = F.audit(_hand_frame(), outcome="employed_6m", groups=("sex",), intersections=(), min_cell=2)
    assert result["min_cell"] == 7
    assert all(c["n"] is None and c["suppressed"] for c in result["groupings"]["sex"]["cells"])


def _with_tiny_language(population: pd.DataFrame) -> pd.DataFrame:
    """300 clients in fi/sv/en and 3 with another language, whose estimates are wildly wrong."""
    frame = population.iloc[:300].copy()
    tiny = population.iloc[300:303].copy()
    tiny["language"] = "other"
    tiny["probability"] = 0.01
    tiny["employed_6m"] = 1.0
    return pd.concat([frame, tiny], ignore_index=True)


def _walk_cells(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [cell for grouping in result["groupings"].values() for cell in grouping["cells"]]


def test_audit__small_cells_never_reveal_counts_or_rates(population: pd.DataFrame) -> None:
    frame = _with_tiny_language(population)
    result = F.audit(frame, outcome="employed_6m", min_cell=30)
    other = _cell(result, "language", "other")
    assert other["n"] is None and other["count_suppressed"] and other["suppressed"]
    assert all(other[m] is None for m in F.METRICS[1:])
    # No count below the threshold anywhere, and no rate on fewer than min_cell rows.
    for cell in _walk_cells(result):
        assert cell["n"] is None or cell["n"] >= 5
        if not cell["suppressed"]:
            assert cell["n"] is not None and cell["n"] >= 30
    # The hidden count cannot be worked out as overall minus the others: a second language is hidden too.
    language = result["groupings"]["language"]["cells"]
    assert sum(c["count_suppressed"] for c in language) == 2
    # In every row and column of an intersection, never exactly one hidden count.
    for name, grouping in result["groupings"].items():
        attributes = grouping["attributes"]
        for position in range(len(attributes)):
            lines: dict[tuple[str, ...], list[bool]] = {}
            for cell in grouping["cells"]:
                rest = tuple(v for i, v in enumerate(cell["group"].values()) if i != position)
                lines.setdefault(rest, []).append(cell["count_suppressed"])
            for hidden in lines.values():
                assert sum(hidden) != 1 or len(hidden) == 1, name


def test_audit__suppressed_cells_are_left_out_of_the_differences(population: pd.DataFrame) -> None:
    frame = _with_tiny_language(population)
    result = F.audit(frame, outcome="employed_6m", groups=("language",), intersections=(), min_cell=30)
    grouping = result["groupings"]["language"]
    shown = [c for c in grouping["cells"] if not c["suppressed"]]
    assert len(shown) >= 2 and all(c["key"] != "other" for c in shown)
    for metric in ("auc", "ece", "tpr", "fpr", "selection_rate"):
        values = [c[metric] for c in shown]
        assert grouping["differences"][metric] == pytest.approx(max(values) - min(values))
    # The 'other' rows (all employed at 1 %) would make the ECE difference near 1 if they counted.
    assert grouping["differences"]["ece"] < 0.5
    assert not any(f["cell"] == "other" or f.get("highest") == "other" or f.get("lowest") == "other"
                   for f in result["flags"])
    assert grouping["suppressed_cells"] == 2


def test_audit__differences_agree_with_fairlearn(population: pd.DataFrame, population_result: dict[str, Any]) -> None:
    frame = population
    predicted = (frame["probability"] > population_result["threshold"]).astype(int)
    for name in ("sex", "age_band", "sex+age_band"):
        grouping = population_result["groupings"][name]
        assert grouping["suppressed_cells"] == 0
        sensitive = frame[grouping["attributes"]]
        assert grouping["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(frame["employed_6m"], predicted, sensitive_features=sensitive))
        assert grouping["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(frame["employed_6m"], predicted, sensitive_features=sensitive))
        metric_frame = MetricFrame(metrics={"auc": roc_auc_score},
                                   y_true=frame["employed_6m"], y_pred=frame["probability"],
                                   sensitive_features=sensitive)
        assert grouping["differences"]["auc"] == pytest.approx(metric_frame.difference()["auc"])


def test_audit__intersections_are_present_with_their_counts(population_result: dict[str, Any],
                                                            population: pd.DataFrame) -> None:
    result = population_result
    for attributes in F.DEFAULT_INTERSECTIONS:
        grouping = result["groupings"][F.grouping_name(attributes)]
        assert grouping["attributes"] == list(attributes)
        counts = population.groupby(list(attributes)).size()
        assert len(grouping["cells"]) == len(counts)
        for cell in grouping["cells"]:
            assert cell["n"] == counts[tuple(cell["group"][a] for a in attributes)]
    cell = _cell(result, "sex+age_band", "female|under_25")
    assert cell["group"] == {"sex": "female", "age_band": "under_25"}
    # Age bands in their natural order, not alphabetical.
    assert [c["key"] for c in result["groupings"]["age_band"]["cells"]] == [
        "under_25", "25_29", "30_49", "50_54", "55_plus"]


def test_audit__overrides_counted_by_group_and_direction_with_suppression() -> None:
    frame = pd.DataFrame({"sex": ["female"] * 100 + ["male"] * 100, "probability": 0.5,
                          "employed_6m": [1.0, 0.0] * 100})
    frame.loc[:9, "employed_6m"] = np.nan  # not yet known: still scored
    rows = ([("female", "too_high")] * 12 + [("female", "too_low")] * 2 + [("male", "too_high")] * 7
            + [("male", "too_low")] * 6)
    overrides = pd.DataFrame(rows, columns=["sex", "direction"])
    result = F.audit(frame, outcome="employed_6m", groups=("sex",), intersections=(), overrides=overrides)
    summary = result["overrides"]
    female = next(c for c in summary["groupings"]["sex"]["cells"] if c["key"] == "female")
    male = next(c for c in summary["groupings"]["sex"]["cells"] if c["key"] == "male")
    assert female["scored"] == 100 and male["scored"] == 100
    assert female["total"] == 14 and male["total"] == 13
    assert female["per_1000"] == pytest.approx(140.0) and male["per_1000"] == pytest.approx(130.0)
    assert female["counts"]["too_high"] == 12 and male["counts"]["too_high"] == 7
    # 2 is below the threshold; hiding it alone would let "14 − 12 − 0" reveal it, so the zero goes too, and so
    # does the male "too low" (else the overall 8 − 6 would), and with it the male zero.
    assert female["counts"]["too_low"] is None and female["counts"]["other"] is None
    assert male["counts"]["too_low"] is None and male["counts"]["other"] is None
    assert female["suppressed"] and male["suppressed"]
    overall = summary["overall"]
    assert overall["counts"] == {"too_high": 19, "too_low": 8, "other": 0}
    assert overall["total"] == 27 and overall["scored"] == 200
    assert overall["per_1000"] == pytest.approx(135.0)
    assert 2 not in [v for c in summary["groupings"]["sex"]["cells"] for v in c["counts"].values()]


def test_audit__override_rate_hidden_for_few_scored_clients() -> None:
    frame = _hand_frame()
    overrides = pd.DataFrame([("female", "too_high")] * 5, columns=["sex", "direction"])
    result = F.audit(frame, outcome="employed_6m", groups=("sex",), intersections=(), overrides=overrides)
    female = next(c for c in result["overrides"]["groupings"]["sex"]["cells"] if c["key"] == "female")
    assert female["total"] == 5 and female["scored"] == 6
    assert female["per_1000"] is None  # 6 scored clients: fewer than min_cell


def _plain(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            _plain(item)
    elif isinstance(value, list):
        for item in value:
            _plain(item)
    else:
        assert value is None or type(value) in (str, int, float, bool), (value, type(value))


def test_audit__result_is_plain_json(population: pd.DataFrame) -> None:
    frame = _with_tiny_language(population)
    overrides = frame.iloc[:40][["sex", "age_band", "foreign_background", "language"]].assign(direction="too_low")
    result = F.audit(frame, outcome="employed_6m", overrides=overrides, min_cell=30)
    _plain(result)
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    # The overall calibration curve: bins too small for figures are hidden there too.
    assert len(result["calibration"]) == 10
    assert all(b["n"] is None or b["n"] == 0 or b["n"] >= 5 for b in result["calibration"])


# --- Report, chart, storage -----------------------------------------------------------------------------------


def test_report__mentions_each_grouping_the_flags_and_the_caveat(population_result: dict[str, Any]) -> None:
    with translation.override("en"):
        text = F.report_markdown(population_result, model_label="Employment potential v3")
        for name, grouping in population_result["groupings"].items():
            assert f"## {F.grouping_label(grouping['attributes'])}\n" in text, name
        assert text.startswith("# Fairness audit: Employment potential v3")
        assert "Calibration error 0.1" in text and "for Migrant background: Foreign background." in text
        assert "The target is not met." in text
        assert "| Female / Foreign background |" in text
        assert "decision support" in text
        assert f"at least {population_result['min_cell']} clients" in text
        assert "Disagreements were not included" in text


def test_report__lists_suppressed_groups_and_overrides(population: pd.DataFrame) -> None:
    frame = _with_tiny_language(population)
    overrides = frame.iloc[:40][["sex", "age_band", "foreign_background", "language"]].assign(direction="too_low")
    result = F.audit(frame, outcome="employed_6m", overrides=overrides, min_cell=30)
    with translation.override("en"):
        text = F.report_markdown(result, model_label="v1")
    assert "| Other language | – | – |" in text
    assert "Figures not shown for 2 groups" in text
    assert "Professionals recorded 40 disagreements" in text
    assert "| Group | Scored clients |" in text


def test_chart__svg_with_summary_and_table(population: pd.DataFrame) -> None:
    result = F.audit(_with_tiny_language(population), outcome="employed_6m", min_cell=30)
    with translation.override("en"):
        chart = F.fairness_chart(result, "language")
        html = render_to_string("web/_chart.html", {"chart": chart})
    assert chart.svg.startswith("<svg") and "<title" in chart.svg and "<desc" in chart.svg
    assert "<pattern" in chart.svg  # series told apart by pattern, not colour alone
    assert chart.columns == ["Group", "AUC", "True positive rate", "False positive rate", "ECE"]
    labels = [row[0] for row in chart.rows]
    assert labels == ["Finnish", "Swedish", "English", "Other language"]
    other = chart.rows[3]
    assert other[1:] == ["–"] * 4
    finnish = _cell(result, "language", "fi")
    assert chart.rows[0][1] == f"{finnish['auc']:.3f}"
    assert "Other language" in chart.summary and "too few clients" in chart.summary
    assert "<table" in html and "<svg" in html and "Other language" in html
    assert chart.svg.count("<rect") >= 4 * 2  # bars of the shown groups and legend swatches


@pytest.mark.django_db
def test_store_report__saves_figures_and_text(population_result: dict[str, Any]) -> None:
    version = ModelVersion.objects.create(kind=ModelKind.POTENTIAL, outcome="employed_6m", version=1,
                                          data_source="test", data_hash="0" * 64, rows=1, artifact=b"",
                                          signature="x")
    with translation.override("en"):
        text = F.report_markdown(population_result, model_label=str(version))
        report = F.store_report(version, population_result, text)
    stored = FairnessReport.objects.get(pk=report.pk)
    assert stored.model_version == version and stored.text == text
    assert stored.report["language"] == "en"
    assert stored.report["groupings"]["sex"] == population_result["groupings"]["sex"]
