"""Energy, power and GPU metrics against hand-computed values; pre-flight rules; the telemetry spec."""

from __future__ import annotations

import pytest

from harness import config
from harness.energy import (
    counter_delta,
    device_metrics,
    integrate,
    steady_window,
    unavailable_metrics,
)
from harness.errors import UsageError
from harness.telemetry.device import attribute
from harness.telemetry.preflight import assess, parse_spec


def steps(epochs=2, per_epoch=4, seconds=0.5, batch=32, t0=10.0):
    """Back-to-back steps: epoch e step s ends at t0 + (e * per_epoch + s + 1) * seconds."""
    return [{"event": "step", "epoch": e, "step": s, "seconds": seconds, "batch_size": batch,
             "t": t0 + (e * per_epoch + s + 1) * seconds} for e in range(epochs) for s in range(per_epoch)]


def test_steady_window_is_the_steps_after_the_first_epoch():
    assert steady_window(steps()) == (12.0, 14.0, 128)  # epoch 1: 12.0 .. 14.0, 4 x 32 samples
    assert steady_window([]) is None


def test_trapezoid_by_hand():
    power = [(11.0, 100.0), (13.0, 200.0), (15.0, 100.0)]
    # 12..13: (150 + 200) / 2 * 1 = 175; 13..14: (200 + 150) / 2 = 175 -> 350 J
    assert integrate(power, 12.0, 14.0) == pytest.approx(350.0)
    assert integrate(power[:1], 12.0, 14.0) is None  # one sample: no integral
    assert integrate([(13.9, 5.0), (14.5, 5.0)], 12.0, 14.0) is None  # covers 5% of the window


def test_counter_delta_interpolates_at_the_window_edges():
    counter = [(11.0, 1000.0), (13.0, 1400.0), (15.0, 1800.0)]
    assert counter_delta(counter, 12.0, 14.0) == pytest.approx(400.0)
    assert counter_delta([(11.0, 5.0), (15.0, 1.0)], 12.0, 14.0) is None  # went backwards (driver reload)


def test_device_metrics_prefer_the_counter_and_subtract_idle():
    telemetry = [{"t": 11.0 + i, "power_w": 100.0, "energy_j": 1000.0 + 150.0 * i, "gpu_util_percent": u,
                  "gpu_memory_used_mb": 900.0, "gpu_memory_job_mb": m, "throttled": th, "sm_clock_mhz": c}
                 for i, (u, m, th, c) in enumerate([(10, 100.0, 0, 1900), (90, 700.0, 0, 1900),
                                                    (80, 650.0, 1, 1500), (50, None, 1, 1600)])]
    m = device_metrics(steps(), telemetry, idle_power_w=30.0)
    assert m["energy_j"] == 300.0 and m["energy_method"] == "counter"  # 150 J/s x 2 s, not 100 W x 2 s
    assert m["net_energy_j"] == 240.0  # 300 - 30 W x 2 s
    assert m["energy_per_sample_j"] == pytest.approx(300 / 128) and m["samples_per_joule"] == pytest.approx(128 / 300, abs=1e-3)
    assert m["gpu_util_mean_percent"] == 57.5 and m["gpu_util_peak_percent"] == 90.0
    assert m["gpu_memory_peak_mb"] == 700.0 and m["gpu_memory_scope"] == "job"
    assert m["throttle_reasons"] is None  # no reason bitmask in these samples
    assert m["throttled_share"] == 0.5 and (m["sm_clock_min_mhz"], m["sm_clock_max_mhz"]) == (1500.0, 1900.0)
    assert m["power_mean_w"] == 100.0 and m["idle_power_w"] == 30.0


def test_without_a_counter_power_is_integrated_and_nothing_is_zero():
    telemetry = [{"t": 11.0 + i, "power_w": p, "ram_used_mb": 2000.0 + i, "shared_ram_mb": 300.0,
                  "gpu_freq_mhz": f} for i, (p, f) in enumerate([(3.0, 1300.5), (5.0, 1300.5), (5.0, 854.0),
                                                                  (3.0, 1300.5)])]
    m = device_metrics(steps(), telemetry)
    # samples at 11, 12, 13, 14 s; window 12..14: (5 + 5) / 2 + (5 + 3) / 2 = 9 J
    assert m["energy_j"] == 9.0 and m["energy_method"] == "integrated"
    assert m["ram_peak_mb"] == 2003.0 and m["shared_ram_peak_mb"] == 300.0
    assert (m["gpu_freq_min_mhz"], m["gpu_freq_max_mhz"]) == (854.0, 1300.5)  # a Jetson GPU clock drop
    assert m["net_energy_j"] is None and m["throttled_share"] is None and m["gpu_memory_peak_mb"] is None


def test_unmeasured_metrics_are_listed_with_the_reason():
    m = device_metrics(steps(), [])
    missing = unavailable_metrics(m, {"sources": [], "unavailable_sources": {"nvml": "no driver"}})
    assert missing["energy_j"] == "no GPU/board telemetry on this target (nvml: no driver)"
    assert set(missing) >= {"gpu_util_mean_percent", "power_mean_w", "samples_per_joule"}


def test_gpu_memory_attribution():
    assert attribute({10: 300.0, 11: None, 99: 1200.0}, {10, 11}) == (300.0, {99: 1200.0})
    assert attribute({99: 5.0}, {10}) == (None, {99: 5.0})


def test_preflight_rules():
    report = assess({"nvpmodel": "MODE_15W", "jetson_clocks": False},
                    [{"power_w": 3.0, "temperature_c": 40.0}, {"power_w": 5.0, "temperature_c": 41.0}],
                    {4242: 1500.0})
    assert report.idle_power_w == 4.0 and report.temperature_start_c == 40.0
    assert report.other_gpu_processes == [{"pid": 4242, "memory_mb": 1500.0}]
    assert "pid 4242 (1500 MB)" in report.warnings[0] and report.error is None
    assert any("MODE_15W, not MAXN" in w for w in report.warnings)
    assert any("jetson_clocks is off" in w for w in report.warnings)
    strict = assess({"nvpmodel": "MAXN", "jetson_clocks": True}, [], {4242: None}, policy="strict")
    assert "pid 4242 (? MB)" in strict.error and strict.warnings == [] and strict.idle_power_w is None


def test_telemetry_spec_and_target_keys_are_checked():
    assert parse_spec("auto") == ["auto"] and parse_spec("psutil, nvml") == ["psutil", "nvml"]
    with pytest.raises(ValueError, match="comma list of psutil, docker, nvml, jtop, tegrastats"):
        parse_spec("nvml,rapl")
    for table, message in (({"telemetry": "gpu"}, "telemetry must be"), ({"preflight": "loud"}, "preflight must be"),
                           ({"idle_baseline_s": -1}, "idle_baseline_s"), ({"sample_interval_s": 0}, "sample_interval_s")):
        with pytest.raises(UsageError, match=message):
            config.make_target("x", table, "harness.toml")


def test_throttle_reasons_are_named():
    telemetry = [{"t": 1.0, "throttle_reasons": 0x1}, {"t": 2.0, "throttle_reasons": 0x4 | 0x40}]
    assert device_metrics([], telemetry)["throttle_reasons"] == ["hw_thermal", "sw_power_cap"]
