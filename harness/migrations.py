"""Older results files brought up to SCHEMA_VERSION as they are read, one step per version (as asv
does): `migrate_1_to_2`, then `migrate_2_to_3` when there is one. A step takes the JSON of one
file, run.json or result.json, and returns a new dict; it never changes the stored file (a run is
rewritten only when `harness run --resume` takes it over, and then at the new version)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from .model import RESULT_FILE, RUN_FILE, SCHEMA_VERSION, plain_name

Step = Callable[[str, dict[str, Any], Path], dict[str, Any]]


def migrate_1_to_2(kind: str, data: dict[str, Any], run_path: Path) -> dict[str, Any]:
    """Schema 2: every plan entry in run.json has its job's parameters (what --resume re-runs).
    A run made before manifests kept them gets them from each job's result.json, which has always
    had them; a job without a readable result keeps none (resume then refuses it). result.json is
    unchanged."""
    data = {**data, "schema_version": 2}
    if kind == RUN_FILE and isinstance(data.get("jobs"), list):
        data["jobs"] = [_with_params(entry, run_path) for entry in data["jobs"]]
    return data


def _with_params(entry: Any, run_path: Path) -> Any:
    if not isinstance(entry, dict) or entry.get("params") is not None:
        return entry
    params = _stored_params(run_path, entry.get("dir"))
    return entry if params is None else {**entry, "params": params}


def _stored_params(run_path: Path, directory: Any) -> dict[str, Any] | None:
    if not plain_name(directory):
        return None
    try:
        result = json.loads((run_path / directory / RESULT_FILE).read_text())
    except (OSError, ValueError):
        return None
    version = result.get("schema_version") if isinstance(result, dict) else None
    if not isinstance(version, int) or not 1 <= version <= SCHEMA_VERSION:
        return None
    params = result.get("params")
    return params if isinstance(params, dict) else None


STEPS: list[Step] = [migrate_1_to_2]  # STEPS[n - 1] takes schema n to n + 1 (a test checks one per bump)


def migrate(kind: str, data: dict[str, Any], run_path: Path) -> dict[str, Any]:
    """`data`, the JSON of `kind` (RUN_FILE or RESULT_FILE) in the run folder `run_path`, at
    SCHEMA_VERSION. Its version is already checked: an int from 1 to SCHEMA_VERSION."""
    if kind not in (RUN_FILE, RESULT_FILE):
        raise ValueError(f"no migrations for {kind!r}")
    for step in STEPS[data["schema_version"] - 1:]:
        data = step(kind, data, run_path)
    return data
