"""The telemetry sidecar on a real engine, used as if it were a remote one: the job image runs
`python -m harness_jobs.telemetry` beside the job with the host's PID namespace, reading a
tegrastats executable bind-mounted from the engine host (here the fake that prints real TX2
lines), and the harness reads its samples from the log stream."""

from __future__ import annotations

import json
import re

import pandas as pd

from harness import config

from ..conftest import REPO, only_run, read_results, run_harness
from .test_docker import client, harness_containers, images  # noqa: F401 - the shared engine and image fixtures

TARGET = f"""
[targets.rtx-tegra]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:test"
telemetry = "docker,tegrastats"
tegrastats_path = "{REPO / 'tests' / 'fakes' / 'bin' / 'tegrastats'}"
sample_interval_s = 0.1
idle_baseline_s = 0.5

[targets.rtx-strict]
runner = "docker"
platform = "linux/amd64"
image = "harness-rtx2080:test"
telemetry = "auto"
idle_baseline_s = 0.0
tegrastats_path = "/nonexistent/tegrastats"  # the engine host lacks it: the mount is dropped
"""


def test_sidecar_measures_power_and_energy_beside_the_container(tmp_path, client, images,  # noqa: F811
                                                               harness_containers):  # noqa: F811
    (tmp_path / "harness.toml").write_text(TARGET)
    done = run_harness("run", "--target", "rtx-tegra", "--job", "mnist_mlp", "--set", "epochs=3",
                       "--results-dir", "r", cwd=tmp_path)
    assert done.code == 0, done.out[-2000:] + done.err[-2000:]
    run = only_run(tmp_path / "r")
    (result,) = read_results(run)
    info, m = result["telemetry"], result["metrics"]
    assert info["sidecar"] is True and info["sources"] == ["tegrastats"]
    assert info["preflight"]["temperature_start_c"] == 41.0 and 3.14 <= info["preflight"]["idle_power_w"] <= 5.14
    assert m["energy_method"] == "integrated" and 3.14 <= m["energy_j"] / m["energy_window_s"] <= 5.14
    assert m["ram_peak_mb"] == 2020.0 and m["gpu_util_peak_percent"] == 99.0
    assert m["peak_container_memory_mb"] > 0  # docker stats still run beside the sidecar
    job_dir = json.loads((run / "run.json").read_text())["jobs"][0]["dir"]
    samples = pd.read_csv(run / job_dir / "telemetry.csv")
    power = samples[(samples.source == "tegrastats") & (samples.metric == "power_w")]
    assert len(power) >= 5 and set(power.value) <= {3.14, 5.14}
    assert [c for c in harness_containers() if c.labels.get("io.harness.role") == "telemetry"] == []


def test_auto_without_gpu_or_board_says_why_once(tmp_path, client, images):  # noqa: F811
    (tmp_path / "harness.toml").write_text(TARGET)
    done = run_harness("run", "--target", "rtx-strict", "--job", "selftest", "--set", "framework=none",
                       "--results-dir", "r", cwd=tmp_path)
    assert done.code == 0, done.out[-2000:] + done.err[-2000:]
    out = " ".join(done.out.split())
    nvml = re.compile(r"nvml: (nvidia-ml-py is not installed|NVML did not start \(NVML Shared Library Not Found\))")
    assert out.count("no GPU/board telemetry") == 1 and nvml.search(out)
    (result,) = read_results(only_run(tmp_path / "r"))
    assert result["telemetry"]["sources"] == [] and nvml.search(result["unavailable"]["power_mean_w"])
    assert result["metrics"]["power_mean_w"] is None
    assert result["telemetry"]["device"]["cpu_cores"] > 0  # the engine host's, read in the sidecar
    assert "not on PATH" in result["telemetry"]["unavailable_sources"]["tegrastats"]


def test_gpu_memory_is_attributed_to_the_job_by_its_host_pids(client, images, tmp_path):  # noqa: F811
    """NVML (in a host-PID sidecar) reports host PIDs; `docker top` gives the job's: they must meet."""
    from harness.telemetry.base import TelemetryWriter
    from harness.telemetry.sidecar import Sidecar

    job = client.containers.run("harness-rtx2080:test", entrypoint=["sleep", "30"], detach=True,
                                labels={"io.harness.run": "attribution-test"})
    try:
        top = job.top()
        job_pid = int(top["Processes"][0][top["Titles"].index("PID")])
        writer = TelemetryWriter(tmp_path / "telemetry.csv")
        target = config.load_targets({})["rtx2080"]
        sidecar = Sidecar(client, target, ["nvml"], {}, writer)
        sidecar.job_started(job)
        sidecar._handle({"kind": "sample", "source": "nvml", "t": 1.0, "wall_time": 2.0,
                         "values": {"power_w": 50.0, "gpu_processes": {str(job_pid): 700.0, "1": 64.0}}})
        writer.close()
        assert sidecar.rows[0]["gpu_memory_job_mb"] == 700.0  # the job's own, not pid 1's
    finally:
        job.remove(force=True)


def test_a_jetson_sidecar_reads_the_board_files_the_engine_binds(client, images, tmp_path):  # noqa: F811
    """The tx2 sidecar's own board mounts on a real engine (runc accepts every target: none is under
    /proc), with this host's stand-ins for the device's files as sources, and l4t_facts inside the
    container reads the board, the L4T release and the power mode through them, read-only."""
    from docker.types import Mount

    from harness_jobs.telemetry.sources import BOARD_FILES
    from harness.telemetry.sidecar import sidecar_options

    (tmp_path / "model").write_bytes(b"NVIDIA Jetson TX2 Developer Kit\x00")
    (tmp_path / "nv_tegra_release").write_text("# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref\n")
    (tmp_path / "nvpmodel.conf").write_text("< POWER_MODEL ID=0 NAME=MAXN >\n")
    (tmp_path / "nvpmodel").write_text('#!/bin/sh\nprintf "NV Fan Mode:quiet\\nNV Power Mode: MAXN\\n0\\n"\n')
    (tmp_path / "nvpmodel").chmod(0o755)
    (tmp_path / "nvpmodel-state").mkdir()
    options = sidecar_options(config.load_targets({})["tx2"], ["auto"], {"io.harness.run": "board-files-test"})
    names = dict(BOARD_FILES)  # device path -> the stand-in's name here
    mounts = [Mount(m["Target"], str(tmp_path / names[m["Source"]]), type="bind", read_only=m["ReadOnly"])
              for m in options["mounts"] if m["Source"] in names]
    assert len(mounts) == len(BOARD_FILES)
    script = ("import json; from harness_jobs.telemetry.sources import l4t_facts; print(json.dumps(l4t_facts()))\n"
              "try:\n    open('/opt/harness/host/model', 'a')\nexcept OSError as error:\n    print(error)\n")
    logs = client.containers.run("harness-rtx2080:test", entrypoint=["python3", "-c", script], mounts=mounts,
                                 remove=True).decode()
    assert json.loads(logs.splitlines()[0]) == {"board": "NVIDIA Jetson TX2 Developer Kit", "l4t": "32.7.1",
                                                "nvpmodel": "MAXN"}
    assert "Read-only file system" in logs
