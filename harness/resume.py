"""`harness run --resume RUN_ID`: the plan of a stored run, rebuilt from its manifest, and the
checks that refuse a resume which would mix results that do not belong together."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness_jobs import jobs as job_registry
from harness_jobs.params import ParamError, resolve

from .config import Suite, Target
from .errors import UsageError
from .execute import kept_results
from .model import JobEntry, RunManifest
from .plan import JobSpec
from .results import RUN_FILE, _pid_alive, read_manifest

# target fields that change what a job measures: a difference is reported when resuming
MEASURING_FIELDS = ("runner", "platform", "image", "runtime", "gpus", "mem_limit", "shm_size", "docker_host")


@dataclasses.dataclass
class Resumable:
    path: Path
    model: RunManifest  # read through harness.migrations: a schema-1 plan has its parameters here
    target: Target
    suite: Suite
    plan: list[JobSpec]
    todo: list[JobSpec]
    changed: list[str]  # measuring target fields that differ from the run's

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest as JSON, to read."""
        return self.model.to_json()

    @property
    def run_id(self) -> str:
        return self.model.run_id


def resumable(results_dir: Path, run_id: str, targets: dict[str, Target]) -> Resumable:
    """The stored run `run_id`, ready to complete; a UsageError (one line) says why not."""
    path = results_dir / "runs" / run_id
    if "/" in run_id or run_id in ("", ".", "..") or not (path / RUN_FILE).is_file():
        raise UsageError(f"cannot resume '{run_id}': no such run in {results_dir} (see: harness list runs)")
    try:
        manifest = read_manifest(path)
    except (ValueError, OSError) as error:
        raise UsageError(f"cannot resume run {run_id}: {path / RUN_FILE}: {error}") from None
    name = manifest.target["name"]
    if manifest.status == "running" and _pid_alive(manifest.pid):
        raise UsageError(f"cannot resume run {run_id}: it is still running (harness pid {manifest.pid})")
    if name not in targets:
        raise UsageError(f"cannot resume run {run_id}: its target '{name}' is no longer configured "
                         f"(known: {', '.join(sorted(targets))})")
    target = targets[name]
    plan = [_spec(run_id, entry) for entry in manifest.jobs]
    kept = {result["dir"] for result in kept_results(path, plan)}
    stored = manifest.target
    changed = [field for field in MEASURING_FIELDS
               if field in stored and stored.get(field) != getattr(target, field, None)]
    stored_suite = manifest.suite
    suite = Suite(name=stored_suite.get("name", "?"), description=stored_suite.get("description", ""), entries=(),
                  source=stored_suite.get("source", ""))
    return Resumable(path, manifest, target, suite, plan, [s for s in plan if s.dir_name not in kept], changed)


def _spec(run_id: str, entry: JobEntry) -> JobSpec:
    """The JobSpec of one manifest entry, proven to give the same key (so it aligns in compare)."""
    job, params = entry.job, entry.params
    if params is None:
        raise UsageError(f"cannot resume run {run_id}: the parameters of job {entry.dir} were not stored "
                         f"(a run made by an older harness); start a new run")
    try:
        module = job_registry.load(job)
        resolved = resolve(module.PARAMS, params)
    except job_registry.UnknownJob as error:
        raise UsageError(f"cannot resume run {run_id}: {error}") from None
    except ParamError as error:
        raise UsageError(f"cannot resume run {run_id}: job {job} no longer takes its parameters ({error}); "
                         f"start a new run") from None
    spec = JobSpec(str(job), resolved, dict(entry.varied or {}), entry.repeat, dict(entry.power or {}))
    if spec.dir_name != entry.dir:
        raise UsageError(f"cannot resume run {run_id}: job {job}'s parameters changed since the run (its key is "
                         f"now {spec.key}, was {entry.key}); start a new run")
    return spec
