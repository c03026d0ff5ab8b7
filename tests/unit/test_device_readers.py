"""NVML and jtop readers against stand-ins that follow nvidia-ml-py's and jetson-stats 4.3's
documented types and units (tests/fakes)."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import pytest

from benchmarks.telemetry import Unavailable
from benchmarks.telemetry.jetson import JtopReader
from benchmarks.telemetry.nvml import NvmlReader, throttle_names

FAKES = Path(__file__).resolve().parents[1] / "fakes"


def load_fake(name):
    spec = importlib.util.spec_from_file_location(f"fake_{name}", FAKES / name / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def nvml(monkeypatch):
    for key in [k for k in os.environ if k.startswith("FAKE_NVML")]:
        monkeypatch.delenv(key)
    return load_fake("pynvml")


def test_nvml_units_become_watts_joules_and_megabytes(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_POWER_MW", "215500")
    reader = NvmlReader(nvml).open()
    first = reader.sample()
    time.sleep(0.2)
    second = reader.sample()
    assert first["power_w"] == 215.5 and first["gpu_util_percent"] == 87.0
    assert first["gpu_memory_used_mb"] == 512.0 and first["sm_clock_mhz"] == 1710.0
    assert first["temperature_c"] == 61.0 and first["throttled"] == 0
    # the counter is mJ since driver load; 0.2 s at 215.5 W is about 43 J more
    assert 40 < second["energy_j"] - first["energy_j"] < 60
    facts = reader.facts()
    assert facts["gpu_model"] == "NVIDIA GeForce RTX 2080" and facts["driver"] == "535.183.01"
    assert facts["cuda_driver"] == "12.2" and facts["gpus"][0]["memory_total_mb"] == 8192
    reader.close()


def test_pre_volta_energy_is_left_out_not_zero(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_ENERGY", "0")
    reader = NvmlReader(nvml).open()
    assert "energy_j" not in reader.sample() and "energy" in reader.unsupported
    assert "energy_j" not in reader.sample()


def test_no_driver_says_so(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML", "off")
    with pytest.raises(Unavailable, match="NVML did not start \\(Driver Not Loaded\\)"):
        NvmlReader(nvml).open()


def test_two_gpus_sum_power_and_memory(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_GPUS", "2")
    sample = NvmlReader(nvml).open().sample()
    assert sample["power_w"] == 360.0 and sample["gpu_memory_used_mb"] == 1024.0


def test_processes_and_throttle_reasons(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_PROCESSES", "4242:1500,77:20.5")
    monkeypatch.setenv("FAKE_NVML_THROTTLE", str(0x1 | 0x20))  # idle + software thermal
    reader = NvmlReader(nvml).open()
    assert reader.processes() == {4242: 1500.0, 77: 20.5}
    sample = reader.sample()
    assert sample["throttle_reasons"] == 0x21 and sample["throttled"] == 1
    assert throttle_names(0x21) == ["sw_thermal"] and throttle_names(0x1) == []


def test_nvml_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(Unavailable, match="pip install nvidia-ml-py"):
        NvmlReader().open()


@pytest.fixture
def jtop_module(monkeypatch):
    for key in ("FAKE_JTOP", "FAKE_JTOP_NVPMODEL", "FAKE_JTOP_CLOCKS"):
        monkeypatch.delenv(key, raising=False)
    return load_fake("jtop")


def test_jtop_units_and_facts(jtop_module):
    reader = JtopReader(jtop_module).open()
    sample = reader.sample()
    assert sample["gpu_util_percent"] == 73.0 and sample["gpu_freq_mhz"] == 1300.5
    assert sample["ram_used_mb"] == 3072.0 and sample["shared_ram_mb"] == 1024.0  # kB -> MB
    assert sample["power_w"] == 6.12 and sample["rail_vdd_sys_gpu_w"] == 2.28
    assert sample["temperature_c"] == 41.0 and "temp_cv0_c" not in sample
    facts = reader.facts()
    assert facts["module"].startswith("NVIDIA Jetson TX2") and facts["l4t"] == "32.7.1"
    assert facts["jetpack"] == "4.6.1" and facts["nvpmodel"] == "MAXN" and facts["jetson_clocks"] is True
    reader.close()


@pytest.mark.parametrize("mode, advice", [
    ("inactive", "sudo systemctl restart jtop.service"),
    ("permission", "cannot open /run/jtop.sock"),
    ("mismatch", "different versions"),
])
def test_jtop_failures_say_what_to_do(jtop_module, monkeypatch, mode, advice):
    monkeypatch.setenv("FAKE_JTOP", mode)
    with pytest.raises(Unavailable, match=advice):
        JtopReader(jtop_module).open()


def test_jtop_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "jtop", None)
    with pytest.raises(Unavailable, match="jetson-stats>=4.3,<4.4"):
        JtopReader().open()
