"""`harness run` of a real job with the NVML and jtop stand-ins failing the way the real libraries
document (tests/fakes/README.md): what lands in result.json and telemetry.csv. One short local run
(17-30 s measured on the shared 2-core machine, 80 s under heavy load)."""

from __future__ import annotations

import csv

from .test_telemetry import harness_env_run


def test_refused_nvml_queries_and_a_jtop_service_restart_mid_job(tmp_path):
    process, run, (result,) = harness_env_run(
        tmp_path, "[targets.local]\nsample_interval_s = 0.1\nidle_baseline_s = 0\ntelemetry = \"nvml,jtop\"\n",
        FAKE_NVML_MISSING="nvmlDeviceGetCurrentClocksEventReasons,nvmlDeviceGetCurrentClocksThrottleReasons",
        FAKE_NVML_NOT_SUPPORTED="nvmlDeviceGetPowerUsage",
        # the harness opens jtop at run start (1st client, closed) and per job (2nd): 1.5 s into the job
        FAKE_JTOP_RESTART_FROM="2", FAKE_JTOP_RESTART_AT="1.5", FAKE_JTOP_RESTART_DOWN_S="0.8")
    assert process.returncode == 0, process.stderr[-2000:]
    # NVML: a driver without either throttle call, a GPU without power readings: null and why, never 0
    assert result["metrics"]["throttled_share"] is None
    assert result["unavailable"]["throttled_share"] == (
        "nvml: nvmlDeviceGetCurrentClocksEventReasons: Function Not Found; "
        "nvmlDeviceGetCurrentClocksThrottleReasons: Function Not Found")
    assert result["telemetry"]["device"]["nvml_unavailable"]["power"] == "nvmlDeviceGetPowerUsage: Not Supported"
    # jtop: the service restarted mid-job: a gap, a note, and sampling went on
    notes = result["telemetry"].get("notes") or []
    assert len(notes) == 1 and notes[0].startswith("jtop: no samples for") and notes[0].endswith("reconnected"), \
        (result["telemetry"], process.stdout[-1500:])
    assert "jtop lost its connection to jtop.service (EOFError: )" in notes[0]
    assert set(result["telemetry"]["sources"]) == {"nvml", "jtop"}
    assert "jtop" not in result["telemetry"]["unavailable_sources"]
    (telemetry,) = run.glob("*/telemetry.csv")
    with open(telemetry) as handle:
        rows = [row for row in csv.DictReader(handle) if row["source"] == "jtop"]
    gap = [row for row in rows if row["metric"] == "gap_s"]
    assert len(gap) == 1 and float(gap[0]["value"]) >= 0.8
    assert [row for row in rows if float(row["t"]) > float(gap[0]["t"]) and row["metric"] == "power_w"]
