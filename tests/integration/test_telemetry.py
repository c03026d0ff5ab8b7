"""Telemetry for real: the tegrastats subprocess (a fake executable printing real lines), the
sidecar entry point as a process, and `harness run` measuring a real job with NVML / jtop
stand-ins (tests/fakes) or tegrastats, pre-flight included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from harness_jobs.telemetry.tegrastats import TegrastatsReader

from ..conftest import REPO, only_run, read_results

FAKES = REPO / "tests" / "fakes"
TEGRASTATS = str(FAKES / "bin" / "tegrastats")
PREFIX = "@@harness-telemetry "


def fake_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKE_")}
    env.update({"PYTHONPATH": os.pathsep.join([str(FAKES), str(REPO)]), "COLUMNS": "200"}, **extra)
    return env


def test_tegrastats_reader_runs_the_executable_and_parses_its_lines():
    reader = TegrastatsReader(0.05, TEGRASTATS)
    reader.start()
    samples = []
    deadline = time.monotonic() + 10
    while len(samples) < 3 and time.monotonic() < deadline:
        sample = reader.latest()
        if sample:
            samples.append(sample)
        time.sleep(0.05)
    reader.stop()
    assert len(samples) == 3, samples
    assert {s["power_w"] for s in samples} <= {3.14, 5.14} and all(s["ram_total_mb"] == 7852.0 for s in samples)
    assert reader._process.poll() is not None  # stopped, not left running


def test_tegrastats_that_dies_says_why(tmp_path):
    broken = tmp_path / "tegrastats"
    broken.write_text("#!/bin/sh\necho 'tegrastats: must be run as root' >&2\nexit 1\n")
    broken.chmod(0o755)
    reader = TegrastatsReader(0.05, str(broken))
    reader.start()
    reader._process.wait(timeout=10)
    time.sleep(0.1)
    assert reader.failure() == "tegrastats exited with code 1: tegrastats: must be run as root"


def sidecar(*args, env):
    done = subprocess.run([sys.executable, "-m", "harness_jobs.telemetry", *args], check=False, cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    lines = [json.loads(line[len(PREFIX):]) for line in done.stdout.splitlines() if line.startswith(PREFIX)]
    return done, lines


def test_sidecar_streams_tegrastats_samples_with_facts_first():
    done, lines = sidecar("--sources", "tegrastats", "--interval", "0.1", "--duration", "1",
                          "--tegrastats", TEGRASTATS, env=fake_env(FAKE_TEGRASTATS_FORMAT="orin"))
    assert done.returncode == 0, done.stderr
    assert lines[0]["kind"] == "system" and lines[0]["facts"]["cpu_cores"] == os.cpu_count()
    assert lines[1]["kind"] == "facts" and lines[1]["source"] == "tegrastats"
    samples = [line for line in lines if line["kind"] == "sample"]
    assert len(samples) >= 5 and all(s["values"]["power_w"] in (3.14, 5.14) for s in samples)
    assert samples[0]["t"] < samples[-1]["t"] and "raw" not in samples[0]["values"]


def test_sidecar_auto_reports_what_cannot_run_and_samples_what_can():
    done, lines = sidecar("--interval", "0.1", "--duration", "0.5",
                          env=fake_env(FAKE_JTOP="permission", FAKE_NVML_PROCESSES="4242:1500",
                                       PATH="/usr/bin:/bin"))
    assert done.returncode == 0, done.stderr
    kinds = {(line["kind"], line["source"]) for line in lines}
    assert ("unavailable", "jtop") in kinds and ("facts", "nvml") in kinds and ("unavailable", "tegrastats") in kinds
    jtop = next(line for line in lines if line["source"] == "jtop")
    assert "jtop" in jtop["reason"] and "group" in jtop["reason"]
    sample = next(line for line in lines if line["kind"] == "sample")
    assert sample["values"]["gpu_processes"] == {"4242": 1500.0} and sample["values"]["power_w"] == 180.0


def test_sidecar_bad_arguments_exit_2():
    done, _ = sidecar("--sources", "rapl", env=fake_env())
    assert done.returncode == 2 and "bad --sources" in done.stderr.splitlines()[-1]


RUN = ["run", "--job", "mnist_mlp", "--set", "epochs=3", "--results-dir", "r"]


def harness_env_run(tmp_path, toml, **env):
    (tmp_path / "harness.toml").write_text(toml)
    process = subprocess.run([sys.executable, "-m", "harness", *RUN], check=False, cwd=tmp_path, env=fake_env(**env),
                             capture_output=True, text=True, timeout=300)
    run = only_run(tmp_path / "r")
    return process, run, read_results(run)


def test_local_run_with_nvml_measures_gpu_power_and_counter_energy(tmp_path):
    holder = subprocess.Popen(["sleep", "60"])
    try:
        process, run, (result,) = harness_env_run(
            tmp_path, "[targets.local]\nsample_interval_s = 0.1\nidle_baseline_s = 0.3\n",
            FAKE_JTOP="inactive", FAKE_NVML_HOLDERS="-m harness_jobs mnist_mlp", FAKE_NVML_HOLDER_MB="640",
            FAKE_NVML_PROCESSES=f"{holder.pid}:1500")
    finally:
        holder.kill()
    assert process.returncode == 0, process.stderr[-2000:]
    m = result["metrics"]
    assert m["gpu_util_mean_percent"] == 87.0 and m["power_mean_w"] == 180.0
    assert m["energy_method"] == "counter" and m["energy_j"] == pytest.approx(180.0 * m["energy_window_s"], rel=0.05)
    assert m["idle_power_w"] == 180.0 and m["net_energy_j"] == pytest.approx(0.0, abs=1.0)
    assert m["gpu_memory_peak_mb"] == 640.0 and m["gpu_memory_scope"] == "job"  # the job's own, not the holder's
    assert m["samples_per_joule"] > 0 and m["throttled_share"] == 0.0
    device = result["telemetry"]["device"]
    assert device["gpu_model"] == "NVIDIA GeForce RTX 2080" and device["cpu_cores"] == os.cpu_count()
    assert device["memory_mb"] > 0 and device["cpu"]
    assert any(f"pid {holder.pid} (1500 MB)" in note for note in result["notes"])
    assert f"pre-flight: 1 other process(es) hold GPU memory before the job: pid {holder.pid} (1500 MB)" in \
        " ".join(process.stdout.split())
    assert result["unavailable"].keys() == {"ram_peak_mb", "shared_ram_peak_mb"}
    manifest = json.loads((run / "run.json").read_text())
    assert manifest["runner"]["device"]["driver"] == "535.183.01"
    assert "warning" not in process.stdout  # auto found a GPU: the absent jtop is no news


def test_strict_preflight_refuses_a_busy_gpu(tmp_path):
    process, _, (result,) = harness_env_run(
        tmp_path, '[targets.local]\npreflight = "strict"\nidle_baseline_s = 0.0\n',
        FAKE_JTOP="inactive", FAKE_NVML_PROCESSES="4242:1500")
    assert process.returncode == 1
    assert result["status"] == "failed" and "pid 4242 (1500 MB)" in result["error"] and "strict" in result["error"]


def test_local_run_on_a_jetson_without_jtop_uses_tegrastats(tmp_path):
    path = f"{FAKES / 'bin'}{os.pathsep}{os.environ['PATH']}"
    process, _, (result,) = harness_env_run(
        tmp_path, "[targets.local]\nsample_interval_s = 0.1\nidle_baseline_s = 0.3\n",
        FAKE_NVML="off", FAKE_JTOP="inactive", PATH=path)
    assert process.returncode == 0, process.stderr[-2000:]
    m = result["metrics"]
    assert result["telemetry"]["sources"] == ["tegrastats"]
    assert m["energy_method"] == "integrated" and 3.14 <= m["energy_j"] / m["energy_window_s"] <= 5.14
    assert m["ram_peak_mb"] == 2020.0 and m["gpu_util_peak_percent"] == 99.0 and 3.14 <= m["idle_power_w"] <= 5.14
    assert m["throttled_share"] is None and "throttled_share" in result["unavailable"]
    assert result["telemetry"]["preflight"]["temperature_start_c"] == 41.0


def test_no_device_telemetry_warns_once_and_marks_metrics_unavailable(tmp_path):
    process, _, (result,) = harness_env_run(tmp_path, "[targets.local]\nidle_baseline_s = 0.0\n",
                                            FAKE_NVML="off", FAKE_JTOP="inactive", PATH="/usr/bin:/bin")
    assert process.returncode == 0, process.stderr[-2000:]
    out = " ".join(process.stdout.split())  # the console wraps long lines
    assert out.count("warning:") == 1 and out.count("no GPU/board telemetry") == 1
    assert "nvml: NVML did not start (Driver Not Loaded)" in out
    assert result["metrics"]["energy_j"] is None and result["metrics"]["power_mean_w"] is None
    assert "Driver Not Loaded" in result["unavailable"]["energy_j"]
