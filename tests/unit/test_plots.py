"""The report's figures from runs with GPU telemetry and energy metrics (as the NVML/jtop
samplers record them): the right panels are chosen and every figure is a real PNG."""

from __future__ import annotations

import json

from harness.compare import compare
from harness.report import plots
from harness.results import StoredRun

PNG = b"\x89PNG\r\n\x1a\n"


def make_run(tmp_path, name, seconds, energy):
    run_dir = tmp_path / name
    job = run_dir / "k-r1"
    job.mkdir(parents=True)
    events = [{"v": 1, "event": "start", "t": 10.0, "params": {"batch_size": 32}}]
    events += [{"v": 1, "event": "step", "t": 10.0 + i * seconds, "epoch": i // 20, "step": i % 20,
                "seconds": seconds * (1 + 0.01 * (i % 3)), "batch_size": 32} for i in range(40)]
    events += [{"v": 1, "event": "epoch", "t": 10.0 + 20 * seconds * (e + 1), "epoch": e, "seconds": 20 * seconds,
                "metrics": {"accuracy": 0.5 + e / 10, "val_accuracy": 0.6 + e / 10}} for e in range(2)]
    (job / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    rows = ["t,wall_time,source,metric,value"]
    rows += [f"{10 + i * 0.5},{i},nvml,{metric},{value}" for i in range(8)
             for metric, value in (("gpu_util_percent", 90), ("power_w", 200 + i), ("gpu_memory_used_mb", 900))]
    rows += [f"{10 + i * 0.5},{i},psutil,cpu_percent,100" for i in range(8)]
    (job / "telemetry.csv").write_text("\n".join(rows) + "\n")
    result = {"key": "k", "label": "k", "status": "ok", "dir": "k-r1", "params": {"batch_size": 32},
              "metrics": {"energy_per_sample_j": energy, "samples_per_joule": 1 / energy}}
    manifest = {"run_id": name, "target": {"name": name}, "status": "complete", "created": "2026"}
    return StoredRun(run_dir, manifest, [result])


def test_gpu_panels_first_and_every_figure_is_a_png(tmp_path):
    runs = [make_run(tmp_path, "tx2", 0.1, 0.5), make_run(tmp_path, "rtx", 0.01, 0.2)]
    comparison = compare(runs)
    series = plots.collect(comparison, runs)
    assert plots.panels_for(series) == ["gpu_util_percent", "power_w", "gpu_memory_used_mb"]
    figures = plots.figures(comparison, runs)
    assert [title for title, _, _ in figures] == ["Ratios against the baseline", "Throughput per job",
                                                  "Step-time distributions", "Telemetry: k",
                                                  "Accuracy per epoch", "Energy per sample"]
    assert all(png.startswith(PNG) and len(png) > 2000 for _, png, _ in figures)
    assert comparison.rows[1]["samples_per_joule_ratio"] == 2.5


def test_psutil_only_runs_plot_cpu_and_memory(tmp_path):
    run = make_run(tmp_path, "local", 0.1, 0.5)
    telemetry = run.path / "k-r1" / "telemetry.csv"
    lines = [line for line in telemetry.read_text().splitlines() if "nvml" not in line]
    telemetry.write_text("\n".join(lines + ["10,0,psutil,rss_mb,700"]) + "\n")
    comparison = compare([run])
    assert plots.panels_for(plots.collect(comparison, [run])) == ["cpu_percent", "rss_mb"]
    assert "Energy per sample" in [title for title, _, _ in plots.figures(comparison, [run])]
