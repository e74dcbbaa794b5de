"""Small-cell protection of indicator tables: one function used by every output of the indicator reports.

Every table is protected here once, before any output (command, UI, API, CSV, XLSX, PDF, JSON) renders it, so no
output can show what another hides. The threshold *k* is ``POLKU["SMALL_CELL_THRESHOLD"]`` (default 5).

The rules, plainly:

* **Tables carry all their margins.** A count table is protected together with every total: the sum over each
  breakdown and over every combination of breakdowns (:func:`with_margins`). A "line" is one row, column or other
  one-dimensional slice of the table together with its total.
* **Primary suppression.** A cell (a count or any of its totals) of 1 to k − 1 people is not published; it is shown
  as "<k". Such a figure could point at a person.
* **Zeros are published.** A zero names nobody: there is no one to recognise in an empty cell. Hiding zeros would
  hide the most information at no gain.
* **Secondary suppression.** If a line had exactly one hidden cell, the cell could be worked out by subtracting
  the published cells from the line's total. So another cell of that line is hidden as well (shown as "x"): the
  published cell with the smallest count, an inner cell rather than a total when there is one. This is repeated
  until no line has exactly one hidden cell.
* **Secondary cells are never zeros.** Every figure is a count of people and so cannot be negative. A hidden zero
  could be pinned down by that alone (the other cells leave room for nothing), and a hidden cell next to it with
  it. Hiding only cells of at least one person keeps every hidden cell free to move up and down.
* **Checked with exact reasoning.** In tables of three or more dimensions (and in some two-dimensional patterns)
  the line rule alone can leave a hidden cell that the published cells still determine. After the line rule the
  hidden cells are checked: every hidden cell must be able to take values at least one apart that agree with all
  the published cells, all the published totals and non-negativity (linear algebra first, then linear programming
  for what it cannot settle). A cell that fails is hidden together with the cheapest "box" of cells around it
  (2 × 2 in two dimensions, 2 × 2 × 2 in three) whose counts are all at least one: moving all the box's corners
  by one up or down in turn keeps every total, so every corner has at least two possible values. The check is done
  for every group of connected hidden cells of up to :data:`MAX_VERIFIED_CELLS` cells; larger groups (very large
  tables with very many small cells) are left to the line rule alone.
* **Rates and medians.** A rate is published only where its numerator and its denominator are both published and
  the denominator is at least k; otherwise it is shown as "–" (or as its numerator's mark when the numerator is
  hidden). A median or mean resting on fewer than k people is shown as "–". Such statistics are not additive, so
  they need no secondary suppression.

**The limit of the guarantee.** Protection works on one table at a time. If the same people were published in two
tables broken down differently (say by age in one and by age and gender in another), the tables could in principle
be set against each other to recover a hidden cell. That is why Polku publishes each breakdown as one table with
all its margins, and does not publish the same population in overlapping, separately protected breakdowns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from django.conf import settings

from polku.indicators.report import DENOMINATOR, NOT_OBSERVED, PRIMARY, PUBLISHED, SECONDARY

#: Groups of connected hidden cells larger than this are not checked with linear algebra and linear programming.
MAX_VERIFIED_CELLS = 1500

#: A narrow no-break space: the thousands separator of published counts ("12 345").
THOUSANDS_SEPARATOR = "\u202f"

_STATUS_DTYPE = "<U12"
_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Protected:
    """A protected count table: values and statuses with all margins (the last index of each axis is its total)."""

    values: np.ndarray
    status: np.ndarray
    threshold: int

    def published(self) -> np.ndarray:
        """A boolean mask of the published cells."""
        return np.asarray(self.status == PUBLISHED)


def default_threshold() -> int:
    """The smallest count published: ``POLKU["SMALL_CELL_THRESHOLD"]`` (default 5)."""
    return int(settings.POLKU.get("SMALL_CELL_THRESHOLD", 5))


def _threshold(threshold: int | None) -> int:
    k = default_threshold() if threshold is None else int(threshold)
    if k < 1:
        raise ValueError(f"small-cell threshold must be at least 1, got {k}")
    return k


def _as_counts(counts: np.ndarray) -> np.ndarray:
    array = np.asarray(counts)
    if array.ndim < 1:
        raise ValueError("counts must have at least one dimension")
    whole = array.dtype.kind in "iub" or (
        array.dtype.kind == "f" and bool(np.all(np.isfinite(array))) and bool(np.all(array == np.round(array)))
    )
    if not whole:
        raise ValueError("counts must be whole numbers")
    result = np.asarray(array, dtype=np.int64)
    if result.size and result.min() < 0:
        raise ValueError("counts must not be negative")
    return result


def with_margins(counts: np.ndarray) -> np.ndarray:
    """``counts`` (without margins) with every margin appended: the last index of each axis is its total.

    The result has one more index on every axis; a cell whose index is the last one on axes *A* is the sum of the
    inner cells over the axes *A* (the grand total sits at the last index of every axis).
    """
    result = _as_counts(counts)
    for axis in range(result.ndim):
        result = np.concatenate([result, result.sum(axis=axis, keepdims=True)], axis=axis)
    return result


def protect(counts: np.ndarray, threshold: int | None = None, *, force: np.ndarray | None = None) -> Protected:
    """Protect a count table (n-dimensional, without margins): primary and secondary suppression, see module docs.

    ``force`` (a boolean array of the shape with margins) names cells that must be hidden in any case: a total
    another table sharing it had to hide (tables of one population are protected together that way).
    """
    k = _threshold(threshold)
    values = with_margins(counts)
    primary = (values >= 1) & (values < k)
    suppressed = primary.copy()
    if force is not None:
        if force.shape != values.shape:
            raise ValueError(f"force has shape {force.shape}, the table with margins {values.shape}")
        suppressed |= force
    _close_lines(values, suppressed)
    _fix_determined(values, suppressed)
    status = np.full(values.shape, PUBLISHED, dtype=_STATUS_DTYPE)
    status[suppressed] = SECONDARY
    status[primary] = PRIMARY
    return Protected(values=values, status=status, threshold=k)


def _close_lines(values: np.ndarray, suppressed: np.ndarray) -> None:
    """Secondary suppression by lines: until no line (a 1-D slice with its total) has exactly one hidden cell."""
    changed = True
    while changed:
        changed = False
        for axis in range(values.ndim):
            line_values = np.moveaxis(values, axis, -1)
            line_suppressed = np.moveaxis(suppressed, axis, -1)  # a view: writes go to ``suppressed``
            single = np.argwhere(line_suppressed.sum(axis=-1) == 1)
            for index in map(tuple, single):
                hidden = line_suppressed[index]
                if hidden.sum() != 1:  # an earlier step in this pass already settled the line
                    continue
                cells = line_values[index]
                candidates = ~hidden & (cells >= 1)
                inner = np.where(candidates[:-1], cells[:-1], np.iinfo(np.int64).max)
                if candidates[:-1].any():
                    hidden[int(np.argmin(inner))] = True
                elif candidates[-1]:
                    hidden[-1] = True
                else:  # cannot happen: a hidden cell is at least 1, so the line has another nonzero cell
                    continue
                changed = True


def _line_matrix(values: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The margin equations restricted to the hidden ``cells`` (flat indices): (rows, columns, coefficients).

    Each line gives one equation: its inner cells sum to its total (coefficient +1 inner, −1 total); the published
    cells of the line are constants and drop out. Row numbers are line ids (unique per axis and line).
    """
    shape = values.shape
    coords = np.array(np.unravel_index(cells, shape)).T if cells.size else np.zeros((0, len(shape)), dtype=np.int64)
    rows, columns, coefficients = [], [], []
    offset = 0
    for axis in range(len(shape)):
        other = [a for a in range(len(shape)) if a != axis]
        other_shape = tuple(shape[a] for a in other)
        if other:
            line_id = np.ravel_multi_index(tuple(coords[:, a] for a in other), other_shape)
        else:
            line_id = np.zeros(len(cells), dtype=np.int64)
        rows.append(line_id + offset)
        columns.append(np.arange(len(cells)))
        coefficients.append(np.where(coords[:, axis] == shape[axis] - 1, -1.0, 1.0))
        offset += int(np.prod(other_shape)) if other else 1
    return np.concatenate(rows), np.concatenate(columns), np.concatenate(coefficients)


def _components(rows: np.ndarray, columns: np.ndarray, n_cells: int) -> list[np.ndarray]:
    """Groups of hidden cells linked by shared lines (each group's equations are independent of the others')."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    _, line = np.unique(rows, return_inverse=True)
    n_lines = int(line.max()) + 1 if line.size else 0
    size = n_cells + n_lines
    graph = coo_matrix((np.ones(len(columns)), (columns, n_cells + line)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    cell_labels = labels[:n_cells]
    order = np.argsort(cell_labels, kind="stable")
    splits = np.flatnonzero(np.diff(cell_labels[order])) + 1
    return [group for group in np.split(order, splits) if group.size]


def _insufficient(values: np.ndarray, suppressed: np.ndarray) -> list[int]:
    """Flat indices of hidden cells that cannot take values at least one apart (checked groups only)."""
    from scipy.linalg import null_space

    cells = np.flatnonzero(suppressed)
    if not cells.size:
        return []
    rows, columns, coefficients = _line_matrix(values, cells)
    flat_values = values.ravel().astype(float)
    failing: list[int] = []
    for group in _components(rows, columns, len(cells)):
        if group.size > MAX_VERIFIED_CELLS:
            continue
        position = np.full(len(cells), -1)
        position[group] = np.arange(group.size)
        member = position[columns] >= 0
        line_ids, line_rows = np.unique(rows[member], return_inverse=True)
        matrix = np.zeros((len(line_ids), group.size))
        np.add.at(matrix, (line_rows, position[columns[member]]), coefficients[member])
        x = flat_values[cells[group]]
        basis = null_space(matrix)
        width = np.zeros(group.size)
        for direction in basis.T:
            # x + t * direction stays feasible (non-negative; the equations hold) for t in [-down, up].
            negative, positive = direction < -_TOLERANCE, direction > _TOLERANCE
            up = np.min(x[negative] / -direction[negative]) if negative.any() else np.inf
            down = np.min(x[positive] / direction[positive]) if positive.any() else np.inf
            width = np.maximum(width, np.abs(direction) * (up + down))
        determined = np.abs(basis).max(axis=1, initial=0.0) <= 1e-9
        for j in np.flatnonzero(~determined & (width < 1 - _TOLERANCE)):
            if not _lp_range_at_least_one(matrix, x, int(j)):
                failing.append(int(cells[group[j]]))
        failing.extend(int(cells[group[j]]) for j in np.flatnonzero(determined))
    return sorted(failing)


def _lp_range_at_least_one(matrix: np.ndarray, x: np.ndarray, j: int) -> bool:
    """Whether cell ``j`` of a group ranges over at least one unit (the group's equations, non-negativity)."""
    from scipy.optimize import linprog

    rhs = matrix @ x
    objective = np.zeros(len(x))
    objective[j] = 1.0
    extremes = []
    for sign in (1.0, -1.0):
        result = linprog(sign * objective, A_eq=matrix, b_eq=rhs, bounds=(0, None), method="highs")
        if result.status == 3:  # unbounded: the cell can grow without limit
            return True
        if result.status != 0:
            return False
        extremes.append(sign * result.fun)
    return bool(extremes[1] - extremes[0] >= 1 - _TOLERANCE)


def _fix_determined(values: np.ndarray, suppressed: np.ndarray) -> None:
    """Hide the cheapest all-nonzero box around each hidden cell that the published cells still (nearly) determine."""
    failing = _insufficient(values, suppressed)
    if not failing:
        return
    covered: set[int] = set()
    for cell in failing:
        if cell in covered:
            continue
        corners = _cheapest_box(values, suppressed, np.unravel_index(cell, values.shape))
        for corner in corners:
            suppressed[corner] = True
            covered.add(int(np.ravel_multi_index(corner, values.shape)))
    _close_lines(values, suppressed)  # a no-op: every line through a box holds two of its corners


def _cheapest_box(values: np.ndarray, suppressed: np.ndarray, cell: tuple[np.intp, ...]) -> list[tuple[int, ...]]:
    """The corners of the box with ``cell`` as one corner, every corner at least 1, hiding the fewest people.

    The box's corners are the cells taking, on each axis, either ``cell``'s index or the opposite corner's. Adding
    one to the corners with an even number of opposite indices and subtracting one from the others keeps every
    line's equation (each line through the box holds two corners of opposite signs; a total counts with the sign
    of its inner cells), so every corner can take at least two values. Such a box always exists: the opposite
    corner at the totals of the axes where ``cell`` is inner, and at an inner cell of at least 1 elsewhere.
    """
    ndim = values.ndim
    shape = values.shape
    origin = tuple(int(i) for i in cell)
    cost = np.zeros(shape, dtype=float)
    for axis in range(ndim):  # the opposite corner differs from the cell on every axis
        same = [slice(None)] * ndim
        same[axis] = slice(origin[axis], origin[axis] + 1)
        cost[tuple(same)] = np.inf
    for size in range(1, ndim + 1):
        for axes in itertools.combinations(range(ndim), size):
            index = tuple(slice(None) if a in axes else slice(origin[a], origin[a] + 1) for a in range(ndim))
            corner_values = values[index]
            corner_cost = np.where(suppressed[index], 0.0, corner_values.astype(float))
            corner_cost = np.where(corner_values >= 1, corner_cost, np.inf)
            cost = cost + corner_cost  # broadcast: the fixed axes have length one
    opposite = tuple(int(i) for i in np.unravel_index(int(np.argmin(cost)), shape))
    if not np.isfinite(cost[opposite]):  # cannot happen for a cell of at least 1 (see above)
        raise RuntimeError("no box of nonzero cells around a hidden cell")
    return [
        tuple(opposite[a] if use else origin[a] for a, use in enumerate(choice))
        for choice in itertools.product((False, True), repeat=ndim)
    ]


def protect_rate(numerator: Protected, denominator: Protected) -> np.ndarray:
    """The status of a rate table (numerator / denominator, same shape, margins included).

    ``DENOMINATOR`` where the denominator is below k (zero included); otherwise the numerator's mark where the
    numerator is hidden, ``SECONDARY`` where the denominator is hidden (publishing the rate with its published
    numerator would reveal it), and published elsewhere.
    """
    if numerator.values.shape != denominator.values.shape:
        raise ValueError("numerator and denominator tables differ in shape")
    k = max(numerator.threshold, denominator.threshold)
    status = np.full(numerator.values.shape, PUBLISHED, dtype=_STATUS_DTYPE)
    status = np.where(denominator.status != PUBLISHED, SECONDARY, status)
    status = np.where(numerator.status != PUBLISHED, numerator.status, status)
    status = np.where(denominator.values < k, DENOMINATOR, status)
    return status.astype(_STATUS_DTYPE)


def protect_median(persons: np.ndarray, threshold: int | None = None) -> np.ndarray:
    """The status of a median or mean per cell computed from ``persons`` people: ``DENOMINATOR`` below k."""
    k = _threshold(threshold)
    people = np.asarray(persons)
    return np.where(people < k, DENOMINATOR, PUBLISHED).astype(_STATUS_DTYPE)


def cell_text(
    value: float | int | None,
    status: str,
    threshold: int,
    *,
    kind: str = "count",
    decimals: int = 1,
    decimal_separator: str = ".",
) -> str:
    """The text shown for a cell.

    Hidden count "<k" (primary) or "x" (secondary), "–" for a rate or statistic on too few people, ".." when the
    period needed has not passed yet. A published count is a whole number with a narrow no-break space between
    thousands ("12 345"), a rate has ``decimals`` decimals and " %", a median or mean ``decimals`` decimals.
    """
    status = str(status)
    if status == PRIMARY:
        return f"<{threshold}"
    if status == SECONDARY:
        return "x"
    if status == DENOMINATOR:
        return "–"
    if status == NOT_OBSERVED:
        return ".."
    if status != PUBLISHED:
        raise ValueError(f"unknown cell status {status!r}")
    if value is None:
        return ""
    if kind == "count":
        return f"{round(float(value)):,}".replace(",", THOUSANDS_SEPARATOR)
    if kind == "rate":
        return f"{float(value):.{decimals}f}".replace(".", decimal_separator) + " %"
    if kind in ("median", "mean"):
        return f"{float(value):.{decimals}f}".replace(".", decimal_separator)
    raise ValueError(f"unknown cell kind {kind!r}")
