"""What the exporters read: each stored job result with its events and telemetry (read only)."""

from __future__ import annotations

import bisect
import csv
import dataclasses
import json
import math
from pathlib import Path
from typing import Any, Iterator

from ..results import StoredRun
from ..telemetry.base import TELEMETRY_FILE

EVENTS_FILE = "events.jsonl"
GRAPH_FILE = Path("export") / "output_graph.pb"  # benchmarks/jobs/retrain.py's frozen export


@dataclasses.dataclass
class Job:
    run: StoredRun
    result: dict[str, Any]
    events: list[dict[str, Any]]
    telemetry: list[dict[str, Any]]  # t, wall_time, source, metric, value (float)

    @property
    def path(self) -> Path:
        return self.run.path / self.result["dir"]

    @property
    def steps(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == "step"]

    def wall_offset(self) -> float | None:
        """wall_time - t (the telemetry rows carry both clocks), to date events in Unix time."""
        offsets = [row["wall_time"] - row["t"] for row in self.telemetry]
        return sorted(offsets)[len(offsets) // 2] if offsets else None

    def graph_file(self) -> Path | None:
        path = self.path / GRAPH_FILE
        return path if path.is_file() else None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = []
    with open(path) as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a torn last line of a killed job
            if isinstance(event, dict) and isinstance(event.get("event"), str) and _number(event.get("t")) is not None:
                events.append(event)
    return events


def read_telemetry(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    rows = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            t, wall, value = _number(row.get("t")), _number(row.get("wall_time")), _number(row.get("value"))
            if None not in (t, wall, value) and row.get("source") and row.get("metric"):
                rows.append({"t": t, "wall_time": wall, "source": row["source"], "metric": row["metric"],
                             "value": value})
    return rows


def jobs_of(run: StoredRun) -> Iterator[Job]:
    for result in run.results:
        folder = run.path / result["dir"]
        yield Job(run, result, read_events(folder / EVENTS_FILE), read_telemetry(folder / TELEMETRY_FILE))


def step_axis(steps: list[dict[str, Any]]):
    """A function from a time on the events' clock to the global step running (or last ended) then;
    None outside the training window (before the first step began, after the last ended)."""
    ends = [float(s["t"]) for s in steps]
    if not ends:
        return lambda t: None
    first_start = ends[0] - float(steps[0].get("seconds") or 0.0)

    def at(t: float) -> int | None:
        if t < first_start or t > ends[-1]:
            return None
        return min(bisect.bisect_left(ends, t), len(ends) - 1)

    return at


def job_id(job: Job) -> str:
    """The harness's identity of one job result: run id / job folder (key and repeat)."""
    return f"{job.run.run_id}/{job.result['dir']}"
