"""`harness export mlflow`: one MLflow run per stored job result (a pure function of the stored
results; nothing is written into the run folder).

Params: the job's parameters. Metrics: the result metrics (harness/metrics.py names, step = the
last global step), epoch metrics with their history (step = epoch index, as MLflow's Keras
autologging), `step_seconds` per global step, and the telemetry under MLflow's `system/` names
(harness/export/names.py; step = sample index and timestamp = the sample's time, as MLflow's own
system-metrics monitor logs them). Tags: target, device, image, emulation, status, and the
harness run id + job folder that make a re-export find the run instead of duplicating it.
Artifacts: the job's result.json, events.jsonl and telemetry.csv, the run's report files when
`harness report` wrote them, and the retrain job's export folder.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import UsageError
from ..results import RUN_FILE, StoredRun
from . import names
from .jobs import Job, jobs_of

DEFAULT_EXPERIMENT = "edge-tf-harness"
TAG_RUN = "harness.run_id"
TAG_JOB = "harness.job_dir"
TAG_DONE = "harness.export_complete"
JOB_FILES = ("result.json", "events.jsonl", "telemetry.csv")
RUN_REPORT_FILES = ("report.md", "report.html", "report.csv", "summary.json", "summary.csv")
BATCH = 900  # MLflow's log_batch takes at most 1000 metrics, 100 params, 100 tags


def _mlflow():
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise UsageError("harness export mlflow needs the mlflow package (pip install 'edge-tf-harness[mlflow]')") \
            from None
    return MlflowClient, Metric, Param, RunTag


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def job_tags(job: Job) -> dict[str, str]:
    manifest = job.run.manifest
    runner = manifest.get("runner") or {}
    image = runner.get("image") or {}
    metrics = job.result.get("metrics") or {}
    tags = {
        TAG_RUN: job.run.run_id, TAG_JOB: job.result["dir"],
        "harness.key": str(job.result.get("key")), "harness.job": str(job.result.get("job")),
        "harness.repeat": str(job.result.get("repeat")), "harness.status": str(job.result.get("status")),
        "harness.suite": str((manifest.get("suite") or {}).get("name")),
        "target": job.run.target, "device": str(metrics.get("device") or "unknown"),
        "image": str(image.get("name") or manifest["target"].get("image") or "none (local)"),
        "emulated": str(bool(job.result.get("emulated", manifest.get("emulated")))).lower(),
        "mlflow.runName": str(job.result.get("label") or job.result["dir"]),
    }
    if image.get("id"):
        tags["image_id"] = str(image["id"])
    if job.result.get("error"):
        tags["harness.error"] = str(job.result["error"])[:4000]
    return tags


def job_metrics(job: Job, Metric) -> list:
    """Every MLflow metric of one job result, with history."""
    offset = job.wall_offset() or 0.0
    ms = lambda t: int(round((float(t) + offset) * 1000))  # noqa: E731  (events' clock -> Unix ms)
    steps = job.steps
    out = []
    for index, step in enumerate(steps):
        out.append(Metric(names.MLFLOW_STEP_SECONDS, float(step["seconds"]), ms(step["t"]), index))
    for event in job.events:
        metrics = event["metrics"] if isinstance(event.get("metrics"), dict) else {}
        if event["event"] == "epoch" and isinstance(event.get("epoch"), int):
            out += [Metric(name, float(value), ms(event["t"]), event["epoch"])
                    for name, value in sorted(metrics.items()) if _is_number(value)]
        elif event["event"] == "eval" and isinstance(event.get("step"), int):
            split = str(event.get("split") or "eval")
            out += [Metric(f"{split}_{name}", float(value), ms(event["t"]), event["step"])
                    for name, value in sorted(metrics.items()) if _is_number(value)]
    seen: dict[str, int] = {}
    for row in job.telemetry:
        mapped = names.telemetry_names(row["source"], row["metric"])
        if mapped is None:
            continue
        name = mapped[1]
        index = seen.get(name, 0)
        seen[name] = index + 1
        out.append(Metric(name, row["value"] * mapped[2], int(round(row["wall_time"] * 1000)), index))
    last = max(len(steps) - 1, 0)
    end = ms(steps[-1]["t"]) if steps else 0
    result_metrics = job.result.get("metrics") or {}
    out += [Metric(name, float(result_metrics[name]), end, last)
            for name in names.SUMMARY_METRICS if _is_number(result_metrics.get(name))]
    return out


def _existing(client, experiment_id: str, job: Job) -> list:
    query = f"tags.`{TAG_RUN}` = '{job.run.run_id}' and tags.`{TAG_JOB}` = '{job.result['dir']}'"
    return client.search_runs([experiment_id], filter_string=query, max_results=50)


def _start_ms(job: Job) -> int | None:
    start = next((e for e in job.events if e["event"] == "start"), None)
    offset = job.wall_offset()
    if start is None or offset is None:
        return None
    return int(round((start["t"] + offset) * 1000))


def export_job(client, experiment_id: str, job: Job, classes) -> tuple[str, str]:
    """(MLflow run id, 'exported' | 'already there') for one job result."""
    _, Metric, Param, RunTag = classes
    found = _existing(client, experiment_id, job)
    complete = [r for r in found if r.data.tags.get(TAG_DONE) == "true"]
    if complete:
        return complete[0].info.run_id, "already there"
    for stale in found:  # an export that stopped half-way: replaced, never kept beside the new one
        client.delete_run(stale.info.run_id)
    tags = job_tags(job)
    run = client.create_run(experiment_id, start_time=_start_ms(job), tags=tags, run_name=tags["mlflow.runName"])
    run_id = run.info.run_id
    params = [Param(k, json.dumps(v) if not isinstance(v, str) else v)
              for k, v in sorted((job.result.get("params") or {}).items())]
    metrics = job_metrics(job, Metric)
    for i in range(0, max(len(params), 1), 100):
        client.log_batch(run_id, params=params[i:i + 100])
    for i in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[i:i + BATCH])
    for name in JOB_FILES:
        if (job.path / name).is_file():
            client.log_artifact(run_id, str(job.path / name))
    for name in RUN_REPORT_FILES + (RUN_FILE,):
        if (job.run.path / name).is_file():
            client.log_artifact(run_id, str(job.run.path / name), "run")
    export = job.path / "export"
    if export.is_dir():
        client.log_artifacts(run_id, str(export), "export")
    client.set_tag(run_id, TAG_DONE, "true")
    status = "FINISHED" if job.result.get("status") in ("ok", "skipped") else "FAILED"
    end = _start_ms(job)
    if end is not None and isinstance(job.result.get("duration_s"), (int, float)):
        end += int(job.result["duration_s"] * 1000)
    client.set_terminated(run_id, status, end_time=end)
    return run_id, "exported"


def export_run(run: StoredRun, tracking_uri: str | None, experiment: str = DEFAULT_EXPERIMENT) -> list[tuple[Job, str, str]]:
    classes = _mlflow()
    client = classes[0](tracking_uri=tracking_uri)
    try:
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    except Exception as error:  # the server's own message: unreachable, refused, bad URI
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"MLflow tracking server {tracking_uri or '(default)'}: {first[:300]}") from None
    return [(job, *export_job(client, experiment_id, job, classes)) for job in jobs_of(run)]
