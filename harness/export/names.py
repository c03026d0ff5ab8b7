"""The exporters' names for the harness's values, read from the metric registry (harness/registry.py).

Telemetry rows are (source, metric) pairs; each maps to a TensorBoard tag and an MLflow
system-metric name (registry.SERIES). MLflow's own names are those its system-metrics monitors
log (mlflow 3.x, mlflow/system_metrics/metrics/*.py: `system/cpu_utilization_percentage`,
`system/system_memory_usage_megabytes` (10^6 bytes), `system/gpu_0_utilization_percentage`,
`system/gpu_0_memory_usage_megabytes`, `system/gpu_0_power_usage_watts`); values the harness
measures that MLflow has no name for keep a harness name under the same `system/` prefix.
The harness's MB are MiB (2^20 bytes); MLflow's megabytes are 10^6 bytes, so they are scaled.
"""

from __future__ import annotations

from .. import registry

MIB_TO_MB = registry.MIB_TO_MB
telemetry_names = registry.series_names  # (TensorBoard tag, MLflow name, factor), or None if not exported

# The result metrics a sweep is compared by: TensorBoard's HParams dashboard columns (tag
# `final/<name>`) and MLflow metrics of the same name.
SUMMARY_METRICS = registry.names(summary=True)

STEP_SECONDS = "step/seconds"        # TensorBoard tag of each step's time, on the global step axis
MLFLOW_STEP_SECONDS = "step_seconds"
EPOCH_PREFIX = "epoch/"              # TensorBoard: epoch metrics, step = epoch index (as Keras' callback)
EVAL_PREFIX = "eval/"                # TensorBoard: eval events that carry a step (retrain's validation)
FINAL_PREFIX = "final/"
