"""Figures for report.html, rendered with matplotlib's Agg backend (no display) to PNG bytes.

Each function takes the Comparison and the per-job series (steps, epochs, telemetry) and returns
(title, png bytes, caption) figures; the HTML renderer embeds them as data URIs."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import jobdata, registry
from ..compare import Comparison, load_job, steady_mask
from ..results import StoredRun
from ..telemetry.base import TELEMETRY_FILE
from ..telemetry.reader import read_telemetry_frame

MAX_JOBS = 6  # per-job figures beyond this would bury the report; the tables still have every job
# telemetry series (registry.SERIES) worth a panel, in order of interest; whatever else exists is ignored
TELEMETRY_PANELS = ("gpu_util_percent", "power_w", "gpu_memory_used_mb", "cpu_percent", "rss_mb", "memory_mb")
DPI = 80


@dataclasses.dataclass
class Series:
    """What one side ran for one job: steady step times, epochs and telemetry (first ok repeat)."""

    side: str
    label: str
    steady_seconds: np.ndarray
    epochs: list[dict[str, Any]]
    start_t: float | None
    telemetry: pd.DataFrame
    warmup_seconds: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    step_t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))        # first ok repeat
    step_seconds: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # first ok repeat


def collect(comparison: Comparison, runs: list[StoredRun]) -> list[Series]:
    """Series for each side x aligned job, read from the runs' job folders."""
    by_side = dict(zip(comparison.sides, runs))
    found = []
    for row in comparison.rows:
        run = by_side[row.side]
        results = [r for r in run.results if r["key"] == row.key and r["status"] == "ok"]
        datas = [load_job(run, r) for r in results]
        steady = [d.steps["seconds"][steady_mask(d.steps["epoch"])] for d in datas]
        warmup = [d.steps["seconds"][~steady_mask(d.steps["epoch"])] for d in datas]
        data = datas[0] if datas else jobdata.empty()
        start = data.first("start")
        telemetry = pd.DataFrame()
        if results and "dir" in results[0]:
            telemetry = read_telemetry_frame(Path(run.path) / results[0]["dir"] / TELEMETRY_FILE)
        found.append(Series(row.side, row.label, np.concatenate(steady) if steady else np.zeros(0),
                            data.epochs, start.get("t") if start else None, telemetry,
                            np.concatenate(warmup) if warmup else np.zeros(0), data.steps["t"], data.steps["seconds"]))
    return found


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _labels(comparison: Comparison) -> list[str]:
    return list(dict.fromkeys(row.label for row in comparison.rows))


def _colors(comparison: Comparison) -> dict[str, Any]:
    palette = plt.get_cmap("tab10")
    return {side: palette(i % 10) for i, side in enumerate(comparison.sides)}


def throughput(comparison: Comparison) -> tuple[str, bytes, str] | None:
    labels, colors = _labels(comparison), _colors(comparison)
    if not any(row.value("samples_per_sec") for row in comparison.rows):
        return None
    width = 0.8 / len(comparison.sides)
    figure, axes = plt.subplots(figsize=(max(6, 1.2 * len(labels) * len(comparison.sides)), 4))
    for i, side in enumerate(comparison.sides):
        rows = {row.label: row for row in comparison.rows if row.side == side}
        values = [rows[label].value("samples_per_sec") or 0.0 for label in labels]
        low = [v - (rows[label].value("samples_per_sec_ci_low") or v) for label, v in zip(labels, values)]
        high = [(rows[label].value("samples_per_sec_ci_high") or v) - v for label, v in zip(labels, values)]
        axes.bar(np.arange(len(labels)) + i * width, values, width, yerr=[low, high], capsize=3,
                 label=side, color=colors[side])
    axes.set_xticks(np.arange(len(labels)) + width * (len(comparison.sides) - 1) / 2, labels, rotation=20, ha="right")
    axes.set_ylabel("samples/s (steady state)")
    axes.legend()
    return ("Throughput per job", _png(figure), "Steady-state samples/s; error bars: 95% bootstrap CI.")


# the ratios plotted and their words; one whose lower value is better (a time) is plotted inverted, as a speed-up
RATIO_PLOT = (("throughput_ratio", "steady throughput"), ("total_time_ratio", "total speed-up"),
              ("first_epoch_ratio", "first-epoch speed-up"), ("perf_per_dollar_ratio", "samples/s per $"),
              ("samples_per_joule_ratio", "samples per J"))


def ratios(comparison: Comparison) -> tuple[str, bytes, str] | None:
    """Every ratio of every side against the baseline, times as speed-ups, with its 95% interval,
    on a log axis (18x and 1.02x both readable); hollow markers: not significant."""
    points = []
    for row in comparison.rows:
        if row.side == comparison.sides[0]:
            continue
        for name, words in RATIO_PLOT:
            value, (low, high) = row.ratios.get(name), (row.interval(name).low, row.interval(name).high)
            if value is None or value <= 0:
                continue
            if registry.better(name) == registry.LOWER:
                value, low, high = 1 / value, (1 / high if high else None), (1 / low if low else None)
            points.append((f"{row.side}: {row.label}\n{words}", value, low, high, row.side, row.significant(name)))
    if not points:
        return None
    colors = _colors(comparison)
    figure, axes = plt.subplots(figsize=(7.5, 0.45 * len(points) + 1.2))
    for i, (name, value, low, high, side, significant) in enumerate(points):
        error = [[value - low], [high - value]] if low is not None and high is not None else None
        axes.errorbar([value], [i], xerr=error, fmt="o", capsize=3, color=colors[side],
                      mfc=colors[side] if significant else "white")
    axes.axvline(1.0, color="#444", lw=0.8)
    noise = comparison.noise
    axes.axvspan(1 / (1 + noise), 1 + noise, color="#ddd", zorder=0)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    axes.xaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    axes.tick_params(axis="x", which="minor", labelsize=7)
    axes.set_yticks(range(len(points)), [p[0] for p in points], fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel(f"side / {comparison.sides[0]} (log scale; > 1 is better)")
    return ("Ratios against the baseline", _png(figure),
            f"95% intervals; hollow: not significant (interval within the {noise:.0%} noise band, grey); "
            "times as speed-ups (baseline time / side time); a point without bars has no interval (one repeat).")


def step_times(comparison: Comparison, series: list[Series]) -> tuple[str, bytes, str] | None:
    """Per job, one histogram of step times per side: the steady steps solid, the warm-up steps
    (first epoch, or the first steps of a single one) shaded."""
    labels = _labels(comparison)[:MAX_JOBS]
    if not any(s.steady_seconds.size for s in series):
        return None
    colors = _colors(comparison)
    figure, panels = plt.subplots(1, len(labels), figsize=(3.6 * len(labels) + 1, 3.4), squeeze=False)
    for axes, label in zip(panels[0], labels):
        chosen = [s for s in series if s.label == label and s.steady_seconds.size]
        values = np.concatenate([np.concatenate([s.steady_seconds, s.warmup_seconds]) for s in chosen] or [np.zeros(0)])
        values = values[values > 0] * 1000
        if values.size:
            log = values.max() / values.min() > 20
            edges = (np.geomspace(values.min(), values.max(), 40) if log
                     else np.linspace(values.min(), values.max(), 40))
            for s in chosen:
                axes.hist(s.steady_seconds * 1000, edges, color=colors[s.side], alpha=0.7, label=f"{s.side} steady")
                if s.warmup_seconds.size:
                    axes.hist(s.warmup_seconds * 1000, edges, color=colors[s.side], alpha=0.25, hatch="//",
                              label=f"{s.side} warm-up")
            if log:
                axes.set_xscale("log")
        axes.set_title(label, fontsize=8)
        axes.set_xlabel("step time, ms", fontsize=8)
        axes.legend(fontsize=6)
    panels[0][0].set_ylabel("steps")
    return ("Step-time distributions", _png(figure),
            "Per side: steady steps solid, warm-up steps shaded (hatched); every ok repeat.")


def _origin(item: Series) -> float:
    """Telemetry time zero: the job's start event when it shares the telemetry's clock."""
    t = item.telemetry["t"]
    if item.start_t is not None and t.min() - 3600 <= item.start_t <= t.max() + 3600:
        return item.start_t
    return float(t.min())


def panels_for(chosen: list[Series]) -> list[str]:
    """Up to three telemetry metrics to plot, the most telling first (GPU before CPU)."""
    present = set().union(*(set(s.telemetry["metric"]) for s in chosen)) if chosen else set()
    return [m for m in TELEMETRY_PANELS if m in present][:3]


def telemetry(comparison: Comparison, series: list[Series]) -> list[tuple[str, bytes, str]]:
    """Per job: one column per side, step time and the telemetry panels (GPU load and power first)
    on that side's time axis, so a slow stretch of steps lines up with what the device did."""
    figures = []
    colors = _colors(comparison)
    for label in _labels(comparison)[:MAX_JOBS]:
        chosen = [s for s in series if s.label == label and (not s.telemetry.empty or s.step_t.size)]
        with_telemetry = [s for s in chosen if not s.telemetry.empty]
        metrics = panels_for(with_telemetry)
        if not metrics:
            continue
        rows = ["step_seconds", *metrics]
        figure, panels = plt.subplots(len(rows), len(chosen), figsize=(4.5 * len(chosen) + 1, 2.0 * len(rows)),
                                      sharex="col", squeeze=False)
        for column, item in enumerate(chosen):
            origin = _origin(item) if not item.telemetry.empty else (item.start_t or 0.0)
            for axes, metric in zip(panels[:, column], rows):
                if metric == "step_seconds":
                    axes.plot(item.step_t - origin, item.step_seconds * 1000, ".", ms=2, color=colors[item.side])
                    positive = item.step_seconds[item.step_seconds > 0]
                    if positive.size and positive.max() / positive.min() > 20:
                        axes.set_yscale("log")
                elif not item.telemetry.empty:
                    found = item.telemetry[item.telemetry["metric"] == metric]
                    axes.plot(found["t"] - origin, found["value"], color=colors[item.side], lw=1)
                for epoch in item.epochs:
                    if "t" in epoch:
                        axes.axvline(epoch["t"] - origin, color="#888", ls=":", lw=0.8)
                if column == 0:
                    axes.set_ylabel("step ms" if metric == "step_seconds" else metric, fontsize=8)
            panels[0, column].set_title(item.side, fontsize=9)
            panels[-1, column].set_xlabel("seconds since the start event", fontsize=8)
        figures.append((f"Telemetry: {label}", _png(figure),
                        "Per side: step time, then GPU load, power (what the samplers recorded) on one time axis; "
                        "dotted lines: ends of epochs."))
    return figures


def accuracy(comparison: Comparison, series: list[Series]) -> tuple[str, bytes, str] | None:
    colors = _colors(comparison)
    lines = [(s, [e["metrics"].get("val_accuracy", e["metrics"].get("accuracy")) for e in s.epochs])
             for s in series if s.label in _labels(comparison)[:MAX_JOBS] and s.epochs
             and isinstance(s.epochs[0].get("metrics"), dict)]
    lines = [(s, values) for s, values in lines if any(v is not None for v in values)]
    if not lines:
        return None
    figure, axes = plt.subplots(figsize=(7, 3.6))
    styles = ["-", "--", "-.", ":"]
    for s, values in lines:
        style = styles[_labels(comparison).index(s.label) % len(styles)]
        axes.plot(range(1, len(values) + 1), [np.nan if v is None else v for v in values], style, marker="o",
                  color=colors[s.side], label=f"{s.side}: {s.label}", ms=3)
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel("validation accuracy")
    axes.legend(fontsize=7)
    return ("Accuracy per epoch", _png(figure), "Validation accuracy (training accuracy where there is none).")


def energy(comparison: Comparison) -> tuple[str, bytes, str] | None:
    rows = [row for row in comparison.rows if row.value("energy_per_sample_j") is not None]
    if not rows:
        return None
    colors = _colors(comparison)
    figure, axes = plt.subplots(figsize=(7, 3.6))
    names = [f"{row.side}\n{row.label}" for row in rows]
    axes.bar(names, [row.value("energy_per_sample_j") for row in rows], color=[colors[row.side] for row in rows])
    axes.set_ylabel("energy per sample, J")
    axes.tick_params(axis="x", labelsize=7)
    return ("Energy per sample", _png(figure), "Net of the idle baseline where the sampler measured one.")


def figures(comparison: Comparison, runs: list[StoredRun]) -> list[tuple[str, bytes, str]]:
    series = collect(comparison, runs)
    found = [ratios(comparison) if len(comparison.sides) > 1 else None, throughput(comparison),
             step_times(comparison, series), *telemetry(comparison, series),
             accuracy(comparison, series), energy(comparison)]
    return [f for f in found if f is not None]
