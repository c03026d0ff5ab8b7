"""The telemetry session protocol, its typed info, and the shared thread loop and CSV sink.

telemetry.csv is tidy (one value per row: t, wall_time, source, metric, value) so samplers
with different fields and clocks share one file; `pandas.pivot_table` widens it.
"""

from __future__ import annotations

import csv
import dataclasses
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .preflight import Preflight

TELEMETRY_FILE = "telemetry.csv"
COLUMNS = ("t", "wall_time", "source", "metric", "value")


@dataclasses.dataclass
class TelemetryInfo:
    """What result.json["telemetry"] records about the measurement itself, from either session."""

    sources: list[str]
    device: dict[str, Any]
    preflight: Preflight
    unavailable_sources: dict[str, str]
    notes: list[str]
    sidecar: bool = False  # measured by a sidecar container (docker targets)

    def to_json(self) -> dict[str, Any]:
        return {"sources": self.sources, "device": self.device, "preflight": self.preflight.public(),
                "unavailable_sources": self.unavailable_sources, **({"sidecar": True} if self.sidecar else {}),
                **({"notes": self.notes} if self.notes else {})}


class TelemetrySession(Protocol):
    """One job's GPU/board telemetry: in-process (telemetry.session) or from a sidecar (telemetry.sidecar)."""

    def begin(self) -> Preflight:
        """Before the job: open the sources, take the idle baseline, look for GPU memory holders."""
        ...

    def job_started(self, job: Any) -> None:
        """The job runs (a PID, or a container): sample beside it, attributing GPU memory to it."""
        ...

    def stop(self) -> list[dict[str, Any]]:
        """Stop sampling and release the sources (again: a no-op); the samples taken beside the job."""
        ...

    def info(self) -> TelemetryInfo:
        ...


class TelemetryWriter:
    """Appends samples to telemetry.csv and flushes each one, so a crash loses at most one."""

    def __init__(self, path: Path):
        self._handle = open(path, "w", newline="")
        self._csv = csv.writer(self._handle)
        self._csv.writerow(COLUMNS)
        self._lock = threading.Lock()
        self.write_error: OSError | None = None

    def write(self, source: str, row: dict[str, Any]) -> None:
        with self._lock:
            if self.write_error is not None:
                return
            try:
                for metric, value in row.items():
                    if metric not in ("t", "wall_time") and value is not None:
                        self._csv.writerow((f"{row['t']:.3f}", f"{row['wall_time']:.3f}", source, metric, value))
                self._handle.flush()
            except OSError as error:  # a full results disk: samplers go on in memory, the run reports it
                self.write_error = error

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError as error:
            self.write_error = self.write_error or error


class ThreadedSampler:
    """Calls `sample()` every `interval` seconds on a thread until stopped; samplers driven by
    a stream instead override `_loop` and call `record`."""

    name = "sampler"

    def __init__(self, interval: float, writer: TelemetryWriter | None = None):
        self.interval = interval
        self.writer = writer
        self.rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"sampler-{self.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            self.record(self.sample())
            if self._stop.wait(self.interval):
                return

    def record(self, values: dict[str, Any] | None) -> None:
        """Keep a sample (stamped with both clocks) and append it to telemetry.csv."""
        if values is None:
            return
        row = {"t": time.monotonic(), "wall_time": time.time(), **values}
        self.rows.append(row)
        if self.writer is not None:
            self.writer.write(self.name, row)

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 2 * self.interval))
        return self.rows
