"""Pure statistics over step and epoch times. No I/O (but code_version reading its own source), no
formatting: tested against hand values.

Warm-up rule: with more than one epoch, the whole first epoch is warm-up (graph building,
autotuning); with a single epoch, its first `WARMUP_STEPS` steps are.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

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
    draws = np.empty(resamples)
    for first in range(0, resamples, _CHUNK):  # the same draws as one call, in cache-sized pieces (~15% faster)
        picks = rng.integers(0, starts.size, size=(min(_CHUNK, resamples - first), starts.size))
        draws[first:first + len(picks)] = block_samples[picks].sum(axis=1) / block_seconds[picks].sum(axis=1)
    return draws


_CHUNK = 128


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


# --- two-level resampling: processes (repeats), then blocks of steps within each chosen process ---

CONFIDENCE = 0.95
NOISE = 0.03          # default noise band: a ratio within 3% of 1 beyond its interval is not significant
ASSUMED_PROCESS_CV = 0.05  # between-process spread assumed for `repeats_needed` when only one process ran
TWO_LEVEL_RESAMPLES = 1000
TWO_LEVEL_BLOCKS = 120


def t_quantile(p: float, df: float) -> float:
    """Student-t quantile: exact for df <= 2, else the Cornish-Fisher series in the normal quantile
    (Abramowitz & Stegun 26.7.5; within 0.2% of the exact value for df >= 3 at p = 0.975)."""
    if df == math.inf:
        return normal_quantile(p)
    if df < 2:  # df between 1 and 2 (a Welch df): the df = 1 value, the wider one
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p)))
    z = normal_quantile(p)
    terms = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
             (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
             (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
    return z + sum(term / df ** (i + 1) for i, term in enumerate(terms))


def normal_quantile(p: float) -> float:
    """Inverse of the standard normal CDF (Acklam's rational approximation refined by one Halley
    step: relative error below 1e-12)."""
    if not 0 < p < 1:
        raise ValueError("p must be in (0, 1)")
    a = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
         -3.066479806614716e+01, 2.506628277459239e+00)
    b = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
         -1.328068155288572e+01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
         4.374664141464968e+00, 2.938163982698783e+00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
    q = min(p, 1 - p)
    if q < 0.02425:
        r = math.sqrt(-2 * math.log(q))
        x = (((((c[0] * r + c[1]) * r + c[2]) * r + c[3]) * r + c[4]) * r + c[5]) / \
            ((((d[0] * r + d[1]) * r + d[2]) * r + d[3]) * r + 1)
    else:
        r = (q - 0.5) ** 2
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * (q - 0.5) / \
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    e = 0.5 * math.erfc(-x / math.sqrt(2)) - q
    x = x - e * math.sqrt(2 * math.pi) * math.exp(x * x / 2) / (1 + x * e * math.sqrt(2 * math.pi) * math.exp(x * x / 2) / 2)
    return x if p <= 0.5 else -x


def _blocks(seconds: np.ndarray, samples: np.ndarray, max_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.linspace(0, seconds.size, min(seconds.size, max_blocks) + 1).astype(int)[:-1]
    return np.add.reduceat(seconds, starts), np.add.reduceat(samples, starts)


def two_level_draws(processes, resamples: int = TWO_LEVEL_RESAMPLES, seed: int = 0,
                    max_blocks: int = BOOTSTRAP_BLOCKS, two_level_blocks: int = TWO_LEVEL_BLOCKS):
    """Bootstrap draws of throughput over several processes, or None without steps.

    `processes` is a list of (seconds, samples) arrays, one per process (repeat). Each draw picks
    as many processes as there are, with replacement, then within each chosen process resamples
    its contiguous blocks of steps (Kalibera & Jones 2013: resample every level of the design),
    and divides the draw's samples by its seconds. With one process it is the block bootstrap of
    `throughput_draws` (up to `max_blocks` blocks); with several, each process is cut into
    `two_level_blocks` / processes blocks (at least 8): the between-process level dominates, and
    the work stays at resamples x two_level_blocks."""
    processes = [(np.asarray(s, float), np.asarray(n, float)) for s, n in processes]
    processes = [(s, n) for s, n in processes if s.size and s.sum() > 0]
    if not processes:
        return None
    if len(processes) == 1:
        seconds, samples = processes[0]
        return throughput_draws(seconds, samples, resamples=resamples, seed=seed, max_blocks=max_blocks)
    per_process = max(8, two_level_blocks // len(processes))
    blocks = [_blocks(s, n, per_process) for s, n in processes]
    counts = np.array([b[0].size for b in blocks])
    width = counts.max()
    table = np.zeros((len(blocks), width + 1, 2))  # column `width`: an empty block for unused slots
    for i, (s, n) in enumerate(blocks):
        table[i, :s.size, 0], table[i, :n.size, 1] = s, n
    rng = np.random.default_rng(seed)
    chosen = rng.integers(0, len(blocks), size=(resamples, len(blocks)))          # level 1: processes
    chosen_counts = counts[chosen][..., None]
    picks = (rng.random((resamples, len(blocks), width)) * chosen_counts).astype(np.intp)  # level 2: blocks
    picks[np.arange(width) >= chosen_counts] = width
    totals = table[chosen[..., None], picks].sum(axis=(1, 2))
    return totals[:, 1] / totals[:, 0]


def scalar_draws(values, resamples: int = TWO_LEVEL_RESAMPLES, seed: int = 0):
    """Process-level bootstrap draws of the geometric mean of one positive value per process (a
    metric with no steps under it: total or first-epoch time, samples per joule); None below two."""
    x = np.asarray([v for v in values if v is not None and v > 0], float)
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    return np.exp(np.log(x)[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1))


@dataclasses.dataclass
class Spread:
    """One side's sampling uncertainty on the log scale: the bootstrap variance of log(estimate)
    over `processes` processes (1: within-process noise only)."""

    variance: float
    processes: int
    center: float | None = None  # the geometric mean the draws resample (scalar metrics), else None

    @property
    def corrected(self) -> float:
        """The bootstrap variance widened by n / (n - 1): a bootstrap over n processes shrinks the
        between-process variance by (n - 1) / n (Hesterberg 2015, the expanded bootstrap)."""
        n = self.processes
        return self.variance * n / (n - 1) if n > 1 else self.variance


def spread(draws, processes: int, center: float | None = None) -> Spread | None:
    if draws is None or len(draws) < 2 or np.any(np.asarray(draws) <= 0):
        return None
    return Spread(float(np.var(np.log(draws), ddof=1)), processes, center)


def step_statistics(processes, seed: int) -> tuple[dict[str, Any], Spread | None]:
    """Statistics over the steady steps of one side's processes ((seconds, samples) arrays, each
    with steps): the pooled throughput, its two-level bootstrap interval, the spread between
    processes, the pooled step-time median, p95 and outliers, and the side's log-scale Spread."""
    seconds = np.concatenate([s for s, _ in processes])
    samples = np.concatenate([n for _, n in processes])
    estimate = float(samples.sum() / seconds.sum())
    part = spread(two_level_draws(processes, seed=seed), len(processes))
    low, high = log_interval(estimate, [part])
    per_process = np.array([n.sum() / s.sum() for s, n in processes])
    cv = float(per_process.std(ddof=1) / per_process.mean()) if per_process.size > 1 else None
    flagged = int(outliers(seconds).sum())
    p50, p95 = np.percentile(seconds, [50, 95])
    return {
        "samples_per_sec": estimate, "samples_per_sec_ci_low": low, "samples_per_sec_ci_high": high,
        "processes": len(processes), "process_cv": cv,
        "process_samples_per_sec_min": float(per_process.min()), "process_samples_per_sec_max": float(per_process.max()),
        "step_seconds_median": float(p50), "step_seconds_p95": float(p95),
        "steady_steps": int(seconds.size), "step_outliers": flagged, "step_outlier_share": flagged / seconds.size,
    }, part


def code_version(*functions: Callable[..., Any]) -> str:
    """What remembered statistics were computed by: this module's source, its parameters as they are
    now, numpy's version (its random streams) and the source of the callers' `functions`; any change
    gives another version, so nothing computed by other code or parameters is reused."""
    parameters = [WARMUP_STEPS, BOOTSTRAP_RESAMPLES, BOOTSTRAP_BLOCKS, OUTLIER_Z, CONFIDENCE,
                  TWO_LEVEL_RESAMPLES, TWO_LEVEL_BLOCKS, _CHUNK, np.__version__]
    return hashlib.sha1(repr([_sources(functions), parameters]).encode()).hexdigest()


@functools.lru_cache(maxsize=None)
def _sources(functions: tuple[Callable[..., Any], ...]) -> str:
    return "\0".join([inspect.getsource(sys.modules[__name__]), *map(inspect.getsource, functions)])


def geometric_mean(values) -> float | None:
    x = np.asarray([v for v in values if v is not None and v > 0], float)
    return float(np.exp(np.log(x).mean())) if x.size else None


def log_interval(estimate: float | None, parts: Sequence[Spread | None], confidence: float = CONFIDENCE,
                 ) -> tuple[float | None, float | None]:
    """Interval of an estimate that is a product or ratio of independent sides' estimates:
    exp(log(estimate) +- t * sqrt(sum of corrected log variances)), with Welch-Satterthwaite's df
    over the sides that ran several processes (a side of one process counts as df = infinity, so
    its interval is the within-process one). (None, None) when a side has no spread."""
    sides = [p for p in parts if p is not None]
    if estimate is None or estimate <= 0 or len(sides) < len(parts):
        return None, None
    total = sum(p.corrected for p in sides)
    if total == 0:
        return estimate, estimate
    denominator = sum(p.corrected ** 2 / (p.processes - 1) for p in sides if p.processes > 1)
    df = total ** 2 / denominator if denominator > 0 else math.inf
    half = t_quantile(1 - (1 - confidence) / 2, df) * math.sqrt(total)
    return estimate * math.exp(-half), estimate * math.exp(half)


def significant(low: float | None, high: float | None, noise: float = NOISE) -> bool | None:
    """A ratio is significant when its whole interval lies beyond the noise band around 1:
    low > 1 + noise or high < 1 / (1 + noise). None without an interval."""
    if low is None or high is None:
        return None
    return bool(low > 1 + noise or high < 1 / (1 + noise))


def repeats_needed(cv: float | None, noise: float = NOISE, confidence: float = CONFIDENCE,
                   most: int = 100) -> int:
    """Processes per side for a throughput interval whose half-width is within `noise` given a
    between-process coefficient of variation `cv` (ASSUMED_PROCESS_CV when unknown); at least 3."""
    cv = ASSUMED_PROCESS_CV if cv is None or not math.isfinite(cv) else cv
    for n in range(3, most + 1):
        if t_quantile(1 - (1 - confidence) / 2, n - 1) * cv / math.sqrt(n) <= noise:
            return n
    return most
