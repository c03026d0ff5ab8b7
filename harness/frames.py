"""Stored runs as pandas DataFrames, for notebooks:

    from harness.frames import results_frame, steps_frame, telemetry_frame
    jobs = results_frame("reports")                 # one row per job result, every run
    steps = steps_frame("reports", jobs.run_id[0])  # every timed step of one run
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .report.tables import run_rows
from .results import find_run, iter_runs
from .telemetry.base import TELEMETRY_FILE


def results_frame(results_dir: str | Path) -> pd.DataFrame:
    """One row per job result (all runs): run_id, target, key, label, status, error, metrics."""
    rows = [{**row, "run_status": run.status} for run in iter_runs(Path(results_dir)) for row in run_rows(run)]
    return pd.DataFrame(rows)


def _job_files(results_dir: str | Path, run_id: str, name: str):
    run = find_run(Path(results_dir), run_id)
    for result in run.results:
        yield result, run.path / result["dir"] / name


def steps_frame(results_dir: str | Path, run_id: str) -> pd.DataFrame:
    """Every step event of a run: key, label, repeat, epoch, step, seconds, batch_size, t."""
    frames = []
    for result, path in _job_files(results_dir, run_id, "events.jsonl"):
        if not path.exists():
            continue
        with open(path) as handle:
            steps = [e for e in map(_loads, handle) if e and e.get("event") == "step"]
        frame = pd.DataFrame(steps)
        frames.append(frame.assign(key=result["key"], label=result["label"], repeat=result["repeat"]))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def telemetry_frame(results_dir: str | Path, run_id: str) -> pd.DataFrame:
    """Every telemetry sample of a run, tidy: t, wall_time, source, metric, value, key, label."""
    frames = [pd.read_csv(path).assign(key=result["key"], label=result["label"], repeat=result["repeat"])
              for result, path in _job_files(results_dir, run_id, TELEMETRY_FILE) if path.exists()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _loads(line: str):
    try:
        return json.loads(line)
    except ValueError:
        return None
