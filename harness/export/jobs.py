"""What the exporters read: each stored job result with its events (harness.jobdata, through its
step cache) and telemetry (harness.telemetry.reader), read only."""

from __future__ import annotations

import bisect
import dataclasses
import math
from pathlib import Path
from typing import Any, Iterator

from .. import jobdata
from ..results import StoredRun
from ..telemetry.base import TELEMETRY_FILE
from ..telemetry.reader import read_telemetry

GRAPH_FILE = Path("export") / "output_graph.pb"  # benchmarks/jobs/retrain.py's frozen export


@dataclasses.dataclass
class Job:
    run: StoredRun
    result: dict[str, Any]
    data: jobdata.JobData
    telemetry: list[dict[str, Any]]  # t, wall_time, source, metric, value (float)

    @property
    def path(self) -> Path:
        return self.run.path / self.result["dir"]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events other than steps that have a kind and a time on the events' clock (the ones
        an exporter can date)."""
        return [e for e in self.data.events if isinstance(e.get("event"), str) and _is_time(e.get("t"))]

    @property
    def steps(self) -> list[dict[str, float]]:
        """Each step as t, epoch, step, seconds, batch_size (floats), in order."""
        columns = [self.data.steps[name].tolist() for name in jobdata.STEP_FIELDS]
        return [dict(zip(jobdata.STEP_FIELDS, values)) for values in zip(*columns)]

    def wall_offset(self) -> float | None:
        """wall_time - t (the telemetry rows carry both clocks), to date events in Unix time."""
        offsets = [row["wall_time"] - row["t"] for row in self.telemetry]
        return sorted(offsets)[len(offsets) // 2] if offsets else None

    def graph_file(self) -> Path | None:
        path = self.path / GRAPH_FILE
        return path if path.is_file() else None


def jobs_of(run: StoredRun) -> Iterator[Job]:
    for result in run.results:
        folder = run.path / result["dir"]
        yield Job(run, result, jobdata.load(folder), read_telemetry(folder / TELEMETRY_FILE))


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
