"""The exporters' names for the harness's values, in one place (there is no metric registry yet:
the names and units are those of harness/metrics.py, harness/energy.py and the telemetry samplers).

Telemetry rows are (source, metric) pairs; each maps to a TensorBoard tag and an MLflow
system-metric name. MLflow's own names are those its system-metrics monitors log (mlflow 3.x,
mlflow/system_metrics/metrics/*.py: `system/cpu_utilization_percentage`,
`system/system_memory_usage_megabytes` (10^6 bytes), `system/gpu_0_utilization_percentage`,
`system/gpu_0_memory_usage_megabytes`, `system/gpu_0_power_usage_watts`); values the harness
measures that MLflow has no name for keep a harness name under the same `system/` prefix.
The harness's MB are MiB (2^20 bytes); MLflow's megabytes are 10^6 bytes, so they are scaled.
"""

from __future__ import annotations

MIB_TO_MB = 1024 * 1024 / 1e6

# (source or None for any source, metric) -> (TensorBoard tag, MLflow name, factor)
TELEMETRY: dict[tuple[str | None, str], tuple[str, str, float]] = {
    # GPU load, memory and power (NVML sums memory and power over the visible GPUs, averages load)
    (None, "gpu_util_percent"): ("telemetry/gpu_load_percent", "system/gpu_0_utilization_percentage", 1.0),
    (None, "gpu_memory_used_mb"): ("telemetry/gpu_memory_mb", "system/gpu_0_memory_usage_megabytes", MIB_TO_MB),
    (None, "gpu_memory_job_mb"): ("telemetry/gpu_memory_job_mb", "system/gpu_0_job_memory_usage_megabytes", MIB_TO_MB),
    ("nvml", "power_w"): ("telemetry/power_w", "system/gpu_0_power_usage_watts", 1.0),
    # a Jetson's power_w is the board's total input rail (VDD_IN / POM_5V_IN), not the GPU's
    ("jtop", "power_w"): ("telemetry/power_w", "system/board_power_usage_watts", 1.0),
    ("tegrastats", "power_w"): ("telemetry/power_w", "system/board_power_usage_watts", 1.0),
    (None, "energy_j"): ("telemetry/energy_counter_j", "system/gpu_0_energy_joules", 1.0),
    (None, "temperature_c"): ("telemetry/temperature_c", "system/gpu_0_temperature_celsius", 1.0),
    (None, "sm_clock_mhz"): ("telemetry/sm_clock_mhz", "system/gpu_0_sm_clock_megahertz", 1.0),
    (None, "gpu_freq_mhz"): ("telemetry/gpu_freq_mhz", "system/gpu_0_frequency_megahertz", 1.0),
    # Jetson unified memory: GPU memory is system RAM
    (None, "ram_used_mb"): ("telemetry/ram_used_mb", "system/system_memory_usage_megabytes", MIB_TO_MB),
    (None, "shared_ram_mb"): ("telemetry/shared_ram_mb", "system/shared_memory_usage_megabytes", MIB_TO_MB),
    (None, "cpu_util_percent"): ("telemetry/cpu_util_percent", "system/cpu_utilization_percentage", 1.0),
    # psutil: the job's process tree, and the whole machine's memory
    ("psutil", "cpu_percent"): ("telemetry/job_cpu_percent", "system/job_cpu_utilization_percentage", 1.0),
    ("psutil", "rss_mb"): ("telemetry/job_rss_mb", "system/job_memory_usage_megabytes", MIB_TO_MB),
    ("psutil", "system_used_mb"): ("telemetry/system_memory_mb", "system/system_memory_usage_megabytes", MIB_TO_MB),
    ("psutil", "system_percent"): ("telemetry/system_memory_percent", "system/system_memory_usage_percentage", 1.0),
    # docker stats: the job's container
    ("docker", "cpu_percent"): ("telemetry/container_cpu_percent", "system/job_cpu_utilization_percentage", 1.0),
    ("docker", "memory_mb"): ("telemetry/container_memory_mb", "system/job_memory_usage_megabytes", MIB_TO_MB),
}
SKIPPED_TELEMETRY = {"processes", "gap_s", "memory_limit_mb", "throttled", "cpu_cores_online"}


def telemetry_names(source: str, metric: str) -> tuple[str, str, float] | None:
    """(TensorBoard tag, MLflow system name, factor) of one telemetry series; None if not exported."""
    if metric in SKIPPED_TELEMETRY:
        return None
    known = TELEMETRY.get((source, metric)) or TELEMETRY.get((None, metric))
    if known:
        return known
    return f"telemetry/{source}/{metric}", f"system/{source}_{metric}", 1.0


# The result metrics (harness/metrics.py, harness/energy.py) a sweep is compared by: TensorBoard's
# HParams dashboard columns (tag `final/<name>`) and MLflow metrics of the same name.
SUMMARY_METRICS = ("final_accuracy", "final_val_accuracy", "final_loss", "final_val_loss", "test_accuracy",
                   "samples_per_sec", "step_seconds_median", "step_seconds_p95", "first_epoch_seconds",
                   "steady_epoch_seconds", "train_seconds", "peak_rss_mb", "energy_j", "net_energy_j",
                   "energy_per_sample_j", "samples_per_joule", "power_mean_w", "gpu_util_mean_percent",
                   "gpu_memory_peak_mb")

STEP_SECONDS = "step/seconds"        # TensorBoard tag of each step's time, on the global step axis
MLFLOW_STEP_SECONDS = "step_seconds"
EPOCH_PREFIX = "epoch/"              # TensorBoard: epoch metrics, step = epoch index (as Keras' callback)
EVAL_PREFIX = "eval/"                # TensorBoard: eval events that carry a step (retrain's validation)
FINAL_PREFIX = "final/"
