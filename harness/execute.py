"""Runs a plan on one target and stores every job's result as soon as it ends."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from benchmarks import __version__ as jobs_version

from . import __version__
from .config import Suite, Target
from .host import host_facts
from .metrics import job_metrics
from .plan import JobSpec
from .progress import RunDisplay
from .results import RunWriter, now_iso
from .runners.base import JobOutcome, Runner, RunInterrupted


def manifest_for(target: Target, suite: Suite, plan: list[JobSpec]) -> dict[str, Any]:
    return {
        "target": target.public(),
        "suite": {"name": suite.name, "description": suite.description, "source": suite.source},
        "host": host_facts(),
        "harness_version": __version__,
        "jobs_version": jobs_version,
        "jobs": [{"key": s.key, "dir": s.dir_name, "job": s.job, "label": s.label, "repeat": s.repeat}
                 for s in plan],
    }


def result_for(spec: JobSpec, outcome: JobOutcome, started: str, seconds: float) -> dict[str, Any]:
    return {
        "key": spec.key, "job": spec.job, "label": spec.label, "repeat": spec.repeat,
        "params": spec.params, "status": outcome.status, "error": outcome.error,
        "exit_code": outcome.exit_code, "started": started, "finished": now_iso(),
        "duration_s": round(seconds, 3), "notes": outcome.notes,
        "metrics": job_metrics(outcome.events, outcome.telemetry),
    }


def skipped(spec: JobSpec, reason: str) -> dict[str, Any]:
    return {"key": spec.key, "job": spec.job, "label": spec.label, "repeat": spec.repeat,
            "params": spec.params, "status": "skipped", "error": reason, "exit_code": None,
            "started": None, "finished": now_iso(), "duration_s": 0.0, "notes": [], "metrics": {}}


def execute(target: Target, suite: Suite, plan: list[JobSpec], results_dir: Path,
            runner: Runner, display: RunDisplay) -> tuple[RunWriter, list[dict[str, Any]]]:
    """Run every job in order. On interrupt, the running job is stored as `interrupted`, the rest
    as `skipped`, the run as `interrupted`, and RunInterrupted propagates."""
    writer = RunWriter(results_dir, manifest_for(target, suite, plan))
    results: list[dict[str, Any]] = []
    display.start(writer.run_id, writer.path, target.name, len(plan))
    try:
        for index, spec in enumerate(plan):
            started, clock = now_iso(), time.monotonic()
            display.job_started(spec)
            try:
                outcome = runner.run_job(spec, writer.job_dir(spec.dir_name), display.on_event)
            except RunInterrupted as stop:
                results.append(result_for(spec, stop.outcome, started, time.monotonic() - clock))
                writer.write_result(spec.dir_name, results[-1])
                display.job_finished(spec, results[-1])
                for rest in plan[index + 1:]:
                    writer.write_result(rest.dir_name, skipped(rest, "the run was interrupted before this job started"))
                writer.finish("interrupted")
                raise
            results.append(result_for(spec, outcome, started, time.monotonic() - clock))
            writer.write_result(spec.dir_name, results[-1])
            display.job_finished(spec, results[-1])
        writer.finish("complete")
    finally:
        display.stop()
    return writer, results
