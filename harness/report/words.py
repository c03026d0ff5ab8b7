"""The sentences every renderer shares: the headline, the legend, the single-repeat warning.

Ratios are side / baseline; times are said as speed-ups (baseline time / side time), so "18.0x
faster" reads the way the question is asked. `~` marks a ratio that is not significant: its 95%
interval does not exclude 1 by more than the comparison's noise band (stats.significant)."""

from __future__ import annotations

from .. import registry
from ..compare import Comparison
from ..comparison_row import ComparisonRow

# time ratios and the words that name them in the headline
TIME_WORDS = {"total_time_ratio": "in total", "first_epoch_ratio": "first epoch", "steady_epoch_ratio": "steady epoch"}


def times(value: float | None) -> str:
    """18.04 -> '18.0x', 1.523 -> '1.52x', 0.0123 -> '0.0123x' (the registry's `times` format)."""
    return registry.format_value(value, "times")


def mark(row: ComparisonRow, ratio: str) -> str:
    return "~" if row.significant(ratio) is False else ""


def speedup(row: ComparisonRow, ratio: str) -> tuple[float | None, float | None, float | None]:
    """A time ratio as a speed-up (baseline time / side time) with its interval, inverted."""
    value, interval = row.ratios.get(ratio), row.interval(ratio)
    low, high = interval.low, interval.high
    flip = lambda v: None if v is None or v == 0 else 1 / v  # noqa: E731
    return flip(value), flip(high), flip(low)


def interval_text(low: float | None, high: float | None, row: ComparisonRow, base: ComparisonRow) -> str:
    """'[14.9-16.7x, 95%]', with 'within one process' when a side ran once."""
    once = row.single_repeat or base.single_repeat
    if low is None:
        return "[no interval: one repeat]" if once else ""
    scope = ", within one process" if once else ""
    return f"[{times(low)[:-1]}-{times(high)}, 95%{scope}]"


def faster(value: float | None) -> str:
    """A speed-up as '18.0x faster' or '2.50x slower'."""
    if value is None:
        return "-"
    return f"{times(value)} faster" if value >= 1 else f"{times(1 / value)} slower"


def ratio_with_interval(row: ComparisonRow, ratio: str) -> str:
    """'~1.02x [0.97-1.08x]' for a ratio that is not a time; '-' without one."""
    value = row.ratios.get(ratio)
    if value is None:
        return "-"
    low, high = row.interval(ratio).low, row.interval(ratio).high
    text = f"{mark(row, ratio)}{times(value)}"
    return text + (f" [{times(low)[:-1]}-{times(high)}]" if low is not None else "")


def speedup_with_interval(row: ComparisonRow, ratio: str) -> str:
    value, low, high = speedup(row, ratio)
    if value is None:
        return "-"
    return f"{mark(row, ratio)}{times(value)}" + (f" [{times(low)[:-1]}-{times(high)}]" if low is not None else "")


def _steady_interval(row: ComparisonRow, base: ComparisonRow) -> str:
    interval = row.interval("throughput_ratio")
    return interval_text(interval.low, interval.high, row, base)


def _steady(row: ComparisonRow, base: ComparisonRow) -> str | None:
    steady = row.ratios.get("throughput_ratio")
    if steady is None:
        return None
    text = f"{mark(row, 'throughput_ratio')}{times(steady)} steady"
    interval = _steady_interval(row, base)
    return f"{text} {interval}".strip()


def headline_for(row: ComparisonRow, base: ComparisonRow) -> str:
    """One sentence for a side against the baseline, like the seed's conclusion."""
    who, job, than = row.side, f"`{row.label}`", base.side
    steady = row.ratios.get("throughput_ratio")
    if row.ratio_withheld:
        return f"{who} vs {than} on {job}: speed ratios withheld ({row.ratio_withheld})"
    total, _, _ = speedup(row, "total_time_ratio")
    first, _, _ = speedup(row, "first_epoch_ratio")
    details = [part for part in (_steady(row, base),
                                 f"first epoch {mark(row, 'first_epoch_ratio')}{times(first)}" if first else None)
               if part]
    if total is not None:
        text = f"{who} trained {job} {mark(row, 'total_time_ratio')}{faster(total)} than {than} in total"
        text += f" ({', '.join(details)})" if details else ""
    elif steady is not None:
        text = f"{who} trained {job} {mark(row, 'throughput_ratio')}{faster(steady)} than {than} in steady state"
        rest = [_steady_interval(row, base), *details[1:]]
        text += f" ({', '.join(r for r in rest if r)})" if any(rest) else ""
    else:
        return f"{who} vs {than} on {job}: no speed ratio (status {row.status})"
    if row.ratios.get("perf_per_dollar_ratio") is not None:
        text += f"; {ratio_with_interval(row, 'perf_per_dollar_ratio')} the samples/s per dollar"
    if row.ratios.get("samples_per_joule_ratio") is not None:
        text += f"; {ratio_with_interval(row, 'samples_per_joule_ratio')} the samples per joule"
    return text + single_repeat_note(row, base)


def single_repeat_note(row: ComparisonRow, base: ComparisonRow) -> str:
    """'; ONE REPEAT on tx2: ...' when a side ran the job once, else ''."""
    once = [r for r in (base, row) if r.single_repeat]
    if not once:
        return ""
    names = " and ".join(r.side for r in once)
    needed = max(r.value("repeats_needed") or 0 for r in (base, row))
    return (f"; ONE REPEAT on {names}: the interval covers within-process noise only, not what a rerun gives "
            f"(run --repeat {needed} for a between-process interval)")


def headline(comparison: Comparison) -> list[str]:
    """One sentence per job and side against the baseline."""
    if len(comparison.sides) < 2:
        return []
    base_rows = {row.key: row for row in comparison.rows if row.side == comparison.sides[0]}
    return [headline_for(row, base_rows[row.key]) for row in comparison.rows if row is not base_rows[row.key]]


def legend(comparison: Comparison) -> str:
    noise = f"{comparison.noise:.0%}" if comparison.noise * 100 == round(comparison.noise * 100) else f"{comparison.noise:.1%}"
    return (
        "samples/s: steady-state throughput (warm-up excluded: the first epoch, or the first 5 steps of a single "
        "one) over the ok repeats. Intervals (95%): two-level bootstrap, resampling repeats (processes) and then "
        "blocks of steps within each, widened for few processes (docs/statistics.md); with one repeat a side's "
        "interval covers within-process noise only and its repeats read `1 only`. A ratio is side / baseline; times "
        f"are shown as speed-ups (baseline time / side time). `~` marks a ratio that is not significant: its "
        f"interval does not exclude 1 by more than the noise band of {noise} (`--noise`). process cv: the spread "
        "of the repeats' throughputs (sd / mean). Step times: median and p95 after warm-up; outliers: steady "
        "steps with modified z-score |0.6745 (x - median) / MAD| > 3.5. `withheld`: no speed ratio, because a "
        "side was emulated or used another dataset (see below; `--force`)."
    )


def single_repeat_sides(comparison: Comparison) -> list[str]:
    """'tx2: mnist_mlp dropout=0.2 (1 repeat; 14 for an interval within the noise band)' per such row."""
    return [f"{row.side}: {row.label} ran once; about {row.value('repeats_needed')} repeats would give an interval "
            f"within the {comparison.noise:.0%} noise band" for row in comparison.rows
            if row.single_repeat and row.value("repeats_needed")]
