"""bench/pairs.py: the interval a paired benchmark quotes, and what it reads as (issue 8's
verdict on "no lower than before" comes from it)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

_SPEC = importlib.util.spec_from_file_location("bench_pairs", Path(__file__).resolve().parent.parent / "bench" / "pairs.py")
pairs = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(pairs)  # type: ignore[union-attr]


def test_the_interval_holds_the_median_and_lies_within_the_ratios():
    ratios = [0.82, 1.02, 0.91, 0.97, 0.88, 1.05, 0.93]
    low, high = pairs.median_interval(ratios)
    assert min(ratios) <= low <= sorted(ratios)[3] <= high <= max(ratios)


def test_the_interval_is_the_same_for_the_same_runs():
    ratios = [0.8, 0.9, 1.0, 1.1, 0.95]
    assert pairs.median_interval(ratios) == pairs.median_interval(list(ratios))


def test_identical_ratios_give_a_point():
    assert pairs.median_interval([0.9] * 6) == (0.9, 0.9)


def test_no_ratios_give_no_interval():
    assert all(math.isnan(x) for x in pairs.median_interval([]))


@pytest.mark.parametrize(("ratios", "higher_is_better", "expected"), [
    ([0.80, 0.82, 0.85, 0.79, 0.84, 0.81], True, "worse"),  # req/s well below the old tree's
    ([1.10, 1.12, 1.08, 1.15, 1.09, 1.11], True, "better"),
    ([0.85, 1.05, 0.95, 1.10, 0.90, 1.02], True, "within noise"),
    ([1.10, 1.12, 1.08, 1.15, 1.09, 1.11], False, "worse"),  # a p50 above the old tree's
    ([0.90, 0.92, 0.88, 0.91, 0.93, 0.89], False, "better"),
    ([0.9, 1.1], True, "too few runs"),
])
def test_the_reading_says_which_side_of_one_the_whole_interval_lies(ratios, higher_is_better, expected):
    assert pairs.reading(ratios, higher_is_better) == expected
