"""The results store: one folder per run, one sub-folder per job, written as the run goes.

    <results>/runs/<run_id>/run.json                 manifest (schema_version, target, host, status)
    <results>/runs/<run_id>/<job_dir>/events.jsonl   the job's events
    <results>/runs/<run_id>/<job_dir>/telemetry.csv  samples, appended as taken
    <results>/runs/<run_id>/<job_dir>/result.json    status, error, exit code, metrics

JSON files are replaced atomically (temp file + fsync + rename), so a crash leaves either
the old or the new file, never half of one. Both are written from the typed model (harness.model)
and read back into it; an older file is migrated in memory (harness.migrations), a newer one refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import os
import secrets
import warnings
from pathlib import Path
from typing import Any, Iterator

from .errors import EnvironmentFailure, UsageError
from .migrations import migrate
from .model import RESULT_FILE, RUN_FILE, SCHEMA_VERSION, JobResult, RunManifest, plain_name


class ResultsWarning(UserWarning):
    """A results file was skipped (corrupt, or written by a newer harness)."""


class ResultsWriteError(EnvironmentFailure):
    """The results folder stopped taking writes during a run (full, over quota, read-only)."""


DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True, default=str)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk: no half-written temp file is left behind
        tmp.unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict[str, Any]:
    """A results JSON file as stored, checked for the schema version (not migrated)."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"missing or bad schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version} is newer than this harness knows ({SCHEMA_VERSION}); upgrade the harness")
    return data


def read_manifest(run_path: Path) -> RunManifest:
    """A run's run.json, migrated to the current schema in memory."""
    return RunManifest.from_json(migrate(RUN_FILE, read_json(run_path / RUN_FILE), run_path))


def read_result(path: Path) -> JobResult:
    """A job's result.json (`path`, inside its run folder), migrated to the current schema in memory."""
    return JobResult.from_json(migrate(RESULT_FILE, read_json(path), path.parent.parent))


def prepare_results_dir(results_dir: Path) -> Path:
    """The runs folder, created and proven writable before anything is run."""
    runs = results_dir / "runs"
    try:
        runs.mkdir(parents=True, exist_ok=True)
        probe = runs / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:  # a full or read-only disk is the machine's failure; a file in the path, the input's
        failure = EnvironmentFailure if error.errno in DISK_ERRNOS else UsageError
        raise failure(f"results dir {results_dir} is not writable: {error.strerror or error}") from None
    return runs


def new_run_id(target: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{target}-{secrets.token_hex(2)}"


class RunWriter:
    """Creates a run folder and keeps its manifest (`model`, saved with `save`) current as jobs finish."""

    def __init__(self, results_dir: Path, manifest: RunManifest):
        runs = prepare_results_dir(results_dir)
        self.run_id = new_run_id(manifest.target["name"])
        self.path = runs / self.run_id
        self.path.mkdir()
        self.model = dataclasses.replace(manifest, schema_version=SCHEMA_VERSION, run_id=self.run_id,
                                         status="running", created=now_iso(), finished=None, pid=os.getpid())
        self.save()

    @classmethod
    def reopen(cls, path: Path, details: dict[str, Any]) -> "RunWriter":
        """An existing run folder taken over by this process (`harness run --resume`): marked
        running under this pid again, with the resumption logged in the manifest (which is
        saved at the current schema version from now on)."""
        writer = cls.__new__(cls)
        writer.path = path
        writer.model = model = read_manifest(path)
        writer.run_id = model.run_id
        if model.status == "running" and model.pid != os.getpid() and _pid_alive(model.pid):
            raise UsageError(f"run {writer.run_id} is still running (harness pid {model.pid}); "
                             "wait for it or stop it first")
        model.resumed = [*(model.resumed or []),
                         {"at": now_iso(), "pid": os.getpid(), "previous_status": model.status, **details}]
        model.status, model.pid, model.finished = "running", os.getpid(), None
        writer.save()
        return writer

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest as JSON, to read (change `model`, then `save`)."""
        return self.model.to_json()

    def save(self) -> None:
        write_json_atomic(self.path / RUN_FILE, self.model.to_json())

    def job_dir(self, dir_name: str) -> Path:
        path = self.path / dir_name
        path.mkdir(exist_ok=True)
        return path

    def write_result(self, dir_name: str, result: JobResult) -> None:
        write_json_atomic(self.job_dir(dir_name) / RESULT_FILE, result.to_json())

    def finish(self, status: str) -> None:
        self.model.status, self.model.finished = status, now_iso()
        self.save()


@dataclasses.dataclass
class StoredRun:
    """A run as the read commands take it: the manifest and the results (each with its `dir`) as
    JSON, checked and migrated through the model by load_run."""

    path: Path
    manifest: dict[str, Any]
    results: list[dict[str, Any]]

    @property
    def run_id(self) -> str:
        return self.manifest["run_id"]

    @property
    def target(self) -> str:
        return self.manifest["target"]["name"]

    @property
    def status(self) -> str:
        """`running` only while its harness process lives; a killed run reads as `incomplete`."""
        status = self.manifest.get("status", "incomplete")
        if status == "running" and not _pid_alive(self.manifest.get("pid")):
            return "incomplete"
        return status


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def load_run(path: Path) -> StoredRun:
    """One run and its job results; unreadable result files are skipped with a warning."""
    manifest = read_manifest(path)
    results = []
    for job in manifest.jobs:
        if not plain_name(job.dir):
            warnings.warn(f"skipping job dir {job.dir!r} of {path / RUN_FILE}: not a plain folder name",
                          ResultsWarning, stacklevel=2)
            continue
        result_path = path / job.dir / RESULT_FILE
        if not result_path.exists():
            continue
        try:
            result = read_result(result_path)
        except (ValueError, OSError) as error:
            warnings.warn(f"skipping {result_path}: {error}", ResultsWarning, stacklevel=2)
            continue
        results.append({**result.to_json(), "dir": job.dir})
    return StoredRun(path, manifest.to_json(), results)


def iter_runs(results_dir: Path) -> Iterator[StoredRun]:
    """Every readable run, oldest first; unreadable ones are skipped with a warning naming the file."""
    runs = results_dir / "runs"
    if not runs.is_dir():
        return
    for path in sorted(p for p in runs.iterdir() if p.is_dir()):
        if not (path / RUN_FILE).exists():
            continue
        try:
            yield load_run(path)
        except (ValueError, OSError, KeyError, TypeError) as error:
            warnings.warn(f"skipping {path / RUN_FILE}: {error}", ResultsWarning, stacklevel=2)


def find_run(results_dir: Path, name: str) -> StoredRun:
    """A run by id, or the latest complete run of the target called `name`."""
    path = results_dir / "runs" / name
    if "/" not in name and name not in (".", "..") and (path / RUN_FILE).exists():
        try:
            return load_run(path)
        except (ValueError, OSError, KeyError, TypeError) as error:
            raise UsageError(f"cannot read run {name}: {error}") from None
    runs = list(iter_runs(results_dir))
    complete = [run for run in runs if run.target == name and run.status == "complete"]
    if complete:
        return max(complete, key=lambda run: (run.manifest["created"], run.run_id))
    if any(run.target == name for run in runs):
        raise UsageError(f"target '{name}' has no complete run in {results_dir} (see: harness list runs)")
    raise UsageError(f"'{name}' is neither a run id nor a target with runs in {results_dir} (see: harness list runs)")
