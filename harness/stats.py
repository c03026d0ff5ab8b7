"""Pure statistics over step and epoch times. No I/O, no formatting: tested against hand values.

Warm-up rule: with more than one epoch, the whole first epoch is warm-up (graph building,
autotuning); with a single epoch, its first `WARMUP_STEPS` steps are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

WARMUP_STEPS = 5


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 50)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def steady_steps(steps: Sequence[dict]) -> list[dict]:
    """The steps after warm-up (see module docstring)."""
    epochs = {step["epoch"] for step in steps}
    if len(epochs) > 1:
        first = min(epochs)
        return [step for step in steps if step["epoch"] != first]
    return list(steps[WARMUP_STEPS:])


def throughput(steps: Sequence[dict]) -> float | None:
    """Samples per second over the given steps: total samples / total step time."""
    seconds = sum(step["seconds"] for step in steps)
    if not steps or seconds <= 0:
        return None
    return sum(step["batch_size"] for step in steps) / seconds


# --- vectorised statistics over step arrays (numpy): confidence intervals and outliers ---

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_BLOCKS = 1000
OUTLIER_Z = 3.5


def throughput_draws(seconds, samples, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0,
                     max_blocks: int = BOOTSTRAP_BLOCKS):
    """Bootstrap draws of throughput (sum of samples / sum of seconds), or None for no steps.

    Steps are grouped into at most `max_blocks` contiguous blocks and whole blocks are resampled
    (a block bootstrap): step times are autocorrelated (thermal state, GC, caches), and it bounds
    the work at resamples x blocks whatever the step count (100,000 steps cost the same as 1,000).
    With no more steps than blocks every step is its own block: the ordinary bootstrap."""
    seconds = np.asarray(seconds, dtype=float)
    samples = np.asarray(samples, dtype=float)
    if seconds.size == 0 or seconds.sum() <= 0:
        return None
    starts = np.linspace(0, seconds.size, min(seconds.size, max_blocks) + 1).astype(int)[:-1]
    block_seconds = np.add.reduceat(seconds, starts)
    block_samples = np.add.reduceat(samples, starts)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, starts.size, size=(resamples, starts.size))
    return block_samples[picks].sum(axis=1) / block_seconds[picks].sum(axis=1)


def interval(draws, confidence: float = 0.95) -> tuple[float, float] | tuple[None, None]:
    """Percentile interval of bootstrap draws; (None, None) without draws."""
    if draws is None or len(draws) == 0:
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(low), float(high)


def modified_z(values):
    """Iglewicz-Hoaglin modified z-score: 0.6745 (x - median) / MAD. When MAD is 0 (over half the
    values equal) the mean absolute deviation stands in, scaled by 1.253314; all equal: all 0."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return x
    center = np.median(x)
    deviation = np.abs(x - center)
    mad = np.median(deviation)
    if mad > 0:
        return 0.6745 * (x - center) / mad
    mean_ad = deviation.mean()
    if mean_ad > 0:
        return (x - center) / (1.253314 * mean_ad)
    return np.zeros_like(x)


def outliers(values, threshold: float = OUTLIER_Z):
    """Boolean mask of values whose |modified z-score| exceeds `threshold` (3.5)."""
    return np.abs(modified_z(values)) > threshold
