"""Small-cell protection: no published cell of 1 to k − 1 people, no hidden cell recoverable from the totals."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from scipy.optimize import linprog

from polku.indicators.protection import (
    Protected,
    cell_text,
    protect,
    protect_median,
    protect_rate,
    with_margins,
)
from polku.indicators.report import DENOMINATOR, NOT_OBSERVED, PRIMARY, PUBLISHED, SECONDARY

# Many small counts (0–6) and some large ones, so that primary and secondary suppression both happen often.
cell_values = st.one_of(st.integers(0, 6), st.integers(0, 6), st.integers(7, 40), st.integers(100, 5000))


def tables(max_side: int, ndim: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.integers(1, max_side), min_size=ndim, max_size=ndim).flatmap(
        lambda shape: st.lists(cell_values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))).map(
            lambda cells: np.array(cells, dtype=np.int64).reshape(shape)
        )
    )


def lines(shape: tuple[int, ...]) -> Any:
    """Every line of a table with margins: (axis, index of the other axes)."""
    for axis in range(len(shape)):
        other = [range(n) for a, n in enumerate(shape) if a != axis]
        for index in itertools.product(*other):
            yield axis, index


def line_cells(shape: tuple[int, ...], axis: int, index: tuple[int, ...]) -> list[tuple[int, ...]]:
    cells = []
    for i in range(shape[axis]):
        full = list(index)
        full.insert(axis, i)
        cells.append(tuple(full))
    return cells


def assert_rules(counts: np.ndarray, result: Protected, k: int) -> None:
    values, status = result.values, result.status
    assert values.shape == tuple(n + 1 for n in counts.shape)
    assert result.threshold == k
    assert set(np.unique(status)) <= {PUBLISHED, PRIMARY, SECONDARY}
    published = result.published()
    # (d) values are the input and its margins, exactly
    assert np.array_equal(values, with_margins(counts))
    assert np.array_equal(values[tuple(slice(0, n) for n in counts.shape)], counts)
    # (a) no published cell (inner or total) of 1 to k − 1; exactly those are primary
    assert not np.any(published & (values >= 1) & (values < k))
    assert np.array_equal(status == PRIMARY, (values >= 1) & (values < k))
    # secondary cells are never zeros
    assert not np.any(~published & (values == 0))
    # (b) no line with exactly one hidden cell
    hidden = ~published
    for axis in range(values.ndim):
        assert not np.any(hidden.sum(axis=axis) == 1)


def assert_not_determined(result: Protected) -> None:
    """(c) every hidden cell can move by at least 1 given the published cells, all margin equations and x >= 0."""
    values, hidden = result.values, ~result.published()
    if not hidden.any():
        return
    shape = values.shape
    n = values.size
    flat = np.arange(n).reshape(shape)
    rows = []
    for axis, index in lines(shape):
        cells = line_cells(shape, axis, index)
        row = np.zeros(n)
        for cell in cells[:-1]:
            row[flat[cell]] = 1.0
        row[flat[cells[-1]]] = -1.0
        rows.append(row)
    a_eq = np.array(rows)
    b_eq = np.zeros(len(rows))
    bounds: list[tuple[float | None, float | None]] = [
        (0.0, None) if h else (float(v), float(v)) for v, h in zip(values.ravel(), hidden.ravel(), strict=True)
    ]
    for target in np.flatnonzero(hidden.ravel()):
        c = np.zeros(n)
        c[target] = 1.0
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert high.status in (0, 3)
        if high.status == 0:
            assert -high.fun - low.fun >= 1 - 1e-6, (
                f"hidden cell {np.unravel_index(target, shape)} is determined: {values}\n{result.status}"
            )


FAST = hsettings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(counts=tables(8, 1), k=st.integers(2, 10))
def test_rules_1d(counts: np.ndarray, k: int) -> None:
    result = protect(counts, k)
    assert_rules(counts, result, k)
    assert_not_determined(result)


@FAST
@given(counts=tables(6, 2), k=st.integers(2, 10))
def test_rules_2d(counts: np.ndarray, k: int) -> None:
    result = protect(counts, k)
    assert_rules(counts, result, k)
    assert_not_determined(result)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables(6, 3), k=st.integers(2, 10))
def test_rules_3d(counts: np.ndarray, k: int) -> None:
    result = protect(counts, k)
    assert_rules(counts, result, k)


@hsettings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables(4, 3), k=st.integers(2, 10))
def test_no_hidden_cell_determined_3d(counts: np.ndarray, k: int) -> None:
    result = protect(counts, k)
    assert_rules(counts, result, k)
    assert_not_determined(result)


def test_one_small_cell_hides_a_rectangle() -> None:
    result = protect(np.array([[3, 10], [20, 30]]), 5)
    hidden = ~result.published()
    assert hidden.sum() == 4
    assert hidden[:2, :2].all()  # the four inner cells: a rectangle; every total stays published
    assert result.status[0, 0] == PRIMARY
    assert {result.status[0, 1], result.status[1, 0], result.status[1, 1]} == {SECONDARY}
    assert_not_determined(result)


def test_no_small_cells_hides_nothing() -> None:
    result = protect(np.array([[5, 10, 7], [20, 30, 0]]), 5)
    assert result.published().all()
    assert result.values[-1, -1] == 72


def test_all_zero_table_publishes_zeros() -> None:
    result = protect(np.zeros((3, 2), dtype=int), 5)
    assert result.published().all()
    assert not result.values.any()


def test_small_total_is_hidden_with_what_is_needed() -> None:
    result = protect(np.array([[1, 0], [2, 0]]), 5)
    assert result.status[-1, -1] == PRIMARY  # the grand total is 3
    hidden = ~result.published()
    assert not np.any(hidden & (result.values == 0))
    assert_rules(np.array([[1, 0], [2, 0]]), result, 5)
    assert_not_determined(result)


def test_small_row_total_of_large_table() -> None:
    counts = np.array([[2, 1, 0], [40, 50, 60], [70, 80, 90]])
    result = protect(counts, 5)
    assert result.status[0, -1] == PRIMARY  # row total 3
    assert_rules(counts, result, 5)
    assert_not_determined(result)


def test_zero_is_never_a_secondary_cell() -> None:
    counts = np.array([[3, 0, 9], [0, 8, 12], [6, 0, 7]])
    result = protect(counts, 5)
    assert not np.any(~result.published() & (result.values == 0))
    assert_not_determined(result)


def test_line_rule_alone_can_leave_a_determined_cell() -> None:
    """A 2-D table where every line has 0 or at least 2 hidden cells and yet one hidden cell is determined by the
    totals (it is not on any cycle of hidden cells): the exact check hides a box more."""
    from polku.indicators import protection

    counts = np.array(
        [
            [6, 3214, 1169, 28, 31],
            [4299, 34, 32, 21, 1958],
            [26, 4083, 13, 2, 34],
            [4768, 8, 472, 15, 36],
            [2, 115, 4514, 2257, 25],
        ]
    )
    values = with_margins(counts)
    line_rule_only = (values >= 1) & (values < 8)
    protection._close_lines(values, line_rule_only)
    assert protection._insufficient(values, line_rule_only)  # the line rule alone is not enough here
    result = protect(counts, 8)
    assert (~result.published()).sum() > line_rule_only.sum()
    assert_rules(counts, result, 8)
    assert_not_determined(result)


def test_threshold_from_settings(settings: Any) -> None:
    settings.POLKU = {**settings.POLKU, "SMALL_CELL_THRESHOLD": 10}
    result = protect(np.array([7, 30, 40]))
    assert result.threshold == 10
    assert result.status[0] == PRIMARY


def test_deterministic() -> None:
    counts = np.random.default_rng(7).integers(0, 8, size=(5, 4, 3))
    first, second = protect(counts, 5), protect(counts, 5)
    assert np.array_equal(first.status, second.status)


def test_large_table_is_fast() -> None:
    import time

    rng = np.random.default_rng(3)
    counts = np.where(rng.random((37, 37, 37)) < 0.02, rng.integers(1, 5, (37, 37, 37)), rng.poisson(40, (37, 37, 37)))
    started = time.perf_counter()
    result = protect(counts, 5)
    assert time.perf_counter() - started < 10
    assert_rules(counts, result, 5)


def test_with_margins() -> None:
    margins = with_margins(np.array([[1, 2], [3, 4]]))
    assert margins.tolist() == [[1, 2, 3], [3, 4, 7], [4, 6, 10]]
    assert with_margins(np.array([1, 2, 3])).tolist() == [1, 2, 3, 6]
    cube = with_margins(np.ones((2, 3, 4), dtype=int))
    assert cube.shape == (3, 4, 5)
    assert cube[-1, -1, -1] == 24
    assert cube[0, -1, -1] == 12
    assert cube[-1, 0, -1] == 8
    assert cube[-1, -1, 0] == 6


def test_invalid_counts() -> None:
    with pytest.raises(ValueError):
        protect(np.array([[1, -1]]), 5)
    with pytest.raises(ValueError):
        protect(np.array([1.5, 2.0]), 5)


def test_protect_rate() -> None:
    numerator = protect(np.array([[3, 10], [20, 30]]), 5)
    denominator = protect(np.array([[4, 40], [60, 0]]), 5)
    status = protect_rate(numerator, denominator)
    assert status.shape == (3, 3)
    assert status[0, 0] == DENOMINATOR  # denominator 4
    assert status[1, 1] == DENOMINATOR  # denominator 0
    assert status[0, 1] == numerator.status[0, 1] == SECONDARY
    assert status[1, 0] == SECONDARY
    assert status[-1, -1] == PUBLISHED
    published = status == PUBLISHED
    assert np.all(numerator.published()[published] & denominator.published()[published])
    assert np.all(denominator.values[published] >= 5)


def test_protect_rate_hidden_denominator_hides_rate() -> None:
    numerator = protect(np.array([[10, 10], [20, 30]]), 5)
    denominator = protect(np.array([[3, 40], [60, 70]]), 5)
    status = protect_rate(numerator, denominator)
    assert status[0, 1] == SECONDARY  # the numerator is published, the denominator hidden (secondary)
    assert status[0, 0] == DENOMINATOR
    assert status[-1, -1] == PUBLISHED


def test_protect_median() -> None:
    status = protect_median(np.array([[0, 4, 5], [12, 1, 100]]), 5)
    assert status.tolist() == [[DENOMINATOR, DENOMINATOR, PUBLISHED], [PUBLISHED, DENOMINATOR, PUBLISHED]]
    assert protect_median(np.array([9]), 10).tolist() == [DENOMINATOR]


def test_cell_text() -> None:
    assert cell_text(3, PRIMARY, 5) == "<5"
    assert cell_text(12, SECONDARY, 5) == "x"
    assert cell_text(0.5, DENOMINATOR, 5, kind="rate") == "–"
    assert cell_text(None, NOT_OBSERVED, 5) == ".."
    assert cell_text(12345, PUBLISHED, 5) == "12\u202f345"
    assert cell_text(1234567, PUBLISHED, 5) == "1\u202f234\u202f567"
    assert cell_text(0, PUBLISHED, 5) == "0"
    assert cell_text(12.345, PUBLISHED, 5, kind="rate") == "12.3 %"
    assert cell_text(12.345, PUBLISHED, 5, kind="rate", decimals=2, decimal_separator=",") == "12,35 %"
    assert cell_text(41.25, PUBLISHED, 5, kind="median", decimals=0) == "41"
    assert cell_text(3.14159, PUBLISHED, 5, kind="mean") == "3.1"
    with pytest.raises(ValueError):
        cell_text(1, "bogus", 5)
