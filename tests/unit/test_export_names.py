"""The exporters' name mapping for GPU and board telemetry (no GPU here): a stored run copied with
NVML and jtop rows added in the samplers' own metric names and units, exported with the real
writers and read back (TensorBoard's EventAccumulator; MLflow's Metric entities). About 5 s."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.export.jobs import jobs_of
from tests.event_lines import read_events
from harness.export.names import MIB_TO_MB, telemetry_names
from harness.results import load_run

STORED = Path(__file__).resolve().parents[1] / "data" / "reports" / "runs" / "20261126-071247-desk-411d"
JOB = "mnist_mlp-a75db508-r1"


@pytest.fixture
def gpu_run(tmp_path):
    """The stored run with device rows during training: source, metric, value per benchmarks/telemetry."""
    run_dir = tmp_path / STORED.name
    shutil.copytree(STORED, run_dir)
    steps = [e for e in read_events(run_dir / JOB / "events.jsonl") if e["event"] == "step"]
    offset = 1795677172.165 - 4190.113  # the stored telemetry's wall_time - t
    rows = []
    for index in (0, len(steps) // 2, len(steps) - 1):
        t = steps[index]["t"] - steps[index]["seconds"] / 2  # inside step `index`
        for source, metric, value in (("nvml", "gpu_util_percent", 40.0 + index), ("nvml", "power_w", 75.5),
                                      ("nvml", "gpu_memory_used_mb", 1024.0), ("jtop", "power_w", 9.25)):
            rows.append(f"{t:.6f},{t + offset:.3f},{source},{metric},{value}\n")
    with open(run_dir / JOB / "telemetry.csv", "a") as handle:
        handle.writelines(rows)
    return run_dir, steps


def test_gpu_load_power_and_memory_reach_tensorboard_on_the_step_axis(gpu_run, tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    from harness.export.tensorboard import export_run
    run_dir, steps = gpu_run
    base, _ = export_run(load_run(run_dir), tmp_path / "logs")
    accumulator = EventAccumulator(str(base / JOB), size_guidance={"tensors": 0})
    accumulator.Reload()

    def points(tag):
        return [(e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in accumulator.Tensors(tag)]

    middle, last = len(steps) // 2, len(steps) - 1
    assert points("telemetry/gpu_load_percent") == [(0, 40.0), (middle, 40.0 + middle), (last, 40.0 + last)]
    assert points("telemetry/gpu_memory_mb") == [(0, 1024.0), (middle, 1024.0), (last, 1024.0)]
    # one tag for power, NVML's and the board's rows both (a target has one or the other)
    assert sorted(v for _, v in points("telemetry/power_w")) == [9.25] * 3 + [75.5] * 3


def test_mlflow_system_names():
    assert telemetry_names("nvml", "gpu_util_percent")[1] == "system/gpu_0_utilization_percentage"
    assert telemetry_names("nvml", "power_w")[1] == "system/gpu_0_power_usage_watts"
    assert telemetry_names("tegrastats", "power_w")[1] == "system/board_power_usage_watts"
    assert telemetry_names("psutil", "processes") is None
    assert telemetry_names("sidecar", "new_thing_w")[1:] == ("system/sidecar_new_thing_w", 1.0)


def test_a_device_source_and_psutil_never_share_an_mlflow_name():
    """A local target samples psutil beside its GPU/board source: one MLflow metric per series."""
    from harness import registry
    psutil = {telemetry_names("psutil", s.metric)[1] for s in registry.SERIES if s.source == "psutil" and not s.skipped}
    for device in ("nvml", "jtop", "tegrastats"):
        device_names = {telemetry_names(device, s.metric)[1] for s in registry.SERIES
                        if s.source in (device, None) and not s.skipped and "<" not in s.metric}
        assert not device_names & psutil, device


def test_mlflow_metrics_of_a_job_with_gpu_rows(gpu_run):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from mlflow.entities import Metric

    from harness.export.mlflow_ import job_metrics
    run_dir, steps = gpu_run
    job = next(j for j in jobs_of(load_run(run_dir)) if j.result["dir"] == JOB)
    metrics = job_metrics(job, Metric)
    memory = [(m.step, m.value) for m in metrics if m.key == "system/gpu_0_memory_usage_megabytes"]
    assert memory == [(0, pytest.approx(1024.0 * MIB_TO_MB)), (1, pytest.approx(1024.0 * MIB_TO_MB)),
                      (2, pytest.approx(1024.0 * MIB_TO_MB))]
    assert [m.value for m in metrics if m.key == "system/board_power_usage_watts"] == [9.25] * 3
    assert len([m for m in metrics if m.key == "step_seconds"]) == len(steps)
    assert [m.step for m in metrics if m.key == "val_accuracy"] == [0, 1, 2]
