"""GPU, power and energy metrics of one job from its telemetry rows (pure functions).

Energy covers the steady-state window (first steady step's start to the last step's end, so
the validation passes between steady epochs are inside it): the delta of a hardware energy
counter where one exists (NVML, Volta and newer), else trapezoid-integrated total-rail power
(Jetson VDD_IN / POM_5V_IN; sub-rails are never summed). Missing measurements are None.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from harness_jobs.telemetry.nvml import throttle_names

from . import registry, stats

DEVICE_METRICS = registry.names(unavailable=True)  # a null one gets its reason in result.json `unavailable`
MIN_COVERAGE = 0.5  # at least half the window must lie between two samples, or no energy figure


def series(telemetry: Sequence[dict], metric: str) -> list[tuple[float, float]]:
    points = [(row["t"], float(row[metric])) for row in telemetry
              if isinstance(row.get(metric), (int, float)) and not isinstance(row.get(metric), bool)]
    return sorted(points)


def steady_window(events: Sequence[dict]) -> tuple[float, float, int] | None:
    """(start, end, samples) of the steady-state steps, on the events' monotonic clock."""
    steady = stats.steady_steps([e for e in events if e["event"] == "step"])
    if not steady:
        return None
    start = steady[0]["t"] - steady[0]["seconds"]
    return start, steady[-1]["t"], sum(s.get("batch_size", 0) for s in steady)


def _at(points: list[tuple[float, float]], t: float) -> float:
    """Linear interpolation inside the samples, the nearest sample's value outside them."""
    if t <= points[0][0]:
        return points[0][1]
    if t >= points[-1][0]:
        return points[-1][1]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return points[-1][1]


def _covered(points: list[tuple[float, float]], start: float, end: float) -> bool:
    if len(points) < 2 or end <= start:
        return False
    inside = min(end, points[-1][0]) - max(start, points[0][0])
    return inside >= MIN_COVERAGE * (end - start)


def integrate(points: list[tuple[float, float]], start: float, end: float) -> float | None:
    """Trapezoid integral of a power series (W) over [start, end] -> J."""
    if not _covered(points, start, end):
        return None
    knots = [start] + [t for t, _ in points if start < t < end] + [end]
    values = [_at(points, t) for t in knots]
    return sum((b - a) * (va + vb) / 2 for a, b, va, vb in zip(knots, knots[1:], values, values[1:]))


def counter_delta(points: list[tuple[float, float]], start: float, end: float) -> float | None:
    """Increase of a cumulative counter (J) over [start, end]; None if it went backwards."""
    if not _covered(points, start, end):
        return None
    delta = _at(points, end) - _at(points, start)
    return delta if delta >= 0 else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _peak(telemetry: Sequence[dict], metric: str) -> float | None:
    values = [v for _, v in series(telemetry, metric)]
    return max(values) if values else None


def device_metrics(events: Sequence[dict], telemetry: Sequence[dict], idle_power_w: float | None = None) -> dict[str, Any]:
    util = [v for _, v in series(telemetry, "gpu_util_percent")]
    power = series(telemetry, "power_w")
    throttled = [v for _, v in series(telemetry, "throttled")]
    job_memory = _peak(telemetry, "gpu_memory_job_mb")
    device_memory = _peak(telemetry, "gpu_memory_used_mb")
    window = steady_window(events)
    energy = method = None
    if window is not None:
        start, end, _ = window
        energy = counter_delta(series(telemetry, "energy_j"), start, end)
        method = "counter" if energy is not None else None
        if energy is None:
            energy = integrate(power, start, end)
            method = "integrated" if energy is not None else None
    samples = window[2] if window else 0
    seconds = window[1] - window[0] if window else None
    net = (energy - idle_power_w * seconds if energy is not None and idle_power_w is not None
           and seconds is not None else None)
    clocks = [v for _, v in series(telemetry, "sm_clock_mhz")]
    jetson_clocks = [v for _, v in series(telemetry, "gpu_freq_mhz")]  # jtop / tegrastats GR3D_FREQ
    masks = [int(v) for _, v in series(telemetry, "throttle_reasons")]
    return {
        "gpu_util_mean_percent": _round(_mean(util), 1),
        "gpu_util_peak_percent": max(util) if util else None,
        "gpu_memory_peak_mb": job_memory if job_memory is not None else device_memory,
        "gpu_memory_scope": "job" if job_memory is not None else ("device" if device_memory is not None else None),
        "ram_peak_mb": _peak(telemetry, "ram_used_mb"),
        "shared_ram_peak_mb": _peak(telemetry, "shared_ram_mb"),
        "power_mean_w": _round(_mean([v for _, v in power]), 3),
        "energy_j": _round(energy, 3),
        "energy_method": method,
        "energy_window_s": _round(seconds, 3) if energy is not None else None,
        "idle_power_w": _round(idle_power_w, 3),
        "net_energy_j": _round(net, 3),
        "energy_per_sample_j": _round(energy / samples, 6) if energy and samples else None,
        "samples_per_joule": _round(samples / energy, 3) if energy and samples else None,
        "throttled_share": _round(_mean(throttled), 3),
        "throttle_reasons": sorted({n for mask in masks for n in throttle_names(mask)}) if masks else None,
        "sm_clock_min_mhz": min(clocks) if clocks else None,
        "sm_clock_max_mhz": max(clocks) if clocks else None,
        "gpu_freq_min_mhz": min(jetson_clocks) if jetson_clocks else None,
        "gpu_freq_max_mhz": max(jetson_clocks) if jetson_clocks else None,
        "temperature_peak_c": _peak(telemetry, "temperature_c"),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


_NEEDS = {"ram_peak_mb": "a Jetson source (jtop or tegrastats): unified RAM",
          "shared_ram_peak_mb": "jtop (GPU-shared RAM on a Jetson)",
          "throttled_share": "NVML's throttle reasons",
          "idle_power_w": "a power source and idle_baseline_s > 0"}


# The NVML query behind a metric (benchmarks/telemetry/nvml.py's names in the facts' nvml_unavailable).
_NVML_QUERY = {"throttled_share": "throttle", "power_mean_w": "power", "gpu_util_mean_percent": "utilization",
               "gpu_util_peak_percent": "utilization"}


def unavailable_metrics(metrics: dict[str, Any], info: dict[str, Any]) -> dict[str, str]:
    """{metric: why it is None} for the GPU/power/energy metrics a job result lacks."""
    sources = info.get("sources") or []
    reasons = info.get("unavailable_sources") or {}
    why_not = "; ".join(f"{name}: {reason}" for name, reason in sorted(reasons.items()))
    refused = (info.get("device") or {}).get("nvml_unavailable") or {}  # queries this GPU/driver does not answer
    missing = {}
    for name in DEVICE_METRICS:
        if metrics.get(name) is not None:
            continue
        if not sources:
            missing[name] = f"no GPU/board telemetry on this target ({why_not or 'telemetry off'})"
        elif _NVML_QUERY.get(name) in refused:
            missing[name] = f"nvml: {refused[_NVML_QUERY[name]]}"
        elif name in _NEEDS:
            missing[name] = f"needs {_NEEDS[name]}; measured here by {', '.join(sources)}"
        elif name in ("energy_j", "net_energy_j", "energy_per_sample_j", "samples_per_joule"):
            missing[name] = ("no energy counter or power samples covering the steady-state window "
                             "(too few steady steps or samples; lower sample_interval_s)")
        else:
            missing[name] = f"not reported by {', '.join(sources)}"
    return missing
