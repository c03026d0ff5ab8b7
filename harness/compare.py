"""Aligns jobs across runs and computes statistics and ratios against a baseline.

`compare(runs)` returns a Comparison; it reads the runs' step arrays (harness.jobdata, cached)
but formats nothing: renderers live in harness/report. Every ratio is side / baseline
(throughput, samples/J, samples/s per dollar: > 1 is better; times: < 1 is faster).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from . import envdiff, jobdata, stats
from .results import StoredRun

# scalar metrics taken from result.json, reduced over repeats to the median of the ok ones
METRICS = ("samples_per_sec", "time_to_first_step_seconds", "first_epoch_seconds", "steady_epoch_seconds",
           "train_seconds", "step_seconds_median", "step_seconds_p95", "final_accuracy", "final_val_accuracy",
           "peak_rss_mb", "peak_container_memory_mb")
# recorded by the telemetry samplers where they exist (NVML, jtop, tegrastats); None elsewhere
TELEMETRY_METRICS = ("gpu_util_mean_percent", "gpu_util_peak_percent", "gpu_memory_peak_mb", "power_mean_w",
                     "energy_j", "net_energy_j", "energy_per_sample_j", "samples_per_joule", "throttled_share")
TIME_RATIOS = {"first_epoch_ratio": "first_epoch_seconds", "steady_epoch_ratio": "steady_epoch_seconds",
               "total_time_ratio": "train_seconds"}
RATIOS = {"throughput_ratio": "samples_per_sec", **TIME_RATIOS,
          "samples_per_joule_ratio": "samples_per_joule", "perf_per_dollar_ratio": "samples_per_sec_per_usd"}
Loader = Callable[[StoredRun, dict[str, Any]], jobdata.JobData]


@dataclasses.dataclass
class Comparison:
    sides: list[str]                      # one name per run, baseline first
    runs: list[dict[str, Any]]            # run_id, target, status, created, emulated, price_usd per side
    rows: list[dict[str, Any]]            # one per aligned job x side: metrics, ratios, facts
    only_in: dict[str, list[str]]         # side -> labels of jobs no other side has
    differences: dict[str, dict[str, list[Any]]] = dataclasses.field(default_factory=dict)  # label -> fact -> per side
    withheld: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # speed ratios refused, and why
    forced: bool = False                  # --force: ratios computed despite the blockers


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


def _step_statistics(datas: list[jobdata.JobData], seed: int) -> tuple[dict[str, Any], np.ndarray | None]:
    """Statistics over the steady steps of every ok repeat, pooled; and the bootstrap draws."""
    seconds, samples = [], []
    for data in datas:
        mask = steady_mask(data.steps["epoch"])
        seconds.append(data.steps["seconds"][mask])
        samples.append(data.steps["batch_size"][mask])
    seconds = np.concatenate(seconds) if seconds else np.zeros(0)
    if seconds.size == 0:
        return {}, None
    samples = np.concatenate(samples)
    draws = stats.throughput_draws(seconds, samples, seed=seed)
    low, high = stats.interval(draws)
    flagged = int(stats.outliers(seconds).sum())
    p50, p95 = np.percentile(seconds, [50, 95])
    return {
        "samples_per_sec": float(samples.sum() / seconds.sum()) if seconds.sum() > 0 else None,
        "samples_per_sec_ci_low": low, "samples_per_sec_ci_high": high,
        "step_seconds_median": float(p50), "step_seconds_p95": float(p95),
        "steady_steps": int(seconds.size), "step_outliers": flagged, "step_outlier_share": flagged / seconds.size,
    }, draws


def _median_metrics(ok: list[dict[str, Any]]) -> dict[str, Any]:
    values = {}
    for metric in METRICS + TELEMETRY_METRICS:
        numbers = [r["metrics"].get(metric) for r in ok if isinstance(r["metrics"].get(metric), (int, float))]
        values[metric] = stats.median(numbers)
    return values


def _seed(run_id: str, key: str) -> int:
    """A bootstrap seed per run and job: reproducible, and independent between sides."""
    return zlib.crc32(f"{run_id}/{key}".encode())


def _aggregate(run: StoredRun, results: list[dict[str, Any]], load: Loader) -> tuple[dict[str, Any], Any]:
    """One row of values over repeats, the job's facts, and its throughput bootstrap draws."""
    ok = [r for r in results if r["status"] == "ok"]
    values: dict[str, Any] = {"status": "ok" if ok else results[0]["status"], "repeats": len(results),
                              "repeats_ok": len(ok), "samples_per_sec_ci_low": None, "samples_per_sec_ci_high": None,
                              "steady_steps": None, "step_outliers": None, "step_outlier_share": None}
    values.update(_median_metrics(ok))
    datas = [load(run, r) for r in ok]
    step_values, draws = _step_statistics(datas, _seed(run.run_id, results[0]["key"]))
    values.update({k: v for k, v in step_values.items() if v is not None})
    price = run.manifest.get("target", {}).get("price_usd")
    values["price_usd"] = price
    values["samples_per_sec_per_usd"] = (values["samples_per_sec"] / price
                                         if price and values["samples_per_sec"] is not None else None)
    reference = (ok or results)[0]
    facts = envdiff.job_facts(run.manifest, reference, datas[0] if datas else load(run, reference))
    return {**values, **facts}, draws


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base


def _throughput_ratio_ci(row: dict[str, Any], base: dict[str, Any], draws, base_draws) -> dict[str, Any]:
    """Ratio CI from the two sides' independent bootstrap draws; significant when their CIs do
    not overlap (a ratio whose CIs overlap is shown with `~`)."""
    if draws is None or base_draws is None or row["throughput_ratio"] is None:
        return {"throughput_ratio_ci_low": None, "throughput_ratio_ci_high": None, "throughput_significant": None}
    low, high = stats.interval(draws / base_draws)
    overlap = (row["samples_per_sec_ci_low"] <= base["samples_per_sec_ci_high"]
               and base["samples_per_sec_ci_low"] <= row["samples_per_sec_ci_high"])
    return {"throughput_ratio_ci_low": low, "throughput_ratio_ci_high": high, "throughput_significant": not overlap}


def compare(runs: list[StoredRun], force: bool = False, load: Loader = load_job) -> Comparison:
    """Compare runs; the first is the baseline. Speed ratios are withheld where a side was emulated
    or used another dataset, unless `force`."""
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
    for key in shared:
        aggregated = [_aggregate(run, side[key], load) for run, side in zip(runs, grouped_by_side)]
        facts = [{name: values[name] for name in envdiff.FACTS} for values, _ in aggregated]
        differs = envdiff.differences(facts)
        if differs:
            differences[labels[key]] = differs
        base, base_draws = aggregated[0]
        for index, (name, run, (values, draws)) in enumerate(zip(sides, runs, aggregated)):
            row = {"key": key, "label": labels[key], "side": name, "target": run.target, "run_id": run.run_id,
                   **values, "differs": ", ".join(differs)}
            blockers = envdiff.speed_blockers(base, values)
            row["ratio_withheld"] = "; ".join(blockers) if blockers and not force else None
            if blockers and not force and index > 0:
                withheld.append({"label": labels[key], "side": name, "reasons": blockers})
            comparable = not blockers or force
            row.update({ratio: _ratio(values[metric], base[metric]) if comparable else None
                        for ratio, metric in RATIOS.items()})
            row.update(_throughput_ratio_ci(row, base, draws if index else None, base_draws))
            rows.append(row)
    run_facts = [{"side": name, "run_id": run.run_id, "target": run.target, "status": run.status,
                  "created": run.manifest.get("created"), "emulated": bool(run.manifest.get("emulated")),
                  "imported": bool(run.manifest.get("imported")),
                  "price_usd": run.manifest.get("target", {}).get("price_usd"),
                  "notes": run.manifest.get("target", {}).get("notes")}
                 for name, run in zip(sides, runs)]
    return Comparison(sides, run_facts, rows, only_in, differences, withheld, force)
