"""`harness export mlflow` on a real run (the digits MLP L2 sweep, about 20-40 s on the 2-core machine)
into a real `mlflow server` (sqlite backend, artifacts proxied to a tmp folder, loopback port; about
10-20 s to start), read back with MlflowClient."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytest.importorskip("mlflow", reason="the mlflow extra is not installed (pip install -e '.[mlflow]')")

from mlflow.tracking import MlflowClient  # noqa: E402

from harness.cli import main  # noqa: E402
from harness.export.jobs import read_telemetry  # noqa: E402
from tests.event_lines import read_events  # noqa: E402
from harness.export.mlflow_ import TAG_DONE, TAG_JOB, TAG_RUN  # noqa: E402
from harness.export.names import MIB_TO_MB  # noqa: E402
from tests.conftest import CliResult  # noqa: E402

from .export_runs import make_run, results_by_dir  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                                "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
                                "--artifacts-destination", str(folder / "artifacts"), "--workers", "1"],
                               stdout=subprocess.DEVNULL, stderr=open(folder / "server.log", "w"), cwd=folder)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(uri + "/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("mlflow server did not start: " + (folder / "server.log").read_text()[-2000:])
            time.sleep(0.5)
        yield uri
    finally:
        process.terminate()  # only the server this fixture started, by its handle
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    return folder, make_run(folder, retrain=False)


def export(*argv: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    code = main(["export", "mlflow", *argv], stdout=out, stderr=err)
    return CliResult(code, out.getvalue(), err.getvalue())


def active_runs(client: MlflowClient, experiment: str) -> list:
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], max_results=100)


def test_each_job_becomes_one_mlflow_run_with_params_history_system_metrics_and_artifacts(server, stored, tmp_path):
    folder, run_dir = stored
    report_out, report_err = io.StringIO(), io.StringIO()
    assert main(["report", run_dir.name, "--results-dir", str(folder / "res")], stdout=report_out,
                stderr=report_err) == 0, report_err.getvalue()
    done = export(run_dir.name, "--results-dir", str(folder / "res"), "--tracking-uri", server, "--experiment", "sweep")
    assert done.code == 0, done.err
    assert done.out.count("(exported)") == 2
    client = MlflowClient(tracking_uri=server)
    runs = active_runs(client, "sweep")
    results = results_by_dir(run_dir)
    assert sorted(r.data.tags[TAG_JOB] for r in runs) == sorted(results)
    for run in runs:
        job_dir = run.data.tags[TAG_JOB]
        result = results[job_dir]
        assert run.data.tags[TAG_RUN] == run_dir.name and run.data.tags[TAG_DONE] == "true"
        assert run.info.status == "FINISHED" and run.info.run_name == result["label"]
        assert (run.data.tags["target"], run.data.tags["device"], run.data.tags["emulated"],
                run.data.tags["image"]) == ("lab", "cpu", "false", "none (local)")
        assert run.data.params == {k: v if isinstance(v, str) else json.dumps(v) for k, v in result["params"].items()}
        assert run.data.metrics["samples_per_sec"] == pytest.approx(result["metrics"]["samples_per_sec"])
        events = read_events(run_dir / job_dir / "events.jsonl")
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "val_accuracy"))
        assert history == [(e["epoch"], pytest.approx(e["metrics"]["val_accuracy"])) for e in events
                           if e["event"] == "epoch"]
        steps = [e for e in events if e["event"] == "step"]
        timed = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, "step_seconds"))
        assert timed == [(i, pytest.approx(e["seconds"])) for i, e in enumerate(steps)]
        memory = sorted((m.timestamp, m.step, m.value) for m in
                        client.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes"))
        rows = [r for r in read_telemetry(run_dir / job_dir / "telemetry.csv") if r["metric"] == "system_used_mb"]
        assert [(step, value) for _, step, value in memory] == \
            [(i, pytest.approx(r["value"] * MIB_TO_MB)) for i, r in enumerate(rows)]
        assert {"system/job_memory_usage_megabytes", "system/system_memory_usage_percentage"} <= set(run.data.metrics)
        listed = {a.path for a in client.list_artifacts(run.info.run_id)} | \
            {a.path for a in client.list_artifacts(run.info.run_id, "run")}
        assert {"result.json", "events.jsonl", "telemetry.csv", "run/run.json"} <= listed
        assert {"run/report.md", "run/report.html", "run/summary.json", "run/summary.csv"} <= listed  # harness report's
        fetched = client.download_artifacts(run.info.run_id, "events.jsonl", str(tmp_path))
        assert open(fetched, "rb").read() == (run_dir / job_dir / "events.jsonl").read_bytes()
        os.remove(fetched)


def test_re_exporting_finds_the_runs_and_replaces_a_half_done_one(server, stored):
    folder, run_dir = stored
    args = (run_dir.name, "--results-dir", str(folder / "res"), "--tracking-uri", server, "--experiment", "again")
    assert export(*args).code == 0
    client = MlflowClient(tracking_uri=server)
    first = {r.data.tags[TAG_JOB]: r.info.run_id for r in active_runs(client, "again")}
    second = export(*args)
    assert second.code == 0 and second.out.count("(already there)") == 2, second.out
    assert {r.data.tags[TAG_JOB]: r.info.run_id for r in active_runs(client, "again")} == first
    # an export stopped before its last step (no completion tag) is replaced, never kept beside the new one
    job_dir, stale = sorted(first.items())[0]
    client.delete_tag(stale, TAG_DONE)
    third = export(*args)
    assert third.code == 0 and third.out.count("(exported)") == 1 and third.out.count("(already there)") == 1
    now = {r.data.tags[TAG_JOB]: r.info.run_id for r in active_runs(client, "again")}
    assert len(active_runs(client, "again")) == 2 and now[job_dir] != stale
    assert client.get_run(stale).info.lifecycle_stage == "deleted"


def test_an_unreachable_server_is_one_line_and_exit_2(stored, monkeypatch):
    folder, run_dir = stored
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    done = export(run_dir.name, "--results-dir", str(folder / "res"), "--tracking-uri", f"http://127.0.0.1:{free_port()}")
    assert done.code == 2 and done.err.count("\n") == 1 and "MLflow tracking server" in done.err, done.err
