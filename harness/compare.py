"""Aligns jobs across runs and computes ratios against a baseline. A pure function of stored
runs: no I/O and no formatting (renderers live in harness/report)."""

from __future__ import annotations

import dataclasses
from typing import Any

from . import stats
from .results import StoredRun

METRICS = ("samples_per_sec", "first_epoch_seconds", "steady_epoch_seconds", "train_seconds",
           "step_seconds_median", "final_accuracy", "final_val_accuracy", "peak_rss_mb")
# ratio name -> the metric it divides; every ratio is side / baseline (throughput: >1 is faster,
# times: <1 is faster)
RATIOS = {
    "throughput_ratio": "samples_per_sec",
    "first_epoch_ratio": "first_epoch_seconds",
    "steady_epoch_ratio": "steady_epoch_seconds",
    "total_time_ratio": "train_seconds",
}


@dataclasses.dataclass
class Comparison:
    sides: list[str]                      # one name per run, baseline first
    runs: list[dict[str, Any]]            # run_id, target, status, created per side
    rows: list[dict[str, Any]]            # one per aligned job x side
    only_in: dict[str, list[str]]         # side -> labels of jobs no other side has


def side_names(runs: list[StoredRun]) -> list[str]:
    """Target names, or run ids where two runs share a target."""
    targets = [run.target for run in runs]
    return [run.target if targets.count(run.target) == 1 else run.run_id for run in runs]


def _aggregate(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One value per metric over repeats: the median of the repeats that ended ok."""
    ok = [r for r in results if r["status"] == "ok"]
    values: dict[str, Any] = {}
    for metric in METRICS:
        numbers = [r["metrics"].get(metric) for r in ok if r["metrics"].get(metric) is not None]
        values[metric] = stats.median(numbers)
    values["status"] = "ok" if ok else results[0]["status"]
    values["repeats"] = len(results)
    values["repeats_ok"] = len(ok)
    return values


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return value / base


def compare(runs: list[StoredRun]) -> Comparison:
    """Compare runs; the first is the baseline every ratio is divided by."""
    sides = side_names(runs)
    by_side = []
    labels: dict[str, str] = {}
    for run in runs:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for result in run.results:
            grouped.setdefault(result["key"], []).append(result)
            labels[result["key"]] = result["label"]
        by_side.append({key: _aggregate(results) for key, results in grouped.items()})
    all_keys = sorted(set().union(*by_side), key=lambda k: labels[k])
    shared = [k for k in all_keys if all(k in side for side in by_side)]
    only_in = {name: [labels[k] for k in all_keys if k in side and k not in shared]
               for name, side in zip(sides, by_side)}
    emulated = [bool(run.manifest.get("emulated")) for run in runs]
    rows = []
    for key in shared:
        baseline = by_side[0][key]
        for name, run, side, side_emulated in zip(sides, runs, by_side, emulated):
            values = side[key]
            row = {"key": key, "label": labels[key], "side": name, "target": run.target,
                   "run_id": run.run_id, "emulated": side_emulated, **values}
            # an emulated run proves function only: it never yields a speed ratio
            speed_comparable = not (side_emulated or emulated[0])
            row.update({ratio: _ratio(values[metric], baseline[metric]) if speed_comparable else None
                        for ratio, metric in RATIOS.items()})
            rows.append(row)
    run_facts = [{"side": name, "run_id": run.run_id, "target": run.target, "status": run.status,
                  "created": run.manifest.get("created"), "emulated": flag}
                 for name, run, flag in zip(sides, runs, emulated)]
    return Comparison(sides, run_facts, rows, only_in)
