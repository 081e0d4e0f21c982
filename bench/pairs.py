"""Paired comparisons of two source trees: how sure a run of ``bench/run.py --baseline`` can be.

Owns: statistics over plain lists of per-repetition ratios (new/old, same repetition and
concurrency): their median, a bootstrap interval for that median, and what the interval says.
Must not run or time anything.

Why: the same code has measured 1.02 and 0.82 (signed req/s at c=64, medians of three paired
repetitions) in two runs minutes apart on this shared two-core machine. A median of a few
ratios is not a verdict; an interval says whether the runs can tell the trees apart at all.
"""

from __future__ import annotations

import math
import random
import statistics

CONFIDENCE = 0.95
RESAMPLES = 4000
SEED = 8  # fixed: the same runs always print the same interval


def median_interval(ratios: list[float], confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                    seed: int = SEED) -> tuple[float, float]:
    """The percentile bootstrap interval of the median of ``ratios`` (resampled with
    replacement, ``resamples`` times, with a fixed seed). (nan, nan) without ratios."""
    if not ratios:
        return math.nan, math.nan
    rng = random.Random(seed)
    count = len(ratios)
    medians = sorted(statistics.median(rng.choices(ratios, k=count)) for _ in range(resamples))
    tail = (1.0 - confidence) / 2.0
    return medians[int(tail * resamples)], medians[min(resamples - 1, int((1.0 - tail) * resamples))]


def reading(ratios: list[float], higher_is_better: bool) -> str:
    """What the interval of the paired median says of new against old: "better", "worse" (the
    whole interval on that side of 1) or "within noise" (1 is inside it: these runs cannot tell
    the trees apart). "too few runs" under three ratios."""
    if len(ratios) < 3:
        return "too few runs"
    low, high = median_interval(ratios)
    if low > 1.0:
        return "better" if higher_is_better else "worse"
    if high < 1.0:
        return "worse" if higher_is_better else "better"
    return "within noise"
