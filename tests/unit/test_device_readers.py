"""NVML and jtop readers against stand-ins that follow nvidia-ml-py's and jetson-stats 4.3's
documented types, units and failure modes (tests/fakes; test_fakes_conformance.py checks the
fakes against the real packages). About 6 s in all, most of it the jtop service-restart cases."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness_jobs.telemetry import Unavailable
from harness_jobs.telemetry.jetson import JtopReader
from harness_jobs.telemetry.nvml import NvmlReader, throttle_names
from harness import config
from harness.telemetry.base import TelemetryWriter
from harness.telemetry.device import DeviceSampler
from harness.telemetry.sidecar import Sidecar, parse

FAKES = Path(__file__).resolve().parents[1] / "fakes"
ROOT = FAKES.parents[1]


def load_fake(name):
    spec = importlib.util.spec_from_file_location(f"fake_{name}", FAKES / name / "__init__.py",
                                                  submodule_search_locations=[str(FAKES / name)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # the jtop fake may load its own submodules
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
    assert facts["nvml_unavailable"] is None and reader.unavailable == {}
    reader.close()


def test_pre_volta_energy_is_null_not_zero(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_ENERGY", "0")
    reader = NvmlReader(nvml).open()
    assert reader.sample()["energy_j"] is None and "energy" in reader.unsupported
    assert reader.sample()["energy_j"] is None
    assert reader.unavailable["energy"] == "nvmlDeviceGetTotalEnergyConsumption: Not Supported"


def test_no_driver_says_so(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML", "off")
    with pytest.raises(Unavailable, match="NVML did not start \\(Driver Not Loaded\\)"):
        NvmlReader(nvml).open()
    monkeypatch.setenv("FAKE_NVML", "nolib")
    with pytest.raises(Unavailable, match="NVML did not start \\(NVML Shared Library Not Found\\)"):
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


def test_throttle_falls_back_to_the_older_call_on_drivers_before_r535(nvml, monkeypatch):
    """nvidia-ml-py 12.535+ always offers ...EventReasons; an older driver lacks the symbol
    (FunctionNotFound). Before the fix that was throttled = 0 on a throttling GPU."""
    monkeypatch.setenv("FAKE_NVML_MISSING", "nvmlDeviceGetCurrentClocksEventReasons")
    monkeypatch.setenv("FAKE_NVML_THROTTLE", str(0x40))  # hardware thermal slowdown
    reader = NvmlReader(nvml).open()
    sample = reader.sample()
    assert sample["throttle_reasons"] == 0x40 and sample["throttled"] == 1
    assert reader.unavailable == {}


def test_throttle_unknown_to_the_driver_is_null_with_the_reason(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_MISSING", "nvmlDeviceGetCurrentClocksEventReasons,"
                                            "nvmlDeviceGetCurrentClocksThrottleReasons")
    reader = NvmlReader(nvml).open()
    sample = reader.sample()
    assert sample["throttled"] is None and sample["throttle_reasons"] is None
    assert reader.unavailable["throttle"] == ("nvmlDeviceGetCurrentClocksEventReasons: Function Not Found; "
                                              "nvmlDeviceGetCurrentClocksThrottleReasons: Function Not Found")
    assert reader.facts()["nvml_unavailable"] == reader.unavailable


@pytest.mark.parametrize("failure, text", [("FAKE_NVML_NOT_SUPPORTED", "Not Supported"),
                                           ("FAKE_NVML_NO_PERMISSION", "Insufficient Permissions")])
@pytest.mark.parametrize("function, key, query", [
    ("nvmlDeviceGetPowerUsage", "power_w", "power"),
    ("nvmlDeviceGetTotalEnergyConsumption", "energy_j", "energy"),
    ("nvmlDeviceGetUtilizationRates", "gpu_util_percent", "utilization"),
    ("nvmlDeviceGetMemoryInfo", "gpu_memory_used_mb", "memory"),
    ("nvmlDeviceGetTemperature", "temperature_c", "temperature"),
    ("nvmlDeviceGetClockInfo", "sm_clock_mhz", "sm_clock"),
    ("nvmlDeviceGetCurrentClocksEventReasons", "throttled", "throttle"),
])
def test_a_query_the_gpu_refuses_is_null_with_the_reason_never_zero(nvml, monkeypatch, failure, text,
                                                                    function, key, query):
    monkeypatch.setenv(failure, function)
    reader = NvmlReader(nvml).open()
    for _ in range(2):
        sample = reader.sample()
        assert sample[key] is None
    assert reader.unavailable == {query: f"{function}: {text}"}
    assert reader.facts()["nvml_unavailable"] == {query: f"{function}: {text}"}


def test_process_query_falls_back_v3_v2_v1(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_PROCESSES", "4242:1500")
    monkeypatch.setenv("FAKE_NVML_MISSING", "nvmlDeviceGetComputeRunningProcesses_v3")
    reader = NvmlReader(nvml).open()
    assert reader.processes() == {4242: 1500.0} and reader.unavailable == {}
    # a driver with neither: nvidia-ml-py's unversioned call is v3 too, and says so
    monkeypatch.setenv("FAKE_NVML_MISSING", "nvmlDeviceGetComputeRunningProcesses_v3,"
                                            "nvmlDeviceGetComputeRunningProcesses_v2")
    reader = NvmlReader(nvml).open()
    assert reader.processes() == {}
    reason = reader.unavailable["processes"]
    assert reason.startswith("nvmlDeviceGetComputeRunningProcesses_v3: Function Not Found; "
                             "nvmlDeviceGetComputeRunningProcesses_v2: Function Not Found; "
                             "nvmlDeviceGetComputeRunningProcesses: Unversioned function called")


def test_process_query_uses_the_unversioned_call_when_the_binding_has_no_v3(nvml, monkeypatch):
    """An older nvidia-ml-py (11.x) has no _v3 function at all; its unversioned call is v1."""
    monkeypatch.setenv("FAKE_NVML_PROCESSES", "4242:1500")
    monkeypatch.delattr(nvml, "nvmlDeviceGetComputeRunningProcesses_v3")
    monkeypatch.delattr(nvml, "nvmlDeviceGetComputeRunningProcesses_v2")
    monkeypatch.setattr(nvml, "nvmlDeviceGetComputeRunningProcesses", nvml._processes)
    assert NvmlReader(nvml).open().processes() == {4242: 1500.0}


def test_used_gpu_memory_none_is_not_attributable_not_zero(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_PROCESSES", "4242:na,77:20.5")
    reader = NvmlReader(nvml).open()
    assert reader.processes() == {4242: None, 77: 20.5}
    sampler = DeviceSampler(reader, 0.1, job_pids=lambda: {4242})
    values = sampler.sample()
    assert values["gpu_memory_job_mb"] is None and sampler.other_gpu_processes == {77: 20.5}


def test_a_lost_gpu_ends_the_reader_with_the_reason(nvml, monkeypatch):
    monkeypatch.setenv("FAKE_NVML_GPU_LOST_AFTER", "0.3")
    reader = NvmlReader(nvml).open()
    assert reader.sample()["throttled"] == 0
    time.sleep(0.35)
    with pytest.raises(Unavailable, match=r"the GPU is lost \(NVML: GPU is lost\)"):
        reader.sample()
    sampler = DeviceSampler(reader, 0.1)
    assert sampler.sample() is None and sampler.failure.startswith("the GPU is lost")


def test_nvml_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(Unavailable, match="pip install nvidia-ml-py"):
        NvmlReader().open()


@pytest.fixture
def jtop_module(monkeypatch):
    for key in [k for k in os.environ if k.startswith("FAKE_JTOP")]:
        monkeypatch.delenv(key)
    return load_fake("jtop")


def test_jtop_units_and_facts(jtop_module):
    reader = JtopReader(jtop_module, interval_s=0.05).open()
    sample = reader.sample()
    assert sample["gpu_util_percent"] == 73.0 and sample["gpu_freq_mhz"] == 1300.5
    assert sample["ram_used_mb"] == 3072.0 and sample["shared_ram_mb"] == 1024.0  # kB -> MB
    assert sample["power_w"] == 6.12 and sample["rail_vdd_sys_gpu_w"] == 2.288
    assert "rail_vdd_in_w" not in sample  # 4.3 keeps VDD_IN as the total only
    assert sample["temperature_c"] == 41.0
    assert {k for k in sample if k.startswith("temp_")} == {
        "temp_bcpu_c", "temp_mcpu_c", "temp_gpu_c", "temp_pll_c", "temp_tboard_c", "temp_tdiode_c", "temp_thermal_c"}
    facts = reader.facts()
    assert facts["module"].startswith("NVIDIA Jetson TX2") and facts["l4t"] == "32.7.1"
    assert facts["jetpack"] == "4.6.1" and facts["nvpmodel"] == "MAXN" and facts["jetson_clocks"] is True
    reader.close()


def test_jtop_offline_sensor_is_left_out(jtop_module, monkeypatch):
    monkeypatch.setenv("FAKE_JTOP_OFFLINE", "thermal")
    sample = JtopReader(jtop_module, interval_s=0.05).open().sample()
    assert "temp_thermal_c" not in sample and sample["temp_tboard_c"] == 37.0


def test_jtop_ok_blocks_until_the_next_data_set(jtop_module):
    reader = JtopReader(jtop_module, interval_s=0.1).open()
    started = time.monotonic()
    assert reader.sample() is not None and reader.sample() is not None
    assert 0.15 < time.monotonic() - started < 0.5


@pytest.mark.parametrize("mode, advice", [
    ("inactive", "sudo systemctl restart jtop.service"),
    ("permission", "cannot open /run/jtop.sock"),
    ("mismatch", "different versions"),
])
def test_jtop_failures_say_what_to_do(jtop_module, monkeypatch, mode, advice):
    monkeypatch.setenv("FAKE_JTOP", mode)
    with pytest.raises(Unavailable, match=advice):
        JtopReader(jtop_module).open()


def sample_for(reader, seconds):
    rows, ended = [], time.monotonic() + seconds
    while time.monotonic() < ended:
        rows.append((time.monotonic(), reader.sample()))
        time.sleep(reader.interval_s)
    return rows


@pytest.mark.parametrize("lost, why", [("eof", "(EOFError: )"), ("pipe", "(BrokenPipeError: [Errno 32] Broken pipe)"),
                                       ("jtop", "(JtopException: Lost connection with jtop server)")])
def test_a_jtop_service_restart_leaves_a_gap_and_a_note(jtop_module, monkeypatch, lost, why):
    """ok() re-raises the lost connection; before the fix that exception escaped sample()."""
    monkeypatch.setenv("FAKE_JTOP_LOST", lost)
    monkeypatch.setenv("FAKE_JTOP_RESTART_AT", "0.3")
    monkeypatch.setenv("FAKE_JTOP_RESTART_DOWN_S", "0.4")
    reader = JtopReader(jtop_module, interval_s=0.05).open()
    rows = sample_for(reader, 1.4)
    got = [s for _, s in rows if s is not None]
    missing = [t for t, s in rows if s is None]
    assert len(got) >= 8 and missing  # samples before and after, none during
    assert [s["gap_s"] for s in got if "gap_s" in s] == [pytest.approx(reader.gaps[0]["to"] - reader.gaps[0]["from"],
                                                                       abs=1e-3)]
    assert 0.35 <= reader.gaps[0]["to"] - reader.gaps[0]["from"] < 1.0  # from the last sample to the reconnection
    assert len(reader.gaps) == 1 and why in reader.gaps[0]["why"]
    assert got[-1]["power_w"] == 6.12  # sampling goes on after the reconnection
    reader.close()
    assert len(reader.notes) == 1 and "reconnected" in reader.notes[0] and "no samples for" in reader.notes[0]


def test_a_service_that_stays_down_is_a_note_at_close(jtop_module, monkeypatch):
    monkeypatch.setenv("FAKE_JTOP_LOST", "jtop")  # the loss seen inside _get_data: JtopException
    monkeypatch.setenv("FAKE_JTOP_RESTART_AT", "0.2")
    monkeypatch.setenv("FAKE_JTOP_RESTART_DOWN_S", "100")
    reader = JtopReader(jtop_module, interval_s=0.05).open()
    sample_for(reader, 0.6)
    reader.close()
    assert len(reader.notes) == 1 and "not reconnected" in reader.notes[0]
    assert "The jtop.service is not active" in reader.notes[0] and "Lost connection with jtop server" in reader.notes[0]


def test_a_slower_service_is_followed_not_dropped(jtop_module, monkeypatch):
    """The service keeps the interval of the client that started it: a slower one makes ok()
    return False after 3 of ours; before the fix every later sample was None."""
    monkeypatch.setenv("FAKE_JTOP_SERVICE_INTERVAL", "0.25")
    reader = JtopReader(jtop_module, interval_s=0.05).open()
    rows = sample_for(reader, 1.2)
    assert reader.interval_s == 0.25 and len(reader.gaps) == 1
    assert "publishes every 0.25 s" in reader.gaps[0]["why"]
    assert [s for _, s in rows[-2:] if s is not None]


def test_the_sampler_thread_survives_a_restart(jtop_module, monkeypatch):
    monkeypatch.setenv("FAKE_JTOP_RESTART_AT", "0.3")
    monkeypatch.setenv("FAKE_JTOP_RESTART_DOWN_S", "0.3")
    sampler = DeviceSampler(JtopReader(jtop_module, interval_s=0.05).open(), 0.05)
    sampler.start(os.getpid())
    time.sleep(1.2)
    rows = sampler.stop()
    assert sampler.failure is None
    times = [row["t"] for row in rows]
    assert max(b - a for a, b in zip(times, times[1:])) >= 0.3  # the gap
    assert times[-1] > 0.9 + times[0] - 0.3 and any("gap_s" in row for row in rows)


def test_the_sidecar_keeps_sampling_through_a_restart(tmp_path):
    """The real sidecar process with the jtop stand-in: samples before and after, a note line,
    which the harness's side of the sidecar keeps as the job's note."""
    env = {**os.environ, "PYTHONPATH": f"{FAKES}{os.pathsep}{ROOT}", "FAKE_JTOP_RESTART_AT": "0.5",
           "FAKE_JTOP_RESTART_DOWN_S": "0.4", "FAKE_NVML": "off"}
    done = subprocess.run([sys.executable, "-m", "harness_jobs.telemetry", "--sources", "jtop", "--interval", "0.05",
                           "--duration", "1.6"], env=env, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line.split(" ", 1)[1]) for line in done.stdout.splitlines() if line.startswith("@@harness")]
    samples = [r for r in records if r["kind"] == "sample"]
    gap = [r for r in samples if "gap_s" in r["values"]]
    assert len(gap) == 1 and samples.index(gap[0]) >= 3 and len(samples) - samples.index(gap[0]) >= 3
    assert [r for r in records if r["kind"] == "note" and "reconnected" in r["text"]]
    assert not [r for r in records if r["kind"] == "unavailable"]
    writer = TelemetryWriter(tmp_path / "telemetry.csv")
    sidecar = Sidecar(None, config.load_targets({})["tx2"], ["jtop"], {}, writer)
    sidecar.job = object()  # the job runs: samples are the job's rows
    for line in done.stdout.splitlines():
        sidecar._handle(parse(line))
    writer.close()
    assert len(sidecar.rows) == len(samples) and sidecar.notes == [r["text"] for r in records if r["kind"] == "note"]


def test_jtop_missing_package_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "jtop", None)
    with pytest.raises(Unavailable, match="jetson-stats>=4.3,<4.4"):
        JtopReader().open()
