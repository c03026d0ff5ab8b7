"""The live display of a run: jobs done/total and the running job's epoch and step, one pair of
bars per target when several run in parallel."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from .plan import JobSpec

STATUS_STYLE = {"ok": "green", "skipped": "yellow"}
REFRESH_S = 0.2


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def make_progress(console: Console) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


class RunDisplay:
    """One target's part of a shared rich Progress (thread-safe: rich locks its updates)."""

    def __init__(self, progress: Progress, target: str, prefix: bool = False):
        self.progress = progress
        self.target = target
        self.prefix = f"[{escape(target)}] " if prefix else ""
        self._overall: TaskID | None = None
        self._job: TaskID | None = None
        self._label = ""
        self._last_update = 0.0

    def start(self, run_id: str, path: Path, total: int) -> None:
        self.progress.console.print(f"run [bold]{escape(run_id)}[/]: {total} job(s) on target "
                                    f"[bold]{escape(self.target)}[/] -> {escape(str(path))}")
        self._overall = self.progress.add_task(f"{self.prefix}jobs", total=total)

    def job_started(self, spec: JobSpec) -> None:
        self._label = self.prefix + escape(spec.label)
        epochs = spec.params.get("epochs")
        self._job = self.progress.add_task(f"{self._label} starting", total=epochs if epochs else None)

    def on_event(self, event: dict[str, Any]) -> None:
        """Called from the job's stream thread; step updates are throttled."""
        job = self._job
        if job is None:
            return
        kind = event["event"]
        if kind == "step":
            now = time.monotonic()
            if now - self._last_update >= REFRESH_S:
                self._last_update = now
                self.progress.update(job, description=f"{self._label} epoch {event['epoch'] + 1} "
                                                            f"step {event['step'] + 1}")
        elif kind == "epoch":
            self.progress.advance(job)
        elif kind == "progress":  # a long phase before training, e.g. retrain's bottlenecks
            self.progress.update(job, description=f"{self._label} {escape(str(event.get('phase')))} "
                                                        f"{event.get('done')}/{event.get('total')}")
        elif kind == "start":
            self.progress.update(job, description=f"{self._label} running")

    def job_finished(self, spec: JobSpec, result: dict[str, Any]) -> None:
        if self._job is not None:
            self.progress.remove_task(self._job)
            self._job = None
        if self._overall is not None:
            self.progress.advance(self._overall)
        metrics, status = result["metrics"], result["status"]
        line = (f"[{STATUS_STYLE.get(status, 'red')}]{status:>11}[/] {self.prefix}{escape(spec.label)}  "
                f"{result['duration_s']:.1f} s  {_fmt(metrics.get('samples_per_sec'), '.0f')} samples/s  "
                f"val_acc {_fmt(metrics.get('final_val_accuracy'), '.3f')}")
        if result.get("error"):
            line += f"\n{'':>12}[red]{escape(result['error'])}[/]"
        for warning in ((result.get("telemetry") or {}).get("preflight") or {}).get("warnings", []):
            line += f"\n{'':>12}[yellow]pre-flight: {escape(warning)}[/]"
        self.progress.console.print(line)

    def done(self) -> None:
        if self._overall is not None:
            self.progress.remove_task(self._overall)
