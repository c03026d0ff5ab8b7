"""The results store: one folder per run, one sub-folder per job, written as the run goes.

    <results>/runs/<run_id>/run.json                 manifest (schema_version, target, host, status)
    <results>/runs/<run_id>/<job_dir>/events.jsonl   the job's events
    <results>/runs/<run_id>/<job_dir>/telemetry.csv  samples, appended as taken
    <results>/runs/<run_id>/<job_dir>/result.json    status, error, exit code, metrics

JSON files are replaced atomically (temp file + fsync + rename), so a crash leaves either
the old or the new file, never half of one. Readers refuse a schema newer than they know.
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

from .errors import UsageError

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "oom", "timeout", "interrupted", "skipped")
RUN_FILE = "run.json"
RESULT_FILE = "result.json"


class ResultsWarning(UserWarning):
    """A results file was skipped (corrupt, or written by a newer harness)."""


class ResultsWriteError(UsageError):
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
    """A results JSON file, checked for the schema version."""
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    version = data.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"missing or bad schema_version {version!r}")
    if version > SCHEMA_VERSION:
        raise ValueError(f"schema_version {version} is newer than this harness knows ({SCHEMA_VERSION}); upgrade the harness")
    return data


def prepare_results_dir(results_dir: Path) -> Path:
    """The runs folder, created and proven writable before anything is run."""
    runs = results_dir / "runs"
    try:
        runs.mkdir(parents=True, exist_ok=True)
        probe = runs / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"results dir {results_dir} is not writable: {error.strerror or error}") from None
    return runs


def new_run_id(target: str) -> str:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{target}-{secrets.token_hex(2)}"


class RunWriter:
    """Creates a run folder and keeps its manifest current as jobs finish."""

    def __init__(self, results_dir: Path, manifest: dict[str, Any]):
        runs = prepare_results_dir(results_dir)
        self.run_id = new_run_id(manifest["target"]["name"])
        self.path = runs / self.run_id
        self.path.mkdir()
        self.manifest = {"schema_version": SCHEMA_VERSION, "run_id": self.run_id, "status": "running",
                         "created": now_iso(), "finished": None, "pid": os.getpid(), **manifest}
        self._save()

    @classmethod
    def reopen(cls, path: Path, details: dict[str, Any]) -> "RunWriter":
        """An existing run folder taken over by this process (`harness run --resume`): marked
        running under this pid again, with the resumption logged in the manifest."""
        writer = cls.__new__(cls)
        writer.path = path
        writer.manifest = read_json(path / RUN_FILE)
        writer.run_id = writer.manifest["run_id"]
        pid = writer.manifest.get("pid")
        if writer.manifest.get("status") == "running" and pid != os.getpid() and _pid_alive(pid):
            raise UsageError(f"run {writer.run_id} is still running (harness pid {pid}); wait for it or stop it first")
        writer.manifest.setdefault("resumed", []).append(
            {"at": now_iso(), "pid": os.getpid(), "previous_status": writer.manifest.get("status"), **details})
        writer.manifest.update(status="running", pid=os.getpid(), finished=None)
        writer._save()
        return writer

    def _save(self) -> None:
        write_json_atomic(self.path / RUN_FILE, self.manifest)

    def job_dir(self, dir_name: str) -> Path:
        path = self.path / dir_name
        path.mkdir(exist_ok=True)
        return path

    def write_result(self, dir_name: str, result: dict[str, Any]) -> None:
        if result["status"] not in STATUSES:
            raise ValueError(f"unknown status {result['status']!r}")
        write_json_atomic(self.job_dir(dir_name) / RESULT_FILE, {"schema_version": SCHEMA_VERSION, **result})

    def finish(self, status: str) -> None:
        self.manifest.update(status=status, finished=now_iso())
        self._save()


@dataclasses.dataclass
class StoredRun:
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


def _plain_name(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name \
        and "\0" not in name


def load_run(path: Path) -> StoredRun:
    """One run and its job results; unreadable result files are skipped with a warning."""
    manifest = read_json(path / RUN_FILE)
    results = []
    for job in manifest.get("jobs", []):
        if not _plain_name(job["dir"]):  # a job folder is one name inside the run: never a path out of it
            warnings.warn(f"skipping job dir {job['dir']!r} of {path / RUN_FILE}: not a plain folder name",
                          ResultsWarning, stacklevel=2)
            continue
        result_path = path / job["dir"] / RESULT_FILE
        if not result_path.exists():
            continue
        try:
            result = read_json(result_path)
        except (ValueError, OSError) as error:
            warnings.warn(f"skipping {result_path}: {error}", ResultsWarning, stacklevel=2)
            continue
        result["dir"] = job["dir"]
        results.append(result)
    return StoredRun(path, manifest, results)


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
