"""A job's result metrics, computed from its events and telemetry (pure functions)."""

from __future__ import annotations

from typing import Any, Sequence

from . import stats
from .energy import device_metrics


def job_metrics(events: Sequence[dict], telemetry: Sequence[dict], idle_power_w: float | None = None) -> dict[str, Any]:
    """The metrics stored in result.json; missing measurements are None, never zero.

    `idle_power_w` is the pre-flight idle baseline (for net energy); GPU, power and energy
    metrics come from harness.energy."""
    steps = [e for e in events if e["event"] == "step"]
    epochs = [e for e in events if e["event"] == "epoch"]
    end: dict[str, Any] = next((e for e in reversed(events) if e["event"] == "end"), {})
    start = next((e for e in events if e["event"] == "start"), None)
    steady = stats.steady_steps(steps)
    epoch_seconds = [e["seconds"] for e in epochs]
    step_seconds = [s["seconds"] for s in steady]
    rss = [row["rss_mb"] for row in telemetry if row.get("rss_mb") is not None]
    container = [row["memory_mb"] for row in telemetry if row.get("memory_mb") is not None]
    final = end.get("metrics") or {}
    return {
        **final,
        "samples_per_sec": stats.throughput(steady),
        "steps": len(steps),
        "steady_steps": len(steady),
        "step_seconds_median": stats.median(step_seconds),
        "step_seconds_p95": stats.percentile(step_seconds, 95),
        "epoch_seconds": epoch_seconds,
        "first_epoch_seconds": epoch_seconds[0] if epoch_seconds else None,
        "steady_epoch_seconds": stats.median(epoch_seconds[1:]),
        "train_seconds": sum(epoch_seconds) if epoch_seconds else None,
        "startup_seconds": start.get("startup_seconds") if start else None,
        "time_to_first_step_seconds": (steps[0]["t"] - start["t"]) if steps and start else None,
        "final_accuracy": final.get("final_accuracy"),
        "final_val_accuracy": final.get("final_val_accuracy"),
        "peak_rss_mb": max(rss) if rss else None,
        "peak_container_memory_mb": max(container) if container else None,
        **device_metrics(events, telemetry, idle_power_w),
    }
