"""harness.explain through the real compare: achieved FLOP/s, share of peak, the peak ratios and the
verdict on stored runs built with known numbers (step times, FLOPs, devices, probes, clocks), and
every renderer showing the explanation."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from harness import jobdata, peaks
from harness.compare import compare
from harness.report.files import write_comparison
from harness.report.tables import comparison_table
from harness.report.words import times
from harness.results import StoredRun

GPU = {"tf": "2.7.0", "devices": [{"type": "CPU"}, {"type": "GPU"}]}
TX2_RATE = 32 / 0.2  # samples/s: steady steps of 0.2 s, 32 samples each
FLOPS_PER_SAMPLE = 1e8


def side(run_id, target, step_seconds, device_model=None, gpu_name=None, flops=FLOPS_PER_SAMPLE, batch=32,
         warmup_steps=10, train_seconds=None, environment=GPU, **metrics):
    """One stored run of job `k` with 3 repeats: warm-up steps 3x slower, then 100 steady steps,
    a `model` event with the FLOPs per step, and result metrics (FLOPs, probe, clocks) as jobs write them."""
    results, table = [], {}
    for repeat in range(3):
        folder = f"{run_id}-r{repeat}"
        steps = [{"event": "step", "epoch": 0, "step": i, "seconds": 3 * step_seconds, "batch_size": batch,
                  "t": 0.0} for i in range(warmup_steps)]
        steps += [{"event": "step", "epoch": 1, "step": i, "seconds": step_seconds * (1 + 0.001 * (i % 3 - 1)),
                   "batch_size": batch, "t": 0.0} for i in range(100)]
        events = [{"event": "start", "params": {"batch_size": batch, "dataset": "flowers"}, "environment": environment},
                  {"event": "dataset", "train_samples": 3670}, *steps]
        if flops is not None:
            events.insert(1, {"event": "model", "flops_per_step": flops * batch, "flops_batch_size": batch,
                              "flops_method": "layers"})
        table[folder] = jobdata.from_events(events)
        values = {"train_seconds": train_seconds or sum(s["seconds"] for s in steps), **metrics}
        if flops is not None:
            values.update(flops_per_step=flops * batch, flops_method="layers")
        result = {"key": "k", "label": "transfer", "status": "ok", "dir": folder, "metrics": values,
                  "params": {"batch_size": batch}}
        if gpu_name:
            result["telemetry"] = {"device": {"gpus": [{"name": gpu_name}]}}
        results.append(result)
    target = {"name": target, **({"device_model": device_model} if device_model else {})}
    manifest = {"run_id": run_id, "target": target, "status": "complete", "created": "2026"}
    return StoredRun(Path(run_id), manifest, results), table


def run_pair(tx2_kwargs=None, rtx_kwargs=None, ratio=15.8):
    tx2, tx2_steps = side("r1", "tx2", 0.2, **{"device_model": "jetson-tx2", **(tx2_kwargs or {})})
    rtx, rtx_steps = side("r2", "rtx2080", 0.2 / ratio, **{"gpu_name": "NVIDIA GeForce RTX 2080", **(rtx_kwargs or {})})
    steps = {**tx2_steps, **rtx_steps}
    return compare([tx2, rtx], load=lambda run, result: steps[result["dir"]]), [tx2, rtx], steps


def test_achieved_flops_and_share_of_peak_from_known_numbers():
    comparison, _, _ = run_pair()
    base, row = comparison.rows
    assert base["device_model"] == "jetson-tx2" and base["device_source"] == "target device_model"
    assert row["device_model"] == "rtx-2080" and row["device_source"] == "inferred from recorded GPU/board names"
    assert base["flops_per_sample"] == FLOPS_PER_SAMPLE and base["flops_method"] == "layers"
    assert base["achieved_flops_per_sec"] == pytest.approx(FLOPS_PER_SAMPLE * TX2_RATE, rel=1e-3)  # 16 GFLOP/s
    assert base["peak_share"] == pytest.approx(16e9 / 0.666e12, rel=1e-3)  # 2.4%
    assert row["peak_share"] == pytest.approx(FLOPS_PER_SAMPLE * TX2_RATE * 15.8 / 10.07e12, rel=1e-3)  # 2.5%
    assert base["precision"] == "fp32" and base["peak_fp16_share"] is None
    assert row["peak_compute_ratio"] == pytest.approx(10.07 / 0.666) and row["bandwidth_ratio"] == pytest.approx(448 / 59.7)
    assert row["throughput_ratio"] == pytest.approx(15.8, rel=1e-3)
    assert base["verdict"] is None  # the other side's verdict speaks for both
    assert row["verdict"].startswith("Both sides reach under 3% of FP32 peak (2.4% on tx2, 2.5% on rtx2080); "
                                     "overheads")
    assert "the peak-compute ratio 15.1x does not predict the measured 15.8x" in row["verdict"]


def test_an_input_bound_side_is_named_in_the_verdict():
    probe = {"input_seconds_per_batch": 0.25, "job_step_seconds_median": 0.2}
    comparison, _, _ = run_pair(tx2_kwargs=probe)
    base, row = comparison.rows
    assert base["input_share"] == pytest.approx(1.25) and base["input_bound"] is True
    assert row["input_share"] is None and "input probe" in row["explain_missing"]["input_share"]
    assert "the input pipeline, not the GPU, sets the pace on tx2" in row["verdict"]


def test_a_ratio_close_to_the_peak_compute_ratio_is_compute_bound():
    busy = 0.333e12 / TX2_RATE  # FLOPs per sample that keep the TX2 at half its peak
    comparison, _, _ = run_pair({"flops": busy}, {"flops": busy})
    base, row = comparison.rows
    assert base["peak_share"] == pytest.approx(0.5, rel=1e-3)
    assert ("the measured ratio 15.8x is close to the peak-compute ratio 15.1x: compute bound" in row["verdict"])
    assert row["verdict"].startswith("Share of FP32 peak: 50% on tx2, 52% on rtx2080; ")


def test_a_ratio_close_to_the_bandwidth_ratio_is_bandwidth_bound():
    busy = 0.2e12 / TX2_RATE
    comparison, _, _ = run_pair({"flops": busy}, {"flops": busy}, ratio=7.4)
    assert "close to the bandwidth ratio 7.50x: memory-bandwidth bound" in comparison.rows[1]["verdict"]


def test_a_ratio_near_neither_peak_ratio_says_so():
    busy = 0.2e12 / TX2_RATE
    comparison, _, _ = run_pair({"flops": busy}, {"flops": busy}, ratio=3.0)
    assert ("far from the peak-compute ratio 15.1x and the bandwidth ratio 7.50x" in comparison.rows[1]["verdict"])


def test_missing_flops_and_unknown_devices_are_null_with_a_reason_never_zero():
    comparison, _, _ = run_pair({"flops": None, "device_model": "abacus"}, {"gpu_name": None})
    base, row = comparison.rows
    assert base["flops_per_sample"] is None and base["achieved_flops_per_sec"] is None and base["peak_share"] is None
    assert row["peak_share"] is None and row["device_model"] is None and base["device_model"] is None
    assert base["explain_missing"]["device_model"] == "unknown device_model 'abacus'"
    assert "no flops_per_step" in base["explain_missing"]["flops_per_sample"]
    assert row["explain_missing"]["device_model"] == "no device recorded or known"
    assert row["flops_per_sample"] == FLOPS_PER_SAMPLE  # FLOPs without a device: achieved only
    assert row["achieved_flops_per_sec"] > 0 and row["peak_compute_ratio"] is None
    assert row["explain_missing"]["peak_compute_ratio"] == "no GPU peak for tx2 or rtx2080"
    assert row["verdict"].startswith("Share of peak unknown (")


def test_a_job_on_the_cpu_gets_no_gpu_peak_share():
    cpu = {"tf": "2.7.0", "devices": [{"type": "CPU"}]}
    comparison, _, _ = run_pair({"environment": cpu})
    base = comparison.rows[0]
    assert base["device_model"] == "jetson-tx2" and base["peak_share"] is None and base["peak_flops_per_sec"] is None
    assert base["explain_missing"]["peak_share"] == "the job ran on the CPU; the peaks table has GPUs only"
    assert comparison.rows[1]["peak_compute_ratio"] is None


def test_throttling_clocks_and_warmup_are_explained():
    tx2 = {"throttled_share": 0.2, "gpu_freq_min_mhz": 854.0, "gpu_freq_max_mhz": 1300.0, "train_seconds": 40.0}
    # tx2: 110 steps x 32 samples at 160 samples/s would take 22 s of its 40: 45% outside the steady rate
    comparison, _, _ = run_pair(tx2, {"train_seconds": 22 / 15.8 / 0.9})
    base, row = comparison.rows
    assert base["warmup_share"] == pytest.approx(0.45, abs=1e-3) and row["warmup_share"] == pytest.approx(0.1, abs=1e-3)
    assert (base["clock_min_mhz"], base["clock_max_mhz"], base["clock_source"]) == (854.0, 1300.0, "Jetson GR3D_FREQ")
    assert row["clock_source"] is None and "clock_range" in row["explain_missing"]
    total = 1 / row["total_time_ratio"]
    assert total == pytest.approx(15.8 * (1 - 0.1) / (1 - 0.45), rel=1e-3)  # total = steady x (1 - w) / (1 - w_base)
    assert "45% of tx2's training and 10% of rtx2080's" in row["verdict"]
    assert f"total speed-up ({times(total)}) differs from the steady one (15.8x)" in row["verdict"]
    assert "Throttled: tx2 in 20% of its samples, clocks 854-1300 MHz" in row["verdict"]


def test_no_warmup_sentence_where_the_sides_trained_different_samples():
    """rtx2080 ran 40 more warm-up steps: the shares no longer predict the total speed-up, so they explain nothing."""
    comparison, _, _ = run_pair({"train_seconds": 40.0}, {"warmup_steps": 50, "train_seconds": 2.0})
    row = comparison.rows[1]
    assert row["warmup_share"] == pytest.approx(1 - 150 * 32 / (TX2_RATE * 15.8) / 2.0, rel=1e-3)
    assert comparison.rows[0]["warmup_share"] - row["warmup_share"] > 0.3 and "steady rate" not in row["verdict"]


def test_mixed_precision_adds_the_fp16_share_and_uses_the_fp16_peak():
    comparison, _, _ = run_pair({"dtype_policy": "mixed_float16"}, {"dtype_policy": "mixed_float16"})
    base, row = comparison.rows
    assert base["precision"] == "mixed fp16" and base["peak_fp16_share"] == pytest.approx(16e9 / 1.33e12, rel=1e-3)
    assert row["peak_compute_ratio"] == pytest.approx(20.14 / 1.33)


def test_a_single_run_gets_its_own_verdict():
    run, steps = side("r1", "tx2", 0.2, device_model="jetson-tx2")
    [row] = compare([run], load=lambda run, result: steps[result["dir"]]).rows
    assert row["peak_compute_ratio"] is None and "peak_compute_ratio" not in row["explain_missing"]
    assert row["verdict"].startswith("tx2 reaches under 3% of FP32 peak (2.4% on tx2)")


def test_every_renderer_shows_the_explanation(tmp_path):
    comparison, runs, _ = run_pair({"input_seconds_per_batch": 0.25, "job_step_seconds_median": 0.2})
    write_comparison(comparison, tmp_path, runs)
    verdict = comparison.rows[1]["verdict"]
    markdown = (tmp_path / "report.md").read_text()
    assert "## Explanation" in markdown and verdict in markdown
    assert "| transfer | tx2 | jetson-tx2 | 100 MFLOP | 16 GFLOP/s | 2.4% |" in markdown
    assert "| transfer | rtx2080 | rtx-2080 | 100 MFLOP | 253 GFLOP/s | 2.5% | 15.8x | 15.1x | 7.50x |" in markdown
    page = (tmp_path / "report.html").read_text()
    assert '<table class="explanation">' in page and verdict in page.replace("&#x27;", "'")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["rows"][1]["verdict"] == verdict and summary["rows"][0]["peak_share"] == pytest.approx(0.024, rel=0.01)
    csv = (tmp_path / "summary.csv").read_text()
    assert "peak_share" in csv.splitlines()[0] and "input_share: no input probe recorded" in csv
    out = io.StringIO()
    Console(file=out, width=250).print(comparison_table(comparison))
    printed = " ".join(out.getvalue().split())
    assert "Explanation" in printed and "2.4%" in printed and " ".join(verdict.split())[:80] in printed


def test_retrain_counts_the_final_layer_as_tensorflow_profiles_it():
    tf = pytest.importorskip("tensorflow")
    from harness_jobs.jobs import retrain

    class Final:  # the two numbers step_flops reads off a RetrainGraph
        width, num_classes = 1280, 5
    fields = retrain.step_flops(Final, 100)
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [1, 1280])
        weights, bias = tf.compat.v1.placeholder(tf.float32, [1280, 5]), tf.compat.v1.placeholder(tf.float32, [5])
        tf.add(tf.matmul(x, weights), bias)
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        profiled = tf.compat.v1.profiler.profile(graph, options=options).total_float_ops
    assert fields["flops_per_sample_forward"] == profiled == 2 * 1280 * 5 + 5
    assert fields["flops_per_step"] == 2 * profiled * 100 and fields["flops_batch_size"] == 100


def test_the_device_peaks_page_matches_the_table_in_code():
    page = (Path(__file__).resolve().parents[2] / "docs" / "device-peaks.md").read_text()
    assert peaks.markdown_table() in page, ("docs/device-peaks.md is out of date: paste in the output of "
                                            ".venv/bin/python -m harness.peaks")
    for peak in peaks.PEAKS.values():
        assert math.isfinite(peak.fp32_tflops) and peak.sources["fp32"] and peak.sources["bandwidth"]


@pytest.mark.parametrize("name, device", [
    ("NVIDIA Jetson TX2 Developer Kit", "jetson-tx2"), ("quill", "jetson-tx2"),
    ("NVIDIA Jetson Nano Developer Kit", "jetson-nano"), ("NVIDIA Jetson Xavier NX Developer Kit", "jetson-xavier-nx"),
    ("Jetson-AGX", "jetson-agx-xavier"), ("NVIDIA Jetson AGX Orin Developer Kit", "jetson-agx-orin"),
    ("NVIDIA Jetson Orin Nano Developer Kit", "jetson-orin-nano"), ("NVIDIA GeForce RTX 2080", "rtx-2080"),
    ("NVIDIA GeForce RTX 2080 SUPER", "rtx-2080-super"), ("NVIDIA A100-SXM4-40GB", "a100-40gb"),
    ("NVIDIA H100 80GB HBM3", "h100-sxm"), ("NVIDIA GeForce RTX 2080 Ti", None), ("NVIDIA H200", None),
])
def test_the_device_is_inferred_from_recorded_gpu_and_board_names(name, device):
    """NVML's GPU names and the Jetsons' /proc/device-tree/model; a card the table lacks stays unknown."""
    found, how = peaks.device_for({"target": {}}, {"telemetry": {"device": {"board": name}}})
    assert (found.name if found else None) == device
    assert how == ("inferred from recorded GPU/board names" if device else "no device recorded or known")
