"""harness.telemetry.reader: the one reader of telemetry.csv, against files its writer wrote."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.telemetry.base import COLUMNS, TelemetryWriter
from harness.telemetry.reader import read_telemetry, read_telemetry_frame

STORED = (Path(__file__).resolve().parents[1] / "data" / "reports" / "runs" / "20261126-071247-desk-411d"
          / "mnist_mlp-a75db508-r1" / "telemetry.csv")


def written(tmp_path: Path, torn: str = "") -> Path:
    path = tmp_path / "telemetry.csv"
    writer = TelemetryWriter(path)
    writer.write("nvml", {"t": 10.0, "wall_time": 1000.0, "gpu_util_percent": 40, "power_w": 75.5, "energy_j": None})
    writer.write("psutil", {"t": 11.0, "wall_time": 1001.0, "rss_mb": 512.25})
    writer.close()
    with open(path, "a") as handle:
        handle.write(torn)
    return path


def test_records_are_what_the_writer_wrote_in_order(tmp_path):
    assert read_telemetry(written(tmp_path)) == [
        {"t": 10.0, "wall_time": 1000.0, "source": "nvml", "metric": "gpu_util_percent", "value": 40.0},
        {"t": 10.0, "wall_time": 1000.0, "source": "nvml", "metric": "power_w", "value": 75.5},
        {"t": 11.0, "wall_time": 1001.0, "source": "psutil", "metric": "rss_mb", "value": 512.25}]


def test_torn_and_bad_rows_are_skipped(tmp_path):
    torn = "12.000,1002.000,nvml,power_w,nan\n12.000,oops,nvml,power_w,1\n12.000,1002.000,,power_w,1\n12.000,1002.0"
    assert [row["value"] for row in read_telemetry(written(tmp_path, torn))] == [40.0, 75.5, 512.25]


def test_no_file_reads_as_no_samples(tmp_path):
    assert read_telemetry(tmp_path / "telemetry.csv") == []
    frame = read_telemetry_frame(tmp_path / "telemetry.csv")
    assert frame.empty and list(frame.columns) == list(COLUMNS)


def test_the_frame_of_a_stored_file_is_what_pandas_reads_of_it():
    frame = read_telemetry_frame(STORED)
    assert len(frame) > 10
    pd.testing.assert_frame_equal(frame, pd.read_csv(STORED), check_dtype=False)
