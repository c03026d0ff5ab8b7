"""The sidecar's container options and its log protocol (no engine needed)."""

from __future__ import annotations

from harness import config
from harness_jobs.telemetry.sources import BOARD_DIR
from harness.telemetry.sidecar import JTOP_SOCKET, TEGRASTATS_IN_SIDECAR, parse, sidecar_options


def test_jetson_sidecar_gets_the_jtop_socket_tegrastats_and_the_host_pid_namespace():
    target = config.load_targets({})["tx2"]
    options = sidecar_options(target, ["auto"], {"io.harness.run": "r"})
    assert options["pid_mode"] == "host" and options["runtime"] == "nvidia"
    assert options["entrypoint"] == ["python3", "-m", "harness_jobs.telemetry"]
    mounts = {m["Target"]: m["Source"] for m in options["mounts"]}
    # the board's files at paths runc accepts (never under /proc), all read-only but the jtop socket
    assert mounts == {JTOP_SOCKET: JTOP_SOCKET, TEGRASTATS_IN_SIDECAR: "/usr/bin/tegrastats",
                      f"{BOARD_DIR}/model": "/sys/firmware/devicetree/base/model",
                      f"{BOARD_DIR}/nv_tegra_release": "/etc/nv_tegra_release",
                      f"{BOARD_DIR}/nvpmodel": "/usr/sbin/nvpmodel", f"{BOARD_DIR}/nvpmodel.conf": "/etc/nvpmodel.conf",
                      "/var/lib/nvpmodel": "/var/lib/nvpmodel"}
    assert all(m["ReadOnly"] for m in options["mounts"] if m["Target"] != JTOP_SOCKET)
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


def test_board_facts_come_from_the_hosts_copies_when_the_system_has_none(tmp_path, monkeypatch):
    """As in a sidecar: no /proc/device-tree, no nvpmodel on PATH, the image's /etc without the L4T
    release; the host's files bound under BOARD_DIR. Contents as L4T R32.7.1 on a TX2 prints them
    (nv_tegra_release, and `nvpmodel -q` as published in public Jetson set-up notes)."""
    from harness_jobs.telemetry import sources
    (tmp_path / "model").write_bytes(b"NVIDIA Jetson TX2 Developer Kit\x00")
    (tmp_path / "nv_tegra_release").write_text(
        "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t186ref, EABI: aarch64, DATE: Sat Feb 19 17:07:00 UTC 2022\n")
    (tmp_path / "nvpmodel.conf").write_text("< POWER_MODEL ID=3 NAME=MAXP_CORE_ARM >\n")
    (tmp_path / "nvpmodel").write_text(f'#!/bin/sh\n[ "$1 $2" = "-f {tmp_path}/nvpmodel.conf" ] || exit 9\n'
                                       'printf "NV Fan Mode:quiet\\nNV Power Mode: MAXP_CORE_ARM\\n3\\n"\n')
    (tmp_path / "nvpmodel").chmod(0o755)
    monkeypatch.setattr(sources, "BOARD_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    own_read = sources._read  # the system's own copies read as absent, even where this runs on a Jetson
    monkeypatch.setattr(sources, "_read", lambda path: own_read(path) if path.startswith(str(tmp_path)) else None)
    assert sources.l4t_facts() == {"board": "NVIDIA Jetson TX2 Developer Kit", "l4t": "32.7.1",
                                   "nvpmodel": "MAXP_CORE_ARM"}
