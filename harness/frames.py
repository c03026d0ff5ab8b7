"""Stored runs as pandas DataFrames, for notebooks:

    from harness.frames import results_frame, steps_frame, telemetry_frame
    jobs = results_frame("reports")                 # one row per job result, every run
    steps = steps_frame("reports", jobs.run_id[0])  # every timed step of one run
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import jobdata
from .report.tables import run_rows
from .results import find_run, iter_runs
from .telemetry.base import TELEMETRY_FILE
from .telemetry.reader import read_telemetry_frame


def results_frame(results_dir: str | Path) -> pd.DataFrame:
    """One row per job result (all runs): run_id, target, key, label, status, error, metrics."""
    rows = [{**row, "run_status": run.status} for run in iter_runs(Path(results_dir)) for row in run_rows(run)]
    return pd.DataFrame(rows)


def _job_files(results_dir: str | Path, run_id: str, name: str):
    run = find_run(Path(results_dir), run_id)
    for result in run.results:
        yield result, run.path / result["dir"] / name


def steps_frame(results_dir: str | Path, run_id: str) -> pd.DataFrame:
    """Every step event of a run: v, event, t, epoch, step, seconds, batch_size, key, label, repeat;
    every column Arrow-backed (pd.ArrowDtype), read through the step cache (harness.jobdata). `v` is
    1: the cache keeps the step fields only, and the job protocol's steps are version 1."""
    frames = []
    for result, path in _job_files(results_dir, run_id, "events.jsonl"):
        if not path.exists():
            continue
        steps = jobdata.load(path.parent).steps
        count = len(steps["t"])
        table = pa.table({"v": pa.array(np.ones(count, dtype=np.int64)),
                          "event": pa.array(["step"] * count, pa.string()),
                          **{name: pa.array(steps[name].astype(np.int64) if name in _INTEGER else steps[name])
                             for name in jobdata.STEP_FIELDS},
                          "key": pa.array([result["key"]] * count, pa.string()),
                          "label": pa.array([result["label"]] * count, pa.string()),
                          "repeat": pa.array(np.full(count, result["repeat"], dtype=np.int64))})
        frames.append(table.to_pandas(types_mapper=pd.ArrowDtype))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


_INTEGER = ("epoch", "step", "batch_size")  # whole numbers in the events, as json.loads gave them


def telemetry_frame(results_dir: str | Path, run_id: str) -> pd.DataFrame:
    """Every telemetry sample of a run, tidy: t, wall_time, source, metric, value, key, label."""
    frames = [read_telemetry_frame(path).assign(key=result["key"], label=result["label"], repeat=result["repeat"])
              for result, path in _job_files(results_dir, run_id, TELEMETRY_FILE) if path.exists()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
