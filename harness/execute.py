"""Runs a plan on one target and stores every job's result as soon as it ends."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from harness_jobs import __version__ as jobs_version

from . import __version__, jobdata, power as power_modes
from .adaptive import Adaptive, decide, job_intervals
from .config import Suite, Target
from .errors import UsageError
from .host import host_facts
from .energy import unavailable_metrics
from .metrics import job_metrics
from .model import JobEntry, JobResult, JobStatus, RunManifest
from .plan import JobSpec
from .lock import LockCancelled, engine_key, engine_lock
from .progress import RunDisplay, make_progress
from .results import DISK_ERRNOS, ResultsWriteError, RunWriter, load_run, now_iso
from .runners.base import JobOutcome, Runner, RunInterrupted


def manifest_for(target: Target, suite: Suite, plan: list[JobSpec], runner: Runner) -> RunManifest:
    return RunManifest(
        target=target.public(), runner=runner.setup, emulated=runner.emulated,
        suite={"name": suite.name, "description": suite.description, "source": suite.source},
        host=host_facts(), harness_version=__version__, jobs_version=jobs_version,
        jobs=[JobEntry.of(spec) for spec in plan])


def result_for(spec: JobSpec, outcome: JobOutcome, started: str | None, seconds: float, emulated: bool,
               power: dict[str, Any] | None = None) -> JobResult:
    """The job's result: its outcome, metrics (with the pre-flight idle baseline), what measured
    them and what was not measured; `power` the requested and applied state of a power sweep."""
    info = outcome.telemetry_info.to_json() if outcome.telemetry_info else {}
    idle = (info.get("preflight") or {}).get("idle_power_w")
    metrics = job_metrics(outcome.events, outcome.telemetry, idle)
    return JobResult(
        emulated=emulated, key=spec.key, job=spec.job, label=spec.label, repeat=spec.repeat,
        params=spec.params, status=JobStatus(outcome.status), error=outcome.error, exit_code=outcome.exit_code,
        started=started, finished=now_iso(), duration_s=round(seconds, 3), notes=outcome.notes,
        metrics=metrics, telemetry=info or None, unavailable=unavailable_metrics(metrics, info) if info else None,
        power=power)


def skipped(spec: JobSpec, reason: str, emulated: bool) -> JobResult:
    return result_for(spec, JobOutcome("skipped", reason, None, [], []), None, 0.0, emulated)


def _store(writer: RunWriter, spec: JobSpec, result: JobResult, display: RunDisplay,
           results: list[dict[str, Any]], events: list[dict[str, Any]] | None = None) -> None:
    """Write a job's result (with the job's `events`, its steps cache too) and show it; `results`,
    what the CLI reads, gets its JSON."""
    writer.write_result(spec.dir_name, result)
    if events is not None:  # steps.parquet from the events in memory: events.jsonl is never read back
        jobdata.store_events(writer.path / spec.dir_name, events)
    results.append(result.to_json())
    display.job_finished(spec, results[-1])


def execute(target: Target, suite: Suite, plan: list[JobSpec], results_dir: Path,
            runner: Runner, display: RunDisplay, resume: Path | None = None,
            power: power_modes.PowerControl | None = None,
            adaptive: Adaptive | None = None) -> tuple[RunWriter, list[dict[str, Any]]]:
    """Run every job in order. On interrupt, the running job is stored as `interrupted`, the rest
    as `skipped`, the run as `interrupted`, and RunInterrupted propagates.

    With `resume` (a run folder), the jobs that already ended ok there are kept and only the
    others run, into the same folder (read under the engine lock, so two resumes never overlap)."""
    results: list[dict[str, Any]] = []
    if resume is None:
        writer = RunWriter(results_dir, manifest_for(target, suite, plan, runner))
    else:
        try:
            writer = RunWriter.reopen(resume, {"runner": runner.setup, "harness_version": __version__,
                                               "jobs_version": jobs_version})
        except OSError as error:
            raise ResultsWriteError(f"cannot write results in {resume}: {error.strerror or error}") from None
        results = kept_results(resume, plan)
        kept = {result["dir"] for result in results}
        for spec in plan:
            if spec.dir_name not in kept and (resume / spec.dir_name).is_dir():
                shutil.rmtree(resume / spec.dir_name)  # a partial attempt: events, telemetry, steps cache
        plan = [spec for spec in plan if spec.dir_name not in kept]
    emulated = runner.emulated
    display.start(writer.run_id, writer.path, len(plan))
    if power is not None:
        power_begin(writer, power)
    try:
        plan = list(plan)  # --repeat auto appends its rounds (harness.adaptive)
        for index, spec in enumerate(_rounds(plan, adaptive, writer)):
            started, clock = now_iso(), time.monotonic()
            display.job_started(spec)
            settings = power_modes.wanted(target, spec.power) if power is not None else {}
            if settings and power is not None:
                try:
                    applied = power_apply(power, settings, runner)
                except power_modes.PowerError as error:
                    _store(writer, spec, result_for(spec, JobOutcome("failed", f"power: {error}", None, [], []),
                                                    started, time.monotonic() - clock, emulated,
                                                    {"requested": settings, "applied": power.read().public()}),
                           display, results)
                    continue
            swept = {"requested": settings, "applied": applied} if settings else None
            try:
                outcome = runner.run_job(spec, writer.job_dir(spec.dir_name), display.on_event)
            except RunInterrupted as stop:
                _store(writer, spec, result_for(spec, stop.outcome, started, time.monotonic() - clock, emulated,
                                                swept), display, results)
                for rest in plan[index + 1:]:
                    writer.write_result(rest.dir_name, skipped(rest, "the run was interrupted before this job started", emulated))
                writer.finish("interrupted")
                raise
            _store(writer, spec, result_for(spec, outcome, started, time.monotonic() - clock, emulated, swept),
                   display, results, events=outcome.events)
        writer.finish("complete")
    except OSError as error:
        if error.errno not in DISK_ERRNOS:
            raise
        try:
            stored_ok: int | str = sum(1 for r in load_run(writer.path).results if r["status"] == "ok")
        except (OSError, ValueError):
            stored_ok = "earlier"
        raise ResultsWriteError(f"cannot write results in {writer.path}: {error.strerror}; the run stopped, the "
                                f"{stored_ok} job(s) stored ok are kept; free space, then: harness run --resume "
                                f"{writer.run_id}") from None
    finally:
        if power is not None:
            power_end(writer, power)
        display.done()
    return writer, results


def _rounds(plan: list[JobSpec], adaptive: Adaptive | None, writer: RunWriter):
    """The plan's jobs in order; with --repeat auto, after each round, one more repeat of every job
    whose interval is still too wide, appended to `plan` (and to run.json) until decide() stops."""
    run_clock = round_clock = time.monotonic()
    index, round_jobs = 0, list(plan)
    while index < len(plan):
        yield plan[index]
        index += 1
        if adaptive is not None and index == len(plan):
            now = time.monotonic()
            round_jobs = _next_round(adaptive, writer, round_jobs, now - run_clock, now - round_clock)
            plan.extend(round_jobs)
            round_clock = now


def _next_round(adaptive: Adaptive, writer: RunWriter, last: list[JobSpec], elapsed_s: float,
                round_s: float) -> list[JobSpec]:
    """The next round's jobs (none: stop), with the decision recorded in the manifest."""
    intervals = job_intervals(writer.path)
    keys, reason, states = decide(adaptive, intervals, elapsed_s, round_s)
    record = writer.model.adaptive = writer.model.adaptive or {**adaptive.public(), "rounds": 0}
    record.update(rounds=record["rounds"] + 1, stopped=reason, elapsed_s=round(elapsed_s, 3),
                  jobs={key: {**info, "state": states.get(key)} for key, info in intervals.items()})
    latest = {spec.key: spec for spec in last}
    upcoming = [dataclasses.replace(latest[key], repeat=latest[key].repeat + 1) for key in keys if key in latest]
    writer.model.jobs.extend(JobEntry.of(spec) for spec in upcoming)
    writer.save()
    return upcoming


def power_begin(writer: RunWriter, power: power_modes.PowerControl) -> None:
    """Remember the device's state before this run changes it, in the manifest too: a killed run's
    --resume restores that state, not the one the killed run left (docs/power-modes.md)."""
    noted = writer.model.power or {}
    earlier = power_modes.PowerState.from_json(noted.get("previous")) if noted.get("restored") is False else None
    writer.model.power = {"previous": power.remember(earlier).public(), "restored": False}
    writer.save()


def power_apply(power: power_modes.PowerControl, settings: dict[str, Any], runner: Runner) -> dict[str, Any]:
    """Set a job's power state; the read-back state also becomes the device properties its telemetry
    records and its pre-flight warnings use (they were read when the run started)."""
    state = power.apply(settings)
    runner.device_properties.update(nvpmodel=state.power_mode, jetson_clocks=state.jetson_clocks)
    return state.public()


def power_end(writer: RunWriter, power: power_modes.PowerControl) -> None:
    """Put the remembered state back and note the outcome in the manifest (an error is noted, not raised:
    the run's results stand; the user is told what to set by hand)."""
    record = writer.model.power = writer.model.power or {}
    try:
        state = power.restore()
        record.update(restored=True, after=state.public() if state else None)
    except (power_modes.PowerError, UsageError, OSError, ValueError) as error:
        record.update(restored=False, error=str(error))
    try:
        writer.save()
    except OSError:
        pass  # a full disk: the manifest keeps restored=false, so --resume restores


def kept_results(run_path: Path, plan: list[JobSpec]) -> list[dict[str, Any]]:
    """The stored results a resumed run keeps: jobs that ended ok, and jobs that ran and skipped
    themselves (no GPU here); not the ones the harness skipped because the run was interrupted."""
    stored = {result["dir"]: result for result in load_run(run_path).results}
    kept = []
    for spec in plan:
        result = stored.get(spec.dir_name)
        if result is not None and (result["status"] == "ok" or
                                   (result["status"] == "skipped" and result.get("started") is not None)):
            kept.append(result)
    return kept


@dataclasses.dataclass
class TargetRun:
    """One target's share of `harness run`: its runner, and what its run ended with."""

    target: Target
    runner: Runner
    writer: RunWriter | None = None
    results: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    interrupted: bool = False
    error: BaseException | None = None
    resume: Path | None = None  # an existing run folder to complete (harness run --resume)
    adaptive: Adaptive | None = None  # --repeat auto: its stopping rule (harness.adaptive)
    power: power_modes.PowerControl | None = None  # Jetson power modes set before each job (harness.power)


def run_targets(runs: list[TargetRun], suite: Suite, plan: list[JobSpec], results_dir: Path, console) -> None:
    """Each target's jobs in order, the targets in parallel, one job at a time per engine (a lock).

    Ctrl-C (KeyboardInterrupt in this thread) aborts every runner, waits for the targets to store
    what they have, and is re-raised."""
    stop = threading.Event()

    def work(run: TargetRun) -> None:
        key = engine_key(run.target.docker_host if run.target.runner == "docker" else "")
        display = RunDisplay(progress, run.target.name, prefix=len(runs) > 1)
        try:
            with engine_lock(key, progress.console.print, stop):
                run.writer, run.results = execute(run.target, suite, plan, results_dir, run.runner, display,
                                                  run.resume, run.power, run.adaptive)
        except (RunInterrupted, LockCancelled):
            run.interrupted = True
        except BaseException as error:  # noqa: BLE001 - handed to the main thread
            run.error = error

    progress = make_progress(console)
    threads = [threading.Thread(target=work, args=(run,), name=f"run-{run.target.name}") for run in runs]
    with progress:
        for thread in threads:
            thread.start()
        try:
            while any(thread.is_alive() for thread in threads):
                time.sleep(0.2)
        except KeyboardInterrupt:
            stop.set()
            for run in runs:
                run.runner.abort()
            for thread in threads:
                thread.join()
            raise
    for run in runs:
        if run.error is not None:
            raise run.error
