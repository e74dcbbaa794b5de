"""The range a scoring rule can give is exactly the range of the scores it gives (chart axes rely on it)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from polku.assessments.scoring import score, score_range

bounds = st.lists(st.tuples(st.integers(0, 5), st.integers(1, 10)).filter(lambda b: b[0] < b[1]), min_size=1,
                  max_size=12)


@given(bounds, st.sampled_from(["sum", "mean", "scaled_0_100"]), st.data())
def test_every_score_lies_in_the_range_and_both_ends_are_reached(scale: list[tuple[int, int]], rule: str,
                                                                 data: st.DataObject) -> None:
    low, high = score_range(rule, scale)
    answers = [data.draw(st.integers(lo, hi)) for lo, hi in scale]
    rounding = 0.005  # scores are rounded to two decimals
    assert low - rounding <= float(score(rule, answers, scale)) <= high + rounding  # type: ignore[arg-type]
    assert abs(float(score(rule, [lo for lo, _ in scale], scale)) - low) <= rounding  # type: ignore[arg-type]
    assert abs(float(score(rule, [hi for _, hi in scale], scale)) - high) <= rounding  # type: ignore[arg-type]
