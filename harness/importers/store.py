"""Stores an imported log as an ordinary run (RunWriter), so list/report/compare treat it like any
other; the manifest says `imported` and where from. The job key is computed as `harness run`
would for the same job and parameters, so an imported log aligns with harness runs of that job."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness_jobs import jobs as job_registry
from harness_jobs.events import EVENTS_FILE, VERSION

from .. import __version__, config, jobdata
from ..errors import UsageError
from ..model import JobEntry, JobResult, JobStatus, RunManifest
from ..plan import JobSpec, expand, parse_overrides
from ..results import RunWriter
from . import keras_log, notebook


def _target(cfg: dict[str, Any], name: str) -> dict[str, Any]:
    """The configured target's settings (price_usd, notes) when it exists, else just the name."""
    if not config.TARGET_NAME.match(name) or ".." in name:
        raise UsageError(f"--target {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    known = config.load_targets(cfg)
    if name in known:
        return known[name].public()
    return {"name": name, "runner": "imported", "price_usd": None, "notes": "imported log; not a configured target"}


def _spec(job: str, batch_size: int | None, sets: list[str]) -> JobSpec:
    """A known job: its full parameters (defaults + --batch-size + --set), as `harness run` plans
    them. Any other name: a free-form job whose only parameter is the batch size."""
    overrides = parse_overrides(sets + ([f"batch_size={batch_size}"] if batch_size else []))
    if job in job_registry.JOBS:
        return expand(config.single_job_suite(job), overrides)[0]
    if not config.TARGET_NAME.match(job) or ".." in job:
        raise UsageError(f"--job {job!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    if sets:
        raise UsageError(f"--set applies to known jobs only ({', '.join(sorted(job_registry.JOBS))})")
    params = {"batch_size": batch_size} if batch_size else {}
    return JobSpec(job, params, dict(params))


def _events(spec: JobSpec, log: keras_log.ParsedLog) -> list[dict[str, Any]]:
    """The log as protocol events; `t` is cumulative log seconds (there is no clock to read)."""
    events = [{"v": VERSION, "event": "start", "t": 0.0, "job": spec.job, "params": spec.params,
               "environment": {"keras_flavour": log.flavour}, "source": "keras-log"}]
    clock = 0.0
    batch = spec.params.get("batch_size")
    for epoch in log.epochs:
        clock += epoch.seconds or 0.0
        samples = epoch.samples if epoch.samples is not None else (
            epoch.steps * batch if epoch.steps is not None and batch else None)
        events.append({"v": VERSION, "event": "epoch", "t": clock, "epoch": epoch.number - 1, "seconds": epoch.seconds,
                       "seconds_from": epoch.seconds_from, "steps": epoch.steps, "samples": samples,
                       "step_seconds": epoch.step_seconds, "metrics": epoch.metrics, "complete": epoch.complete,
                       "numbered_from": epoch.numbered_from})
    for evaluation in log.evaluations:
        events.append({"v": VERSION, "event": "eval", "t": clock, "kind": evaluation.kind,
                       "after_epoch": evaluation.after_epoch, "steps": evaluation.steps,
                       "seconds": evaluation.seconds, "metrics": evaluation.metrics})
    status = "ok" if any(e.complete for e in log.epochs) else "failed"
    events.append({"v": VERSION, "event": "end", "t": clock, "status": status, "error": None})
    return events


def _read(path: Path) -> tuple[bytes, str, list[str]]:
    """The file's bytes, the console text to parse and, for a notebook, the cells that printed it."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror or error}") from None
    text = raw.decode("utf-8", errors="replace")
    if not notebook.looks_like_notebook(raw, path.name):
        return raw, text, []
    cells = [c for c in notebook.stream_texts(text, path.name) if keras_log.parse(c.text).epochs]
    if not cells:
        raise UsageError(f"{path.name}: no code cell of this notebook printed a Keras training log "
                         "(were its outputs cleared before saving?)")
    return raw, "\n".join(c.text for c in cells), [c.label for c in cells]


def import_keras_log(path: Path, target: str, job: str, batch_size: int | None, results_dir: Path,
                     cfg: dict[str, Any], sets: list[str] | None = None, counts: str = "auto",
                     progress: Callable[[int, int], None] | None = None,
                     ) -> tuple[RunWriter, keras_log.ParsedLog]:
    """Parse `path` (a console log or a Jupyter notebook) and store it as a complete run of
    `target`. Interrupted (Ctrl-C) while storing, the half-written run folder is removed."""
    if batch_size is not None and batch_size < 1:
        raise UsageError("--batch-size must be 1 or more")
    if counts not in keras_log.COUNTS:
        raise UsageError(f"--counts {counts!r}: use one of {', '.join(keras_log.COUNTS)}")
    raw, text, cells = _read(path)
    spec = _spec(job, batch_size, sets or [])
    target_facts = _target(cfg, target)
    log = keras_log.parse(text, batch_size=spec.params.get("batch_size"), counts=counts, progress=progress)
    source = {"format": "notebook" if cells else "keras-log", "file": path.name,
              "sha256": hashlib.sha256(raw).hexdigest(), "keras_flavour": log.flavour, "lines": log.lines,
              "unreadable_lines": log.unreadable, "unreadable_examples": log.unreadable_examples,
              "counts": log.counts, "counts_from": log.counts_from, "cells": cells, "notes": log.notes}
    writer = RunWriter(results_dir, RunManifest(
        target=target_facts, runner={"kind": "import"}, emulated=False, imported=source,
        suite={"name": "import", "description": f"imported from {path.name}", "source": "harness import"},
        host={}, harness_version=__version__, jobs=[JobEntry.of(spec)]))
    try:
        _store(writer, spec, log, path.name)
    except BaseException:
        shutil.rmtree(writer.path, ignore_errors=True)  # nothing half-written stays in the store
        raise
    return writer, log


def _store(writer: RunWriter, spec: JobSpec, log: keras_log.ParsedLog, name: str) -> None:
    job_dir = writer.job_dir(spec.dir_name)
    events = _events(spec, log)
    (job_dir / EVENTS_FILE).write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
    jobdata.write_cache(job_dir, jobdata.from_events(events))
    complete = any(e.complete for e in log.epochs)
    error = None if complete else f"no complete epoch found in {name} ({log.unreadable} unreadable lines)"
    notes = [f"{log.unreadable} line(s) of {name} could not be read"] if log.unreadable else []
    writer.write_result(spec.dir_name, JobResult(
        emulated=False, key=spec.key, job=spec.job, label=spec.label, repeat=1, params=spec.params,
        status=JobStatus.OK if complete else JobStatus.FAILED, error=error, exit_code=None, started=None, finished=None,
        duration_s=None, notes=notes + log.notes, metrics=keras_log.metrics_of(log, spec.params.get("batch_size"))))
    writer.finish("complete")
