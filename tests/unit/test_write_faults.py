"""A results disk that fails mid-write: JSON stays whole, readers of job output keep reading."""

from __future__ import annotations

import errno
import json
import os

import pytest

from harness.results import write_json_atomic
from harness.runners.base import StreamReader
from harness.telemetry.base import TelemetryWriter


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    write_json_atomic(path, {"status": "ok"})
    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as raised:
        write_json_atomic(path, {"status": "failed"})
    assert raised.value.errno == errno.ENOSPC
    assert json.loads(path.read_text()) == {"status": "ok"}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


class FullFile:
    def write(self, text):
        disk_full()

    def close(self):
        disk_full()


def test_the_stream_reader_keeps_parsing_events_when_its_log_cannot_be_written(tmp_path):
    seen = []
    reader = StreamReader(tmp_path / "stdout.log", seen.append)
    reader._log.close()
    reader._log = FullFile()
    reader.feed("plain output\n")
    reader.feed('@@harness-event {"v": 1, "event": "step", "t": 1.0, "epoch": 0, "step": 1, "seconds": 0.1, "batch_size": 1}\n')
    reader.feed("@@harness-event {broken\n")
    reader.close()
    assert [e["event"] for e in seen] == ["step"] and reader.bad_lines == 1
    assert reader.write_error.errno == errno.ENOSPC


def test_the_telemetry_writer_keeps_samplers_alive_when_the_disk_fills(tmp_path):
    writer = TelemetryWriter(tmp_path / "telemetry.csv")
    writer.write("psutil", {"t": 1.0, "wall_time": 2.0, "cpu_percent": 50.0})
    writer._handle.close()
    writer._handle = FullFile()
    writer._csv = type("Csv", (), {"writerow": staticmethod(disk_full)})()
    writer.write("psutil", {"t": 2.0, "wall_time": 3.0, "cpu_percent": 60.0})  # no raise
    writer.write("psutil", {"t": 3.0, "wall_time": 4.0, "cpu_percent": 70.0})
    writer.close()
    assert writer.write_error.errno == errno.ENOSPC
    assert (tmp_path / "telemetry.csv").read_text().count("cpu_percent") == 1
