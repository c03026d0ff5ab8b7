"""`harness export tensorboard`: a stored run as TensorBoard event files (a pure function of the
stored results; written with TensorBoard's own EventFileWriter and summary functions).

Layout: LOGDIR/<job folder>/events.out.tfevents.* , LOGDIR being <run folder>/tensorboard by
default (so `tensorboard --logdir reports/runs` shows every exported run) or --logdir DIR/<run id>.
Per job (one TensorBoard run): `epoch/<metric>` at step = epoch index (as Keras' TensorBoard
callback); `step/seconds` and the telemetry series `telemetry/...` on the global step axis (a
sample's time is mapped to the step running then; samples outside training are left out);
`eval/<split>/<metric>` for eval events that carry a step; `final/<metric>` for the HParams
dashboard, with the job's parameters as hyperparameters; the retrain job's frozen export graph.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..results import StoredRun
from . import names
from .jobs import Job, job_id, jobs_of, step_axis

EVENT_GLOB = "events.out.tfevents.*"


def _tb():
    try:
        from tensorboard.compat.proto import event_pb2, graph_pb2
        from tensorboard.plugins.hparams import summary_v2 as hparams_summary
        from tensorboard.plugins.scalar.summary_v2 import scalar_pb
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise UsageError("harness export tensorboard needs the tensorboard package "
                         "(pip install 'edge-tf-harness[tensorboard]')") from None
    return event_pb2, graph_pb2, hparams_summary, scalar_pb, EventFileWriter


def default_logdir(run: StoredRun) -> Path:
    return run.path / "tensorboard"


def hparam_value(value: Any) -> bool | float | str:
    """TensorBoard's hparams take bool, number or string."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return str(value)


class _Writer:
    def __init__(self, folder: Path, job: Job):
        event_pb2, self.graph_pb2, self.hparams, self.scalar_pb, EventFileWriter = _tb()
        self.Event = event_pb2.Event
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(EVENT_GLOB):  # re-export: replace this exporter's own files, nothing else
            old.unlink()
        self.writer = EventFileWriter(str(folder), flush_secs=3600)
        offset = job.wall_offset()
        self.offset = offset if offset is not None else 0.0

    def scalar(self, tag: str, value: float, step: int, wall_time: float) -> None:
        event = self.Event(wall_time=wall_time, step=int(step), summary=self.scalar_pb(tag, float(value)))
        self.writer.add_event(event)

    def summary(self, summary, wall_time: float, step: int = 0) -> None:
        self.writer.add_event(self.Event(wall_time=wall_time, step=step, summary=summary))

    def graph(self, graph_bytes: bytes, wall_time: float) -> None:
        graph = self.graph_pb2.GraphDef()
        graph.ParseFromString(graph_bytes)  # refuses a file that is not a GraphDef
        self.writer.add_event(self.Event(wall_time=wall_time, graph_def=graph.SerializeToString()))

    def close(self) -> None:
        self.writer.close()


def export_job(job: Job, folder: Path) -> dict[str, int]:
    """One job result into `folder`; the counts of what was written."""
    writer = _Writer(folder, job)
    wall = lambda t: float(t) + writer.offset  # noqa: E731  (events' monotonic clock -> Unix time)
    counts = {"scalars": 0, "telemetry": 0, "graph": 0}
    try:
        steps = job.steps
        start = next((e for e in job.events if e["event"] == "start"), None)
        first_time = wall(start["t"]) if start else (wall(steps[0]["t"]) if steps else 0.0)
        params = {k: hparam_value(v) for k, v in sorted((job.result.get("params") or {}).items())}
        params["job"] = job.result.get("job", "")
        params["target"] = job.run.target
        params["status"] = str(job.result.get("status", ""))
        writer.summary(writer.hparams.hparams_pb(params, trial_id=job_id(job), start_time_secs=first_time),
                       first_time)
        for index, step in enumerate(steps):
            writer.scalar(names.STEP_SECONDS, step["seconds"], index, wall(step["t"]))
            counts["scalars"] += 1
        for event in job.events:
            metrics = event["metrics"] if isinstance(event.get("metrics"), dict) else {}
            if event["event"] == "epoch" and isinstance(event.get("epoch"), int):
                for name, value in sorted(metrics.items()):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        writer.scalar(names.EPOCH_PREFIX + name, value, event["epoch"], wall(event["t"]))
                        counts["scalars"] += 1
            elif event["event"] == "eval" and isinstance(event.get("step"), int):
                split = str(event.get("split") or "eval")
                for name, value in sorted(metrics.items()):
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        writer.scalar(f"{names.EVAL_PREFIX}{split}/{name}", value, event["step"], wall(event["t"]))
                        counts["scalars"] += 1
        at = step_axis(steps)
        for row in job.telemetry:
            mapped = names.telemetry_names(row["source"], row["metric"])
            step = at(row["t"])
            if mapped is None or step is None:
                continue
            writer.scalar(mapped[0], row["value"], step, row["wall_time"])
            counts["telemetry"] += 1
        metrics = job.result.get("metrics") or {}
        last = max(len(steps) - 1, 0)
        end_time = wall(steps[-1]["t"]) if steps else first_time
        for name in names.SUMMARY_METRICS:
            value = metrics.get(name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                writer.scalar(names.FINAL_PREFIX + name, value, last, end_time)
                counts["scalars"] += 1
        graph = job.graph_file()
        if graph is not None:
            writer.graph(graph.read_bytes(), end_time)
            counts["graph"] = 1
    finally:
        writer.close()
    return counts


def export_run(run: StoredRun, logdir: Path | None = None) -> tuple[Path, list[tuple[Job, Path, dict[str, int]]]]:
    """Every job result of `run` (failed ones too, with what they recorded and their status as a
    hyperparameter); returns the run's log folder and what each job wrote."""
    base = default_logdir(run) if logdir is None else logdir / run.run_id
    if base.exists() and not base.is_dir():
        raise UsageError(f"{base} exists and is not a folder")
    written = []
    wanted = {result["dir"] for result in run.results}
    if base.is_dir():  # job folders of an earlier export whose job result is gone: this exporter's own files only
        for folder in base.iterdir():
            if folder.is_dir() and folder.name not in wanted and any(folder.glob(EVENT_GLOB)):
                for old in folder.glob(EVENT_GLOB):
                    old.unlink()
                if not any(folder.iterdir()):
                    shutil.rmtree(folder)
    for job in jobs_of(run):
        folder = base / job.result["dir"]
        written.append((job, folder, export_job(job, folder)))
    return base, written
