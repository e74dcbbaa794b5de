"""Scoring rules of instruments: pure functions, so they are easy to test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def score(rule: str, values: Sequence[int], scale_bounds: Sequence[tuple[int, int]]) -> Decimal | None:
    """Total score by ``rule`` (``sum``, ``mean``, ``scaled_0_100`` or ``none``)."""
    if rule == "none" or not values:
        return None
    total = Decimal(sum(values))
    if rule == "sum":
        result = total
    elif rule == "mean":
        result = total / len(values)
    elif rule == "scaled_0_100":
        low = sum(lo for lo, _hi in scale_bounds)
        high = sum(hi for _lo, hi in scale_bounds)
        result = (total - low) * 100 / (high - low)
    else:
        raise ValueError(f"unknown scoring rule {rule!r}")
    return result.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def score_range(rule: str, scale_bounds: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """The lowest and highest total score that ``rule`` can give over items with these scale bounds."""
    if rule == "scaled_0_100" or not scale_bounds:
        return 0.0, 100.0
    low, high = float(sum(lo for lo, _hi in scale_bounds)), float(sum(hi for _lo, hi in scale_bounds))
    if rule == "mean":
        return low / len(scale_bounds), high / len(scale_bounds)
    return low, high


def band_for(value: Decimal | None, bands: Sequence[Mapping[str, Any]]) -> str:
    """The code of the band whose ``min``–``max`` (inclusive) holds ``value``; ``""`` if none does."""
    if value is None:
        return ""
    for band in bands:
        if Decimal(str(band["min"])) <= value <= Decimal(str(band["max"])):
            return str(band["code"])
    return ""
