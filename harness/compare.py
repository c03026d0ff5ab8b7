"""Aligns jobs across runs and computes statistics and ratios against a baseline.

`compare(runs)` returns a Comparison; it reads the runs' step arrays (harness.jobdata, cached)
but formats nothing: renderers live in harness/report. harness.explain adds to each row how
close the side came to its device's peak and a verdict on what sets the pace. Every ratio is side / baseline
(throughput, samples/J, samples/s per dollar: > 1 is better; times: < 1 is faster).
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import envdiff, explain, jobdata, registry, stats
from .comparison_row import ComparisonRow, RatioInterval
from .results import StoredRun

# scalar metrics taken from result.json, reduced over repeats to the median of the ok ones (the
# telemetry ones are None where no sampler recorded them); their order is summary.csv's columns'
METRICS = registry.names(compared=True)
RATIOS = registry.ratios()  # ratio -> the metric it is side / baseline of
TIME_RATIOS = {ratio: metric for ratio, metric in RATIOS.items() if registry.better(ratio) == registry.LOWER}
Loader = Callable[[StoredRun, dict[str, Any]], jobdata.JobData]


@dataclasses.dataclass
class Comparison:
    sides: list[str]                      # one name per run, baseline first
    runs: list[dict[str, Any]]            # run_id, target, status, created, emulated, price_usd per side
    rows: list[ComparisonRow]             # one per aligned job x side: values, environment, ratios
    only_in: dict[str, list[str]]         # side -> labels of jobs no other side has
    differences: dict[str, dict[str, list[Any]]] = dataclasses.field(default_factory=dict)  # label -> environment name -> per side
    withheld: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # speed ratios refused, and why
    forced: bool = False                  # --force: ratios computed despite the blockers
    noise: float = stats.NOISE            # significance: the interval must exclude 1 by more than this
    confidence: float = stats.CONFIDENCE  # of every interval

    def to_json(self) -> dict[str, Any]:
        """summary.json's object: every field, each row flat (shared with this comparison, not copied)."""
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        data["rows"] = [row.to_json() for row in self.rows]
        return data


def side_names(runs: list[StoredRun]) -> list[str]:
    """Target names, or run ids where two runs share a target."""
    targets = [run.target for run in runs]
    return [run.target if targets.count(run.target) == 1 else run.run_id for run in runs]


def load_job(run: StoredRun, result: dict[str, Any]) -> jobdata.JobData:
    """The default loader: the job's events from its folder (empty when there is none)."""
    if "dir" not in result:
        return jobdata.empty()
    return jobdata.load(run.path / result["dir"])


def steady_mask(epoch: np.ndarray) -> np.ndarray:
    """stats.steady_steps over arrays: drop the first epoch, or the first steps of a single one."""
    if epoch.size == 0:
        return np.zeros(0, bool)
    if np.unique(epoch).size > 1:
        return epoch != epoch.min()
    mask = np.ones(epoch.size, bool)
    mask[:stats.WARMUP_STEPS] = False
    return mask


def _step_statistics(datas: list[jobdata.JobData], seed: int) -> tuple[dict[str, Any], stats.Spread | None]:
    """Statistics over the steady steps of every ok repeat (one process each): stats.step_statistics.
    Remembered for stored jobs under their stamps, the seed and the statistics' code version
    (jobdata.recall), so a warm compare reads no steps (docs/performance.md)."""
    key = jobdata.memo_key(datas, seed=seed, version=stats.code_version(_step_statistics, steady_mask))
    remembered = jobdata.recall(key)
    if remembered is not None:
        values, part = remembered
        return values, stats.Spread(**part) if part else None
    processes = []
    for data in datas:
        mask = steady_mask(data.steps["epoch"])
        seconds, samples = data.steps["seconds"][mask], data.steps["batch_size"][mask]
        if seconds.size and seconds.sum() > 0:
            processes.append((seconds, samples))
    values, spread = stats.step_statistics(processes, seed) if processes else ({}, None)
    jobdata.remember(key, [values, dataclasses.asdict(spread) if spread else None])
    return values, spread


def _median_metrics(ok: list[dict[str, Any]]) -> dict[str, Any]:
    values = {}
    for metric in METRICS:
        numbers = [r["metrics"].get(metric) for r in ok if isinstance(r["metrics"].get(metric), (int, float))]
        values[metric] = stats.median(numbers)
    return values


def _seed(key: str, results: list[dict[str, Any]], datas: list[jobdata.JobData]) -> int:
    """A bootstrap seed from what is resampled, the job's steps and metrics: the same stored data
    always gives the same draws (no random part of a run id), and two sides' different data give
    independent ones."""
    seed = zlib.crc32(key.encode())
    for data in datas:
        seed = data.crc32_of_seconds(seed)  # from the cache's checksum where it has one
    for result in results:
        seed = zlib.crc32(json.dumps(result["metrics"], sort_keys=True, default=str).encode(), seed)
    return seed


# the metric each ratio's interval comes from, and whether it is measured per step (two levels)
SPREAD_OF = {"throughput_ratio": "samples_per_sec", "perf_per_dollar_ratio": "samples_per_sec",
             **{ratio: metric for ratio, metric in TIME_RATIOS.items()}, "samples_per_joule_ratio": "samples_per_joule"}


@dataclasses.dataclass
class _Side:
    """One job on one side before it meets the baseline: ComparisonRow's parts, and the log-scale
    Spread of each metric a ratio is taken of (None where it has none: one process and no steps)."""

    status: str
    repeats: int
    repeats_ok: int
    measured: dict[str, Any]
    environment: dict[str, Any]
    explanation: dict[str, Any]
    spreads: dict[str, stats.Spread | None]


def _aggregate(run: StoredRun, results: list[dict[str, Any]], load: Loader, noise: float) -> _Side:
    """One side's values over repeats, the environment the job ran in, its explanation and Spreads."""
    ok = [r for r in results if r["status"] == "ok"]
    values: dict[str, Any] = {"status": "ok" if ok else results[0]["status"], "repeats": len(results),
                              "repeats_ok": len(ok), "samples_per_sec_ci_low": None, "samples_per_sec_ci_high": None,
                              "processes": None, "process_cv": None, "process_samples_per_sec_min": None,
                              "process_samples_per_sec_max": None,
                              "steady_steps": None, "step_outliers": None, "step_outlier_share": None}
    values.update(_median_metrics(ok))
    datas = [load(run, r) for r in ok]
    seed = _seed(results[0]["key"], ok, datas)
    step_values, throughput_spread = _step_statistics(datas, seed)
    values.update({k: v for k, v in step_values.items() if v is not None})
    spreads: dict[str, stats.Spread | None] = {}
    for metric in set(SPREAD_OF.values()):
        numbers = [r["metrics"].get(metric) for r in ok if isinstance(r["metrics"].get(metric), (int, float))]
        spreads[metric] = stats.spread(stats.scalar_draws(numbers, seed=seed), len(numbers),
                                       stats.geometric_mean(numbers))
    if throughput_spread is not None:
        spreads["samples_per_sec"] = throughput_spread
    elif spreads["samples_per_sec"] is not None and values["samples_per_sec"] is not None:  # no steps stored
        low, high = stats.log_interval(values["samples_per_sec"], [spreads["samples_per_sec"]])
        values.update(samples_per_sec_ci_low=low, samples_per_sec_ci_high=high)
    # one process: the interval (if any) is within-process noise only, and says so
    values["single_repeat"] = len(ok) == 1
    values["interval_scope"] = (None if values["samples_per_sec_ci_low"] is None
                                else "within one process" if len(ok) == 1 else f"between {len(ok)} processes")
    values["repeats_needed"] = stats.repeats_needed(values["process_cv"], noise) if ok else None
    price = run.manifest.get("target", {}).get("price_usd")
    values["price_usd"] = price
    values["samples_per_sec_per_usd"] = (values["samples_per_sec"] / price
                                         if price and values["samples_per_sec"] is not None else None)
    reference = (ok or results)[0]
    environment = envdiff.job_environment(run.manifest, reference, datas[0] if datas else load(run, reference))
    explanation = explain.side_fields(run.manifest, results, datas, {**values, **environment})
    counts = {name: values.pop(name) for name in ("status", "repeats", "repeats_ok")}
    return _Side(**counts, measured=values, environment=environment, explanation=explanation, spreads=spreads)


def _aggregate_all(tasks: list[tuple[StoredRun, list[dict[str, Any]]]], load: Loader, noise: float) -> list[_Side]:
    """_aggregate of every (run, results), in order, on a thread per core: reading and parsing the
    steps (Arrow) and the bootstrap (numpy) release the GIL, so a cold compare over many jobs uses
    every core (docs/performance.md). Each side's result depends on its own data only."""
    workers = min(len(tasks), os.cpu_count() or 1)
    if workers < 2:
        return [_aggregate(run, results, load, noise) for run, results in tasks]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="compare") as pool:
        return list(pool.map(lambda task: _aggregate(task[0], task[1], load, noise), tasks))


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base


def _ratio_intervals(ratios: dict[str, float | None], spreads, base_spreads, noise: float) -> dict[str, RatioInterval]:
    """Each ratio's interval from both sides' Spreads, and its significance against the noise
    band (stats.significant); the baseline's own row has none."""
    found = {}
    for ratio, metric in SPREAD_OF.items():
        low = high = None
        value = ratios.get(ratio)
        if spreads is not None and value is not None:
            parts = [spreads.get(metric), base_spreads.get(metric)]
            # a metric with one value per repeat: the interval is that of the ratio of geometric means
            # (what its draws resample), whose sampling error is smaller than the medians' ratio's
            center = (parts[0].center / parts[1].center if all(p is not None and p.center for p in parts)
                      else value)
            throughput = ratios["throughput_ratio"]  # never None where perf_per_dollar_ratio is not
            if ratio == "perf_per_dollar_ratio" and center != value and throughput is not None:
                center *= value / throughput
            low, high = stats.log_interval(center, parts)
        found[ratio] = RatioInterval(low, high, stats.significant(low, high, noise))
    return found


def compare(runs: list[StoredRun], force: bool = False, load: Loader = load_job,
            noise: float = stats.NOISE) -> Comparison:
    """Compare runs; the first is the baseline. Speed ratios are withheld where a side was emulated
    or used another dataset, unless `force`. A ratio is significant when its 95% interval excludes
    1 by more than `noise` (a fraction: 0.03 is 3%)."""
    sides = side_names(runs)
    labels: dict[str, str] = {}
    grouped_by_side = []
    for run in runs:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for result in run.results:
            grouped.setdefault(result["key"], []).append(result)
            labels[result["key"]] = result["label"]
        grouped_by_side.append(grouped)
    all_keys = sorted(set().union(*grouped_by_side), key=lambda k: labels[k])
    shared = [k for k in all_keys if all(k in side for side in grouped_by_side)]
    only_in = {name: [labels[k] for k in all_keys if k in side and k not in shared]
               for name, side in zip(sides, grouped_by_side)}
    rows, differences, withheld = [], {}, []
    every_side = _aggregate_all([(run, side[key]) for key in shared for run, side in zip(runs, grouped_by_side)],
                                load, noise)
    for number, key in enumerate(shared):
        aggregated = every_side[number * len(runs):(number + 1) * len(runs)]
        differs = envdiff.differences([side.environment for side in aggregated])
        if differs:
            differences[labels[key]] = differs
        base = aggregated[0]
        for index, (name, run, side) in enumerate(zip(sides, runs, aggregated)):
            blockers = envdiff.speed_blockers(base.environment, side.environment)
            if blockers and not force and index > 0:
                withheld.append({"label": labels[key], "side": name, "reasons": blockers})
            comparable = not blockers or force
            ratios = {ratio: _ratio(side.measured[metric], base.measured[metric]) if comparable else None
                      for ratio, metric in RATIOS.items()}
            row = ComparisonRow(key=key, label=labels[key], side=name, target=run.target, run_id=run.run_id,
                                status=side.status, repeats=side.repeats, repeats_ok=side.repeats_ok,
                                measured=side.measured, environment=side.environment, explanation=side.explanation,
                                differs=", ".join(differs),
                                ratio_withheld="; ".join(blockers) if blockers and not force else None, ratios=ratios,
                                intervals=_ratio_intervals(ratios, side.spreads if index else None, base.spreads,
                                                           noise))
            rows.append(row)
            # the baseline's own row gets no verdict; a lone run's is about itself
            row.explanation.update(explain.against(row, rows[-1 - index] if len(runs) > 1 else None))
    run_sides = [{"side": name, "run_id": run.run_id, "target": run.target, "status": run.status,
                  "created": run.manifest.get("created"), "emulated": bool(run.manifest.get("emulated")),
                  "imported": bool(run.manifest.get("imported")),
                  "price_usd": run.manifest.get("target", {}).get("price_usd"),
                  "notes": run.manifest.get("target", {}).get("notes")}
                 for name, run in zip(sides, runs)]
    return Comparison(sides, run_sides, rows, only_in, differences, withheld, force, noise, stats.CONFIDENCE)
