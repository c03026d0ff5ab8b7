"""Pure statistics over step and epoch times. No I/O, no formatting: tested against hand values.

Warm-up rule: with more than one epoch, the whole first epoch is warm-up (graph building,
autotuning); with a single epoch, its first `WARMUP_STEPS` steps are.
"""

from __future__ import annotations

import math
from typing import Sequence

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
