"""The sidecar's container options and its log protocol (no engine needed)."""

from __future__ import annotations

from harness import config
from harness.telemetry.sidecar import JTOP_SOCKET, TEGRASTATS_IN_SIDECAR, parse, sidecar_options


def test_jetson_sidecar_gets_the_jtop_socket_tegrastats_and_the_host_pid_namespace():
    target = config.load_targets({})["tx2"]
    options = sidecar_options(target, ["auto"], {"io.harness.run": "r"})
    assert options["pid_mode"] == "host" and options["runtime"] == "nvidia"
    assert options["entrypoint"] == ["python3", "-m", "benchmarks.telemetry"]
    mounts = {m["Target"]: m["Source"] for m in options["mounts"]}
    assert mounts == {JTOP_SOCKET: JTOP_SOCKET, TEGRASTATS_IN_SIDECAR: "/usr/bin/tegrastats"}
    assert options["command"][options["command"].index("--tegrastats") + 1] == TEGRASTATS_IN_SIDECAR
    assert options["labels"]["io.harness.role"] == "telemetry"


def test_x86_sidecar_gets_the_gpus_and_no_jetson_mounts():
    target = config.load_targets({})["rtx2080"]
    options = sidecar_options(target, ["nvml"], {}, duration=0.01)
    assert options["mounts"] == [] and options["device_requests"][0]["Count"] == -1
    assert options["command"] == ["--sources", "nvml", "--interval", "0.5", "--tegrastats", "tegrastats",
                                  "--duration", "0.01"]


def test_only_prefixed_json_records_are_read():
    assert parse('@@harness-telemetry {"kind": "sample", "source": "nvml", "t": 1.0}')["source"] == "nvml"
    for line in ("plain output", "@@harness-telemetry {not json", '@@harness-telemetry ["kind"]', "@@harness-telemetry {}"):
        assert parse(line) is None
